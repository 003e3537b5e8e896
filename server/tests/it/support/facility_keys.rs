//! Helpers shared by the facility-key tests: sandbox employees and faults, an admin session, and
//! the facility-key server functions called over HTTP the way the app calls them.

use super::{ADMIN_EMAIL, ADMIN_PASSWORD, Endpoint, HasSandbox, VENDOR_KEY};
use app::error::AppError;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Demo licenses of the sandbox seed (`metrc/src/sandbox/seed.rs`), by license type.
pub const RETAIL: &str = "C10-0000774-LIC";
pub const DISTRIBUTION: &str = "C11-0000349-LIC";
pub const CULTIVATION: &str = "CCL19-0004821";

/// A sandbox employee: `(id, api_key)`.
pub async fn employee(server: &impl HasSandbox, body: Value) -> (u64, String) {
    let response = reqwest::Client::new()
        .post(format!("{}/sandbox/employees", server.sandbox_url()))
        .json(&body)
        .send()
        .await
        .expect("sandbox admin API");
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.expect("json");
    (
        created["id"].as_u64().expect("id"),
        created["api_key"].as_str().expect("api_key").to_owned(),
    )
}

/// Every section name, in column order.
pub fn every_section() -> Vec<&'static str> {
    metrc::Section::ALL.iter().map(|s| s.name()).collect()
}

/// The License Owner of `licenses`, with every permission there.
pub async fn owner_key(server: &impl HasSandbox, name: &str, licenses: &[&str]) -> (u64, String) {
    let permissions: serde_json::Map<String, Value> = licenses
        .iter()
        .map(|l| (l.to_string(), json!(every_section())))
        .collect();
    employee(
        server,
        json!({ "name": name, "owner_of": licenses, "permissions": permissions }),
    )
    .await
}

/// Generates a new key for the sandbox employee `id` (the old one gets 401 from now on); returns
/// the new key.
pub async fn regenerate_key(server: &impl HasSandbox, id: u64) -> String {
    let response = reqwest::Client::new()
        .post(format!(
            "{}/sandbox/employees/{id}/regenerate-key",
            server.sandbox_url()
        ))
        .send()
        .await
        .expect("regenerate");
    assert!(response.status().is_success(), "{}", response.status());
    response.json::<Value>().await.expect("json")["api_key"]
        .as_str()
        .expect("new key")
        .to_owned()
}

/// The sandbox's log of Metrc calls, oldest first.
pub async fn sandbox_requests(server: &impl HasSandbox) -> Vec<Value> {
    reqwest::Client::new()
        .get(format!("{}/sandbox/requests", server.sandbox_url()))
        .send()
        .await
        .expect("sandbox requests")
        .json()
        .await
        .expect("json")
}

/// A client logged in as the first admin.
pub async fn admin(server: &Endpoint) -> reqwest::Client {
    let client = server.client();
    let response = server.login(&client, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert!(response.status().is_success(), "{}", response.status());
    client
}

/// A server-function call's status and body text (kept to search for leaks).
pub struct Answer {
    pub status: StatusCode,
    pub body: String,
}

impl Answer {
    pub async fn of(response: reqwest::Response) -> Answer {
        Answer {
            status: response.status(),
            body: response.text().await.expect("body"),
        }
    }

    pub fn ok<T: leptos::server_fn::serde::de::DeserializeOwned>(&self) -> T {
        assert!(self.status.is_success(), "{}: {}", self.status, self.body);
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    pub fn err(&self) -> AppError {
        assert!(
            !self.status.is_success(),
            "expected an error: {}",
            self.body
        );
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not an AppError ({e}): {}", self.body))
    }
}

pub async fn validate(server: &Endpoint, client: &reqwest::Client, key: &str) -> Answer {
    Answer::of(
        server
            .call(client, "validate_facility_key", &[("key", key)])
            .await,
    )
    .await
}

pub async fn assign(
    server: &Endpoint,
    client: &reqwest::Client,
    key: &str,
    licenses: &[&str],
    confirm_not_owner: bool,
) -> Answer {
    let response = server
        .post(client, "/api/assign_facility_key")
        .header("Accept", "application/json")
        .json(&json!({ "input": {
            "key": key, "licenses": licenses, "confirm_not_owner": confirm_not_owner
        }}))
        .send()
        .await
        .expect("server function call");
    Answer::of(response).await
}

pub async fn list(server: &Endpoint, client: &reqwest::Client) -> Answer {
    Answer::of(server.call(client, "list_facilities", &[]).await).await
}

pub async fn revalidate(server: &Endpoint, client: &reqwest::Client, license: &str) -> Answer {
    Answer::of(
        server
            .call(client, "revalidate_facility", &[("license", license)])
            .await,
    )
    .await
}

/// Active packages of `license` (first page) with enough in them to take some away, read with
/// `key`: `(label, quantity, unit)`.
pub async fn adjustable_packages(
    server: &impl HasSandbox,
    key: &str,
    license: &str,
) -> Vec<(String, f64, String)> {
    adjustable(&metrc_page(server, key, "/packages/v2/active", license).await)
}

/// [`adjustable_packages`] over every page of the license's active packages.
pub async fn every_adjustable_package(
    server: &impl HasSandbox,
    key: &str,
    license: &str,
) -> Vec<(String, f64, String)> {
    let mut all = Vec::new();
    for number in 1.. {
        let page = metrc_page_number(server, key, "/packages/v2/active", license, number).await;
        if page.is_empty() {
            return all;
        }
        all.extend(adjustable(&page));
    }
    all
}

/// The packages among `records` with enough in them to take some away: `(label, quantity,
/// unit)`.
fn adjustable(records: &[Value]) -> Vec<(String, f64, String)> {
    records
        .iter()
        .filter(|p| p["Quantity"].as_f64().unwrap_or_default() >= 5.0)
        .map(|p| {
            (
                p["Label"].as_str().expect("label").to_owned(),
                p["Quantity"].as_f64().expect("quantity"),
                p["UnitOfMeasureName"].as_str().expect("unit").to_owned(),
            )
        })
        .collect()
}

/// The query parameters of a `lastModified` window over a license's whole history (2015 to a
/// minute from now): Metrc answers a list read without one empty, or with recent records only.
pub fn whole_history() -> String {
    let end = chrono::Utc::now() + chrono::Duration::minutes(1);
    format!(
        "lastModifiedStart=2015-01-01T00:00:00Z&lastModifiedEnd={}",
        end.format("%Y-%m-%dT%H:%M:%SZ")
    )
}

/// The first page (20) of one of Metrc's lists of `license` (`path`, e.g.
/// `/plants/v2/vegetative`), read with `key` the way Tracekeeper reads it: in one window over
/// the license's whole history.
pub async fn metrc_page(
    server: &impl HasSandbox,
    key: &str,
    path: &str,
    license: &str,
) -> Vec<Value> {
    metrc_page_number(server, key, path, license, 1).await
}

/// Page `number` (from 1, 20 a page) of [`metrc_page`]'s list.
async fn metrc_page_number(
    server: &impl HasSandbox,
    key: &str,
    path: &str,
    license: &str,
    number: u32,
) -> Vec<Value> {
    let page: Value = reqwest::Client::new()
        .get(format!(
            "{}{path}?licenseNumber={license}&pageNumber={number}&pageSize=20&{}",
            server.sandbox_url(),
            whole_history()
        ))
        .basic_auth(VENDOR_KEY, Some(key))
        .send()
        .await
        .expect("Metrc list")
        .json()
        .await
        .expect("json");
    page["Data"].as_array().expect("Data").clone()
}

/// A package of `license` as the sandbox holds it now (Metrc's JSON).
pub async fn sandbox_package(server: &impl HasSandbox, license: &str, label: &str) -> Value {
    reqwest::Client::new()
        .get(format!(
            "{}/sandbox/licenses/{license}/packages/{label}",
            server.sandbox_url()
        ))
        .send()
        .await
        .expect("package")
        .json()
        .await
        .expect("json")
}

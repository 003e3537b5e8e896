//! Shared helpers of the sandbox tests: start a sandbox on 127.0.0.1:0, call it with raw reqwest.

use metrc::sandbox::{EmployeeInfo, Sandbox, SandboxConfig};
use reqwest::StatusCode;
use serde_json::Value;

pub const VENDOR: &str = "test-vendor-key";
pub const CULTIVATION: &str = "CCL19-0004821";
pub const MANUFACTURING: &str = "CDPH-10003156";
pub const DISTRIBUTION: &str = "C11-0000349-LIC";
pub const RETAIL: &str = "C10-0000774-LIC";
pub const LAB: &str = "C8-0000042-LIC";
pub const MICRO: &str = "C12-0000321-LIC";
pub const DEMO_LICENSES: [&str; 6] = [CULTIVATION, MANUFACTURING, DISTRIBUTION, RETAIL, LAB, MICRO];

pub struct Running {
    pub sandbox: Sandbox,
    pub base: String,
    pub http: reqwest::Client,
}

/// Query parameters of a `lastModified` window over a license's whole history (the start alone
/// runs to now): Metrc's v2 production, and the sandbox by default, answer a list read without
/// one empty or with the last day's records only (docs/metrc.md §6).
pub const WHOLE_HISTORY: &str = "&lastModifiedStart=2015-01-01T00:00:00Z";

pub fn config() -> SandboxConfig {
    SandboxConfig {
        vendor_keys: vec![VENDOR.to_string()],
        ..SandboxConfig::default()
    }
}

pub async fn start(config: SandboxConfig) -> Running {
    let sandbox = Sandbox::new(config);
    let addr = sandbox.start().await.expect("start sandbox");
    Running {
        sandbox,
        base: format!("http://{addr}"),
        http: reqwest::Client::new(),
    }
}

pub fn employee(sandbox: &Sandbox, name: &str) -> EmployeeInfo {
    sandbox
        .employees()
        .into_iter()
        .find(|e| e.name == name)
        .unwrap_or_else(|| panic!("no employee {name}"))
}

pub fn owner_key(sandbox: &Sandbox) -> String {
    sandbox.demo_owner().expect("demo owner").api_key
}

/// The body as JSON, or as a string value when it is not JSON (HTML error pages, empty bodies).
pub async fn body(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

impl Running {
    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{}", self.base, path_and_query)
    }

    /// GET with Basic auth (vendor key, user key).
    pub async fn get_as(
        &self,
        vendor: &str,
        key: &str,
        path_and_query: &str,
    ) -> (StatusCode, Value) {
        let r = self
            .http
            .get(self.url(path_and_query))
            .basic_auth(vendor, Some(key))
            .send()
            .await
            .expect("GET");
        body(r).await
    }

    pub async fn get(&self, key: &str, path_and_query: &str) -> (StatusCode, Value) {
        self.get_as(VENDOR, key, path_and_query).await
    }

    /// POST or PUT a JSON body with Basic auth.
    pub async fn send(
        &self,
        method: reqwest::Method,
        key: &str,
        path_and_query: &str,
        json: &Value,
    ) -> (StatusCode, Value) {
        let r = self
            .http
            .request(method, self.url(path_and_query))
            .basic_auth(VENDOR, Some(key))
            .json(json)
            .send()
            .await
            .expect("write");
        body(r).await
    }

    /// Admin API call (no auth).
    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        json: Option<&Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.request(method, self.url(path));
        if let Some(json) = json {
            request = request.json(json);
        }
        body(request.send().await.expect("admin call")).await
    }

    /// `POST /sandbox/faults` with `fault`, which the sandbox must take (204).
    pub async fn add_fault(&self, fault: &Value) {
        let (status, body) = self
            .admin(reqwest::Method::POST, "/sandbox/faults", Some(fault))
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{fault} refused: {body}");
    }
}

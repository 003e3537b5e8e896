//! Helpers shared by the submission tests: a server whose facilities have a License Owner's key,
//! employees with and without a Metrc key of their own, the submission server functions called
//! over HTTP the way the work screens call them, waiting for a submission's status, and the
//! sandbox's log of Metrc writes.

use super::facility_keys::{
    Answer, CULTIVATION, RETAIL, adjustable_packages, admin, assign, employee, owner_key,
};
use super::user_keys::{add_named_user, set_key, signed_in};
use super::{Endpoint, TestServer, eventually};
use app::ssr::entities::submissions::Model as Stored;
use app::ssr::queries::submissions;
use app::types::auth::Role;
use app::types::inventory::Page;
use app::types::submissions::{SubmissionFilter, SubmissionRow, SubmissionStatus};
use app::types::user_keys::UserKeyView;
use serde_json::{Value, json};
use std::time::Duration;

/// The License Owner whose key RETAIL and CULTIVATION have.
pub const OWNER: &str = "Olivia Owner";

/// How long a submission may take to reach a status.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A server whose facilities RETAIL and CULTIVATION have [`OWNER`]'s key, an admin client, and an
/// outbox that looks often (short backoffs, a quick poll).
pub struct World {
    pub server: TestServer,
    pub admin: reqwest::Client,
    pub owner_key: String,
}

pub async fn world(backend: &super::Backend) -> World {
    world_with(TestServer::start(backend).await).await
}

pub async fn world_with(server: TestServer) -> World {
    server.state.outbox.update(|s| {
        s.poll_every = Duration::from_millis(100);
        s.backoff_base = Duration::from_millis(50);
        s.backoff_max = Duration::from_secs(1);
    });
    let admin = admin(&server).await;
    let (_, owner_key) = owner_key(&server, OWNER, &[RETAIL, CULTIVATION]).await;
    let assigned = assign(&server, &admin, &owner_key, &[RETAIL, CULTIVATION], false).await;
    assert!(assigned.status.is_success(), "{}", assigned.body);
    World {
        server,
        admin,
        owner_key,
    }
}

impl World {
    /// Active packages of `license` with enough in them to take some away: `(label, quantity,
    /// unit)`.
    pub async fn packages(&self, license: &str) -> Vec<(String, f64, String)> {
        adjustable_packages(&self.server, &self.owner_key, license).await
    }
}

/// A Tracekeeper employee, signed in.
pub struct Employee {
    pub id: i32,
    pub name: String,
    /// Their sandbox employee id, when they have a Metrc key of their own.
    pub sandbox_id: Option<u64>,
    /// Their Metrc key, when they have one of their own.
    pub key: Option<String>,
    pub client: reqwest::Client,
}

/// An employee with a Metrc key of their own (a sandbox employee with `permissions`), set by the
/// admin.
pub async fn keyed_user(w: &World, email: &str, name: &str, permissions: Value) -> Employee {
    let (sandbox_id, key) = employee(
        &w.server,
        json!({ "name": name, "permissions": permissions }),
    )
    .await;
    let id = add_named_user(&w.server, email, name, Role::Employee).await;
    let _: UserKeyView = set_key(&w.server, &w.admin, Some(id), &key, false)
        .await
        .ok();
    Employee {
        id,
        name: name.to_owned(),
        sandbox_id: Some(sandbox_id),
        key: Some(key),
        client: signed_in(&w.server, email).await,
    }
}

/// Uma, an employee with her own key and Metrc's package permissions at both licenses.
pub async fn uma(w: &World) -> Employee {
    keyed_user(w, "uma@example.test", "Uma Employee", packages_permission()).await
}

/// An employee without a Metrc key: the facility key carries their work (once they confirm).
pub async fn keyless_user(w: &World, email: &str, name: &str) -> Employee {
    let id = add_named_user(&w.server, email, name, Role::Employee).await;
    Employee {
        id,
        name: name.to_owned(),
        sandbox_id: None,
        key: None,
        client: signed_in(&w.server, email).await,
    }
}

/// Metrc's package permissions at both licenses, and plant permissions at the cultivation one.
pub fn packages_permission() -> Value {
    json!({ RETAIL: ["Packages"], CULTIVATION: ["Packages", "Plants"] })
}

pub fn yesterday() -> String {
    (chrono::Utc::now().date_naive() - chrono::Duration::days(1)).to_string()
}

pub fn adjust(label: &str, quantity: f64, unit: &str) -> Value {
    json!({ "AdjustPackage": {
        "label": label, "quantity": quantity, "unit": unit, "reason": "Drying",
        "note": null, "date": yesterday()
    }})
}

pub fn finish(label: &str) -> Value {
    json!({ "FinishPackage": { "label": label, "date": yesterday() } })
}

/// A new work form's submission token, as the browser makes it: 32 lowercase hex digits.
pub fn token() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// "Submit to Metrc" from a new form (`confirm`: the user confirmed the facility-key warning).
pub async fn submit(
    site: &Endpoint,
    client: &reqwest::Client,
    license: &str,
    input: Value,
    confirm: bool,
) -> Answer {
    submit_form(site, client, license, input, confirm, &token()).await
}

/// "Submit to Metrc" from the form whose submission token is `token`.
pub async fn submit_form(
    site: &Endpoint,
    client: &reqwest::Client,
    license: &str,
    input: Value,
    confirm: bool,
    token: &str,
) -> Answer {
    let body = json!({ "input": {
        "license": license, "input": input, "confirm_facility_key": confirm,
        "submit_token": token
    }});
    Answer::of(site.call_json(client, "submit", &body).await).await
}

/// A submission that must be stored.
pub async fn submitted(
    site: &Endpoint,
    client: &reqwest::Client,
    license: &str,
    input: Value,
    confirm: bool,
) -> SubmissionRow {
    submit(site, client, license, input, confirm).await.ok()
}

/// `preflight_submission` of `action` (e.g. `"AdjustPackage"`) at `license`.
pub async fn preflight(
    site: &Endpoint,
    client: &reqwest::Client,
    license: &str,
    action: &str,
) -> Answer {
    let form = [("license", license), ("action", action)];
    Answer::of(site.call(client, "preflight_submission", &form).await).await
}

/// A server function that takes one `id` (a submission's, a user's): `submission_detail`,
/// `approve_submission`, `deactivate_user`, `get_user`, ...
pub async fn with_id(
    site: &Endpoint,
    client: &reqwest::Client,
    name: &str,
    id: impl ToString,
) -> Answer {
    let id = id.to_string();
    Answer::of(site.call(client, name, &[("id", &id)]).await).await
}

/// One page of Metrc Submissions.
pub async fn list_submissions(
    site: &Endpoint,
    client: &reqwest::Client,
    filter: &SubmissionFilter,
) -> Answer {
    let body = json!({ "filter": filter });
    Answer::of(site.call_json(client, "list_submissions", &body).await).await
}

/// Every row of Metrc Submissions `filter` selects, page by page (its `page` is ignored); checks
/// that each page says the same total.
pub async fn listed(
    site: &Endpoint,
    client: &reqwest::Client,
    filter: &SubmissionFilter,
) -> Vec<SubmissionRow> {
    let mut rows = Vec::new();
    for page in 0.. {
        let filter = SubmissionFilter {
            page,
            ..filter.clone()
        };
        let got: Page<SubmissionRow> = list_submissions(site, client, &filter).await.ok();
        let done = got.rows.is_empty();
        rows.extend(got.rows);
        assert!(
            rows.len() as u64 <= got.total,
            "{filter:?}: {} rows over the pages, total {}",
            rows.len(),
            got.total
        );
        if done {
            assert_eq!(rows.len() as u64, got.total, "{filter:?}");
            return rows;
        }
    }
    unreachable!()
}

/// The signed-in user's "My submissions", one page.
pub async fn my_submissions(
    site: &Endpoint,
    client: &reqwest::Client,
    page: u32,
) -> Page<SubmissionRow> {
    let page = page.to_string();
    Answer::of(
        site.call(client, "my_submissions", &[("page", &page)])
            .await,
    )
    .await
    .ok()
}

/// The submission as stored.
pub async fn row(server: &TestServer, id: i64) -> Stored {
    submissions::find(&server.state.db, id)
        .await
        .expect("db")
        .expect("stored")
}

/// Waits until submission `id` has `status` ([`PATIENCE`] at most).
pub async fn wait_for(server: &TestServer, id: i64, status: SubmissionStatus) -> Stored {
    let what = format!("submission {id} {}", status.as_str());
    eventually(&what, PATIENCE, || async {
        let now = row(server, id).await;
        if now.status == status {
            Ok(now)
        } else {
            Err(format!("{} ({:?})", now.status.as_str(), now.message))
        }
    })
    .await
}

/// The sandbox's log entries of writes (not GETs) to `path`, oldest first.
pub async fn writes(sandbox: &impl super::HasSandbox, path: &str) -> Vec<Value> {
    super::facility_keys::sandbox_requests(sandbox)
        .await
        .into_iter()
        .filter(|e| e["method"] != "GET" && e["path"] == path)
        .collect()
}

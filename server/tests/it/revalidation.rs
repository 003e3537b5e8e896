//! The background revalidation job (`server/src/jobs/key_revalidation.rs`) against the sandbox,
//! on every backend, with a short `revalidate_every`: a facility key and a user key regenerated in
//! Metrc turn invalid on their own (nobody presses "Revalidate now" or signs in), and the keys
//! Metrc still accepts stay valid, pass after pass.

use crate::support;

use app::types::auth::Role;
use app::types::facilities::{AssignOutcome, FacilityRow};
use app::types::keys::KeyStatus;
use app::types::user_keys::UserKeyView;
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;
use support::facility_keys::{
    CULTIVATION, RETAIL, admin, assign, employee, list, owner_key, regenerate_key, sandbox_requests,
};
use support::user_keys::{add_named_user, set_key, stored, view_key};
use support::{Backend, TestServer, eventually};

/// How long the job may take to notice (it runs every second here).
const PATIENCE: Duration = Duration::from_secs(30);

async fn facility(server: &TestServer, admin: &reqwest::Client, license: &str) -> FacilityRow {
    let rows: Vec<FacilityRow> = list(server, admin).await.ok();
    rows.into_iter()
        .find(|r| r.license_number == license)
        .unwrap_or_else(|| panic!("{license} not listed"))
}

async fn user_key_status(server: &TestServer, user_id: i32) -> (KeyStatus, DateTime<Utc>) {
    let row = stored(server, user_id).await.expect("a stored key");
    (row.status, row.last_validated_at.expect("validated"))
}

each_backend!(the_background_job_marks_regenerated_keys_invalid_and_keeps_valid_ones_valid);
async fn the_background_job_marks_regenerated_keys_invalid_and_keeps_valid_ones_valid(
    backend: Backend,
) {
    let server =
        TestServer::start_with(&backend, |c| c.revalidate_every = Duration::from_secs(1)).await;
    let client = admin(&server).await;
    let (olivia, retail_key) = owner_key(&server, "Olivia Owner", &[RETAIL]).await;
    let (_, cultivation_key) = owner_key(&server, "Carl Cultivator", &[CULTIVATION]).await;
    for (key, license) in [(&retail_key, RETAIL), (&cultivation_key, CULTIVATION)] {
        let _: AssignOutcome = assign(&server, &client, key, &[license], false).await.ok();
    }
    let mut users = Vec::new();
    for (email, name) in [
        ("uma@example.test", "Uma Employee"),
        ("vic@example.test", "Vic Employee"),
    ] {
        let id = add_named_user(&server, email, name, Role::Employee).await;
        let (sandbox_id, key) = employee(
            &server,
            json!({ "name": name, "permissions": { RETAIL: ["Packages"] } }),
        )
        .await;
        let view: UserKeyView = set_key(&server, &client, Some(id), &key, false).await.ok();
        assert_eq!(view.status, KeyStatus::Valid);
        users.push((id, sandbox_id));
    }
    let [(uma, uma_sandbox), (vic, _)] = users[..] else {
        unreachable!()
    };
    let masked = facility(&server, &client, RETAIL).await.masked_key;

    // Regenerated in Metrc: the stored keys are dead.
    regenerate_key(&server, olivia).await;
    regenerate_key(&server, uma_sandbox).await;

    let turned = eventually("the job marks the retail key invalid", PATIENCE, || async {
        let row = facility(&server, &client, RETAIL).await;
        match row.key_status {
            KeyStatus::Invalid => Ok(row),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    assert_eq!(turned.masked_key, masked, "the key is kept, shown invalid");
    let noticed = turned.last_validated_at.expect("checked");
    eventually("the job marks Uma's key invalid", PATIENCE, || async {
        match user_key_status(&server, uma).await.0 {
            KeyStatus::Invalid => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    let seen: UserKeyView = view_key(&server, &client, Some(uma)).await.ok();
    assert_eq!(seen.status, KeyStatus::Invalid);

    // Passes after that: the keys Metrc accepts are checked again and stay valid; the dead ones
    // stay invalid.
    let later = eventually(
        "another pass over the cultivation key",
        PATIENCE,
        || async {
            let row = facility(&server, &client, CULTIVATION).await;
            match row.last_validated_at {
                Some(at) if at > noticed => Ok(row),
                at => Err(format!("last checked at {at:?}")),
            }
        },
    )
    .await;
    assert_eq!(later.key_status, KeyStatus::Valid);
    let (vic_status, vic_checked) = eventually("another pass over Vic's key", PATIENCE, || async {
        let (status, at) = user_key_status(&server, vic).await;
        if at > noticed {
            Ok((status, at))
        } else {
            Err(format!("last checked at {at}"))
        }
    })
    .await;
    assert_eq!(vic_status, KeyStatus::Valid);
    assert!(vic_checked > noticed);
    assert_eq!(
        facility(&server, &client, RETAIL).await.key_status,
        KeyStatus::Invalid
    );
    assert_eq!(user_key_status(&server, uma).await.0, KeyStatus::Invalid);

    // Metrc was asked with the dead keys and said 401; every admin page says so.
    let log = sandbox_requests(&server).await;
    assert!(
        log.iter()
            .any(|e| e["path"] == "/facilities/v2/" && e["status"] == 401)
    );
    let page = server.page(&client, "/admin/users").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    assert!(
        html.contains(&format!(
            "1 facility has an invalid Metrc key: data no longer syncs with Metrc for {RETAIL}."
        )),
        "no invalid-key banner"
    );
}

//! `tracekeeper rotate-identity` with the real binary, on every backend: a server process stores
//! a facility key and a user key and queues submissions while Metrc fails them; it is stopped,
//! the identity is rotated, and it is started again on the same data. Every key still opens (shown
//! valid and masked as before, and Metrc accepts it again), and the queued submissions are sent
//! once, with the user's key.

use crate::support;

use app::ssr::entities::submissions;
use app::ssr::vault::rotation::stored_keys;
use app::types::facilities::{AssignOutcome, FacilityRow};
use app::types::keys::KeyStatus;
use app::types::submissions::{SubmissionDetail, SubmissionStatus};
use app::types::user_keys::UserKeyView;
use app::types::users::UserDetail;
use chrono::Utc;
use reqwest::StatusCode;
use sea_orm::{Database, EntityTrait};
use serde_json::json;
use std::time::Duration;
use support::facility_keys::{
    Answer, RETAIL, adjustable_packages, admin, assign, employee, list, owner_key, revalidate,
    sandbox_package,
};
use support::process::Binary;
use support::submissions::{adjust, submitted, with_id, writes};
use support::user_keys::{PASSWORD, set_key, signed_in, view_key};
use support::{Backend, Endpoint, MetrcSandbox, database_url, eventually};

/// The stored keys' ciphertexts, sorted.
async fn ciphertexts(database_url: &str) -> Vec<String> {
    let db = Database::connect(database_url).await.expect("database");
    let mut all: Vec<String> = stored_keys(&db)
        .await
        .expect("keys")
        .into_iter()
        .map(|k| k.ciphertext)
        .collect();
    all.sort();
    db.close().await.expect("close");
    all
}

async fn facility(site: &Endpoint, admin: &reqwest::Client) -> FacilityRow {
    let rows: Vec<FacilityRow> = list(site, admin).await.ok();
    rows.into_iter()
        .find(|r| r.license_number == RETAIL)
        .expect("the retail facility")
}

each_backend!(
    rotating_the_identity_keeps_every_key_and_the_queued_work_is_sent_once,
    flavor = "multi_thread",
    worker_threads = 2
);
async fn rotating_the_identity_keeps_every_key_and_the_queued_work_is_sent_once(backend: Backend) {
    let sandbox = MetrcSandbox::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let binary = Binary {
        dir: dir.path().to_owned(),
        database_url: database_url(&backend, dir.path()).await,
        metrc_url: sandbox.url.clone(),
    };
    let (_, owner) = owner_key(&sandbox, "Olivia Owner", &[RETAIL]).await;
    let (_, cara_key) = employee(
        &sandbox,
        json!({ "name": "Cara Carry", "permissions": { RETAIL: ["Packages"] } }),
    )
    .await;
    let packages: Vec<(String, f64, String)> = adjustable_packages(&sandbox, &owner, RETAIL)
        .await
        .into_iter()
        .take(3)
        .collect();
    assert_eq!(packages.len(), 3);

    // The secret files, as an operator provisions them (on PostgreSQL servers never generate
    // them).
    let out = binary.run(&["new-secrets", "--write-files"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // First run: the keys are stored, and Metrc refuses every adjustment for now.
    let server = binary.serve(1).await;
    let admin_client = admin(&server).await;
    let _: AssignOutcome = assign(&server, &admin_client, &owner, &[RETAIL], false)
        .await
        .ok();
    let cara: UserDetail = Answer::of(
        server
            .call_json(
                &admin_client,
                "create_user",
                &json!({ "input": {
                    "name": "Cara Carry", "email": "cara@example.test", "role": "Employee",
                    "all_facilities": true, "facilities": [], "can_submit": true,
                    "requires_review": false, "password": PASSWORD,
                }}),
            )
            .await,
    )
    .await
    .ok();
    let _: UserKeyView = set_key(&server, &admin_client, Some(cara.id), &cara_key, false)
        .await
        .ok();
    let facility_before = facility(&server, &admin_client).await;
    assert_eq!(facility_before.key_status, KeyStatus::Valid);
    let cara_before: UserKeyView = view_key(&server, &admin_client, Some(cara.id)).await.ok();
    let cara_client = signed_in(&server, "cara@example.test").await;
    let outage = sandbox.sandbox.fail_next(
        "/packages/v2/adjust",
        StatusCode::SERVICE_UNAVAILABLE,
        10_000,
    );
    let mut ids = Vec::new();
    for (label, _, unit) in &packages {
        ids.push(
            submitted(
                &server,
                &cara_client,
                RETAIL,
                adjust(label, -1.0, unit),
                false,
            )
            .await
            .id,
        );
    }
    // Stopped while every submission waits seconds for its next try: no call is cut off.
    let db = Database::connect(&binary.database_url)
        .await
        .expect("database");
    eventually(
        "the submissions wait for a later try",
        Duration::from_secs(60),
        || async {
            let rows = submissions::Entity::find().all(&db).await.expect("rows");
            let later = Utc::now() + chrono::Duration::seconds(2);
            let waiting = rows.len() == ids.len()
                && rows.iter().all(|r| {
                    r.status == SubmissionStatus::Retrying
                        && r.next_attempt_at.is_some_and(|at| at > later)
                });
            if waiting {
                Ok(())
            } else {
                let now: Vec<_> = rows
                    .iter()
                    .map(|r| (&r.status, r.next_attempt_at))
                    .collect();
                Err(format!("{now:?}"))
            }
        },
    )
    .await;
    assert!(server.stop().await.success(), "a clean stop");
    let rows = submissions::Entity::find().all(&db).await.expect("rows");
    assert!(
        rows.iter().all(|r| r.status == SubmissionStatus::Retrying),
        "{rows:?}"
    );
    db.close().await.expect("close");

    // Rotate.
    let identity = binary.data_dir().join("identity.txt");
    let old_identity = std::fs::read_to_string(&identity).expect("identity");
    let sealed_before = ciphertexts(&binary.database_url).await;
    assert_eq!(sealed_before.len(), 2, "the facility key and Cara's");
    let out = binary.run(&["rotate-identity"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Re-encrypted 2 keys"), "{stdout}");
    assert_ne!(
        std::fs::read_to_string(&identity).expect("identity"),
        old_identity
    );
    let kept = binary.data_dir().join("identity.txt.old");
    assert_eq!(
        std::fs::read_to_string(kept).expect("old identity"),
        old_identity
    );
    let sealed_after = ciphertexts(&binary.database_url).await;
    assert_eq!(sealed_after.len(), 2);
    assert!(sealed_after.iter().all(|c| !sealed_before.contains(c)));

    // Second run, Metrc working again: the keys open and the queued work goes, once.
    drop(outage);
    let server = binary.serve(2).await;
    let admin_client = admin(&server).await;
    let facility_after = facility(&server, &admin_client).await;
    assert_eq!(facility_after.key_status, KeyStatus::Valid);
    assert_eq!(facility_after.masked_key, facility_before.masked_key);
    assert!(facility_after.masked_key.is_some());
    let checked: FacilityRow = revalidate(&server, &admin_client, RETAIL).await.ok();
    assert_eq!(
        checked.key_status,
        KeyStatus::Valid,
        "Metrc accepts the key"
    );
    let cara_after: UserKeyView = view_key(&server, &admin_client, Some(cara.id)).await.ok();
    assert_eq!(cara_after.masked_key, cara_before.masked_key);
    assert!(cara_after.masked_key.is_some());
    assert_eq!(cara_after.status, KeyStatus::Valid);

    for id in &ids {
        let done = eventually(
            "the queued submission is accepted",
            Duration::from_secs(60),
            || async {
                let detail: SubmissionDetail =
                    with_id(&server, &admin_client, "submission_detail", id)
                        .await
                        .ok();
                if detail.row.status == SubmissionStatus::Accepted {
                    Ok(detail)
                } else {
                    Err(format!("{:?}", detail.row.status))
                }
            },
        )
        .await;
        let accepted: Vec<_> = done
            .attempts
            .iter()
            .filter(|a| a.http_status == Some(200))
            .collect();
        assert_eq!(accepted.len(), 1, "sent once: {:?}", done.attempts);
    }
    let landed: Vec<_> = writes(&sandbox, "/packages/v2/adjust")
        .await
        .into_iter()
        .filter(|e| e["status"] == 200)
        .collect();
    assert!(
        !landed.is_empty() && landed.len() <= ids.len(),
        "{landed:?}"
    );
    assert!(landed.iter().all(|e| e["employee_name"] == "Cara Carry"));
    for (label, before, _) in &packages {
        let now = sandbox_package(&sandbox, RETAIL, label).await["Quantity"]
            .as_f64()
            .expect("quantity");
        assert!(
            (now - (before - 1.0)).abs() < 1e-9,
            "{label}: {before} → {now}"
        );
    }
    assert!(server.stop().await.success());
}

//! Sync and the singleton jobs with two servers on one database (docs/design.md §11), on every
//! backend: two servers asked to sync one facility at once never both run it, and "Sync now"
//! pressed through one server runs exactly once, on whichever server has room; a run whose server
//! died is left alone while its lease lives, then taken over and resumed from its cursors; key
//! revalidation runs on one server at a time, and on the other once its holder stops.

use crate::support;

use app::ssr::entities::leases as leases_entity;
use app::ssr::queries::facilities::{self, SyncStatus};
use app::ssr::queries::{leases, sync_cursors};
use app::ssr::sync::{self, SyncError};
use app::types::inventory::SyncState;
use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;
use std::time::Duration;
use support::facility_keys::{RETAIL, admin, sandbox_requests};
use support::{Backend, TestServer, eventually};

use crate::sync::{calls_since, facility, facility_row, keyed};

/// How long background work may take to show.
const PATIENCE: Duration = Duration::from_secs(30);

/// The calls since `from` for `license` to the Metrc path `path`.
async fn calls_to(server: &TestServer, from: usize, license: &str, path: &str) -> Vec<Value> {
    calls_since(server, from)
        .await
        .into_iter()
        .filter(|c| c["license"] == license && c["path"] == path)
        .collect()
}

/// The facility's row once a run completed after `since`; what it shows instead.
async fn synced_after(
    server: &TestServer,
    license: &str,
    since: Option<chrono::DateTime<Utc>>,
) -> Result<app::ssr::entities::facilities::Model, String> {
    let row = facility_row(server, license).await;
    if row.sync_state == SyncState::Idle && row.last_sync_at > since {
        Ok(row)
    } else {
        Err(format!(
            "{:?}, last sync {:?}",
            row.sync_state, row.last_sync_at
        ))
    }
}

/// The facility-key checks (`/facilities/v2/`) since `from`: one per revalidation pass here.
async fn revalidations(server: &TestServer, from: usize) -> usize {
    calls_since(server, from)
        .await
        .into_iter()
        .filter(|c| c["path"] == "/facilities/v2/")
        .count()
}

/// Wakes both servers' sync loops (what their next poll would do, sooner).
fn wake(servers: [&TestServer; 2]) {
    for server in servers {
        server.state.sync.wake();
    }
}

each_backend!(sync_now_runs_once_on_any_server_and_two_servers_never_run_one_facility_at_once);
async fn sync_now_runs_once_on_any_server_and_two_servers_never_run_one_facility_at_once(
    backend: Backend,
) {
    let mut a = TestServer::start(&backend).await;
    let b = a.start_beside(|_| {}).await;
    let license = "CCL-TWO-1";
    facility(&a, license, "Adult-Use Cultivation", 60).await;

    // Both servers asked at once: one runs, the other finds the facility's lease taken.
    let (on_a, on_b) = tokio::join!(
        sync::sync_facility(&a.state, license, true),
        sync::sync_facility(&b.state, license, true),
    );
    let ran: Vec<_> = [&on_a, &on_b].into_iter().filter(|r| r.is_ok()).collect();
    assert_eq!(ran.len(), 1, "{on_a:?} / {on_b:?}");
    assert!(
        [&on_a, &on_b]
            .iter()
            .any(|r| matches!(r, Err(SyncError::AlreadyRunning(_)))),
        "{on_a:?} / {on_b:?}"
    );
    let live = leases::live(&a.state.db, "sync:", Utc::now())
        .await
        .unwrap();
    assert!(live.is_empty(), "the run gave its lease back: {live:?}");

    // "Sync now" through A, both servers looking: one run, once.
    let before = facility_row(&a, license).await.last_sync_at;
    let seen = sandbox_requests(&a).await.len();
    let client = admin(&a).await;
    let answer = a.call(&client, "sync_now", &[("license", license)]).await;
    assert!(answer.status().is_success(), "{}", answer.status());
    wake([&a, &b]);
    let row = eventually("Sync now ran", PATIENCE, || {
        synced_after(&a, license, before)
    })
    .await;
    assert_eq!(row.sync_requested_at, None, "the run took the request");
    // Both loops look again: nothing more runs.
    for _ in 0..5 {
        wake([&a, &b]);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let runs = calls_to(&a, seen, license, "/locations/v2/active").await;
    assert_eq!(runs.len(), 1, "one run: {runs:?}");
    assert_eq!(
        facility_row(&a, license).await.last_sync_at,
        row.last_sync_at
    );

    // Pressed on A while A cannot run it (stopped here): the request is in the database, and B
    // runs it.
    a.stop().await;
    let seen = sandbox_requests(&b).await.len();
    sync::request_now(&a.state, license)
        .await
        .expect("requested");
    b.state.sync.wake();
    let since = row.last_sync_at;
    let row = eventually("B ran A's Sync now", PATIENCE, || {
        synced_after(&b, license, since)
    })
    .await;
    assert_eq!(row.sync_requested_at, None);
    let runs = calls_to(&b, seen, license, "/locations/v2/active").await;
    assert_eq!(runs.len(), 1, "one run: {runs:?}");
}

each_backend!(
    a_run_whose_server_died_is_left_alone_until_its_lease_expires_then_resumed_from_its_cursors
);
async fn a_run_whose_server_died_is_left_alone_until_its_lease_expires_then_resumed_from_its_cursors(
    backend: Backend,
) {
    let lease = Duration::from_secs(2);
    let a = TestServer::start_with(&backend, |c| c.lease = lease).await;
    let license = "CCL-DIED-1";
    facility(&a, license, "Adult-Use Cultivation", 200).await;
    let first = sync::sync_facility(&a.state, license, false)
        .await
        .expect("first sync");
    assert_eq!(first.state, SyncState::Idle, "{first:?}");
    let cursors = sync_cursors::for_license(&a.state.db, license)
        .await
        .unwrap();
    let f = facility_row(&a, license).await;

    // A server that died mid-run: its lease stands a few seconds more, the facility says running.
    let name = sync::lease_name(license);
    // Long enough to outlast a slow start of the second server; then expired by hand below.
    let ttl = Duration::from_secs(60);
    let dead = leases::acquire(&a.state.db, &name, "dead", ttl, Utc::now())
        .await
        .unwrap()
        .expect("a free lease");
    let running = SyncStatus {
        state: SyncState::Running,
        message: None,
        progress: None,
        failures: 0,
        retry_at: None,
    };
    facilities::set_sync_status(&a.state.db, f.id, running, None, None)
        .await
        .unwrap();
    let seen = sandbox_requests(&a).await.len();

    // Another server starts, and both look, while the lease lives: nobody touches the facility.
    let b = a.start_beside(|c| c.lease = lease).await;
    for _ in 0..10 {
        wake([&a, &b]);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        Utc::now() < dead.expires_at,
        "the dead server's lease still lives"
    );
    assert!(
        calls_to(&a, seen, license, "/locations/v2/active")
            .await
            .is_empty()
    );
    assert_eq!(
        facility_row(&a, license).await.sync_state,
        SyncState::Running
    );
    let live = leases::live(&a.state.db, "sync:", Utc::now())
        .await
        .unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].holder, "dead");

    // Once it expired (made so now, as time would): taken over, and resumed from the cursors.
    leases_entity::Entity::update_many()
        .col_expr(
            leases_entity::Column::ExpiresAt,
            sea_orm::sea_query::Expr::value(Utc::now() - chrono::Duration::seconds(1)),
        )
        .filter(leases_entity::Column::Name.eq(name.as_str()))
        .exec(&a.state.db)
        .await
        .unwrap();
    let row = eventually("the run is taken over", PATIENCE, || {
        wake([&a, &b]);
        synced_after(&a, license, f.last_sync_at)
    })
    .await;
    assert_eq!(row.sync_message, None);
    // 200 packages read again from 2015 take 10 pages; from the cursor (less a minute), one.
    let packages = calls_to(&a, seen, license, "/packages/v2/active").await;
    assert_eq!(packages.len(), 1, "resumed from the cursor: {packages:?}");
    let after = sync_cursors::for_license(&a.state.db, license)
        .await
        .unwrap();
    for (list, at) in &cursors {
        assert!(
            after[list] > *at,
            "{list} resumed from its cursor and moved on"
        );
    }
    assert!(
        leases::live(&a.state.db, "sync:", Utc::now())
            .await
            .unwrap()
            .is_empty(),
        "the run gave its lease back"
    );
}

each_backend!(key_revalidation_runs_on_one_server_at_a_time_and_moves_when_its_server_stops);
async fn key_revalidation_runs_on_one_server_at_a_time_and_moves_when_its_server_stops(
    backend: Backend,
) {
    let every = Duration::from_secs(1);
    let tweak = |c: &mut app::ssr::config::Config| {
        c.revalidate_every = every;
        c.lease = Duration::from_secs(2);
    };
    let a = TestServer::start_with(&backend, tweak).await;
    let b = a.start_beside(tweak).await;
    keyed(&a, &[RETAIL]).await;

    // One facility key, checked once a second: one server's passes, not two servers'.
    let seen = sandbox_requests(&a).await.len();
    let window = Duration::from_secs(6);
    tokio::time::sleep(window).await;
    let counted = revalidations(&a, seen).await;
    assert!(
        (3..=7).contains(&counted),
        "{counted} passes in {window:?} at one a second"
    );
    let holders = leases::live(&a.state.db, "job:key-revalidation", Utc::now())
        .await
        .unwrap();
    assert_eq!(holders.len(), 1);
    let ids = [&a, &b].map(|s| s.state.server_id.to_string());
    assert!(ids.contains(&holders[0].holder), "{holders:?}");

    // Its holder stops: the other takes the job over once the lease expired.
    let (mut holder, other) = if holders[0].holder == ids[0] {
        (a, b)
    } else {
        (b, a)
    };
    holder.stop().await;
    drop(holder);
    let other_id = other.state.server_id.to_string();
    eventually("the other server holds the job", PATIENCE, || async {
        let now = leases::live(&other.state.db, "job:key-revalidation", Utc::now())
            .await
            .unwrap();
        match now.first() {
            Some(l) if l.holder == other_id => Ok(()),
            l => Err(format!("{l:?}")),
        }
    })
    .await;
    let seen = sandbox_requests(&other).await.len();
    eventually("the other server revalidates", PATIENCE, || async {
        let after = revalidations(&other, seen).await;
        if after >= 2 {
            Ok(())
        } else {
            Err(format!("{after} passes"))
        }
    })
    .await;
}

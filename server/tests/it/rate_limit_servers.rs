//! Metrc's GET limits held by all the servers on one database together (issue 16, item 4;
//! docs/design.md §11), on every backend: each server takes its share through the servers'
//! heartbeat (`app::ssr::servers`), a newcomer spends nothing until the others have shrunk, and
//! the share of a server that stops goes back to the others.

use crate::support;

use app::ssr::queries::servers::{self, Live};
use app::ssr::servers::BEAT;
use metrc::sandbox::SandboxConfig;
use secrecy::SecretString;
use std::time::{Duration, Instant};
use support::facility_keys::{DISTRIBUTION, RETAIL, owner_key};
use support::{Backend, HasSandbox, TestServer, eventually};

/// Long enough for any change of share: a few beats.
const A_FEW_BEATS: Duration = BEAT.saturating_mul(4);

/// The first server. Its Metrc client allows one GET in flight fewer than Metrc's 30 per vendor
/// key: in one process, clients for the same host, vendor key and limits share one limiter,
/// and the server started beside this one must have its own, as a server of another process.
async fn first_server(backend: &Backend) -> TestServer {
    TestServer::start_custom(
        backend,
        |_| {},
        SandboxConfig::default(),
        |client| {
            client.limits.per_vendor_concurrent -= 1;
        },
    )
    .await
}

/// The share each server holds to and whether its gate is open, `(share, open)`, once both
/// are `expected`.
async fn until_both(servers: [&TestServer; 2], expected: (u32, bool), what: &str) {
    eventually(what, A_FEW_BEATS, || async {
        let now: Vec<_> = servers
            .iter()
            .map(|s| (s.state.metrc.share(), s.state.metrc.is_open()))
            .collect();
        if now.iter().all(|&state| state == expected) {
            Ok(())
        } else {
            Err(format!("{now:?}"))
        }
    })
    .await;
}

/// The servers' rows: their ids and shares.
async fn rows(server: &TestServer) -> Vec<Live> {
    servers::live(&server.state.db, chrono::DateTime::UNIX_EPOCH)
        .await
        .expect("servers")
}

each_backend!(a_second_server_halves_both_shares_and_spends_once_the_first_has);
/// A server alone holds the whole limits once it has beaten. A second one on its database
/// opens its gate only once the first holds to half (the first's gate stays open meanwhile);
/// both then hold half and say so in their rows. Once the second stops, the first holds the
/// whole limits again.
async fn a_second_server_halves_both_shares_and_spends_once_the_first_has(backend: Backend) {
    let first = first_server(&backend).await;
    eventually("the first server's gate opens", A_FEW_BEATS, || async {
        (first.state.metrc.share(), first.state.metrc.is_open())
            .eq(&(1, true))
            .then_some(())
            .ok_or_else(|| format!("share {}", first.state.metrc.share()))
    })
    .await;

    let mut second = first.start_beside(|_| {}).await;
    let joiner = second.state.server_id.to_string();
    eventually("the second server beats", A_FEW_BEATS, || async {
        let ids: Vec<_> = rows(&first).await.into_iter().map(|r| r.id).collect();
        ids.contains(&joiner)
            .then_some(())
            .ok_or(format!("{ids:?}"))
    })
    .await;
    // Its gate was closed before its first beat; watch it open.
    let deadline = Instant::now() + A_FEW_BEATS;
    let mut seen_closed = false;
    loop {
        assert!(
            first.state.metrc.is_open(),
            "the first server keeps spending"
        );
        if second.state.metrc.is_open() {
            assert_eq!(
                first.state.metrc.share(),
                2,
                "the second server's gate opened before the first held to half"
            );
            break;
        }
        seen_closed = true;
        assert!(Instant::now() < deadline, "the second server's gate opens");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(seen_closed, "the second server's gate was closed at first");
    until_both([&first, &second], (2, true), "both hold to half").await;
    eventually("both rows say 2", A_FEW_BEATS, || async {
        let rows = rows(&first).await;
        rows.iter()
            .all(|r| r.share == 2)
            .then_some(())
            .ok_or(format!("{rows:?}"))
    })
    .await;

    second.stop().await;
    let ids: Vec<_> = rows(&first).await.into_iter().map(|r| r.id).collect();
    assert_eq!(
        ids,
        [first.state.server_id.to_string()],
        "the second forgot itself"
    );
    eventually(
        "the first holds the whole limits again",
        A_FEW_BEATS,
        || async {
            let now = (first.state.metrc.share(), first.state.metrc.is_open());
            (now == (1, true)).then_some(()).ok_or(format!("{now:?}"))
        },
    )
    .await;
}

each_backend!(
    two_servers_at_full_speed_get_no_429,
    flavor = "multi_thread",
    worker_threads = 2
);
/// Two servers make GETs as fast as their shares let them, for one vendor key and two licenses,
/// against a sandbox that answers in 100 ms and enforces Metrc's limits (429 over them): 60
/// callers on each would put 60 GETs in flight, twice Metrc's 30 per vendor key, without the
/// shares. The sandbox answers none of them 429.
async fn two_servers_at_full_speed_get_no_429(backend: Backend) {
    let first = first_server(&backend).await;
    let second = first.start_beside(|_| {}).await;
    until_both([&first, &second], (2, true), "both hold to half").await;
    let (_, key) = owner_key(&first, "Olivia Owner", &[RETAIL, DISTRIBUTION]).await;
    let key = SecretString::from(key);
    let _slow = first.sandbox().slow_down(Duration::from_millis(100));
    let started = chrono::Utc::now();

    let callers: Vec<_> = [&first, &second]
        .into_iter()
        .flat_map(|server| {
            (0..60).map(|i| {
                let (metrc, key) = (server.state.metrc.first().clone(), key.clone());
                tokio::spawn(async move {
                    for call in 0..4 {
                        match (i + call) % 3 {
                            0 => metrc.facilities(&key).await.map(drop),
                            1 => metrc.employees(&key, RETAIL).await.map(drop),
                            _ => metrc.employees(&key, DISTRIBUTION).await.map(drop),
                        }
                        .expect("a GET within the limits");
                    }
                })
            })
        })
        .collect();
    for caller in callers {
        caller.await.expect("caller");
    }

    let gets: Vec<_> = first
        .sandbox()
        .requests()
        .into_iter()
        .filter(|r| r.at >= started && r.method == "GET")
        .collect();
    assert!(gets.len() >= 480, "{} GETs", gets.len());
    let refused = gets.iter().filter(|r| r.status == 429).count();
    assert_eq!(refused, 0, "GETs answered 429, of {}", gets.len());
}

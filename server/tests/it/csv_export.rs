//! Metrc Submissions' "Export CSV" against the listing, on every backend: with more submissions
//! than one page holds, for each filter (tabs, user, facility, status, compliance, and
//! combinations) the CSV holds exactly the rows the filtered listing holds over all its pages,
//! in the same order, each as the CSV renders it.

use crate::support;

use app::ssr::outbox::csv;
use app::types::inventory::PAGE_SIZE;
use app::types::submissions::{SubmissionFilter, SubmissionRow, SubmissionStatus, SubmissionTab};
use reqwest::StatusCode;
use serde_json::json;
use support::facility_keys::{CULTIVATION, RETAIL};
use support::submissions::{
    Employee, World, adjust, finish, keyed_user, keyless_user, listed, packages_permission,
    submitted, uma, wait_for, world,
};
use support::user_keys::edit_user;
use support::{Backend, Endpoint};

/// The CSV export of `filter`, as the "Export CSV" link asks for it.
async fn export(site: &Endpoint, admin: &reqwest::Client, filter: &SubmissionFilter) -> String {
    let response = admin
        .get(site.url(csv::EXPORT_PATH))
        .query(&filter.to_pairs())
        .send()
        .await
        .expect("export");
    assert_eq!(response.status(), StatusCode::OK, "{filter:?}");
    response.text().await.expect("csv")
}

/// `n` submissions by `who` at `license`, each taking a little from one of the packages.
async fn adjustments(
    w: &World,
    who: &Employee,
    license: &str,
    n: usize,
    confirm: bool,
) -> Vec<i64> {
    let packages = w.packages(license).await;
    let mut ids = Vec::new();
    for i in 0..n {
        let (label, _, unit) = &packages[i % packages.len()];
        ids.push(
            submitted(
                &w.server,
                &who.client,
                license,
                adjust(label, -0.01, unit),
                confirm,
            )
            .await
            .id,
        );
    }
    ids
}

each_backend!(the_csv_of_each_filter_holds_exactly_the_rows_its_listing_holds_over_every_page);
async fn the_csv_of_each_filter_holds_exactly_the_rows_its_listing_holds_over_every_page(
    backend: Backend,
) {
    let w = world(&backend).await;
    let uma = uma(&w).await;
    let ned = keyless_user(&w, "ned@example.test", "Ned \"Nokey\", Jr.").await;
    let rita = keyed_user(
        &w,
        "rita@example.test",
        "Rita Review",
        packages_permission(),
    )
    .await;
    edit_user(&w.server, &w.admin, rita.id, |u| {
        u["requires_review"] = json!(true);
    })
    .await;

    // Settled ones: rejected by Metrc (Uma), accepted under the facility key (Ned).
    let cultivation = w.packages(CULTIVATION).await;
    let mut settled = Vec::new();
    for (i, (label, _, _)) in cultivation.iter().take(2).enumerate() {
        let bad = adjust(&format!("1A4NOPE000000000000000{i}"), -1.0, "Grams");
        settled.push((
            submitted(&w.server, &uma.client, RETAIL, bad, false)
                .await
                .id,
            SubmissionStatus::Rejected,
        ));
        let done = finish(label);
        settled.push((
            submitted(&w.server, &ned.client, CULTIVATION, done, true)
                .await
                .id,
            SubmissionStatus::Accepted,
        ));
    }
    for (id, status) in settled {
        wait_for(&w.server, id, status).await;
    }
    // Waiting ones, more than a page: queued (Uma at both, Ned at the cultivation license) and
    // pending approval (Rita).
    w.server.state.outbox.update(|s| s.paused = true);
    let mut made = adjustments(&w, &uma, RETAIL, 40, false).await.len();
    made += adjustments(&w, &uma, CULTIVATION, 15, false).await.len();
    made += adjustments(&w, &ned, CULTIVATION, 25, true).await.len();
    made += adjustments(&w, &rita, RETAIL, 3, false).await.len();
    assert!(made + 4 > PAGE_SIZE as usize, "more than a page");

    let filter = |change: &dyn Fn(&mut SubmissionFilter)| {
        let mut f = SubmissionFilter::default();
        change(&mut f);
        f
    };
    let filters = [
        filter(&|_| {}),
        filter(&|f| f.tab = SubmissionTab::PendingApproval),
        filter(&|f| f.tab = SubmissionTab::Failed),
        filter(&|f| f.tab = SubmissionTab::NotCompliant),
        filter(&|f| f.user_id = Some(uma.id)),
        filter(&|f| f.user_id = Some(ned.id)),
        filter(&|f| f.license = Some(RETAIL.into())),
        filter(&|f| f.license = Some(CULTIVATION.into())),
        filter(&|f| f.status = Some(SubmissionStatus::Queued)),
        filter(&|f| f.status = Some(SubmissionStatus::Accepted)),
        filter(&|f| f.status = Some(SubmissionStatus::Rejected)),
        filter(&|f| f.compliant = Some(true)),
        filter(&|f| f.compliant = Some(false)),
        filter(&|f| {
            f.user_id = Some(uma.id);
            f.license = Some(CULTIVATION.into());
            f.status = Some(SubmissionStatus::Queued);
        }),
        filter(&|f| {
            f.tab = SubmissionTab::NotCompliant;
            f.license = Some(CULTIVATION.into());
            f.status = Some(SubmissionStatus::Accepted);
        }),
        filter(&|f| {
            f.tab = SubmissionTab::Failed;
            f.user_id = Some(ned.id);
        }),
    ];
    let mut spanning = 0;
    for filter in &filters {
        let rows: Vec<SubmissionRow> = listed(&w.server, &w.admin, filter).await;
        if rows.len() > PAGE_SIZE as usize {
            spanning += 1;
        }
        let body = export(&w.server, &w.admin, filter).await;
        // Each line's second field is the id (the first, a time, holds no comma).
        let ids: Vec<i64> = body
            .split("\r\n")
            .skip(1)
            .filter(|l| !l.is_empty())
            .map(|l| {
                l.split(',')
                    .nth(1)
                    .and_then(|id| id.parse().ok())
                    .expect("an id")
            })
            .collect();
        let listed_ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        assert_eq!(ids, listed_ids, "{filter:?}");
        assert_eq!(body, csv::render(&rows), "{filter:?}");
    }
    assert!(spanning >= 3, "several filters span pages: {spanning}");
}

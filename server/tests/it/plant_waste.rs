//! "Record waste" on plants through the outbox, over HTTP against the sandbox, on every backend:
//! an employee with their own key picks plants and Metrc's waste method, reason and unit, the
//! submission is accepted, Metrc holds the waste record, and its request log names the employee.

use crate::support;

use app::types::inventory::ReferenceLists;
use app::types::submissions::{KeyUsed, Preflight, SubmissionAction, SubmissionStatus};
use serde_json::{Value, json};
use support::Backend;
use support::facility_keys::{Answer, CULTIVATION, metrc_page};
use support::submissions::{
    World, keyed_user, my_submissions, preflight, submitted, wait_for, world, writes, yesterday,
};

/// Labels of the vegetative plants of `license` (first page), read with the facility key.
async fn vegetative_plants(w: &World, license: &str) -> Vec<String> {
    metrc_page(&w.server, &w.owner_key, "/plants/v2/vegetative", license)
        .await
        .iter()
        .map(|p| p["Label"].as_str().expect("label").to_owned())
        .collect()
}

each_backend!(an_employee_records_plant_waste_which_metrc_accepts_under_their_name);
async fn an_employee_records_plant_waste_which_metrc_accepts_under_their_name(backend: Backend) {
    let w = world(&backend).await;
    let wes = keyed_user(
        &w,
        "wes@example.test",
        "Wes Waste",
        json!({ CULTIVATION: ["Plants"] }),
    )
    .await;
    let check: Preflight = preflight(&w.server, &wes.client, CULTIVATION, "RecordPlantWaste")
        .await
        .ok();
    assert_eq!(
        (check.key_used, check.blocked, check.warning),
        (Some(KeyUsed::UserKey), None, None)
    );

    // What the waste form offers, as the employee's screen asks for it.
    let lists: ReferenceLists = Answer::of(
        w.server
            .call(&wes.client, "reference_lists", &[("license", CULTIVATION)])
            .await,
    )
    .await
    .ok();
    let method = lists.waste_methods.first().expect("a waste method").clone();
    assert!(
        lists.waste_reasons.iter().any(|r| r == "Damage"),
        "{lists:?}"
    );
    assert!(lists.units.iter().any(|u| u == "Grams"), "{lists:?}");
    let plants: Vec<String> = vegetative_plants(&w, CULTIVATION)
        .await
        .into_iter()
        .take(2)
        .collect();
    assert_eq!(plants.len(), 2, "the sandbox has vegetative plants");

    let queued = submitted(
        &w.server,
        &wes.client,
        CULTIVATION,
        json!({ "RecordPlantWaste": {
            "plant_labels": plants, "method": method, "reason": "Damage", "weight": 12.5,
            "unit": "Grams", "note": "Stems broken in transport", "date": yesterday()
        }}),
        false,
    )
    .await;
    assert_eq!(queued.action, SubmissionAction::RecordPlantWaste);
    assert_eq!(queued.user_id, wes.id);
    assert!(queued.compliant);
    let done = wait_for(&w.server, queued.id, SubmissionStatus::Accepted).await;
    assert_eq!(done.metrc_status, Some(200));

    // Metrc holds it, made with Wes's key.
    let recorded: Vec<Value> = reqwest::get(format!(
        "{}/sandbox/licenses/{CULTIVATION}/plant-waste",
        w.server.sandbox_url
    ))
    .await
    .expect("plant waste")
    .json()
    .await
    .expect("json");
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    let waste = &recorded[0];
    assert_eq!(waste["plant_labels"], json!(plants));
    assert_eq!(waste["method"], method.as_str());
    assert_eq!(waste["reason"], "Damage");
    assert_eq!(waste["weight"], 12.5);
    assert_eq!(waste["unit"], "Grams");
    assert_eq!(waste["note"], "Stems broken in transport");
    assert_eq!(waste["date"], yesterday());
    assert_eq!(waste["employee_id"], json!(wes.sandbox_id));
    let log = writes(&w.server, "/plants/v2/waste").await;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0]["employee_name"], "Wes Waste");
    assert_eq!(log[0]["license"], CULTIVATION);
    assert_eq!(log[0]["status"], 200);

    let mine = my_submissions(&w.server, &wes.client, 0).await;
    assert_eq!(mine.total, 1);
    assert_eq!(mine.rows[0].status, SubmissionStatus::Accepted);
    assert_eq!(mine.rows[0].action, SubmissionAction::RecordPlantWaste);
}

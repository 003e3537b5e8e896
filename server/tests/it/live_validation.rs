//! The live facility-key validation (`validate_facility_key_live`) over HTTP against the sandbox,
//! on every backend: one JSON line per update, the licenses first and `Done` last, and between
//! them every cell, the same as the one-shot validation's.

use crate::support;

use app::types::facilities::{AssignOutcome, CellState, KeyValidation};
use app::types::key_validation::{KeyHolder, LiveValidation, Phase, ValidationUpdate};
use metrc::Section;
use serde_json::json;
use std::collections::BTreeSet;
use support::facility_keys::{Answer, CULTIVATION, RETAIL, admin, assign, employee, validate};
use support::user_keys::updates;
use support::{Backend, Endpoint, TestServer};

/// Facilities by license and each one's cells in section order: how two validations compare.
fn in_order(mut validation: KeyValidation) -> KeyValidation {
    let position = |name: &str| Section::ALL.iter().position(|s| s.name() == name);
    validation
        .facilities
        .sort_by(|a, b| a.license_number.cmp(&b.license_number));
    for f in &mut validation.facilities {
        f.cells.sort_by_key(|c| position(&c.section));
    }
    validation
}

async fn live(site: &Endpoint, client: &reqwest::Client, key: &str) -> Vec<ValidationUpdate> {
    let answer = Answer::of(
        site.call(client, "validate_facility_key_live", &[("key", key)])
            .await,
    )
    .await;
    assert!(!answer.body.contains(key), "the key came back");
    updates(&answer)
}

each_backend!(the_live_validation_streams_every_cell_of_the_one_shot_validation_then_done);
async fn the_live_validation_streams_every_cell_of_the_one_shot_validation_then_done(
    backend: Backend,
) {
    let server = TestServer::start(&backend).await;
    let client = admin(&server).await;
    let (_, key) = employee(
        &server,
        json!({
            "name": "Olivia Owner",
            "owner_of": [RETAIL, CULTIVATION],
            "permissions": { RETAIL: ["Packages", "Sales"], CULTIVATION: ["Plants", "Locations"] },
        }),
    )
    .await;
    let one_shot: KeyValidation = validate(&server, &client, &key).await.ok();
    let sections = Section::ALL.len();

    let updates = live(&server, &client, &key).await;
    let Some(ValidationUpdate::Facilities {
        sections: names,
        facilities,
        holder,
    }) = updates.first()
    else {
        panic!("the licenses come first: {updates:?}");
    };
    assert_eq!(names.len(), sections);
    assert_eq!(facilities.len(), 2);
    assert!(facilities.iter().all(|f| f.cells.is_empty()));
    assert_eq!(holder, &KeyHolder::Nobody);
    assert_eq!(updates.last(), Some(&ValidationUpdate::Done), "{updates:?}");
    let cells: Vec<(&String, &String)> = updates[1..updates.len() - 1]
        .iter()
        .map(|u| match u {
            ValidationUpdate::Cell {
                license_number,
                cell,
            } => (license_number, &cell.section),
            other => panic!("only cells between the licenses and Done: {other:?}"),
        })
        .collect();
    let distinct: BTreeSet<_> = cells.iter().collect();
    assert_eq!(
        cells.len(),
        2 * sections,
        "one cell per license and section"
    );
    assert_eq!(distinct.len(), cells.len(), "no cell twice");

    // Folded as the panel folds them: exactly the one-shot validation.
    let mut panel = LiveValidation::checking();
    for update in updates {
        panel.apply(update);
    }
    assert_eq!(panel.phase, Phase::Done);
    assert_eq!(panel.progress(), (2 * sections, 2 * sections));
    let streamed = in_order(panel.validation);
    assert_eq!(streamed, in_order(one_shot));
    for state in [
        CellState::Granted,
        CellState::Denied,
        CellState::NotApplicable,
    ] {
        let seen = streamed
            .facilities
            .iter()
            .any(|f| f.cells.iter().any(|c| c.status == state));
        assert!(seen, "no {state:?} cell: {streamed:?}");
    }

    // Once assigned, the stream says whose key it is.
    let _: AssignOutcome = assign(&server, &client, &key, &[RETAIL, CULTIVATION], false)
        .await
        .ok();
    let again = live(&server, &client, &key).await;
    let Some(ValidationUpdate::Facilities { holder, .. }) = again.first() else {
        panic!("{again:?}");
    };
    let KeyHolder::Facilities(mut licenses) = holder.clone() else {
        panic!("{holder:?}");
    };
    licenses.sort();
    let mut both = vec![RETAIL.to_owned(), CULTIVATION.to_owned()];
    both.sort();
    assert_eq!(licenses, both);
    assert_eq!(again.last(), Some(&ValidationUpdate::Done));
}

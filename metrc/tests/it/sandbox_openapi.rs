//! Every 200 the sandbox gives for a route that Metrc's v2 OpenAPI description (the community
//! one, docs/metrc.md §1) describes validates against that route's response schema.
//!
//! The validator covers the subset of OpenAPI the YAML uses: `$ref`, `oneOf`, `nullable`, `type`,
//! `format` (int32, date, date-time), `properties`, `required`, `additionalProperties: false`,
//! `items`, `minLength`. Property names compare case-insensitively (the YAML writes camelCase where
//! Metrc sends PascalCase), and the sandbox's names must be PascalCase as Metrc's are. `pattern` is
//! not checked: the YAML's date-time pattern insists on a `Z` where Metrc sends `+00:00` offsets,
//! and Metrc's own documentation wins (docs/metrc.md §6); likewise a `date-time` may be a local
//! time without zone, as Metrc sends sales times.
#![cfg(feature = "sandbox")]

use crate::sandbox_support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use metrc::sections::Resource;
use reqwest::{Method, StatusCode};
use sandbox_support::*;
use serde_json::{Value, json};

fn load_spec() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/openmetrc-v2.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read the Metrc OpenAPI description at {} ({e})",
            path.display()
        )
    });
    serde_yaml_ng::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", path.display()))
}

struct Validator<'a> {
    spec: &'a Value,
}

impl<'a> Validator<'a> {
    fn resolve(&self, schema: &'a Value) -> &'a Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let pointer = reference.trim_start_matches('#');
                let target = self
                    .spec
                    .pointer(pointer)
                    .unwrap_or_else(|| panic!("dangling $ref {reference}"));
                self.resolve(target)
            }
            None => schema,
        }
    }

    /// The response schema of `GET path` with status 200, if the YAML describes it.
    fn response_schema(&self, path: &str) -> Option<&'a Value> {
        let trimmed = path.trim_end_matches('/');
        self.spec["paths"].get(trimmed)?["get"]["responses"]["200"]["content"]["application/json"]
            .get("schema")
    }

    fn check(&self, schema: &'a Value, value: &Value, at: &str, errors: &mut Vec<String>) {
        let schema = self.resolve(schema);
        let nullable = schema
            .get("nullable")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if value.is_null() {
            let untyped = schema.get("type").is_none() && schema.get("oneOf").is_none();
            if !nullable && !untyped {
                errors.push(format!("{at}: null where the schema is not nullable"));
            }
            return;
        }
        if let Some(alternatives) = schema.get("oneOf").and_then(Value::as_array) {
            let results: Vec<Vec<String>> = alternatives
                .iter()
                .map(|alt| {
                    let mut e = Vec::new();
                    self.check(alt, value, at, &mut e);
                    e
                })
                .collect();
            if results.iter().filter(|e| e.is_empty()).count() != 1 {
                errors.extend(results.into_iter().flatten());
                errors.push(format!(
                    "{at}: does not match exactly one oneOf alternative"
                ));
            }
            return;
        }
        match schema.get("type").and_then(Value::as_str) {
            Some("object") => self.check_object(schema, value, at, errors),
            Some("array") => match value.as_array() {
                Some(items) => {
                    if let Some(item_schema) = schema.get("items") {
                        for (i, item) in items.iter().enumerate() {
                            self.check(item_schema, item, &format!("{at}[{i}]"), errors);
                        }
                    }
                }
                None => errors.push(format!("{at}: expected an array, got {value}")),
            },
            Some("string") => match value.as_str() {
                Some(s) => check_string(schema, s, at, errors),
                None => errors.push(format!("{at}: expected a string, got {value}")),
            },
            Some("integer") => {
                let in_range = match schema.get("format").and_then(Value::as_str) {
                    Some("int32") => value.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
                    _ => value.is_i64() || value.is_u64(),
                };
                if !in_range {
                    errors.push(format!(
                        "{at}: expected an integer ({:?}), got {value}",
                        schema.get("format")
                    ));
                }
            }
            Some("number") if !value.is_number() => {
                errors.push(format!("{at}: expected a number, got {value}"))
            }
            Some("boolean") if !value.is_boolean() => {
                errors.push(format!("{at}: expected a boolean, got {value}"))
            }
            Some("number" | "boolean") | None => {}
            Some(other) => errors.push(format!("{at}: unknown schema type {other}")),
        }
    }

    fn check_object(&self, schema: &'a Value, value: &Value, at: &str, errors: &mut Vec<String>) {
        let Some(object) = value.as_object() else {
            errors.push(format!("{at}: expected an object, got {value}"));
            return;
        };
        let empty = serde_json::Map::new();
        let properties = schema
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let find = |name: &str| {
            properties
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
        };
        for (key, field) in object {
            if !key.starts_with(|c: char| c.is_ascii_uppercase()) {
                errors.push(format!("{at}.{key}: Metrc sends PascalCase names"));
            }
            match find(key) {
                Some((_, property)) => self.check(property, field, &format!("{at}.{key}"), errors),
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => errors
                    .push(format!(
                        "{at}.{key}: not allowed (additionalProperties: false)"
                    )),
                None => {}
            }
        }
        for required in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = required.as_str().unwrap_or_default();
            if !object.keys().any(|k| k.eq_ignore_ascii_case(name)) {
                errors.push(format!("{at}: required property {name} missing"));
            }
        }
    }
}

fn check_string(schema: &Value, s: &str, at: &str, errors: &mut Vec<String>) {
    let min = schema.get("minLength").and_then(Value::as_u64).unwrap_or(0);
    if (s.chars().count() as u64) < min {
        errors.push(format!("{at}: shorter than {min}"));
    }
    let ok = match schema.get("format").and_then(Value::as_str) {
        Some("date") => NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok(),
        Some("date-time") => {
            DateTime::parse_from_rfc3339(s).is_ok()
                || NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
        }
        _ => true,
    };
    if !ok {
        errors.push(format!("{at}: {s:?} is not a valid {:?}", schema["format"]));
    }
}

fn validate(v: &Validator, schema: &Value, body: &Value, at: &str) -> Vec<String> {
    let mut errors = Vec::new();
    v.check(schema, body, at, &mut errors);
    errors
}

#[test]
fn the_validator_rejects_what_the_schema_forbids() {
    let spec = load_spec();
    let v = Validator { spec: &spec };
    let schema = v
        .response_schema("/packages/v2/active")
        .expect("packages schema");
    let good = json!({"Data": [{"Id": 1, "Label": "1A4000000000000000000001", "IsOnHold": false, "LastModified": "2026-01-01T00:00:00+00:00", "Quantity": 1.5}], "TotalRecords": 1});
    assert_eq!(validate(&v, schema, &good, "$"), Vec::<String>::new());
    for bad in [
        json!({"Data": [{"Label": "no id"}]}),
        json!({"Data": [{"Id": "1"}]}),
        json!({"Data": [{"Id": 1, "Quantity": "lots"}]}),
        json!({"Data": [{"Id": 1, "IsOnHold": null}]}),
        json!({"Data": [{"Id": 1, "PackagedDate": "01/02/2026"}]}),
        json!({"Data": [{"Id": 1, "LastModified": "yesterday"}]}),
        json!({"Data": [{"id": 1}]}),
        json!({"Data": {"Id": 1}}),
        json!({"TotalRecords": 3_000_000_000_u64}),
    ] {
        assert!(
            !validate(&v, schema, &bad, "$").is_empty(),
            "accepted {bad}"
        );
    }
    let error = &spec["components"]["schemas"]["ErrorResponse"];
    assert!(validate(&v, error, &json!({"Message": "x"}), "$").is_empty());
    assert!(!validate(&v, error, &json!({"Message": "x", "Extra": 1}), "$").is_empty());
}

/// Every GET route the sandbox serves, with the licenses to call it for (`None`: no license).
fn routes() -> Vec<(String, bool)> {
    let mut routes: Vec<(String, bool)> = vec![
        ("/facilities/v2/".into(), false),
        ("/employees/v2/".into(), true),
    ];
    routes.extend(Resource::ALL.iter().map(|r| (r.path().to_string(), true)));
    routes.extend(
        [
            ("/packages/v2/adjust/reasons", true),
            ("/plants/v2/waste/methods/all", false),
            ("/plants/v2/waste/reasons", true),
            ("/unitsofmeasure/v2/active", false),
        ]
        .map(|(p, l)| (p.to_string(), l)),
    );
    routes
}

#[tokio::test]
async fn every_sandbox_response_validates_against_the_openapi_description() {
    let spec = load_spec();
    let v = Validator { spec: &spec };
    let sb = start(config()).await;
    let owner = owner_key(&sb.sandbox);
    // Exercise the write paths first so changed records (finished, adjusted) are validated too.
    let (_, page) = sb
        .get(
            &owner,
            &format!("/packages/v2/active?licenseNumber={RETAIL}&pageSize=2{WHOLE_HISTORY}"),
        )
        .await;
    let labels: Vec<Value> = page["Data"]
        .as_array()
        .expect("Data")
        .iter()
        .map(|p| p["Label"].clone())
        .collect();
    let finish = json!([{"Label": labels[0], "ActualDate": "2026-01-16"}]);
    assert_eq!(
        sb.send(
            Method::PUT,
            &owner,
            &format!("/packages/v2/finish?licenseNumber={RETAIL}"),
            &finish
        )
        .await
        .0,
        StatusCode::OK
    );

    let mut checked = 0;
    let mut not_described = BTreeSet::new();
    let mut with_data: BTreeMap<String, bool> = BTreeMap::new();
    for (path, per_license) in routes() {
        let Some(schema) = v.response_schema(&path) else {
            not_described.insert(path);
            continue;
        };
        // Per-license lists as Tracekeeper reads them: in a window over the whole history.
        let window = if Resource::ALL.iter().any(|r| r.path() == path) {
            WHOLE_HISTORY
        } else {
            ""
        };
        let queries: Vec<String> = if per_license {
            DEMO_LICENSES
                .iter()
                .map(|l| format!("{path}?licenseNumber={l}&pageSize=20{window}"))
                .collect()
        } else {
            vec![format!("{path}?pageSize=20")]
        };
        for query in queries {
            let (status, body) = sb.get(&owner, &query).await;
            if status != StatusCode::OK {
                // Only a section the license type cannot use may refuse the owner.
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{query}: {body}");
                assert!(
                    body["Message"]
                        .as_str()
                        .is_some_and(|m| m.contains("not available")),
                    "{query}: {body}"
                );
                continue;
            }
            let errors = validate(&v, schema, &body, &query);
            assert!(
                errors.is_empty(),
                "{query} does not match the OpenAPI schema:\n{}",
                errors.join("\n")
            );
            checked += 1;
            let has_data = body
                .as_array()
                .or_else(|| body["Data"].as_array())
                .is_some_and(|d| !d.is_empty());
            *with_data.entry(path.clone()).or_default() |= has_data;
        }
    }
    assert!(checked >= 60, "only {checked} responses validated");
    assert!(
        not_described.is_empty(),
        "routes the YAML does not describe: {not_described:?}"
    );
    let empty: Vec<_> = with_data
        .iter()
        .filter(|(_, d)| !**d)
        .map(|(p, _)| p.clone())
        .collect();
    assert!(
        empty.is_empty(),
        "no response with data, so nothing was really validated for {empty:?}"
    );

    // Error bodies the YAML describes (403/404/429/500 as ErrorResponse).
    let error_schema = &spec["components"]["schemas"]["ErrorResponse"];
    for status in [429, 500, 403, 404] {
        let fault = json!({"status": status, "count": 1, "path_prefix": "/packages/"});
        sb.add_fault(&fault).await;
        let (got, body) = sb
            .get(
                &owner,
                &format!("/packages/v2/active?licenseNumber={RETAIL}&pageSize=1"),
            )
            .await;
        assert_eq!(got.as_u16(), status);
        let errors = validate(&v, error_schema, &body, &format!("{status}"));
        assert!(errors.is_empty(), "{status}: {errors:?}");
    }
    let (_, not_found) = sb.get(&owner, "/packages/v2/nothing-here").await;
    assert!(validate(&v, error_schema, &not_found, "404").is_empty());
}

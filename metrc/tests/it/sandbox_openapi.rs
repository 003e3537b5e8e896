//! Every 200 the sandbox gives for a route that Metrc's v2 `OpenAPI` description (the community
//! one, docs/metrc.md §1) describes validates against that route's response schema.
//!
//! The `jsonschema` crate validates, over a copy of the YAML's schemas made JSON Schema 2020-12
//! (`OpenAPI` 3.0's `nullable` as a `null` alternative, `format: int32` as its bounds) and a copy of
//! the body, both with property names lower-cased: the YAML writes camelCase where Metrc sends
//! `PascalCase`, and the sandbox's names must be `PascalCase` as Metrc's are (checked on the body
//! itself). `pattern` is not checked: the YAML's date-time pattern insists on a `Z` where Metrc
//! sends `+00:00` offsets, and Metrc's own documentation wins (docs/metrc.md §6); likewise a
//! `date-time` may be a local time without zone, as Metrc sends sales times.
#![cfg(feature = "sandbox")]

use crate::sandbox_support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use chrono::{DateTime, NaiveDateTime};
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

/// The YAML's schemas, made JSON Schema (see the module's comment), for [`validate`].
struct Validator<'a> {
    spec: &'a Value,
    /// `components.schemas`, folded, where the `$ref`s point.
    components: Value,
}

/// The format a `date-time` is checked as (see the module's comment).
const METRC_DATE_TIME: &str = "metrc-date-time";

impl<'a> Validator<'a> {
    fn new(spec: &'a Value) -> Validator<'a> {
        let schemas = spec["components"]["schemas"]
            .as_object()
            .expect("components.schemas");
        let folded: serde_json::Map<String, Value> = schemas
            .iter()
            .map(|(name, schema)| (name.clone(), fold_schema(schema)))
            .collect();
        Validator {
            spec,
            components: json!({ "schemas": folded }),
        }
    }

    /// The response schema of `GET path` with status 200, if the YAML describes it.
    fn response_schema(&self, path: &str) -> Option<&'a Value> {
        let trimmed = path.trim_end_matches('/');
        self.spec["paths"].get(trimmed)?["get"]["responses"]["200"]["content"]["application/json"]
            .get("schema")
    }

    /// A `jsonschema` validator for one of the YAML's schemas.
    fn compile(&self, schema: &Value) -> jsonschema::Validator {
        let root = json!({ "components": self.components, "allOf": [fold_schema(schema)] });
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .with_format(METRC_DATE_TIME, |s: &str| {
                DateTime::parse_from_rfc3339(s).is_ok()
                    || NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
            })
            .build(&root)
            .unwrap_or_else(|e| panic!("the folded schema does not compile: {e}"))
    }
}

/// An `OpenAPI` 3.0 schema as JSON Schema 2020-12 with lower-cased property names: `nullable`
/// becomes a `null` alternative, `format: int32` its bounds, `date-time` [`METRC_DATE_TIME`];
/// `pattern`, other formats and documentation keywords are dropped.
fn fold_schema(schema: &Value) -> Value {
    let Some(keywords) = schema.as_object() else {
        return schema.clone();
    };
    let mut out = serde_json::Map::new();
    for (keyword, value) in keywords {
        let folded = match keyword.as_str() {
            "properties" => Value::Object(
                value
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(name, property)| (name.to_lowercase(), fold_schema(property)))
                    .collect(),
            ),
            "required" => Value::Array(
                value
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(|name| Value::String(name.to_lowercase()))
                    .collect(),
            ),
            "items" | "additionalProperties" => fold_schema(value),
            "oneOf" | "anyOf" | "allOf" => Value::Array(
                value
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(fold_schema)
                    .collect(),
            ),
            "format" => match value.as_str() {
                Some("date") => value.clone(),
                Some("date-time") => json!(METRC_DATE_TIME),
                Some("int32") => {
                    out.insert("minimum".into(), json!(i32::MIN));
                    out.insert("maximum".into(), json!(i32::MAX));
                    continue;
                }
                _ => continue,
            },
            "type" | "$ref" | "minLength" | "enum" => value.clone(),
            _ => continue,
        };
        out.insert(keyword.clone(), folded);
    }
    if schema.get("nullable") == Some(&Value::Bool(true)) {
        json!({ "anyOf": [{ "type": "null" }, out] })
    } else {
        Value::Object(out)
    }
}

/// `body` with every property name lower-cased, as [`fold_schema`] writes them.
fn fold_names(body: &Value) -> Value {
    match body {
        Value::Object(object) => Value::Object(
            object
                .iter()
                .map(|(key, value)| (key.to_lowercase(), fold_names(value)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(fold_names).collect()),
        other => other.clone(),
    }
}

/// Every property name in `body` that is not `PascalCase`, as Metrc's are.
fn not_pascal_case(body: &Value, at: &str, errors: &mut Vec<String>) {
    match body {
        Value::Object(object) => {
            for (key, value) in object {
                if !key.starts_with(|c: char| c.is_ascii_uppercase()) {
                    errors.push(format!("{at}.{key}: Metrc sends PascalCase names"));
                }
                not_pascal_case(value, &format!("{at}.{key}"), errors);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                not_pascal_case(item, &format!("{at}[{i}]"), errors);
            }
        }
        _ => {}
    }
}

/// Where `body` breaks `schema` (one of the YAML's), one line each; empty when it conforms.
fn validate(v: &Validator, schema: &Value, body: &Value, at: &str) -> Vec<String> {
    let mut errors: Vec<String> = v
        .compile(schema)
        .iter_errors(&fold_names(body))
        .map(|e| format!("{at}{}: {e}", e.instance_path()))
        .collect();
    not_pascal_case(body, at, &mut errors);
    errors
}

#[test]
fn the_validator_rejects_what_the_schema_forbids() {
    let spec = load_spec();
    let v = Validator::new(&spec);
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
    let v = Validator::new(&spec);
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
        let _fault = sb
            .sandbox
            .fail_next("/packages/", StatusCode::from_u16(status).unwrap(), 1);
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

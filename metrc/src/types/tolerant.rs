//! Tolerant decoding of Metrc JSON: PascalCase (what Metrc sends) and camelCase both read, unknown
//! fields kept, missing or mistyped fields read as `None`, never an error.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Rewrites every object key, at every depth, to PascalCase by upper-casing its first letter
/// (`lastModified` → `LastModified`), so one set of PascalCase field names reads both spellings.
/// When both spellings are present, the PascalCase one wins.
pub fn pascal_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = serde_json::Map::with_capacity(map.len());
            for (key, v) in map {
                let pascal = upper_first(&key);
                let v = pascal_keys(v);
                if pascal == key {
                    out.insert(pascal, v);
                } else {
                    out.entry(pascal).or_insert(v);
                }
            }
            out.into()
        }
        Value::Array(items) => items.into_iter().map(pascal_keys).collect(),
        other => other,
    }
}

fn upper_first(key: &str) -> String {
    let mut chars = key.chars();
    match chars.next() {
        Some(first) if first.is_lowercase() => first.to_uppercase().chain(chars).collect(),
        _ => key.to_string(),
    }
}

/// Decodes a Metrc JSON value into `T` after [`pascal_keys`].
pub fn decode<T: DeserializeOwned>(value: Value) -> Result<T, serde_json::Error> {
    serde_json::from_value(pascal_keys(value))
}

/// `deserialize_with` for optional fields: a value of the wrong type reads as `None` instead of
/// failing the whole record.
pub(crate) fn lenient<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let value = Value::deserialize(deserializer)?;
    Ok(serde_json::from_value(value).ok())
}

/// Declares a Metrc record: every listed field optional, read from its PascalCase name with
/// [`lenient`], skipped when `None` on output, and every other field kept in `extra`, so that
/// serialising the record gives back all Metrc sent.
macro_rules! metrc_record {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "PascalCase", default)]
        pub struct $name {
            $(
                $(#[$fmeta])*
                #[serde(
                    deserialize_with = "crate::types::tolerant::lenient",
                    skip_serializing_if = "Option::is_none"
                )]
                pub $field: Option<$ty>,
            )*
            /// Every field Metrc sent that is not listed above, as sent.
            #[serde(flatten)]
            pub extra: serde_json::Map<String, serde_json::Value>,
        }
    };
}
pub(crate) use metrc_record;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    metrc_record! {
        /// A test record.
        pub struct Sample {
            id: i64,
            last_modified: String,
            nested: Vec<Sample>,
        }
    }

    #[test]
    fn camel_and_pascal_read_alike() {
        let a: Sample = decode(json!({"Id": 1, "LastModified": "x"})).unwrap();
        let b: Sample = decode(json!({"id": 1, "lastModified": "x"})).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.id, Some(1));
    }

    #[test]
    fn unknown_kept_missing_and_mistyped_are_none() {
        let s: Sample =
            decode(json!({"Id": "not a number", "Brand": {"name": "B"}, "nested": [{"id": 2}]}))
                .unwrap();
        assert_eq!(s.id, None);
        assert_eq!(s.last_modified, None);
        assert_eq!(s.extra["Brand"], json!({"Name": "B"}));
        assert_eq!(s.nested.as_ref().unwrap()[0].id, Some(2));
        let out = serde_json::to_value(&s).unwrap();
        assert_eq!(out["Brand"]["Name"], "B");
        assert!(out.get("Id").is_none());
    }

    #[test]
    fn pascal_spelling_wins_over_camel() {
        let s: Sample = decode(json!({"id": 1, "Id": 2})).unwrap();
        assert_eq!(s.id, Some(2));
        let s: Sample = decode(json!({"Id": 2, "id": 1})).unwrap();
        assert_eq!(s.id, Some(2));
    }
}

//! The one decoder for every Metrc read (lists, single records by label or id, facilities,
//! employees, reference lists): docs/metrc.md §7.
//!
//! - **The record as sent is kept.** A record holds Metrc's JSON object exactly as it came
//!   (`raw`: every field, in Metrc's own spelling, whatever its type), and serialising the record
//!   gives that object back. The typed fields are a view derived from it, never the other way
//!   round, so a field the view cannot read is still stored.
//! - **Key names are case-insensitive.** A field is found whatever the case of its key
//!   (`LastModified`, `lastModified`, `lastmodified`: some states answer in camelCase); where an
//!   object holds two spellings of one key, the one that starts with a capital (Metrc's
//!   `PascalCase`) wins.
//! - **v2 names first, v1 names as fallbacks.** A field may name several wire keys: the first is
//!   Metrc's v2 name, the others older names Metrc still sends somewhere; the first present,
//!   non-null and readable one wins.
//! - **Never an error for one field.** A missing, `null`, mistyped or placeholder value
//!   (`0001-01-01`, see [`super::time`]) reads as `None`; only an answer that is not a JSON
//!   object at all fails to decode as a record.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::time::{MetrcTime, date};

/// A key as the decoder compares it: ASCII letters and digits, lower-cased; everything else
/// (underscores, a raw identifier's `r#`) dropped. `LastModified`, `lastModified` and
/// `last_modified` compare equal.
pub(crate) fn normalise(key: &str) -> String {
    let key = key.strip_prefix("r#").unwrap_or(key);
    key.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The value of `name` in `obj`, whatever the case of its key (`PascalCase` preferred when an
/// object has two spellings). For envelopes and answers that are not records.
pub fn field<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    key_of(obj, name).and_then(|key| obj.get(key))
}

/// The key of `obj` that [`field`] reads for `name`.
pub fn key_of<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    if let Some((key, _)) = obj.get_key_value(name) {
        return Some(key);
    }
    let wanted = normalise(name);
    let mut found = None;
    for key in obj.keys() {
        if normalise(key) == wanted {
            if starts_upper(key) {
                return Some(key);
            }
            found.get_or_insert(key.as_str());
        }
    }
    found
}

fn starts_upper(key: &str) -> bool {
    key.chars().next().is_some_and(char::is_uppercase)
}

/// One record's keys, indexed for case-insensitive lookup.
pub struct Fields<'a> {
    index: HashMap<String, &'a Value>,
}

impl<'a> Fields<'a> {
    /// Indexes `obj` by key, compared as [`field`] compares them (case and underscores ignored);
    /// of two spellings of one key, the one that starts with a capital wins, else the first.
    pub fn new(obj: &'a Map<String, Value>) -> Fields<'a> {
        let mut index: HashMap<String, (&'a str, &'a Value)> = HashMap::with_capacity(obj.len());
        for (key, v) in obj {
            let slot = index.entry(normalise(key)).or_insert((key.as_str(), v));
            if !starts_upper(slot.0) && starts_upper(key) {
                *slot = (key.as_str(), v);
            }
        }
        Fields {
            index: index.into_iter().map(|(k, (_, v))| (k, v)).collect(),
        }
    }

    /// The first of `names` (v2 first, then fallbacks) whose value is present, not `null` and
    /// readable as `T`.
    pub fn read<T: FromWire>(&self, names: &[&str]) -> Option<T> {
        names.iter().find_map(|name| {
            self.index
                .get(&normalise(name))
                .filter(|v| !v.is_null())
                .and_then(|v| T::from_wire(v))
        })
    }
}

/// A type a record's field can be read as, from one JSON value; `None` when the value does not
/// fit.
pub trait FromWire: Sized {
    /// Reads `value`; `None` when it does not fit (never an error: docs/metrc.md §7).
    fn from_wire(value: &Value) -> Option<Self>;
}

/// Plain serde for scalars and lists: a value of the wrong type does not fit.
macro_rules! from_wire_by_serde {
    ($($ty:ty),*) => {$(
        impl FromWire for $ty {
            fn from_wire(value: &Value) -> Option<Self> {
                serde_json::from_value(value.clone()).ok()
            }
        }
    )*};
}
from_wire_by_serde!(i64, f64, bool, String, Vec<String>);

impl FromWire for NaiveDate {
    /// A Metrc date (`2026-01-17`; a timestamp's date part is read too); a placeholder is
    /// absent.
    fn from_wire(value: &Value) -> Option<Self> {
        date(value.as_str()?)
    }
}

impl FromWire for MetrcTime {
    /// A Metrc timestamp, with or without an offset; a placeholder is absent.
    fn from_wire(value: &Value) -> Option<Self> {
        MetrcTime::parse(value.as_str()?)
    }
}

/// Decodes a Metrc JSON value into `T`: for a record, `raw` is the object as sent.
pub fn decode<T: DeserializeOwned>(value: Value) -> Result<T, serde_json::Error> {
    serde_json::from_value(value)
}

/// Declares a Metrc record: every listed field optional and read with [`Fields::read`] from its
/// wire names (by default the field's own name, any case; `= ["V2Name", "V1Name"]` to name them:
/// v2 first), and `raw`, the object exactly as Metrc sent it. Serialising the record gives `raw`
/// back; deserialising reads any JSON object (anything else is an error).
macro_rules! metrc_record {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* $field:ident : $ty:ty $(= [$($wire:literal),+ $(,)?])? ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct $name {
            $(
                $(#[$fmeta])*
                pub $field: Option<$ty>,
            )*
            /// The record exactly as Metrc sent it: every field, in Metrc's spelling, read by the
            /// fields above or not.
            pub raw: serde_json::Map<String, serde_json::Value>,
        }

        impl $name {
            /// The wire names each field reads, v2 first.
            pub const WIRE_NAMES: &'static [(&'static str, &'static [&'static str])] = &[
                $( (stringify!($field), $crate::types::tolerant::wire_names!($field $([$($wire),+])?)), )*
            ];

            /// The typed view of `raw`, which it keeps.
            pub fn from_raw(raw: serde_json::Map<String, serde_json::Value>) -> $name {
                #[allow(unused_variables)]
                let fields = $crate::types::tolerant::Fields::new(&raw);
                $(
                    let $field = fields.read::<$ty>(
                        $crate::types::tolerant::wire_names!($field $([$($wire),+])?),
                    );
                )*
                drop(fields);
                $name { $($field,)* raw }
            }
        }

        impl $crate::types::tolerant::FromWire for $name {
            fn from_wire(value: &serde_json::Value) -> Option<Self> {
                value.as_object().map(|obj| $name::from_raw(obj.clone()))
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                self.raw.serialize(serializer)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                match serde_json::Value::deserialize(deserializer)? {
                    serde_json::Value::Object(raw) => Ok($name::from_raw(raw)),
                    other => Err(<D::Error as serde::de::Error>::custom(format!(
                        "a Metrc {} is a JSON object, not {}",
                        stringify!($name),
                        $crate::types::tolerant::kind(&other)
                    ))),
                }
            }
        }
    };
}
pub(crate) use metrc_record;

/// The wire names of a field: the ones given, else the field's own name.
macro_rules! wire_names {
    ($field:ident) => {
        &[stringify!($field)]
    };
    ($field:ident [$($wire:literal),+]) => {
        &[$($wire),+]
    };
}
pub(crate) use wire_names;

/// What kind of JSON value this is, for error messages.
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    metrc_record! {
        /// A test record.
        pub struct Sample {
            id: i64,
            last_modified: MetrcTime,
            nested: Vec<Sample>,
            count: i64 = ["UntrackedCount", "Count"],
            day: NaiveDate = ["PlantedDate"],
        }
    }

    impl FromWire for Vec<Sample> {
        fn from_wire(value: &Value) -> Option<Self> {
            value
                .as_array()
                .map(|items| items.iter().filter_map(Sample::from_wire).collect())
        }
    }

    #[test]
    fn any_key_case_reads_alike() {
        let a: Sample =
            decode(json!({"Id": 1, "LastModified": "2026-01-17T06:30:00+00:00"})).unwrap();
        let b: Sample =
            decode(json!({"id": 1, "lastModified": "2026-01-17T06:30:00+00:00"})).unwrap();
        let c: Sample =
            decode(json!({"ID": 1, "LASTMODIFIED": "2026-01-17T06:30:00+00:00"})).unwrap();
        assert_eq!(a.id, Some(1));
        assert_eq!((a.id, &a.last_modified), (b.id, &b.last_modified));
        assert_eq!((a.id, &a.last_modified), (c.id, &c.last_modified));
        assert!(a.last_modified.is_some());
    }

    #[test]
    fn the_raw_record_is_kept_exactly_and_serialises_back() {
        let sent = json!({"Id": "not a number", "brand": {"name": "B"}, "nested": [{"id": 2}],
                          "LastModified": "0001-01-01T00:00:00+00:00"});
        let s: Sample = decode(sent.clone()).unwrap();
        assert_eq!(s.id, None, "mistyped reads as None");
        assert_eq!(s.last_modified, None, "a placeholder is absent");
        assert_eq!(s.nested.as_ref().unwrap()[0].id, Some(2));
        assert_eq!(Value::Object(s.raw.clone()), sent);
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            sent,
            "as sent, keys and types"
        );
        assert!(decode::<Sample>(json!("x")).is_err());
        assert!(decode::<Sample>(Value::Null).is_err());
    }

    #[test]
    fn pascal_spelling_wins_over_camel() {
        let s: Sample = decode(json!({"id": 1, "Id": 2})).unwrap();
        assert_eq!(s.id, Some(2));
        let s: Sample = decode(json!({"Id": 2, "id": 1})).unwrap();
        assert_eq!(s.id, Some(2));
        assert_eq!(
            field(json!({"data": 1, "Data": 2}).as_object().unwrap(), "DATA"),
            Some(&json!(2))
        );
        assert_eq!(
            field(
                json!({"currentPage": 3}).as_object().unwrap(),
                "CurrentPage"
            ),
            Some(&json!(3))
        );
    }

    #[test]
    fn v2_names_first_v1_names_as_fallbacks() {
        let v2: Sample = decode(json!({"UntrackedCount": 80, "Count": 3})).unwrap();
        assert_eq!(v2.count, Some(80));
        let v1: Sample = decode(json!({"Count": 12})).unwrap();
        assert_eq!(v1.count, Some(12));
        let null_v2: Sample = decode(json!({"untrackedCount": null, "count": 7})).unwrap();
        assert_eq!(null_v2.count, Some(7));
        let day: Sample = decode(json!({"PlantedDate": "2026-01-10"})).unwrap();
        assert_eq!(day.day, NaiveDate::from_ymd_opt(2026, 1, 10));
        let none: Sample = decode(json!({"PlantedDate": "0001-01-01"})).unwrap();
        assert_eq!(none.day, None);
        assert_eq!(
            Sample::WIRE_NAMES[3],
            ("count", &["UntrackedCount", "Count"][..])
        );
        assert_eq!(Sample::WIRE_NAMES[0], ("id", &["id"][..]));
    }
}

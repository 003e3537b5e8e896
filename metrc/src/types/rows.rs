//! Rows of the writes the app sends. Serialised in Metrc's `PascalCase`.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// One row of `POST /packages/v2/adjust`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PackageAdjustment {
    /// The package's tag, 24 characters (`1A4000000000000000000123`; docs/metrc.md §7).
    pub label: String,
    /// Signed: negative removes.
    pub quantity: f64,
    /// A unit name, e.g. `"Ounces"`.
    pub unit_of_measure: String,
    /// One of [`crate::Client::adjust_reasons`].
    pub adjustment_reason: String,
    /// The day the adjustment happened (`2015-12-15`).
    pub adjustment_date: NaiveDate,
    /// Required by Metrc when the reason says `RequiresNote`.
    pub reason_note: Option<String>,
}

/// One row of `PUT /packages/v2/finish`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PackageFinish {
    /// The package's tag, 24 characters (docs/metrc.md §7).
    pub label: String,
    /// The day the package was finished.
    pub actual_date: NaiveDate,
}

/// One row of `PUT /packages/v2/location`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PackageLocationChange {
    /// The package's tag, 24 characters (docs/metrc.md §7).
    pub label: String,
    /// The new location's name.
    pub location: String,
    /// Only where the state uses sublocations; left out when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sublocation: Option<String>,
    /// The day the package moved.
    pub move_date: NaiveDate,
}

/// One row of `POST /plants/v2/waste`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PlantWaste {
    /// One of [`crate::Client::waste_methods`].
    pub waste_method_name: String,
    /// What the waste was mixed with (e.g. `"Soil"`).
    pub mixed_material: String,
    /// How much waste, in `unit_of_measure_name`.
    pub waste_weight: f64,
    /// The unit of `waste_weight`, a unit name (e.g. `"Grams"`).
    pub unit_of_measure_name: String,
    /// One of [`crate::Client::waste_reasons`].
    pub reason_name: String,
    /// Free text about the waste; sent as `null` when `None`.
    pub note: Option<String>,
    /// The day the waste happened.
    pub waste_date: NaiveDate,
    /// Tags of the plants the waste came from (docs/metrc.md §8: Metrc's documentation example
    /// has `PlantLabels`).
    pub plant_labels: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rows_serialise_as_metrc_examples() {
        let row = PackageAdjustment {
            label: "1A4000000000000000000123".into(),
            quantity: -2.0,
            unit_of_measure: "Ounces".into(),
            adjustment_reason: "Drying".into(),
            adjustment_date: NaiveDate::from_ymd_opt(2015, 12, 15).unwrap(),
            reason_note: None,
        };
        assert_eq!(
            serde_json::to_value(&row).unwrap(),
            json!({"Label": "1A4000000000000000000123", "Quantity": -2.0, "UnitOfMeasure": "Ounces",
                   "AdjustmentReason": "Drying", "AdjustmentDate": "2015-12-15", "ReasonNote": null})
        );
        let mv = PackageLocationChange {
            label: "L".into(),
            location: "Vault".into(),
            sublocation: None,
            move_date: NaiveDate::from_ymd_opt(2026, 1, 2).unwrap(),
        };
        assert_eq!(
            serde_json::to_value(&mv).unwrap(),
            json!({"Label": "L", "Location": "Vault", "MoveDate": "2026-01-02"})
        );
        let waste = PlantWaste {
            waste_method_name: "Grinder".into(),
            mixed_material: "Soil".into(),
            waste_weight: 1.5,
            unit_of_measure_name: "Grams".into(),
            reason_name: "Trim".into(),
            note: None,
            waste_date: NaiveDate::from_ymd_opt(2026, 1, 2).unwrap(),
            plant_labels: vec!["P1".into()],
        };
        let v = serde_json::to_value(&waste).unwrap();
        assert_eq!(v["WasteMethodName"], "Grinder");
        assert_eq!(v["PlantLabels"], json!(["P1"]));
    }
}

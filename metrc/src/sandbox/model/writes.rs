//! The writes the sandbox accepts. Each validates every row first and changes nothing unless all
//! rows are valid, like Metrc ("nothing in the call was recorded").

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::records::{Adjustment, PlantWaste};
use super::reference::{self, ADJUST_REASONS, PLANT_WASTE_REASONS, WASTE_METHODS};
use super::{LicenseIdx, Model};

/// One row error of a rejected write: `{"row": 0, "message": "..."}` (0-based, lower-case keys).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowError {
    pub row: usize,
    pub message: String,
}

/// A row of `POST /packages/v2/adjust`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AdjustRow {
    pub label: String,
    pub quantity: f64,
    pub unit_of_measure: Option<String>,
    pub adjustment_reason: Option<String>,
    pub adjustment_date: Option<String>,
    pub reason_note: Option<String>,
}

/// A row of `PUT /packages/v2/finish`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FinishRow {
    pub label: String,
    pub actual_date: Option<String>,
}

/// A row of `PUT /packages/v2/location`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LocationRow {
    pub label: String,
    pub location: Option<String>,
    pub move_date: Option<String>,
}

/// A row of `POST /plants/v2/waste`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WasteRow {
    pub waste_method_name: Option<String>,
    pub mixed_material: Option<String>,
    pub waste_weight: Option<f64>,
    pub unit_of_measure_name: Option<String>,
    pub reason_name: Option<String>,
    pub note: Option<String>,
    pub waste_date: Option<String>,
    #[serde(default)]
    pub plant_labels: Vec<String>,
}

/// Plans every row; all the plans, or every row's error.
fn plan_rows<R, P>(
    rows: &[R],
    mut plan: impl FnMut(&R) -> Result<P, String>,
) -> Result<Vec<P>, Vec<RowError>> {
    let mut plans = Vec::with_capacity(rows.len());
    let mut errors = Vec::new();
    for (row, r) in rows.iter().enumerate() {
        match plan(r) {
            Ok(p) => plans.push(p),
            Err(message) => errors.push(RowError { row, message }),
        }
    }
    if errors.is_empty() {
        Ok(plans)
    } else {
        Err(errors)
    }
}

/// A required `YYYY-MM-DD` date (a time part after it is ignored, as Metrc does).
fn date(field: &str, value: Option<&str>) -> Result<NaiveDate, String> {
    let value = value.map(str::trim).filter(|v| !v.is_empty());
    let value = value.ok_or_else(|| format!("{field} is required."))?;
    let day = value.split('T').next().unwrap_or(value);
    NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .map_err(|_| format!("{field} \"{value}\" is not a valid date (expected YYYY-MM-DD)."))
}

fn no_such_package(label: &str) -> String {
    format!("Package {label} does not exist in the current Facility.")
}

fn finite(field: &str, value: f64) -> Result<f64, String> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(format!("{field} must be a number."))
    }
}

/// Quantities are kept to Metrc's precision (4 decimals) so repeated adjustments add up exactly.
fn round4(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}

impl Model {
    /// The id of an active (unfinished) package at the license, or the row's message.
    fn active_package(&self, license: LicenseIdx, label: &str) -> Result<u64, String> {
        let package = self
            .package_at(license, label)
            .ok_or_else(|| no_such_package(label))?;
        match package.finished_date {
            Some(_) => Err(format!("Package {label} is finished.")),
            None => Ok(package.id),
        }
    }

    /// `POST /packages/v2/adjust`: changes quantities, records the adjustments, answers their ids.
    pub fn adjust_packages(
        &mut self,
        license: LicenseIdx,
        employee_id: u64,
        rows: &[AdjustRow],
        now: DateTime<Utc>,
    ) -> Result<Vec<u64>, Vec<RowError>> {
        // Quantities after the rows planned so far, so two rows on one package add up.
        let mut after: HashMap<u64, f64> = HashMap::new();
        let plans = plan_rows(rows, |r| {
            let id = self.active_package(license, &r.label)?;
            let package = self
                .packages
                .get(id)
                .ok_or_else(|| no_such_package(&r.label))?;
            let unit_name = r.unit_of_measure.as_deref().unwrap_or_default();
            let unit = reference::unit(unit_name)
                .ok_or_else(|| format!("Unit of measure \"{unit_name}\" is not valid."))?;
            let delta = reference::convert(finite("Quantity", r.quantity)?, unit, package.unit)
                .ok_or_else(|| {
                    format!(
                        "Unit of measure {} cannot be used for package {} (measured in {}).",
                        unit.name, r.label, package.unit.name
                    )
                })?;
            let reason_name = r.adjustment_reason.as_deref().unwrap_or_default();
            let reason = reference::reason(ADJUST_REASONS, reason_name)
                .ok_or_else(|| format!("Adjustment reason \"{reason_name}\" is not valid."))?;
            let note = r.reason_note.clone().filter(|n| !n.trim().is_empty());
            if reason.requires_note && note.is_none() {
                return Err(format!(
                    "Adjustment reason {} requires a note.",
                    reason.name
                ));
            }
            let day = date("AdjustmentDate", r.adjustment_date.as_deref())?;
            let current = after.get(&id).copied().unwrap_or(package.quantity);
            let new = round4(current + delta);
            if new < 0.0 {
                return Err(format!(
                    "Package {} cannot be adjusted below zero (has {current} {}).",
                    r.label, package.unit.name
                ));
            }
            after.insert(id, new);
            Ok((id, new, unit.name, reason.name, note, day, r.quantity))
        })?;
        let mut ids = Vec::with_capacity(plans.len());
        for (package_id, new, unit, reason, note, date, quantity) in plans {
            self.packages.update(package_id, |p| {
                p.quantity = new;
                p.last_modified = now;
            });
            let id = self.next_id();
            self.adjustments.push(Adjustment {
                id,
                package_id,
                quantity,
                unit,
                reason,
                note,
                date,
                employee_id,
            });
            ids.push(id);
        }
        Ok(ids)
    }

    /// `PUT /packages/v2/finish`: moves packages to the inactive list.
    pub fn finish_packages(
        &mut self,
        license: LicenseIdx,
        _employee_id: u64,
        rows: &[FinishRow],
        now: DateTime<Utc>,
    ) -> Result<(), Vec<RowError>> {
        let mut seen = HashSet::new();
        let plans = plan_rows(rows, |r| {
            let id = self.active_package(license, &r.label)?;
            if !seen.insert(id) {
                return Err(format!("Package {} appears more than once.", r.label));
            }
            Ok((id, date("ActualDate", r.actual_date.as_deref())?))
        })?;
        for (id, day) in plans {
            self.packages.update(id, |p| {
                p.finished_date = Some(day);
                p.last_modified = now;
            });
        }
        Ok(())
    }

    /// `PUT /packages/v2/location`: moves packages to another location of the license.
    pub fn move_packages(
        &mut self,
        license: LicenseIdx,
        _employee_id: u64,
        rows: &[LocationRow],
        now: DateTime<Utc>,
    ) -> Result<(), Vec<RowError>> {
        let plans = plan_rows(rows, |r| {
            let id = self.active_package(license, &r.label)?;
            let name = r.location.as_deref().unwrap_or_default();
            let location = self.location_named(license, name).ok_or_else(|| {
                format!("Location {name} does not exist in the current Facility.")
            })?;
            date("MoveDate", r.move_date.as_deref())?;
            Ok((id, location.id))
        })?;
        for (id, location_id) in plans {
            self.packages.update(id, |p| {
                p.location_id = location_id;
                p.last_modified = now;
            });
        }
        Ok(())
    }

    /// `POST /plants/v2/waste`: records plant waste, answers the waste records' ids.
    pub fn waste_plants(
        &mut self,
        license: LicenseIdx,
        employee_id: u64,
        rows: &[WasteRow],
        now: DateTime<Utc>,
    ) -> Result<Vec<u64>, Vec<RowError>> {
        let plans = plan_rows(rows, |r| {
            let method_name = r.waste_method_name.as_deref().unwrap_or_default().trim();
            let method = WASTE_METHODS
                .iter()
                .find(|m| m.eq_ignore_ascii_case(method_name))
                .ok_or_else(|| format!("Waste method \"{method_name}\" is not valid."))?;
            let reason_name = r.reason_name.as_deref().unwrap_or_default();
            let reason = reference::reason(PLANT_WASTE_REASONS, reason_name)
                .ok_or_else(|| format!("Waste reason \"{reason_name}\" is not valid."))?;
            let note = r.note.clone().filter(|n| !n.trim().is_empty());
            if reason.requires_note && note.is_none() {
                return Err(format!("Waste reason {} requires a note.", reason.name));
            }
            let weight = finite("WasteWeight", r.waste_weight.unwrap_or_default())?;
            if weight <= 0.0 {
                return Err("WasteWeight must be greater than zero.".to_string());
            }
            let unit_name = r.unit_of_measure_name.as_deref().unwrap_or_default();
            let unit = reference::unit(unit_name)
                .filter(|u| u.quantity_type == "WeightBased")
                .ok_or_else(|| {
                    format!("Unit of measure \"{unit_name}\" is not a unit of weight.")
                })?;
            let day = date("WasteDate", r.waste_date.as_deref())?;
            let plant_ids = r
                .plant_labels
                .iter()
                .map(|l| {
                    self.plant_at(license, l)
                        .map(|p| p.id)
                        .ok_or_else(|| format!("Plant {l} does not exist in the current Facility."))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(PlantWaste {
                id: 0,
                license,
                method,
                reason: reason.name,
                weight,
                unit: unit.name,
                mixed_material: r.mixed_material.clone(),
                note,
                date: day,
                plant_ids,
                employee_id,
            })
        })?;
        let mut ids = Vec::with_capacity(plans.len());
        for mut waste in plans {
            waste.id = self.next_id();
            for plant in &waste.plant_ids {
                self.plants.update(*plant, |p| p.last_modified = now);
            }
            ids.push(waste.id);
            self.plant_waste.push(waste);
        }
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::seed;
    use crate::sections::Resource;

    fn seeded() -> (Model, LicenseIdx, Vec<(String, f64)>) {
        let model = seed::build(3, "CA", true, 30, Utc::now());
        let license = model.license_idx("CCL19-0004821").unwrap_or_default();
        let packages = model
            .packages
            .all((license, Resource::PackagesActive))
            .filter(|p| p.unit.name == "Grams")
            .take(2)
            .map(|p| (p.label.clone(), p.quantity))
            .collect();
        (model, license, packages)
    }

    fn adjust(label: &str, quantity: f64, unit: &str) -> AdjustRow {
        AdjustRow {
            label: label.to_string(),
            quantity,
            unit_of_measure: Some(unit.to_string()),
            adjustment_reason: Some("Drying".to_string()),
            adjustment_date: Some("2026-01-02".to_string()),
            reason_note: None,
        }
    }

    fn quantity(m: &Model, license: LicenseIdx, label: &str) -> Option<f64> {
        m.package_at(license, label).map(|p| p.quantity)
    }

    #[test]
    fn adjustments_change_quantities_in_any_unit_of_the_same_type() {
        let (mut m, lic, packages) = seeded();
        let (label, before) = &packages[0];
        let ids = m.adjust_packages(
            lic,
            1,
            &[adjust(label, -2.0, "Grams"), adjust(label, 1.0, "Ounces")],
            Utc::now(),
        );
        assert_eq!(ids.as_ref().map(Vec::len), Ok(2));
        assert_eq!(
            quantity(&m, lic, label),
            Some(round4(before - 2.0 + 28.3495))
        );
        assert_eq!(m.adjustments.len(), 2);
        let wrong_type = m.adjust_packages(lic, 1, &[adjust(label, 1.0, "Each")], Utc::now());
        assert!(wrong_type.is_err());
    }

    #[test]
    fn a_bad_row_rejects_the_whole_call_and_records_nothing() {
        let (mut m, lic, packages) = seeded();
        let (good, before) = &packages[0];
        let rows = [
            adjust(good, -1.0, "Grams"),
            adjust("1A4NOPE", -1.0, "Grams"),
            adjust(good, -1e9, "Grams"),
        ];
        let errors = m
            .adjust_packages(lic, 1, &rows, Utc::now())
            .err()
            .unwrap_or_default();
        assert_eq!(errors.iter().map(|e| e.row).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(
            errors[0].message,
            "Package 1A4NOPE does not exist in the current Facility."
        );
        assert_eq!(quantity(&m, lic, good), Some(*before));
        assert!(m.adjustments.is_empty());

        let finish = [
            FinishRow {
                label: good.clone(),
                actual_date: Some("2026-01-02".into()),
            },
            FinishRow {
                label: good.clone(),
                actual_date: Some("2026-01-02".into()),
            },
        ];
        assert!(
            m.finish_packages(lic, 1, &finish, Utc::now()).is_err(),
            "the same package twice"
        );
        assert!(
            m.package_at(lic, good)
                .is_some_and(|p| p.finished_date.is_none())
        );
    }

    #[test]
    fn finishing_moves_a_package_to_the_inactive_list_and_waste_is_recorded() {
        let (mut m, lic, packages) = seeded();
        let (label, _) = &packages[1];
        let active = m
            .packages
            .page((lic, Resource::PackagesActive), None, None, 0, 0)
            .total;
        let row = FinishRow {
            label: label.clone(),
            actual_date: Some("2026-01-03".into()),
        };
        assert_eq!(m.finish_packages(lic, 1, &[row], Utc::now()), Ok(()));
        assert_eq!(
            m.packages
                .page((lic, Resource::PackagesActive), None, None, 0, 0)
                .total,
            active - 1
        );
        assert!(
            m.packages
                .all((lic, Resource::PackagesInactive))
                .any(|p| &p.label == label)
        );

        let plant = m
            .plants
            .all((lic, Resource::PlantsVegetative))
            .next()
            .map(|p| p.label.clone())
            .unwrap_or_default();
        let waste = WasteRow {
            waste_method_name: Some("Compost".into()),
            mixed_material: None,
            waste_weight: Some(3.0),
            unit_of_measure_name: Some("Grams".into()),
            reason_name: Some("Pruning".into()),
            note: None,
            waste_date: Some("2026-01-03".into()),
            plant_labels: vec![plant],
        };
        let ids = m
            .waste_plants(lic, 1, std::slice::from_ref(&waste), Utc::now())
            .unwrap_or_default();
        assert_eq!(m.plant_waste.iter().map(|w| w.id).collect::<Vec<_>>(), ids);
        let bad = WasteRow {
            waste_weight: Some(0.0),
            ..waste
        };
        assert!(m.waste_plants(lic, 1, &[bad], Utc::now()).is_err());
        assert_eq!(m.plant_waste.len(), 1);
    }
}

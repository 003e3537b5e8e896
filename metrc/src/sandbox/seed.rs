//! Deterministic seeding: the demo licenses (one of each type), demo employees, and realistic data
//! per license. The same seed and size give the same records and keys. 100,000 packages seed in
//! well under a second in release builds.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rand::Rng;
use rand::seq::{IndexedRandom, SliceRandom};

use super::model::license::LicenseKind;
use super::model::records::{
    Harvest, Item, Location, Package, Patient, Plant, PlantBatch, ProcessingJob, SaleLine,
    SaleReceipt, Strain, Transfer,
};
use super::model::reference::{self, CATEGORIES};
use super::model::{LicenseIdx, Model};
use crate::sections::{Resource, Section};

/// Number of demo licenses (one per [`LicenseKind`]).
pub const DEMO_LICENSE_COUNT: usize = 6;

/// How far back seeded `LastModified` times reach unless asked otherwise.
pub const HISTORY_DAYS: u32 = 30;

/// The span seeded `LastModified` times fall in: the `days` before `end`.
#[derive(Debug, Clone, Copy)]
pub struct History {
    pub end: DateTime<Utc>,
    pub days: u32,
}

impl History {
    /// The default span: [`HISTORY_DAYS`] before `end`.
    pub fn recent(end: DateTime<Utc>) -> History {
        History {
            end,
            days: HISTORY_DAYS,
        }
    }
}

const DEMO_LICENSES: [(&str, &str, LicenseKind); DEMO_LICENSE_COUNT] = [
    (
        "CCL19-0004821",
        "Emerald Ridge Farms",
        LicenseKind::Cultivation,
    ),
    (
        "CDPH-10003156",
        "Golden State Extracts",
        LicenseKind::Manufacturing,
    ),
    (
        "C11-0000349-LIC",
        "Pacific Coast Distribution",
        LicenseKind::Distribution,
    ),
    (
        "C10-0000774-LIC",
        "Sunset Wellness Dispensary",
        LicenseKind::Retail,
    ),
    (
        "C8-0000042-LIC",
        "Bay Analytical Labs",
        LicenseKind::TestingLab,
    ),
    (
        "C12-0000321-LIC",
        "Redwood Micro Co.",
        LicenseKind::Microbusiness,
    ),
];

const STRAINS: &[(&str, f64)] = &[
    ("Blue Dream", 40.0),
    ("OG Kush", 75.0),
    ("Sour Diesel", 10.0),
    ("Girl Scout Cookies", 60.0),
    ("Gelato", 55.0),
    ("Wedding Cake", 60.0),
    ("Granddaddy Purple", 90.0),
    ("Pineapple Express", 40.0),
    ("Jack Herer", 45.0),
    ("Northern Lights", 95.0),
    ("Gorilla Glue #4", 50.0),
    ("Zkittlez", 70.0),
];

/// Item name patterns per category (same order as [`CATEGORIES`]).
const ITEM_NAMES: &[&str] = &[
    "{} Flower",
    "{} Trim",
    "{} Pre-Roll 1g",
    "{} Live Resin 1g",
    "{} Cartridge 0.5g",
    "{} Gummies 10pk",
    "{} Tincture 30ml",
    "{} Clone",
];

const EXTERNAL_PARTNERS: &[(&str, &str)] = &[
    ("C11-0001187-LIC", "Valley Green Logistics"),
    ("C10-0000912-LIC", "Harbor Leaf Collective"),
    ("CCL18-0002290", "Humboldt Heritage Gardens"),
    ("CDPH-10004410", "Coastal Confections"),
];

/// The demo employees besides the owner: name, grants per demo license (by index).
type DemoEmployee = (&'static str, &'static [(usize, &'static [&'static str])]);

const DEMO_EMPLOYEES: &[DemoEmployee] = &[
    (
        "Sam Ortiz",
        &[
            (
                0,
                &[
                    "Packages",
                    "Plants",
                    "Plant Batches",
                    "Harvests",
                    "Locations",
                    "Strains",
                    "Items",
                ],
            ),
            (5, &["Packages", "Plants", "Plant Batches", "Harvests"]),
        ],
    ),
    (
        "Priya Nair",
        &[(3, &["View Packages", "Sales", "Patients"])],
    ),
    (
        "Marcus Bell",
        &[
            (1, &["View Packages", "View Transfers"]),
            (2, &["View Packages", "Transfers"]),
        ],
    ),
];

/// Name of the demo License Owner (owns every demo license, holds every permission).
pub const DEMO_OWNER: &str = "Dana Whitfield";

/// Builds the seeded model.
pub fn build(seed: u64, demo: bool, packages_per_license: usize, anchor: DateTime<Utc>) -> Model {
    let mut model = Model::new(seed);
    if demo {
        seed_demo(&mut model, packages_per_license, anchor);
    }
    model
}

fn seed_demo(model: &mut Model, packages: usize, anchor: DateTime<Utc>) {
    let opened = anchor.date_naive() - Duration::days(3 * 365);
    let mut numbers = Vec::new();
    for (number, name, kind) in DEMO_LICENSES {
        // The demo table is fixed and distinct: adding cannot fail.
        if let Ok(idx) = model.add_license(number, name, kind.default_license_type(), "CA", opened)
        {
            license_data(model, idx, packages, History::recent(anchor));
            numbers.push(number.to_string());
        }
    }
    let every: Vec<String> = Section::ALL.iter().map(|s| s.name().to_string()).collect();
    let owner_grants = numbers.iter().map(|n| (n.clone(), every.clone())).collect();
    let hired = opened + Duration::days(14);
    // Fixed, valid demo data: these cannot fail either.
    let _ = model.add_employee(DEMO_OWNER, &numbers, &owner_grants, opened);
    for (name, grants) in DEMO_EMPLOYEES {
        let grants: BTreeMap<String, Vec<String>> = grants
            .iter()
            .filter_map(|(i, g)| {
                Some((
                    numbers.get(*i)?.clone(),
                    g.iter().map(std::string::ToString::to_string).collect(),
                ))
            })
            .collect();
        let _ = model.add_employee(name, &[], &grants, hired);
    }
}

/// A random moment in the seeded history.
fn moment(rng: &mut impl Rng, history: History) -> DateTime<Utc> {
    history.end - Duration::seconds(rng.random_range(0..i64::from(history.days.max(1)) * 86_400))
}

fn days_before(at: DateTime<Utc>, rng: &mut impl Rng, max: i64) -> NaiveDate {
    at.date_naive() - Duration::days(rng.random_range(0..=max))
}

/// Seeds one license's data: `packages` active packages (and a tenth as many finished ones),
/// items, strains, locations, and plants, batches, harvests, transfers, sales, patients and
/// processing jobs where the license type has them, last modified within `history`.
pub fn license_data(model: &mut Model, license: LicenseIdx, packages: usize, history: History) {
    let Some(lic) = model.license(license) else {
        return;
    };
    let (kind, prefix) = (lic.kind, lic.tag_prefix.clone());
    let applies = |s: Section| kind.section_applies(s);

    let mut strain_pool: Vec<_> = STRAINS.to_vec();
    strain_pool.shuffle(&mut model.rng);
    let mut strains = Vec::new();
    for (name, indica) in strain_pool.into_iter().take(8) {
        let (id, at) = (model.next_id(), moment(&mut model.rng, history));
        let thc = model.rng.random_range(14.0..31.0_f64).round();
        let cbd = model.rng.random_range(0.0..2.0_f64).round();
        strains.push(Strain {
            id,
            license,
            name: name.to_string(),
            indica_percentage: indica,
            thc_level: thc,
            cbd_level: cbd,
            last_modified: at,
        });
    }

    let location_names: &[(&str, &str, bool)] = if kind.grows_plants() {
        &[
            ("Veg Room A", "Canopy", true),
            ("Flower Room 1", "Canopy", true),
            ("Flower Room 2", "Canopy", true),
            ("Drying Room", "Default", false),
            ("Vault", "Default", false),
        ]
    } else {
        &[
            ("Vault", "Default", false),
            ("Quarantine", "Default", false),
            ("Processing Lab", "Default", false),
            ("Sales Floor", "Default", false),
            ("Loading Dock", "Default", false),
        ]
    };
    let mut locations = Vec::new();
    for (name, location_type, for_plants) in location_names {
        let (id, at) = (model.next_id(), moment(&mut model.rng, history));
        locations.push(Location {
            id,
            license,
            name: name.to_string(),
            location_type,
            for_plants: *for_plants,
            last_modified: at,
        });
    }

    let categories: Vec<usize> = match kind {
        LicenseKind::Cultivation => vec![0, 1, 2, 7],
        LicenseKind::Manufacturing => vec![3, 4, 5, 6],
        _ => (0..CATEGORIES.len()).collect(),
    };
    let mut items = Vec::new();
    for (n, category) in categories
        .iter()
        .cycle()
        .take(categories.len() * 2)
        .enumerate()
    {
        let strain = &strains[n % strains.len()];
        let (id, at) = (model.next_id(), moment(&mut model.rng, history));
        let name = ITEM_NAMES[*category].replace("{}", &strain.name);
        items.push(Item {
            id,
            license,
            name,
            category: &CATEGORIES[*category],
            strain_id: Some(strain.id),
            last_modified: at,
        });
    }

    let lab_states = [
        "TestPassed",
        "TestPassed",
        "TestPassed",
        "NotSubmitted",
        "TestPending",
    ];
    let finished = packages / 10;
    let mut rows = Vec::with_capacity(packages + finished);
    for n in 0..packages + finished {
        let item = &items[model.rng.random_range(0..items.len())];
        let unit = reference::unit(item.category.unit).unwrap_or(reference::each());
        let quantity = if unit.quantity_type == "WeightBased" {
            f64::from(model.rng.random_range(10..=4_536_u32))
        } else {
            f64::from(model.rng.random_range(1..=200_u32))
        };
        let at = moment(&mut model.rng, history);
        let packaged = days_before(at, &mut model.rng, 20);
        let id = model.next_id();
        rows.push(Package {
            id,
            license,
            label: format!("1A4{prefix}{:014}", n + 1),
            item_id: item.id,
            location_id: locations[model.rng.random_range(0..locations.len())].id,
            quantity: if n < packages { quantity } else { 0.0 },
            unit,
            packaged_date: packaged,
            lab_testing_state: lab_states
                .choose(&mut model.rng)
                .copied()
                .unwrap_or("NotSubmitted"),
            source_harvest: kind.grows_plants().then(|| {
                format!(
                    "{} {}",
                    strains[n % strains.len()].name,
                    packaged.format("%Y-%m-%d")
                )
            }),
            is_on_hold: false,
            finished_date: (n >= packages).then_some(at.date_naive()),
            last_modified: at,
        });
    }
    let labels: Vec<String> = rows
        .iter()
        .take(packages.max(1))
        .map(|p| p.label.clone())
        .collect();
    model.insert_packages(rows);
    model.items.extend(items);
    model.locations.extend(locations.clone());

    if applies(Section::Plants) {
        seed_plants(
            model, license, &prefix, packages, &strains, &locations, history,
        );
    }
    model.strains.extend(strains);
    seed_transfers(model, license, packages, history);
    if applies(Section::Sales) && !labels.is_empty() {
        seed_sales(model, license, packages, &labels, history);
    }
    if applies(Section::Patients) {
        let mut rows = Vec::new();
        for n in 0..(packages / 10).max(3) {
            let (id, at) = (model.next_id(), moment(&mut model.rng, history));
            let registered = days_before(at, &mut model.rng, 300);
            let plants = model.rng.random_range(0..=6);
            rows.push(Patient {
                id,
                license,
                license_number: format!("PID-{:07}", 2_000_000 + id + n as u64),
                registered,
                recommended_plants: plants,
                recommended_smokable_ounces: 8.0,
                last_modified: at,
            });
        }
        model.patients.extend(rows);
    }
    if applies(Section::ProcessingJobs) {
        let mut rows = Vec::new();
        for n in 0..(packages / 20).max(2) {
            let (id, at) = (model.next_id(), moment(&mut model.rng, history));
            let job = ["Extraction", "Infusion", "Pre-Roll Assembly", "Packaging"][n % 4];
            rows.push(ProcessingJob {
                id,
                license,
                name: format!("{job} {}", at.format("%Y-%m-%d")),
                last_modified: at,
            });
        }
        model.processing.extend(rows);
    }
}

/// Adds `count` active packages to a license, each last modified at a random moment between
/// `from` and `to`, of the license's items, in its locations; returns their labels (empty when
/// the license has no items or locations).
pub fn add_packages(
    model: &mut Model,
    license: LicenseIdx,
    count: usize,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<String> {
    let Some(prefix) = model.license(license).map(|l| l.tag_prefix.clone()) else {
        return Vec::new();
    };
    let items: Vec<(u64, &'static str)> = model
        .items
        .all((license, Resource::ItemsActive))
        .map(|i| (i.id, i.category.unit))
        .collect();
    let locations: Vec<u64> = model
        .locations
        .all((license, Resource::LocationsActive))
        .map(|l| l.id)
        .collect();
    if items.is_empty() || locations.is_empty() {
        return Vec::new();
    }
    let span = (to - from).num_seconds().max(1);
    let mut rows = Vec::with_capacity(count);
    for _ in 0..count {
        let (item_id, unit_name) = items[model.rng.random_range(0..items.len())];
        let unit = reference::unit(unit_name).unwrap_or(reference::each());
        let quantity = if unit.quantity_type == "WeightBased" {
            f64::from(model.rng.random_range(10..=4_536_u32))
        } else {
            f64::from(model.rng.random_range(1..=200_u32))
        };
        let at = from + Duration::seconds(model.rng.random_range(0..span));
        let packaged = days_before(at, &mut model.rng, 20);
        let id = model.next_id();
        rows.push(Package {
            id,
            license,
            // The id keeps the label unique; seeded labels count from 1, plants' from 50,000,000.
            label: format!("1A4{prefix}{:014}", 30_000_000 + id),
            item_id,
            location_id: locations[model.rng.random_range(0..locations.len())],
            quantity,
            unit,
            packaged_date: packaged,
            lab_testing_state: "TestPassed",
            source_harvest: None,
            is_on_hold: false,
            finished_date: None,
            last_modified: at,
        });
    }
    let labels = rows.iter().map(|p| p.label.clone()).collect();
    model.insert_packages(rows);
    labels
}

#[allow(clippy::too_many_arguments)]
fn seed_plants(
    model: &mut Model,
    license: LicenseIdx,
    prefix: &str,
    packages: usize,
    strains: &[Strain],
    locations: &[Location],
    history: History,
) {
    let rooms: Vec<&Location> = locations.iter().filter(|l| l.for_plants).collect();
    let room = |rng: &mut rand::rngs::StdRng| rooms.choose(rng).map_or(0, |l| l.id);
    let mut batches = Vec::new();
    for n in 0..(packages / 10).max(3) {
        let strain = &strains[n % strains.len()];
        let (id, at) = (model.next_id(), moment(&mut model.rng, history));
        let planted = days_before(at, &mut model.rng, 30);
        let clone = model.rng.random_bool(0.7);
        let count = model.rng.random_range(10..=100);
        let location_id = room(&mut model.rng);
        batches.push(PlantBatch {
            id,
            license,
            name: format!("{} {}", strain.name, planted.format("%m/%d/%Y")),
            clone,
            count,
            strain_id: strain.id,
            location_id,
            planted_date: planted,
            last_modified: at,
        });
    }
    let mut plants = Vec::new();
    for n in 0..packages.max(10) {
        let batch = &batches[n % batches.len()];
        let (id, at) = (model.next_id(), moment(&mut model.rng, history));
        let flowering = n % 5 >= 3;
        let phase_date = days_before(at, &mut model.rng, 20);
        let location_id = room(&mut model.rng);
        let destroyed_date = (n % 10 == 9).then(|| at.date_naive());
        plants.push(Plant {
            id,
            license,
            label: format!("1A4{prefix}{:014}", 50_000_000 + n),
            flowering,
            destroyed_date,
            batch_id: batch.id,
            strain_id: batch.strain_id,
            location_id,
            planted_date: batch.planted_date,
            phase_date,
            last_modified: at,
        });
    }
    let mut harvests = Vec::new();
    for n in 0..(packages / 20).max(2) {
        let strain = &strains[n % strains.len()];
        let (id, at) = (model.next_id(), moment(&mut model.rng, history));
        let start = days_before(at, &mut model.rng, 14);
        let wet = f64::from(model.rng.random_range(2_000..=40_000_u32));
        let plant_count = model.rng.random_range(8..=120);
        let location_id = locations
            .iter()
            .find(|l| l.name == "Drying Room")
            .map_or(0, |l| l.id);
        harvests.push(Harvest {
            id,
            license,
            name: format!("{} {}", strain.name, start.format("%Y-%m-%d")),
            strain_id: strain.id,
            location_id,
            plant_count,
            wet_weight: wet,
            current_weight: (wet * 0.25).round(),
            start_date: start,
            last_modified: at,
        });
    }
    model.plant_batches.extend(batches);
    model.insert_plants(plants);
    model.harvests.extend(harvests);
}

fn seed_transfers(model: &mut Model, license: LicenseIdx, packages: usize, history: History) {
    let own = model
        .license(license)
        .map(|l| l.number.clone())
        .unwrap_or_default();
    let partners: Vec<(String, String)> = model
        .licenses
        .iter()
        .filter(|l| l.number != own)
        .map(|l| (l.number.clone(), l.name.clone()))
        .chain(
            EXTERNAL_PARTNERS
                .iter()
                .map(|(n, name)| (n.to_string(), name.to_string())),
        )
        .collect();
    let mut rows = Vec::new();
    for n in 0..(packages / 10).max(2) * 2 {
        let (number, name) = partners.choose(&mut model.rng).cloned().unwrap_or_default();
        let (id, at) = (model.next_id(), moment(&mut model.rng, history));
        let created = at - Duration::hours(model.rng.random_range(1..72));
        let package_count = model.rng.random_range(1..=25);
        rows.push(Transfer {
            id,
            license,
            incoming: n % 2 == 0,
            manifest_number: format!("{:010}", 40_000 + id),
            other_license: number,
            other_name: name,
            package_count,
            created_by: "Dana Whitfield".to_string(),
            created,
            last_modified: at,
        });
    }
    model.transfers.extend(rows);
}

fn seed_sales(
    model: &mut Model,
    license: LicenseIdx,
    packages: usize,
    labels: &[String],
    history: History,
) {
    let mut rows = Vec::new();
    for _ in 0..(packages / 2).max(5) {
        let (id, at) = (model.next_id(), moment(&mut model.rng, history));
        let mut lines = Vec::new();
        for _ in 0..model.rng.random_range(1..=3) {
            let label = labels.choose(&mut model.rng).cloned().unwrap_or_default();
            let quantity = f64::from(model.rng.random_range(1..=4_u32));
            let amount = quantity * f64::from(model.rng.random_range(10..=60_u32));
            lines.push(SaleLine {
                package_label: label,
                quantity,
                unit: reference::each(),
                amount,
            });
        }
        // Pacific time, written without zone as Metrc does for sales.
        let sold_at = (at - Duration::minutes(model.rng.random_range(1..90)) - Duration::hours(8))
            .naive_utc();
        let patient = model
            .rng
            .random_bool(0.1)
            .then(|| format!("PID-{:07}", 2_100_000 + id));
        rows.push(SaleReceipt {
            id,
            license,
            receipt_number: format!("{id:09}"),
            sold_at,
            patient_license_number: patient,
            lines,
            recorded_by: "Priya Nair".to_string(),
            last_modified: at,
        });
    }
    model.sales.extend(rows);
}

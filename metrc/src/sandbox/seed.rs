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

/// One demo license of a state's table: number, name, kind.
type DemoLicense = (&'static str, &'static str, LicenseKind);

/// California's demo licenses (the sandbox's first and default state: unchanged, tests name them).
const CA_LICENSES: [DemoLicense; DEMO_LICENSE_COUNT] = [
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

/// Colorado's: Marijuana Enforcement Division numbers, whose prefix is the retail code's section
/// for the license class (402R store, 403R cultivation facility, 404R products manufacturer, 405R
/// testing facility, 406R transporter). Colorado has no microbusiness class: the sandbox's
/// microbusiness carries a cultivation number.
const CO_LICENSES: [DemoLicense; DEMO_LICENSE_COUNT] = [
    (
        "403R-00512",
        "Front Range Cultivation",
        LicenseKind::Cultivation,
    ),
    (
        "404R-00218",
        "Mile High Extracts",
        LicenseKind::Manufacturing,
    ),
    (
        "406R-00031",
        "Rocky Mountain Transport",
        LicenseKind::Distribution,
    ),
    ("402R-00847", "Cherry Creek Dispensary", LicenseKind::Retail),
    ("405R-00027", "Boulder Analytical", LicenseKind::TestingLab),
    ("403R-01163", "Summit Craft Co.", LicenseKind::Microbusiness),
];

/// Michigan's: Cannabis Regulatory Agency adult-use numbers (`AU-` then the class: G-C Class C
/// grower, P processor, T secure transporter, R retailer, SC safety compliance facility, MB
/// microbusiness).
const MI_LICENSES: [DemoLicense; DEMO_LICENSE_COUNT] = [
    (
        "AU-G-C-000412",
        "Great Lakes Growers",
        LicenseKind::Cultivation,
    ),
    (
        "AU-P-000186",
        "Mitten State Processing",
        LicenseKind::Manufacturing,
    ),
    (
        "AU-T-000057",
        "Wolverine Secure Transport",
        LicenseKind::Distribution,
    ),
    ("AU-R-000731", "Ann Arbor Provisions", LicenseKind::Retail),
    (
        "AU-SC-000023",
        "Lakeshore Safety Compliance",
        LicenseKind::TestingLab,
    ),
    (
        "AU-MB-000094",
        "Upper Peninsula Craft Co.",
        LicenseKind::Microbusiness,
    ),
];

/// The generated licenses of any other state: number tag and name word per kind.
const GENERATED_LICENSES: [(&str, &str, LicenseKind); DEMO_LICENSE_COUNT] = [
    ("CUL", "Cultivation", LicenseKind::Cultivation),
    ("MFG", "Manufacturing", LicenseKind::Manufacturing),
    ("DIS", "Distribution", LicenseKind::Distribution),
    ("RET", "Dispensary", LicenseKind::Retail),
    ("LAB", "Testing Lab", LicenseKind::TestingLab),
    ("MIC", "Microbusiness", LicenseKind::Microbusiness),
];

/// The state as it names licenses: its name when known (`"Oregon"`), else its code.
fn place(state: &str) -> String {
    crate::states::state_name(state).map_or_else(|| state.to_string(), str::to_string)
}

/// The demo licenses of `state`'s sandbox (a code, upper case): number, name and kind, one of each
/// kind in the same order in every state. California, Colorado and Michigan have their own
/// tables; any other state gets `{ST}-CUL-0001`, "Oregon Demo Cultivation" and so on.
pub fn demo_licenses(state: &str) -> Vec<(String, String, LicenseKind)> {
    let table = match state {
        "CA" => &CA_LICENSES,
        "CO" => &CO_LICENSES,
        "MI" => &MI_LICENSES,
        _ => {
            let place = place(state);
            return GENERATED_LICENSES
                .iter()
                .enumerate()
                .map(|(i, (tag, word, kind))| {
                    (
                        format!("{state}-{tag}-{:04}", i + 1),
                        format!("{place} Demo {word}"),
                        *kind,
                    )
                })
                .collect();
        }
    };
    table
        .iter()
        .map(|(number, name, kind)| ((*number).to_string(), (*name).to_string(), *kind))
        .collect()
}

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

/// California's transfer partners outside the demo licenses.
const CA_PARTNERS: &[(&str, &str)] = &[
    ("C11-0001187-LIC", "Valley Green Logistics"),
    ("C10-0000912-LIC", "Harbor Leaf Collective"),
    ("CCL18-0002290", "Humboldt Heritage Gardens"),
    ("CDPH-10004410", "Coastal Confections"),
];

const CO_PARTNERS: &[(&str, &str)] = &[
    ("406R-00044", "Peak Logistics"),
    ("402R-00391", "Pueblo Green Apothecary"),
    ("403R-00778", "San Luis Valley Farms"),
    ("404R-00305", "Denver Infusions"),
];

const MI_PARTNERS: &[(&str, &str)] = &[
    ("AU-T-000102", "Straits Secure Transport"),
    ("AU-R-000915", "Traverse City Provisions"),
    ("AU-G-C-000633", "Kalamazoo Cultivators"),
    ("AU-P-000244", "Motor City Edibles"),
];

/// Transfer partners outside the demo licenses for a license in `state` (a code, upper case).
/// Every license of a state's sandbox is in that state, and so are its partners: transfers do
/// not cross state lines.
fn external_partners(state: &str) -> Vec<(String, String)> {
    let table = match state {
        "CA" => CA_PARTNERS,
        "CO" => CO_PARTNERS,
        "MI" => MI_PARTNERS,
        _ => {
            let place = place(state);
            return [
                ("DIS", "Logistics"),
                ("RET", "Collective"),
                ("CUL", "Gardens"),
                ("MFG", "Confections"),
            ]
            .iter()
            .enumerate()
            .map(|(i, (tag, word))| {
                (
                    format!("{state}-{tag}-{:04}", 101 + i),
                    format!("{place} Partner {word}"),
                )
            })
            .collect();
        }
    };
    table
        .iter()
        .map(|(n, name)| ((*n).to_string(), (*name).to_string()))
        .collect()
}

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

/// Builds the seeded model of `state`'s sandbox (a code, upper case). `seed` is the one to draw
/// from (`SandboxConfig::state_seed`).
pub fn build(
    seed: u64,
    state: &str,
    demo: bool,
    packages_per_license: usize,
    anchor: DateTime<Utc>,
) -> Model {
    let mut model = Model::new(seed);
    if demo {
        seed_demo(&mut model, state, packages_per_license, anchor);
    }
    model
}

/// The demo licenses of `state` and the demo employees: the same people, with the same grants by
/// license position, in every state (each state's Metrc has its own accounts and keys).
fn seed_demo(model: &mut Model, state: &str, packages: usize, anchor: DateTime<Utc>) {
    let opened = anchor.date_naive() - Duration::days(3 * 365);
    let mut numbers = Vec::new();
    for (number, name, kind) in demo_licenses(state) {
        // The demo tables are fixed and distinct: adding cannot fail.
        if let Ok(idx) =
            model.add_license(&number, &name, kind.default_license_type(), state, opened)
        {
            license_data(model, idx, packages, History::recent(anchor));
            numbers.push(number);
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
    let (own, state) = model
        .license(license)
        .map(|l| (l.number.clone(), l.state.clone()))
        .unwrap_or_default();
    let partners: Vec<(String, String)> = model
        .licenses
        .iter()
        .filter(|l| l.number != own)
        .map(|l| (l.number.clone(), l.name.clone()))
        .chain(external_partners(&state))
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
    // Metrc writes sale times in the facility's local time, without zone. California (and a state
    // without a known zone) keeps the sandbox's fixed Pacific Standard Time, as seeded before.
    let zone = model
        .license(license)
        .filter(|l| l.state != "CA")
        .and_then(|l| crate::state_time_zone(&l.state));
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
        let sold = at - Duration::minutes(model.rng.random_range(1..90));
        let sold_at = match zone {
            Some(zone) => sold.with_timezone(&zone).naive_local(),
            None => (sold - Duration::hours(8)).naive_utc(),
        };
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::{Sandbox, SandboxConfig};

    fn anchor() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-15T12:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    fn sandbox(state: &str, seed: u64) -> Sandbox {
        Sandbox::new(SandboxConfig {
            state: state.to_string(),
            seed,
            packages_per_license: 2,
            seeded_at: Some(anchor()),
            ..SandboxConfig::default()
        })
    }

    fn keys(sandbox: &Sandbox) -> Vec<(String, String)> {
        sandbox
            .employees()
            .into_iter()
            .map(|e| (e.name, e.api_key))
            .collect()
    }

    /// Each employee's name, and the positions (in the state's demo table) of the licenses they
    /// work at and own.
    fn staff(sandbox: &Sandbox) -> Vec<(String, Vec<usize>, Vec<usize>)> {
        let numbers: Vec<String> = Sandbox::demo_licenses(&sandbox.config().state)
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        let at = |list: &[String]| -> Vec<usize> {
            list.iter()
                .filter_map(|n| numbers.iter().position(|d| d == n))
                .collect()
        };
        sandbox
            .employees()
            .into_iter()
            .map(|e| (e.name.clone(), at(&e.licenses), at(&e.owner_of)))
            .collect()
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| ((*a).to_string(), (*b).to_string()))
            .collect()
    }

    #[test]
    fn california_is_seeded_as_before_states_existed() {
        assert_eq!(SandboxConfig::default().state, "CA");
        let ca = sandbox("CA", 0);
        assert_eq!(
            Sandbox::demo_licenses("CA"),
            pairs(&[
                ("CCL19-0004821", "Emerald Ridge Farms"),
                ("CDPH-10003156", "Golden State Extracts"),
                ("C11-0000349-LIC", "Pacific Coast Distribution"),
                ("C10-0000774-LIC", "Sunset Wellness Dispensary"),
                ("C8-0000042-LIC", "Bay Analytical Labs"),
                ("C12-0000321-LIC", "Redwood Micro Co."),
            ])
        );
        assert_eq!(
            ca.demo_owner().map(|o| o.licenses),
            Some(
                [
                    "CCL19-0004821",
                    "CDPH-10003156",
                    "C11-0000349-LIC",
                    "C10-0000774-LIC",
                    "C8-0000042-LIC",
                    "C12-0000321-LIC",
                ]
                .map(String::from)
                .to_vec()
            )
        );
        // The keys the sandbox gave for these seeds (2 packages per license) before it had a
        // state: every test and demo that holds one keeps working.
        assert_eq!(
            keys(&ca),
            pairs(&[
                (
                    "Dana Whitfield",
                    "OY4XkpBhfwPxImyGehwxpIgy570RTZ6M0vokPUehTRy4IVdK"
                ),
                (
                    "Sam Ortiz",
                    "mQrZppqAVtehKTcB4Pgd4KlYvibgdfsyOq57q1jywFgWPWKJ"
                ),
                (
                    "Priya Nair",
                    "kX2DOi0AMj3iZsGtgJVIF8zVy2eiT6WfRwoJldSdAXmbnLFs"
                ),
                (
                    "Marcus Bell",
                    "IWNok3ILWad6ZYxBbeLZCijNMFlkjkBohFweRBqE35WBZfFo"
                ),
            ])
        );
        assert_eq!(
            keys(&sandbox("CA", 7)).first().map(|(_, k)| k.as_str()),
            Some("u8BGiJUmRncmeKPD7SY3hfwRlI8f8u9n3k3Vj7DmruVHi4Ee")
        );
        // The code in any case is the same state.
        assert_eq!(keys(&sandbox(" ca ", 0)), keys(&ca));
        let config = SandboxConfig {
            seed: 42,
            ..SandboxConfig::default()
        };
        assert_eq!(config.state_seed(), 42);
    }

    #[test]
    fn every_state_has_one_demo_license_of_each_kind() {
        let kinds = |state: &str| -> Vec<LicenseKind> {
            demo_licenses(state)
                .into_iter()
                .map(|(_, _, k)| k)
                .collect()
        };
        let ca = demo_licenses("CA");
        for state in ["CA", "CO", "MI", "OR", "TX", "DC", "ZZ"] {
            let table = demo_licenses(state);
            assert_eq!(table.len(), DEMO_LICENSE_COUNT, "{state}");
            assert_eq!(kinds(state), kinds("CA"), "{state}");
            let mut numbers: Vec<&String> = table.iter().map(|(n, _, _)| n).collect();
            numbers.sort();
            numbers.dedup();
            assert_eq!(numbers.len(), DEMO_LICENSE_COUNT, "{state}");
            if state != "CA" {
                assert!(
                    table.iter().all(|(n, name, _)| ca
                        .iter()
                        .all(|(cn, cname, _)| n != cn && name != cname)),
                    "{state}"
                );
            }
            let model = build(0, state, true, 1, anchor());
            let seeded: Vec<(&str, &str, &str)> = model
                .licenses
                .iter()
                .map(|l| (l.number.as_str(), l.name.as_str(), l.state.as_str()))
                .collect();
            let expected: Vec<(&str, &str, &str)> = table
                .iter()
                .map(|(n, name, _)| (n.as_str(), name.as_str(), state))
                .collect();
            assert_eq!(seeded, expected);
        }
        // Colorado: MED numbers, the prefix naming the class (402R store ... 406R transporter).
        let co = demo_licenses("CO");
        for (number, _, _) in &co {
            let (class, serial) = number.split_once("R-").unwrap_or_default();
            assert!(
                ["402", "403", "404", "405", "406"].contains(&class),
                "{number}"
            );
            assert!(
                serial.len() == 5 && serial.bytes().all(|b| b.is_ascii_digit()),
                "{number}"
            );
        }
        assert_eq!(co[3].0, "402R-00847");
        assert_eq!(co[0].1, "Front Range Cultivation");
        // Michigan: adult-use numbers.
        let mi = demo_licenses("MI");
        assert!(mi.iter().all(|(n, _, _)| n.starts_with("AU-")));
        assert_eq!(mi[5].0, "AU-MB-000094");
        // Any other state: generated.
        assert_eq!(
            Sandbox::demo_licenses("or").first(),
            Some(&(
                "OR-CUL-0001".to_string(),
                "Oregon Demo Cultivation".to_string()
            ))
        );
        assert_eq!(
            Sandbox::demo_licenses("ZZ").last(),
            Some(&(
                "ZZ-MIC-0006".to_string(),
                "ZZ Demo Microbusiness".to_string()
            ))
        );
        // Not even a code: a sandbox all the same, no panic.
        for odd in ["", "c", "Cal", "zz", "C1"] {
            let sb = sandbox(odd, 3);
            assert_eq!(sb.employees().len(), 4, "{odd:?}");
        }
    }

    #[test]
    fn the_same_people_have_other_keys_in_every_state() {
        let ca = sandbox("CA", 0);
        let co = sandbox("CO", 0);
        let mi = sandbox("MI", 0);
        assert_eq!(staff(&co), staff(&ca));
        assert_eq!(staff(&mi), staff(&ca));
        let owner = |s: &Sandbox| s.demo_owner().map(|o| o.api_key).unwrap_or_default();
        assert_ne!(owner(&ca), owner(&co));
        assert_ne!(owner(&co), owner(&mi));
        for (a, b) in [(&ca, &co), (&co, &mi), (&ca, &mi)] {
            for ((_, x), (_, y)) in keys(a).iter().zip(keys(b).iter()) {
                assert_ne!(x, y);
            }
        }
        // Stable: the same seed and state give the same keys; another seed other keys.
        assert_eq!(keys(&sandbox("co", 0)), keys(&co));
        assert_ne!(keys(&sandbox("CO", 1)), keys(&co));
        let seed_of = |state: &str| {
            SandboxConfig {
                state: state.into(),
                ..SandboxConfig::default()
            }
            .state_seed()
        };
        assert_ne!(seed_of("CO"), 0);
        assert_ne!(seed_of("CO"), seed_of("MI"));
        assert_eq!(seed_of(" co"), seed_of("CO"));
    }

    #[test]
    fn transfers_stay_in_the_state() {
        for state in ["CA", "CO", "MI", "OR"] {
            let model = build(5, state, true, 20, anchor());
            let ours: Vec<String> = demo_licenses(state)
                .into_iter()
                .map(|(n, _, _)| n)
                .chain(external_partners(state).into_iter().map(|(n, _)| n))
                .collect();
            let mut seen = 0;
            for license in 0..DEMO_LICENSE_COUNT {
                for list in [Resource::TransfersIncoming, Resource::TransfersOutgoing] {
                    for t in model.transfers.all((license, list)) {
                        assert!(
                            ours.contains(&t.other_license),
                            "{state}: {}",
                            t.other_license
                        );
                        seen += 1;
                    }
                }
            }
            assert!(seen > 0, "{state}");
        }
    }

    #[test]
    fn sale_times_are_the_facilitys_local_time() {
        let retail = 3;
        // California: Pacific Standard Time, as always seeded.
        let model = build(0, "CA", true, 20, anchor());
        for sale in model.sales.all((retail, Resource::SalesReceiptsActive)) {
            let back = sale.last_modified - (sale.sold_at.and_utc() + Duration::hours(8));
            assert!((1..90).contains(&back.num_minutes()), "{back}");
        }
        // Colorado: Mountain time, daylight saving or not (the anchor is in January: UTC-7).
        let model = build(0, "CO", true, 20, anchor());
        let mut seen = 0;
        for sale in model.sales.all((retail, Resource::SalesReceiptsActive)) {
            let utc =
                crate::MetrcTime::parse(&sale.sold_at.format("%Y-%m-%dT%H:%M:%S").to_string())
                    .and_then(|t| t.to_utc(crate::state_time_zone("CO")));
            let back = utc.map(|u| sale.last_modified - u).unwrap_or_default();
            assert!((1..90).contains(&back.num_minutes()), "{back}");
            seen += 1;
        }
        assert!(seen > 0);
    }
}

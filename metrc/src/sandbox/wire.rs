//! Metrc's JSON: `PascalCase` objects built from the model, the paging envelope, reference lists.
//! Fields the sandbox has no data for are sent as Metrc sends empty ones (`null`, `false`, `0`).

use chrono::{DateTime, NaiveDate, SecondsFormat, SubsecRound, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use super::model::license::FACILITY_FLAGS;
use super::model::records::{
    Harvest, Item, Location, Package, Patient, Plant, PlantBatch, ProcessingJob, SaleReceipt,
    Strain, Transfer,
};
use super::model::reference::{self, Reason};
use super::model::table::Page;
use super::model::{Employee, License, LicenseIdx, Model};
use super::query::Window;
use crate::sections::{Resource, Section};

/// Any serialisable value as JSON (`null` if it cannot be: it always can for these types).
fn v(x: impl Serialize) -> Value {
    serde_json::to_value(x).unwrap_or(Value::Null)
}

/// An object from (name, value) pairs, in order.
fn obj<const N: usize>(fields: [(&str, Value); N]) -> Value {
    Value::Object(
        fields
            .into_iter()
            .map(|(k, x)| (k.to_string(), x))
            .collect::<Map<_, _>>(),
    )
}

/// Metrc's timestamp: ISO 8601 with offset, at most microseconds (`2026-02-08T07:05:59.804361+00:00`).
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.trunc_subsecs(6)
        .to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

fn date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// The paging envelope. `page_size` is what the caller asked for (or everything when it did not).
pub fn envelope(data: Vec<Value>, total: usize, page: usize, page_size: usize) -> Value {
    let total_pages = if page_size == 0 {
        0
    } else {
        total.div_ceil(page_size)
    };
    obj([
        ("RecordsOnPage", v(data.len())),
        ("Data", Value::Array(data)),
        ("Total", v(total)),
        ("TotalRecords", v(total)),
        ("PageSize", v(page_size)),
        ("Page", v(page)),
        ("CurrentPage", v(page)),
        ("TotalPages", v(total_pages)),
    ])
}

fn names(m: &Model, location: u64) -> (Value, Value) {
    let l = m.locations.get(location);
    (v(l.map(|l| l.name.as_str())), v(l.map(|l| l.location_type)))
}

fn strain_name(m: &Model, id: u64) -> Value {
    v(m.strains.get(id).map(|s| s.name.as_str()))
}

pub fn item(i: &Item, m: &Model) -> Value {
    let unit = reference::unit(i.category.unit);
    obj([
        ("Id", v(i.id)),
        ("Name", v(&i.name)),
        ("ProductCategoryName", v(i.category.name)),
        ("ProductCategoryType", v(i.category.product_type)),
        ("QuantityType", v(unit.map(|u| u.quantity_type))),
        ("DefaultLabTestingState", v("NotSubmitted")),
        ("UnitOfMeasureName", v(i.category.unit)),
        ("ApprovalStatus", v("Approved")),
        ("ApprovalStatusDateTime", v(timestamp(i.last_modified))),
        ("StrainId", v(i.strain_id)),
        (
            "StrainName",
            i.strain_id.map_or(Value::Null, |s| strain_name(m, s)),
        ),
        ("AdministrationMethod", Value::Null),
        ("UnitThcPercent", Value::Null),
        ("UnitWeight", Value::Null),
        ("UnitWeightUnitOfMeasureName", Value::Null),
        ("Description", Value::Null),
        ("IsUsed", v(true)),
        ("ProductImages", Value::Array(Vec::new())),
        ("LabelImages", Value::Array(Vec::new())),
        ("PackagingImages", Value::Array(Vec::new())),
        ("ItemBrandId", Value::Null),
        ("LabTestBatchNames", Value::Array(Vec::new())),
        ("LastModified", v(timestamp(i.last_modified))),
    ])
}

pub fn package(p: &Package, m: &Model) -> Value {
    let (location, location_type) = names(m, p.location_id);
    let lic = m.license(p.license);
    obj([
        ("Id", v(p.id)),
        ("Label", v(&p.label)),
        ("PackageType", v("Product")),
        (
            "SourceHarvestCount",
            v(usize::from(p.source_harvest.is_some())),
        ),
        ("SourceHarvestNames", v(&p.source_harvest)),
        ("SourcePackageCount", v(0)),
        ("SourcePackageLabels", Value::Null),
        ("SourceProcessingJobCount", v(0)),
        ("LocationId", v(p.location_id)),
        ("LocationName", location),
        ("LocationTypeName", location_type),
        ("Quantity", v(p.quantity)),
        ("UnitOfMeasureName", v(p.unit.name)),
        ("UnitOfMeasureAbbreviation", v(p.unit.abbreviation)),
        ("PatientLicenseNumber", Value::Null),
        (
            "ItemFromFacilityLicenseNumber",
            v(lic.map(|l| l.number.as_str())),
        ),
        ("ItemFromFacilityName", v(lic.map(|l| l.name.as_str()))),
        ("Note", Value::Null),
        ("PackagedDate", v(date(p.packaged_date))),
        ("ExpirationDate", Value::Null),
        ("SellByDate", Value::Null),
        ("UseByDate", Value::Null),
        ("InitialLabTestingState", v("NotSubmitted")),
        ("LabTestingState", v(p.lab_testing_state)),
        ("LabTestingStateDate", v(date(p.packaged_date))),
        ("LabTestingRecordedDate", Value::Null),
        ("IsProductionBatch", v(false)),
        ("ProductionBatchNumber", Value::Null),
        ("IsTradeSample", v(false)),
        ("IsDonation", v(false)),
        ("IsTestingSample", v(false)),
        ("ProductRequiresRemediation", v(false)),
        ("ContainsRemediatedProduct", v(false)),
        ("ReceivedDateTime", Value::Null),
        ("ReceivedFromManifestNumber", Value::Null),
        ("IsOnHold", v(p.is_on_hold)),
        ("IsOnTrip", v(false)),
        ("IsOnRetailerDelivery", v(false)),
        ("IsFinished", v(p.finished_date.is_some())),
        ("FinishedDate", v(p.finished_date.map(date))),
        ("ArchivedDate", Value::Null),
        ("LastModified", v(timestamp(p.last_modified))),
        (
            "Item",
            m.items.get(p.item_id).map_or(Value::Null, |i| item(i, m)),
        ),
    ])
}

pub fn plant(p: &Plant, m: &Model) -> Value {
    let (location, location_type) = names(m, p.location_id);
    let batch = m.plant_batches.get(p.batch_id);
    let phase = if p.flowering {
        "Flowering"
    } else {
        "Vegetative"
    };
    obj([
        ("Id", v(p.id)),
        ("Label", v(&p.label)),
        (
            "State",
            v(if p.destroyed_date.is_some() {
                "Destroyed"
            } else {
                "Tracked"
            }),
        ),
        ("GrowthPhase", v(phase)),
        ("PlantBatchId", v(p.batch_id)),
        ("PlantBatchName", v(batch.map(|b| b.name.as_str()))),
        (
            "PlantBatchTypeName",
            v(batch.map(|b| if b.clone { "Clone" } else { "Seed" })),
        ),
        ("StrainId", v(p.strain_id)),
        ("StrainName", strain_name(m, p.strain_id)),
        ("LocationId", v(p.location_id)),
        ("LocationName", location),
        ("LocationTypeName", location_type),
        ("PatientLicenseNumber", Value::Null),
        ("HarvestId", Value::Null),
        ("HarvestCount", v(0)),
        ("IsOnHold", v(false)),
        ("PlantedDate", v(date(p.planted_date))),
        (
            "VegetativeDate",
            v(date(if p.flowering {
                p.planted_date
            } else {
                p.phase_date
            })),
        ),
        ("FloweringDate", v(p.flowering.then(|| date(p.phase_date)))),
        ("HarvestedDate", Value::Null),
        ("DestroyedDate", v(p.destroyed_date.map(date))),
        ("IsOnTrip", v(false)),
        ("LastModified", v(timestamp(p.last_modified))),
    ])
}

pub fn plant_batch(b: &PlantBatch, m: &Model) -> Value {
    let (location, location_type) = names(m, b.location_id);
    obj([
        ("Id", v(b.id)),
        ("Name", v(&b.name)),
        // v2 names only: v1's `Type` and `Count` are not sent (field case-04).
        ("PlantBatchTypeId", v(if b.clone { 2 } else { 1 })),
        (
            "PlantBatchTypeName",
            v(if b.clone { "Clone" } else { "Seed" }),
        ),
        ("LocationId", v(b.location_id)),
        ("LocationName", location),
        ("LocationTypeName", location_type),
        ("StrainId", v(b.strain_id)),
        ("StrainName", strain_name(m, b.strain_id)),
        ("PatientLicenseNumber", Value::Null),
        ("UntrackedCount", v(b.count)),
        ("TrackedCount", v(0)),
        ("PackagedCount", v(0)),
        ("HarvestedCount", v(0)),
        ("DestroyedCount", v(0)),
        ("SourcePackageLabel", Value::Null),
        ("PlantedDate", v(date(b.planted_date))),
        ("IsOnHold", v(false)),
        ("IsOnTrip", v(false)),
        ("LastModified", v(timestamp(b.last_modified))),
    ])
}

pub fn harvest(h: &Harvest, m: &Model) -> Value {
    let (location, location_type) = names(m, h.location_id);
    let strain = strain_name(m, h.strain_id);
    obj([
        ("Id", v(h.id)),
        ("Name", v(&h.name)),
        ("HarvestType", v("Product")),
        ("SourceStrainCount", v(1)),
        ("SourceStrainNames", strain.clone()),
        ("Strains", Value::Array(vec![strain])),
        ("DryingLocationId", v(h.location_id)),
        ("DryingLocationName", location),
        ("DryingLocationTypeName", location_type),
        ("PatientLicenseNumber", Value::Null),
        ("CurrentWeight", v(h.current_weight)),
        ("TotalWasteWeight", v(0.0)),
        ("PlantCount", v(h.plant_count)),
        ("TotalWetWeight", v(h.wet_weight)),
        ("TotalRestoredWeight", v(0.0)),
        ("PackageCount", v(0)),
        ("TotalPackagedWeight", v(0.0)),
        ("UnitOfWeightName", v("Grams")),
        ("LabTestingState", v("NotSubmitted")),
        ("IsOnHold", v(false)),
        ("HarvestStartDate", v(date(h.start_date))),
        ("FinishedDate", Value::Null),
        ("ArchivedDate", Value::Null),
        ("IsOnTrip", v(false)),
        ("LastModified", v(timestamp(h.last_modified))),
    ])
}

pub fn location(l: &Location, _m: &Model) -> Value {
    obj([
        ("Id", v(l.id)),
        ("Name", v(&l.name)),
        ("LocationTypeId", v(if l.for_plants { 2 } else { 1 })),
        ("LocationTypeName", v(l.location_type)),
        ("ForPlantBatches", v(l.for_plants)),
        ("ForPlants", v(l.for_plants)),
        ("ForHarvests", v(true)),
        ("ForPackages", v(true)),
    ])
}

pub fn strain(s: &Strain, _m: &Model) -> Value {
    obj([
        ("Id", v(s.id)),
        ("Name", v(&s.name)),
        ("TestingStatus", v("None")),
        ("ThcLevel", v(s.thc_level)),
        ("CbdLevel", v(s.cbd_level)),
        ("IndicaPercentage", v(s.indica_percentage)),
        ("SativaPercentage", v(100.0 - s.indica_percentage)),
        ("IsUsed", v(true)),
        (
            "Genetics",
            v(format!(
                "{}% Indica / {}% Sativa",
                s.indica_percentage,
                100.0 - s.indica_percentage
            )),
        ),
    ])
}

pub fn transfer(t: &Transfer, m: &Model) -> Value {
    let own = m.license(t.license);
    let own_number = v(own.map(|l| l.number.as_str()));
    let own_name = v(own.map(|l| l.name.as_str()));
    let (shipper, shipper_name, recipient, recipient_name) = if t.incoming {
        (v(&t.other_license), v(&t.other_name), own_number, own_name)
    } else {
        (own_number, own_name, v(&t.other_license), v(&t.other_name))
    };
    let departed = t.created + chrono::Duration::hours(2);
    obj([
        ("Id", v(t.id)),
        ("ManifestNumber", v(&t.manifest_number)),
        ("ShipmentLicenseType", v("Licensed")),
        ("ShipperFacilityLicenseNumber", shipper),
        ("ShipperFacilityName", shipper_name),
        ("Name", Value::Null),
        ("TransporterFacilityLicenseNumber", Value::Null),
        ("TransporterFacilityName", Value::Null),
        ("DriverName", Value::Null),
        ("VehicleMake", Value::Null),
        ("DeliveryCount", v(1)),
        ("ReceivedDeliveryCount", v(usize::from(t.incoming))),
        ("PackageCount", v(t.package_count)),
        (
            "ReceivedPackageCount",
            v(if t.incoming { t.package_count } else { 0 }),
        ),
        ("ContainsPlantPackage", v(false)),
        ("ContainsProductPackage", v(true)),
        ("ContainsTradeSample", v(false)),
        ("ContainsDonation", v(false)),
        ("ContainsTestingSample", v(false)),
        ("CreatedDateTime", v(timestamp(t.created))),
        ("CreatedByUserName", v(&t.created_by)),
        ("LastModified", v(timestamp(t.last_modified))),
        ("DeliveryId", v(t.id + 1)),
        ("RecipientFacilityLicenseNumber", recipient),
        ("RecipientFacilityName", recipient_name),
        ("ShipmentTypeName", v("Transfer")),
        ("ShipmentTransactionType", v("Standard")),
        ("EstimatedDepartureDateTime", v(timestamp(departed))),
        ("ActualDepartureDateTime", v(timestamp(departed))),
        (
            "EstimatedArrivalDateTime",
            v(timestamp(departed + chrono::Duration::hours(3))),
        ),
        ("ActualArrivalDateTime", Value::Null),
        ("DeliveryPackageCount", v(t.package_count)),
        (
            "DeliveryReceivedPackageCount",
            v(if t.incoming { t.package_count } else { 0 }),
        ),
        ("ReceivedDateTime", Value::Null),
        ("IsVoided", v(false)),
    ])
}

pub fn sale_receipt(s: &SaleReceipt, _m: &Model) -> Value {
    let lines: Vec<Value> = s
        .lines
        .iter()
        .map(|l| {
            obj([
                ("PackageLabel", v(&l.package_label)),
                ("Quantity", v(l.quantity)),
                ("UnitOfMeasure", v(l.unit.name)),
                ("TotalAmount", v(l.amount)),
            ])
        })
        .collect();
    let total_price: f64 = s.lines.iter().map(|l| l.amount).sum();
    // Sales times are local to the facility, without zone (docs/metrc.md §6).
    let local = s.sold_at.format("%Y-%m-%dT%H:%M:%S").to_string();
    obj([
        ("Id", v(s.id)),
        ("ReceiptNumber", v(&s.receipt_number)),
        ("SalesDateTime", v(&local)),
        (
            "SalesCustomerType",
            v(if s.patient_license_number.is_some() {
                "Patient"
            } else {
                "Consumer"
            }),
        ),
        ("PatientLicenseNumber", v(&s.patient_license_number)),
        ("CaregiverLicenseNumber", Value::Null),
        ("IdentificationMethod", Value::Null),
        ("ExternalReceiptNumber", Value::Null),
        ("TotalPackages", v(s.lines.len())),
        ("TotalPrice", v(total_price)),
        ("Transactions", Value::Array(lines)),
        ("IsFinal", v(true)),
        ("ArchivedDate", Value::Null),
        ("RecordedDateTime", v(timestamp(s.last_modified))),
        ("RecordedByUserName", v(&s.recorded_by)),
        ("LastModified", v(timestamp(s.last_modified))),
    ])
}

pub fn patient(p: &Patient, _m: &Model) -> Value {
    obj([
        ("PatientId", v(p.id)),
        ("LicenseNumber", v(&p.license_number)),
        ("RegistrationDate", v(date(p.registered))),
        ("LicenseEffectiveStartDate", v(date(p.registered))),
        (
            "LicenseEffectiveEndDate",
            v(date(p.registered + chrono::Duration::days(365))),
        ),
        ("RecommendedPlants", v(p.recommended_plants)),
        (
            "RecommendedSmokableQuantity",
            v(p.recommended_smokable_ounces),
        ),
        ("HasSalesLimitExemption", v(false)),
        ("OtherFacilitiesCount", v(0)),
    ])
}

pub fn processing_job(p: &ProcessingJob, _m: &Model) -> Value {
    obj([
        ("Id", v(p.id)),
        ("Name", v(&p.name)),
        ("LastModified", v(timestamp(p.last_modified))),
    ])
}

fn rows<T>(page: Page<'_, T>, m: &Model, to_wire: fn(&T, &Model) -> Value) -> (Vec<Value>, usize) {
    (
        page.rows.into_iter().map(|r| to_wire(r, m)).collect(),
        page.total,
    )
}

/// One page of a license's list as Metrc's JSON objects, and the number of matching rows.
pub fn list_page(
    m: &Model,
    license: LicenseIdx,
    list: Resource,
    window: Window,
    skip: usize,
    take: usize,
) -> (Vec<Value>, usize) {
    let slot = (license, list);
    let (start, end) = window;
    match list.section() {
        Section::Packages => rows(m.packages.page(slot, start, end, skip, take), m, package),
        Section::Plants => rows(m.plants.page(slot, start, end, skip, take), m, plant),
        Section::PlantBatches => rows(
            m.plant_batches.page(slot, start, end, skip, take),
            m,
            plant_batch,
        ),
        Section::Harvests => rows(m.harvests.page(slot, start, end, skip, take), m, harvest),
        Section::Items => rows(m.items.page(slot, start, end, skip, take), m, item),
        Section::Locations => rows(m.locations.page(slot, start, end, skip, take), m, location),
        Section::Strains => rows(m.strains.page(slot, start, end, skip, take), m, strain),
        Section::Transfers => rows(m.transfers.page(slot, start, end, skip, take), m, transfer),
        Section::Sales => rows(m.sales.page(slot, start, end, skip, take), m, sale_receipt),
        Section::Patients => rows(m.patients.page(slot, start, end, skip, take), m, patient),
        Section::ProcessingJobs => rows(
            m.processing.page(slot, start, end, skip, take),
            m,
            processing_job,
        ),
        Section::Employees => (Vec::new(), 0),
    }
}

/// An element of `GET /employees/v2/`.
pub fn employee(e: &Employee) -> Value {
    obj([
        ("FullName", v(&e.name)),
        (
            "License",
            obj([
                ("Number", v(&e.license_number)),
                ("StartDate", v(date(e.hire_date))),
                ("EndDate", Value::Null),
                ("LicenseType", v("Employee")),
            ]),
        ),
    ])
}

fn facility_type(l: &License) -> Value {
    let mut flags: Map<String, Value> = FACILITY_FLAGS
        .iter()
        .map(|f| (f.to_string(), Value::Bool(l.kind.flag(f))))
        .collect();
    for limit in [
        "RestrictHarvestPlantRestoreTimeHours",
        "RestrictPlantBatchAdjustmentTimeHours",
        "RestrictWholesalePriceEditDays",
    ] {
        flags.insert(limit.to_string(), Value::Null);
    }
    let patients = if l.kind.flag("CanHaveMemberPatients") {
        v(500)
    } else {
        Value::Null
    };
    flags.insert("TotalMemberPatientsAllowed".to_string(), patients);
    Value::Object(flags)
}

/// An element of `GET /facilities/v2/`: one license as seen by one employee.
pub fn facility(l: &License, idx: LicenseIdx, e: &Employee) -> Value {
    let owner = e.owner_of.contains(&idx);
    let email = format!(
        "{}@{}.example",
        e.name.to_lowercase().replace(' ', "."),
        l.number.to_lowercase()
    );
    obj([
        ("FacilityId", v(l.facility_id)),
        ("HireDate", v(date(e.hire_date.max(l.start_date)))),
        ("IsOwner", v(owner)),
        ("IsManager", v(owner)),
        ("IsFinancialContact", v(owner)),
        ("Email", v(email)),
        ("Occupations", Value::Array(Vec::new())),
        ("Name", v(&l.name)),
        ("Alias", v(&l.name)),
        ("DisplayName", v(&l.name)),
        ("CredentialedDate", v(date(l.start_date))),
        ("SupportActivationDate", v(date(l.start_date))),
        (
            "SupportExpirationDate",
            v(date(l.start_date + chrono::Duration::days(3650))),
        ),
        ("SupportLastPaidDate", Value::Null),
        ("FacilityType", facility_type(l)),
        (
            "License",
            obj([
                ("Number", v(&l.number)),
                ("EmployeeLicenseNumber", v(&e.license_number)),
                ("StartDate", v(date(l.start_date))),
                (
                    "EndDate",
                    v(date(l.start_date + chrono::Duration::days(3650))),
                ),
                ("LicenseType", v(&l.license_type)),
            ]),
        ),
    ])
}

/// A reason list (`/packages/v2/adjust/reasons`, `/plants/v2/waste/reasons`).
pub fn reasons(list: &[Reason]) -> Vec<Value> {
    list.iter()
        .map(|r| {
            obj([
                ("Name", v(r.name)),
                ("RequiresNote", v(r.requires_note)),
                ("RequiresWasteWeight", v(r.requires_waste_weight)),
                ("RequiresImmatureWasteWeight", v(false)),
                ("RequiresMatureWasteWeight", v(false)),
            ])
        })
        .collect()
}

pub fn waste_methods() -> Vec<Value> {
    reference::WASTE_METHODS
        .iter()
        .map(|n| {
            obj([
                ("Name", v(n)),
                ("ForPlants", v(true)),
                ("ForProductDestruction", v(true)),
                ("LastModified", Value::Null),
            ])
        })
        .collect()
}

pub fn units() -> Vec<Value> {
    reference::UNITS
        .iter()
        .map(|u| {
            obj([
                ("QuantityType", v(u.quantity_type)),
                ("Name", v(u.name)),
                ("Abbreviation", v(u.abbreviation)),
            ])
        })
        .collect()
}

//! Records of the paged lists sync walks, and of `GET /packages/v2/{label}`. Only the fields the
//! app reads are named, each from its v2 wire name first (docs/metrc.md §7); the whole record as
//! Metrc sent it is in each record's `raw`, so storing a record keeps all of it.

use chrono::NaiveDate;

use super::time::MetrcTime;
use super::tolerant::metrc_record;

metrc_record! {
    /// A package (`/packages/v2/active`, `/packages/v2/inactive`, `/packages/v2/{label}`).
    pub struct Package {
        id: i64,
        label: String,
        package_type: String,
        /// v2 `LocationName`; `RoomName` where only the older name is sent.
        location_name: String = ["LocationName", "RoomName"],
        quantity: f64,
        unit_of_measure_name: String,
        unit_of_measure_abbreviation: String,
        packaged_date: NaiveDate,
        lab_testing_state: String,
        is_on_hold: bool,
        is_finished: bool,
        finished_date: NaiveDate,
        archived_date: NaiveDate,
        last_modified: MetrcTime,
        item: PackageItem,
    }
}

metrc_record! {
    /// The item a [`Package`] holds.
    pub struct PackageItem {
        id: i64,
        name: String,
        product_category_name: String,
        unit_of_measure_name: String,
        strain_name: String,
    }
}

metrc_record! {
    /// A plant (`/plants/v2/vegetative`, `/plants/v2/flowering`, ...).
    pub struct Plant {
        id: i64,
        label: String,
        state: String,
        growth_phase: String,
        plant_batch_name: String,
        plant_batch_type_name: String,
        strain_name: String,
        location_name: String = ["LocationName", "RoomName"],
        planted_date: NaiveDate,
        vegetative_date: NaiveDate,
        flowering_date: NaiveDate,
        destroyed_date: NaiveDate,
        last_modified: MetrcTime,
    }
}

metrc_record! {
    /// A plant batch (`/plantbatches/v2/active`). v2 renamed v1's `Count` and `Type` (field
    /// case-04).
    pub struct PlantBatch {
        id: i64,
        name: String,
        /// The batch's type (`Seed`, `Clone`): v2 `PlantBatchTypeName`, v1 `Type`.
        r#type: String = ["PlantBatchTypeName", "Type"],
        /// The plants still untracked in the batch: v2 `UntrackedCount`, v1 `Count` (the same
        /// number).
        count: i64 = ["UntrackedCount", "Count"],
        /// Plants of the batch already tagged (`TrackedCount`, v2 only).
        tracked_count: i64 = ["TrackedCount"],
        strain_name: String,
        location_name: String = ["LocationName", "RoomName"],
        planted_date: NaiveDate,
        last_modified: MetrcTime,
    }
}

metrc_record! {
    /// A harvest (`/harvests/v2/active`).
    pub struct Harvest {
        id: i64,
        name: String,
        harvest_type: String,
        drying_location_name: String = ["DryingLocationName", "DryingRoomName"],
        current_weight: f64,
        unit_of_weight_name: String,
        harvest_start_date: NaiveDate,
        last_modified: MetrcTime,
    }
}

metrc_record! {
    /// An item (product) (`/items/v2/active`).
    pub struct Item {
        id: i64,
        name: String,
        product_category_name: String,
        /// A name in `/items/v2/active` (`Buds`); Metrc sends a number here inside a package's
        /// `Item`, which this view leaves out (`raw` keeps it).
        product_category_type: String,
        unit_of_measure_name: String,
        strain_name: String,
        is_used: bool,
        last_modified: MetrcTime,
    }
}

metrc_record! {
    /// A location (`/locations/v2/active`).
    pub struct Location {
        id: i64,
        name: String,
        location_type_name: String,
        last_modified: MetrcTime,
    }
}

metrc_record! {
    /// A strain (`/strains/v2/active`).
    pub struct Strain {
        id: i64,
        name: String,
        testing_status: String,
        thc_level: f64,
        cbd_level: f64,
        indica_percentage: f64,
        sativa_percentage: f64,
        is_used: bool,
        last_modified: MetrcTime,
    }
}

metrc_record! {
    /// A transfer manifest (`/transfers/v2/incoming`, `/transfers/v2/outgoing`).
    pub struct Transfer {
        id: i64,
        manifest_number: String,
        shipper_facility_license_number: String,
        shipper_facility_name: String,
        shipment_type_name: String,
        created_date_time: MetrcTime,
        created_by_user_name: String,
        package_count: i64,
        received_date_time: MetrcTime,
        last_modified: MetrcTime,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::tolerant::decode;
    use serde_json::{Value, json};

    #[test]
    fn package_pascal_and_camel_read_alike_and_keep_every_field_as_sent() {
        let pascal_sent = json!({
            "Id": 7, "Label": "1A4000000000000000000123", "Quantity": 2.5,
            "UnitOfMeasureName": "Grams", "IsOnHold": false, "LastModified": "2026-01-17T06:30:00+00:00",
            "Item": {"Id": 3, "Name": "Flower", "ProductCategoryName": "Buds", "Brand": null},
            "PatientLicenseNumber": null, "SourceHarvestNames": "H1"
        });
        let camel_sent = json!({
            "id": 7, "label": "1A4000000000000000000123", "quantity": 2.5,
            "unitOfMeasureName": "Grams", "isOnHold": false, "lastModified": "2026-01-17T06:30:00+00:00",
            "item": {"id": 3, "name": "Flower", "productCategoryName": "Buds", "brand": null},
            "patientLicenseNumber": null, "sourceHarvestNames": "H1"
        });
        let pascal: Package = decode(pascal_sent.clone()).unwrap();
        let camel: Package = decode(camel_sent.clone()).unwrap();
        for p in [&pascal, &camel] {
            assert_eq!(p.label.as_deref(), Some("1A4000000000000000000123"));
            assert_eq!(p.quantity, Some(2.5));
            assert_eq!(p.is_on_hold, Some(false));
            assert!(p.last_modified.is_some());
            assert_eq!(p.item.as_ref().unwrap().name.as_deref(), Some("Flower"));
        }
        // The stored JSON is each answer exactly as sent: its keys, its nulls, its nesting.
        assert_eq!(serde_json::to_value(&pascal).unwrap(), pascal_sent);
        assert_eq!(serde_json::to_value(&camel).unwrap(), camel_sent);
    }

    /// Field case-04: Metrc's own v2 example of `GET /plantbatches/v2/active` has no `Count` and
    /// no `Type`.
    #[test]
    fn case_04_plantbatch_v2_has_no_count_or_type() {
        let sent = json!({
            "Id": 5, "Name": "Example Batch 1", "PlantBatchTypeId": 1, "PlantBatchTypeName": "Seed",
            "LocationId": 12, "LocationName": "Veg Room", "LocationTypeName": "Default",
            "StrainId": 1, "StrainName": "Example Kush", "SublocationId": null, "SublocationName": null,
            "PatientLicenseNumber": null, "UntrackedCount": 80, "TrackedCount": 10, "PackagedCount": 0,
            "DestroyedCount": 40, "SourcePackageId": null, "SourcePackageLabel": null,
            "SourcePlantId": null, "SourcePlantLabel": null, "SourcePlantBatchIds": [],
            "SourcePlantBatchNames": null, "MultiPlantBatch": false,
            "PlantedDate": "2026-01-10", "LastModified": "2026-01-12T09:30:00+00:00",
            "IsOnHold": false, "IsOnInvestigation": false, "IsOnInvestigationHold": false,
            "IsOnInvestigationRecall": false
        });
        let b: PlantBatch = decode(sent.clone()).unwrap();
        assert_eq!(b.count, Some(80));
        assert_eq!(b.r#type.as_deref(), Some("Seed"));
        assert_eq!(b.tracked_count, Some(10));
        assert_eq!(b.location_name.as_deref(), Some("Veg Room"));
        assert_eq!(b.planted_date, NaiveDate::from_ymd_opt(2026, 1, 10));
        assert_eq!(serde_json::to_value(&b).unwrap(), sent);
        // v1's names still read where only they are sent.
        let v1: PlantBatch = decode(json!({"Type": "Clone", "Count": 12})).unwrap();
        assert_eq!(v1.r#type.as_deref(), Some("Clone"));
        assert_eq!(v1.count, Some(12));
    }

    /// Metrc's v2 examples (docs/metrc.md §7), each record type read by its v2 names: a decoder
    /// that knew only v1's names would miss these.
    #[test]
    fn every_synced_record_type_reads_metrcs_v2_example() {
        let plant: Plant = decode(json!({
            "Id": 24, "Label": "ABCDEF012345670000000024", "State": "Tracked",
            "GrowthPhase": "Vegetative", "PlantBatchId": 1, "PlantBatchName": "Demo Plant Batch",
            "PlantBatchTypeId": 1, "PlantBatchTypeName": "Seed", "StrainName": "Spring Hill Kush",
            "LocationId": 2, "LocationName": "Plants Location", "SublocationName": null,
            "PlantedDate": "2014-10-10", "VegetativeDate": "2014-10-20", "FloweringDate": null,
            "DestroyedDate": null, "LastModified": "0001-01-01T00:00:00+00:00"
        }))
        .unwrap();
        assert_eq!(plant.location_name.as_deref(), Some("Plants Location"));
        assert_eq!(plant.plant_batch_type_name.as_deref(), Some("Seed"));
        assert_eq!(plant.vegetative_date, NaiveDate::from_ymd_opt(2014, 10, 20));
        assert_eq!(plant.last_modified, None, "0001-01-01 is Metrc's 'none'");

        let harvest: Harvest = decode(json!({
            "Id": 1, "Name": "2014-11-19-Harvest Location-M", "HarvestType": "Product",
            "DryingLocationId": 1, "DryingLocationName": "Harvest Location",
            "DryingSublocationName": null, "CurrentWeight": 0.0, "UnitOfWeightName": "Ounces",
            "HarvestStartDate": "2014-11-19", "LastModified": "2014-11-19T00:00:00+00:00"
        }))
        .unwrap();
        assert_eq!(
            harvest.drying_location_name.as_deref(),
            Some("Harvest Location")
        );
        assert_eq!(harvest.current_weight, Some(0.0));
        assert!(harvest.last_modified.is_some());

        let item: Item = decode(json!({
            "Id": 1, "Name": "Buds", "ProductCategoryName": "Buds", "ProductCategoryType": "Buds",
            "UnitOfMeasureName": "Ounces", "ApprovalStatusDateTime": "0001-01-01T00:00:00+00:00",
            "StrainName": "Spring Hill Kush", "IsUsed": false
        }))
        .unwrap();
        assert_eq!(
            (
                item.name.as_deref(),
                item.strain_name.as_deref(),
                item.is_used
            ),
            (Some("Buds"), Some("Spring Hill Kush"), Some(false))
        );

        let location: Location = decode(json!({
            "Id": 1, "Name": "Harvest Location", "LocationTypeId": 1,
            "LocationTypeName": "Default", "ForPlantBatches": true
        }))
        .unwrap();
        assert_eq!(location.location_type_name.as_deref(), Some("Default"));

        let strain: Strain = decode(json!({
            "Id": 201, "Name": "Spring Hill Kush", "TestingStatus": "ThirdParty",
            "ThcLevel": null, "CbdLevel": null, "IndicaPercentage": 60.0,
            "SativaPercentage": 40.0, "IsUsed": false, "Genetics": "60% Indica / 40% Sativa"
        }))
        .unwrap();
        assert_eq!(
            (strain.thc_level, strain.indica_percentage),
            (None, Some(60.0))
        );

        let transfer: Transfer = decode(json!({
            "Id": 1, "ManifestNumber": "0000000001", "ShipmentLicenseType": 0,
            "ShipperFacilityLicenseNumber": "123-ABC", "ShipperFacilityName": "Lofty Med-Cultivation B",
            "PackageCount": 7, "CreatedDateTime": "2016-10-10T08:20:45-08:00",
            "CreatedByUserName": null, "LastModified": "0001-01-01T00:00:00+00:00",
            "ShipmentTypeName": "Transfer", "EstimatedDepartureDateTime": "2016-10-11T14:48:30.000",
            "ReceivedDateTime": "2016-10-11T16:42:19-08:00"
        }))
        .unwrap();
        assert_eq!(transfer.package_count, Some(7));
        assert!(transfer.created_date_time.is_some_and(|t| t.has_offset()));
        assert_eq!(transfer.last_modified, None);
        assert_eq!(transfer.raw["ShipmentLicenseType"], 0);

        let package: Package = decode(json!({
            "Id": 2, "Label": "ABCDEF012345670000010042", "PackageType": "Product",
            "LocationName": null, "SublocationName": null, "Quantity": 1.0,
            "UnitOfMeasureName": "Ounces", "UnitOfMeasureAbbreviation": "oz",
            "PackagedDate": "2014-11-29", "LabTestingState": "NotSubmitted", "IsOnHold": false,
            "ArchivedDate": null, "IsFinished": false, "FinishedDate": null,
            "LastModified": "2026-02-08T07:05:59.7441994+00:00",
            "Item": {"Id": 1, "Name": "Buds", "ProductCategoryName": "Buds",
                     "ProductCategoryType": 0, "StrainName": null}
        }))
        .unwrap();
        assert_eq!(package.is_finished, Some(false));
        assert_eq!(package.finished_date, None);
        assert_eq!(package.packaged_date, NaiveDate::from_ymd_opt(2014, 11, 29));
        assert_eq!(package.item.unwrap().raw["ProductCategoryType"], 0);
    }

    #[test]
    fn a_mistyped_field_is_none_in_the_view_and_kept_in_the_record() {
        let sent = json!({"Id": 9, "Quantity": "lots", "IsFinished": "yes"});
        let p: Package = decode(sent.clone()).unwrap();
        assert_eq!((p.id, p.quantity, p.is_finished), (Some(9), None, None));
        assert_eq!(Value::Object(p.raw), sent);
    }
}

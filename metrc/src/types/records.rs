//! Records of the paged lists sync walks, and of `GET /packages/v2/{label}`. Only the fields the
//! app reads are named, each from its v2 wire name first (docs/metrc.md §7); the whole record as
//! Metrc sent it is in each record's `raw`, so storing a record keeps all of it.

use chrono::NaiveDate;

use super::time::MetrcTime;
use super::tolerant::metrc_record;

metrc_record! {
    /// A package (`/packages/v2/active`, `/packages/v2/inactive`, `/packages/v2/{label}`).
    pub struct Package {
        /// `Id`: Metrc's numeric id of the package.
        id: i64,
        /// `Label`: the package's tag, 24 characters (`1A4000000000000000000123`; docs/metrc.md
        /// §7).
        label: String,
        /// `PackageType`: the kind of package, as Metrc words it.
        package_type: String,
        /// v2 `LocationName`; `RoomName` where only the older name is sent.
        location_name: String = ["LocationName", "RoomName"],
        /// `Quantity`: what the package holds, in `unit_of_measure_name`.
        quantity: f64,
        /// `UnitOfMeasureName`: the unit of `quantity` (e.g. `Grams`).
        unit_of_measure_name: String,
        /// `UnitOfMeasureAbbreviation`: that unit's short form (e.g. `g`).
        unit_of_measure_abbreviation: String,
        /// `PackagedDate`: the day the package was made.
        packaged_date: NaiveDate,
        /// `LabTestingState`: where the package stands in lab testing, as Metrc words it.
        lab_testing_state: String,
        /// `IsOnHold`: whether the package is on hold.
        is_on_hold: bool,
        /// `IsFinished`: whether the package is finished.
        is_finished: bool,
        /// `FinishedDate`: the day the package was finished; `None` while it is not.
        finished_date: NaiveDate,
        /// `ArchivedDate`: the day the package was archived; `None` while it is not.
        archived_date: NaiveDate,
        /// `LastModified`: when Metrc last changed the package; the field `lastModified` windows
        /// filter on (docs/metrc.md §6).
        last_modified: MetrcTime,
        /// `Item`: the item (product) the package holds.
        item: PackageItem,
    }
}

metrc_record! {
    /// The item a [`Package`] holds.
    pub struct PackageItem {
        /// `Id`: Metrc's numeric id of the item.
        id: i64,
        /// `Name`: the item's name.
        name: String,
        /// `ProductCategoryName`: the item's product category (e.g. `Buds`).
        product_category_name: String,
        /// `UnitOfMeasureName`: the unit the item is counted or weighed in.
        unit_of_measure_name: String,
        /// `StrainName`: the item's strain, where it has one.
        strain_name: String,
    }
}

metrc_record! {
    /// A plant (`/plants/v2/vegetative`, `/plants/v2/flowering`, ...).
    pub struct Plant {
        /// `Id`: Metrc's numeric id of the plant.
        id: i64,
        /// `Label`: the plant's tag.
        label: String,
        /// `State`: the plant's state, as Metrc words it.
        state: String,
        /// `GrowthPhase`: the plant's growth phase (vegetative, flowering, ...), as Metrc words it.
        growth_phase: String,
        /// `PlantBatchName`: the batch the plant came from.
        plant_batch_name: String,
        /// `PlantBatchTypeName`: that batch's type (`Seed`, `Clone`).
        plant_batch_type_name: String,
        /// `StrainName`: the plant's strain.
        strain_name: String,
        /// The plant's location: v2 `LocationName`; `RoomName` where only the older name is sent.
        location_name: String = ["LocationName", "RoomName"],
        /// `PlantedDate`: the day the plant was planted.
        planted_date: NaiveDate,
        /// `VegetativeDate`: the day the plant entered the vegetative phase.
        vegetative_date: NaiveDate,
        /// `FloweringDate`: the day the plant entered the flowering phase; `None` before.
        flowering_date: NaiveDate,
        /// `DestroyedDate`: the day the plant was destroyed; `None` while it is not.
        destroyed_date: NaiveDate,
        /// `LastModified`: when Metrc last changed the plant (docs/metrc.md §6).
        last_modified: MetrcTime,
    }
}

metrc_record! {
    /// A plant batch (`/plantbatches/v2/active`). v2 renamed v1's `Count` and `Type` (field
    /// case-04).
    pub struct PlantBatch {
        /// `Id`: Metrc's numeric id of the batch.
        id: i64,
        /// `Name`: the batch's name.
        name: String,
        /// The batch's type (`Seed`, `Clone`): v2 `PlantBatchTypeName`, v1 `Type`.
        r#type: String = ["PlantBatchTypeName", "Type"],
        /// The plants still untracked in the batch: v2 `UntrackedCount`, v1 `Count` (the same
        /// number).
        count: i64 = ["UntrackedCount", "Count"],
        /// Plants of the batch already tagged (`TrackedCount`, v2 only).
        tracked_count: i64 = ["TrackedCount"],
        /// `StrainName`: the batch's strain.
        strain_name: String,
        /// The batch's location: v2 `LocationName`; `RoomName` where only the older name is sent.
        location_name: String = ["LocationName", "RoomName"],
        /// `PlantedDate`: the day the batch was planted.
        planted_date: NaiveDate,
        /// `LastModified`: when Metrc last changed the batch (docs/metrc.md §6).
        last_modified: MetrcTime,
    }
}

metrc_record! {
    /// A harvest (`/harvests/v2/active`).
    pub struct Harvest {
        /// `Id`: Metrc's numeric id of the harvest.
        id: i64,
        /// `Name`: the harvest's name.
        name: String,
        /// `HarvestType`: the kind of harvest, as Metrc words it.
        harvest_type: String,
        /// Where the harvest dries: v2 `DryingLocationName`; `DryingRoomName` where only the older
        /// name is sent.
        drying_location_name: String = ["DryingLocationName", "DryingRoomName"],
        /// `CurrentWeight`: the harvest's weight now, in `unit_of_weight_name`.
        current_weight: f64,
        /// `UnitOfWeightName`: the unit of `current_weight` (e.g. `Grams`).
        unit_of_weight_name: String,
        /// `HarvestStartDate`: the day the harvest began.
        harvest_start_date: NaiveDate,
        /// `LastModified`: when Metrc last changed the harvest (docs/metrc.md §6).
        last_modified: MetrcTime,
    }
}

metrc_record! {
    /// An item (product) (`/items/v2/active`).
    pub struct Item {
        /// `Id`: Metrc's numeric id of the item.
        id: i64,
        /// `Name`: the item's name.
        name: String,
        /// `ProductCategoryName`: the item's product category.
        product_category_name: String,
        /// A name in `/items/v2/active` (`Buds`); Metrc sends a number here inside a package's
        /// `Item`, which this view leaves out (`raw` keeps it).
        product_category_type: String,
        /// `UnitOfMeasureName`: the unit the item is counted or weighed in.
        unit_of_measure_name: String,
        /// `StrainName`: the item's strain, where it has one.
        strain_name: String,
        /// `IsUsed`: whether any package uses the item, as Metrc says.
        is_used: bool,
        /// `LastModified`: when Metrc last changed the item; v2 sends none, so usually `None`
        /// (docs/metrc.md §11).
        last_modified: MetrcTime,
    }
}

metrc_record! {
    /// A location (`/locations/v2/active`).
    pub struct Location {
        /// `Id`: Metrc's numeric id of the location.
        id: i64,
        /// `Name`: the location's name, what a location change names (`Location`).
        name: String,
        /// `LocationTypeName`: the location's type, as Metrc words it.
        location_type_name: String,
        /// `LastModified`: when Metrc last changed the location (docs/metrc.md §6).
        last_modified: MetrcTime,
    }
}

metrc_record! {
    /// A strain (`/strains/v2/active`).
    pub struct Strain {
        /// `Id`: Metrc's numeric id of the strain.
        id: i64,
        /// `Name`: the strain's name.
        name: String,
        /// `TestingStatus`: the strain's testing status, as Metrc words it.
        testing_status: String,
        /// `ThcLevel`: the strain's THC level, as Metrc sends it.
        thc_level: f64,
        /// `CbdLevel`: the strain's CBD level, as Metrc sends it.
        cbd_level: f64,
        /// `IndicaPercentage`: the strain's indica share, in percent.
        indica_percentage: f64,
        /// `SativaPercentage`: the strain's sativa share, in percent.
        sativa_percentage: f64,
        /// `IsUsed`: whether anything uses the strain, as Metrc says.
        is_used: bool,
        /// `LastModified`: when Metrc last changed the strain (docs/metrc.md §6).
        last_modified: MetrcTime,
    }
}

metrc_record! {
    /// A transfer manifest (`/transfers/v2/incoming`, `/transfers/v2/outgoing`).
    pub struct Transfer {
        /// `Id`: Metrc's numeric id of the transfer.
        id: i64,
        /// `ManifestNumber`: the transfer's manifest number.
        manifest_number: String,
        /// `ShipperFacilityLicenseNumber`: the license that ships.
        shipper_facility_license_number: String,
        /// `ShipperFacilityName`: the name of the facility that ships.
        shipper_facility_name: String,
        /// `ShipmentTypeName`: the kind of shipment, as Metrc words it.
        shipment_type_name: String,
        /// `CreatedDateTime`: when the manifest was created.
        created_date_time: MetrcTime,
        /// `CreatedByUserName`: the Metrc user who created the manifest, how Metrc shows
        /// attribution (docs/metrc.md §7).
        created_by_user_name: String,
        /// `PackageCount`: the packages on the manifest.
        package_count: i64,
        /// `ReceivedDateTime`: when the transfer was received; `None` until then.
        received_date_time: MetrcTime,
        /// `LastModified`: when Metrc last changed the transfer (docs/metrc.md §6).
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

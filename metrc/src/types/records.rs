//! Records of the paged lists sync walks. Only the fields the app reads are named; everything else
//! Metrc sends is kept in each record's `extra`, so serialising a record stores all of it.

use super::tolerant::metrc_record;

metrc_record! {
    /// A package (`/packages/v2/active`, `/packages/v2/inactive`).
    pub struct Package {
        id: i64,
        label: String,
        package_type: String,
        location_name: String,
        quantity: f64,
        unit_of_measure_name: String,
        unit_of_measure_abbreviation: String,
        packaged_date: String,
        lab_testing_state: String,
        is_on_hold: bool,
        is_finished: bool,
        finished_date: String,
        archived_date: String,
        last_modified: String,
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
        strain_name: String,
        location_name: String,
        planted_date: String,
        vegetative_date: String,
        flowering_date: String,
        destroyed_date: String,
        last_modified: String,
    }
}

metrc_record! {
    /// A plant batch (`/plantbatches/v2/active`).
    pub struct PlantBatch {
        id: i64,
        name: String,
        r#type: String,
        count: i64,
        strain_name: String,
        location_name: String,
        planted_date: String,
        last_modified: String,
    }
}

metrc_record! {
    /// A harvest (`/harvests/v2/active`).
    pub struct Harvest {
        id: i64,
        name: String,
        harvest_type: String,
        drying_location_name: String,
        current_weight: f64,
        unit_of_weight_name: String,
        harvest_start_date: String,
        last_modified: String,
    }
}

metrc_record! {
    /// An item (product) (`/items/v2/active`).
    pub struct Item {
        id: i64,
        name: String,
        product_category_name: String,
        product_category_type: String,
        unit_of_measure_name: String,
        strain_name: String,
        is_used: bool,
    }
}

metrc_record! {
    /// A location (`/locations/v2/active`).
    pub struct Location {
        id: i64,
        name: String,
        location_type_name: String,
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
        created_date_time: String,
        created_by_user_name: String,
        package_count: i64,
        received_date_time: String,
        last_modified: String,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::tolerant::decode;
    use serde_json::json;

    #[test]
    fn package_pascal_and_camel_with_item_and_extras() {
        let pascal: Package = decode(json!({
            "Id": 7, "Label": "1A4000000000000000000123", "Quantity": 2.5,
            "UnitOfMeasureName": "Grams", "IsOnHold": false, "LastModified": "2026-01-17T06:30:00+00:00",
            "Item": {"Id": 3, "Name": "Flower", "ProductCategoryName": "Buds", "Brand": null},
            "PatientLicenseNumber": null, "SourceHarvestNames": "H1"
        }))
        .unwrap();
        let camel: Package = decode(json!({
            "id": 7, "label": "1A4000000000000000000123", "quantity": 2.5,
            "unitOfMeasureName": "Grams", "isOnHold": false, "lastModified": "2026-01-17T06:30:00+00:00",
            "item": {"id": 3, "name": "Flower", "productCategoryName": "Buds", "brand": null},
            "patientLicenseNumber": null, "sourceHarvestNames": "H1"
        }))
        .unwrap();
        assert_eq!(pascal, camel);
        assert_eq!(pascal.label.as_deref(), Some("1A4000000000000000000123"));
        assert_eq!(pascal.quantity, Some(2.5));
        assert_eq!(
            pascal.item.as_ref().unwrap().name.as_deref(),
            Some("Flower")
        );
        assert_eq!(pascal.extra["SourceHarvestNames"], "H1");
        // The stored JSON has every field Metrc sent.
        let stored = serde_json::to_value(&pascal).unwrap();
        assert_eq!(stored["SourceHarvestNames"], "H1");
        assert!(
            stored
                .as_object()
                .unwrap()
                .contains_key("PatientLicenseNumber")
        );
        assert_eq!(stored["Item"]["Id"], 3);
    }

    #[test]
    fn plant_batch_type_field_and_transfer() {
        let b: PlantBatch = decode(json!({"Type": "Clone", "Count": 12})).unwrap();
        assert_eq!(b.r#type.as_deref(), Some("Clone"));
        assert_eq!(b.count, Some(12));
        let t: Transfer =
            decode(json!({"ManifestNumber": "0000000001", "CreatedByUserName": "Ann"})).unwrap();
        assert_eq!(t.created_by_user_name.as_deref(), Some("Ann"));
    }
}

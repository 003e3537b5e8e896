//! Reference lists the submission forms offer: adjust reasons, waste methods and reasons, units.

use super::tolerant::metrc_record;

metrc_record! {
    /// A package adjustment reason (`/packages/v2/adjust/reasons`).
    pub struct AdjustReason {
        name: String,
        requires_note: bool,
        requires_waste_weight: bool,
        requires_whole_package_adjustment: bool,
    }
}

metrc_record! {
    /// A plant waste method (`/plants/v2/waste/methods/all`).
    pub struct WasteMethod {
        name: String,
        for_plants: bool,
        for_product_destruction: bool,
    }
}

metrc_record! {
    /// A plant waste reason (`/plants/v2/waste/reasons`).
    pub struct WasteReason {
        name: String,
        requires_note: bool,
    }
}

metrc_record! {
    /// A unit of measure (`/unitsofmeasure/v2/active`).
    pub struct UnitOfMeasure {
        quantity_type: String,
        name: String,
        abbreviation: String,
    }
}

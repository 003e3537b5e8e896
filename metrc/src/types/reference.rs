//! Reference lists the submission forms offer: adjust reasons, waste methods and reasons, units.

use super::tolerant::metrc_record;

metrc_record! {
    /// A package adjustment reason (`/packages/v2/adjust/reasons`).
    pub struct AdjustReason {
        /// `Name`: the reason, as a package adjustment names it (`AdjustmentReason`).
        name: String,
        /// `RequiresNote`: an adjustment with this reason needs a `ReasonNote` (docs/metrc.md §8).
        requires_note: bool,
        /// `RequiresWasteWeight`, as Metrc sends it; Tracekeeper does not read it.
        requires_waste_weight: bool,
        /// `RequiresWholePackageAdjustment`, as Metrc sends it; Tracekeeper does not read it.
        requires_whole_package_adjustment: bool,
    }
}

metrc_record! {
    /// A plant waste method (`/plants/v2/waste/methods/all`).
    pub struct WasteMethod {
        /// `Name`: the method, as a plant waste row names it (`WasteMethodName`).
        name: String,
        /// `ForPlants`: whether the method applies to plant waste.
        for_plants: bool,
        /// `ForProductDestruction`: whether the method applies to destroying product.
        for_product_destruction: bool,
    }
}

metrc_record! {
    /// A plant waste reason (`/plants/v2/waste/reasons`).
    pub struct WasteReason {
        /// `Name`: the reason, as a plant waste row names it (`ReasonName`).
        name: String,
        /// `RequiresNote`: waste with this reason needs a `Note`.
        requires_note: bool,
    }
}

metrc_record! {
    /// A unit of measure (`/unitsofmeasure/v2/active`).
    pub struct UnitOfMeasure {
        /// `QuantityType`: what the unit measures (e.g. `WeightBased`, `CountBased`).
        quantity_type: String,
        /// `Name`: the unit's name, as rows name it (e.g. `Ounces`).
        name: String,
        /// `Abbreviation`: the unit's short form (e.g. `oz`).
        abbreviation: String,
    }
}

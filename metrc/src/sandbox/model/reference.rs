//! Metrc's reference lists (units of measure, adjustment reasons, waste methods and reasons,
//! item categories): fixed data, the same for every license.

/// A unit of measure. `to_base` converts one unit into the base unit of its quantity type
/// (grams, milliliters, or each), so adjustments in another unit of the same type work.
#[derive(Debug, PartialEq)]
pub struct Unit {
    pub name: &'static str,
    pub abbreviation: &'static str,
    pub quantity_type: &'static str,
    pub to_base: f64,
}

pub const UNITS: &[Unit] = &[
    Unit {
        name: "Each",
        abbreviation: "ea",
        quantity_type: "CountBased",
        to_base: 1.0,
    },
    Unit {
        name: "Fluid Ounces",
        abbreviation: "fl oz",
        quantity_type: "VolumeBased",
        to_base: 29.5735,
    },
    Unit {
        name: "Gallons",
        abbreviation: "gal",
        quantity_type: "VolumeBased",
        to_base: 3785.41,
    },
    Unit {
        name: "Liters",
        abbreviation: "l",
        quantity_type: "VolumeBased",
        to_base: 1000.0,
    },
    Unit {
        name: "Milliliters",
        abbreviation: "ml",
        quantity_type: "VolumeBased",
        to_base: 1.0,
    },
    Unit {
        name: "Pints",
        abbreviation: "pt",
        quantity_type: "VolumeBased",
        to_base: 473.176,
    },
    Unit {
        name: "Quarts",
        abbreviation: "qt",
        quantity_type: "VolumeBased",
        to_base: 946.353,
    },
    Unit {
        name: "Grams",
        abbreviation: "g",
        quantity_type: "WeightBased",
        to_base: 1.0,
    },
    Unit {
        name: "Kilograms",
        abbreviation: "kg",
        quantity_type: "WeightBased",
        to_base: 1000.0,
    },
    Unit {
        name: "Milligrams",
        abbreviation: "mg",
        quantity_type: "WeightBased",
        to_base: 0.001,
    },
    Unit {
        name: "Ounces",
        abbreviation: "oz",
        quantity_type: "WeightBased",
        to_base: 28.3495,
    },
    Unit {
        name: "Pounds",
        abbreviation: "lb",
        quantity_type: "WeightBased",
        to_base: 453.592,
    },
];

/// The unit with this name or abbreviation (any case).
pub fn unit(name: &str) -> Option<&'static Unit> {
    let name = name.trim();
    UNITS
        .iter()
        .find(|u| u.name.eq_ignore_ascii_case(name) || u.abbreviation.eq_ignore_ascii_case(name))
}

#[cfg(test)]
pub fn grams() -> &'static Unit {
    &UNITS[7]
}

pub fn each() -> &'static Unit {
    &UNITS[0]
}

/// Converts `quantity` of `from` into `to`; `None` across quantity types.
pub fn convert(quantity: f64, from: &Unit, to: &Unit) -> Option<f64> {
    (from.quantity_type == to.quantity_type).then(|| quantity * from.to_base / to.to_base)
}

/// A reason from a reference list (`Name`, `RequiresNote`, ...).
#[derive(Debug)]
pub struct Reason {
    pub name: &'static str,
    pub requires_note: bool,
    pub requires_waste_weight: bool,
}

pub const ADJUST_REASONS: &[Reason] = &[
    Reason {
        name: "Drying",
        requires_note: false,
        requires_waste_weight: false,
    },
    Reason {
        name: "Entry Error",
        requires_note: true,
        requires_waste_weight: false,
    },
    Reason {
        name: "Incorrect Quantity",
        requires_note: true,
        requires_waste_weight: false,
    },
    Reason {
        name: "Mandatory State Destruction",
        requires_note: true,
        requires_waste_weight: true,
    },
    Reason {
        name: "Scale Variance",
        requires_note: false,
        requires_waste_weight: false,
    },
    Reason {
        name: "Spoilage",
        requires_note: false,
        requires_waste_weight: true,
    },
    Reason {
        name: "Theft",
        requires_note: true,
        requires_waste_weight: false,
    },
    Reason {
        name: "Waste (Unusable Product)",
        requires_note: false,
        requires_waste_weight: true,
    },
];

pub const PLANT_WASTE_REASONS: &[Reason] = &[
    Reason {
        name: "Contamination",
        requires_note: false,
        requires_waste_weight: true,
    },
    Reason {
        name: "Damage",
        requires_note: false,
        requires_waste_weight: true,
    },
    Reason {
        name: "Male Plants",
        requires_note: false,
        requires_waste_weight: true,
    },
    Reason {
        name: "Mandated State Destruction",
        requires_note: true,
        requires_waste_weight: true,
    },
    Reason {
        name: "Pruning",
        requires_note: false,
        requires_waste_weight: true,
    },
    Reason {
        name: "Trimming",
        requires_note: false,
        requires_waste_weight: true,
    },
];

/// Plant waste methods (`/plants/v2/waste/methods/all`).
pub const WASTE_METHODS: &[&str] = &["Compost", "Grinder", "Incinerator", "Landfill", "Mixed"];

/// Finds a reason by name (any case).
pub fn reason<'a>(list: &'a [Reason], name: &str) -> Option<&'a Reason> {
    list.iter()
        .find(|r| r.name.eq_ignore_ascii_case(name.trim()))
}

/// An item category: its name, product type and how its quantity is counted.
#[derive(Debug)]
pub struct Category {
    pub name: &'static str,
    pub product_type: &'static str,
    pub unit: &'static str,
}

pub const CATEGORIES: &[Category] = &[
    Category {
        name: "Buds",
        product_type: "Buds",
        unit: "Grams",
    },
    Category {
        name: "Shake/Trim",
        product_type: "ShakeTrim",
        unit: "Grams",
    },
    Category {
        name: "Pre-Roll Flower",
        product_type: "Other",
        unit: "Each",
    },
    Category {
        name: "Concentrate",
        product_type: "Concentrate",
        unit: "Grams",
    },
    Category {
        name: "Vape Cartridge (volume - each)",
        product_type: "InfusedEdible",
        unit: "Each",
    },
    Category {
        name: "Edible (weight - each)",
        product_type: "InfusedEdible",
        unit: "Each",
    },
    Category {
        name: "Tincture (volume)",
        product_type: "InfusedNonEdible",
        unit: "Milliliters",
    },
    Category {
        name: "Immature Plants",
        product_type: "Plants",
        unit: "Each",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_resolve_and_convert_within_a_quantity_type() {
        assert_eq!(unit("ounces"), Some(&UNITS[10]));
        assert_eq!(unit("g"), Some(grams()));
        let oz = unit("Ounces").map(|u| u.to_base);
        assert_eq!(oz, Some(28.3495));
        let one_oz = convert(1.0, &UNITS[10], grams());
        assert!(matches!(one_oz, Some(g) if (g - 28.3495).abs() < 1e-9));
        assert_eq!(convert(1.0, each(), grams()), None);
        for c in CATEGORIES {
            assert!(unit(c.unit).is_some(), "{}", c.name);
        }
    }
}

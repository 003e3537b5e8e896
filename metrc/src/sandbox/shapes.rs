//! Record shapes per [`RecordShapes`]: the records `wire.rs` builds, cut down to what v2
//! production sends, or given the v1 spellings Metrc has dropped (docs/metrc.md §7).

use serde_json::Value;

use super::config::RecordShapes;
use crate::sections::Section;

/// v1 spellings of plant batch fields, with the v2 field each one mirrors.
const PLANT_BATCH_V1: [(&str, &str); 2] =
    [("Count", "UntrackedCount"), ("Type", "PlantBatchTypeName")];

/// Shapes one record of a `section` list (a package's nested `Item` included) as `shapes` says.
pub fn apply(section: Section, record: &mut Value, shapes: RecordShapes) {
    let Value::Object(fields) = record else {
        return;
    };
    match (section, shapes) {
        (Section::PlantBatches, RecordShapes::V2) => {
            for (v1, _) in PLANT_BATCH_V1 {
                fields.remove(v1);
            }
        }
        (Section::PlantBatches, RecordShapes::WithV1) => {
            for (v1, v2) in PLANT_BATCH_V1 {
                if !fields.contains_key(v1)
                    && let Some(value) = fields.get(v2).cloned()
                {
                    fields.insert(v1.to_string(), value);
                }
            }
        }
        // Metrc keeps no `LastModified` on items, though it filters them by one.
        (Section::Items, RecordShapes::V2) => {
            fields.remove("LastModified");
        }
        (Section::Packages, _) => {
            if let Some(item) = fields.get_mut("Item") {
                apply(Section::Items, item, shapes);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn v2_drops_v1_spellings_and_item_times_and_with_v1_restores_them() {
        let batch = json!({"Id": 1, "Count": 5, "Type": "Clone", "UntrackedCount": 5,
                           "PlantBatchTypeName": "Clone"});
        let mut v2 = batch.clone();
        apply(Section::PlantBatches, &mut v2, RecordShapes::V2);
        assert_eq!(
            v2,
            json!({"Id": 1, "UntrackedCount": 5, "PlantBatchTypeName": "Clone"})
        );
        let mut v1 = v2.clone();
        apply(Section::PlantBatches, &mut v1, RecordShapes::WithV1);
        assert_eq!(v1, batch);

        let mut package = json!({"Id": 2, "LastModified": "2026-01-01T00:00:00+00:00",
                                 "Item": {"Id": 3, "LastModified": "2026-01-01T00:00:00+00:00"}});
        let mut kept = package.clone();
        apply(Section::Packages, &mut kept, RecordShapes::WithV1);
        assert_eq!(kept, package);
        apply(Section::Packages, &mut package, RecordShapes::V2);
        assert_eq!(
            package,
            json!({"Id": 2, "LastModified": "2026-01-01T00:00:00+00:00", "Item": {"Id": 3}})
        );
        let mut item = json!({"Id": 3, "LastModified": "2026-01-01T00:00:00+00:00"});
        apply(Section::Items, &mut item, RecordShapes::V2);
        assert_eq!(item, json!({"Id": 3}));
    }
}

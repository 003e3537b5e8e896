//! Types shared by the browser and the server (serde on both sides). No entities; a password or
//! key only inside a [`secret::Secret`], which `Debug` prints as `[REDACTED]`.

/// Wraps an enum stored in a string column: with `ssr`, derives `SeaORM`'s active enum for it
/// (each variant stored `snake_case` unless it says `sea_orm(string_value = ...)`); an unknown
/// stored value is an error when read (docs/decisions.md, "Typed columns").
macro_rules! stored_as_string {
    ($item:item) => {
        #[cfg_attr(
            feature = "ssr",
            derive(sea_orm::EnumIter, sea_orm::DeriveActiveEnum),
            sea_orm(
                rs_type = "String",
                db_type = "String(sea_orm::sea_query::StringLen::None)",
                rename_all = "snake_case"
            )
        )]
        $item
    };
}

pub mod auth;
pub mod facilities;
pub mod inventory;
pub mod key_validation;
pub mod keys;
pub mod secret;
pub mod submissions;
pub mod user_keys;
pub mod users;

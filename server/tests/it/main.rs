//! The server's integration tests, one module per area, linked into one test binary (one link
//! of the whole application instead of one per file). Tests that touch the database run once per
//! backend (`each_backend!`): `<test>::sqlite` and `<test>::postgres`.

#[macro_use]
mod support;

mod conditional_transitions;
mod csv_export;
mod embedded_metrc;
mod facility_key_validation;
mod facility_keys;
mod facility_search;
mod http_auth;
mod input_bounds;
mod key_age;
mod live_validation;
mod offboarding;
mod operator;
mod outbox;
mod outbox_bench;
mod outbox_crash;
mod outbox_servers;
mod plant_waste;
mod proxy_origin;
mod rate_limit_servers;
mod rate_limits;
mod refusals;
mod revalidation;
mod rotation;
mod servers_bench;
mod servers_shared;
mod several_servers;
mod startup_errors;
mod states;
mod status_codes;
mod stored_enums;
mod submissions_rules;
mod submit_once;
mod sync;
mod sync_servers;
mod user_admin;
mod user_keys;
mod vault_identity;

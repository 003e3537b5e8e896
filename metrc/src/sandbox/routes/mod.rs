//! Metrc's v2 routes.

mod account;
mod lists;
mod package;
mod writes;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::get;

use super::Sandbox;
use super::error::ApiError;
use super::gate::gate;
use crate::sections::Resource;

pub fn router(sandbox: Sandbox) -> Router {
    let mut router = Router::new()
        .route("/facilities/v2", get(account::facilities))
        .route("/facilities/v2/", get(account::facilities))
        .route("/employees/v2", get(account::employees))
        .route("/employees/v2/", get(account::employees))
        .route("/employees/v2/permissions", get(account::permissions))
        .route("/packages/v2/adjust/reasons", get(lists::adjust_reasons))
        .route("/plants/v2/waste/methods/all", get(lists::waste_methods))
        .route("/plants/v2/waste/reasons", get(lists::waste_reasons))
        .route("/unitsofmeasure/v2/active", get(lists::units))
        .route("/packages/v2/{label}", get(package::by_label))
        .merge(writes::router());
    for list in Resource::ALL {
        router = router.route(list.path(), get(move |s, c, p| lists::list(list, s, c, p)));
    }
    router
        .fallback(|| async { ApiError::NotFound })
        .layer(from_fn_with_state(sandbox.clone(), gate))
        .with_state(sandbox)
}

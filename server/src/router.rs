//! The axum router: health check, the Leptos app and its server functions (each error answered
//! with its own status; a page's signed-in user read once, `SignedInMemo`), the client's files (`static_files`) and other static files, sessions, a same-origin guard for state-changing requests, a request-body limit, security
//! headers on every response, and request tracing.

use crate::{error_status, security_headers, static_files};
use app::ssr::client_addr::same_origin;
use app::ssr::input::MAX_BODY_BYTES;
use app::ssr::session::SignedInMemo;
use app::ssr::session_store::DbSessionStore;
use app::ssr::state::AppState;
use app::{App, shell};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use leptos_axum::{LeptosRoutes, generate_route_list};
use sea_orm::ConnectionTrait;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

/// How long a session lives without activity.
const SESSION_IDLE: time::Duration = time::Duration::hours(12);

pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let sessions = SessionManagerLayer::new(DbSessionStore::new(state.db.clone()))
        .with_name(security_headers::session_cookie_name(
            state.config.secure_cookies,
        ))
        .with_http_only(true)
        .with_same_site(SameSite::Strict)
        .with_secure(state.config.secure_cookies)
        .with_expiry(Expiry::OnInactivity(SESSION_IDLE));

    Router::new()
        .route("/healthz", get(healthz))
        // Metrc Submissions' "Export CSV" (admins; the session is checked as server functions do).
        .route(
            app::ssr::outbox::csv::EXPORT_PATH,
            get(app::ssr::outbox::csv::export),
        )
        .nest_service(
            &format!("/{}", state.leptos_options.site_pkg_dir),
            static_files::pkg(
                &std::path::Path::new(state.leptos_options.site_root.as_ref())
                    .join(state.leptos_options.site_pkg_dir.as_ref()),
                state.leptos_options.hash_files,
            ),
        )
        .leptos_routes_with_context(&state, routes, || (), {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        // A server function's error answered with its own status (401, 403, 429, 503...).
        .layer(middleware::from_fn(error_status::apply))
        .layer(middleware::from_fn(memo_signed_in))
        .layer(sessions)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            same_origin_guard,
        ))
        // Outside the session layer: an oversized request is refused before anything else.
        .layer(middleware::from_fn(limit_body))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // Outermost but tracing: refusals carry the headers too.
        .layer(middleware::from_fn_with_state(
            state.config.secure_cookies,
            security_headers::add,
        ))
        .layer(TraceLayer::new_for_http().on_failure(error_status::log_failure))
        .with_state(state)
}

/// `GET /healthz`: 200 with the version and database backend while the database answers.
async fn healthz(State(state): State<AppState>) -> Response {
    let db_ok = state.db.execute_unprepared("SELECT 1").await.is_ok();
    let body = Json(serde_json::json!({
        "status": if db_ok { "ok" } else { "database unavailable" },
        "version": env!("CARGO_PKG_VERSION"),
        "database": state.db_kind.name(),
    }));
    let status = if db_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, body).into_response()
}

/// Gives a `GET` or `HEAD` request (a page: it signs no one in or out) one [`SignedInMemo`], so
/// the resources of one page read who is signed in once.
async fn memo_signed_in(mut request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        request.extensions_mut().insert(SignedInMemo::default());
    }
    next.run(request).await
}

/// Refuses (403) a state-changing request that does not come from our own pages
/// ([`same_origin`]: an exact `Origin`, or `Sec-Fetch-Site: same-origin`). Together with the
/// SameSite=Strict session cookie this keeps server functions safe from cross-site requests.
async fn same_origin_guard(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let public_origin = state.config.public_origin.as_deref();
    match same_origin(request.method(), request.headers(), public_origin) {
        Ok(()) => next.run(request).await,
        Err(refused) => (StatusCode::FORBIDDEN, refused.to_string()).into_response(),
    }
}

/// Refuses at once (413, before the body is read) a request that declares a body over
/// [`MAX_BODY_BYTES`]. A body sent without a length is cut off at the same size by
/// [`DefaultBodyLimit`], which the server functions' body reader obeys.
async fn limit_body(request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(length) if length > MAX_BODY_BYTES as u64 => (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("The request body is too large: {MAX_BODY_BYTES} bytes at most."),
        )
            .into_response(),
        _ => next.run(request).await,
    }
}

//! The middleware in front of every Metrc route: identifies the caller, applies injected faults,
//! rate limits and latency, and logs the call with the employee whose key made it.

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;

use super::Sandbox;
use super::auth::{Caller, Verdict, credentials};
use super::faults;
use super::log::LogEntry;
use super::query::raw_param;

/// What the gate learnt about a call's keys.
struct Identity {
    /// The vendor key, when registered.
    vendor: Option<String>,
    /// The employee whose current key was sent (even with a bad vendor key), for the log.
    employee: Option<(u64, String)>,
}

impl Sandbox {
    fn identify(&self, request: &Request) -> Identity {
        let Some(creds) = credentials(request.headers()) else {
            return Identity {
                vendor: None,
                employee: None,
            };
        };
        let vendors = &self.config().vendor_keys;
        let vendor =
            (vendors.is_empty() || vendors.contains(&creds.vendor_key)).then_some(creds.vendor_key);
        let model = self.inner.model.read();
        let employee = model
            .employee_by_key(&creds.user_key)
            .map(|e| (e.id, e.name.clone()));
        Identity { vendor, employee }
    }
}

pub async fn gate(State(sandbox): State<Sandbox>, mut request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let license = raw_param(request.uri().query(), "licenseNumber");
    let identity = sandbox.identify(&request);

    let response = 'call: {
        if let Some(status) = sandbox.inner.faults.lock().take(&path) {
            break 'call faults::response(status);
        }
        let _admission = match (
            &sandbox.inner.limits,
            &identity.vendor,
            method == Method::GET,
        ) {
            (Some(limits), Some(vendor), true) => {
                let known = license
                    .as_deref()
                    .filter(|l| sandbox.inner.model.read().license_idx(l).is_some());
                match limits.admit(vendor, known) {
                    Ok(admission) => Some(admission),
                    Err(e) => break 'call e.into_response(),
                }
            }
            _ => None,
        };
        let latency = sandbox.inner.faults.lock().latency();
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        let caller = identity
            .vendor
            .as_ref()
            .and(identity.employee.as_ref())
            .map(|(id, _)| Caller { employee_id: *id });
        request.extensions_mut().insert(Verdict(caller));
        next.run(request).await
    };

    let (employee_id, employee_name) = identity
        .employee
        .map_or((None, None), |(id, name)| (Some(id), Some(name)));
    sandbox.inner.log.lock().push(LogEntry {
        at: Utc::now(),
        method: method.to_string(),
        path,
        license,
        employee_id,
        employee_name,
        status: response.status().as_u16(),
    });
    response
}

//! The middleware in front of every Metrc route: identifies the caller, applies injected faults,
//! rate limits and latency, and logs the call with the employee whose key made it. A lost
//! request is held before the route runs; a lost answer after the route ran and the call was
//! logged (see [`super::faults`]).

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;

use super::Sandbox;
use super::auth::{Caller, Verdict, credentials};
use super::faults::{self, Loss};
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

/// Logs a held call as [`faults::CALLER_GONE`] if it is dropped (its caller hung up) before
/// [`CallerGone::disarm`].
struct CallerGone {
    sandbox: Sandbox,
    entry: Option<LogEntry>,
}

impl CallerGone {
    fn disarm(mut self) {
        self.entry = None;
    }
}

impl Drop for CallerGone {
    fn drop(&mut self) {
        if let Some(entry) = self.entry.take() {
            self.sandbox.inner.log.lock().push(entry);
        }
    }
}

pub async fn gate(State(sandbox): State<Sandbox>, mut request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let license = raw_param(request.uri().query(), "licenseNumber");
    let identity = sandbox.identify(&request);
    let entry = |status: u16, answer_lost: bool| LogEntry {
        at: Utc::now(),
        method: method.to_string(),
        path: path.clone(),
        license: license.clone(),
        employee_id: identity.employee.as_ref().map(|(id, _)| *id),
        employee_name: identity.employee.as_ref().map(|(_, name)| name.clone()),
        status,
        answer_lost,
    };

    let mut loss = None;
    let response = 'call: {
        let injected = sandbox.inner.faults.lock().take(&path);
        if let Some(injected) = injected {
            break 'call injected.response();
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
        if method != Method::GET {
            loss = sandbox
                .inner
                .faults
                .lock()
                .take_loss(&path, license.as_deref());
        }
        if loss == Some(Loss::Request) {
            // Never carried out: held until the caller hangs up (this future is dropped then,
            // and the guard logs it), or answered 504 after the hold limit.
            let gone = CallerGone {
                sandbox: sandbox.clone(),
                entry: Some(entry(faults::CALLER_GONE, false)),
            };
            tokio::time::sleep(faults::HOLD_LIMIT).await;
            gone.disarm();
            break 'call faults::response(StatusCode::GATEWAY_TIMEOUT);
        }
        let caller = identity
            .vendor
            .as_ref()
            .and(identity.employee.as_ref())
            .map(|(id, _)| Caller { employee_id: *id });
        request.extensions_mut().insert(Verdict(caller));
        next.run(request).await
    };

    // Carried out (or refused) and logged before a lost answer is held back.
    let answer_lost = loss == Some(Loss::Answer);
    sandbox
        .inner
        .log
        .lock()
        .push(entry(response.status().as_u16(), answer_lost));
    if answer_lost {
        tokio::time::sleep(faults::HOLD_LIMIT).await;
    }
    response
}

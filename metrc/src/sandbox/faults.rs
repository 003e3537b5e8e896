//! Fault injection: the next N Metrc calls under a path prefix get a chosen status (with Metrc's
//! usual body for it, or a given one: a server fault sent as 400, field case-10); the next N
//! writes under a path prefix (and of a license) lose their request or their answer; and every
//! Metrc call can be slowed down.
//!
//! A lost request or answer is what a caller cannot tell apart from the outside: it sent a write
//! and no answer came. Inside the sandbox the two differ, which is what reconciliation must find
//! out from Metrc's data:
//!
//! - [`Loss::Request`]: the write is held *before* it is carried out, until the caller hangs up.
//!   It is never carried out; the request log records it with [`CALLER_GONE`] when the caller
//!   has gone.
//! - [`Loss::Answer`]: the write is carried out (the model changes) and logged with the status it
//!   answers, then the answer is held until the caller hangs up: the write landed, its answer was
//!   lost.
//!
//! Either hold ends when the caller hangs up (the call is dropped then), or after [`HOLD_LIMIT`]:
//! a lost request then gets 504 without being carried out, a lost answer is sent late.

use std::time::Duration;

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The longest a lost request or answer is held while its caller still waits.
pub const HOLD_LIMIT: Duration = Duration::from_secs(600);

/// The status logged for a call whose caller hung up while the sandbox held its request (what a
/// front end logs: "client closed request").
pub const CALLER_GONE: u16 = 499;

/// What a lost write loses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    /// Held before it is carried out: never recorded.
    Request,
    /// Carried out and logged, then its answer is held: recorded, unanswered.
    Answer,
}

/// Which fault a rule or a latency came from, so that one fault can be withdrawn alone
/// (`Sandbox::fail_next` and the other typed injections drop theirs when their guard is dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultId(u64);

/// The next `remaining` calls whose path starts with `prefix` (and, when set, for `license`) get
/// `effect`.
#[derive(Debug, Clone)]
struct Rule<T> {
    id: FaultId,
    effect: T,
    remaining: u32,
    prefix: String,
    license: Option<String>,
}

/// Adds a rule for the next `count` calls (none for 0).
fn push<T>(
    rules: &mut Vec<Rule<T>>,
    id: FaultId,
    effect: T,
    count: u32,
    prefix: Option<String>,
    license: Option<String>,
) {
    if count > 0 {
        rules.push(Rule {
            id,
            effect,
            remaining: count,
            prefix: prefix.unwrap_or_default(),
            license,
        });
    }
}

/// The calls left to the rule `id`, if it is among `rules`.
fn remaining<T>(rules: &[Rule<T>], id: FaultId) -> Option<u32> {
    rules.iter().find(|r| r.id == id).map(|r| r.remaining)
}

/// Uses up one call of the first rule that matches, and says what it does.
fn take<T: Clone>(rules: &mut Vec<Rule<T>>, path: &str, license: Option<&str>) -> Option<T> {
    let at = rules.iter().position(|r| {
        r.remaining > 0
            && path.starts_with(&r.prefix)
            && r.license.as_deref().is_none_or(|l| Some(l) == license)
    })?;
    let rule = &mut rules[at];
    rule.remaining -= 1;
    let effect = rule.effect.clone();
    if rule.remaining == 0 {
        rules.remove(at);
    }
    Some(effect)
}

/// An injected answer: a status, with Metrc's usual body for it ([`response`]) or the given one.
#[derive(Debug, Clone, PartialEq)]
pub struct Injected {
    pub status: StatusCode,
    /// The JSON body to answer instead of the usual one (e.g. field case-10's
    /// `{"Message": "Could not load file or assembly ..."}` with 400).
    pub body: Option<Value>,
}

impl Injected {
    pub fn response(&self) -> Response {
        match &self.body {
            Some(body) => (self.status, Json(body.clone())).into_response(),
            None => response(self.status),
        }
    }
}

/// The faults in force.
#[derive(Debug, Default)]
pub struct Faults {
    statuses: Vec<Rule<Injected>>,
    losses: Vec<Rule<Loss>>,
    /// The latency every call waits, and the fault that set it.
    latency: Option<(FaultId, Duration)>,
    last_id: u64,
}

impl Faults {
    fn next_id(&mut self) -> FaultId {
        self.last_id += 1;
        FaultId(self.last_id)
    }

    /// The next `count` calls whose path starts with `prefix` (all calls when empty) get
    /// `status`, with `body` (JSON) when given instead of Metrc's usual body.
    pub fn add_with_body(
        &mut self,
        status: StatusCode,
        body: Option<Value>,
        count: u32,
        prefix: Option<String>,
    ) -> FaultId {
        let id = self.next_id();
        push(
            &mut self.statuses,
            id,
            Injected { status, body },
            count,
            prefix,
            None,
        );
        id
    }

    /// The next `count` writes whose path starts with `prefix` (all when empty), for `license`
    /// when given, lose their request or their answer.
    pub fn add_loss(
        &mut self,
        loss: Loss,
        count: u32,
        prefix: Option<String>,
        license: Option<String>,
    ) -> FaultId {
        let id = self.next_id();
        push(&mut self.losses, id, loss, count, prefix, license);
        id
    }

    /// Every call waits `latency` from now on (zero: none), until another latency is set.
    pub fn set_latency(&mut self, latency: Duration) -> FaultId {
        let id = self.next_id();
        self.latency = (!latency.is_zero()).then_some((id, latency));
        id
    }

    pub fn latency(&self) -> Duration {
        self.latency.map_or(Duration::ZERO, |(_, latency)| latency)
    }

    /// Withdraws the fault `id`: its rule's calls left, or its latency if no later one replaced it.
    pub fn remove(&mut self, id: FaultId) {
        self.statuses.retain(|r| r.id != id);
        self.losses.retain(|r| r.id != id);
        if self.latency.is_some_and(|(set_by, _)| set_by == id) {
            self.latency = None;
        }
    }

    /// Calls the fault `id` still applies to (0 once used up or withdrawn; for a latency, 0 once
    /// withdrawn or replaced, else `u32::MAX`: it applies to every call).
    pub fn remaining(&self, id: FaultId) -> u32 {
        remaining(&self.statuses, id)
            .or_else(|| remaining(&self.losses, id))
            .or_else(|| {
                self.latency
                    .filter(|(set_by, _)| *set_by == id)
                    .map(|_| u32::MAX)
            })
            .unwrap_or(0)
    }

    /// Withdraws every fault (ids stay unique: a guard of a cleared fault withdraws nothing).
    pub fn clear(&mut self) {
        *self = Faults {
            last_id: self.last_id,
            ..Faults::default()
        };
    }

    /// The faults in force (`GET /sandbox/faults`): the latency, and each rule with the calls it
    /// has left; a rule whose calls are used up is gone.
    pub fn in_force(&self) -> Value {
        let losses = |loss: Loss| {
            self.losses
                .iter()
                .filter(|r| r.effect == loss)
                .map(|r| json!({ "remaining": r.remaining, "path_prefix": r.prefix, "license": r.license }))
                .collect::<Vec<_>>()
        };
        let statuses: Vec<Value> = self
            .statuses
            .iter()
            .map(|r| json!({ "status": r.effect.status.as_u16(), "body": r.effect.body, "remaining": r.remaining, "path_prefix": r.prefix }))
            .collect();
        json!({
            "latency_ms": u64::try_from(self.latency().as_millis()).unwrap_or(u64::MAX),
            "statuses": statuses,
            "lose_request": losses(Loss::Request),
            "lose_answer": losses(Loss::Answer),
        })
    }

    /// The answer this call must get, using up one of the first matching rule's calls.
    pub fn take(&mut self, path: &str) -> Option<Injected> {
        take(&mut self.statuses, path, None)
    }

    /// What this write loses, using up one of the first matching rule's calls.
    pub fn take_loss(&mut self, path: &str, license: Option<&str>) -> Option<Loss> {
        take(&mut self.losses, path, license)
    }
}

/// What Metrc's stack answers with this status: an HTML page from the front end for 502-504 (and
/// sometimes 500), `{"Message": ...}` otherwise.
pub fn response(status: StatusCode) -> Response {
    let reason = status.canonical_reason().unwrap_or("Error");
    if matches!(status.as_u16(), 502..=504) {
        let page = format!(
            "<html><head><title>{code} {reason}</title></head><body><center><h1>{code} {reason}</h1></center></body></html>",
            code = status.as_u16()
        );
        return (status, [(header::CONTENT_TYPE, "text/html")], page).into_response();
    }
    let message = match status.as_u16() {
        401 => "Invalid or no authentication provided.",
        403 => "The authenticated user does not have access to the requested resource.",
        429 => "The limit of API calls allowed has been exceeded. Please try again later.",
        500 => "An error has occurred.",
        _ => reason,
    };
    (status, Json(json!({ "Message": message }))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_count_down_per_prefix() {
        let mut f = Faults::default();
        f.add_with_body(
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            2,
            Some("/packages/".into()),
        );
        let status = |f: &mut Faults, path: &str| f.take(path).map(|i| i.status);
        assert_eq!(status(&mut f, "/plants/v2/vegetative"), None);
        assert_eq!(
            status(&mut f, "/packages/v2/active"),
            Some(StatusCode::SERVICE_UNAVAILABLE)
        );
        assert_eq!(
            status(&mut f, "/packages/v2/active"),
            Some(StatusCode::SERVICE_UNAVAILABLE)
        );
        assert_eq!(status(&mut f, "/packages/v2/active"), None);
        f.add_with_body(StatusCode::INTERNAL_SERVER_ERROR, None, 1, None);
        assert_eq!(
            status(&mut f, "/anything"),
            Some(StatusCode::INTERNAL_SERVER_ERROR)
        );
        let fault = json!({"Message": "Could not load file or assembly 'X'."});
        f.add_with_body(StatusCode::BAD_REQUEST, Some(fault.clone()), 1, None);
        assert_eq!(
            f.take("/packages/v2/adjust"),
            Some(Injected {
                status: StatusCode::BAD_REQUEST,
                body: Some(fault)
            })
        );
        f.set_latency(Duration::from_millis(5));
        f.clear();
        assert_eq!(f.latency(), Duration::ZERO);
    }

    #[test]
    fn a_withdrawn_fault_takes_only_its_own_rule_or_latency() {
        let mut f = Faults::default();
        let first = f.add_with_body(StatusCode::BAD_GATEWAY, None, 2, None);
        let second = f.add_loss(Loss::Request, 1, None, None);
        let slow = f.set_latency(Duration::from_millis(5));
        assert_eq!(f.remaining(first), 2);
        assert_eq!(f.remaining(slow), u32::MAX);
        f.remove(first);
        assert_eq!(f.remaining(first), 0);
        assert_eq!(f.take("/x"), None, "the status rule is gone");
        assert_eq!(f.remaining(second), 1, "the loss stays");
        let faster = f.set_latency(Duration::from_millis(1));
        f.remove(slow);
        assert_eq!(
            f.latency(),
            Duration::from_millis(1),
            "a replaced latency is not its to clear"
        );
        f.remove(faster);
        assert_eq!(f.latency(), Duration::ZERO);
        f.clear();
        let after = f.add_loss(Loss::Answer, 1, None, None);
        f.remove(second);
        assert_eq!(f.remaining(after), 1, "ids stay unique across a clear");
    }

    #[test]
    fn losses_count_down_per_prefix_and_license_apart_from_statuses() {
        let mut f = Faults::default();
        f.add_loss(
            Loss::Answer,
            1,
            Some("/packages/v2/".into()),
            Some("LIC-A".into()),
        );
        f.add_loss(Loss::Request, 2, None, None);
        assert_eq!(f.take("/packages/v2/adjust"), None, "statuses are apart");
        assert_eq!(
            f.take_loss("/packages/v2/adjust", Some("LIC-B")),
            Some(Loss::Request),
            "another license: the next rule"
        );
        assert_eq!(
            f.take_loss("/packages/v2/adjust", Some("LIC-A")),
            Some(Loss::Answer)
        );
        assert_eq!(
            f.take_loss("/packages/v2/finish", Some("LIC-A")),
            Some(Loss::Request)
        );
        assert_eq!(f.take_loss("/packages/v2/finish", Some("LIC-A")), None);
        f.add_loss(Loss::Answer, 5, None, None);
        f.add_loss(Loss::Request, 0, None, None);
        assert_eq!(
            f.in_force()["lose_answer"],
            json!([{ "remaining": 5, "path_prefix": "", "license": null }])
        );
        assert_eq!(f.in_force()["lose_request"], json!([]), "used up, or none");
        f.clear();
        assert_eq!(f.take_loss("/x", None), None);
    }
}

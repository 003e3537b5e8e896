//! What Metrc's answer to one call means for each of its rows: a pure function of the answer,
//! the rows (their attempts counted), the time and the settings; no database, no network. The
//! worker ([`super::send`]) claims the rows, makes the call, asks [`verdict`], and stores it.
//!
//! | Metrc's answer | the rows |
//! |---|---|
//! | 2xx | `Accepted` |
//! | 400 with row errors | the rows at fault `Rejected` with Metrc's messages; the others (not recorded either) sent again at once |
//! | 400 without row numbers | a lone row `Rejected`; several are sent again one by one, to tell which |
//! | 400 that is a server fault (an exception or infrastructure message, no row numbers: [`metrc::classify_bad_request`], field case-10) | as a 5xx below: the whole batch `Retrying`, never split; `Failed` with Metrc's text after [`OutboxSettings::max_attempts`] |
//! | 401/403 | `Failed`. `GET /facilities/v2/` with the same key ([`KeyProbe`], asked by the worker) tells a dead key (then marked invalid: a user key on the user, a facility key on the facility) from a missing permission |
//! | 429, 5xx, no connection | `Retrying` after a backoff (a `Retry-After` wins); `Failed` after [`OutboxSettings::max_attempts`] |
//! | no answer (timeout, connection lost after sending) | `Unknown`: never resent blindly; see [`super::reconcile`] |
//! | 502, 504 (a gateway that gave up on Metrc or lost its answer) | `Unknown`, as no answer |
//! | any 5xx that came only after [`OutboxSettings::write_timeout`] of waiting | `Unknown`, as no answer |
//! | anything else | `Failed` with what Metrc said |
//! | not sent (the stored request is unreadable, no usable key) | `Failed`, saying why |

use super::KeyKind;
use crate::ssr::config::OutboxSettings;
use crate::ssr::entities::submissions::Model as Submission;
use crate::types::submissions::SubmissionStatus;
use chrono::{DateTime, Utc};
use metrc::WriteAccepted;
use std::time::Duration;

/// What came of one call, as the worker saw it.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Nothing was sent: `why` is the row's message, `outcome` the attempt's few words.
    NotSent { why: String, outcome: &'static str },
    /// 2xx.
    Accepted(WriteAccepted),
    /// 401/403 (`status`), and what `GET /facilities/v2/` with the same key said afterwards.
    Refused { status: u16, key: KeyProbe },
    /// Any other error of the client (a 401/403 comes as [`Answer::Refused`]), `took` after the
    /// call started.
    Failed { error: metrc::Error, took: Duration },
    /// No answer within the write timeout (`waited`).
    NoAnswer { waited: Duration },
}

/// What `GET /facilities/v2/` with the key a write was refused with says (docs/metrc.md §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyProbe {
    /// 401/403 there too: the key is dead (the worker has marked it invalid).
    Dead,
    /// It answers: the key lives, its user lacks a permission.
    Alive,
    /// It could not be asked; the text says why.
    Unasked(String),
}

/// How one row comes out of a try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settle {
    pub id: i64,
    /// `Sending` for a row sent again at once (only its attempt is recorded).
    pub status: SubmissionStatus,
    pub http_status: Option<u16>,
    /// Metrc's answer as stored on the row (JSON text).
    pub response: Option<String>,
    /// What the row says to its user.
    pub message: String,
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The attempt's outcome, in a few words.
    pub outcome: String,
}

impl Settle {
    /// Row `r` settling as `status`, with the call's HTTP status, the row's message and the
    /// attempt's outcome; no stored answer and no next attempt (set them with `..` where needed).
    fn new(
        r: &Submission,
        status: SubmissionStatus,
        http_status: Option<u16>,
        message: impl Into<String>,
        outcome: impl Into<String>,
    ) -> Settle {
        Settle {
            id: r.id,
            status,
            http_status,
            response: None,
            message: message.into(),
            next_attempt_at: None,
            outcome: outcome.into(),
        }
    }
}

/// The verdict on one call: how each row settles (in the rows' order), and the calls to make
/// again at once, in order, each as indexes into the rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub settled: Vec<Settle>,
    pub again: Vec<Vec<usize>>,
}

/// The verdict on `answer` for `rows` (one call's rows, in order, non-empty, their `attempts`
/// already counting this call), answered at `now`. `spread` (0 to 1, drawn once per call so that a
/// batch's rows come back together) says where in its jitter range a backoff falls.
pub fn verdict(
    answer: &Answer,
    rows: &[Submission],
    now: DateTime<Utc>,
    settings: &OutboxSettings,
    spread: f64,
) -> Verdict {
    let each = |status, http: Option<u16>, message: &str, outcome: &str| {
        rows.iter()
            .map(|r| Settle::new(r, status, http, message, outcome))
            .collect::<Vec<_>>()
    };
    let settled = |settled| Verdict {
        settled,
        again: Vec::new(),
    };
    let unknown = |detail: &str| {
        let mut rows = each(
            SubmissionStatus::Unknown,
            None,
            &format!(
                "Sent, but Metrc's answer never came ({detail}): it may or may not be recorded. It is not sent again until Metrc's data (or an admin) says it was not recorded."
            ),
            &format!("No answer: {detail}"),
        );
        for s in &mut rows {
            s.next_attempt_at = Some(now);
        }
        rows
    };
    let error = match answer {
        Answer::NotSent { why, outcome } => {
            return settled(each(SubmissionStatus::Failed, None, why, outcome));
        }
        Answer::NoAnswer { waited } => {
            return settled(unknown(&format!(
                "no answer within {} s",
                waited.as_secs_f64()
            )));
        }
        Answer::Accepted(accepted) => return settled(accepted_rows(accepted, rows)),
        Answer::Refused { status, key } => {
            return settled(refused(rows, *status, key));
        }
        Answer::Failed { error, took } => {
            if let Some(detail) = may_have_landed(error, *took, settings.write_timeout) {
                return settled(unknown(&detail));
            }
            error
        }
    };
    match error {
        metrc::Error::Rejected {
            rows: row_errors,
            message,
        } => rejected(rows, row_errors, message.as_deref()),
        retryable @ (metrc::Error::RateLimited { .. }
        | metrc::Error::Server { .. }
        | metrc::Error::Transport(_)
        | metrc::Error::Timeout) => settled(retried(retryable, rows, now, settings, spread)),
        metrc::Error::UnexpectedStatus { status, excerpt } => settled(each(
            SubmissionStatus::Failed,
            Some(*status),
            &format!("Metrc answered HTTP {status}, nothing recorded: {excerpt}"),
            &format!("Failed: HTTP {status}"),
        )),
        // A refusal the worker did not probe (it always does): as a refusal not asked about.
        metrc::Error::KeyInvalid | metrc::Error::NoAccess { .. } => {
            let status = match error {
                metrc::Error::NoAccess { status, .. } => *status,
                _ => 401,
            };
            settled(refused(
                rows,
                status,
                &KeyProbe::Unasked("not asked".to_owned()),
            ))
        }
        other => settled(each(
            SubmissionStatus::Failed,
            None,
            &format!("Not sent: {other}."),
            &format!("Failed: {other}"),
        )),
    }
}

/// Why an error answer may follow a recorded write (docs/decisions.md, "What an answer to a write
/// means"), or `None` when it proves the write was not recorded: no status at all after the
/// request went out, a 502 or 504 (a gateway that gave up on Metrc or lost its answer), or any
/// 5xx that came only after `write_timeout` of waiting (Metrc had the write that long).
fn may_have_landed(
    error: &metrc::Error,
    took: Duration,
    write_timeout: Duration,
) -> Option<String> {
    match error {
        metrc::Error::OutcomeUnknown(detail) => Some(detail.clone()),
        metrc::Error::Server { status, .. } if !error.write_not_recorded() => Some(format!(
            "HTTP {status} from a gateway in front of Metrc, which may have recorded it"
        )),
        metrc::Error::Server { status, .. } if *status >= 500 && took >= write_timeout => {
            Some(format!(
                "HTTP {status} after {} s, as long as a write may take to be recorded",
                took.as_secs_f64()
            ))
        }
        _ => None,
    }
}

/// 2xx: every row `Accepted`, with its Metrc Id when the answer gave one.
fn accepted_rows(accepted: &WriteAccepted, rows: &[Submission]) -> Vec<Settle> {
    let n = rows.len();
    let response = (!accepted.ids.is_empty() || accepted.warnings.is_some()).then(|| {
        serde_json::json!({ "Ids": accepted.ids, "Warnings": accepted.warnings }).to_string()
    });
    rows.iter()
        .enumerate()
        .map(|(i, r)| {
            let message = match accepted.ids.get(i) {
                Some(id) => format!("Accepted by Metrc (Id {id})."),
                None => "Accepted by Metrc.".to_owned(),
            };
            let outcome = if n > 1 {
                format!("Accepted (one call of {n} rows)")
            } else {
                "Accepted".to_owned()
            };
            Settle {
                response: response.clone(),
                ..Settle::new(r, SubmissionStatus::Accepted, Some(200), message, outcome)
            }
        })
        .collect()
}

/// 400 that is a rejection: the rows at fault `Rejected`; the others sent again.
fn rejected(rows: &[Submission], row_errors: &[metrc::RowError], message: Option<&str>) -> Verdict {
    let n = rows.len();
    let numbered =
        !row_errors.is_empty() && row_errors.iter().all(|e| e.row.is_some_and(|r| r < n));
    let response = if row_errors.is_empty() {
        serde_json::json!({ "Message": message }).to_string()
    } else {
        serde_json::to_string(row_errors).unwrap_or_default()
    };
    let again_row = |r: &Submission, outcome: &str| {
        Settle::new(r, SubmissionStatus::Sending, Some(400), "", outcome)
    };
    let rejected_row = |r: &Submission, text: &str| Settle {
        response: Some(response.clone()),
        ..Settle::new(
            r,
            SubmissionStatus::Rejected,
            Some(400),
            format!("Rejected by Metrc (HTTP 400), nothing recorded: {text}"),
            format!("Rejected: {text}"),
        )
    };
    if numbered {
        let mut settled = Vec::new();
        let mut innocent = Vec::new();
        for (i, r) in rows.iter().enumerate() {
            let messages: Vec<&str> = row_errors
                .iter()
                .filter(|e| e.row == Some(i))
                .map(|e| e.message.as_str())
                .collect();
            if messages.is_empty() {
                innocent.push(i);
                settled.push(again_row(
                    r,
                    "Not recorded: another row of the call was rejected; sent again",
                ));
            } else {
                settled.push(rejected_row(r, &messages.join(" ")));
            }
        }
        Verdict {
            settled,
            again: vec![innocent],
        }
    } else if n == 1 {
        let text = message
            .map(str::to_owned)
            .or_else(|| row_errors.first().map(|e| e.message.clone()))
            .unwrap_or_else(|| "no reason given".into());
        Verdict {
            settled: vec![rejected_row(&rows[0], &text)],
            again: Vec::new(),
        }
    } else {
        // Which row is at fault is not said: each goes again alone, in order.
        Verdict {
            settled: rows
                .iter()
                .map(|r| {
                    again_row(
                        r,
                        "Not recorded: Metrc refused the call without naming a row; sent again one by one",
                    )
                })
                .collect(),
            again: (0..n).map(|i| vec![i]).collect(),
        }
    }
}

/// 429, 5xx (a server fault sent as 400 included), no connection: `Retrying` after a backoff,
/// `Failed` once [`OutboxSettings::max_attempts`] tries are spent.
fn retried(
    error: &metrc::Error,
    rows: &[Submission],
    now: DateTime<Utc>,
    settings: &OutboxSettings,
    spread: f64,
) -> Vec<Settle> {
    // The HTTP status, Metrc's Retry-After, what happened in words, and the answer to store.
    let (http, retry_after, what, response) = match error {
        metrc::Error::RateLimited { retry_after } => (
            Some(429),
            *retry_after,
            "Metrc answered HTTP 429 (too many requests)".to_owned(),
            None,
        ),
        // A server fault sent as 400 (field case-10): Metrc's own words, which are not about the
        // user's rows.
        metrc::Error::Server {
            status: 400,
            excerpt,
        } => (
            Some(400),
            None,
            format!(
                "Metrc failed inside (HTTP 400 with a server error, not a rejection: {excerpt})"
            ),
            Some(serde_json::json!({ "Message": excerpt }).to_string()),
        ),
        metrc::Error::Server { status, .. } => (
            Some(*status),
            None,
            format!("Metrc failed with HTTP {status}"),
            None,
        ),
        other => (
            None,
            None,
            format!("Metrc could not be reached ({other})"),
            None,
        ),
    };
    let max = settings.max_attempts;
    rows.iter()
        .map(|r| {
            let tries = u32::try_from(r.attempts).unwrap_or_default();
            if tries >= max {
                Settle {
                    response: response.clone(),
                    ..Settle::new(
                        r,
                        SubmissionStatus::Failed,
                        http,
                        format!(
                            "{what}, nothing recorded; it kept failing ({tries} tries). Retry once Metrc is back."
                        ),
                        format!("Failed: {what}"),
                    )
                }
            } else {
                let at = now
                    + chrono::Duration::from_std(backoff(settings, r.attempts, retry_after, spread))
                        .unwrap_or_default();
                Settle {
                    response: response.clone(),
                    next_attempt_at: Some(at),
                    ..Settle::new(
                        r,
                        SubmissionStatus::Retrying,
                        http,
                        format!(
                            "{what}, nothing recorded. Sending again at {} UTC (try {}).",
                            at.format("%H:%M:%S"),
                            tries + 1
                        ),
                        format!("Retrying: {what}"),
                    )
                }
            }
        })
        .collect()
}

/// 401/403: every row `Failed`, saying whether the key is dead or a permission is missing.
fn refused(rows: &[Submission], status: u16, key: &KeyProbe) -> Vec<Settle> {
    let first = &rows[0];
    let license = &first.license_number;
    let owner = &first.key_owner;
    let (message, outcome) = match key {
        KeyProbe::Dead => {
            let whose = match first.key_kind {
                KeyKind::User => format!(
                    "{owner}'s Metrc API key; it was revoked or regenerated in Metrc and is now marked invalid. Set the current key on their profile, then Retry"
                ),
                KeyKind::Facility => format!(
                    "the facility key of {license} ({owner}); it was revoked or regenerated in Metrc and is now marked invalid (sync stops too). Update it on the Integrations page, then Retry"
                ),
            };
            (
                format!("Metrc refused {whose}. Nothing was recorded."),
                "Failed: key refused (invalid)",
            )
        }
        KeyProbe::Alive => {
            let action = first.action;
            (
                format!(
                    "Metrc refused this (HTTP {status}), nothing recorded: {owner}'s Metrc user lacks access for \"{}\" at {license} (it needs {}). Ask your Metrc admin to grant it, then Retry.",
                    action.label(),
                    super::preflight::needs(action).join(" and ")
                ),
                "Failed: no access",
            )
        }
        KeyProbe::Unasked(why) => (
            format!(
                "Metrc refused this (HTTP {status}), nothing recorded; whether the key or a permission is at fault could not be asked ({why}). Retry later."
            ),
            "Failed: refused",
        ),
    };
    rows.iter()
        .map(|r| Settle::new(r, SubmissionStatus::Failed, Some(status), &message, outcome))
        .collect()
}

/// The backoff before try `attempts + 1`, at most [`OutboxSettings::backoff_max`]: Metrc's
/// `Retry-After` plus up to a tenth more when it gave one, else "equal jitter" on the exponential
/// delay (`backoff_base` doubled per try): between half and all of it. `spread` (0 to 1) says
/// where in that range, so that facilities an outage failed together do not all return at once.
fn backoff(
    settings: &OutboxSettings,
    attempts: i32,
    retry_after: Option<Duration>,
    spread: f64,
) -> Duration {
    let wait = match retry_after {
        Some(after) => metrc::backoff::after_plus_tenth(after, spread),
        None => metrc::backoff::equal_jitter(
            metrc::backoff::doubling(
                settings.backoff_base,
                settings.backoff_max,
                u32::try_from(attempts).unwrap_or_default(),
            ),
            spread,
        ),
    };
    wait.min(settings.backoff_max)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::types::submissions::SubmissionAction;
    use metrc::RowError;

    fn settings() -> OutboxSettings {
        OutboxSettings {
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
            max_attempts: 3,
            ..OutboxSettings::default()
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-30T12:00:00Z")
            .map(|t| t.to_utc())
            .unwrap_or_default()
    }

    /// `n` rows of one call, ids 1..=n, each on its first try (also the other outbox modules'
    /// test rows).
    pub(in crate::ssr::outbox) fn rows(n: i64) -> Vec<Submission> {
        (1..=n)
            .map(|id| Submission {
                id,
                idempotency_key: format!("k{id}"),
                user_id: 7,
                license_number: "LIC-1".into(),
                action: SubmissionAction::FinishPackage,
                request: "{}".into(),
                key_kind: KeyKind::User,
                key_owner: "Ada".into(),
                compliant: true,
                status: SubmissionStatus::Sending,
                attempts: 1,
                next_attempt_at: None,
                metrc_status: None,
                metrc_response: None,
                message: None,
                decision: None,
                decided_by: None,
                created_at: now(),
                updated_at: now(),
                sent_at: Some(now()),
                submit_token: None,
                claim_token: None,
            })
            .collect()
    }

    fn judge(answer: Answer, rows: &[Submission]) -> Verdict {
        verdict(&answer, rows, now(), &settings(), 0.0)
    }

    fn statuses(v: &Verdict) -> Vec<SubmissionStatus> {
        v.settled.iter().map(|s| s.status).collect()
    }

    fn failed(error: metrc::Error) -> Answer {
        Answer::Failed {
            error,
            took: Duration::from_millis(200),
        }
    }

    #[test]
    fn a_2xx_accepts_every_row_with_its_id() {
        let v = judge(
            Answer::Accepted(WriteAccepted {
                ids: vec![41, 42],
                warnings: None,
            }),
            &rows(2),
        );
        assert_eq!(statuses(&v), [SubmissionStatus::Accepted; 2]);
        assert_eq!(v.settled[1].message, "Accepted by Metrc (Id 42).");
        assert_eq!(v.settled[0].http_status, Some(200));
        assert_eq!(v.settled[0].outcome, "Accepted (one call of 2 rows)");
        assert!(v.again.is_empty());
    }

    #[test]
    fn a_400_with_row_errors_rejects_the_rows_at_fault_and_sends_the_others_again() {
        use SubmissionStatus::*;
        let v = judge(
            failed(metrc::Error::Rejected {
                rows: vec![RowError {
                    row: Some(1),
                    message: "Package is finished.".into(),
                }],
                message: None,
            }),
            &rows(3),
        );
        assert_eq!(statuses(&v), [Sending, Rejected, Sending]);
        assert_eq!(
            v.settled[1].message,
            "Rejected by Metrc (HTTP 400), nothing recorded: Package is finished."
        );
        assert!(v.settled[1].response.is_some());
        assert_eq!(v.again, vec![vec![0, 2]]);
    }

    #[test]
    fn a_400_without_row_numbers_rejects_a_lone_row_and_splits_several() {
        let refusal = || {
            failed(metrc::Error::Rejected {
                rows: Vec::new(),
                message: Some("Bad date.".into()),
            })
        };
        let lone = judge(refusal(), &rows(1));
        assert_eq!(statuses(&lone), [SubmissionStatus::Rejected]);
        assert_eq!(lone.settled[0].outcome, "Rejected: Bad date.");
        assert!(lone.again.is_empty());

        let several = judge(refusal(), &rows(3));
        assert_eq!(statuses(&several), [SubmissionStatus::Sending; 3]);
        assert_eq!(several.again, vec![vec![0], vec![1], vec![2]]);
    }

    #[test]
    fn a_400_that_is_a_server_fault_retries_the_whole_batch_then_fails() {
        let fault = || {
            failed(metrc::Error::Server {
                status: 400,
                excerpt: "An error has occurred.".into(),
            })
        };
        let v = judge(fault(), &rows(2));
        assert_eq!(statuses(&v), [SubmissionStatus::Retrying; 2]);
        assert!(v.again.is_empty());
        assert!(v.settled[0].message.contains("An error has occurred."));
        assert!(v.settled[0].response.is_some());

        let mut spent = rows(2);
        for r in &mut spent {
            r.attempts = 3;
        }
        let v = judge(fault(), &spent);
        assert_eq!(statuses(&v), [SubmissionStatus::Failed; 2]);
    }

    #[test]
    fn a_401_or_403_fails_saying_whether_the_key_is_dead_or_a_permission_missing() {
        let dead = judge(
            Answer::Refused {
                status: 401,
                key: KeyProbe::Dead,
            },
            &rows(2),
        );
        assert_eq!(statuses(&dead), [SubmissionStatus::Failed; 2]);
        assert_eq!(dead.settled[0].outcome, "Failed: key refused (invalid)");
        assert!(dead.settled[0].message.contains("Ada's Metrc API key"));

        let alive = judge(
            Answer::Refused {
                status: 403,
                key: KeyProbe::Alive,
            },
            &rows(1),
        );
        assert_eq!(alive.settled[0].outcome, "Failed: no access");
        assert!(
            alive.settled[0]
                .message
                .contains("Manage Packages Inventory")
        );
        assert_eq!(alive.settled[0].http_status, Some(403));

        let unasked = judge(
            Answer::Refused {
                status: 403,
                key: KeyProbe::Unasked("timeout".into()),
            },
            &rows(1),
        );
        assert_eq!(unasked.settled[0].outcome, "Failed: refused");
    }

    #[test]
    fn a_429_5xx_or_no_connection_retries_after_a_backoff_then_fails() {
        for (error, http) in [
            (metrc::Error::RateLimited { retry_after: None }, Some(429)),
            (
                metrc::Error::Server {
                    status: 503,
                    excerpt: String::new(),
                },
                Some(503),
            ),
            (metrc::Error::Transport("refused".into()), None),
        ] {
            let v = judge(failed(error.clone()), &rows(2));
            assert_eq!(statuses(&v), [SubmissionStatus::Retrying; 2], "{error:?}");
            // Try 1 failed, spread 0: half of the 1 s base.
            let at = now() + chrono::Duration::milliseconds(500);
            assert_eq!(v.settled[0].next_attempt_at, Some(at), "{error:?}");
            assert_eq!(v.settled[0].http_status, http);
        }
        // A Retry-After wins over the backoff.
        let v = judge(
            failed(metrc::Error::RateLimited {
                retry_after: Some(Duration::from_secs(30)),
            }),
            &rows(1),
        );
        assert_eq!(
            v.settled[0].next_attempt_at,
            Some(now() + chrono::Duration::seconds(30))
        );
        // Tries spent: Failed.
        let mut spent = rows(1);
        spent[0].attempts = 3;
        let v = judge(failed(metrc::Error::Transport("refused".into())), &spent);
        assert_eq!(statuses(&v), [SubmissionStatus::Failed]);
        assert!(v.settled[0].message.contains("(3 tries)"));
    }

    #[test]
    fn no_answer_is_unknown_and_never_sent_again() {
        for answer in [
            Answer::NoAnswer {
                waited: Duration::from_secs(30),
            },
            failed(metrc::Error::OutcomeUnknown("connection reset".into())),
        ] {
            let v = judge(answer.clone(), &rows(2));
            assert_eq!(statuses(&v), [SubmissionStatus::Unknown; 2], "{answer:?}");
            assert!(v.again.is_empty());
            assert_eq!(v.settled[0].next_attempt_at, Some(now()));
        }
    }

    #[test]
    fn a_502_or_504_from_a_gateway_is_unknown_not_retried() {
        for status in [502, 504] {
            let v = judge(
                failed(metrc::Error::Server {
                    status,
                    excerpt: "<html>Bad Gateway</html>".into(),
                }),
                &rows(2),
            );
            assert_eq!(statuses(&v), [SubmissionStatus::Unknown; 2], "{status}");
            assert!(v.settled[0].message.contains(&format!("HTTP {status}")));
            assert!(v.again.is_empty());
        }
    }

    #[test]
    fn a_5xx_after_the_write_timeouts_worth_of_waiting_is_unknown() {
        let late = |status, took| Answer::Failed {
            error: metrc::Error::Server {
                status,
                excerpt: String::new(),
            },
            took,
        };
        let timeout = settings().write_timeout;
        let v = judge(late(500, timeout), &rows(1));
        assert_eq!(statuses(&v), [SubmissionStatus::Unknown]);
        // A moment earlier it is an ordinary 5xx; a server fault sent as 400 is never late.
        let v = judge(
            late(500, timeout.checked_sub(Duration::from_millis(1)).unwrap()),
            &rows(1),
        );
        assert_eq!(statuses(&v), [SubmissionStatus::Retrying]);
        let v = judge(late(400, timeout), &rows(1));
        assert_eq!(statuses(&v), [SubmissionStatus::Retrying]);
    }

    #[test]
    fn anything_else_fails_with_what_metrc_said() {
        let v = judge(
            failed(metrc::Error::UnexpectedStatus {
                status: 413,
                excerpt: "too large".into(),
            }),
            &rows(1),
        );
        assert_eq!(statuses(&v), [SubmissionStatus::Failed]);
        assert_eq!(
            v.settled[0].message,
            "Metrc answered HTTP 413, nothing recorded: too large"
        );
    }

    #[test]
    fn not_sent_fails_saying_why() {
        let v = judge(
            Answer::NotSent {
                why: "no key".into(),
                outcome: "Not sent: no usable key",
            },
            &rows(2),
        );
        assert_eq!(statuses(&v), [SubmissionStatus::Failed; 2]);
        assert_eq!(v.settled[1].message, "no key");
        assert_eq!(v.settled[1].http_status, None);
    }

    #[test]
    fn backoff_is_equal_jitter_on_a_doubling_delay_up_to_the_cap() {
        let s = settings();
        // Try 1 failed: between half and all of 1 s; try 3: of 4 s.
        assert_eq!(backoff(&s, 1, None, 0.0), Duration::from_millis(500));
        assert_eq!(backoff(&s, 1, None, 1.0), Duration::from_secs(1));
        assert_eq!(backoff(&s, 3, None, 0.0), Duration::from_secs(2));
        assert_eq!(backoff(&s, 3, None, 0.5), Duration::from_secs(3));
        assert_eq!(backoff(&s, 3, None, 1.0), Duration::from_secs(4));
        // Two facilities failed by one outage come back apart.
        assert_ne!(backoff(&s, 3, None, 0.1), backoff(&s, 3, None, 0.9));
        // The cap holds however many tries, and jitters below it.
        assert_eq!(backoff(&s, 40, None, 1.0), Duration::from_secs(300));
        assert_eq!(backoff(&s, 40, None, 0.0), Duration::from_secs(150));
        // A spread out of range is clamped, never a negative or endless wait.
        assert_eq!(backoff(&s, 1, None, -3.0), Duration::from_millis(500));
        assert_eq!(backoff(&s, 1, None, f64::NAN), Duration::from_millis(500));
        assert_eq!(backoff(&s, 1, None, 7.0), Duration::from_secs(1));
    }

    #[test]
    fn a_retry_after_is_waited_in_full_plus_up_to_a_tenth_within_the_cap() {
        let s = settings();
        let after = Some(Duration::from_secs(30));
        assert_eq!(backoff(&s, 1, after, 0.0), Duration::from_secs(30));
        assert_eq!(backoff(&s, 1, after, 1.0), Duration::from_secs(33));
        assert_eq!(
            backoff(&s, 1, Some(Duration::from_secs(3_600)), 0.0),
            Duration::from_secs(300)
        );
    }
}

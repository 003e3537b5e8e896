//! The client's error type, and how an HTTP answer from Metrc becomes one.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Longest excerpt of a response body kept in an error, in characters.
pub const EXCERPT_CHARS: usize = 200;

/// Everything that can go wrong talking to Metrc. No variant ever holds a key: bodies are cut to
/// [`EXCERPT_CHARS`] after every key the client knows has been blanked out.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// `GET /facilities/v2/` answered 401 (or 403): the user key is unknown, revoked or was
    /// regenerated. Only that call can tell (docs/metrc.md §3).
    #[error("the Metrc API key is invalid, revoked or was regenerated")]
    KeyInvalid,
    /// 401 or 403 on any other call: the key's user has no access to this section of this
    /// license (or is not at the license at all). Metrc uses both codes; which one is uncertain.
    #[error("no access to this Metrc section for license {license} (HTTP {status})")]
    NoAccess {
        /// The license of the call (its `licenseNumber`).
        license: String,
        /// The HTTP status Metrc answered: 401 or 403.
        status: u16,
    },
    /// 429. For a write this means it was not recorded (see [`crate::Client::adjust_packages`]).
    #[error("Metrc rate limit exceeded{}", retry_after.map(|d| format!(" (retry after {} s)", d.as_secs_f64())).unwrap_or_default())]
    RateLimited {
        /// Metrc's `Retry-After`, when it sent one in seconds; `None` when it sent none or an
        /// HTTP date (docs/metrc.md §9).
        retry_after: Option<Duration>,
    },
    /// 400: Metrc refused the call; nothing in it was recorded. `rows` holds Metrc's per-row
    /// messages (0-based rows) when it sent them, `message` its plain message otherwise.
    #[error("Metrc rejected the request: {}", describe_rejection(rows, message.as_deref()))]
    Rejected {
        /// Metrc's per-row errors; empty when its body was not an array.
        rows: Vec<RowError>,
        /// Metrc's `Message`, or an excerpt of a body of another shape; `None` when Metrc sent
        /// row errors, or an empty non-JSON body.
        message: Option<String>,
    },
    /// Metrc failed inside: a 5xx, whatever the body (HTML and empty included), or a 400 whose
    /// body is a server fault, not a rejection ([`classify_bad_request`]; `excerpt` is then
    /// Metrc's message). Transient: retried like a 5xx. For a write this means it was not
    /// recorded, except a 502 or 504, which may follow a recorded write
    /// ([`Error::write_not_recorded`]; see [`crate::Client::adjust_packages`]).
    #[error("Metrc failed with HTTP {status}: {excerpt}")]
    Server {
        /// The HTTP status: 5xx, or 400 for a server fault.
        status: u16,
        /// Metrc's message (for a 400) or an excerpt of the body, at most [`EXCERPT_CHARS`]
        /// characters, keys blanked out.
        excerpt: String,
    },
    /// Any other status Metrc is not documented to send for this call (404 unknown path, 413,
    /// ...).
    #[error("unexpected HTTP {status} from Metrc: {excerpt}")]
    UnexpectedStatus {
        /// The HTTP status Metrc answered.
        status: u16,
        /// An excerpt of the body, at most [`EXCERPT_CHARS`] characters, keys blanked out.
        excerpt: String,
    },
    /// A read did not complete within the configured timeout.
    #[error("Metrc did not answer in time")]
    Timeout,
    /// The request could not be sent or the answer not received (DNS, connect, TLS, reset). For a
    /// write this variant means the request was never sent.
    #[error("could not reach Metrc: {0}")]
    Transport(String),
    /// A write was sent but no answer came back (timeout or dropped connection): Metrc may or may
    /// not have recorded it. The client never retries this; check in Metrc before resending.
    #[error("the write was sent but its outcome is unknown: {0}")]
    OutcomeUnknown(String),
    /// A 2xx answer that could not be read as the expected JSON.
    #[error("could not decode Metrc's answer: {excerpt}")]
    Decode {
        /// What could not be read (an excerpt of the body or of the record), or what was wrong
        /// with it, at most [`EXCERPT_CHARS`] characters.
        excerpt: String,
    },
    /// More rows than Metrc takes in one write; nothing was sent.
    #[error("{got} rows in one write; Metrc takes at most {max}")]
    TooManyRows {
        /// The most rows one write takes ([`crate::MAX_WRITE_ROWS`]).
        max: usize,
        /// The rows the caller tried to send.
        got: usize,
    },
    /// The client's settings are unusable.
    #[error("invalid Metrc client configuration: {0}")]
    Config(String),
}

/// One row Metrc refused in a 400 answer (`{"row": 0, "message": "..."}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    /// 0-based index of the row in the request body; `None` if Metrc gave none.
    pub row: Option<usize>,
    /// Metrc's text for the row, e.g. "Package X does not exist in the current Facility." (cut
    /// to [`EXCERPT_CHARS`] characters, keys blanked out).
    pub message: String,
}

impl Error {
    /// Whether repeating the same read later may succeed: rate limits, Metrc failures, timeouts
    /// and transport errors. [`Error::OutcomeUnknown`] is deliberately not retryable.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::RateLimited { .. } | Error::Server { .. } | Error::Timeout | Error::Transport(_)
        )
    }

    /// For a write: whether Metrc certainly did not record it, so sending it again cannot make a
    /// duplicate. False for [`Error::OutcomeUnknown`] and for a 502 or 504: those come from a
    /// gateway in front of Metrc that gave up waiting for it (or lost its answer), and the write
    /// may have landed behind it (docs/decisions.md, "What an answer to a write means").
    pub fn write_not_recorded(&self) -> bool {
        !matches!(
            self,
            Error::OutcomeUnknown(_)
                | Error::Server {
                    status: 502 | 504,
                    ..
                }
        )
    }
}

fn describe_rejection(rows: &[RowError], message: Option<&str>) -> String {
    if rows.is_empty() {
        return message.unwrap_or("no reason given").to_string();
    }
    rows.iter()
        .map(|r| match r.row {
            Some(i) => format!("row {i}: {}", r.message),
            None => r.message.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// What a 400 from Metrc is: Metrc uses the status both for refusing a call's content and, at
/// times, for its own failures (field case-10: a New York sandbox answered most writes for weeks
/// with `400 {"Message": "Could not load file or assembly ..."}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadRequest {
    /// Metrc refused the call: row errors, or a plain validation message. Final: the same call
    /// gets the same answer. Nothing was recorded.
    Rejection,
    /// Metrc failed inside (an exception or infrastructure message): transient, and not the
    /// caller's fault, like a 5xx. Nothing was recorded.
    ServerFault,
}

/// Words of .NET's and SQL Server's own failure messages (matched case-insensitively): none is
/// something Metrc says about a row of a call.
pub const SERVER_FAULT_MARKERS: &[&str] = &[
    // field case-10: an assembly missing on the server
    "could not load file or assembly",
    // ASP.NET Web API's message for an unhandled exception
    "an error has occurred",
    // .NET's NullReferenceException
    "object reference not set to an instance",
    // .NET's generic exception text ("Exception of type 'System.OutOfMemoryException' ...")
    "exception of type",
    // SQL Server and its client: connection lost, timeout, deadlock, provider failure
    "transport-level error",
    "timeout expired",
    "deadlocked on lock resources",
    "the underlying provider failed",
];

/// Keys only an exception's serialisation carries (ASP.NET Web API with error details on).
const EXCEPTION_KEYS: &[&str] = &[
    "ExceptionMessage",
    "ExceptionType",
    "StackTrace",
    "InnerException",
];

/// Tells a rejection from a server fault in the body of a 400 (docs/metrc.md §8). The rule:
///
/// 1. Row errors with a row number (`[{"row": 0, "message": ...}]`) are a rejection, whatever
///    their text: Metrc looked at the rows.
/// 2. An object with an exception's keys (`ExceptionMessage`, `ExceptionType`, `StackTrace`,
///    `InnerException`, any key case) is a server fault.
/// 3. Otherwise the text (the `Message`, the row messages, or the whole body when it is not JSON)
///    decides: a server fault when it holds one of [`SERVER_FAULT_MARKERS`], else a rejection
///    (a plain validation message, or no reason at all, stays final as before).
pub fn classify_bad_request(body: &[u8]) -> BadRequest {
    let has_marker = |text: &str| {
        let text = text.to_lowercase();
        SERVER_FAULT_MARKERS.iter().any(|m| text.contains(m))
    };
    let verdict = |fault: bool| {
        if fault {
            BadRequest::ServerFault
        } else {
            BadRequest::Rejection
        }
    };
    let text_of = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Array(items)) => {
            let numbered = items.iter().any(|item| {
                item.as_object()
                    .and_then(|obj| crate::types::tolerant::field(obj, "row"))
                    .is_some_and(serde_json::Value::is_u64)
            });
            if numbered {
                return BadRequest::Rejection;
            }
            verdict(items.iter().any(|item| {
                match item {
                    serde_json::Value::Object(obj) => crate::types::tolerant::field(obj, "message")
                        .is_some_and(|m| has_marker(&text_of(m))),
                    other => has_marker(&text_of(other)),
                }
            }))
        }
        Ok(serde_json::Value::Object(obj)) => {
            if EXCEPTION_KEYS
                .iter()
                .any(|k| crate::types::tolerant::field(&obj, k).is_some())
            {
                return BadRequest::ServerFault;
            }
            verdict(
                crate::types::tolerant::field(&obj, "message")
                    .is_some_and(|m| has_marker(&text_of(m))),
            )
        }
        Ok(other) => verdict(has_marker(&text_of(&other))),
        Err(_) => verdict(has_marker(&String::from_utf8_lossy(body))),
    }
}

/// Which call an answer belongs to: decides what 401/403 mean.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scope<'a> {
    /// `GET /facilities/v2/`: 401 means the key is invalid.
    Facilities,
    /// A license-scoped call: 401/403 mean no access.
    License(&'a str),
}

impl<'a> Scope<'a> {
    /// The license whose rate limits apply, if any.
    pub(crate) fn license(self) -> Option<&'a str> {
        match self {
            Scope::Facilities => None,
            Scope::License(license) => Some(license),
        }
    }
}

/// Turns a non-2xx answer into an [`Error`]. `secrets` are blanked out of any excerpt.
pub(crate) fn classify(
    status: u16,
    retry_after: Option<&str>,
    body: &[u8],
    scope: Scope<'_>,
    secrets: &[&str],
) -> Error {
    match (status, scope) {
        (401 | 403, Scope::Facilities) => Error::KeyInvalid,
        (401 | 403, Scope::License(license)) => Error::NoAccess {
            license: license.to_string(),
            status,
        },
        (429, _) => Error::RateLimited {
            retry_after: retry_after.and_then(parse_retry_after),
        },
        (400, _) => match classify_bad_request(body) {
            BadRequest::Rejection => rejection(body, secrets),
            BadRequest::ServerFault => Error::Server {
                status,
                excerpt: fault_message(body, secrets),
            },
        },
        (500..=599, _) => Error::Server {
            status,
            excerpt: excerpt(body, secrets),
        },
        _ => Error::UnexpectedStatus {
            status,
            excerpt: excerpt(body, secrets),
        },
    }
}

/// `Retry-After` in seconds (fractions accepted). The HTTP-date form is ignored: Metrc is not
/// known to send it, and backoff still applies.
fn parse_retry_after(value: &str) -> Option<Duration> {
    let secs: f64 = value.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
}

/// Metrc's own words in a server fault's body: its `ExceptionMessage` or `Message` (any key
/// case), else the body; cut like any excerpt.
fn fault_message(body: &[u8], secrets: &[&str]) -> String {
    if let Ok(serde_json::Value::Object(obj)) = serde_json::from_slice::<serde_json::Value>(body) {
        for name in ["ExceptionMessage", "Message"] {
            if let Some(text) = crate::types::tolerant::field(&obj, name).and_then(|v| v.as_str()) {
                return excerpt(text.as_bytes(), secrets);
            }
        }
    }
    excerpt(body, secrets)
}

/// A 400 body: an array of `{row, message}` (any key case), or `{"Message": ...}`, or anything
/// else (kept as an excerpt in `message`).
fn rejection(body: &[u8], secrets: &[&str]) -> Error {
    let clean = |s: &str| excerpt(s.as_bytes(), secrets);
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    // The one decoder's key lookup: any key case.
    let field = |obj: &serde_json::Map<String, serde_json::Value>, name: &str| {
        crate::types::tolerant::field(obj, name).cloned()
    };
    match parsed {
        Some(serde_json::Value::Array(items)) => {
            let rows = items
                .iter()
                .map(|item| match item {
                    serde_json::Value::Object(obj) => RowError {
                        row: field(obj, "row")
                            .and_then(|v| v.as_u64())
                            .and_then(|n| usize::try_from(n).ok()),
                        message: clean(
                            &field(obj, "message")
                                .map(|v| v.as_str().map(str::to_string).unwrap_or(v.to_string()))
                                .unwrap_or_default(),
                        ),
                    },
                    other => RowError {
                        row: None,
                        message: clean(
                            &other
                                .as_str()
                                .map(str::to_string)
                                .unwrap_or(other.to_string()),
                        ),
                    },
                })
                .collect();
            Error::Rejected {
                rows,
                message: None,
            }
        }
        Some(serde_json::Value::Object(obj)) => Error::Rejected {
            rows: Vec::new(),
            message: field(&obj, "message")
                .map(|v| clean(v.as_str().unwrap_or_default()))
                .or_else(|| Some(excerpt(body, secrets))),
        },
        _ => Error::Rejected {
            rows: Vec::new(),
            message: Some(excerpt(body, secrets)).filter(|s| !s.is_empty()),
        },
    }
}

/// A body cut to [`EXCERPT_CHARS`] characters, whitespace collapsed, with every secret replaced
/// by `***` in every form it may come back in ([`secret_forms`]) before cutting (so no part of a
/// key survives at the cut either).
pub(crate) fn excerpt(body: &[u8], secrets: &[&str]) -> String {
    let mut text = String::from_utf8_lossy(body).into_owned();
    for form in secret_forms(secrets) {
        text = text.replace(&form, "***");
    }
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() <= EXCERPT_CHARS {
        return collapsed;
    }
    let mut cut: String = collapsed.chars().take(EXCERPT_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// Base64 runs shorter than this are not scrubbed on their own (they could be anything).
const MIN_BASE64_FORM: usize = 8;

/// Every form in which `secrets` may come back in a body, longest first: as they are,
/// percent-encoded, JSON-escaped, as the Basic credential of each pair (`base64("a:b")`, what an
/// echoed `Authorization` header holds), and each one's base64 at the three byte alignments it
/// can have inside longer base64 text (the part of the encoding that does not depend on the
/// bytes around it).
fn secret_forms(secrets: &[&str]) -> Vec<String> {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    let secrets: Vec<&str> = secrets.iter().copied().filter(|s| !s.is_empty()).collect();
    let mut forms = Vec::new();
    for &secret in &secrets {
        forms.push(secret.to_owned());
        forms.push(url::form_urlencoded::byte_serialize(secret.as_bytes()).collect());
        let json = serde_json::to_string(secret).unwrap_or_default();
        forms.push(json.trim_matches('"').to_owned());
        for other in secrets.iter().filter(|&&o| o != secret) {
            forms.push(STANDARD.encode(format!("{other}:{secret}")));
        }
        for lead in 0..3_usize {
            // `lead` bytes before the secret: the first group mixes them in, and a last partial
            // group depends on what follows.
            let mut bytes = vec![0_u8; lead];
            bytes.extend_from_slice(secret.as_bytes());
            let whole = (bytes.len() / 3) * 3;
            let encoded = STANDARD.encode(&bytes[..whole]);
            let stable = if lead == 0 {
                &encoded[..]
            } else {
                encoded.get(4..).unwrap_or("")
            };
            if stable.len() >= MIN_BASE64_FORM {
                forms.push(stable.to_owned());
            }
        }
    }
    forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
    forms.dedup();
    forms
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIC: Scope<'static> = Scope::License("LIC-1");

    #[test]
    fn unauthorized_on_facilities_is_key_invalid_elsewhere_no_access() {
        assert_eq!(
            classify(401, None, b"", Scope::Facilities, &[]),
            Error::KeyInvalid
        );
        assert_eq!(
            classify(401, None, b"{\"Message\":\"x\"}", LIC, &[]),
            Error::NoAccess {
                license: "LIC-1".into(),
                status: 401
            }
        );
        assert_eq!(
            classify(403, None, b"", LIC, &[]),
            Error::NoAccess {
                license: "LIC-1".into(),
                status: 403
            }
        );
    }

    #[test]
    fn rate_limited_with_and_without_retry_after() {
        assert_eq!(
            classify(429, Some("3"), b"", LIC, &[]),
            Error::RateLimited {
                retry_after: Some(Duration::from_secs(3))
            }
        );
        assert_eq!(
            classify(429, Some("0.5"), b"", LIC, &[]),
            Error::RateLimited {
                retry_after: Some(Duration::from_millis(500))
            }
        );
        assert_eq!(
            classify(429, None, b"", LIC, &[]),
            Error::RateLimited { retry_after: None }
        );
        assert_eq!(
            classify(429, Some("Wed, 21 Oct 2015 07:28:00 GMT"), b"", LIC, &[]),
            Error::RateLimited { retry_after: None }
        );
        assert!(classify(429, None, b"", LIC, &[]).is_retryable());
    }

    #[test]
    fn bad_request_row_array_and_plain_message() {
        let body = br#"[{"row": 0, "message": "Package X does not exist in the current Facility."},{"Row":2,"Message":"Bad unit"}]"#;
        let Error::Rejected { rows, message } = classify(400, None, body, LIC, &[]) else {
            panic!("not a rejection");
        };
        assert_eq!(message, None);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].row, Some(0));
        assert!(rows[0].message.contains("does not exist"));
        assert_eq!(rows[1].row, Some(2));
        assert_eq!(rows[1].message, "Bad unit");

        let err = classify(400, None, br#"{"Message":"No data"}"#, LIC, &[]);
        assert_eq!(
            err,
            Error::Rejected {
                rows: vec![],
                message: Some("No data".into())
            }
        );
        assert!(!err.is_retryable());
        assert!(err.to_string().contains("No data"));

        let err = classify(400, None, b"<html>bad</html>", LIC, &[]);
        assert_eq!(
            err,
            Error::Rejected {
                rows: vec![],
                message: Some("<html>bad</html>".into())
            }
        );
    }

    /// Field case-10's body: a .NET exception message, no row numbers.
    const CASE_10_FAULT: &[u8] = br#"{"Message": "Could not load file or assembly 'System.Data.SqlClient, Version=0.0.0.0'. The system cannot find the file specified."}"#;

    #[test]
    fn case_10_server_fault_sent_as_400_is_a_server_failure_not_a_rejection() {
        assert_eq!(classify_bad_request(CASE_10_FAULT), BadRequest::ServerFault);
        let err = classify(400, None, CASE_10_FAULT, LIC, &[]);
        let Error::Server { status, excerpt } = &err else {
            panic!("not a server failure: {err:?}");
        };
        assert_eq!(*status, 400);
        assert!(
            excerpt.starts_with("Could not load file or assembly"),
            "{excerpt}"
        );
        assert!(err.is_retryable());
        assert!(err.write_not_recorded());
        for fault in [
            &br#"{"Message": "An error has occurred."}"#[..],
            br#"{"message": "Object reference not set to an instance of an object."}"#,
            br#"{"Message": "An error has occurred.", "ExceptionMessage": "Timeout", "ExceptionType": "System.Exception", "StackTrace": "   at X"}"#,
            br#"{"stackTrace": "   at Metrc.Api"}"#,
            br#"{"Message": "Transaction (Process ID 66) was deadlocked on lock resources with another process"}"#,
            br#"[{"message": "Exception of type 'System.OutOfMemoryException' was thrown."}]"#,
            b"An error has occurred.",
            br#""Could not load file or assembly 'X'""#,
        ] {
            assert_eq!(
                classify_bad_request(fault),
                BadRequest::ServerFault,
                "{}",
                String::from_utf8_lossy(fault)
            );
            assert!(classify(400, None, fault, LIC, &[]).is_retryable());
        }
        // The exception's own message is what the excerpt shows.
        let err = classify(
            400,
            None,
            br#"{"Message": "An error has occurred.", "ExceptionMessage": "Timeout expired."}"#,
            LIC,
            &[],
        );
        assert!(
            matches!(err, Error::Server { ref excerpt, .. } if excerpt == "Timeout expired."),
            "{err:?}"
        );
    }

    #[test]
    fn ordinary_rejections_stay_final() {
        for rejection in [
            &br#"[{"row": 0, "message": "Name was not specified."}]"#[..],
            br#"[{"row": 0, "message": "Package X does not exist in the current Facility."},{"Row":2,"Message":"Bad unit"}]"#,
            // Row numbers win over any wording.
            br#"[{"row": 1, "message": "An error has occurred on row 1: quantity"}]"#,
            br#"{"Message": "No data"}"#,
            br#"{"Message": "The request is invalid."}"#,
            br#"{"Message": "Quantity must be greater than zero."}"#,
            b"<html>bad</html>",
            b"",
            b"[]",
        ] {
            assert_eq!(
                classify_bad_request(rejection),
                BadRequest::Rejection,
                "{}",
                String::from_utf8_lossy(rejection)
            );
            let err = classify(400, None, rejection, LIC, &[]);
            assert!(matches!(err, Error::Rejected { .. }), "{err:?}");
            assert!(!err.is_retryable());
        }
    }

    #[test]
    fn server_errors_with_html_or_empty_body() {
        let html = format!(
            "<html><body>{}</body></html>",
            "Service Unavailable ".repeat(40)
        );
        let Error::Server { status, excerpt } = classify(503, None, html.as_bytes(), LIC, &[])
        else {
            panic!("not a server error");
        };
        assert_eq!(status, 503);
        assert!(excerpt.starts_with("<html>"));
        assert!(excerpt.chars().count() <= EXCERPT_CHARS);
        assert_eq!(
            classify(500, None, b"", LIC, &[]),
            Error::Server {
                status: 500,
                excerpt: String::new()
            }
        );
        assert!(classify(500, None, b"", LIC, &[]).is_retryable());
        assert!(matches!(
            classify(404, None, b"Not found", LIC, &[]),
            Error::UnexpectedStatus { status: 404, .. }
        ));
    }

    #[test]
    fn excerpt_scrubs_every_encoded_form_of_a_key() {
        let (vendor, user) = ("VENDORkey9876543210wxyz", "USERkey0123456789abcd");
        // The longest run of base64 characters left: a key's 21 bytes are 28 base64 characters.
        let longest_run = |text: &str| {
            text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '+' || c == '/'))
                .map(str::len)
                .max()
                .unwrap_or(0)
        };
        let bodies = [
            // An echoed Authorization header: base64("vendor:user").
            "Authorization: Basic VkVORE9Sa2V5OTg3NjU0MzIxMHd4eXo6VVNFUmtleTAxMjM0NTY3ODlhYmNk",
            // The user key inside longer base64 text at each alignment ("#" before, "~~~" after).
            "token VVNFUmtleTAxMjM0NTY3ODlhYmNkfn5+ end",
            "token I1VTRVJrZXkwMTIzNDU2Nzg5YWJjZH5+fg== end",
            "token IyNVU0VSa2V5MDEyMzQ1Njc4OWFiY2R+fn4= end",
        ];
        for body in bodies {
            let text = excerpt(body.as_bytes(), &[user, vendor]);
            assert!(text.contains("***"), "{text}");
            let rest = text.replace("Authorization", "");
            assert!(longest_run(&rest) < 12, "{body} -> {text}");
        }
        // Percent-encoded and JSON-escaped, for a key with characters that change.
        let odd = "USER+key/0123456789\"x";
        for body in [
            "licenseKey=USER%2Bkey%2F0123456789%22x&x=1",
            r#"{"key": "USER+key/0123456789\"x"}"#,
        ] {
            let text = excerpt(body.as_bytes(), &[odd]);
            assert!(!text.contains("0123456789"), "{body} -> {text}");
        }
    }

    #[test]
    fn excerpt_never_contains_a_key_even_at_the_cut() {
        let key = "USERKEY-abcdefghijklmnopqrstuvwxyz";
        // The key straddles the 200-character cut.
        let body = format!("{}{}{}", "x".repeat(190), key, "y".repeat(50));
        let text = excerpt(body.as_bytes(), &[key]);
        assert!(!text.contains(key));
        assert!(!text.contains("USERKEY"), "{text}");
        assert!(text.chars().count() <= EXCERPT_CHARS);
        for status in [400, 404, 500] {
            let err = classify(status, None, format!("echo {key}").as_bytes(), LIC, &[key]);
            assert!(!err.to_string().contains(key), "{err}");
            assert!(!format!("{err:?}").contains(key), "{err:?}");
        }
        let rows = format!(r#"[{{"row":0,"message":"bad key {key}"}}]"#);
        let err = classify(400, None, rows.as_bytes(), LIC, &[key]);
        assert!(!format!("{err:?}").contains(key));
    }

    #[test]
    fn only_unknown_outcome_may_have_been_recorded() {
        assert!(!Error::OutcomeUnknown("timeout".into()).write_not_recorded());
        assert!(!Error::OutcomeUnknown("timeout".into()).is_retryable());
        assert!(
            Error::Server {
                status: 500,
                excerpt: String::new()
            }
            .write_not_recorded()
        );
        for gateway in [502, 504] {
            let err = Error::Server {
                status: gateway,
                excerpt: String::new(),
            };
            assert!(!err.write_not_recorded(), "{gateway}");
        }
    }
}

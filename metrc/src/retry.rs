//! When to retry a read and how long to wait first: jittered exponential backoff, honouring
//! Metrc's `Retry-After`.

use std::time::Duration;

use crate::backoff;
use crate::config::RetryPolicy;
use crate::error::Error;

/// Longest `Retry-After` honoured; a larger value (or a broken header) waits this long.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// How long to wait before attempt `failed_attempt + 1` of a read that failed with `error`, or
/// `None` if the read should not be retried (error not retryable, or attempts used up).
pub(crate) fn backoff(
    policy: &RetryPolicy,
    failed_attempt: u32,
    error: &Error,
) -> Option<Duration> {
    if !error.is_retryable() || failed_attempt >= policy.max_attempts {
        return None;
    }
    let base = match error {
        Error::RateLimited {
            retry_after: Some(after),
        } => {
            // Metrc said when: wait that long, plus a little so callers do not return together.
            return Some(backoff::after_plus_tenth(
                (*after).min(MAX_RETRY_AFTER),
                rand::random(),
            ));
        }
        Error::RateLimited { retry_after: None } => policy.rate_limited_delay,
        _ => policy.base_delay,
    };
    let delay = backoff::doubling(base, policy.max_delay, failed_attempt);
    Some(backoff::equal_jitter(delay, rand::random()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(350),
            rate_limited_delay: Duration::from_secs(1),
        }
    }

    #[test]
    fn exponential_jittered_and_capped() {
        let server = Error::Server {
            status: 503,
            excerpt: String::new(),
        };
        for _ in 0..50 {
            let d1 = backoff(&policy(), 1, &server).unwrap();
            assert!(
                d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100),
                "{d1:?}"
            );
            let d2 = backoff(&policy(), 2, &server).unwrap();
            assert!(
                d2 >= Duration::from_millis(100) && d2 <= Duration::from_millis(200),
                "{d2:?}"
            );
            let d3 = backoff(&policy(), 3, &server).unwrap();
            assert!(d3 <= Duration::from_millis(350), "{d3:?}");
        }
        assert_eq!(backoff(&policy(), 4, &server), None);
    }

    #[test]
    fn rate_limit_honours_retry_after_else_starts_from_a_second() {
        let with = Error::RateLimited {
            retry_after: Some(Duration::from_secs(2)),
        };
        let d = backoff(&policy(), 1, &with).unwrap();
        assert!(
            d >= Duration::from_secs(2) && d <= Duration::from_millis(2200),
            "{d:?}"
        );
        let without = Error::RateLimited { retry_after: None };
        let d = backoff(&policy(), 1, &without).unwrap();
        assert!(
            d >= Duration::from_millis(500) && d <= Duration::from_secs(1),
            "{d:?}"
        );
        let huge = Error::RateLimited {
            retry_after: Some(Duration::from_hours(24)),
        };
        assert!(backoff(&policy(), 1, &huge).unwrap() <= MAX_RETRY_AFTER + MAX_RETRY_AFTER / 10);
    }

    #[test]
    fn not_retried() {
        for error in [
            Error::KeyInvalid,
            Error::NoAccess {
                license: "L".into(),
                status: 403,
            },
            Error::Rejected {
                rows: vec![],
                message: None,
            },
            Error::OutcomeUnknown("x".into()),
            Error::Decode {
                excerpt: String::new(),
            },
        ] {
            assert_eq!(backoff(&policy(), 1, &error), None, "{error:?}");
        }
        assert!(backoff(&policy(), 1, &Error::Timeout).is_some());
    }
}

//! Metrc key validations per user: one at a time, and a number per minute (governor's keyed
//! GCRA limiter). A validation fans out to many Metrc calls (every license times every section),
//! and Metrc's rate limits are shared with sync and the outbox, so one user must not be able to
//! starve them (docs/decisions.md, "Rate limits and status codes").

use super::config::ValidationLimits;
use crate::error::AppError;
use futures::Stream;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::collections::HashSet;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

/// Why a validation was not started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The user's previous validation is still running.
    #[error("the user's previous key validation is still running")]
    Running,
    /// The user's validations per minute are used up; the next may start after this wait.
    #[error("too many key validations; retry in {0:?}")]
    Throttled(Duration),
}

impl From<Refused> for AppError {
    fn from(refused: Refused) -> Self {
        match refused {
            Refused::Running => AppError::ValidationRunning,
            Refused::Throttled(wait) => AppError::ValidationThrottled {
                retry_after_secs: (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1),
            },
        }
    }
}

/// The users with a validation running.
type RunningSet = Arc<Mutex<HashSet<i32>>>;

fn lock(running: &Mutex<HashSet<i32>>) -> MutexGuard<'_, HashSet<i32>> {
    // The set is left consistent by every holder, so a poisoned lock is still usable.
    running
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub struct ValidationLimiter {
    per_user: DefaultKeyedRateLimiter<i32>,
    running: RunningSet,
    clock: DefaultClock,
}

impl ValidationLimiter {
    pub fn new(limits: ValidationLimits) -> Self {
        let per_minute = NonZeroU32::new(limits.per_minute).unwrap_or(NonZeroU32::MIN);
        Self {
            per_user: RateLimiter::keyed(Quota::per_minute(per_minute)),
            running: RunningSet::default(),
            clock: DefaultClock::default(),
        }
    }

    /// Starts a validation for `user_id`: refused while their previous one runs (which does not
    /// use up their budget) or when their validations per minute are used up. The validation
    /// counts as running until the returned [`Running`] is dropped.
    pub fn begin(&self, user_id: i32) -> Result<Running, Refused> {
        let mut running = lock(&self.running);
        if running.contains(&user_id) {
            return Err(Refused::Running);
        }
        self.per_user
            .check_key(&user_id)
            .map_err(|not_until| Refused::Throttled(not_until.wait_time_from(self.clock.now())))?;
        running.insert(user_id);
        Ok(Running {
            user_id,
            running: self.running.clone(),
        })
    }

    /// Forgets users whose budget has fully recovered, so memory stays bounded.
    pub fn prune(&self) {
        self.per_user.retain_recent();
    }
}

/// A validation in progress; dropping it ends it.
#[derive(Debug)]
pub struct Running {
    user_id: i32,
    running: RunningSet,
}

impl Drop for Running {
    fn drop(&mut self) {
        lock(&self.running).remove(&self.user_id);
    }
}

/// `stream` (a live validation) with its [`Running`]: the validation ends when the stream ends
/// (before its last byte is sent, so a client that has read it all may start the next at once)
/// or is dropped (the browser went away).
pub struct Held<S> {
    stream: Pin<Box<S>>,
    running: Option<Running>,
}

impl<S> Held<S> {
    pub fn new(running: Running, stream: S) -> Self {
        Self {
            stream: Box::pin(stream),
            running: Some(running),
        }
    }
}

impl<S: Stream> Stream for Held<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let next = self.stream.as_mut().poll_next(cx);
        if matches!(next, Poll::Ready(None)) {
            self.running = None;
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    fn limiter(per_minute: u32) -> ValidationLimiter {
        ValidationLimiter::new(ValidationLimits { per_minute })
    }

    #[test]
    fn one_validation_at_a_time_per_user() {
        let limits = limiter(10);
        let first = limits.begin(1).unwrap();
        assert_eq!(limits.begin(1).unwrap_err(), Refused::Running);
        let other = limits.begin(2).expect("another user is not held up");
        drop(first);
        drop(other);
        assert!(limits.begin(1).is_ok());
    }

    #[test]
    fn a_burst_per_minute_then_a_wait_per_user() {
        let limits = limiter(2);
        drop(limits.begin(1).unwrap());
        drop(limits.begin(1).unwrap());
        let Err(Refused::Throttled(wait)) = limits.begin(1) else {
            panic!("the third in a minute is refused");
        };
        assert!(wait > Duration::from_secs(20), "{wait:?}");
        assert!(limits.begin(2).is_ok());
        assert_eq!(
            AppError::from(Refused::Throttled(Duration::from_millis(29_200))),
            AppError::ValidationThrottled {
                retry_after_secs: 30
            }
        );
    }

    #[test]
    fn a_refusal_while_running_does_not_use_up_the_budget() {
        let limits = limiter(2);
        let first = limits.begin(1).unwrap();
        for _ in 0..5 {
            assert_eq!(limits.begin(1).unwrap_err(), Refused::Running);
        }
        drop(first);
        assert!(limits.begin(1).is_ok());
    }

    #[tokio::test]
    async fn a_held_stream_ends_its_validation_when_it_ends() {
        let limits = limiter(10);
        let mut held = Held::new(limits.begin(1).unwrap(), futures::stream::iter([1, 2]));
        assert_eq!(held.next().await, Some(1));
        assert_eq!(held.next().await, Some(2));
        assert_eq!(limits.begin(1).unwrap_err(), Refused::Running);
        assert_eq!(held.next().await, None);
        assert!(limits.begin(1).is_ok(), "released at the end, not at drop");
    }
}

//! How long to wait before trying again, as pure functions: a delay that doubles per try up to a
//! cap, and the jitter that spreads callers failed by one outage so they do not all return at
//! once. The randomness is an argument (`spread`, 0 to 1), so callers draw it and tests choose it.
//! Used by the client's read retries, the outbox and sync (one way of backing off).

use std::time::Duration;

/// `base` doubled for each try after the first (`attempt` 0 and 1: `base`), at most `max` (never
/// less than `base`).
pub fn doubling(base: Duration, max: Duration, attempt: u32) -> Duration {
    base.saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
        .min(max.max(base))
}

/// "Equal jitter": between half and all of `delay`; `spread` (0 to 1) says where. A spread out
/// of range is clamped, and one that is not a number reads as 0.
pub fn equal_jitter(delay: Duration, spread: f64) -> Duration {
    delay / 2 + (delay / 2).mul_f64(unit(spread))
}

/// A wait the server asked for (`Retry-After`): all of it, plus up to a tenth more (`spread`, 0
/// to 1), so that callers told the same time do not return together.
pub fn after_plus_tenth(after: Duration, spread: f64) -> Duration {
    after + (after / 10).mul_f64(unit(spread))
}

fn unit(spread: f64) -> f64 {
    if spread.is_nan() {
        0.0
    } else {
        spread.clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn doubling_starts_at_base_and_stops_at_the_cap() {
        assert_eq!(doubling(S(1), S(300), 0), S(1));
        assert_eq!(doubling(S(1), S(300), 1), S(1));
        assert_eq!(doubling(S(1), S(300), 3), S(4));
        assert_eq!(doubling(S(1), S(300), 40), S(300));
        assert_eq!(doubling(S(1), S(300), u32::MAX), S(300));
        assert_eq!(doubling(S(10), S(1), 5), S(10), "a cap below base is base");
    }

    #[test]
    fn equal_jitter_is_half_to_all_of_the_delay() {
        assert_eq!(equal_jitter(S(4), 0.0), S(2));
        assert_eq!(equal_jitter(S(4), 0.5), S(3));
        assert_eq!(equal_jitter(S(4), 1.0), S(4));
        assert_eq!(equal_jitter(S(4), -3.0), S(2));
        assert_eq!(equal_jitter(S(4), 7.0), S(4));
        assert_eq!(equal_jitter(S(4), f64::NAN), S(2));
    }

    #[test]
    fn a_retry_after_is_waited_in_full_plus_up_to_a_tenth() {
        assert_eq!(after_plus_tenth(S(30), 0.0), S(30));
        assert_eq!(after_plus_tenth(S(30), 1.0), S(33));
        assert_eq!(after_plus_tenth(S(30), f64::INFINITY), S(33));
    }
}

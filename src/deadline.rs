//! Lambda's deadline for an invocation, as a point on the monotonic clock that the Wazzup
//! client's retries must not pass. At the side: every entry point converts its own.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// Time kept back from the Lambda deadline to answer the caller.
const DEADLINE_MARGIN: Duration = Duration::from_millis(750);

/// Converts Lambda's deadline (Unix milliseconds) into a point on the monotonic clock, less a
/// margin to answer in. A value that is not a plausible wall-clock time (local emulators send
/// a duration or nothing) gives no deadline: retries are then bounded by the policy alone.
pub fn deadline_instant(deadline_ms: u64, now: SystemTime) -> Option<Instant> {
    const YEAR_2001_MS: u64 = 1_000_000_000_000;
    if deadline_ms < YEAR_2001_MS {
        return None;
    }
    let deadline = UNIX_EPOCH + Duration::from_millis(deadline_ms);
    let left = deadline
        .duration_since(now)
        .unwrap_or_default()
        .saturating_sub(DEADLINE_MARGIN);
    Some(Instant::now() + left)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_deadlines_become_monotonic_instants_with_a_margin() {
        let now = SystemTime::now();
        let ms = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
        let in_ten = deadline_instant(ms(now + Duration::from_secs(10)), now).unwrap();
        let left = in_ten.saturating_duration_since(Instant::now());
        assert!(left <= Duration::from_secs(10) - DEADLINE_MARGIN);
        assert!(left > Duration::from_secs(8));
        let past = deadline_instant(ms(now - Duration::from_secs(1)), now).unwrap();
        assert!(past <= Instant::now());
        // cargo lambda's emulator sends the timeout (600000 ms) instead of a time.
        assert_eq!(deadline_instant(600_000, now), None);
        assert_eq!(deadline_instant(0, now), None);
    }
}

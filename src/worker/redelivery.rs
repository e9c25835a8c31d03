//! When a message the worker could not apply comes back: after a delay that doubles with each
//! receive (5 s, 10 s, 20 s, ... up to 15 minutes), half of it random, so that a blip costs
//! seconds, a long outage is waited out without hammering Wazzup, and the employee's later
//! changes (which SQS holds behind it in the same group) wait no longer than they must. The
//! queue's `maxReceiveCount` then ends the tries: [`horizon`] is how long that takes.

use std::time::Duration;

/// The first delay.
pub const FIRST: Duration = Duration::from_secs(5);

/// The longest delay (the queue's visibility timeout in the template).
pub const LONGEST: Duration = Duration::from_secs(900);

/// The delay before a message received `receive_count` times (1 for the first) comes back:
/// `FIRST` doubled for each receive before, at most `LONGEST`, its second half random.
pub fn delay(receive_count: u32) -> Duration {
    let full = nominal(receive_count);
    let half = full / 2;
    half + Duration::from_millis(fastrand::u64(0..=half.as_millis() as u64))
}

/// The delay without its random part.
fn nominal(receive_count: u32) -> Duration {
    let doublings = receive_count.saturating_sub(1).min(31);
    FIRST.saturating_mul(1 << doublings).min(LONGEST)
}

/// How long a message is tried before the queue dead-letters it, when it comes back after its
/// `max_receive_count`th receive: the sum of the delays, from half of it (every random part at
/// its least) to all of it. Each try also takes its invocation's time, a few seconds at most.
pub fn horizon(max_receive_count: u32) -> (Duration, Duration) {
    let full: Duration = (1..=max_receive_count).map(nominal).sum();
    (full / 2, full)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blip_costs_seconds_and_a_long_outage_is_waited_out() {
        for _ in 0..100 {
            let first = delay(1);
            assert!(
                (Duration::from_millis(2500)..=FIRST).contains(&first),
                "{first:?}"
            );
            let later = delay(30);
            assert!((LONGEST / 2..=LONGEST).contains(&later), "{later:?}");
        }
        assert_eq!(nominal(4), Duration::from_secs(40));
        assert_eq!(nominal(u32::MAX), LONGEST);
    }

    #[test]
    fn the_template_s_forty_receives_try_for_about_eight_hours() {
        // 5+10+...+640 s (8 receives), then 32 delays of 15 minutes: 8.35 hours.
        let (least, most) = horizon(40);
        assert_eq!(most, Duration::from_secs(1275 + 32 * 900));
        assert_eq!(least, most / 2);
    }
}

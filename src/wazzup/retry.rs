//! Retry timing and the client-side rate limiter.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::HeaderMap;
use tokio::time::Instant;

use super::WazzupError;

/// When and how often to retry a call that may succeed later.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Tries in all, the first included.
    pub max_attempts: u32,
    /// The first backoff; it doubles on every retry, with full jitter.
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// How long to wait after a 429 without `Retry-After`: Wazzup's counter resets every 5 s.
    pub rate_limit_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            rate_limit_wait: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// The wait before try number `attempt + 1`.
    pub fn delay(
        &self,
        attempt: u32,
        error: &WazzupError,
        retry_after: Option<Duration>,
    ) -> Duration {
        if let Some(wait) = retry_after {
            // What the server asked for, but never an unbounded wait.
            return wait.min(self.max_delay.max(self.rate_limit_wait));
        }
        if matches!(error, WazzupError::RateLimited) {
            // Wait out the 5-second window, plus a little jitter so that concurrent
            // containers do not come back together.
            let jitter = self.rate_limit_wait.mul_f64(fastrand::f64() * 0.1);
            return self.rate_limit_wait + jitter;
        }
        let exponent = attempt.saturating_sub(1).min(16);
        let ceiling = self
            .base_delay
            .saturating_mul(1u32 << exponent)
            .min(self.max_delay);
        // Full jitter, but at least a tenth of the ceiling.
        ceiling.mul_f64(0.1 + 0.9 * fastrand::f64())
    }
}

/// Reads `Retry-After` given in seconds (the form APIs use; HTTP dates are ignored).
pub(crate) fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(http::header::RETRY_AFTER)?.to_str().ok()?;
    let seconds: f64 = value.trim().parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds.min(3600.0)))
}

/// At most `limit` calls per `window` from this process (a sliding window).
#[derive(Clone)]
pub struct RateLimiter {
    limit: usize,
    window: Duration,
    sent: Arc<Mutex<VecDeque<Instant>>>,
}

impl RateLimiter {
    pub fn new(limit: usize, window: Duration) -> Self {
        Self {
            limit: limit.max(1),
            window,
            sent: Arc::new(Mutex::new(VecDeque::new())),
        }
    }

    /// Waits until one more call fits in the window, and counts it.
    pub async fn acquire(&self) {
        loop {
            let wait = {
                let mut sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
                let now = Instant::now();
                while sent
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= self.window)
                {
                    sent.pop_front();
                }
                if sent.len() < self.limit {
                    sent.push_back(now);
                    return;
                }
                sent.front()
                    .map(|oldest| self.window.saturating_sub(now.duration_since(*oldest)))
                    .unwrap_or_default()
            };
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = RetryPolicy::default();
        let server = WazzupError::Server {
            status: 503,
            description: String::new(),
        };
        for attempt in 1..=10 {
            let ceiling = (Duration::from_millis(200) * (1u32 << (attempt - 1).min(16)))
                .min(Duration::from_secs(5));
            let d = policy.delay(attempt, &server, None);
            assert!(
                d <= ceiling && d >= ceiling / 10,
                "attempt {attempt}: {d:?}"
            );
        }
    }

    #[test]
    fn rate_limits_wait_out_the_window_or_honour_retry_after() {
        let policy = RetryPolicy::default();
        let d = policy.delay(1, &WazzupError::RateLimited, None);
        assert!(d >= Duration::from_secs(5) && d <= Duration::from_millis(5500));
        let d = policy.delay(1, &WazzupError::RateLimited, Some(Duration::from_secs(2)));
        assert_eq!(d, Duration::from_secs(2));
        let d = policy.delay(1, &WazzupError::RateLimited, Some(Duration::from_secs(600)));
        assert_eq!(d, Duration::from_secs(5));
    }

    #[test]
    fn retry_after_seconds_are_read() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "3".parse().unwrap());
        assert_eq!(parse_retry_after(&headers), Some(Duration::from_secs(3)));
        headers.insert(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(parse_retry_after(&headers), None);
    }

    #[tokio::test]
    async fn the_limiter_spreads_calls_over_the_window() {
        let window = Duration::from_millis(300);
        let limiter = RateLimiter::new(3, window);
        let start = Instant::now();
        for _ in 0..3 {
            limiter.acquire().await;
        }
        assert!(start.elapsed() < window, "the first 3 calls must not wait");
        limiter.acquire().await;
        assert!(
            start.elapsed() >= window,
            "the 4th call must wait for the window"
        );
    }
}

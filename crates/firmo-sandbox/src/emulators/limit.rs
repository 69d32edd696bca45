//! A fixed-window request counter per API key, as providers document "N requests per
//! minute" limits.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Counts requests per key in windows of `window`, starting at each key's first request.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    limit: u32,
    window: Duration,
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

/// What the limiter decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Allowed; this many requests remain in the window.
    Allowed { remaining: u32, reset_in: Duration },
    /// Over the limit until the window ends.
    Limited { reset_in: Duration },
}

impl RateLimiter {
    pub(crate) fn per_minute(limit: u32) -> RateLimiter {
        RateLimiter {
            limit,
            window: Duration::from_mins(1),
            windows: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn limit(&self) -> u32 {
        self.limit
    }

    pub(crate) fn check(&self, key: &str) -> Verdict {
        let now = Instant::now();
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = windows.entry(key.to_owned()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        let reset_in = self.window.saturating_sub(now.duration_since(entry.0));
        if entry.1 >= self.limit {
            return Verdict::Limited { reset_in };
        }
        entry.1 += 1;
        Verdict::Allowed {
            remaining: self.limit - entry.1,
            reset_in,
        }
    }
}

/// Whole seconds to wait, at least 1 (a `Retry-After` of 0 invites a hot loop).
pub(crate) fn retry_after_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0).max(u64::from(d.as_secs() == 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_key_within_a_window() {
        let l = RateLimiter::per_minute(2);
        assert!(matches!(
            l.check("a"),
            Verdict::Allowed { remaining: 1, .. }
        ));
        assert!(matches!(
            l.check("a"),
            Verdict::Allowed { remaining: 0, .. }
        ));
        assert!(matches!(l.check("a"), Verdict::Limited { .. }));
        assert!(matches!(
            l.check("b"),
            Verdict::Allowed { remaining: 1, .. }
        ));
    }

    #[test]
    fn retry_after_rounds_up_and_is_never_zero() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1500)), 2);
        assert_eq!(retry_after_secs(Duration::from_secs(3)), 3);
    }
}

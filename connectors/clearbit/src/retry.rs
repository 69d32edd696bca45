//! How Clearbit's HTTP statuses steer retries (the shared client does the waiting).
//!
//! Confirmed from Clearbit's docs and help centre: 200 company; 202 lookup queued (a
//! real answer: pending); 404 unknown company (a real answer: not found); 422 the domain
//! failed validation; 401 bad key; 402 over quota ("Why am I receiving a 402 Over
//! Quota error"); 429 over the rate limit. 5xx are retried with backoff.

use firmo_connect::http::{RetryAction, RetryPolicy, body_excerpt, retry_after};
use firmo_connect::{ConnectorError, Service};
use reqwest::header::HeaderMap;

use crate::parse::error_message;

const SERVICE: Service = Service::Clearbit;

/// Clearbit's [`RetryPolicy`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ClearbitRetryPolicy;

impl RetryPolicy for ClearbitRetryPolicy {
    fn classify(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> RetryAction {
        let message = || error_message(body).unwrap_or_else(|| body_excerpt(body));
        match status {
            // Answers the client reads itself: company, queued, unknown, invalid domain.
            200 | 202 | 404 | 422 => RetryAction::Done,
            429 => {
                let after = retry_after(headers, std::time::SystemTime::now());
                RetryAction::Retry {
                    after,
                    error: ConnectorError::RateLimited {
                        service: SERVICE,
                        policy: "requests per minute (HTTP 429)".into(),
                        retry_after: after,
                    },
                }
            }
            500..=599 => RetryAction::Retry {
                after: retry_after(headers, std::time::SystemTime::now()),
                error: ConnectorError::Server {
                    service: SERVICE,
                    status,
                    message: message(),
                },
            },
            401 | 403 => RetryAction::DontRetry(ConnectorError::Auth {
                service: SERVICE,
                message: message(),
            }),
            402 => RetryAction::DontRetry(ConnectorError::QuotaExhausted {
                service: SERVICE,
                message: message(),
            }),
            400 => RetryAction::DontRetry(ConnectorError::Validation {
                service: SERVICE,
                property: None,
                value: None,
                message: message(),
            }),
            _ => RetryAction::DontRetry(ConnectorError::Unexpected {
                service: SERVICE,
                status,
                message: message(),
            }),
        }
    }

    fn throttle(&self, _status: u16, headers: &HeaderMap) -> Option<std::time::Duration> {
        let number = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<u64>().ok();
        if number("x-ratelimit-remaining")? > 0 {
            return None;
        }
        let reset = number("x-ratelimit-reset")?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        // Above a billion it is an epoch time (2001 onwards), below it a count of seconds.
        let wait = if reset > 1_000_000_000 {
            reset.saturating_sub(now)
        } else {
            reset
        };
        Some(std::time::Duration::from_secs(wait.min(3600)))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn an_exhausted_window_pauses_until_the_reset() {
        let p = ClearbitRetryPolicy;
        let headers = |remaining: &str, reset: &str| {
            let mut h = HeaderMap::new();
            h.insert("x-ratelimit-remaining", remaining.parse().unwrap());
            h.insert("x-ratelimit-reset", reset.parse().unwrap());
            h
        };
        assert_eq!(p.throttle(200, &headers("12", "30")), None);
        assert_eq!(
            p.throttle(200, &headers("0", "30")),
            Some(Duration::from_secs(30))
        );
        let in_ten = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 10;
        let wait = p.throttle(200, &headers("0", &in_ten.to_string())).unwrap();
        assert!(
            wait <= Duration::from_secs(10) && wait >= Duration::from_secs(8),
            "{wait:?}"
        );
        assert_eq!(p.throttle(200, &HeaderMap::new()), None);
    }

    #[test]
    fn statuses_map_to_actions() {
        let p = ClearbitRetryPolicy;
        let none = HeaderMap::new();
        for done in [200, 202, 404, 422] {
            assert_eq!(p.classify(done, &none, b""), RetryAction::Done, "{done}");
        }
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "3".parse().unwrap());
        assert!(matches!(
            p.classify(429, &headers, b""),
            RetryAction::Retry { after: Some(d), error: ConnectorError::RateLimited { .. } } if d == Duration::from_secs(3)
        ));
        assert!(matches!(
            p.classify(503, &none, b""),
            RetryAction::Retry { after: None, .. }
        ));
        let quota = br#"{"error":{"type":"over_quota","message":"You have exceeded your quota"}}"#;
        match p.classify(402, &none, quota) {
            RetryAction::DontRetry(e @ ConnectorError::QuotaExhausted { .. }) => {
                assert!(e.stops_service());
                assert!(e.to_string().contains("over_quota"), "{e}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            p.classify(401, &none, b""),
            RetryAction::DontRetry(ConnectorError::Auth { .. })
        ));
        assert!(matches!(
            p.classify(418, &none, b""),
            RetryAction::DontRetry(ConnectorError::Unexpected { status: 418, .. })
        ));
    }
}

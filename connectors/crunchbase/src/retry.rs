//! How Crunchbase's HTTP statuses steer retries. Confirmed from the v4 docs: 401 bad
//! key, 403 plan lacks access, 404 unknown entity, 429 over the rate limit. 402 (no
//! quota) is assumed: Crunchbase documents no credit error, but plans with call quotas
//! must refuse somehow, and 402 is what its peers send. 5xx retry with backoff.

use firmo_connect::http::{RetryAction, RetryPolicy, body_excerpt, retry_after};
use firmo_connect::{ConnectorError, Service};
use reqwest::header::HeaderMap;

use crate::parse::error_message;

const SERVICE: Service = Service::Crunchbase;

/// Crunchbase's [`RetryPolicy`].
#[derive(Debug, Clone, Copy, Default)]
pub struct CrunchbaseRetryPolicy;

impl RetryPolicy for CrunchbaseRetryPolicy {
    fn classify(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> RetryAction {
        let message = || error_message(body).unwrap_or_else(|| body_excerpt(body));
        let now = std::time::SystemTime::now();
        match status {
            // The client reads these: a search or entity, and "no such entity".
            200 | 404 => RetryAction::Done,
            429 => {
                let after = retry_after(headers, now);
                RetryAction::Retry {
                    after,
                    error: ConnectorError::RateLimited {
                        service: SERVICE,
                        policy: "calls per minute (HTTP 429)".into(),
                        retry_after: after,
                    },
                }
            }
            500..=599 => RetryAction::Retry {
                after: retry_after(headers, now),
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
            400 | 422 => RetryAction::DontRetry(ConnectorError::Validation {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_actions() {
        let p = CrunchbaseRetryPolicy;
        let none = HeaderMap::new();
        assert_eq!(p.classify(200, &none, b""), RetryAction::Done);
        assert_eq!(p.classify(404, &none, b""), RetryAction::Done);
        assert!(matches!(
            p.classify(429, &none, b""),
            RetryAction::Retry {
                error: ConnectorError::RateLimited { .. },
                ..
            }
        ));
        assert!(matches!(
            p.classify(500, &none, b""),
            RetryAction::Retry { .. }
        ));
        let RetryAction::DontRetry(e) =
            p.classify(403, &none, br#"[{"message":"no access","code":"LA403"}]"#)
        else {
            panic!()
        };
        assert!(
            e.stops_service() && e.to_string().contains("LA403: no access"),
            "{e}"
        );
        assert!(matches!(
            p.classify(402, &none, b""),
            RetryAction::DontRetry(ConnectorError::QuotaExhausted { .. })
        ));
        assert!(matches!(
            p.classify(400, &none, b""),
            RetryAction::DontRetry(ConnectorError::Validation { .. })
        ));
    }
}

//! How the table webhook's answers steer retries. Clay's webhook answers 200 for an
//! accepted row; 401/403 a missing or wrong `x-clay-webhook-auth` token; 404 an unknown
//! (deleted) webhook; 413 a body over 100 KB; 429 over the workspace's webhook rate.
//! A webhook stops accepting rows after its lifetime submission limit (50,000 per
//! Clay's community answers): the status for that is not documented; 402 and a 4xx whose
//! body mentions a limit are taken as quota (assumed).

use firmo_connect::http::{RetryAction, RetryPolicy, body_excerpt, retry_after};
use firmo_connect::{ConnectorError, Service};
use reqwest::header::HeaderMap;

const SERVICE: Service = Service::Clay;

/// The Clay webhook's [`RetryPolicy`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ClayRetryPolicy;

impl RetryPolicy for ClayRetryPolicy {
    fn classify(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> RetryAction {
        let message = || body_excerpt(body);
        let now = std::time::SystemTime::now();
        match status {
            200..=299 => RetryAction::Done,
            429 => {
                let after = retry_after(headers, now);
                RetryAction::Retry {
                    after,
                    error: ConnectorError::RateLimited {
                        service: SERVICE,
                        policy: "webhook records per second (HTTP 429)".into(),
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
            402 => RetryAction::DontRetry(ConnectorError::QuotaExhausted {
                service: SERVICE,
                message: message(),
            }),
            401 | 403 if mentions_limit(body) => {
                RetryAction::DontRetry(ConnectorError::QuotaExhausted {
                    service: SERVICE,
                    message: message(),
                })
            }
            401 | 403 => RetryAction::DontRetry(ConnectorError::Auth {
                service: SERVICE,
                message: format!("the table webhook refused the token ({})", message()),
            }),
            404 => RetryAction::DontRetry(ConnectorError::NotFound {
                service: SERVICE,
                what: "the table webhook (deleted table or wrong webhook_url)".into(),
            }),
            400..=499 if mentions_limit(body) => {
                RetryAction::DontRetry(ConnectorError::QuotaExhausted {
                    service: SERVICE,
                    message: message(),
                })
            }
            400..=499 => RetryAction::DontRetry(ConnectorError::Validation {
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

fn mentions_limit(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&body[..body.len().min(2048)]).to_ascii_lowercase();
    text.contains("limit") && !text.contains("rate limit")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_actions() {
        let p = ClayRetryPolicy;
        let none = HeaderMap::new();
        assert_eq!(
            p.classify(200, &none, br#"{"success":true}"#),
            RetryAction::Done
        );
        assert!(matches!(
            p.classify(429, &none, b""),
            RetryAction::Retry {
                error: ConnectorError::RateLimited { .. },
                ..
            }
        ));
        assert!(matches!(
            p.classify(502, &none, b""),
            RetryAction::Retry { .. }
        ));
        assert!(matches!(
            p.classify(401, &none, b"bad token"),
            RetryAction::DontRetry(ConnectorError::Auth { .. })
        ));
        assert!(matches!(
            p.classify(403, &none, b"This webhook has reached its submission limit"),
            RetryAction::DontRetry(ConnectorError::QuotaExhausted { .. })
        ));
        assert!(matches!(
            p.classify(404, &none, b""),
            RetryAction::DontRetry(ConnectorError::NotFound { .. })
        ));
        assert!(matches!(
            p.classify(413, &none, b"too big"),
            RetryAction::DontRetry(ConnectorError::Validation { .. })
        ));
    }
}

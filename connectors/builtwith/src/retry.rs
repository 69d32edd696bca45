//! How BuiltWith's answers steer retries. BuiltWith reports most failures inside an
//! HTTP 200 (`Errors[]`); of those, -99 (internal error) and -7 (one lookup at a time)
//! are worth retrying, the rest are read by the client. HTTP-level: 429 and 5xx retry;
//! 401/403 bad key; 402 no credits (assumed: BuiltWith documents credits errors only as
//! code -3 in a 200).

use firmo_connect::http::{RetryAction, RetryPolicy, body_excerpt, retry_after};
use firmo_connect::{ConnectorError, Secret, Service};
use reqwest::header::HeaderMap;
use serde_json::Value as Json;

const SERVICE: Service = Service::BuiltWith;

/// BuiltWith's [`RetryPolicy`]. Holds the key only to scrub it from error messages
/// (BuiltWith may echo the request, and the key is part of it).
#[derive(Debug, Clone)]
pub struct BuiltWithRetryPolicy {
    key: Secret,
}

impl BuiltWithRetryPolicy {
    pub fn new(key: Secret) -> BuiltWithRetryPolicy {
        BuiltWithRetryPolicy { key }
    }

    fn message(&self, body: &[u8]) -> String {
        scrub_text(&body_excerpt(body), &self.key)
    }
}

impl RetryPolicy for BuiltWithRetryPolicy {
    fn classify(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> RetryAction {
        let now = std::time::SystemTime::now();
        match status {
            200 => match transient_error_code(body) {
                Some(-7) => RetryAction::Retry {
                    after: None,
                    error: ConnectorError::RateLimited {
                        service: SERVICE,
                        policy: "one lookup at a time (error -7)".into(),
                        retry_after: None,
                    },
                },
                Some(code) => RetryAction::Retry {
                    after: None,
                    error: ConnectorError::Server {
                        service: SERVICE,
                        status,
                        message: format!("BuiltWith internal error {code}"),
                    },
                },
                None => RetryAction::Done,
            },
            429 => {
                let after = retry_after(headers, now);
                RetryAction::Retry {
                    after,
                    error: ConnectorError::RateLimited {
                        service: SERVICE,
                        policy: "requests per second (HTTP 429)".into(),
                        retry_after: after,
                    },
                }
            }
            500..=599 => RetryAction::Retry {
                after: retry_after(headers, now),
                error: ConnectorError::Server {
                    service: SERVICE,
                    status,
                    message: self.message(body),
                },
            },
            401 | 403 => RetryAction::DontRetry(ConnectorError::Auth {
                service: SERVICE,
                message: self.message(body),
            }),
            402 => RetryAction::DontRetry(ConnectorError::QuotaExhausted {
                service: SERVICE,
                message: self.message(body),
            }),
            _ => RetryAction::DontRetry(ConnectorError::Unexpected {
                service: SERVICE,
                status,
                message: self.message(body),
            }),
        }
    }
}

/// `Some(code)` when a 200 carries no result and a retryable error (-99, -7).
fn transient_error_code(body: &[u8]) -> Option<i64> {
    // Cheap pre-check: most bodies are results and need no second parse here.
    if !body.windows(6).any(|w| w == b"Errors") {
        return None;
    }
    let json: Json = serde_json::from_slice(body).ok()?;
    let has_results = json
        .get("Results")
        .and_then(Json::as_array)
        .is_some_and(|r| !r.is_empty());
    if has_results {
        return None;
    }
    let code = match json.get("Errors")?.get(0)?.get("Code")? {
        Json::Number(n) => n.as_i64()?,
        Json::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    matches!(code, -99 | -7).then_some(code)
}

/// `text` with every occurrence of the key replaced by `***`.
pub fn scrub_text(text: &str, key: &Secret) -> String {
    let key = key.expose();
    if key.is_empty() {
        text.to_owned()
    } else {
        text.replace(key, "***")
    }
}

/// `error` with the key scrubbed from every message it carries.
pub fn scrub(error: ConnectorError, key: &Secret) -> ConnectorError {
    let s = |text: String| scrub_text(&text, key);
    match error {
        ConnectorError::Auth { service, message } => ConnectorError::Auth {
            service,
            message: s(message),
        },
        ConnectorError::Validation {
            service,
            property,
            value,
            message,
        } => ConnectorError::Validation {
            service,
            property: property.map(s),
            value: value.map(s),
            message: s(message),
        },
        ConnectorError::NotFound { service, what } => ConnectorError::NotFound {
            service,
            what: s(what),
        },
        ConnectorError::RateLimited {
            service,
            policy,
            retry_after,
        } => ConnectorError::RateLimited {
            service,
            policy: s(policy),
            retry_after,
        },
        ConnectorError::QuotaExhausted { service, message } => ConnectorError::QuotaExhausted {
            service,
            message: s(message),
        },
        ConnectorError::Server {
            service,
            status,
            message,
        } => ConnectorError::Server {
            service,
            status,
            message: s(message),
        },
        ConnectorError::Transport { service, message } => ConnectorError::Transport {
            service,
            message: s(message),
        },
        ConnectorError::Capacity { service, message } => ConnectorError::Capacity {
            service,
            message: s(message),
        },
        ConnectorError::PortalRule {
            service,
            rule,
            property,
            message,
        } => ConnectorError::PortalRule {
            service,
            rule: s(rule),
            property: property.map(s),
            message: s(message),
        },
        ConnectorError::Malformed {
            service,
            path,
            message,
        } => ConnectorError::Malformed {
            service,
            path,
            message: s(message),
        },
        ConnectorError::Unexpected {
            service,
            status,
            message,
        } => ConnectorError::Unexpected {
            service,
            status,
            message: s(message),
        },
        other @ (ConnectorError::Timeout { .. } | ConnectorError::TooLarge { .. }) => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_errors_inside_a_200_are_retried() {
        let p = BuiltWithRetryPolicy::new(Secret::new("k"));
        let none = HeaderMap::new();
        let internal = br#"{"Results":[],"Errors":[{"Lookup":"a.example","Message":"Internal error","Code":-99}]}"#;
        assert!(matches!(
            p.classify(200, &none, internal),
            RetryAction::Retry {
                error: ConnectorError::Server { .. },
                ..
            }
        ));
        let busy = br#"{"Results":[],"Errors":[{"Message":"One at a time","Code":"-7"}]}"#;
        assert!(matches!(
            p.classify(200, &none, busy),
            RetryAction::Retry {
                error: ConnectorError::RateLimited { .. },
                ..
            }
        ));
        let bad_key = br#"{"Results":[],"Errors":[{"Message":"bad key","Code":-2}]}"#;
        assert_eq!(
            p.classify(200, &none, bad_key),
            RetryAction::Done,
            "the client maps it"
        );
        assert_eq!(
            p.classify(200, &none, br#"{"Results":[{"Result":{}}],"Errors":[]}"#),
            RetryAction::Done
        );
        assert!(matches!(
            p.classify(503, &none, b""),
            RetryAction::Retry { .. }
        ));
        assert!(matches!(
            p.classify(429, &none, b""),
            RetryAction::Retry {
                error: ConnectorError::RateLimited { .. },
                ..
            }
        ));
        assert!(matches!(
            p.classify(402, &none, b""),
            RetryAction::DontRetry(ConnectorError::QuotaExhausted { .. })
        ));
    }

    #[test]
    fn the_key_never_survives_in_a_message() {
        let key = Secret::new("00000000-1111-2222-3333-444444444444");
        let p = BuiltWithRetryPolicy::new(key.clone());
        let echo = b"Unauthorized: KEY=00000000-1111-2222-3333-444444444444 is not valid";
        let RetryAction::DontRetry(error) = p.classify(401, &HeaderMap::new(), echo) else {
            panic!()
        };
        assert!(!error.to_string().contains(key.expose()), "{error}");
        let scrubbed = scrub(
            ConnectorError::Transport {
                service: SERVICE,
                message: format!("GET ?KEY={}", key.expose()),
            },
            &key,
        );
        assert_eq!(
            scrubbed.to_string(),
            "BuiltWith could not be reached: GET ?KEY=***"
        );
    }
}

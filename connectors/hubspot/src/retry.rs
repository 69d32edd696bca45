//! How HubSpot's answers are read: which are retried and for how long, and which
//! [`ConnectorError`] each error body becomes.
//!
//! - 429 `policyName: DAILY` → [`ConnectorError::QuotaExhausted`]: nothing to retry today.
//! - 429 `SECONDLY` (search) → retry after 1 s; `TEN_SECONDLY_ROLLING` and others → retry
//!   with jittered backoff (HubSpot sends no `Retry-After`; one is honoured if present).
//! - 5xx (JSON or a gateway's HTML) → retry.
//! - 401 → `Auth`; 403 (`MISSING_SCOPES`) → `Auth` naming the scopes.
//! - 400 `VALIDATION_ERROR` → `Validation` naming the property (from `errors[].in`,
//!   `errors[].context.propertyName`, or the JSON list HubSpot embeds in its message).
//! - 404 → `NotFound`; anything else → `Unexpected`.
//!
//! A response with `X-HubSpot-RateLimit-Remaining: 0` (or `...-Secondly-Remaining: 0`)
//! pauses the client for one slot of that window, so a shared account's budget isn't
//! overrun by the next request.

use std::time::{Duration, SystemTime};

use firmo_connect::http::{RetryAction, RetryPolicy, body_excerpt, retry_after};
use firmo_connect::{ConnectorError, Service};
use reqwest::header::HeaderMap;

use crate::wire::StandardError;

const SERVICE: Service = Service::Hubspot;

/// The retry policy of every HubSpot call.
#[derive(Debug, Clone, Copy, Default)]
pub struct HubspotRetryPolicy;

impl RetryPolicy for HubspotRetryPolicy {
    fn classify(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> RetryAction {
        match status {
            200..=299 => RetryAction::Done,
            429 => {
                let parsed = parse_error(body);
                let policy = parsed
                    .policy_name
                    .clone()
                    .unwrap_or_else(|| "unnamed".to_owned());
                if policy == "DAILY" {
                    return RetryAction::DontRetry(ConnectorError::QuotaExhausted {
                        service: SERVICE,
                        message: format!(
                            "the account's daily API limit is used up: {}",
                            message_of(&parsed, body)
                        ),
                    });
                }
                let after = retry_after(headers, SystemTime::now())
                    .or_else(|| (policy == "SECONDLY").then_some(Duration::from_secs(1)));
                RetryAction::Retry {
                    after,
                    error: ConnectorError::RateLimited {
                        service: SERVICE,
                        policy,
                        retry_after: after,
                    },
                }
            }
            500..=599 => RetryAction::Retry {
                after: retry_after(headers, SystemTime::now()),
                error: error_from_body(status, body),
            },
            _ => RetryAction::DontRetry(error_from_body(status, body)),
        }
    }

    fn throttle(&self, _status: u16, headers: &HeaderMap) -> Option<Duration> {
        let number =
            |name: &str| -> Option<u64> { headers.get(name)?.to_str().ok()?.trim().parse().ok() };
        let mut pause = None;
        if number("x-hubspot-ratelimit-remaining") == Some(0) {
            let interval = number("x-hubspot-ratelimit-interval-milliseconds").unwrap_or(10_000);
            let max = number("x-hubspot-ratelimit-max").unwrap_or(100).max(1);
            pause = Some(Duration::from_millis(interval / max));
        }
        if number("x-hubspot-ratelimit-secondly-remaining") == Some(0) {
            let per_second = number("x-hubspot-ratelimit-secondly").unwrap_or(10).max(1);
            let slot = Duration::from_millis(1000 / per_second);
            pause = Some(pause.map_or(slot, |p: Duration| p.max(slot)));
        }
        pause
    }
}

/// Parses an error body; an empty default when it isn't HubSpot's JSON (a gateway page).
pub(crate) fn parse_error(body: &[u8]) -> StandardError {
    serde_json::from_slice(body).unwrap_or_default()
}

fn message_of(parsed: &StandardError, body: &[u8]) -> String {
    parsed
        .message
        .clone()
        .filter(|m| !m.trim().is_empty())
        .unwrap_or_else(|| body_excerpt(body))
}

/// The error a non-2xx HubSpot answer means.
pub(crate) fn error_from_body(status: u16, body: &[u8]) -> ConnectorError {
    let parsed = parse_error(body);
    let mut error = error_from_standard(&parsed, status);
    // A non-JSON body (a gateway's HTML page) still says something useful.
    if parsed.message.is_none()
        && let ConnectorError::Server { message, .. } | ConnectorError::Unexpected { message, .. } =
            &mut error
    {
        *message = body_excerpt(body);
    }
    error
}

/// The error one `StandardError` means; `status` is the HTTP status of the answer (or,
/// for a 207 entry, its own `status` when numeric).
pub(crate) fn error_from_standard(e: &StandardError, status: u16) -> ConnectorError {
    let category = e.category.as_deref().unwrap_or("");
    let message = e
        .message
        .clone()
        .filter(|m| !m.trim().is_empty())
        .unwrap_or_else(|| format!("HTTP {status} {category}").trim().to_owned());
    match (status, category) {
        (_, "RATE_LIMITS") | (429, _) => {
            if e.policy_name.as_deref() == Some("DAILY") {
                ConnectorError::QuotaExhausted {
                    service: SERVICE,
                    message,
                }
            } else {
                ConnectorError::RateLimited {
                    service: SERVICE,
                    policy: e.policy_name.clone().unwrap_or_else(|| "unnamed".into()),
                    retry_after: None,
                }
            }
        }
        (401, _) | (_, "INVALID_AUTHENTICATION") => ConnectorError::Auth {
            service: SERVICE,
            message,
        },
        (403, _) | (_, "MISSING_SCOPES") => {
            let scopes: Vec<String> = ["requiredScopes", "missingScopes", "requiredGranularScopes"]
                .iter()
                .flat_map(|k| e.context_strings(k))
                .chain(e.errors.iter().flat_map(|d| {
                    ["requiredScopes", "missingScopes"]
                        .iter()
                        .flat_map(|k| strings(d.context.get(*k)))
                        .collect::<Vec<_>>()
                }))
                .collect();
            let message = if scopes.is_empty() {
                message
            } else {
                format!("{message} (the token lacks scopes: {})", scopes.join(", "))
            };
            ConnectorError::Auth {
                service: SERVICE,
                message,
            }
        }
        (404, _) | (_, "OBJECT_NOT_FOUND") => ConnectorError::NotFound {
            service: SERVICE,
            what: message,
        },
        (500..=599, _) => ConnectorError::Server {
            service: SERVICE,
            status,
            message,
        },
        (400 | 422, _) | (_, "VALIDATION_ERROR") if let Some(rule) = portal_rule(e) => rule,
        (400 | 422, _) | (_, "VALIDATION_ERROR") => {
            let (property, detail) = validation_detail(e);
            ConnectorError::Validation {
                service: SERVICE,
                property,
                value: None,
                message: detail.unwrap_or(message),
            }
        }
        _ => ConnectorError::Unexpected {
            service: SERVICE,
            status,
            message,
        },
    }
}

/// The codes HubSpot's 2026-09 write validation gives a portal's own rules (changelog
/// "CRM API write validation enforcement"): a conditionally required property, and a
/// property the Create Record form requires.
const PORTAL_RULE_CODES: [&str; 2] = [
    "MISSING_CONDITIONAL_REQUIRED_PROPERTY",
    "MISSING_REQUIRED_PROPERTY",
];

/// A validation error caused by a portal rule rather than by a value, as its own error
/// so the report can say so.
fn portal_rule(e: &StandardError) -> Option<ConnectorError> {
    let detail = e.errors.iter().find(|d| {
        d.code
            .as_deref()
            .is_some_and(|c| PORTAL_RULE_CODES.contains(&c))
    })?;
    let property = strings(detail.context.get("propertyName"))
        .into_iter()
        .next()
        .or_else(|| e.context_strings("propertyName").into_iter().next());
    let message = detail
        .message
        .clone()
        .or_else(|| e.message.clone())
        .unwrap_or_default();
    Some(ConnectorError::PortalRule {
        service: SERVICE,
        rule: detail.code.clone().unwrap_or_default(),
        property,
        message,
    })
}

fn strings(v: Option<&serde_json::Value>) -> Vec<String> {
    match v {
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_owned))
            .collect(),
        Some(serde_json::Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// The property a validation error is about, and a message naming each problem
/// (`INVALID_OPTION: "series_z" was not one of the allowed options`).
fn validation_detail(e: &StandardError) -> (Option<String>, Option<String>) {
    let mut problems: Vec<(Option<String>, String)> = e
        .errors
        .iter()
        .map(|d| {
            let property = d
                .in_
                .clone()
                .or_else(|| strings(d.context.get("propertyName")).into_iter().next());
            let text = d.message.clone().unwrap_or_default();
            let text = match &d.code {
                Some(code) if !text.contains(code.as_str()) => format!("{code}: {text}"),
                _ => text,
            };
            (property, text)
        })
        .collect();
    // HubSpot's property-value errors embed a JSON list in the message:
    // `Property values were not valid: [{"isValid":false,"message":..,"error":..,"name":..}]`.
    if problems.iter().all(|(p, _)| p.is_none())
        && let Some(message) = &e.message
        && let Some(start) = message.find('[')
        && let Ok(list) = serde_json::from_str::<Vec<serde_json::Value>>(&message[start..])
    {
        problems = list
            .iter()
            .map(|item| {
                let name = item.get("name").and_then(|v| v.as_str()).map(str::to_owned);
                let text = item
                    .get("message")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default();
                let code = item
                    .get("error")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default();
                let text = if code.is_empty() || text.contains(code) {
                    text.to_owned()
                } else {
                    format!("{code}: {text}")
                };
                (name, text)
            })
            .collect();
    }
    let property = problems
        .iter()
        .find_map(|(p, _)| p.clone())
        .or_else(|| e.context_strings("propertyName").into_iter().next());
    let texts: Vec<String> = problems
        .into_iter()
        .filter(|(_, t)| !t.is_empty())
        .map(|(p, t)| match p {
            Some(p) if !t.contains(p.as_str()) => format!("{p}: {t}"),
            _ => t,
        })
        .collect();
    let detail = (!texts.is_empty()).then(|| texts.join("; "));
    (property, detail)
}

/// Whether a 207 entry's error is worth sending again (rate limits, server errors).
pub(crate) fn entry_is_transient(e: &StandardError) -> bool {
    let status = e.status.as_deref().and_then(|s| s.parse::<u16>().ok());
    matches!(
        e.category.as_deref(),
        Some("RATE_LIMITS" | "INTERNAL_ERROR" | "SERVICE_UNAVAILABLE" | "TIMEOUT")
    ) || status.is_some_and(|s| s == 429 || s >= 500)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(status: u16, body: &str) -> RetryAction {
        HubspotRetryPolicy.classify(status, &HeaderMap::new(), body.as_bytes())
    }

    #[test]
    fn daily_429_stops_and_rolling_429_retries() {
        let daily = r#"{"status":"error","message":"You have reached your daily limit.","errorType":"RATE_LIMIT","correlationId":"x","policyName":"DAILY","category":"RATE_LIMITS"}"#;
        let RetryAction::DontRetry(e) = classify(429, daily) else {
            panic!("daily must not be retried")
        };
        assert!(matches!(e, ConnectorError::QuotaExhausted { .. }) && e.stops_service());
        let rolling = daily.replace("DAILY", "TEN_SECONDLY_ROLLING");
        assert!(matches!(
            classify(429, &rolling),
            RetryAction::Retry { after: None, error: ConnectorError::RateLimited { ref policy, .. } } if policy == "TEN_SECONDLY_ROLLING"
        ));
        let secondly = daily.replace("DAILY", "SECONDLY");
        assert!(matches!(
            classify(429, &secondly),
            RetryAction::Retry { after: Some(d), .. } if d == Duration::from_secs(1)
        ));
    }

    #[test]
    fn validation_names_the_property_from_errors_or_the_embedded_list() {
        let detail = r#"{"status":"error","message":"Property values were not valid","category":"VALIDATION_ERROR","errors":[{"message":"\"series_z\" was not one of the allowed options","code":"INVALID_OPTION","in":"firmo_funding_stage"}]}"#;
        let RetryAction::DontRetry(ConnectorError::Validation {
            property, message, ..
        }) = classify(400, detail)
        else {
            panic!("a validation error")
        };
        assert_eq!(property.as_deref(), Some("firmo_funding_stage"));
        assert!(
            message.contains("INVALID_OPTION") && message.contains("series_z"),
            "{message}"
        );

        let embedded = r#"{"status":"error","message":"Property values were not valid: [{\"isValid\":false,\"message\":\"1.5 is not a valid integer\",\"error\":\"INVALID_INTEGER\",\"name\":\"numberofemployees\"}]","correlationId":"c","category":"VALIDATION_ERROR"}"#;
        let RetryAction::DontRetry(ConnectorError::Validation {
            property, message, ..
        }) = classify(400, embedded)
        else {
            panic!("a validation error")
        };
        assert_eq!(property.as_deref(), Some("numberofemployees"));
        assert!(message.contains("INVALID_INTEGER"), "{message}");
    }

    #[test]
    fn auth_scopes_not_found_and_gateways() {
        let scopes = r#"{"status":"error","message":"This app hasn't been granted all required scopes to make this call.","category":"MISSING_SCOPES","errors":[{"message":"One or more of the following scopes are required.","context":{"requiredScopes":["crm.objects.companies.write"]}}]}"#;
        let RetryAction::DontRetry(ConnectorError::Auth { message, .. }) = classify(403, scopes)
        else {
            panic!("auth")
        };
        assert!(message.contains("crm.objects.companies.write"), "{message}");
        assert!(matches!(
            classify(404, r#"{"message":"nope","category":"OBJECT_NOT_FOUND"}"#),
            RetryAction::DontRetry(ConnectorError::NotFound { .. })
        ));
        let RetryAction::Retry {
            error: ConnectorError::Server {
                status, message, ..
            },
            ..
        } = classify(502, "<html><title>502 Bad Gateway</title></html>")
        else {
            panic!("retry a gateway error")
        };
        assert_eq!(status, 502);
        assert!(message.contains("Bad Gateway"));
    }

    #[test]
    fn remaining_zero_pauses_one_slot() {
        let mut h = HeaderMap::new();
        h.insert("x-hubspot-ratelimit-remaining", "0".parse().unwrap());
        h.insert("x-hubspot-ratelimit-max", "100".parse().unwrap());
        h.insert(
            "x-hubspot-ratelimit-interval-milliseconds",
            "10000".parse().unwrap(),
        );
        assert_eq!(
            HubspotRetryPolicy.throttle(200, &h),
            Some(Duration::from_millis(100))
        );
        h.insert("x-hubspot-ratelimit-remaining", "7".parse().unwrap());
        assert_eq!(HubspotRetryPolicy.throttle(200, &h), None);
    }
}

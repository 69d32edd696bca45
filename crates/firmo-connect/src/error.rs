//! One error type for every connector, so the engine can tell what to do next (stop the
//! run, stop one provider, wait, retry, report a record) without knowing the connector.

use std::time::Duration;

/// Which remote service an error came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    Hubspot,
    Clay,
    Clearbit,
    #[serde(rename = "builtwith")]
    BuiltWith,
    Crunchbase,
}

impl Service {
    pub const fn name(self) -> &'static str {
        match self {
            Service::Hubspot => "HubSpot",
            Service::Clay => "Clay",
            Service::Clearbit => "Clearbit",
            Service::BuiltWith => "BuiltWith",
            Service::Crunchbase => "Crunchbase",
        }
    }
}

impl std::fmt::Display for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What went wrong talking to a service. Messages never contain secrets.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConnectorError {
    /// The credentials were refused (401), or lack a scope (403).
    #[error("{service} refused the credentials: {message}")]
    Auth { service: Service, message: String },

    /// The service rejected a value or request as invalid (400/422).
    #[error("{service} rejected the request{}: {message}", describe_property(property.as_deref(), value.as_deref()))]
    Validation {
        service: Service,
        property: Option<String>,
        value: Option<String>,
        message: String,
    },

    /// A write the account's own validation rules refused (HubSpot from API version
    /// 2026-09: a conditionally required property, a property required on create): the
    /// value firmo sent is not at fault; the portal's settings are. `rule` is the
    /// service's code for the rule (`MISSING_CONDITIONAL_REQUIRED_PROPERTY`), `message`
    /// its own words.
    #[error("{service}: rejected by a portal rule{}: {message}", property.as_deref().map(|p| format!(" (property `{p}`)")).unwrap_or_default())]
    PortalRule {
        service: Service,
        rule: String,
        property: Option<String>,
        message: String,
    },

    /// Creating what was asked would exceed a limit of the account (custom properties
    /// left for its tier, options per property, characters per option); nothing was
    /// created.
    #[error("{service}: {message}")]
    Capacity { service: Service, message: String },

    /// The object asked for does not exist (for CRM objects; a provider's "no company
    /// for this domain" is a [`crate::LookupOutcome::NotFound`], not an error).
    #[error("{service}: not found: {what}")]
    NotFound { service: Service, what: String },

    /// Over a short-window rate limit: wait `retry_after` (when the service said) and retry.
    #[error("{service} rate limit hit ({policy}){}", retry_after.map(|d| format!(", retry after {} ms", d.as_millis())).unwrap_or_default())]
    RateLimited {
        service: Service,
        policy: String,
        retry_after: Option<Duration>,
    },

    /// Out of credits, plan quota or daily limit: stop calling this service for the run.
    #[error("{service} quota exhausted: {message}")]
    QuotaExhausted { service: Service, message: String },

    /// A 5xx answer.
    #[error("{service} server error (HTTP {status}): {message}")]
    Server {
        service: Service,
        status: u16,
        message: String,
    },

    /// No answer in time.
    #[error("{service} did not answer within {} ms", timeout.as_millis())]
    Timeout { service: Service, timeout: Duration },

    /// Connection refused, reset, DNS failure and the like.
    #[error("{service} could not be reached: {message}")]
    Transport { service: Service, message: String },

    /// The answer could not be understood: names the JSON path that surprised us.
    #[error("{service} sent a response firmo can't read at `{path}`: {message}")]
    Malformed {
        service: Service,
        path: String,
        message: String,
    },

    /// The response was larger than the configured limit.
    #[error("{service} sent a response over the {limit} byte limit")]
    TooLarge { service: Service, limit: u64 },

    /// Any other unexpected HTTP status.
    #[error("{service} answered HTTP {status}: {message}")]
    Unexpected {
        service: Service,
        status: u16,
        message: String,
    },
}

fn describe_property(property: Option<&str>, value: Option<&str>) -> String {
    match (property, value) {
        (Some(p), Some(v)) => format!(" (property `{p}`, value {v:?})"),
        (Some(p), None) => format!(" (property `{p}`)"),
        (None, Some(v)) => format!(" (value {v:?})"),
        (None, None) => String::new(),
    }
}

impl ConnectorError {
    pub fn service(&self) -> Service {
        match self {
            ConnectorError::Auth { service, .. }
            | ConnectorError::Validation { service, .. }
            | ConnectorError::PortalRule { service, .. }
            | ConnectorError::Capacity { service, .. }
            | ConnectorError::NotFound { service, .. }
            | ConnectorError::RateLimited { service, .. }
            | ConnectorError::QuotaExhausted { service, .. }
            | ConnectorError::Server { service, .. }
            | ConnectorError::Timeout { service, .. }
            | ConnectorError::Transport { service, .. }
            | ConnectorError::Malformed { service, .. }
            | ConnectorError::TooLarge { service, .. }
            | ConnectorError::Unexpected { service, .. } => *service,
        }
    }

    /// Whether trying the same request again later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ConnectorError::RateLimited { .. }
                | ConnectorError::Server { .. }
                | ConnectorError::Timeout { .. }
                | ConnectorError::Transport { .. }
        )
    }

    /// Whether the service should not be called again this run (bad key, no quota).
    pub fn stops_service(&self) -> bool {
        matches!(
            self,
            ConnectorError::Auth { .. } | ConnectorError::QuotaExhausted { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_service_property_and_value() {
        let e = ConnectorError::Validation {
            service: Service::Hubspot,
            property: Some("firmo_funding_stage".into()),
            value: Some("series_z".into()),
            message: "not one of the allowed options".into(),
        };
        assert_eq!(
            e.to_string(),
            "HubSpot rejected the request (property `firmo_funding_stage`, value \"series_z\"): not one of the allowed options"
        );
        let e = ConnectorError::RateLimited {
            service: Service::Clearbit,
            policy: "per-minute".into(),
            retry_after: Some(Duration::from_millis(1500)),
        };
        assert_eq!(
            e.to_string(),
            "Clearbit rate limit hit (per-minute), retry after 1500 ms"
        );
        assert!(e.is_transient() && !e.stops_service());
        let e = ConnectorError::PortalRule {
            service: Service::Hubspot,
            rule: "MISSING_CONDITIONAL_REQUIRED_PROPERTY".into(),
            property: Some("state".into()),
            message: "state is required because of a conditional property rule based on [country]"
                .into(),
        };
        assert_eq!(
            e.to_string(),
            "HubSpot: rejected by a portal rule (property `state`): state is required because of a conditional property rule based on [country]"
        );
        assert!(!e.is_transient() && !e.stops_service());
    }
}

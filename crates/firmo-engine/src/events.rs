//! Typed events for everything that costs or drops: one function per event, one
//! `tracing` line each, with stable field names (what log pipelines key on).

use firmo_connect::ConnectorError;

/// A provider lookup was paid for.
pub(crate) fn credit_spent(provider: &str, domain: &str, credits: f64) {
    tracing::debug!(
        event = "credit_spent",
        provider,
        domain,
        credits,
        "lookup charged"
    );
}

/// A due lookup was deferred by the run's budget (intentional drop: next run picks it up).
pub(crate) fn lookup_deferred(provider: &str, domain: &str) {
    tracing::debug!(
        event = "lookup_deferred",
        provider,
        domain,
        intentional = true,
        "over budget, deferred"
    );
}

/// A lookup failed (unintentional: reported in the run summary).
pub(crate) fn lookup_failed(provider: &str, domain: &str, error: &ConnectorError) {
    tracing::warn!(event = "lookup_failed", provider, domain, error = %error, intentional = false, "lookup failed");
}

/// A provider was stopped for the rest of the run (bad key, out of credits).
pub(crate) fn provider_stopped(provider: &str, error: &ConnectorError) {
    tracing::warn!(event = "provider_stopped", provider, error = %error, "provider stopped for this run; others continue");
}

/// A value was not written because a quality rule rejected it.
pub(crate) fn record_rejected(account: &str, code: &str, message: &str) {
    tracing::info!(
        event = "record_rejected",
        account,
        code,
        message,
        "value rejected"
    );
}

/// A CRM write failed for one record.
pub(crate) fn write_failed(account: &str, error: &ConnectorError) {
    tracing::warn!(event = "write_failed", account, error = %error, intentional = false, "CRM write failed");
}

/// A property was not written because a human edited it since firmo wrote it.
pub(crate) fn human_edit_kept(account: &str, property: &str) {
    tracing::debug!(
        event = "human_edit_kept",
        account,
        property,
        intentional = true,
        "human edit kept"
    );
}

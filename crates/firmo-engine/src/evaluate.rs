//! Evaluate: the merged record, its findings and signals (core's one composition), then
//! what firmo wants the CRM to hold for the account and how that differs from what it
//! holds now.

use std::collections::BTreeMap;

use firmo_connect::crm::{PropertyDef, PropertyType, format_timestamp};
use firmo_core::{Field, Severity, UnixMillis};
use serde::Serialize;

pub use firmo_core::{Evaluation, evaluate as evaluate_records};

use crate::config::{Config, OverwritePolicy};
use crate::diff::{Desired, Diff, diff};
use crate::enrich::Enriched;
use crate::properties::{self, ENRICHED_AT, SOURCES, format_for};

/// A value that failed the pre-write check against the live property definition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PreflightRejection {
    /// A mapped built-in property (a note), not one of firmo's own (a rejection).
    pub mapped: bool,
    pub property: String,
    pub value: String,
    pub reason: String,
}

/// An account ready for its verdict: enriched, and compared with the CRM.
#[derive(Debug, Clone)]
pub struct Evaluated {
    pub enriched: Enriched,
    pub diff: Diff,
    pub preflight: Vec<PreflightRejection>,
}

/// Compares what firmo wants for `enriched` with the CRM's values and firmo's journal
/// (property → value firmo last wrote to this record).
pub fn against_crm(
    config: &Config,
    enriched: Enriched,
    journal: &BTreeMap<String, String>,
    live: &BTreeMap<String, PropertyDef>,
    now: UnixMillis,
) -> Evaluated {
    let (desired, preflight) = desired_properties(config, &enriched, live);
    let mut d = diff(&desired, &enriched.account.properties, journal, live);
    if !d.changes.is_empty() {
        d.changes
            .insert(ENRICHED_AT.to_owned(), format_timestamp(now));
    }
    Evaluated {
        enriched,
        diff: d,
        preflight,
    }
}

/// What firmo wants the CRM to hold for this account, after the quality rules (rejected
/// fields are left out) and the pre-write check against the live definitions.
pub fn desired_properties(
    config: &Config,
    e: &Enriched,
    live: &BTreeMap<String, PropertyDef>,
) -> (Vec<Desired>, Vec<PreflightRejection>) {
    let mut desired = Vec::new();
    let mut rejected = Vec::new();
    if e.domain.is_err() {
        return (desired, rejected);
    }
    let merged = &e.evaluation.merged;
    let blocked = |field: Field| {
        e.evaluation
            .findings
            .iter()
            .any(|f| f.severity == Severity::Reject && f.field == Some(field))
    };
    let mut push = |property: String, value: &firmo_core::Value, policy: OverwritePolicy| {
        let Some(def) = live.get(&property) else {
            // `diff` reports a property the CRM lacks as missing.
            desired.push(Desired {
                property,
                value: String::new(),
                policy,
            });
            return;
        };
        match format_for(def, value) {
            Ok(text) => desired.push(Desired {
                property,
                value: text,
                policy,
            }),
            Err(err) => rejected.push(PreflightRejection {
                // A firmo property's value is the record's; a built-in mapping is a
                // best-effort copy, so its failure doesn't reject the account.
                mapped: !properties::is_firmo_property(&err.property),
                property: err.property,
                value: err.value,
                reason: err.reason,
            }),
        }
    };
    for (field, m) in &merged.fields {
        if blocked(*field) {
            continue;
        }
        push(field.property_name(), &m.value, OverwritePolicy::Owned);
        for (_, mapping) in config.mapping.iter().filter(|(f, _)| f == field) {
            if let Some(v) = properties::mapped_value(*field, &mapping.property, &m.value) {
                push(mapping.property.clone(), &v, mapping.overwrite);
            }
        }
    }
    desired.retain(|d| !d.value.is_empty() || !live.contains_key(&d.property));
    desired.extend(signals_and_sources(e, live));
    (desired, rejected)
}

/// The signals the CRM has a property for, and `firmo_sources` (which source supplied
/// which field): firmo's own, written whenever they change.
fn signals_and_sources(e: &Enriched, live: &BTreeMap<String, PropertyDef>) -> Vec<Desired> {
    let mut desired = Vec::new();
    for (name, value) in &e.evaluation.signals {
        let property = format!("{}{name}", firmo_core::field::PROPERTY_PREFIX);
        if live.get(&property).is_some_and(|d| {
            matches!(
                d.property_type,
                PropertyType::Bool | PropertyType::Enumeration
            )
        }) {
            desired.push(Desired {
                property,
                value: value.to_string(),
                policy: OverwritePolicy::Owned,
            });
        }
    }
    let merged = &e.evaluation.merged;
    if !merged.fields.is_empty() && live.contains_key(SOURCES) {
        let sources = merged
            .fields
            .iter()
            .map(|(f, m)| format!("{}={}", f.name(), m.source.name()))
            .collect::<Vec<_>>()
            .join(";");
        desired.push(Desired {
            property: SOURCES.to_owned(),
            value: sources,
            policy: OverwritePolicy::Owned,
        });
    }
    desired
}

//! Evaluate: the merged record, its findings and signals (core's one composition), then
//! what firmo wants the CRM to hold for the account and how that differs from what it
//! holds now.

use std::collections::BTreeMap;

use firmo_connect::crm::{Crm, PropertyDef, PropertyType, format_timestamp};
use firmo_core::{Field, Severity, UnixMillis, Value};
use serde::Serialize;

pub use firmo_core::{Evaluation, evaluate as evaluate_records};

use crate::config::{Config, OverwritePolicy};
use crate::diff::{Desired, Diff, diff};
use crate::enrich::Enriched;
use crate::properties::{self, ENRICHED_AT, SOURCES};

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
/// (property → value firmo last wrote to this record); `crm` encodes and compares the
/// values.
pub fn against_crm(
    config: &Config,
    crm: &dyn Crm,
    enriched: Enriched,
    journal: &BTreeMap<String, String>,
    live: &BTreeMap<String, PropertyDef>,
    now: UnixMillis,
) -> Evaluated {
    let (desired, preflight) = desired_properties(config, crm, &enriched, live);
    let mut d = diff(crm, &desired, &enriched.account.properties, journal, live);
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
/// fields are left out) and the CRM's pre-write check against the live definitions.
pub fn desired_properties(
    config: &Config,
    crm: &dyn Crm,
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
    let mut push = |property: String, value: &Value, policy: OverwritePolicy| {
        let Some(def) = live.get(&property) else {
            // `diff` reports a property the CRM lacks as missing.
            desired.push(Desired {
                property,
                value: String::new(),
                policy,
            });
            return;
        };
        match crm.encode_value(def, value) {
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
                reason: err.problem,
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
    let (own, own_rejected) = signals_and_sources(crm, e, live);
    desired.extend(own);
    rejected.extend(own_rejected);
    (desired, rejected)
}

/// The signals the CRM has a property for, and `firmo_sources` (which source supplied
/// which field): firmo's own, written whenever they change, encoded by the CRM as every
/// other value is.
fn signals_and_sources(
    crm: &dyn Crm,
    e: &Enriched,
    live: &BTreeMap<String, PropertyDef>,
) -> (Vec<Desired>, Vec<PreflightRejection>) {
    let mut wanted: Vec<(&PropertyDef, Value)> = Vec::new();
    for (name, value) in &e.evaluation.signals {
        let property = format!("{}{name}", firmo_core::field::PROPERTY_PREFIX);
        if let Some(def) = live.get(&property).filter(|d| {
            matches!(
                d.property_type,
                PropertyType::Bool | PropertyType::Enumeration
            )
        }) {
            wanted.push((def, Value::Text(value.to_string())));
        }
    }
    let merged = &e.evaluation.merged;
    if let Some(def) = live.get(SOURCES).filter(|_| !merged.fields.is_empty()) {
        let sources = merged
            .fields
            .iter()
            .map(|(f, m)| format!("{}={}", f.name(), m.source.name()))
            .collect::<Vec<_>>()
            .join(";");
        wanted.push((def, Value::Text(sources)));
    }
    let mut desired = Vec::with_capacity(wanted.len());
    let mut rejected = Vec::new();
    for (def, value) in wanted {
        match crm.encode_value(def, &value) {
            Ok(text) => desired.push(Desired {
                property: def.name.clone(),
                value: text,
                policy: OverwritePolicy::Owned,
            }),
            Err(err) => rejected.push(PreflightRejection {
                mapped: false,
                property: err.property,
                value: err.value,
                reason: err.problem,
            }),
        }
    }
    (desired, rejected)
}

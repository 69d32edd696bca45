//! Setup: make sure the CRM has firmo's property group and properties (creating what is
//! missing unless this is a dry run), and learn the live definitions every value is
//! checked against before it is written.

use std::collections::BTreeMap;
use std::fmt;

use firmo_connect::ConnectorError;
use firmo_connect::crm::{Crm, EnsureOutcome, PropertyDef};
use serde::{Serialize, Serializer};

use crate::properties;

/// What setup found or did for one of firmo's properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropertyStatus {
    Exists,
    Created,
    /// Dry run: the real run creates it.
    WouldCreate,
    /// An enumeration that lacked some of firmo's options; they were added.
    OptionsAdded(Vec<String>),
    /// It exists with another type: left alone, and never written.
    Mismatch {
        wants: String,
        has: String,
    },
}

impl fmt::Display for PropertyStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PropertyStatus::Exists => f.write_str("exists"),
            PropertyStatus::Created => f.write_str("created"),
            PropertyStatus::WouldCreate => f.write_str("would create"),
            PropertyStatus::OptionsAdded(o) => write!(f, "options added: {}", o.join(", ")),
            PropertyStatus::Mismatch { wants, has } => {
                write!(f, "mismatch: wants {wants}, CRM has {has}")
            }
        }
    }
}

// `--json` shows the status as the text the table shows (a stable key since the first
// release).
impl Serialize for PropertyStatus {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One of firmo's properties after setup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PropertyReport {
    pub name: String,
    pub status: PropertyStatus,
}

/// The live definitions firmo may write to, and what setup did.
#[derive(Debug, Clone)]
pub struct Setup {
    pub live: BTreeMap<String, PropertyDef>,
    pub report: Vec<PropertyReport>,
    /// CRM calls setup made.
    pub calls: u64,
}

impl Setup {
    /// The calls a real run's setup would add to a dry run's (create the group, each
    /// property, read the definitions back).
    pub fn calls_to_create(&self) -> u64 {
        let creates = self
            .report
            .iter()
            .filter(|p| p.status == PropertyStatus::WouldCreate)
            .count() as u64;
        if creates > 0 { creates + 2 } else { 0 }
    }
}

/// Creates what is missing of firmo's group and properties (unless `dry_run`) and reads
/// the live definitions.
pub async fn prepare(crm: &dyn Crm, dry_run: bool) -> Result<Setup, ConnectorError> {
    let mut calls = 1;
    let mut live = properties::index(crm.list_properties().await?);
    let wanted = properties::desired_properties();
    let missing = wanted.iter().any(|w| !live.contains_key(&w.name));
    if missing && !dry_run {
        crm.ensure_group(&properties::group()).await?;
        calls += 1;
    }
    let mut report = Vec::with_capacity(wanted.len());
    for want in &wanted {
        let status = match live.get(&want.name) {
            Some(have) if have.property_type != want.property_type => PropertyStatus::Mismatch {
                wants: want.property_type.to_string(),
                has: have.property_type.to_string(),
            },
            Some(_) => PropertyStatus::Exists,
            None if dry_run => PropertyStatus::WouldCreate,
            None => {
                calls += 1;
                match crm.ensure_property(want).await? {
                    EnsureOutcome::Created => PropertyStatus::Created,
                    EnsureOutcome::Unchanged => PropertyStatus::Exists,
                    EnsureOutcome::OptionsAdded(o) => PropertyStatus::OptionsAdded(o),
                    EnsureOutcome::Mismatch { expected, found } => PropertyStatus::Mismatch {
                        wants: expected,
                        has: found,
                    },
                }
            }
        };
        report.push(PropertyReport {
            name: want.name.clone(),
            status,
        });
    }
    if missing && !dry_run {
        live = properties::index(crm.list_properties().await?);
        calls += 1;
    }
    // A property of the wrong type is never written (reported, not clobbered).
    for r in &report {
        if matches!(r.status, PropertyStatus::Mismatch { .. }) {
            live.remove(&r.name);
        }
    }
    Ok(Setup {
        live,
        report,
        calls,
    })
}

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
    /// The calls a real run's setup would add to a dry run's list: the capacity check,
    /// the group create and one batch create per 100 missing properties.
    pub fn calls_to_create(&self) -> u64 {
        let creates = self
            .report
            .iter()
            .filter(|p| p.status == PropertyStatus::WouldCreate)
            .count() as u64;
        if creates > 0 {
            creates.div_ceil(BATCH_CREATE_LIMIT) + 2
        } else {
            0
        }
    }
}

/// Most properties one batch create takes (HubSpot: 100 inputs per batch call).
const BATCH_CREATE_LIMIT: u64 = 100;

impl From<EnsureOutcome> for PropertyStatus {
    fn from(outcome: EnsureOutcome) -> PropertyStatus {
        match outcome {
            EnsureOutcome::Created => PropertyStatus::Created,
            EnsureOutcome::Unchanged => PropertyStatus::Exists,
            EnsureOutcome::OptionsAdded(o) => PropertyStatus::OptionsAdded(o),
            EnsureOutcome::Mismatch { expected, found } => PropertyStatus::Mismatch {
                wants: expected,
                has: found,
            },
        }
    }
}

/// Creates what is missing of firmo's group and properties (unless `dry_run`) and learns
/// the live definitions: one [`Crm::ensure_properties`] (a first sync on HubSpot: list,
/// capacity, group, batch create), or a dry run's single list.
pub async fn prepare(crm: &dyn Crm, dry_run: bool) -> Result<Setup, ConnectorError> {
    let wanted = properties::desired_properties();
    let (mut live, report, calls): (_, Vec<PropertyReport>, u64) = if dry_run {
        let live = properties::index(crm.list_properties().await?);
        let report = wanted
            .iter()
            .map(|want| PropertyReport {
                name: want.name.clone(),
                status: dry_status(want, live.get(&want.name)),
            })
            .collect();
        (live, report, 1)
    } else {
        let ensured = crm.ensure_properties(&properties::group(), &wanted).await?;
        let report = ensured
            .outcomes
            .into_iter()
            .map(|(name, outcome)| PropertyReport {
                name,
                status: outcome.into(),
            })
            .collect();
        (properties::index(ensured.live), report, ensured.calls)
    };
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

/// What a real run would find or do for `want`, from the listed definition alone.
fn dry_status(want: &PropertyDef, have: Option<&PropertyDef>) -> PropertyStatus {
    match have {
        Some(have) if have.property_type != want.property_type => PropertyStatus::Mismatch {
            wants: want.property_type.to_string(),
            has: have.property_type.to_string(),
        },
        Some(_) => PropertyStatus::Exists,
        None => PropertyStatus::WouldCreate,
    }
}

//! Quality findings: a rule violation is data, never an `Err`.

use serde::{Deserialize, Serialize};

use crate::contact::ContactField;
use crate::field::Field;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Written, but a human should look.
    Flag,
    /// Never written to the CRM.
    Reject,
}

/// One rule's verdict on one field (or on the record, when `field` is `None`). `F` is the
/// catalogue the field belongs to: company fields by default, [`ContactField`] for
/// contacts ([`ContactFinding`]); the same rules, codes and JSON shape serve both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding<F = Field> {
    /// The field the finding is about; `None` for record-level findings.
    pub field: Option<F>,
    /// Stable rule code, e.g. `FQ003`.
    pub code: String,
    /// Stable rule name, kebab-case, e.g. `headcount-out-of-range`.
    pub rule: String,
    pub severity: Severity,
    /// A sentence a person understands, naming the value and the limit.
    pub message: String,
}

/// A finding about a contact's field (`job_title`, `linkedin_url`, ...).
pub type ContactFinding = Finding<ContactField>;

//! The contact field catalogue, and the contact composition: a company's people (job
//! title, LinkedIn profile, seniority, start date in role), validated by the same rule
//! registry as company fields ([`crate::rules::RULES`], through
//! [`Rule::check_contact_field`](crate::rules::Rule::check_contact_field)), and the
//! executive changes the `exec_change` signal is derived from.
//!
//! Contact fields are a catalogue of their own, not more [`Field`](crate::Field)s: they
//! live on HubSpot contacts, not companies, and are never merged into a company record.
//!
//! ```
//! use firmo_core::contact::{evaluate_contact_json, ContactField};
//! use firmo_core::Date;
//!
//! let today = Date::new(2026, 11, 26).unwrap();
//! let contact = serde_json::json!({
//!     "job_title": "VP, Engineering",
//!     "linkedin_url": "https://www.linkedin.com/company/acme",
//!     "role_start_date": "2026-10-01"
//! });
//! let evaluation = evaluate_contact_json(&contact, today);
//! assert_eq!(evaluation.findings[0].field, Some(ContactField::LinkedinUrl));
//! assert_eq!(evaluation.findings[0].code, "FQ012");
//! assert!(evaluation.exec_change.is_some());
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::field::{CatalogueField, EnumOption, FieldKind};
use crate::finding::ContactFinding;
use crate::record::ExecChange;
use crate::rules::{UnknownField, ValidationContext, WrongType, contact_rules_for};
use crate::title::{EngineeringExec, engineering_exec};
use crate::value::{Date, Value, describe_json};

/// A field firmo enriches on a contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactField {
    JobTitle,
    LinkedinUrl,
    Seniority,
    RoleStartDate,
}

/// Everything firmo knows about one contact field.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ContactFieldSpec {
    pub field: ContactField,
    /// Stable snake_case name (JSON key).
    pub name: &'static str,
    pub label: &'static str,
    pub description: &'static str,
    pub kind: FieldKind,
}

/// Longest job title written. HubSpot's `jobtitle` is a single-line text property, which
/// takes up to 65,536 characters (knowledge.hubspot.com, "Property field types"): the
/// limit is firmo's, not the CRM's. Real titles are well under it; longer ones are
/// LinkedIn headlines pasted into the title.
pub const JOB_TITLE_MAX_LEN: usize = 200;

/// Canonical seniorities, most senior first: the common ground of People Data Labs'
/// `job_title_levels` and Apollo's person seniorities (see
/// [`normalize::seniority`](crate::normalize::seniority) for the mapping).
pub const SENIORITIES: &[EnumOption] = &[
    EnumOption {
        value: "owner",
        label: "Owner / founder",
    },
    EnumOption {
        value: "partner",
        label: "Partner",
    },
    EnumOption {
        value: "c_suite",
        label: "C-suite",
    },
    EnumOption {
        value: "vp",
        label: "Vice president",
    },
    EnumOption {
        value: "head",
        label: "Head of function",
    },
    EnumOption {
        value: "director",
        label: "Director",
    },
    EnumOption {
        value: "manager",
        label: "Manager",
    },
    EnumOption {
        value: "senior",
        label: "Senior individual contributor",
    },
    EnumOption {
        value: "entry",
        label: "Entry level",
    },
    EnumOption {
        value: "intern",
        label: "Intern / trainee",
    },
];

/// The contact fields, in report order.
pub const CONTACT_FIELDS: &[ContactFieldSpec] = &[
    ContactFieldSpec {
        field: ContactField::JobTitle,
        name: "job_title",
        label: "Job title",
        description: "The person's current title, as their best source gives it.",
        kind: FieldKind::Text {
            max_len: JOB_TITLE_MAX_LEN,
        },
    },
    ContactFieldSpec {
        field: ContactField::LinkedinUrl,
        name: "linkedin_url",
        label: "LinkedIn profile",
        description: "The person's LinkedIn profile, as https://www.linkedin.com/in/<name>.",
        kind: FieldKind::Text { max_len: 150 },
    },
    ContactFieldSpec {
        field: ContactField::Seniority,
        name: "seniority",
        label: "Seniority",
        description: "Level of the current role.",
        kind: FieldKind::Enum {
            options: SENIORITIES,
        },
    },
    ContactFieldSpec {
        field: ContactField::RoleStartDate,
        name: "role_start_date",
        label: "Start date in role",
        description: "When the person started their current role.",
        kind: FieldKind::Date { min_year: 1900 },
    },
];

impl ContactField {
    /// Every contact field, in catalogue order.
    pub const ALL: [ContactField; 4] = [
        ContactField::JobTitle,
        ContactField::LinkedinUrl,
        ContactField::Seniority,
        ContactField::RoleStartDate,
    ];

    pub fn spec(self) -> &'static ContactFieldSpec {
        // CONTACT_FIELDS is in `ALL` order; a test holds it there.
        &CONTACT_FIELDS[self as usize]
    }

    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// Parses a contact field name (case-insensitive, surrounding blanks ignored).
    pub fn from_name(name: &str) -> Option<ContactField> {
        let name = name.trim();
        ContactField::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(name))
    }
}

impl CatalogueField for ContactField {
    fn kind(self) -> FieldKind {
        self.spec().kind
    }
}

impl std::fmt::Display for ContactField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One contact's canonical values.
pub type Contact = BTreeMap<ContactField, Value>;

/// What [`evaluate_contact`] decides about one contact.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ContactEvaluation {
    /// Every rule's verdict, by field in catalogue order, then by rule code.
    pub findings: Vec<ContactFinding>,
    /// The executive-engineering role the title names, if any.
    pub exec_role: Option<EngineeringExec>,
    /// The contact as an executive change (title and start date) when the title is an
    /// executive-engineering role, the start date is known, and neither was rejected:
    /// what the `exec_change` signal counts.
    pub exec_change: Option<ExecChange>,
}

/// Validates one contact's values.
pub fn validate_contact(contact: &Contact, ctx: &ValidationContext) -> Vec<ContactFinding> {
    let mut out = Vec::new();
    for (field, value) in contact {
        for rule in contact_rules_for(*field) {
            rule.check_contact_field(*field, value, ctx, &mut out);
        }
    }
    sort(&mut out);
    out
}

/// Validates a contact, classifies its title and derives its executive change.
pub fn evaluate_contact(contact: &Contact, ctx: &ValidationContext) -> ContactEvaluation {
    let findings = validate_contact(contact, ctx);
    derive(contact, findings)
}

/// [`evaluate_contact`] for a plain JSON contact (`{"job_title": "CTO", ...}`); values of
/// the wrong type and unknown keys are findings, as for company records.
pub fn evaluate_contact_json(json: &serde_json::Value, today: Date) -> ContactEvaluation {
    let ctx = ValidationContext::new(today);
    let Some(object) = json.as_object() else {
        let message = format!(
            "a contact must be a JSON object of field values, got {}",
            describe_json(json)
        );
        return ContactEvaluation {
            findings: vec![WrongType::META.finding(None, message)],
            ..ContactEvaluation::default()
        };
    };
    let mut contact = Contact::new();
    let mut findings = Vec::new();
    let mut unknown: Vec<&str> = Vec::new();
    for (key, item) in object {
        let Some(field) = ContactField::ALL.into_iter().find(|f| f.name() == key) else {
            unknown.push(key);
            continue;
        };
        match parse_contact_field_json(field, item) {
            Ok(Some(value)) => {
                contact.insert(field, value);
            }
            Ok(None) => {}
            Err(finding) => findings.push(finding),
        }
    }
    findings.extend(validate_contact(&contact, &ctx));
    unknown.sort_unstable();
    findings.extend(unknown.into_iter().map(unknown_contact_field));
    sort(&mut findings);
    derive(&contact, findings)
}

/// Findings for one contact field's JSON value, the field given by name (case and
/// surrounding blanks ignored). An unknown name is a finding.
pub fn validate_contact_field_json(
    name: &str,
    json: &serde_json::Value,
    today: Date,
) -> Vec<ContactFinding> {
    let Some(field) = ContactField::from_name(name) else {
        return vec![unknown_contact_field(name)];
    };
    match parse_contact_field_json(field, json) {
        Ok(Some(value)) => {
            let ctx = ValidationContext::new(today);
            let mut out = Vec::new();
            for rule in contact_rules_for(field) {
                rule.check_contact_field(field, &value, &ctx, &mut out);
            }
            out
        }
        Ok(None) => Vec::new(),
        Err(finding) => vec![finding],
    }
}

/// Reads a JSON value as `field`'s type; `null` is no value.
pub fn parse_contact_field_json(
    field: ContactField,
    json: &serde_json::Value,
) -> Result<Option<Value>, ContactFinding> {
    use serde_json::Value as J;
    let value = match (field.kind(), json) {
        (_, J::Null) => return Ok(None),
        (FieldKind::Text { .. } | FieldKind::Enum { .. }, J::String(s)) => Value::Text(s.clone()),
        (FieldKind::Date { .. }, J::String(s)) => match Date::parse_iso(s) {
            Some(date) => Value::Date(date),
            None => return Err(WrongType::contact_mismatch(field, json)),
        },
        _ => return Err(WrongType::contact_mismatch(field, json)),
    };
    Ok(Some(value))
}

/// The executive changes among a company's contacts (see [`ContactEvaluation`]): the
/// input to [`compute_signals`](crate::compute_signals) once contacts feed it.
pub fn exec_changes(contacts: &[Contact], ctx: &ValidationContext) -> Vec<ExecChange> {
    contacts
        .iter()
        .filter_map(|c| evaluate_contact(c, ctx).exec_change)
        .collect()
}

fn derive(contact: &Contact, findings: Vec<ContactFinding>) -> ContactEvaluation {
    let rejected = |field: ContactField| {
        findings
            .iter()
            .any(|f| f.field == Some(field) && f.severity == crate::finding::Severity::Reject)
    };
    let title = match contact.get(&ContactField::JobTitle) {
        Some(Value::Text(title)) if !rejected(ContactField::JobTitle) => Some(title),
        _ => None,
    };
    let exec_role = title.and_then(|t| engineering_exec(t));
    let start = match contact.get(&ContactField::RoleStartDate) {
        Some(Value::Date(d)) if !rejected(ContactField::RoleStartDate) => Some(*d),
        _ => None,
    };
    let exec_change = match (exec_role, title, start) {
        (Some(_), Some(title), Some(date)) => Some(ExecChange {
            title: title.clone(),
            date,
        }),
        _ => None,
    };
    ContactEvaluation {
        findings,
        exec_role,
        exec_change,
    }
}

fn unknown_contact_field(key: &str) -> ContactFinding {
    let known: Vec<&str> = ContactField::ALL.iter().map(|f| f.name()).collect();
    let suggestion = ContactField::from_name(key).map(ContactField::name);
    let message = UnknownField::message(key, "known contact fields", &known, suggestion);
    UnknownField::META.finding(None, message)
}

fn sort(findings: &mut [ContactFinding]) {
    let position = |f: &ContactFinding| f.field.map_or(usize::MAX, |f| f as usize);
    findings.sort_by(|a, b| {
        position(a)
            .cmp(&position(b))
            .then_with(|| a.code.cmp(&b.code))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn today() -> Date {
        Date::new(2026, 11, 26).unwrap()
    }

    fn codes(findings: &[ContactFinding]) -> Vec<&str> {
        findings.iter().map(|f| f.code.as_str()).collect()
    }

    #[test]
    fn catalogue_order_matches_enum_order() {
        for (spec, field) in CONTACT_FIELDS.iter().zip(ContactField::ALL) {
            assert_eq!(spec.field, field);
            assert_eq!(serde_json::to_value(field).unwrap(), spec.name);
        }
        assert_eq!(CONTACT_FIELDS.len(), ContactField::ALL.len());
    }

    #[test]
    fn a_good_contact_has_no_findings() {
        let contact = json!({
            "job_title": "Head of Engineering",
            "linkedin_url": "https://www.linkedin.com/in/jane-doe",
            "seniority": "head",
            "role_start_date": "2026-11-26"
        });
        let evaluation = evaluate_contact_json(&contact, today());
        assert!(evaluation.findings.is_empty(), "{:?}", evaluation.findings);
        assert_eq!(
            evaluation.exec_role,
            Some(EngineeringExec::HeadOfEngineering)
        );
    }

    #[test]
    fn each_field_is_judged_by_its_kind() {
        let contact = json!({
            "job_title": "x".repeat(201),
            "linkedin_url": "linkedin.com/in/Jane-Doe",
            "seniority": "wizard",
            "role_start_date": "2026-11-27",
            "email": "jane@example.com"
        });
        let findings = evaluate_contact_json(&contact, today()).findings;
        assert_eq!(
            codes(&findings),
            ["FQ003", "FQ012", "FQ005", "FQ010", "FQ011"]
        );
        assert_eq!(
            findings[1].message,
            "linkedin_url \"linkedin.com/in/Jane-Doe\" is not in canonical form; write it as \"https://www.linkedin.com/in/jane-doe\""
        );
        assert!(
            findings[4]
                .message
                .contains("known contact fields: job_title")
        );
    }

    #[test]
    fn wrong_types_and_non_objects_are_findings() {
        let findings = evaluate_contact_json(&json!({"role_start_date": "2023-02-30"}), today());
        assert_eq!(
            findings.findings[0].message,
            "role_start_date: expected a YYYY-MM-DD date, got string \"2023-02-30\""
        );
        let findings = evaluate_contact_json(&json!([1]), today()).findings;
        assert_eq!(findings[0].field, None);
        assert_eq!(findings[0].code, "FQ001");
        assert_eq!(
            codes(&validate_contact_field_json(
                " Seniority ",
                &json!(3),
                today()
            )),
            ["FQ001"]
        );
        assert_eq!(
            codes(&validate_contact_field_json(
                "title",
                &json!("CTO"),
                today()
            )),
            ["FQ011"]
        );
        assert!(validate_contact_field_json("job_title", &json!(null), today()).is_empty());
    }

    #[test]
    fn exec_changes_need_an_exec_title_and_a_valid_start() {
        let ctx = ValidationContext::new(today());
        let contact = |title: &str, start: &str| -> Contact {
            [
                (ContactField::JobTitle, Value::Text(title.into())),
                (
                    ContactField::RoleStartDate,
                    Value::Date(Date::parse_iso(start).unwrap()),
                ),
            ]
            .into_iter()
            .collect()
        };
        let contacts = [
            contact("Chief Technology Officer", "2026-09-01"),
            contact("VP Sales", "2026-09-01"),
            contact("CTO", "2027-01-01"), // in the future: rejected, so not a change
        ];
        let changes = exec_changes(&contacts, &ctx);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].title, "Chief Technology Officer");
    }
}

//! Quality rules, one file per rule, registered in [`codes::RULES`].
//!
//! A rule is a unit struct with a [`RuleMeta`] (stable code, kebab-case name, severity,
//! status and its documentation, taken from the struct's doc comment by `declare_rule!`)
//! and a [`Rule`] impl that checks one field value ([`Rule::check_field`]) or the whole
//! record ([`Rule::check_record`]). Field rules read their limits from the field
//! catalogue ([`crate::field::FieldKind`]), the same limits the JSON Schema is generated
//! from ([`crate::schema`]), so the two agree (a test in `tests/schema_agreement.rs`
//! proves it).
//!
//! Findings are data, never errors: the validator ([`crate::validate`]) collects them.

use serde::Serialize;

use crate::config::QualityConfig;
use crate::contact::ContactField;
use crate::field::Field;
use crate::finding::{ContactFinding, Finding, Severity};
use crate::merge::{MergedField, MergedRecord};
use crate::value::{Date, Value};

pub mod codes;

mod date_in_future;
mod date_too_early;
mod duplicate_items;
mod funding_date_without_stage;
mod funding_stage_without_date;
mod headcount_disagreement;
mod linkedin_not_a_profile;
mod list_item_invalid;
mod not_an_option;
mod number_out_of_range;
mod revenue_implausible;
mod text_blank;
mod text_too_long;
mod too_many_items;
mod unknown_field;
mod wrong_type;

pub use codes::{
    FIELD_RULES, RECORD_RULES, RULES, RULES_VERSION, contact_rules_for, field_rules_for,
    rule_by_code, rules_markdown,
};
pub use date_in_future::DateInFuture;
pub use date_too_early::DateTooEarly;
pub use duplicate_items::DuplicateItems;
pub use funding_date_without_stage::FundingDateWithoutStage;
pub use funding_stage_without_date::FundingStageWithoutDate;
pub use headcount_disagreement::HeadcountDisagreement;
pub use linkedin_not_a_profile::LinkedinNotAProfile;
pub use list_item_invalid::ListItemInvalid;
pub use not_an_option::NotAnOption;
pub use number_out_of_range::NumberOutOfRange;
pub use revenue_implausible::{REVENUE_HEADCOUNT_TABLE, RevenueImplausible};
pub use text_blank::TextBlank;
pub use text_too_long::TextTooLong;
pub use too_many_items::TooManyItems;
pub use unknown_field::UnknownField;
pub use wrong_type::WrongType;

/// Whether a rule's behaviour is settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleStatus {
    Stable,
    /// May still change its thresholds or messages.
    Preview,
}

/// What a rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// One field's value against the catalogue's limits.
    Field,
    /// Several fields, or where values came from.
    Record,
}

/// A rule's identity and documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RuleMeta {
    /// Stable code, `FQ` and three digits. Never reused.
    pub code: &'static str,
    /// Stable kebab-case name: the problem, not the fix.
    pub name: &'static str,
    pub severity: Severity,
    pub status: RuleStatus,
    pub scope: Scope,
    /// One line for tables.
    pub summary: &'static str,
    /// The rule's doc comment (*What it checks / Why it matters / Example / Fix*).
    #[serde(skip)]
    pub explanation: &'static str,
}

impl RuleMeta {
    /// A finding of this rule (a company field's, or `F`'s: a contact field's).
    pub fn finding<F>(&self, field: Option<F>, message: String) -> Finding<F> {
        Finding {
            field,
            code: self.code.to_owned(),
            rule: self.name.to_owned(),
            severity: self.severity,
            message,
        }
    }
}

/// What validation knows besides the record: the caller's "today" (core has no clock)
/// and the rules' tolerances.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidationContext {
    pub today: Date,
    pub quality: QualityConfig,
}

impl ValidationContext {
    /// Default tolerances.
    pub fn new(today: Date) -> ValidationContext {
        ValidationContext {
            today,
            quality: QualityConfig::default(),
        }
    }
}

/// The record a rule sees: each field's value and, for a merged record, where the values
/// came from.
#[derive(Debug, Clone, Copy)]
pub struct RecordView<'a> {
    values: [Option<&'a Value>; Field::ALL.len()],
    merged: Option<&'a MergedRecord>,
}

impl<'a> RecordView<'a> {
    /// A view of a merged record.
    pub fn of_merged(record: &'a MergedRecord) -> RecordView<'a> {
        let mut values = [None; Field::ALL.len()];
        for (field, merged) in &record.fields {
            values[*field as usize] = Some(&merged.value);
        }
        RecordView {
            values,
            merged: Some(record),
        }
    }

    /// A view of plain values (no provenance), indexed by `Field as usize`.
    pub fn of_values(values: &'a [Option<Value>; Field::ALL.len()]) -> RecordView<'a> {
        RecordView {
            values: values.each_ref().map(Option::as_ref),
            merged: None,
        }
    }

    pub fn value(&self, field: Field) -> Option<&'a Value> {
        self.values[field as usize]
    }

    /// Provenance of `field`, when the record is a merged one.
    pub fn merged(&self, field: Field) -> Option<&'a MergedField> {
        self.merged?.get(field)
    }
}

/// A quality rule. Implement the check that fits its [`Scope`]; the other stays a no-op.
pub trait Rule: Sync {
    fn meta(&self) -> &'static RuleMeta;

    /// Checks one present value of `field`.
    fn check_field(
        &self,
        _field: Field,
        _value: &Value,
        _ctx: &ValidationContext,
        _out: &mut Vec<Finding>,
    ) {
    }

    /// Checks one present value of a contact's `field` (rules that apply to contacts).
    fn check_contact_field(
        &self,
        _field: ContactField,
        _value: &Value,
        _ctx: &ValidationContext,
        _out: &mut Vec<ContactFinding>,
    ) {
    }

    /// Checks the record as a whole.
    fn check_record(
        &self,
        _record: &RecordView<'_>,
        _ctx: &ValidationContext,
        _out: &mut Vec<Finding>,
    ) {
    }
}

/// Declares a rule's unit struct and its [`RuleMeta`], whose `explanation` is the struct's
/// doc comment (one text for rustdoc, `firmo rules` and the WASM catalogue).
macro_rules! declare_rule {
    (
        $(#[doc = $doc:literal])*
        pub struct $name:ident;
        code = $code:literal,
        name = $rule:literal,
        severity = $severity:ident,
        status = $status:ident,
        scope = $scope:ident,
        summary = $summary:literal $(,)?
    ) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Copy, Default)]
        pub struct $name;

        impl $name {
            pub const META: $crate::rules::RuleMeta = $crate::rules::RuleMeta {
                code: $code,
                name: $rule,
                severity: $crate::finding::Severity::$severity,
                status: $crate::rules::RuleStatus::$status,
                scope: $crate::rules::Scope::$scope,
                summary: $summary,
                explanation: concat!($($doc, "\n"),*),
            };
        }
    };
}
pub(crate) use declare_rule;

/// Formats a float the way JSON shows it (`12.5`, `1e300`), or `NaN` / `inf`.
pub(crate) fn fmt_f64(x: f64) -> String {
    match serde_json::Number::from_f64(x) {
        Some(n) => n.to_string(),
        None if x.is_nan() => "NaN".to_owned(),
        None if x > 0.0 => "inf".to_owned(),
        None => "-inf".to_owned(),
    }
}

/// A value as a message shows it: numbers bare, text quoted.
pub(crate) fn show(value: &Value) -> String {
    match value {
        Value::Text(s) => format!("{s:?}"),
        Value::Integer(n) => n.to_string(),
        Value::Decimal(x) => fmt_f64(*x),
        Value::Date(d) => d.to_string(),
        Value::TextList(items) => format!("a list of {} items", items.len()),
    }
}

/// Whether `s` has no character other than whitespace. "Whitespace" is Unicode's
/// White_Space property ([`char::is_whitespace`]); the schema's pattern spells out the same
/// set ([`crate::schema::WHITESPACE`]).
pub(crate) fn is_blank(s: &str) -> bool {
    s.chars().all(char::is_whitespace)
}

//! The rule registry: every rule, once, in code order. Adding a rule is a new file in
//! `rules/` plus one line here; a code is never reused.

use std::fmt::Write;

use crate::contact::ContactField;
use crate::field::FieldKind;
use crate::rules::{
    DateInFuture, DateTooEarly, DuplicateItems, FundingDateWithoutStage, FundingStageWithoutDate,
    HeadcountDisagreement, LinkedinNotAProfile, ListItemInvalid, NotAnOption, NumberOutOfRange,
    RevenueImplausible, Rule, TextBlank, TextTooLong, TooManyItems, UnknownField, WrongType,
};

/// Changes whenever a rule is added, removed, or changes what it accepts, so stored
/// verdicts (and the WASM module's `rulesVersion()`) can be compared.
pub const RULES_VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "+rules.2");

/// Every rule, in code order. Validation runs them in this order.
pub const RULES: &[&dyn Rule] = &[
    &WrongType,
    &TextBlank,
    &TextTooLong,
    &NumberOutOfRange,
    &NotAnOption,
    &TooManyItems,
    &ListItemInvalid,
    &DuplicateItems,
    &DateTooEarly,
    &DateInFuture,
    &UnknownField,
    &LinkedinNotAProfile,
    &HeadcountDisagreement,
    &FundingDateWithoutStage,
    &FundingStageWithoutDate,
    &RevenueImplausible,
];

/// The rules of [`Scope::Field`](crate::rules::Scope::Field), in code order: the ones the
/// validator runs on each value (a subset of [`RULES`], so no value pays for record rules).
pub const FIELD_RULES: &[&dyn Rule] = &[
    &WrongType,
    &TextBlank,
    &TextTooLong,
    &NumberOutOfRange,
    &NotAnOption,
    &TooManyItems,
    &ListItemInvalid,
    &DuplicateItems,
    &DateTooEarly,
    &DateInFuture,
    &LinkedinNotAProfile,
];

/// The field rules that can fire on a field of `kind` (each a subset of [`FIELD_RULES`],
/// in code order), so validating a value costs a handful of calls, not all of them. A new
/// field rule goes here too; `kind_tables_miss_no_finding` checks it.
pub fn field_rules_for(kind: FieldKind) -> &'static [&'static dyn Rule] {
    match kind {
        FieldKind::Text { .. } => &[&WrongType, &TextBlank, &TextTooLong],
        FieldKind::Integer { .. } | FieldKind::Decimal { .. } => &[&WrongType, &NumberOutOfRange],
        FieldKind::Enum { .. } => &[&WrongType, &NotAnOption],
        FieldKind::TextList { .. } => {
            &[&WrongType, &TooManyItems, &ListItemInvalid, &DuplicateItems]
        }
        FieldKind::Date { .. } => &[&WrongType, &DateTooEarly, &DateInFuture],
    }
}

/// The rules that judge a contact's `field` (through
/// [`Rule::check_contact_field`]), in code order: the kind's rules, plus the profile
/// check for the LinkedIn URL. `contact_tables_miss_no_finding` checks the tables.
pub fn contact_rules_for(field: ContactField) -> &'static [&'static dyn Rule] {
    match field {
        ContactField::JobTitle => &[&WrongType, &TextBlank, &TextTooLong],
        // A blank URL is not a profile: the profile check says so in its own words.
        ContactField::LinkedinUrl => &[&WrongType, &TextTooLong, &LinkedinNotAProfile],
        ContactField::Seniority => &[&WrongType, &NotAnOption],
        ContactField::RoleStartDate => &[&WrongType, &DateTooEarly, &DateInFuture],
    }
}

/// The rules of [`Scope::Record`](crate::rules::Scope::Record), in code order.
pub const RECORD_RULES: &[&dyn Rule] = &[
    &UnknownField,
    &HeadcountDisagreement,
    &FundingDateWithoutStage,
    &FundingStageWithoutDate,
    &RevenueImplausible,
];

/// The rule table as Markdown (code, name, severity, status, summary), for docs and
/// `firmo rules`.
pub fn rules_markdown() -> String {
    let mut out =
        String::from("| code | rule | severity | status | checks |\n|---|---|---|---|---|\n");
    for rule in RULES {
        let m = rule.meta();
        let severity = match m.severity {
            crate::finding::Severity::Reject => "reject",
            crate::finding::Severity::Flag => "flag",
        };
        let status = match m.status {
            crate::rules::RuleStatus::Stable => "stable",
            crate::rules::RuleStatus::Preview => "preview",
        };
        let _ = writeln!(
            out,
            "| {} | `{}` | {severity} | {status} | {} |",
            m.code, m.name, m.summary
        );
    }
    out
}

/// The rule with this code (`FQ004`), if any.
pub fn rule_by_code(code: &str) -> Option<&'static dyn Rule> {
    RULES
        .iter()
        .copied()
        .find(|r| r.meta().code.eq_ignore_ascii_case(code))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Scope;

    #[test]
    fn kind_tables_miss_no_finding() {
        use crate::field::Field;
        use crate::rules::ValidationContext;
        use crate::value::{Date, Value};
        let ctx = ValidationContext::new(Date::new(2000, 1, 1).unwrap());
        let samples = [
            Value::Text(String::new()),
            Value::Text(" ".into()),
            Value::Text("x".repeat(200)),
            Value::Text("nope".into()),
            Value::Integer(-1),
            Value::Integer(i64::MAX),
            Value::Decimal(f64::NAN),
            Value::Decimal(-1e9),
            Value::TextList(vec![String::new(); 600]),
            Value::TextList(vec!["a".into(), "A".into(), "x".repeat(200)]),
            Value::Date(Date::new(1, 1, 1).unwrap()),
            Value::Date(Date::new(9999, 1, 1).unwrap()),
        ];
        for field in Field::ALL {
            for value in &samples {
                let (mut all, mut some) = (Vec::new(), Vec::new());
                for rule in FIELD_RULES {
                    rule.check_field(field, value, &ctx, &mut all);
                }
                for rule in field_rules_for(field.kind()) {
                    rule.check_field(field, value, &ctx, &mut some);
                }
                assert_eq!(all, some, "{field} {value:?}");
            }
        }
    }

    #[test]
    fn contact_tables_miss_no_finding() {
        use crate::rules::ValidationContext;
        use crate::value::{Date, Value};
        let ctx = ValidationContext::new(Date::new(2000, 1, 1).unwrap());
        let samples = [
            Value::Text("x".repeat(300)),
            Value::Text("nope".into()),
            Value::Text("https://www.linkedin.com/company/acme".into()),
            Value::Integer(3),
            Value::Date(Date::new(1, 1, 1).unwrap()),
            Value::Date(Date::new(9999, 1, 1).unwrap()),
        ];
        for field in ContactField::ALL {
            for value in &samples {
                let (mut all, mut some) = (Vec::new(), Vec::new());
                for rule in RULES {
                    rule.check_contact_field(field, value, &ctx, &mut all);
                }
                for rule in contact_rules_for(field) {
                    rule.check_contact_field(field, value, &ctx, &mut some);
                }
                assert_eq!(all, some, "{field} {value:?}");
            }
        }
    }

    #[test]
    fn codes_and_names_are_unique_sorted_and_well_formed() {
        let mut previous = "";
        for rule in RULES {
            let meta = rule.meta();
            assert!(meta.code > previous, "{} out of order", meta.code);
            previous = meta.code;
            assert!(meta.code.len() == 5 && meta.code.starts_with("FQ"));
            assert!(
                meta.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '-'),
                "{}",
                meta.name
            );
            for section in [
                "## What it checks",
                "## Why it matters",
                "## Example",
                "## Fix",
            ] {
                assert!(
                    meta.explanation.contains(section),
                    "{} lacks {section}",
                    meta.code
                );
            }
            assert_eq!(
                RULES.iter().filter(|r| r.meta().name == meta.name).count(),
                1
            );
        }
        assert_eq!(
            rule_by_code("fq004").unwrap().meta().name,
            "number-out-of-range"
        );
        assert!(rule_by_code("FQ999").is_none());
        // FIELD_RULES and RECORD_RULES split RULES by scope, keeping the order.
        let by_scope = |scope| -> Vec<&str> {
            RULES
                .iter()
                .filter(|r| r.meta().scope == scope)
                .map(|r| r.meta().code)
                .collect()
        };
        let codes =
            |rules: &[&dyn Rule]| -> Vec<&str> { rules.iter().map(|r| r.meta().code).collect() };
        assert_eq!(codes(FIELD_RULES), by_scope(Scope::Field));
        assert_eq!(codes(RECORD_RULES), by_scope(Scope::Record));
    }
}

//! The rule registry: every rule, once, in code order. Adding a rule is a new file in
//! `rules/` plus one line here; a code is never reused.

use crate::rules::{
    DateInFuture, DateTooEarly, DuplicateItems, FundingDateWithoutStage, FundingStageWithoutDate,
    HeadcountDisagreement, ListItemInvalid, NotAnOption, NumberOutOfRange, RevenueImplausible, Rule,
    TextBlank, TextTooLong, TooManyItems, UnknownField, WrongType,
};

/// Changes whenever a rule is added, removed, or changes what it accepts, so stored
/// verdicts (and the WASM module's `rulesVersion()`) can be compared.
pub const RULES_VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "+rules.1");

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
    &HeadcountDisagreement,
    &FundingDateWithoutStage,
    &FundingStageWithoutDate,
    &RevenueImplausible,
];

/// The rule with this code (`FQ004`), if any.
pub fn rule_by_code(code: &str) -> Option<&'static dyn Rule> {
    RULES.iter().copied().find(|r| r.meta().code.eq_ignore_ascii_case(code))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Scope;

    #[test]
    fn codes_and_names_are_unique_sorted_and_well_formed() {
        let mut previous = "";
        for rule in RULES {
            let meta = rule.meta();
            assert!(meta.code > previous, "{} out of order", meta.code);
            previous = meta.code;
            assert!(meta.code.len() == 5 && meta.code.starts_with("FQ"));
            assert!(meta.name.chars().all(|c| c.is_ascii_lowercase() || c == '-'), "{}", meta.name);
            for section in ["## What it checks", "## Why it matters", "## Example", "## Fix"] {
                assert!(meta.explanation.contains(section), "{} lacks {section}", meta.code);
            }
            assert_eq!(RULES.iter().filter(|r| r.meta().name == meta.name).count(), 1);
        }
        assert_eq!(rule_by_code("fq004").unwrap().meta().name, "number-out-of-range");
        assert!(rule_by_code("FQ999").is_none());
        assert!(RULES.iter().any(|r| r.meta().scope == Scope::Record));
    }
}

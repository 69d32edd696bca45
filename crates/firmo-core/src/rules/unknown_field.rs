use crate::field::Field;
use crate::finding::Finding;
use crate::rules::{Rule, RuleMeta, declare_rule};

declare_rule! {
    /// ## What it checks
    /// That every key of a record (and the field name given to `validateField`) is one of
    /// the catalogue's fields, spelled exactly (`headcount`, not `Headcount`).
    ///
    /// ## Why it matters
    /// An unknown key is ignored: nothing is written for it. Usually it is a typo
    /// (`head_count`) or a field another tool added, and the value the user meant to
    /// check was never checked. A flag, because the rest of the record is still fine.
    /// (The JSON Schema, with `additionalProperties: false`, rejects such records.)
    ///
    /// ## Example
    /// `{"industry": "Software", "employees": 120}`.
    ///
    /// ## Fix
    /// Rename the key to the catalogue's name, or drop it before validating.
    pub struct UnknownField;
    code = "FQ011",
    name = "unknown-field",
    severity = Flag,
    status = Stable,
    scope = Record,
    summary = "A record key or field name is not a catalogue field.",
}

impl UnknownField {
    /// The finding for the unknown key `key`.
    pub fn finding(key: &str) -> Finding {
        let known: Vec<&str> = Field::ALL.iter().map(|f| f.name()).collect();
        let suggestion = Field::from_name(key).map(Field::name);
        Self::META.finding(None, Self::message(key, "known fields", &known, suggestion))
    }

    /// The message for the unknown key `key`, listing the `known` names under `label`
    /// (company fields, or contact fields) and the name `key` misspells, if any.
    pub(crate) fn message(
        key: &str,
        label: &str,
        known: &[&str],
        suggestion: Option<&str>,
    ) -> String {
        let shown: String = if key.chars().count() > 60 {
            let head: String = key.chars().take(60).collect();
            format!("{head:?}...")
        } else {
            format!("{key:?}")
        };
        let hint = suggestion
            .map(|name| format!("did you mean {name:?}? "))
            .unwrap_or_default();
        format!(
            "unknown field {shown} is ignored; {hint}{label}: {}",
            known.join(", ")
        )
    }
}

impl Rule for UnknownField {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_key_and_suggests_a_case_fix() {
        assert_eq!(
            UnknownField::finding("Headcount").message,
            "unknown field \"Headcount\" is ignored; did you mean \"headcount\"? known fields: \
             industry, headcount, revenue_range, tech_stack, funding_stage, last_funding_date, \
             last_funding_amount, employee_growth_6mo, recent_job_postings"
        );
        assert!(UnknownField::finding(&"k".repeat(500)).message.len() < 300);
    }
}

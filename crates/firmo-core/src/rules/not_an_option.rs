use crate::contact::ContactField;
use crate::field::{CatalogueField, EnumOption, Field, FieldKind};
use crate::finding::{ContactFinding, Finding};
use crate::merge::cmp_ignore_case;
use crate::rules::{Rule, RuleMeta, ValidationContext, declare_rule};
use crate::value::Value;

declare_rule! {
    /// ## What it checks
    /// That an enumerated field (`revenue_range`, `funding_stage`) holds one of the
    /// catalogue's canonical internal values, exactly (`series_a`, `10m_50m`).
    ///
    /// ## Why it matters
    /// The CRM property is a select with exactly these options: any other value fails the
    /// write, and a label such as "Series A" in place of `series_a` splits reports in two.
    ///
    /// ## Example
    /// `{"funding_stage": "Series A"}`, `{"revenue_range": "$10M-$50M"}`.
    ///
    /// ## Fix
    /// Run the provider's value through the funding-stage or revenue-range normalizer. When
    /// the value is an option's label or differs only in case, the message names the option.
    pub struct NotAnOption;
    code = "FQ005",
    name = "not-an-option",
    severity = Reject,
    status = Stable,
    scope = Field,
    summary = "An enumerated field holds a value that is not one of its options.",
}

fn suggestion(options: &[EnumOption], value: &str) -> Option<&'static str> {
    let value = value.trim();
    options
        .iter()
        .find(|o| {
            cmp_ignore_case(o.value, value).is_eq()
                || cmp_ignore_case(o.label, value).is_eq()
                || cmp_ignore_case(&o.value.replace('_', " "), value).is_eq()
        })
        .map(|o| o.value)
}

impl Rule for NotAnOption {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_field(
        &self,
        field: Field,
        value: &Value,
        ctx: &ValidationContext,
        out: &mut Vec<Finding>,
    ) {
        check(field, value, ctx, out);
    }

    fn check_contact_field(
        &self,
        field: ContactField,
        value: &Value,
        ctx: &ValidationContext,
        out: &mut Vec<ContactFinding>,
    ) {
        check(field, value, ctx, out);
    }
}

fn check<F: CatalogueField>(
    field: F,
    value: &Value,
    _ctx: &ValidationContext,
    out: &mut Vec<Finding<F>>,
) {
    let (FieldKind::Enum { options }, Value::Text(s)) = (field.kind(), value) else {
        return;
    };
    if options.iter().any(|o| o.value == s) {
        return;
    }
    let message = if let Some(option) = suggestion(options, s) {
        format!("{field} {s:?} is not a canonical value; did you mean {option:?}?")
    } else {
        let all: Vec<&str> = options.iter().map(|o| o.value).collect();
        format!(
            "{field} {s:?} is not a canonical value; expected one of: {}",
            all.join(", ")
        )
    };
    out.push(NotAnOption::META.finding(Some(field), message));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Date;

    #[test]
    fn accepts_options_and_suggests_near_misses() {
        let ctx = ValidationContext::new(Date::new(2026, 1, 1).unwrap());
        let mut out = Vec::new();
        for s in ["series_a", "Series A", "SERIES_B", "$10M-$50M", "lots"] {
            NotAnOption.check_field(Field::FundingStage, &Value::Text(s.into()), &ctx, &mut out);
        }
        NotAnOption.check_field(
            Field::RevenueRange,
            &Value::Text("$10M-$50M".into()),
            &ctx,
            &mut out,
        );
        let messages: Vec<_> = out.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            messages[0],
            "funding_stage \"Series A\" is not a canonical value; did you mean \"series_a\"?"
        );
        assert_eq!(
            messages[1],
            "funding_stage \"SERIES_B\" is not a canonical value; did you mean \"series_b\"?"
        );
        assert!(messages[2].ends_with("expected one of: pre_seed, angel, seed, series_a, series_b, series_c, series_d, series_e_plus, series_unknown, private_equity, corporate_round, convertible_note, debt, grant, public, undisclosed"));
        assert_eq!(
            messages[4],
            "revenue_range \"$10M-$50M\" is not a canonical value; did you mean \"10m_50m\"?"
        );
        assert_eq!(out.len(), 5);
    }
}

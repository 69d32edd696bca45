use crate::contact::ContactField;
use crate::field::{CatalogueField, Field, FieldKind};
use crate::finding::{ContactFinding, Finding};
use crate::rules::{Rule, RuleMeta, ValidationContext, declare_rule};
use crate::value::Value;

declare_rule! {
    /// ## What it checks
    /// That a date field (`last_funding_date`) is not before its catalogue's first year
    /// (1900-01-01).
    ///
    /// ## Why it matters
    /// Dates like 0001-01-01 or 1899-12-31 are placeholders or epoch accidents, never a
    /// real funding round; written to the CRM they sort first in every report.
    ///
    /// ## Example
    /// `{"last_funding_date": "1899-12-31"}`.
    ///
    /// ## Fix
    /// Treat the provider's placeholder as "no value" in the adapter.
    pub struct DateTooEarly;
    code = "FQ009",
    name = "date-too-early",
    severity = Reject,
    status = Stable,
    scope = Field,
    summary = "A date is before the field's first year.",
}

impl Rule for DateTooEarly {
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
    if let (FieldKind::Date { min_year }, Value::Date(d)) = (field.kind(), value)
        && d.year() < min_year
    {
        out.push(
            DateTooEarly::META.finding(Some(field), format!("{field} {d} is before {min_year}")),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Date;

    #[test]
    fn first_year_is_allowed() {
        let ctx = ValidationContext::new(Date::new(2026, 1, 1).unwrap());
        let mut out = Vec::new();
        for (y, m, d) in [(1900, 1, 1), (1899, 12, 31)] {
            let date = Value::Date(Date::new(y, m, d).unwrap());
            DateTooEarly.check_field(Field::LastFundingDate, &date, &ctx, &mut out);
        }
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].message,
            "last_funding_date 1899-12-31 is before 1900"
        );
    }
}

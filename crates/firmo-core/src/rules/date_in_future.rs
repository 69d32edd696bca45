use crate::contact::ContactField;
use crate::field::{CatalogueField, Field, FieldKind};
use crate::finding::{ContactFinding, Finding};
use crate::rules::{Rule, RuleMeta, ValidationContext, declare_rule};
use crate::value::Value;

declare_rule! {
    /// ## What it checks
    /// That a date field (`last_funding_date`) is not after "today", the date the caller
    /// passes in (core has no clock). Today itself is allowed.
    ///
    /// The JSON Schema cannot express this rule (a static schema has no "today"), so it is
    /// the one reject a schema-valid record can still get.
    ///
    /// ## Why it matters
    /// A funding round in the future is an announced-but-not-closed round or a parsing
    /// error (day and month swapped); either way the `post_funding` signal would fire on it.
    ///
    /// ## Example
    /// `{"last_funding_date": "2031-04-01"}` validated on 2026-11-26.
    ///
    /// ## Fix
    /// Check the provider's date format (day-first vs month-first), or wait for the round.
    pub struct DateInFuture;
    code = "FQ010",
    name = "date-in-future",
    severity = Reject,
    status = Stable,
    scope = Field,
    summary = "A date is after today.",
}

impl Rule for DateInFuture {
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
    ctx: &ValidationContext,
    out: &mut Vec<Finding<F>>,
) {
    if let (FieldKind::Date { .. }, Value::Date(d)) = (field.kind(), value)
        && *d > ctx.today
    {
        let message = format!("{field} {d} is in the future (today is {})", ctx.today);
        out.push(DateInFuture::META.finding(Some(field), message));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Date;

    #[test]
    fn today_is_allowed_tomorrow_is_not() {
        let ctx = ValidationContext::new(Date::new(2026, 11, 26).unwrap());
        let mut out = Vec::new();
        for day in [26, 27] {
            let date = Value::Date(Date::new(2026, 11, day).unwrap());
            DateInFuture.check_field(Field::LastFundingDate, &date, &ctx, &mut out);
        }
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].message,
            "last_funding_date 2026-11-27 is in the future (today is 2026-11-26)"
        );
    }
}

use crate::contact::ContactField;
use crate::field::{CatalogueField, Field, FieldKind};
use crate::finding::{ContactFinding, Finding};
use crate::rules::{Rule, RuleMeta, ValidationContext, declare_rule, is_blank};
use crate::value::Value;

declare_rule! {
    /// ## What it checks
    /// That a free-text field (`industry`) has at least one character that is not
    /// whitespace (Unicode White_Space: spaces, tabs, line breaks, no-break spaces...).
    ///
    /// ## Why it matters
    /// An empty or blank value written to the CRM erases what a person may have typed and
    /// makes the record look enriched when it is not.
    ///
    /// ## Example
    /// `{"industry": ""}`, `{"industry": "   "}`, `{"industry": "\u{3000}"}`.
    ///
    /// ## Fix
    /// Leave the field out (or `null`) when the source has no value.
    pub struct TextBlank;
    code = "FQ002",
    name = "text-blank",
    severity = Reject,
    status = Stable,
    scope = Field,
    summary = "A text field is empty or only whitespace.",
}

impl Rule for TextBlank {
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
    if let (FieldKind::Text { .. }, Value::Text(s)) = (field.kind(), value)
        && is_blank(s)
    {
        let what = if s.is_empty() {
            "empty"
        } else {
            "only whitespace"
        };
        out.push(TextBlank::META.finding(Some(field), format!("{field} is {what}")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Date;

    #[test]
    fn rejects_empty_and_blank_text_only() {
        let ctx = ValidationContext::new(Date::new(2026, 1, 1).unwrap());
        let mut out = Vec::new();
        for s in ["", " \t\n", "\u{a0}\u{3000}", "a", " x "] {
            TextBlank.check_field(Field::Industry, &Value::Text(s.into()), &ctx, &mut out);
        }
        let messages: Vec<_> = out.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "industry is empty",
                "industry is only whitespace",
                "industry is only whitespace"
            ]
        );
    }
}

use crate::contact::ContactField;
use crate::field::{CatalogueField, Field, FieldKind};
use crate::finding::{ContactFinding, Finding};
use crate::rules::{Rule, RuleMeta, ValidationContext, declare_rule};
use crate::value::Value;

declare_rule! {
    /// ## What it checks
    /// That a free-text field is at most its catalogue length (`industry`: 100). Length is
    /// counted in Unicode characters (code points, as JSON Schema's `maxLength` counts), not
    /// bytes: "Müller" is 6, an emoji is 1, a letter with a combining accent is 2.
    /// Surrounding whitespace counts.
    ///
    /// ## Why it matters
    /// A long value is almost always a description pasted into the wrong field, and CRM
    /// reports and filters built on the field break on it.
    ///
    /// ## Example
    /// `{"industry": "We are a leading provider of..."}` (300 characters).
    ///
    /// ## Fix
    /// Map the source's description to its industry classification instead.
    pub struct TextTooLong;
    code = "FQ003",
    name = "text-too-long",
    severity = Reject,
    status = Stable,
    scope = Field,
    summary = "A text field is longer than its limit.",
}

impl Rule for TextTooLong {
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
    if let (FieldKind::Text { max_len }, Value::Text(s)) = (field.kind(), value) {
        // Bytes bound characters from above: skip the count for short strings.
        if s.len() > max_len {
            let len = s.chars().count();
            if len > max_len {
                let message = format!("{field} is {len} characters long; the limit is {max_len}");
                out.push(TextTooLong::META.finding(Some(field), message));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Date;

    #[test]
    fn counts_characters_not_bytes() {
        let ctx = ValidationContext::new(Date::new(2026, 1, 1).unwrap());
        let mut out = Vec::new();
        let check = |s: String, out: &mut Vec<Finding>| {
            TextTooLong.check_field(Field::Industry, &Value::Text(s), &ctx, out);
        };
        check("é".repeat(100), &mut out);
        check("🚀".repeat(100), &mut out);
        assert!(out.is_empty());
        check("a".repeat(101), &mut out);
        assert_eq!(
            out[0].message,
            "industry is 101 characters long; the limit is 100"
        );
    }
}

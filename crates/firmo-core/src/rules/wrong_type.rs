use crate::contact::ContactField;
use crate::field::{CatalogueField, Field, FieldKind};
use crate::finding::{ContactFinding, Finding};
use crate::rules::{Rule, RuleMeta, ValidationContext, declare_rule};
use crate::value::{TypeMismatch, Value, describe_json};

declare_rule! {
    /// ## What it checks
    /// That a field's value has the field's type: a string for text and enumerations, a
    /// whole number for counts and amounts, a number for percentages, an array of strings
    /// for the tech stack, a real `YYYY-MM-DD` calendar date for dates. A record that is
    /// not a JSON object at all is reported here too (with no field).
    ///
    /// ## Why it matters
    /// A CRM number property given `"120 employees"` either refuses the whole batch or
    /// stores garbage; a date like `2023-02-30` becomes some other day.
    ///
    /// ## Example
    /// `{"headcount": "120"}`, `{"last_funding_date": "2024-13-01"}`, `{"tech_stack": "AWS"}`.
    ///
    /// ## Fix
    /// Normalize the provider's value before merging (`firmo_core::normalize`), or fix the
    /// record by hand. A whole number written as `120.0` is accepted as `120`.
    pub struct WrongType;
    code = "FQ001",
    name = "wrong-type",
    severity = Reject,
    status = Stable,
    scope = Field,
    summary = "The value does not have the field's type.",
}

impl WrongType {
    /// The finding for a JSON value of the wrong type.
    pub fn mismatch(mismatch: &TypeMismatch) -> Finding {
        Self::META.finding(Some(mismatch.field), mismatch.to_string())
    }

    /// The finding for a contact field's JSON value of the wrong type (same wording).
    pub fn contact_mismatch(field: ContactField, json: &serde_json::Value) -> ContactFinding {
        let message = format!(
            "{field}: expected {}, got {}",
            Self::expected(field.kind()),
            describe_json(json)
        );
        Self::META.finding(Some(field), message)
    }

    /// The finding for a whole record that is not a JSON object.
    pub fn not_an_object(json: &serde_json::Value) -> Finding {
        Self::META.finding(
            None,
            format!(
                "a record must be a JSON object of field values, got {}",
                describe_json(json)
            ),
        )
    }

    /// What a field of `kind` expects, in a message's words.
    pub fn expected(kind: FieldKind) -> &'static str {
        match kind {
            FieldKind::Text { .. } | FieldKind::Enum { .. } => "a string",
            FieldKind::Integer { .. } => "a whole number",
            FieldKind::Decimal { .. } => "a number",
            FieldKind::TextList { .. } => "an array of strings",
            FieldKind::Date { .. } => "a YYYY-MM-DD date",
        }
    }
}

impl Rule for WrongType {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_field(
        &self,
        field: Field,
        value: &Value,
        _: &ValidationContext,
        out: &mut Vec<Finding>,
    ) {
        check(field, value, out);
    }

    fn check_contact_field(
        &self,
        field: ContactField,
        value: &Value,
        _: &ValidationContext,
        out: &mut Vec<ContactFinding>,
    ) {
        check(field, value, out);
    }
}

fn check<F: CatalogueField>(field: F, value: &Value, out: &mut Vec<Finding<F>>) {
    let fits = matches!(
        (field.kind(), value),
        (
            FieldKind::Text { .. } | FieldKind::Enum { .. },
            Value::Text(_)
        ) | (FieldKind::Integer { .. }, Value::Integer(_))
            | (
                FieldKind::Decimal { .. },
                Value::Decimal(_) | Value::Integer(_)
            )
            | (FieldKind::TextList { .. }, Value::TextList(_))
            | (FieldKind::Date { .. }, Value::Date(_))
    );
    if !fits {
        let message = format!(
            "{field}: expected {}, got {}",
            WrongType::expected(field.kind()),
            describe_json(&value.to_json())
        );
        out.push(WrongType::META.finding(Some(field), message));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Date;

    #[test]
    fn flags_a_value_of_another_type() {
        let ctx = ValidationContext::new(Date::new(2026, 1, 1).unwrap());
        let mut out = Vec::new();
        WrongType.check_field(Field::Headcount, &Value::Text("120".into()), &ctx, &mut out);
        WrongType.check_field(Field::Headcount, &Value::Integer(120), &ctx, &mut out);
        WrongType.check_field(
            Field::EmployeeGrowth6mo,
            &Value::Integer(12),
            &ctx,
            &mut out,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].message,
            "headcount: expected a whole number, got string \"120\""
        );
        assert_eq!(out[0].code, "FQ001");
    }
}

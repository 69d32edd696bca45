use crate::field::{Field, FieldKind};
use crate::finding::Finding;
use crate::rules::{Rule, RuleMeta, ValidationContext, declare_rule};
use crate::value::Value;

declare_rule! {
    /// ## What it checks
    /// That a list field (`tech_stack`) has at most its catalogue number of items (500).
    ///
    /// ## Why it matters
    /// CRM multi-select properties have option limits, and a list this long is a scraper
    /// listing every script on a page rather than a stack anyone can act on.
    ///
    /// ## Example
    /// `{"tech_stack": ["Tag 1", "Tag 2", ..., "Tag 501"]}`.
    ///
    /// ## Fix
    /// Keep the technologies that matter to the segment (the tech normalizer's canonical
    /// names de-duplicate aliases), or raise the limit in the catalogue deliberately.
    pub struct TooManyItems;
    code = "FQ006",
    name = "too-many-items",
    severity = Reject,
    status = Stable,
    scope = Field,
    summary = "A list field has more items than its limit.",
}

impl Rule for TooManyItems {
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
        if let (FieldKind::TextList { max_items, .. }, Value::TextList(items)) =
            (field.kind(), value)
            && items.len() > max_items
        {
            let message = format!(
                "{field} has {} items; the limit is {max_items}",
                items.len()
            );
            out.push(Self::META.finding(Some(field), message));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Date;

    #[test]
    fn limit_is_inclusive() {
        let ctx = ValidationContext::new(Date::new(2026, 1, 1).unwrap());
        let list = |n: usize| Value::TextList((0..n).map(|i| format!("t{i}")).collect());
        let mut out = Vec::new();
        TooManyItems.check_field(Field::TechStack, &list(500), &ctx, &mut out);
        assert!(out.is_empty());
        TooManyItems.check_field(Field::TechStack, &list(501), &ctx, &mut out);
        assert_eq!(out[0].message, "tech_stack has 501 items; the limit is 500");
    }
}

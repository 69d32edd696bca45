use std::cmp::Ordering;

use crate::field::{Field, FieldKind};
use crate::finding::Finding;
use crate::merge::cmp_ignore_case;
use crate::rules::{Rule, RuleMeta, ValidationContext, declare_rule};
use crate::value::Value;

declare_rule! {
    /// ## What it checks
    /// That a list field (`tech_stack`) names no item twice, ignoring case ("AWS" and
    /// "aws" are the same technology). The message lists up to five repeated items, in the
    /// spelling of their first occurrence.
    ///
    /// ## Why it matters
    /// Duplicates are harmless to write (the merge's union removes them, and so does the
    /// CRM's multi-select), so this is a flag, not a reject; but they show a normalizer
    /// that is not folding an alias, which also breaks counts and segment filters.
    ///
    /// ## Example
    /// `{"tech_stack": ["AWS", "React", "aws"]}`.
    ///
    /// ## Fix
    /// Add the alias to the tech-name normalizer, or merge with the `union` strategy.
    pub struct DuplicateItems;
    code = "FQ008",
    name = "duplicate-items",
    severity = Flag,
    status = Stable,
    scope = Field,
    summary = "A list names the same item twice (ignoring case).",
}

const SHOWN: usize = 5;

impl Rule for DuplicateItems {
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
        let (FieldKind::TextList { .. }, Value::TextList(items)) = (field.kind(), value) else {
            return;
        };
        // Merged unions arrive sorted and de-duplicated: prove it in one pass.
        if items
            .windows(2)
            .all(|w| cmp_ignore_case(&w[0], &w[1]) == Ordering::Less)
        {
            return;
        }
        // Sort indices by item (stable: the first occurrence leads each run of equals).
        let mut order: Vec<usize> = (0..items.len()).collect();
        order.sort_by(|&a, &b| cmp_ignore_case(&items[a], &items[b]));
        let mut leaders: Vec<usize> = Vec::new();
        let mut run_start = 0;
        for k in 1..=order.len() {
            let same = k < order.len()
                && cmp_ignore_case(&items[order[run_start]], &items[order[k]]) == Ordering::Equal;
            if !same {
                if k - run_start > 1 {
                    leaders.push(order[run_start]);
                }
                run_start = k;
            }
        }
        if leaders.is_empty() {
            return;
        }
        leaders.sort_unstable();
        let shown: Vec<String> = leaders
            .iter()
            .take(SHOWN)
            .map(|&i| format!("{:?}", items[i]))
            .collect();
        let rest = leaders.len().saturating_sub(SHOWN);
        let tail = if rest > 0 {
            format!(" and {rest} more")
        } else {
            String::new()
        };
        let noun = if leaders.len() == 1 { "item" } else { "items" };
        let message = format!(
            "{field} repeats {} {noun} (ignoring case): {}{tail}",
            leaders.len(),
            shown.join(", ")
        );
        out.push(Self::META.finding(Some(field), message));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Date;

    fn check(items: &[&str]) -> Vec<String> {
        let ctx = ValidationContext::new(Date::new(2026, 1, 1).unwrap());
        let value = Value::TextList(items.iter().map(|s| (*s).to_owned()).collect());
        let mut out = Vec::new();
        DuplicateItems.check_field(Field::TechStack, &value, &ctx, &mut out);
        out.into_iter().map(|f| f.message).collect()
    }

    #[test]
    fn finds_case_insensitive_repeats_in_first_occurrence_order() {
        assert!(check(&["AWS", "React"]).is_empty());
        assert_eq!(
            check(&["react", "AWS", "aws", "React", "Aws"]),
            ["tech_stack repeats 2 items (ignoring case): \"react\", \"AWS\""]
        );
        let many: Vec<String> = (0..7)
            .flat_map(|i| [format!("t{i}"), format!("T{i}")])
            .collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(
            check(&many),
            [
                "tech_stack repeats 7 items (ignoring case): \"t0\", \"t1\", \"t2\", \"t3\", \"t4\" and 2 more"
            ]
        );
    }
}

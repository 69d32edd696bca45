use crate::field::{Field, FieldKind};
use crate::finding::Finding;
use crate::rules::{Rule, RuleMeta, ValidationContext, declare_rule, is_blank};
use crate::value::Value;

declare_rule! {
    /// ## What it checks
    /// That every item of a list field (`tech_stack`) has a character that is not
    /// whitespace and is at most the catalogue's item length (100 characters, counted as
    /// Unicode code points). One finding per kind of problem, naming the first bad item
    /// (by zero-based index) and how many more share the problem.
    ///
    /// ## Why it matters
    /// A blank option or a paragraph in a multi-select property is noise every user of the
    /// CRM sees, and some CRMs refuse the whole write because of it.
    ///
    /// ## Example
    /// `{"tech_stack": ["AWS", " ", "React"]}`.
    ///
    /// ## Fix
    /// Drop blank names in the adapter; map long descriptions to the technology's name.
    pub struct ListItemInvalid;
    code = "FQ007",
    name = "list-item-invalid",
    severity = Reject,
    status = Stable,
    scope = Field,
    summary = "A list item is blank or longer than its limit.",
}

fn more(n: usize) -> String {
    match n {
        0 => String::new(),
        1 => " (and 1 more item)".to_owned(),
        n => format!(" (and {n} more items)"),
    }
}

impl Rule for ListItemInvalid {
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
        let (FieldKind::TextList { max_item_len, .. }, Value::TextList(items)) =
            (field.kind(), value)
        else {
            return;
        };
        let mut blank = (None, 0_usize);
        let mut long = (None, 0_usize);
        for (i, item) in items.iter().enumerate() {
            if is_blank(item) {
                blank.0.get_or_insert(i);
                blank.1 += 1;
            } else if item.len() > max_item_len {
                let len = item.chars().count();
                if len > max_item_len {
                    long.0.get_or_insert((i, len));
                    long.1 += 1;
                }
            }
        }
        if let Some(i) = blank.0 {
            let what = if items[i].is_empty() {
                "empty"
            } else {
                "only whitespace"
            };
            let message = format!("{field}[{i}] is {what}{}", more(blank.1 - 1));
            out.push(Self::META.finding(Some(field), message));
        }
        if let Some((i, len)) = long.0 {
            let message = format!(
                "{field}[{i}] is {len} characters long; the limit is {max_item_len}{}",
                more(long.1 - 1)
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
    fn names_the_first_bad_item_and_counts_the_rest() {
        let ctx = ValidationContext::new(Date::new(2026, 1, 1).unwrap());
        let items = vec![
            "AWS".into(),
            "x".repeat(101),
            String::new(),
            " ".into(),
            "ü".repeat(100),
        ];
        let mut out = Vec::new();
        ListItemInvalid.check_field(Field::TechStack, &Value::TextList(items), &ctx, &mut out);
        let messages: Vec<_> = out.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "tech_stack[2] is empty (and 1 more item)",
                "tech_stack[1] is 101 characters long; the limit is 100"
            ]
        );
    }
}

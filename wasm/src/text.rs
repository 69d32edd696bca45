//! Form text to JSON: what a user typed in an `<input>`, or a HubSpot property value
//! (HubSpot hands every property over as a string), read as the JSON value the field
//! takes, so firmo-core's rules judge it. This decides only the *encoding*; whether the
//! value is acceptable is the rules' call (text that is not a number stays a string,
//! which the `wrong-type` rule then reports in its own words).

use firmo_core::{Field, FieldKind};
use serde_json::Value as Json;

/// Separator of list items in HubSpot multi-select values and in the card's input.
pub(crate) const LIST_SEPARATOR: char = ';';

/// `text` read as `field`'s JSON value. Blank text is `null`: the user cleared the field.
pub(crate) fn field_json(field: Field, text: &str) -> Json {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Json::Null;
    }
    match field.kind() {
        FieldKind::Integer { .. } | FieldKind::Decimal { .. } => {
            // JSON's number grammar: "120", "-3", "12.5", "1e3"; not "1,200" or "0x10".
            serde_json::from_str::<serde_json::Number>(trimmed)
                .map_or_else(|_| Json::String(trimmed.to_owned()), Json::Number)
        }
        FieldKind::TextList { .. } => Json::Array(
            trimmed
                .split(LIST_SEPARATOR)
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(|item| Json::String(item.to_owned()))
                .collect(),
        ),
        FieldKind::Text { .. } | FieldKind::Enum { .. } | FieldKind::Date { .. } => {
            Json::String(trimmed.to_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_follow_json_grammar_and_other_text_stays_text() {
        assert_eq!(field_json(Field::Headcount, " 120 "), json!(120));
        assert_eq!(field_json(Field::Headcount, "1.5"), json!(1.5));
        assert_eq!(field_json(Field::Headcount, "1,200"), json!("1,200"));
        assert_eq!(field_json(Field::Headcount, "abc"), json!("abc"));
        assert_eq!(field_json(Field::EmployeeGrowth6mo, "-12.5"), json!(-12.5));
        assert_eq!(field_json(Field::Headcount, "  "), Json::Null);
    }

    #[test]
    fn lists_split_on_semicolons_and_drop_empty_items() {
        assert_eq!(
            field_json(Field::TechStack, "AWS; React;;"),
            json!(["AWS", "React"])
        );
        assert_eq!(field_json(Field::TechStack, "AWS"), json!(["AWS"]));
    }

    #[test]
    fn dates_and_text_are_trimmed_strings() {
        assert_eq!(
            field_json(Field::LastFundingDate, " 2024-05-02"),
            json!("2024-05-02")
        );
        assert_eq!(field_json(Field::Industry, " Software "), json!("Software"));
    }
}

//! The CRM properties firmo owns, built from the field catalogue, and the translation of
//! canonical values into what a property of a given type accepts. Values are checked
//! against the CRM's live definitions before anything is sent, so a value the CRM would
//! reject (an enumeration value that is not an option, a date that isn't midnight, a
//! number with junk) is caught and reported here, per record, and never sent.

use std::collections::BTreeMap;

use firmo_connect::crm::{PropertyDef, PropertyGroup, PropertyOption, PropertyType};
use firmo_core::field::{FieldKind, PROPERTY_GROUP, PROPERTY_PREFIX};
use firmo_core::{Field, Signal, Value};

/// `firmo_enriched_at`: when firmo last wrote the record.
pub const ENRICHED_AT: &str = "firmo_enriched_at";
/// `firmo_sources`: which source supplied which field.
pub const SOURCES: &str = "firmo_sources";

/// The property group firmo's properties live in.
pub fn group() -> PropertyGroup {
    PropertyGroup {
        name: PROPERTY_GROUP.to_owned(),
        label: "firmo enrichment".to_owned(),
        display_order: None,
    }
}

fn def(
    name: String,
    label: &str,
    description: &str,
    property_type: PropertyType,
    field_type: &str,
) -> PropertyDef {
    PropertyDef {
        name,
        label: label.to_owned(),
        property_type,
        field_type: field_type.to_owned(),
        group_name: PROPERTY_GROUP.to_owned(),
        options: Vec::new(),
        description: description.to_owned(),
        crm_defined: false,
    }
}

/// The property a field is written to, as firmo wants it defined.
pub fn field_property(field: Field) -> PropertyDef {
    let spec = field.spec();
    let name = field.property_name();
    match spec.kind {
        FieldKind::Text { .. } => def(
            name,
            spec.label,
            spec.description,
            PropertyType::String,
            "text",
        ),
        // An open-ended list can't be a checkbox enumeration (new technologies appear every
        // week), so it is a `;`-joined string, HubSpot's multi-value text convention.
        FieldKind::TextList { .. } => def(
            name,
            spec.label,
            spec.description,
            PropertyType::String,
            "textarea",
        ),
        FieldKind::Integer { .. } | FieldKind::Decimal { .. } => def(
            name,
            spec.label,
            spec.description,
            PropertyType::Number,
            "number",
        ),
        FieldKind::Date { .. } => def(
            name,
            spec.label,
            spec.description,
            PropertyType::Date,
            "date",
        ),
        FieldKind::Enum { options } => {
            let mut d = def(
                name,
                spec.label,
                spec.description,
                PropertyType::Enumeration,
                "select",
            );
            d.options = options
                .iter()
                .map(|o| PropertyOption {
                    label: o.label.to_owned(),
                    value: o.value.to_owned(),
                })
                .collect();
            d
        }
    }
}

/// Every property firmo owns, in a stable order.
pub fn desired_properties() -> Vec<PropertyDef> {
    let mut defs: Vec<PropertyDef> = Field::ALL.into_iter().map(field_property).collect();
    for signal in Signal::ALL {
        let spec = signal.spec();
        let mut d = def(
            signal.property_name(),
            spec.label,
            spec.description,
            PropertyType::Bool,
            "booleancheckbox",
        );
        d.options = vec![
            PropertyOption {
                label: "Yes".into(),
                value: "true".into(),
            },
            PropertyOption {
                label: "No".into(),
                value: "false".into(),
            },
        ];
        defs.push(d);
    }
    defs.push(def(
        ENRICHED_AT.to_owned(),
        "Enriched by firmo at",
        "When firmo last wrote this record.",
        PropertyType::DateTime,
        "date",
    ));
    defs.push(def(
        SOURCES.to_owned(),
        "firmo sources",
        "Which source supplied which field (field=source; ...).",
        PropertyType::String,
        "textarea",
    ));
    defs
}

/// Why a value can't be written to a property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreflightError {
    pub property: String,
    pub value: String,
    pub reason: String,
}

impl std::fmt::Display for PreflightError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} = {:?}: {}", self.property, self.value, self.reason)
    }
}

/// Formats a canonical value as the CRM string for `property`, checking it against the
/// live definition: the one gate every value passes before it is sent.
pub fn format_for(property: &PropertyDef, value: &Value) -> Result<String, PreflightError> {
    let err = |text: String, reason: String| PreflightError {
        property: property.name.clone(),
        value: text,
        reason,
    };
    let text = match value {
        Value::Text(s) => s.clone(),
        Value::Integer(n) => n.to_string(),
        Value::Decimal(n) => format_decimal(*n),
        Value::TextList(items) => items.join(";"),
        Value::Date(d) => d.to_string(),
    };
    match &property.property_type {
        PropertyType::Number => match value {
            Value::Integer(_) => Ok(text),
            Value::Decimal(n) if n.is_finite() => Ok(text),
            _ => Err(err(text, "the property is a number".into())),
        },
        PropertyType::Date => match value {
            // `YYYY-MM-DD` is midnight UTC by construction: HubSpot's only accepted form.
            Value::Date(_) => Ok(text),
            _ => Err(err(text, "the property is a date".into())),
        },
        PropertyType::Enumeration => {
            let parts: Vec<&str> = if property.field_type == "checkbox" {
                text.split(';').collect()
            } else {
                vec![text.as_str()]
            };
            for part in parts {
                if !property.options.iter().any(|o| o.value == part) {
                    let shown: Vec<&str> = property
                        .options
                        .iter()
                        .take(8)
                        .map(|o| o.value.as_str())
                        .collect();
                    return Err(err(
                        text.clone(),
                        format!(
                            "`{part}` is not one of the property's options ({}{})",
                            shown.join(", "),
                            if property.options.len() > 8 {
                                ", …"
                            } else {
                                ""
                            }
                        ),
                    ));
                }
            }
            Ok(text)
        }
        PropertyType::String | PropertyType::PhoneNumber => {
            if text.chars().count() > 65_536 {
                Err(err(
                    text.chars().take(40).collect(),
                    "longer than HubSpot's 65,536 character limit".into(),
                ))
            } else {
                Ok(text)
            }
        }
        PropertyType::Bool | PropertyType::DateTime | PropertyType::Other(_) => Err(err(
            text,
            format!(
                "firmo doesn't write field values to a `{}` property",
                property.property_type
            ),
        )),
    }
}

/// Decimal text without float noise: 12.5 → "12.5", 12.0 → "12".
fn format_decimal(n: f64) -> String {
    let rounded = (n * 100.0).round() / 100.0;
    if rounded.fract() == 0.0 && rounded.abs() < 1e15 {
        format!("{}", rounded as i64)
    } else {
        format!("{rounded}")
    }
}

/// Whether two CRM strings hold the same value for a property of `property_type` (HubSpot
/// may read a number back as "120.0" that was written as "120", and list order is noise).
pub fn same_crm_value(property_type: &PropertyType, a: &str, b: &str) -> bool {
    let (a, b) = (a.trim(), b.trim());
    if a == b {
        return true;
    }
    match property_type {
        PropertyType::Number => match (a.parse::<f64>(), b.parse::<f64>()) {
            (Ok(x), Ok(y)) => (x - y).abs() <= f64::EPSILON * x.abs().max(y.abs()).max(1.0),
            _ => false,
        },
        PropertyType::Date | PropertyType::DateTime => {
            match (
                firmo_connect::crm::parse_timestamp(a),
                firmo_connect::crm::parse_timestamp(b),
            ) {
                (Some(x), Some(y)) => x == y,
                _ => false,
            }
        }
        PropertyType::String | PropertyType::Enumeration if a.contains(';') || b.contains(';') => {
            let mut x: Vec<&str> = a.split(';').map(str::trim).collect();
            let mut y: Vec<&str> = b.split(';').map(str::trim).collect();
            x.sort_unstable();
            y.sort_unstable();
            x == y
        }
        _ => false,
    }
}

/// HubSpot's built-in `industry` is a fixed option list; providers send free text. This
/// table translates the common wordings (lowercase substring → option value); anything it
/// doesn't know is left unmapped rather than guessed.
const INDUSTRY_OPTIONS: &[(&str, &str)] = &[
    ("software", "COMPUTER_SOFTWARE"),
    ("saas", "COMPUTER_SOFTWARE"),
    ("internet", "INTERNET"),
    (
        "information technology",
        "INFORMATION_TECHNOLOGY_AND_SERVICES",
    ),
    ("it services", "INFORMATION_TECHNOLOGY_AND_SERVICES"),
    ("computer hardware", "COMPUTER_HARDWARE"),
    ("semiconductor", "SEMICONDUCTORS"),
    ("computer network", "COMPUTER_NETWORKING"),
    ("network security", "COMPUTER_NETWORK_SECURITY"),
    ("security", "COMPUTER_NETWORK_SECURITY"),
    ("fintech", "FINANCIAL_SERVICES"),
    ("financial", "FINANCIAL_SERVICES"),
    ("banking", "BANKING"),
    ("insurance", "INSURANCE"),
    ("venture capital", "VENTURE_CAPITAL_PRIVATE_EQUITY"),
    ("hospital", "HOSPITAL_HEALTH_CARE"),
    ("health", "HOSPITAL_HEALTH_CARE"),
    ("biotech", "BIOTECHNOLOGY"),
    ("pharma", "PHARMACEUTICALS"),
    ("medical device", "MEDICAL_DEVICES"),
    ("marketing", "MARKETING_AND_ADVERTISING"),
    ("advertising", "MARKETING_AND_ADVERTISING"),
    ("retail", "RETAIL"),
    ("e-commerce", "INTERNET"),
    ("ecommerce", "INTERNET"),
    ("education", "EDUCATION_MANAGEMENT"),
    ("e-learning", "E_LEARNING"),
    ("logistics", "LOGISTICS_AND_SUPPLY_CHAIN"),
    ("telecom", "TELECOMMUNICATIONS"),
    ("real estate", "REAL_ESTATE"),
    ("consulting", "MANAGEMENT_CONSULTING"),
    ("automotive", "AUTOMOTIVE"),
    ("media", "ONLINE_MEDIA"),
    ("gaming", "COMPUTER_GAMES"),
    ("games", "COMPUTER_GAMES"),
    ("energy", "RENEWABLES_ENVIRONMENT"),
    ("staffing", "STAFFING_AND_RECRUITING"),
    ("recruit", "STAFFING_AND_RECRUITING"),
    ("legal", "LEGAL_SERVICES"),
    ("food", "FOOD_BEVERAGES"),
    ("hospitality", "HOSPITALITY"),
];

/// The HubSpot `industry` option for a free-text industry, if the table knows one.
pub fn hubspot_industry_option(industry: &str) -> Option<&'static str> {
    let lower = industry.to_lowercase();
    INDUSTRY_OPTIONS
        .iter()
        .find(|(needle, _)| lower.contains(needle))
        .map(|(_, option)| *option)
}

/// The value a mapped built-in property gets for a field, before the preflight check.
pub fn mapped_value(field: Field, property: &str, value: &Value) -> Option<Value> {
    match (field, property) {
        (Field::Industry, "industry") => match value {
            Value::Text(s) => hubspot_industry_option(s).map(|o| Value::Text(o.to_owned())),
            _ => None,
        },
        _ => Some(value.clone()),
    }
}

/// Live definitions by name.
pub fn index(defs: Vec<PropertyDef>) -> BTreeMap<String, PropertyDef> {
    defs.into_iter().map(|d| (d.name.clone(), d)).collect()
}

/// Every property firmo reads for an account: its own, the mapped built-ins, and what
/// segments and tiers filter on.
/// The properties a sync reads: firmo's own, the mapped built-ins, and what tiers filter on.
pub fn pull_properties(config: &crate::config::Config) -> Vec<String> {
    let mut props: Vec<String> = vec!["domain".into(), "name".into()];
    props.extend(desired_properties().into_iter().map(|d| d.name));
    props.extend(config.mapping.iter().map(|(_, m)| m.property.clone()));
    for (_, tier) in &config.tiers {
        props.extend(tier.filters.iter().map(|f| f.property_name.clone()));
    }
    props.sort();
    props.dedup();
    props
}

pub fn is_firmo_property(name: &str) -> bool {
    name.starts_with(PROPERTY_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use firmo_core::Date;

    #[test]
    fn every_field_and_signal_has_one_property_in_the_firmo_group() {
        let defs = desired_properties();
        assert_eq!(defs.len(), Field::ALL.len() + Signal::ALL.len() + 2);
        let mut names: Vec<_> = defs.iter().map(|d| d.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), defs.len());
        assert!(
            defs.iter()
                .all(|d| d.group_name == "firmo" && d.name.starts_with("firmo_"))
        );
        let stage = defs
            .iter()
            .find(|d| d.name == "firmo_funding_stage")
            .unwrap();
        assert!(stage.options.iter().any(|o| o.value == "series_a"));
    }

    #[test]
    fn preflight_catches_what_hubspot_would_reject() {
        let stage = field_property(Field::FundingStage);
        assert_eq!(
            format_for(&stage, &Value::Text("seed".into())).unwrap(),
            "seed"
        );
        let err = format_for(&stage, &Value::Text("series_z".into())).unwrap_err();
        assert!(
            err.reason.contains("not one of the property's options"),
            "{err}"
        );

        let date = field_property(Field::LastFundingDate);
        let d = Date::new(2024, 5, 2).unwrap();
        assert_eq!(format_for(&date, &Value::Date(d)).unwrap(), "2024-05-02");
        assert!(format_for(&date, &Value::Text("2024-05-02T10:00:00Z".into())).is_err());

        let number = field_property(Field::EmployeeGrowth6mo);
        assert_eq!(format_for(&number, &Value::Decimal(12.5)).unwrap(), "12.5");
        assert_eq!(format_for(&number, &Value::Decimal(20.0)).unwrap(), "20");
        assert!(format_for(&number, &Value::Decimal(f64::NAN)).is_err());
        assert!(format_for(&number, &Value::Text("12%".into())).is_err());

        let techs = field_property(Field::TechStack);
        assert_eq!(
            format_for(&techs, &Value::TextList(vec!["AWS".into(), "React".into()])).unwrap(),
            "AWS;React"
        );
    }

    #[test]
    fn crm_read_back_forms_compare_equal() {
        assert!(same_crm_value(&PropertyType::Number, "120", "120.0"));
        assert!(!same_crm_value(&PropertyType::Number, "120", "121"));
        assert!(same_crm_value(
            &PropertyType::String,
            "React;AWS",
            "AWS;React"
        ));
        assert!(same_crm_value(
            &PropertyType::Date,
            "2024-05-02",
            "1714608000000"
        ));
        assert!(!same_crm_value(&PropertyType::String, "a", "b"));
    }

    #[test]
    fn industry_translation_only_maps_what_it_knows() {
        assert_eq!(
            hubspot_industry_option("Internet Software & Services"),
            Some("COMPUTER_SOFTWARE")
        );
        assert_eq!(
            hubspot_industry_option("Financial Services"),
            Some("FINANCIAL_SERVICES")
        );
        assert_eq!(hubspot_industry_option("Underwater basket weaving"), None);
    }
}

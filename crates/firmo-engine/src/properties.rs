//! The CRM properties firmo owns, built from the field catalogue, and the mapping of
//! fields onto built-in properties. Turning a value into the string a property accepts,
//! checked against the CRM's live definition, is the CRM connector's job
//! ([`firmo_connect::crm::Crm::encode_value`]): a value the CRM would reject is caught
//! there, per record, and never sent.

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

/// A CRM client for unit tests of the pure stages: they only encode and compare values,
/// so it never sends a request (its base URL is a closed local port).
#[cfg(test)]
pub(crate) mod testing {
    pub(crate) fn crm() -> firmo_hubspot::HubspotClient {
        let config = firmo_hubspot::HubspotConfig::new(firmo_connect::Secret::new("test-token"))
            .with_base_url("http://127.0.0.1:9");
        firmo_hubspot::HubspotClient::new(config).expect("a client needs no network to build")
    }
}

//! firmo's contact properties: their definitions (created by setup, in the same `firmo`
//! group as the company ones), what firmo wants a contact to hold, and firmo's values read
//! back from the CRM (the record of what a fresh cached lookup found).

use std::collections::BTreeMap;

use firmo_connect::contacts::CrmContact;
use firmo_connect::crm::{PropertyDef, PropertyOption, PropertyType};
use firmo_core::contact::{Contact, ContactField};
use firmo_core::field::{FieldKind, PROPERTY_GROUP};
use firmo_core::{Date, Value};

use crate::config::OverwritePolicy;
use crate::diff::Desired;

/// HubSpot's built-in contact title, filled only where empty.
pub const JOBTITLE: &str = "jobtitle";
/// When firmo last wrote the contact.
pub const ENRICHED_AT: &str = "firmo_enriched_at";
/// firmo's own copy of the seniority (the selector reads it back).
pub const SENIORITY: &str = "firmo_seniority";

/// The property firmo keeps a contact field in: `firmo_<field>`.
pub fn property_name(field: ContactField) -> String {
    format!("{}{}", firmo_core::field::PROPERTY_PREFIX, field.name())
}

/// firmo's contact properties, as setup creates them.
pub fn definitions() -> Vec<PropertyDef> {
    let def =
        |name: String, label: &str, description: &str, kind: (PropertyType, &str)| PropertyDef {
            name,
            label: label.to_owned(),
            property_type: kind.0,
            field_type: kind.1.to_owned(),
            group_name: PROPERTY_GROUP.to_owned(),
            options: Vec::new(),
            description: description.to_owned(),
            crm_defined: false,
        };
    let mut defs: Vec<PropertyDef> = ContactField::ALL
        .into_iter()
        .map(|field| {
            let spec = field.spec();
            let kind = match spec.kind {
                FieldKind::Enum { .. } => (PropertyType::Enumeration, "select"),
                FieldKind::Date { .. } => (PropertyType::Date, "date"),
                _ => (PropertyType::String, "text"),
            };
            let mut d = def(property_name(field), spec.label, spec.description, kind);
            if let FieldKind::Enum { options } = spec.kind {
                d.options = options
                    .iter()
                    .map(|o| PropertyOption {
                        label: o.label.to_owned(),
                        value: o.value.to_owned(),
                    })
                    .collect();
            }
            d
        })
        .collect();
    defs.push(def(
        ENRICHED_AT.to_owned(),
        "Enriched by firmo at",
        "When firmo last wrote this contact.",
        (PropertyType::DateTime, "date"),
    ));
    defs
}

/// The names of firmo's contact properties.
pub fn own_names() -> Vec<String> {
    definitions().into_iter().map(|d| d.name).collect()
}

/// What firmo wants `contact`'s record to hold: its own properties (firmo's to update),
/// and the built-in title and the mapped LinkedIn property only where empty.
pub fn desired(contact: &Contact, linkedin_property: Option<&str>) -> Vec<Desired> {
    let mut out = Vec::new();
    for (field, value) in contact {
        let text = match value {
            Value::Date(d) => d.to_string(),
            Value::Text(s) => s.clone(),
            // Contact fields are text, enumerations and dates only.
            _ => continue,
        };
        let mut push = |property: String, policy| {
            out.push(Desired {
                property,
                value: text.clone(),
                policy,
            });
        };
        push(property_name(*field), OverwritePolicy::Owned);
        match field {
            ContactField::JobTitle => push(JOBTITLE.to_owned(), OverwritePolicy::FillEmpty),
            ContactField::LinkedinUrl => {
                if let Some(p) = linkedin_property {
                    push(p.to_owned(), OverwritePolicy::FillEmpty);
                }
            }
            _ => {}
        }
    }
    out
}

/// firmo's values as the CRM holds them: what an earlier lookup found (a value that no
/// longer parses is left out, as a rejected one would be).
pub fn from_crm(contact: &CrmContact) -> Contact {
    let mut out = BTreeMap::new();
    for field in ContactField::ALL {
        let Some(raw) = contact.property(&property_name(field)) else {
            continue;
        };
        let value = match field.spec().kind {
            // HubSpot answers a date property as a date or as midnight's timestamp.
            FieldKind::Date { .. } => raw.get(..10).and_then(Date::parse_iso).map(Value::Date),
            _ => Some(Value::Text(raw.to_owned())),
        };
        if let Some(value) = value {
            out.insert(field, value);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_contact_field_has_a_property_and_values_round_trip_through_the_crm() {
        let defs = definitions();
        assert_eq!(defs.len(), ContactField::ALL.len() + 1);
        assert!(defs.iter().all(|d| d.name.starts_with("firmo_")));
        let seniority = defs.iter().find(|d| d.name == SENIORITY).unwrap();
        assert!(seniority.options.iter().any(|o| o.value == "c_suite"));
        let contact: Contact = [
            (ContactField::JobTitle, Value::Text("CTO".into())),
            (
                ContactField::RoleStartDate,
                Value::Date(Date::new(2026, 10, 1).unwrap()),
            ),
        ]
        .into_iter()
        .collect();
        let wanted = desired(&contact, Some("linkedin_url"));
        let names: Vec<(&str, OverwritePolicy)> = wanted
            .iter()
            .map(|d| (d.property.as_str(), d.policy))
            .collect();
        assert_eq!(
            names,
            [
                ("firmo_job_title", OverwritePolicy::Owned),
                ("jobtitle", OverwritePolicy::FillEmpty),
                ("firmo_role_start_date", OverwritePolicy::Owned),
            ]
        );
        let crm = CrmContact {
            id: "7".into(),
            properties: wanted
                .iter()
                .map(|d| (d.property.clone(), Some(d.value.clone())))
                .chain([(
                    "firmo_role_start_date".to_owned(),
                    Some("2026-10-01T00:00:00Z".to_owned()),
                )])
                .collect(),
        };
        assert_eq!(from_crm(&crm), contact);
    }
}

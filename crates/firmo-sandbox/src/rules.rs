//! Portal validation rules: what an admin configures in HubSpot (a property required
//! when another has a value; properties required on the Create Record form) and, from
//! API version 2026-09 on, HubSpot applies to API writes with a 400 `VALIDATION_ERROR`
//! whose `errors[]` carry `code` `MISSING_CONDITIONAL_REQUIRED_PROPERTY` or
//! `MISSING_REQUIRED_PROPERTY` and `context.propertyName` (changelog "CRM API write
//! validation enforcement", 2026-08-11). Earlier versions ignore them.

use serde::{Deserialize, Serialize};

use crate::state::Company;

/// One rule of the portal, as `SandboxConfig::portal_rules` takes it (JSON:
/// `{"kind": "conditionally_required", "property": "state", "when_property":
/// "country", "equals": "US"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PortalRule {
    /// `property` must be given when a company is created.
    RequiredOnCreate { property: String },
    /// `property` must have a value whenever `when_property` equals `equals`.
    ConditionallyRequired {
        property: String,
        when_property: String,
        equals: String,
    },
}

/// A write a rule refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Violation {
    pub(crate) code: &'static str,
    pub(crate) property: String,
    pub(crate) message: String,
}

impl PortalRule {
    /// Whether writing `props` to `existing` (`None`: a create) breaks the rule. A
    /// conditional rule is checked only when the write touches one of its properties,
    /// so a record that already broke it can still be updated elsewhere.
    pub(crate) fn check(
        &self,
        existing: Option<&Company>,
        props: &[(String, String)],
    ) -> Option<Violation> {
        let written = |name: &str| {
            props
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let after = |name: &str| {
            written(name)
                .or_else(|| existing.and_then(|c| c.get(name)))
                .filter(|v| !v.trim().is_empty())
        };
        match self {
            PortalRule::RequiredOnCreate { property } => {
                (existing.is_none() && after(property).is_none()).then(|| Violation {
                    code: "MISSING_REQUIRED_PROPERTY",
                    property: property.clone(),
                    message: format!("A value for {property} must be provided"),
                })
            }
            PortalRule::ConditionallyRequired {
                property,
                when_property,
                equals,
            } => {
                let touched = written(property).is_some() || written(when_property).is_some();
                (touched
                    && after(when_property).as_deref() == Some(equals.as_str())
                    && after(property).is_none())
                .then(|| Violation {
                    code: "MISSING_CONDITIONAL_REQUIRED_PROPERTY",
                    property: property.clone(),
                    message: format!(
                        "{property} is required because of a conditional property rule based on [{when_property}]"
                    ),
                })
            }
        }
    }
}

/// The first rule `props` break, if any.
pub(crate) fn first_violation(
    rules: &[PortalRule],
    existing: Option<&Company>,
    props: &[(String, String)],
) -> Option<Violation> {
    rules.iter().find_map(|r| r.check(existing, props))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn company(props: &[(&str, &str)]) -> Company {
        Company {
            id: "7".into(),
            properties: props
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>(),
            created_at: 0,
            updated_at: 0,
            archived: false,
        }
    }

    fn write(props: &[(&str, &str)]) -> Vec<(String, String)> {
        props
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_conditional_rule_refuses_the_trigger_without_the_required_value() {
        let rule = PortalRule::ConditionallyRequired {
            property: "state".into(),
            when_property: "country".into(),
            equals: "US".into(),
        };
        let none = company(&[]);
        let v = rule
            .check(Some(&none), &write(&[("country", "US")]))
            .unwrap();
        assert_eq!(v.code, "MISSING_CONDITIONAL_REQUIRED_PROPERTY");
        assert!(v.message.contains("[country]"), "{}", v.message);
        assert!(
            rule.check(Some(&none), &write(&[("country", "US"), ("state", "CA")]))
                .is_none()
        );
        assert!(
            rule.check(Some(&none), &write(&[("country", "FR")]))
                .is_none()
        );
        // Already US with a state: clearing the state breaks the rule.
        let us = company(&[("country", "US"), ("state", "CA")]);
        assert!(rule.check(Some(&us), &write(&[("state", "")])).is_some());
        // Untouched by the write: not checked.
        let broken = company(&[("country", "US")]);
        assert!(
            rule.check(Some(&broken), &write(&[("industry", "x")]))
                .is_none()
        );
    }

    #[test]
    fn a_required_property_applies_to_creates_only() {
        let rule = PortalRule::RequiredOnCreate {
            property: "name".into(),
        };
        assert_eq!(
            rule.check(None, &write(&[("domain", "a.com")]))
                .map(|v| v.code),
            Some("MISSING_REQUIRED_PROPERTY")
        );
        assert!(rule.check(None, &write(&[("name", "A")])).is_none());
        assert!(
            rule.check(Some(&company(&[])), &write(&[("domain", "a.com")]))
                .is_none()
        );
    }
}

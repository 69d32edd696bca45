//! What to write for one account: compare what firmo wants with what the CRM holds now and
//! with what firmo wrote last time (the journal), so only changed properties are sent and a
//! value a human edited since firmo wrote it is never overwritten.

use std::collections::BTreeMap;

use firmo_connect::crm::{Crm, PropertyDef};
use serde::Serialize;

use crate::config::OverwritePolicy;

/// One property firmo wants to hold `value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    pub property: String,
    pub value: String,
    pub policy: OverwritePolicy,
}

/// Why a wanted property was not written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum PropertySkip {
    /// Someone changed the value firmo wrote (or set it before firmo ever wrote it).
    HumanEdited { property: String, crm_value: String },
    /// A built-in property that already holds a value, written only where empty.
    NotEmpty { property: String },
    /// The CRM has no such property (run `firmo properties ensure`).
    MissingProperty { property: String },
}

/// The changes for one account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diff {
    /// property → new CRM value.
    pub changes: BTreeMap<String, String>,
    pub skipped: Vec<PropertySkip>,
    /// Owned properties the CRM already holds firmo's exact value for, though the journal
    /// doesn't say firmo wrote it (a run killed between the write and its journal entry):
    /// journaled now so the value is recognised as firmo's from here on.
    pub adopt: BTreeMap<String, String>,
}

/// Compares `desired` with the CRM's `current` values and firmo's `journal` (property →
/// value firmo last wrote to this record); `crm` says which of its strings are the same
/// value.
pub fn diff(
    crm: &dyn Crm,
    desired: &[Desired],
    current: &BTreeMap<String, Option<String>>,
    journal: &BTreeMap<String, String>,
    live: &BTreeMap<String, PropertyDef>,
) -> Diff {
    let mut out = Diff::default();
    for want in desired {
        let Some(def) = live.get(&want.property) else {
            out.skipped.push(PropertySkip::MissingProperty {
                property: want.property.clone(),
            });
            continue;
        };
        let same = |a: &str, b: &str| crm.same_value(def, a, b);
        let now = current
            .get(&want.property)
            .and_then(|v| v.as_deref())
            .map(str::trim)
            .filter(|v| !v.is_empty());
        let Some(now) = now else {
            out.changes
                .insert(want.property.clone(), want.value.clone());
            continue;
        };
        if same(now, &want.value) {
            let journaled = journal
                .get(&want.property)
                .is_some_and(|ours| same(now, ours));
            if want.policy == OverwritePolicy::Owned && !journaled {
                out.adopt.insert(want.property.clone(), want.value.clone());
            }
            continue;
        }
        // The CRM still holds what firmo last wrote there: firmo's to update, whatever the
        // policy. A built-in filled "where empty" in a degraded run (Clearbit's headcount
        // while Clay was down) is firmo's value, not the CRM's own.
        let ours = journal
            .get(&want.property)
            .is_some_and(|ours| same(now, ours));
        match want.policy {
            _ if ours => {
                out.changes
                    .insert(want.property.clone(), want.value.clone());
            }
            OverwritePolicy::FillEmpty => {
                out.skipped.push(PropertySkip::NotEmpty {
                    property: want.property.clone(),
                });
            }
            OverwritePolicy::Owned => out.skipped.push(PropertySkip::HumanEdited {
                property: want.property.clone(),
                crm_value: now.to_owned(),
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::properties::testing::crm;
    use crate::properties::{desired_properties, index};

    fn want(property: &str, value: &str, policy: OverwritePolicy) -> Desired {
        Desired {
            property: property.into(),
            value: value.into(),
            policy,
        }
    }

    fn live() -> BTreeMap<String, PropertyDef> {
        let mut defs = desired_properties();
        let mut industry = defs[0].clone();
        industry.name = "industry".into();
        defs.push(industry);
        index(defs)
    }

    fn current(pairs: &[(&str, Option<&str>)]) -> BTreeMap<String, Option<String>> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.map(str::to_owned)))
            .collect()
    }

    #[test]
    fn writes_empty_and_changed_owned_values_only() {
        let desired = [
            want("firmo_headcount", "120", OverwritePolicy::Owned),
            want("firmo_industry", "Software", OverwritePolicy::Owned),
            want("firmo_funding_stage", "seed", OverwritePolicy::Owned),
        ];
        let cur = current(&[
            ("firmo_headcount", Some("120.0")),
            ("firmo_industry", None),
            ("firmo_funding_stage", Some("angel")),
        ]);
        let journal = [("firmo_funding_stage".to_owned(), "angel".to_owned())].into();
        let d = diff(&crm(), &desired, &cur, &journal, &live());
        assert_eq!(
            d.changes,
            [
                ("firmo_industry".to_owned(), "Software".to_owned()),
                ("firmo_funding_stage".to_owned(), "seed".to_owned())
            ]
            .into()
        );
        assert!(d.skipped.is_empty());
        // firmo_headcount already held firmo's value without a journal entry: adopted.
        assert_eq!(
            d.adopt,
            [("firmo_headcount".to_owned(), "120".to_owned())].into()
        );
    }

    #[test]
    fn a_human_edit_survives() {
        let desired = [want("firmo_headcount", "130", OverwritePolicy::Owned)];
        let cur = current(&[("firmo_headcount", Some("500"))]);
        let journal = [("firmo_headcount".to_owned(), "120".to_owned())].into();
        let d = diff(&crm(), &desired, &cur, &journal, &live());
        assert!(d.changes.is_empty());
        assert_eq!(
            d.skipped,
            vec![PropertySkip::HumanEdited {
                property: "firmo_headcount".into(),
                crm_value: "500".into()
            }]
        );
        // A value firmo never wrote is someone else's too.
        let d = diff(&crm(), &desired, &cur, &BTreeMap::new(), &live());
        assert!(d.changes.is_empty());
    }

    #[test]
    fn built_ins_are_filled_only_when_empty() {
        let desired = [want(
            "industry",
            "COMPUTER_SOFTWARE",
            OverwritePolicy::FillEmpty,
        )];
        let d = diff(
            &crm(),
            &desired,
            &current(&[("industry", Some("BANKING"))]),
            &BTreeMap::new(),
            &live(),
        );
        assert!(d.changes.is_empty());
        assert_eq!(
            d.skipped,
            vec![PropertySkip::NotEmpty {
                property: "industry".into()
            }]
        );
        let d = diff(
            &crm(),
            &desired,
            &current(&[("industry", Some("  "))]),
            &BTreeMap::new(),
            &live(),
        );
        assert_eq!(d.changes.len(), 1);
    }

    #[test]
    fn a_built_in_firmo_filled_is_firmo_s_to_update() {
        let desired = [want("industry", "BANKING", OverwritePolicy::FillEmpty)];
        let cur = current(&[("industry", Some("COMPUTER_SOFTWARE"))]);
        let ours = [("industry".to_owned(), "COMPUTER_SOFTWARE".to_owned())].into();
        let d = diff(&crm(), &desired, &cur, &ours, &live());
        assert_eq!(
            d.changes,
            [("industry".to_owned(), "BANKING".to_owned())].into()
        );
        assert!(d.skipped.is_empty());
        // Once a person changed it, it is theirs again.
        let theirs = [("industry".to_owned(), "INSURANCE".to_owned())].into();
        let d = diff(&crm(), &desired, &cur, &theirs, &live());
        assert!(d.changes.is_empty());
        assert_eq!(
            d.skipped,
            vec![PropertySkip::NotEmpty {
                property: "industry".into()
            }]
        );
    }

    #[test]
    fn missing_properties_are_reported_not_sent() {
        let desired = [want("firmo_nope", "1", OverwritePolicy::Owned)];
        let d = diff(
            &crm(),
            &desired,
            &BTreeMap::new(),
            &BTreeMap::new(),
            &live(),
        );
        assert!(d.changes.is_empty());
        assert_eq!(
            d.skipped,
            vec![PropertySkip::MissingProperty {
                property: "firmo_nope".into()
            }]
        );
    }
}

//! The demo contacts: the people at each demo company as the Clay people emulator knows
//! them ([`crate::emulators::people::people_at`]), so the CRM and Clay agree on who they
//! are; its engineering leader comes from the company's synthetic profile, the same one
//! Clay's company table reports executive changes from. Deterministic: a company's
//! contacts follow from its domain alone.
//!
//! - About one company in four has a CTO or VP of Engineering who started recently
//!   ([`has_recent_exec`](crate::emulators::people::has_recent_exec)): `exec_change` should be set for exactly those, whichever of
//!   the company table and the people firmo asks; others have a long-settled one, a new
//!   Head of Engineering (not counted), or none (shares in [`crate::emulators::synth`]).
//! - Two to five other people each ([`crate::emulators::people::OTHERS`]: DevOps/SRE,
//!   engineers, other functions).
//! - The first contact is associated twice, unlabeled and "Primary" (as HubSpot does for a
//!   contact's primary company); the engineering leader, when there is one, is also a
//!   "Technical buyer" (a user-defined label).
//! - About a third of contacts have no `jobtitle` in the CRM (firmo fills it), some have a
//!   stale one; none has a LinkedIn URL.
//!
//! A company without a domain has no contacts: there is no one to email.

use std::collections::BTreeMap;

use crate::associations::AssociationLabel;
use crate::emulators::people::{fnv1a, people_at};
use crate::emulators::synth;
use crate::state::Company;

/// One seeded contact: its properties and the labels it is associated under.
pub(crate) struct SeededContact {
    pub(crate) properties: BTreeMap<String, String>,
    pub(crate) created_at: i64,
    pub(crate) labels: &'static [AssociationLabel],
}

const ONCE: &[AssociationLabel] = &[AssociationLabel::Unlabeled];
const PRIMARY: &[AssociationLabel] = &[AssociationLabel::Unlabeled, AssociationLabel::Primary];
const BUYER: &[AssociationLabel] = &[
    AssociationLabel::Unlabeled,
    AssociationLabel::TechnicalBuyer,
];

/// The demo contacts of `company`.
pub(crate) fn contacts_of(company: &Company, now_ms: i64) -> Vec<SeededContact> {
    let Some(domain) = company.properties.get("domain") else {
        return Vec::new();
    };
    let company_name = company.properties.get("name").cloned().unwrap_or_default();
    let has_lead = synth::engineering_lead(domain).is_some();
    people_at(domain)
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let email = format!("{}@{domain}", p.local_part());
            let mut properties = BTreeMap::from([
                ("email".to_owned(), email.clone()),
                ("firstname".to_owned(), p.first.to_owned()),
                ("lastname".to_owned(), p.last.to_owned()),
                ("company".to_owned(), company_name.clone()),
            ]);
            match fnv1a(email.as_bytes()) % 6 {
                0 | 1 => {}
                // A title from before their current role.
                2 => {
                    properties.insert("jobtitle".into(), "Software Engineer".into());
                }
                _ => {
                    properties.insert("jobtitle".into(), p.title.to_owned());
                }
            }
            let labels = match i {
                0 if has_lead => BUYER,
                0 => PRIMARY,
                1 if has_lead => PRIMARY,
                _ => ONCE,
            };
            SeededContact {
                properties,
                created_at: now_ms,
                labels,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulators::people::has_recent_exec;

    fn company(domain: &str) -> Company {
        Company {
            id: "1".into(),
            properties: BTreeMap::from([("domain".to_owned(), domain.to_owned())]),
            created_at: 0,
            updated_at: 0,
            archived: false,
        }
    }

    #[test]
    fn some_companies_have_a_recent_exec_and_every_one_a_primary_contact() {
        let domains: Vec<String> = (0..40).map(|i| format!("demo{i}.example")).collect();
        let recent = domains.iter().filter(|d| has_recent_exec(d)).count();
        assert!((4..=20).contains(&recent), "{recent} of 40");
        for d in &domains {
            let contacts = contacts_of(&company(d), 0);
            assert!((2..=6).contains(&contacts.len()));
            let twice = contacts.iter().filter(|c| c.labels.len() == 2).count();
            assert!(twice >= 1, "{d}");
        }
    }

    /// One truth: the company table's executive changes, the seeded contacts and the
    /// people table agree on who is a new CTO or VP Engineering, and since when.
    #[test]
    fn the_company_table_and_the_contacts_agree_on_new_engineering_executives() {
        let today = firmo_core::Date::new(2026, 6, 15).unwrap();
        let counts = |title: &str| {
            firmo_core::title::engineering_exec(title)
                .is_some_and(firmo_core::title::EngineeringExec::counts_for_exec_change)
        };
        for i in 0..300 {
            let domain = format!("demo{i}.example");
            let profile = synth::profile(&domain, today);
            let from_company: Vec<(String, firmo_core::Date)> = profile
                .linkedin
                .exec_changes
                .iter()
                .filter(|c| counts(c.title) && c.start_date.days_until(today) <= 90)
                .map(|c| (c.name.clone(), c.start_date))
                .collect();
            let mut from_people = Vec::new();
            for c in contacts_of(&company(&domain), 0) {
                let input = serde_json::json!({"email": c.properties["email"]});
                let row = crate::emulators::people::enriched_person_row(
                    input.as_object().unwrap(),
                    today,
                );
                let columns: serde_json::Map<String, serde_json::Value> = row
                    .into_iter()
                    .filter(|(k, _)| firmo_core::ContactField::from_name(k).is_some())
                    .collect();
                let evaluation = firmo_core::contact::evaluate_contact_json(&columns.into(), today);
                assert!(
                    evaluation.findings.is_empty(),
                    "{domain}: {:?}",
                    evaluation.findings
                );
                if let Some(change) = evaluation.exec_change
                    && counts(&change.title)
                    && change.date.days_until(today) <= 90
                {
                    let name =
                        format!("{} {}", c.properties["firstname"], c.properties["lastname"]);
                    from_people.push((name, change.date));
                }
            }
            assert_eq!(from_company, from_people, "{domain}");
            assert_eq!(
                from_company.len(),
                usize::from(has_recent_exec(&domain)),
                "{domain}"
            );
        }
    }
}

//! The demo contacts: a few people per demo company, drawn from the Clay people
//! emulator's personas ([`crate::emulators::people`]) so the CRM and Clay agree on who
//! they are. Deterministic: a company's contacts follow from its domain alone.
//!
//! - About one company in four has an engineering executive who started within 90 days
//!   (a [`RECENT_EXECS`] persona): `exec_change` should be set for exactly those;
//!   another one in four has a long-settled one ([`SETTLED_EXECS`]); the rest none.
//! - Two to five other people each ([`OTHERS`]: DevOps/SRE, engineers, other functions).
//! - The first contact is associated twice, unlabeled and "Primary" (as HubSpot does for a
//!   contact's primary company); the executive, when there is one, is also a "Technical
//!   buyer" (a user-defined label).
//! - About a third of contacts have no `jobtitle` in the CRM (firmo fills it), some have a
//!   stale one; none has a LinkedIn URL.
//!
//! A company without a domain has no contacts: there is no one to email.

use std::collections::BTreeMap;

use crate::associations::AssociationLabel;
use crate::emulators::people::{OTHERS, Persona, RECENT_EXECS, SETTLED_EXECS, fnv1a};
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

/// Whether a domain's company has a recently started engineering executive.
pub fn has_recent_exec(domain: &str) -> bool {
    fnv1a(domain.as_bytes()).is_multiple_of(4)
}

/// The personas at a domain's company, executive first.
pub(crate) fn personas_at(domain: &str) -> Vec<&'static Persona> {
    let h = fnv1a(domain.as_bytes());
    let mut out = Vec::new();
    let pick = |list: &'static [Persona], salt: u64| &list[((h >> salt) as usize) % list.len()];
    match h % 4 {
        0 => out.push(pick(RECENT_EXECS, 8)),
        1 => out.push(pick(SETTLED_EXECS, 8)),
        _ => {}
    }
    let others = 2 + ((h >> 16) % 4) as usize;
    let start = ((h >> 24) as usize) % OTHERS.len();
    out.extend((0..others).map(|i| &OTHERS[(start + i) % OTHERS.len()]));
    out
}

/// The demo contacts of `company`.
pub(crate) fn contacts_of(company: &Company, now_ms: i64) -> Vec<SeededContact> {
    let Some(domain) = company.properties.get("domain") else {
        return Vec::new();
    };
    let company_name = company.properties.get("name").cloned().unwrap_or_default();
    let exec_count = usize::from(!matches!(fnv1a(domain.as_bytes()) % 4, 2 | 3));
    personas_at(domain)
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
                0 if exec_count == 1 => BUYER,
                0 => PRIMARY,
                1 if exec_count == 1 => PRIMARY,
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

    #[test]
    fn some_companies_have_a_recent_exec_and_every_one_a_primary_contact() {
        let domains: Vec<String> = (0..40).map(|i| format!("demo{i}.example")).collect();
        let recent = domains.iter().filter(|d| has_recent_exec(d)).count();
        assert!((4..=20).contains(&recent), "{recent} of 40");
        for d in &domains {
            let company = Company {
                id: "1".into(),
                properties: BTreeMap::from([("domain".to_owned(), d.clone())]),
                created_at: 0,
                updated_at: 0,
                archived: false,
            };
            let contacts = contacts_of(&company, 0);
            assert!((2..=6).contains(&contacts.len()));
            let twice = contacts.iter().filter(|c| c.labels.len() == 2).count();
            assert!(twice >= 1, "{d}");
            assert_eq!(has_recent_exec(d), RECENT_EXECS.contains(personas_at(d)[0]));
        }
    }
}

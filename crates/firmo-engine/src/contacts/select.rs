//! Which of a company's contacts are looked up: people are paid per lookup, so only the
//! few a technical buyer's account is about, and never more than the cap. Pure: the
//! links, the records and the config are inputs.

use std::collections::HashMap;

use firmo_connect::contacts::{ContactLink, CrmContact};
use firmo_core::title::engineering_exec;

use super::config::ContactsConfig;
use super::properties::SENIORITY;

/// Why a contact was chosen, best first (the order of selection).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    /// The CRM title names an executive engineering role, or the user labelled the
    /// association (a "Technical buyer" label is someone the user marked as mattering).
    Key,
    /// The title holds a configured keyword, or firmo found a configured seniority.
    Matches,
    /// No title in the CRM: the lookup is what tells who they are.
    Untitled,
}

/// Why `contact` is a candidate, if it is one.
pub fn reason(
    config: &ContactsConfig,
    link: &ContactLink,
    contact: Option<&CrmContact>,
) -> Option<Reason> {
    let title = contact.and_then(|c| c.property("jobtitle"));
    // A user-defined label; HubSpot's own "Primary" says where they work, not who they are.
    let labelled = link
        .labels
        .iter()
        .any(|l| !l.eq_ignore_ascii_case("primary"));
    if labelled || title.is_some_and(|t| engineering_exec(t).is_some()) {
        return Some(Reason::Key);
    }
    let seniority = contact.and_then(|c| c.property(SENIORITY));
    let keyword = title.is_some_and(|t| {
        let words = words(t);
        config
            .title_keywords
            .iter()
            .any(|k| contains(&words, &self::words(k)))
    });
    if keyword || seniority.is_some_and(|s| config.seniorities.iter().any(|c| c == s)) {
        return Some(Reason::Matches);
    }
    (title.is_none() && config.include_untitled).then_some(Reason::Untitled)
}

/// The contacts of one company to look up, best first, at most `per_company`.
///
/// A contact firmo answered for within the refresh window (`answered`: fresh in the
/// cache, or pending) keeps its place first, whatever its title says now: firmo's own
/// writes change the titles the ranking reads, and a selection that moved with them
/// would pay for someone new on every run.
pub fn select<'a, S: std::hash::BuildHasher>(
    config: &ContactsConfig,
    links: &'a [ContactLink],
    records: &HashMap<String, CrmContact, S>,
    answered: &dyn Fn(&str) -> bool,
) -> Vec<&'a ContactLink> {
    let mut candidates: Vec<(bool, Option<Reason>, usize, &ContactLink)> = links
        .iter()
        .enumerate()
        .filter_map(|(i, link)| {
            let kept = answered(&link.contact_id);
            let why = reason(config, link, records.get(&link.contact_id));
            (kept || why.is_some()).then_some((!kept, why, i, link))
        })
        .collect();
    candidates.sort_by_key(|(new, why, i, _)| (*new, why.unwrap_or(Reason::Untitled), *i));
    candidates
        .into_iter()
        .take(config.per_company as usize)
        .map(|(_, _, _, link)| link)
        .collect()
}

fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Whether `phrase` occurs in `words` as whole words ("engineer" is not in "engineering").
fn contains(words: &[String], phrase: &[String]) -> bool {
    !phrase.is_empty() && words.windows(phrase.len()).any(|w| w == phrase)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn link(id: &str, labels: &[&str]) -> ContactLink {
        ContactLink {
            contact_id: id.into(),
            labels: labels.iter().map(|l| (*l).to_owned()).collect(),
            primary: labels.contains(&"Primary"),
        }
    }

    fn titled(id: &str, title: Option<&str>) -> (String, CrmContact) {
        let properties: BTreeMap<String, Option<String>> =
            BTreeMap::from([("jobtitle".to_owned(), title.map(str::to_owned))]);
        (
            id.to_owned(),
            CrmContact {
                id: id.into(),
                properties,
            },
        )
    }

    #[test]
    fn executives_and_labelled_contacts_first_then_matches_then_untitled_up_to_the_cap() {
        let links = [
            link("1", &[]),
            link("2", &["Primary"]),
            link("3", &[]),
            link("4", &[]),
            link("5", &["Technical buyer"]),
            link("6", &[]),
        ];
        let records = HashMap::from([
            titled("1", None),
            titled("2", Some("Account Executive")),
            titled("3", Some("Senior DevOps Engineer")),
            titled("4", Some("VP, Engineering")),
            titled("5", Some("Software Engineer")),
            titled("6", Some("Head of Marketing")),
        ]);
        let mut config = ContactsConfig::default();
        let ids = |config: &ContactsConfig| -> Vec<String> {
            select(config, &links, &records, &|_| false)
                .into_iter()
                .map(|l| l.contact_id.clone())
                .collect()
        };
        assert_eq!(ids(&config), ["4", "5", "3"]);
        config.per_company = 10;
        // The account executive and the marketer are nobody firmo looks up.
        assert_eq!(ids(&config), ["4", "5", "3", "1"]);
        config.include_untitled = false;
        assert_eq!(ids(&config), ["4", "5", "3"]);
        config.per_company = 1;
        assert_eq!(ids(&config), ["4"]);
        // Someone answered for earlier keeps their place, matching or not.
        let kept = select(&config, &links, &records, &|id| id == "6");
        assert_eq!(kept[0].contact_id, "6");
    }

    #[test]
    fn keywords_match_whole_words_and_seniority_counts() {
        let config = ContactsConfig {
            title_keywords: vec!["site reliability".into(), "sre".into()],
            ..ContactsConfig::default()
        };
        let contact = |title: &str| titled("1", Some(title)).1;
        let plain = link("1", &[]);
        let of = |c: &CrmContact| reason(&config, &plain, Some(c));
        assert_eq!(of(&contact("Site Reliability Lead")), Some(Reason::Matches));
        assert_eq!(of(&contact("SRE")), Some(Reason::Matches));
        assert_eq!(of(&contact("Presales Engineer")), None);
        let mut director = contact("Sales Director");
        director
            .properties
            .insert(SENIORITY.into(), Some("director".into()));
        assert_eq!(of(&director), Some(Reason::Matches));
        assert_eq!(reason(&config, &plain, None), Some(Reason::Untitled));
    }
}

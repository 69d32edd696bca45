//! Person enrichment: looking a contact up at a provider with person data (Clay's
//! people tables), beside the company [`Provider`](crate::Provider).
//!
//! A trait of its own because both ends differ from a company lookup: the key is a
//! person (email, LinkedIn URL, name at a domain), not a domain, and the answer is
//! contact fields ([`Contact`]), not a company [`ProviderRecord`](firmo_core::ProviderRecord)
//! per source. The outcomes mean what [`LookupOutcome`](crate::LookupOutcome)'s do, so
//! the engine's cache, budget and pending handling apply unchanged.

use std::time::Duration;

use async_trait::async_trait;
use firmo_core::contact::Contact;

use crate::error::ConnectorError;

/// Who to look up. Providers match on what they have: email first, then LinkedIn URL,
/// then name at the company's domain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonQuery {
    /// The CRM contact id, echoed back so the answer finds its record.
    pub contact_id: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company_domain: Option<String>,
    pub linkedin_url: Option<String>,
}

impl PersonQuery {
    /// The key a lookup is cached and deduplicated under: `email:<lowercased>`, else
    /// `linkedin:<url>`, else `contact:<id>` (one person, whatever company lists them).
    pub fn key(&self) -> String {
        let present = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_lowercase)
        };
        if let Some(email) = present(&self.email) {
            format!("email:{email}")
        } else if let Some(url) = present(&self.linkedin_url) {
            format!("linkedin:{}", url.trim_end_matches('/'))
        } else {
            format!("contact:{}", self.contact_id)
        }
    }
}

/// A provider's answer for one person.
#[derive(Debug, Clone, PartialEq)]
pub enum PersonOutcome {
    /// The person's canonical contact fields (normalized; unusable values left out).
    Found(Contact),
    /// The provider knows no such person: cache it, don't pay again.
    NotFound,
    /// Accepted, answered later (a row pushed into a Clay people table): as
    /// [`LookupOutcome::Pending`](crate::LookupOutcome::Pending).
    Pending {
        retry_after: Option<Duration>,
        charged: bool,
    },
}

/// A provider that enriches people.
#[async_trait]
pub trait PersonProvider: Send + Sync {
    /// Stable name, as in config (`clay`).
    fn name(&self) -> &'static str;

    /// Credits one person lookup costs.
    fn cost_per_lookup(&self) -> f64;

    /// Whether answers arrive by push (a receiver must run during the run).
    fn answers_by_push(&self) -> bool {
        false
    }

    /// Looks one person up.
    async fn lookup_person(&self, query: &PersonQuery) -> Result<PersonOutcome, ConnectorError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_prefers_email_then_linkedin_then_the_contact() {
        let mut q = PersonQuery {
            contact_id: "7".into(),
            email: Some(" Maya.Chen@Acme.example ".into()),
            linkedin_url: Some("https://www.linkedin.com/in/maya/".into()),
            ..PersonQuery::default()
        };
        assert_eq!(q.key(), "email:maya.chen@acme.example");
        q.email = Some(String::new());
        assert_eq!(q.key(), "linkedin:https://www.linkedin.com/in/maya");
        q.linkedin_url = None;
        assert_eq!(q.key(), "contact:7");
    }
}

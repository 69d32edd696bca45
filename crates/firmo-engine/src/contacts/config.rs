//! `[contacts]`: whether a sync enriches the people of each account, which of them, through
//! which person provider, and how the result is written. Checked at load like the rest of
//! `firmo.toml`: a bad value stops the run before any call, naming its key.

use firmo_core::Refresh;
use firmo_core::contact::SENIORITIES;
use serde::{Deserialize, Serialize};

/// `[contacts]` as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ContactsConfig {
    /// Enrich contacts. Unset: off, except in the embedded demo (`--sandbox`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The person provider (`clay`: its people table).
    pub provider: String,
    /// Most contacts looked up per company: people are paid per lookup.
    pub per_company: u32,
    /// A contact whose CRM title holds one of these words or phrases is selected.
    pub title_keywords: Vec<String>,
    /// A contact whose seniority (as firmo wrote it) is one of these is selected.
    pub seniorities: Vec<String>,
    /// Contacts without a title in the CRM are candidates too (after those with a
    /// matching one): the lookup is what finds their title.
    pub include_untitled: bool,
    /// The Clay people table's webhook URL (each table has its own). A secret: never
    /// shown in logs or errors.
    pub people_webhook_url: String,
    /// A contact property the portal already keeps LinkedIn profiles in (e.g.
    /// `linkedin_url`): filled where empty, beside firmo's own `firmo_linkedin_url`.
    pub linkedin_property: String,
    /// A new CTO or VP of Engineering counts for `exec_change` this many days after they
    /// started.
    pub exec_window_days: u32,
    /// How long a person's answer stays fresh.
    pub refresh: Refresh,
    /// Where the people table's callbacks are received during a run.
    pub callback_addr: String,
}

impl Default for ContactsConfig {
    fn default() -> Self {
        ContactsConfig {
            enabled: None,
            provider: firmo_clay::NAME.into(),
            per_company: 3,
            title_keywords: [
                "cto",
                "chief technology officer",
                "vp engineering",
                "head of engineering",
                "engineering",
                "engineer",
                "devops",
                "sre",
                "site reliability",
                "platform",
                "infrastructure",
            ]
            .map(str::to_owned)
            .to_vec(),
            seniorities: ["owner", "c_suite", "vp", "head", "director"]
                .map(str::to_owned)
                .to_vec(),
            include_untitled: true,
            people_webhook_url: String::new(),
            linkedin_property: String::new(),
            exec_window_days: 90,
            refresh: Refresh::Monthly,
            callback_addr: "127.0.0.1:8788".into(),
        }
    }
}

/// The person providers `[contacts] provider` may name.
pub const PERSON_PROVIDERS: &[&str] = &[firmo_clay::NAME];

impl ContactsConfig {
    /// Whether a run enriches contacts: as configured, else only in the embedded demo.
    pub fn is_enabled(&self, demo: bool) -> bool {
        self.enabled.unwrap_or(demo)
    }

    /// The mapped LinkedIn property, if any.
    pub fn linkedin_property(&self) -> Option<&str> {
        Some(self.linkedin_property.trim()).filter(|p| !p.is_empty())
    }

    /// Every check, as `(key, message)` for [`crate::config::ConfigError::Invalid`].
    pub(crate) fn check(&self) -> Result<(), (String, String)> {
        let key = |k: &str| format!("contacts.{k}");
        crate::config::in_range(&key("per_company"), f64::from(self.per_company), 1.0, 100.0)?;
        crate::config::in_range(
            &key("exec_window_days"),
            f64::from(self.exec_window_days),
            1.0,
            3_650.0,
        )?;
        if !PERSON_PROVIDERS.contains(&self.provider.as_str()) {
            return Err((
                key("provider"),
                format!(
                    "unknown person provider `{}`; known: {}",
                    self.provider,
                    PERSON_PROVIDERS.join(", ")
                ),
            ));
        }
        if let Some(i) = self.title_keywords.iter().position(|k| k.trim().is_empty()) {
            return Err((
                format!("contacts.title_keywords[{i}]"),
                "is empty: a blank keyword would match every title".into(),
            ));
        }
        for (i, level) in self.seniorities.iter().enumerate() {
            if !SENIORITIES.iter().any(|s| s.value == level) {
                let known: Vec<&str> = SENIORITIES.iter().map(|s| s.value).collect();
                return Err((
                    format!("contacts.seniorities[{i}]"),
                    format!("unknown seniority `{level}`; known: {}", known.join(", ")),
                ));
            }
        }
        if let Some(property) = self.linkedin_property() {
            let valid = property
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !valid || property.starts_with(firmo_core::field::PROPERTY_PREFIX) {
                return Err((
                    key("linkedin_property"),
                    format!(
                        "`{property}` is not a portal property name (lowercase letters, digits and `_`, not one of firmo's own `firmo_*`)"
                    ),
                ));
            }
        }
        let webhook = self.people_webhook_url.trim();
        if !webhook.is_empty() && reqwest::Url::parse(webhook).is_err() {
            // The URL is not echoed: a Clay webhook URL is as good as a password.
            return Err((key("people_webhook_url"), "is not a usable URL".into()));
        }
        if self.callback_addr.parse::<std::net::SocketAddr>().is_err() {
            return Err((
                key("callback_addr"),
                format!(
                    "`{}` is not an address like 127.0.0.1:8788",
                    self.callback_addr
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(toml: &str) -> (String, String) {
        let config: ContactsConfig = toml::from_str(toml).unwrap();
        config.check().unwrap_err()
    }

    #[test]
    fn the_defaults_pass_and_are_off_except_in_the_sandbox() {
        let config = ContactsConfig::default();
        assert_eq!(config.check(), Ok(()));
        assert!(!config.is_enabled(false));
        assert!(config.is_enabled(true));
        let off = ContactsConfig {
            enabled: Some(false),
            ..ContactsConfig::default()
        };
        assert!(!off.is_enabled(true));
    }

    #[test]
    fn each_bad_value_names_its_key() {
        assert_eq!(problem("per_company = 0").0, "contacts.per_company");
        assert_eq!(problem("per_company = 101").0, "contacts.per_company");
        assert_eq!(
            problem("exec_window_days = 0").0,
            "contacts.exec_window_days"
        );
        assert_eq!(problem("provider = \"apollo\"").0, "contacts.provider");
        assert_eq!(
            problem("title_keywords = [\"cto\", \" \"]").0,
            "contacts.title_keywords[1]"
        );
        let (key, message) = problem("seniorities = [\"vp\", \"wizard\"]");
        assert_eq!(key, "contacts.seniorities[1]");
        assert!(message.contains("c_suite"), "{message}");
        assert_eq!(
            problem("linkedin_property = \"LinkedIn URL\"").0,
            "contacts.linkedin_property"
        );
        assert_eq!(
            problem("linkedin_property = \"firmo_linkedin_url\"").0,
            "contacts.linkedin_property"
        );
        assert_eq!(
            problem("callback_addr = \"here\"").0,
            "contacts.callback_addr"
        );
    }

    #[test]
    fn a_bad_webhook_url_is_refused_without_being_echoed() {
        let (key, message) = problem("people_webhook_url = \"not a url secret-token\"");
        assert_eq!(key, "contacts.people_webhook_url");
        assert!(!message.contains("secret-token"), "{message}");
    }
}

//! A string that never prints: API keys and tokens travel in this type so a `{:?}` or a
//! log line can't leak them.

use std::fmt;

/// A secret value (API key, access token). `Debug` and `Display` print `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for the one place that must send it (an auth header).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Reads the secret from environment variable `var`; `None` when unset, empty or
    /// whitespace only (an exported-but-empty variable means "not configured", not a
    /// key to send and be refused with).
    pub fn from_env(var: &str) -> Option<Secret> {
        Secret::from_value(std::env::var(var).ok())
    }

    /// A secret from a configured value; `None` when absent or blank. Surrounding
    /// whitespace (a pasted newline) is dropped.
    pub fn from_value(value: Option<String>) -> Option<Secret> {
        value
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .map(Secret)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_formats_the_value() {
        let s = Secret::new("sk_live_abc123");
        assert!(!format!("{s:?} {s}").contains("abc123"));
        assert_eq!(s.expose(), "sk_live_abc123");
    }

    #[test]
    fn empty_and_blank_values_are_unset() {
        assert_eq!(Secret::from_value(None), None);
        assert_eq!(Secret::from_value(Some(String::new())), None);
        assert_eq!(Secret::from_value(Some(" \t\n".into())), None);
        assert_eq!(
            Secret::from_value(Some(" pat-na1-x\n".into())).map(|s| s.expose().to_owned()),
            Some("pat-na1-x".to_owned())
        );
        // The process environment itself: PATH is set in any test run, and a name no one
        // sets is absent.
        assert!(Secret::from_env("PATH").is_some());
        assert_eq!(Secret::from_env("FIRMO_TEST_SURELY_UNSET_7f3a"), None);
    }
}

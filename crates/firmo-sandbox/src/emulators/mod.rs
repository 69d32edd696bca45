//! Emulators of the enrichment providers' documented HTTP APIs (Clearbit, BuiltWith,
//! Crunchbase, Clay), mounted by the sandbox under `/clearbit`, `/builtwith`,
//! `/crunchbase` and `/clay`, with deterministic synthetic data keyed by domain
//! (see [`synth`] for the data and its distribution, and each provider's module for the
//! paths, auth, shapes and status codes it speaks).
//!
//! The sandbox wraps this router in its fault middleware (error rate, 429 bursts,
//! latency, dropped connections); what lives here is each provider's own behaviour:
//! not found, pending, bad key, out of credits, its own rate limit, errors inside a 200.
//!
//! Every request an emulator answers is recorded in the [`RequestLog`] the settings
//! share: which provider and endpoint, the domains it named, the status, and the credits
//! the provider would bill by its own rule (Clearbit: a unique domain answered 200 or
//! 404; BuiltWith: a domain it returned a result for; Crunchbase: a call answered 200).
//! Tests read it to assert "never asked"; `GET /_sandbox/requests` serves it.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Json;
use firmo_core::{Date, UnixMillis};
use serde::{Deserialize, Serialize};

pub mod builtwith;
pub mod clay;
pub mod clearbit;
pub mod crunchbase;
mod limit;
pub mod people;
pub mod synth;

pub use clay::{ClayCallbackCounts, ClayStats, ClayTable};

/// Credentials, quotas and timing the emulators use. Cloning shares the Clay counters
/// ([`ClayStats`]), so a clone kept by a test sees what the mounted router did.
#[derive(Clone)]
pub struct EmulatorSettings {
    pub clearbit_key: String,
    pub builtwith_key: String,
    pub crunchbase_key: String,
    /// The reference date synthetic dates are placed relative to. Defaults to the
    /// current UTC date when the settings are created; tests pin it.
    pub today: Date,
    /// How long a pending Clearbit lookup stays pending (202) after its first call.
    /// The first call for a pending domain is always 202, so `Duration::ZERO` makes the
    /// second call return 200.
    pub clearbit_pending_after: Duration,
    /// Clearbit lookups billable before the account runs dry (402); `None` is unlimited.
    /// A lookup is billed when it returns a company (200).
    pub clearbit_credits: Option<u64>,
    /// Clearbit's per-key limit (documented 600/minute).
    pub clearbit_rate_per_minute: u32,
    /// BuiltWith lookups (one per domain looked up) before "out of credits"; `None` is
    /// unlimited.
    pub builtwith_credits: Option<u64>,
    /// Crunchbase's per-key limit (documented 200/minute).
    pub crunchbase_rate_per_minute: u32,
    /// Clay tables known at start (more can be registered with
    /// `PUT /clay/_emulator/tables/{table_id}`).
    pub clay_tables: Vec<ClayTable>,
    /// Delay between a webhook row arriving and its enriched row being posted back.
    pub clay_callback_delay: Duration,
    /// Further attempts after a failed callback (connection error or non-2xx).
    pub clay_callback_retries: u32,
    /// Pause before each retry.
    pub clay_retry_backoff: Duration,
    /// Counters of Clay callbacks, shared by clones of these settings.
    pub clay_stats: ClayStats,
    /// What each emulator was asked and billed, shared by clones of these settings.
    pub requests: RequestLog,
}

/// One request an emulator answered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Asked {
    /// `clearbit`, `builtwith` or `crunchbase`.
    pub provider: &'static str,
    /// The API's endpoint, e.g. `companies/find`, `api.json`, `searches/organizations`.
    pub endpoint: &'static str,
    /// The domains the request named (normalized where they parse), in its order.
    pub domains: Vec<String>,
    pub status: u16,
    /// What the provider bills for this request, by its own rule.
    pub credits: f64,
}

/// Every request the emulators answered, in arrival order. Cloning shares it.
#[derive(Debug, Clone, Default)]
pub struct RequestLog(Arc<Mutex<Vec<Asked>>>);

impl RequestLog {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Asked>> {
        // A handler that panicked mid-push left a whole entry or none: keep serving.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn record(&self, asked: Asked) {
        self.lock().push(asked);
    }

    /// Every request so far.
    pub fn entries(&self) -> Vec<Asked> {
        self.lock().clone()
    }

    /// The requests `provider` answered.
    pub fn of(&self, provider: &str) -> Vec<Asked> {
        self.lock()
            .iter()
            .filter(|a| a.provider == provider)
            .cloned()
            .collect()
    }

    /// Whether any request to `provider` named `domain`.
    pub fn asked(&self, provider: &str, domain: &str) -> bool {
        self.lock()
            .iter()
            .any(|a| a.provider == provider && a.domains.iter().any(|d| d == domain))
    }

    /// The distinct domains `provider` was asked about, in first-asked order.
    pub fn domains(&self, provider: &str) -> Vec<String> {
        let mut seen: Vec<String> = Vec::new();
        for a in self.lock().iter().filter(|a| a.provider == provider) {
            for d in &a.domains {
                if !seen.contains(d) {
                    seen.push(d.clone());
                }
            }
        }
        seen
    }

    /// How many requests `provider` answered.
    pub fn requests(&self, provider: &str) -> usize {
        self.lock()
            .iter()
            .filter(|a| a.provider == provider)
            .count()
    }

    /// The credits `provider` billed so far.
    pub fn credits(&self, provider: &str) -> f64 {
        self.lock()
            .iter()
            .filter(|a| a.provider == provider)
            .map(|a| a.credits)
            .sum()
    }

    /// Forgets everything recorded so far.
    pub fn clear(&self) {
        self.lock().clear();
    }
}

/// `GET /_sandbox/requests[?provider=P][&domain=D]`: the request log, filtered.
#[derive(Debug, Deserialize)]
pub struct RequestsQuery {
    provider: Option<String>,
    domain: Option<String>,
}

/// The handler of `GET /_sandbox/requests`: `{"requests":[…],"credits":{provider: n}}`.
pub async fn requests_route(
    State(state): State<crate::state::SandboxState>,
    Query(q): Query<RequestsQuery>,
) -> Json<serde_json::Value> {
    let log = &state.config().emulators.requests;
    let requests: Vec<Asked> = log
        .entries()
        .into_iter()
        .filter(|a| q.provider.as_deref().is_none_or(|p| a.provider == p))
        .filter(|a| {
            q.domain
                .as_deref()
                .is_none_or(|d| a.domains.iter().any(|x| x == d))
        })
        .collect();
    let credits: serde_json::Map<String, serde_json::Value> =
        ["clearbit", "builtwith", "crunchbase"]
            .iter()
            .map(|p| ((*p).to_owned(), log.credits(p).into()))
            .collect();
    Json(serde_json::json!({"requests": requests, "credits": credits}))
}

impl Default for EmulatorSettings {
    fn default() -> Self {
        EmulatorSettings {
            clearbit_key: "sandbox-clearbit-key".into(),
            builtwith_key: "sandbox-builtwith-key".into(),
            crunchbase_key: "sandbox-crunchbase-key".into(),
            today: today_utc(),
            clearbit_pending_after: Duration::from_secs(2),
            clearbit_credits: None,
            clearbit_rate_per_minute: 600,
            builtwith_credits: None,
            crunchbase_rate_per_minute: 200,
            clay_tables: vec![ClayTable::new("sandbox")],
            clay_callback_delay: Duration::from_millis(200),
            clay_callback_retries: 2,
            clay_retry_backoff: Duration::from_millis(100),
            clay_stats: ClayStats::default(),
            requests: RequestLog::default(),
        }
    }
}

impl fmt::Debug for EmulatorSettings {
    // Keys are redacted: even sandbox keys shouldn't train anyone to log keys.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmulatorSettings")
            .field("clearbit_key", &"<redacted>")
            .field("builtwith_key", &"<redacted>")
            .field("crunchbase_key", &"<redacted>")
            .field("today", &self.today)
            .field("clearbit_pending_after", &self.clearbit_pending_after)
            .field("clearbit_credits", &self.clearbit_credits)
            .field("clearbit_rate_per_minute", &self.clearbit_rate_per_minute)
            .field("builtwith_credits", &self.builtwith_credits)
            .field(
                "crunchbase_rate_per_minute",
                &self.crunchbase_rate_per_minute,
            )
            .field("clay_tables", &self.clay_tables)
            .field("clay_callback_delay", &self.clay_callback_delay)
            .field("clay_callback_retries", &self.clay_callback_retries)
            .field("clay_retry_backoff", &self.clay_retry_backoff)
            .field("clay_stats", &self.clay_stats)
            .field("requests", &self.requests.entries().len())
            .finish()
    }
}

/// All provider emulators, each nested under its own prefix. Each call builds fresh
/// emulator state (pending lookups, credits, rate windows, Clay tables); the Clay
/// counters are the ones in `settings`.
pub fn router(settings: &EmulatorSettings) -> Router {
    Router::new()
        .nest("/clearbit", clearbit::router(settings))
        .nest("/builtwith", builtwith::router(settings))
        .nest("/crunchbase", crunchbase::router(settings))
        .nest("/clay", clay::router(settings))
        .merge(people::router(settings))
}

/// The current UTC date.
pub fn today_utc() -> Date {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    UnixMillis(millis)
        .date()
        .or_else(|| Date::new(1970, 1, 1))
        .expect("1970-01-01 is a valid date")
}

#[cfg(test)]
pub(crate) mod testutil {
    //! A server on 127.0.0.1:0 for the emulator tests.

    use std::net::SocketAddr;

    use axum::Router;

    /// Serves `app` on an ephemeral local port; the server lives as long as the runtime.
    pub(crate) async fn serve(app: Router) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        addr
    }

    pub(crate) fn client() -> reqwest::Client {
        // reqwest refuses to build a client without a rustls provider, even for http.
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::builder().build().unwrap()
    }

    pub(crate) fn fixed_today() -> firmo_core::Date {
        firmo_core::Date::new(2026, 6, 15).unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_keys() {
        let s = EmulatorSettings::default();
        let shown = format!("{s:?}");
        assert!(!shown.contains(&s.clearbit_key));
        assert!(!shown.contains(&s.builtwith_key));
        assert!(!shown.contains(&s.crunchbase_key));
    }

    #[test]
    fn today_is_after_the_epoch() {
        assert!(today_utc().year() >= 2024);
    }

    #[tokio::test]
    async fn every_provider_is_mounted() {
        let settings = EmulatorSettings {
            today: testutil::fixed_today(),
            ..Default::default()
        };
        let addr = testutil::serve(router(&settings)).await;
        let c = testutil::client();
        let base = format!("http://{addr}");
        let cb = c
            .get(format!(
                "{base}/clearbit/v2/companies/find?domain=complete.example"
            ))
            .bearer_auth(&settings.clearbit_key)
            .send()
            .await
            .unwrap();
        assert_eq!(cb.status(), 200);
        let bw = c
            .get(format!(
                "{base}/builtwith/v21/api.json?KEY={}&LOOKUP=complete.example",
                settings.builtwith_key
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(bw.status(), 200);
        let cr = c
            .get(format!(
                "{base}/crunchbase/api/v4/autocompletes?query=complete.example&collection_ids=organizations"
            ))
            .header("X-cb-user-key", &settings.crunchbase_key)
            .send()
            .await
            .unwrap();
        assert_eq!(cr.status(), 200);
        let clay = c
            .post(format!("{base}/clay/webhooks/sandbox"))
            .json(&serde_json::json!({"domain": "complete.example"}))
            .send()
            .await
            .unwrap();
        assert!(clay.status().is_success());
    }
}

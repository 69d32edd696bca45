//! What a sandbox is started with: the token, the demo data, the limits and the faults,
//! plus the command-line flags that build it (shared by `firmo-sandbox` and `firmo sandbox`).

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::emulators::EmulatorSettings;
use crate::rules::PortalRule;

/// Everything a sandbox needs to start. `Default` is a 250-company portal with no limits
/// and no faults, token `sandbox-token`.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// The bearer token `/crm/*` requests must carry.
    pub token: String,
    /// How many demo companies to seed (ignored when `state_file` exists).
    pub companies: usize,
    /// Seed of the demo data: the same seed and count give the same companies.
    pub seed: u64,
    /// HubSpot's burst limit (100 per 10 s on Free/Starter); `None` = unlimited.
    pub rate_limit: Option<RateLimit>,
    /// The separate limit of the search endpoint: at most this many searches arrive in
    /// any rolling second (HubSpot: 4 per second per token, per its changelog "CRM
    /// Search API rate limit increase"); `None` = unlimited.
    pub search_per_second: Option<u32>,
    /// Requests per UTC day (HubSpot Free/Starter: 250,000); `None` = unlimited.
    pub daily_limit: Option<u64>,
    /// Injected failures, for tests of retry policies.
    pub faults: Faults,
    /// Load state from this JSON file when it exists; write it after writes and on shutdown.
    pub state_file: Option<PathBuf>,
    /// Keys of the provider emulators mounted next to the CRM.
    pub emulators: EmulatorSettings,
    /// Serve the demo company card from this `wasm/` directory under `/ui/`.
    pub ui_dir: Option<PathBuf>,
    /// The portal (Hub) id `/account-info/.../details` and the token info answer.
    pub portal_id: u64,
    /// The scopes the token has, as `/oauth/v2/private-apps/get/access-token-info`
    /// reports them; default [`DEFAULT_SCOPES`]. Take one out to test a missing scope.
    pub token_scopes: Vec<String>,
    /// Custom company properties the portal's tier allows (HubSpot reports its own at
    /// `/crm/limits/.../custom-properties`); a create past it is refused.
    pub custom_property_limit: u32,
    /// The portal's validation rules, applied to writes through `2026-09` paths.
    pub portal_rules: Vec<PortalRule>,
}

/// The scopes a firmo token needs (read and write companies, read and write their
/// property definitions), plus `oauth`, which the account-info endpoint asks for.
pub const DEFAULT_SCOPES: [&str; 5] = [
    "crm.objects.companies.read",
    "crm.objects.companies.write",
    "crm.schemas.companies.read",
    "crm.schemas.companies.write",
    "oauth",
];

/// The sandbox portal's id unless configured (a made-up Hub id).
pub const DEFAULT_PORTAL_ID: u64 = 24_681_357;

/// Custom properties per object unless configured: HubSpot's figure for most tiers is
/// 1,000 (unconfirmed; the portal's own answer at `/crm/limits/.../custom-properties`
/// is what counts).
pub const DEFAULT_CUSTOM_PROPERTY_LIMIT: u32 = 1000;

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            token: "sandbox-token".into(),
            companies: 250,
            seed: 0,
            rate_limit: None,
            search_per_second: None,
            daily_limit: None,
            faults: Faults::default(),
            state_file: None,
            emulators: EmulatorSettings::default(),
            ui_dir: None,
            portal_id: DEFAULT_PORTAL_ID,
            token_scopes: DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
            custom_property_limit: DEFAULT_CUSTOM_PROPERTY_LIMIT,
            portal_rules: Vec::new(),
        }
    }
}

/// A rolling-window request limit: at most `max_requests` in any `interval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimit {
    pub max_requests: u32,
    #[serde(with = "millis")]
    pub interval: Duration,
}

impl RateLimit {
    /// HubSpot's Free/Starter burst limit: 100 requests per rolling 10 seconds.
    pub const HUBSPOT_FREE: RateLimit = RateLimit {
        max_requests: 100,
        interval: Duration::from_secs(10),
    };
}

impl FromStr for RateLimit {
    type Err = String;

    /// `100/10s`, `10/1s`, `5/500ms`, `100/10` (seconds).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (max, interval) = s
            .split_once('/')
            .ok_or_else(|| format!("rate limit {s:?} is not REQUESTS/INTERVAL (e.g. 100/10s)"))?;
        let max_requests: u32 = max
            .trim()
            .parse()
            .map_err(|_| format!("rate limit {s:?}: {max:?} is not a whole number of requests"))?;
        if max_requests == 0 {
            return Err(format!(
                "rate limit {s:?}: at least one request per interval"
            ));
        }
        let interval = parse_duration(interval.trim())
            .ok_or_else(|| format!("rate limit {s:?}: {interval:?} is not a duration like 10s"))?;
        if interval.is_zero() {
            return Err(format!(
                "rate limit {s:?}: the interval must be longer than zero"
            ));
        }
        Ok(RateLimit {
            max_requests,
            interval,
        })
    }
}

/// `10s`, `500ms`, `2m`, or a bare number of seconds.
fn parse_duration(s: &str) -> Option<Duration> {
    let digits_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(digits_end);
    let n: u64 = n.parse().ok()?;
    match unit {
        "" | "s" => Some(Duration::from_secs(n)),
        "ms" => Some(Duration::from_millis(n)),
        "m" => Some(Duration::from_secs(n.checked_mul(60)?)),
        _ => None,
    }
}

/// Injected failures. Applied to every route, the provider emulators' included; the admin
/// endpoints under `/_sandbox/` are exempt so tests can always reach them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "snake_case")]
pub struct Faults {
    /// Share (0.0..=1.0) of requests answered 500, 502 or 503.
    pub error_rate: f64,
    /// The next N requests are answered 429 (`TEN_SECONDLY_ROLLING`); counts down.
    pub burst_429: u32,
    /// Added before every answer.
    #[serde(with = "millis")]
    pub latency: Duration,
    /// Share (0.0..=1.0) of requests whose connection is closed without an answer.
    pub drop_rate: f64,
    /// Company ids whose batch updates fail (a 207 error entry for that input).
    pub fail_ids: BTreeSet<String>,
    /// HubSpot's search index trails writes by seconds: records written within this
    /// long are not yet visible to search (list, get and batch read see them at once).
    #[serde(with = "millis")]
    pub search_lag: Duration,
}

/// Durations as whole milliseconds in JSON (`"latency": 250`).
mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

/// The sandbox's command-line flags; `firmo sandbox` flattens the same struct.
#[derive(Debug, Clone, clap::Args)]
pub struct SandboxArgs {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8089")]
    pub addr: SocketAddr,
    /// Bearer token the CRM endpoints accept.
    #[arg(long, default_value = "sandbox-token", env = "FIRMO_SANDBOX_TOKEN")]
    pub token: String,
    /// Number of demo companies to seed.
    #[arg(long, default_value_t = 250)]
    pub companies: usize,
    /// Seed of the demo data.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Burst limit like HubSpot's, e.g. `100/10s`.
    #[arg(long, value_name = "N/INTERVAL")]
    pub rate_limit: Option<RateLimit>,
    /// Search requests allowed in any rolling second; more is a 429 `SECONDLY`
    /// (HubSpot: 4 per token).
    #[arg(long, value_name = "N")]
    pub search_per_second: Option<u32>,
    /// Requests allowed per UTC day.
    #[arg(long, value_name = "N")]
    pub daily_limit: Option<u64>,
    /// Persist the CRM state to this JSON file (loaded when it exists).
    #[arg(long, value_name = "FILE")]
    pub state_file: Option<PathBuf>,
    /// Serve the demo company card (`/ui/companies/ID`) from this `wasm/` directory
    /// [default: the repository's `wasm/`, when this binary was built from one].
    #[arg(long, value_name = "DIR")]
    pub ui_dir: Option<PathBuf>,
    /// The portal id account-info reports.
    #[arg(long, default_value_t = DEFAULT_PORTAL_ID)]
    pub portal_id: u64,
    /// The token's scopes, comma-separated [default: what firmo needs, plus `oauth`].
    #[arg(long, value_delimiter = ',', value_name = "SCOPE,...")]
    pub token_scopes: Option<Vec<String>>,
    /// Custom company properties the portal's tier allows.
    #[arg(long, default_value_t = DEFAULT_CUSTOM_PROPERTY_LIMIT)]
    pub custom_property_limit: u32,
    /// Portal validation rules as JSON (applied to 2026-09 writes), e.g.
    /// `[{"kind":"conditionally_required","property":"state","when_property":"country","equals":"US"}]`.
    #[arg(long, value_name = "JSON", value_parser = parse_rules)]
    pub portal_rules: Option<PortalRules>,
    /// Latency added before every answer, CRM and emulators alike (e.g. `250ms`).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg)]
    pub latency: Option<Duration>,
    /// Clearbit lookups billable before 402 [default: unlimited].
    #[arg(long, value_name = "N")]
    pub clearbit_credits: Option<u64>,
    /// Clearbit's per-key limit per minute [default: its documented 600].
    #[arg(long, value_name = "N")]
    pub clearbit_rate_per_minute: Option<u32>,
    /// BuiltWith lookups before "out of credits" [default: unlimited].
    #[arg(long, value_name = "N")]
    pub builtwith_credits: Option<u64>,
    /// Crunchbase's per-key limit per minute [default: its documented 200].
    #[arg(long, value_name = "N")]
    pub crunchbase_rate_per_minute: Option<u32>,
    /// How long a pending Clearbit lookup answers 202 before its company (e.g. `0s`)
    /// [default: 2s].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg)]
    pub clearbit_pending_after: Option<Duration>,
    /// Delay before Clay posts an enriched row back (e.g. `2s`) [default: 200ms].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg)]
    pub clay_callback_delay: Option<Duration>,
    /// Further attempts after a failed Clay callback [default: 2].
    #[arg(long, value_name = "N")]
    pub clay_callback_retries: Option<u32>,
    /// Pause before each Clay callback retry [default: 100ms].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg)]
    pub clay_retry_backoff: Option<Duration>,
    /// Share of requests (0.0 to 1.0) answered 500, 502 or 503, CRM and emulators alike.
    #[arg(long, value_name = "SHARE", value_parser = parse_share)]
    pub error_rate: Option<f64>,
    /// Share of requests (0.0 to 1.0) whose connection is closed without an answer.
    #[arg(long, value_name = "SHARE", value_parser = parse_share)]
    pub drop_rate: Option<f64>,
    /// Answer the first N requests 429 (HubSpot's `TEN_SECONDLY_ROLLING`).
    #[arg(long, value_name = "N")]
    pub burst_429: Option<u32>,
    /// How long a written company stays invisible to search, as HubSpot's index trails
    /// writes (e.g. `2s`).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg)]
    pub search_lag: Option<Duration>,
}

/// A share between 0 and 1 (`0.05`).
fn parse_share(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!(
            "{s:?} is not a share between 0.0 and 1.0 (e.g. 0.05)"
        )),
    }
}

/// `--portal-rules`' value: one JSON list (a newtype so clap takes it as one value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalRules(pub Vec<PortalRule>);

fn parse_rules(s: &str) -> Result<PortalRules, String> {
    serde_json::from_str(s)
        .map(PortalRules)
        .map_err(|e| format!("portal rules are not valid JSON rules: {e}"))
}

fn parse_duration_arg(s: &str) -> Result<Duration, String> {
    parse_duration(s.trim()).ok_or_else(|| format!("{s:?} is not a duration like 250ms or 2s"))
}

impl SandboxArgs {
    /// The listening address and the configuration these flags describe.
    pub fn into_config(self) -> (SocketAddr, SandboxConfig) {
        let mut emulators = EmulatorSettings {
            clearbit_credits: self.clearbit_credits,
            builtwith_credits: self.builtwith_credits,
            ..EmulatorSettings::default()
        };
        if let Some(n) = self.clearbit_rate_per_minute {
            emulators.clearbit_rate_per_minute = n;
        }
        if let Some(n) = self.crunchbase_rate_per_minute {
            emulators.crunchbase_rate_per_minute = n;
        }
        if let Some(d) = self.clearbit_pending_after {
            emulators.clearbit_pending_after = d;
        }
        if let Some(d) = self.clay_callback_delay {
            emulators.clay_callback_delay = d;
        }
        if let Some(n) = self.clay_callback_retries {
            emulators.clay_callback_retries = n;
        }
        if let Some(d) = self.clay_retry_backoff {
            emulators.clay_retry_backoff = d;
        }
        let defaults = SandboxConfig::default();
        let config = SandboxConfig {
            token: self.token,
            companies: self.companies,
            seed: self.seed,
            rate_limit: self.rate_limit,
            search_per_second: self.search_per_second,
            daily_limit: self.daily_limit,
            state_file: self.state_file,
            ui_dir: self.ui_dir.or_else(repository_ui_dir),
            portal_id: self.portal_id,
            token_scopes: self.token_scopes.unwrap_or(defaults.token_scopes),
            custom_property_limit: self.custom_property_limit,
            portal_rules: self.portal_rules.map(|r| r.0).unwrap_or_default(),
            faults: Faults {
                error_rate: self.error_rate.unwrap_or_default(),
                burst_429: self.burst_429.unwrap_or_default(),
                latency: self.latency.unwrap_or_default(),
                drop_rate: self.drop_rate.unwrap_or_default(),
                search_lag: self.search_lag.unwrap_or_default(),
                ..Faults::default()
            },
            emulators,
        };
        (self.addr, config)
    }
}

use firmo_connect::env::is_blank;
/// The one rule for reading a variable (blank counts as unset), for the sandbox's own.
pub use firmo_connect::env_var;

/// `command` with the `env = ...` of every argument (its subcommands' included) whose
/// variable is set but blank taken away, so clap sees it unset and falls back to the
/// flag's default (clap itself takes `FIRMO_STATE=` as an empty path).
#[must_use]
pub fn ignore_blank_env(command: clap::Command) -> clap::Command {
    command
        .mut_args(|arg| {
            let blank = arg
                .get_env()
                .and_then(std::env::var_os)
                .is_some_and(|v| is_blank(&v.to_string_lossy()));
            if blank { arg.env(None) } else { arg }
        })
        .mut_subcommands(ignore_blank_env)
}

/// The `wasm/` directory of the checkout this crate was built from, if it is still there.
fn repository_ui_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../wasm");
    dir.join("www/card.html").is_file().then_some(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_parses_hubspot_style_specs() {
        assert_eq!("100/10s".parse::<RateLimit>(), Ok(RateLimit::HUBSPOT_FREE));
        assert_eq!(
            "5/500ms".parse::<RateLimit>(),
            Ok(RateLimit {
                max_requests: 5,
                interval: Duration::from_millis(500)
            })
        );
        assert_eq!(
            "10/1".parse::<RateLimit>(),
            Ok(RateLimit {
                max_requests: 10,
                interval: Duration::from_secs(1)
            })
        );
        assert!("0/10s".parse::<RateLimit>().is_err());
        assert!("100".parse::<RateLimit>().is_err());
        assert!("100/10h".parse::<RateLimit>().is_err());
        assert!("x/10s".parse::<RateLimit>().is_err());
        assert!("10/0s".parse::<RateLimit>().is_err());
    }

    #[test]
    fn flags_build_the_config() {
        use clap::Parser;

        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            args: SandboxArgs,
        }
        let cli = Cli::try_parse_from([
            "firmo-sandbox",
            "--addr",
            "127.0.0.1:0",
            "--token",
            "t",
            "--companies",
            "12",
            "--seed",
            "3",
            "--rate-limit",
            "100/10s",
            "--state-file",
            "portal.json",
            "--portal-id",
            "99",
            "--token-scopes",
            "crm.objects.companies.read,oauth",
            "--custom-property-limit",
            "10",
            "--portal-rules",
            r#"[{"kind":"required_on_create","property":"name"}]"#,
            "--latency",
            "250ms",
            "--clearbit-credits",
            "5",
            "--crunchbase-rate-per-minute",
            "7",
            "--search-per-second",
            "4",
            "--daily-limit",
            "1000",
            "--clearbit-rate-per-minute",
            "60",
            "--builtwith-credits",
            "9",
            "--clearbit-pending-after",
            "0s",
            "--clay-callback-delay",
            "2s",
            "--clay-callback-retries",
            "0",
            "--clay-retry-backoff",
            "1s",
            "--error-rate",
            "0.05",
            "--drop-rate",
            "0.01",
            "--burst-429",
            "3",
            "--search-lag",
            "1500ms",
        ])
        .unwrap();
        let (addr, config) = cli.args.into_config();
        assert_eq!(addr.port(), 0);
        assert!(addr.ip().is_loopback());
        assert_eq!(
            (config.token.as_str(), config.companies, config.seed),
            ("t", 12, 3)
        );
        assert_eq!(config.rate_limit, Some(RateLimit::HUBSPOT_FREE));
        assert_eq!(config.state_file, Some(PathBuf::from("portal.json")));
        assert_eq!((config.portal_id, config.custom_property_limit), (99, 10));
        assert_eq!(config.token_scopes, ["crm.objects.companies.read", "oauth"]);
        assert_eq!(
            config.portal_rules,
            [PortalRule::RequiredOnCreate {
                property: "name".into()
            }]
        );
        assert_eq!(config.emulators.clearbit_credits, Some(5));
        assert_eq!(config.emulators.crunchbase_rate_per_minute, 7);
        assert_eq!(
            (config.search_per_second, config.daily_limit),
            (Some(4), Some(1000))
        );
        let e = &config.emulators;
        assert_eq!(
            (e.clearbit_rate_per_minute, e.builtwith_credits),
            (60, Some(9))
        );
        assert_eq!(e.clearbit_pending_after, Duration::ZERO);
        assert_eq!(
            (
                e.clay_callback_delay,
                e.clay_callback_retries,
                e.clay_retry_backoff
            ),
            (Duration::from_secs(2), 0, Duration::from_secs(1))
        );
        assert_eq!(
            config.faults,
            Faults {
                error_rate: 0.05,
                burst_429: 3,
                latency: Duration::from_millis(250),
                drop_rate: 0.01,
                search_lag: Duration::from_millis(1500),
                ..Faults::default()
            }
        );
        assert!(Cli::try_parse_from(["firmo-sandbox", "--error-rate", "1.5"]).is_err());
        // Unset flags keep the emulators' documented defaults.
        let (_, plain) = Cli::try_parse_from(["firmo-sandbox"])
            .unwrap()
            .args
            .into_config();
        let d = EmulatorSettings::default();
        assert_eq!(
            (
                plain.emulators.clearbit_pending_after,
                plain.emulators.clay_callback_retries
            ),
            (d.clearbit_pending_after, d.clay_callback_retries)
        );
        assert_eq!(plain.faults, Faults::default());
        assert!(Cli::try_parse_from(["firmo-sandbox", "--portal-rules", "[{}]"]).is_err());
        assert!(Cli::try_parse_from(["firmo-sandbox", "--rate-limit", "fast"]).is_err());
        let (default_addr, _) = Cli::try_parse_from(["firmo-sandbox"])
            .unwrap()
            .args
            .into_config();
        assert!(
            default_addr.ip().is_loopback(),
            "binds 127.0.0.1 by default"
        );
    }

    #[test]
    fn faults_round_trip_as_json_with_millisecond_latency() {
        let json = r#"{"error_rate":0.5,"latency":250,"fail_ids":["7"]}"#;
        let faults: Faults = serde_json::from_str(json).unwrap();
        assert_eq!(faults.latency, Duration::from_millis(250));
        assert_eq!(faults.burst_429, 0);
        assert!(faults.fail_ids.contains("7"));
        let back = serde_json::to_value(&faults).unwrap();
        assert_eq!(back["latency"], 250);
    }
}

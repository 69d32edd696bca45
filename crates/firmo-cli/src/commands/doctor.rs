//! `firmo doctor`: everything a first sync needs, checked without writing anything to the
//! CRM, paying a provider or taking the run lock. One line per check: `ok`, or what to do.
//!
//! The CRM checks read what HubSpot tells about the token (`Crm::access_facts`: portal id,
//! scopes where the token may inspect itself, the rate-limit headers), the custom-property
//! room left (`Crm::property_capacity`) against the properties firmo would create, the
//! providers that `context::target` built (or could not, and why), and whether the state
//! could be written: a file is probed beside it, a PostgreSQL URL by a write that is
//! rolled back.

use std::fmt::Write as _;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use firmo_connect::ConnectorError;
use firmo_connect::Secret;
use firmo_connect::crm::{AccessFacts, Crm, RateLimitFacts};
use firmo_engine::config::Config;
use firmo_hubspot::setup::REQUIRED_SCOPES;
use firmo_store::{Store, StoreError, UnixMillis};
use serde::Serialize;

use crate::cli::{DoctorArgs, GlobalArgs};
use crate::context::{self, load_config};
use crate::output::{print, print_json};
use crate::{CmdResult, Failure};

/// Where a user makes a credential firmo can use, named in every fix about the token.
const SERVICE_KEY_PLACE: &str = "HubSpot → Development → Keys → Service keys";

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    Ok,
    /// Something to do before the first sync.
    Fail,
    /// Not known, or not wrong yet: read the detail.
    Warn,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Fail => "fail",
            Status::Warn => "warn",
        }
    }
}

/// One line of the screen, one element of `--json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct Verdict {
    check: String,
    status: Status,
    detail: String,
    /// What to do; `None` when there is nothing to do.
    fix: Option<String>,
}

impl Verdict {
    fn ok(check: impl Into<String>, detail: impl Into<String>) -> Verdict {
        Verdict {
            check: check.into(),
            status: Status::Ok,
            detail: detail.into(),
            fix: None,
        }
    }

    fn fail(
        check: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Verdict {
        Verdict {
            check: check.into(),
            status: Status::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    fn warn(
        check: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Verdict {
        Verdict {
            check: check.into(),
            status: Status::Warn,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

const TOKEN: &str = "token";
const SCOPES: &str = "scopes";
const RATE_LIMIT: &str = "rate_limit";
const CAPACITY: &str = "property_capacity";
const STATE: &str = "state_file";

pub(crate) async fn run(global: &GlobalArgs, args: &DoctorArgs) -> CmdResult {
    let config = load_config(global)?;
    let mut checks = Vec::new();
    let has_token = args.target.sandbox
        || args.target.sandbox_url.is_some()
        || Secret::from_env(&config.crm.token_env).is_some();
    if has_token {
        // The real state file is only probed (below): doctor must not create or migrate
        // it, nor wait for a running sync's lock.
        let store = Store::open_in_memory()?;
        let target = context::target(&config, &args.target, store, None).await?;
        checks.extend(crm_checks(target.crm.as_ref(), &config).await);
        let built: Vec<&str> = target.enricher.providers.iter().map(|p| p.name).collect();
        checks.extend(provider_checks(
            &config,
            &built,
            &target.unavailable,
            target.sandbox.is_some() || args.target.sandbox_url.is_some(),
        ));
        target.finish().await;
    } else {
        checks.push(Verdict::fail(
            TOKEN,
            format!("{} is not set (or empty)", config.crm.token_env),
            format!(
                "create a service key ({SERVICE_KEY_PLACE} → Create service key) with the scopes {}, then `export {}=<the key>`; a private-app or OAuth access token works too",
                REQUIRED_SCOPES.join(", "),
                config.crm.token_env
            ),
        ));
        for check in [SCOPES, RATE_LIMIT, CAPACITY] {
            checks.push(not_checked(check, "there is no token to ask HubSpot with"));
        }
    }
    checks.push(state_check(&global.state));

    if global.json {
        print_json(&checks)?;
    } else if !global.quiet || checks.iter().any(|c| c.status != Status::Ok) {
        print(&render(&checks))?;
    }
    // A warning (e.g. scopes a service key can't read back) is shown, not failed: a
    // portal whose every check can pass must be able to exit 0.
    if checks.iter().any(|c| c.status == Status::Fail) {
        Err(Failure::SomeFailed)
    } else {
        Ok(())
    }
}

/// A check that could not run because an earlier one failed.
fn not_checked(check: &str, why: &str) -> Verdict {
    Verdict::warn(
        check,
        format!("not checked: {why}"),
        "fix the token first, then run `firmo doctor` again",
    )
}

/// The token, its scopes, the rate limits and the property room, in that order; when the
/// token is refused the others say so instead of repeating the refusal.
async fn crm_checks(crm: &dyn Crm, config: &Config) -> Vec<Verdict> {
    let facts = match crm.access_facts().await {
        Ok(facts) => facts,
        Err(error) => {
            let mut checks = vec![token_failure(&error, &config.crm.token_env)];
            for check in [SCOPES, RATE_LIMIT, CAPACITY] {
                checks.push(not_checked(check, "HubSpot did not accept the token"));
            }
            return checks;
        }
    };
    vec![
        token_check(&facts),
        scopes_check(&facts),
        rate_limit_check(&facts.rate_limit, config.crm.requests_per_10s),
        capacity_check(crm).await,
    ]
}

fn token_check(facts: &AccessFacts) -> Verdict {
    match &facts.account_id {
        Some(id) => Verdict::ok(TOKEN, format!("accepted by HubSpot portal {id}")),
        // Accepted (no 401), but the portal id is not readable with this token.
        None => Verdict::ok(TOKEN, "accepted (HubSpot did not tell the portal id)"),
    }
}

fn token_failure(error: &ConnectorError, token_env: &str) -> Verdict {
    match error {
        ConnectorError::Auth { .. } => Verdict::fail(
            TOKEN,
            error.to_string(),
            format!(
                "put the whole key in {token_env} as HubSpot shows it; if it was rotated or deleted, create a service key ({SERVICE_KEY_PLACE} → Create service key); private-app and OAuth access tokens work too"
            ),
        ),
        ConnectorError::Transport { .. } | ConnectorError::Timeout { .. } => Verdict::fail(
            TOKEN,
            error.to_string(),
            "check the network, and HUBSPOT_API_BASE or --sandbox-url when set",
        ),
        _ => Verdict::fail(
            TOKEN,
            error.to_string(),
            "run `firmo doctor -v` for details; HubSpot's status page says whether it is down",
        ),
    }
}

fn scopes_check(facts: &AccessFacts) -> Verdict {
    let needed = REQUIRED_SCOPES.join(", ");
    match &facts.scopes {
        // HubSpot lets private-app tokens read their own scopes; other tokens get no
        // answer, which says nothing about what they may do.
        None => Verdict::warn(
            SCOPES,
            "could not be read: HubSpot doesn't let this token inspect itself",
            format!(
                "make sure the key has {needed} ({SERVICE_KEY_PLACE} → the key → Scopes); the first sync reports a missing one"
            ),
        ),
        Some(_) if facts.missing_scopes.is_empty() => Verdict::ok(
            SCOPES,
            format!("all {} that firmo needs are granted", REQUIRED_SCOPES.len()),
        ),
        Some(_) => {
            let missing = facts.missing_scopes.join(", ");
            Verdict::fail(
                SCOPES,
                format!("the token lacks {missing}"),
                format!(
                    "add {missing} to the service key ({SERVICE_KEY_PLACE} → the key → Scopes), or to the private app that issued the token"
                ),
            )
        }
    }
}

/// HubSpot's tiers by their burst limit (research/hubspot.md, "Rate limits").
fn tier(per_10s: u64) -> Option<&'static str> {
    match per_10s {
        100 => Some("Free/Starter"),
        190 => Some("Professional/Enterprise"),
        250 => Some("with the API limit increase pack"),
        _ => None,
    }
}

fn rate_limit_check(facts: &RateLimitFacts, configured_per_10s: u32) -> Verdict {
    let Some(max) = facts.max_per_interval else {
        // Nothing to do: firmo paces itself anyway, and backs off on a 429.
        return Verdict::ok(
            RATE_LIMIT,
            format!(
                "HubSpot announced none; firmo paces itself at {configured_per_10s} requests per 10 s"
            ),
        );
    };
    let interval_ms = facts.interval_ms.unwrap_or(10_000).max(1);
    // HubSpot's window is 10 s; a differently sized one is compared per 10 s.
    let per_10s = max.saturating_mul(10_000) / interval_ms;
    let mut detail = match tier(per_10s) {
        Some(tier) => format!("{max} requests per {} s ({tier})", interval_ms / 1000),
        None => format!("{max} requests per {interval_ms} ms"),
    };
    if let (Some(daily), Some(left)) = (facts.daily, facts.daily_remaining) {
        let _ = write!(detail, ", {left} of {daily} left today");
        if left == 0 {
            return Verdict::fail(
                RATE_LIMIT,
                detail,
                "the portal's daily limit is used up: run again after midnight (the portal's time zone)",
            );
        }
    }
    if u64::from(configured_per_10s) > per_10s {
        return Verdict::warn(
            RATE_LIMIT,
            format!("{detail}; firmo is set to {configured_per_10s} per 10 s"),
            format!("set [crm] requests_per_10s = {per_10s} in firmo.toml"),
        );
    }
    Verdict::ok(RATE_LIMIT, detail)
}

/// Room for the custom properties firmo would create (the ones it owns and the portal
/// lacks).
async fn capacity_check(crm: &dyn Crm) -> Verdict {
    let existing = match crm.list_properties().await {
        Ok(existing) => existing,
        Err(error) => {
            let fix = if matches!(error, ConnectorError::Auth { .. }) {
                format!(
                    "add crm.schemas.companies.read to the key ({SERVICE_KEY_PLACE} → the key → Scopes)"
                )
            } else {
                "run `firmo doctor -v` for details".to_owned()
            };
            return Verdict::fail(
                CAPACITY,
                format!("the company properties could not be listed: {error}"),
                fix,
            );
        }
    };
    let wanted = firmo_engine::properties::desired_properties();
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|w| !existing.iter().any(|e| e.name == w.name))
        .map(|w| w.name.as_str())
        .collect();
    let needs = missing.len() as u64;
    let capacity = match crm.property_capacity().await {
        Ok(Some(capacity)) => capacity,
        Ok(None) => {
            return Verdict::warn(
                CAPACITY,
                format!(
                    "HubSpot did not say how many custom properties are left; firmo would create {needs}"
                ),
                format!(
                    "make sure the portal has room for {needs} more custom company properties (HubSpot → Settings → Properties)"
                ),
            );
        }
        Err(error) => {
            return Verdict::fail(
                CAPACITY,
                format!("the custom-property limits could not be read: {error}"),
                "run `firmo doctor -v` for details",
            );
        }
    };
    let left = capacity.left();
    let room = format!(
        "{left} of {} custom company properties left",
        capacity.limit
    );
    if needs == 0 {
        return Verdict::ok(
            CAPACITY,
            format!("{room}; firmo's {} properties exist", wanted.len()),
        );
    }
    if left < needs {
        return Verdict::fail(
            CAPACITY,
            format!(
                "{room}; firmo would create {needs} ({})",
                missing.join(", ")
            ),
            format!(
                "delete at least {} unused custom company properties (HubSpot → Settings → Properties) or move to a tier with more",
                needs - left
            ),
        );
    }
    Verdict::ok(CAPACITY, format!("{room}; firmo would create {needs}"))
}

/// One line per enabled provider, in the config's order: built with its key, or why not.
fn provider_checks(
    config: &Config,
    built: &[&str],
    unavailable: &[(String, ConnectorError)],
    sandbox: bool,
) -> Vec<Verdict> {
    let mut checks = Vec::new();
    for (name, _) in config.sources.iter().filter(|(_, s)| s.enabled) {
        let check = format!("provider.{name}");
        if built.contains(&name.as_str()) {
            let detail = if sandbox {
                "ready, with the sandbox's key"
            } else {
                "ready, with its key"
            };
            checks.push(Verdict::ok(check, detail));
        } else if let Some((_, error)) = unavailable.iter().find(|(n, _)| n == name) {
            checks.push(Verdict::fail(
                check,
                format!("{error}; syncs run without it"),
                format!(
                    "do what the message says, or set `enabled = false` under [sources.{name}] to stop asking it"
                ),
            ));
        }
    }
    checks
}

fn state_check(path: &Path) -> Verdict {
    if path.to_str().is_some_and(firmo_store::is_postgres_url) {
        return postgres_state_check(path);
    }
    match state_writable(path) {
        Ok(detail) => Verdict::ok(STATE, detail),
        Err(detail) => Verdict::fail(
            STATE,
            detail,
            "make the file and its directory writable by this user, or pass --state PATH (FIRMO_STATE) somewhere they are",
        ),
    }
}

/// A PostgreSQL state: the server answers, the schema holds a firmo state this firmo can
/// use (or nothing yet), and this user may write it. Migrates nothing: the schema is read
/// in a read-only session first, and written only when already current.
fn postgres_state_check(url: &Path) -> Verdict {
    let shown = firmo_store::display_location(url);
    match Store::open_read_only(url) {
        Ok(_) => match postgres_write_probe(url) {
            Ok(()) => Verdict::ok(
                STATE,
                format!(
                    "{shown} holds a firmo state (schema version {}) and takes writes",
                    firmo_store::SCHEMA_VERSION
                ),
            ),
            Err(error) => Verdict::fail(
                STATE,
                format!("{shown} cannot be written: {error}"),
                "grant this user INSERT, UPDATE and DELETE on firmo's tables in that schema, or use a URL of a user who has them",
            ),
        },
        Err(StoreError::Missing { .. }) => Verdict::ok(
            STATE,
            format!(
                "{shown} answers and has no firmo tables yet; the first run creates them (the user needs CREATE on the schema)"
            ),
        ),
        Err(StoreError::Outdated {
            found, supported, ..
        }) => Verdict::warn(
            STATE,
            format!("{shown} holds schema version {found}, older than this firmo's {supported}"),
            "the next `firmo sync` migrates it; upgrade firmo on every machine that shares this state first",
        ),
        Err(error @ StoreError::TooNew { .. }) => Verdict::fail(
            STATE,
            error.to_string(),
            "upgrade firmo on this machine to the version that wrote it",
        ),
        Err(error @ StoreError::NotFirmo { .. }) => Verdict::fail(
            STATE,
            error.to_string(),
            "give firmo a schema of its own (`?options=-csearch_path%3Dfirmo` in the URL) or another database",
        ),
        Err(error) => Verdict::fail(
            STATE,
            error.to_string(),
            "check the URL (host, port, database, user, password) and that the server accepts this user from here; --state or FIRMO_STATE sets it",
        ),
    }
}

/// Writes a cursor row in a transaction that is then rolled back: proves this user may
/// write firmo's tables without leaving a trace.
fn postgres_write_probe(url: &Path) -> Result<(), StoreError> {
    // Doctor's own marker error: the one `Err` that means the probe's write succeeded.
    const PROBE: &str = "doctor's write probe, rolled back";
    let mut store = Store::open(url)?;
    let path = store.path().to_path_buf();
    let result = store.write(|w| {
        w.set_cursor("firmo-doctor", "probe", "probe", "probe", UnixMillis(0))?;
        Err::<(), _>(StoreError::Invalid {
            op: "probing",
            path,
            what: PROBE.to_owned(),
        })
    });
    match result {
        Err(StoreError::Invalid { what, .. }) if what == PROBE => Ok(()),
        other => other,
    }
}

/// Whether a run could write the state file: the file opens read-write and its directory
/// takes new files (SQLite puts its journal next to the file), or, for a file not made
/// yet, the nearest existing directory takes new files. Creates nothing that stays.
fn state_writable(path: &Path) -> Result<String, String> {
    let shown = path.display();
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => Err(format!("{shown} is a directory, not a state file")),
        Ok(_) => {
            OpenOptions::new()
                .read(true)
                .write(true)
                .open(path)
                .map_err(|e| format!("{shown} cannot be opened for writing: {e}"))?;
            probe_dir(&parent_dir(path))?;
            Ok(format!("{shown} is writable"))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut dir = parent_dir(path);
            while !dir.exists() {
                match dir.parent() {
                    Some(up) if !up.as_os_str().is_empty() => dir = up.to_path_buf(),
                    _ => dir = PathBuf::from("."),
                }
            }
            if !dir.is_dir() {
                return Err(format!(
                    "{shown} cannot be created: {} is not a directory",
                    dir.display()
                ));
            }
            probe_dir(&dir)?;
            Ok(format!(
                "{shown} does not exist yet; the first run creates it"
            ))
        }
        Err(e) => Err(format!("{shown} cannot be opened: {e}")),
    }
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Creates and removes a uniquely named file in `dir`.
fn probe_dir(dir: &Path) -> Result<(), String> {
    let probe = dir.join(format!(
        ".firmo-doctor-{}-{:016x}",
        std::process::id(),
        fastrand::u64(..)
    ));
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .map_err(|e| format!("the directory {} takes no new files: {e}", dir.display()))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// The screen: one line per check, then what the exit code means.
fn render(checks: &[Verdict]) -> String {
    let mut text = String::from("firmo doctor\n");
    for c in checks {
        let _ = write!(
            text,
            "  {:<20} {:<4}  {}",
            c.check,
            c.status.as_str(),
            c.detail
        );
        if let Some(fix) = &c.fix {
            let _ = write!(text, " → {fix}");
        }
        text.push('\n');
    }
    let open = checks.iter().filter(|c| c.status != Status::Ok).count();
    if open == 0 {
        let _ = writeln!(text, "all {} checks ok", checks.len());
    } else {
        let _ = writeln!(
            text,
            "{open} of {} checks need attention: fix them, then run `firmo doctor` again",
            checks.len()
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_file_under_a_plain_file_fails_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, "x").unwrap();
        let state = file.join("state.db");
        let check = state_check(&state);
        assert_eq!(check.status, Status::Fail, "{check:?}");
        assert!(
            check.detail.contains(&state.display().to_string()),
            "{check:?}"
        );
        // The same for a state file not made yet two levels below the plain file.
        let deeper = file.join("a").join("state.db");
        let check = state_check(&deeper);
        assert_eq!(check.status, Status::Fail, "{check:?}");
    }

    #[test]
    fn an_unreachable_postgres_state_fails_without_showing_its_password() {
        // A port that was just free on loopback: nothing listens, the connect is refused.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("postgres://firmo:doctor-s3cret@127.0.0.1:{port}/firmo");
        let check = state_check(Path::new(&url));
        assert_eq!(check.status, Status::Fail, "{check:?}");
        let shown = format!("postgres://firmo:***@127.0.0.1:{port}/firmo");
        assert!(check.detail.contains(&shown), "{check:?}");
        assert!(check.fix.as_deref().unwrap().contains("check the URL"));
        assert!(!format!("{check:?}").contains("doctor-s3cret"), "{check:?}");
    }

    #[test]
    fn a_state_path_that_is_a_directory_fails() {
        let dir = tempfile::tempdir().unwrap();
        let check = state_check(dir.path());
        assert_eq!(check.status, Status::Fail);
        assert!(check.detail.contains("is a directory"), "{check:?}");
    }

    #[test]
    fn a_writable_state_file_is_ok_and_left_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state.db");
        let check = state_check(&state);
        assert_eq!(check.status, Status::Ok, "{check:?}");
        assert!(!state.exists(), "doctor created the state file");
        std::fs::write(&state, "content").unwrap();
        assert_eq!(state_check(&state).status, Status::Ok);
        assert_eq!(std::fs::read_to_string(&state).unwrap(), "content");
        // Only the state file remains: the probe is gone.
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn rate_limits_name_the_tier_and_a_config_above_it() {
        let facts = RateLimitFacts {
            max_per_interval: Some(190),
            interval_ms: Some(10_000),
            ..RateLimitFacts::default()
        };
        let check = rate_limit_check(&facts, 100);
        assert_eq!(check.status, Status::Ok);
        assert!(
            check.detail.contains("Professional/Enterprise"),
            "{check:?}"
        );
        let low = RateLimitFacts {
            max_per_interval: Some(100),
            ..facts
        };
        let check = rate_limit_check(&low, 150);
        assert_eq!(check.status, Status::Warn);
        assert!(
            check
                .fix
                .as_deref()
                .unwrap()
                .contains("requests_per_10s = 100"),
            "{check:?}"
        );
        let spent = RateLimitFacts {
            daily: Some(250_000),
            daily_remaining: Some(0),
            ..facts
        };
        assert_eq!(rate_limit_check(&spent, 100).status, Status::Fail);
        // No headers (a proxy that drops them): firmo's own pacing stands.
        let none = rate_limit_check(&RateLimitFacts::default(), 100);
        assert_eq!(none.status, Status::Ok);
        assert!(none.detail.contains("100 requests per 10 s"), "{none:?}");
    }

    #[test]
    fn unreadable_scopes_are_a_warning_and_missing_ones_are_named() {
        let unknown = AccessFacts::default();
        let check = scopes_check(&unknown);
        assert_eq!(check.status, Status::Warn);
        assert!(check.detail.contains("could not be read"), "{check:?}");
        let lacking = AccessFacts {
            scopes: Some(vec!["crm.objects.companies.read".into()]),
            missing_scopes: vec!["crm.schemas.companies.write".into()],
            ..AccessFacts::default()
        };
        let check = scopes_check(&lacking);
        assert_eq!(check.status, Status::Fail);
        assert!(check.detail.contains("crm.schemas.companies.write"));
        assert!(check.fix.unwrap().contains("service key"));
    }
}

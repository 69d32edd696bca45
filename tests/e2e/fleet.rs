//! A fleet end to end: three sandbox portals whose companies partly share domains, one
//! PostgreSQL state, two `firmo worker` processes, one SIGKILLed in the middle of a job.
//! Needs the server `scripts/pg.sh` starts (`FIRMO_TEST_POSTGRES`): without it the test
//! says so and passes, except under `CI=true`, where it fails.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use firmo_sandbox::emulators::EmulatorSettings;
use firmo_sandbox::{Faults, RateLimit, SandboxConfig, SandboxHandle};
use serde_json::Value;

use crate::support::{Output, Workspace, command, firmo_env};

/// The server's URL, or `None` (after saying so) when the test cannot run here.
fn postgres() -> Option<String> {
    match std::env::var("FIRMO_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "FIRMO_TEST_POSTGRES is unset under CI=true: run through scripts/pg.sh"
            );
            eprintln!(
                "WARNING: fleet e2e NOT RUN: FIRMO_TEST_POSTGRES is unset \
                 (scripts/pg.sh cargo test -p firmo-cli --test e2e fleet)"
            );
            None
        }
    }
}

/// A schema of this test's own on the server, so tests share one server in parallel.
async fn fresh_state(base: &str) -> String {
    let (client, conn) = tokio_postgres::connect(base, tokio_postgres::NoTls)
        .await
        .expect("the test server answers");
    tokio::spawn(conn);
    let schema = format!("e2e_fleet_{}_{:08x}", std::process::id(), fastrand::u32(..));
    client
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await
        .expect("a test schema");
    format!("{base}?options=-csearch_path%3D{schema}")
}

/// One portal: its own sandbox (CRM and providers), token and portal id. The same demo
/// seed with different counts makes the smaller portals' companies a prefix of the
/// larger's, so many domains are in two or three portals.
struct Portal {
    name: &'static str,
    token: String,
    sandbox: SandboxHandle,
}

const LIMIT: RateLimit = RateLimit::HUBSPOT_FREE;

async fn portal(name: &'static str, companies: usize, portal_id: u64) -> Portal {
    let token = format!("token-{name}");
    let config = SandboxConfig {
        token: token.clone(),
        companies,
        portal_id,
        rate_limit: Some(LIMIT),
        // Slow enough that a job is still running when the test kills its worker.
        faults: Faults {
            latency: Duration::from_millis(15),
            ..Faults::default()
        },
        emulators: EmulatorSettings {
            clearbit_rate_per_minute: 1_000_000,
            crunchbase_rate_per_minute: 1_000_000,
            ..EmulatorSettings::default()
        },
        ..SandboxConfig::default()
    };
    let sandbox = firmo_sandbox::start(config, "127.0.0.1:0".parse().expect("an address"))
        .await
        .expect("the sandbox starts");
    Portal {
        name,
        token,
        sandbox,
    }
}

fn env_var(p: &Portal) -> String {
    format!("FLEET_TOKEN_{}", p.name.to_uppercase())
}

/// The requests a portal's provider emulators answered, in order.
async fn requests(p: &Portal) -> Vec<Value> {
    let log: Value = reqwest::get(format!("{}/_sandbox/requests", p.sandbox.base_url()))
        .await
        .expect("the sandbox answers")
        .json()
        .await
        .expect("the request log is JSON");
    log["requests"]
        .as_array()
        .expect("a list of requests")
        .clone()
}

/// Per (provider, domain), the portals whose emulators were paid for it, once per paid
/// request.
async fn paid(portals: &[Portal]) -> BTreeMap<(String, String), Vec<&'static str>> {
    let mut out = BTreeMap::new();
    for p in portals {
        for r in &requests(p).await {
            if r["credits"].as_f64().unwrap_or(0.0) <= 0.0 {
                continue;
            }
            for d in r["domains"].as_array().expect("domains") {
                let key = (
                    r["provider"].as_str().unwrap().to_owned(),
                    d.as_str().unwrap().to_owned(),
                );
                out.entry(key).or_insert_with(Vec::new).push(p.name);
            }
        }
    }
    out
}

#[tokio::test]
async fn two_workers_sync_three_portals_and_a_killed_workers_job_is_finished_by_the_other() {
    let Some(base) = postgres() else {
        return;
    };
    let state = fresh_state(&base).await;
    let ws = Workspace::new();
    // Clay answers through a callback to the worker that asked: a killed worker's
    // callbacks are the Clay tests' business, not this one's.
    let config = ws.write(
        "portal.toml",
        "[crm]\nrequests_per_10s = 100\n[sources.clay]\nenabled = false\n",
    );
    let portals = vec![
        portal("alpha", 30, 1001).await,
        portal("beta", 45, 1002).await,
        portal("gamma", 60, 1003).await,
    ];
    let domains: Vec<BTreeSet<String>> = portals
        .iter()
        .map(|p| {
            p.sandbox
                .companies()
                .iter()
                .filter_map(|c| crate::support::prop(c, "domain").map(str::to_owned))
                .collect()
        })
        .collect();
    let shared: BTreeSet<&String> = domains[0].intersection(&domains[2]).collect();
    assert!(shared.len() >= 10, "the portals share domains: {shared:?}");

    let env: Vec<(String, String)> = portals
        .iter()
        .map(|p| (env_var(p), p.token.clone()))
        .collect();
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let run = |args: Vec<String>| {
        let ws = &ws;
        let env_refs = env_refs.clone();
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            firmo_env(ws, &args, &env_refs).await
        }
    };
    let state_args = |rest: &[&str]| -> Vec<String> {
        ["--state", &state, "--json"]
            .iter()
            .chain(rest)
            .map(|s| (*s).to_owned())
            .collect()
    };
    for p in &portals {
        let var = env_var(p);
        let url = p.sandbox.base_url();
        let mut args = vec!["--config".to_owned(), config.display().to_string()];
        args.extend(state_args(&[
            "fleet",
            "add",
            p.name,
            "--crm",
            "hubspot",
            "--token-env",
            &var,
            "--sandbox-url",
            &url,
        ]));
        run(args).await.expect_code(0);
    }
    let queued = run(state_args(&["fleet", "schedule"])).await;
    assert_eq!(
        queued.expect_code(0).json()["queued"],
        serde_json::json!(["alpha", "beta", "gamma"])
    );

    let worker = || {
        let mut cmd = command(
            &ws,
            &[
                "--state",
                &state,
                "-v",
                "worker",
                "--exit-when-idle",
                "--poll",
                "1",
            ],
        );
        cmd.envs(env_refs.iter().copied());
        cmd.spawn().expect("a worker starts")
    };
    let first = worker();
    let second = worker();
    let fleet = firmo_fleet::Fleet::connect(&state)
        .await
        .expect("the fleet");

    // The victim: a worker in the middle of a job whose portal's providers were paid,
    // once the state holds at least one stored answer (so there is something not to pay
    // for again).
    let deadline = Instant::now() + Duration::from_mins(1);
    let (victim_pid, victim_job) = loop {
        assert!(Instant::now() < deadline, "no job got under way");
        let stored = firmo_store::Store::open_read_only(&state)
            .and_then(|s| s.cache_summary())
            .map_or(0, |rows| rows.iter().map(|r| r.keys).sum::<u64>());
        let attempts = fleet.attempts().await.expect("attempts");
        let running = attempts.iter().find(|a| {
            a.ended_at.is_none()
                && portals.iter().any(|p| {
                    p.name == a.portal && p.sandbox.stats().requests.contains_key("clearbit")
                })
        });
        if let (Some(a), true) = (running, stored > 0) {
            let pid: u32 = a.worker.split(':').nth(1).unwrap().parse().unwrap();
            break (pid, a.job_id);
        }
        // Polling what other processes are doing: no event to wait on here.
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let (mut victim, survivor) = if first.id() == Some(victim_pid) {
        (first, second)
    } else {
        (second, first)
    };
    victim.start_kill().expect("SIGKILL");
    let killed = victim.wait().await.expect("the victim ends");
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&killed),
        Some(9)
    );
    let out = tokio::time::timeout(Duration::from_mins(2), survivor.wait_with_output())
        .await
        .expect("the survivor drains the queue")
        .expect("the survivor's output");
    let out = Output {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    out.expect_code(0);
    // Structured logs name the job and the portal.
    assert!(out.stderr.contains("job{job="), "{}", out.stderr);
    assert!(out.stderr.contains("portal="), "{}", out.stderr);

    // Every portal synced, and nothing left in the queue.
    let status = run(state_args(&["fleet", "status"])).await;
    let status = status.expect_code(0).json();
    for p in status["portals"].as_array().unwrap() {
        assert_eq!(p["last_outcome"], "done", "{p:#}");
        assert!(p["open"].is_null(), "{p:#}");
    }
    assert_eq!(status["queued"], 0);

    // `firmo report --portal` shows one portal's runs and accounts, named as the fleet
    // names it or by its HubSpot portal id; an unknown name lists the known ones.
    for (p, row) in portals.iter().zip(status["portals"].as_array().unwrap()) {
        let key = row["account_key"]
            .as_str()
            .expect("the portal's key")
            .to_owned();
        let id = key.rsplit(':').next().unwrap().to_owned();
        for asked in [p.name, id.as_str()] {
            let report = run(state_args(&["report", "--portal", asked])).await;
            let report = report.expect_code(0).json();
            assert_eq!(report["portal"], key.as_str(), "{asked}");
            let runs = report["runs"].as_array().unwrap();
            assert!(!runs.is_empty(), "{asked}");
            assert!(
                runs.iter().all(|r| r["portal"] == key.as_str()),
                "{asked}: {runs:?}"
            );
            assert_eq!(
                report["accounts_total"],
                p.sandbox.companies().len(),
                "{asked}: its newest run's accounts"
            );
        }
    }
    let unknown = run(state_args(&["report", "--portal", "delta"])).await;
    unknown.expect_code(2);
    let message = unknown.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("no portal `delta`"), "{message}");
    assert!(message.contains("alpha (hubspot:"), "{message}");

    // Never two attempts on one portal at once; the victim's job lost once, then done.
    let attempts = fleet.attempts().await.unwrap();
    for p in &portals {
        let mine: Vec<_> = attempts.iter().filter(|a| a.portal == p.name).collect();
        for pair in mine.windows(2) {
            let ended = pair[0].ended_at.expect("an earlier attempt ended");
            assert!(
                ended <= pair[1].started_at,
                "overlap on {}: {pair:?}",
                p.name
            );
        }
    }
    let victim_attempts: Vec<_> = attempts.iter().filter(|a| a.job_id == victim_job).collect();
    assert_eq!(victim_attempts.len(), 2, "{victim_attempts:?}");
    assert_eq!(victim_attempts[0].outcome.as_deref(), Some("worker lost"));
    assert_eq!(victim_attempts[1].outcome.as_deref(), Some("done"));
    assert_ne!(victim_attempts[0].worker, victim_attempts[1].worker);

    // No portal paid twice for a lookup, the killed job's portal included: its retry
    // used the answers the killed attempt had stored.
    let paid = paid(&portals).await;
    for (lookup, by) in &paid {
        let once: BTreeSet<_> = by.iter().collect();
        assert_eq!(
            once.len(),
            by.len(),
            "{lookup:?} paid twice by one portal: {by:?}"
        );
    }
    // Each shared domain is bought once for the whole fleet: a portal synced later reads
    // it from the cache, and one synced at the same time waits for the lease holder's
    // answer instead of buying it too (the store's lookup leases).
    let victim_portal = attempts
        .iter()
        .find(|a| a.job_id == victim_job)
        .map(|a| a.portal.clone())
        .expect("the victim's attempt");
    let mut lost_in_the_kill = 0;
    let mut served = 0;
    let mut in_several = 0;
    for d in domains.iter().flatten().collect::<BTreeSet<_>>() {
        let holders = domains.iter().filter(|ds| ds.contains(d)).count();
        if holders < 2 {
            continue;
        }
        in_several += 1;
        for provider in ["clearbit", "builtwith", "crunchbase"] {
            let by = paid
                .get(&(provider.to_owned(), d.clone()))
                .cloned()
                .unwrap_or_default();
            // The one exception: a lookup the victim had in flight when it was killed was
            // paid for and its answer lost with the process; whoever needed it next paid.
            let others: Vec<_> = by.iter().filter(|p| **p != victim_portal).collect();
            if by.len() > 1 && others.len() == 1 {
                lost_in_the_kill += 1;
                continue;
            }
            assert!(by.len() <= 1, "{provider} was paid for {d} by {by:?}");
            if provider == "clearbit" && by.len() < holders {
                served += 1;
            }
        }
    }
    // No more than the victim lost: lookups its provider billed whose answers its runs
    // never stored (each stored answer is on its run's ledger the moment it is stored).
    let victim_id = match victim_portal.as_str() {
        "alpha" => "1001",
        "beta" => "1002",
        _ => "1003",
    };
    let store = firmo_store::Store::open_read_only(&state).expect("the state opens");
    let stored: u64 = store
        .list_runs(100)
        .expect("the runs")
        .iter()
        .filter(|r| r.portal.as_deref().is_some_and(|p| p.ends_with(victim_id)))
        .flat_map(|r| store.credits_for_run(r.id).expect("the ledger"))
        .map(|spend| spend.lookups)
        .sum();
    // A queued answer (Clearbit's 202) is stored, and on the ledger, before it is billed.
    let queued = requests(portals.iter().find(|p| p.name == victim_portal).unwrap())
        .await
        .iter()
        .filter(|r| r["status"] == 202)
        .map(|r| r["domains"].as_array().map_or(0, Vec::len) as u64)
        .sum::<u64>();
    let stored = stored.saturating_sub(queued);
    let billed = paid
        .values()
        .map(|by| by.iter().filter(|p| **p == victim_portal).count() as u64)
        .sum::<u64>();
    assert!(
        lost_in_the_kill <= billed.saturating_sub(stored),
        "{lost_in_the_kill} lookups paid again after the kill of {victim_portal}'s worker, \
         which lost only {} ({billed} billed, {stored} stored)",
        billed.saturating_sub(stored)
    );
    eprintln!("lookups in flight at the kill, paid again: {lost_in_the_kill}");
    eprintln!(
        "domains in several portals, served from the cache to one at least: {served} of {in_several}"
    );
    assert!(served > 0, "no domain was served from the fleet's cache");

    // Each portal's limit held: no 429, and no window over the limit.
    for p in &portals {
        let stats = p.sandbox.stats();
        assert_eq!(stats.total_429, 0, "{}: {:?}", p.name, stats.rate_limited);
        assert!(
            stats.max_in_window <= LIMIT.max_requests,
            "{}: {}",
            p.name,
            stats.max_in_window
        );
    }
}

#[tokio::test]
async fn a_job_runs_capped_at_its_reservation_and_a_job_with_nothing_left_is_skipped() {
    let Some(base) = postgres() else {
        return;
    };
    let state = fresh_state(&base).await;
    let ws = Workspace::new();
    let config = ws.write(
        "portal.toml",
        "[crm]\nrequests_per_10s = 100\n[sources.clay]\nenabled = false\n",
    );
    let portals = [
        portal("solo", 30, 2001).await,
        portal("late", 10, 2002).await,
    ];
    let env: Vec<(String, String)> = portals
        .iter()
        .map(|p| (env_var(p), p.token.clone()))
        .collect();
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let firmo = |rest: &[&str]| {
        let mut args = vec![
            "--config",
            config.to_str().unwrap(),
            "--state",
            &state,
            "--json",
        ];
        args.extend(rest);
        let args: Vec<String> = args.into_iter().map(str::to_owned).collect();
        let (ws, env_refs) = (&ws, env_refs.clone());
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            firmo_env(ws, &args, &env_refs).await
        }
    };
    let add = |p: &Portal| {
        let (var, url) = (env_var(p), p.sandbox.base_url());
        let name = p.name;
        async move {
            firmo(&[
                "fleet",
                "add",
                name,
                "--crm",
                "hubspot",
                "--token-env",
                &var,
                "--sandbox-url",
                &url,
            ])
            .await
            .expect_code(0);
        }
    };
    add(&portals[0]).await;
    // Far less than 30 accounts' lookups cost: the reservation is the run's cap.
    firmo(&["fleet", "budget", "--monthly", "5"])
        .await
        .expect_code(0);
    firmo(&["fleet", "schedule"]).await.expect_code(0);
    firmo(&["worker", "--exit-when-idle", "--poll", "1"])
        .await
        .expect_code(0);

    let report = firmo(&["report", "--portal", "solo"]).await;
    let report = report.expect_code(0).json();
    let run = &report["runs"][0];
    assert_eq!(
        run["config"]["budget"], 5.0,
        "the run's cap is its reservation: {run:#}"
    );
    let spent = run["credits"].as_f64().unwrap();
    assert!(spent > 0.0 && spent <= 5.0, "{spent}");
    let status = firmo(&["fleet", "status"]).await;
    let status = status.expect_code(0).json();
    assert_eq!(status["fleet_reserved"], 0.0, "released at the job's end");
    assert!(status["portals"][0]["reserved"].is_null());

    // The fleet's month holds exactly what was spent: the next portal has nothing left.
    add(&portals[1]).await;
    let budget = format!("{spent}");
    firmo(&["fleet", "budget", "--monthly", &budget])
        .await
        .expect_code(0);
    let queued = firmo(&["fleet", "schedule"]).await;
    assert_eq!(
        queued.expect_code(0).json()["queued"],
        serde_json::json!(["late"])
    );
    let worker = firmo(&["worker", "--exit-when-idle", "--poll", "1"]).await;
    assert_eq!(worker.expect_code(0).json()["skipped"], 1);
    let status = firmo(&["fleet", "status"]).await;
    let status = status.expect_code(0).json();
    let late = &status["portals"][0];
    assert_eq!(
        (&late["name"], &late["last_outcome"]),
        (&"late".into(), &"skipped".into())
    );
    let detail = late["last_detail"].as_str().unwrap();
    assert!(detail.contains("fleet's budget"), "{detail}");
    let asked = portals[1].sandbox.stats().requests;
    assert!(!asked.contains_key("clearbit"), "nothing bought: {asked:?}");

    // The sources document of one portal describes its newest run; a fleet portal that
    // never ran has no report.
    let doc = ws.path("solo.md");
    let doc_arg = doc.to_str().unwrap();
    firmo(&["report", "--portal", "solo", "--sources-md", doc_arg])
        .await
        .expect_code(0);
    let text = std::fs::read_to_string(&doc).unwrap();
    let header = format!("from run {} (sync, 30 accounts)", run["id"]);
    assert!(text.contains(&header), "{header}:\n{text}");
    let none = firmo(&["report", "--portal", "late"]).await;
    none.expect_code(2);
    let message = none.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("fleet portal `late` has no runs"),
        "{message}"
    );
}

#[tokio::test]
async fn fleet_commands_need_a_postgresql_state() {
    let ws = Workspace::new();
    for args in [
        &["fleet", "list"][..],
        &["fleet", "schedule"],
        &["fleet", "status"],
        &["worker", "--concurrency", "2"],
    ] {
        let mut all = vec!["--state", "state.db"];
        all.extend(args);
        let out = crate::support::firmo(&ws, &all).await;
        out.expect_code(2);
        assert!(
            out.stderr.contains("needs a PostgreSQL state"),
            "{args:?}: {}",
            out.stderr
        );
    }
    // A bad interval is refused before any server is asked.
    let out = crate::support::firmo(
        &ws,
        &[
            "--state",
            "postgres://x@127.0.0.1:1/x",
            "fleet",
            "add",
            "p",
            "--crm",
            "hubspot",
            "--token-env",
            "T",
            "--every",
            "7w",
        ],
    )
    .await;
    out.expect_code(2);
    assert!(out.stderr.contains("--every \"7w\""), "{}", out.stderr);
}

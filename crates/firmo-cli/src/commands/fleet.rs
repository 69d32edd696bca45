//! `firmo fleet …`: the portals of a PostgreSQL state and their queue (see docs/fleet.md).

use std::fmt::Write as _;

use anyhow::anyhow;
use firmo_connect::crm::format_timestamp;
use firmo_core::UnixMillis;
use firmo_fleet::{Fleet, FleetError, NewPortal};

use crate::cli::{FleetAddArgs, FleetCommand, GlobalArgs};
use crate::output::{print, print_json};
use crate::{CmdResult, Failure};

/// The fleet of `--state`: a PostgreSQL URL, else exit 2 saying a fleet needs one.
pub(crate) async fn connect(global: &GlobalArgs) -> Result<Fleet, Failure> {
    let location = global.state.to_str().unwrap_or_default();
    Fleet::connect(location).await.map_err(failure)
}

/// Bad input is usage (exit 2); the server failing is the run (exit 1).
pub(crate) fn failure(e: FleetError) -> Failure {
    match e {
        FleetError::NotPostgres { .. }
        | FleetError::UnknownPortal(_)
        | FleetError::PortalExists(_)
        | FleetError::BadName { .. }
        | FleetError::BadInterval { .. } => Failure::Usage(e.into()),
        FleetError::Db { .. }
        | FleetError::TooNew { .. }
        | FleetError::Store(_)
        | FleetError::NotHeld { .. } => Failure::Run(e.into()),
    }
}

fn when(ms: Option<i64>) -> String {
    ms.map_or_else(|| "never".to_owned(), |ms| format_timestamp(UnixMillis(ms)))
}

fn every(ms: i64) -> String {
    for (unit, size) in [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000)] {
        if ms % size == 0 {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{}s", ms / 1000)
}

pub(crate) async fn run(global: &GlobalArgs, command: FleetCommand) -> CmdResult {
    // Checked before connecting, so a typo says what is wrong even with no server.
    if let FleetCommand::Add(args) = &command {
        firmo_fleet::parse_every(&args.every).map_err(failure)?;
    }
    let fleet = connect(global).await?;
    match command {
        FleetCommand::Add(args) => add(global, &fleet, &args).await,
        FleetCommand::List => list(global, &fleet).await,
        FleetCommand::Remove { name } => {
            fleet.remove_portal(&name).await.map_err(failure)?;
            print(&format!("removed {name} from the fleet\n"))?;
            Ok(())
        }
        FleetCommand::Schedule => {
            let queued = fleet.schedule().await.map_err(failure)?;
            if global.json {
                print_json(&serde_json::json!({ "queued": queued }))?;
            } else if queued.is_empty() {
                print("no portal is due\n")?;
            } else {
                print(&format!("queued {}: {}\n", queued.len(), queued.join(", ")))?;
            }
            Ok(())
        }
        FleetCommand::Status => status(global, &fleet).await,
        FleetCommand::Budget { monthly, unlimited } => {
            if let Some(m) = monthly
                && !(m.is_finite() && m >= 0.0)
            {
                return Err(Failure::Usage(anyhow!(
                    "--monthly {m}: a number of credits, 0 or more"
                )));
            }
            let monthly = if unlimited { None } else { monthly };
            fleet.set_fleet_budget(monthly).await.map_err(failure)?;
            print(&match monthly {
                Some(m) => format!("the fleet may spend {m} credits a month\n"),
                None => "the fleet's monthly budget is lifted\n".to_owned(),
            })?;
            Ok(())
        }
    }
}

async fn add(global: &GlobalArgs, fleet: &Fleet, args: &FleetAddArgs) -> CmdResult {
    let every_ms = firmo_fleet::parse_every(&args.every).map_err(failure)?;
    if let Some(m) = args.monthly_credits
        && !(m.is_finite() && m >= 0.0)
    {
        return Err(Failure::Usage(anyhow!(
            "--monthly-credits {m}: a number of credits, 0 or more"
        )));
    }
    // The config is read now, so a portal with a broken one is refused at once, and
    // kept as an absolute path, so workers started elsewhere find it.
    let config_path = match &global.config {
        Some(path) => {
            firmo_engine::config::Config::load(path).map_err(|e| Failure::Usage(e.into()))?;
            let absolute = std::fs::canonicalize(path)
                .map_err(|e| Failure::Usage(anyhow!("--config {}: {e}", path.display())))?;
            Some(absolute.display().to_string())
        }
        None => None,
    };
    if args.token_env.is_empty()
        || !args
            .token_env
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(Failure::Usage(anyhow!(
            "--token-env {:?}: the name of an environment variable (letters, digits, _)",
            args.token_env
        )));
    }
    let new = NewPortal {
        name: args.name.clone(),
        crm: args.crm.0.name().to_owned(),
        token_env: args.token_env.clone(),
        config_path,
        sandbox_url: args.sandbox_url.clone(),
        every_ms,
        monthly_credits: args.monthly_credits,
    };
    fleet.add_portal(&new).await.map_err(failure)?;
    print(&format!(
        "added {} (token from ${}, due every {})\n",
        new.name,
        new.token_env,
        every(every_ms)
    ))?;
    Ok(())
}

async fn list(global: &GlobalArgs, fleet: &Fleet) -> CmdResult {
    let portals = fleet.portals().await.map_err(failure)?;
    if portals.is_empty() && !global.json {
        print("no portals yet: firmo fleet add NAME --crm hubspot --token-env VAR\n")?;
        return Ok(());
    }
    if global.json {
        let rows: Vec<_> = portals
            .iter()
            .map(|p| {
                serde_json::json!({
                    "name": p.name, "crm": p.crm, "token_env": p.token_env,
                    "config": p.config_path, "sandbox_url": p.sandbox_url,
                    "every": every(p.every_ms), "monthly_credits": p.monthly_credits,
                    "account_key": p.account_key,
                })
            })
            .collect();
        print_json(&rows)?;
        return Ok(());
    }
    let mut text = format!(
        "{:<20} {:<8} {:<6} {:<24} {:>10}  config\n",
        "portal", "crm", "every", "token", "budget/mo"
    );
    for p in &portals {
        let _ = writeln!(
            text,
            "{:<20} {:<8} {:<6} ${:<23} {:>10}  {}",
            p.name,
            p.crm,
            every(p.every_ms),
            p.token_env,
            p.monthly_credits
                .map_or_else(|| "-".to_owned(), |m| m.to_string()),
            p.config_path.as_deref().unwrap_or("(defaults)")
        );
    }
    print(&text)?;
    Ok(())
}

async fn status(global: &GlobalArgs, fleet: &Fleet) -> CmdResult {
    let s = fleet.status().await.map_err(failure)?;
    if global.json {
        let portals: Vec<_> = s
            .portals
            .iter()
            .map(|p| {
                serde_json::json!({
                    "name": p.name, "account_key": p.account_key,
                    "last_finished_at": p.last_finished_at.map(|t| format_timestamp(UnixMillis(t))),
                    "last_outcome": p.last_outcome, "last_detail": p.last_detail,
                    "next_due": format_timestamp(UnixMillis(p.next_due)),
                    "open": p.open, "spent_this_month": p.spent_this_month,
                    "monthly_credits": p.monthly_credits, "reserved": p.reserved,
                })
            })
            .collect();
        let workers: Vec<_> = s
            .workers
            .iter()
            .map(|w| {
                serde_json::json!({
                    "id": w.id, "host": w.host, "pid": w.pid, "concurrency": w.concurrency,
                    "running": w.running,
                    "started_at": format_timestamp(UnixMillis(w.started_at)),
                    "heartbeat_at": format_timestamp(UnixMillis(w.heartbeat_at)),
                    "heartbeat_age_ms": s.now - w.heartbeat_at,
                })
            })
            .collect();
        print_json(&serde_json::json!({
            "portals": portals, "queued": s.queued, "running": s.running, "workers": workers,
            "fleet_spent_this_month": s.fleet_spent_this_month,
            "fleet_monthly_credits": s.fleet_monthly_credits,
            "fleet_reserved": s.fleet_reserved,
        }))?;
        return Ok(());
    }
    let mut text = format!(
        "{:<20} {:<24} {:<10} {:<24} {:>12}  now\n",
        "portal", "last run", "outcome", "next due", "spent/mo"
    );
    for p in &s.portals {
        let budget = p
            .monthly_credits
            .map_or_else(String::new, |m| format!(" / {m}"));
        let _ = writeln!(
            text,
            "{:<20} {:<24} {:<10} {:<24} {:>12}  {}",
            p.name,
            when(p.last_finished_at),
            p.last_outcome.as_deref().unwrap_or("-"),
            if p.next_due <= s.now {
                "due".to_owned()
            } else {
                format_timestamp(UnixMillis(p.next_due))
            },
            format!("{:.1}{budget}", p.spent_this_month),
            p.open.as_deref().unwrap_or("-"),
        );
    }
    let _ = writeln!(
        text,
        "\nqueue: {} queued, {} running · fleet spend this month: {:.1}{} ({:.1} reserved by running jobs)",
        s.queued,
        s.running,
        s.fleet_spent_this_month,
        s.fleet_monthly_credits
            .map_or_else(String::new, |m| format!(" of {m}")),
        s.fleet_reserved
    );
    let _ = writeln!(text, "workers alive: {}", s.workers.len());
    for w in &s.workers {
        let _ = writeln!(
            text,
            "  {:<40} {} running of {}, heartbeat {:.0} s ago",
            w.id,
            w.running,
            w.concurrency,
            (s.now - w.heartbeat_at) as f64 / 1000.0
        );
    }
    print(&text)?;
    Ok(())
}

//! One module per command.

mod account;
mod budget;
mod doctor;
mod enrich;
mod fleet;
mod report;
mod sources_md;
mod spot_check;
mod validate;
mod worker;

use anyhow::{Context as _, anyhow};
use firmo_engine::config::DEFAULT_CONFIG_TOML;
use firmo_engine::sync::SyncOptions;
use std::fmt::Write as _;

use crate::cli::{Cli, Command, ImportCommand, PropertiesCommand, SyncArgs};
use crate::context::{self, load_config, open_store};
use crate::output::{print, print_json};
use crate::progress::Bar;
use crate::{CmdResult, Failure};

pub(crate) async fn run(cli: Cli) -> CmdResult {
    let global = &cli.global;
    match cli.command {
        Command::Sync(args) => run_sync(global, &args).await,
        Command::Properties(PropertiesCommand::Ensure { target }) => {
            let config = load_config(global)?;
            let store = open_store(global)?;
            let t =
                context::target(&config, &target, store, Some("firmo properties ensure")).await?;
            let report = firmo_engine::sync::ensure_properties(t.crm.as_ref()).await;
            t.finish().await;
            let report = report?;
            if global.json {
                print_json(&report)?;
            } else {
                let mut text = String::from("firmo properties (group `firmo`)\n");
                for p in &report {
                    let _ = writeln!(text, "  {:<34} {}", p.name, p.status);
                }
                print(&text)?;
            }
            if report.iter().any(|p| {
                matches!(
                    p.status,
                    firmo_engine::setup::PropertyStatus::Mismatch { .. }
                )
            }) {
                return Err(Failure::Run(anyhow!(
                    "some properties exist with another type; firmo left them alone and won't write them"
                )));
            }
            Ok(())
        }
        Command::Enrich(args) => enrich::run(global, &args).await,
        Command::Doctor(args) => doctor::run(global, &args).await,
        Command::Validate(args) => validate::run(global, &args),
        Command::Report(args) => report::run(global, &args),
        Command::Budget => budget::run(global),
        Command::SpotCheck(command) => spot_check::run(global, &command),
        Command::Fleet(command) => fleet::run(global, command).await,
        Command::Worker(args) => worker::run(global, &args).await,
        Command::Sandbox(args) => run_sandbox(args).await,
        Command::Init(args) => {
            if args.path.exists() && !args.force {
                return Err(Failure::Usage(anyhow!(
                    "{} already exists; pass --force to overwrite it",
                    args.path.display()
                )));
            }
            std::fs::write(&args.path, DEFAULT_CONFIG_TOML)
                .with_context(|| format!("writing {}", args.path.display()))?;
            print(&format!("wrote {}\n", args.path.display()))?;
            Ok(())
        }
        Command::Schema => {
            print_json(&firmo_core::schema::record_schema())?;
            Ok(())
        }
        Command::Import(ImportCommand::Clay { file }) => {
            let store = open_store(global)?;
            let reader = std::fs::File::open(&file)
                .with_context(|| format!("opening {}", file.display()))
                .map_err(Failure::Usage)?;
            let now = (firmo_engine::system_clock())();
            let import = firmo_clay::import_csv(reader, now)
                .map_err(|e| Failure::Usage(anyhow!("{}: {e}", file.display())))?;
            let entries: Vec<firmo_store::LookupEntry> = import
                .rows
                .iter()
                .map(|(domain, records)| {
                    firmo_store::LookupEntry::hit("clay", domain.clone(), now, records.clone())
                })
                .collect();
            let _lock = context::lock_for_run(&store, "firmo import clay")?;
            let mut store = store;
            store.put_lookups(&entries)?;
            let mut text = format!(
                "imported {} Clay rows from {}\n",
                entries.len(),
                file.display()
            );
            for e in &import.errors {
                let _ = writeln!(text, "  line {}: {}", e.line, e.message);
            }
            if global.json {
                print_json(&serde_json::json!({
                    "imported": entries.len(),
                    "errors": import.errors.iter().map(|e| serde_json::json!({"line": e.line, "message": e.message})).collect::<Vec<_>>(),
                }))?;
            } else {
                print(&text)?;
            }
            if import.errors.is_empty() {
                Ok(())
            } else {
                Err(Failure::SomeFailed)
            }
        }
    }
}

async fn run_sync(global: &crate::cli::GlobalArgs, args: &SyncArgs) -> CmdResult {
    let config = load_config(global)?;
    // A dry run writes nothing: it plans from a read-only view of the state (so it works
    // on a file the user may not write, and beside a running sync) and records no run.
    let store = if args.dry_run && context::state_exists(global) {
        context::open_store_read_only(global)?
    } else {
        open_store(global)?
    };
    if let Some(name) = &args.segment
        && !config.segments.contains_key(name)
    {
        return Err(Failure::Usage(anyhow!(
            "unknown segment `{name}`; the config defines: {}",
            config.segment_names()
        )));
    }
    let command = (!args.dry_run).then_some("firmo sync");
    let t = context::target(&config, &args.target, store, command).await?;
    let bar = Bar::new(global.json, global.quiet);
    let options = SyncOptions {
        dry_run: args.dry_run,
        limit: args.limit,
        segment: args.segment.clone(),
        full: args.full,
    };
    let result = firmo_engine::sync::sync_with_contacts(
        &config,
        t.crm.clone(),
        t.contacts.as_ref(),
        &t.enricher,
        &options,
        &bar,
    )
    .await;
    bar.done();
    let unavailable: Vec<(String, String)> = t
        .unavailable
        .iter()
        .map(|(n, e)| (n.clone(), e.to_string()))
        .collect();
    t.finish().await;
    let summary = result.map_err(|e| Failure::Run(e.into()))?;
    if global.json {
        print_json(
            &serde_json::json!({ "summary": summary, "unavailable_providers": unavailable }),
        )?;
    } else if !global.quiet {
        let mut text = summary.render();
        for (name, why) in &unavailable {
            let _ = writeln!(text, "provider {name} not used this run: {why}");
        }
        print(&text)?;
    }
    if let Some(e) = &summary.error {
        return Err(Failure::Run(anyhow!("the run stopped early: {e}")));
    }
    if summary.outcomes.failed > 0 {
        return Err(Failure::SomeFailed);
    }
    // A provider that could not start or was stopped (credentials refused, out of credits)
    // left fields unenriched: the run did not do its whole job.
    let stopped: Vec<String> = unavailable
        .iter()
        .map(|(name, _)| name.clone())
        .chain(
            summary
                .providers
                .iter()
                .filter(|(_, p)| p.stopped.is_some())
                .map(|(name, _)| name.clone()),
        )
        .collect();
    if !stopped.is_empty() {
        return Err(Failure::Run(anyhow!(
            "providers stopped or unavailable this run: {}",
            stopped.join(", ")
        )));
    }
    Ok(())
}

async fn run_sandbox(args: Box<crate::cli::SandboxCmdArgs>) -> CmdResult {
    let (addr, config) = args.sandbox.into_config();
    let sandbox = firmo_sandbox::start(config, addr)
        .await
        .with_context(|| format!("starting the sandbox on {addr}"))
        .map_err(Failure::Usage)?;
    // The first line is a contract: scripts and tests read the URL from it.
    print(&format!("listening on {}\n", sandbox.base_url()))?;
    wait_for_signal().await;
    sandbox.shutdown().await.context("stopping the sandbox")?;
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

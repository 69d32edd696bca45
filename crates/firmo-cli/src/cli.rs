//! The command line, as clap derives it. Pipeline semantics live in `firmo.toml`; flags
//! are runtime knobs only.

use std::path::PathBuf;

use clap::builder::TypedValueParser;
use clap::{Args, Parser, Subcommand};
use firmo_engine::crms::{self, CrmFactory, UnknownCrm};

#[derive(Debug, Parser)]
#[command(
    name = "firmo",
    version,
    about = "Keep CRM company records enriched with firmographics",
    long_about = "firmo pulls companies from your CRM, enriches them through Clay, Clearbit, \
BuiltWith and Crunchbase, merges the fields under precedence and quality rules, and writes \
them back as CRM properties.\n\nTry it with no accounts anywhere: firmo sync --crm hubspot --sandbox",
    after_help = "Exit codes: 0 ok · 1 some accounts failed, or the run failed · 2 bad usage or config"
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// The command line as [`Parser::parse`] reads it, except that an environment
    /// variable set but blank (`FIRMO_SANDBOX_URL=`, `FIRMO_STATE=`) counts as unset, as
    /// every variable firmo reads does (see [`firmo_sandbox::ignore_blank_env`]).
    pub(crate) fn parse() -> Cli {
        use clap::{CommandFactory, FromArgMatches};
        let mut command = firmo_sandbox::ignore_blank_env(Cli::command());
        let matches = command.get_matches_mut();
        Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.format(&mut command).exit())
    }
}

#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// Config file (default: ./firmo.toml when it exists, else built-in defaults).
    #[arg(long, global = true, env = "FIRMO_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// State file: provider cache, cursors, write journal, run history.
    #[arg(
        long,
        global = true,
        env = "FIRMO_STATE",
        value_name = "PATH",
        default_value = ".firmo/state.db"
    )]
    pub state: PathBuf,
    /// Machine-readable output on stdout (no progress bars).
    #[arg(long, global = true)]
    pub json: bool,
    /// More log output (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}

/// A CRM of the registry (`firmo_engine::crms`), as `--crm` names it.
#[derive(Clone, Copy)]
pub(crate) struct CrmChoice(pub &'static dyn CrmFactory);

impl std::fmt::Debug for CrmChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.name())
    }
}

impl CrmChoice {
    pub(crate) fn named(name: &str) -> Result<CrmChoice, UnknownCrm> {
        crms::find(name).map(CrmChoice)
    }
}

/// `--crm`: a registry name; the help and an unknown name's error (exit 2) list them.
fn crm_choice() -> impl TypedValueParser<Value = CrmChoice> {
    clap::builder::PossibleValuesParser::new(crms::names()).try_map(|name| CrmChoice::named(&name))
}

/// Where the CRM and providers are.
#[derive(Debug, Clone, Args)]
pub(crate) struct TargetArgs {
    /// The CRM to sync.
    #[arg(long, value_parser = crm_choice(), default_value = crms::DEFAULT)]
    pub crm: CrmChoice,
    /// Start a sandbox CRM and provider emulators in-process, with demo data.
    #[arg(long, conflicts_with = "sandbox_url")]
    pub sandbox: bool,
    /// Use an already running sandbox (`firmo sandbox`) for the CRM and every provider.
    #[arg(long, value_name = "URL", env = "FIRMO_SANDBOX_URL")]
    pub sandbox_url: Option<String>,
    /// Demo companies in the in-process sandbox.
    #[arg(long, default_value_t = 250, value_name = "N")]
    pub sandbox_companies: usize,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Pull companies, enrich, merge, validate and write back (the weekly job).
    Sync(SyncArgs),
    /// Manage firmo's CRM properties.
    #[command(subcommand)]
    Properties(PropertiesCommand),
    /// Enrich a CSV export (account_id, account_name, domain) into an enriched CSV.
    Enrich(EnrichArgs),
    /// Run the quality rules on a CSV or JSON file of records.
    Validate(ValidateArgs),
    /// Coverage and quality of the last runs, as a table or an HTML page.
    Report(ReportArgs),
    /// Serve a local HubSpot-compatible CRM and provider emulators with demo data.
    Sandbox(Box<SandboxCmdArgs>),
    /// Write a commented firmo.toml.
    Init(InitArgs),
    /// Print the JSON Schema of an enriched record.
    Schema,
    /// Import provider data into the cache.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Check the token, scopes, rate limits, property room, provider keys and state file.
    Doctor(DoctorArgs),
    /// This budget period's spend per provider, what is left, and what a run may spend.
    Budget,
    /// Sample merged values for a person to verify, and import their verdicts.
    #[command(subcommand)]
    SpotCheck(SpotCheckCommand),
    /// Many portals on a PostgreSQL state: register them, queue their due syncs, watch them.
    #[command(subcommand)]
    Fleet(FleetCommand),
    /// Take portal syncs from the fleet's queue and run them (any number, on any machine).
    Worker(WorkerArgs),
}

#[derive(Debug, Subcommand)]
pub(crate) enum SpotCheckCommand {
    /// Write a stratified (by segment and winning source), seeded sample of one field's
    /// values to a CSV with an empty `verdict` column for a reviewer.
    Sample(SpotSampleArgs),
    /// Store the verdicts (correct, wrong, unsure) of a reviewed sample.
    Import {
        /// The sheet `firmo spot-check sample` wrote, with verdicts filled in.
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum FleetCommand {
    /// Register a portal. `--config FILE` (the global flag) is the portal's config.
    Add(FleetAddArgs),
    /// The registered portals.
    List,
    /// Forget a portal and its job history (its runs and the shared cache stay).
    Remove {
        /// The portal's name in the fleet.
        name: String,
    },
    /// Queue a sync of every portal that is due.
    Schedule,
    /// Per portal: last run, next due, outcome, spend this month; the queue; the workers.
    Status,
    /// Set the fleet's monthly credit budget, over every portal.
    Budget {
        /// Credits all portals together may spend in a calendar month (UTC).
        #[arg(
            long,
            value_name = "CREDITS",
            conflicts_with = "unlimited",
            required_unless_present = "unlimited"
        )]
        monthly: Option<f64>,
        /// Lift the fleet's budget.
        #[arg(long)]
        unlimited: bool,
    },
}

#[derive(Debug, Args)]
pub(crate) struct SpotSampleArgs {
    /// The field to check (e.g. headcount, industry).
    #[arg(long, value_name = "FIELD")]
    pub field: String,
    /// How many values to sample.
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub n: usize,
    /// Sample the newest run of this segment only (default: the newest run of each).
    #[arg(long, value_name = "NAME")]
    pub segment: Option<String>,
    /// The same seed on the same state gives the same sample.
    #[arg(long, default_value_t = 1, value_name = "K")]
    pub seed: u64,
    /// Where to write the sheet.
    #[arg(long, value_name = "CSV")]
    pub output: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct FleetAddArgs {
    /// A name for the portal: letters, digits, `.`, `_`, `-`.
    pub name: String,
    /// The portal's CRM.
    #[arg(long, value_parser = crm_choice())]
    pub crm: CrmChoice,
    /// The environment variable that holds this portal's token on every worker.
    #[arg(long, value_name = "VAR")]
    pub token_env: String,
    /// How often its sync is due: 7d, 12h, 30m.
    #[arg(long, default_value = "7d", value_name = "INTERVAL")]
    pub every: String,
    /// Credits this portal may spend in a calendar month (UTC).
    #[arg(long, value_name = "CREDITS")]
    pub monthly_credits: Option<f64>,
    /// A sandbox (`firmo sandbox`) that serves this portal's CRM and providers.
    #[arg(long, value_name = "URL")]
    pub sandbox_url: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct WorkerArgs {
    /// Portal syncs run at once by this worker (never two of one portal).
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64))]
    pub concurrency: u32,
    /// Exit once no job is queued or running anywhere in the fleet (for cron and tests).
    #[arg(long)]
    pub exit_when_idle: bool,
    /// How often an idle worker asks the queue again, in seconds.
    #[arg(long, default_value_t = 5, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub poll: u64,
}

#[derive(Debug, Args)]
pub(crate) struct DoctorArgs {
    #[command(flatten)]
    pub target: TargetArgs,
}

#[derive(Debug, Args)]
pub(crate) struct SyncArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Plan only: print what would be written and what it would cost; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Stop after N accounts.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Only accounts in this `[segments.NAME]` of the config.
    #[arg(long, value_name = "NAME")]
    pub segment: Option<String>,
    /// Ignore the incremental cursor and pull every company.
    #[arg(long)]
    pub full: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum PropertiesCommand {
    /// Create firmo's property group and properties, or check them (idempotent).
    Ensure {
        #[command(flatten)]
        target: TargetArgs,
    },
}

#[derive(Debug, Args)]
pub(crate) struct EnrichArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// CSV with the columns account_id, account_name, domain.
    #[arg(long, value_name = "CSV")]
    pub input: PathBuf,
    /// Where to write the enriched CSV.
    #[arg(long, value_name = "CSV")]
    pub output: PathBuf,
    /// Write cells as they are. By default a cell that a spreadsheet would run as a
    /// formula (starting with `=`, `+`, `-`, `@`, tab or CR) gets a leading `'`.
    #[arg(long)]
    pub raw: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
    /// A .json file (one record or an array) or a .csv with one column per field.
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// How many recent runs to list.
    #[arg(long, default_value_t = 10)]
    pub runs: usize,
    /// Write an HTML page with charts here.
    #[arg(long, value_name = "PATH")]
    pub html: Option<PathBuf>,
    /// One account's latest outcome and attempt trace (its CRM record id).
    #[arg(long, value_name = "ID")]
    pub account: Option<String>,
    /// Write the "Enrichment Data Sources" document (Markdown) here, from the config and
    /// the measurements.
    #[arg(long, value_name = "PATH")]
    pub sources_md: Option<PathBuf>,
    /// Only this portal's runs and accounts: a fleet portal's name, the key its runs
    /// record (`hubspot:123`) or the HubSpot portal id (`123`).
    #[arg(long, value_name = "NAME", conflicts_with = "account")]
    pub portal: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct SandboxCmdArgs {
    #[command(flatten)]
    pub sandbox: firmo_sandbox::SandboxArgs,
}

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// Where to write it.
    #[arg(default_value = "firmo.toml")]
    pub path: PathBuf,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ImportCommand {
    /// Import a Clay table CSV export into the provider cache.
    Clay {
        /// The exported CSV.
        file: PathBuf,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn sandbox_flags_conflict() {
        let err = Cli::try_parse_from(["firmo", "sync", "--sandbox", "--sandbox-url", "http://x"])
            .unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
    }
}

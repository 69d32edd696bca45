//! `firmo`: keep CRM company records enriched with firmographics.
//!
//! Exit codes: 0 the command did everything (a credit budget deferring lookups included);
//! 1 it ran but some accounts failed, a provider was stopped or unavailable, or the run
//! itself failed (CRM unreachable, credentials refused, the state file in use); 2 bad
//! usage or config. With `--json`, a failure that printed nothing else prints
//! `{"error": {"kind", "message", "exit_code"}}` on stdout.

use std::io::Write;
use std::process::ExitCode;

/// mimalloc: the workspace's `Cargo.toml` says why.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod cli;
mod commands;
mod context;
mod csv_safe;
mod output;
mod progress;

/// How a command ended, mapped to the documented exit codes.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Bad usage or config (exit 2).
    Usage(anyhow::Error),
    /// The run went wrong (exit 1).
    Run(anyhow::Error),
    /// The run finished, but some accounts failed (exit 1, the summary says which).
    SomeFailed,
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Failure {
        Failure::Run(e.into())
    }
}

pub(crate) type CmdResult = Result<(), Failure>;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    context::init_tracing(&cli.global);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "error: cannot start the async runtime: {e}"
            );
            return ExitCode::from(1);
        }
    };
    let json = cli.global.json;
    let result = runtime.block_on(commands::run(cli));
    let (code, error) = match result {
        Ok(()) => return ExitCode::SUCCESS,
        Err(Failure::SomeFailed) => (1, None),
        Err(Failure::Run(e)) => (1, Some(("run", e))),
        Err(Failure::Usage(e)) => (2, Some(("usage", e))),
    };
    if let Some((kind, e)) = &error {
        let text = output::error_text(e);
        let _ = writeln!(std::io::stderr(), "error: {text}");
        // A script reading `--json` gets a JSON document whatever happened; when a
        // summary was printed already, that document says it (and stderr has the error).
        if json && !output::printed() {
            let _ = output::print_json(&serde_json::json!({
                "error": { "kind": kind, "message": text, "exit_code": code },
            }));
        }
    }
    ExitCode::from(code)
}

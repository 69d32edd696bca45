//! `firmo`: keep CRM company records enriched with firmographics.
//!
//! Exit codes: 0 the command did everything; 1 it ran but some accounts failed (or the
//! run itself failed: CRM unreachable, credentials refused); 2 bad usage or config.

use std::io::Write;
use std::process::ExitCode;

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
    let result = runtime.block_on(commands::run(cli));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::SomeFailed) => ExitCode::from(1),
        Err(Failure::Run(e)) => {
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            ExitCode::from(1)
        }
        Err(Failure::Usage(e)) => {
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            ExitCode::from(2)
        }
    }
}

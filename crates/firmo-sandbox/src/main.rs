//! `firmo-sandbox`: run the HubSpot-compatible sandbox until Ctrl-C or SIGTERM.
//! The first line on stdout is `listening on http://127.0.0.1:PORT`.

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser};
use firmo_sandbox::SandboxArgs;

#[derive(Debug, Parser)]
#[command(
    name = "firmo-sandbox",
    about = "A local HubSpot-compatible CRM with demo data"
)]
struct Cli {
    #[command(flatten)]
    args: SandboxArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    // A blank FIRMO_SANDBOX_TOKEN counts as unset (the default token), as everywhere.
    let matches = firmo_sandbox::ignore_blank_env(Cli::command()).get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let (addr, config) = cli.args.into_config();
    let sandbox = match firmo_sandbox::start(config, addr).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot start the sandbox on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    {
        let mut out = std::io::stdout().lock();
        // The first line is a contract: scripts and tests read the URL from it.
        if writeln!(out, "listening on {}", sandbox.base_url())
            .and_then(|()| out.flush())
            .is_err()
        {
            return ExitCode::FAILURE;
        }
    }
    wait_for_signal().await;
    match sandbox.shutdown().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: sandbox shutdown: {e}");
            ExitCode::FAILURE
        }
    }
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

//! What every command needs: logging, the config, the state file, and the CRM and
//! providers a target points at (HubSpot itself, an in-process sandbox, or a running one).

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, anyhow};
use firmo_clay::receiver::ClayReceiver;
use firmo_clay::receiver::ReceiverConfig;
use firmo_connect::Secret;
use firmo_connect::crm::Crm;
use firmo_connect::{ConnectorError, Service};
use firmo_engine::clay::{register_receiver, start_receiver};
use firmo_engine::config::Config;
use firmo_engine::crms::{CrmBuildError, CrmEndpoint};
use firmo_engine::enrich::Enricher;
use firmo_engine::fetch::Arrivals;
use firmo_engine::providers::{Endpoint, ProviderEnv, build_all, clay_config};
use firmo_engine::state::StoreHandle;
use firmo_engine::{Clock, system_clock};
use firmo_sandbox::emulators::EmulatorSettings;
use firmo_sandbox::{SandboxConfig, SandboxHandle};
use firmo_store::{LockHolder, RunLock, Store};

use crate::Failure;
use crate::cli::{GlobalArgs, TargetArgs};

pub(crate) fn init_tracing(global: &GlobalArgs) {
    let level = if global.quiet {
        "error"
    } else {
        match global.verbose {
            0 => "warn",
            1 => "info",
            _ => "debug",
        }
    };
    // A blank FIRMO_LOG is unset, like every variable firmo reads.
    let filter = firmo_sandbox::env_var("FIRMO_LOG")
        .and_then(|v| tracing_subscriber::EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}

/// Loads the config: `--config`, else `./firmo.toml` when present, else the defaults.
pub(crate) fn load_config(global: &GlobalArgs) -> Result<Config, Failure> {
    let result = match &global.config {
        Some(path) => Config::load(path),
        None if Path::new("firmo.toml").exists() => Config::load(Path::new("firmo.toml")),
        None => Config::from_toml("", "(defaults)"),
    };
    result.map_err(|e| Failure::Usage(e.into()))
}

/// Opens the state `--state`/`FIRMO_STATE` names: a file path, or a `postgres://…` URL
/// for a PostgreSQL database (`firmo_store::Store::open` tells them apart). The message
/// shows a URL without its password.
/// Whether the state is there to read: a PostgreSQL URL always is (the server says), a
/// file when it exists.
pub(crate) fn state_exists(global: &GlobalArgs) -> bool {
    global
        .state
        .to_str()
        .is_some_and(firmo_store::is_postgres_url)
        || global.state.exists()
}

/// The state's location as messages show it (a URL without its password).
pub(crate) fn state_label(global: &GlobalArgs) -> String {
    firmo_store::display_location(&global.state)
}

pub(crate) fn open_store(global: &GlobalArgs) -> Result<Store, Failure> {
    let store = Store::open(&global.state).with_context(|| {
        format!(
            "opening the state {}",
            firmo_store::display_location(&global.state)
        )
    })?;
    Ok(store)
}

/// Opens the state for reading only: works on a file the user may not write, while a
/// run holds the lock, and on PostgreSQL as a read-only session.
pub(crate) fn open_store_read_only(global: &GlobalArgs) -> Result<Store, Failure> {
    let store = Store::open_read_only(&global.state).with_context(|| {
        format!(
            "opening the state {}",
            firmo_store::display_location(&global.state)
        )
    })?;
    Ok(store)
}

/// Takes the state file's run lock for a command that writes it (a second run on the
/// same file exits 1 naming the holder); held until the guard is dropped.
pub(crate) fn lock_for_run(store: &Store, command: &str) -> Result<RunLock, Failure> {
    let holder = LockHolder::this_process(command, (system_clock())());
    store
        .lock_for_run(&holder)
        .map_err(|e| Failure::Run(e.into()))
}

/// The CRM, providers and (when asked for) the sandbox a command runs against.
pub(crate) struct Target {
    pub crm: Arc<dyn Crm>,
    pub enricher: Enricher,
    /// Kept alive for the command's duration; shut down by [`Target::finish`].
    pub sandbox: Option<SandboxHandle>,
    /// Providers that could not start (no key): reported, the others run.
    pub unavailable: Vec<(String, firmo_connect::ConnectorError)>,
    /// Clay's callback receiver, while the command runs.
    pub clay_receiver: Option<ClayReceiver>,
    /// The contacts stage, when `[contacts]` is on (its people receiver runs with it).
    pub contacts: Option<firmo_engine::contacts::ContactStage>,
    /// The state file's run lock (none for a dry run), released when the target is.
    _lock: Option<RunLock>,
}

impl Target {
    pub(crate) async fn finish(self) {
        if let Some(receiver) = self.clay_receiver {
            receiver.stop().await;
        }
        if let Some(contacts) = self.contacts {
            contacts.stop().await;
        }
        if let Some(sandbox) = self.sandbox {
            let _ = sandbox.shutdown().await;
        }
    }
}

async fn start_clay_receiver(
    config: &Config,
    endpoint: Option<&Endpoint>,
    store: StoreHandle,
    arrivals: Arc<Arrivals>,
    clock: Clock,
    provider: &'static str,
) -> Result<ClayReceiver, ConnectorError> {
    let clay = clay_config(config).unwrap_or_default();
    let transport = |e: String| ConnectorError::Transport {
        service: Service::Clay,
        message: e,
    };
    let setup = endpoint.and_then(|e| e.callback_setup.as_deref());
    let (addr, receiver_config) = match setup {
        // A table the receiver registers with (the sandbox's): any free port and a
        // one-off secret, registered the way a user configures the HTTP API column.
        Some(_) => {
            let secret = format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
            let mut rc = ReceiverConfig::new(Secret::new(secret));
            rc.header.clone_from(&clay.callback_header);
            ("127.0.0.1:0".to_owned(), rc)
        }
        None => (config.clay.callback_addr.clone(), clay.receiver_config()?),
    };
    let addr: std::net::SocketAddr = addr.parse().map_err(|e| {
        transport(format!(
            "[clay] callback_addr {addr:?} is not an address: {e}"
        ))
    })?;
    let header = receiver_config.header.clone();
    let secret = receiver_config.secret.clone();
    let receiver = start_receiver(addr, receiver_config, store, arrivals, clock, provider)
        .await
        .map_err(|e| transport(format!("cannot listen for Clay callbacks on {addr}: {e}")))?;
    if let Some(setup) = setup {
        register_receiver(
            setup,
            "Clay table",
            &receiver.url(),
            &header,
            secret.expose(),
        )
        .await
        .map_err(transport)?;
    }
    Ok(receiver)
}

/// The sandbox's default token, used when none is in the environment.
const SANDBOX_TOKEN: &str = "sandbox-token";

/// Where a command's CRM and providers are when it runs against a sandbox.
struct StandIn {
    crm: CrmEndpoint,
    providers: ProviderEnv,
}

impl StandIn {
    /// The sandbox at `url`, which describes its own emulators' endpoints.
    fn sandbox(url: &str, token: Secret) -> StandIn {
        let endpoints = firmo_sandbox::endpoints::endpoints(url);
        let endpoint = |e: firmo_sandbox::endpoints::ProviderEndpoint| Endpoint {
            url: e.url,
            key: e.key.map(Secret::new),
            callback_setup: e.callback_setup,
        };
        StandIn {
            crm: CrmEndpoint {
                url: url.trim_end_matches('/').to_owned(),
                token,
            },
            providers: ProviderEnv {
                endpoints: endpoints
                    .providers
                    .into_iter()
                    .map(|e| (e.provider.to_owned(), endpoint(e)))
                    .collect(),
                people: Some(endpoint(endpoints.people)),
                unpaced: true,
            },
        }
    }
}

/// Starts the in-process sandbox (`--sandbox`), or finds the running one
/// (`--sandbox-url`); neither: the real services.
async fn stand_in(
    config: &Config,
    args: &TargetArgs,
) -> Result<(Option<SandboxHandle>, Option<StandIn>), Failure> {
    if args.sandbox {
        let handle = firmo_sandbox::start(
            SandboxConfig {
                companies: args.sandbox_companies,
                // The demo runs at local speed: the providers' real per-minute limits
                // are emulated (and tested) in the sandbox, but not imposed here.
                emulators: EmulatorSettings {
                    clearbit_rate_per_minute: 1_000_000,
                    crunchbase_rate_per_minute: 1_000_000,
                    ..EmulatorSettings::default()
                },
                ..SandboxConfig::default()
            },
            "127.0.0.1:0".parse().expect("a valid socket address"),
        )
        .await
        .context("starting the in-process sandbox")?;
        let stand_in = StandIn::sandbox(&handle.base_url(), Secret::new(handle.token()));
        return Ok((Some(handle), Some(stand_in)));
    }
    Ok(match &args.sandbox_url {
        Some(url) => {
            let token = Secret::from_env(&config.crm.token_env)
                .unwrap_or_else(|| Secret::new(SANDBOX_TOKEN));
            (None, Some(StandIn::sandbox(url, token)))
        }
        None => (None, None),
    })
}

/// `command` names the run in the lock file; `None` for a dry run, which takes no lock.
pub(crate) async fn target(
    config: &Config,
    args: &TargetArgs,
    store: Store,
    command: Option<&str>,
) -> Result<Target, Failure> {
    let lock = command.map(|c| lock_for_run(&store, c)).transpose()?;
    let store = StoreHandle::spawn(store);
    let (sandbox, stand_in) = stand_in(config, args).await?;
    let (crm_endpoint, env) = match stand_in {
        Some(s) => (Some(s.crm), s.providers),
        None => (None, ProviderEnv::default()),
    };
    let client = args
        .crm
        .0
        .build(config, crm_endpoint)
        .map_err(|e| match e {
            CrmBuildError::NoToken(message) => Failure::Usage(anyhow!(message)),
            CrmBuildError::Connector(e) => {
                Failure::Run(anyhow::Error::new(e).context("building the CRM client"))
            }
        })?;
    let (mut providers, mut unavailable) =
        build_all(config, &firmo_engine::providers::Registry::builtin(), &env);

    // Clay answers through a callback: without a receiver there is no point pushing rows.
    let clock = system_clock();
    let arrivals = Arc::new(Arrivals::default());
    let mut clay_receiver = None;
    if let Some(i) = providers.iter().position(|p| p.provider.answers_by_push()) {
        match start_clay_receiver(
            config,
            env.endpoint(providers[i].name),
            store.clone(),
            arrivals.clone(),
            clock.clone(),
            providers[i].name,
        )
        .await
        {
            Ok(receiver) => {
                providers[i].pushed = true;
                clay_receiver = Some(receiver);
            }
            Err(error) => {
                let name = providers.remove(i).name;
                unavailable.push((name.to_owned(), error));
            }
        }
    }
    for (name, error) in &unavailable {
        tracing::warn!(provider = %name, error = %error, "provider unavailable for this run; the others go on");
    }
    let contacts = firmo_engine::contacts::ContactStage::start(
        config,
        firmo_engine::contacts::StageEnv {
            crm: client.contacts,
            people: env.people.clone(),
            unpaced: env.unpaced,
            demo: args.sandbox,
            store: store.clone(),
            clock: clock.clone(),
        },
    )
    .await
    .map_err(|e| Failure::Usage(e.into()))?;
    let enricher = Enricher::new(
        config.core.clone(),
        &config.waterfall,
        providers,
        store,
        clock,
        arrivals,
    );
    Ok(Target {
        crm: client.crm,
        enricher,
        sandbox,
        unavailable,
        clay_receiver,
        contacts,
        _lock: lock,
    })
}

//! The provider registry: one entry per connector crate, in a static, greppable list
//! (no `inventory` magic). Adding a provider is a new crate plus one line here.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use firmo_connect::{ConnectorError, Provider, Secret, Service};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::Config;
use crate::fetch::ProviderHandle;
use crate::plan::ProviderPolicy;

/// Where one provider is reached instead of its own service (a stand-in such as the
/// sandbox's emulators), and with which key. The stand-in describes itself; the engine
/// never builds a stand-in's URLs.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// What the connector calls: the API's base URL, or a table webhook's URL (Clay).
    pub url: String,
    /// The key the endpoint takes instead of the environment's; `None`: it takes none.
    pub key: Option<Secret>,
    /// For a provider that answers by calling back: where its receiver registers (see
    /// [`crate::clay::register_receiver`]). With one, the receiver listens on any free
    /// port with a one-off secret, as nobody else needs to know them.
    pub callback_setup: Option<String>,
}

/// Where the providers are when a command runs against a stand-in.
#[derive(Debug, Clone, Default)]
pub struct ProviderEnv {
    /// By provider name; a provider not here is reached at its real service, with the
    /// key from the environment its settings name.
    pub endpoints: BTreeMap<String, Endpoint>,
    /// The person provider's endpoint (contacts), when it too is a stand-in.
    pub people: Option<Endpoint>,
    /// The endpoints impose no limits worth pacing (local emulators): a provider whose
    /// settings set no `requests_per_minute` runs unpaced.
    pub unpaced: bool,
}

impl ProviderEnv {
    /// Where `provider` is reached instead of its own service, if anywhere.
    pub fn endpoint(&self, provider: &str) -> Option<&Endpoint> {
        self.endpoints.get(provider)
    }

    /// Points a keyed provider's settings at its endpoint, if it has one: the base URL
    /// and the pace, and returns the endpoint's key. `None`: the real service, with the
    /// key from the environment.
    fn point_keyed(
        &self,
        (provider, service): (&str, Service),
        settings: &toml::Table,
        base_url: &mut String,
        requests_per_minute: &mut u32,
    ) -> Result<Option<Secret>, ConnectorError> {
        let Some(endpoint) = self.endpoint(provider) else {
            return Ok(None);
        };
        base_url.clone_from(&endpoint.url);
        *requests_per_minute = self.rate(settings, *requests_per_minute);
        let key = endpoint
            .key
            .clone()
            .ok_or_else(|| config_error(service, provider, "its endpoint names no key"))?;
        Ok(Some(key))
    }

    /// The rate to pace `provider` at: an explicit setting stands; at an unpaced
    /// stand-in, no pacing worth the name; else the connector's default.
    fn rate(&self, settings: &toml::Table, configured: u32) -> u32 {
        if self.unpaced && !settings.contains_key("requests_per_minute") {
            UNPACED_REQUESTS_PER_MINUTE
        } else {
            configured
        }
    }
}

/// Requests per minute against an unpaced stand-in (a real provider's limits don't apply).
pub const UNPACED_REQUESTS_PER_MINUTE: u32 = 6_000_000;

/// Builds one kind of provider from its `[sources.<name>]` settings.
pub trait ProviderFactory: Sync {
    fn name(&self) -> &'static str;
    /// How long its answers stay fresh unless the config says otherwise.
    fn default_refresh(&self) -> firmo_core::Refresh {
        firmo_core::Refresh::Weekly
    }
    /// Checks the settings table; `Err((".key", message))`.
    fn check(&self, settings: &toml::Table) -> Result<(), (String, String)>;
    /// Builds the provider. A missing key is an `Err` the caller reports and goes on.
    fn build(
        &self,
        settings: &toml::Table,
        env: &ProviderEnv,
    ) -> Result<Arc<dyn Provider>, ConnectorError>;
}

/// Every provider firmo ships, in the order they are reported.
pub const PROVIDERS: &[&dyn ProviderFactory] = &[&Clay, &Clearbit, &BuiltWith, &Crunchbase];

/// The providers a command can use: the shipped ones, plus any a test registers.
#[derive(Clone)]
pub struct Registry {
    factories: Vec<&'static dyn ProviderFactory>,
}

impl Registry {
    /// The providers firmo ships ([`PROVIDERS`]).
    pub fn builtin() -> Registry {
        Registry {
            factories: PROVIDERS.to_vec(),
        }
    }

    /// Adds a provider: the one place a new provider is registered.
    #[must_use]
    pub fn with(mut self, factory: &'static dyn ProviderFactory) -> Registry {
        self.factories.push(factory);
        self
    }

    pub fn get(&self, name: &str) -> Option<&'static dyn ProviderFactory> {
        self.factories.iter().copied().find(|f| f.name() == name)
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.factories.iter().map(|f| f.name()).collect()
    }

    pub fn factories(&self) -> impl Iterator<Item = &'static dyn ProviderFactory> + '_ {
        self.factories.iter().copied()
    }
}

/// The Clay adapter's settings (for the callback receiver's secret and header).
pub fn clay_config(config: &Config) -> Option<firmo_clay::ClayConfig> {
    let (_, source) = config.sources.iter().find(|(n, _)| n == firmo_clay::NAME)?;
    if !source.enabled {
        return None;
    }
    parse(&source.settings).ok()
}

/// Parses a settings table into a connector config, refusing keys the config doesn't have
/// (serde `default` structs would silently drop a misspelt key).
fn parse<T: DeserializeOwned + Serialize + Default>(
    settings: &toml::Table,
) -> Result<T, (String, String)> {
    let known = toml::Table::try_from(T::default()).map_err(|e| (String::new(), e.to_string()))?;
    for key in settings.keys() {
        if !known.contains_key(key) {
            let mut names: Vec<&str> = known.keys().map(String::as_str).collect();
            names.extend(["enabled", "refresh", "pending_retry_minutes"]);
            return Err((
                format!(".{key}"),
                format!("unknown key; known: {}", names.join(", ")),
            ));
        }
    }
    let parsed: T = toml::Value::Table(settings.clone())
        .try_into::<T>()
        .map_err(|e| (String::new(), e.to_string().trim_end().to_owned()))?;
    check_numbers(&toml::Table::try_from(&parsed).map_err(|e| (String::new(), e.to_string()))?)?;
    Ok(parsed)
}

/// The ranges of the numbers every connector's settings share (a negative cost would
/// abort a paid run halfway; a rate of 0 would mean "unlimited").
fn check_numbers(settings: &toml::Table) -> Result<(), (String, String)> {
    const RANGES: [(&str, f64, f64); 4] = [
        ("cost_per_lookup", 0.0, 1_000_000.0),
        ("requests_per_minute", 1.0, 1e9),
        ("timeout_secs", 1.0, 3_600.0),
        ("pending_retry_after_secs", 1.0, 604_800.0),
    ];
    for (key, min, max) in RANGES {
        let value = match settings.get(key) {
            Some(toml::Value::Integer(n)) => *n as f64,
            Some(toml::Value::Float(x)) => *x,
            _ => continue,
        };
        crate::config::in_range(key, value, min, max).map_err(|(k, m)| (format!(".{k}"), m))?;
    }
    Ok(())
}

/// Builds every enabled provider. Providers that can't start (no key) are returned with
/// their error: the run reports them and goes on with the others.
pub fn build_all(
    config: &Config,
    registry: &Registry,
    env: &ProviderEnv,
) -> (Vec<ProviderHandle>, Vec<(String, ConnectorError)>) {
    let mut handles = Vec::new();
    let mut failed = Vec::new();
    for (name, source) in &config.sources {
        if !source.enabled {
            continue;
        }
        let Some(factory) = registry.get(name) else {
            continue;
        };
        match factory.build(&source.settings, env) {
            Ok(provider) => {
                let policy = ProviderPolicy {
                    freshness: config.freshness(name, 1.0),
                    cost: provider.cost_per_lookup(),
                    pending_retry: Duration::from_secs(
                        u64::from(source.pending_retry_minutes) * 60,
                    ),
                };
                let mut handle = ProviderHandle::new(provider, policy, 8);
                handle.always = source.always;
                handles.push(handle);
            }
            Err(e) => failed.push((name.clone(), e)),
        }
    }
    (handles, failed)
}

struct Clearbit;
impl ProviderFactory for Clearbit {
    fn name(&self) -> &'static str {
        "clearbit"
    }
    fn default_refresh(&self) -> firmo_core::Refresh {
        firmo_core::Refresh::Monthly
    }
    fn check(&self, settings: &toml::Table) -> Result<(), (String, String)> {
        parse::<firmo_clearbit::ClearbitConfig>(settings).map(drop)
    }
    fn build(
        &self,
        settings: &toml::Table,
        env: &ProviderEnv,
    ) -> Result<Arc<dyn Provider>, ConnectorError> {
        let mut config: firmo_clearbit::ClearbitConfig =
            parse(settings).map_err(|(_, m)| config_error(Service::Clearbit, self.name(), &m))?;
        let at = env.point_keyed(
            (self.name(), Service::Clearbit),
            settings,
            &mut config.base_url,
            &mut config.requests_per_minute,
        )?;
        Ok(match at {
            Some(key) => Arc::new(firmo_clearbit::ClearbitClient::new(config, key)?),
            None => Arc::new(firmo_clearbit::ClearbitClient::from_env(config)?),
        })
    }
}

struct BuiltWith;
impl ProviderFactory for BuiltWith {
    fn name(&self) -> &'static str {
        "builtwith"
    }
    fn default_refresh(&self) -> firmo_core::Refresh {
        firmo_core::Refresh::Quarterly
    }
    fn check(&self, settings: &toml::Table) -> Result<(), (String, String)> {
        parse::<firmo_builtwith::BuiltWithConfig>(settings).map(drop)
    }
    fn build(
        &self,
        settings: &toml::Table,
        env: &ProviderEnv,
    ) -> Result<Arc<dyn Provider>, ConnectorError> {
        let mut config: firmo_builtwith::BuiltWithConfig =
            parse(settings).map_err(|(_, m)| config_error(Service::BuiltWith, self.name(), &m))?;
        let at = env.point_keyed(
            (self.name(), Service::BuiltWith),
            settings,
            &mut config.base_url,
            &mut config.requests_per_minute,
        )?;
        Ok(match at {
            Some(key) => Arc::new(firmo_builtwith::BuiltWithClient::new(config, key)?),
            None => Arc::new(firmo_builtwith::BuiltWithClient::from_env(config)?),
        })
    }
}

struct Crunchbase;
impl ProviderFactory for Crunchbase {
    fn name(&self) -> &'static str {
        "crunchbase"
    }
    fn check(&self, settings: &toml::Table) -> Result<(), (String, String)> {
        parse::<firmo_crunchbase::CrunchbaseConfig>(settings).map(drop)
    }
    fn build(
        &self,
        settings: &toml::Table,
        env: &ProviderEnv,
    ) -> Result<Arc<dyn Provider>, ConnectorError> {
        let mut config: firmo_crunchbase::CrunchbaseConfig =
            parse(settings).map_err(|(_, m)| config_error(Service::Crunchbase, self.name(), &m))?;
        let at = env.point_keyed(
            (self.name(), Service::Crunchbase),
            settings,
            &mut config.base_url,
            &mut config.requests_per_minute,
        )?;
        Ok(match at {
            Some(key) => Arc::new(firmo_crunchbase::CrunchbaseClient::new(config, key)?),
            None => Arc::new(firmo_crunchbase::CrunchbaseClient::from_env(config)?),
        })
    }
}

struct Clay;
impl ProviderFactory for Clay {
    fn name(&self) -> &'static str {
        firmo_clay::NAME
    }
    fn check(&self, settings: &toml::Table) -> Result<(), (String, String)> {
        parse::<firmo_clay::ClayConfig>(settings).map(drop)
    }
    fn build(
        &self,
        settings: &toml::Table,
        env: &ProviderEnv,
    ) -> Result<Arc<dyn Provider>, ConnectorError> {
        let mut config: firmo_clay::ClayConfig =
            parse(settings).map_err(|(_, m)| config_error(Service::Clay, self.name(), &m))?;
        let Some(endpoint) = env.endpoint(self.name()) else {
            return Ok(Arc::new(firmo_clay::ClayClient::from_env(config)?));
        };
        config.webhook_url.clone_from(&endpoint.url);
        config.requests_per_minute = env.rate(settings, config.requests_per_minute);
        Ok(Arc::new(firmo_clay::ClayClient::new(
            config,
            endpoint.key.clone(),
        )?))
    }
}

fn config_error(service: Service, provider: &str, message: &str) -> ConnectorError {
    ConnectorError::Validation {
        service,
        property: None,
        value: None,
        message: format!("[sources.{provider}]: {message}"),
    }
}

//! `firmo.toml`: parse, then validate, then run. [`RawConfig`] is what serde reads (every
//! key defaulted, unknown keys refused); [`Config::from_toml`] checks it and resolves what
//! the engine needs. Secrets are never in the file: it names the environment variables.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use firmo_connect::crm::{CrmCompany, Filter, FilterGroup, FilterOperator, Operand};
use firmo_core::config::{CoreConfig, MergeConfig, QualityConfig, SignalConfig};
use firmo_core::{Field, Refresh};
use serde::{Deserialize, Serialize};

use crate::budget::{MonthlyLimits, Price};
use crate::providers::Registry;
use crate::waterfall::WaterfallPlan;

/// A config problem, naming the file and the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("{path}: {key}: {message}")]
    Invalid {
        path: String,
        key: String,
        message: String,
    },
}

/// `[crm]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CrmConfig {
    /// Environment variable holding the HubSpot private-app access token.
    pub token_env: String,
    /// Requests per 10 seconds (HubSpot Free/Starter: 100; Professional/Enterprise: 190).
    pub requests_per_10s: u32,
    /// Search requests per second (HubSpot: about 4).
    pub search_per_second: u32,
    /// HubSpot's dated API version (`2026-09`, `2026-03`) or `v3` for the legacy paths.
    pub api_version: firmo_hubspot::ApiVersion,
}

impl Default for CrmConfig {
    fn default() -> Self {
        CrmConfig {
            token_env: "HUBSPOT_ACCESS_TOKEN".into(),
            requests_per_10s: 100,
            search_per_second: 4,
            api_version: firmo_hubspot::ApiVersion::default(),
        }
    }
}

/// `[sources.<name>]` as written: what is left out keeps that provider's default. Keys
/// other than these three belong to the provider's own settings (its connector crate's
/// config struct: `api_key_env`, `requests_per_minute`, `cost_per_lookup`, `base_url`…).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RawSourceConfig {
    pub enabled: Option<bool>,
    /// How long an answer stays fresh: weekly | monthly | quarterly.
    pub refresh: Option<Refresh>,
    /// How long to wait before asking again about a pending lookup.
    pub pending_retry_minutes: Option<u32>,
    /// Ask this provider about every account, whatever the waterfall says.
    pub always: Option<bool>,
    /// Credits this provider may spend in a budget period.
    pub monthly_credits: Option<f64>,
    #[serde(flatten)]
    pub settings: toml::Table,
}

/// A provider's settings, defaults filled in.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceConfig {
    pub enabled: bool,
    pub refresh: Refresh,
    pub pending_retry_minutes: u32,
    pub always: bool,
    pub monthly_credits: Option<f64>,
    /// The connector's own settings, checked against its config type.
    pub settings: toml::Table,
}

impl SourceConfig {
    /// A provider's defaults: its factory says how fast its data moves.
    pub fn defaults(refresh: Refresh) -> SourceConfig {
        SourceConfig {
            enabled: true,
            refresh,
            pending_retry_minutes: 10,
            always: false,
            monthly_credits: None,
            settings: toml::Table::new(),
        }
    }

    fn apply(mut self, raw: &RawSourceConfig) -> SourceConfig {
        if let Some(v) = raw.enabled {
            self.enabled = v;
        }
        if let Some(v) = raw.refresh {
            self.refresh = v;
        }
        if let Some(v) = raw.pending_retry_minutes {
            self.pending_retry_minutes = v;
        }
        if let Some(v) = raw.always {
            self.always = v;
        }
        if raw.monthly_credits.is_some() {
            self.monthly_credits = raw.monthly_credits;
        }
        self.settings = raw.settings.clone();
        self
    }
}

/// `[clay]`: where firmo receives Clay's callbacks during a run. The table's webhook URL,
/// token and the callback secret are the adapter's settings, in `[sources.clay]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClayConfig {
    /// Where the callback receiver listens during a run.
    pub callback_addr: String,
    /// The URL Clay's HTTP API column calls (what `callback_addr` is reachable as from
    /// Clay, e.g. behind a tunnel or load balancer); shown in logs, not used by firmo.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
    /// How long a run waits for outstanding Clay rows before writing without them.
    pub callback_wait_seconds: u64,
}

impl Default for ClayConfig {
    fn default() -> Self {
        ClayConfig {
            callback_addr: "127.0.0.1:8787".into(),
            callback_url: None,
            callback_wait_seconds: 20,
        }
    }
}

/// One CRM filter: `property OPERATOR value`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterConfig {
    pub property: String,
    /// HubSpot operator: EQ, NEQ, GT, GTE, LT, LTE, BETWEEN, IN, NOT_IN, HAS_PROPERTY,
    /// NOT_HAS_PROPERTY, CONTAINS_TOKEN.
    pub operator: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high_value: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

/// A `--segment` the config does not define.
#[derive(Debug, thiserror::Error)]
#[error("unknown segment `{name}`; the config defines: {known}")]
pub struct UnknownSegment {
    pub name: String,
    pub known: String,
}

/// `[segments.<name>]`: the accounts to enrich (all filters must hold).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentConfig {
    pub filters: Vec<FilterConfig>,
}

/// `[tiers.<name>]`: accounts matching the filters refresh `refresh_factor` times as often.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierConfig {
    pub filters: Vec<FilterConfig>,
    /// Multiplies every source's refresh interval (0.5 = twice as often).
    pub refresh_factor: f64,
}

/// A validated tier.
#[derive(Debug, Clone, PartialEq)]
pub struct Tier {
    pub filters: Vec<Filter>,
    pub refresh_factor: f64,
}

/// `[budget]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BudgetConfig {
    /// Credits one run may spend across providers; lookups past it are deferred.
    pub max_credits_per_run: f64,
    /// Credits all providers may spend in a budget period (a month); lookups past it are
    /// deferred until the period resets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monthly_credits: Option<f64>,
    /// Share (0..=1) of a monthly limit past which runs warn.
    pub warn_at: f64,
    /// Day of the month (1..=28, UTC) a budget period starts on.
    pub reset_day: u8,
    /// Money per credit, so spend can be said in money too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credit_price: Option<f64>,
    pub currency: String,
}

impl Default for BudgetConfig {
    fn default() -> Self {
        BudgetConfig {
            max_credits_per_run: 5000.0,
            monthly_credits: None,
            warn_at: 0.8,
            reset_day: 1,
            credit_price: None,
            currency: "USD".to_owned(),
        }
    }
}

/// `[waterfall]`: which providers are asked about an account (see `waterfall.rs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WaterfallConfig {
    /// Off: every enabled provider is asked about every account.
    pub enabled: bool,
    /// Fields that never make a provider be asked on their own: they keep what providers
    /// asked for other fields return.
    pub passive_fields: Vec<String>,
}

impl Default for WaterfallConfig {
    fn default() -> Self {
        WaterfallConfig {
            enabled: true,
            passive_fields: vec!["revenue_range".to_owned()],
        }
    }
}

/// How a built-in CRM property may be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OverwritePolicy {
    /// Only when the CRM holds no value.
    FillEmpty,
    /// Whenever it changes, unless a human edited what firmo wrote.
    Owned,
}

/// `[mapping.<field>]`: also write a field to a built-in property.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingConfig {
    pub property: String,
    #[serde(default = "fill_empty")]
    pub overwrite: OverwritePolicy,
}

fn fill_empty() -> OverwritePolicy {
    OverwritePolicy::FillEmpty
}

/// `firmo.toml` as read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawConfig {
    pub crm: CrmConfig,
    pub sources: BTreeMap<String, RawSourceConfig>,
    pub clay: ClayConfig,
    pub segments: BTreeMap<String, SegmentConfig>,
    pub tiers: BTreeMap<String, TierConfig>,
    pub budget: BudgetConfig,
    pub waterfall: WaterfallConfig,
    pub mapping: BTreeMap<String, MappingConfig>,
    pub merge: MergeConfig,
    pub signals: SignalConfig,
    pub quality: QualityConfig,
    pub contacts: crate::contacts::ContactsConfig,
}

impl Default for RawConfig {
    fn default() -> Self {
        RawConfig {
            crm: CrmConfig::default(),
            sources: BTreeMap::new(),
            clay: ClayConfig::default(),
            segments: BTreeMap::new(),
            tiers: BTreeMap::new(),
            budget: BudgetConfig::default(),
            waterfall: WaterfallConfig::default(),
            mapping: default_mapping(),
            merge: MergeConfig::default(),
            signals: SignalConfig::default(),
            quality: QualityConfig::default(),
            contacts: crate::contacts::ContactsConfig::default(),
        }
    }
}

fn default_mapping() -> BTreeMap<String, MappingConfig> {
    [("industry", "industry"), ("headcount", "numberofemployees")]
        .into_iter()
        .map(|(field, property)| {
            (
                field.to_owned(),
                MappingConfig {
                    property: property.to_owned(),
                    overwrite: OverwritePolicy::FillEmpty,
                },
            )
        })
        .collect()
}

/// The validated config the engine runs with.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub crm: CrmConfig,
    /// Every registered provider, defaults filled in, in registry order.
    pub sources: Vec<(String, SourceConfig)>,
    pub clay: ClayConfig,
    /// Segment name → its filters (all must hold).
    pub segments: BTreeMap<String, Vec<Filter>>,
    /// Tiers in name order; the first matching tier wins.
    pub tiers: Vec<(String, Tier)>,
    pub budget: BudgetConfig,
    /// The monthly limits of `[budget]` and each source.
    pub monthly: MonthlyLimits,
    pub waterfall: WaterfallPlan,
    /// Field → built-in property mappings.
    pub mapping: Vec<(Field, MappingConfig)>,
    pub core: CoreConfig,
    /// `[contacts]`: the people of each account.
    pub contacts: crate::contacts::ContactsConfig,
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Config::from_toml(&text, &path.display().to_string())
    }

    /// Parses and validates config text; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Config, ConfigError> {
        Config::from_toml_with(text, origin, &Registry::builtin())
    }

    /// [`Config::from_toml`] with the providers of `registry` (tests add their own).
    pub fn from_toml_with(
        text: &str,
        origin: &str,
        registry: &Registry,
    ) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        Config::from_raw(raw, origin, registry)
    }

    /// Validates a parsed config.
    pub fn from_raw(
        raw: RawConfig,
        origin: &str,
        registry: &Registry,
    ) -> Result<Config, ConfigError> {
        let invalid = |(key, message): Problem| ConfigError::Invalid {
            path: origin.to_owned(),
            key,
            message,
        };
        let sources = check_sources(&raw, registry).map_err(invalid)?;
        check_ranges(&raw).map_err(invalid)?;
        raw.contacts.check().map_err(invalid)?;
        let mut segments = BTreeMap::new();
        for (name, segment) in &raw.segments {
            let filters =
                check_filters(&format!("segments.{name}"), &segment.filters).map_err(invalid)?;
            segments.insert(name.clone(), filters);
        }
        let tiers = check_tiers(&raw.tiers).map_err(invalid)?;
        let mapping = check_mapping(raw.mapping).map_err(invalid)?;
        let waterfall = check_waterfall(&raw.waterfall).map_err(invalid)?;
        let monthly = monthly_limits(&raw.budget, &sources);
        Ok(Config {
            crm: raw.crm,
            sources,
            clay: raw.clay,
            segments,
            tiers,
            monthly,
            budget: raw.budget,
            waterfall,
            mapping,
            contacts: raw.contacts,
            core: CoreConfig {
                merge: raw.merge,
                signals: raw.signals,
                quality: raw.quality,
            },
        })
    }

    /// `[segments.NAME]`'s filters as one group that must all hold; no name: every company.
    pub fn segment_filters(&self, name: Option<&str>) -> Result<Vec<FilterGroup>, UnknownSegment> {
        let Some(name) = name else {
            return Ok(Vec::new());
        };
        let filters = self.segments.get(name).ok_or_else(|| UnknownSegment {
            name: name.to_owned(),
            known: self.segment_names(),
        })?;
        Ok(vec![FilterGroup::all(filters.iter().cloned())])
    }

    /// The segment names, for an error that lists them.
    pub fn segment_names(&self) -> String {
        if self.segments.is_empty() {
            "(none)".to_owned()
        } else {
            self.segments.keys().cloned().collect::<Vec<_>>().join(", ")
        }
    }

    /// How long a page waits for an answer pushed back to firmo (Clay's callback).
    pub fn push_wait(&self) -> Duration {
        Duration::from_secs(self.clay.callback_wait_seconds)
    }

    /// A CRM company as an account to enrich, with its tier's refresh factor (the first
    /// tier whose filters all hold, evaluated locally so tiers cost no CRM calls).
    pub fn account(&self, company: CrmCompany) -> crate::enrich::Account {
        let refresh_factor = self
            .tiers
            .iter()
            .find(|(_, tier)| {
                tier.filters
                    .iter()
                    .all(|f| filter_matches(f, &company.properties))
            })
            .map_or(1.0, |(_, tier)| tier.refresh_factor);
        crate::enrich::Account {
            name: company.property("name").map(str::to_owned),
            domain: company.property("domain").map(str::to_owned),
            id: company.id,
            properties: company.properties,
            refresh_factor,
        }
    }

    pub fn source(&self, name: &str) -> Option<&SourceConfig> {
        self.sources.iter().find(|(n, _)| n == name).map(|(_, c)| c)
    }

    /// How long `provider`'s answers stay fresh for an account with `refresh_factor`.
    pub fn freshness(&self, provider: &str, refresh_factor: f64) -> Duration {
        let days = self.source(provider).map_or(7, |s| s.refresh.days());
        Duration::from_secs_f64(f64::from(days) * 86_400.0 * refresh_factor)
    }
}

/// A config problem before it is given its file: (key, message).
type Problem = (String, String);

/// Every registered provider's settings, defaults filled in, checked by its factory.
fn check_sources(
    raw: &RawConfig,
    registry: &Registry,
) -> Result<Vec<(String, SourceConfig)>, Problem> {
    if let Some(name) = raw.sources.keys().find(|n| registry.get(n).is_none()) {
        return Err((
            format!("sources.{name}"),
            format!("unknown source; known: {}", registry.names().join(", ")),
        ));
    }
    let mut sources = Vec::new();
    for factory in registry.factories() {
        let name = factory.name();
        let raw_source = raw.sources.get(name).cloned().unwrap_or_default();
        if let Some(m) = raw_source.monthly_credits {
            in_range(&format!("sources.{name}.monthly_credits"), m, 0.0, 1e12)?;
        }
        if let Some(m) = raw_source.pending_retry_minutes {
            let key = format!("sources.{name}.pending_retry_minutes");
            in_range(&key, f64::from(m), 1.0, 10_080.0)?;
        }
        let config = SourceConfig::defaults(factory.default_refresh()).apply(&raw_source);
        factory
            .check(&config.settings)
            .map_err(|(key, message)| (format!("sources.{name}{key}"), message))?;
        sources.push((name.to_owned(), config));
    }
    Ok(sources)
}

/// The monthly limits of `[budget]` and `[sources.X] monthly_credits` (ranges checked).
fn monthly_limits(budget: &BudgetConfig, sources: &[(String, SourceConfig)]) -> MonthlyLimits {
    MonthlyLimits {
        total: budget.monthly_credits,
        providers: sources
            .iter()
            .filter_map(|(name, s)| s.monthly_credits.map(|m| (name.clone(), m)))
            .collect(),
        warn_share: budget.warn_at,
        reset_day: budget.reset_day,
        price: budget.credit_price.map(|per_credit| Price {
            per_credit,
            currency: budget.currency.clone(),
        }),
    }
}

/// The waterfall's passive fields, each a known field.
fn check_waterfall(raw: &WaterfallConfig) -> Result<WaterfallPlan, Problem> {
    let mut passive = Vec::new();
    for name in &raw.passive_fields {
        let field = Field::from_name(name).ok_or_else(|| {
            let known: Vec<&str> = Field::ALL.iter().map(|f| f.name()).collect();
            (
                "waterfall.passive_fields".to_owned(),
                format!("unknown field {name:?}; known: {}", known.join(", ")),
            )
        })?;
        passive.push(field);
    }
    Ok(WaterfallPlan {
        enabled: raw.enabled,
        passive,
    })
}

/// A segment's or tier's filters, each operator parsed once and its operand checked.
fn check_filters(key: &str, filters: &[FilterConfig]) -> Result<Vec<Filter>, Problem> {
    if filters.is_empty() {
        return Err((format!("{key}.filters"), "needs at least one filter".into()));
    }
    let mut checked = Vec::with_capacity(filters.len());
    for (i, f) in filters.iter().enumerate() {
        let key = format!("{key}.filters[{i}]");
        let operator: FilterOperator = f
            .operator
            .parse()
            .map_err(|message| (format!("{key}.operator"), message))?;
        let missing = match operator.operand() {
            Operand::One => f.value.is_none().then_some("a `value`"),
            Operand::Range => (f.value.is_none() || f.high_value.is_none())
                .then_some("a `value` and a `high_value`"),
            Operand::List => f.values.is_empty().then_some("`values`"),
            Operand::None => None,
        };
        if let Some(what) = missing {
            return Err((key, format!("operator {operator} needs {what}")));
        }
        checked.push(Filter {
            property_name: f.property.clone(),
            operator,
            value: f.value.clone(),
            high_value: f.high_value.clone(),
            values: f.values.clone(),
        });
    }
    Ok(checked)
}

fn check_tiers(raw: &BTreeMap<String, TierConfig>) -> Result<Vec<(String, Tier)>, Problem> {
    let mut tiers = Vec::new();
    for (name, tier) in raw {
        let filters = check_filters(&format!("tiers.{name}"), &tier.filters)?;
        if !(tier.refresh_factor > 0.0 && tier.refresh_factor <= 10.0) {
            return Err((
                format!("tiers.{name}.refresh_factor"),
                "must be > 0 and ≤ 10".into(),
            ));
        }
        tiers.push((
            name.clone(),
            Tier {
                filters,
                refresh_factor: tier.refresh_factor,
            },
        ));
    }
    Ok(tiers)
}

fn check_mapping(
    raw: BTreeMap<String, MappingConfig>,
) -> Result<Vec<(Field, MappingConfig)>, Problem> {
    let mut mapping = Vec::new();
    for (name, m) in raw {
        let field = Field::from_name(&name).ok_or_else(|| {
            (
                format!("mapping.{name}"),
                format!(
                    "unknown field; known: {}",
                    Field::ALL.map(Field::name).join(", ")
                ),
            )
        })?;
        if m.property.starts_with(firmo_core::field::PROPERTY_PREFIX) {
            return Err((
                format!("mapping.{name}.property"),
                "firmo_* properties are firmo's own; map to a built-in property".into(),
            ));
        }
        mapping.push((field, m));
    }
    Ok(mapping)
}

/// A number outside its range is refused at load, never discovered halfway through a paid
/// run: `Err((key, message))`.
pub(crate) fn in_range(key: &str, value: f64, min: f64, max: f64) -> Result<(), (String, String)> {
    if value.is_finite() && (min..=max).contains(&value) {
        Ok(())
    } else {
        Err((
            key.to_owned(),
            format!("{value} is out of range: must be {min} to {max}"),
        ))
    }
}

/// A number's config key, its value, and its inclusive range.
type Range = (&'static str, f64, f64, f64);

/// Every engine-level number's range, and the Clay callback address.
fn check_ranges(raw: &RawConfig) -> Result<(), (String, String)> {
    let ranges = budget_and_pacing(raw).into_iter().chain(run_and_rules(raw));
    for (key, value, min, max) in ranges {
        in_range(key, value, min, max)?;
    }
    check_callback_addr(&raw.clay.callback_addr)
}

/// What the month may spend, and how fast firmo calls the CRM and waits for Clay.
fn budget_and_pacing(raw: &RawConfig) -> [Range; 7] {
    let b = &raw.budget;
    [
        (
            "budget.monthly_credits",
            b.monthly_credits.unwrap_or(0.0),
            0.0,
            1e12,
        ),
        ("budget.warn_at", b.warn_at, 0.0, 1.0),
        ("budget.reset_day", f64::from(b.reset_day), 1.0, 28.0),
        (
            "budget.credit_price",
            b.credit_price.unwrap_or(0.0),
            0.0,
            1e6,
        ),
        (
            "crm.requests_per_10s",
            f64::from(raw.crm.requests_per_10s),
            1.0,
            1_000_000.0,
        ),
        (
            "crm.search_per_second",
            f64::from(raw.crm.search_per_second),
            1.0,
            100_000.0,
        ),
        (
            "clay.callback_wait_seconds",
            raw.clay.callback_wait_seconds as f64,
            0.0,
            3_600.0,
        ),
    ]
}

/// What one run may spend, and the rules' thresholds.
fn run_and_rules(raw: &RawConfig) -> [Range; 6] {
    let s = &raw.signals;
    [
        (
            "budget.max_credits_per_run",
            raw.budget.max_credits_per_run,
            0.0,
            1e12,
        ),
        (
            "quality.headcount_disagreement_pct",
            raw.quality.headcount_disagreement_pct,
            0.0,
            10_000.0,
        ),
        (
            "signals.post_funding_days",
            f64::from(s.post_funding_days),
            1.0,
            3_650.0,
        ),
        (
            "signals.hiring_growth_pct",
            s.hiring_growth_pct,
            -100.0,
            1_000.0,
        ),
        (
            "signals.hiring_job_postings",
            s.hiring_job_postings as f64,
            0.0,
            100_000.0,
        ),
        (
            "signals.exec_change_days",
            f64::from(s.exec_change_days),
            1.0,
            3_650.0,
        ),
    ]
}

/// Bound again when the receiver starts; checked here so a typo stops before any call.
fn check_callback_addr(addr: &str) -> Result<(), (String, String)> {
    if addr.parse::<std::net::SocketAddr>().is_err() {
        return Err((
            "clay.callback_addr".to_owned(),
            format!("`{addr}` is not an address like 127.0.0.1:8787"),
        ));
    }
    Ok(())
}

/// Whether a company's properties satisfy a filter, the way HubSpot's search reads it
/// (case-insensitive equality, numeric comparison where both sides are numbers).
pub fn filter_matches(f: &Filter, props: &BTreeMap<String, Option<String>>) -> bool {
    let value = props
        .get(&f.property_name)
        .and_then(|v| v.as_deref())
        .filter(|v| !v.is_empty());
    let num = |s: &str| s.trim().parse::<f64>().ok();
    let cmp = |want: &Option<String>, ord: fn(std::cmp::Ordering) -> bool| match (value, want) {
        (Some(v), Some(w)) => match (num(v), num(w)) {
            (Some(a), Some(b)) => a.partial_cmp(&b).is_some_and(ord),
            _ => ord(v.cmp(w.as_str())),
        },
        _ => false,
    };
    let equals = |w: &str| value.is_some_and(|v| v.eq_ignore_ascii_case(w));
    let has_token = || {
        value.is_some_and(|v| {
            f.value.as_deref().is_some_and(|w| {
                v.split(|c: char| !c.is_alphanumeric())
                    .any(|t| t.eq_ignore_ascii_case(w.trim_matches('*')))
            })
        })
    };
    match f.operator {
        FilterOperator::Eq => f.value.as_deref().is_some_and(equals),
        FilterOperator::Neq => !f.value.as_deref().is_some_and(equals),
        FilterOperator::Gt => cmp(&f.value, std::cmp::Ordering::is_gt),
        FilterOperator::Gte => cmp(&f.value, std::cmp::Ordering::is_ge),
        FilterOperator::Lt => cmp(&f.value, std::cmp::Ordering::is_lt),
        FilterOperator::Lte => cmp(&f.value, std::cmp::Ordering::is_le),
        FilterOperator::Between => {
            cmp(&f.value, std::cmp::Ordering::is_ge)
                && cmp(&f.high_value, std::cmp::Ordering::is_le)
        }
        FilterOperator::In => f.values.iter().any(|w| equals(w)),
        FilterOperator::NotIn => !f.values.iter().any(|w| equals(w)),
        FilterOperator::HasProperty => value.is_some(),
        FilterOperator::NotHasProperty => value.is_none(),
        FilterOperator::ContainsToken => has_token(),
        FilterOperator::NotContainsToken => !has_token(),
    }
}

/// The commented config `firmo init` writes. A test parses it, so it stays valid.
pub const DEFAULT_CONFIG_TOML: &str = include_str!("firmo.default.toml");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_the_default_config() {
        let config = Config::from_toml("", "firmo.toml").unwrap();
        assert_eq!(config.sources.len(), 4);
        assert_eq!(
            config.source("builtwith").unwrap().refresh,
            Refresh::Quarterly
        );
        assert_eq!(config.crm.requests_per_10s, 100);
        assert_eq!(config.mapping.len(), 2);
    }

    #[test]
    fn the_init_template_parses_and_matches_the_defaults() {
        let template = Config::from_toml(DEFAULT_CONFIG_TOML, "template").unwrap();
        let defaults = Config::from_toml("", "defaults").unwrap();
        for ((n1, t), (n2, d)) in template.sources.iter().zip(&defaults.sources) {
            assert_eq!((n1, t.enabled, t.refresh), (n2, d.enabled, d.refresh));
        }
        assert_eq!(template.crm, defaults.crm);
        assert_eq!(template.core, defaults.core);
        assert_eq!(template.budget, defaults.budget);
    }

    #[test]
    fn partial_source_table_keeps_that_sources_defaults() {
        let config = Config::from_toml("[sources.crunchbase]\nenabled = false\n", "f").unwrap();
        let cb = config.source("crunchbase").unwrap();
        assert!(!cb.enabled);
        assert_eq!(cb.refresh, Refresh::Weekly);
    }

    #[test]
    fn errors_name_file_and_key() {
        let err = Config::from_toml("[sources.zoominfo]\nenabled = true\n", "firmo.toml")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("firmo.toml: sources.zoominfo: unknown source"),
            "{err}"
        );

        let err = Config::from_toml("[budget]\nmax_credits = 3\n", "firmo.toml").unwrap_err();
        assert!(err.to_string().contains("max_credits"), "{err}");

        let err = Config::from_toml(
            "[segments.us]\nfilters = [{ property = \"country\", operator = \"LIKE\", value = \"US\" }]\n",
            "firmo.toml",
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("segments.us.filters[0].operator"),
            "{err}"
        );

        let err = Config::from_toml("[merge.headcount]\nstrategy = \"union\"\n", "firmo.toml")
            .unwrap_err();
        assert!(err.to_string().contains("headcount"), "{err}");

        let err = Config::from_toml("[mapping.revenue]\nproperty = \"annualrevenue\"\n", "f")
            .unwrap_err();
        assert!(
            err.to_string().contains("mapping.revenue: unknown field"),
            "{err}"
        );
    }

    #[test]
    fn numbers_out_of_range_are_refused_naming_the_key() {
        for (text, key) in [
            (
                "[sources.clearbit]\ncost_per_lookup = -1.0\n",
                "sources.clearbit.cost_per_lookup",
            ),
            (
                "[sources.crunchbase]\nrequests_per_minute = 0\n",
                "sources.crunchbase.requests_per_minute",
            ),
            (
                "[quality]\nheadcount_disagreement_pct = -5.0\n",
                "quality.headcount_disagreement_pct",
            ),
            (
                "[clay]\ncallback_addr = \"localhost\"\n",
                "clay.callback_addr",
            ),
            ("[budget]\nwarn_at = 2.0\n", "budget.warn_at"),
            ("[crm]\nrequests_per_10s = 0\n", "crm.requests_per_10s"),
            (
                "[signals]\nexec_change_days = 0\n",
                "signals.exec_change_days",
            ),
            // Two out of range: the first in the table is named.
            (
                "[budget]\nmax_credits_per_run = -1.0\n[crm]\nsearch_per_second = 0\n",
                "crm.search_per_second",
            ),
            (
                "[sources.clay]\npending_retry_minutes = 0\n",
                "sources.clay.pending_retry_minutes",
            ),
        ] {
            let err = Config::from_toml(text, "firmo.toml")
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with(&format!("firmo.toml: {key}: ")),
                "{text}: {err}"
            );
        }
        assert!(Config::from_toml("[sources.clearbit]\ncost_per_lookup = 0.0\n", "f").is_ok());
    }

    #[test]
    fn tier_factor_scales_freshness() {
        let config = Config::from_toml("", "f").unwrap();
        assert_eq!(config.freshness("clay", 1.0), Duration::from_hours(7 * 24));
        assert_eq!(config.freshness("clay", 0.5), Duration::from_hours(7 * 12));
    }
}

//! The portal's state (companies, property definitions, groups), the knobs tests turn
//! (faults) and what the sandbox counted (stats), shared by every request.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::config::{Faults, SandboxConfig};
use crate::properties::{self, PropertyDef, PropertyGroup};
use crate::seed;
use crate::time::{self, Clock};

/// A company record as the sandbox stores it. `properties` holds user-set values in their
/// canonical stored form (dates `YYYY-MM-DD`, datetimes epoch ms); `hs_object_id`,
/// `createdate` and `hs_lastmodifieddate` come from the fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Company {
    pub id: String,
    pub properties: BTreeMap<String, String>,
    /// Epoch milliseconds.
    pub created_at: i64,
    /// Epoch milliseconds; `hs_lastmodifieddate`.
    pub updated_at: i64,
    pub archived: bool,
}

impl Company {
    /// A property's stored value, the maintained ones included.
    pub fn get(&self, name: &str) -> Option<String> {
        match name {
            "hs_object_id" => Some(self.id.clone()),
            "createdate" => Some(self.created_at.to_string()),
            "hs_lastmodifieddate" => Some(self.updated_at.to_string()),
            _ => self.properties.get(name).cloned(),
        }
    }
}

/// What the portal holds; this is what the state file contains.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Db {
    pub(crate) companies: BTreeMap<u64, Company>,
    pub(crate) next_id: u64,
    pub(crate) properties: BTreeMap<String, PropertyDef>,
    pub(crate) groups: BTreeMap<String, PropertyGroup>,
}

impl Db {
    pub(crate) fn seeded(count: usize, seed_value: u64, now_ms: i64) -> Db {
        let now = time::iso_millis(now_ms);
        let properties = properties::builtins(&now)
            .into_iter()
            .map(|p| (p.name.clone(), p))
            .collect();
        let groups = properties::builtin_groups()
            .into_iter()
            .map(|g| (g.name.clone(), g))
            .collect();
        let mut db = Db {
            companies: BTreeMap::new(),
            next_id: seed::FIRST_ID,
            properties,
            groups,
        };
        for company in seed::companies(count, seed_value, now_ms) {
            let id = db.allocate_id();
            db.companies.insert(
                id,
                Company {
                    id: id.to_string(),
                    ..company
                },
            );
        }
        db
    }

    pub(crate) fn allocate_id(&mut self) -> u64 {
        let id = self.next_id;
        // Real portals' ids are sparse; steps of a few keep "id + 1" guesses honest.
        self.next_id += 1 + (id % 3);
        id
    }

    pub(crate) fn company(&self, id: &str) -> Option<&Company> {
        id.parse::<u64>().ok().and_then(|n| self.companies.get(&n))
    }

    pub(crate) fn company_mut(&mut self, id: &str) -> Option<&mut Company> {
        id.parse::<u64>()
            .ok()
            .and_then(|n| self.companies.get_mut(&n))
    }

    fn load(path: &Path) -> io::Result<Option<Db>> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("sandbox state file {} is not valid: {e}", path.display()),
                )
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io::Error::new(
                e.kind(),
                format!("cannot read sandbox state file {}: {e}", path.display()),
            )),
        }
    }

    fn save(&self, path: &Path) -> io::Result<()> {
        let json = serde_json::to_vec(self).map_err(io::Error::other)?;
        // Write then rename so a crash never leaves half a file.
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, json)?;
        std::fs::rename(&tmp, path)
    }
}

/// What the sandbox counted since it started (or since `reset_stats`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Requests by endpoint kind (`companies.list`, `companies.search`,
    /// `companies.batch_update`, `properties.create`, `clearbit`, ...), 429s included.
    /// Contacts count apart: `crm.contacts.batch_read`, `crm.associations.batch_read`,
    /// `properties.contacts.create`, `property_groups.contacts.get`, ...
    pub requests: BTreeMap<String, u64>,
    /// All requests answered (admin endpoints excluded).
    pub total_requests: u64,
    /// 429 answers, by `policyName` (`TEN_SECONDLY_ROLLING`, `SECONDLY`, `DAILY`).
    pub rate_limited: BTreeMap<String, u64>,
    /// 429s sent in total.
    pub total_429: u64,
    /// 500/502/503 answers injected by the `error_rate` fault.
    pub injected_errors: u64,
    /// Connections closed without an answer by the `drop_rate` fault.
    pub dropped: u64,
    /// The most non-search CRM requests seen in any window of the burst interval (10 s
    /// when no limit is set), rejected ones included: a client that respects the limit
    /// keeps this at or below `max_requests`.
    pub max_in_window: u32,
    /// The most search requests seen in any one-second window.
    pub max_search_in_second: u32,
    /// Company properties written (created or changed values), over all writes.
    pub values_written: u64,
}

/// Rolling-window counters for the burst, search and daily limits.
#[derive(Debug, Default)]
pub(crate) struct Windows {
    /// Accepted ordinary requests (for the limit).
    pub(crate) burst: VecDeque<Instant>,
    /// Every ordinary request (for `max_in_window`).
    pub(crate) seen: VecDeque<Instant>,
    pub(crate) search: VecDeque<Instant>,
    pub(crate) search_seen: VecDeque<Instant>,
    pub(crate) day: i64,
    pub(crate) day_count: u64,
}

pub(crate) fn prune(window: &mut VecDeque<Instant>, now: Instant, interval: Duration) {
    while window
        .front()
        .is_some_and(|t| now.duration_since(*t) >= interval)
    {
        window.pop_front();
    }
}

/// Faults a test switches on through `SandboxState`'s methods (`refuse_account_info`,
/// `storm`, `take_down`, `answer_wrong_shape`), for the cases the random [`Faults`] can't
/// stage: a storm of a set length, an endpoint refused, a provider down or answering a 200
/// of the wrong shape.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Injections {
    /// `/account-info/.../details` answers this status (403: the token lacks the scope).
    pub(crate) account_info_status: Option<u16>,
    /// `POST /oauth/v2/private-apps/get/access-token-info` answers this status.
    pub(crate) token_info_status: Option<u16>,
    pub(crate) storm: Option<Storm>,
    /// Providers (`clay`, `clearbit`…: the emulators' path prefixes) answering 503.
    pub(crate) down: BTreeSet<String>,
    /// Providers whose 200 answers are replaced by [`WRONG_SHAPE`].
    pub(crate) wrong_shape: BTreeSet<String>,
}

/// Valid JSON of a shape no provider parser should read as a found company.
pub(crate) const WRONG_SHAPE: &str = r#"{"results":"not-a-list"}"#;

/// Every HubSpot request is answered 429 `TEN_SECONDLY_ROLLING` for `lasts`, starting at
/// the `after`-th HubSpot request once injected; the answers state the window as `lasts`
/// (`X-HubSpot-RateLimit-Interval-Milliseconds`, as HubSpot states its 10 s) and ask for
/// `retry_after` (shorter than the storm, as HubSpot's `Retry-After: 1` is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Storm {
    pub(crate) after: u64,
    pub(crate) lasts: Duration,
    pub(crate) retry_after: Duration,
}

/// Where an injected storm is.
#[derive(Debug, Default)]
pub(crate) struct StormClock {
    /// HubSpot requests seen since the storm was injected.
    pub(crate) seen: u64,
    pub(crate) started: Option<Instant>,
}

pub(crate) struct Inner {
    pub(crate) config: SandboxConfig,
    pub(crate) db: Mutex<Db>,
    pub(crate) contacts: Mutex<crate::contacts::ContactDb>,
    pub(crate) faults: Mutex<Faults>,
    pub(crate) stats: Mutex<Stats>,
    pub(crate) windows: Mutex<Windows>,
    pub(crate) clock: Clock,
    pub(crate) dirty: AtomicBool,
    /// Decides which requests the random faults hit: seeded, so a sequential client
    /// meets the same faults on every run.
    pub(crate) fault_rng: Mutex<fastrand::Rng>,
    pub(crate) injections: Mutex<Injections>,
    pub(crate) storm: Mutex<StormClock>,
    /// The token that replaced `config.token`; set once (a rotation is one event).
    pub(crate) rotated_token: OnceLock<String>,
    /// The last Clay table registration (`PUT /clay/_emulator/tables/…` body), so a test
    /// can post to the callback the run registered, as an attacker who learnt it would.
    pub(crate) clay_registration: Mutex<Option<serde_json::Value>>,
}

/// The shared state behind a sandbox's router; cheap to clone.
#[derive(Clone)]
pub struct SandboxState {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for SandboxState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxState").finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A handler that panicked mid-update leaves plain data behind; keep serving.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl SandboxState {
    /// Seed (or load from `config.state_file`) a portal.
    pub fn new(config: SandboxConfig) -> io::Result<SandboxState> {
        let clock = Clock::default();
        let loaded = match &config.state_file {
            Some(path) => Db::load(path)?,
            None => None,
        };
        let db = match loaded {
            Some(db) => {
                let latest = db
                    .companies
                    .values()
                    .map(|c| c.updated_at)
                    .max()
                    .unwrap_or(0);
                clock.advance_to(latest);
                db
            }
            None => Db::seeded(config.companies, config.seed, clock.now_ms()),
        };
        let faults = config.faults.clone();
        let fault_rng = Mutex::new(fastrand::Rng::with_seed(config.seed ^ 0x5eed_fa17));
        Ok(SandboxState {
            inner: Arc::new(Inner {
                contacts: Mutex::new(crate::contacts::ContactDb::seeded(
                    &db.companies,
                    clock.now_ms(),
                )),
                config,
                db: Mutex::new(db),
                faults: Mutex::new(faults),
                stats: Mutex::new(Stats::default()),
                windows: Mutex::new(Windows::default()),
                clock,
                dirty: AtomicBool::new(false),
                fault_rng,
                injections: Mutex::new(Injections::default()),
                storm: Mutex::new(StormClock::default()),
                rotated_token: OnceLock::new(),
                clay_registration: Mutex::new(None),
            }),
        })
    }

    pub(crate) fn config(&self) -> &SandboxConfig {
        &self.inner.config
    }

    pub(crate) fn db(&self) -> MutexGuard<'_, Db> {
        lock(&self.inner.db)
    }

    pub(crate) fn faults_mut(&self) -> MutexGuard<'_, Faults> {
        lock(&self.inner.faults)
    }

    pub(crate) fn stats_mut(&self) -> MutexGuard<'_, Stats> {
        lock(&self.inner.stats)
    }

    pub(crate) fn windows(&self) -> MutexGuard<'_, Windows> {
        lock(&self.inner.windows)
    }

    /// A draw in 0.0..1.0 for the random faults.
    pub(crate) fn fault_draw(&self) -> f64 {
        lock(&self.inner.fault_rng).f64()
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    pub(crate) fn mark_dirty(&self) {
        self.inner.dirty.store(true, Ordering::Release);
    }

    /// The bearer token the CRM endpoints accept (the rotated one, after a rotation).
    pub fn token(&self) -> &str {
        self.inner
            .rotated_token
            .get()
            .map_or(&self.inner.config.token, |t| t)
    }

    /// Rotates the token: from now on only `new` is accepted, as after a private app's
    /// "rotate token". Once per sandbox; a second rotation is refused with the reason.
    pub fn rotate_token(&self, new: &str) -> Result<(), String> {
        self.inner
            .rotated_token
            .set(new.to_owned())
            .map_err(|_| "the sandbox's token was rotated already (once per sandbox)".to_owned())
    }

    fn injecting(&self, change: impl FnOnce(&mut Injections)) {
        change(&mut lock(&self.inner.injections));
    }

    /// `/account-info/.../details` answers `status` from now on (HubSpot's body for it):
    /// 403 is a token without the scope, 404 a proxy that doesn't pass the path.
    pub fn refuse_account_info(&self, status: u16) {
        self.injecting(|i| i.account_info_status = Some(status));
    }

    /// The private-app token info endpoint answers `status` from now on (an OAuth token
    /// or a service key, which it doesn't describe).
    pub fn refuse_token_info(&self, status: u16) {
        self.injecting(|i| i.token_info_status = Some(status));
    }

    /// A 429 storm on every HubSpot path for `lasts`, from the `after`-th HubSpot request
    /// from now: each 429 states the window as `lasts` and asks for `retry_after`.
    pub fn storm(&self, after: u64, lasts: Duration, retry_after: Duration) {
        *lock(&self.inner.storm) = StormClock::default();
        self.injecting(|i| {
            i.storm = Some(Storm {
                after,
                lasts,
                retry_after,
            });
        });
    }

    /// The provider emulator under `/{provider}` answers 503 to everything until
    /// [`SandboxState::bring_up`].
    pub fn take_down(&self, provider: &str) {
        self.injecting(|i| {
            i.down.insert(provider.to_owned());
        });
    }

    /// Undoes [`SandboxState::take_down`].
    pub fn bring_up(&self, provider: &str) {
        self.injecting(|i| {
            i.down.remove(provider);
        });
    }

    /// The provider emulator under `/{provider}` answers every 200 with
    /// `{"results":"not-a-list"}` until [`SandboxState::clear_injections`].
    pub fn answer_wrong_shape(&self, provider: &str) {
        self.injecting(|i| {
            i.wrong_shape.insert(provider.to_owned());
        });
    }

    /// Ends every injected fault (a storm, refusals, providers down or misshapen).
    pub fn clear_injections(&self) {
        *lock(&self.inner.storm) = StormClock::default();
        *lock(&self.inner.injections) = Injections::default();
    }

    pub(crate) fn injections(&self) -> Injections {
        lock(&self.inner.injections).clone()
    }

    /// Whether a HubSpot request arriving now meets the injected storm; counts it.
    pub(crate) fn in_storm(&self, now: Instant) -> Option<Storm> {
        let storm = lock(&self.inner.injections).storm.clone()?;
        let mut clock = lock(&self.inner.storm);
        clock.seen += 1;
        if clock.started.is_none() && clock.seen > storm.after {
            clock.started = Some(now);
        }
        let started = clock.started?;
        (now.duration_since(started) < storm.lasts).then_some(storm)
    }

    /// The last Clay table registration the emulator received, if any.
    pub fn clay_registration(&self) -> Option<serde_json::Value> {
        lock(&self.inner.clay_registration).clone()
    }

    pub(crate) fn record_clay_registration(&self, body: serde_json::Value) {
        *lock(&self.inner.clay_registration) = Some(body);
    }

    /// Replace the injected faults.
    pub fn set_faults(&self, faults: Faults) {
        *self.faults_mut() = faults;
    }

    /// The injected faults now in force (`burst_429` counts down).
    pub fn faults(&self) -> Faults {
        self.faults_mut().clone()
    }

    /// What the sandbox counted so far.
    pub fn stats(&self) -> Stats {
        self.stats_mut().clone()
    }

    /// Forget the counts (the rate windows keep running).
    pub fn reset_stats(&self) {
        *self.stats_mut() = Stats::default();
    }

    /// A company by id, archived ones included.
    pub fn company(&self, id: &str) -> Option<Company> {
        self.db().company(id).cloned()
    }

    /// Every company, in id order.
    pub fn companies(&self) -> Vec<Company> {
        self.db().companies.values().cloned().collect()
    }

    /// A property definition by name.
    pub fn property(&self, name: &str) -> Option<PropertyDef> {
        self.db().properties.get(name).cloned()
    }

    /// Write the state file now, if one is configured and something changed.
    pub fn persist(&self) -> io::Result<()> {
        let Some(path) = &self.inner.config.state_file else {
            return Ok(());
        };
        if !self.inner.dirty.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        let snapshot = self.db().clone();
        snapshot.save(path).inspect_err(|_| self.mark_dirty())
    }
}

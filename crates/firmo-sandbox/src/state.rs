//! The portal's state (companies, property definitions, groups), the knobs tests turn
//! (faults) and what the sandbox counted (stats), shared by every request.

use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
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

    /// The bearer token the CRM endpoints accept.
    pub fn token(&self) -> &str {
        &self.inner.config.token
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

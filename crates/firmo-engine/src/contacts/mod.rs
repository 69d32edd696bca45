//! Contacts: after a page of companies is enriched, the people at each of them. Their
//! contacts are read through [`ContactCrm`] (associations, then the records), a few are
//! selected per company ([`select`]), looked up through the [`PersonProvider`] under the
//! same cache, refresh window, run and monthly budgets as companies, each person once per
//! run however many companies or labels list them, and written back: `jobtitle` where
//! empty, firmo's own contact properties, the journal keeping a person's edit. A new CTO or
//! VP of Engineering among them sets the company's `exec_change` and is named in its
//! `firmo_sources`.
//!
//! Opt-in (`[contacts] enabled`); against the sandbox it is on unless turned off, so the
//! demo shows it.

pub mod config;
mod people;
pub mod properties;
pub mod select;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use firmo_clay::person::{ClayPeopleClient, PeopleReceiver};
use firmo_clay::receiver::ReceiverConfig;
use firmo_connect::contacts::{ContactCrm, ContactLink, ContactUpdate, CrmContact};
use firmo_connect::crm::{
    EnsureOutcome, PropertyDef, PropertyGroup, WriteOutcome, format_timestamp,
};
use firmo_connect::{ConnectorError, PersonOutcome, PersonProvider, PersonQuery, Secret};
use firmo_core::contact::{Contact, evaluate_contact};
use firmo_core::{Date, ExecChange, Signal, UnixMillis, ValidationContext, engineering_exec};
use firmo_store::{CachedLookup, JournalEntry, LookupEntry, LookupStatus};
use futures_util::StreamExt as _;
use tokio::sync::watch;

pub use config::ContactsConfig;
pub use people::Arrivals;

use crate::Clock;
use crate::clay::register_receiver;
use crate::config::Config;
use crate::diff::{Desired, PropertySkip, diff};
use crate::evaluate::Evaluated;
use crate::pass::PassContext;
use crate::plan::{Decision, ProviderPolicy, decide};
use crate::providers::Endpoint;
use crate::report::{ContactSummary, RunSummary};
use crate::run::{PageRecord, RunState, lock};
use crate::setup::{PropertyReport, PropertyStatus};
use crate::state::{StateError, StoreHandle};

/// Person lookups in flight at once (the provider's HTTP client holds its rate limit).
const LOOKUPS_IN_FLIGHT: usize = 8;
/// HubSpot batch inputs are capped at 100.
const WRITE_BATCH: usize = 100;

/// One company's people, as `exec_change` reads them: its index in the page, the contact
/// (id and change) that sets it, and whether any selected contact is known at all.
type CompanyPeople = (usize, Option<(String, ExecChange)>, bool);

/// One page's selection: each company's chosen contacts, and each person once.
#[derive(Default)]
struct Selection {
    /// Page index → the contacts chosen there.
    chosen: Vec<(usize, Vec<ContactLink>)>,
    /// Person key → its query, one however many companies list the person.
    queries: BTreeMap<String, PersonQuery>,
    /// Contact id → person key.
    key_of: HashMap<String, String>,
    /// Every chosen contact id.
    selected: HashSet<String>,
}

/// What one page knows of its chosen people: the CRM's records and this run's answers.
struct PagePeople<'p> {
    records: &'p HashMap<String, CrmContact>,
    /// Contact id → person key.
    key_of: HashMap<String, String>,
    /// Person key → this run's answer.
    answers: HashMap<String, Person>,
}

impl PagePeople<'_> {
    /// The contact as the rules see it: this run's answer, else what the CRM holds.
    fn effective(&self, id: &str) -> Contact {
        match self.key_of.get(id).and_then(|k| self.answers.get(k)) {
            Some(Person::Found(contact)) => contact.clone(),
            Some(Person::NotFound) => Contact::new(),
            // Stale data still counts, as a company's does.
            _ => self
                .records
                .get(id)
                .map(properties::from_crm)
                .unwrap_or_default(),
        }
    }
}

/// What happened with one person this run.
#[derive(Debug, Clone, PartialEq)]
enum Person {
    /// Found this run: these values.
    Found(Contact),
    /// The provider knows no such person (this run or, fresh, earlier).
    NotFound,
    /// Answered earlier and still fresh: firmo's values in the CRM are the answer.
    Cached,
    /// Asked, not answered yet.
    Pending,
    /// Due, but over the run's or the month's budget.
    Deferred,
    /// Dry run: would be looked up.
    WouldLookUp,
    /// The lookup failed, or the provider is stopped for the run.
    Failed,
}

/// The contact stage of one run.
pub struct ContactStage {
    crm: Arc<dyn ContactCrm>,
    provider: Arc<dyn PersonProvider>,
    receiver: Option<PeopleReceiver>,
    arrivals: Arc<Arrivals>,
    store: StoreHandle,
    config: ContactsConfig,
    policy: ProviderPolicy,
    /// Who is resolving each person key right now, and the answers of those resolved.
    claims: Mutex<HashMap<String, watch::Receiver<Option<Person>>>>,
    stopped: AtomicBool,
    live: Mutex<BTreeMap<String, PropertyDef>>,
    summary: Mutex<ContactSummary>,
}

/// What [`ContactStage::start`] needs besides the config.
pub struct StageEnv {
    /// The CRM's contacts (the HubSpot client the company side uses).
    pub crm: Arc<dyn ContactCrm>,
    /// The people table's endpoint when it is a stand-in (the sandbox's emulator): the
    /// receiver registers itself there.
    pub people: Option<Endpoint>,
    /// The stand-in imposes no limits worth pacing ([`ProviderEnv::unpaced`]).
    ///
    /// [`ProviderEnv::unpaced`]: crate::providers::ProviderEnv::unpaced
    pub unpaced: bool,
    /// The embedded demo (`--sandbox`): contacts are on unless the config turns them off.
    pub demo: bool,
    pub store: StoreHandle,
    pub clock: Clock,
}

/// Why the contact stage could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("contacts.people_webhook_url: {0}")]
    Provider(ConnectorError),
    #[error("cannot listen for Clay people callbacks on contacts.callback_addr {addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
    #[error("registering the people receiver with its table: {0}")]
    Registration(String),
    #[error(transparent)]
    Secret(ConnectorError),
}

impl ContactStage {
    /// The stage `config` asks for, its person provider built and its callback receiver
    /// listening; `None` when contacts are off.
    pub async fn start(config: &Config, env: StageEnv) -> Result<Option<ContactStage>, StartError> {
        let contacts = &config.contacts;
        if !contacts.is_enabled(env.demo) {
            return Ok(None);
        }
        let mut clay = crate::providers::clay_config(config).unwrap_or_default();
        let setup = env.people.as_ref().and_then(|e| e.callback_setup.clone());
        match &env.people {
            Some(endpoint) => clay.webhook_url.clone_from(&endpoint.url),
            None => clay.webhook_url.clone_from(&contacts.people_webhook_url),
        }
        if env.unpaced
            && !config
                .source(firmo_clay::NAME)
                .is_some_and(|s| s.settings.contains_key("requests_per_minute"))
        {
            clay.requests_per_minute = crate::providers::UNPACED_REQUESTS_PER_MINUTE;
        }
        // A receiver that registers itself listens anywhere, with a one-off secret.
        let (addr, receiver_config) = if setup.is_some() {
            let mut rc = ReceiverConfig::new(Secret::new(one_off_secret()));
            rc.header.clone_from(&clay.callback_header);
            ("127.0.0.1:0".to_owned(), rc)
        } else {
            let rc = clay.receiver_config().map_err(StartError::Secret)?;
            (contacts.callback_addr.clone(), rc)
        };
        let token = match &env.people {
            Some(endpoint) => endpoint.key.clone(),
            None => clay.webhook_token(),
        };
        let pending_retry = config
            .source(firmo_clay::NAME)
            .map_or(10, |s| s.pending_retry_minutes);
        let policy = ProviderPolicy {
            freshness: Duration::from_secs(u64::from(contacts.refresh.days()) * 86_400),
            cost: clay.cost_per_lookup,
            pending_retry: Duration::from_secs(u64::from(pending_retry) * 60),
        };
        let provider = Arc::new(ClayPeopleClient::new(clay, token).map_err(StartError::Provider)?);
        let arrivals = Arc::new(Arrivals::default());
        let sink = Arc::new(people::CacheSink {
            store: env.store.clone(),
            arrivals: Arc::clone(&arrivals),
            clock: env.clock,
            provider: provider.name(),
        });
        let parsed: std::net::SocketAddr = addr.parse().map_err(|e| StartError::Listen {
            addr: addr.clone(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, e),
        })?;
        let (header, secret) = (
            receiver_config.header.clone(),
            receiver_config.secret.clone(),
        );
        let receiver = PeopleReceiver::start(parsed, receiver_config, sink)
            .await
            .map_err(|source| StartError::Listen { addr, source })?;
        if let Some(setup) = setup {
            register_receiver(
                &setup,
                "people table",
                &receiver.url(),
                &header,
                secret.expose(),
            )
            .await
            .map_err(StartError::Registration)?;
        }
        Ok(Some(ContactStage::new(
            contacts.clone(),
            env.crm,
            provider,
            Some(receiver),
            arrivals,
            env.store,
            policy,
        )))
    }

    /// A stage over these parts (tests give their own provider and no receiver).
    pub fn new(
        config: ContactsConfig,
        crm: Arc<dyn ContactCrm>,
        provider: Arc<dyn PersonProvider>,
        receiver: Option<PeopleReceiver>,
        arrivals: Arc<Arrivals>,
        store: StoreHandle,
        policy: ProviderPolicy,
    ) -> ContactStage {
        ContactStage {
            crm,
            provider,
            receiver,
            arrivals,
            store,
            config,
            policy,
            claims: Mutex::default(),
            stopped: AtomicBool::new(false),
            live: Mutex::default(),
            summary: Mutex::default(),
        }
    }

    /// Stops the callback receiver (rows in flight are stored first).
    pub async fn stop(self) {
        if let Some(receiver) = self.receiver {
            receiver.stop().await;
        }
    }

    /// What the stage did this run, for the run summary.
    pub fn summary(&self) -> ContactSummary {
        lock(&self.summary).clone()
    }

    /// Puts the stage's line in the run's summary and adds its spend and CRM calls to the
    /// run's: the run's spend is every lookup's, the people's too.
    pub fn add_to(&self, run: &mut RunSummary) {
        let c = self.summary();
        run.credits += c.credits;
        run.planned_credits += c.planned_credits;
        run.crm_calls += c.crm_calls;
        if let Some(estimated) = run.estimated_crm_calls.as_mut() {
            *estimated += c.crm_calls;
        }
        run.contacts = Some(c);
    }

    fn count(&self, f: impl FnOnce(&mut ContactSummary)) {
        f(&mut lock(&self.summary));
    }

    fn stop_for_run(&self, why: &dyn std::fmt::Display) {
        if !self.stopped.swap(true, Ordering::Relaxed) {
            tracing::warn!(error = %why, "contacts are not enriched for the rest of this run");
            self.count(|s| s.stopped = Some(why.to_string()));
        }
    }

    /// Setup for contacts, beside the company one: firmo's contact group and properties
    /// created unless this is a dry run, and every contact property learnt (`jobtitle`
    /// and the mapped LinkedIn property are written only if the CRM has them). A CRM
    /// that refuses (no contacts scope) stops the stage, not the run.
    pub async fn prepare(&self, dry_run: bool) -> Result<(), StateError> {
        match self.ensure(dry_run).await {
            Ok((live, report, calls)) => {
                *lock(&self.live) = live;
                self.count(|s| {
                    s.properties = report;
                    s.crm_calls += calls;
                });
            }
            Err(e) => self.stop_for_run(&e),
        }
        Ok(())
    }

    async fn ensure(
        &self,
        dry_run: bool,
    ) -> Result<(BTreeMap<String, PropertyDef>, Vec<PropertyReport>, u64), ConnectorError> {
        let wanted = properties::definitions();
        let mut calls = 1;
        let listed = self.crm.list_contact_properties().await?;
        let mut live: BTreeMap<String, PropertyDef> =
            listed.into_iter().map(|d| (d.name.clone(), d)).collect();
        let mut report = Vec::new();
        if !dry_run && wanted.iter().any(|w| !live.contains_key(&w.name)) {
            let group = PropertyGroup {
                name: firmo_core::field::PROPERTY_GROUP.to_owned(),
                label: "firmo enrichment".to_owned(),
                display_order: None,
            };
            let outcome = self.crm.ensure_contact_group(&group).await?;
            calls += ensure_calls(&outcome);
        }
        for want in wanted {
            let status = match live.get(&want.name) {
                Some(have) if have.property_type != want.property_type => {
                    PropertyStatus::Mismatch {
                        wants: want.property_type.to_string(),
                        has: have.property_type.to_string(),
                    }
                }
                Some(_) => PropertyStatus::Exists,
                None if dry_run => PropertyStatus::WouldCreate,
                None => {
                    let outcome = self.crm.ensure_contact_property(&want).await?;
                    calls += ensure_calls(&outcome);
                    outcome.into()
                }
            };
            match status {
                // A property of the wrong type is never written (reported, not clobbered).
                PropertyStatus::Mismatch { .. } => {
                    live.remove(&want.name);
                }
                PropertyStatus::Created => {
                    live.insert(want.name.clone(), want.clone());
                }
                _ => {}
            }
            report.push(PropertyReport {
                name: want.name,
                status,
            });
        }
        Ok((live, report, calls))
    }

    /// Reads, selects, enriches and writes the contacts of one enriched page, then sets
    /// each company's `exec_change` from its people. A CRM failure reading contacts skips
    /// this page's contacts (counted), never its companies.
    pub(crate) async fn enrich_page(
        &self,
        ctx: &PassContext<'_>,
        page: &mut [Evaluated],
    ) -> Result<(), StateError> {
        if self.stopped.load(Ordering::Relaxed) {
            return Ok(());
        }
        let companies = page_companies(page);
        if companies.is_empty() {
            return Ok(());
        }
        let Some((links, records)) = self.read_or_skip(&companies).await else {
            return Ok(());
        };
        let answered = self.answered(&companies, &links, &records, ctx.run).await?;
        let selection = self.select_page(&companies, &links, &records, &answered);
        self.count(|s| {
            s.companies += companies.len() as u64;
            s.selected += selection.selected.len() as u64;
        });
        let people = PagePeople {
            records: &records,
            key_of: selection.key_of,
            answers: self.resolve(selection.queries, ctx.run).await?,
        };
        let now = (ctx.enricher.clock)();
        let today = now
            .date()
            .unwrap_or_else(|| Date::new(1970, 1, 1).expect("a valid date"));
        self.write_contacts(ctx, &selection.selected, &people, now)
            .await?;
        let who = self.company_people(&selection.chosen, &people, today);
        self.set_exec_change(ctx, page, who, now).await
    }

    /// [`Self::read`], or `None` when the CRM failed: counted, and the stage stopped if
    /// the failure stops the service.
    async fn read_or_skip(
        &self,
        companies: &[(usize, String, String)],
    ) -> Option<(Vec<Vec<ContactLink>>, HashMap<String, CrmContact>)> {
        match self.read(companies).await {
            Ok(read) => Some(read),
            Err(e) => {
                tracing::warn!(error = %e, "could not read this page's contacts; its companies go on without them");
                self.count(|s| s.errors += 1);
                if e.stops_service() {
                    self.stop_for_run(&e);
                }
                None
            }
        }
    }

    /// Each company's selection, and each person once for the whole page.
    fn select_page(
        &self,
        companies: &[(usize, String, String)],
        links: &[Vec<ContactLink>],
        records: &HashMap<String, CrmContact>,
        answered: &HashSet<String>,
    ) -> Selection {
        let mut selection = Selection::default();
        for ((i, _, domain), links) in companies.iter().zip(links) {
            let kept = |id: &str| answered.contains(id);
            let picked: Vec<ContactLink> = select::select(&self.config, links, records, &kept)
                .into_iter()
                .cloned()
                .collect();
            for link in &picked {
                selection.selected.insert(link.contact_id.clone());
                let query = self.query(link, records.get(&link.contact_id), domain);
                let key = query.key();
                selection
                    .key_of
                    .insert(link.contact_id.clone(), key.clone());
                selection.queries.entry(key).or_insert(query);
            }
            selection.chosen.push((*i, picked));
        }
        selection
    }

    /// Each company's people as `exec_change` reads them: the first chosen contact whose
    /// change counts today, and whether any of them is known at all.
    fn company_people(
        &self,
        chosen: &[(usize, Vec<ContactLink>)],
        people: &PagePeople<'_>,
        today: Date,
    ) -> Vec<CompanyPeople> {
        chosen
            .iter()
            .map(|(i, picked)| {
                let mut known = false;
                let mut found = None;
                for link in picked {
                    let contact = people.effective(&link.contact_id);
                    known |= !contact.is_empty();
                    if found.is_none()
                        && let Some(change) = self.exec_change(&contact, today)
                    {
                        found = Some((link.contact_id.clone(), change));
                    }
                }
                (*i, found, known)
            })
            .collect()
    }

    /// The contacts firmo holds an answer for within the refresh window (or a pending
    /// one), read from the cache in one call.
    async fn answered(
        &self,
        companies: &[(usize, String, String)],
        links: &[Vec<ContactLink>],
        records: &HashMap<String, CrmContact>,
        run: &RunState,
    ) -> Result<HashSet<String>, StateError> {
        let mut by_key: HashMap<String, Vec<String>> = HashMap::new();
        for ((_, _, domain), links) in companies.iter().zip(links) {
            for link in links {
                let query = self.query(link, records.get(&link.contact_id), domain);
                by_key
                    .entry(people::cache_key(&query.key()))
                    .or_default()
                    .push(link.contact_id.clone());
            }
        }
        let cached = self.cached(by_key.keys().cloned().collect()).await?;
        let now = (run.clock)();
        let mut out = HashSet::new();
        for (key, entry) in &cached {
            let kept = crate::plan::is_fresh(entry, now, self.policy.freshness, 1.0)
                || matches!(
                    decide(
                        Some(entry),
                        now,
                        self.policy,
                        &mut crate::plan::Budget::new(0.0)
                    ),
                    Decision::Wait { .. }
                );
            if kept && let Some(ids) = by_key.get(key) {
                out.extend(ids.iter().cloned());
            }
        }
        Ok(out)
    }

    /// The page's companies' contacts, and every one of them read once.
    async fn read(
        &self,
        companies: &[(usize, String, String)],
    ) -> Result<(Vec<Vec<ContactLink>>, HashMap<String, CrmContact>), ConnectorError> {
        let ids: Vec<String> = companies.iter().map(|(_, id, _)| id.clone()).collect();
        let listed = self.crm.contacts_of(&ids).await?;
        let by_company: HashMap<String, Vec<ContactLink>> = listed
            .into_iter()
            .map(|c| (c.company_id, c.contacts))
            .collect();
        let links: Vec<Vec<ContactLink>> = ids
            .iter()
            .map(|id| by_company.get(id).cloned().unwrap_or_default())
            .collect();
        let mut seen = HashSet::new();
        let contact_ids: Vec<String> = links
            .iter()
            .flatten()
            .filter(|l| seen.insert(l.contact_id.clone()))
            .map(|l| l.contact_id.clone())
            .collect();
        let mut calls = ids.len().div_ceil(firmo_hubspot::ASSOCIATION_INPUT_LIMIT) as u64;
        let mut records = HashMap::new();
        if !contact_ids.is_empty() {
            let wanted = firmo_hubspot::contact_properties(
                self.config.linkedin_property(),
                &properties::own_names(),
            );
            let read = self.crm.read_contacts(&contact_ids, &wanted).await?;
            calls += contact_ids.len().div_ceil(WRITE_BATCH) as u64;
            records = read
                .contacts
                .into_iter()
                .map(|c| (c.id.clone(), c))
                .collect();
        }
        self.count(|s| {
            s.read += records.len() as u64;
            s.crm_calls += calls;
        });
        Ok((links, records))
    }

    fn query(&self, link: &ContactLink, record: Option<&CrmContact>, domain: &str) -> PersonQuery {
        let get = |name: &str| record.and_then(|r| r.property(name)).map(str::to_owned);
        let linkedin = self.config.linkedin_property().and_then(get).or_else(|| {
            get(&properties::property_name(
                firmo_core::ContactField::LinkedinUrl,
            ))
        });
        PersonQuery {
            contact_id: link.contact_id.clone(),
            email: get("email"),
            first_name: get("firstname"),
            last_name: get("lastname"),
            company_domain: Some(domain.to_owned()),
            linkedin_url: linkedin,
        }
    }

    /// Each person's answer: claimed by this page (decided from the cache, looked up if
    /// due and within budget) or joined from the page that claimed it first.
    async fn resolve(
        &self,
        queries: BTreeMap<String, PersonQuery>,
        run: &RunState,
    ) -> Result<HashMap<String, Person>, StateError> {
        let mut mine: Vec<(PersonQuery, watch::Sender<Option<Person>>)> = Vec::new();
        let mut joins: Vec<(String, watch::Receiver<Option<Person>>)> = Vec::new();
        {
            let mut claims = lock(&self.claims);
            for (key, query) in queries {
                if let Some(rx) = claims.get(&key) {
                    joins.push((key, rx.clone()));
                    continue;
                }
                let (tx, rx) = watch::channel(None);
                claims.insert(key, rx);
                mine.push((query, tx));
            }
        }
        let mut out = HashMap::new();
        if !mine.is_empty() {
            let decided = self.lookups(mine.iter().map(|(q, _)| q), run).await?;
            for ((query, tx), person) in mine.into_iter().zip(decided) {
                // The receiver stays in `claims`: a later page reuses this answer.
                let _ = tx.send(Some(person.clone()));
                out.insert(query.key(), person);
            }
        }
        for (key, mut rx) in joins {
            let person = match rx.wait_for(Option::is_some).await {
                Ok(p) => p.clone().unwrap_or(Person::Failed),
                Err(_) => Person::Failed,
            };
            out.insert(key, person);
        }
        Ok(out)
    }

    /// Decides and makes the lookups of the claimed persons, in input order.
    async fn lookups<'q>(
        &self,
        queries: impl Iterator<Item = &'q PersonQuery>,
        run: &RunState,
    ) -> Result<Vec<Person>, StateError> {
        let queries: Vec<&PersonQuery> = queries.collect();
        let keys: Vec<String> = queries
            .iter()
            .map(|q| people::cache_key(&q.key()))
            .collect();
        let cached = self.cached(keys.clone()).await?;
        let decisions = self.decisions(&keys, &cached, run);
        let mut people: Vec<Option<Person>> = Vec::with_capacity(queries.len());
        let mut fetch: Vec<(usize, &PersonQuery, f64)> = Vec::new();
        for (i, (d, key)) in decisions.iter().zip(&keys).enumerate() {
            match *d {
                Decision::Fetch { credits } if !run.dry_run => {
                    fetch.push((i, queries[i], credits));
                    people.push(None);
                }
                d => people.push(Some(self.unfetched(d, cached.get(key)))),
            }
        }
        let fetched: Vec<(usize, Result<Person, StateError>)> = futures_util::stream::iter(fetch)
            .map(|(i, query, credits)| async move { (i, self.fetch(query, credits, run).await) })
            .buffer_unordered(LOOKUPS_IN_FLIGHT)
            .collect()
            .await;
        let mut waiting = Vec::new();
        for (i, person) in fetched {
            let person = person?;
            if person == Person::Pending {
                waiting.push((i, queries[i].key()));
            }
            people[i] = Some(person);
        }
        self.await_pushed(waiting, &mut people, run).await;
        Ok(people
            .into_iter()
            .map(|p| p.unwrap_or(Person::Failed))
            .collect())
    }

    /// The provider's cached answers for `keys` (cache keys), read in one call.
    async fn cached(&self, keys: Vec<String>) -> Result<HashMap<String, CachedLookup>, StateError> {
        let name = self.provider.name();
        self.store
            .call(move |s| {
                let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
                s.get_lookups(name, &keys)
            })
            .await
    }

    /// What to do about each key: nothing once the stage is stopped; a fetch the month
    /// cannot pay for is deferred (and its run credits given back).
    fn decisions(
        &self,
        keys: &[String],
        cached: &HashMap<String, CachedLookup>,
        run: &RunState,
    ) -> Vec<Decision> {
        let name = self.provider.name();
        let now = (run.clock)();
        let stopped = self.stopped.load(Ordering::Relaxed);
        keys.iter()
            .map(|k| {
                if stopped {
                    return Decision::Off;
                }
                let d = decide(cached.get(k), now, self.policy, &mut run.budget());
                match d {
                    Decision::Fetch { credits } if !run.take_from_month(name, credits) => {
                        run.refund(name, credits);
                        Decision::Defer {
                            credits,
                            monthly: true,
                        }
                    }
                    d => d,
                }
            })
            .collect()
    }

    /// The person a decision makes without a lookup this run (a dry run's fetch is one
    /// it would make), counted.
    fn unfetched(&self, decision: Decision, cached: Option<&CachedLookup>) -> Person {
        let person = match decision {
            Decision::Reuse => match cached.map(|e| e.status) {
                Some(LookupStatus::Miss) => Person::NotFound,
                _ => Person::Cached,
            },
            Decision::Wait { .. } => Person::Pending,
            Decision::Defer { .. } => Person::Deferred,
            Decision::Off => Person::Failed,
            Decision::Fetch { credits } => {
                self.count(|s| {
                    s.would_look_up += 1;
                    s.planned_credits += credits;
                });
                return Person::WouldLookUp;
            }
        };
        self.count(|s| match &person {
            Person::Cached | Person::NotFound => s.cached += 1,
            Person::Pending => s.pending += 1,
            Person::Deferred => s.deferred += 1,
            _ => {}
        });
        person
    }

    /// Rows pushed this run come back through the receiver: waits for the `waiting`
    /// (index, person key) up to the push wait; what is still out is pending (and asked
    /// again next run).
    async fn await_pushed(
        &self,
        waiting: Vec<(usize, String)>,
        people: &mut [Option<Person>],
        run: &RunState,
    ) {
        if waiting.is_empty() {
            return;
        }
        let keys: Vec<String> = waiting.iter().map(|(_, k)| k.clone()).collect();
        let deadline = tokio::time::Instant::now() + run.push_wait;
        self.arrivals.wait_for(&keys, deadline).await;
        for (i, key) in waiting {
            let arrived = match self.arrivals.take(&key) {
                Some(PersonOutcome::Found(c)) => Person::Found(c),
                Some(PersonOutcome::NotFound) => Person::NotFound,
                _ => Person::Pending,
            };
            self.count(|s| match &arrived {
                Person::Found(_) => s.found += 1,
                Person::NotFound => s.not_found += 1,
                _ => s.pending += 1,
            });
            people[i] = Some(arrived);
        }
    }

    /// One person lookup, its answer (or its pending push) stored and charged before it
    /// is used.
    async fn fetch(
        &self,
        query: &PersonQuery,
        credits: f64,
        run: &RunState,
    ) -> Result<Person, StateError> {
        let key = query.key();
        let name = self.provider.name();
        let asked_at = (run.clock)();
        self.arrivals.set_pushing(&key, true);
        let answer = self.provider.lookup_person(query).await;
        let at = (run.clock)();
        let (entry, person) = match answer {
            Ok(outcome) => {
                let mut entry = people::answer_entry(name, &key, at, &outcome);
                let paid = match &outcome {
                    PersonOutcome::Pending {
                        retry_after,
                        charged,
                    } => {
                        if let Some(after) = retry_after {
                            let ms = i64::try_from(after.as_millis()).unwrap_or(i64::MAX);
                            entry = entry.with_retry_after(UnixMillis(at.0.saturating_add(ms)));
                        }
                        *charged
                    }
                    _ => true,
                };
                if !paid {
                    run.refund(name, credits);
                }
                let person = match outcome {
                    PersonOutcome::Found(c) => Person::Found(c),
                    PersonOutcome::NotFound => Person::NotFound,
                    PersonOutcome::Pending { .. } => Person::Pending,
                };
                (entry.charged(if paid { credits } else { 0.0 }), person)
            }
            Err(e) => {
                run.refund(name, credits);
                // The contact id only: an email is personal data and stays out of logs.
                tracing::warn!(provider = name, contact_id = query.contact_id, error = %e, "person lookup failed");
                if e.stops_service() {
                    self.stop_for_run(&e);
                }
                let entry =
                    LookupEntry::new(name, people::cache_key(&key), at, LookupStatus::Error)
                        .with_error(e.to_string());
                (entry, Person::Failed)
            }
        };
        let charged = entry.credits;
        let run_id = run.id;
        let stored = self
            .store
            .call(move |s| store_unless_answered(s, &entry, asked_at, run_id))
            .await;
        self.arrivals.set_pushing(&key, false);
        stored?;
        self.count(|s| {
            s.credits += charged;
            match &person {
                Person::Failed => s.errors += 1,
                _ => s.looked_up += 1,
            }
            match &person {
                Person::Found(_) => s.found += 1,
                Person::NotFound => s.not_found += 1,
                _ => {}
            }
        });
        Ok(person)
    }

    /// The executive change `contact` is, if it counts for `exec_change` today.
    fn exec_change(&self, contact: &Contact, today: Date) -> Option<ExecChange> {
        let change = evaluate_contact(contact, &ValidationContext::new(today)).exec_change?;
        let counts = engineering_exec(&change.title)
            .is_some_and(firmo_core::EngineeringExec::counts_for_exec_change);
        let age = today.days_since_epoch() - change.date.days_since_epoch();
        (counts && (0..=i64::from(self.config.exec_window_days)).contains(&age)).then_some(change)
    }

    /// Writes what changed on the selected contacts (a dry run counts it), journaling
    /// each value the CRM accepted.
    async fn write_contacts(
        &self,
        ctx: &PassContext<'_>,
        selected: &HashSet<String>,
        people: &PagePeople<'_>,
        now: UnixMillis,
    ) -> Result<(), StateError> {
        let (updates, adopt) = self.contact_changes(ctx, selected, people, now).await?;
        if ctx.dry_run {
            self.count(|s| s.would_write += updates.len() as u64);
            return Ok(());
        }
        let mut record = PageRecord {
            journal: adopt,
            ..PageRecord::default()
        };
        for batch in updates.chunks(WRITE_BATCH) {
            self.write_batch(ctx, batch, &mut record.journal, now).await;
        }
        ctx.record.page(record).await
    }

    /// The selected contacts' changes, in id order, and the values the CRM already holds
    /// as firmo would write them (journaled as firmo's).
    async fn contact_changes(
        &self,
        ctx: &PassContext<'_>,
        selected: &HashSet<String>,
        people: &PagePeople<'_>,
        now: UnixMillis,
    ) -> Result<(Vec<ContactUpdate>, Vec<JournalEntry>), StateError> {
        let records = people.records;
        let ids: Vec<String> = selected
            .iter()
            .filter(|id| records.contains_key(*id))
            .map(|id| journal_id(id))
            .collect();
        let ours = ctx.journal(ids).await?;
        let live = lock(&self.live).clone();
        let empty = BTreeMap::new();
        let mut updates: Vec<ContactUpdate> = Vec::new();
        let mut adopt: Vec<JournalEntry> = Vec::new();
        let mut ordered: Vec<&String> = selected.iter().collect();
        ordered.sort();
        for id in ordered {
            let Some(record) = records.get(id) else {
                continue;
            };
            let contact = people.effective(id);
            if contact.is_empty() {
                continue;
            }
            let desired: Vec<Desired> =
                properties::desired(&contact, self.config.linkedin_property());
            let journal = ours.get(&journal_id(id)).unwrap_or(&empty);
            let mut d = diff(ctx.crm, &desired, &record.properties, journal, &live);
            let kept = d
                .skipped
                .iter()
                .filter(|s| matches!(s, PropertySkip::HumanEdited { .. }))
                .count() as u64;
            self.count(|s| s.human_edits_kept += kept);
            adopt.extend(
                std::mem::take(&mut d.adopt)
                    .into_iter()
                    .map(|(property, value)| journal_entry(ctx, id, property, value, now)),
            );
            if d.changes.is_empty() {
                continue;
            }
            if live.contains_key(properties::ENRICHED_AT) {
                d.changes
                    .insert(properties::ENRICHED_AT.to_owned(), format_timestamp(now));
            }
            updates.push(ContactUpdate {
                id: id.clone(),
                properties: d.changes,
            });
        }
        Ok((updates, adopt))
    }

    /// Sends one batch of contact updates, journaling each the CRM accepted and counting
    /// each it refused.
    async fn write_batch(
        &self,
        ctx: &PassContext<'_>,
        batch: &[ContactUpdate],
        journal: &mut Vec<JournalEntry>,
        now: UnixMillis,
    ) {
        let outcomes = match self.crm.write_contacts(batch).await {
            Ok(o) => o,
            // Nothing was sent: every contact of the batch fails alike.
            Err(error) => batch
                .iter()
                .map(|u| WriteOutcome::Failed {
                    id: u.id.clone(),
                    error: error.clone(),
                })
                .collect(),
        };
        self.count(|s| s.crm_calls += 1);
        let by_id: HashMap<&str, &WriteOutcome> = outcomes.iter().map(|o| (o.id(), o)).collect();
        for update in batch {
            match by_id.get(update.id.as_str()) {
                Some(WriteOutcome::Written { .. }) => {
                    journal.extend(
                        update.properties.iter().map(|(p, v)| {
                            journal_entry(ctx, &update.id, p.clone(), v.clone(), now)
                        }),
                    );
                    self.count(|s| s.written += 1);
                }
                Some(WriteOutcome::Failed { error, .. }) => {
                    tracing::warn!(contact_id = update.id, error = %error, "contact write failed");
                    self.count(|s| s.write_failed += 1);
                }
                None => self.count(|s| s.write_failed += 1),
            }
        }
    }

    /// Sets `exec_change` on the companies whose people say so (or say no, where nothing
    /// else did) and names who in `firmo_sources`; their diffs are made again from the
    /// amended evaluation, against the same CRM values and journal.
    async fn set_exec_change(
        &self,
        ctx: &PassContext<'_>,
        page: &mut [Evaluated],
        who: Vec<CompanyPeople>,
        now: UnixMillis,
    ) -> Result<(), StateError> {
        let signal = Signal::ExecChange.name();
        let mut amend = Vec::new();
        for (i, found, known) in who {
            let signals = &mut page[i].enriched.evaluation.signals;
            let before = signals.get(signal).copied();
            if before.is_none() && !known {
                continue;
            }
            signals.insert(signal, before.unwrap_or(false) || found.is_some());
            if let Some((id, _)) = &found {
                self.count(|s| s.exec_changes += 1);
                tracing::info!(
                    account_id = page[i].enriched.account.id,
                    contact_id = id,
                    "a new engineering executive sets exec_change"
                );
            }
            amend.push((i, found));
        }
        if amend.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = amend
            .iter()
            .map(|(i, _)| page[*i].enriched.account.id.clone())
            .collect();
        let ours = ctx.journal(ids).await?;
        let empty = BTreeMap::new();
        for (i, found) in amend {
            let e = &mut page[i];
            let (mut desired, _) =
                crate::evaluate::desired_properties(ctx.config, ctx.crm, &e.enriched, ctx.live);
            if let Some((id, change)) = found {
                let named = format!(
                    "exec_change=contact:{id} ({} since {})",
                    change.title.replace([';', '='], " "),
                    change.date
                );
                match desired
                    .iter_mut()
                    .find(|d| d.property == crate::properties::SOURCES)
                {
                    Some(d) => d.value = format!("{};{named}", d.value),
                    None if ctx.live.contains_key(crate::properties::SOURCES) => {
                        desired.push(Desired {
                            property: crate::properties::SOURCES.to_owned(),
                            value: named,
                            policy: crate::config::OverwritePolicy::Owned,
                        });
                    }
                    None => {}
                }
            }
            let journal = ours.get(&e.enriched.account.id).unwrap_or(&empty);
            let mut d = diff(
                ctx.crm,
                &desired,
                &e.enriched.account.properties,
                journal,
                ctx.live,
            );
            if !d.changes.is_empty() {
                d.changes.insert(
                    crate::properties::ENRICHED_AT.to_owned(),
                    format_timestamp(now),
                );
            }
            e.diff = d;
        }
        Ok(())
    }
}

/// The CRM calls one ensure made: HubSpot's connector reads a contact group or property
/// before it creates it, so two for one created and one for one found (a create that
/// conflicts with someone else's reads once more: rare, and not counted).
fn ensure_calls(outcome: &EnsureOutcome) -> u64 {
    match outcome {
        EnsureOutcome::Created => 2,
        _ => 1,
    }
}

/// The page's companies that have a domain: page index, company id, domain.
fn page_companies(page: &[Evaluated]) -> Vec<(usize, String, String)> {
    page.iter()
        .enumerate()
        .filter_map(|(i, e)| {
            let domain = e.enriched.domain.as_ref().ok()?;
            Some((i, e.enriched.account.id.clone(), domain.clone()))
        })
        .collect()
}

/// A contact's key in the write journal: contact and company ids are separate number
/// spaces in HubSpot, so they must not share one.
fn journal_id(contact_id: &str) -> String {
    format!("contact:{contact_id}")
}

fn journal_entry(
    ctx: &PassContext<'_>,
    contact_id: &str,
    property: String,
    value: String,
    now: UnixMillis,
) -> JournalEntry {
    JournalEntry {
        crm: ctx.crm.name().to_owned(),
        portal: ctx.portal.to_owned(),
        record_id: journal_id(contact_id),
        property,
        value,
        written_at: now,
    }
}

/// Stores a lookup's entry, unless its pushed answer arrived first (the push is still
/// charged to the key and the run).
fn store_unless_answered(
    s: &mut firmo_store::Store,
    entry: &LookupEntry,
    asked_at: UnixMillis,
    run: Option<firmo_store::RunId>,
) -> Result<(), firmo_store::StoreError> {
    let answered = entry.status == LookupStatus::Pending
        && s.get_lookup(&entry.provider, &entry.key)?.is_some_and(|c| {
            matches!(c.status, LookupStatus::Hit | LookupStatus::Miss) && c.fetched_at >= asked_at
        });
    let write = if answered {
        // Only the charge: the arrived answer stays the key's latest.
        match s.get_lookup(&entry.provider, &entry.key)? {
            Some(c) => LookupEntry {
                status: c.status,
                fetched_at: c.fetched_at,
                retry_after: c.retry_after,
                attempts: 0,
                ..entry.clone()
            },
            None => entry.clone(),
        }
    } else {
        entry.clone()
    };
    s.write(|w| match run {
        Some(run) => w.put_lookup_charged(&write, run),
        None => w.put_lookup(&write),
    })
}

/// A random secret for one run's sandbox receiver (the sandbox is the only sender).
fn one_off_secret() -> String {
    use std::hash::{BuildHasher as _, Hasher as _};
    let part = || {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(u64::from(std::process::id()));
        h.finish()
    };
    format!("{:016x}{:016x}", part(), part())
}

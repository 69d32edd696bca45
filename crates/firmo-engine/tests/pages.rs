//! Pages in flight: two pages that share a domain make one lookup, and an answer pushed
//! back before the push's own reply is stored is never overwritten by a pending entry.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use firmo_connect::{ConnectorError, LookupOutcome, Provider};
use firmo_core::{Field, ProviderRecord, Source, UnixMillis, Value};
use firmo_engine::enrich::{Account, Enricher};
use firmo_engine::fetch::{Arrivals, LookupState, ProviderHandle};
use firmo_engine::plan::ProviderPolicy;
use firmo_engine::run::RunState;
use firmo_engine::state::StoreHandle;
use firmo_store::{LookupEntry, LookupStatus, Store};
use tokio::sync::{Notify, Semaphore};

const NOW: UnixMillis = UnixMillis(1_767_225_600_000); // 2026-01-01

fn record(headcount: i64) -> ProviderRecord {
    let mut r = ProviderRecord::new(Source::Clearbit, NOW);
    r.fields.insert(Field::Headcount, Value::Integer(headcount));
    r
}

/// A provider whose lookups wait at a gate, counting every call.
struct Gated {
    calls: AtomicU64,
    called: Notify,
    gate: Semaphore,
}

impl Gated {
    async fn called_at_least(&self, n: u64) {
        loop {
            let notified = self.called.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.calls.load(Ordering::SeqCst) >= n {
                return;
            }
            notified.await;
        }
    }
}

#[async_trait]
impl Provider for Gated {
    fn name(&self) -> &'static str {
        "gated"
    }
    fn sources(&self) -> &'static [Source] {
        &[Source::Clearbit]
    }
    fn cost_per_lookup(&self) -> f64 {
        1.0
    }
    async fn lookup(&self, _domain: &str) -> Result<LookupOutcome, ConnectorError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.called.notify_waiters();
        let _permit = self.gate.acquire().await.expect("the gate stays open");
        Ok(LookupOutcome::Found(vec![record(42)]))
    }
}

fn policy() -> ProviderPolicy {
    ProviderPolicy {
        freshness: Duration::from_hours(24 * 7),
        cost: 1.0,
        pending_retry: Duration::from_mins(10),
    }
}

fn account(id: &str, domain: &str) -> Account {
    Account {
        id: id.into(),
        name: None,
        domain: Some(domain.into()),
        properties: std::collections::BTreeMap::default(),
        refresh_factor: 1.0,
    }
}

fn enricher(provider: Arc<dyn Provider>, pushed: bool) -> Enricher {
    let mut handle = ProviderHandle::new(provider, policy(), 8);
    handle.pushed = pushed;
    Enricher::new(
        firmo_core::config::CoreConfig::default(),
        &firmo_engine::waterfall::WaterfallPlan::default(),
        vec![handle],
        StoreHandle::spawn(Store::open_in_memory().unwrap()),
        Arc::new(|| NOW),
        Arc::new(Arrivals::default()),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_pages_sharing_a_domain_make_one_lookup() {
    let gated = Arc::new(Gated {
        calls: AtomicU64::new(0),
        called: Notify::new(),
        gate: Semaphore::new(0),
    });
    let enricher = enricher(gated.clone(), false);
    let run = RunState::new(
        &enricher.providers,
        100.0,
        Arc::clone(&enricher.clock),
        Duration::ZERO,
        false,
    );
    let first = enricher.enrich_page(vec![account("1", "shared.example")], &run);
    let second = async {
        // Only once the first page's lookup is in flight does the second page start.
        gated.called_at_least(1).await;
        enricher
            .enrich_page(vec![account("2", "https://www.shared.example/")], &run)
            .await
    };
    let opener = async {
        // Open the gate once the second page has either joined the first page's lookup
        // (right) or asked the provider itself (the bug this test is for).
        tokio::select! {
            () = run.joined_at_least(1) => {}
            () = gated.called_at_least(2) => {}
        }
        gated.gate.add_permits(10);
    };
    let (first, second, ()) = tokio::join!(first, second, opener);
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!(
        gated.calls.load(Ordering::SeqCst),
        1,
        "one lookup for both pages"
    );
    assert_eq!(run.joins(), 1);
    for page in [&first, &second] {
        let e = &page[0];
        assert_eq!(
            e.evaluation
                .merged
                .get(Field::Headcount)
                .map(|m| m.value.clone()),
            Some(Value::Integer(42)),
            "both accounts get the answer"
        );
        assert_eq!(e.lookups.get("gated"), Some(&LookupState::Fetched));
    }
    let stats = run.stats();
    assert_eq!(stats["gated"].lookups, 1);
    assert!((stats["gated"].credits - 1.0).abs() < 1e-9, "paid once");
    assert!((run.planned_credits() - 1.0).abs() < 1e-9, "reserved once");
}

/// A provider that answers by push, and whose answer lands before its own "pending".
struct FastPush {
    store: StoreHandle,
    arrivals: Arc<Arrivals>,
}

#[async_trait]
impl Provider for FastPush {
    fn name(&self) -> &'static str {
        "fastpush"
    }
    fn sources(&self) -> &'static [Source] {
        &[Source::Clay]
    }
    fn cost_per_lookup(&self) -> f64 {
        1.0
    }
    async fn lookup(&self, domain: &str) -> Result<LookupOutcome, ConnectorError> {
        // The callback arrives while the push's HTTP reply is still on its way.
        let mut row = record(7);
        row.source = Source::Clay;
        let entry = LookupEntry::hit("fastpush", domain, NOW, vec![row]);
        self.store
            .call(move |s| s.put_lookup(&entry))
            .await
            .unwrap();
        self.arrivals.arrived("fastpush", domain);
        Ok(LookupOutcome::Pending {
            retry_after: Some(Duration::from_hours(1)),
            charged: true,
        })
    }
}

#[tokio::test]
async fn a_row_pushed_before_the_push_returns_is_never_overwritten_by_pending() {
    let store = StoreHandle::spawn(Store::open_in_memory().unwrap());
    let arrivals = Arc::new(Arrivals::default());
    let provider = Arc::new(FastPush {
        store: store.clone(),
        arrivals: arrivals.clone(),
    });
    let mut enricher = enricher(provider, true);
    enricher.store = store.clone();
    enricher.arrivals = arrivals;
    let run = RunState::new(
        &enricher.providers,
        100.0,
        Arc::clone(&enricher.clock),
        Duration::from_secs(5),
        false,
    );
    let page = enricher
        .enrich_page(vec![account("1", "fast.example")], &run)
        .await
        .unwrap();
    let cached = store
        .call(|s| s.get_lookup("fastpush", "fast.example"))
        .await
        .unwrap()
        .expect("an entry");
    assert_eq!(
        cached.status,
        LookupStatus::Hit,
        "the row stays in the cache"
    );
    assert_eq!(page[0].lookups.get("fastpush"), Some(&LookupState::Fetched));
    assert_eq!(
        page[0]
            .evaluation
            .merged
            .get(Field::Headcount)
            .map(|m| m.value.clone()),
        Some(Value::Integer(7))
    );
}

/// Finding 11 of the hardening issue: the receiver stores a row only for a domain with an
/// outstanding push, and refuses (422) a row nobody asked for.
#[tokio::test]
async fn the_receiver_refuses_rows_nobody_asked_for() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let store = StoreHandle::spawn(Store::open_in_memory().unwrap());
    let arrivals = Arc::new(Arrivals::default());
    let secret = "a-callback-secret";
    let receiver = firmo_engine::clay::start_receiver(
        "127.0.0.1:0".parse().unwrap(),
        firmo_clay::receiver::ReceiverConfig::new(firmo_connect::Secret::new(secret)),
        store.clone(),
        arrivals,
        Arc::new(|| NOW),
        "clay",
    )
    .await
    .unwrap();
    let post = |domain: &str| {
        let body =
            serde_json::json!({ "domain": domain, "industry": "Software", "employee_count": 12 });
        reqwest::Client::new()
            .post(receiver.url())
            .header(firmo_clay::receiver::DEFAULT_SECRET_HEADER, secret)
            .json(&body)
            .send()
    };
    let refused = post("nobody-asked.example").await.unwrap();
    assert_eq!(refused.status().as_u16(), 422);
    assert!(
        store
            .call(|s| s.get_lookup("clay", "nobody-asked.example"))
            .await
            .unwrap()
            .is_none(),
        "an unsolicited row is not cached"
    );

    let pending = LookupEntry::new("clay", "asked.example", NOW, LookupStatus::Pending);
    store.call(move |s| s.put_lookup(&pending)).await.unwrap();
    let stored = post("asked.example").await.unwrap();
    assert!(stored.status().is_success(), "{}", stored.status());
    let cached = store
        .call(|s| s.get_lookup("clay", "asked.example"))
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(cached.status, LookupStatus::Hit);
    receiver.stop().await;
}

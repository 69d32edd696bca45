//! The connector contract (docs/specs/connector.md): one check every provider connector
//! and every CRM connector runs against the [`ScriptedServer`], injecting the failure
//! modes each must handle the same way: found, not found, pending, a refused key, an
//! exhausted quota, 429 with `Retry-After`, 5xx, a malformed body, a silent server, an
//! unreachable host — and the key never in any error; then the batch path
//! ([`Provider::lookup_batch`]): one answer per domain in order, one request per
//! `max_batch` domains, per-domain outcomes and credits, a refused key asked once.
//!
//! A connector describes only what is its own: how to build it against a base URL, key
//! and [`HttpPolicy`], and the bodies its service answers with. A mode the service can't
//! express is declared [`Case::Unsupported`] with the reason, and shows in the
//! [`Report`], so nothing is skipped silently.

use std::time::Duration;

use crate::crm::{CompanyUpdate, Crm, PullRequest, WriteOutcome};
use crate::error::{ConnectorError, Service};
use crate::http::HttpPolicy;
use crate::provider::{BatchAnswer, LookupOutcome, Provider};
use crate::secret::Secret;
use crate::testing::scripted::{Reply, ScriptedServer, closed_port_url};

/// The `Retry-After` the contract's 429 sends, in seconds (short: the wait is real).
pub const RETRY_AFTER_SECS: f64 = 0.2;

/// Which [`ConnectorError`] variant, without its details.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    Auth,
    Validation,
    NotFound,
    RateLimited,
    QuotaExhausted,
    Server,
    Timeout,
    Transport,
    Malformed,
    TooLarge,
    Unexpected,
    PortalRule,
    Capacity,
}

impl ErrorKind {
    pub fn of(error: &ConnectorError) -> ErrorKind {
        match error {
            ConnectorError::Auth { .. } => ErrorKind::Auth,
            ConnectorError::Validation { .. } => ErrorKind::Validation,
            ConnectorError::NotFound { .. } => ErrorKind::NotFound,
            ConnectorError::RateLimited { .. } => ErrorKind::RateLimited,
            ConnectorError::QuotaExhausted { .. } => ErrorKind::QuotaExhausted,
            ConnectorError::Server { .. } => ErrorKind::Server,
            ConnectorError::Timeout { .. } => ErrorKind::Timeout,
            ConnectorError::Transport { .. } => ErrorKind::Transport,
            ConnectorError::Malformed { .. } => ErrorKind::Malformed,
            ConnectorError::TooLarge { .. } => ErrorKind::TooLarge,
            ConnectorError::Unexpected { .. } => ErrorKind::Unexpected,
            ConnectorError::PortalRule { .. } => ErrorKind::PortalRule,
            ConnectorError::Capacity { .. } => ErrorKind::Capacity,
        }
    }
}

/// One behaviour the contract checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mode {
    Found,
    NotFound,
    Pending,
    Auth,
    Quota,
    RateLimited,
    ServerError,
    Malformed,
    Timeout,
    Unreachable,
    PartialWrite,
    Batch,
    KeyNeverInErrors,
}

/// What a connector declares for one mode.
#[derive(Debug, Clone, PartialEq)]
pub enum Case<T> {
    /// The service expresses the mode with these answers.
    Expect(T),
    /// The service can't express it; why (shown in the [`Report`]).
    Unsupported(&'static str),
}

/// A pending answer: the replies, and whether the provider has billed the lookup.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingCase {
    pub replies: Vec<Reply>,
    pub charged: bool,
}

/// A body the connector can't read, and the JSON path its error must name.
#[derive(Debug, Clone, PartialEq)]
pub struct MalformedCase {
    pub replies: Vec<Reply>,
    pub path: String,
}

impl MalformedCase {
    pub fn new(replies: Vec<Reply>, path: impl Into<String>) -> MalformedCase {
        MalformedCase {
            replies,
            path: path.into(),
        }
    }
}

/// What the contract checked, and what the connector declared it can't express.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    pub checked: Vec<Mode>,
    pub unsupported: Vec<(Mode, &'static str)>,
}

impl Report {
    pub fn unsupported_modes(&self) -> Vec<Mode> {
        self.unsupported.iter().map(|(m, _)| *m).collect()
    }

    fn checked(&mut self, mode: Mode) {
        if !self.checked.contains(&mode) {
            self.checked.push(mode);
        }
    }
}

/// The policy the contract builds connectors with: no client-side rate limit, three
/// retries with millisecond backoff (the waits under test are the server's), a 5 s
/// timeout (only the timeout mode waits for one, with its own shorter policy).
pub fn contract_policy(service: Service) -> HttpPolicy {
    let mut policy = HttpPolicy::new(service, 0, Duration::from_mins(1));
    policy.max_retries = 3;
    policy.base_backoff = Duration::from_millis(1);
    policy.max_backoff = Duration::from_millis(5);
    policy.max_retry_time = Duration::from_secs(20);
    policy.timeout = Duration::from_secs(5);
    policy
}

fn timeout_policy(service: Service) -> HttpPolicy {
    let mut policy = contract_policy(service);
    policy.timeout = Duration::from_millis(200);
    policy.max_retries = 1;
    policy
}

/// The answers a slow server gives: well past [`timeout_policy`]'s timeout.
const SILENCE: Duration = Duration::from_secs(3);

fn rate_limited(retry_after: &str) -> Reply {
    Reply::json(
        429,
        &serde_json::json!({"status": "error", "message": "Rate limit exceeded", "category": "RATE_LIMITS"}),
    )
    .header("retry-after", retry_after)
}

fn server_error(status: u16) -> Reply {
    Reply::json(
        status,
        &serde_json::json!({"status": "error", "message": "internal error", "category": "INTERNAL_ERROR"}),
    )
}

/// Collects every error the contract saw, to check none carries the key.
struct Errors<'a> {
    service: Service,
    key: &'a str,
    seen: usize,
}

impl Errors<'_> {
    /// Checks `error` is from the right service and never shows the key.
    fn check(&mut self, mode: Mode, error: &ConnectorError) {
        self.seen += 1;
        assert_eq!(
            error.service(),
            self.service,
            "{} contract, {mode:?}: the error names another service: {error:?}",
            self.service
        );
        let shown = format!("{error} {error:?}");
        assert!(
            !shown.contains(self.key),
            "{} contract, {mode:?}: the key is in an error: {shown}",
            self.service
        );
    }
}

/// What one domain of a batch comes to, for [`BatchCase::expected`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Found,
    NotFound,
    Pending,
    Failed(ErrorKind),
}

impl Expect {
    fn of(outcome: &Result<LookupOutcome, ConnectorError>) -> Expect {
        match outcome {
            Ok(LookupOutcome::Found(records)) if !records.is_empty() => Expect::Found,
            // A Found without records is not a found company: no expectation names it.
            Ok(LookupOutcome::Found(_)) => Expect::Failed(ErrorKind::Malformed),
            Ok(LookupOutcome::NotFound) => Expect::NotFound,
            Ok(LookupOutcome::Pending { .. }) => Expect::Pending,
            Err(e) => Expect::Failed(ErrorKind::of(e)),
        }
    }
}

/// One [`Provider::lookup_batch`] call against scripted answers.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchCase {
    /// The domains asked: at least three, with a repeat and more than the connector's
    /// `max_batch` where it batches, so splitting and order are both exercised.
    pub domains: Vec<String>,
    /// The answers to the requests the batch makes, in order: exactly one per
    /// `max_batch` distinct domains.
    pub replies: Vec<Reply>,
    /// Per domain asked, in order: what it comes to and the credits it cost.
    pub expected: Vec<(Expect, f64)>,
    /// The answer to a refused key (any request).
    pub auth: Reply,
}

/// How a provider connector answers, for [`check_provider`].
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderContract {
    pub service: Service,
    /// The key the connector is built with; it must never appear in an error.
    pub key: String,
    /// The domain every lookup asks for.
    pub domain: String,
    /// The answers of one lookup of a company the provider knows.
    pub found: Case<Vec<Reply>>,
    /// Each entry: the answers of one lookup of a company the provider doesn't know.
    pub not_found: Case<Vec<Vec<Reply>>>,
    /// The answers of one lookup the provider accepted but hasn't answered yet.
    pub pending: Case<PendingCase>,
    /// Each entry: the answers of one lookup with a refused key.
    pub auth: Vec<Vec<Reply>>,
    /// Each entry: the answers of one lookup on an account out of credits.
    pub quota: Case<Vec<Vec<Reply>>>,
    /// Bodies the connector can't read, each with the path its error must name.
    pub malformed: Case<Vec<MalformedCase>>,
    /// The batch path: mixed answers in one batch.
    pub batch: BatchCase,
}

/// Runs the provider contract: `build` makes the connector against a base URL (the
/// scripted server's, or a closed port's), the key and the policy to use. Panics, naming
/// the service and the mode, at the first breach; returns what was checked.
pub async fn check_provider<P, B>(contract: &ProviderContract, build: B) -> Report
where
    P: Provider,
    B: Fn(&str, Secret, HttpPolicy) -> Result<P, ConnectorError>,
{
    let c = contract;
    let service = c.service;
    let mut report = Report::default();
    let mut errors = Errors {
        service,
        key: &c.key,
        seen: 0,
    };
    let policy = contract_policy(service);
    let retries = policy.max_retries as usize;
    // Fresh server and connector per case: no state (a pending push, a pause) leaks.
    // `replies` in order, then `fallback` on every further attempt.
    let run_then = async |replies: Vec<Reply>, fallback: Option<Reply>, policy: HttpPolicy| {
        let server = ScriptedServer::start(replies).await;
        server.set_fallback(fallback);
        let connector = build(&server.base_url(), Secret::new(c.key.clone()), policy)
            .unwrap_or_else(|e| panic!("{service} contract: building the connector: {e}"));
        let outcome = connector.lookup(&c.domain).await;
        (outcome, server, connector)
    };
    let run = async |replies: Vec<Reply>, policy: HttpPolicy| run_then(replies, None, policy).await;
    let fail = |mode: Mode, what: &str, got: &dyn std::fmt::Debug| -> ! {
        panic!("{service} contract, {mode:?}: expected {what}, got {got:?}")
    };

    // The answer the retry modes end on: found where the provider can say it, else pending.
    let (answer, answer_is_found) = match (&c.found, &c.pending) {
        (Case::Expect(replies), _) => (replies.clone(), true),
        (Case::Unsupported(_), Case::Expect(p)) => (p.replies.clone(), false),
        _ => panic!("{service} contract: a provider must express found or pending"),
    };
    let is_answer = |outcome: &LookupOutcome| {
        if answer_is_found {
            matches!(outcome, LookupOutcome::Found(r) if !r.is_empty())
        } else {
            matches!(outcome, LookupOutcome::Pending { .. })
        }
    };

    match &c.found {
        Case::Expect(replies) => {
            let (outcome, server, connector) = run(replies.clone(), policy.clone()).await;
            let records = match outcome {
                Ok(LookupOutcome::Found(records)) if !records.is_empty() => records,
                other => fail(Mode::Found, "Found with records", &other),
            };
            for record in &records {
                assert!(
                    connector.sources().contains(&record.source),
                    "{service} contract, Found: a {} record from a provider of {:?}",
                    record.source,
                    connector.sources()
                );
            }
            assert_eq!(
                server.request_count(),
                replies.len(),
                "{service} contract, Found: one request per scripted answer"
            );
            assert!(
                server.requests().iter().all(|r| r.carries(&c.key)),
                "{service} contract, Found: every request carries the key"
            );
            report.checked(Mode::Found);
        }
        Case::Unsupported(why) => report.unsupported.push((Mode::Found, why)),
    }

    match &c.not_found {
        Case::Expect(cases) => {
            for replies in cases {
                let (outcome, server, _) = run(replies.clone(), policy.clone()).await;
                if !matches!(outcome, Ok(LookupOutcome::NotFound)) {
                    fail(Mode::NotFound, "NotFound", &outcome);
                }
                assert_eq!(
                    server.request_count(),
                    replies.len(),
                    "{service} contract, NotFound: an answer is not retried"
                );
            }
            report.checked(Mode::NotFound);
        }
        Case::Unsupported(why) => report.unsupported.push((Mode::NotFound, why)),
    }

    match &c.pending {
        Case::Expect(p) => {
            let (outcome, server, connector) = run(p.replies.clone(), policy.clone()).await;
            match outcome {
                Ok(LookupOutcome::Pending { charged, .. }) if charged == p.charged => {}
                other => fail(
                    Mode::Pending,
                    &format!("Pending charged={}", p.charged),
                    &other,
                ),
            }
            assert_eq!(
                server.request_count(),
                p.replies.len(),
                "{service} contract, Pending: a queued lookup is an answer, not a spin"
            );
            assert!(
                server.requests().iter().all(|r| r.carries(&c.key)),
                "{service} contract, Pending: every request carries the key"
            );
            drop(connector);
            report.checked(Mode::Pending);
        }
        Case::Unsupported(why) => report.unsupported.push((Mode::Pending, why)),
    }

    for replies in &c.auth {
        let (outcome, server, _) = run(replies.clone(), policy.clone()).await;
        let error = match outcome {
            Err(e @ ConnectorError::Auth { .. }) => e,
            other => fail(Mode::Auth, "Err(Auth)", &other),
        };
        assert!(
            error.stops_service() && !error.is_transient(),
            "{service} contract, Auth: a refused key stops the service: {error:?}"
        );
        assert_eq!(
            server.request_count(),
            replies.len(),
            "{service} contract, Auth: a refused key is not retried"
        );
        errors.check(Mode::Auth, &error);
    }
    assert!(
        !c.auth.is_empty(),
        "{service} contract: every service can refuse a key"
    );
    report.checked(Mode::Auth);

    match &c.quota {
        Case::Expect(cases) => {
            for replies in cases {
                let (outcome, server, _) = run(replies.clone(), policy.clone()).await;
                let error = match outcome {
                    Err(e @ ConnectorError::QuotaExhausted { .. }) => e,
                    other => fail(Mode::Quota, "Err(QuotaExhausted)", &other),
                };
                assert!(
                    error.stops_service() && !error.is_transient(),
                    "{service} contract, Quota: an empty account stops the service: {error:?}"
                );
                assert_eq!(
                    server.request_count(),
                    replies.len(),
                    "{service} contract, Quota: not retried"
                );
                errors.check(Mode::Quota, &error);
            }
            report.checked(Mode::Quota);
        }
        Case::Unsupported(why) => report.unsupported.push((Mode::Quota, why)),
    }

    // 429 with Retry-After, then the answer: waited as told, then answered.
    let mut replies = vec![rate_limited(&RETRY_AFTER_SECS.to_string())];
    replies.extend(answer.iter().cloned());
    let (outcome, server, _) = run(replies, policy.clone()).await;
    match &outcome {
        Ok(o) if is_answer(o) => {}
        other => fail(Mode::RateLimited, "the answer after one 429", other),
    }
    let seen = server.requests();
    assert_eq!(
        seen.len(),
        1 + answer.len(),
        "{service} contract, RateLimited: the 429 is retried once"
    );
    let waited = seen[1].arrived - seen[0].arrived;
    assert!(
        waited >= Duration::from_secs_f64(RETRY_AFTER_SECS),
        "{service} contract, RateLimited: Retry-After {RETRY_AFTER_SECS} s not honoured (waited {waited:?})"
    );
    // 429 on every attempt: a transient RateLimited error after the retries.
    let (outcome, server, _) = run_then(Vec::new(), Some(rate_limited("0")), policy.clone()).await;
    let error = match outcome {
        Err(e @ ConnectorError::RateLimited { .. }) => e,
        other => fail(
            Mode::RateLimited,
            "Err(RateLimited) after the retries",
            &other,
        ),
    };
    assert!(error.is_transient() && !error.stops_service(), "{error:?}");
    assert_eq!(
        server.request_count(),
        1 + retries,
        "{service} contract, RateLimited: first attempt plus max_retries"
    );
    errors.check(Mode::RateLimited, &error);
    report.checked(Mode::RateLimited);

    // 503, 502, then the answer; then 500 on every attempt.
    let mut replies = vec![server_error(503), server_error(502)];
    replies.extend(answer.iter().cloned());
    let (outcome, server, _) = run(replies, policy.clone()).await;
    match &outcome {
        Ok(o) if is_answer(o) => {}
        other => fail(Mode::ServerError, "the answer after two 5xx", other),
    }
    assert_eq!(
        server.request_count(),
        2 + answer.len(),
        "{service} contract, ServerError: each 5xx is retried"
    );
    let (outcome, server, _) = run_then(Vec::new(), Some(server_error(500)), policy.clone()).await;
    let error = match outcome {
        Err(e @ ConnectorError::Server { status: 500, .. }) => e,
        other => fail(
            Mode::ServerError,
            "Err(Server 500) after the retries",
            &other,
        ),
    };
    assert!(error.is_transient() && !error.stops_service(), "{error:?}");
    assert_eq!(
        server.request_count(),
        1 + retries,
        "{service} contract, ServerError: first attempt plus max_retries"
    );
    errors.check(Mode::ServerError, &error);
    report.checked(Mode::ServerError);

    match &c.malformed {
        Case::Expect(cases) => {
            assert!(!cases.is_empty(), "{service} contract: no malformed case");
            for case in cases {
                let (outcome, _, _) = run(case.replies.clone(), policy.clone()).await;
                let error = match outcome {
                    Err(e @ ConnectorError::Malformed { .. }) => e,
                    other => fail(Mode::Malformed, "Err(Malformed)", &other),
                };
                let ConnectorError::Malformed { path, .. } = &error else {
                    unreachable!("matched above")
                };
                assert_eq!(
                    path, &case.path,
                    "{service} contract, Malformed: the error names the path: {error}"
                );
                errors.check(Mode::Malformed, &error);
            }
            report.checked(Mode::Malformed);
        }
        Case::Unsupported(why) => report.unsupported.push((Mode::Malformed, why)),
    }

    // A server that never answers in time: Timeout, retried like a transport error.
    let slow: Vec<Reply> = answer.iter().map(|r| r.clone().delayed(SILENCE)).collect();
    let short = timeout_policy(service);
    let attempts = 1 + short.max_retries as usize;
    let (outcome, server, _) = run_then(Vec::new(), slow.first().cloned(), short).await;
    let error = match outcome {
        Err(e @ ConnectorError::Timeout { .. }) => e,
        other => fail(Mode::Timeout, "Err(Timeout)", &other),
    };
    assert!(error.is_transient() && !error.stops_service(), "{error:?}");
    assert_eq!(
        server.request_count(),
        attempts,
        "{service} contract, Timeout: retried like a transport error"
    );
    errors.check(Mode::Timeout, &error);
    report.checked(Mode::Timeout);

    // Nothing listens: Transport, transient.
    let connector = build(
        &closed_port_url(),
        Secret::new(c.key.clone()),
        timeout_policy(service),
    )
    .unwrap_or_else(|e| panic!("{service} contract: building the connector: {e}"));
    let error = match connector.lookup(&c.domain).await {
        Err(e @ ConnectorError::Transport { .. }) => e,
        other => fail(Mode::Unreachable, "Err(Transport)", &other),
    };
    assert!(error.is_transient() && !error.stops_service(), "{error:?}");
    errors.check(Mode::Unreachable, &error);
    report.checked(Mode::Unreachable);

    check_batch(c, &build, &mut errors).await;
    report.checked(Mode::Batch);

    assert!(errors.seen > 0);
    report.checked(Mode::KeyNeverInErrors);
    report
}

/// The batch half of [`check_provider`].
async fn check_batch<P, B>(c: &ProviderContract, build: &B, errors: &mut Errors<'_>)
where
    P: Provider,
    B: Fn(&str, Secret, HttpPolicy) -> Result<P, ConnectorError>,
{
    let service = c.service;
    let b = &c.batch;
    assert_eq!(
        b.domains.len(),
        b.expected.len(),
        "{service} contract, Batch: one expectation per domain"
    );
    let connect = |base: &str, policy: HttpPolicy| {
        build(base, Secret::new(c.key.clone()), policy)
            .unwrap_or_else(|e| panic!("{service} contract: building the connector: {e}"))
    };
    let check_order = |answers: &[BatchAnswer], what: &str| {
        let asked: Vec<&str> = answers.iter().map(|a| a.domain.as_str()).collect();
        let wanted: Vec<&str> = b.domains.iter().map(String::as_str).collect();
        assert_eq!(
            asked, wanted,
            "{service} contract, Batch ({what}): one answer per domain, in the order asked"
        );
    };

    // Nothing asked: nothing sent.
    let server = ScriptedServer::start([]).await;
    let connector = connect(&server.base_url(), contract_policy(service));
    assert!(connector.max_batch() >= 1, "{service}: max_batch of 0");
    assert!(connector.lookup_batch(&[]).await.is_empty());
    assert_eq!(
        server.request_count(),
        0,
        "{service} contract, Batch: an empty batch sends nothing"
    );

    // Mixed answers: each domain its own outcome and credits, one request per chunk.
    let server = ScriptedServer::start(b.replies.clone()).await;
    let connector = connect(&server.base_url(), contract_policy(service));
    let answers = connector.lookup_batch(&b.domains).await;
    check_order(&answers, "mixed");
    let mut distinct: Vec<&String> = b.domains.iter().collect();
    distinct.sort();
    distinct.dedup();
    let requests = distinct.len().div_ceil(connector.max_batch());
    assert_eq!(
        (b.replies.len(), server.request_count()),
        (requests, requests),
        "{service} contract, Batch: one request per {} distinct domains",
        connector.max_batch()
    );
    assert!(
        server.requests().iter().all(|r| r.carries(&c.key)),
        "{service} contract, Batch: every request carries the key"
    );
    for (answer, (expect, credits)) in answers.iter().zip(&b.expected) {
        assert_eq!(
            Expect::of(&answer.outcome),
            *expect,
            "{service} contract, Batch: {}: {:?}",
            answer.domain,
            answer.outcome
        );
        assert!(
            (answer.credits - credits).abs() < 1e-9,
            "{service} contract, Batch: {} cost {} credits, expected {credits}",
            answer.domain,
            answer.credits
        );
        if let Ok(LookupOutcome::Found(records)) = &answer.outcome {
            assert!(
                records
                    .iter()
                    .all(|r| connector.sources().contains(&r.source)),
                "{service} contract, Batch: a record of a source the provider doesn't declare"
            );
        }
        if let Err(e) = &answer.outcome {
            errors.check(Mode::Batch, e);
        }
    }

    // A refused key: every domain fails with Auth after one request, not one per domain.
    let server = ScriptedServer::start([]).await;
    server.set_fallback(Some(b.auth.clone()));
    let connector = connect(&server.base_url(), contract_policy(service));
    let answers = connector.lookup_batch(&b.domains).await;
    check_order(&answers, "refused key");
    for answer in &answers {
        match &answer.outcome {
            Err(e @ ConnectorError::Auth { .. }) => errors.check(Mode::Batch, e),
            other => panic!(
                "{service} contract, Batch: a refused key: expected Err(Auth), got {other:?}"
            ),
        }
        assert!(
            answer.credits.abs() < 1e-12,
            "{service}: a refused request is billed"
        );
    }
    assert_eq!(
        server.request_count(),
        1,
        "{service} contract, Batch: a refused key is asked once per batch"
    );

    // Nothing listens: every domain a transient Transport error, none billed.
    let connector = connect(&closed_port_url(), timeout_policy(service));
    let answers = connector.lookup_batch(&b.domains).await;
    check_order(&answers, "unreachable");
    for answer in &answers {
        match &answer.outcome {
            Err(e @ ConnectorError::Transport { .. }) => errors.check(Mode::Batch, e),
            other => panic!(
                "{service} contract, Batch: unreachable: expected Err(Transport), got {other:?}"
            ),
        }
        assert!(answer.credits.abs() < 1e-12);
    }
}

/// What one record's write should come to, for [`CrmContract::partial_expected`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    Written,
    Failed(ErrorKind),
}

/// How a CRM connector answers, for [`check_crm`].
#[derive(Debug, Clone, PartialEq)]
pub struct CrmContract {
    pub service: Service,
    /// The token the connector is built with; it must never appear in an error.
    pub token: String,
    /// The answers of one `pull(&PullRequest::default(), None)`, a last page, and how
    /// many companies it holds.
    pub pull_page: Vec<Reply>,
    pub pull_companies: usize,
    /// A pull answer the connector can't read, and the path its error must name.
    pub pull_malformed: MalformedCase,
    /// The updates every write sends (at least two, so a partial answer can split them).
    pub updates: Vec<CompanyUpdate>,
    /// The answers that write every update.
    pub update_written: Vec<Reply>,
    /// A partial answer (HubSpot's 207) and what each update comes to (input order); the
    /// records it fails finally, so no further request follows.
    pub update_partial: Vec<Reply>,
    pub partial_expected: Vec<Expected>,
    /// A write answer the connector can't read, and the path its errors must name.
    pub update_malformed: MalformedCase,
    /// The answer to a refused token (any endpoint).
    pub auth: Reply,
}

/// Checks every record failed with `kind`, and their errors for the token.
fn all_failed(errors: &mut Errors<'_>, mode: Mode, outcomes: &[WriteOutcome], kind: ErrorKind) {
    let service = errors.service;
    assert!(
        outcome_kinds(outcomes)
            .iter()
            .all(|k| *k == Expected::Failed(kind)),
        "{service} contract, {mode:?}: every record reports {kind:?}: {outcomes:?}"
    );
    for o in outcomes {
        if let WriteOutcome::Failed { error, .. } = o {
            errors.check(mode, error);
        }
    }
}

fn outcome_kinds(outcomes: &[WriteOutcome]) -> Vec<Expected> {
    outcomes
        .iter()
        .map(|o| match o {
            WriteOutcome::Written { .. } => Expected::Written,
            WriteOutcome::Failed { error, .. } => Expected::Failed(ErrorKind::of(error)),
        })
        .collect()
}

/// Runs the CRM contract through the [`Crm`] trait (pull, update), as
/// [`check_provider`] does for providers. Panics at the first breach.
pub async fn check_crm<C, B>(contract: &CrmContract, build: B) -> Report
where
    C: Crm,
    B: Fn(&str, Secret, HttpPolicy) -> Result<C, ConnectorError>,
{
    let c = contract;
    let service = c.service;
    assert!(
        c.updates.len() >= 2 && c.partial_expected.len() == c.updates.len(),
        "{service} contract: two or more updates, one expectation each"
    );
    let mut report = Report::default();
    let mut errors = Errors {
        service,
        key: &c.token,
        seen: 0,
    };
    let policy = contract_policy(service);
    let retries = policy.max_retries as usize;
    let n = c.updates.len();
    let connect = |server: &ScriptedServer, policy: HttpPolicy| {
        build(&server.base_url(), Secret::new(c.token.clone()), policy)
            .unwrap_or_else(|e| panic!("{service} contract: building the connector: {e}"))
    };
    let request = PullRequest::default();
    let pull = async |server: &ScriptedServer, policy: HttpPolicy| {
        connect(server, policy).pull(&request, None).await
    };
    let update = async |server: &ScriptedServer, policy: HttpPolicy| {
        let outcomes = connect(server, policy)
            .update_companies(&c.updates)
            .await
            .unwrap_or_else(|e| panic!("{service} contract: a write that can't be sent: {e}"));
        assert_eq!(
            outcomes.len(),
            n,
            "{service} contract: one outcome per update, none lost"
        );
        outcomes
    };
    // Pull and write, answered.
    let server = ScriptedServer::start(c.pull_page.clone()).await;
    let page = pull(&server, policy.clone())
        .await
        .unwrap_or_else(|e| panic!("{service} contract, Found: the pull failed: {e}"));
    assert_eq!(
        page.companies.len(),
        c.pull_companies,
        "{service} contract, Found"
    );
    assert!(
        page.next.is_none(),
        "{service} contract: the pull page is the last"
    );
    assert!(server.requests().iter().all(|r| r.carries(&c.token)));
    let server = ScriptedServer::start(c.update_written.clone()).await;
    let outcomes = update(&server, policy.clone()).await;
    assert_eq!(
        outcome_kinds(&outcomes),
        vec![Expected::Written; n],
        "{service} contract, Found: every update written: {outcomes:?}"
    );
    let ids: Vec<&str> = outcomes.iter().map(WriteOutcome::id).collect();
    let sent: Vec<&str> = c.updates.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(
        ids, sent,
        "{service} contract: one outcome per update, in order"
    );
    report.checked(Mode::Found);

    // A refused token: the pull fails, every record of the write fails, no retry.
    let server = ScriptedServer::start([c.auth.clone()]).await;
    let error = match pull(&server, policy.clone()).await {
        Err(e @ ConnectorError::Auth { .. }) => e,
        other => panic!("{service} contract, Auth: expected Err(Auth), got {other:?}"),
    };
    assert!(error.stops_service(), "{error:?}");
    assert_eq!(
        server.request_count(),
        1,
        "{service} contract, Auth: no retry"
    );
    errors.check(Mode::Auth, &error);
    let server = ScriptedServer::start([c.auth.clone()]).await;
    let outcomes = update(&server, policy.clone()).await;
    all_failed(&mut errors, Mode::Auth, &outcomes, ErrorKind::Auth);
    assert_eq!(
        server.request_count(),
        1,
        "{service} contract, Auth: no retry"
    );
    report.checked(Mode::Auth);

    // 429 with Retry-After, then the answer.
    let retry_after = RETRY_AFTER_SECS.to_string();
    for (what, answer) in [("pull", &c.pull_page), ("write", &c.update_written)] {
        let mut replies = vec![rate_limited(&retry_after)];
        replies.extend(answer.iter().cloned());
        let server = ScriptedServer::start(replies).await;
        if what == "pull" {
            pull(&server, policy.clone())
                .await
                .unwrap_or_else(|e| panic!("{service} contract, RateLimited: {what}: {e}"));
        } else {
            let outcomes = update(&server, policy.clone()).await;
            assert_eq!(outcome_kinds(&outcomes), vec![Expected::Written; n]);
        }
        let seen = server.requests();
        assert_eq!(
            seen.len(),
            1 + answer.len(),
            "{service} contract, RateLimited: {what}"
        );
        let waited = seen[1].arrived - seen[0].arrived;
        assert!(
            waited >= Duration::from_secs_f64(RETRY_AFTER_SECS),
            "{service} contract, RateLimited: {what}: Retry-After not honoured ({waited:?})"
        );
    }
    report.checked(Mode::RateLimited);

    // 503, 502, then the answer; then 500 on every attempt.
    for (what, answer) in [("pull", &c.pull_page), ("write", &c.update_written)] {
        let mut replies = vec![server_error(503), server_error(502)];
        replies.extend(answer.iter().cloned());
        let server = ScriptedServer::start(replies).await;
        if what == "pull" {
            pull(&server, policy.clone())
                .await
                .unwrap_or_else(|e| panic!("{service} contract, ServerError: {what}: {e}"));
        } else {
            let outcomes = update(&server, policy.clone()).await;
            assert_eq!(outcome_kinds(&outcomes), vec![Expected::Written; n]);
        }
        assert_eq!(
            server.request_count(),
            2 + answer.len(),
            "{service} contract, ServerError: {what}: each 5xx is retried"
        );
    }
    let server = ScriptedServer::start([]).await;
    server.set_fallback(Some(server_error(500)));
    let error = match pull(&server, policy.clone()).await {
        Err(e @ ConnectorError::Server { status: 500, .. }) => e,
        other => panic!("{service} contract, ServerError: expected Err(Server), got {other:?}"),
    };
    assert!(error.is_transient(), "{error:?}");
    assert_eq!(server.request_count(), 1 + retries);
    errors.check(Mode::ServerError, &error);
    let server = ScriptedServer::start([]).await;
    server.set_fallback(Some(server_error(500)));
    let outcomes = update(&server, policy.clone()).await;
    all_failed(&mut errors, Mode::ServerError, &outcomes, ErrorKind::Server);
    assert_eq!(
        server.request_count(),
        1 + retries,
        "{service} contract, ServerError: the write is retried max_retries times, then reported"
    );
    report.checked(Mode::ServerError);

    // A partial answer: each record its own outcome, final failures not resent.
    let server = ScriptedServer::start(c.update_partial.clone()).await;
    let outcomes = update(&server, policy.clone()).await;
    assert_eq!(
        outcome_kinds(&outcomes),
        c.partial_expected,
        "{service} contract, PartialWrite: {outcomes:?}"
    );
    for o in &outcomes {
        if let WriteOutcome::Failed { error, .. } = o {
            errors.check(Mode::PartialWrite, error);
        }
    }
    assert_eq!(
        server.request_count(),
        c.update_partial.len(),
        "{service} contract, PartialWrite: final errors are not resent"
    );
    report.checked(Mode::PartialWrite);

    // Malformed answers name the path.
    let server = ScriptedServer::start(c.pull_malformed.replies.clone()).await;
    match pull(&server, policy.clone()).await {
        Err(e @ ConnectorError::Malformed { .. }) => {
            assert!(
                matches!(&e, ConnectorError::Malformed { path, .. } if *path == c.pull_malformed.path),
                "{service} contract, Malformed: the pull error names `{}`: {e}",
                c.pull_malformed.path
            );
            errors.check(Mode::Malformed, &e);
        }
        other => panic!("{service} contract, Malformed: expected Err(Malformed), got {other:?}"),
    }
    let server = ScriptedServer::start(c.update_malformed.replies.clone()).await;
    let outcomes = update(&server, policy.clone()).await;
    all_failed(
        &mut errors,
        Mode::Malformed,
        &outcomes,
        ErrorKind::Malformed,
    );
    for o in &outcomes {
        assert!(
            matches!(o, WriteOutcome::Failed { error: ConnectorError::Malformed { path, .. }, .. } if *path == c.update_malformed.path),
            "{service} contract, Malformed: the write error names `{}`: {o:?}",
            c.update_malformed.path
        );
    }
    report.checked(Mode::Malformed);

    // A silent server, then no server at all.
    let short = timeout_policy(service);
    let attempts = 1 + short.max_retries as usize;
    let server = ScriptedServer::start([]).await;
    server.set_fallback(c.pull_page.first().cloned().map(|r| r.delayed(SILENCE)));
    match pull(&server, short.clone()).await {
        Err(e @ ConnectorError::Timeout { .. }) => errors.check(Mode::Timeout, &e),
        other => panic!("{service} contract, Timeout: expected Err(Timeout), got {other:?}"),
    }
    assert_eq!(
        server.request_count(),
        attempts,
        "{service} contract, Timeout"
    );
    let server = ScriptedServer::start([]).await;
    server.set_fallback(
        c.update_written
            .first()
            .cloned()
            .map(|r| r.delayed(SILENCE)),
    );
    let outcomes = update(&server, short.clone()).await;
    all_failed(&mut errors, Mode::Timeout, &outcomes, ErrorKind::Timeout);
    report.checked(Mode::Timeout);

    let closed = closed_port_url();
    let connector = build(&closed, Secret::new(c.token.clone()), short)
        .unwrap_or_else(|e| panic!("{service} contract: building the connector: {e}"));
    match connector.pull(&request, None).await {
        Err(e @ ConnectorError::Transport { .. }) => {
            assert!(e.is_transient(), "{e:?}");
            errors.check(Mode::Unreachable, &e);
        }
        other => panic!("{service} contract, Unreachable: expected Err(Transport), got {other:?}"),
    }
    report.checked(Mode::Unreachable);

    assert!(errors.seen > 0);
    report.checked(Mode::KeyNeverInErrors);
    report
}

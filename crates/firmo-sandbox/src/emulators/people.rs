//! Clay person enrichment, under `/clay/people`: a *people* table, driven like the
//! company table ([`super::clay`]) but keyed by a person.
//!
//! Clay's documented flow for people is the company one with other columns: a table's
//! webhook takes a row per person (Clay's guides send an email, a name and a company
//! domain, or a LinkedIn URL), the table's "Enrich Person" and "LinkedIn Profile" columns
//! run, and an "HTTP API" column POSTs the enriched row to a URL of the user's
//! (university.clay.com "Using Clay as an API"; the "Clay API for New User Enrichment"
//! template: Enrich Person → name, title, org; LinkedIn Profile → LinkedIn URL).
//!
//! 1. `POST /clay/people/webhooks/{table_id}` with a JSON object, e.g.
//!    `{"contact_id":"7","email":"maya.chen@acme.example","company_domain":"acme.example"}`:
//!    200 `{"success":true,"row_id":"…"}`; 400 when not a JSON object; 401 without the
//!    table's webhook token in `x-clay-webhook-auth`; 404 for an unknown table; 413 over
//!    100 KB.
//! 2. After `clay_callback_delay` the enriched row (the input echoed, then the columns
//!    below) is POSTed to the table's callback URL with its secret header, retried
//!    `clay_callback_retries` times `clay_retry_backoff` apart when the receiver fails.
//!
//! `PUT /clay/people/_emulator/tables/{table_id}` (same body as the company tables')
//! creates or updates a table; one table, `people`, exists from the start with no token
//! and no callback. `GET /clay/people/_emulator/stats` counts rows and callbacks.
//!
//! | column | example | notes |
//! |---|---|---|
//! | `job_title` | `"VP Engineering"` | current title |
//! | `linkedin_url` | `"https://www.linkedin.com/in/maya-chen-3f2a"` | the profile |
//! | `seniority` | `"vp"` | Apollo-style seniority |
//! | `role_start_date` | `"2026-10-22"` | start date in the current role |
//! | `company_domain` | `"acme.example"` | echoed or taken from the email |
//! | `clay_table_id`, `clay_row_id` | | |
//!
//! Who is found: the people at the row's company (the email's domain, else
//! `company_domain`), by the email's local part `first.last` or by their LinkedIn URL.
//! They are [`people_at`] that domain: its engineering leader from the company's synthetic
//! profile ([`super::synth::engineering_lead`], the same person Clay's company table lists
//! among its executive changes), with title, seniority and start date fixed by it, and
//! two to five of the [`OTHERS`]. The sandbox's demo contacts are the same people, so the
//! CRM, the people table and the company table agree. Anyone else (or a LinkedIn URL
//! without a company) comes back with every enrichment column `null` (Clay found no one).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use firmo_core::Date;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::{ClayTable, EmulatorSettings, synth};

/// The largest webhook body accepted (Clay's documented row limit).
const MAX_BODY: usize = 100 * 1024;
const WEBHOOK_AUTH_HEADER: &str = "x-clay-webhook-auth";
/// The people table every emulator starts with.
pub const DEFAULT_TABLE: &str = "people";

/// Someone Clay knows at a company: the demo contacts are these people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Persona {
    pub first: &'static str,
    pub last: &'static str,
    pub title: &'static str,
    pub seniority: &'static str,
    /// Days between starting the current role and the emulator's `today`.
    pub days_in_role: i64,
}

impl Persona {
    pub const fn new(
        first: &'static str,
        last: &'static str,
        title: &'static str,
        seniority: &'static str,
        days_in_role: i64,
    ) -> Persona {
        Persona {
            first,
            last,
            title,
            seniority,
            days_in_role,
        }
    }

    /// `first.last`, the local part of their demo email.
    pub fn local_part(&self) -> String {
        format!("{}.{}", self.first, self.last).to_lowercase()
    }

    /// Their LinkedIn profile at `domain`'s company: a slug with a short suffix stable
    /// per person and company (two companies' Lena Fischers are two people).
    pub fn linkedin_url(&self, domain: &str) -> String {
        let key = format!("{}@{}", self.local_part(), key_domain(domain));
        let suffix = fnv1a(key.as_bytes()) % 0x1_0000;
        format!(
            "https://www.linkedin.com/in/{}-{}-{suffix:04x}",
            self.first.to_lowercase(),
            self.last.to_lowercase()
        )
    }

    /// When they started the role, relative to `today`.
    pub fn role_start(&self, today: Date) -> Option<Date> {
        Date::from_days_since_epoch(today.days_since_epoch() - self.days_in_role)
    }
}

/// Everyone else firmo might select or skip (DevOps/SRE, engineers, other functions).
pub const OTHERS: &[Persona] = &[
    Persona::new(
        "Lena",
        "Fischer",
        "Director of Platform Engineering",
        "director",
        410,
    ),
    Persona::new("Omar", "Haddad", "Site Reliability Engineer", "senior", 220),
    Persona::new("Grace", "Okafor", "DevOps Lead", "manager", 530),
    Persona::new("Daniel", "Novak", "Senior Software Engineer", "senior", 380),
    Persona::new("Chloe", "Dubois", "Account Executive", "entry", 150),
    Persona::new("Ivan", "Petrov", "Marketing Manager", "manager", 900),
    Persona::new("Aisha", "Rahman", "Engineering Manager", "manager", 260),
    Persona::new("Lucas", "Silva", "Head of Sales", "head", 75),
    Persona::new("Hannah", "Berg", "Staff Engineer", "senior", 610),
    Persona::new("Noah", "Kim", "Former CTO, Advisor", "partner", 95),
];

/// A domain as people are keyed by: normalized like the company profiles' keys.
fn key_domain(domain: &str) -> String {
    synth::normalize_domain(domain).unwrap_or_else(|| domain.trim().to_ascii_lowercase())
}

/// The people at `domain`'s company, its engineering leader (if LinkedIn lists one) first,
/// then two to five of the [`OTHERS`]. Deterministic: the domain alone decides.
pub fn people_at(domain: &str) -> Vec<Persona> {
    let domain = key_domain(domain);
    let mut out: Vec<Persona> = synth::engineering_lead(&domain)
        .map(|l| l.person)
        .into_iter()
        .collect();
    let h = synth::hash(&domain, "people");
    let others = 2 + (h % 4) as usize;
    let start = ((h >> 8) as usize) % OTHERS.len();
    out.extend((0..others).map(|i| OTHERS[(start + i) % OTHERS.len()]));
    out
}

/// Whether `domain`'s company has a CTO or VP of Engineering who started within the
/// recent window ([`synth::RECENT_LEAD_DAYS`]): where `exec_change` must be set.
pub fn has_recent_exec(domain: &str) -> bool {
    synth::engineering_lead(domain).is_some_and(|l| l.recent_exec_change)
}

/// The person at `domain`'s company an email's local part (`maya.chen@…`) or a LinkedIn
/// URL names, case-insensitively.
fn find(domain: &str, email: Option<&str>, linkedin: Option<&str>) -> Option<Persona> {
    let people = people_at(domain);
    let local = email
        .and_then(|e| e.split('@').next())
        .map(str::to_lowercase);
    let url = linkedin.map(|u| u.trim_end_matches('/').to_lowercase());
    people.into_iter().find(|p| {
        local.as_deref() == Some(p.local_part().as_str())
            || url.as_deref() == Some(p.linkedin_url(domain).as_str())
    })
}

/// The enriched row for `input`, as the HTTP API column posts it.
pub fn enriched_person_row(input: &Map<String, Value>, today: Date) -> Map<String, Value> {
    let mut row = input.clone();
    let text = |key: &str| input.get(key).and_then(Value::as_str).map(str::trim);
    let email = text("email").filter(|e| e.contains('@'));
    let email_domain = email.and_then(|e| e.split_once('@')).map(|(_, d)| d);
    // Where they work: their email says it best; the company the row names otherwise.
    let domain = email_domain
        .or_else(|| text("company_domain"))
        .filter(|d| !d.is_empty());
    let found = domain.and_then(|d| find(d, email, text("linkedin_url")).map(|p| (d, p)));
    if !row.contains_key("company_domain")
        && let Some(domain) = email_domain
    {
        row.insert("company_domain".into(), json!(domain.to_lowercase()));
    }
    let columns = match found {
        Some((domain, p)) => [
            ("job_title", json!(p.title)),
            ("linkedin_url", json!(p.linkedin_url(domain))),
            ("seniority", json!(p.seniority)),
            (
                "role_start_date",
                p.role_start(today)
                    .map_or(Value::Null, |d| json!(d.to_string())),
            ),
        ],
        None => [
            ("job_title", Value::Null),
            ("linkedin_url", Value::Null),
            ("seniority", Value::Null),
            ("role_start_date", Value::Null),
        ],
    };
    for (key, value) in columns {
        row.insert(key.into(), value);
    }
    row
}

/// What the people emulator counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PeopleCounts {
    pub rows_received: u64,
    pub callbacks_delivered: u64,
    pub callbacks_failed: u64,
    pub rows_without_callback: u64,
}

struct PeopleState {
    today: Date,
    delay: Duration,
    retries: u32,
    backoff: Duration,
    tables: Mutex<HashMap<String, ClayTable>>,
    counts: Mutex<PeopleCounts>,
    next_row: AtomicU64,
    http: reqwest::Client,
}

impl PeopleState {
    fn count(&self, f: impl FnOnce(&mut PeopleCounts)) {
        f(&mut self.counts.lock().unwrap_or_else(PoisonError::into_inner));
    }
}

/// The people table routes, with full paths (merged beside the company table's).
pub fn router(settings: &EmulatorSettings) -> Router {
    // reqwest refuses to build a client without a rustls provider, even for http.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let tables = HashMap::from([(DEFAULT_TABLE.to_owned(), ClayTable::new(DEFAULT_TABLE))]);
    let state = Arc::new(PeopleState {
        today: settings.today,
        delay: settings.clay_callback_delay,
        retries: settings.clay_callback_retries,
        backoff: settings.clay_retry_backoff,
        tables: Mutex::new(tables),
        counts: Mutex::default(),
        next_row: AtomicU64::new(1),
        // A receiver that never answers must not hold a delivery forever.
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default(),
    });
    Router::new()
        .route("/clay/people/webhooks/{table_id}", post(webhook))
        .route(
            "/clay/people/_emulator/tables/{table_id}",
            put(configure_table),
        )
        .route("/clay/people/_emulator/stats", get(stats))
        .with_state(state)
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"success": false, "message": message}))).into_response()
}

async fn webhook(
    State(state): State<Arc<PeopleState>>,
    Path(table_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if body.len() > MAX_BODY {
        return error(StatusCode::PAYLOAD_TOO_LARGE, "a row is limited to 100KB");
    }
    let table = state
        .tables
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&table_id)
        .cloned();
    let Some(table) = table else {
        return error(
            StatusCode::NOT_FOUND,
            "no people table with this webhook id",
        );
    };
    if let Some(token) = &table.webhook_token {
        let sent = headers
            .get(WEBHOOK_AUTH_HEADER)
            .and_then(|v| v.to_str().ok());
        if sent != Some(token.as_str()) {
            return error(StatusCode::UNAUTHORIZED, "missing or wrong webhook token");
        }
    }
    let Ok(Value::Object(input)) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "the body must be a JSON object");
    };
    let row_id = format!("p_{:06}", state.next_row.fetch_add(1, Ordering::Relaxed));
    state.count(|c| c.rows_received += 1);
    let mut row = enriched_person_row(&input, state.today);
    row.insert("clay_table_id".into(), json!(table_id));
    row.insert("clay_row_id".into(), json!(row_id));
    match table.callback_url.clone() {
        Some(url) => {
            let state = state.clone();
            tokio::spawn(async move { deliver(&state, &table, &url, Value::Object(row)).await });
        }
        None => state.count(|c| c.rows_without_callback += 1),
    }
    Json(json!({"success": true, "row_id": row_id})).into_response()
}

async fn deliver(state: &PeopleState, table: &ClayTable, url: &str, row: Value) {
    tokio::time::sleep(state.delay).await;
    for attempt in 0..=state.retries {
        if attempt > 0 {
            tokio::time::sleep(state.backoff).await;
        }
        let mut request = state.http.post(url).json(&row);
        if let Some(secret) = &table.callback_secret {
            request = request.header(table.callback_secret_header.as_str(), secret.as_str());
        }
        if request.send().await.is_ok_and(|r| r.status().is_success()) {
            state.count(|c| c.callbacks_delivered += 1);
            return;
        }
    }
    state.count(|c| c.callbacks_failed += 1);
}

async fn configure_table(
    State(state): State<Arc<PeopleState>>,
    Path(table_id): Path<String>,
    body: Bytes,
) -> Response {
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "the body must be a JSON object");
    };
    let text = |key: &str| fields.get(key).and_then(Value::as_str).map(str::to_owned);
    let mut tables = state.tables.lock().unwrap_or_else(PoisonError::into_inner);
    let table = tables
        .entry(table_id.clone())
        .or_insert_with(|| ClayTable::new(&table_id));
    if let Some(url) = text("callback_url") {
        table.callback_url = Some(url);
    }
    if let Some(header) = text("callback_secret_header") {
        table.callback_secret_header = header;
    }
    if let Some(secret) = text("callback_secret") {
        table.callback_secret = Some(secret);
    }
    if let Some(token) = text("webhook_token") {
        table.webhook_token = Some(token);
    }
    Json(json!({"table_id": table_id})).into_response()
}

async fn stats(State(state): State<Arc<PeopleState>>) -> Response {
    let counts = *state.counts.lock().unwrap_or_else(PoisonError::into_inner);
    Json(counts).into_response()
}

/// FNV-1a, 64 bits: stable across Rust versions, so demo data never shifts.
pub(crate) fn fnv1a(data: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in data {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::super::testutil;
    use super::*;

    /// Who counts for `exec_change` as firmo-core classifies a title, and when.
    fn counts(p: &Persona) -> bool {
        firmo_core::title::engineering_exec(p.title)
            .is_some_and(firmo_core::title::EngineeringExec::counts_for_exec_change)
    }

    #[test]
    fn the_people_at_a_company_are_unique_and_classified_as_documented() {
        let (mut recent, mut leads) = (0, 0);
        for i in 0..400 {
            let domain = format!("company-{i}.example");
            let people = people_at(&domain);
            let mut seen = std::collections::BTreeSet::new();
            for p in &people {
                assert!(seen.insert(p.local_part()), "{domain}: {p:?} twice");
                assert!(firmo_core::normalize::seniority(p.seniority).is_ok());
                let url = p.linkedin_url(&domain);
                assert_eq!(
                    firmo_core::normalize::linkedin_profile_url(&url).unwrap(),
                    url
                );
            }
            assert!((2..=6).contains(&people.len()), "{domain}");
            // Only the leader can be a new CTO or VP Engineering, and only a recent one.
            let new_exec = people
                .iter()
                .filter(|p| counts(p) && p.days_in_role <= 90)
                .count();
            assert_eq!(new_exec, usize::from(has_recent_exec(&domain)), "{domain}");
            for p in people.iter().filter(|p| counts(p)) {
                assert!(
                    !(81..150).contains(&p.days_in_role),
                    "{domain}: {p:?} near the window's edge"
                );
            }
            recent += usize::from(has_recent_exec(&domain));
            leads += usize::from(synth::engineering_lead(&domain).is_some());
        }
        // The module docs' shares: a quarter recent, five in eight with a leader.
        assert!((70..=130).contains(&recent), "{recent} of 400");
        assert!((215..=285).contains(&leads), "{leads} of 400");
        // A spelling of the same domain is the same company.
        assert_eq!(
            people_at("WWW.Company-1.example"),
            people_at("company-1.example")
        );
    }

    #[test]
    fn a_person_is_enriched_as_their_company_profile_says_and_a_stranger_is_not() {
        let today = testutil::fixed_today();
        let lead = synth::engineering_lead("complete.example").unwrap().person;
        let input = json!({"contact_id": "7", "email": "Dana.Whitfield@Complete.example"});
        let row = enriched_person_row(input.as_object().unwrap(), today);
        assert_eq!(row["contact_id"], "7");
        assert_eq!(row["job_title"], lead.title);
        assert_eq!(row["seniority"], "c_suite");
        // The start date the company table lists for the same person.
        let change = &synth::profile("complete.example", today)
            .linkedin
            .exec_changes[0];
        assert_eq!(change.name, "Dana Whitfield");
        assert_eq!(row["role_start_date"], change.start_date.to_string());
        assert_eq!(row["role_start_date"], "2026-05-16");
        assert_eq!(row["company_domain"], "complete.example");
        let url = row["linkedin_url"].as_str().unwrap();
        let by_url =
            json!({"linkedin_url": format!("{url}/"), "company_domain": "complete.example"});
        let again = enriched_person_row(by_url.as_object().unwrap(), today);
        assert_eq!(again["job_title"], lead.title);
        // The same URL at another company, or with no company, is no one Clay knows.
        for other in [
            json!({"linkedin_url": url}),
            json!({"linkedin_url": url, "company_domain": "other.example"}),
        ] {
            let row = enriched_person_row(other.as_object().unwrap(), today);
            assert_eq!(row["job_title"], Value::Null, "{other}");
        }
        let stranger = json!({"email": "nobody@complete.example"});
        let row = enriched_person_row(stranger.as_object().unwrap(), today);
        assert_eq!(row["job_title"], Value::Null);
        assert_eq!(row["role_start_date"], Value::Null);
        // Someone at one company is not found at another that has no such person.
        let elsewhere = (0..50)
            .map(|i| format!("company-{i}.example"))
            .find(|d| !people_at(d).contains(&lead))
            .unwrap();
        let moved = json!({"email": format!("dana.whitfield@{elsewhere}")});
        let row = enriched_person_row(moved.as_object().unwrap(), today);
        assert_eq!(row["job_title"], Value::Null);
    }

    #[tokio::test]
    async fn webhook_rows_come_back_through_the_callback() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Option<String>, Value)>();
        let hook = Router::new().route(
            "/rows",
            post(move |headers: HeaderMap, Json(row): Json<Value>| {
                let tx = tx.clone();
                async move {
                    let secret = headers
                        .get("x-secret")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    let _ = tx.send((secret, row));
                    StatusCode::OK
                }
            }),
        );
        let hook = testutil::serve(hook).await;
        let settings = EmulatorSettings {
            today: testutil::fixed_today(),
            clay_callback_delay: Duration::ZERO,
            ..EmulatorSettings::default()
        };
        let base = format!("http://{}", testutil::serve(router(&settings)).await);
        let c = testutil::client();
        let configured = c
            .put(format!("{base}/clay/people/_emulator/tables/people"))
            .json(&json!({
                "callback_url": format!("http://{hook}/rows"),
                "callback_secret_header": "x-secret",
                "callback_secret": "s3",
                "webhook_token": "tok",
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(configured.status(), 200);
        let url = format!("{base}/clay/people/webhooks/people");
        let person = people_at("beta.example")[0];
        let email = format!("{}@beta.example", person.local_part());
        let body = json!({"contact_id": "9", "email": email});
        let refused = c.post(&url).json(&body).send().await.unwrap();
        assert_eq!(refused.status(), 401);
        let missing = c
            .post(format!("{base}/clay/people/webhooks/nope"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(missing.status(), 404);
        let not_object = c
            .post(&url)
            .header(WEBHOOK_AUTH_HEADER, "tok")
            .json(&json!([1]))
            .send()
            .await
            .unwrap();
        assert_eq!(not_object.status(), 400);
        let accepted = c
            .post(&url)
            .header(WEBHOOK_AUTH_HEADER, "tok")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(accepted.status(), 200);
        let (secret, row) = rx.recv().await.unwrap();
        assert_eq!(secret.as_deref(), Some("s3"));
        assert_eq!(row["contact_id"], "9");
        assert_eq!(row["job_title"], person.title);
        assert_eq!(row["clay_table_id"], "people");
    }
}

//! Crunchbase API v4 (`api.crunchbase.com/api/v4`), under `/crunchbase`.
//!
//! - Auth: header `X-cb-user-key: KEY` (the `user_key` query parameter also works, as it
//!   does on Crunchbase).
//! - `POST /crunchbase/api/v4/searches/organizations` with the documented body
//!   `{"field_ids":[…],"query":[{"type":"predicate","field_id","operator_id","values":[…]}],
//!   "limit":N}` → `{"count":N,"entities":[{"uuid","properties":{"identifier":{…},…}}]}`.
//!   The emulator cannot enumerate companies, so it finds organizations through
//!   predicates on `website_url` (or `website`) with any of the operators `eq`,
//!   `contains`, `starts`, `includes`, `domain_eq`, `domain_includes`: each value is read
//!   as a domain or URL. Other predicates are accepted and ignored. `identifier` is
//!   always returned; other requested fields are returned when the organization has a
//!   value (Crunchbase omits empty fields); unknown field ids are ignored.
//! - `GET /crunchbase/api/v4/autocompletes?query=Q&collection_ids=organizations[&limit=N]`
//!   → `{"count","entities":[{"identifier","short_description","facet_ids"}]}`. `Q` is
//!   matched as a domain, or by name against organizations this emulator has already
//!   served.
//! - `GET /crunchbase/api/v4/entities/organizations/{permalink_or_uuid}?field_ids=a,b&card_ids=raised_funding_rounds`
//!   → `{"properties":{…},"cards":{"raised_funding_rounds":[{"identifier","announced_on",
//!   "investment_type","money_raised":{"value","currency","value_usd"},
//!   "investor_identifiers":[…],…}]}}`, rounds newest first, `money_raised` absent when
//!   undisclosed. Without `field_ids` every property is returned. Organizations are
//!   resolvable once a search or autocomplete has returned them (and the reserved
//!   domains' from the start).
//! - Searches also return `last_funding_total` (the latest round's money, absent when
//!   undisclosed), so a search alone answers funding stage, date and amount. A search
//!   takes several domains in one predicate's `values` (each matched as a domain).
//! - Billing as Crunchbase's plans meter it: one credit per call answered 200 (a search of
//!   many domains is one call). Every request is recorded in the [`super::RequestLog`]
//!   with the domains it named (a search's website values, an entity's domain, an
//!   autocomplete's query).
//! - Errors are a JSON array `[{"code","message"}]`: 400 `LA100` malformed request, 401
//!   `AU100` missing or wrong key, 404 `MD100` unknown entity, 429 `RL100` past
//!   `crunchbase_rate_per_minute` in a minute (with `Retry-After`). The codes other than
//!   `MD100` are this emulator's choice.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use firmo_core::Date;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::limit::{RateLimiter, Verdict, retry_after_secs};
use super::synth::{self, FundingRound, Profile, Provider};
use super::{Asked, EmulatorSettings, RequestLog};

/// Crunchbase's documented maximum page size for searches.
const MAX_LIMIT: u64 = 1000;

#[derive(Debug)]
struct CrunchbaseState {
    key: String,
    today: Date,
    limiter: RateLimiter,
    /// Permalink or UUID → domain, for organizations already served.
    known: Mutex<HashMap<String, String>>,
    log: RequestLog,
}

impl CrunchbaseState {
    fn remember(&self, p: &Profile) {
        let mut known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        known.insert(p.crunchbase_permalink(), p.domain.clone());
        known.insert(p.crunchbase_uuid(), p.domain.clone());
    }

    fn resolve(&self, id: &str) -> Option<String> {
        let known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        known.get(&id.to_ascii_lowercase()).cloned()
    }
}

/// The Crunchbase routes (mounted under `/crunchbase`).
pub fn router(settings: &EmulatorSettings) -> Router {
    let state = Arc::new(CrunchbaseState {
        key: settings.crunchbase_key.clone(),
        today: settings.today,
        limiter: RateLimiter::per_minute(settings.crunchbase_rate_per_minute),
        known: Mutex::new(HashMap::new()),
        log: settings.requests.clone(),
    });
    for domain in synth::RESERVED_DOMAINS {
        let p = synth::profile(domain, settings.today);
        if p.found_at(Provider::Crunchbase) {
            state.remember(&p);
        }
    }
    Router::new()
        .route("/api/v4/searches/organizations", post(search))
        .route("/api/v4/autocompletes", get(autocomplete))
        .route("/api/v4/entities/organizations/{id}", get(entity))
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            record,
        ))
        .with_state(state)
}

/// Records each request in the log: its endpoint, the domains it named, its status, and
/// one credit when it was answered 200.
async fn record(
    State(state): State<Arc<CrunchbaseState>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let (parts, body) = request.into_parts();
    // Searches are small JSON bodies; the cap only guards the emulator.
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let path = parts.uri.path().to_owned();
    let query: HashMap<String, String> = Query::try_from_uri(&parts.uri)
        .map(|Query(q)| q)
        .unwrap_or_default();
    let (endpoint, domains) = if path.ends_with("/searches/organizations") {
        ("searches/organizations", search_domains(&bytes))
    } else if let Some(id) = path
        .rsplit('/')
        .next()
        .filter(|_| path.contains("/entities/"))
    {
        let domain = state.resolve(id).unwrap_or_else(|| id.to_owned());
        ("entities/organizations", vec![domain])
    } else {
        let q = query.get("query").cloned().unwrap_or_default();
        let d = synth::normalize_domain(&q).unwrap_or(q);
        ("autocompletes", vec![d])
    };
    let request = axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes));
    let response = next.run(request).await;
    let status = response.status().as_u16();
    state.log.record(Asked {
        provider: "crunchbase",
        endpoint,
        domains,
        status,
        credits: if status == 200 { 1.0 } else { 0.0 },
    });
    response
}

/// The domains a search body's website predicates name, in order.
fn search_domains(body: &[u8]) -> Vec<String> {
    let Ok(body) = serde_json::from_slice::<SearchBody>(body) else {
        return Vec::new();
    };
    let mut domains = Vec::new();
    for p in &body.query {
        if p.field_id == "website_url" || p.field_id == "website" {
            for v in &p.values {
                if let Some(d) = v.as_str().and_then(synth::normalize_domain)
                    && !domains.contains(&d)
                {
                    domains.push(d);
                }
            }
        }
    }
    domains
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!([{"code": code, "message": message}]))).into_response()
}

/// Checks the key and the rate limit; `Err` is the response to send instead.
fn admit(
    state: &CrunchbaseState,
    headers: &HeaderMap,
    query_key: Option<&str>,
) -> Result<(), Box<Response>> {
    let presented = headers
        .get("x-cb-user-key")
        .and_then(|v| v.to_str().ok())
        .or(query_key);
    if presented != Some(state.key.as_str()) {
        return Err(Box::new(error(
            StatusCode::UNAUTHORIZED,
            "AU100",
            "Missing or invalid user key.",
        )));
    }
    match state.limiter.check(&state.key) {
        Verdict::Allowed { .. } => Ok(()),
        Verdict::Limited { reset_in } => {
            let mut resp = error(
                StatusCode::TOO_MANY_REQUESTS,
                "RL100",
                "Rate limit exceeded.",
            );
            resp.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(retry_after_secs(reset_in)),
            );
            Err(Box::new(resp))
        }
    }
}

#[derive(Debug, Deserialize)]
struct KeyParam {
    user_key: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SearchBody {
    #[serde(default)]
    field_ids: Vec<String>,
    query: Vec<Predicate>,
    limit: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct Predicate {
    #[serde(rename = "type")]
    kind: String,
    field_id: String,
    operator_id: String,
    #[serde(default)]
    values: Vec<Value>,
}

const WEBSITE_OPERATORS: &[&str] = &[
    "eq",
    "contains",
    "starts",
    "includes",
    "domain_eq",
    "domain_includes",
];

async fn search(
    State(state): State<Arc<CrunchbaseState>>,
    headers: HeaderMap,
    Query(key): Query<KeyParam>,
    body: Bytes,
) -> Response {
    if let Err(resp) = admit(&state, &headers, key.user_key.as_deref()) {
        return *resp;
    }
    let body: SearchBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                "LA100",
                &format!("Invalid request body: {e}"),
            );
        }
    };
    let limit = body.limit.unwrap_or(50);
    if limit == 0 || limit > MAX_LIMIT {
        return error(
            StatusCode::BAD_REQUEST,
            "LA100",
            "limit must be between 1 and 1000.",
        );
    }
    let mut domains: Vec<String> = Vec::new();
    for p in &body.query {
        if p.kind != "predicate" {
            return error(
                StatusCode::BAD_REQUEST,
                "LA100",
                &format!("Unsupported query type `{}`.", p.kind),
            );
        }
        let website = p.field_id == "website_url" || p.field_id == "website";
        if website && WEBSITE_OPERATORS.contains(&p.operator_id.as_str()) {
            for v in &p.values {
                if let Some(d) = v.as_str().and_then(synth::normalize_domain)
                    && !domains.contains(&d)
                {
                    domains.push(d);
                }
            }
        }
    }
    let entities: Vec<Value> = domains
        .iter()
        .map(|d| synth::profile(d, state.today))
        .filter(|p| p.found_at(Provider::Crunchbase))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .map(|p| {
            state.remember(&p);
            let props = select(organization_properties(&p), Some(&body.field_ids));
            json!({"uuid": p.crunchbase_uuid(), "properties": props})
        })
        .collect();
    Json(json!({"count": entities.len(), "entities": entities})).into_response()
}

#[derive(Debug, Deserialize)]
struct AutocompleteParams {
    query: Option<String>,
    collection_ids: Option<String>,
    limit: Option<usize>,
    user_key: Option<String>,
}

async fn autocomplete(
    State(state): State<Arc<CrunchbaseState>>,
    headers: HeaderMap,
    Query(params): Query<AutocompleteParams>,
) -> Response {
    if let Err(resp) = admit(&state, &headers, params.user_key.as_deref()) {
        return *resp;
    }
    let Some(query) = params
        .query
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty())
    else {
        return error(StatusCode::BAD_REQUEST, "LA100", "query is required.");
    };
    let wants_orgs = params
        .collection_ids
        .as_deref()
        .is_none_or(|c| c.split(',').any(|c| c.trim() == "organizations"));
    let limit = params.limit.unwrap_or(10).clamp(1, 25);
    let mut found: Vec<Profile> = Vec::new();
    if wants_orgs {
        if let Some(d) = synth::normalize_domain(query) {
            let p = synth::profile(&d, state.today);
            if p.found_at(Provider::Crunchbase) {
                found.push(p);
            }
        } else {
            let needle = query.to_lowercase();
            let known: Vec<String> = {
                let known = state.known.lock().unwrap_or_else(PoisonError::into_inner);
                let mut ds: Vec<String> = known.values().cloned().collect();
                ds.sort();
                ds.dedup();
                ds
            };
            found.extend(
                known
                    .iter()
                    .map(|d| synth::profile(d, state.today))
                    .filter(|p| p.name.to_lowercase().contains(&needle)),
            );
        }
    }
    found.truncate(limit);
    let entities: Vec<Value> = found
        .iter()
        .map(|p| {
            state.remember(p);
            json!({
                "identifier": identifier(p),
                "short_description": short_description(p),
                "facet_ids": ["company", "operating"],
            })
        })
        .collect();
    Json(json!({"count": entities.len(), "entities": entities})).into_response()
}

#[derive(Debug, Deserialize)]
struct EntityParams {
    field_ids: Option<String>,
    card_ids: Option<String>,
    user_key: Option<String>,
}

async fn entity(
    State(state): State<Arc<CrunchbaseState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(params): Query<EntityParams>,
) -> Response {
    if let Err(resp) = admit(&state, &headers, params.user_key.as_deref()) {
        return *resp;
    }
    let Some(domain) = state.resolve(&id) else {
        return error(
            StatusCode::NOT_FOUND,
            "MD100",
            &format!("Entity organization with id `{id}` not found."),
        );
    };
    let p = synth::profile(&domain, state.today);
    let fields: Option<Vec<String>> = params.field_ids.as_deref().map(|f| {
        f.split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    });
    let properties = select(organization_properties(&p), fields.as_deref());
    let mut cards = Map::new();
    for card in params
        .card_ids
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
    {
        if card == "raised_funding_rounds" {
            let rounds: Vec<Value> = p
                .funding_rounds
                .iter()
                .rev()
                .map(|r| round_json(&p, r))
                .collect();
            cards.insert(card.to_owned(), Value::Array(rounds));
        }
    }
    Json(json!({"properties": properties, "cards": cards})).into_response()
}

/// Keeps `identifier` and the requested fields (all when `fields` is `None`).
fn select(all: Map<String, Value>, fields: Option<&[String]>) -> Value {
    let Some(fields) = fields else {
        return Value::Object(all);
    };
    let kept = all
        .into_iter()
        .filter(|(k, _)| k == "identifier" || fields.iter().any(|f| f == k))
        .collect();
    Value::Object(kept)
}

fn identifier(p: &Profile) -> Value {
    json!({
        "uuid": p.crunchbase_uuid(),
        "value": p.name,
        "image_id": synth::slug(&p.name),
        "permalink": p.crunchbase_permalink(),
        "entity_def_id": "organization",
    })
}

fn short_description(p: &Profile) -> String {
    format!(
        "{} builds {} for its customers.",
        p.name,
        p.industry.sub_industry.to_lowercase()
    )
}

/// Crunchbase's `revenue_range` enum for an annual revenue.
fn revenue_range(usd: u64) -> &'static str {
    const M: u64 = 1_000_000;
    match usd {
        0..M => "r_00000000",
        M..10_000_000 => "r_00001000",
        10_000_000..50_000_000 => "r_00010000",
        50_000_000..100_000_000 => "r_00050000",
        100_000_000..500_000_000 => "r_00100000",
        500_000_000..1_000_000_000 => "r_00500000",
        1_000_000_000..10_000_000_000 => "r_01000000",
        _ => "r_10000000",
    }
}

/// Every organization property the emulator knows; fields without a value are absent.
fn organization_properties(p: &Profile) -> Map<String, Value> {
    let website = if p.quirks.junk {
        format!("http://WWW.{}/", p.domain.to_uppercase())
    } else {
        format!("https://www.{}", p.domain)
    };
    let loc = p.location;
    let mut m = Map::new();
    m.insert("identifier".into(), identifier(p));
    m.insert("short_description".into(), short_description(p).into());
    m.insert("website_url".into(), website.clone().into());
    m.insert("website".into(), json!({"value": website}));
    m.insert(
        "linkedin".into(),
        json!({"value": format!("https://www.linkedin.com/{}", p.linkedin.handle)}),
    );
    m.insert(
        "founded_on".into(),
        json!({"value": format!("{}-01-01", p.founded_year), "precision": "year"}),
    );
    m.insert(
        "num_employees_enum".into(),
        synth::crunchbase_employees_enum(p.headcount).into(),
    );
    m.insert(
        "revenue_range".into(),
        revenue_range(p.annual_revenue_usd).into(),
    );
    m.insert(
        "categories".into(),
        Value::Array(
            p.industry
                .tags
                .iter()
                .map(|t| {
                    json!({
                        "uuid": synth::uuid_from(t, "cb-category"),
                        "value": t,
                        "permalink": synth::slug(t),
                        "entity_def_id": "category",
                    })
                })
                .collect(),
        ),
    );
    m.insert(
        "location_identifiers".into(),
        json!([
            {"uuid": synth::uuid_from(loc.city, "cb-loc"), "value": loc.city,
             "permalink": synth::slug(loc.city), "location_type": "city", "entity_def_id": "location"},
            {"uuid": synth::uuid_from(loc.country, "cb-loc"), "value": loc.country,
             "permalink": synth::slug(loc.country), "location_type": "country", "entity_def_id": "location"},
        ]),
    );
    m.insert("operating_status".into(), "active".into());
    m.insert("company_type".into(), "for_profit".into());
    m.insert(
        "rank_org_company".into(),
        (1_000 + synth::hash(&p.domain, "cb-rank") % 500_000).into(),
    );
    if let Some(latest) = p.latest_round() {
        m.insert("last_funding_type".into(), latest.investment_type.into());
        m.insert(
            "last_funding_at".into(),
            latest.announced_on.to_string().into(),
        );
        if let Some(money) = latest.money_raised {
            m.insert(
                "last_funding_total".into(),
                json!({"value": money.value_usd, "currency": "USD", "value_usd": money.value_usd}),
            );
        }
        m.insert("num_funding_rounds".into(), p.funding_rounds.len().into());
        let total = p.funding_total_usd();
        m.insert(
            "funding_total".into(),
            json!({"value": total, "currency": "USD", "value_usd": total}),
        );
    }
    m
}

fn round_label(kind: &str) -> String {
    match kind {
        "pre_seed" => "Pre Seed Round".to_owned(),
        "angel" => "Angel Round".to_owned(),
        "seed" => "Seed Round".to_owned(),
        "series_unknown" => "Venture Round".to_owned(),
        "debt_financing" => "Debt Financing".to_owned(),
        "private_equity" => "Private Equity Round".to_owned(),
        "convertible_note" => "Convertible Note".to_owned(),
        other => match other.strip_prefix("series_") {
            Some(letter) => format!("Series {}", letter.to_uppercase()),
            None => other.replace('_', " "),
        },
    }
}

fn round_json(p: &Profile, r: &FundingRound) -> Value {
    let investors: Vec<Value> = r
        .investors
        .iter()
        .map(|i| {
            json!({
                "uuid": i.uuid,
                "value": i.name,
                "permalink": i.permalink,
                "entity_def_id": "organization",
            })
        })
        .collect();
    let mut m = Map::new();
    m.insert(
        "identifier".into(),
        json!({
            "uuid": r.uuid,
            "value": format!("{} - {}", round_label(r.investment_type), p.name),
            "permalink": format!("{}-{}--{}", synth::slug(&p.name), r.investment_type.replace('_', "-"), &r.uuid[..8]),
            "entity_def_id": "funding_round",
        }),
    );
    m.insert("announced_on".into(), r.announced_on.to_string().into());
    m.insert("investment_type".into(), r.investment_type.into());
    if let Some(money) = r.money_raised {
        m.insert(
            "money_raised".into(),
            json!({"value": money.value, "currency": money.currency, "value_usd": money.value_usd}),
        );
    }
    m.insert("num_investors".into(), investors.len().into());
    m.insert(
        "lead_investor_identifiers".into(),
        Value::Array(investors.iter().take(1).cloned().collect()),
    );
    m.insert("investor_identifiers".into(), Value::Array(investors));
    m.insert("funded_organization_identifier".into(), identifier(p));
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::testutil::{client, fixed_today, serve};
    use super::*;

    fn settings() -> EmulatorSettings {
        EmulatorSettings {
            today: fixed_today(),
            ..EmulatorSettings::default()
        }
    }

    async fn start(s: &EmulatorSettings) -> String {
        format!("http://{}", serve(router(s)).await)
    }

    async fn search_domain(base: &str, key: &str, domain: &str) -> (u16, Value) {
        let body = json!({
            "field_ids": ["identifier", "website_url", "last_funding_type", "num_employees_enum",
                          "last_funding_total"],
            "query": [{"type": "predicate", "field_id": "website_url",
                       "operator_id": "domain_eq", "values": [domain]}],
            "limit": 5,
        });
        let resp = client()
            .post(format!("{base}/api/v4/searches/organizations"))
            .header("X-cb-user-key", key)
            .json(&body)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    }

    async fn get(base: &str, key: &str, path: &str) -> (u16, Value) {
        let resp = client()
            .get(format!("{base}/api/v4/{path}"))
            .header("X-cb-user-key", key)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    }

    #[tokio::test]
    async fn search_then_entity_with_funding_rounds() {
        let s = settings();
        let base = start(&s).await;
        let domain = "acme-analytics.example";
        let p = synth::profile(domain, fixed_today());
        assert!(p.found_at(Provider::Crunchbase) && !p.funding_rounds.is_empty());
        let (status, body) = search_domain(
            &base,
            &s.crunchbase_key,
            "https://www.acme-analytics.example/",
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(body["count"], 1);
        let e = &body["entities"][0];
        assert_eq!(e["uuid"], p.crunchbase_uuid());
        let props = &e["properties"];
        assert_eq!(props["identifier"]["permalink"], p.crunchbase_permalink());
        assert_eq!(props["identifier"]["entity_def_id"], "organization");
        assert_eq!(props["website_url"], "https://www.acme-analytics.example");
        assert_eq!(
            props["last_funding_type"],
            p.latest_round().unwrap().investment_type
        );
        assert!(
            props.get("short_description").is_none(),
            "only requested fields"
        );

        let permalink = p.crunchbase_permalink();
        let path = format!(
            "entities/organizations/{permalink}?field_ids=identifier,last_funding_at,funding_total&card_ids=raised_funding_rounds"
        );
        let (status, org) = get(&base, &s.crunchbase_key, &path).await;
        assert_eq!(status, 200);
        let latest = p.latest_round().unwrap();
        assert_eq!(
            org["properties"]["last_funding_at"],
            latest.announced_on.to_string()
        );
        assert_eq!(
            org["properties"]["funding_total"]["value_usd"],
            p.funding_total_usd()
        );
        let rounds = org["cards"]["raised_funding_rounds"].as_array().unwrap();
        assert_eq!(rounds.len(), p.funding_rounds.len());
        let first = &rounds[0];
        assert_eq!(first["announced_on"], latest.announced_on.to_string());
        assert_eq!(first["investment_type"], latest.investment_type);
        assert_eq!(first["identifier"]["entity_def_id"], "funding_round");
        match latest.money_raised {
            Some(m) => assert_eq!(first["money_raised"]["value_usd"], m.value_usd),
            None => assert!(first.get("money_raised").is_none()),
        }
        assert_eq!(
            first["investor_identifiers"].as_array().unwrap().len(),
            latest.investors.len()
        );

        // The UUID resolves too, and the answer is deterministic.
        let by_uuid = format!(
            "entities/organizations/{}?card_ids=raised_funding_rounds",
            p.crunchbase_uuid()
        );
        let (status, again) = get(&base, &s.crunchbase_key, &by_uuid).await;
        assert_eq!(status, 200);
        assert_eq!(again["cards"], org["cards"]);
    }

    #[tokio::test]
    async fn search_takes_several_values_and_honours_limit() {
        let s = settings();
        let base = start(&s).await;
        let url = format!("{base}/api/v4/searches/organizations");
        let query = |limit: u64| {
            json!({
                "field_ids": ["identifier"],
                "query": [
                    {"type": "predicate", "field_id": "website_url", "operator_id": "contains",
                     "values": ["complete.example", "http://junk.example/about", "notfound.example"]},
                    {"type": "predicate", "field_id": "facet_ids", "operator_id": "includes",
                     "values": ["company"]},
                ],
                "limit": limit,
            })
        };
        for (limit, want) in [(10, 2), (1, 1)] {
            let resp = client()
                .post(&url)
                .header("X-cb-user-key", &s.crunchbase_key)
                .json(&query(limit))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200);
            let body: Value = resp.json().await.unwrap();
            assert_eq!(body["count"], want, "limit {limit}");
            assert_eq!(
                body["entities"][0]["properties"]["identifier"]["value"],
                "Complete"
            );
        }
        // Two searches, each one metered call naming its three domains.
        let log = s.requests.of("crunchbase");
        assert_eq!(log.len(), 2);
        assert_eq!(
            log[0].domains,
            ["complete.example", "junk.example", "notfound.example"]
        );
        assert!((s.requests.credits("crunchbase") - 2.0).abs() < f64::EPSILON);
        // The funding summary rides with a search hit.
        let (_, body) = search_domain(&base, &s.crunchbase_key, "complete.example").await;
        let props = &body["entities"][0]["properties"];
        assert!(
            props["last_funding_total"]["value_usd"].as_u64().unwrap() > 0,
            "{props}"
        );
    }

    #[tokio::test]
    async fn unknown_entities_and_missing_companies() {
        let s = settings();
        let base = start(&s).await;
        let (status, body) = get(
            &base,
            &s.crunchbase_key,
            "entities/organizations/no-such-org",
        )
        .await;
        assert_eq!(status, 404);
        assert_eq!(body[0]["code"], "MD100");
        let (status, body) =
            search_domain(&base, &s.crunchbase_key, "missing-crunchbase.example").await;
        assert_eq!((status, body["count"].as_u64()), (200, Some(0)));
        assert_eq!(body["entities"], json!([]));
        let (_, body) = get(
            &base,
            &s.crunchbase_key,
            "autocompletes?query=notfound.example&collection_ids=organizations",
        )
        .await;
        assert_eq!(body["count"], 0);
    }

    #[tokio::test]
    async fn reserved_domains_resolve_without_a_search_and_unfunded_has_no_rounds() {
        let s = settings();
        let base = start(&s).await;
        let p = synth::profile("unfunded.example", fixed_today());
        let path = format!(
            "entities/organizations/{}?card_ids=raised_funding_rounds",
            p.crunchbase_permalink()
        );
        let (status, body) = get(&base, &s.crunchbase_key, &path).await;
        assert_eq!(status, 200);
        assert_eq!(body["cards"]["raised_funding_rounds"], json!([]));
        assert!(body["properties"].get("last_funding_type").is_none());
    }

    #[tokio::test]
    async fn autocomplete_by_domain_then_by_name() {
        let s = settings();
        let base = start(&s).await;
        let (status, body) = get(
            &base,
            &s.crunchbase_key,
            "autocompletes?query=complete.example&collection_ids=organizations",
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(body["count"], 1);
        assert_eq!(body["entities"][0]["identifier"]["value"], "Complete");
        assert!(body["entities"][0]["short_description"].is_string());
        let (_, body) = get(
            &base,
            &s.crunchbase_key,
            "autocompletes?query=compl&collection_ids=organizations",
        )
        .await;
        assert!(
            body["entities"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["identifier"]["value"] == "Complete")
        );
        let (_, body) = get(
            &base,
            &s.crunchbase_key,
            "autocompletes?query=complete.example&collection_ids=people",
        )
        .await;
        assert_eq!(body["count"], 0);
        let (status, _) = get(
            &base,
            &s.crunchbase_key,
            "autocompletes?collection_ids=organizations",
        )
        .await;
        assert_eq!(status, 400);
    }

    #[tokio::test]
    async fn auth_by_header_or_user_key_and_bad_keys() {
        let s = settings();
        let base = start(&s).await;
        let (status, body) = get(&base, "wrong", "autocompletes?query=complete.example").await;
        assert_eq!(status, 401);
        assert_eq!(body[0]["code"], "AU100");
        let url = format!(
            "{base}/api/v4/autocompletes?query=complete.example&user_key={}",
            s.crunchbase_key
        );
        assert_eq!(client().get(url).send().await.unwrap().status(), 200);
    }

    #[tokio::test]
    async fn malformed_search_is_400() {
        let s = settings();
        let base = start(&s).await;
        let url = format!("{base}/api/v4/searches/organizations");
        for body in [
            json!({"field_ids": ["identifier"]}),
            json!({"query": [{"type": "predicate"}]}),
            json!({"query": [], "limit": 5000}),
        ] {
            let r = client()
                .post(&url)
                .header("X-cb-user-key", &s.crunchbase_key)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 400, "{body}");
            let b: Value = r.json().await.unwrap();
            assert_eq!(b[0]["code"], "LA100");
        }
    }

    #[tokio::test]
    async fn rate_limited_with_429() {
        let s = EmulatorSettings {
            crunchbase_rate_per_minute: 2,
            ..settings()
        };
        let base = start(&s).await;
        for _ in 0..2 {
            let (status, _) = get(
                &base,
                &s.crunchbase_key,
                "autocompletes?query=complete.example",
            )
            .await;
            assert_eq!(status, 200);
        }
        let resp = client()
            .get(format!(
                "{base}/api/v4/autocompletes?query=complete.example"
            ))
            .header("X-cb-user-key", &s.crunchbase_key)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 429);
        let retry: u64 = resp.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(Duration::from_secs(retry) <= Duration::from_mins(1));
    }

    #[test]
    fn round_labels() {
        assert_eq!(round_label("series_b"), "Series B");
        assert_eq!(round_label("pre_seed"), "Pre Seed Round");
        assert_eq!(revenue_range(20_000_000), "r_00010000");
    }
}

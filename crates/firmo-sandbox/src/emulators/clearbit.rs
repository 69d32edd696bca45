//! Clearbit Company API (`company.clearbit.com`), under `/clearbit`.
//!
//! - `GET /clearbit/v2/companies/find?domain=DOMAIN`
//! - Auth: `Authorization: Bearer KEY`, or HTTP basic with the key as the username.
//! - 200: the company object with every documented top-level key (unknown values are
//!   `null`, as Clearbit sends them), see [`company_json`].
//! - 202 `{"error":{"type":"queued",…}}`: the lookup is queued; ask again later. A pending
//!   domain's first call is always 202, later calls are 200 once
//!   `clearbit_pending_after` has passed since that first call.
//! - 401 missing or wrong key; 402 out of credits (`clearbit_credits` spent, or the
//!   reserved `nocredits.example`); 404 `unknown_record` for an unknown domain; 422
//!   `params_invalid` for a missing or invalid domain; 429 `rate_limit` past
//!   `clearbit_rate_per_minute` in a minute, with `Retry-After` (seconds).
//! - Errors are `{"error":{"type":…,"message":…}}` with the documented types
//!   (`params_invalid`, `unknown_record`, `queued`, `rate_limit`); `auth_required` and
//!   `payment_required` name the 401 and 402 cases.
//! - Billing as Clearbit documents it: "Clearbit only counts requests which return 200,
//!   201, 202, or 404" and "only unique requests are counted each billing period" (the
//!   emulator's lifetime is the period). A domain is billed once, when first answered 200
//!   or 404; the 202s before its 200 are the same unique request, settled on completion
//!   (so a lookup queued and never asked again costs nothing here, as in firmo's
//!   accounting). `clearbit_credits` counts those unique domains; a domain already
//!   billed is answered even when the credits are spent. Every request is recorded in the
//!   [`super::RequestLog`].
//! - Every answer past the key check carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
//!   `X-RateLimit-Reset` (seconds until the window resets).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use firmo_core::Date;
use serde::Deserialize;
use serde_json::{Value, json};

use super::limit::{RateLimiter, Verdict, retry_after_secs};
use super::synth::{self, Profile, Provider};
use super::{Asked, EmulatorSettings, RequestLog};

#[derive(Debug)]
struct ClearbitState {
    key: String,
    today: Date,
    pending_after: Duration,
    credits: Mutex<Option<u64>>,
    first_seen: Mutex<HashMap<String, Instant>>,
    /// Domains billed this period (each once).
    billed: Mutex<HashSet<String>>,
    limiter: RateLimiter,
    log: RequestLog,
}

/// The Clearbit routes (mounted under `/clearbit`).
pub fn router(settings: &EmulatorSettings) -> Router {
    let state = Arc::new(ClearbitState {
        key: settings.clearbit_key.clone(),
        today: settings.today,
        pending_after: settings.clearbit_pending_after,
        credits: Mutex::new(settings.clearbit_credits),
        first_seen: Mutex::new(HashMap::new()),
        billed: Mutex::new(HashSet::new()),
        limiter: RateLimiter::per_minute(settings.clearbit_rate_per_minute),
        log: settings.requests.clone(),
    });
    Router::new()
        .route("/v2/companies/find", get(find))
        .with_state(state)
}

#[derive(Debug, Deserialize)]
struct FindParams {
    domain: Option<String>,
}

async fn find(
    State(state): State<Arc<ClearbitState>>,
    headers: HeaderMap,
    Query(params): Query<FindParams>,
) -> Response {
    let (resp, credits) = find_billed(&state, &headers, params.domain.as_deref());
    let asked = params
        .domain
        .as_deref()
        .map(|d| synth::normalize_domain(d).unwrap_or_else(|| d.to_owned()));
    state.log.record(Asked {
        provider: "clearbit",
        endpoint: "companies/find",
        domains: asked.into_iter().collect(),
        status: resp.status().as_u16(),
        credits,
    });
    resp
}

/// The answer, and the credits it bills.
fn find_billed(
    state: &ClearbitState,
    headers: &HeaderMap,
    domain: Option<&str>,
) -> (Response, f64) {
    if presented_key(headers).as_deref() != Some(state.key.as_str()) {
        let resp = error(
            StatusCode::UNAUTHORIZED,
            "auth_required",
            "Invalid or missing API key.",
        );
        return (resp, 0.0);
    }
    let (remaining, reset_in) = match state.limiter.check(&state.key) {
        Verdict::Allowed {
            remaining,
            reset_in,
        } => (remaining, reset_in),
        Verdict::Limited { reset_in } => {
            let mut resp = error(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limit",
                "The request has been rate limited.",
            );
            set_limit_headers(&mut resp, state.limiter.limit(), 0, reset_in);
            let retry = HeaderValue::from(retry_after_secs(reset_in));
            resp.headers_mut().insert(header::RETRY_AFTER, retry);
            return (resp, 0.0);
        }
    };
    let (mut resp, credits) = answer(state, domain);
    set_limit_headers(&mut resp, state.limiter.limit(), remaining, reset_in);
    (resp, credits)
}

fn answer(state: &ClearbitState, domain: Option<&str>) -> (Response, f64) {
    let Some(raw) = domain.filter(|d| !d.trim().is_empty()) else {
        let resp = error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "params_invalid",
            "Missing required parameter: domain.",
        );
        return (resp, 0.0);
    };
    let Some(domain) = synth::normalize_domain(raw) else {
        let resp = error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "params_invalid",
            "Invalid domain.",
        );
        return (resp, 0.0);
    };
    let profile = synth::profile(&domain, state.today);
    let mut credits = state.credits.lock().unwrap_or_else(PoisonError::into_inner);
    let mut billed = state.billed.lock().unwrap_or_else(PoisonError::into_inner);
    let already = billed.contains(&domain);
    if profile.quirks.out_of_credits || (*credits == Some(0) && !already) {
        let resp = error(
            StatusCode::PAYMENT_REQUIRED,
            "payment_required",
            "Your account is out of credits.",
        );
        return (resp, 0.0);
    }
    let resp = if !profile.found_at(Provider::Clearbit) {
        error(StatusCode::NOT_FOUND, "unknown_record", "Unknown domain.")
    } else if profile.quirks.clearbit_pending && still_pending(state, &domain) {
        // Counted with the 200 that completes it: one unique request.
        return (
            error(
                StatusCode::ACCEPTED,
                "queued",
                "Lookup queued. Try this request again in a few minutes.",
            ),
            0.0,
        );
    } else {
        (StatusCode::OK, Json(company_json(&profile, state.today))).into_response()
    };
    if already {
        return (resp, 0.0);
    }
    billed.insert(domain);
    if let Some(left) = credits.as_mut() {
        *left -= 1;
    }
    (resp, 1.0)
}

/// Whether a pending domain is still queued (its first call always is).
fn still_pending(state: &ClearbitState, domain: &str) -> bool {
    let now = Instant::now();
    let mut seen = state
        .first_seen
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    match seen.get(domain) {
        None => {
            seen.insert(domain.to_owned(), now);
            true
        }
        Some(first) => now.duration_since(*first) < state.pending_after,
    }
}

/// The key from `Authorization: Bearer KEY` or `Authorization: Basic base64(KEY:)`.
fn presented_key(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(rest.trim().to_owned());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = String::from_utf8(base64_decode(rest.trim())?).ok()?;
        let user = decoded.split_once(':').map_or(decoded.as_str(), |(u, _)| u);
        return Some(user.to_owned());
    }
    None
}

/// Standard base64 with optional padding; `None` on anything else.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in s.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

fn set_limit_headers(resp: &mut Response, limit: u32, remaining: u32, reset_in: Duration) {
    let h = resp.headers_mut();
    h.insert("x-ratelimit-limit", HeaderValue::from(limit));
    h.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
    h.insert(
        "x-ratelimit-reset",
        HeaderValue::from(retry_after_secs(reset_in)),
    );
}

fn error(status: StatusCode, kind: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"type": kind, "message": message}})),
    )
        .into_response()
}

/// The Clearbit company object for a profile, as the emulator serves it.
pub fn company_json(p: &Profile, today: Date) -> Value {
    let headcount = p.clearbit_headcount();
    let junk = p.quirks.junk;
    let mut tech: Vec<String> = p
        .live_technologies()
        .map(|t| t.def.slug.to_owned())
        .collect();
    if junk {
        // Odd casing and a duplicate: what a normalizer must fold.
        if let Some(first) = tech.first().cloned() {
            tech.push(first.to_uppercase());
        }
        if let Some(second) = tech.get_mut(1) {
            *second = title_case_slug(second);
        }
    }
    let mut tech_categories: Vec<&str> = p
        .live_technologies()
        .map(|t| t.def.clearbit_category)
        .collect();
    tech_categories.sort_unstable();
    tech_categories.dedup();
    let industry = if junk {
        format!("  {} ", p.industry.industry.to_lowercase())
    } else {
        p.industry.industry.to_owned()
    };
    let rounds = &p.funding_rounds;
    let raised = (!rounds.is_empty()).then(|| p.funding_total_usd());
    let public = rounds
        .iter()
        .any(|r| r.investment_type.starts_with("post_ipo"));
    let loc = p.location;
    let handle_hash = synth::hash(&p.domain, "clearbit-misc");
    let founded = (!handle_hash.is_multiple_of(20)).then_some(p.founded_year);
    json!({
        "id": synth::uuid_from(&p.domain, "clearbit-id"),
        "name": p.name,
        "legalName": handle_hash.is_multiple_of(3).then(|| format!("{} Inc.", p.name)),
        "domain": p.domain,
        "domainAliases": [],
        "site": {
            "phoneNumbers": [],
            "emailAddresses": [format!("hello@{}", p.domain)],
        },
        "category": {
            "sector": p.industry.sector,
            "industryGroup": p.industry.industry_group,
            "industry": industry,
            "subIndustry": p.industry.sub_industry,
            "gicsCode": null,
            "sicCode": p.industry.sic_code,
            "sic4Codes": [p.industry.sic_code],
            "naicsCode": p.industry.naics_code,
            "naics6Codes": [p.industry.naics_code],
            "naics6Codes2022": [p.industry.naics_code],
        },
        "tags": p.industry.tags,
        "description": format!("{} is a {} company.", p.name, p.industry.sub_industry.to_lowercase()),
        "foundedYear": founded,
        "location": format!("{}, {}", loc.city, loc.country),
        "timeZone": loc.time_zone,
        "utcOffset": loc.utc_offset,
        "geo": {
            "streetNumber": null,
            "streetName": null,
            "subPremise": null,
            "streetAddress": null,
            "city": loc.city,
            "postalCode": loc.postal_code,
            "state": loc.state,
            "stateCode": loc.state_code,
            "country": loc.country,
            "countryCode": loc.country_code,
            "lat": loc.lat,
            "lng": loc.lng,
        },
        "logo": format!("https://logo.clearbit.com/{}", p.domain),
        "facebook": {"handle": null, "likes": null},
        "linkedin": {"handle": p.linkedin.handle},
        "twitter": {
            "handle": null, "id": null, "bio": null, "followers": null, "following": null,
            "location": null, "site": null, "avatar": null,
        },
        "crunchbase": {"handle": p.found_at(Provider::Crunchbase)
            .then(|| format!("organization/{}", p.crunchbase_permalink()))},
        "emailProvider": false,
        "type": if public { "public" } else { "private" },
        "ticker": null,
        "identifiers": {"usEIN": null},
        "phone": null,
        "metrics": {
            "alexaUsRank": null,
            "alexaGlobalRank": null,
            "trafficRank": null,
            "employees": headcount,
            "employeesRange": p.clearbit_employees_range(),
            "marketCap": null,
            "raised": raised,
            "annualRevenue": public.then_some(p.annual_revenue_usd),
            "estimatedAnnualRevenue": p.clearbit_revenue_label(),
            "fiscalYearEnd": null,
        },
        "indexedAt": format!("{}T00:00:00.000Z", synth::shift(today, -3)),
        "tech": tech,
        "techCategories": tech_categories,
        "parent": {"domain": null},
        "ultimateParent": {"domain": null},
    })
}

fn title_case_slug(s: &str) -> String {
    s.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join("_")
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{client, fixed_today, serve};
    use super::*;

    fn settings() -> EmulatorSettings {
        EmulatorSettings {
            today: fixed_today(),
            ..EmulatorSettings::default()
        }
    }

    async fn get_json(
        base: &str,
        key: &str,
        domain: &str,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let url = reqwest::Url::parse_with_params(
            &format!("{base}/v2/companies/find"),
            [("domain", domain)],
        )
        .unwrap();
        let resp = client().get(url).bearer_auth(key).send().await.unwrap();
        let status = StatusCode::from_u16(resp.status().as_u16()).unwrap();
        let headers = resp.headers().clone();
        (status, headers, resp.json().await.unwrap())
    }

    async fn start(s: &EmulatorSettings) -> String {
        format!("http://{}", serve(router(s)).await)
    }

    #[tokio::test]
    async fn found_company_has_the_documented_shape() {
        let s = settings();
        let base = start(&s).await;
        let (status, headers, body) = get_json(&base, &s.clearbit_key, "complete.example").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["x-ratelimit-limit"], "600");
        let p = synth::profile("complete.example", fixed_today());
        assert_eq!(body["domain"], "complete.example");
        assert_eq!(body["name"], p.name);
        assert_eq!(body["category"]["industry"], p.industry.industry);
        for key in [
            "sector",
            "industryGroup",
            "subIndustry",
            "sicCode",
            "naicsCode",
        ] {
            assert!(body["category"][key].is_string(), "{key}");
        }
        assert_eq!(body["metrics"]["employees"], p.clearbit_headcount());
        assert_eq!(
            body["metrics"]["employeesRange"],
            p.clearbit_employees_range()
        );
        assert_eq!(
            body["metrics"]["estimatedAnnualRevenue"],
            p.clearbit_revenue_label()
        );
        assert!(
            body["metrics"]["estimatedAnnualRevenue"]
                .as_str()
                .unwrap()
                .starts_with('$')
        );
        assert_eq!(body["metrics"]["raised"], p.funding_total_usd());
        assert!(
            body["tech"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t == "aws_ec2")
        );
        assert!(
            body["techCategories"]
                .as_array()
                .is_some_and(|c| !c.is_empty())
        );
        assert_eq!(body["linkedin"]["handle"], p.linkedin.handle);
        for key in ["ticker", "phone", "gicsCode"] {
            let v = if key == "gicsCode" {
                &body["category"][key]
            } else {
                &body[key]
            };
            assert!(v.is_null(), "{key}");
        }
        assert!(body["tags"].is_array() && body["foundedYear"].is_i64());
    }

    #[tokio::test]
    async fn same_domain_same_body() {
        let s = settings();
        let base = start(&s).await;
        let (_, _, a) = get_json(&base, &s.clearbit_key, "acme-analytics.example").await;
        let (_, _, b) = get_json(
            &base,
            &s.clearbit_key,
            "https://www.Acme-Analytics.example/",
        )
        .await;
        assert_eq!(a, b);
    }

    #[tokio::test]
    async fn auth_by_basic_and_rejects_bad_keys() {
        let s = settings();
        let base = start(&s).await;
        let url = format!("{base}/v2/companies/find?domain=complete.example");
        let ok = client()
            .get(&url)
            .basic_auth(&s.clearbit_key, Some(""))
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);
        let bad = client()
            .get(&url)
            .bearer_auth("sk_wrong")
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), 401);
        let body: Value = bad.json().await.unwrap();
        assert_eq!(body["error"]["type"], "auth_required");
        assert!(!body.to_string().contains("sk_wrong"));
        let none = client().get(&url).send().await.unwrap();
        assert_eq!(none.status(), 401);
    }

    #[tokio::test]
    async fn unknown_invalid_and_missing_domains() {
        let s = settings();
        let base = start(&s).await;
        let (st, _, body) = get_json(&base, &s.clearbit_key, "notfound.example").await;
        assert_eq!(
            (st, body["error"]["type"].as_str()),
            (StatusCode::NOT_FOUND, Some("unknown_record"))
        );
        let (st, _, _) = get_json(&base, &s.clearbit_key, "missing-clearbit.example").await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (st, _, body) = get_json(&base, &s.clearbit_key, "not a domain").await;
        assert_eq!(
            (st, body["error"]["type"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("params_invalid"))
        );
        let (st, _, _) = get_json(&base, &s.clearbit_key, "").await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    }

    #[tokio::test]
    async fn pending_is_202_first_then_200_after_pending_after() {
        let s = EmulatorSettings {
            clearbit_pending_after: Duration::ZERO,
            ..settings()
        };
        let base = start(&s).await;
        let (st, _, body) = get_json(&base, &s.clearbit_key, "pending.example").await;
        assert_eq!(
            (st, body["error"]["type"].as_str()),
            (StatusCode::ACCEPTED, Some("queued"))
        );
        let (st, _, body) = get_json(&base, &s.clearbit_key, "pending.example").await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(body["domain"], "pending.example");

        // With a long wait the lookup stays pending.
        let s = EmulatorSettings {
            clearbit_pending_after: Duration::from_hours(1),
            ..settings()
        };
        let base = start(&s).await;
        for _ in 0..3 {
            let (st, _, _) = get_json(&base, &s.clearbit_key, "pending.example").await;
            assert_eq!(st, StatusCode::ACCEPTED);
        }
        // Queued answers are settled with the 200 that completes them: none billed yet.
        assert_eq!(s.requests.requests("clearbit"), 3);
        assert!(s.requests.credits("clearbit").abs() < f64::EPSILON);
    }

    #[tokio::test]
    async fn credits_run_out_with_402() {
        let s = EmulatorSettings {
            clearbit_credits: Some(2),
            ..settings()
        };
        let base = start(&s).await;
        // A 404 is billed like a 200; a domain asked again is the same unique request.
        let (st, _, _) = get_json(&base, &s.clearbit_key, "notfound.example").await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        for _ in 0..2 {
            let (st, _, _) = get_json(&base, &s.clearbit_key, "complete.example").await;
            assert_eq!(st, StatusCode::OK);
        }
        let (st, _, body) = get_json(&base, &s.clearbit_key, "disagree.example").await;
        assert_eq!(
            (st, body["error"]["type"].as_str()),
            (StatusCode::PAYMENT_REQUIRED, Some("payment_required"))
        );
        let billed: Vec<f64> = s
            .requests
            .of("clearbit")
            .iter()
            .map(|a| a.credits)
            .collect();
        assert_eq!(billed, [1.0, 1.0, 0.0, 0.0]);
        assert_eq!(s.requests.domains("clearbit")[0], "notfound.example");
        let s = settings();
        let base = start(&s).await;
        let (st, _, _) = get_json(&base, &s.clearbit_key, "nocredits.example").await;
        assert_eq!(st, StatusCode::PAYMENT_REQUIRED);
    }

    #[tokio::test]
    async fn rate_limit_429_with_retry_after() {
        let s = EmulatorSettings {
            clearbit_rate_per_minute: 3,
            ..settings()
        };
        let base = start(&s).await;
        for left in [2, 1, 0] {
            let (st, h, _) = get_json(&base, &s.clearbit_key, "complete.example").await;
            assert_eq!(st, StatusCode::OK);
            assert_eq!(h["x-ratelimit-remaining"], left.to_string().as_str());
        }
        let (st, h, body) = get_json(&base, &s.clearbit_key, "complete.example").await;
        assert_eq!(st, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(body["error"]["type"], "rate_limit");
        let retry: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry));
    }

    #[tokio::test]
    async fn junk_values_for_the_normalizer() {
        let s = settings();
        let base = start(&s).await;
        let (_, _, body) = get_json(&base, &s.clearbit_key, "junk.example").await;
        let revenue = body["metrics"]["estimatedAnnualRevenue"].as_str().unwrap();
        assert!(
            !revenue.starts_with('$') && revenue.contains('\u{2013}'),
            "{revenue}"
        );
        let tech: Vec<&str> = body["tech"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let lower: std::collections::HashSet<String> =
            tech.iter().map(|t| t.to_lowercase()).collect();
        assert!(
            lower.len() < tech.len(),
            "a duplicate differing in case: {tech:?}"
        );
    }

    #[test]
    fn decodes_basic_auth() {
        assert_eq!(base64_decode("c2tfdGVzdDo=").unwrap(), b"sk_test:");
        assert_eq!(base64_decode("YQ").unwrap(), b"a");
        assert!(base64_decode("!!").is_none());
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic c2tfdGVzdDo="),
        );
        assert_eq!(presented_key(&h).as_deref(), Some("sk_test"));
    }
}

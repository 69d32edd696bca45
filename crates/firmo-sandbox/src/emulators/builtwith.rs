//! BuiltWith Domain API (`api.builtwith.com`), under `/builtwith`.
//!
//! - `GET /builtwith/v21/api.json?KEY=KEY&LOOKUP=DOMAIN[,DOMAIN…]` (any `vNN` from `v20`
//!   answers the same shape; up to 16 comma-separated domains, as documented). Options:
//!   `LIVEONLY=yes` (only live technologies), `NOMETA=yes` (`Meta` is `null`),
//!   `HIDETEXT=yes` (no `Description`, `Link`, `Tag`, `Categories`), `HIDEDL=yes` (no
//!   `Description`, `Link`). Parameter names are matched case-insensitively.
//! - Always HTTP 200 with `{"Results":[…],"Errors":[…],"NextOffset":null}`, as BuiltWith
//!   answers. Errors arrive inside the 200:
//!   Codes follow BuiltWith's published table (-2 bad key, -3 out of credits, -7 one
//!   lookup at a time, -8 root domain invalid or unsupported); "not in our system" has
//!   no published code and uses -10:
//!   - missing or wrong `KEY`: `Results` is `null`, one error `{"Lookup":null,
//!     "Message":"Invalid API key.","Code":-2}`;
//!   - missing `LOOKUP`: `Results` `null`, `Code` `-8`; more than 16 domains: `Code` `-7`;
//!   - an unknown domain: no result for it, an error `{"Lookup":"d","Message":"Domain not
//!     in our system.","Code":-10}` (the message BuiltWith itself sends);
//!   - out of credits (`builtwith_credits` spent, or `nocredits.example`): an error
//!     `{"Lookup":"d","Message":"No API credits remaining.","Code":-3}`;
//!   - an invalid domain: `Code` `-8`, `"Invalid domain."`.
//! - A result: `{"Result":{"IsDB":true,"Spend":N,"Paths":[{"Domain","Url","SubDomain",
//!   "FirstIndexed","LastIndexed","Technologies":[{"Name","Description","Link","Tag",
//!   "Categories":[…],"IsPremium":"yes"|"no","FirstDetected","LastDetected"}]}]},
//!   "Meta":{…},"Lookup","FirstIndexed","LastIndexed"}`; dates are epoch milliseconds. A
//!   technology is live when its `LastDetected` is within 30 days of the reference date;
//!   older ones are still listed (unless `LIVEONLY=yes`). Some technologies appear on
//!   both the root path and a `blog` subdomain path, as BuiltWith lists them.
//! - Billing as BuiltWith documents it ("an API credit is per-website call … that returns
//!   a successful non-error result"): one credit per domain answered with a result, in
//!   a multi-lookup too; a domain answered by an `Errors[]` entry costs nothing. Every
//!   request is recorded in the [`super::RequestLog`] with its domains and credits.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use firmo_core::Date;
use serde_json::{Map, Value, json};

use super::synth::{self, Profile, Provider, Technology};
use super::{Asked, EmulatorSettings, RequestLog};

/// The documented maximum of domains in one lookup.
const MAX_LOOKUPS: usize = 16;

#[derive(Debug)]
struct BuiltWithState {
    key: String,
    today: Date,
    credits: Mutex<Option<u64>>,
    log: RequestLog,
}

/// The BuiltWith routes (mounted under `/builtwith`).
pub fn router(settings: &EmulatorSettings) -> Router {
    let state = Arc::new(BuiltWithState {
        key: settings.builtwith_key.clone(),
        today: settings.today,
        credits: Mutex::new(settings.builtwith_credits),
        log: settings.requests.clone(),
    });
    Router::new()
        .route("/{version}/{file}", get(lookup))
        .with_state(state)
}

/// The lookup options the caller set (`LIVEONLY`, `NOMETA`, `HIDETEXT`, `HIDEDL`): four
/// independent yes/no switches, as the API has them.
#[derive(Debug, Clone, Copy, Default)]
#[allow(clippy::struct_excessive_bools)]
struct Options {
    live_only: bool,
    no_meta: bool,
    hide_text: bool,
    hide_dl: bool,
}

async fn lookup(
    State(state): State<Arc<BuiltWithState>>,
    Path((version, file)): Path<(String, String)>,
    Query(raw): Query<HashMap<String, String>>,
) -> Response {
    let supported = version
        .strip_prefix('v')
        .and_then(|n| n.parse::<u32>().ok())
        .is_some_and(|n| n >= 20);
    if !supported || file != "api.json" {
        // Only the JSON form of the v20+ Domain API is emulated.
        return StatusCode::NOT_FOUND.into_response();
    }
    let params: HashMap<String, String> = raw
        .into_iter()
        .map(|(k, v)| (k.to_ascii_uppercase(), v))
        .collect();
    let yes = |name: &str| {
        params
            .get(name)
            .is_some_and(|v| v.eq_ignore_ascii_case("yes"))
    };
    let opts = Options {
        live_only: yes("LIVEONLY"),
        no_meta: yes("NOMETA"),
        hide_text: yes("HIDETEXT"),
        hide_dl: yes("HIDEDL"),
    };
    let lookups: Vec<&str> = params
        .get("LOOKUP")
        .map(|l| {
            l.split(',')
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let asked: Vec<String> = lookups
        .iter()
        .map(|d| synth::normalize_domain(d).unwrap_or_else(|| (*d).to_owned()))
        .collect();
    let log = |credits: usize| {
        state.log.record(Asked {
            provider: "builtwith",
            endpoint: "api.json",
            domains: asked.clone(),
            status: 200,
            credits: credits as f64,
        });
    };
    if params.get("KEY").map(String::as_str) != Some(state.key.as_str()) {
        log(0);
        return whole_call_error("Invalid API key.", -2);
    }
    if lookups.is_empty() {
        log(0);
        return whole_call_error("No LOOKUP given.", -8);
    }
    if lookups.len() > MAX_LOOKUPS {
        log(0);
        return whole_call_error("Too many domains in LOOKUP (16 at most).", -7);
    }

    let mut results = Vec::new();
    let mut errors = Vec::new();
    for raw_domain in lookups {
        let Some(domain) = synth::normalize_domain(raw_domain) else {
            errors.push(lookup_error(raw_domain, "Invalid domain.", -8));
            continue;
        };
        let profile = synth::profile(&domain, state.today);
        let mut credits = state.credits.lock().unwrap_or_else(PoisonError::into_inner);
        if profile.quirks.out_of_credits || *credits == Some(0) {
            errors.push(lookup_error(&domain, "No API credits remaining.", -3));
            continue;
        }
        if !profile.found_at(Provider::BuiltWith) {
            errors.push(lookup_error(&domain, "Domain not in our system.", -10));
            continue;
        }
        if let Some(left) = credits.as_mut() {
            *left -= 1;
        }
        results.push(result_json(&profile, state.today, opts));
    }
    log(results.len());
    Json(json!({"Results": results, "Errors": errors, "NextOffset": null})).into_response()
}

fn whole_call_error(message: &str, code: i32) -> Response {
    let body = json!({
        "Errors": [{"Lookup": null, "Message": message, "Code": code}],
        "NextOffset": null,
        "Results": null,
    });
    Json(body).into_response()
}

fn lookup_error(domain: &str, message: &str, code: i32) -> Value {
    json!({"Lookup": domain, "Message": message, "Code": code})
}

fn millis(d: Date) -> i64 {
    d.midnight_utc_millis()
}

fn tech_json(t: &Technology, name: &str, opts: Options) -> Value {
    let mut m = Map::new();
    m.insert("Name".into(), name.into());
    if !opts.hide_text && !opts.hide_dl {
        m.insert("Description".into(), t.def.description.into());
        m.insert("Link".into(), t.def.link.into());
    }
    if !opts.hide_text {
        m.insert("Tag".into(), t.def.tag.into());
        m.insert("Categories".into(), json!(t.def.categories));
    }
    m.insert(
        "IsPremium".into(),
        (if t.def.premium { "yes" } else { "no" }).into(),
    );
    m.insert("FirstDetected".into(), millis(t.first_detected).into());
    m.insert("LastDetected".into(), millis(t.last_detected).into());
    Value::Object(m)
}

/// One entry of `Results` for a found domain.
fn result_json(p: &Profile, today: Date, opts: Options) -> Value {
    let techs: Vec<&Technology> = p
        .technologies
        .iter()
        .filter(|t| t.live || !opts.live_only)
        .collect();
    let junk = p.quirks.junk;
    let display = |i: usize, t: &Technology| -> String {
        if !junk {
            return t.def.name.to_owned();
        }
        match i % 3 {
            0 => t.def.name.to_uppercase(),
            1 => format!(" {} ", t.def.name.to_lowercase()),
            _ => t.def.name.to_owned(),
        }
    };
    let mut root: Vec<Value> = techs
        .iter()
        .enumerate()
        .map(|(i, t)| tech_json(t, &display(i, t), opts))
        .collect();
    if junk {
        // The same technology twice on one path, differently spelled.
        if let Some(first) = techs.first() {
            root.push(tech_json(first, first.def.name, opts));
        }
    }
    // A blog subdomain carrying the CMS and analytics techs again.
    let blog: Vec<Value> = techs
        .iter()
        .filter(|t| t.def.tag == "cms" || t.def.tag == "analytics")
        .map(|t| tech_json(t, t.def.name, opts))
        .collect();
    let first_indexed = techs
        .iter()
        .map(|t| t.first_detected)
        .min()
        .unwrap_or(today);
    let last_indexed = synth::shift(today, -1);
    let path = |sub: &str, technologies: Vec<Value>| {
        json!({
            "FirstIndexed": millis(first_indexed),
            "LastIndexed": millis(last_indexed),
            "Domain": p.domain,
            "Url": "",
            "SubDomain": sub,
            "Technologies": technologies,
        })
    };
    let mut paths = vec![path("", root)];
    if !blog.is_empty() && synth::hash(&p.domain, "bw-blog").is_multiple_of(2) {
        paths.push(path("blog", blog));
    }
    let spend: u64 = techs.iter().filter(|t| t.live && t.def.premium).count() as u64 * 85;
    let meta = if opts.no_meta {
        Value::Null
    } else {
        let loc = p.location;
        json!({
            "Vertical": p.industry.vertical,
            "Social": [format!("https://www.linkedin.com/{}", p.linkedin.handle)],
            "CompanyName": p.name,
            "Telephones": [],
            "Emails": [format!("hello@{}", p.domain)],
            "City": loc.city,
            "Postcode": loc.postal_code,
            "State": loc.state_code,
            "Country": loc.country_code,
            "Names": [],
            "ARank": 10_000 + synth::hash(&p.domain, "bw-arank") % 900_000,
            "QRank": -1,
        })
    };
    json!({
        "Result": {"IsDB": true, "Spend": spend, "Paths": paths},
        "Meta": meta,
        "Attributes": {"Employees": 0, "MJRank": 0, "Followers": 0, "Sitemap": 0},
        "FirstIndexed": millis(first_indexed),
        "LastIndexed": millis(last_indexed),
        "Lookup": p.domain,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::super::testutil::{client, fixed_today, serve};
    use super::*;

    fn settings() -> EmulatorSettings {
        EmulatorSettings {
            today: fixed_today(),
            ..EmulatorSettings::default()
        }
    }

    async fn call(base: &str, query: &str) -> Value {
        let resp = client()
            .get(format!("{base}/v21/api.json?{query}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "BuiltWith answers 200 even for errors");
        resp.json().await.unwrap()
    }

    async fn start(s: &EmulatorSettings) -> String {
        format!("http://{}", serve(router(s)).await)
    }

    fn names(result: &Value) -> Vec<String> {
        result["Result"]["Paths"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| p["Technologies"].as_array().unwrap().iter())
            .map(|t| t["Name"].as_str().unwrap().to_owned())
            .collect()
    }

    #[tokio::test]
    async fn found_domain_has_the_documented_shape() {
        let s = settings();
        let base = start(&s).await;
        let body = call(
            &base,
            &format!("KEY={}&LOOKUP=complete.example", s.builtwith_key),
        )
        .await;
        assert_eq!(body["Errors"], json!([]));
        let r = &body["Results"][0];
        assert_eq!(r["Lookup"], "complete.example");
        assert!(r["FirstIndexed"].is_i64() && r["LastIndexed"].is_i64());
        assert_eq!(r["Meta"]["CompanyName"], "Complete");
        let path = &r["Result"]["Paths"][0];
        assert_eq!(path["Domain"], "complete.example");
        let t = &path["Technologies"][0];
        for key in ["Name", "Tag", "Description", "Link", "IsPremium"] {
            assert!(t[key].is_string(), "{key}");
        }
        assert!(t["Categories"].is_array());
        assert!(t["FirstDetected"].as_i64() <= t["LastDetected"].as_i64());
        let p = synth::profile("complete.example", fixed_today());
        let got: HashSet<String> = names(r).into_iter().collect();
        let want: HashSet<String> = p
            .technologies
            .iter()
            .map(|t| t.def.name.to_owned())
            .collect();
        assert_eq!(got, want);
    }

    #[tokio::test]
    async fn dead_technologies_are_listed_unless_liveonly() {
        let s = settings();
        let base = start(&s).await;
        let today_ms = millis(fixed_today());
        let day = 86_400_000;
        // Find a domain with a technology no longer live.
        let domain = (0..50)
            .map(|i| format!("firm{i}.example"))
            .find(|d| {
                let p = synth::profile(d, fixed_today());
                p.found_at(Provider::BuiltWith) && p.technologies.iter().any(|t| !t.live)
            })
            .unwrap();
        let all = call(&base, &format!("KEY={}&LOOKUP={domain}", s.builtwith_key)).await;
        let last: Vec<i64> = all["Results"][0]["Result"]["Paths"][0]["Technologies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["LastDetected"].as_i64().unwrap())
            .collect();
        assert!(last.iter().any(|l| today_ms - l >= 180 * day));
        let live = call(
            &base,
            &format!("KEY={}&LOOKUP={domain}&LIVEONLY=yes", s.builtwith_key),
        )
        .await;
        for t in live["Results"][0]["Result"]["Paths"][0]["Technologies"]
            .as_array()
            .unwrap()
        {
            assert!(today_ms - t["LastDetected"].as_i64().unwrap() <= 30 * day);
        }
    }

    #[tokio::test]
    async fn errors_arrive_inside_a_200() {
        let s = settings();
        let base = start(&s).await;
        let bad = call(&base, "KEY=wrong&LOOKUP=complete.example").await;
        assert!(bad["Results"].is_null());
        assert_eq!(bad["Errors"][0]["Message"], "Invalid API key.");
        assert!(!bad.to_string().contains("wrong"));
        let none = call(&base, &format!("KEY={}", s.builtwith_key)).await;
        assert_eq!(none["Errors"][0]["Code"], -8);
        let unknown = call(
            &base,
            &format!("KEY={}&LOOKUP=notfound.example", s.builtwith_key),
        )
        .await;
        assert_eq!(unknown["Results"], json!([]));
        assert_eq!(unknown["Errors"][0]["Lookup"], "notfound.example");
        assert_eq!(unknown["Errors"][0]["Message"], "Domain not in our system.");
        let nocredit = call(
            &base,
            &format!("KEY={}&LOOKUP=nocredits.example", s.builtwith_key),
        )
        .await;
        assert_eq!(nocredit["Errors"][0]["Code"], -3);
        let mixed = call(
            &base,
            &format!(
                "KEY={}&LOOKUP=complete.example,missing-builtwith.example",
                s.builtwith_key
            ),
        )
        .await;
        assert_eq!(mixed["Results"].as_array().unwrap().len(), 1);
        assert_eq!(mixed["Errors"][0]["Lookup"], "missing-builtwith.example");
        // One request for both domains, one credit: only the result is billed.
        let last = s.requests.of("builtwith").pop().unwrap();
        assert_eq!(
            last.domains,
            ["complete.example", "missing-builtwith.example"]
        );
        assert!((last.credits - 1.0).abs() < f64::EPSILON);
        assert_eq!(s.requests.requests("builtwith"), 5);
        assert!((s.requests.credits("builtwith") - 1.0).abs() < f64::EPSILON);
        assert!(s.requests.asked("builtwith", "notfound.example"));
        assert!(!s.requests.asked("builtwith", "pending.example"));
    }

    #[tokio::test]
    async fn credits_are_counted_per_found_domain() {
        let s = EmulatorSettings {
            builtwith_credits: Some(1),
            ..settings()
        };
        let base = start(&s).await;
        let q = format!(
            "KEY={}&lookup=complete.example,junk.example",
            s.builtwith_key
        );
        let body = call(&base, &q).await;
        assert_eq!(body["Results"].as_array().unwrap().len(), 1);
        assert_eq!(body["Errors"][0]["Lookup"], "junk.example");
        assert_eq!(body["Errors"][0]["Message"], "No API credits remaining.");
    }

    #[tokio::test]
    async fn hide_options_and_nometa() {
        let s = settings();
        let base = start(&s).await;
        let q = format!(
            "KEY={}&LOOKUP=complete.example&HIDETEXT=yes&NOMETA=yes",
            s.builtwith_key
        );
        let body = call(&base, &q).await;
        let t = &body["Results"][0]["Result"]["Paths"][0]["Technologies"][0];
        assert!(t.get("Description").is_none() && t.get("Tag").is_none());
        assert!(t["Name"].is_string());
        assert!(body["Results"][0]["Meta"].is_null());
    }

    #[tokio::test]
    async fn junk_names_need_normalizing_and_bodies_are_deterministic() {
        let s = settings();
        let base = start(&s).await;
        let q = format!("KEY={}&LOOKUP=junk.example", s.builtwith_key);
        let a = call(&base, &q).await;
        assert_eq!(a, call(&base, &q).await);
        let n = names(&a["Results"][0]);
        assert!(n.iter().any(|x| x.starts_with(' ')), "{n:?}");
        assert!(
            n.iter().any(|x| x.len() > 3 && *x == x.to_uppercase()),
            "{n:?}"
        );
        let folded: HashSet<String> = n.iter().map(|x| x.trim().to_lowercase()).collect();
        assert!(folded.len() < n.len());
    }

    #[tokio::test]
    async fn unsupported_versions_are_404() {
        let s = settings();
        let base = start(&s).await;
        let r = client()
            .get(format!("{base}/v11/api.json?KEY=x&LOOKUP=a.com"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
    }
}

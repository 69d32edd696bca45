//! What wraps the handlers: injected faults and request counting on every route, and
//! HubSpot's bearer auth and three rate-limit budgets (burst, search, daily) on `/crm`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio::sync::Notify;

use crate::error::ApiError;
use crate::state::{SandboxState, Storm, WRONG_SHAPE, prune};
use crate::time::DAY_MS;

/// Put on each request by the accept loop: notifying it closes the connection unanswered.
#[derive(Clone)]
pub(crate) struct DropSwitch(pub(crate) Arc<Notify>);

/// The endpoint kind a request counts under in [`crate::Stats::requests`].
pub(crate) fn endpoint_kind(method: &Method, path: &str) -> String {
    let path = crate::versions::canonical(path);
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["crm", "v3", "objects", "companies"] => if method == Method::POST {
            "companies.create"
        } else {
            "companies.list"
        }
        .into(),
        ["crm", "v3", "objects", "companies", "search"] => "companies.search".into(),
        ["crm", "v3", "objects", "companies", "batch", op] => format!("companies.batch_{op}"),
        ["crm", "v3", "objects", "companies", _] => match *method {
            Method::PATCH => "companies.update".into(),
            Method::DELETE => "companies.archive".into(),
            _ => "companies.get".into(),
        },
        // Contacts apart from companies, each under the family its kind of call belongs
        // to (`crm` records, `properties` setup), so a run's contact calls can be counted.
        ["crm", "v3", "objects", object, "batch", op] if is_contacts(object) => {
            format!("crm.contacts.batch_{op}")
        }
        ["crm", "v3", "objects", object, ..] if is_contacts(object) => "crm.contacts.other".into(),
        ["crm", "v3" | "v4", "associations", .., "batch", op]
        | ["crm", "associations", _, .., "batch", op] => {
            format!("crm.associations.batch_{op}")
        }
        ["crm", "v3", "properties", object, "batch", op] if is_contacts(object) => {
            format!("properties.contacts.batch_{op}")
        }
        ["crm", "v3", "properties", object, "groups", ..] if is_contacts(object) => {
            format!(
                "property_groups.contacts.{}",
                verb(method, segments.len() == 5)
            )
        }
        ["crm", "v3", "properties", object, ..] if is_contacts(object) => {
            format!("properties.contacts.{}", verb(method, segments.len() == 4))
        }
        ["crm", "v3", "properties", _, "batch", op] => format!("properties.batch_{op}"),
        ["crm", "v3", "properties", _, "groups", ..] => {
            format!("property_groups.{}", verb(method, segments.len() == 5))
        }
        ["crm", "v3", "properties", _, ..] => {
            format!("properties.{}", verb(method, segments.len() == 4))
        }
        ["crm", "v3", "limits", ..] => "limits.get".into(),
        ["account-info", _, "details"] => "account_info.details".into(),
        ["crm-object-schemas", ..] => "schemas.get".into(),
        ["oauth", ..] => "oauth.token_info".into(),
        ["crm", ..] => "crm.other".into(),
        [first, ..] if !first.is_empty() => (*first).to_string(),
        _ => "other".into(),
    }
}

/// HubSpot's names for the contacts object type.
fn is_contacts(object: &str) -> bool {
    matches!(object, "contacts" | "contact" | "0-1")
}

fn verb(method: &Method, collection: bool) -> &'static str {
    match (method.as_str(), collection) {
        ("GET", true) => "list",
        ("POST", true) => "create",
        ("GET", false) => "get",
        ("PATCH", false) => "update",
        ("DELETE", false) => "archive",
        _ => "other",
    }
}

fn is_search(path: &str) -> bool {
    path.starts_with("/crm/") && path.ends_with("/search")
}

/// Paths HubSpot answers (its error shapes and limits), as opposed to the emulators'.
pub(crate) fn is_hubspot(path: &str) -> bool {
    ["/crm/", "/crm-object-schemas/", "/account-info/", "/oauth/"]
        .iter()
        .any(|prefix| path.starts_with(prefix))
}

/// Faults and counting, on every route but `/_sandbox/`.
pub(crate) async fn faults(
    State(state): State<SandboxState>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_string();
    if path.starts_with("/_sandbox") {
        return next.run(request).await;
    }
    let kind = endpoint_kind(request.method(), &path);
    {
        let mut counts = state.stats_mut();
        *counts.requests.entry(kind).or_default() += 1;
        counts.total_requests += 1;
    }
    let request = match spy(&state, request).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    if let Some(response) = injected(&state, &path) {
        return response;
    }
    let faults = state.faults();
    if !faults.latency.is_zero() {
        tokio::time::sleep(faults.latency).await;
    }
    if faults.drop_rate > 0.0 && state.fault_draw() < faults.drop_rate {
        state.stats_mut().dropped += 1;
        if let Some(switch) = request.extensions().get::<DropSwitch>() {
            switch.0.notify_one();
            // The accept loop drops the connection (and this future) now.
            std::future::pending::<()>().await;
        }
        // Embedded without our accept loop: the closest we can do is a gateway error.
        return (StatusCode::BAD_GATEWAY, "connection dropped by the sandbox").into_response();
    }
    let crm = is_hubspot(&path);
    let take_429 = {
        let mut f = state.faults_mut();
        if f.burst_429 > 0 {
            f.burst_429 -= 1;
            true
        } else {
            false
        }
    };
    if take_429 {
        let policy = if is_search(&path) {
            "SECONDLY"
        } else {
            "TEN_SECONDLY_ROLLING"
        };
        count_429(&state, policy);
        if crm {
            return rate_limited(policy, Vec::new()).into_response();
        }
        let mut response = (
            StatusCode::TOO_MANY_REQUESTS,
            axum::Json(json!({"error": {"type": "rate_limit", "message": "Too many requests (injected by the sandbox)"}})),
        )
            .into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return response;
    }
    if faults.error_rate > 0.0 && state.fault_draw() < faults.error_rate {
        state.stats_mut().injected_errors += 1;
        return match (state.fault_draw() * 3.0) as u8 {
            0 => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL_ERROR",
                "internal error (injected by the sandbox)",
            )
            .into_response(),
            1 => html(StatusCode::BAD_GATEWAY, "502 Bad Gateway"),
            _ => html(
                StatusCode::SERVICE_UNAVAILABLE,
                "503 Service Temporarily Unavailable",
            ),
        };
    }
    let response = next.run(request).await;
    misshapen(&state, &path, response)
}

/// The emulator a path belongs to (`clearbit` for `/clearbit/v2/...`).
fn provider_of(path: &str) -> &str {
    path.trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default()
}

/// The faults injected through [`SandboxState`]'s methods that answer before the handler
/// (the refusals of `refuse_account_info` and `refuse_token_info` come after auth, in
/// [`crm`]).
fn injected(state: &SandboxState, path: &str) -> Option<Response> {
    if is_hubspot(path) {
        if let Some(storm) = state.in_storm(Instant::now()) {
            count_429(state, "TEN_SECONDLY_ROLLING");
            return Some(
                rate_limited("TEN_SECONDLY_ROLLING", storm_headers(&storm)).into_response(),
            );
        }
        return None;
    }
    let provider = provider_of(path);
    if state.injections().down.contains(provider) {
        state.stats_mut().injected_errors += 1;
        return Some(html(
            StatusCode::SERVICE_UNAVAILABLE,
            "503 Service Temporarily Unavailable",
        ));
    }
    None
}

/// The status an injected refusal answers an authorized request to `path` with.
fn refusal(state: &SandboxState, path: &str) -> Option<u16> {
    let injections = state.injections();
    if path.starts_with("/account-info/") {
        injections.account_info_status
    } else if path == crate::portal::TOKEN_INFO_PATH {
        injections.token_info_status
    } else {
        None
    }
}

/// HubSpot's answer for an endpoint the token may not use (403: its scope is missing) or
/// that isn't there (404, as through a proxy that doesn't pass it).
fn refused(status: u16) -> ApiError {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN);
    match status {
        StatusCode::NOT_FOUND => {
            ApiError::not_found("Resource not found (injected by the sandbox)")
        }
        StatusCode::FORBIDDEN => {
            let mut err = ApiError::new(
                status,
                "MISSING_SCOPES",
                "This app hasn't been granted all required scopes to make this call. \
                 (injected by the sandbox)",
            );
            err.errors = vec![json!({
                "message": "One or more of the following scopes are required.",
                "context": {"requiredGranularScopes": ["oauth"]},
            })];
            err
        }
        other => ApiError::new(other, "INJECTED", "refused (injected by the sandbox)"),
    }
}

/// The headers of a storm's 429: the window it states and the wait it asks for, in
/// seconds (fractions allowed, so a test's storm can be short).
fn storm_headers(storm: &Storm) -> Vec<(HeaderName, HeaderValue)> {
    let retry_after = storm.retry_after.as_secs_f64();
    vec![
        (
            HeaderName::from_static("x-hubspot-ratelimit-interval-milliseconds"),
            hv(&storm.lasts.as_millis()),
        ),
        (
            HeaderName::from_static("x-hubspot-ratelimit-remaining"),
            HeaderValue::from_static("0"),
        ),
        (header::RETRY_AFTER, hv(&retry_after)),
    ]
}

/// Replaces the 200 body of a provider injected with `answer_wrong_shape`.
fn misshapen(state: &SandboxState, path: &str, response: Response) -> Response {
    if response.status() != StatusCode::OK
        || !state.injections().wrong_shape.contains(provider_of(path))
    {
        return response;
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        WRONG_SHAPE,
    )
        .into_response()
}

/// Largest Clay table registration the spy reads (the emulator's own limit is larger;
/// a registration is a few hundred bytes).
const REGISTRATION_LIMIT: usize = 64 * 1024;

/// Keeps a copy of each Clay table registration for the tests (see
/// [`SandboxState::clay_registration`]) and passes the request on unchanged.
async fn spy(state: &SandboxState, request: Request) -> Result<Request, Response> {
    if request.method() != Method::PUT
        || !request.uri().path().starts_with("/clay/_emulator/tables/")
    {
        return Ok(request);
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, REGISTRATION_LIMIT)
        .await
        .map_err(|e| {
            (StatusCode::PAYLOAD_TOO_LARGE, format!("table config: {e}")).into_response()
        })?;
    if let Ok(value) = serde_json::from_slice(&bytes) {
        state.record_clay_registration(value);
    }
    Ok(Request::from_parts(parts, axum::body::Body::from(bytes)))
}

/// Gateways answer HTML, not JSON: clients must cope.
fn html(status: StatusCode, title: &str) -> Response {
    let body =
        format!("<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>");
    (status, [(header::CONTENT_TYPE, "text/html")], body).into_response()
}

fn count_429(state: &SandboxState, policy: &str) {
    let mut counts = state.stats_mut();
    *counts.rate_limited.entry(policy.to_string()).or_default() += 1;
    counts.total_429 += 1;
}

/// HubSpot's 429 body for a policy.
fn rate_limited(policy: &str, headers: Vec<(HeaderName, HeaderValue)>) -> ApiError {
    let mut err = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "RATE_LIMITS",
        format!(
            "You have reached your {} limit.",
            policy.to_ascii_lowercase()
        ),
    )
    .with_extra("errorType", "RATE_LIMIT")
    .with_extra("policyName", policy);
    err.headers = headers;
    err
}

/// Longest request URI (path and query) served; HubSpot's edge answers 414 past its
/// limit, which is what hundreds of `properties` in a query string run into.
pub(crate) const MAX_URI: usize = 8192;

/// Bearer auth, then the rate limits, on `/crm/*`.
pub(crate) async fn crm(
    State(state): State<SandboxState>,
    request: Request,
    next: Next,
) -> Response {
    let uri_len = request
        .uri()
        .path_and_query()
        .map_or(0, |pq| pq.as_str().len());
    if uri_len > MAX_URI {
        return html(StatusCode::URI_TOO_LONG, "414 Request-URI Too Large");
    }
    if !authorized(request.headers(), state.token()) {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_AUTHENTICATION",
            "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
        )
        .into_response();
    }
    if let Some(status) = refusal(&state, request.uri().path()) {
        return refused(status).into_response();
    }
    let search = is_search(request.uri().path());
    let headers = match admit(&state, search) {
        Ok(headers) => headers,
        Err(err) => return err.into_response(),
    };
    let mut response = next.run(request).await;
    for (name, value) in headers {
        response.headers_mut().insert(name, value);
    }
    response
}

fn authorized(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .is_some_and(|given| given.trim() == token)
}

fn hv(n: &impl ToString) -> HeaderValue {
    HeaderValue::from_str(&n.to_string()).unwrap_or(HeaderValue::from_static("0"))
}

/// Count the request against its budgets; the rate-limit headers to send, or the 429.
fn admit(state: &SandboxState, search: bool) -> Result<Vec<(HeaderName, HeaderValue)>, ApiError> {
    let config = state.config();
    let now = Instant::now();
    let today = state.now_ms().div_euclid(DAY_MS);
    let mut w = state.windows();
    if w.day != today {
        w.day = today;
        w.day_count = 0;
    }
    let mut headers = Vec::new();
    let second = Duration::from_secs(1);
    if search {
        prune(&mut w.search_seen, now, second);
        w.search_seen.push_back(now);
        let in_second = u32::try_from(w.search_seen.len()).unwrap_or(u32::MAX);
        let mut counts = state.stats_mut();
        counts.max_search_in_second = counts.max_search_in_second.max(in_second);
    } else {
        let interval = config
            .rate_limit
            .map_or(Duration::from_secs(10), |r| r.interval);
        prune(&mut w.seen, now, interval);
        w.seen.push_back(now);
        let in_window = u32::try_from(w.seen.len()).unwrap_or(u32::MAX);
        let mut counts = state.stats_mut();
        counts.max_in_window = counts.max_in_window.max(in_window);
    }
    let daily_remaining = config.daily_limit.map(|d| d.saturating_sub(w.day_count));
    if daily_remaining == Some(0) {
        drop(w);
        count_429(state, "DAILY");
        return Err(rate_limited("DAILY", Vec::new()));
    }
    if search {
        if let Some(limit) = config.search_per_second {
            prune(&mut w.search, now, second);
            if w.search.len() >= limit as usize {
                drop(w);
                count_429(state, "SECONDLY");
                return Err(rate_limited("SECONDLY", Vec::new()));
            }
            w.search.push_back(now);
        }
    } else if let Some(limit) = config.rate_limit {
        prune(&mut w.burst, now, limit.interval);
        let window_headers = |remaining: usize| {
            vec![
                (
                    HeaderName::from_static("x-hubspot-ratelimit-max"),
                    hv(&limit.max_requests),
                ),
                (
                    HeaderName::from_static("x-hubspot-ratelimit-remaining"),
                    hv(&remaining),
                ),
                (
                    HeaderName::from_static("x-hubspot-ratelimit-interval-milliseconds"),
                    hv(&limit.interval.as_millis()),
                ),
            ]
        };
        if w.burst.len() >= limit.max_requests as usize {
            drop(w);
            count_429(state, "TEN_SECONDLY_ROLLING");
            return Err(rate_limited("TEN_SECONDLY_ROLLING", window_headers(0)));
        }
        w.burst.push_back(now);
        headers.extend(window_headers(limit.max_requests as usize - w.burst.len()));
    }
    w.day_count += 1;
    if !search && let (Some(daily), Some(remaining)) = (config.daily_limit, daily_remaining) {
        headers.push((
            HeaderName::from_static("x-hubspot-ratelimit-daily"),
            hv(&daily),
        ));
        headers.push((
            HeaderName::from_static("x-hubspot-ratelimit-daily-remaining"),
            hv(&remaining.saturating_sub(1)),
        ));
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_kinds() {
        let k = |m: Method, p: &str| endpoint_kind(&m, p);
        assert_eq!(
            k(Method::GET, "/crm/v3/objects/companies"),
            "companies.list"
        );
        assert_eq!(
            k(Method::POST, "/crm/v3/objects/companies"),
            "companies.create"
        );
        assert_eq!(
            k(Method::POST, "/crm/v3/objects/companies/search"),
            "companies.search"
        );
        assert_eq!(
            k(Method::POST, "/crm/v3/objects/companies/batch/update"),
            "companies.batch_update"
        );
        assert_eq!(
            k(Method::GET, "/crm/v3/objects/companies/12"),
            "companies.get"
        );
        assert_eq!(
            k(Method::PATCH, "/crm/v3/objects/companies/12"),
            "companies.update"
        );
        assert_eq!(
            k(Method::GET, "/crm/v3/properties/companies"),
            "properties.list"
        );
        assert_eq!(
            k(Method::POST, "/crm/v3/properties/companies"),
            "properties.create"
        );
        assert_eq!(
            k(Method::GET, "/crm/v3/properties/companies/name"),
            "properties.get"
        );
        assert_eq!(
            k(Method::GET, "/crm/v3/properties/companies/groups"),
            "property_groups.list"
        );
        assert_eq!(
            k(Method::PATCH, "/crm/v3/properties/companies/groups/firmo"),
            "property_groups.update"
        );
        assert_eq!(k(Method::GET, "/clearbit/v2/companies/find"), "clearbit");
        // Contacts are counted apart, in the families their calls belong to.
        assert_eq!(
            k(Method::POST, "/crm/v3/objects/contacts/batch/read"),
            "crm.contacts.batch_read"
        );
        assert_eq!(
            k(Method::POST, "/crm/objects/2026-09/contacts/batch/update"),
            "crm.contacts.batch_update"
        );
        assert_eq!(
            k(
                Method::POST,
                "/crm/v4/associations/companies/contacts/batch/read"
            ),
            "crm.associations.batch_read"
        );
        assert_eq!(
            k(
                Method::POST,
                "/crm/associations/2026-09/companies/contacts/batch/read"
            ),
            "crm.associations.batch_read"
        );
        assert_eq!(
            k(Method::GET, "/crm/v3/properties/contacts"),
            "properties.contacts.list"
        );
        assert_eq!(
            k(Method::POST, "/crm/v3/properties/contacts/groups"),
            "property_groups.contacts.create"
        );
    }

    async fn sandbox() -> crate::SandboxHandle {
        let config = crate::SandboxConfig {
            companies: 1,
            ..crate::SandboxConfig::default()
        };
        crate::start(config, ([127, 0, 0, 1], 0).into())
            .await
            .unwrap()
    }

    async fn get(sb: &crate::SandboxHandle, path: &str, token: &str) -> reqwest::Response {
        reqwest::Client::new()
            .get(format!("{}{path}", sb.base_url()))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_storm_starts_after_its_requests_states_its_window_and_ends() {
        let sb = sandbox().await;
        let path = "/crm/v3/objects/companies";
        sb.state()
            .storm(1, Duration::from_millis(300), Duration::from_millis(50));
        assert_eq!(get(&sb, path, sb.token()).await.status(), 200);
        let stormed = get(&sb, path, sb.token()).await;
        assert_eq!(stormed.status(), 429);
        let header = |name: &str| stormed.headers()[name].to_str().unwrap().to_owned();
        assert_eq!(header("x-hubspot-ratelimit-interval-milliseconds"), "300");
        assert_eq!(header("retry-after"), "0.05");
        let body: serde_json::Value = stormed.json().await.unwrap();
        assert_eq!(body["policyName"], "TEN_SECONDLY_ROLLING");
        // Providers are not HubSpot: the storm leaves them alone.
        let clearbit = get(&sb, "/clearbit/v2/companies/find?domain=x.example", "k").await;
        assert_ne!(clearbit.status(), 429);
        // Polling the storm's own end (a sandbox clock can't be moved from outside).
        let ended = std::time::Instant::now() + Duration::from_secs(5);
        while get(&sb, path, sb.token()).await.status() == 429 {
            assert!(std::time::Instant::now() < ended, "the storm never ended");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn refusals_come_after_auth_and_a_rotated_token_replaces_the_old() {
        let sb = sandbox().await;
        let details = "/account-info/v3/details";
        sb.state().refuse_account_info(403);
        assert_eq!(get(&sb, details, "wrong").await.status(), 401);
        let refused = get(&sb, details, sb.token()).await;
        assert_eq!(refused.status(), 403);
        let body: serde_json::Value = refused.json().await.unwrap();
        assert_eq!(body["category"], "MISSING_SCOPES");
        let old = sb.token().to_owned();
        sb.state().rotate_token("new-token").unwrap();
        assert!(sb.state().rotate_token("again").is_err());
        let list = "/crm/v3/objects/companies";
        assert_eq!(get(&sb, list, &old).await.status(), 401);
        assert_eq!(get(&sb, list, "new-token").await.status(), 200);
        sb.state().clear_injections();
        assert_eq!(get(&sb, details, "new-token").await.status(), 200);
    }

    #[tokio::test]
    async fn a_provider_goes_down_or_answers_the_wrong_shape() {
        let sb = sandbox().await;
        let key = crate::emulators::EmulatorSettings::default().clearbit_key;
        let find = "/clearbit/v2/companies/find?domain=complete.example";
        assert_eq!(get(&sb, find, &key).await.status(), 200);
        sb.state().take_down("clearbit");
        assert_eq!(get(&sb, find, &key).await.status(), 503);
        sb.state().bring_up("clearbit");
        sb.state().answer_wrong_shape("clearbit");
        let misshapen = get(&sb, find, &key).await;
        assert_eq!(misshapen.status(), 200);
        assert_eq!(misshapen.text().await.unwrap(), WRONG_SHAPE);
        // The CRM is not a provider.
        assert_eq!(
            get(&sb, "/crm/v3/objects/companies", sb.token())
                .await
                .status(),
            200
        );
    }
}

//! The HTTP policy every connector shares: client-side rate limiting, retries with
//! jittered exponential backoff that honour `Retry-After`, timeouts, response-size
//! limits, and error messages that never carry a secret or a URL.
//!
//! A connector builds one [`HttpClient`] from an [`HttpPolicy`] and sends every request
//! through [`HttpClient::execute`], passing a [`RetryPolicy`] that reads the service's
//! answers ("retry as data": the policy only classifies, the client does the waiting).
//!
//! ```no_run
//! # async fn demo() -> Result<(), firmo_connect::ConnectorError> {
//! use std::time::Duration;
//! use firmo_connect::http::{HttpClient, HttpPolicy, StandardRetryPolicy};
//! use firmo_connect::Service;
//!
//! let client = HttpClient::new(HttpPolicy::new(Service::Clearbit, 600, Duration::from_secs(60)))?;
//! let policy = StandardRetryPolicy::new(Service::Clearbit);
//! let response = client
//!     .execute(|| client.reqwest().get("https://company.clearbit.com/v2/companies/find"), &policy)
//!     .await?;
//! assert!(response.is_success());
//! # Ok(()) }
//! ```

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use tokio::time::Instant;

use crate::error::{ConnectorError, Service};

/// How a connector talks HTTP: its rate limit, retry budget, timeout and size limit.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpPolicy {
    /// The service, named in every error.
    pub service: Service,
    /// At most this many requests are sent in any window of `interval`.
    pub requests_per_interval: u32,
    /// The window of the rate limit (HubSpot: 10 s; most providers: 1 s or 1 min).
    pub interval: Duration,
    /// Slack added to `interval` when pacing, so that jitter between our send time and
    /// the server's arrival time never puts `requests_per_interval + 1` requests in one of
    /// the server's windows. [`HttpPolicy::new`] sets 1 % of `interval`.
    pub headroom: Duration,
    /// Retries after the first attempt (so at most `max_retries + 1` requests).
    pub max_retries: u32,
    /// First backoff; doubled each retry, jittered, capped by `max_backoff`.
    pub base_backoff: Duration,
    /// Largest single backoff.
    pub max_backoff: Duration,
    /// Give up rather than wait when the total time spent retrying would pass this.
    pub max_retry_time: Duration,
    /// Whole-request timeout (connect, send, read the body).
    pub timeout: Duration,
    /// Largest response body accepted, in bytes.
    pub max_response_bytes: u64,
}

impl HttpPolicy {
    /// A policy with `requests_per_interval` per `interval` and conservative defaults:
    /// 5 retries, backoff 500 ms doubling to 30 s, 2 min retry budget, 30 s timeout,
    /// 16 MiB responses.
    pub fn new(service: Service, requests_per_interval: u32, interval: Duration) -> HttpPolicy {
        HttpPolicy {
            service,
            requests_per_interval,
            interval,
            headroom: interval / 100,
            max_retries: 5,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_retry_time: Duration::from_mins(2),
            timeout: Duration::from_secs(30),
            max_response_bytes: 16 * 1024 * 1024,
        }
    }

    /// The spacing between two requests that keeps every window within the limit:
    /// `(interval + headroom) / requests_per_interval`.
    pub fn pacing(&self) -> Option<Duration> {
        if self.requests_per_interval == 0 {
            return None;
        }
        let period = (self.interval + self.headroom) / self.requests_per_interval;
        (!period.is_zero()).then_some(period)
    }
}

/// What to do with one HTTP answer. The client acts on it; the policy only reads.
#[derive(Debug, Clone, PartialEq)]
pub enum RetryAction {
    /// A usable answer (success, or a status the caller reads itself, like HubSpot's 207).
    Done,
    /// Try again: after `after` when the service said (`Retry-After`), else after the
    /// client's jittered backoff. `error` is what the caller gets if retries run out. A
    /// [`ConnectorError::RateLimited`] error pauses every request of the client, not
    /// just this one.
    Retry {
        after: Option<Duration>,
        error: ConnectorError,
    },
    /// A final failure: retrying the same request won't help.
    DontRetry(ConnectorError),
}

/// Reads a service's answers: which are done, which are worth retrying, which are final.
pub trait RetryPolicy: Send + Sync {
    /// Classifies one HTTP answer.
    fn classify(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> RetryAction;

    /// A pause before the client's next request, read from any answer (e.g. HubSpot's
    /// `X-HubSpot-RateLimit-Remaining: 0`), counted from when this request was sent.
    /// Default: none.
    fn throttle(&self, status: u16, headers: &HeaderMap) -> Option<Duration> {
        let _ = (status, headers);
        None
    }

    /// The rate-limit window a 429's headers state, which a pause must outlast for the
    /// retry to have a chance. Default: [`stated_window`] (HubSpot's
    /// `X-HubSpot-RateLimit-Interval-Milliseconds`, the one such header firmo's services
    /// send).
    fn rate_limit_window(&self, headers: &HeaderMap) -> Option<Duration> {
        stated_window(headers)
    }

    /// Whether a timeout or a connection failure is retried. Default: yes (every
    /// firmo request is idempotent: reads, searches and updates that set values).
    fn retry_transport(&self) -> bool {
        true
    }
}

/// The usual reading of HTTP statuses, for services without quirks: 2xx done; 429 retry
/// (honouring `Retry-After`); 5xx retry; 401/403 auth; 404 not found; 400/422
/// validation; anything else unexpected. Error messages quote at most 300 bytes of body.
#[derive(Debug, Clone)]
pub struct StandardRetryPolicy {
    pub service: Service,
}

impl StandardRetryPolicy {
    pub fn new(service: Service) -> StandardRetryPolicy {
        StandardRetryPolicy { service }
    }
}

impl RetryPolicy for StandardRetryPolicy {
    fn classify(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> RetryAction {
        let service = self.service;
        let message = || body_excerpt(body);
        match status {
            200..=299 => RetryAction::Done,
            429 => {
                let after = retry_after(headers, SystemTime::now());
                RetryAction::Retry {
                    after,
                    error: ConnectorError::RateLimited {
                        service,
                        policy: "HTTP 429".into(),
                        retry_after: after,
                    },
                }
            }
            500..=599 => RetryAction::Retry {
                after: retry_after(headers, SystemTime::now()),
                error: ConnectorError::Server {
                    service,
                    status,
                    message: message(),
                },
            },
            401 | 403 => RetryAction::DontRetry(ConnectorError::Auth {
                service,
                message: message(),
            }),
            404 => RetryAction::DontRetry(ConnectorError::NotFound {
                service,
                what: message(),
            }),
            400 | 422 => RetryAction::DontRetry(ConnectorError::Validation {
                service,
                property: None,
                value: None,
                message: message(),
            }),
            _ => RetryAction::DontRetry(ConnectorError::Unexpected {
                service,
                status,
                message: message(),
            }),
        }
    }
}

/// At most 300 bytes of a body, lossily decoded, for error messages.
pub fn body_excerpt(body: &[u8]) -> String {
    const LIMIT: usize = 300;
    let text = String::from_utf8_lossy(&body[..body.len().min(LIMIT)]);
    let mut text = text.trim().to_owned();
    if body.len() > LIMIT {
        text.push('…');
    }
    if text.is_empty() {
        "(empty body)".to_owned()
    } else {
        text
    }
}

/// Reads `Retry-After`: delay-seconds (fractions accepted) or an HTTP date, relative to
/// `now`. A date in the past is a zero wait.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    parse_retry_after(value, now)
}

/// Parses one `Retry-After` value (see [`retry_after`]).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0)
            .then(|| Duration::from_secs_f64(seconds.min(86_400.0)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The window of the limit an answer reports: HubSpot's
/// `X-HubSpot-RateLimit-Interval-Milliseconds` ("10000" for its 10-second limit).
pub fn stated_window(headers: &HeaderMap) -> Option<Duration> {
    let ms: u64 = headers
        .get("x-hubspot-ratelimit-interval-milliseconds")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    // Bounded so a garbage header cannot park the client for days.
    (ms > 0).then(|| Duration::from_millis(ms.min(3_600_000)))
}

/// How long the whole client pauses after the `in_a_row`-th consecutive 429 of one
/// request (1-based), at retry `attempt`. A 429 means the account's window is full, and
/// only the window passing empties it: a short `Retry-After` (1 s) honoured five times
/// in a row spends the whole retry budget inside one 10-second window and aborts the
/// run. So:
///
/// - when the 429's headers state the window (HubSpot's do), the pause is the longer of
///   that window and `Retry-After`;
/// - otherwise a `Retry-After` that proved too short (another 429 right after it) is
///   doubled for each 429 in a row, up to the configured window
///   ([`HttpPolicy::interval`]): 1, 2, 4, 8, 10 s for HubSpot, past a 10-second storm
///   within the five retries, while a provider with a one-minute window and an honest
///   `Retry-After` is not parked for a minute after two injected 429s;
/// - with neither, the jittered exponential backoff.
///
/// [`HttpPolicy::max_retry_time`] still bounds the total wait.
pub fn rate_limit_pause(
    policy: &HttpPolicy,
    after: Option<Duration>,
    stated_window: Option<Duration>,
    in_a_row: u32,
    attempt: u32,
) -> Duration {
    let asked = match after {
        Some(after) => {
            let doubled = after.saturating_mul(1u32 << in_a_row.saturating_sub(1).min(20));
            doubled.min(policy.interval.max(after))
        }
        None => backoff(policy, attempt),
    };
    stated_window.map_or(asked, |window| asked.max(window))
}

/// An answer read in full (up to the size limit).
#[derive(Debug, Clone, PartialEq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Parses the body as JSON into `T`; a failure is [`ConnectorError::Malformed`]
    /// naming `what` (e.g. `"batch/update response"`) and serde's reason.
    pub fn json<T: serde::de::DeserializeOwned>(
        &self,
        service: Service,
        what: &str,
    ) -> Result<T, ConnectorError> {
        serde_json::from_slice(&self.body).map_err(|e| ConnectorError::Malformed {
            service,
            path: what.to_owned(),
            message: e.to_string(),
        })
    }
}

/// Counters of what the client did, for reports and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HttpStats {
    /// HTTP requests sent (first attempts and retries).
    pub requests: u64,
    /// Of those, retries.
    pub retries: u64,
    /// 429 answers seen (retried or not).
    pub rate_limited: u64,
    /// 5xx answers seen.
    pub server_errors: u64,
    /// Timeouts and connection failures.
    pub transport_errors: u64,
    /// Total time requests waited on the client-side rate limiter.
    pub limiter_wait: Duration,
    /// Total time requests waited on pauses (429 `Retry-After`, throttle headers) and
    /// backoff.
    pub pause_wait: Duration,
}

#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    retries: AtomicU64,
    rate_limited: AtomicU64,
    server_errors: AtomicU64,
    transport_errors: AtomicU64,
    limiter_wait_nanos: AtomicU64,
    pause_wait_nanos: AtomicU64,
}

fn add_duration(counter: &AtomicU64, d: Duration) {
    let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    counter.fetch_add(nanos, Ordering::Relaxed);
}

/// A client-side rate limit: at most `requests` in any window of `interval` (+ headroom),
/// by spacing requests evenly (GCRA with a burst of one).
#[derive(Debug, Clone)]
pub struct RateLimit {
    limiter: Arc<DefaultDirectRateLimiter>,
}

impl RateLimit {
    /// `None` when `requests` is 0 or the spacing rounds to zero (no limit).
    pub fn new(requests: u32, interval: Duration, headroom: Duration) -> Option<RateLimit> {
        if requests == 0 {
            return None;
        }
        let period = (interval + headroom) / requests;
        // A burst of one: with a larger burst B, a window could hold B + requests - 1.
        let quota = Quota::with_period(period)?.allow_burst(NonZeroU32::MIN);
        Some(RateLimit {
            limiter: Arc::new(RateLimiter::direct(quota)),
        })
    }

    async fn until_ready(&self) {
        self.limiter.until_ready().await;
    }
}

struct Inner {
    policy: HttpPolicy,
    reqwest: reqwest::Client,
    limits: Vec<RateLimit>,
    // No request of this client starts before this instant (429 Retry-After, throttles).
    paused_until: Arc<Mutex<Option<Instant>>>,
    counters: Arc<Counters>,
}

/// A reqwest client wrapped in the shared policy. Cheap to clone: clones share the
/// connection pool, the rate limiters, the pause and the counters.
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("policy", &self.inner.policy)
            .finish_non_exhaustive()
    }
}

/// Installs the rustls crypto provider reqwest needs (the workspace builds reqwest with
/// `rustls-no-provider`); a no-op when one is installed already.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl HttpClient {
    pub fn new(policy: HttpPolicy) -> Result<HttpClient, ConnectorError> {
        install_crypto_provider();
        let reqwest = reqwest::Client::builder()
            .timeout(policy.timeout)
            .connect_timeout(policy.timeout)
            .user_agent(concat!("firmo/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| transport_error(policy.service, &e))?;
        let limits = RateLimit::new(
            policy.requests_per_interval,
            policy.interval,
            policy.headroom,
        )
        .into_iter()
        .collect();
        Ok(HttpClient {
            inner: Arc::new(Inner {
                policy,
                reqwest,
                limits,
                paused_until: Arc::new(Mutex::new(None)),
                counters: Arc::new(Counters::default()),
            }),
        })
    }

    /// A client sharing this one's connections, limits, pauses and counters, with one
    /// more rate limit on top (HubSpot's search endpoints: 4 requests per second, which
    /// also count against the account's general limit).
    #[must_use]
    pub fn with_additional_limit(&self, requests: u32, interval: Duration) -> HttpClient {
        let mut limits = self.inner.limits.clone();
        limits.extend(RateLimit::new(requests, interval, interval / 100));
        HttpClient {
            inner: Arc::new(Inner {
                policy: self.inner.policy.clone(),
                reqwest: self.inner.reqwest.clone(),
                limits,
                paused_until: Arc::clone(&self.inner.paused_until),
                counters: Arc::clone(&self.inner.counters),
            }),
        }
    }

    pub fn policy(&self) -> &HttpPolicy {
        &self.inner.policy
    }

    /// The underlying reqwest client, to build requests with.
    pub fn reqwest(&self) -> &reqwest::Client {
        &self.inner.reqwest
    }

    pub fn stats(&self) -> HttpStats {
        let c = &self.inner.counters;
        HttpStats {
            requests: c.requests.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
            rate_limited: c.rate_limited.load(Ordering::Relaxed),
            server_errors: c.server_errors.load(Ordering::Relaxed),
            transport_errors: c.transport_errors.load(Ordering::Relaxed),
            limiter_wait: Duration::from_nanos(c.limiter_wait_nanos.load(Ordering::Relaxed)),
            pause_wait: Duration::from_nanos(c.pause_wait_nanos.load(Ordering::Relaxed)),
        }
    }

    /// Sends the request `request()` builds, under the rate limits, retrying as `retry`
    /// says within the policy's budget. `request` is called once per attempt.
    pub async fn execute(
        &self,
        request: impl Fn() -> reqwest::RequestBuilder + Send + Sync,
        retry: &dyn RetryPolicy,
    ) -> Result<HttpResponse, ConnectorError> {
        let policy = &self.inner.policy;
        let counters = &self.inner.counters;
        let started = Instant::now();
        let mut attempt: u32 = 0;
        // Consecutive 429s of this request: each one past the first waits out a window.
        let mut in_a_row: u32 = 0;
        loop {
            self.wait_turn().await;
            counters.requests.fetch_add(1, Ordering::Relaxed);
            let sent_at = Instant::now();
            let mut window = None;
            let (after, error) = match self.send_once(request()).await {
                Ok(response) => {
                    if response.status == 429 {
                        counters.rate_limited.fetch_add(1, Ordering::Relaxed);
                    } else if response.status >= 500 {
                        counters.server_errors.fetch_add(1, Ordering::Relaxed);
                    }
                    if let Some(pause) = retry.throttle(response.status, &response.headers) {
                        // The headers describe the server's window as of this request's
                        // arrival, so the pause runs from when it was sent.
                        self.pause_until(sent_at + pause);
                    }
                    match retry.classify(response.status, &response.headers, &response.body) {
                        RetryAction::Done => return Ok(response),
                        RetryAction::DontRetry(error) => return Err(error),
                        RetryAction::Retry { after, error } => {
                            if matches!(error, ConnectorError::RateLimited { .. }) {
                                window = retry.rate_limit_window(&response.headers);
                            }
                            (after, error)
                        }
                    }
                }
                Err(
                    error @ (ConnectorError::Timeout { .. } | ConnectorError::Transport { .. }),
                ) => {
                    counters.transport_errors.fetch_add(1, Ordering::Relaxed);
                    if !retry.retry_transport() {
                        return Err(error);
                    }
                    (None, error)
                }
                Err(error) => return Err(error),
            };
            if attempt >= policy.max_retries {
                return Err(error);
            }
            attempt += 1;
            let rate_limited = matches!(error, ConnectorError::RateLimited { .. });
            in_a_row = if rate_limited { in_a_row + 1 } else { 0 };
            let delay = if rate_limited {
                rate_limit_pause(policy, after, window, in_a_row, attempt)
            } else {
                after.unwrap_or_else(|| backoff(policy, attempt))
            };
            if started.elapsed() + delay > policy.max_retry_time {
                tracing::debug!(service = %policy.service, delay_ms = delay.as_millis(), "retry budget exhausted");
                return Err(error);
            }
            tracing::debug!(service = %policy.service, attempt, delay_ms = delay.as_millis(), error = %error, "retrying");
            counters.retries.fetch_add(1, Ordering::Relaxed);
            if rate_limited {
                // The whole account is over its limit: every request of this client waits.
                self.pause_for(delay);
            } else {
                tokio::time::sleep(delay).await;
                add_duration(&counters.pause_wait_nanos, delay);
            }
        }
    }

    /// Waits out any pause, then every rate limit; a pause set while waiting on a limit
    /// (another request hit a 429) sends us round again rather than firing into it.
    async fn wait_turn(&self) {
        let counters = &self.inner.counters;
        loop {
            let paused = *self
                .inner
                .paused_until
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(until) = paused {
                let now = Instant::now();
                if until > now {
                    tokio::time::sleep_until(until).await;
                    add_duration(&counters.pause_wait_nanos, until - now);
                }
            }
            let start = Instant::now();
            for limit in &self.inner.limits {
                limit.until_ready().await;
            }
            add_duration(&counters.limiter_wait_nanos, start.elapsed());
            let paused = *self
                .inner
                .paused_until
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if paused.is_none_or(|until| until <= Instant::now()) {
                return;
            }
        }
    }

    fn pause_for(&self, pause: Duration) {
        self.pause_until(Instant::now() + pause);
    }

    fn pause_until(&self, until: Instant) {
        let mut paused = self
            .inner
            .paused_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if paused.is_none_or(|current| current < until) {
            *paused = Some(until);
        }
    }

    async fn send_once(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<HttpResponse, ConnectorError> {
        let policy = &self.inner.policy;
        let service = policy.service;
        let limit = policy.max_response_bytes;
        let map_err = |e: reqwest::Error| {
            if e.is_timeout() {
                ConnectorError::Timeout {
                    service,
                    timeout: policy.timeout,
                }
            } else {
                transport_error(service, &e)
            }
        };
        let mut response = request.send().await.map_err(map_err)?;
        if response.content_length().is_some_and(|len| len > limit) {
            return Err(ConnectorError::TooLarge { service, limit });
        }
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let mut body = Vec::new();
        // Read chunk by chunk so an endless or lying body stops at the limit.
        while let Some(chunk) = response.chunk().await.map_err(map_err)? {
            if body.len() as u64 + chunk.len() as u64 > limit {
                return Err(ConnectorError::TooLarge { service, limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

/// Jittered exponential backoff for retry `attempt` (1-based): a random wait between
/// half and all of `base * 2^(attempt-1)`, capped at `max_backoff`.
pub fn backoff(policy: &HttpPolicy, attempt: u32) -> Duration {
    let exp = policy
        .base_backoff
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
        .min(policy.max_backoff);
    let half = exp / 2;
    half + half.mul_f64(fastrand::f64())
}

/// A transport failure's message: reqwest's error and its causes, without the URL (which
/// may carry an API key in its query string).
fn transport_error(service: Service, error: &reqwest::Error) -> ConnectorError {
    let mut message = String::new();
    let mut current: Option<&dyn std::error::Error> = Some(error);
    let mut first = true;
    while let Some(e) = current {
        let text = if first {
            // `without_url` needs ownership; rebuild the top-level text from its kind.
            describe_reqwest(error)
        } else {
            e.to_string()
        };
        if !text.is_empty() && !message.contains(&text) {
            if !message.is_empty() {
                message.push_str(": ");
            }
            message.push_str(&text);
        }
        first = false;
        current = e.source();
    }
    ConnectorError::Transport { service, message }
}

fn describe_reqwest(error: &reqwest::Error) -> String {
    if error.is_connect() {
        "connection failed".into()
    } else if error.is_body() || error.is_decode() {
        "reading the response body failed".into()
    } else if error.is_request() {
        "sending the request failed".into()
    } else if error.is_builder() {
        "building the request failed".into()
    } else {
        "request failed".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        assert_eq!(parse_retry_after("120", now), Some(Duration::from_mins(2)));
        assert_eq!(
            parse_retry_after("1.5", now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("-3", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn backoff_doubles_with_jitter_and_caps() {
        let mut policy = HttpPolicy::new(Service::Hubspot, 10, Duration::from_secs(1));
        policy.base_backoff = Duration::from_millis(100);
        policy.max_backoff = Duration::from_secs(1);
        for _ in 0..50 {
            let first = backoff(&policy, 1);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let third = backoff(&policy, 3);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
            let capped = backoff(&policy, 30);
            assert!(capped >= Duration::from_millis(500) && capped <= Duration::from_secs(1));
        }
    }

    #[test]
    fn a_429_pause_grows_while_the_storm_lasts_and_outlasts_a_stated_window() {
        let policy = HttpPolicy::new(Service::Hubspot, 100, Duration::from_secs(10));
        let one = Some(Duration::from_secs(1));
        let ten = Duration::from_secs(10);
        let pauses: Vec<u64> = (1..=6)
            .map(|n| rate_limit_pause(&policy, one, None, n, n).as_secs())
            .collect();
        // A Retry-After that proved too short doubles, up to the window.
        assert_eq!(pauses, [1, 2, 4, 8, 10, 10]);
        assert!(
            pauses[..5].iter().sum::<u64>() > 10,
            "five retries outlast the window"
        );
        // A stated window is outlasted from the first 429.
        assert_eq!(rate_limit_pause(&policy, one, Some(ten), 1, 1), ten);
        // A Retry-After longer than the window wins, stated or not.
        let long = Some(Duration::from_secs(30));
        assert_eq!(
            rate_limit_pause(&policy, long, Some(ten), 1, 1),
            Duration::from_secs(30)
        );
        assert_eq!(
            rate_limit_pause(&policy, long, None, 3, 3),
            Duration::from_secs(30)
        );
        // No Retry-After: the usual jittered backoff.
        let backoff = rate_limit_pause(&policy, None, None, 1, 1);
        assert!(backoff >= Duration::from_millis(250) && backoff <= Duration::from_millis(500));
    }

    #[test]
    fn the_stated_window_is_read_from_hubspots_header() {
        let mut h = HeaderMap::new();
        assert_eq!(stated_window(&h), None);
        h.insert(
            "x-hubspot-ratelimit-interval-milliseconds",
            "10000".parse().unwrap(),
        );
        assert_eq!(stated_window(&h), Some(Duration::from_secs(10)));
        h.insert(
            "x-hubspot-ratelimit-interval-milliseconds",
            "0".parse().unwrap(),
        );
        assert_eq!(stated_window(&h), None);
        h.insert(
            "x-hubspot-ratelimit-interval-milliseconds",
            "999999999999".parse().unwrap(),
        );
        assert_eq!(stated_window(&h), Some(Duration::from_hours(1)));
        h.insert(
            "x-hubspot-ratelimit-interval-milliseconds",
            "ten".parse().unwrap(),
        );
        assert_eq!(stated_window(&h), None);
    }

    #[test]
    fn pacing_spreads_the_window_with_headroom() {
        let policy = HttpPolicy::new(Service::Hubspot, 100, Duration::from_secs(10));
        assert_eq!(policy.pacing(), Some(Duration::from_millis(101)));
        let none = HttpPolicy::new(Service::Hubspot, 0, Duration::from_secs(10));
        assert_eq!(none.pacing(), None);
    }

    #[test]
    fn standard_policy_tells_statuses_apart() {
        let p = StandardRetryPolicy::new(Service::Clearbit);
        let h = HeaderMap::new();
        assert_eq!(p.classify(200, &h, b""), RetryAction::Done);
        assert!(matches!(
            p.classify(503, &h, b"down"),
            RetryAction::Retry { .. }
        ));
        assert!(matches!(
            p.classify(401, &h, b"bad key"),
            RetryAction::DontRetry(ConnectorError::Auth { .. })
        ));
        let mut h429 = HeaderMap::new();
        h429.insert(RETRY_AFTER, "2".parse().unwrap());
        assert_eq!(
            p.classify(429, &h429, b""),
            RetryAction::Retry {
                after: Some(Duration::from_secs(2)),
                error: ConnectorError::RateLimited {
                    service: Service::Clearbit,
                    policy: "HTTP 429".into(),
                    retry_after: Some(Duration::from_secs(2)),
                }
            }
        );
    }
}

//! The shared HTTP policy against a tiny in-process server on 127.0.0.1:0 that answers
//! from a script: 429 with `Retry-After`, 5xx, slow answers, oversize bodies.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use firmo_connect::http::{HttpClient, HttpPolicy, RetryPolicy, StandardRetryPolicy};
use firmo_connect::{ConnectorError, Service};
use tokio::time::Instant;

/// One scripted answer.
#[derive(Clone)]
struct Answer {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    delay: Duration,
}

impl Answer {
    fn status(status: u16) -> Answer {
        Answer {
            status,
            headers: Vec::new(),
            body: format!("status {status}").into_bytes(),
            delay: Duration::ZERO,
        }
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> Answer {
        self.headers.push((name, value.into()));
        self
    }
}

#[derive(Default)]
struct Script {
    answers: VecDeque<Answer>,
    // Answer given once the script runs out.
    fallback: Option<Answer>,
    // Answer given to every request arriving within this long of the first one (a storm).
    storm: Option<(Duration, Answer)>,
    arrivals: Vec<Instant>,
}

type Shared = Arc<Mutex<Script>>;

async fn scripted(State(script): State<Shared>) -> Response {
    let answer = {
        let mut s = script.lock().unwrap();
        let now = Instant::now();
        s.arrivals.push(now);
        let first = s.arrivals[0];
        let storming = s
            .storm
            .as_ref()
            .filter(|(length, _)| now - first < *length)
            .map(|(_, answer)| answer.clone());
        storming
            .or_else(|| s.answers.pop_front())
            .or_else(|| s.fallback.clone())
            .unwrap_or_else(|| Answer::status(200))
    };
    if !answer.delay.is_zero() {
        // The server being slow, not test synchronisation.
        tokio::time::sleep(answer.delay).await;
    }
    let mut headers = HeaderMap::new();
    for (name, value) in answer.headers {
        headers.insert(name, HeaderValue::from_str(&value).unwrap());
    }
    (
        StatusCode::from_u16(answer.status).unwrap(),
        headers,
        answer.body,
    )
        .into_response()
}

async fn serve(script: Script) -> (String, Shared) {
    let shared = Arc::new(Mutex::new(script));
    let app = Router::new()
        .route("/", get(scripted))
        .with_state(Arc::clone(&shared));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/"), shared)
}

/// A server that answers every connection with `len` bytes and no Content-Length
/// (the body ends when the connection closes), to prove the limit stops a streamed body.
async fn serve_unsized(len: usize) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let head =
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n";
                let _ = socket.write_all(head.as_bytes()).await;
                for _ in 0..len / 1024 {
                    if socket.write_all(&[b'x'; 1024]).await.is_err() {
                        return;
                    }
                }
                let _ = socket.shutdown().await;
            });
        }
    });
    format!("http://{addr}/")
}

fn policy(requests: u32, interval: Duration) -> HttpPolicy {
    let mut p = HttpPolicy::new(Service::Hubspot, requests, interval);
    p.base_backoff = Duration::from_millis(5);
    p.max_backoff = Duration::from_millis(40);
    p.max_retries = 3;
    p.timeout = Duration::from_secs(5);
    p.max_retry_time = Duration::from_secs(10);
    p
}

fn arrivals(shared: &Shared) -> Vec<Instant> {
    let mut a = shared.lock().unwrap().arrivals.clone();
    a.sort();
    a
}

/// The shortest span holding `n + 1` consecutive arrivals: if it is at least the window,
/// no window ever held more than `n`.
fn tightest_span(arrivals: &[Instant], n: usize) -> Duration {
    arrivals
        .windows(n + 1)
        .map(|w| w[n] - w[0])
        .min()
        .expect("enough arrivals")
}

#[tokio::test]
async fn never_more_than_the_limit_in_any_window() {
    let (url, shared) = serve(Script::default()).await;
    let mut p = policy(5, Duration::from_millis(100));
    p.headroom = Duration::from_millis(10);
    let client = HttpClient::new(p).unwrap();
    // When each attempt is sent: `execute` builds the request right after the limiter
    // lets it go. (The server's arrival times add scheduling jitter on a busy machine,
    // which is what `headroom` absorbs against a real server.)
    let sends: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..40 {
        let client = client.clone();
        let url = url.clone();
        let sends = Arc::clone(&sends);
        tasks.spawn(async move {
            let retry = StandardRetryPolicy::new(Service::Hubspot);
            let build = || {
                sends.lock().unwrap().push(Instant::now());
                client.reqwest().get(&url)
            };
            client.execute(build, &retry).await.map(|r| r.status)
        });
    }
    while let Some(done) = tasks.join_next().await {
        assert_eq!(done.unwrap(), Ok(200));
    }
    assert_eq!(arrivals(&shared).len(), 40);
    let mut sends = sends.lock().unwrap().clone();
    sends.sort();
    let span = tightest_span(&sends, 5);
    assert!(
        span >= Duration::from_millis(100),
        "6 requests sent within {span:?}"
    );
    // 40 requests paced at 22 ms can't finish faster than 39 gaps.
    assert!(started.elapsed() >= Duration::from_millis(39 * 21));
    let stats = client.stats();
    assert_eq!(
        (stats.requests, stats.retries, stats.rate_limited),
        (40, 0, 0)
    );
    assert!(stats.limiter_wait > Duration::ZERO);
}

#[tokio::test]
async fn an_additional_limit_applies_on_top_and_shares_counters() {
    let (url, shared) = serve(Script::default()).await;
    let client = HttpClient::new(policy(1000, Duration::from_secs(1))).unwrap();
    let search = client.with_additional_limit(4, Duration::from_millis(200));
    let retry = StandardRetryPolicy::new(Service::Hubspot);
    // Send times (see `never_more_than_the_limit_in_any_window`): the first request's
    // arrival also waits for the connection to open.
    let sends: Mutex<Vec<Instant>> = Mutex::default();
    let build = || {
        sends.lock().unwrap().push(Instant::now());
        search.reqwest().get(&url)
    };
    for _ in 0..12 {
        let r = search.execute(build, &retry).await.unwrap();
        assert_eq!(r.status, 200);
    }
    assert_eq!(arrivals(&shared).len(), 12);
    let span = tightest_span(&sends.lock().unwrap(), 4);
    assert!(
        span >= Duration::from_millis(200),
        "5 searches sent within {span:?}"
    );
    assert_eq!(client.stats().requests, 12);
}

#[tokio::test]
async fn retry_after_is_honoured_and_counted() {
    let script = Script {
        answers: VecDeque::from([Answer::status(429).header("retry-after", "0.3")]),
        ..Script::default()
    };
    let (url, shared) = serve(script).await;
    let client = HttpClient::new(policy(100, Duration::from_secs(1))).unwrap();
    let retry = StandardRetryPolicy::new(Service::Hubspot);
    let r = client
        .execute(|| client.reqwest().get(&url), &retry)
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let a = arrivals(&shared);
    assert_eq!(a.len(), 2);
    assert!(
        a[1] - a[0] >= Duration::from_millis(300),
        "waited only {:?}",
        a[1] - a[0]
    );
    let stats = client.stats();
    assert_eq!(
        (stats.requests, stats.retries, stats.rate_limited),
        (2, 1, 1)
    );
    assert!(stats.pause_wait >= Duration::from_millis(250));
}

#[tokio::test]
async fn server_errors_are_retried_until_one_succeeds() {
    let script = Script {
        answers: VecDeque::from([Answer::status(503), Answer::status(502)]),
        ..Script::default()
    };
    let (url, _) = serve(script).await;
    let client = HttpClient::new(policy(100, Duration::from_secs(1))).unwrap();
    let retry = StandardRetryPolicy::new(Service::Hubspot);
    let r = client
        .execute(|| client.reqwest().get(&url), &retry)
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"status 200");
    let stats = client.stats();
    assert_eq!(
        (stats.requests, stats.retries, stats.server_errors),
        (3, 2, 2)
    );
}

#[tokio::test]
async fn retries_stop_after_the_maximum() {
    let script = Script {
        fallback: Some(Answer::status(503)),
        ..Script::default()
    };
    let (url, shared) = serve(script).await;
    let client = HttpClient::new(policy(100, Duration::from_secs(1))).unwrap();
    let retry = StandardRetryPolicy::new(Service::Hubspot);
    let err = client
        .execute(|| client.reqwest().get(&url), &retry)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ConnectorError::Server { status: 503, .. }),
        "{err:?}"
    );
    assert_eq!(arrivals(&shared).len(), 4, "1 attempt + max_retries 3");
}

#[tokio::test]
async fn a_retry_after_beyond_the_budget_fails_now() {
    let script = Script {
        answers: VecDeque::from([Answer::status(429).header("retry-after", "30")]),
        ..Script::default()
    };
    let (url, shared) = serve(script).await;
    let mut p = policy(100, Duration::from_secs(1));
    p.max_retry_time = Duration::from_secs(1);
    let client = HttpClient::new(p).unwrap();
    let retry = StandardRetryPolicy::new(Service::Hubspot);
    let started = Instant::now();
    let err = client
        .execute(|| client.reqwest().get(&url), &retry)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        ConnectorError::RateLimited {
            service: Service::Hubspot,
            policy: "HTTP 429".into(),
            retry_after: Some(Duration::from_secs(30)),
        }
    );
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(arrivals(&shared).len(), 1);
}

#[tokio::test]
async fn final_errors_are_not_retried() {
    let script = Script {
        answers: VecDeque::from([Answer::status(401)]),
        ..Script::default()
    };
    let (url, shared) = serve(script).await;
    let client = HttpClient::new(policy(100, Duration::from_secs(1))).unwrap();
    let retry = StandardRetryPolicy::new(Service::Hubspot);
    let err = client
        .execute(|| client.reqwest().get(&url), &retry)
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Auth { .. }), "{err:?}");
    assert_eq!(arrivals(&shared).len(), 1);
}

#[tokio::test]
async fn timeouts_are_retried_then_reported() {
    let slow = Answer {
        delay: Duration::from_secs(3),
        ..Answer::status(200)
    };
    let script = Script {
        fallback: Some(slow),
        ..Script::default()
    };
    let (url, shared) = serve(script).await;
    let mut p = policy(100, Duration::from_secs(1));
    p.timeout = Duration::from_millis(100);
    p.max_retries = 1;
    let client = HttpClient::new(p).unwrap();
    let retry = StandardRetryPolicy::new(Service::Hubspot);
    let err = client
        .execute(|| client.reqwest().get(&url), &retry)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        ConnectorError::Timeout {
            service: Service::Hubspot,
            timeout: Duration::from_millis(100)
        }
    );
    assert_eq!(arrivals(&shared).len(), 2);
    assert_eq!(client.stats().transport_errors, 2);
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused() {
    let big = Answer {
        body: vec![b'x'; 10_000],
        ..Answer::status(200)
    };
    let exact = Answer {
        body: vec![b'y'; 1000],
        ..Answer::status(200)
    };
    let script = Script {
        answers: VecDeque::from([big, exact]),
        ..Script::default()
    };
    let (url, _) = serve(script).await;
    let mut p = policy(100, Duration::from_secs(1));
    p.max_response_bytes = 1000;
    let client = HttpClient::new(p).unwrap();
    let retry = StandardRetryPolicy::new(Service::Hubspot);
    let err = client
        .execute(|| client.reqwest().get(&url), &retry)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        ConnectorError::TooLarge {
            service: Service::Hubspot,
            limit: 1000
        }
    );
    let ok = client
        .execute(|| client.reqwest().get(&url), &retry)
        .await
        .unwrap();
    assert_eq!(ok.body.len(), 1000);
}

#[tokio::test]
async fn a_streamed_body_stops_at_the_limit() {
    let url = serve_unsized(64 * 1024).await;
    let mut p = policy(100, Duration::from_secs(1));
    p.max_response_bytes = 4096;
    let client = HttpClient::new(p).unwrap();
    let retry = StandardRetryPolicy::new(Service::Hubspot);
    let err = client
        .execute(|| client.reqwest().get(&url), &retry)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ConnectorError::TooLarge { limit: 4096, .. }),
        "{err:?}"
    );
    // The same body fits a larger limit: the limit, not the server, failed it.
    let client = HttpClient::new(policy(100, Duration::from_secs(1))).unwrap();
    let ok = client
        .execute(|| client.reqwest().get(&url), &retry)
        .await
        .unwrap();
    assert_eq!(ok.body.len(), 64 * 1024);
}

#[tokio::test]
async fn transport_errors_carry_no_url_or_key() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = format!("http://127.0.0.1:{port}/v2/find?api_key=sk_secret_123");
    let mut p = policy(100, Duration::from_secs(1));
    p.max_retries = 1;
    let client = HttpClient::new(p).unwrap();
    let retry = StandardRetryPolicy::new(Service::Clearbit);
    let err = client
        .execute(|| client.reqwest().get(&url), &retry)
        .await
        .unwrap_err();
    let ConnectorError::Transport { service, message } = &err else {
        panic!("expected a transport error, got {err:?}");
    };
    assert_eq!(
        *service,
        Service::Hubspot,
        "the client's service names the error"
    );
    let text = err.to_string();
    assert!(
        !text.contains("sk_secret") && !text.contains(&port.to_string()),
        "{text}"
    );
    assert!(message.starts_with("connection failed"), "{message}");
    assert_eq!(client.stats().transport_errors, 2);
}

/// A policy that asks for a pause whenever the server says `x-remaining: 0`.
struct Throttling(StandardRetryPolicy);

impl RetryPolicy for Throttling {
    fn classify(
        &self,
        status: u16,
        headers: &HeaderMap,
        body: &[u8],
    ) -> firmo_connect::RetryAction {
        self.0.classify(status, headers, body)
    }

    fn throttle(&self, _status: u16, headers: &HeaderMap) -> Option<Duration> {
        (headers.get("x-remaining")?.to_str().ok()? == "0").then_some(Duration::from_millis(200))
    }
}

#[tokio::test]
async fn a_throttle_pauses_the_next_request() {
    let script = Script {
        answers: VecDeque::from([Answer::status(200).header("x-remaining", "0")]),
        ..Script::default()
    };
    let (url, shared) = serve(script).await;
    let client = HttpClient::new(policy(100, Duration::from_secs(1))).unwrap();
    let retry = Throttling(StandardRetryPolicy::new(Service::Hubspot));
    // The pause runs from when the reporting request was sent.
    let sends: Mutex<Vec<Instant>> = Mutex::default();
    let build = || {
        sends.lock().unwrap().push(Instant::now());
        client.reqwest().get(&url)
    };
    for _ in 0..2 {
        client.execute(build, &retry).await.unwrap();
    }
    assert_eq!(arrivals(&shared).len(), 2);
    let s = sends.lock().unwrap();
    assert!(
        s[1] - s[0] >= Duration::from_millis(200),
        "gap {:?}",
        s[1] - s[0]
    );
}

/// Tells the test when a 429 has been classified (the client pauses right after).
struct Signalling(StandardRetryPolicy, Arc<tokio::sync::Notify>);

impl RetryPolicy for Signalling {
    fn classify(
        &self,
        status: u16,
        headers: &HeaderMap,
        body: &[u8],
    ) -> firmo_connect::RetryAction {
        if status == 429 {
            self.1.notify_one();
        }
        self.0.classify(status, headers, body)
    }
}

/// A 429 is the account's limit, not one request's: every request of the client waits
/// out its `Retry-After`, including ones started after it.
#[tokio::test]
async fn a_429_pauses_every_request_of_the_client() {
    let script = Script {
        answers: VecDeque::from([Answer::status(429).header("retry-after", "0.4")]),
        ..Script::default()
    };
    let (url, shared) = serve(script).await;
    let client = HttpClient::new(policy(100, Duration::from_secs(1))).unwrap();
    let hit = Arc::new(tokio::sync::Notify::new());
    let first = {
        let client = client.clone();
        let url = url.clone();
        let retry = Signalling(StandardRetryPolicy::new(Service::Hubspot), Arc::clone(&hit));
        tokio::spawn(async move {
            client
                .execute(|| client.reqwest().get(&url), &retry)
                .await
                .map(|r| r.status)
        })
    };
    // On this single-threaded runtime the first task sets the pause before it yields.
    hit.notified().await;
    let retry = StandardRetryPolicy::new(Service::Hubspot);
    let second = client
        .execute(|| client.reqwest().get(&url), &retry)
        .await
        .unwrap();
    assert_eq!(second.status, 200);
    assert_eq!(first.await.unwrap(), Ok(200));
    let a = arrivals(&shared);
    assert_eq!(a.len(), 3);
    assert!(
        a[1] - a[0] >= Duration::from_millis(400),
        "the second request waited {:?}",
        a[1] - a[0]
    );
}

/// A policy shaped like HubSpot's, on a 1-second window instead of 10 so the storms
/// below run in real time in about a second each: 100 requests per window, the default
/// 5 retries. (Paused time would need tokio's `test-util` feature, which this crate's
/// dev-dependencies don't enable.)
fn hubspot_like() -> HttpPolicy {
    let mut p = HttpPolicy::new(Service::Hubspot, 100, Duration::from_secs(1));
    p.timeout = Duration::from_secs(5);
    p.max_retry_time = Duration::from_secs(10);
    p
}

/// Finding 14: 429s with a short `Retry-After` for a whole window used to spend all five
/// retries inside it, 0.1 s apart, and fail the request; the client now doubles a wait
/// that proved too short, up to the window, and gets through.
#[tokio::test]
async fn a_429_storm_as_long_as_the_window_is_survived() {
    let storm = Answer::status(429).header("retry-after", "0.1");
    let script = Script {
        storm: Some((Duration::from_secs(1), storm)),
        ..Script::default()
    };
    let (url, shared) = serve(script).await;
    let policy = hubspot_like();
    assert_eq!(policy.max_retries, 5);
    let client = HttpClient::new(policy).unwrap();
    let retry = StandardRetryPolicy::new(Service::Hubspot);
    let response = client
        .execute(|| client.reqwest().get(&url), &retry)
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    // Sent at about 0, 0.1, 0.3, 0.7 (storm) and 1.5 s.
    let a = arrivals(&shared);
    assert_eq!(a.len(), 5, "{a:?}");
    let gaps: Vec<Duration> = a.windows(2).map(|w| w[1] - w[0]).collect();
    for (gap, at_least) in gaps.iter().zip([100, 200, 400, 800]) {
        assert!(*gap >= Duration::from_millis(at_least), "gaps {gaps:?}");
    }
    let stats = client.stats();
    assert_eq!((stats.retries, stats.rate_limited), (4, 4));
}

/// A storm longer than the retry budget still fails, with the rate-limit error, and no
/// sooner than the waits it sat out.
#[tokio::test]
async fn a_storm_past_the_budget_fails_with_the_rate_limit_error() {
    let storm = Answer::status(429).header("retry-after", "0.1");
    let script = Script {
        storm: Some((Duration::from_hours(1), storm)),
        ..Script::default()
    };
    let (url, shared) = serve(script).await;
    let mut policy = hubspot_like();
    policy.max_retry_time = Duration::from_secs(2);
    let client = HttpClient::new(policy).unwrap();
    let retry = StandardRetryPolicy::new(Service::Hubspot);
    let started = Instant::now();
    let err = client
        .execute(|| client.reqwest().get(&url), &retry)
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::RateLimited { .. }), "{err:?}");
    // t = 0, 0.1, 0.3, 0.7, 1.5; the next wait (1 s) would pass the 2 s budget.
    assert_eq!(arrivals(&shared).len(), 5);
    assert!(started.elapsed() >= Duration::from_millis(1_500));
}

/// When the 429 states HubSpot's window, even the first pause outlasts it, whatever a
/// shorter `Retry-After` says; and every request of the client waits with it.
#[tokio::test]
async fn a_stated_window_outlasts_a_shorter_retry_after_for_the_whole_client() {
    let storm = Answer::status(429)
        .header("retry-after", "0.1")
        .header("x-hubspot-ratelimit-interval-milliseconds", "1000")
        .header("x-hubspot-ratelimit-remaining", "0");
    let script = Script {
        storm: Some((Duration::from_millis(950), storm)),
        ..Script::default()
    };
    let (url, shared) = serve(script).await;
    let client = HttpClient::new(hubspot_like()).unwrap();
    let hit = Arc::new(tokio::sync::Notify::new());
    let first = {
        let client = client.clone();
        let url = url.clone();
        let retry = Signalling(StandardRetryPolicy::new(Service::Hubspot), Arc::clone(&hit));
        tokio::spawn(async move {
            client
                .execute(|| client.reqwest().get(&url), &retry)
                .await
                .map(|r| r.status)
        })
    };
    hit.notified().await;
    let retry = StandardRetryPolicy::new(Service::Hubspot);
    let second = client
        .execute(|| client.reqwest().get(&url), &retry)
        .await
        .unwrap();
    assert_eq!(second.status, 200);
    assert_eq!(first.await.unwrap(), Ok(200));
    let a = arrivals(&shared);
    assert_eq!(a.len(), 3, "{a:?}");
    assert!(
        a[1] - a[0] >= Duration::from_secs(1),
        "the next request came after {:?}",
        a[1] - a[0]
    );
}

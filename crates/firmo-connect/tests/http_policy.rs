//! The shared HTTP policy against the scripted server on 127.0.0.1:0: 429 with `Retry-After`, 5xx, slow answers, oversize bodies.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::HeaderMap;
use firmo_connect::http::{HttpClient, HttpPolicy, RetryPolicy, StandardRetryPolicy};
use firmo_connect::{ConnectorError, Service};
use tokio::time::Instant;

// The shared scripted server, compiled into this test (the `test-support` feature that
// exports it is for the connectors' dev-dependencies; a crate can't depend on itself).
#[allow(dead_code, unreachable_pub)]
#[path = "../src/testing/scripted.rs"]
mod scripted;

use scripted::{Reply, ScriptedServer, closed_port_url};

/// `status` with a body naming it.
fn answer(status: u16) -> Reply {
    Reply::new(status, format!("status {status}"))
}

/// What the server answers: `answers` in order, then `fallback` (default: 200).
#[derive(Default)]
struct Script {
    answers: VecDeque<Reply>,
    fallback: Option<Reply>,
}

async fn serve(script: Script) -> (String, ScriptedServer) {
    let server = ScriptedServer::start(script.answers).await;
    server.set_fallback(Some(script.fallback.unwrap_or_else(|| answer(200))));
    (format!("{}/", server.base_url()), server)
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

fn arrivals(server: &ScriptedServer) -> Vec<Instant> {
    let mut a: Vec<Instant> = server.requests().iter().map(|r| r.arrived).collect();
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
    let (url, server) = serve(Script::default()).await;
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
    assert_eq!(arrivals(&server).len(), 40);
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
    let (url, server) = serve(Script::default()).await;
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
    assert_eq!(arrivals(&server).len(), 12);
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
        answers: VecDeque::from([answer(429).header("retry-after", "0.3")]),
        ..Script::default()
    };
    let (url, server) = serve(script).await;
    let client = HttpClient::new(policy(100, Duration::from_secs(1))).unwrap();
    let retry = StandardRetryPolicy::new(Service::Hubspot);
    let r = client
        .execute(|| client.reqwest().get(&url), &retry)
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let a = arrivals(&server);
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
        answers: VecDeque::from([answer(503), answer(502)]),
        ..Script::default()
    };
    let (url, _server) = serve(script).await;
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
        fallback: Some(answer(503)),
        ..Script::default()
    };
    let (url, server) = serve(script).await;
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
    assert_eq!(arrivals(&server).len(), 4, "1 attempt + max_retries 3");
}

#[tokio::test]
async fn a_retry_after_beyond_the_budget_fails_now() {
    let script = Script {
        answers: VecDeque::from([answer(429).header("retry-after", "30")]),
        ..Script::default()
    };
    let (url, server) = serve(script).await;
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
    assert_eq!(arrivals(&server).len(), 1);
}

#[tokio::test]
async fn final_errors_are_not_retried() {
    let script = Script {
        answers: VecDeque::from([answer(401)]),
        ..Script::default()
    };
    let (url, server) = serve(script).await;
    let client = HttpClient::new(policy(100, Duration::from_secs(1))).unwrap();
    let retry = StandardRetryPolicy::new(Service::Hubspot);
    let err = client
        .execute(|| client.reqwest().get(&url), &retry)
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Auth { .. }), "{err:?}");
    assert_eq!(arrivals(&server).len(), 1);
}

#[tokio::test]
async fn timeouts_are_retried_then_reported() {
    let slow = Reply {
        delay: Duration::from_secs(3),
        ..answer(200)
    };
    let script = Script {
        fallback: Some(slow),
        ..Script::default()
    };
    let (url, server) = serve(script).await;
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
    assert_eq!(arrivals(&server).len(), 2);
    assert_eq!(client.stats().transport_errors, 2);
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused() {
    let big = Reply {
        body: vec![b'x'; 10_000],
        ..answer(200)
    };
    let exact = Reply {
        body: vec![b'y'; 1000],
        ..answer(200)
    };
    let script = Script {
        answers: VecDeque::from([big, exact]),
        ..Script::default()
    };
    let (url, _server) = serve(script).await;
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
    let closed = closed_port_url();
    let port = closed.rsplit(':').next().unwrap().to_owned();
    let url = format!("{closed}/v2/find?api_key=sk_secret_123");
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
        !text.contains("sk_secret") && !text.contains(&port),
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
        answers: VecDeque::from([answer(200).header("x-remaining", "0")]),
        ..Script::default()
    };
    let (url, server) = serve(script).await;
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
    assert_eq!(arrivals(&server).len(), 2);
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
        answers: VecDeque::from([answer(429).header("retry-after", "0.4")]),
        ..Script::default()
    };
    let (url, server) = serve(script).await;
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
    let a = arrivals(&server);
    assert_eq!(a.len(), 3);
    assert!(
        a[1] - a[0] >= Duration::from_millis(400),
        "the second request waited {:?}",
        a[1] - a[0]
    );
}

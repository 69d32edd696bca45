//! A scripted HTTP server on 127.0.0.1 (an ephemeral port): it answers every request,
//! whatever its method or path, with the next [`Reply`] of its script and records what it
//! was sent, so a test can say "a 429, then a 503, then this body" and count the attempts.
//!
//! Uses only axum, tokio and serde_json (no `crate::` items), so firmo-connect's own
//! integration tests can include this file without the `test-support` feature.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// The status a server whose script ran out answers with (and no fallback was set): a
/// status no connector reads as success, so an unplanned request fails loudly.
pub const EXHAUSTED_STATUS: u16 = 410;

/// One scripted answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// How long the server waits before answering (a slow server, for timeouts).
    pub delay: Duration,
}

impl Reply {
    /// `status` with `body` as is.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    /// `status` with `body` serialised, and `Content-Type: application/json`.
    pub fn json(status: u16, body: &serde_json::Value) -> Reply {
        Reply::new(status, body.to_string()).header("content-type", "application/json")
    }

    /// The same reply with one more header.
    #[must_use]
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Reply {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// The same reply, sent after `delay`.
    #[must_use]
    pub fn delayed(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }
}

/// What the server saw of one request.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    /// The raw query string (empty when there is none).
    pub query: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// When the request arrived (tokio's clock).
    pub arrived: Instant,
}

impl Seen {
    /// A header's value as text, if present and readable.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON (`Null` when it isn't JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// Whether `needle` appears in the query or in any header value: where a connector
    /// sends its key.
    pub fn carries(&self, needle: &str) -> bool {
        self.query.contains(needle)
            || self
                .headers
                .values()
                .any(|v| v.to_str().is_ok_and(|v| v.contains(needle)))
    }
}

#[derive(Debug, Default)]
struct Script {
    replies: VecDeque<Reply>,
    fallback: Option<Reply>,
    seen: Vec<Seen>,
}

type Shared = Arc<Mutex<Script>>;

fn lock(script: &Shared) -> std::sync::MutexGuard<'_, Script> {
    // A test that panicked while holding the lock already failed; keep serving.
    script.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn answer(State(script): State<Shared>, request: Request) -> Response {
    let arrived = Instant::now();
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 16 << 20)
        .await
        .map(|b| b.to_vec())
        .unwrap_or_default();
    let next = {
        let mut s = lock(&script);
        s.seen.push(Seen {
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().unwrap_or_default().to_owned(),
            headers: parts.headers,
            body,
            arrived,
        });
        s.replies.pop_front().or_else(|| s.fallback.clone())
    };
    let next = next.unwrap_or_else(|| Reply::new(EXHAUSTED_STATUS, "script exhausted"));
    if !next.delay.is_zero() {
        // The server being slow (what a timeout test needs), not test synchronisation.
        tokio::time::sleep(next.delay).await;
    }
    let mut response = Response::new(Body::from(next.body));
    *response.status_mut() =
        StatusCode::from_u16(next.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in next.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value.as_str()),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    response
}

/// A running scripted server. Stops when dropped.
#[derive(Debug)]
pub struct ScriptedServer {
    addr: SocketAddr,
    script: Shared,
    task: JoinHandle<()>,
}

impl ScriptedServer {
    /// Starts a server that answers `replies` in order, then [`EXHAUSTED_STATUS`] (or the
    /// fallback, once set).
    ///
    /// # Panics
    /// When 127.0.0.1 has no free port (a test helper: the test can't run anyway).
    pub async fn start(replies: impl IntoIterator<Item = Reply>) -> ScriptedServer {
        let script: Shared = Arc::new(Mutex::new(Script {
            replies: replies.into_iter().collect(),
            ..Script::default()
        }));
        let app = axum::Router::new()
            .fallback(answer)
            .with_state(Arc::clone(&script));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0 for the scripted server");
        let addr = listener.local_addr().expect("the listener's address");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        ScriptedServer { addr, script, task }
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Appends replies to the script.
    pub fn push(&self, replies: impl IntoIterator<Item = Reply>) {
        lock(&self.script).replies.extend(replies);
    }

    /// The reply given once the script runs out (`None`: [`EXHAUSTED_STATUS`]).
    pub fn set_fallback(&self, reply: Option<Reply>) {
        lock(&self.script).fallback = reply;
    }

    /// Every request seen so far, in arrival order.
    pub fn requests(&self) -> Vec<Seen> {
        lock(&self.script).seen.clone()
    }

    /// How many requests arrived so far.
    pub fn request_count(&self) -> usize {
        lock(&self.script).seen.len()
    }

    /// How many scripted replies are still unused.
    pub fn replies_left(&self) -> usize {
        lock(&self.script).replies.len()
    }
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A `http://127.0.0.1:<port>` URL nothing listens on: a port bound, noted and closed.
/// For "the service is unreachable" without leaving the machine.
///
/// # Panics
/// When 127.0.0.1 has no free port.
pub fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("the listener's address");
    drop(listener);
    format!("http://{addr}")
}

//! The router, the admin endpoints, and the accept loop: our own (rather than
//! `axum::serve`) so the drop fault can close a connection unanswered and shutdown waits
//! for requests in flight.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tower::ServiceExt;

use crate::config::{Faults, SandboxConfig};
use crate::middleware::{self, DropSwitch};
use crate::state::{Company, SandboxState, Stats};
use crate::{
    associations, companies, contacts, emulators, portal, props_api, search, ui, versions,
};

/// The whole sandbox app: the CRM under `/crm`, the provider emulators, the admin
/// endpoints under `/_sandbox/`, with the fault middleware around all of it.
pub fn router(state: SandboxState) -> Router {
    let crm = crm_routes(Router::new())
        .fallback(crm_not_found)
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::crm,
        ));
    let admin = Router::new()
        .route("/_sandbox/faults", get(get_faults).put(put_faults))
        .route("/_sandbox/stats", get(get_stats))
        .route("/_sandbox/stats/reset", post(reset_stats))
        .route("/_sandbox/companies/{id}", get(get_company))
        .route("/_sandbox/requests", get(emulators::requests_route))
        .route(
            "/_sandbox/health",
            get(|| async { Json(json!({"status": "ok"})) }),
        );
    let mut app = Router::new()
        .merge(crm)
        .merge(admin)
        .with_state(state.clone())
        .merge(emulators::router(&state.config().emulators));
    if let Some(dir) = &state.config().ui_dir {
        app = app.merge(ui::router(dir.clone()));
    }
    app.layer(axum::middleware::from_fn_with_state(
        state,
        middleware::faults,
    ))
}

/// Every HubSpot route, once per API version served (see [`versions`]) and, for object
/// paths, per name of the company object type.
fn crm_routes(mut crm: Router<SandboxState>) -> Router<SandboxState> {
    for version in versions::VERSIONS {
        for object in versions::COMPANY_NAMES {
            let objects = |rest: &str| {
                versions::route(version, Some("objects"), "", &format!("{object}{rest}"))
            };
            crm = crm
                .route(
                    &objects(""),
                    get(companies::list).post(companies::create_one),
                )
                .route(&objects("/search"), post(search::search))
                .route(&objects("/batch/read"), post(companies::batch_read))
                .route(&objects("/batch/update"), post(companies::batch_update))
                .route(&objects("/batch/create"), post(companies::batch_create))
                .route(
                    &objects("/{id}"),
                    get(companies::get_one)
                        .patch(companies::update_one)
                        .delete(companies::archive_one),
                );
        }
        let contacts =
            |rest: &str| versions::route(version, Some("objects"), "", &format!("contacts{rest}"));
        crm = crm
            .route(&contacts("/batch/read"), post(contacts::batch_read))
            .route(&contacts("/batch/update"), post(contacts::batch_update));
        let associations = if version == "v3" {
            "/crm/v4/associations/{from}/{to}/batch/read".to_owned()
        } else {
            format!("/crm/associations/{version}/{{from}}/{{to}}/batch/read")
        };
        crm = crm.route(&associations, post(associations::batch_read));
        let contact_props = |rest: &str| {
            versions::route(version, Some("properties"), "", &format!("contacts{rest}"))
        };
        crm = crm
            .route(
                &contact_props(""),
                get(contacts::list_properties).post(contacts::create_property),
            )
            .route(
                &contact_props("/groups"),
                get(contacts::list_groups).post(contacts::create_group),
            )
            .route(&contact_props("/groups/{name}"), get(contacts::get_group))
            .route(&contact_props("/{name}"), get(contacts::get_property));
        let properties = |rest: &str| versions::route(version, Some("properties"), "", rest);
        crm = crm
            .route(
                &properties("{object_type}"),
                get(props_api::list).post(props_api::create),
            )
            .route(
                &properties("{object_type}/batch/create"),
                post(props_api::batch_create),
            )
            .route(
                &properties("{object_type}/groups"),
                get(props_api::list_groups).post(props_api::create_group),
            )
            .route(
                &properties("{object_type}/groups/{name}"),
                get(props_api::get_group).patch(props_api::update_group),
            )
            .route(
                &properties("{object_type}/{name}"),
                get(props_api::get_one).patch(props_api::update),
            )
            .route(
                &versions::route(version, Some("limits"), "", "custom-properties"),
                get(portal::custom_property_limits),
            )
            .route(
                &versions::route(version, None, "account-info", "details"),
                get(portal::account_details),
            )
            .route(
                &versions::route(version, None, "crm-object-schemas", "schemas"),
                get(portal::list_schemas),
            )
            .route(
                &versions::route(version, None, "crm-object-schemas", "schemas/{object_type}"),
                get(portal::get_schema),
            );
    }
    crm.route(portal::TOKEN_INFO_PATH, post(portal::token_info))
}

async fn crm_not_found() -> Response {
    crate::error::ApiError::new(
        StatusCode::NOT_FOUND,
        "OBJECT_NOT_FOUND",
        "This endpoint is not part of the sandbox's HubSpot API subset",
    )
    .into_response()
}

async fn get_faults(State(state): State<SandboxState>) -> Json<Faults> {
    Json(state.faults())
}

async fn put_faults(State(state): State<SandboxState>, body: axum::body::Bytes) -> Response {
    match serde_json::from_slice::<Faults>(&body) {
        Ok(faults)
            if (0.0..=1.0).contains(&faults.error_rate)
                && (0.0..=1.0).contains(&faults.drop_rate) =>
        {
            state.set_faults(faults.clone());
            Json(faults).into_response()
        }
        Ok(_) => (
            StatusCode::BAD_REQUEST,
            Json(json!({"message": "error_rate and drop_rate are shares between 0 and 1"})),
        )
            .into_response(),
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Json(json!({"message": format!("faults body is not valid: {e}")})),
        )
            .into_response(),
    }
}

async fn get_stats(State(state): State<SandboxState>) -> Json<Stats> {
    Json(state.stats())
}

async fn reset_stats(State(state): State<SandboxState>) -> Json<Stats> {
    state.reset_stats();
    Json(state.stats())
}

async fn get_company(State(state): State<SandboxState>, Path(id): Path<String>) -> Response {
    match state.company(&id) {
        Some(c) => Json(c).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"message": format!("no company {id}")})),
        )
            .into_response(),
    }
}

/// A running sandbox. Dropping it stops accepting connections; `shutdown` also waits
/// for requests in flight and writes the state file.
#[derive(Debug)]
pub struct SandboxHandle {
    state: SandboxState,
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    server: Option<JoinHandle<()>>,
    persister: Option<JoinHandle<()>>,
}

/// Start a sandbox listening on `addr` (use port 0 for a free port).
pub async fn start(config: SandboxConfig, addr: SocketAddr) -> io::Result<SandboxHandle> {
    let state = SandboxState::new(config)?;
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = watch::channel(false);
    let app = router(state.clone());
    let server = tokio::spawn(serve(listener, app, stopped.clone()));
    let persister = state
        .config()
        .state_file
        .is_some()
        .then(|| tokio::spawn(persist_loop(state.clone(), stopped)));
    tracing::info!(%addr, "sandbox listening");
    Ok(SandboxHandle {
        state,
        addr,
        stop,
        server: Some(server),
        persister,
    })
}

async fn serve(listener: TcpListener, app: Router, mut stopped: watch::Receiver<bool>) {
    let graceful = GracefulShutdown::new();
    let builder = auto::Builder::new(TokioExecutor::new());
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(error = %e, "sandbox accept failed");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let kill = Arc::new(Notify::new());
                let switch = DropSwitch(kill.clone());
                let app = app.clone();
                let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
                    request.extensions_mut().insert(switch.clone());
                    app.clone().oneshot(request)
                });
                let builder = builder.clone();
                let watcher = graceful.watcher();
                tokio::spawn(async move {
                    let connection = builder.serve_connection(TokioIo::new(stream), service);
                    let connection = watcher.watch(connection);
                    tokio::select! {
                        result = connection => {
                            if let Err(e) = result {
                                tracing::debug!(error = %e, "sandbox connection ended with an error");
                            }
                        }
                        () = kill.notified() => {
                            // Dropping the connection closes the socket with no answer.
                        }
                    }
                });
            }
            _ = stopped.changed() => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(Duration::from_secs(5), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("sandbox shutdown: connections still open after 5 s, closing them");
    }
}

async fn persist_loop(state: SandboxState, mut stopped: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(250)) => {}
            _ = stopped.changed() => return,
        }
        let s = state.clone();
        match tokio::task::spawn_blocking(move || s.persist()).await {
            Ok(Err(e)) => tracing::warn!(error = %e, "sandbox could not write its state file"),
            Err(e) => tracing::warn!(error = %e, "sandbox state writer failed"),
            Ok(Ok(())) => {}
        }
    }
}

impl SandboxHandle {
    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn token(&self) -> &str {
        self.state.token()
    }

    /// The shared state (the same methods as the handle's, and more).
    pub fn state(&self) -> &SandboxState {
        &self.state
    }

    pub fn set_faults(&self, faults: Faults) {
        self.state.set_faults(faults);
    }

    pub fn faults(&self) -> Faults {
        self.state.faults()
    }

    pub fn stats(&self) -> Stats {
        self.state.stats()
    }

    pub fn reset_stats(&self) {
        self.state.reset_stats();
    }

    /// A company by id, as stored.
    pub fn company(&self, id: &str) -> Option<Company> {
        self.state.company(id)
    }

    /// Every company, in id order.
    pub fn companies(&self) -> Vec<Company> {
        self.state.companies()
    }

    /// Stop accepting, let requests in flight finish (up to 5 s), write the state file.
    pub async fn shutdown(mut self) -> io::Result<()> {
        let _ = self.stop.send(true);
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        if let Some(persister) = self.persister.take() {
            let _ = persister.await;
        }
        let state = self.state.clone();
        tokio::task::spawn_blocking(move || state.persist())
            .await
            .map_err(io::Error::other)?
    }
}

impl Drop for SandboxHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

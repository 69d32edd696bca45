//! A callback receiver on 127.0.0.1:0 whose sink forwards rows to a channel, and a
//! sandbox whose Clay table calls it back.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use firmo_clay::receiver::CALLBACK_PATH;
use firmo_clay::{ClayClient, ClayConfig, ClayRowSink, ReceiverConfig, router};
use firmo_connect::Secret;
use firmo_core::ProviderRecord;
use firmo_sandbox::SandboxHandle;
use firmo_sandbox::emulators::{ClayTable, EmulatorSettings};
use tokio::sync::mpsc;

pub const TABLE: &str = "firmo-accounts";
pub const WEBHOOK_TOKEN: &str = "clay-webhook-token";
pub const CALLBACK_SECRET: &str = "callback-shared-secret";

pub type Row = (String, Vec<ProviderRecord>);

struct ChannelSink(mpsc::UnboundedSender<Row>);

#[async_trait]
impl ClayRowSink for ChannelSink {
    async fn accept(&self, domain: String, records: Vec<ProviderRecord>) -> Result<(), String> {
        self.0.send((domain, records)).map_err(|e| e.to_string())
    }
}

/// Starts the receiver; returns its callback URL and the channel rows arrive on.
pub async fn receiver() -> (String, mpsc::UnboundedReceiver<Row>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = router(
        ReceiverConfig::new(Secret::new(CALLBACK_SECRET)),
        Arc::new(ChannelSink(tx)),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}{CALLBACK_PATH}"), rx)
}

/// A sandbox whose Clay table `TABLE` posts enriched rows to `callback_url`.
pub async fn sandbox(callback_url: &str) -> SandboxHandle {
    let table = ClayTable {
        table_id: TABLE.into(),
        webhook_token: Some(WEBHOOK_TOKEN.into()),
        callback_url: Some(callback_url.into()),
        callback_secret_header: "x-firmo-secret".into(),
        callback_secret: Some(CALLBACK_SECRET.into()),
    };
    let emulators = EmulatorSettings {
        clay_tables: vec![table],
        clay_callback_delay: Duration::from_millis(20),
        clearbit_pending_after: Duration::ZERO,
        ..EmulatorSettings::default()
    };
    firmo_sandbox::testing::sandbox(emulators).await
}

pub fn clay(sandbox: &SandboxHandle, token: &str) -> ClayClient {
    let config = ClayConfig {
        webhook_url: format!("{}/clay/webhooks/{TABLE}", sandbox.base_url()),
        ..ClayConfig::default()
    };
    ClayClient::new(config, Some(Secret::new(token))).unwrap()
}

/// The next row the receiver stored. The timeout only guards against a hung test.
pub async fn next_row(rx: &mut mpsc::UnboundedReceiver<Row>) -> Row {
    tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("no Clay callback within 20 s")
        .expect("receiver closed")
}

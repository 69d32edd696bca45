//! The issue's figure: a 10,000-company batch update (100 calls of 100) against a
//! sandbox that enforces HubSpot's Free/Starter burst limit, 100 requests per rolling
//! 10 seconds, with the client at its defaults (paced to the same limit).
//!
//! ```text
//! cargo run --release -p firmo-hubspot --example batch_update_under_limit
//! ```
//!
//! Prints the wall time against the limit's bound (100 calls at 10/s = 10 s), requests
//! sent, 429s the client saw and 429s that reached the caller (records not written).

#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use firmo_connect::Secret;
use firmo_connect::crm::{CompanyUpdate, WriteOutcome};
use firmo_hubspot::{HubspotClient, HubspotConfig};
use firmo_sandbox::{RateLimit, SandboxConfig};

const COMPANIES: usize = 10_000;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sandbox = firmo_sandbox::start(
        SandboxConfig {
            companies: COMPANIES,
            rate_limit: Some(RateLimit::HUBSPOT_FREE),
            ..SandboxConfig::default()
        },
        "127.0.0.1:0".parse()?,
    )
    .await?;
    // HubSpot's defaults: 100 requests / 10 s, 4 searches / s.
    let config = HubspotConfig::new(Secret::new(sandbox.token())).with_base_url(sandbox.base_url());
    let client = HubspotClient::new(config)?;
    let updates: Vec<CompanyUpdate> = sandbox
        .companies()
        .into_iter()
        .map(|c| CompanyUpdate {
            properties: [(
                "numberofemployees".to_owned(),
                (c.id.len() * 10).to_string(),
            )]
            .into(),
            id: c.id,
        })
        .collect();
    sandbox.reset_stats();

    let started = Instant::now();
    let outcomes = client.batch_update(&updates).await?;
    let wall = started.elapsed();

    let written = outcomes.iter().filter(|o| o.is_written()).count();
    let failed: Vec<&WriteOutcome> = outcomes.iter().filter(|o| !o.is_written()).collect();
    let surfaced_429 = failed
        .iter()
        .filter(|o| {
            matches!(
                o,
                WriteOutcome::Failed {
                    error: firmo_connect::ConnectorError::RateLimited { .. },
                    ..
                }
            )
        })
        .count();
    let calls = updates.len().div_ceil(firmo_hubspot::BATCH_LIMIT);
    // The limit's bound: `calls` requests at 100 per 10 s.
    let bound = Duration::from_millis(calls as u64 * 100);
    let stats = client.stats();
    let server = sandbox.stats();
    println!("companies updated:        {written} / {}", updates.len());
    println!("batch calls:              {calls}");
    println!("wall time:                {:.2} s", wall.as_secs_f64());
    println!("bound (100 calls @ 10/s): {:.2} s", bound.as_secs_f64());
    println!("requests sent:            {}", stats.requests);
    println!("retries:                  {}", stats.retries);
    println!("429s seen by the client:  {}", stats.rate_limited);
    println!("429s sent by the sandbox: {}", server.total_429);
    println!("429s surfaced to caller:  {surfaced_429}");
    println!(
        "max requests in a 10 s window (sandbox): {}",
        server.max_in_window
    );
    println!(
        "time waiting on the limiter: {:.2} s",
        stats.limiter_wait.as_secs_f64()
    );
    if let Some(f) = failed.first() {
        println!("first failure: {f:?}");
    }
    sandbox.shutdown().await?;
    if written != updates.len() || surfaced_429 > 0 {
        return Err("not every company was written".into());
    }
    Ok(())
}

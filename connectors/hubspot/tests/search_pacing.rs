//! HubSpot's search limit (4 per second per token) as HubSpot counts it, on arrival,
//! measured by the sandbox: a search delayed on its way must not let a fifth into one
//! second (issue 12: "with search pacing at 4/s, 5 searches arrived within one second
//! once", through a proxy).

use std::time::{Duration, Instant};

use firmo_connect::Secret;
use firmo_connect::crm::{Crm, SearchQuery};
use firmo_hubspot::{HubspotClient, HubspotConfig};
use firmo_sandbox::{Faults, SandboxConfig};

#[tokio::test]
async fn a_search_delayed_on_its_way_does_not_crowd_the_next_second() {
    let sandbox = firmo_sandbox::start(
        SandboxConfig {
            companies: 5,
            search_per_second: Some(4),
            ..SandboxConfig::default()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let mut config =
        HubspotConfig::new(Secret::new(sandbox.token())).with_base_url(sandbox.base_url());
    // A 429 would be an error here, so the count below sees every arrival.
    config.max_retries = 0;
    let hubspot = HubspotClient::new(config).unwrap();
    let query = SearchQuery {
        limit: 1,
        ..SearchQuery::default()
    };

    // The first search takes 400 ms to arrive (a new connection through a proxy); the
    // later ones arrive at once.
    sandbox.set_faults(Faults {
        latency: Duration::from_millis(400),
        ..Faults::default()
    });
    let first = {
        let (hubspot, query) = (hubspot.clone(), query.clone());
        tokio::spawn(async move { hubspot.search(&query).await })
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while sandbox.stats().total_requests == 0 {
        assert!(
            Instant::now() < deadline,
            "the first search never reached the sandbox"
        );
        tokio::task::yield_now().await;
    }
    sandbox.set_faults(Faults::default());
    let rest: Vec<_> = (0..7)
        .map(|_| {
            let (hubspot, query) = (hubspot.clone(), query.clone());
            tokio::spawn(async move { hubspot.search(&query).await })
        })
        .collect();
    first.await.unwrap().expect("the first search is answered");
    for search in rest {
        search.await.unwrap().expect("never a 429");
    }
    let stats = sandbox.stats();
    assert_eq!(stats.total_429, 0);
    assert_eq!(stats.requests["companies.search"], 8);
    assert!(
        stats.max_search_in_second <= 4,
        "{} searches arrived within one second",
        stats.max_search_in_second
    );
    sandbox.shutdown().await.unwrap();
}

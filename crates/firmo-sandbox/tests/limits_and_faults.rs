//! HubSpot's three rate-limit budgets, the fault knobs (in-process and over
//! `/_sandbox/`), the state file and the standalone binary.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Spec, TOKEN, assert_error, assert_schema, client, get, post, sandbox, sandbox_with};
use firmo_sandbox::{Faults, RateLimit, SandboxConfig};
use serde_json::json;

fn config() -> SandboxConfig {
    SandboxConfig {
        companies: 20,
        token: TOKEN.into(),
        ..SandboxConfig::default()
    }
}

#[tokio::test]
async fn burst_limit_answers_429_with_hubspots_headers_and_body() {
    let limit = RateLimit {
        max_requests: 10,
        interval: Duration::from_secs(1),
    };
    let sb = sandbox_with(SandboxConfig {
        rate_limit: Some(limit),
        ..config()
    })
    .await;
    // All at once, so they land in one window even on a loaded machine.
    let http = client();
    let started = Instant::now();
    let requests: Vec<_> = (0..30)
        .map(|_| {
            let request = http
                .get(format!(
                    "{}/crm/v3/objects/companies?limit=1",
                    sb.base_url()
                ))
                .bearer_auth(TOKEN);
            tokio::spawn(async move {
                let response = request.send().await.expect("request sent");
                let status = response.status();
                let headers = response.headers().clone();
                let body = response.json().await.unwrap_or(serde_json::Value::Null);
                common::Answer {
                    status,
                    headers,
                    body,
                }
            })
        })
        .collect();
    let mut answers = Vec::new();
    for r in requests {
        answers.push(r.await.unwrap());
    }
    let elapsed = started.elapsed();
    let ok: Vec<_> = answers.iter().filter(|a| a.status == 200).collect();
    let limited: Vec<_> = answers.iter().filter(|a| a.status == 429).collect();
    assert_eq!(ok.len() + limited.len(), 30);
    assert!(
        !limited.is_empty(),
        "30 requests against 10/s meet the limit ({elapsed:?}, {:?})",
        sb.stats()
    );
    if elapsed < Duration::from_secs(1) {
        assert_eq!(ok.len(), 10, "no more than the limit inside one window");
    }
    for a in &ok {
        assert_eq!(a.header("x-hubspot-ratelimit-max"), Some("10"));
        assert_eq!(
            a.header("x-hubspot-ratelimit-interval-milliseconds"),
            Some("1000")
        );
        assert!(a.header("x-hubspot-ratelimit-remaining").is_some());
    }
    let mut remaining: Vec<&str> = ok
        .iter()
        .filter_map(|a| a.header("x-hubspot-ratelimit-remaining"))
        .collect();
    remaining.sort_unstable();
    if elapsed < Duration::from_secs(1) {
        assert_eq!(
            remaining,
            ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]
        );
    }
    let first_429 = limited[0];
    assert_error(first_429, 429, "RATE_LIMITS");
    assert_eq!(first_429.body["policyName"], "TEN_SECONDLY_ROLLING");
    assert_eq!(first_429.body["errorType"], "RATE_LIMIT");
    assert_eq!(first_429.header("x-hubspot-ratelimit-remaining"), Some("0"));
    let stats = sb.stats();
    assert_eq!(
        stats.rate_limited.get("TEN_SECONDLY_ROLLING").copied(),
        Some(limited.len() as u64)
    );
    assert_eq!(stats.requests["companies.list"], 30);
    assert!(
        stats.max_in_window >= 11,
        "the window saw more than the limit: {stats:?}"
    );
}

#[tokio::test]
async fn search_has_its_own_secondly_budget() {
    let sb = sandbox_with(SandboxConfig {
        search_per_second: Some(2),
        rate_limit: Some(RateLimit::HUBSPOT_FREE),
        ..config()
    })
    .await;
    let started = Instant::now();
    let mut statuses = Vec::new();
    let mut policies = Vec::new();
    for _ in 0..6 {
        let a = post(&sb, "/crm/v3/objects/companies/search", json!({})).await;
        assert!(a.header("x-hubspot-ratelimit-max").is_none());
        statuses.push(a.status.as_u16());
        if a.status == 429 {
            policies.push(a.body["policyName"].clone());
        }
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    if started.elapsed() < Duration::from_secs(1) {
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 2);
    }
    assert!(policies.iter().all(|p| p == "SECONDLY"), "{policies:?}");
    // The burst budget is untouched by searches.
    let list = get(&sb, "/crm/v3/objects/companies").await;
    assert_eq!(list.header("x-hubspot-ratelimit-remaining"), Some("99"));
    assert!(sb.stats().max_search_in_second >= 3);
}

#[tokio::test]
async fn daily_limit_stops_everything() {
    let sb = sandbox_with(SandboxConfig {
        daily_limit: Some(3),
        ..config()
    })
    .await;
    let first = get(&sb, "/crm/v3/objects/companies").await;
    assert_eq!(first.header("x-hubspot-ratelimit-daily"), Some("3"));
    assert_eq!(
        first.header("x-hubspot-ratelimit-daily-remaining"),
        Some("2")
    );
    get(&sb, "/crm/v3/objects/companies").await;
    post(&sb, "/crm/v3/objects/companies/search", json!({})).await;
    let over = get(&sb, "/crm/v3/objects/companies").await;
    assert_error(&over, 429, "RATE_LIMITS");
    assert_eq!(over.body["policyName"], "DAILY");
    let search = post(&sb, "/crm/v3/objects/companies/search", json!({})).await;
    assert_eq!(search.body["policyName"], "DAILY");
}

#[tokio::test]
async fn fault_knobs_in_process() {
    let sb = sandbox(3).await;
    sb.set_faults(Faults {
        burst_429: 2,
        ..Faults::default()
    });
    let a = get(&sb, "/crm/v3/objects/companies").await;
    assert_error(&a, 429, "RATE_LIMITS");
    assert_eq!(a.body["policyName"], "TEN_SECONDLY_ROLLING");
    assert_eq!(get(&sb, "/crm/v3/objects/companies").await.status, 429);
    assert_eq!(
        get(&sb, "/crm/v3/objects/companies").await.status,
        200,
        "the burst is used up"
    );

    sb.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    for _ in 0..6 {
        let a = get(&sb, "/crm/v3/objects/companies").await;
        assert!([500, 502, 503].contains(&a.status.as_u16()), "{}", a.status);
    }
    assert_eq!(sb.stats().injected_errors, 6);

    sb.set_faults(Faults {
        latency: Duration::from_millis(150),
        ..Faults::default()
    });
    let started = Instant::now();
    assert_eq!(get(&sb, "/crm/v3/objects/companies").await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(150));

    sb.set_faults(Faults {
        drop_rate: 1.0,
        ..Faults::default()
    });
    let dropped = client()
        .get(format!("{}/crm/v3/objects/companies", sb.base_url()))
        .bearer_auth(TOKEN)
        .send()
        .await;
    assert!(dropped.is_err(), "the connection closes without an answer");
    assert_eq!(sb.stats().dropped, 1);
    sb.set_faults(Faults::default());
    assert_eq!(get(&sb, "/crm/v3/objects/companies").await.status, 200);
}

#[tokio::test]
async fn admin_endpoints_drive_the_same_knobs() {
    let sb = sandbox(3).await;
    let url = |p: &str| format!("{}{p}", sb.base_url());
    let put = client()
        .put(url("/_sandbox/faults"))
        .json(&json!({"burst_429": 1, "latency": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    assert_eq!(sb.faults().burst_429, 1);
    assert_eq!(get(&sb, "/crm/v3/objects/companies").await.status, 429);
    let bad = client()
        .put(url("/_sandbox/faults"))
        .json(&json!({"error_rate": 2.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let faults: serde_json::Value = client()
        .get(url("/_sandbox/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(faults["burst_429"], 0);
    let stats: serde_json::Value = client()
        .get(url("/_sandbox/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["requests"]["companies.list"], 1);
    assert_eq!(stats["total_429"], 1);
    // Faults reach the provider emulators too, counted per service.
    client()
        .put(url("/_sandbox/faults"))
        .json(&json!({"error_rate": 1.0}))
        .send()
        .await
        .unwrap();
    let provider = client()
        .get(url("/clearbit/v2/companies/find?domain=example.com"))
        .send()
        .await
        .unwrap();
    assert!(provider.status().is_server_error());
    let stats: serde_json::Value = client()
        .get(url("/_sandbox/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["requests"]["clearbit"], 1);
    let reset: serde_json::Value = client()
        .post(url("/_sandbox/stats/reset"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reset["total_requests"], 0);
    let id = sb.companies()[0].id.clone();
    let company: serde_json::Value = client()
        .get(url(&format!("/_sandbox/companies/{id}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(company["id"], id.as_str());
}

#[tokio::test]
async fn state_file_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("portal.json");
    let cfg = SandboxConfig {
        state_file: Some(path.clone()),
        companies: 5,
        ..config()
    };
    let sb = sandbox_with(cfg.clone()).await;
    let id = sb.companies()[0].id.clone();
    let written = common::patch(
        &sb,
        &format!("/crm/v3/objects/companies/{id}"),
        json!({"properties": {"city": "Reykjavik"}}),
    )
    .await;
    assert_eq!(written.status, 200);
    post(
        &sb,
        "/crm/v3/properties/companies/groups",
        json!({"name": "firmo", "label": "firmo"}),
    )
    .await;
    sb.shutdown().await.unwrap();
    assert!(path.exists());

    // A different seed and count: the file wins.
    let sb = sandbox_with(SandboxConfig {
        seed: 99,
        companies: 50,
        ..cfg
    })
    .await;
    assert_eq!(sb.companies().len(), 5);
    assert_eq!(sb.company(&id).unwrap().properties["city"], "Reykjavik");
    assert_eq!(
        get(&sb, "/crm/v3/properties/companies/groups/firmo")
            .await
            .status,
        200
    );
    // Ids keep increasing after a reload.
    let created = post(
        &sb,
        "/crm/v3/objects/companies",
        json!({"properties": {"name": "After reload"}}),
    )
    .await;
    assert_schema(Spec::Companies, "SimplePublicObject", &created.body);
    let max_before = sb
        .companies()
        .iter()
        .filter(|c| c.properties["name"] != "After reload")
        .map(|c| c.id.parse::<u64>().unwrap())
        .max()
        .unwrap();
    assert!(created.body["id"].as_str().unwrap().parse::<u64>().unwrap() > max_before);

    std::fs::write(&path, b"{ not json").unwrap();
    let broken = firmo_sandbox::start(
        SandboxConfig {
            state_file: Some(path),
            ..config()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await;
    let err = broken.expect_err("a corrupt state file is an error, not an empty portal");
    assert!(err.to_string().contains("portal.json"), "{err}");
}

#[test]
fn binary_prints_the_listening_line_first_and_serves() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_firmo-sandbox"))
        .args([
            "--addr",
            "127.0.0.1:0",
            "--token",
            "bin-token",
            "--companies",
            "12",
            "--rate-limit",
            "100/10s",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim_end()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line: {line:?}"));
    let port: u16 = url
        .strip_prefix("http://127.0.0.1:")
        .unwrap()
        .parse()
        .unwrap();
    assert_ne!(port, 0);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let answer = runtime.block_on(async {
        client()
            .get(format!("{url}/crm/v3/objects/companies?limit=100"))
            .bearer_auth("bin-token")
            .send()
            .await
            .unwrap()
    });
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["x-hubspot-ratelimit-max"], "100");
    let body: serde_json::Value = runtime.block_on(answer.json()).unwrap();
    assert_eq!(body["results"].as_array().unwrap().len(), 12);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test]
async fn ui_dir_serves_the_demo_card_next_to_the_api() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("www")).unwrap();
    std::fs::create_dir_all(dir.path().join("pkg")).unwrap();
    std::fs::write(dir.path().join("www/card.html"), "<html>card</html>").unwrap();
    std::fs::write(dir.path().join("pkg/firmo_wasm_bg.wasm"), b"\0asm").unwrap();
    let sb = sandbox_with(SandboxConfig {
        ui_dir: Some(dir.path().to_path_buf()),
        ..config()
    })
    .await;
    let page = client()
        .get(format!("{}/ui/companies/1000001", sb.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.text().await.unwrap(), "<html>card</html>");
    let wasm = client()
        .get(format!("{}/ui/pkg/firmo_wasm_bg.wasm", sb.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(wasm.headers()["content-type"], "application/wasm");
    // Without a ui_dir there is no card.
    let plain = sandbox(1).await;
    let none = client()
        .get(format!("{}/ui/companies/1", plain.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 404);
}

#[tokio::test]
async fn random_faults_follow_the_seed() {
    let mut runs = Vec::new();
    for _ in 0..2 {
        let sb = sandbox_with(SandboxConfig {
            seed: 5,
            faults: Faults {
                error_rate: 0.5,
                ..Faults::default()
            },
            ..config()
        })
        .await;
        let mut statuses = Vec::new();
        for _ in 0..20 {
            statuses.push(
                get(&sb, "/crm/v3/objects/companies?limit=1")
                    .await
                    .status
                    .as_u16(),
            );
        }
        runs.push(statuses);
    }
    assert_eq!(
        runs[0], runs[1],
        "a sequential client meets the same faults every run"
    );
    let failed = runs[0].iter().filter(|s| **s >= 500).count();
    assert!((3..=17).contains(&failed), "about half fail: {:?}", runs[0]);
}

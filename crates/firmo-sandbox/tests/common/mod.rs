//! Shared by the sandbox's integration tests: start a sandbox on 127.0.0.1:0, talk to it,
//! and check answers against HubSpot's own OpenAPI schemas.

#![allow(dead_code, unreachable_pub)]

use std::sync::OnceLock;

use firmo_sandbox::{SandboxConfig, SandboxHandle};
use reqwest::{Method, StatusCode};
use serde_json::Value;

pub const TOKEN: &str = "test-token";

pub async fn sandbox(companies: usize) -> SandboxHandle {
    sandbox_with(SandboxConfig {
        companies,
        token: TOKEN.into(),
        ..SandboxConfig::default()
    })
    .await
}

pub async fn sandbox_with(config: SandboxConfig) -> SandboxHandle {
    firmo_sandbox::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("sandbox starts")
}

pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().build().expect("client")
}

/// One answer: status, headers, JSON body (`Value::Null` when not JSON).
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub async fn call(sb: &SandboxHandle, method: Method, path: &str, body: Option<Value>) -> Answer {
    call_as(sb, Some(TOKEN), method, path, body).await
}

pub async fn call_as(
    sb: &SandboxHandle,
    token: Option<&str>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Answer {
    let mut request = client().request(method, format!("{}{path}", sb.base_url()));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request sent");
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body read");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
    }
}

pub async fn get(sb: &SandboxHandle, path: &str) -> Answer {
    call(sb, Method::GET, path, None).await
}

pub async fn post(sb: &SandboxHandle, path: &str, body: Value) -> Answer {
    call(sb, Method::POST, path, Some(body)).await
}

pub async fn patch(sb: &SandboxHandle, path: &str, body: Value) -> Answer {
    call(sb, Method::PATCH, path, Some(body)).await
}

/// Which of HubSpot's OpenAPI files a schema comes from.
#[derive(Clone, Copy)]
pub enum Spec {
    Companies,
    Properties,
}

fn defs(spec: Spec) -> &'static Value {
    static COMPANIES: OnceLock<Value> = OnceLock::new();
    static PROPERTIES: OnceLock<Value> = OnceLock::new();
    let (cell, file) = match spec {
        Spec::Companies => (&COMPANIES, "companies-v3.json"),
        Spec::Properties => (&PROPERTIES, "properties-v3.json"),
    };
    cell.get_or_init(|| {
        let path = format!(
            "{}/tests/fixtures/hubspot-openapi/{file}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).expect("OpenAPI fixture readable");
        let text = text.replace("#/components/schemas/", "#/$defs/");
        let openapi: Value = serde_json::from_str(&text).expect("OpenAPI fixture is JSON");
        let mut defs = openapi["components"]["schemas"].clone();
        // HubSpot's guides: a requested property without a value comes back as null,
        // though the OpenAPI types the values as strings. Allow exactly that.
        for object in ["SimplePublicObject", "SimplePublicObjectWithAssociations"] {
            if let Some(props) = defs.get_mut(object) {
                props["properties"]["properties"]["additionalProperties"] =
                    serde_json::json!({"type": ["string", "null"]});
            }
        }
        defs
    })
}

/// Panics with every violation when `instance` doesn't fit HubSpot's schema `name`.
pub fn assert_schema(spec: Spec, name: &str, instance: &Value) {
    let defs = defs(spec);
    assert!(
        defs.get(name).is_some(),
        "no schema {name} in the OpenAPI fixture"
    );
    let schema = serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$defs": defs,
        "$ref": format!("#/$defs/{name}"),
    });
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&schema)
        .expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "response does not fit HubSpot's {name}: {errors:#?}\n{instance:#}"
    );
}

/// A body fits HubSpot's `Error` and has the given category.
pub fn assert_error(answer: &Answer, status: u16, category: &str) {
    assert_eq!(answer.status.as_u16(), status, "{:#}", answer.body);
    assert_eq!(answer.body["status"], "error", "{:#}", answer.body);
    assert_eq!(answer.body["category"], category, "{:#}", answer.body);
    assert_schema(Spec::Companies, "Error", &answer.body);
}

//! Where a client of a running sandbox reaches each provider emulator, and with which
//! key. The sandbox owns its URL layout: `firmo sync --sandbox` (and `--sandbox-url`)
//! hands these to the engine, which never builds an emulator's URL itself.

use crate::emulators::EmulatorSettings;
use crate::emulators::people::DEFAULT_TABLE as PEOPLE_TABLE;

/// The Clay table every sandbox starts with (see [`EmulatorSettings::default`]).
pub const CLAY_TABLE: &str = "sandbox";

/// One emulated provider, as a connector is pointed at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderEndpoint {
    /// The provider's name in firmo's registry.
    pub provider: &'static str,
    /// What its connector calls: the API's base URL, or for a table webhook provider
    /// (Clay), the table's webhook URL.
    pub url: String,
    /// The key the emulator accepts; `None` for one that takes no key (Clay's webhooks
    /// in the sandbox have no token).
    pub key: Option<String>,
    /// For a provider that answers by calling back: where a receiver registers its URL
    /// and secret (`PUT` with `callback_url`, `callback_secret_header`, `callback_secret`),
    /// as a user configures the HTTP API column in Clay's UI.
    pub callback_setup: Option<String>,
}

/// What a run against the sandbox at `base_url` needs to know of its emulators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// The company providers, one entry each.
    pub providers: Vec<ProviderEndpoint>,
    /// Clay's people table, for contact enrichment.
    pub people: ProviderEndpoint,
}

/// The endpoints of a sandbox serving at `base_url` with the default emulator settings
/// (the keys every `firmo sandbox` accepts).
pub fn endpoints(base_url: &str) -> Endpoints {
    let base = base_url.trim_end_matches('/');
    let keys = EmulatorSettings::default();
    let api = |provider: &'static str, key: String| ProviderEndpoint {
        provider,
        url: format!("{base}/{provider}"),
        key: Some(key),
        callback_setup: None,
    };
    Endpoints {
        providers: vec![
            api("clearbit", keys.clearbit_key),
            api("builtwith", keys.builtwith_key),
            api("crunchbase", keys.crunchbase_key),
            ProviderEndpoint {
                provider: "clay",
                url: format!("{base}/clay/webhooks/{CLAY_TABLE}"),
                key: None,
                callback_setup: Some(format!("{base}/clay/_emulator/tables/{CLAY_TABLE}")),
            },
        ],
        people: ProviderEndpoint {
            provider: "clay",
            url: format!("{base}/clay/people/webhooks/{PEOPLE_TABLE}"),
            key: None,
            callback_setup: Some(format!(
                "{base}/clay/people/_emulator/tables/{PEOPLE_TABLE}"
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SandboxConfig, start};

    /// Every endpoint handed out is one the sandbox serves: a key the emulator accepts,
    /// a webhook that takes a row, a table setup that takes a receiver.
    #[tokio::test]
    async fn every_endpoint_is_served_with_its_key() {
        let sandbox = start(
            SandboxConfig::default(),
            "127.0.0.1:0".parse().expect("an address"),
        )
        .await
        .expect("the sandbox starts");
        let endpoints = endpoints(&format!("{}/", sandbox.base_url()));
        let http = reqwest::Client::new();
        for ep in &endpoints.providers {
            let key = ep.key.as_deref().unwrap_or_default();
            let request = match ep.provider {
                "clearbit" => http
                    .get(format!("{}/v2/companies/find?domain=acme.example", ep.url))
                    .bearer_auth(key),
                "builtwith" => http.get(format!(
                    "{}/v21/api.json?KEY={key}&LOOKUP=acme.example",
                    ep.url
                )),
                "crunchbase" => http
                    .post(format!("{}/api/v4/searches/organizations", ep.url))
                    .header("X-cb-user-key", key)
                    .json(
                        &serde_json::json!({"field_ids": ["identifier"], "query": [], "limit": 1}),
                    ),
                "clay" => http
                    .post(&ep.url)
                    .json(&serde_json::json!({"domain": "acme.example"})),
                other => panic!("no check for {other}"),
            };
            let response = request.send().await.expect("the emulator answers");
            let status = response.status();
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            assert!(status.is_success(), "{}: {status} {body}", ep.provider);
            // BuiltWith answers a wrong key with a 200 and no results.
            assert!(
                !body["Results"].is_null() || ep.provider != "builtwith",
                "{body}"
            );
        }
        for ep in endpoints.providers.iter().chain([&endpoints.people]) {
            let Some(setup) = &ep.callback_setup else {
                continue;
            };
            let status = http
                .put(setup)
                .json(&serde_json::json!({
                    "callback_url": "http://127.0.0.1:9/rows",
                    "callback_secret_header": "x-firmo-secret",
                    "callback_secret": "s",
                }))
                .send()
                .await
                .expect("the setup answers")
                .status();
            assert!(status.is_success(), "{setup}: {status}");
        }
        sandbox.shutdown().await.expect("the sandbox stops");
    }
}

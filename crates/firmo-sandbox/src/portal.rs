//! What the portal says about itself: account details (the portal id), the token's own
//! scopes, custom-property limits and object schemas. Shapes from HubSpot's API
//! reference: `GET /account-info/2026-03/details` (`portalId`, `accountType`,
//! `timeZone`, `companyCurrency`, `additionalCurrencies`, `utcOffset`,
//! `utcOffsetMilliseconds`, `uiDomain`, `dataHostingLocation`), `POST
//! /oauth/v2/private-apps/get/access-token-info` (`{tokenKey}` → `userId`, `hubId`,
//! `appId`, `scopes`), `GET /crm/limits/2026-03/custom-properties` (`overallLimit`,
//! `overallUsage`, `overallPercentage`, `byObjectType[]`), `GET
//! /crm-object-schemas/2026-03/schemas` (custom objects: none here).

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::props_api::custom_property_count;
use crate::state::SandboxState;

/// HubSpot documents this path only, without a dated version.
pub(crate) const TOKEN_INFO_PATH: &str = "/oauth/v2/private-apps/get/access-token-info";

/// The company object's type id.
const COMPANY_TYPE_ID: &str = "0-2";

pub(crate) async fn account_details(State(state): State<SandboxState>) -> Json<Value> {
    Json(json!({
        "portalId": state.config().portal_id,
        "accountType": "SANDBOX",
        "timeZone": "US/Eastern",
        "companyCurrency": "USD",
        "additionalCurrencies": [],
        "utcOffset": "-05:00",
        "utcOffsetMilliseconds": -18_000_000,
        "uiDomain": "app.hubspot.com",
        "dataHostingLocation": "na1",
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenKey {
    token_key: String,
}

/// The token describes itself; only the token the request is authorized with (the
/// middleware has checked it), so one token can't read another's scopes.
pub(crate) async fn token_info(
    State(state): State<SandboxState>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let key: TokenKey = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "Access token info: the body needs \"tokenKey\": {e}"
        ))
    })?;
    if key.token_key.trim() != state.token() {
        return Err(ApiError::not_found("Access token not found"));
    }
    Ok(Json(json!({
        "userId": 1,
        "hubId": state.config().portal_id,
        "appId": 1,
        "scopes": state.config().token_scopes,
    })))
}

pub(crate) async fn custom_property_limits(State(state): State<SandboxState>) -> Json<Value> {
    let limit = state.config().custom_property_limit;
    let usage = custom_property_count(&state.db());
    let percentage = if limit == 0 {
        100.0
    } else {
        f64::from(usage) * 100.0 / f64::from(limit)
    };
    Json(json!({
        "overallLimit": limit,
        "overallUsage": usage,
        "overallPercentage": percentage,
        "byObjectType": [{
            "objectTypeId": COMPANY_TYPE_ID,
            "singularLabel": "Company",
            "pluralLabel": "Companies",
            "limit": limit,
            "usage": usage,
            "percentage": percentage,
        }],
    }))
}

/// Custom object schemas: the sandbox has none.
pub(crate) async fn list_schemas() -> Json<Value> {
    Json(json!({"results": []}))
}

/// The company object's schema (`companies`, `company` or `0-2`) with its properties.
pub(crate) async fn get_schema(
    State(state): State<SandboxState>,
    Path(object_type): Path<String>,
) -> Response {
    if !crate::versions::COMPANY_NAMES.contains(&object_type.as_str()) {
        return ApiError::not_found(format!(
            "Unable to infer object type from: {object_type} (the sandbox serves companies only)"
        ))
        .into_response();
    }
    let db = state.db();
    let properties: Vec<&crate::PropertyDef> =
        db.properties.values().filter(|p| !p.archived).collect();
    Json(json!({
        "id": COMPANY_TYPE_ID,
        "objectTypeId": COMPANY_TYPE_ID,
        "name": "companies",
        "fullyQualifiedName": "companies",
        "labels": {"singular": "Company", "plural": "Companies"},
        "primaryDisplayProperty": "name",
        "requiredProperties": [],
        "searchableProperties": ["name", "domain"],
        "secondaryDisplayProperties": ["domain"],
        "properties": properties,
        "associations": [],
        "archived": false,
    }))
    .into_response()
}

//! `/crm/v3/properties/companies` and its `groups`: list, read, create, update.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::companies::query_pairs;
use crate::error::ApiError;
use crate::properties::{
    KINDS, ModificationMetadata, PropertyDef, PropertyGroup, PropertyOption, field_type_fits,
    name_problem,
};
use crate::state::{Db, SandboxState};
use crate::time;

fn check_object_type(object_type: &str) -> Result<(), ApiError> {
    if object_type == "companies" || object_type == "company" || object_type == "0-2" {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "Unable to infer object type from: {object_type} (the sandbox serves companies only)"
        )))
    }
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8], what: &str) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("{what}: {e}")))
}

/// `GET /crm/v3/properties/companies` (`archived`, `properties` filter).
pub(crate) async fn list(
    State(state): State<SandboxState>,
    Path(object_type): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    check_object_type(&object_type)?;
    let pairs = query_pairs(raw.as_deref());
    let archived = pairs.iter().any(|(k, v)| k == "archived" && v == "true");
    let only: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "properties")
        .flat_map(|(_, v)| v.split(',').map(String::from).collect::<Vec<_>>())
        .filter(|s| !s.is_empty())
        .collect();
    let db = state.db();
    let results: Vec<&PropertyDef> = db
        .properties
        .values()
        .filter(|p| p.archived == archived)
        .filter(|p| only.is_empty() || only.contains(&p.name))
        .collect();
    Ok(Json(json!({ "results": results })))
}

/// `GET /crm/v3/properties/companies/{name}`.
pub(crate) async fn get_one(
    State(state): State<SandboxState>,
    Path((object_type, name)): Path<(String, String)>,
) -> Result<Json<PropertyDef>, ApiError> {
    check_object_type(&object_type)?;
    state
        .db()
        .properties
        .get(&name)
        .filter(|p| !p.archived)
        .cloned()
        .map(Json)
        .ok_or_else(|| missing(&name))
}

fn missing(name: &str) -> ApiError {
    ApiError::not_found(format!(
        "Unable to find property {name} for object type COMPANY"
    ))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OptionInput {
    label: String,
    value: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    display_order: Option<i32>,
    #[serde(default)]
    hidden: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PropertyCreate {
    name: Option<String>,
    label: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    field_type: Option<String>,
    group_name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    options: Option<Vec<OptionInput>>,
    #[serde(default)]
    display_order: Option<i32>,
    #[serde(default)]
    has_unique_value: Option<bool>,
    #[serde(default)]
    hidden: Option<bool>,
    #[serde(default)]
    form_field: Option<bool>,
}

/// HubSpot's documented caps: at most 5,000 options per property, 3,000 characters per
/// option (knowledge base "Property field types"; developer docs "Limits tracking").
pub(crate) const MAX_OPTIONS: usize = 5000;
pub(crate) const MAX_OPTION_CHARS: usize = 3000;

fn to_options(inputs: Vec<OptionInput>, property: &str) -> Result<Vec<PropertyOption>, ApiError> {
    if inputs.len() > MAX_OPTIONS {
        return Err(ApiError::bad_request(format!(
            "Property \"{property}\" has {} options; at most {MAX_OPTIONS} are allowed",
            inputs.len()
        )));
    }
    if let Some(long) = inputs
        .iter()
        .find(|o| o.value.chars().count().max(o.label.chars().count()) > MAX_OPTION_CHARS)
    {
        return Err(ApiError::bad_request(format!(
            "Property \"{property}\": option {:?} is longer than {MAX_OPTION_CHARS} characters",
            long.value.chars().take(40).collect::<String>()
        )));
    }
    let mut seen = std::collections::BTreeSet::new();
    inputs
        .into_iter()
        .enumerate()
        .map(|(i, o)| {
            if o.value.is_empty() || o.label.is_empty() {
                return Err(ApiError::bad_request(format!(
                    "Option {i} of property \"{property}\" needs a label and a value"
                )));
            }
            if !seen.insert(o.value.clone()) {
                return Err(ApiError::bad_request(format!(
                    "Property \"{property}\" has the option value {:?} more than once",
                    o.value
                )));
            }
            Ok(PropertyOption {
                label: o.label,
                value: o.value,
                description: o.description.unwrap_or_default(),
                display_order: o
                    .display_order
                    .unwrap_or(i32::try_from(i).unwrap_or(i32::MAX)),
                hidden: o.hidden.unwrap_or(false),
            })
        })
        .collect()
}

fn bool_options() -> Vec<PropertyOption> {
    [("Yes", "true", 0), ("No", "false", 1)]
        .into_iter()
        .map(|(label, value, order)| PropertyOption {
            label: label.into(),
            value: value.into(),
            description: String::new(),
            display_order: order,
            hidden: false,
        })
        .collect()
}

fn check_kind(kind: &str, field_type: &str) -> Result<(), ApiError> {
    if !KINDS.contains(&kind) {
        return Err(ApiError::bad_request(format!(
            "Property type {kind:?} is not one of {}",
            KINDS.join(", ")
        )));
    }
    if !field_type_fits(kind, field_type) {
        return Err(ApiError::bad_request(format!(
            "fieldType {field_type:?} is not valid for a property of type {kind:?}"
        )));
    }
    Ok(())
}

/// `POST /crm/v3/properties/companies`.
pub(crate) async fn create(
    State(state): State<SandboxState>,
    Path(object_type): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    check_object_type(&object_type)?;
    let input: PropertyCreate = parse(&body, "Create property")?;
    let mut db = state.db();
    let def = new_property(&state, &db, input)?;
    db.properties.insert(def.name.clone(), def.clone());
    state.mark_dirty();
    Ok((StatusCode::CREATED, Json(def)).into_response())
}

/// `POST /crm/v3/properties/companies/batch/create`: each input under the rules of a
/// single create; 201 (`BatchResponseProperty`) when all were created, 207
/// (`BatchResponsePropertyWithErrors`) with one `StandardError` (its `context.name` the
/// property) per failed input, a plain 400 when none was or past 100 inputs.
pub(crate) async fn batch_create(
    State(state): State<SandboxState>,
    Path(object_type): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    #[derive(Deserialize)]
    struct Inputs {
        inputs: Vec<PropertyCreate>,
    }
    check_object_type(&object_type)?;
    let started = state.now_ms();
    let Inputs { inputs } = parse(&body, "Create a batch of properties")?;
    if inputs.is_empty() {
        return Err(ApiError::bad_request(
            "Create a batch of properties: \"inputs\" is empty",
        ));
    }
    if inputs.len() > crate::companies::BATCH_LIMIT {
        return Err(ApiError::bad_request(format!(
            "Create a batch of properties: {} inputs, at most {} per batch",
            inputs.len(),
            crate::companies::BATCH_LIMIT
        )));
    }
    let mut db = state.db();
    let mut results = Vec::new();
    let mut errors = Vec::new();
    for input in inputs {
        let name = input.name.clone().unwrap_or_default();
        match new_property(&state, &db, input) {
            Ok(def) => {
                db.properties.insert(def.name.clone(), def.clone());
                results.push(serde_json::to_value(&def).unwrap_or_default());
            }
            // HubSpot's StandardError: `errors` and `links` are required, even empty.
            Err(e) => errors.push(json!({
                "status": "error",
                "category": e.0.category,
                "message": e.0.message,
                "context": {"name": [name]},
                "errors": [],
                "links": {},
            })),
        }
    }
    if !results.is_empty() {
        state.mark_dirty();
    }
    drop(db);
    let now = time::iso_millis(state.now_ms());
    if results.is_empty() {
        let mut err = ApiError::bad_request(format!(
            "None of the {} properties could be created; the first: {}",
            errors.len(),
            errors[0]["message"].as_str().unwrap_or_default()
        ));
        err.0.errors = errors;
        return Err(err);
    }
    let mut body = json!({
        "status": "COMPLETE",
        "results": results,
        "startedAt": time::iso_millis(started),
        "completedAt": now,
    });
    if errors.is_empty() {
        return Ok((StatusCode::CREATED, Json(body)).into_response());
    }
    body["numErrors"] = json!(errors.len());
    body["errors"] = Value::Array(errors);
    Ok((StatusCode::MULTI_STATUS, Json(body)).into_response())
}

/// A property as `input` describes it, checked against what exists in `db` and the
/// portal's custom-property capacity; not yet stored.
fn new_property(
    state: &SandboxState,
    db: &Db,
    input: PropertyCreate,
) -> Result<PropertyDef, ApiError> {
    let required = |v: Option<String>, field: &str| {
        v.filter(|s| !s.is_empty()).ok_or_else(|| {
            ApiError::bad_request(format!("Create property: \"{field}\" is required"))
                .with_context("missingFields", &[field.to_string()])
        })
    };
    let name = required(input.name, "name")?;
    let label = required(input.label, "label")?;
    let kind = required(input.kind, "type")?;
    let field_type = required(input.field_type, "fieldType")?;
    let group_name = required(input.group_name, "groupName")?;
    if db.properties.contains_key(&name) {
        return Err(
            ApiError::conflict(format!("Property named '{name}' already exists."))
                .with_context("name", &[name]),
        );
    }
    if let Some(problem) = name_problem(&name) {
        return Err(ApiError::bad_request(problem));
    }
    let limit = state.config().custom_property_limit;
    let used = custom_property_count(db);
    if used >= limit {
        return Err(ApiError::bad_request(format!(
            "The portal has {used} of its {limit} custom company properties; \"{name}\" would exceed the limit"
        ))
        .with_context("name", &[name]));
    }
    check_kind(&kind, &field_type)?;
    if !db.groups.contains_key(&group_name) {
        return Err(ApiError::bad_request(format!(
            "Property group \"{group_name}\" does not exist; create it first"
        )));
    }
    let mut options = to_options(input.options.unwrap_or_default(), &name)?;
    if kind == "bool" && options.is_empty() {
        options = bool_options();
    }
    if kind == "enumeration" && options.is_empty() && field_type != "booleancheckbox" {
        return Err(ApiError::bad_request(format!(
            "Enumeration property \"{name}\" needs at least one option"
        )));
    }
    if kind != "enumeration" && kind != "bool" && !options.is_empty() {
        return Err(ApiError::bad_request(format!(
            "Property \"{name}\" of type {kind} cannot have options"
        )));
    }
    let now = time::iso_millis(state.now_ms());
    let def = PropertyDef {
        name,
        label,
        kind,
        field_type,
        group_name,
        description: input.description.unwrap_or_default(),
        options,
        display_order: input.display_order.unwrap_or(-1),
        has_unique_value: input.has_unique_value.unwrap_or(false),
        hidden: input.hidden.unwrap_or(false),
        form_field: input.form_field.unwrap_or(false),
        hubspot_defined: false,
        calculated: false,
        external_options: false,
        archived: false,
        created_at: now.clone(),
        updated_at: now,
        modification_metadata: ModificationMetadata {
            archivable: true,
            read_only_definition: false,
            read_only_value: false,
            read_only_options: false,
        },
    };
    Ok(def)
}

/// Custom (not HubSpot-defined) company properties, archived ones excluded: what the
/// portal's tier limits.
pub(crate) fn custom_property_count(db: &Db) -> u32 {
    let n = db
        .properties
        .values()
        .filter(|p| !p.hubspot_defined && !p.archived)
        .count();
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PropertyUpdate {
    label: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    field_type: Option<String>,
    group_name: Option<String>,
    description: Option<String>,
    options: Option<Vec<OptionInput>>,
    display_order: Option<i32>,
    hidden: Option<bool>,
    form_field: Option<bool>,
}

/// `PATCH /crm/v3/properties/companies/{name}`.
pub(crate) async fn update(
    State(state): State<SandboxState>,
    Path((object_type, name)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Json<PropertyDef>, ApiError> {
    check_object_type(&object_type)?;
    let input: PropertyUpdate = parse(&body, "Update property")?;
    let now = time::iso_millis(state.now_ms());
    let mut db = state.db();
    if let Some(group) = &input.group_name
        && !db.groups.contains_key(group)
    {
        return Err(ApiError::bad_request(format!(
            "Property group \"{group}\" does not exist"
        )));
    }
    let def = db
        .properties
        .get_mut(&name)
        .filter(|p| !p.archived)
        .ok_or_else(|| missing(&name))?;
    let retypes = input.kind.is_some() || input.field_type.is_some();
    if def.modification_metadata.read_only_definition && (retypes || input.options.is_some()) {
        return Err(ApiError::bad_request(format!(
            "Property \"{name}\" is defined by HubSpot; its type and options cannot be changed"
        )));
    }
    let kind = input.kind.unwrap_or_else(|| def.kind.clone());
    let field_type = input.field_type.unwrap_or_else(|| def.field_type.clone());
    check_kind(&kind, &field_type)?;
    if let Some(options) = input.options {
        def.options = to_options(options, &name)?;
    }
    def.kind = kind;
    def.field_type = field_type;
    if let Some(v) = input.label {
        def.label = v;
    }
    if let Some(v) = input.group_name {
        def.group_name = v;
    }
    if let Some(v) = input.description {
        def.description = v;
    }
    if let Some(v) = input.display_order {
        def.display_order = v;
    }
    if let Some(v) = input.hidden {
        def.hidden = v;
    }
    if let Some(v) = input.form_field {
        def.form_field = v;
    }
    def.updated_at = now;
    let def = def.clone();
    state.mark_dirty();
    Ok(Json(def))
}

/// `GET /crm/v3/properties/companies/groups`.
pub(crate) async fn list_groups(
    State(state): State<SandboxState>,
    Path(object_type): Path<String>,
) -> Result<Json<Value>, ApiError> {
    check_object_type(&object_type)?;
    let db = state.db();
    let results: Vec<&PropertyGroup> = db.groups.values().filter(|g| !g.archived).collect();
    Ok(Json(json!({ "results": results })))
}

fn missing_group(name: &str) -> ApiError {
    ApiError::not_found(format!(
        "Unable to find property group {name} for object type COMPANY"
    ))
}

/// `GET /crm/v3/properties/companies/groups/{name}`.
pub(crate) async fn get_group(
    State(state): State<SandboxState>,
    Path((object_type, name)): Path<(String, String)>,
) -> Result<Json<PropertyGroup>, ApiError> {
    check_object_type(&object_type)?;
    state
        .db()
        .groups
        .get(&name)
        .filter(|g| !g.archived)
        .cloned()
        .map(Json)
        .ok_or_else(|| missing_group(&name))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupInput {
    name: Option<String>,
    label: Option<String>,
    display_order: Option<i32>,
}

/// `POST /crm/v3/properties/companies/groups`.
pub(crate) async fn create_group(
    State(state): State<SandboxState>,
    Path(object_type): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    check_object_type(&object_type)?;
    let input: GroupInput = parse(&body, "Create property group")?;
    let name = input
        .name
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::bad_request("Create property group: \"name\" is required"))?;
    let label = input
        .label
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::bad_request("Create property group: \"label\" is required"))?;
    let mut db = state.db();
    if db.groups.contains_key(&name) {
        return Err(
            ApiError::conflict(format!("Property group named '{name}' already exists."))
                .with_context("name", &[name]),
        );
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase())
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(ApiError::bad_request(format!(
            "Property group name {name:?} must be lowercase letters, digits and underscores, starting with a letter"
        )));
    }
    let group = PropertyGroup {
        name: name.clone(),
        label,
        display_order: input.display_order.unwrap_or(-1),
        archived: false,
    };
    db.groups.insert(name, group.clone());
    state.mark_dirty();
    Ok((StatusCode::CREATED, Json(group)).into_response())
}

/// `PATCH /crm/v3/properties/companies/groups/{name}`.
pub(crate) async fn update_group(
    State(state): State<SandboxState>,
    Path((object_type, name)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Json<PropertyGroup>, ApiError> {
    check_object_type(&object_type)?;
    let input: GroupInput = parse(&body, "Update property group")?;
    let mut db = state.db();
    let group = db
        .groups
        .get_mut(&name)
        .filter(|g| !g.archived)
        .ok_or_else(|| missing_group(&name))?;
    if let Some(label) = input.label {
        group.label = label;
    }
    if let Some(order) = input.display_order {
        group.display_order = order;
    }
    let group = group.clone();
    state.mark_dirty();
    Ok(Json(group))
}

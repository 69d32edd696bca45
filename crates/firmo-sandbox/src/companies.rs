//! `/crm/v3/objects/companies`: list, get, create, update, and the batch read, update
//! and create endpoints, in HubSpot's request and response shapes.

use std::collections::{BTreeMap, BTreeSet};

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::error::{ApiError, error_detail, values_message};
use crate::properties::{self, ValueError};
use crate::state::{Company, Db, SandboxState};
use crate::time;
use crate::versions;

/// Most inputs a batch call takes.
pub(crate) const BATCH_LIMIT: usize = 100;
/// Most records a list page returns.
const LIST_LIMIT: usize = 100;

/// Properties every company answer carries.
const ALWAYS: &[&str] = &["createdate", "hs_lastmodifieddate", "hs_object_id"];
/// Returned when no `properties` are asked for.
pub(crate) const DEFAULT_PROPERTIES: &[&str] = &["name", "domain"];

/// Decoded `key=value` pairs of a query string, repeated keys kept.
pub(crate) fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    raw.unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..=i + 2])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                if let Some(b) = hex {
                    out.push(b);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Which properties an answer carries.
pub(crate) enum Wanted {
    Defaults,
    These(Vec<String>),
}

impl Wanted {
    /// From `properties` query values (comma lists, repeated or both).
    fn from_query(pairs: &[(String, String)]) -> Wanted {
        let names: Vec<String> = pairs
            .iter()
            .filter(|(k, _)| k == "properties")
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        if names.is_empty() {
            Wanted::Defaults
        } else {
            Wanted::These(names)
        }
    }

    pub(crate) fn from_list(names: Option<&[String]>) -> Wanted {
        match names {
            Some(n) if !n.is_empty() => Wanted::These(n.to_vec()),
            _ => Wanted::Defaults,
        }
    }
}

/// A company as HubSpot's `SimplePublicObject`.
pub(crate) fn render(db: &Db, company: &Company, wanted: &Wanted) -> Value {
    let mut props = Map::new();
    let requested: Vec<&str> = match wanted {
        Wanted::Defaults => DEFAULT_PROPERTIES.to_vec(),
        Wanted::These(names) => names.iter().map(String::as_str).collect(),
    };
    for name in ALWAYS.iter().copied().chain(requested) {
        // Names that aren't properties are left out, as HubSpot does.
        let Some(def) = db.properties.get(name) else {
            continue;
        };
        let value = company
            .get(name)
            .map(|v| properties::render_value(Some(def), &v));
        props.insert(name.to_string(), value.map_or(Value::Null, Value::String));
    }
    let mut object = json!({
        "id": company.id,
        "properties": props,
        "createdAt": time::iso_millis(company.created_at),
        "updatedAt": time::iso_millis(company.updated_at),
        "archived": company.archived,
    });
    if company.archived {
        object["archivedAt"] = json!(time::iso_millis(company.updated_at));
    }
    object
}

fn flag(pairs: &[(String, String)], key: &str) -> Result<bool, ApiError> {
    match pairs
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
    {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(ApiError::bad_request(format!(
            "Query parameter {key}={other:?} is not a boolean (true or false)"
        ))),
    }
}

fn param<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// `GET /crm/v3/objects/companies`: pages in id order; `after` is the next id.
pub(crate) async fn list(
    State(state): State<SandboxState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let pairs = query_pairs(raw.as_deref());
    let limit = match param(&pairs, "limit") {
        None => 10,
        Some(l) => l.parse::<usize>().map_err(|_| {
            ApiError::bad_request(format!("Query parameter limit={l:?} is not a whole number"))
        })?,
    }
    .clamp(1, LIST_LIMIT);
    let after = match param(&pairs, "after") {
        None | Some("") => 0,
        Some(a) => a.parse::<u64>().map_err(|_| {
            ApiError::bad_request(format!(
                "Query parameter after={a:?} is not a paging cursor this endpoint returned"
            ))
        })?,
    };
    let archived = flag(&pairs, "archived")?;
    let wanted = Wanted::from_query(&pairs);
    let db = state.db();
    let mut page = db
        .companies
        .range(after..)
        .map(|(_, c)| c)
        .filter(|c| c.archived == archived);
    let results: Vec<Value> = page
        .by_ref()
        .take(limit)
        .map(|c| render(&db, c, &wanted))
        .collect();
    let mut body = json!({ "results": results });
    if let Some(next) = page.next() {
        let after = next.id.clone();
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("127.0.0.1");
        let mut link =
            format!("http://{host}/crm/v3/objects/companies?limit={limit}&after={after}");
        if let Wanted::These(names) = &wanted {
            link.push_str("&properties=");
            link.push_str(&names.join(","));
        }
        body["paging"] = json!({ "next": { "after": after, "link": link } });
    }
    Ok(Json(body))
}

/// Find a company by id or by a unique property (`idProperty`).
fn find<'a>(
    db: &'a Db,
    id: &str,
    id_property: Option<&str>,
) -> Result<Option<&'a Company>, ApiError> {
    match id_property {
        None | Some("hs_object_id") => Ok(db.company(id)),
        Some(prop) => {
            let def = db.properties.get(prop).ok_or_else(|| {
                ApiError::bad_request(format!("idProperty {prop:?} is not a company property"))
            })?;
            if !def.has_unique_value {
                return Err(ApiError::bad_request(format!(
                    "idProperty {prop:?} is not a unique-value property; only properties with hasUniqueValue can identify records"
                )));
            }
            Ok(db
                .companies
                .values()
                .find(|c| c.properties.get(prop).is_some_and(|v| v == id)))
        }
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!(
        "No COMPANY with id {id} exists (resource not found)"
    ))
}

/// `GET /crm/v3/objects/companies/{id}`.
pub(crate) async fn get_one(
    State(state): State<SandboxState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let pairs = query_pairs(raw.as_deref());
    let archived = flag(&pairs, "archived")?;
    let db = state.db();
    let company = find(&db, &id, param(&pairs, "idProperty"))?
        .filter(|c| c.archived == archived)
        .ok_or_else(|| not_found(&id))?;
    Ok(Json(render(&db, company, &Wanted::from_query(&pairs))))
}

/// The `properties` object of a write, values coerced to strings as HubSpot does
/// (numbers and booleans accepted, `null` clears).
fn input_properties(
    value: Option<&Value>,
    where_: &str,
) -> Result<Vec<(String, String)>, ApiError> {
    let Some(value) = value else {
        return Err(ApiError::bad_request(format!(
            "{where_}: \"properties\" is required"
        )));
    };
    let Value::Object(map) = value else {
        return Err(ApiError::bad_request(format!(
            "{where_}: \"properties\" must be an object of name → value"
        )));
    };
    map.iter()
        .map(|(k, v)| {
            let s = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Null => String::new(),
                other => {
                    return Err(ApiError::bad_request(format!(
                        "{where_}: property {k:?} has a value of type {}, not a string",
                        if other.is_array() { "array" } else { "object" }
                    )));
                }
            };
            Ok((k.clone(), s))
        })
        .collect()
}

/// Check every value; the canonical changes, or every problem found.
fn check_all(
    db: &Db,
    props: &[(String, String)],
) -> Result<Vec<(String, Option<String>)>, Vec<ValueError>> {
    let mut changes = Vec::new();
    let mut problems = Vec::new();
    for (name, raw) in props {
        match db.properties.get(name) {
            None => problems.push(ValueError::unknown(name)),
            Some(def) => match properties::check_value(def, raw) {
                Ok(v) => changes.push((name.clone(), v)),
                Err(e) => problems.push(e),
            },
        }
    }
    if problems.is_empty() {
        Ok(changes)
    } else {
        Err(problems)
    }
}

/// A value already held by another record in a `hasUniqueValue` property: (property,
/// value, the holder's id).
struct Taken {
    property: String,
    value: String,
    holder: String,
}

impl Taken {
    fn message(&self) -> String {
        format!(
            "A COMPANY with {} \"{}\" already exists. Existing ID: {}",
            self.property, self.value, self.holder
        )
    }

    fn api_error(&self) -> ApiError {
        ApiError::conflict(self.message())
            .with_context("propertyName", std::slice::from_ref(&self.property))
    }
}

/// HubSpot keeps `hasUniqueValue` properties unique across records.
fn unique_conflict(
    db: &Db,
    changes: &[(String, Option<String>)],
    self_id: Option<&str>,
) -> Option<Taken> {
    changes.iter().find_map(|(name, value)| {
        let value = value.as_ref()?;
        let def = db.properties.get(name)?;
        if !def.has_unique_value || name == "hs_object_id" {
            return None;
        }
        db.companies
            .values()
            .find(|c| Some(c.id.as_str()) != self_id && c.properties.get(name) == Some(value))
            .map(|c| Taken {
                property: name.clone(),
                value: value.clone(),
                holder: c.id.clone(),
            })
    })
}

/// Apply checked changes and stamp the write; how many values changed.
fn apply(company: &mut Company, changes: Vec<(String, Option<String>)>, now: i64) -> u64 {
    let mut count = 0;
    for (name, value) in changes {
        let changed = match value {
            Some(v) => company.properties.insert(name, v.clone()).as_ref() != Some(&v),
            None => company.properties.remove(&name).is_some(),
        };
        count += u64::from(changed);
    }
    company.updated_at = now.max(company.updated_at);
    count
}

fn body_object(body: &[u8], what: &str) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::bad_request(format!(
            "{what}: the request body must be a JSON object"
        ))),
        Err(e) => Err(ApiError::bad_request(format!(
            "{what}: the request body is not valid JSON: {e}"
        ))),
    }
}

fn names_of(props: &[(String, String)]) -> Wanted {
    Wanted::These(props.iter().map(|(k, _)| k.clone()).collect())
}

/// `PATCH /crm/v3/objects/companies/{id}`.
pub(crate) async fn update_one(
    State(state): State<SandboxState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    uri: axum::http::Uri,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let pairs = query_pairs(raw.as_deref());
    let body = body_object(&body, "Update company")?;
    let props = input_properties(body.get("properties"), "Update company")?;
    let now = state.now_ms();
    let mut db = state.db();
    let company_id = find(&db, &id, param(&pairs, "idProperty"))?
        .filter(|c| !c.archived)
        .map(|c| c.id.clone())
        .ok_or_else(|| not_found(&id))?;
    if versions::enforces_portal_rules(uri.path())
        && let Some(v) = crate::rules::first_violation(
            &state.config().portal_rules,
            db.company(&company_id),
            &props,
        )
    {
        let failure = Failure::portal_rule(v);
        let mut err = ApiError::new(failure.status_code, failure.category, failure.message);
        err.0.errors = failure.errors;
        return Err(err.with_context("propertyName", &failure.context["propertyName"]));
    }
    let changes = check_all(&db, &props).map_err(|p| ApiError::invalid_values(&p))?;
    if let Some(taken) = unique_conflict(&db, &changes, Some(&company_id)) {
        return Err(taken.api_error());
    }
    let company = db.company_mut(&company_id).ok_or_else(|| not_found(&id))?;
    let written = apply(company, changes, now);
    let company = company.clone();
    state.stats_mut().values_written += written;
    state.mark_dirty();
    Ok(Json(render(&db, &company, &names_of(&props))))
}

/// `DELETE /crm/v3/objects/companies/{id}`: archives the record (HubSpot keeps it,
/// readable with `archived=true`); archiving an archived or missing id is a 204 too.
pub(crate) async fn archive_one(
    State(state): State<SandboxState>,
    Path(id): Path<String>,
) -> StatusCode {
    let now = state.now_ms();
    let mut db = state.db();
    if let Some(company) = db.company_mut(&id).filter(|c| !c.archived) {
        company.archived = true;
        company.updated_at = now.max(company.updated_at);
        state.mark_dirty();
    }
    StatusCode::NO_CONTENT
}

/// `POST /crm/v3/objects/companies`.
pub(crate) async fn create_one(
    State(state): State<SandboxState>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let body = body_object(&body, "Create company")?;
    let props = input_properties(body.get("properties"), "Create company")?;
    let now = state.now_ms();
    let mut db = state.db();
    let changes = check_all(&db, &props).map_err(|p| ApiError::invalid_values(&p))?;
    if let Some(taken) = unique_conflict(&db, &changes, None) {
        return Err(taken.api_error());
    }
    let company = insert(&mut db, changes, now);
    state.stats_mut().values_written += company.properties.len() as u64;
    state.mark_dirty();
    Ok((
        StatusCode::CREATED,
        Json(render(&db, &company, &names_of(&props))),
    )
        .into_response())
}

fn insert(db: &mut Db, changes: Vec<(String, Option<String>)>, now: i64) -> Company {
    let id = db.allocate_id();
    let properties: BTreeMap<String, String> = changes
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect();
    let company = Company {
        id: id.to_string(),
        properties,
        created_at: now,
        updated_at: now,
        archived: false,
    };
    db.companies.insert(id, company.clone());
    company
}

/// The `inputs` array of a batch call, checked for size.
fn inputs<'a>(body: &'a Map<String, Value>, what: &str) -> Result<&'a Vec<Value>, ApiError> {
    let inputs = body
        .get("inputs")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::bad_request(format!("{what}: \"inputs\" must be an array")))?;
    if inputs.len() > BATCH_LIMIT {
        return Err(ApiError::bad_request(format!(
            "{what}: {} inputs is more than the {BATCH_LIMIT} a batch takes; split it",
            inputs.len()
        ))
        .with_extra("subCategory", "BATCH_SIZE_LIMIT_EXCEEDED"));
    }
    Ok(inputs)
}

fn string_list(body: &Map<String, Value>, key: &str) -> Option<Vec<String>> {
    body.get(key).and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect()
    })
}

/// One failed input of a batch call, as HubSpot's `StandardError`.
struct Failure {
    status_code: StatusCode,
    category: &'static str,
    message: String,
    errors: Vec<Value>,
    context: BTreeMap<String, Vec<String>>,
}

impl Failure {
    fn to_json(&self) -> Value {
        json!({
            "status": "error",
            "category": self.category,
            "message": self.message,
            "context": self.context,
            "errors": self.errors,
            "links": {},
        })
    }

    fn invalid(problems: &[ValueError]) -> Failure {
        Failure {
            status_code: StatusCode::BAD_REQUEST,
            category: "VALIDATION_ERROR",
            message: values_message(problems),
            errors: problems.iter().map(error_detail).collect(),
            context: BTreeMap::from([(
                "propertyName".to_string(),
                problems
                    .iter()
                    .map(|p| p.property.clone())
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect(),
            )]),
        }
    }

    /// HubSpot's 2026-09 answer to a write a portal rule refuses.
    fn portal_rule(v: crate::rules::Violation) -> Failure {
        Failure {
            status_code: StatusCode::BAD_REQUEST,
            category: "VALIDATION_ERROR",
            message: v.message.clone(),
            errors: vec![json!({
                "code": v.code,
                "message": v.message,
                "context": {"propertyName": [v.property.clone()]},
            })],
            context: BTreeMap::from([("propertyName".to_string(), vec![v.property])]),
        }
    }

    fn conflict(taken: &Taken) -> Failure {
        Failure {
            status_code: StatusCode::CONFLICT,
            category: "CONFLICT",
            message: taken.message(),
            errors: Vec::new(),
            context: BTreeMap::from([("propertyName".to_string(), vec![taken.property.clone()])]),
        }
    }

    fn missing(ids: Vec<String>) -> Failure {
        Failure {
            status_code: StatusCode::NOT_FOUND,
            category: "OBJECT_NOT_FOUND",
            message: "Could not get some COMPANY objects, they may be deleted or not exist. Check that ids are valid.".into(),
            errors: Vec::new(),
            context: BTreeMap::from([("ids".to_string(), ids)]),
        }
    }

    fn tag(mut self, id: Option<&str>, trace: Option<&str>) -> Failure {
        if let Some(id) = id {
            self.context
                .entry("ids".into())
                .or_default()
                .push(id.to_string());
        }
        if let Some(trace) = trace {
            self.context
                .insert("objectWriteTraceId".into(), vec![trace.to_string()]);
        }
        self
    }
}

/// The batch answer: 200 (201 for create) when nothing failed, 207 with `errors` when
/// some did, a plain 400 when every input failed.
fn batch_response(
    ok_status: StatusCode,
    (started, completed): (i64, i64),
    results: Vec<Value>,
    failures: &[Failure],
) -> Response {
    let completed = time::iso_millis(completed);
    if !failures.is_empty() && results.is_empty() {
        let first = &failures[0];
        let mut err = ApiError::new(
            if failures.iter().all(|f| f.status_code == first.status_code) {
                first.status_code
            } else {
                StatusCode::BAD_REQUEST
            },
            first.category,
            if failures.len() == 1 {
                first.message.clone()
            } else {
                format!(
                    "All {} inputs failed; the first: {}",
                    failures.len(),
                    first.message
                )
            },
        );
        err.errors = failures.iter().flat_map(|f| f.errors.clone()).collect();
        let mut ids: Vec<String> = failures
            .iter()
            .flat_map(|f| f.context.get("ids").cloned().unwrap_or_default())
            .collect();
        ids.dedup();
        err = err.with_context("ids", &ids);
        let traces: Vec<String> = failures
            .iter()
            .flat_map(|f| {
                f.context
                    .get("objectWriteTraceId")
                    .cloned()
                    .unwrap_or_default()
            })
            .collect();
        if !traces.is_empty() {
            err = err.with_context("objectWriteTraceId", &traces);
        }
        return err.into_response();
    }
    let mut body = json!({
        "status": "COMPLETE",
        "startedAt": time::iso_millis(started),
        "completedAt": completed,
    });
    body["results"] = Value::Array(results);
    if failures.is_empty() {
        return (ok_status, Json(body)).into_response();
    }
    body["numErrors"] = json!(failures.len());
    body["errors"] = Value::Array(failures.iter().map(Failure::to_json).collect());
    (StatusCode::MULTI_STATUS, Json(body)).into_response()
}

/// `POST /crm/v3/objects/companies/batch/read`.
pub(crate) async fn batch_read(
    State(state): State<SandboxState>,
    RawQuery(raw): RawQuery,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let started = state.now_ms();
    let pairs = query_pairs(raw.as_deref());
    let archived = flag(&pairs, "archived")?;
    let body = body_object(&body, "Batch read")?;
    let inputs = inputs(&body, "Batch read")?;
    let wanted = Wanted::from_list(string_list(&body, "properties").as_deref());
    let id_property = body.get("idProperty").and_then(Value::as_str);
    let db = state.db();
    let mut seen = BTreeSet::new();
    let mut results = Vec::new();
    let mut missing = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let id = input.get("id").and_then(Value::as_str).ok_or_else(|| {
            ApiError::bad_request(format!("Batch read: inputs[{i}].id must be a string"))
        })?;
        if !seen.insert(id.to_string()) {
            continue;
        }
        match find(&db, id, id_property)?.filter(|c| c.archived == archived) {
            Some(c) => results.push(render(&db, c, &wanted)),
            None => missing.push(id.to_string()),
        }
    }
    let failures = if missing.is_empty() {
        Vec::new()
    } else {
        vec![Failure::missing(missing)]
    };
    // HubSpot answers a batch read whose ids all miss with a 207, not a 400.
    if results.is_empty() && !failures.is_empty() {
        let body = json!({
            "status": "COMPLETE",
            "results": [],
            "numErrors": 1,
            "errors": [failures[0].to_json()],
            "startedAt": time::iso_millis(started),
            "completedAt": time::iso_millis(state.now_ms()),
        });
        return Ok((StatusCode::MULTI_STATUS, Json(body)).into_response());
    }
    Ok(batch_response(
        StatusCode::OK,
        (started, state.now_ms()),
        results,
        &failures,
    ))
}

/// `POST /crm/v3/objects/companies/batch/update`.
pub(crate) async fn batch_update(
    State(state): State<SandboxState>,
    uri: axum::http::Uri,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let rules: &[crate::rules::PortalRule] = if versions::enforces_portal_rules(uri.path()) {
        &state.config().portal_rules
    } else {
        &[]
    };
    let started = state.now_ms();
    let body = body_object(&body, "Batch update")?;
    let inputs = inputs(&body, "Batch update")?;
    let fail_ids = state.faults().fail_ids;
    let mut parsed = Vec::with_capacity(inputs.len());
    let mut ids = BTreeSet::new();
    let mut duplicates = BTreeSet::new();
    for (i, input) in inputs.iter().enumerate() {
        let at = format!("Batch update inputs[{i}]");
        let id = input
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| ApiError::bad_request(format!("{at}: \"id\" must be a string")))?
            .to_string();
        let props = input_properties(input.get("properties"), &at)?;
        let trace = input
            .get("objectWriteTraceId")
            .and_then(Value::as_str)
            .map(String::from);
        let id_property = input
            .get("idProperty")
            .and_then(Value::as_str)
            .map(String::from);
        if !ids.insert(id.clone()) {
            duplicates.insert(id.clone());
        }
        parsed.push((id, props, trace, id_property));
    }
    if !duplicates.is_empty() {
        let list: Vec<String> = duplicates.into_iter().collect();
        return Err(ApiError::bad_request(format!(
            "Duplicate IDs found in batch input: [{}]",
            list.join(", ")
        ))
        .with_context("ids", &list));
    }
    let now = state.now_ms();
    let mut db = state.db();
    let mut results = Vec::new();
    let mut failures = Vec::new();
    let mut written = 0;
    for (id, props, trace, id_property) in parsed {
        let found = find(&db, &id, id_property.as_deref())?
            .filter(|c| !c.archived)
            .map(|c| c.id.clone());
        let Some(company_id) = found else {
            failures.push(Failure::missing(Vec::new()).tag(Some(&id), trace.as_deref()));
            continue;
        };
        if fail_ids.contains(&company_id) {
            failures.push(
                Failure {
                    status_code: StatusCode::BAD_REQUEST,
                    category: "VALIDATION_ERROR",
                    message: format!(
                        "Company {company_id} was configured to fail (sandbox fault fail_ids)"
                    ),
                    errors: vec![
                        json!({"message": "injected by the sandbox", "code": "INJECTED_FAULT"}),
                    ],
                    context: BTreeMap::new(),
                }
                .tag(Some(&company_id), trace.as_deref()),
            );
            continue;
        }
        if let Some(v) = crate::rules::first_violation(rules, db.company(&company_id), &props) {
            failures.push(Failure::portal_rule(v).tag(Some(&id), trace.as_deref()));
            continue;
        }
        match check_all(&db, &props) {
            Err(problems) => {
                failures.push(Failure::invalid(&problems).tag(Some(&id), trace.as_deref()));
            }
            Ok(changes) => {
                if let Some(taken) = unique_conflict(&db, &changes, Some(&company_id)) {
                    failures.push(Failure::conflict(&taken).tag(Some(&id), trace.as_deref()));
                    continue;
                }
                let Some(company) = db.company_mut(&company_id) else {
                    continue;
                };
                written += apply(company, changes, now);
                let company = company.clone();
                let mut object = render(&db, &company, &names_of(&props));
                if let Some(trace) = &trace {
                    object["objectWriteTraceId"] = json!(trace);
                }
                results.push(object);
            }
        }
    }
    drop(db);
    if !results.is_empty() {
        state.stats_mut().values_written += written;
        state.mark_dirty();
    }
    Ok(batch_response(
        StatusCode::OK,
        (started, state.now_ms()),
        results,
        &failures,
    ))
}

/// `POST /crm/v3/objects/companies/batch/create`.
pub(crate) async fn batch_create(
    State(state): State<SandboxState>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let started = state.now_ms();
    let body = body_object(&body, "Batch create")?;
    let inputs = inputs(&body, "Batch create")?;
    let mut parsed = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.iter().enumerate() {
        let props = input_properties(
            input.get("properties"),
            &format!("Batch create inputs[{i}]"),
        )?;
        let trace = input
            .get("objectWriteTraceId")
            .and_then(Value::as_str)
            .map(String::from);
        parsed.push((props, trace));
    }
    let now = state.now_ms();
    let mut db = state.db();
    let mut results = Vec::new();
    let mut failures = Vec::new();
    let mut written = 0;
    for (props, trace) in parsed {
        match check_all(&db, &props) {
            Err(problems) => failures.push(Failure::invalid(&problems).tag(None, trace.as_deref())),
            Ok(changes) => {
                if let Some(taken) = unique_conflict(&db, &changes, None) {
                    failures.push(Failure::conflict(&taken).tag(None, trace.as_deref()));
                    continue;
                }
                let company = insert(&mut db, changes, now);
                written += company.properties.len() as u64;
                let mut object = render(&db, &company, &names_of(&props));
                if let Some(trace) = &trace {
                    object["objectWriteTraceId"] = json!(trace);
                }
                results.push(object);
            }
        }
    }
    drop(db);
    if !results.is_empty() {
        state.stats_mut().values_written += written;
        state.mark_dirty();
    }
    Ok(batch_response(
        StatusCode::CREATED,
        (started, state.now_ms()),
        results,
        &failures,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_decode() {
        let pairs = query_pairs(Some(
            "properties=name%2Cdomain&properties=industry&after=10&q=a+b&bad=%zz&end=%4",
        ));
        assert_eq!(pairs[0], ("properties".into(), "name,domain".into()));
        assert_eq!(pairs[3], ("q".into(), "a b".into()));
        assert_eq!(pairs[4], ("bad".into(), "%zz".into()));
        assert_eq!(pairs[5], ("end".into(), "%4".into()));
        match Wanted::from_query(&pairs) {
            Wanted::These(n) => assert_eq!(n, ["name", "domain", "industry"]),
            Wanted::Defaults => panic!("properties were given"),
        }
    }
}

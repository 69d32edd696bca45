//! Contacts: the records, their property definitions, and the endpoints firmo uses on
//! them, in HubSpot's shapes (`contacts-v3.json` in the tests' OpenAPI fixtures):
//!
//! - `POST .../objects/contacts/batch/read`: at most 100 inputs; unknown ids are a 207's
//!   `errors` (all unknown: a 207 with no results, as for companies);
//! - `POST .../objects/contacts/batch/update`: at most 100 inputs, each value checked
//!   against the contact property's type; `objectWriteTraceId` echoed; 207 per record;
//! - `GET`/`POST .../properties/contacts`, `GET .../properties/contacts/{name}`, and the
//!   contact property groups, so firmo's own contact properties can be created.
//!
//! The company → contact associations that lead here are in [`crate::associations`].
//! Contacts live beside the company store, not in the state file: a restarted sandbox
//! seeds them again.

use std::collections::{BTreeMap, BTreeSet};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::associations::{AssociationLabel, Associations};
use crate::error::{ApiError, error_detail, values_message};
use crate::properties::{self, ModificationMetadata, PropertyDef, PropertyGroup, ValueError};
use crate::state::{Company, SandboxState};
use crate::time;

/// Most inputs an object batch call takes.
pub(crate) const BATCH_LIMIT: usize = 100;
/// Contact ids start here, apart from company ids.
pub(crate) const FIRST_CONTACT_ID: u64 = 5_000_001;
/// What HubSpot returns for a contact when no properties are asked for.
const DEFAULT_PROPERTIES: &[&str] = &["email", "firstname", "lastname"];
/// Returned always, as HubSpot does.
const ALWAYS: &[&str] = &["createdate", "hs_object_id", "lastmodifieddate"];

/// A contact as the sandbox stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub id: String,
    pub properties: BTreeMap<String, String>,
    /// Epoch milliseconds.
    pub created_at: i64,
    /// Epoch milliseconds; `lastmodifieddate`.
    pub updated_at: i64,
}

impl Contact {
    /// A property's stored value, the maintained ones included.
    pub fn get(&self, name: &str) -> Option<String> {
        match name {
            "hs_object_id" => Some(self.id.clone()),
            "createdate" => Some(self.created_at.to_string()),
            "lastmodifieddate" => Some(self.updated_at.to_string()),
            _ => self.properties.get(name).cloned(),
        }
    }
}

/// The portal's contacts, their properties and their company associations.
#[derive(Debug, Clone)]
pub(crate) struct ContactDb {
    pub(crate) contacts: BTreeMap<u64, Contact>,
    next_id: u64,
    pub(crate) properties: BTreeMap<String, PropertyDef>,
    pub(crate) groups: BTreeMap<String, PropertyGroup>,
    pub(crate) associations: Associations,
}

impl ContactDb {
    /// The demo contacts of `companies` (see [`crate::contact_seed`]).
    pub(crate) fn seeded(companies: &BTreeMap<u64, Company>, now_ms: i64) -> ContactDb {
        let now = time::iso_millis(now_ms);
        let mut db = ContactDb {
            contacts: BTreeMap::new(),
            next_id: FIRST_CONTACT_ID,
            properties: builtins(&now)
                .into_iter()
                .map(|p| (p.name.clone(), p))
                .collect(),
            groups: [PropertyGroup {
                name: "contactinformation".into(),
                label: "Contact information".into(),
                display_order: -1,
                archived: false,
            }]
            .into_iter()
            .map(|g| (g.name.clone(), g))
            .collect(),
            associations: Associations::default(),
        };
        for (company_id, company) in companies {
            for seeded in crate::contact_seed::contacts_of(company, now_ms) {
                let id = db.insert(seeded.properties, seeded.created_at);
                for label in seeded.labels {
                    db.associations.add(*company_id, id, *label);
                }
            }
        }
        db
    }

    /// Stores a new contact and returns its id.
    pub(crate) fn insert(&mut self, properties: BTreeMap<String, String>, at_ms: i64) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.contacts.insert(
            id,
            Contact {
                id: id.to_string(),
                properties,
                created_at: at_ms,
                updated_at: at_ms,
            },
        );
        id
    }

    fn contact(&self, id: &str) -> Option<&Contact> {
        id.parse::<u64>().ok().and_then(|n| self.contacts.get(&n))
    }
}

/// Contacts, as tests and the demo see them.
impl SandboxState {
    pub(crate) fn contacts_db(&self) -> std::sync::MutexGuard<'_, ContactDb> {
        // A handler that panicked mid-update leaves plain data behind; keep serving.
        self.inner
            .contacts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A contact by id.
    pub fn contact(&self, id: &str) -> Option<Contact> {
        self.contacts_db().contact(id).cloned()
    }

    /// The ids of a company's contacts, each once, in association order.
    pub fn contact_ids_of(&self, company_id: &str) -> Vec<String> {
        let Ok(company) = company_id.parse::<u64>() else {
            return Vec::new();
        };
        let mut seen = BTreeSet::new();
        self.contacts_db()
            .associations
            .of(company)
            .iter()
            .filter(|row| seen.insert(row.contact))
            .map(|row| row.contact.to_string())
            .collect()
    }

    /// Adds `count` contacts (`person{n}@{domain}`, no title) to a company, each
    /// associated once without a label; returns their ids. For tests of long lists.
    pub fn add_contacts(&self, company_id: &str, domain: &str, count: usize) -> Vec<String> {
        let company = company_id.parse::<u64>().unwrap_or_default();
        let now = self.now_ms();
        let mut db = self.contacts_db();
        (0..count)
            .map(|n| {
                let properties = BTreeMap::from([
                    ("email".to_owned(), format!("person{n}@{domain}")),
                    ("firstname".to_owned(), format!("Person{n}")),
                ]);
                let id = db.insert(properties, now);
                db.associations
                    .add(company, id, AssociationLabel::Unlabeled);
                id.to_string()
            })
            .collect()
    }

    /// Associates an existing contact with a company under `label` (again, when it is
    /// associated already under another label, as HubSpot allows).
    pub fn associate(&self, company_id: &str, contact_id: &str, label: AssociationLabel) -> bool {
        let (Ok(company), Ok(contact)) = (company_id.parse::<u64>(), contact_id.parse::<u64>())
        else {
            return false;
        };
        let mut db = self.contacts_db();
        if !db.contacts.contains_key(&contact) {
            return false;
        }
        db.associations.add(company, contact, label);
        true
    }
}

/// HubSpot's built-in contact properties firmo reads or writes. `hs_linkedin_url` is
/// HubSpot-defined ("LinkedIn URL"); whether HubSpot lets the API write it is unconfirmed,
/// so the sandbox treats it as writable, like `jobtitle`.
fn builtins(now: &str) -> Vec<PropertyDef> {
    let def =
        |name: &str, label: &str, kind: &str, field_type: &str, read_only: bool| PropertyDef {
            name: name.into(),
            label: label.into(),
            kind: kind.into(),
            field_type: field_type.into(),
            group_name: "contactinformation".into(),
            description: String::new(),
            options: Vec::new(),
            display_order: -1,
            has_unique_value: name == "hs_object_id",
            hidden: false,
            form_field: !read_only,
            hubspot_defined: true,
            calculated: false,
            external_options: false,
            archived: false,
            created_at: now.into(),
            updated_at: now.into(),
            modification_metadata: ModificationMetadata {
                archivable: false,
                read_only_definition: true,
                read_only_value: read_only,
                read_only_options: false,
            },
        };
    vec![
        def("email", "Email", "string", "text", false),
        def("firstname", "First Name", "string", "text", false),
        def("lastname", "Last Name", "string", "text", false),
        def("jobtitle", "Job Title", "string", "text", false),
        def("company", "Company Name", "string", "text", false),
        def("hs_linkedin_url", "LinkedIn URL", "string", "text", false),
        def("hs_object_id", "Record ID", "number", "number", true),
        def("createdate", "Create Date", "datetime", "date", true),
        def(
            "lastmodifieddate",
            "Last Modified Date",
            "datetime",
            "date",
            true,
        ),
    ]
}

fn render(db: &ContactDb, contact: &Contact, wanted: Option<&[String]>) -> Value {
    let requested: Vec<&str> = match wanted {
        Some(names) if !names.is_empty() => names.iter().map(String::as_str).collect(),
        _ => DEFAULT_PROPERTIES.to_vec(),
    };
    let mut props = Map::new();
    for name in ALWAYS.iter().copied().chain(requested) {
        // Names that aren't properties are left out, as HubSpot does.
        let Some(def) = db.properties.get(name) else {
            continue;
        };
        let value = contact
            .get(name)
            .map(|v| properties::render_value(Some(def), &v));
        props.insert(name.to_owned(), value.map_or(Value::Null, Value::String));
    }
    json!({
        "id": contact.id,
        "properties": props,
        "createdAt": time::iso_millis(contact.created_at),
        "updatedAt": time::iso_millis(contact.updated_at),
        "archived": false,
    })
}

fn body_object(body: &[u8], what: &str) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::bad_request(format!(
            "{what}: the body must be a JSON object"
        ))),
        Err(e) => Err(ApiError::bad_request(format!(
            "{what}: the body is not valid JSON ({e})"
        ))),
    }
}

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

fn input_id(input: &Value, at: &str) -> Result<String, ApiError> {
    input
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| ApiError::bad_request(format!("{at}: \"id\" must be a string")))
}

/// A 200 with `results`, or a 207 with `errors` too.
fn batch_answer(started: i64, results: Vec<Value>, errors: Vec<Value>, now: i64) -> Response {
    let mut body = json!({
        "status": "COMPLETE",
        "results": Value::Array(results),
        "startedAt": time::iso_millis(started),
        "completedAt": time::iso_millis(now),
    });
    if errors.is_empty() {
        return (StatusCode::OK, Json(body)).into_response();
    }
    body["numErrors"] = json!(errors.len());
    body["errors"] = Value::Array(errors);
    (StatusCode::MULTI_STATUS, Json(body)).into_response()
}

fn not_found_entry(ids: &[String], trace: Option<&str>) -> Value {
    let mut context = json!({ "ids": ids });
    if let Some(trace) = trace {
        context["objectWriteTraceId"] = json!([trace]);
    }
    json!({
        "status": "error",
        "category": "OBJECT_NOT_FOUND",
        "message": "Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid.",
        "context": context,
        "errors": [],
        "links": {},
    })
}

/// `POST /crm/v3/objects/contacts/batch/read`.
pub(crate) async fn batch_read(
    State(state): State<SandboxState>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let started = state.now_ms();
    let body = body_object(&body, "Batch read")?;
    let inputs = inputs(&body, "Batch read")?;
    let wanted: Option<Vec<String>> = body.get("properties").and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    });
    let db = state.contacts_db();
    let mut seen = BTreeSet::new();
    let mut results = Vec::new();
    let mut missing = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let id = input_id(input, &format!("Batch read inputs[{i}]"))?;
        if !seen.insert(id.clone()) {
            continue;
        }
        match db.contact(&id) {
            Some(contact) => results.push(render(&db, contact, wanted.as_deref())),
            None => missing.push(id),
        }
    }
    drop(db);
    let errors = if missing.is_empty() {
        Vec::new()
    } else {
        vec![not_found_entry(&missing, None)]
    };
    Ok(batch_answer(started, results, errors, state.now_ms()))
}

/// `POST /crm/v3/objects/contacts/batch/update`.
pub(crate) async fn batch_update(
    State(state): State<SandboxState>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let started = state.now_ms();
    let body = body_object(&body, "Batch update")?;
    let inputs = inputs(&body, "Batch update")?;
    let mut ids = BTreeSet::new();
    let mut parsed = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.iter().enumerate() {
        let at = format!("Batch update inputs[{i}]");
        let id = input_id(input, &at)?;
        if !ids.insert(id.clone()) {
            return Err(ApiError::bad_request(format!(
                "Duplicate IDs found in batch input: [{id}]"
            ))
            .with_context("ids", &[id]));
        }
        let Some(Value::Object(props)) = input.get("properties") else {
            return Err(ApiError::bad_request(format!(
                "{at}: \"properties\" must be an object of name → value"
            )));
        };
        let trace = input
            .get("objectWriteTraceId")
            .and_then(Value::as_str)
            .map(str::to_owned);
        parsed.push((id, props.clone(), trace));
    }
    let now = state.now_ms();
    let mut db = state.contacts_db();
    let mut results = Vec::new();
    let mut errors = Vec::new();
    for (id, props, trace) in parsed {
        if db.contact(&id).is_none() {
            errors.push(not_found_entry(std::slice::from_ref(&id), trace.as_deref()));
            continue;
        }
        let mut changes = Vec::new();
        let mut problems: Vec<ValueError> = Vec::new();
        for (name, value) in &props {
            let raw = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Null => String::new(),
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "Batch update: property {name:?} of contact {id} is not a string"
                    )));
                }
            };
            match db.properties.get(name) {
                None => problems.push(ValueError::unknown(name)),
                Some(def) => match properties::check_value(def, &raw) {
                    Ok(stored) => changes.push((name.clone(), stored)),
                    Err(problem) => problems.push(problem),
                },
            }
        }
        if !problems.is_empty() {
            let mut context = json!({
                "ids": [id],
                "propertyName": problems.iter().map(|p| p.property.clone()).collect::<Vec<_>>(),
            });
            if let Some(trace) = &trace {
                context["objectWriteTraceId"] = json!([trace]);
            }
            errors.push(json!({
                "status": "error",
                "category": "VALIDATION_ERROR",
                "message": values_message(&problems),
                "context": context,
                "errors": problems.iter().map(error_detail).collect::<Vec<_>>(),
                "links": {},
            }));
            continue;
        }
        let Some(contact) = id.parse::<u64>().ok().and_then(|n| db.contacts.get_mut(&n)) else {
            continue;
        };
        for (name, stored) in changes {
            match stored {
                Some(v) => contact.properties.insert(name, v),
                None => contact.properties.remove(&name),
            };
        }
        contact.updated_at = now;
        let contact = contact.clone();
        let names: Vec<String> = props.keys().cloned().collect();
        let mut object = render(&db, &contact, Some(&names));
        if let Some(trace) = trace {
            object["objectWriteTraceId"] = json!(trace);
        }
        results.push(object);
    }
    drop(db);
    if results.is_empty() && !errors.is_empty() {
        let mut err = ApiError::bad_request(format!(
            "All {} inputs failed; the first: {}",
            errors.len(),
            errors[0]["message"].as_str().unwrap_or_default()
        ));
        let ids: Vec<String> = errors
            .iter()
            .flat_map(|e| e["context"]["ids"].as_array().cloned().unwrap_or_default())
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        err = err.with_context("ids", &ids);
        let traces: Vec<String> = errors
            .iter()
            .flat_map(|e| {
                e["context"]["objectWriteTraceId"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        if !traces.is_empty() {
            err = err.with_context("objectWriteTraceId", &traces);
        }
        return Err(err);
    }
    Ok(batch_answer(started, results, errors, state.now_ms()))
}

/// `GET /crm/v3/properties/contacts`.
pub(crate) async fn list_properties(State(state): State<SandboxState>) -> Json<Value> {
    let db = state.contacts_db();
    let results: Vec<&PropertyDef> = db.properties.values().filter(|p| !p.archived).collect();
    Json(json!({ "results": results }))
}

/// `GET /crm/v3/properties/contacts/{name}`.
pub(crate) async fn get_property(
    State(state): State<SandboxState>,
    Path(name): Path<String>,
) -> Result<Json<PropertyDef>, ApiError> {
    state
        .contacts_db()
        .properties
        .get(&name)
        .cloned()
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("Unable to find property {name} on contacts")))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PropertyCreate {
    name: Option<String>,
    label: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    field_type: Option<String>,
    group_name: Option<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    options: Vec<properties::PropertyOption>,
    #[serde(default)]
    has_unique_value: bool,
}

/// `POST /crm/v3/properties/contacts`: 201 with the property; 409 when the name is taken.
pub(crate) async fn create_property(
    State(state): State<SandboxState>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let input: PropertyCreate = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("Create property: invalid body ({e})")))?;
    let required = |v: Option<String>, field: &str| {
        v.filter(|s| !s.is_empty()).ok_or_else(|| {
            ApiError::bad_request(format!("Create property: \"{field}\" is required"))
                .with_context("missingFields", &[field.to_owned()])
        })
    };
    let name = required(input.name, "name")?;
    let label = required(input.label, "label")?;
    let kind = required(input.kind, "type")?;
    let field_type = required(input.field_type, "fieldType")?;
    let group_name = required(input.group_name, "groupName")?;
    if let Some(problem) = properties::name_problem(&name) {
        return Err(ApiError::bad_request(problem));
    }
    if !properties::KINDS.contains(&kind.as_str())
        || !properties::field_type_fits(&kind, &field_type)
    {
        return Err(ApiError::bad_request(format!(
            "Create property: type {kind:?} with fieldType {field_type:?} is not a valid pair"
        )));
    }
    let now = time::iso_millis(state.now_ms());
    let mut db = state.contacts_db();
    if db.properties.contains_key(&name) {
        return Err(
            ApiError::conflict(format!("Property named '{name}' already exists."))
                .with_context("name", &[name]),
        );
    }
    if !db.groups.contains_key(&group_name) {
        return Err(ApiError::bad_request(format!(
            "Create property: group {group_name:?} does not exist on contacts"
        )));
    }
    let def = PropertyDef {
        name: name.clone(),
        label,
        kind,
        field_type,
        group_name,
        description: input.description,
        options: input.options,
        display_order: -1,
        has_unique_value: input.has_unique_value,
        hidden: false,
        form_field: true,
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
    db.properties.insert(name, def.clone());
    Ok((StatusCode::CREATED, Json(def)).into_response())
}

/// `GET /crm/v3/properties/contacts/groups`.
pub(crate) async fn list_groups(State(state): State<SandboxState>) -> Json<Value> {
    let db = state.contacts_db();
    let results: Vec<&PropertyGroup> = db.groups.values().collect();
    Json(json!({ "results": results }))
}

/// `GET /crm/v3/properties/contacts/groups/{name}`.
pub(crate) async fn get_group(
    State(state): State<SandboxState>,
    Path(name): Path<String>,
) -> Result<Json<PropertyGroup>, ApiError> {
    state
        .contacts_db()
        .groups
        .get(&name)
        .cloned()
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("Unable to find group {name} on contacts")))
}

/// `POST /crm/v3/properties/contacts/groups`: 201, or 409 when the name is taken.
pub(crate) async fn create_group(
    State(state): State<SandboxState>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let body = body_object(&body, "Create property group")?;
    let text = |key: &str| {
        body.get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| {
                ApiError::bad_request(format!("Create property group: \"{key}\" is required"))
            })
    };
    let group = PropertyGroup {
        name: text("name")?,
        label: text("label")?,
        display_order: body
            .get("displayOrder")
            .and_then(Value::as_i64)
            .and_then(|n| i32::try_from(n).ok())
            .unwrap_or(-1),
        archived: false,
    };
    let mut db = state.contacts_db();
    if db.groups.contains_key(&group.name) {
        return Err(ApiError::conflict(format!(
            "A property group named '{}' already exists.",
            group.name
        )));
    }
    db.groups.insert(group.name.clone(), group.clone());
    Ok((StatusCode::CREATED, Json(group)).into_response())
}

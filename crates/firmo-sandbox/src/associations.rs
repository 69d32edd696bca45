//! Company → contact associations and HubSpot's associations v4 batch read
//! (`associations-v4.json` in the tests' OpenAPI fixtures):
//!
//! `POST /crm/v4/associations/companies/contacts/batch/read` (legacy) or
//! `POST /crm/associations/{2026-03|2026-09}/companies/contacts/batch/read` (dated), body
//! `{"inputs":[{"id":"…","after"?:"…"}]}`. What the sandbox holds HubSpot to:
//!
//! - at most 1,000 inputs per request, since 2025-02-10 (changelog "Bug fix: batch read
//!   limit for HubSpot associations API"); more is a 400 `VALIDATION_ERROR`;
//! - each company's list is paged: a result carries `paging.next.after` only when more
//!   follow, and the caller sends the same id again with that `after` (HubSpot's
//!   reference: "The 'paging' field will only be present if there are more pages");
//!   [`PAGE_SIZE`] rows a page (HubSpot doesn't document the size: unconfirmed);
//! - one `to` entry per association, so a contact associated under two labels (unlabeled
//!   280 and "Primary" 2, HubSpot's company → contact type ids) comes back twice, as
//!   integrators report (the research notes, amp-labs/connectors PR #1271);
//! - a company with no contacts (or no such company) is an `errors[]` entry of category
//!   `OBJECT_NOT_FOUND` in a 207, not an empty result (unconfirmed wording).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::SandboxState;
use crate::time;

/// Most ids one associations batch read takes.
pub(crate) const MAX_INPUTS: usize = 1_000;
/// Associations returned per company per page.
pub(crate) const PAGE_SIZE: usize = 500;

/// The company → contact association types the sandbox knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AssociationLabel {
    /// HubSpot-defined, unlabeled (type 280): every associated contact has it.
    Unlabeled,
    /// HubSpot-defined "Primary" (type 2): the contact's primary company.
    Primary,
    /// A user-defined label (type 1001), as portals create them.
    TechnicalBuyer,
}

impl AssociationLabel {
    pub const ALL: [AssociationLabel; 3] = [
        AssociationLabel::Unlabeled,
        AssociationLabel::Primary,
        AssociationLabel::TechnicalBuyer,
    ];

    pub fn type_id(self) -> i32 {
        match self {
            AssociationLabel::Unlabeled => 280,
            AssociationLabel::Primary => 2,
            AssociationLabel::TechnicalBuyer => 1001,
        }
    }

    fn spec(self) -> Value {
        match self {
            // Unlabeled types carry no `label` at all.
            AssociationLabel::Unlabeled => {
                json!({"category": "HUBSPOT_DEFINED", "typeId": self.type_id()})
            }
            AssociationLabel::Primary => json!({
                "category": "HUBSPOT_DEFINED", "typeId": self.type_id(), "label": "Primary",
            }),
            AssociationLabel::TechnicalBuyer => json!({
                "category": "USER_DEFINED", "typeId": self.type_id(), "label": "Technical buyer",
            }),
        }
    }
}

/// One association row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Row {
    pub(crate) contact: u64,
    pub(crate) label: AssociationLabel,
}

/// Every company's association rows, grouped by type (unlabeled first), then in the
/// order they were made.
#[derive(Debug, Clone, Default)]
pub(crate) struct Associations {
    by_company: BTreeMap<u64, Vec<Row>>,
}

impl Associations {
    /// Adds `contact` under `label`, once.
    pub(crate) fn add(&mut self, company: u64, contact: u64, label: AssociationLabel) {
        let rows = self.by_company.entry(company).or_default();
        if rows
            .iter()
            .any(|r| r.contact == contact && r.label == label)
        {
            return;
        }
        let at = rows.partition_point(|r| r.label <= label);
        rows.insert(at, Row { contact, label });
    }

    pub(crate) fn of(&self, company: u64) -> &[Row] {
        self.by_company.get(&company).map_or(&[], Vec::as_slice)
    }
}

fn token(offset: usize) -> String {
    // Opaque to callers, as HubSpot's are; only this endpoint reads it back.
    format!("c2I-{offset:x}")
}

fn offset_of(after: &str) -> Option<usize> {
    usize::from_str_radix(after.strip_prefix("c2I-")?, 16).ok()
}

/// `POST .../associations/{from}/{to}/batch/read` (companies → contacts only).
pub(crate) async fn batch_read(
    State(state): State<SandboxState>,
    Path(path): Path<BTreeMap<String, String>>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let started = state.now_ms();
    let (from, to) = (
        path.get("from").map_or("", String::as_str),
        path.get("to").map_or("", String::as_str),
    );
    if !matches!(from, "companies" | "company" | "0-2")
        || !matches!(to, "contacts" | "contact" | "0-1")
    {
        return Err(ApiError::bad_request(format!(
            "Associations {from} → {to}: the sandbox serves company → contact associations only"
        )));
    }
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&body) else {
        return Err(ApiError::bad_request(
            "Batch read associations: the body must be a JSON object with \"inputs\"",
        ));
    };
    let inputs = body
        .get("inputs")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            ApiError::bad_request("Batch read associations: \"inputs\" must be an array")
        })?;
    if inputs.len() > MAX_INPUTS {
        return Err(ApiError::bad_request(format!(
            "Batch read associations: {} inputs is more than the {MAX_INPUTS} ids a request may carry",
            inputs.len()
        ))
        .with_extra("subCategory", "BATCH_SIZE_LIMIT_EXCEEDED"));
    }
    let db = state.contacts_db();
    let mut results = Vec::new();
    let mut errors = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let at = format!("Batch read associations inputs[{i}]");
        let id = input
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| ApiError::bad_request(format!("{at}: \"id\" must be a string")))?;
        let offset = match input.get("after").and_then(Value::as_str) {
            None => 0,
            Some(after) => offset_of(after).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "{at}: after {after:?} is not a paging token this endpoint issued"
                ))
            })?,
        };
        let rows = id.parse::<u64>().map_or(&[][..], |n| db.associations.of(n));
        if rows.is_empty() {
            errors.push(json!({
                "status": "error",
                "category": "OBJECT_NOT_FOUND",
                "message": format!("No contacts are associated with company {id}."),
                "context": {"fromObjectId": [id]},
                "errors": [],
                "links": {},
            }));
            continue;
        }
        let page = rows.iter().skip(offset).take(PAGE_SIZE);
        let to: Vec<Value> = page
            .map(|row| {
                json!({
                    "toObjectId": row.contact.to_string(),
                    "associationTypes": [row.label.spec()],
                })
            })
            .collect();
        let mut result = json!({"from": {"id": id}, "to": to});
        let next = offset + PAGE_SIZE;
        if next < rows.len() {
            result["paging"] = json!({"next": {"after": token(next)}});
        }
        results.push(result);
    }
    drop(db);
    let mut answer = json!({
        "status": "COMPLETE",
        "results": results,
        "startedAt": time::iso_millis(started),
        "completedAt": time::iso_millis(state.now_ms()),
    });
    if errors.is_empty() {
        return Ok((StatusCode::OK, Json(answer)).into_response());
    }
    answer["numErrors"] = json!(errors.len());
    answer["errors"] = Value::Array(errors);
    Ok((StatusCode::MULTI_STATUS, Json(answer)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_group_by_type_and_never_repeat() {
        let mut a = Associations::default();
        a.add(1, 10, AssociationLabel::Primary);
        a.add(1, 11, AssociationLabel::Unlabeled);
        a.add(1, 10, AssociationLabel::Unlabeled);
        a.add(1, 10, AssociationLabel::Unlabeled);
        let rows: Vec<(u64, AssociationLabel)> =
            a.of(1).iter().map(|r| (r.contact, r.label)).collect();
        assert_eq!(
            rows,
            [
                (11, AssociationLabel::Unlabeled),
                (10, AssociationLabel::Unlabeled),
                (10, AssociationLabel::Primary)
            ]
        );
        assert!(a.of(2).is_empty());
        assert_eq!(offset_of(&token(1500)), Some(1500));
        assert_eq!(offset_of("1500"), None);
    }
}

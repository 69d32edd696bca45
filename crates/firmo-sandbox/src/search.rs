//! `POST /crm/v3/objects/companies/search`: filterGroups (OR) of filters (AND), one
//! sort, offset paging with HubSpot's 10,000-result window, and `total`.
//!
//! Limits are those of HubSpot's 2024-08 change ("Expanded Filtering Capabilities"):
//! at most 5 filterGroups, 10 filters per group, 25 filters in all; `limit` ≤ 200.

use std::cmp::Ordering;

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::companies::{Wanted, render};
use crate::error::ApiError;
use crate::properties::PropertyDef;
use crate::state::{Company, SandboxState};
use crate::time;

pub(crate) const MAX_GROUPS: usize = 5;
pub(crate) const MAX_FILTERS_PER_GROUP: usize = 10;
pub(crate) const MAX_FILTERS: usize = 25;
pub(crate) const MAX_LIMIT: usize = 200;
/// Results past this offset are out of reach of one query.
pub(crate) const WINDOW: usize = 10_000;

/// Properties the free-text `query` looks in.
const QUERY_PROPERTIES: &[&str] = &["name", "domain", "website", "phone"];

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchRequest {
    #[serde(default)]
    filter_groups: Vec<FilterGroup>,
    #[serde(default)]
    sorts: Vec<Sort>,
    #[serde(default)]
    properties: Option<Vec<String>>,
    limit: Option<i64>,
    after: Option<Value>,
    query: Option<String>,
}

#[derive(Debug, Deserialize)]
struct FilterGroup {
    #[serde(default)]
    filters: Vec<Filter>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Filter {
    property_name: String,
    operator: String,
    value: Option<Value>,
    high_value: Option<Value>,
    values: Option<Vec<Value>>,
}

/// HubSpot's docs send objects; its OpenAPI says strings. Take both.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Sort {
    Name(String),
    Rule {
        #[serde(rename = "propertyName")]
        property_name: String,
        #[serde(default)]
        direction: Option<String>,
    },
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A comparable form of a value of a property's type.
#[derive(Debug, Clone, PartialEq)]
enum Key {
    Num(f64),
    Text(String),
}

impl Key {
    fn cmp(&self, other: &Key) -> Option<Ordering> {
        match (self, other) {
            (Key::Num(a), Key::Num(b)) => a.partial_cmp(b),
            (Key::Text(a), Key::Text(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }
}

/// A stored value as a key.
fn stored_key(def: &PropertyDef, stored: &str) -> Option<Key> {
    match def.kind.as_str() {
        "number" | "datetime" => stored.parse::<f64>().ok().map(Key::Num),
        "date" => time::parse_iso(stored).map(|ms| Key::Num(ms as f64)),
        _ => Some(Key::Text(stored.to_lowercase())),
    }
}

/// A filter value as a key: epoch ms or ISO for dates and datetimes.
fn filter_key(def: &PropertyDef, raw: &str) -> Result<Key, ApiError> {
    let bad = || {
        ApiError::bad_request(format!(
            "Filter value {raw:?} is not valid for property \"{}\" of type {}",
            def.name, def.kind
        ))
    };
    match def.kind.as_str() {
        "number" => raw.trim().parse::<f64>().map(Key::Num).map_err(|_| bad()),
        "date" | "datetime" => raw
            .trim()
            .parse::<i64>()
            .ok()
            .or_else(|| time::parse_iso(raw))
            .map(|ms| Key::Num(ms as f64))
            .ok_or_else(bad),
        _ => Ok(Key::Text(raw.to_lowercase())),
    }
}

fn tokens(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric() && c != '*')
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// `*` matches any run of characters within one token.
fn token_matches(pattern: &str, token: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == token;
    }
    let mut rest = token;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            let Some(at) = rest.find(part) else {
                return false;
            };
            rest = &rest[at + part.len()..];
        }
    }
    true
}

fn contains_token(stored: &str, needle: &str) -> bool {
    let have = tokens(stored);
    let want = tokens(needle);
    !want.is_empty()
        && want
            .iter()
            .all(|w| have.iter().any(|h| token_matches(w, h)))
}

/// A filter checked against the schema, ready to run.
struct Compiled {
    def: PropertyDef,
    op: Op,
}

enum Op {
    Cmp(Ordering, bool, Key),
    Neq(Key),
    Between(Key, Key),
    In(Vec<Key>, bool),
    Has(bool),
    Token(String, bool),
}

fn compile(
    db_props: &std::collections::BTreeMap<String, PropertyDef>,
    f: &Filter,
) -> Result<Compiled, ApiError> {
    let def = db_props.get(&f.property_name).cloned().ok_or_else(|| {
        ApiError::bad_request(format!(
            "Filter on property \"{}\", which does not exist (PROPERTY_DOESNT_EXIST)",
            f.property_name
        ))
    })?;
    let value = || {
        f.value.as_ref().and_then(scalar).ok_or_else(|| {
            ApiError::bad_request(format!(
                "Filter {} on \"{}\" needs a \"value\"",
                f.operator, f.property_name
            ))
        })
    };
    let op = match f.operator.as_str() {
        "EQ" => Op::Cmp(Ordering::Equal, false, filter_key(&def, &value()?)?),
        "NEQ" => Op::Neq(filter_key(&def, &value()?)?),
        "GT" => Op::Cmp(Ordering::Greater, false, filter_key(&def, &value()?)?),
        "GTE" => Op::Cmp(Ordering::Greater, true, filter_key(&def, &value()?)?),
        "LT" => Op::Cmp(Ordering::Less, false, filter_key(&def, &value()?)?),
        "LTE" => Op::Cmp(Ordering::Less, true, filter_key(&def, &value()?)?),
        "BETWEEN" => {
            let high = f.high_value.as_ref().and_then(scalar).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "Filter BETWEEN on \"{}\" needs a \"highValue\"",
                    f.property_name
                ))
            })?;
            Op::Between(filter_key(&def, &value()?)?, filter_key(&def, &high)?)
        }
        op @ ("IN" | "NOT_IN") => {
            let values = f.values.as_ref().filter(|v| !v.is_empty()).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "Filter {op} on \"{}\" needs a non-empty \"values\" list",
                    f.property_name
                ))
            })?;
            let keys = values
                .iter()
                .map(|v| {
                    scalar(v)
                        .ok_or_else(|| {
                            ApiError::bad_request(format!(
                                "Filter {op} on \"{}\": values must be strings",
                                f.property_name
                            ))
                        })
                        .and_then(|s| filter_key(&def, &s))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Op::In(keys, op == "IN")
        }
        "HAS_PROPERTY" => Op::Has(true),
        "NOT_HAS_PROPERTY" => Op::Has(false),
        op @ ("CONTAINS_TOKEN" | "NOT_CONTAINS_TOKEN") => {
            Op::Token(value()?, op == "CONTAINS_TOKEN")
        }
        other => {
            return Err(ApiError::bad_request(format!(
                "Unknown filter operator {other:?} on \"{}\"; use EQ, NEQ, LT, LTE, GT, GTE, BETWEEN, IN, NOT_IN, HAS_PROPERTY, NOT_HAS_PROPERTY, CONTAINS_TOKEN or NOT_CONTAINS_TOKEN",
                f.property_name
            )));
        }
    };
    Ok(Compiled { def, op })
}

fn key_eq(def: &PropertyDef, stored: &str, key: &Key) -> bool {
    // A multi-select matches when one of its values does.
    if def.field_type == "checkbox" {
        return stored
            .split(';')
            .any(|part| stored_key(def, part).as_ref() == Some(key));
    }
    stored_key(def, stored).as_ref() == Some(key)
}

fn matches(filter: &Compiled, company: &Company) -> bool {
    let stored = company.get(&filter.def.name);
    let Some(stored) = stored else {
        // Negative operators match records without a value, as HubSpot's do.
        return matches!(
            filter.op,
            Op::Neq(_) | Op::In(_, false) | Op::Has(false) | Op::Token(_, false)
        );
    };
    let def = &filter.def;
    match &filter.op {
        Op::Cmp(Ordering::Equal, _, key) => key_eq(def, &stored, key),
        Op::Cmp(dir, inclusive, key) => stored_key(def, &stored)
            .and_then(|k| k.cmp(key))
            .is_some_and(|o| o == *dir || (*inclusive && o == Ordering::Equal)),
        Op::Neq(key) => !key_eq(def, &stored, key),
        Op::Between(low, high) => stored_key(def, &stored).is_some_and(|k| {
            k.cmp(low).is_some_and(|o| o != Ordering::Less)
                && k.cmp(high).is_some_and(|o| o != Ordering::Greater)
        }),
        Op::In(keys, want) => keys.iter().any(|k| key_eq(def, &stored, k)) == *want,
        Op::Has(want) => *want,
        Op::Token(needle, want) => contains_token(&stored, needle) == *want,
    }
}

fn sort_key(def: Option<&PropertyDef>, company: &Company, name: &str) -> Option<Key> {
    let stored = company.get(name)?;
    match def {
        Some(d) => stored_key(d, &stored),
        None => Some(Key::Text(stored.to_lowercase())),
    }
}

/// `POST /crm/v3/objects/companies/search`.
pub(crate) async fn search(
    State(state): State<SandboxState>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let request: SearchRequest = if body.iter().all(u8::is_ascii_whitespace) {
        SearchRequest::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("Search request is not valid: {e}")))?
    };
    let limit = request.limit.unwrap_or(10);
    if !(0..=MAX_LIMIT as i64).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "Search limit {limit} is out of range: at most {MAX_LIMIT} results per page"
        )));
    }
    let limit = usize::try_from(limit).unwrap_or(0);
    let offset = match request.after.as_ref() {
        None | Some(Value::Null) => 0,
        Some(v) => scalar(v).filter(|s| !s.is_empty()).map_or(Ok(0), |s| {
            s.parse::<usize>().map_err(|_| {
                ApiError::bad_request(format!(
                    "Search \"after\" {s:?} is not a paging cursor this endpoint returned"
                ))
            })
        })?,
    };
    if offset >= WINDOW {
        return Err(ApiError::bad_request(format!(
            "Search results are limited to {WINDOW}: \"after\" {offset} pages past them. Narrow the filters (e.g. a window on hs_lastmodifieddate or hs_object_id) instead of paging further."
        )));
    }
    let groups = &request.filter_groups;
    let total_filters: usize = groups.iter().map(|g| g.filters.len()).sum();
    if groups.len() > MAX_GROUPS {
        return Err(ApiError::bad_request(format!(
            "{} filterGroups is more than the {MAX_GROUPS} a search takes",
            groups.len()
        )));
    }
    if let Some(g) = groups
        .iter()
        .find(|g| g.filters.len() > MAX_FILTERS_PER_GROUP)
    {
        return Err(ApiError::bad_request(format!(
            "A filterGroup has {} filters, more than the {MAX_FILTERS_PER_GROUP} a group takes",
            g.filters.len()
        )));
    }
    if total_filters > MAX_FILTERS {
        return Err(ApiError::bad_request(format!(
            "{total_filters} filters in all is more than the {MAX_FILTERS} a search takes"
        )));
    }
    let db = state.db();
    let compiled = groups
        .iter()
        .map(|g| {
            g.filters
                .iter()
                .map(|f| compile(&db.properties, f))
                .collect::<Result<Vec<_>, _>>()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let query_tokens = request.query.as_deref().map(tokens).unwrap_or_default();
    let lag = i64::try_from(state.faults().search_lag.as_millis()).unwrap_or(i64::MAX);
    let indexed_until = state.now_ms().saturating_sub(lag);
    let mut hits: Vec<&Company> = db
        .companies
        .values()
        .filter(|c| !c.archived && (lag == 0 || c.updated_at <= indexed_until))
        .filter(|c| compiled.is_empty() || compiled.iter().any(|g| g.iter().all(|f| matches(f, c))))
        .filter(|c| {
            query_tokens.is_empty()
                || query_tokens.iter().all(|q| {
                    let pattern = if q.ends_with('*') {
                        q.clone()
                    } else {
                        format!("{q}*")
                    };
                    QUERY_PROPERTIES
                        .iter()
                        .filter_map(|p| c.get(p))
                        .any(|v| tokens(&v).iter().any(|t| token_matches(&pattern, t)))
                })
        })
        .collect();
    if let Some(sort) = request.sorts.first() {
        let (name, descending) = match sort {
            Sort::Name(n) => n
                .strip_prefix('-')
                .map_or((n.as_str(), false), |n| (n, true)),
            Sort::Rule {
                property_name,
                direction,
            } => (
                property_name.as_str(),
                direction.as_deref() == Some("DESCENDING"),
            ),
        };
        let def = db.properties.get(name);
        if def.is_none() {
            return Err(ApiError::bad_request(format!(
                "Cannot sort by \"{name}\": no such property"
            )));
        }
        hits.sort_by(|a, b| {
            let (ka, kb) = (sort_key(def, a, name), sort_key(def, b, name));
            // Records without the value sort last either way; ties keep id order.
            match (&ka, &kb) {
                (Some(x), Some(y)) => {
                    let o = x.cmp(y).unwrap_or(Ordering::Equal);
                    if descending { o.reverse() } else { o }
                }
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            }
        });
    }
    let total = hits.len();
    let end = (offset + limit).min(total).min(WINDOW);
    let wanted = Wanted::from_list(request.properties.as_deref());
    let results: Vec<Value> = hits
        .get(offset..end)
        .unwrap_or(&[])
        .iter()
        .map(|c| render(&db, c, &wanted))
        .collect();
    let mut body = json!({ "total": total, "results": results });
    // `limit: 0` asks for the total alone; a cursor back to the same offset would loop.
    if end < total && limit > 0 {
        body["paging"] = json!({ "next": { "after": end.to_string() } });
    }
    Ok(Json(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_wildcards() {
        assert!(contains_token("Northwind Analytics", "analytics"));
        assert!(contains_token("northwind-analytics.com", "northwind"));
        assert!(contains_token("Northwind Analytics", "north*"));
        assert!(contains_token("Northwind Analytics", "*wind"));
        assert!(!contains_token("Northwind Analytics", "south"));
        assert!(!contains_token("Northwind Analytics", "nalytics"));
        assert!(token_matches("a*c*e", "abcde"));
    }
}

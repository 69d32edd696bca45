//! Pulling every matching company exactly once, past the search's 10,000-result cap and
//! without skipping companies that share a modification millisecond.
//!
//! - No segment and no `modified_since`: the list endpoint, paged by its `after` cursor
//!   (no cap, no filters).
//! - Otherwise: search, sorted by `hs_lastmodifieddate` ascending, one page per query and
//!   never `after` (so never near the 10,000 cap). Each next query starts at the last
//!   page's latest timestamp `t`, inclusive (`GTE t`), and skips the ids it already
//!   returned *at* `t`, so companies modified in the same millisecond as the page
//!   boundary are neither lost nor repeated. When a whole page shares one timestamp
//!   (a bulk import can stamp thousands of companies with one millisecond), `GTE t`
//!   can't move on: the pull walks that millisecond by `hs_object_id` (`EQ t` and
//!   `hs_object_id GT last`, sorted by id), then resumes with `GT t`.
//!
//! A company modified while the pull runs moves past the pull's position and is
//! returned again with its new values; nothing is returned twice otherwise.

use std::collections::BTreeSet;

use firmo_connect::crm::{
    CrmCompany, Filter, FilterGroup, FilterOperator, PullCursor, PullPage, PullRequest,
    SearchQuery, Sort, parse_timestamp,
};
use firmo_connect::{ConnectorError, Service};
use firmo_core::UnixMillis;
use serde::{Deserialize, Serialize};

use crate::client::{HubspotClient, LIST_LIMIT, SEARCH_LIMIT};

const MODIFIED: &str = "hs_lastmodifieddate";
const ID: &str = "hs_object_id";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct State {
    phase: Phase,
    high_water: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
enum Phase {
    List {
        after: Option<String>,
    },
    /// `hs_lastmodifieddate GTE from` (or `GT` when not `inclusive`); `seen` are ids
    /// already returned whose timestamp is exactly `from`.
    Range {
        from: Option<i64>,
        inclusive: bool,
        seen: Vec<String>,
    },
    /// Every company at exactly `at`, by id.
    Tie {
        at: i64,
        after_id: Option<String>,
        seen: Vec<String>,
    },
}

fn malformed(message: String) -> ConnectorError {
    ConnectorError::Malformed {
        service: Service::Hubspot,
        path: "pull cursor".into(),
        message,
    }
}

fn modified(company: &CrmCompany) -> Result<i64, ConnectorError> {
    company
        .property(MODIFIED)
        .or(company.updated_at.as_deref())
        .and_then(parse_timestamp)
        .map(|t| t.0)
        .ok_or_else(|| ConnectorError::Malformed {
            service: Service::Hubspot,
            path: format!("results[id={}].properties.{MODIFIED}", company.id),
            message: "a company without a readable last-modified timestamp".into(),
        })
}

/// The segment's groups, each with `extra` appended (one group of `extra` when the
/// segment is empty).
fn groups_with(segment: &[FilterGroup], extra: &[Filter]) -> Vec<FilterGroup> {
    if segment.is_empty() {
        if extra.is_empty() {
            return Vec::new();
        }
        return vec![FilterGroup::all(extra.iter().cloned())];
    }
    segment
        .iter()
        .map(|g| FilterGroup::all(g.filters.iter().chain(extra).cloned()))
        .collect()
}

pub(crate) async fn pull(
    client: &HubspotClient,
    request: &PullRequest,
    cursor: Option<&PullCursor>,
) -> Result<PullPage, ConnectorError> {
    let state = match cursor {
        Some(c) => serde_json::from_str::<State>(c.as_str())
            .map_err(|e| malformed(format!("not a cursor this connector issued: {e}")))?,
        None if request.segment.is_empty() && request.modified_since.is_none() => State {
            phase: Phase::List { after: None },
            high_water: None,
        },
        None => State {
            phase: Phase::Range {
                from: request.modified_since.map(|t| t.0),
                inclusive: true,
                seen: Vec::new(),
            },
            high_water: None,
        },
    };
    let mut properties = request.properties.clone();
    if !properties.iter().any(|p| p == MODIFIED) {
        properties.push(MODIFIED.to_owned());
    }
    let (companies, next) = match state.phase {
        Phase::List { after } => {
            let limit = request.page_size.unwrap_or(LIST_LIMIT).clamp(1, LIST_LIMIT);
            let page = client
                .list_companies(&properties, after.as_deref(), limit)
                .await?;
            let next = page.after.map(|after| Phase::List { after: Some(after) });
            (page.companies, next)
        }
        Phase::Range {
            from,
            inclusive,
            seen,
        } => {
            let limit = request
                .page_size
                .unwrap_or(SEARCH_LIMIT)
                .clamp(1, SEARCH_LIMIT);
            let extra: Vec<Filter> = from
                .map(|t| {
                    let op = if inclusive {
                        FilterOperator::Gte
                    } else {
                        FilterOperator::Gt
                    };
                    Filter::compare(MODIFIED, op, t.to_string())
                })
                .into_iter()
                .collect();
            let page = client
                .search_companies(&SearchQuery {
                    filter_groups: groups_with(&request.segment, &extra),
                    sorts: vec![Sort {
                        property: MODIFIED.into(),
                        descending: false,
                    }],
                    properties: properties.clone(),
                    limit,
                    after: None,
                })
                .await?;
            let full = page.companies.len() >= limit as usize;
            let seen: BTreeSet<String> = seen.into_iter().collect();
            let mut stamped = Vec::with_capacity(page.companies.len());
            for company in page.companies {
                stamped.push((modified(&company)?, company));
            }
            let next = if full {
                let last = stamped.last().map_or(0, |(t, _)| *t);
                if Some(last) == from {
                    // The whole page is one millisecond: walk it by id.
                    let mut all_seen = seen.clone();
                    all_seen.extend(stamped.iter().map(|(_, c)| c.id.clone()));
                    Some(Phase::Tie {
                        at: last,
                        after_id: None,
                        seen: all_seen.into_iter().collect(),
                    })
                } else {
                    let at_last = stamped
                        .iter()
                        .filter(|(t, _)| *t == last)
                        .map(|(_, c)| c.id.clone());
                    Some(Phase::Range {
                        from: Some(last),
                        inclusive: true,
                        seen: at_last.collect(),
                    })
                }
            } else {
                None
            };
            let companies = stamped
                .into_iter()
                .filter(|(t, c)| !(Some(*t) == from && seen.contains(&c.id)))
                .map(|(_, c)| c)
                .collect();
            (companies, next)
        }
        Phase::Tie { at, after_id, seen } => {
            let limit = request
                .page_size
                .unwrap_or(SEARCH_LIMIT)
                .clamp(1, SEARCH_LIMIT);
            let mut extra = vec![Filter::eq(MODIFIED, at.to_string())];
            if let Some(id) = &after_id {
                extra.push(Filter::compare(ID, FilterOperator::Gt, id.clone()));
            }
            let page = client
                .search_companies(&SearchQuery {
                    filter_groups: groups_with(&request.segment, &extra),
                    sorts: vec![Sort {
                        property: ID.into(),
                        descending: false,
                    }],
                    properties: properties.clone(),
                    limit,
                    after: None,
                })
                .await?;
            let full = page.companies.len() >= limit as usize;
            let next = match page.companies.last() {
                Some(last) if full => Some(Phase::Tie {
                    at,
                    after_id: Some(last.id.clone()),
                    seen: seen.clone(),
                }),
                _ => Some(Phase::Range {
                    from: Some(at),
                    inclusive: false,
                    seen: Vec::new(),
                }),
            };
            let seen: BTreeSet<String> = seen.into_iter().collect();
            let companies = page
                .companies
                .into_iter()
                .filter(|c| !seen.contains(&c.id))
                .collect();
            (companies, next)
        }
    };
    let mut high_water = state.high_water;
    for company in &companies {
        let t = modified(company)?;
        high_water = Some(high_water.map_or(t, |h| h.max(t)));
    }
    let next = next
        .map(|phase| {
            serde_json::to_string(&State { phase, high_water })
                .map(PullCursor::new)
                .map_err(|e| malformed(e.to_string()))
        })
        .transpose()?;
    Ok(PullPage {
        companies,
        next,
        high_water: high_water.map(UnixMillis),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_groups_get_the_window_filters() {
        let segment = vec![
            FilterGroup::all([Filter::eq("country", "US")]),
            FilterGroup::all([Filter::eq("country", "CA")]),
        ];
        let extra = [Filter::compare(MODIFIED, FilterOperator::Gte, "5")];
        let groups = groups_with(&segment, &extra);
        assert_eq!(groups.len(), 2);
        assert!(
            groups
                .iter()
                .all(|g| g.filters.len() == 2 && g.filters[1].property_name == MODIFIED)
        );
        assert_eq!(groups_with(&[], &extra).len(), 1);
        assert!(groups_with(&[], &[]).is_empty());
    }

    #[test]
    fn cursors_round_trip() {
        let state = State {
            phase: Phase::Tie {
                at: 7,
                after_id: Some("42".into()),
                seen: vec!["1".into()],
            },
            high_water: Some(9),
        };
        let text = serde_json::to_string(&state).unwrap();
        assert_eq!(serde_json::from_str::<State>(&text).unwrap(), state);
    }
}

//! The incremental cursor: which companies a sync pulls, and when the cursor may move.
//! A pass moves it only when it was complete, unfiltered and left no account unfinished
//! (the verdicts say which are: [`crate::verdict::Verdict::holds_cursor`]).

use firmo_core::UnixMillis;

use crate::config::Config;
use crate::state::{StateError, StoreHandle};

const MODIFIED_SINCE: &str = "companies.modified_since";
const LAST_FULL_SWEEP: &str = "companies.last_full_sweep";

/// Where this pass starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorPlan {
    /// Pull only companies modified since (`None`: a full pull).
    pub modified_since: Option<UnixMillis>,
}

impl CursorPlan {
    /// `full` or `incremental`, as the summary says it.
    pub fn mode(&self) -> &'static str {
        if self.modified_since.is_some() {
            "incremental"
        } else {
            "full"
        }
    }
}

/// Incremental unless asked otherwise or a refresh window has passed since the last full
/// sweep (answers go stale whether or not the CRM record changed).
pub async fn plan(
    store: &StoreHandle,
    config: &Config,
    crm: &'static str,
    portal: &str,
    full: bool,
    now: UnixMillis,
) -> Result<CursorPlan, StateError> {
    let shortest_refresh = config
        .sources
        .iter()
        .filter(|(_, s)| s.enabled)
        .map(|(_, s)| s.refresh.days())
        .min()
        .unwrap_or(7);
    let portal = portal.to_owned();
    let (cursor, last_sweep) = store
        .call(move |s| {
            Ok((
                s.get_cursor(crm, &portal, MODIFIED_SINCE)?,
                s.get_cursor(crm, &portal, LAST_FULL_SWEEP)?,
            ))
        })
        .await?;
    let sweep_due = last_sweep
        .and_then(|v| v.parse::<i64>().ok())
        .is_none_or(|at| now.0 - at >= i64::from(shortest_refresh) * 86_400_000);
    let modified_since = match (full || sweep_due, cursor.and_then(|c| c.parse().ok())) {
        (false, Some(ms)) => Some(UnixMillis(ms)),
        _ => None,
    };
    Ok(CursorPlan { modified_since })
}

/// Moves the cursors after a complete pass.
pub async fn advance(
    store: &StoreHandle,
    crm: &'static str,
    portal: &str,
    plan: &CursorPlan,
    high_water: Option<UnixMillis>,
    started: UnixMillis,
    finished: UnixMillis,
) -> Result<(), StateError> {
    let portal = portal.to_owned();
    let modified = high_water.or(plan.modified_since);
    let full = plan.modified_since.is_none();
    store
        .call(move |s| {
            if let Some(hw) = modified {
                s.set_cursor(crm, &portal, MODIFIED_SINCE, &hw.0.to_string(), finished)?;
            }
            if full {
                s.set_cursor(
                    crm,
                    &portal,
                    LAST_FULL_SWEEP,
                    &started.0.to_string(),
                    finished,
                )?;
            }
            Ok(())
        })
        .await
}

//! `spot_checks.rs`'s operations in PostgreSQL's dialect (see `ops.rs` for the dialect
//! notes): `$n` placeholders and `COLLATE "C"` so both backends order text by bytes.

use std::path::Path;

use firmo_core::UnixMillis;

use crate::error::StoreError;
use crate::pg::conn::PgConn;
use crate::runs::RunId;
use crate::spot_checks::{SpotCheck, SpotVerdict};

pub(crate) fn record_spot_checks(
    pg: &PgConn,
    path: &Path,
    checks: Vec<SpotCheck>,
) -> Result<(), StoreError> {
    const OP: &str = "recording spot checks in";
    pg.run(path, OP, move |s| {
        for c in &checks {
            s.execute(
                OP,
                "INSERT INTO spot_checks (run_id, account_id, field, source, value, verdict, \
                     corrected_value, checked_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (run_id, account_id, field) DO UPDATE SET \
                     source = excluded.source, value = excluded.value, \
                     verdict = excluded.verdict, corrected_value = excluded.corrected_value, \
                     checked_at = excluded.checked_at",
                &[
                    &c.run_id.0,
                    &c.account_id,
                    &c.field,
                    &c.source,
                    &c.value,
                    &c.verdict.as_str(),
                    &c.corrected_value,
                    &c.checked_at.0,
                ],
            )?;
        }
        Ok(())
    })
}

pub(crate) fn spot_checks(
    pg: &PgConn,
    path: &Path,
    since: UnixMillis,
) -> Result<Vec<SpotCheck>, StoreError> {
    const OP: &str = "reading spot checks in";
    pg.run(path, OP, move |s| {
        let rows = s.query(
            OP,
            "SELECT run_id, account_id, field, source, value, verdict, corrected_value, \
                 checked_at FROM spot_checks WHERE checked_at >= $1 \
             ORDER BY field COLLATE \"C\", account_id COLLATE \"C\", run_id",
            &[&since.0],
        )?;
        rows.iter()
            .map(|row| {
                let verdict: String = row.get(5);
                let verdict = SpotVerdict::parse(&verdict).ok_or_else(|| StoreError::Postgres {
                    op: OP,
                    path: s.path.clone(),
                    message: format!("unknown verdict {verdict:?}"),
                    source: None,
                })?;
                Ok(SpotCheck {
                    run_id: RunId(row.get(0)),
                    account_id: row.get(1),
                    field: row.get(2),
                    source: row.get(3),
                    value: row.get(4),
                    verdict,
                    corrected_value: row.get(6),
                    checked_at: UnixMillis(row.get(7)),
                })
            })
            .collect()
    })
}

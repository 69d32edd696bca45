//! Spot-check verdicts: a person's judgement of one merged value of one account in one
//! run (`firmo spot-check import`), the raw material of accuracy per field and source.

use firmo_core::UnixMillis;
use rusqlite::params;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use serde::{Deserialize, Serialize};

use crate::error::{Context, StoreError};
use crate::runs::RunId;
use crate::{Db, Store, Writer, pg_spot_checks};

/// What the reviewer said about a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpotVerdict {
    Correct,
    Wrong,
    /// The reviewer could not tell: counts towards neither side of the accuracy.
    Unsure,
}

impl SpotVerdict {
    pub const ALL: &'static [SpotVerdict] = &[
        SpotVerdict::Correct,
        SpotVerdict::Wrong,
        SpotVerdict::Unsure,
    ];

    /// The word stored and written in the sheet.
    pub const fn as_str(self) -> &'static str {
        match self {
            SpotVerdict::Correct => "correct",
            SpotVerdict::Wrong => "wrong",
            SpotVerdict::Unsure => "unsure",
        }
    }

    /// Parses a stored word (exact).
    pub fn parse(text: &str) -> Option<SpotVerdict> {
        SpotVerdict::ALL
            .iter()
            .copied()
            .find(|v| v.as_str() == text)
    }
}

impl std::fmt::Display for SpotVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ToSql for SpotVerdict {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for SpotVerdict {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let text = value.as_str()?;
        SpotVerdict::parse(text)
            .ok_or_else(|| FromSqlError::Other(format!("unknown verdict {text:?}").into()))
    }
}

/// One verdict on one value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpotCheck {
    /// The run the sample was drawn from.
    pub run_id: RunId,
    pub account_id: String,
    /// The field's catalogue name (`headcount`).
    pub field: String,
    /// The source whose value won the merge (`clay`).
    pub source: String,
    /// The value as the sample showed it.
    pub value: String,
    pub verdict: SpotVerdict,
    /// What the reviewer says it should be, when they said.
    pub corrected_value: Option<String>,
    /// When the verdicts were imported.
    pub checked_at: UnixMillis,
}

impl SpotCheck {
    /// The first thing the store refuses about this verdict, if any.
    fn invalid(&self) -> Option<String> {
        let blank = |s: &str| s.trim().is_empty();
        if blank(&self.account_id) {
            Some("a spot check needs an account id".to_owned())
        } else if blank(&self.field) {
            Some(format!(
                "spot check of account {}: no field",
                self.account_id
            ))
        } else if blank(&self.source) {
            Some(format!(
                "spot check of account {} field {}: no source",
                self.account_id, self.field
            ))
        } else {
            None
        }
    }
}

impl Writer<'_> {
    /// Stores `checks`; a verdict already stored for the same run, account and field is
    /// replaced (importing a sheet twice counts it once). The run must exist.
    pub fn record_spot_checks(&self, checks: &[SpotCheck]) -> Result<(), StoreError> {
        const OP: &str = "recording spot checks in";
        if let Some(what) = checks.iter().find_map(SpotCheck::invalid) {
            return Err(StoreError::Invalid {
                op: OP,
                path: self.path.to_path_buf(),
                what,
            });
        }
        let conn = match self.conn {
            Db::Sqlite(conn) => conn,
            Db::Postgres(pg) => {
                return pg_spot_checks::record_spot_checks(pg, self.path, checks.to_vec());
            }
        };
        let mut stmt = conn
            .prepare_cached(
                "INSERT INTO spot_checks (run_id, account_id, field, source, value, verdict, \
                     corrected_value, checked_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
                 ON CONFLICT (run_id, account_id, field) DO UPDATE SET \
                     source = excluded.source, value = excluded.value, \
                     verdict = excluded.verdict, corrected_value = excluded.corrected_value, \
                     checked_at = excluded.checked_at",
            )
            .ctx(self.path, OP)?;
        for c in checks {
            stmt.execute(params![
                c.run_id.0,
                c.account_id,
                c.field,
                c.source,
                c.value,
                c.verdict,
                c.corrected_value,
                c.checked_at.0
            ])
            .ctx(self.path, OP)?;
        }
        Ok(())
    }
}

impl Store {
    /// Stores verdicts in one transaction (see [`Writer::record_spot_checks`]).
    pub fn record_spot_checks(&mut self, checks: &[SpotCheck]) -> Result<(), StoreError> {
        self.write(|w| w.record_spot_checks(checks))
    }

    /// Every verdict imported at or after `since`, by field, then account, then run.
    pub fn spot_checks(&self, since: UnixMillis) -> Result<Vec<SpotCheck>, StoreError> {
        const OP: &str = "reading spot checks in";
        let conn = match self.db() {
            Db::Sqlite(conn) => conn,
            Db::Postgres(pg) => return pg_spot_checks::spot_checks(pg, &self.path, since),
        };
        conn.prepare_cached(
            "SELECT run_id, account_id, field, source, value, verdict, corrected_value, \
                 checked_at FROM spot_checks WHERE checked_at >= ?1 \
             ORDER BY field, account_id, run_id",
        )
        .and_then(|mut stmt| {
            stmt.query_map([since.0], |row| {
                Ok(SpotCheck {
                    run_id: RunId(row.get(0)?),
                    account_id: row.get(1)?,
                    field: row.get(2)?,
                    source: row.get(3)?,
                    value: row.get(4)?,
                    verdict: row.get(5)?,
                    corrected_value: row.get(6)?,
                    checked_at: UnixMillis(row.get(7)?),
                })
            })?
            .collect()
        })
        .ctx(&self.path, OP)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_words_round_trip_and_match_serde() {
        for v in SpotVerdict::ALL {
            assert_eq!(SpotVerdict::parse(v.as_str()), Some(*v));
            assert_eq!(serde_json::to_string(v).unwrap(), format!("\"{v}\""));
        }
        assert_eq!(
            SpotVerdict::parse("Correct"),
            None,
            "stored words are exact"
        );
        let err = SpotVerdict::column_result(ValueRef::Text(b"maybe")).unwrap_err();
        assert_eq!(err.to_string(), "unknown verdict \"maybe\"");
    }
}

// Behaviour on both backends: tests/conformance.rs.

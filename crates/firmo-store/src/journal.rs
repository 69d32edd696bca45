//! The write journal: every CRM property value firmo wrote, so a later run can tell a
//! value firmo wrote from one a human changed since.

use std::collections::HashMap;

use firmo_core::UnixMillis;
use rusqlite::{OptionalExtension as _, params};
use serde::Serialize;

use crate::error::{Context, StoreError};
use crate::runs::RunId;
use crate::{Db, Store, Writer, pg};

/// One property value firmo wrote to one CRM record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JournalEntry {
    pub crm: String,
    pub portal: String,
    pub record_id: String,
    pub property: String,
    /// The value as sent to the CRM (empty when firmo cleared the property).
    pub value: String,
    pub written_at: UnixMillis,
}

/// The most journal rows per `INSERT` (7 parameters each, far below SQLite's limit of
/// 32,766).
const ROWS_PER_INSERT: usize = 64;

/// How many of `left` rows the next `INSERT` takes: a full one, else the largest power of
/// two that fits, so a handful of statement shapes (cached once each) cover every count.
fn rows_in_next_insert(left: usize) -> usize {
    if left >= ROWS_PER_INSERT {
        ROWS_PER_INSERT
    } else {
        1 << left.ilog2()
    }
}

/// `INSERT INTO table (the journal's columns) VALUES (…), (…) …` for `rows` rows, then
/// `tail`. Rows go in the order given, so a later entry for the same key wins an upsert.
fn journal_insert(table: &str, rows: usize, tail: &str) -> String {
    let mut sql = format!(
        "INSERT INTO {table} (run_id, crm, portal, record_id, property, value, written_at) VALUES "
    );
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push_str("(?, ?, ?, ?, ?, ?, ?)");
    }
    sql.push_str(tail);
    sql
}

impl Writer<'_> {
    /// Appends `entries` to the journal of run `run_id` and makes each the latest entry
    /// for its record and property (unless a later-stamped one is already there).
    pub fn record_writes(&self, run_id: RunId, entries: &[JournalEntry]) -> Result<(), StoreError> {
        const OP: &str = "writing the write journal in";
        let conn = match self.conn {
            Db::Sqlite(conn) => conn,
            Db::Postgres(pg) => return pg::ops::record_writes(pg, self.path, run_id, entries),
        };
        // Many rows per statement: a page of a large sync journals over a thousand values,
        // and each statement's own cost (binding, its statement journal, halting) was
        // most of the time of one-row inserts.
        let mut rest = entries;
        while !rest.is_empty() {
            let (chunk, after) = rest.split_at(rows_in_next_insert(rest.len()));
            rest = after;
            let mut history = conn
                .prepare_cached(&journal_insert("write_journal", chunk.len(), ""))
                .ctx(self.path, OP)?;
            let mut latest = conn
                .prepare_cached(&journal_insert(
                    "journal_latest",
                    chunk.len(),
                    " ON CONFLICT (crm, portal, record_id, property) DO UPDATE SET \
                     value = excluded.value, written_at = excluded.written_at, \
                     run_id = excluded.run_id \
                     WHERE excluded.written_at >= journal_latest.written_at",
                ))
                .ctx(self.path, OP)?;
            let mut values: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(chunk.len() * 7);
            for e in chunk {
                values.extend([
                    &run_id.0 as &dyn rusqlite::ToSql,
                    &e.crm,
                    &e.portal,
                    &e.record_id,
                    &e.property,
                    &e.value,
                    &e.written_at.0,
                ]);
            }
            let values = rusqlite::params_from_iter(values);
            history.execute(values.clone()).ctx(self.path, OP)?;
            latest.execute(values).ctx(self.path, OP)?;
        }
        Ok(())
    }
}

impl Store {
    /// Journals writes in one transaction (see [`Writer::record_writes`]).
    pub fn record_writes(
        &mut self,
        run_id: RunId,
        entries: &[JournalEntry],
    ) -> Result<(), StoreError> {
        self.write(|w| w.record_writes(run_id, entries))
    }

    /// The last value firmo wrote to each property of each of `record_ids` in (`crm`,
    /// `portal`), keyed by (record id, property). Records firmo never wrote are absent.
    pub fn last_writes(
        &self,
        crm: &str,
        portal: &str,
        record_ids: &[&str],
    ) -> Result<HashMap<(String, String), JournalEntry>, StoreError> {
        const OP: &str = "reading the write journal in";
        let conn = match self.db() {
            Db::Sqlite(conn) => conn,
            Db::Postgres(pg) => {
                let ids = record_ids.iter().map(|id| (*id).to_owned()).collect();
                return pg::ops::last_writes(pg, &self.path, crm, portal, ids);
            }
        };
        let tx = crate::group::snapshot(conn, &self.path, OP)?;
        let mut stmt = tx
            .prepare_cached(
                "SELECT property, value, written_at FROM journal_latest \
                 WHERE crm = ?1 AND portal = ?2 AND record_id = ?3",
            )
            .ctx(&self.path, OP)?;
        let mut found = HashMap::new();
        for record_id in record_ids {
            let rows = stmt
                .query_map(params![crm, portal, record_id], |row| {
                    Ok(JournalEntry {
                        crm: crm.to_owned(),
                        portal: portal.to_owned(),
                        record_id: (*record_id).to_owned(),
                        property: row.get(0)?,
                        value: row.get(1)?,
                        written_at: UnixMillis(row.get(2)?),
                    })
                })
                .ctx(&self.path, OP)?;
            for entry in rows {
                let entry = entry.ctx(&self.path, OP)?;
                found.insert((entry.record_id.clone(), entry.property.clone()), entry);
            }
        }
        Ok(found)
    }

    /// [`Store::last_writes`] for (`crm`, `portal`), completed where this portal key has
    /// no entry for a record's property by the newest entry under any other key of the
    /// same CRM. A portal's key changes when it can't be identified by what it says (a
    /// new URL spelling, a rotated token): firmo's values written under the old key are
    /// still firmo's, recognised by value, not treated as human edits. Each entry keeps
    /// the key it was written under.
    pub fn last_writes_adopting(
        &self,
        crm: &str,
        portal: &str,
        record_ids: &[&str],
    ) -> Result<HashMap<(String, String), JournalEntry>, StoreError> {
        const OP: &str = "reading the write journal in";
        let conn = match self.db() {
            Db::Sqlite(conn) => conn,
            Db::Postgres(pg) => {
                let ids = record_ids.iter().map(|id| (*id).to_owned()).collect();
                return pg::ops::last_writes_adopting(pg, &self.path, crm, portal, ids);
            }
        };
        let tx = crate::group::snapshot(conn, &self.path, OP)?;
        // The primary key is (crm, portal, record_id, property): a lookup by record that
        // skips the portal scans the CRM's whole journal (quadratic over a 100,000-record
        // sync). So list the CRM's portal keys by index seeks, one per key, and read each
        // record under each key by its full key prefix.
        let mut portals = vec![portal.to_owned()];
        let mut next = tx
            .prepare_cached(
                "SELECT portal FROM journal_latest WHERE crm = ?1 AND portal > ?2 \
                 ORDER BY portal LIMIT 1",
            )
            .ctx(&self.path, OP)?;
        let mut after = String::new();
        while let Some(key) = next
            .query_row(params![crm, after], |row| row.get::<_, String>(0))
            .optional()
            .ctx(&self.path, OP)?
        {
            if key != portal {
                portals.push(key.clone());
            }
            after = key;
        }
        let mut stmt = tx
            .prepare_cached(
                "SELECT property, value, written_at FROM journal_latest \
                 WHERE crm = ?1 AND portal = ?2 AND record_id = ?3",
            )
            .ctx(&self.path, OP)?;
        let mut found: HashMap<(String, String), JournalEntry> = HashMap::new();
        for record_id in record_ids {
            // This key's entries first (they win), then the newest under any other key.
            for (i, key) in portals.iter().enumerate() {
                let rows = stmt
                    .query_map(params![crm, key, record_id], |row| {
                        Ok(JournalEntry {
                            crm: crm.to_owned(),
                            portal: key.clone(),
                            record_id: (*record_id).to_owned(),
                            property: row.get(0)?,
                            value: row.get(1)?,
                            written_at: UnixMillis(row.get(2)?),
                        })
                    })
                    .ctx(&self.path, OP)?;
                for entry in rows {
                    let entry = entry.ctx(&self.path, OP)?;
                    let slot = (entry.record_id.clone(), entry.property.clone());
                    match found.get(&slot) {
                        Some(kept) if i == 0 || kept.portal == portal => {}
                        Some(kept) if kept.written_at >= entry.written_at => {}
                        _ => {
                            found.insert(slot, entry);
                        }
                    }
                }
            }
        }
        Ok(found)
    }

    /// Everything run `run_id` wrote, in the order it was journaled.
    pub fn writes_for_run(&self, run_id: RunId) -> Result<Vec<JournalEntry>, StoreError> {
        const OP: &str = "reading the write journal in";
        let conn = match self.db() {
            Db::Sqlite(conn) => conn,
            Db::Postgres(pg) => return pg::ops::writes_for_run(pg, &self.path, run_id),
        };
        let mut stmt = conn
            .prepare_cached(
                "SELECT crm, portal, record_id, property, value, written_at FROM write_journal \
                 WHERE run_id = ?1 ORDER BY id",
            )
            .ctx(&self.path, OP)?;
        stmt.query_map([run_id.0], |row| {
            Ok(JournalEntry {
                crm: row.get(0)?,
                portal: row.get(1)?,
                record_id: row.get(2)?,
                property: row.get(3)?,
                value: row.get(4)?,
                written_at: UnixMillis(row.get(5)?),
            })
        })
        .and_then(Iterator::collect)
        .ctx(&self.path, OP)
    }
}

// Tests: tests/conformance.rs, run on both backends.

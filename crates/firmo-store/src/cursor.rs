//! Sync cursors: where the last incremental pull of a CRM portal stopped.

use firmo_core::UnixMillis;
use rusqlite::{OptionalExtension, params};

use crate::error::{Context, StoreError};
use crate::{Db, Store, Writer, pg};

impl Writer<'_> {
    /// Sets cursor `name` of (`crm`, `portal`) to `value`, stamped `updated_at`.
    pub fn set_cursor(
        &self,
        crm: &str,
        portal: &str,
        name: &str,
        value: &str,
        updated_at: UnixMillis,
    ) -> Result<(), StoreError> {
        let conn = match self.conn {
            Db::Sqlite(conn) => conn,
            Db::Postgres(pg) => {
                let key = [crm, portal, name, value];
                return pg::ops::set_cursor(pg, self.path, key, updated_at);
            }
        };
        conn.prepare_cached(
            "INSERT INTO sync_cursors (crm, portal, name, value, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (crm, portal, name) DO UPDATE SET \
                     value = excluded.value, updated_at = excluded.updated_at",
        )
        .and_then(|mut stmt| stmt.execute(params![crm, portal, name, value, updated_at.0]))
        .ctx(self.path, "writing a sync cursor in")?;
        Ok(())
    }
}

impl Store {
    /// The value of cursor `name` of (`crm`, `portal`), if one was ever set.
    pub fn get_cursor(
        &self,
        crm: &str,
        portal: &str,
        name: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(self
            .get_cursor_entry(crm, portal, name)?
            .map(|(value, _)| value))
    }

    /// The value of cursor `name` of (`crm`, `portal`) and when it was set.
    pub fn get_cursor_entry(
        &self,
        crm: &str,
        portal: &str,
        name: &str,
    ) -> Result<Option<(String, UnixMillis)>, StoreError> {
        let conn = match self.db() {
            Db::Sqlite(conn) => conn,
            Db::Postgres(pg) => {
                return pg::ops::get_cursor_entry(pg, &self.path, [crm, portal, name]);
            }
        };
        conn.prepare_cached(
            "SELECT value, updated_at FROM sync_cursors \
                 WHERE crm = ?1 AND portal = ?2 AND name = ?3",
        )
        .and_then(|mut stmt| {
            stmt.query_row(params![crm, portal, name], |row| {
                Ok((row.get(0)?, UnixMillis(row.get(1)?)))
            })
            .optional()
        })
        .ctx(&self.path, "reading a sync cursor in")
    }

    /// Sets a cursor in its own transaction (see [`Writer::set_cursor`]).
    pub fn set_cursor(
        &mut self,
        crm: &str,
        portal: &str,
        name: &str,
        value: &str,
        updated_at: UnixMillis,
    ) -> Result<(), StoreError> {
        self.write(|w| w.set_cursor(crm, portal, name, value, updated_at))
    }
}

// Tests: tests/conformance.rs, run on both backends.

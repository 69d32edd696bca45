//! Group commit: many small writes in one SQLite transaction.
//!
//! A sync stores each provider answer as it returns (so a kill loses only what is in
//! flight) and each of Clay's pushed rows as it arrives: at 100,000 accounts that is
//! some 170,000 writes of one row each. In WAL mode every commit appends each page it
//! dirtied to the log, so one commit per row costs far more than the row. Writes that
//! queue up while one runs are worth committing together; [`Store::grouped`] does that,
//! and each [`Store::write`] inside it becomes a savepoint, so one failed write still
//! undoes only its own changes.

use std::ops::Deref;
use std::path::Path;

use rusqlite::{Connection, Transaction};

use crate::error::Context as _;
use crate::{Conn, Store, StoreError};

impl Store {
    /// Runs `f` inside one transaction that every [`Store::write`] it makes joins, then
    /// commits. Returns what `f` returned and whether the commit held: when it did not,
    /// none of the writes `f` made are stored, whatever each of them returned.
    ///
    /// Only SQLite groups: a PostgreSQL state is shared by workers whose leases and
    /// reservations must be visible to each other as soon as each write returns, and
    /// there each commit is one round trip, not a log append per page.
    pub fn grouped<T>(&mut self, f: impl FnOnce(&mut Store) -> T) -> (T, Result<(), StoreError>) {
        let Conn::Sqlite(conn) = &self.conn else {
            return (f(self), Ok(()));
        };
        if self.read_only || self.grouping || !conn.is_autocommit() {
            return (f(self), Ok(()));
        }
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            // The writes still run, each in its own transaction, and fail there if the
            // state is truly unwritable.
            tracing::debug!(error = %e, "could not open a write group; writing one by one");
            return (f(self), Ok(()));
        }
        self.grouping = true;
        let value = f(self);
        self.grouping = false;
        let Conn::Sqlite(conn) = &self.conn else {
            return (value, Ok(()));
        };
        if conn.is_autocommit() {
            // SQLite rolled the group back by itself (a full disk, an I/O error).
            let lost = StoreError::GroupLost {
                path: self.path.clone(),
            };
            return (value, Err(lost));
        }
        let committed = conn
            .execute_batch("COMMIT")
            .ctx(&self.path, "committing a group of writes to");
        if committed.is_err() && !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        (value, committed)
    }
}

/// One consistent view for a read of several statements: a transaction of its own, or
/// the transaction already open around it (a [`Store::grouped`] batch), which gives the
/// same guarantee and cannot be nested.
pub(crate) enum Snapshot<'c> {
    Own(Transaction<'c>),
    Joined(&'c Connection),
}

impl Deref for Snapshot<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        match self {
            Snapshot::Own(tx) => tx,
            Snapshot::Joined(conn) => conn,
        }
    }
}

pub(crate) fn snapshot<'c>(
    conn: &'c Connection,
    path: &Path,
    op: &'static str,
) -> Result<Snapshot<'c>, StoreError> {
    if conn.is_autocommit() {
        Ok(Snapshot::Own(conn.unchecked_transaction().ctx(path, op)?))
    } else {
        Ok(Snapshot::Joined(conn))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LookupEntry, LookupStatus, UnixMillis};

    fn entry(key: &str) -> LookupEntry {
        LookupEntry::new("p", key, UnixMillis(5), LookupStatus::Miss)
    }

    fn refused(w: &crate::Writer<'_>) -> Result<(), StoreError> {
        w.put_lookup(&entry("undone.example"))?;
        Err(StoreError::Invalid {
            op: "testing",
            path: "t".into(),
            what: "this write fails after its first row".into(),
        })
    }

    #[test]
    fn a_group_commits_its_writes_together_and_a_failed_one_alone_is_undone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let mut store = Store::open(&path).unwrap();
        let reader = Store::open_read_only(&path).unwrap();
        let (seen_inside, committed) = store.grouped(|s| {
            s.put_lookup(&entry("a.example")).unwrap();
            assert!(s.write(refused).is_err());
            s.put_lookup(&entry("b.example")).unwrap();
            // Reads of several statements join the group's transaction and see its writes.
            let mine = s.get_lookups("p", &["a.example", "b.example"]).unwrap();
            let others = reader.get_lookup("p", "a.example").unwrap();
            (mine.len(), others.is_some())
        });
        committed.unwrap();
        assert_eq!(
            seen_inside,
            (2, false),
            "inside: the group sees its writes, another connection none of them"
        );
        for key in ["a.example", "b.example"] {
            assert!(reader.get_lookup("p", key).unwrap().is_some(), "{key}");
        }
        assert!(reader.get_lookup("p", "undone.example").unwrap().is_none());
        // Outside a group, writes commit one by one again.
        store.put_lookup(&entry("c.example")).unwrap();
        assert!(reader.get_lookup("p", "c.example").unwrap().is_some());
    }

    #[test]
    fn writes_after_sqlite_drops_the_group_are_refused_not_committed_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let mut store = Store::open(&path).unwrap();
        let ((), committed) = store.grouped(|s| {
            s.put_lookup(&entry("a.example")).unwrap();
            // What SQLite does by itself on a full disk or an I/O error.
            s.sqlite().execute_batch("ROLLBACK").unwrap();
            let late = s.put_lookup(&entry("b.example"));
            assert!(
                matches!(late, Err(StoreError::GroupLost { .. })),
                "{late:?}"
            );
        });
        let lost = committed.unwrap_err();
        assert!(matches!(lost, StoreError::GroupLost { .. }), "{lost}");
        assert!(lost.relayed().to_string().contains("rolled back"), "{lost}");
        for key in ["a.example", "b.example"] {
            assert!(store.get_lookup("p", key).unwrap().is_none(), "{key}");
        }
    }
}

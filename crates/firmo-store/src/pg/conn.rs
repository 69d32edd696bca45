//! One PostgreSQL connection on a thread of its own.
//!
//! The `postgres` crate is synchronous on the outside but drives its connection with a
//! private tokio runtime, and `block_on` panics on a thread that is already inside a
//! runtime, which is where firmo's CLI opens its state and where fleet workers will run.
//! So the [`postgres::Client`] lives on a plain thread and every call is a job sent to
//! it: callers block on the reply like they block on an SQLite call, from any thread,
//! runtime or not. Jobs run one at a time in the order sent, so a transaction is simply
//! `BEGIN`, its statements and `COMMIT` sent in turn.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use postgres::types::ToSql;
use postgres::{Client, Row, Statement};

use crate::error::{PgContext, StoreError};

type Job = Box<dyn FnOnce(&mut Session) + Send>;

/// The connection and what it keeps between jobs.
pub(crate) struct Session {
    client: Client,
    /// Prepared statements by their SQL: each is parsed by the server once per
    /// connection, so a statement costs one round trip instead of two.
    statements: HashMap<&'static str, Statement>,
    /// The state's label (the URL without its password), for errors.
    pub(crate) path: PathBuf,
}

impl Session {
    fn prepared(&mut self, sql: &'static str) -> Result<Statement, postgres::Error> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql)?;
        self.statements.insert(sql, statement.clone());
        Ok(statement)
    }

    pub(crate) fn execute(
        &mut self,
        op: &'static str,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, StoreError> {
        let statement = self.prepared(sql).pg(&self.path, op)?;
        self.client.execute(&statement, params).pg(&self.path, op)
    }

    pub(crate) fn query(
        &mut self,
        op: &'static str,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        let statement = self.prepared(sql).pg(&self.path, op)?;
        self.client.query(&statement, params).pg(&self.path, op)
    }

    pub(crate) fn query_opt(
        &mut self,
        op: &'static str,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, StoreError> {
        let statement = self.prepared(sql).pg(&self.path, op)?;
        self.client.query_opt(&statement, params).pg(&self.path, op)
    }

    /// Runs statements without parameters (transaction control, migrations).
    pub(crate) fn batch(&mut self, op: &'static str, sql: &str) -> Result<(), StoreError> {
        self.client.batch_execute(sql).pg(&self.path, op)
    }

    /// Streams the rows of `sql` to `each` without holding them all (a server-side
    /// portal fetched in pages); `each` returning `false` stops early.
    pub(crate) fn stream(
        &mut self,
        op: &'static str,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
        mut each: impl FnMut(&Row) -> bool,
    ) -> Result<(), StoreError> {
        const PAGE: i32 = 256;
        let path = self.path.clone();
        let statement = self.prepared(sql).pg(&path, op)?;
        let mut tx = self.client.transaction().pg(&path, op)?;
        let portal = tx.bind(&statement, params).pg(&path, op)?;
        loop {
            let rows = tx.query_portal(&portal, PAGE).pg(&path, op)?;
            let last = rows.len() < PAGE as usize;
            for row in &rows {
                if !each(row) {
                    return tx.commit().pg(&path, op);
                }
            }
            if last {
                return tx.commit().pg(&path, op);
            }
        }
    }
}

/// A handle to the connection thread. Cloning it shares the connection (the run lock
/// holds one, so the lock lives exactly as long as the connection its writes use); the
/// thread closes the connection when the last handle is dropped.
#[derive(Clone)]
pub(crate) struct PgConn {
    jobs: mpsc::Sender<Job>,
}

impl std::fmt::Debug for PgConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PgConn")
    }
}

impl PgConn {
    /// Connects to `config` on a new thread. `path` labels errors.
    pub(crate) fn connect(
        config: postgres::Config,
        path: &Path,
        op: &'static str,
    ) -> Result<PgConn, StoreError> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let (ready, connected) = mpsc::channel();
        let label = path.to_path_buf();
        std::thread::Builder::new()
            .name("firmo-store-pg".into())
            .spawn(move || {
                // TLS: none. The tests and the default deployment talk to a server on
                // loopback or a unix socket; see docs/storage.md for a remote server.
                let client = match config.connect(postgres::NoTls) {
                    Ok(client) => client,
                    Err(e) => {
                        let _ = ready.send(Err(e).pg(&label, op));
                        return;
                    }
                };
                let _ = ready.send(Ok(()));
                let mut session = Session {
                    client,
                    statements: HashMap::new(),
                    path: label,
                };
                for job in queue {
                    job(&mut session);
                }
            })
            .map_err(|e| StoreError::Postgres {
                op,
                path: path.to_path_buf(),
                message: format!("cannot start the connection thread: {e}"),
                source: None,
            })?;
        connected.recv().map_err(|_| gone(path, op))??;
        Ok(PgConn { jobs })
    }

    /// Runs `f` on the connection and waits for its result.
    pub(crate) fn run<T, F>(&self, path: &Path, op: &'static str, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Session) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = mpsc::sync_channel(1);
        self.jobs
            .send(Box::new(move |session| {
                let _ = reply.send(f(session));
            }))
            .map_err(|_| gone(path, op))?;
        answer.recv().map_err(|_| gone(path, op))?
    }

    /// Runs `f` on the connection and hands what it sends to `each` on this thread, as
    /// it comes (for results too big to hold at once).
    pub(crate) fn run_streaming<T, F>(
        &self,
        path: &Path,
        op: &'static str,
        f: F,
        mut each: impl FnMut(T) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Session, &mpsc::SyncSender<T>) -> Result<(), StoreError> + Send + 'static,
    {
        let (items, incoming) = mpsc::sync_channel(64);
        let (reply, answer) = mpsc::sync_channel(1);
        self.jobs
            .send(Box::new(move |session| {
                let _ = reply.send(f(session, &items));
            }))
            .map_err(|_| gone(path, op))?;
        let mut failed = None;
        for item in incoming {
            if let Err(e) = each(item) {
                // Dropping the receiver ends the job's sends; its result is moot.
                failed = Some(e);
                break;
            }
        }
        let result = answer.recv().map_err(|_| gone(path, op))?;
        match failed {
            Some(e) => Err(e),
            None => result,
        }
    }
}

/// The connection thread ended (its connection failed to start, or a job panicked).
fn gone(path: &Path, op: &'static str) -> StoreError {
    StoreError::Postgres {
        op,
        path: path.to_path_buf(),
        message: "the connection to PostgreSQL is gone".to_owned(),
        source: None,
    }
}

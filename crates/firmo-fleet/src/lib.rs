//! Many portals on one PostgreSQL state: `firmo fleet` registers portals and enqueues
//! their due syncs; `firmo worker` processes on any number of machines take them.
//!
//! What the fleet keeps in PostgreSQL, beside the store's tables (see `docs/fleet.md`):
//!
//! - **the portals** ([`Portal`]): name, CRM, the variable holding its token, its config,
//!   how often it is due and its monthly credit budget;
//! - **a job queue** of portal syncs ([`Fleet::schedule`], [`Fleet::claim`]): at most one
//!   open job per portal (a partial unique index), taken with `FOR UPDATE SKIP LOCKED`;
//! - **worker liveness**: each worker holds a session advisory lock on its fleet
//!   connection. The server drops it when the connection ends, so a job whose worker
//!   was killed (SIGKILL included) is handed to the next worker that asks, without a
//!   lease timeout to wait out; the store's own answers-before-writes rule means the
//!   retry pays for no lookup already stored;
//! - **a token bucket per portal** ([`Fleet::take_tokens`], [`pace::PacedCrm`]) that
//!   every worker touching the portal draws from, so together they keep to its limit;
//! - **credit reservations** ([`Fleet::reserve`]): a running job holds what its run may
//!   spend, taken one at a time against the portal's and the fleet's monthly budgets, so
//!   jobs that start together cannot overshoot them.
//!
//! Why not a queue crate: apalis-postgres 1.0 (the maintained choice) brings sqlx 0.9
//! with compile-time-checked queries, a second PostgreSQL driver and TLS stack beside the
//! `postgres` crate the store uses (211 crates resolved); its orphan detection waits for
//! missed heartbeats; and a per-portal group key still has to be built around it. The
//! queue here is four statements on the driver the workspace already builds.

mod budget;
mod error;
pub mod pace;
mod portals;
mod queue;
mod schema;
mod status;

use std::sync::Arc;

pub use budget::Reservation;
pub use error::FleetError;
use error::db_message;
pub use portals::{NewPortal, Portal, parse_every};
pub use queue::{Attempt, Job, JobOutcome};
pub use status::{FleetStatus, PortalStatus, WorkerStatus};

/// A connection to a fleet's tables. Cheap to clone: clones share the connection.
#[derive(Clone)]
pub struct Fleet {
    client: Arc<tokio_postgres::Client>,
    /// A second connection for transactions ([`Fleet::reserve`]): a transaction on the
    /// shared one would take in the statements other tasks send meanwhile.
    tx_client: Arc<tokio::sync::Mutex<tokio_postgres::Client>>,
    location: String,
}

impl std::fmt::Debug for Fleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fleet")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl Fleet {
    /// Connects to the state at `location` (a `postgres://` URL), creating or migrating
    /// the store's tables and then the fleet's. A file path is [`FleetError::NotPostgres`].
    pub async fn connect(location: &str) -> Result<Fleet, FleetError> {
        let shown = firmo_store::display_location(std::path::Path::new(location));
        if !firmo_store::is_postgres_url(location) {
            return Err(FleetError::NotPostgres { location: shown });
        }
        // The store's tables first: the store refuses a schema that holds tables of
        // someone else's, and the fleet reads its `runs` and `run_credits`.
        let owned = location.to_owned();
        tokio::task::spawn_blocking(move || firmo_store::Store::open(&owned).map(drop))
            .await
            .map_err(|e| FleetError::Db {
                op: "opening the state",
                location: shown.clone(),
                message: e.to_string(),
            })??;
        let mut client = client(location, &shown).await?;
        migrate(&mut client, &shown).await?;
        let tx_client = self::client(location, &shown).await?;
        Ok(Fleet {
            client: Arc::new(client),
            tx_client: Arc::new(tokio::sync::Mutex::new(tx_client)),
            location: shown,
        })
    }

    /// The state as messages show it (no password).
    pub fn location(&self) -> &str {
        &self.location
    }

    pub(crate) fn db(&self, op: &'static str) -> impl FnOnce(tokio_postgres::Error) -> FleetError {
        let location = self.location.clone();
        move |e| FleetError::Db {
            op,
            location,
            message: db_message(&e),
        }
    }

    pub(crate) fn client(&self) -> &tokio_postgres::Client {
        &self.client
    }

    pub(crate) fn tx_client(&self) -> &tokio::sync::Mutex<tokio_postgres::Client> {
        &self.tx_client
    }
}

/// A connection to the server at `location` (shown as `shown` in errors), its driver
/// task spawned.
async fn client(location: &str, shown: &str) -> Result<tokio_postgres::Client, FleetError> {
    let db = |op: &'static str| {
        let location = shown.to_owned();
        move |e: tokio_postgres::Error| FleetError::Db {
            op,
            location,
            message: db_message(&e),
        }
    };
    let mut config: tokio_postgres::Config =
        location.parse().map_err(db("reading the state URL"))?;
    if config.get_application_name().is_none() {
        config.application_name("firmo fleet");
    }
    let (client, connection) = config
        .connect(tokio_postgres::NoTls)
        .await
        .map_err(db("connecting to"))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %db_message(&e), "the fleet's database connection ended");
        }
    });
    Ok(client)
}

/// The fleet's portals at `location` as (name, account key once learnt), by name,
/// without creating or migrating anything: for read-only commands (`firmo report
/// --portal`). A state with no fleet tables has none.
pub async fn registered_portals(
    location: &str,
) -> Result<Vec<(String, Option<String>)>, FleetError> {
    const OP: &str = "reading the fleet's portals";
    let shown = firmo_store::display_location(std::path::Path::new(location));
    if !firmo_store::is_postgres_url(location) {
        return Err(FleetError::NotPostgres { location: shown });
    }
    let client = client(location, &shown).await?;
    let db = |e: tokio_postgres::Error| FleetError::Db {
        op: OP,
        location: shown.clone(),
        message: db_message(&e),
    };
    let exists: bool = client
        .query_one("SELECT to_regclass('fleet_portals') IS NOT NULL", &[])
        .await
        .map_err(db)?
        .get(0);
    if !exists {
        return Ok(Vec::new());
    }
    let rows = client
        .query(
            "SELECT name, account_key FROM fleet_portals ORDER BY name COLLATE \"C\"",
            &[],
        )
        .await
        .map_err(db)?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Applies the missing fleet migrations, one transaction each, under a transaction-level
/// advisory lock so that two workers starting together do not both create the tables.
async fn migrate(client: &mut tokio_postgres::Client, location: &str) -> Result<(), FleetError> {
    const OP: &str = "migrating the fleet tables";
    let db = |op: &'static str| {
        let location = location.to_owned();
        move |e: tokio_postgres::Error| FleetError::Db {
            op,
            location,
            message: db_message(&e),
        }
    };
    let known = schema::MIGRATIONS.len() as i64;
    let tx = client.transaction().await.map_err(db(OP))?;
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('firmo fleet migrate ' || current_schema(), 0))",
        &[],
    )
    .await
    .map_err(db(OP))?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS fleet_schema (one BOOLEAN PRIMARY KEY CHECK (one), version BIGINT NOT NULL); \
         INSERT INTO fleet_schema (one, version) VALUES (true, 0) ON CONFLICT DO NOTHING",
    )
    .await
    .map_err(db(OP))?;
    let found: i64 = tx
        .query_one("SELECT version FROM fleet_schema", &[])
        .await
        .map_err(db(OP))?
        .get(0);
    if found > known {
        return Err(FleetError::TooNew {
            location: location.to_owned(),
            found,
            known,
        });
    }
    for (i, sql) in schema::MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.batch_execute(sql).await.map_err(db(OP))?;
        tx.execute("UPDATE fleet_schema SET version = $1", &[&(i as i64 + 1)])
            .await
            .map_err(db(OP))?;
    }
    tx.commit().await.map_err(db(OP))?;
    Ok(())
}

/// A fresh schema on the test server named by `FIRMO_TEST_POSTGRES`, for this crate's
/// tests: `None` (with a warning) when it is unset, a failure under `CI=true`.
#[cfg(test)]
pub(crate) mod test_db {
    pub(crate) async fn url() -> Option<String> {
        let Ok(base) = std::env::var("FIRMO_TEST_POSTGRES") else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "FIRMO_TEST_POSTGRES is unset under CI=true: run the tests through scripts/pg.sh"
            );
            eprintln!(
                "WARNING: firmo-fleet PostgreSQL tests NOT RUN: FIRMO_TEST_POSTGRES is unset"
            );
            return None;
        };
        let schema = format!("fleet_t{:016x}", fastrand_u64());
        let (client, conn) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
            .await
            .expect("the test server answers");
        tokio::spawn(conn);
        client
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .await
            .expect("a test schema");
        Some(format!("{base}?options=-csearch_path%3D{schema}"))
    }

    // No rand dependency for one id: `RandomState` is keyed at random per instance.
    fn fastrand_u64() -> u64 {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        h.finish()
    }
}

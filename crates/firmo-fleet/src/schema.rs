//! The fleet's own tables, beside the store's in the same schema, with their own
//! numbered migrations and version row (`fleet_schema`), so the store's schema and its
//! conformance suite stay exactly as they are.

/// Migration `i + 1` is `MIGRATIONS[i]`; never edit one that shipped, append.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: portals, their jobs and each job's attempts, workers, rate buckets, budget.
    "
CREATE TABLE fleet_portals (
    name            TEXT    PRIMARY KEY,
    crm             TEXT    NOT NULL,
    token_env       TEXT    NOT NULL,
    config_path     TEXT,
    sandbox_url     TEXT,
    every_ms        BIGINT  NOT NULL CHECK (every_ms > 0),
    monthly_credits DOUBLE PRECISION CHECK (monthly_credits >= 0),
    -- The CRM's key for the portal (`hubspot:123`), learnt on its first run: the key its
    -- runs, run lock and rate bucket go by.
    account_key     TEXT,
    added_at        BIGINT  NOT NULL
);
CREATE TABLE fleet_jobs (
    id          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    portal      TEXT    NOT NULL REFERENCES fleet_portals (name) ON DELETE CASCADE,
    state       TEXT    NOT NULL
                CHECK (state IN ('queued', 'running', 'done', 'failed', 'skipped')),
    enqueued_at BIGINT  NOT NULL,
    not_before  BIGINT  NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    worker      TEXT,
    started_at  BIGINT,
    finished_at BIGINT,
    run_id      BIGINT,
    detail      TEXT
);
-- At most one open job per portal: the queue never holds two syncs of one portal.
CREATE UNIQUE INDEX fleet_jobs_open ON fleet_jobs (portal)
    WHERE state IN ('queued', 'running');
CREATE INDEX fleet_jobs_queued ON fleet_jobs (not_before, id) WHERE state = 'queued';
CREATE TABLE fleet_attempts (
    job_id     BIGINT  NOT NULL REFERENCES fleet_jobs (id) ON DELETE CASCADE,
    attempt    INTEGER NOT NULL,
    worker     TEXT    NOT NULL,
    started_at BIGINT  NOT NULL,
    ended_at   BIGINT,
    outcome    TEXT,
    PRIMARY KEY (job_id, attempt)
);
CREATE TABLE fleet_workers (
    id           TEXT    PRIMARY KEY,
    host         TEXT    NOT NULL,
    pid          BIGINT  NOT NULL,
    concurrency  INTEGER NOT NULL,
    started_at   BIGINT  NOT NULL,
    heartbeat_at BIGINT  NOT NULL
);
CREATE TABLE fleet_buckets (
    bucket     TEXT             PRIMARY KEY,
    tokens     DOUBLE PRECISION NOT NULL,
    updated_at BIGINT           NOT NULL
);
CREATE TABLE fleet_budget (
    one             BOOLEAN PRIMARY KEY CHECK (one),
    monthly_credits DOUBLE PRECISION CHECK (monthly_credits >= 0)
);
",
    // 2: credit reservations of running jobs (see `budget.rs`): what a job may spend,
    // the newest run id when it was taken (the job's run is a later one) and, once the
    // job ends, what its run spent.
    "
ALTER TABLE fleet_jobs
    ADD COLUMN reserved_credits   DOUBLE PRECISION CHECK (reserved_credits >= 0),
    ADD COLUMN reserved_after_run BIGINT,
    ADD COLUMN spent_credits      DOUBLE PRECISION;
",
];

/// The server's clock in epoch milliseconds: every fleet timestamp is the server's, so
/// workers on machines whose clocks disagree still agree on what is due.
pub(crate) const NOW_MS: &str = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";

/// The start of this calendar month (UTC) in epoch milliseconds.
pub(crate) const MONTH_START_MS: &str =
    "(extract(epoch FROM date_trunc('month', now() AT TIME ZONE 'UTC')) * 1000)::bigint";

/// Whether the worker whose id is `$N` is alive: its process holds a session advisory
/// lock on the fleet connection, which the server drops when that connection ends (a
/// SIGKILLed worker's at once), so liveness needs no timeout to notice a dead worker.
pub(crate) fn worker_alive(id_expr: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted \
           AND l.objsubid = 1 \
           AND l.classid::bigint = ({key} >> 32) & 4294967295 \
           AND l.objid::bigint = {key} & 4294967295)",
        key = worker_key(id_expr)
    )
}

/// The advisory key of a worker: a hash of the schema and its id, in a namespace of its
/// own (the store's run locks hash `firmo run lock …`).
pub(crate) fn worker_key(id_expr: &str) -> String {
    format!("hashtextextended('firmo fleet worker ' || current_schema() || ' ' || {id_expr}, 0)")
}

//! The store on a real file: reopening, two handles on one file, a process killed
//! mid-transaction or at a random commit, and big batches.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use firmo_core::{Field, ProviderRecord, Source, UnixMillis, Value};
use firmo_store::{
    AccountOutcome, JournalEntry, LookupEntry, LookupStatus, MergedSnapshot, Outcome, RunOutcome,
    RunStart, Store,
};
use serde_json::json;

/// Set (to a state file path) when this test binary is re-run as a child that crashes.
const CHILD_ENV: &str = "FIRMO_STORE_TEST_CHILD";
/// Which crash the child performs.
const MODE_ENV: &str = "FIRMO_STORE_TEST_CHILD_MODE";

fn record(i: i64) -> ProviderRecord {
    ProviderRecord::new(Source::Clearbit, UnixMillis(i))
        .with(Field::Headcount, Some(Value::Integer(10 + i)))
        .with(Field::Industry, Some(Value::Text("software".into())))
        .with(
            Field::TechStack,
            Some(Value::TextList(vec![
                "AWS".into(),
                "Stripe".into(),
                format!("tool-{i}"),
            ])),
        )
}

fn hit(provider: &str, i: i64) -> LookupEntry {
    LookupEntry::hit(
        provider,
        format!("company-{i}.com"),
        UnixMillis(i),
        vec![record(i)],
    )
    .charged(1.0)
}

fn integrity_ok(path: &Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    let result: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(result, "ok");
    let fk_violations: i64 = conn
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(fk_violations, 0);
}

#[test]
fn everything_written_is_there_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".firmo/state.db");
    let run;
    {
        let mut store = Store::open(&path).unwrap();
        run = store
            .start_run(&RunStart::new("sync", UnixMillis(1)).on("hubspot", "p1"))
            .unwrap();
        store
            .write(|w| {
                w.put_lookup(&hit("clearbit", 1))?;
                w.add_credits(run, "clearbit", 1.0, 1)?;
                w.set_cursor("hubspot", "p1", "companies", "after:100", UnixMillis(2))?;
                w.record_writes(
                    run,
                    &[JournalEntry {
                        crm: "hubspot".into(),
                        portal: "p1".into(),
                        record_id: "100".into(),
                        property: "firmo_headcount".into(),
                        value: "11".into(),
                        written_at: UnixMillis(3),
                    }],
                )?;
                w.record_outcomes(
                    run,
                    &[AccountOutcome {
                        account_id: "100".into(),
                        domain: Some("company-1.com".into()),
                        outcome: Outcome::Written,
                        reason: None,
                        detail: Some(json!({"firmo_headcount": "11"})),
                    }],
                )?;
                w.record_merged(
                    run,
                    &[MergedSnapshot {
                        account_id: "100".into(),
                        merged: json!({"headcount": 11}),
                        findings: json!([]),
                    }],
                )?;
                w.finish_run(run, UnixMillis(4), RunOutcome::Ok, &json!({"written": 1}))
            })
            .unwrap();
    }
    integrity_ok(&path);
    let store = Store::open(&path).unwrap();
    let cached = store
        .get_lookup("clearbit", "company-1.com")
        .unwrap()
        .unwrap();
    assert_eq!(cached.records, vec![record(1)]);
    assert_eq!(
        store
            .get_cursor("hubspot", "p1", "companies")
            .unwrap()
            .as_deref(),
        Some("after:100")
    );
    let journal = store.last_writes("hubspot", "p1", &["100"]).unwrap();
    assert_eq!(
        journal[&("100".into(), "firmo_headcount".into())].value,
        "11"
    );
    let last = store.last_run("sync").unwrap().unwrap();
    assert_eq!((last.id, last.outcome), (run, RunOutcome::Ok));
    assert_eq!(last.counts.written, 1);
    assert!((last.credits - 1.0).abs() < f64::EPSILON);
    assert_eq!(
        store.outcomes(run).unwrap()[0].detail,
        Some(json!({"firmo_headcount": "11"}))
    );
    assert_eq!(
        store.merged_for_run(run).unwrap()[0].merged,
        json!({"headcount": 11})
    );
}

#[test]
fn two_handles_on_one_file_see_each_others_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let mut a = Store::open(&path).unwrap();
    let mut b = Store::open(&path).unwrap();
    a.put_lookup(&hit("clay", 1)).unwrap();
    assert_eq!(
        b.get_lookup("clay", "company-1.com")
            .unwrap()
            .unwrap()
            .status,
        LookupStatus::Hit
    );
    b.set_cursor("hubspot", "p", "c", "v", UnixMillis(1))
        .unwrap();
    assert_eq!(
        a.get_cursor("hubspot", "p", "c").unwrap().as_deref(),
        Some("v")
    );
}

#[test]
fn concurrent_writers_on_one_file_wait_for_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    drop(Store::open(&path).unwrap());
    let writers: Vec<_> = ["clay", "clearbit"]
        .into_iter()
        .map(|provider| {
            let path = path.clone();
            std::thread::spawn(move || {
                let mut store = Store::open(&path).unwrap();
                for i in 0..300 {
                    store.put_lookup(&hit(provider, i)).unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    let store = Store::open(&path).unwrap();
    for provider in ["clay", "clearbit"] {
        let keys: Vec<String> = (0..300).map(|i| format!("company-{i}.com")).collect();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        assert_eq!(
            store.get_lookups(provider, &keys).unwrap().len(),
            300,
            "{provider}"
        );
    }
}

#[test]
fn processes_racing_to_create_the_file_all_get_a_migrated_store() {
    for _ in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(6));
        let openers: Vec<_> = (0..6)
            .map(|_| {
                let (path, barrier) = (path.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    Store::open(&path).map(|store| store.schema_version().unwrap())
                })
            })
            .collect();
        for opener in openers {
            assert_eq!(opener.join().unwrap().unwrap(), firmo_store::SCHEMA_VERSION);
        }
    }
}

#[test]
fn ten_thousand_lookups_in_one_transaction_all_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path().join("state.db")).unwrap();
    let entries: Vec<LookupEntry> = (0..10_000).map(|i| hit("clearbit", i)).collect();
    store.put_lookups(&entries).unwrap();
    let keys: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
    let got = store.get_lookups("clearbit", &keys).unwrap();
    assert_eq!(got.len(), 10_000);
    assert_eq!(got["company-9999.com"].records, vec![record(9999)]);
}

/// The child half of the crash tests below: does nothing unless they run it.
#[test]
fn crash_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let mut store = Store::open(&path).unwrap();
    let run = store
        .start_run(&RunStart::new("sync", UnixMillis(1)))
        .unwrap();
    match std::env::var(MODE_ENV).as_deref() {
        Ok("abort-mid-transaction") => {
            let committed: Vec<_> = (0..100).map(|i| hit("clearbit", i)).collect();
            store.put_lookups(&committed).unwrap();
            let _ = store.write(|w| -> Result<(), firmo_store::StoreError> {
                // Big enough to spill uncommitted pages into the WAL file before the crash.
                let batch: Vec<_> = (100..30_000).map(|i| hit("clearbit", i)).collect();
                w.put_lookups(&batch)?;
                w.finish_run(run, UnixMillis(2), RunOutcome::Ok, &json!({}))?;
                std::process::abort();
            });
        }
        Ok("commit-forever") => {
            let mut out = std::io::stdout();
            // Bounded, so an orphaned child still ends.
            for i in 0..200_000 {
                // The engine's pattern: an answer and its charge commit together.
                store
                    .write(|w| {
                        w.put_lookup(&hit("clay", i))?;
                        w.add_credits(run, "clay", 1.0, 1)
                    })
                    .unwrap();
                if i == 50 {
                    writeln!(out, "child-ready").unwrap();
                    out.flush().unwrap();
                }
            }
        }
        other => panic!("unknown child mode {other:?}"),
    }
}

fn child(path: &Path, mode: &str) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, path)
        .env(MODE_ENV, mode);
    cmd
}

#[test]
fn a_process_killed_mid_transaction_leaves_the_last_committed_state() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let status = child(&path, "abort-mid-transaction")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(!status.success(), "the child must have crashed");
    let wal = std::fs::metadata(dir.path().join("state.db-wal"))
        .unwrap()
        .len();
    assert!(
        wal > 1_000_000,
        "uncommitted pages reached the WAL before the crash ({wal} bytes)"
    );

    integrity_ok(&path);
    let store = Store::open(&path).unwrap();
    let keys: Vec<String> = (0..30_000).map(|i| format!("company-{i}.com")).collect();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    let got = store.get_lookups("clearbit", &keys).unwrap();
    assert_eq!(got.len(), 100, "only the committed batch survives");
    let run = store.last_run("sync").unwrap().unwrap();
    assert_eq!(run.outcome, RunOutcome::Interrupted);
    assert_eq!(run.finished_at, None);
}

#[test]
fn a_process_killed_at_any_commit_leaves_cache_and_ledger_in_step() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let mut running = child(&path, "commit-forever")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = running.stdout.take().unwrap();
    let ready = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .any(|line| line.contains("child-ready"));
    assert!(ready, "the child never got going");
    running.kill().unwrap();
    running.wait().unwrap();

    integrity_ok(&path);
    let store = Store::open(&path).unwrap();
    let run = store.last_run("sync").unwrap().unwrap();
    // Commits happen in key order, so the cached keys are exactly 0..cached.
    let cached = (0..200_000)
        .take_while(|i| {
            store
                .get_lookup("clay", &format!("company-{i}.com"))
                .unwrap()
                .is_some()
        })
        .count() as u64;
    let rows: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("SELECT count(*) FROM provider_cache", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows as u64, cached);
    assert!(cached > 50);
    assert_eq!(
        run.lookups, cached,
        "every cached answer was charged exactly once"
    );
    assert!((run.credits - cached as f64).abs() < 1e-9);
}

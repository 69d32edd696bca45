//! The store's conformance suite: every behaviour the engine and the CLI rely on, written
//! once and run on each backend (`sqlite::…` and `postgres::…`, see `support`). A new
//! store method gets its test here, so both backends answer to it.

#[macro_use]
mod support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use firmo_core::{Field, ProviderRecord, Source, UnixMillis, Value};
use firmo_store::{
    AccountOutcome, JournalEntry, LockHolder, LookupEntry, LookupStatus, MergedSnapshot, Outcome,
    OutcomeCounts, ProviderSpend, RunId, RunOutcome, RunStart, SCHEMA_VERSION, SpotCheck,
    SpotVerdict, Store, StoreError,
};
use serde_json::json;

use support::Backend;

fn record(at: i64, headcount: i64) -> ProviderRecord {
    ProviderRecord::new(Source::Clearbit, UnixMillis(at))
        .with(Field::Headcount, Some(Value::Integer(headcount)))
}

fn rich_record(i: i64) -> ProviderRecord {
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
        vec![rich_record(i)],
    )
    .charged(1.0)
}

fn outcome(account_id: &str, outcome: Outcome, reason: Option<&str>) -> AccountOutcome {
    AccountOutcome {
        account_id: account_id.into(),
        domain: Some(format!("{account_id}.com")),
        outcome,
        reason: reason.map(str::to_owned),
        detail: None,
    }
}

fn journal(record_id: &str, property: &str, value: &str, at: i64) -> JournalEntry {
    JournalEntry {
        crm: "hubspot".into(),
        portal: "p1".into(),
        record_id: record_id.into(),
        property: property.into(),
        value: value.into(),
        written_at: UnixMillis(at),
    }
}

fn check(run: RunId, account: &str, verdict: SpotVerdict, at: i64) -> SpotCheck {
    SpotCheck {
        run_id: run,
        account_id: account.into(),
        field: "headcount".into(),
        source: "clay".into(),
        value: "120".into(),
        verdict,
        corrected_value: (verdict == SpotVerdict::Wrong).then(|| "95".to_owned()),
        checked_at: UnixMillis(at),
    }
}

fn holder(command: &str) -> LockHolder {
    LockHolder::this_process(command, UnixMillis(1_764_000_000_000))
}

/// Set (to a state location) when this test binary is re-run as a child process.
const CHILD_ENV: &str = "FIRMO_STORE_TEST_CHILD";
/// What the child does.
const MODE_ENV: &str = "FIRMO_STORE_TEST_CHILD_MODE";

/// The child half of the process tests below: does nothing unless they run it.
#[test]
fn child() {
    let Ok(location) = std::env::var(CHILD_ENV) else {
        return;
    };
    let mut out = std::io::stdout();
    let mut store = Store::open(&location).unwrap();
    let _lock = store
        .lock_for_run(&LockHolder::this_process(
            "firmo sync --crm hubspot",
            UnixMillis(5),
        ))
        .unwrap();
    let run = store
        .start_run(&RunStart::new("sync", UnixMillis(1)))
        .unwrap();
    match std::env::var(MODE_ENV).as_deref() {
        Ok("hold") => {
            writeln!(out, "child-ready").unwrap();
            out.flush().unwrap();
            // Held until the parent kills us; reading stdin blocks without a sleep, and
            // ends (so an orphan exits) when the parent goes away.
            let _ = std::io::stdin().lines().next();
        }
        Ok("abort-mid-transaction") => {
            let committed: Vec<_> = (0..100).map(|i| hit("clearbit", i)).collect();
            store.put_lookups(&committed).unwrap();
            let _ = store.write(|w| -> Result<(), StoreError> {
                // Big enough to spill uncommitted pages into SQLite's WAL file; the
                // server keeps an open transaction's rows out of sight at any size.
                let end = if firmo_store::is_postgres_url(&location) {
                    3_000
                } else {
                    30_000
                };
                let batch: Vec<_> = (100..end).map(|i| hit("clearbit", i)).collect();
                w.put_lookups(&batch)?;
                w.finish_run(run, UnixMillis(2), RunOutcome::Ok, &json!({}))?;
                std::process::abort();
            });
        }
        Ok("commit-forever") => {
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

fn spawn_child(location: &str, mode: &str) -> std::process::Child {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, location)
        .env(MODE_ENV, mode)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let ready = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .any(|line| line.contains("child-ready"));
    assert!(ready, "the child never got going");
    child
}

/// A foreign-key failure reads differently on each backend; both name the constraint.
fn is_foreign_key_error(err: &StoreError) -> bool {
    err.to_string().to_lowercase().contains("foreign key")
}

conformance! {
    // ---- opening and migrating ----

    fn a_new_state_is_migrated_and_reopens_unchanged(state) {
        let store = state.open();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(store.is_postgres(), state.backend == Backend::Postgres);
        drop(store);
        let store = state.open();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(state.query_i64("SELECT count(*) FROM provider_cache"), 0);
    }

    fn a_newer_state_is_refused_with_a_clear_message(state) {
        drop(state.open());
        state.set_schema_version(SCHEMA_VERSION + 1);
        let err = Store::open(&state.location).unwrap_err();
        assert!(matches!(err, StoreError::TooNew { .. }), "{err:?}");
        assert!(
            err.to_string().ends_with(&format!(
                "schema version {} is newer than this firmo ({SCHEMA_VERSION}): upgrade firmo",
                SCHEMA_VERSION + 1
            )),
            "{err}"
        );
    }

    fn a_database_holding_other_tables_is_refused(state) {
        state.execute("CREATE TABLE notes (body TEXT)");
        let err = Store::open(&state.location).unwrap_err();
        assert!(
            err.to_string()
                .contains("not a firmo state file (it already holds 1 tables)"),
            "{err}"
        );
        assert_eq!(state.query_i64("SELECT count(*) FROM notes"), 0, "left alone");
    }

    fn racing_openers_all_get_a_migrated_store(state) {
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(6));
        let openers: Vec<_> = (0..6)
            .map(|_| {
                let (location, barrier) = (state.location.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    Store::open(&location).map(|store| store.schema_version().unwrap())
                })
            })
            .collect();
        for opener in openers {
            assert_eq!(opener.join().unwrap().unwrap(), SCHEMA_VERSION);
        }
    }

    // ---- transactions ----

    fn a_failing_write_rolls_back_everything_it_did(state) {
        let mut store = state.open();
        let run = store
            .start_run(&RunStart::new("sync", UnixMillis(1)))
            .unwrap();
        let err = store
            .write(|w| {
                w.set_cursor("hubspot", "1", "after", "42", UnixMillis(2))?;
                w.add_credits(run, "clearbit", 3.0, 3)?;
                // Unknown run: the foreign key fails the third statement.
                w.add_credits(RunId(999), "clearbit", 1.0, 1)
            })
            .unwrap_err();
        assert!(is_foreign_key_error(&err), "{err}");
        assert_eq!(store.get_cursor("hubspot", "1", "after").unwrap(), None);
        assert!(store.credits_for_run(run).unwrap().is_empty());
        // The connection is usable afterwards.
        store.add_credits(run, "clearbit", 1.0, 1).unwrap();
    }

    fn a_panicking_write_rolls_back(state) {
        let mut store = state.open();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = store.write(|w| -> Result<(), StoreError> {
                w.set_cursor("hubspot", "1", "after", "42", UnixMillis(2))?;
                panic!("engine bug");
            });
        }));
        assert!(result.is_err());
        assert_eq!(store.get_cursor("hubspot", "1", "after").unwrap(), None);
        store
            .set_cursor("hubspot", "1", "after", "43", UnixMillis(3))
            .unwrap();
        assert_eq!(
            store.get_cursor("hubspot", "1", "after").unwrap().as_deref(),
            Some("43")
        );
    }

    // ---- the provider cache ----

    fn a_hit_round_trips_with_typed_records(state) {
        let mut store = state.open();
        let entry = LookupEntry::hit(
            "clearbit",
            "acme.com",
            UnixMillis(10),
            vec![record(10, 120)],
        )
        .charged(1.5);
        store.put_lookup(&entry).unwrap();
        let got = store.get_lookup("clearbit", "acme.com").unwrap().unwrap();
        assert_eq!(got.status, LookupStatus::Hit);
        assert_eq!(got.records, entry.records);
        assert_eq!(got.fetched_at, UnixMillis(10));
        assert!((got.credits - 1.5).abs() < f64::EPSILON);
        assert_eq!(got.attempts, 1);
        assert_eq!(store.get_lookup("clearbit", "other.com").unwrap(), None);
        assert_eq!(store.get_lookup("clay", "acme.com").unwrap(), None);
    }

    fn upserts_replace_the_answer_and_add_up_the_cost(state) {
        let mut store = state.open();
        let key = ("clearbit", "acme.com");
        let pending = LookupEntry::new(key.0, key.1, UnixMillis(1), LookupStatus::Pending)
            .with_retry_after(UnixMillis(500))
            .charged(1.0);
        store.put_lookup(&pending).unwrap();
        store.put_lookup(&pending).unwrap();
        let got = store.get_lookup(key.0, key.1).unwrap().unwrap();
        assert_eq!((got.status, got.attempts), (LookupStatus::Pending, 2));
        assert_eq!(got.retry_after, Some(UnixMillis(500)));

        store
            .put_lookup(&LookupEntry::hit(key.0, key.1, UnixMillis(2), vec![record(2, 50)]))
            .unwrap();
        let got = store.get_lookup(key.0, key.1).unwrap().unwrap();
        assert_eq!((got.status, got.attempts), (LookupStatus::Hit, 1), "attempts reset");
        assert_eq!(got.retry_after, None);
        assert!((got.credits - 2.0).abs() < f64::EPSILON, "credits accumulate");
        assert_eq!(store.pending_lookups("clearbit").unwrap(), Vec::<String>::new());
    }

    fn a_failed_refresh_keeps_the_last_good_records_but_a_miss_clears_them(state) {
        let mut store = state.open();
        let good = LookupEntry::hit("clearbit", "acme.com", UnixMillis(1), vec![record(1, 9)]);
        store.put_lookup(&good).unwrap();
        store
            .put_lookup(
                &LookupEntry::new("clearbit", "acme.com", UnixMillis(2), LookupStatus::Error)
                    .with_error("HTTP 503"),
            )
            .unwrap();
        let got = store.get_lookup("clearbit", "acme.com").unwrap().unwrap();
        assert_eq!(got.status, LookupStatus::Error);
        assert_eq!(got.error.as_deref(), Some("HTTP 503"));
        assert_eq!(got.fetched_at, UnixMillis(2));
        assert_eq!(got.records, good.records);

        store
            .put_lookup(&LookupEntry::new("clearbit", "acme.com", UnixMillis(3), LookupStatus::Miss))
            .unwrap();
        let got = store.get_lookup("clearbit", "acme.com").unwrap().unwrap();
        assert_eq!((got.status, got.error), (LookupStatus::Miss, None));
        assert!(got.records.is_empty());
    }

    fn get_lookups_returns_only_known_keys(state) {
        let mut store = state.open();
        let entries: Vec<_> = (0..250)
            .map(|i| {
                let status = if i % 2 == 0 { LookupStatus::Hit } else { LookupStatus::Miss };
                LookupEntry::new("clay", format!("c{i}.com"), UnixMillis(i), status)
            })
            .collect();
        store.put_lookups(&entries).unwrap();
        let keys: Vec<String> = (240..260).map(|i| format!("c{i}.com")).collect();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        let got = store.get_lookups("clay", &keys).unwrap();
        assert_eq!(got.len(), 10);
        assert_eq!(got["c241.com"].status, LookupStatus::Miss);
        assert_eq!(got["c242.com"].fetched_at, UnixMillis(242));
        assert!(store.get_lookups("clearbit", &keys).unwrap().is_empty());
        assert!(store.get_lookups("clay", &[]).unwrap().is_empty());
    }

    fn pending_lookups_come_soonest_first(state) {
        let mut store = state.open();
        let pending = |key: &str, at: Option<i64>| {
            let entry = LookupEntry::new("clay", key, UnixMillis(0), LookupStatus::Pending);
            match at {
                Some(at) => entry.with_retry_after(UnixMillis(at)),
                None => entry,
            }
        };
        store
            .put_lookups(&[
                pending("late.com", Some(900)),
                pending("soon.com", Some(100)),
                pending("any.com", None),
                pending("Zed.com", None),
                LookupEntry::new("clay", "done.com", UnixMillis(0), LookupStatus::Hit),
                LookupEntry::new("clearbit", "other.com", UnixMillis(0), LookupStatus::Pending),
            ])
            .unwrap();
        // Keys sort by bytes on both backends, whatever the database's locale.
        assert_eq!(
            store.pending_lookups("clay").unwrap(),
            ["Zed.com", "any.com", "soon.com", "late.com"]
        );
    }

    fn the_summary_counts_keys_per_provider_and_status(state) {
        let mut store = state.open();
        let miss = |p: &str, k: &str| {
            LookupEntry::new(p, k, UnixMillis(0), LookupStatus::Miss).charged(1.0)
        };
        store
            .put_lookups(&[
                miss("clay", "a.com"),
                miss("clay", "b.com"),
                LookupEntry::hit("clay", "c.com", UnixMillis(0), vec![record(0, 5)]),
                miss("clearbit", "a.com"),
            ])
            .unwrap();
        let summary = store.cache_summary().unwrap();
        let lines: Vec<_> = summary
            .iter()
            .map(|c| (c.provider.as_str(), c.status, c.keys))
            .collect();
        assert_eq!(
            lines,
            [
                ("clay", LookupStatus::Hit, 1),
                ("clay", LookupStatus::Miss, 2),
                ("clearbit", LookupStatus::Miss, 1)
            ]
        );
        assert!((summary[1].credits - 2.0).abs() < f64::EPSILON);
    }

    fn bad_credit_counts_are_refused_and_roll_back_the_batch(state) {
        let mut store = state.open();
        let ok = LookupEntry::new("clay", "a.com", UnixMillis(0), LookupStatus::Miss);
        let bad =
            LookupEntry::new("clay", "b.com", UnixMillis(0), LookupStatus::Miss).charged(f64::NAN);
        let err = store.put_lookups(&[ok, bad]).unwrap_err();
        assert!(err.to_string().contains("clay/b.com: credits must be"), "{err}");
        assert_eq!(store.get_lookup("clay", "a.com").unwrap(), None);
    }

    fn a_charged_answer_lands_on_the_run_ledger_with_the_cache_entry(state) {
        let mut store = state.open();
        let run = store.start_run(&RunStart::new("sync", UnixMillis(1))).unwrap();
        let miss =
            LookupEntry::new("clearbit", "a.com", UnixMillis(2), LookupStatus::Miss).charged(1.5);
        store.put_lookup_charged(&miss, run).unwrap();
        let pending = LookupEntry::new("clearbit", "b.com", UnixMillis(3), LookupStatus::Pending)
            .charged(0.5);
        store.put_lookup_charged(&pending, run).unwrap();
        // A failed call is not a lookup and costs nothing.
        let error = LookupEntry::new("clearbit", "c.com", UnixMillis(4), LookupStatus::Error);
        store.put_lookup_charged(&error, run).unwrap();

        // The run never finished: it reads as interrupted and still shows its spend.
        let got = store.get_run(run).unwrap().unwrap();
        assert_eq!(got.outcome, RunOutcome::Interrupted);
        assert_eq!(got.lookups, 2);
        assert!((got.credits - 2.0).abs() < f64::EPSILON, "{}", got.credits);
        assert!(store.get_lookup("clearbit", "c.com").unwrap().is_some());
    }

    fn pending_answers_of_runs_that_never_finished_are_orphaned(state) {
        let mut store = state.open();
        let pending = |key: &str, at: i64| {
            LookupEntry::new("clay", key, UnixMillis(at), LookupStatus::Pending)
                .with_retry_after(UnixMillis(at + 3_600_000))
        };
        // Run 1 was killed after pushing a.com.
        let killed = store.start_run(&RunStart::new("sync", UnixMillis(100))).unwrap();
        store.put_lookup(&pending("a.com", 150)).unwrap();
        store
            .put_lookup(&LookupEntry::new("clay", "hit.com", UnixMillis(160), LookupStatus::Hit))
            .unwrap();
        // Run 2 finished with b.com still pending (its callback may still come).
        let finished = store.start_run(&RunStart::new("sync", UnixMillis(200))).unwrap();
        store.put_lookup(&pending("b.com", 250)).unwrap();
        store
            .finish_run(finished, UnixMillis(300), RunOutcome::Ok, &json!({}))
            .unwrap();
        // The current run pushes c.com.
        let current = store.start_run(&RunStart::new("sync", UnixMillis(400))).unwrap();
        store.put_lookup(&pending("c.com", 450)).unwrap();

        assert_eq!(store.orphaned_pending("clay", current).unwrap(), ["a.com"]);
        assert!(store.orphaned_pending("clearbit", current).unwrap().is_empty());
        // Seen from the killed run itself, nothing of its own is orphaned; c.com is.
        assert_eq!(store.orphaned_pending("clay", killed).unwrap(), ["c.com"]);
    }

    fn a_charge_to_an_unknown_run_stores_nothing(state) {
        let mut store = state.open();
        let miss =
            LookupEntry::new("clay", "a.com", UnixMillis(2), LookupStatus::Miss).charged(1.0);
        let err = store.put_lookup_charged(&miss, RunId(42)).unwrap_err();
        assert!(is_foreign_key_error(&err), "{err}");
        assert_eq!(store.get_lookup("clay", "a.com").unwrap(), None);
    }

    fn unreadable_records_are_an_error_naming_the_key(state) {
        let mut store = state.open();
        store
            .put_lookup(&LookupEntry::new("clay", "a.com", UnixMillis(0), LookupStatus::Hit))
            .unwrap();
        state.execute("UPDATE provider_cache SET records = '[{\"source\": 1}]'");
        let err = store.get_lookup("clay", "a.com").unwrap_err();
        assert!(err.to_string().contains("records of clay/a.com"), "{err}");
        let err = store.get_lookups("clay", &["a.com"]).unwrap_err();
        assert!(err.to_string().contains("records of clay/a.com"), "{err}");
    }

    fn a_batch_naming_one_key_twice_applies_its_answers_in_order(state) {
        let mut store = state.open();
        let pending = LookupEntry::new("clay", "a.com", UnixMillis(1), LookupStatus::Pending)
            .charged(1.0);
        let answer = LookupEntry::hit("clay", "a.com", UnixMillis(2), vec![record(2, 7)]);
        let other = LookupEntry::new("clay", "b.com", UnixMillis(3), LookupStatus::Miss);
        store
            .put_lookups(&[pending.clone(), other.clone(), pending.clone()])
            .unwrap();
        let got = store.get_lookup("clay", "a.com").unwrap().unwrap();
        assert_eq!((got.status, got.attempts), (LookupStatus::Pending, 2));
        store.put_lookups(&[pending, answer.clone(), other]).unwrap();
        let got = store.get_lookup("clay", "a.com").unwrap().unwrap();
        assert_eq!((got.status, got.attempts), (LookupStatus::Hit, 1));
        assert_eq!(got.records, answer.records);
        assert!((got.credits - 3.0).abs() < f64::EPSILON, "{}", got.credits);
        assert_eq!(store.get_lookup("clay", "b.com").unwrap().unwrap().attempts, 2);

        let run = store.start_run(&RunStart::new("sync", UnixMillis(1))).unwrap();
        store
            .record_writes(
                run,
                &[
                    journal("1", "city", "Oslo", 10),
                    journal("2", "city", "Rome", 10),
                    journal("1", "city", "Bergen", 20),
                    journal("1", "city", "Old", 5),
                ],
            )
            .unwrap();
        let last = store.last_writes("hubspot", "p1", &["1", "2"]).unwrap();
        assert_eq!(last[&("1".into(), "city".into())].value, "Bergen");
        assert_eq!(last[&("2".into(), "city".into())].value, "Rome");
        let values: Vec<String> =
            store.writes_for_run(run).unwrap().into_iter().map(|e| e.value).collect();
        assert_eq!(values, ["Oslo", "Rome", "Bergen", "Old"]);
    }

    fn ten_thousand_lookups_in_one_transaction_all_read_back(state) {
        let mut store = state.open();
        let entries: Vec<LookupEntry> = (0..10_000).map(|i| hit("clearbit", i)).collect();
        store.put_lookups(&entries).unwrap();
        let keys: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
        let got = store.get_lookups("clearbit", &keys).unwrap();
        assert_eq!(got.len(), 10_000);
        assert_eq!(got["company-9999.com"].records, vec![rich_record(9999)]);
    }

    // ---- lookup leases ----

    fn a_leased_lookup_is_asked_by_one_run_until_its_answer_is_stored(state) {
        let (mut a, mut b) = (state.open(), state.open());
        let r1 = a.start_run(&RunStart::new("sync", UnixMillis(1))).unwrap();
        let r2 = b.start_run(&RunStart::new("sync", UnixMillis(2))).unwrap();
        let keys = |ks: &[&str]| ks.iter().map(|k| (*k).to_owned()).collect::<Vec<_>>();
        let unseen = |ks: &[&str]| ks.iter().map(|k| ((*k).to_owned(), None)).collect::<Vec<_>>();
        let (now, ttl) = (UnixMillis(1_000), std::time::Duration::from_mins(1));
        let granted = a.lease_lookups("clearbit", &unseen(&["x.com", "y.com"]), r1, now, ttl);
        assert_eq!(granted.unwrap(), keys(&["x.com", "y.com"]));
        // The other run gets only the free key, and sees who is asking for the rest.
        let granted = b.lease_lookups("clearbit", &unseen(&["y.com", "z.com"]), r2, now, ttl);
        assert_eq!(granted.unwrap(), keys(&["z.com"]));
        let held = b.leased_elsewhere("clearbit", &keys(&["x.com", "y.com", "z.com"]), r2, now);
        assert_eq!(held.unwrap(), keys(&["x.com", "y.com"]));
        // Another provider's key of the same name is another lease.
        let granted = b.lease_lookups("builtwith", &unseen(&["x.com"]), r2, now, ttl);
        assert_eq!(granted.unwrap(), keys(&["x.com"]));
        // A run renews its own lease.
        let granted = a.lease_lookups("clearbit", &unseen(&["y.com"]), r1, now, ttl);
        assert_eq!(granted.unwrap(), keys(&["y.com"]));
        // Storing the answer ends the lease: the other run now reads it from the cache.
        a.put_lookup(&LookupEntry::hit("clearbit", "y.com", now, vec![record(1_000, 7)]))
            .unwrap();
        let held = b.leased_elsewhere("clearbit", &keys(&["x.com", "y.com"]), r2, now);
        assert_eq!(held.unwrap(), keys(&["x.com"]));
        // A key answered since the caller read the cache is not leased: read it again.
        let granted = b.lease_lookups("clearbit", &unseen(&["y.com"]), r2, now, ttl);
        assert!(granted.unwrap().is_empty());
        let seen = vec![("y.com".to_owned(), Some(now))];
        assert_eq!(b.lease_lookups("clearbit", &seen, r2, now, ttl).unwrap(), keys(&["y.com"]));
        b.write(|w| w.release_leases(r2)).unwrap();
        // A run ending frees what it never answered.
        a.write(|w| w.release_leases(r1)).unwrap();
        let held = b.leased_elsewhere("clearbit", &keys(&["x.com"]), r2, now);
        assert!(held.unwrap().is_empty());
        let granted = b.lease_lookups("clearbit", &unseen(&["x.com"]), r2, now, ttl);
        assert_eq!(granted.unwrap(), keys(&["x.com"]));
    }

    fn an_expired_lease_is_taken_over(state) {
        let (mut a, mut b) = (state.open(), state.open());
        let r1 = a.start_run(&RunStart::new("sync", UnixMillis(1))).unwrap();
        let r2 = b.start_run(&RunStart::new("sync", UnixMillis(2))).unwrap();
        let key = vec!["x.com".to_owned()];
        let ask = vec![("x.com".to_owned(), None)];
        let ttl = std::time::Duration::from_secs(1);
        a.lease_lookups("clearbit", &ask, r1, UnixMillis(1_000), ttl).unwrap();
        let before = UnixMillis(1_999);
        assert_eq!(b.leased_elsewhere("clearbit", &key, r2, before).unwrap(), key);
        assert!(b.lease_lookups("clearbit", &ask, r2, before, ttl).unwrap().is_empty());
        let after = UnixMillis(2_000);
        assert!(b.leased_elsewhere("clearbit", &key, r2, after).unwrap().is_empty());
        assert_eq!(b.lease_lookups("clearbit", &ask, r2, after, ttl).unwrap(), key);
    }

    fn a_dead_runs_leases_are_voided_by_the_next_run(state) {
        let mut a = state.open();
        let r1 = a.start_run(&RunStart::new("sync", UnixMillis(1))).unwrap();
        let key = vec!["x.com".to_owned()];
        let ask = vec![("x.com".to_owned(), None)];
        let ttl = std::time::Duration::from_hours(1);
        a.lease_lookups("clearbit", &ask, r1, UnixMillis(1_000), ttl).unwrap();
        // The holder dies without ending its run (its connection closes).
        drop(a);
        let mut b = state.open();
        let r2 = b.start_run(&RunStart::new("sync", UnixMillis(2))).unwrap();
        b.write(|w| w.void_dead_leases(r2)).unwrap();
        let now = UnixMillis(1_500);
        assert!(b.leased_elsewhere("clearbit", &key, r2, now).unwrap().is_empty());
        assert_eq!(b.lease_lookups("clearbit", &ask, r2, now, ttl).unwrap(), key);
        // The current run's own leases survive its voiding.
        b.write(|w| w.void_dead_leases(r2)).unwrap();
        let mut c = state.open();
        let r3 = c.start_run(&RunStart::new("sync", UnixMillis(3))).unwrap();
        assert_eq!(c.leased_elsewhere("clearbit", &key, r3, now).unwrap(), key);
    }

    // ---- cursors ----

    fn cursors_are_per_crm_portal_and_name(state) {
        let mut store = state.open();
        assert_eq!(store.get_cursor("hubspot", "123", "companies").unwrap(), None);
        store.set_cursor("hubspot", "123", "companies", "a", UnixMillis(1)).unwrap();
        store.set_cursor("hubspot", "456", "companies", "b", UnixMillis(2)).unwrap();
        store.set_cursor("hubspot", "123", "companies", "c", UnixMillis(3)).unwrap();
        assert_eq!(
            store.get_cursor_entry("hubspot", "123", "companies").unwrap(),
            Some(("c".to_owned(), UnixMillis(3)))
        );
        assert_eq!(
            store.get_cursor("hubspot", "456", "companies").unwrap().as_deref(),
            Some("b")
        );
        assert_eq!(store.get_cursor("hubspot", "123", "deals").unwrap(), None);
    }

    // ---- the write journal ----

    fn last_writes_keeps_the_newest_value_per_record_and_property(state) {
        let mut store = state.open();
        let first = store.start_run(&RunStart::new("sync", UnixMillis(1))).unwrap();
        let second = store.start_run(&RunStart::new("sync", UnixMillis(2))).unwrap();
        store
            .record_writes(
                first,
                &[journal("1", "industry", "software", 10), journal("1", "city", "Oslo", 10)],
            )
            .unwrap();
        store
            .record_writes(second, &[journal("1", "industry", "fintech", 20)])
            .unwrap();
        // A late-arriving older write doesn't regress the latest value.
        store.record_writes(first, &[journal("1", "city", "Bergen", 5)]).unwrap();

        let last = store.last_writes("hubspot", "p1", &["1", "2"]).unwrap();
        assert_eq!(last.len(), 2);
        assert_eq!(last[&("1".into(), "industry".into())].value, "fintech");
        assert_eq!(last[&("1".into(), "city".into())].value, "Oslo");
        assert_eq!(last[&("1".into(), "city".into())].written_at, UnixMillis(10));
        assert!(store.last_writes("hubspot", "p2", &["1"]).unwrap().is_empty());

        let history = store.writes_for_run(first).unwrap();
        let values: Vec<_> = history.iter().map(|e| e.value.as_str()).collect();
        assert_eq!(values, ["software", "Oslo", "Bergen"]);
    }

    fn a_large_batch_journals_every_entry_in_order_and_the_last_for_a_key_wins(state) {
        let mut store = state.open();
        let run = store.start_run(&RunStart::new("sync", UnixMillis(1))).unwrap();
        // 203 entries: several full inserts and a remainder of odd size. Record "r0" is
        // written three times in one call; the last at the same stamp wins, an older
        // stamp after it does not.
        let mut entries: Vec<_> = (0..200)
            .map(|i| journal(&format!("r{}", i % 50), &format!("p{}", i / 50), &i.to_string(), 10))
            .collect();
        entries.push(journal("r0", "p0", "same stamp, later", 10));
        entries.push(journal("r0", "p0", "older stamp", 9));
        entries.push(journal("r1", "p3", "newer stamp", 11));
        store.record_writes(run, &entries).unwrap();

        let history = store.writes_for_run(run).unwrap();
        assert_eq!(history, entries);
        let ids: Vec<String> = (0..50).map(|i| format!("r{i}")).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let last = store.last_writes("hubspot", "p1", &ids).unwrap();
        assert_eq!(last.len(), 200);
        assert_eq!(last[&("r0".into(), "p0".into())].value, "same stamp, later");
        assert_eq!(last[&("r1".into(), "p3".into())].value, "newer stamp");
        assert_eq!(last[&("r49".into(), "p3".into())].value, "199");
    }

    fn adopting_reads_firmo_s_writes_under_another_portal_key(state) {
        let mut store = state.open();
        let run = store.start_run(&RunStart::new("sync", UnixMillis(1))).unwrap();
        let old_key = |record: &str, property: &str, value: &str, at: i64| JournalEntry {
            portal: "hubspot:127.0.0.1:8089:0123".into(),
            ..journal(record, property, value, at)
        };
        store
            .record_writes(
                run,
                &[
                    old_key("1", "firmo_headcount", "51", 10),
                    old_key("1", "firmo_industry", "Software", 10),
                    journal("1", "firmo_industry", "Fintech", 5),
                    old_key("2", "firmo_headcount", "7", 10),
                ],
            )
            .unwrap();

        let last = store.last_writes_adopting("hubspot", "p1", &["1", "2", "3"]).unwrap();
        assert_eq!(last.len(), 3, "{last:?}");
        let headcount = &last[&("1".into(), "firmo_headcount".into())];
        assert_eq!(
            (headcount.value.as_str(), headcount.portal.as_str()),
            ("51", "hubspot:127.0.0.1:8089:0123")
        );
        // This key's own entry wins over a newer one under another key.
        assert_eq!(last[&("1".into(), "firmo_industry".into())].value, "Fintech");
        assert_eq!(last[&("2".into(), "firmo_headcount".into())].value, "7");
        // Another CRM's writes are never adopted.
        assert!(store.last_writes_adopting("salesforce", "p1", &["1"]).unwrap().is_empty());
    }

    fn writes_need_a_real_run(state) {
        let mut store = state.open();
        let err = store
            .record_writes(RunId(7), &[journal("1", "city", "Oslo", 1)])
            .unwrap_err();
        assert!(
            err.to_string().starts_with(&format!(
                "writing the write journal in {}",
                store.path().display()
            )),
            "{err}"
        );
    }

    // ---- spot checks ----

    fn spot_checks_round_trip_and_a_second_import_replaces_the_first(state) {
        let mut store = state.open();
        let run = store.start_run(&RunStart::new("sync", UnixMillis(1))).unwrap();
        let mut industry = check(run, "a", SpotVerdict::Correct, 10);
        industry.field = "industry".into();
        industry.value = "Software".into();
        store
            .record_spot_checks(&[
                check(run, "b", SpotVerdict::Wrong, 10),
                check(run, "a", SpotVerdict::Unsure, 10),
                industry.clone(),
            ])
            .unwrap();
        let got = store.spot_checks(UnixMillis(0)).unwrap();
        assert_eq!(
            got,
            vec![
                check(run, "a", SpotVerdict::Unsure, 10),
                check(run, "b", SpotVerdict::Wrong, 10),
                industry.clone(),
            ],
            "by field, then account"
        );
        // The reviewer changes their mind about "a": the same sheet imported again.
        store
            .record_spot_checks(&[check(run, "a", SpotVerdict::Correct, 20)])
            .unwrap();
        let got = store.spot_checks(UnixMillis(0)).unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], check(run, "a", SpotVerdict::Correct, 20));
        assert_eq!(got[1].corrected_value.as_deref(), Some("95"));
        // Only what was imported since a date.
        let recent = store.spot_checks(UnixMillis(15)).unwrap();
        assert_eq!(recent, vec![check(run, "a", SpotVerdict::Correct, 20)]);
    }

    fn spot_checks_of_an_unknown_run_store_nothing(state) {
        let mut store = state.open();
        let run = store.start_run(&RunStart::new("sync", UnixMillis(1))).unwrap();
        let err = store
            .record_spot_checks(&[
                check(run, "a", SpotVerdict::Correct, 1),
                check(RunId(run.0 + 40), "b", SpotVerdict::Correct, 1),
            ])
            .unwrap_err();
        assert!(is_foreign_key_error(&err), "{err}");
        assert!(
            err.to_string().starts_with(&format!(
                "recording spot checks in {}",
                store.path().display()
            )),
            "{err}"
        );
        assert!(store.spot_checks(UnixMillis(0)).unwrap().is_empty(), "rolled back");
    }

    fn a_spot_check_without_an_account_or_source_is_refused(state) {
        let mut store = state.open();
        let run = store.start_run(&RunStart::new("sync", UnixMillis(1))).unwrap();
        let mut blank = check(run, " ", SpotVerdict::Correct, 1);
        let err = store.record_spot_checks(&[blank.clone()]).unwrap_err();
        assert!(matches!(err, StoreError::Invalid { .. }), "{err:?}");
        assert!(err.to_string().ends_with("a spot check needs an account id"), "{err}");
        blank.account_id = "a".into();
        blank.source = String::new();
        let err = store.record_spot_checks(&[blank]).unwrap_err();
        assert!(
            err.to_string().ends_with("spot check of account a field headcount: no source"),
            "{err}"
        );
        assert_eq!(state.query_i64("SELECT count(*) FROM spot_checks"), 0);
    }

    // ---- runs, outcomes, the ledger, merged snapshots ----

    fn a_run_round_trips_and_unfinished_runs_read_as_interrupted(state) {
        let mut store = state.open();
        let start = RunStart::new("sync", UnixMillis(100))
            .on("hubspot", "p1")
            .dry_run(true)
            .config(json!({"budget": 50}));
        let run = store.start_run(&start).unwrap();
        let got = store.get_run(run).unwrap().unwrap();
        assert_eq!(got.outcome, RunOutcome::Interrupted);
        assert_eq!(got.finished_at, None);
        assert_eq!((got.crm.as_deref(), got.portal.as_deref()), (Some("hubspot"), Some("p1")));
        assert!(got.dry_run);
        assert_eq!(got.config, json!({"budget": 50}));

        store
            .finish_run(run, UnixMillis(200), RunOutcome::Partial, &json!({"written": 3}))
            .unwrap();
        let got = store.get_run(run).unwrap().unwrap();
        assert_eq!(got.outcome, RunOutcome::Partial);
        assert_eq!(got.finished_at, Some(UnixMillis(200)));
        assert_eq!(got.summary, Some(json!({"written": 3})));
        assert_eq!(store.get_run(RunId(run.0 + 1)).unwrap(), None);
    }

    fn finishing_an_unknown_run_is_an_error(state) {
        let mut store = state.open();
        let err = store
            .finish_run(RunId(3), UnixMillis(1), RunOutcome::Ok, &json!({}))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("recording the end of a run in {}: there is no run 3", store.path().display())
        );
    }

    fn list_runs_is_newest_first_and_last_run_filters_by_kind(state) {
        let mut store = state.open();
        let a = store.start_run(&RunStart::new("sync", UnixMillis(1))).unwrap();
        let b = store.start_run(&RunStart::new("enrich", UnixMillis(2))).unwrap();
        let c = store.start_run(&RunStart::new("sync", UnixMillis(3))).unwrap();
        assert!(a < b && b < c, "ids increase");
        let ids: Vec<RunId> = store.list_runs(10).unwrap().iter().map(|r| r.id).collect();
        assert_eq!(ids, [c, b, a]);
        assert_eq!(store.list_runs(2).unwrap().len(), 2);
        assert_eq!(store.last_run("sync").unwrap().unwrap().id, c);
        assert_eq!(store.last_run("enrich").unwrap().unwrap().id, b);
        assert_eq!(store.last_run("report").unwrap(), None);
    }

    fn each_account_has_one_outcome_per_run_and_counts_follow(state) {
        let mut store = state.open();
        let run = store.start_run(&RunStart::new("sync", UnixMillis(1))).unwrap();
        store
            .record_outcomes(
                run,
                &[
                    outcome("a", Outcome::Written, None),
                    outcome("b", Outcome::Failed, Some("HTTP 500")),
                    outcome("c", Outcome::Rejected, Some("FQ012")),
                    outcome("d", Outcome::Skipped, Some("fresh")),
                ],
            )
            .unwrap();
        // The retry of a failed account succeeds: it now counts as written, once.
        let mut retried = outcome("b", Outcome::Written, None);
        retried.detail = Some(json!({"industry": "software"}));
        store.record_outcomes(run, std::slice::from_ref(&retried)).unwrap();

        let counts = store.outcome_counts(run).unwrap();
        assert_eq!(
            counts,
            OutcomeCounts { written: 2, unchanged: 0, skipped: 1, rejected: 1, failed: 0 }
        );
        assert_eq!(counts.total(), 4);
        let all = store.outcomes(run).unwrap();
        assert_eq!(all.len(), 4);
        assert_eq!(all[1], retried);
        assert_eq!(all[2].reason.as_deref(), Some("FQ012"));
        assert_eq!(store.get_run(run).unwrap().unwrap().counts, counts);
    }

    fn the_credit_ledger_adds_up_per_run_and_provider(state) {
        let mut store = state.open();
        let old = store.start_run(&RunStart::new("sync", UnixMillis(10))).unwrap();
        let new = store.start_run(&RunStart::new("sync", UnixMillis(20))).unwrap();
        let dry = store
            .start_run(&RunStart::new("sync", UnixMillis(30)).dry_run(true))
            .unwrap();
        store.add_credits(old, "clay", 5.0, 5).unwrap();
        store.add_credits(new, "clay", 1.0, 1).unwrap();
        store.add_credits(new, "clay", 2.0, 2).unwrap();
        store.add_credits(new, "clearbit", 0.5, 1).unwrap();
        store.add_credits(dry, "clay", 100.0, 100).unwrap();

        let spend = |provider: &str, credits: f64, lookups: u64| ProviderSpend {
            provider: provider.into(),
            credits,
            lookups,
        };
        assert_eq!(
            store.credits_for_run(new).unwrap(),
            [spend("clay", 3.0, 3), spend("clearbit", 0.5, 1)]
        );
        assert_eq!(
            store.credits_since(UnixMillis(15)).unwrap(),
            [spend("clay", 3.0, 3), spend("clearbit", 0.5, 1)],
            "older and dry runs are not counted"
        );
        assert_eq!(store.credits_since(UnixMillis(0)).unwrap()[0], spend("clay", 8.0, 8));
        let run = store.get_run(new).unwrap().unwrap();
        assert!((run.credits - 3.5).abs() < f64::EPSILON);
        assert_eq!(run.lookups, 4);
        assert!(store.add_credits(new, "clay", -1.0, 1).is_err());
    }

    fn runs_and_spend_filter_by_portal_in_the_query(state) {
        let mut store = state.open();
        let on = |portal: &str, at: i64| RunStart::new("sync", UnixMillis(at)).on("hubspot", portal);
        let a1 = store.start_run(&on("hubspot:1", 10)).unwrap();
        let b1 = store.start_run(&on("hubspot:2", 20)).unwrap();
        let a2 = store.start_run(&on("hubspot:1", 30)).unwrap();
        let csv = store.start_run(&RunStart::new("enrich", UnixMillis(40))).unwrap();
        let a_dry = store.start_run(&on("hubspot:1", 50).dry_run(true)).unwrap();
        store.add_credits(a1, "clay", 2.0, 2).unwrap();
        store.add_credits(a2, "clay", 1.0, 1).unwrap();
        store.add_credits(b1, "clay", 7.0, 7).unwrap();
        store.add_credits(csv, "clay", 9.0, 9).unwrap();
        store.add_credits(a_dry, "clay", 50.0, 50).unwrap();

        let ids = |runs: Vec<firmo_store::RunRecord>| runs.iter().map(|r| r.id).collect::<Vec<_>>();
        assert_eq!(ids(store.list_runs_on("hubspot:1", 10).unwrap()), [a_dry, a2, a1]);
        assert_eq!(ids(store.list_runs_on("hubspot:1", 2).unwrap()), [a_dry, a2], "newest first");
        assert_eq!(ids(store.list_runs_on("hubspot:2", 10).unwrap()), [b1]);
        assert!(store.list_runs_on("hubspot:3", 10).unwrap().is_empty());
        // The records are whole: counts and credits come along as with `list_runs`.
        let b = &store.list_runs_on("hubspot:2", 1).unwrap()[0];
        assert_eq!((b.portal.as_deref(), b.lookups), (Some("hubspot:2"), 7));

        assert_eq!(store.run_portals().unwrap(), ["hubspot:1", "hubspot:2"], "no CSV runs");
        let spent = store.credits_since_on("hubspot:1", UnixMillis(0)).unwrap();
        assert_eq!(
            spent,
            [ProviderSpend { provider: "clay".into(), credits: 3.0, lookups: 3 }],
            "this portal's real runs only"
        );
        assert!(store.credits_since_on("hubspot:1", UnixMillis(35)).unwrap().is_empty());
        assert!(store.credits_since_on("nobody", UnixMillis(0)).unwrap().is_empty());
    }

    fn pruning_keeps_the_snapshots_of_the_newest_runs_only(state) {
        let mut store = state.open();
        let snap = MergedSnapshot { account_id: "a".into(), merged: json!({}), findings: json!([]) };
        let runs: Vec<RunId> = (0..4)
            .map(|i| {
                let run = store.start_run(&RunStart::new("sync", UnixMillis(i))).unwrap();
                store.record_merged(run, std::slice::from_ref(&snap)).unwrap();
                store.record_outcomes(run, &[outcome("a", Outcome::Written, None)]).unwrap();
                run
            })
            .collect();
        assert_eq!(store.prune_merged(2).unwrap(), 2);
        let kept: Vec<usize> =
            runs.iter().map(|r| store.merged_for_run(*r).unwrap().len()).collect();
        assert_eq!(kept, [0, 0, 1, 1]);
        assert_eq!(store.outcomes(runs[0]).unwrap().len(), 1, "outcomes are kept");
        assert_eq!(store.prune_merged(2).unwrap(), 0);
    }

    fn merged_snapshots_round_trip_by_account(state) {
        let mut store = state.open();
        let run = store.start_run(&RunStart::new("sync", UnixMillis(1))).unwrap();
        let other = store.start_run(&RunStart::new("sync", UnixMillis(2))).unwrap();
        let snap = |id: &str, headcount: i64| MergedSnapshot {
            account_id: id.into(),
            merged: json!({"headcount": headcount}),
            findings: json!([{"code": "FQ001"}]),
        };
        store.record_merged(run, &[snap("b", 2), snap("a", 1)]).unwrap();
        store.record_merged(run, &[snap("b", 3)]).unwrap();
        store.record_merged(other, &[snap("z", 9)]).unwrap();
        assert_eq!(store.merged_for_run(run).unwrap(), [snap("a", 1), snap("b", 3)]);
        let mut seen = 0;
        store.for_each_merged(other, |_| seen += 1).unwrap();
        assert_eq!(seen, 1);
    }

    fn merged_snapshots_stream_past_one_page(state) {
        let mut store = state.open();
        let run = store.start_run(&RunStart::new("sync", UnixMillis(1))).unwrap();
        let snaps: Vec<MergedSnapshot> = (0..1_000)
            .map(|i| MergedSnapshot {
                account_id: format!("{i:04}"),
                merged: json!({"headcount": i}),
                findings: json!([]),
            })
            .collect();
        store.record_merged(run, &snaps).unwrap();
        let mut seen = Vec::new();
        store.for_each_merged(run, |m| seen.push(m)).unwrap();
        assert_eq!(seen, snaps, "all of them, by account id");
        // The store is usable after a full stream.
        assert_eq!(store.outcomes(run).unwrap(), []);
    }

    // ---- durability across handles ----

    fn everything_written_is_there_after_reopening(state) {
        let run;
        {
            let mut store = state.open();
            run = store
                .start_run(&RunStart::new("sync", UnixMillis(1)).on("hubspot", "p1"))
                .unwrap();
            store
                .write(|w| {
                    w.put_lookup(&hit("clearbit", 1))?;
                    w.add_credits(run, "clearbit", 1.0, 1)?;
                    w.set_cursor("hubspot", "p1", "companies", "after:100", UnixMillis(2))?;
                    w.record_writes(run, &[journal("100", "firmo_headcount", "11", 3)])?;
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
        state.check_integrity();
        let store = state.open();
        let cached = store.get_lookup("clearbit", "company-1.com").unwrap().unwrap();
        assert_eq!(cached.records, vec![rich_record(1)]);
        assert_eq!(
            store.get_cursor("hubspot", "p1", "companies").unwrap().as_deref(),
            Some("after:100")
        );
        let last_writes = store.last_writes("hubspot", "p1", &["100"]).unwrap();
        assert_eq!(last_writes[&("100".into(), "firmo_headcount".into())].value, "11");
        let last = store.last_run("sync").unwrap().unwrap();
        assert_eq!((last.id, last.outcome), (run, RunOutcome::Ok));
        assert_eq!(last.counts.written, 1);
        assert!((last.credits - 1.0).abs() < f64::EPSILON);
        assert_eq!(
            store.outcomes(run).unwrap()[0].detail,
            Some(json!({"firmo_headcount": "11"}))
        );
        assert_eq!(store.merged_for_run(run).unwrap()[0].merged, json!({"headcount": 11}));
    }

    fn two_handles_on_one_state_see_each_others_writes(state) {
        let mut a = state.open();
        let mut b = state.open();
        a.put_lookup(&hit("clay", 1)).unwrap();
        assert_eq!(
            b.get_lookup("clay", "company-1.com").unwrap().unwrap().status,
            LookupStatus::Hit
        );
        b.set_cursor("hubspot", "p", "c", "v", UnixMillis(1)).unwrap();
        assert_eq!(a.get_cursor("hubspot", "p", "c").unwrap().as_deref(), Some("v"));
    }

    fn concurrent_writers_wait_for_each_other(state) {
        drop(state.open());
        let writers: Vec<_> = ["clay", "clearbit"]
            .into_iter()
            .map(|provider| {
                let location = state.location.clone();
                std::thread::spawn(move || {
                    let mut store = Store::open(&location).unwrap();
                    for i in 0..300 {
                        store.put_lookup(&hit(provider, i)).unwrap();
                        // Both writers also hit the same ledger row and cursor.
                        store.set_cursor("hubspot", "p", "shared", provider, UnixMillis(i)).unwrap();
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        let store = state.open();
        let keys: Vec<String> = (0..300).map(|i| format!("company-{i}.com")).collect();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        for provider in ["clay", "clearbit"] {
            assert_eq!(store.get_lookups(provider, &keys).unwrap().len(), 300, "{provider}");
        }
    }

    // ---- processes killed ----

    fn a_lock_held_by_another_process_names_it_and_is_released_when_it_is_killed(state) {
        let mut holding = spawn_child(&state.location, "hold");
        let store = state.open();
        let err = store.lock_for_run(&holder("firmo sync")).unwrap_err();
        match &err {
            StoreError::Locked { state: named, holder: Some(who) } => {
                assert_eq!(named, store.path());
                assert_eq!(who.pid, holding.id());
                assert_eq!(who.command, "firmo sync --crm hubspot");
            }
            other => panic!("expected Locked naming the child, got {other:?}"),
        }
        assert!(err.to_string().contains(&format!("pid {}", holding.id())), "{err}");

        // SIGKILL: no destructor runs; the kernel (SQLite) or the server, seeing the
        // connection close (PostgreSQL), drops the lock.
        holding.kill().unwrap();
        holding.wait().unwrap();
        state.wait_until_unlocked();
        let _lock = store.lock_for_run(&holder("firmo sync")).unwrap();
    }

    fn a_process_killed_mid_transaction_leaves_the_last_committed_state(state) {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["child", "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &state.location)
            .env(MODE_ENV, "abort-mid-transaction")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        assert!(!child.wait().unwrap().success(), "the child must have crashed");
        if state.backend == Backend::Sqlite {
            let wal = std::fs::metadata(state.dir().join("state.db-wal")).unwrap().len();
            assert!(wal > 1_000_000, "uncommitted pages reached the WAL ({wal} bytes)");
        }
        state.wait_until_unlocked();
        state.check_integrity();
        let store = state.open();
        let keys: Vec<String> = (0..30_000).map(|i| format!("company-{i}.com")).collect();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        let got = store.get_lookups("clearbit", &keys).unwrap();
        assert_eq!(got.len(), 100, "only the committed batch survives");
        let run = store.last_run("sync").unwrap().unwrap();
        assert_eq!(run.outcome, RunOutcome::Interrupted);
        assert_eq!(run.finished_at, None);
    }

    fn a_process_killed_at_any_commit_leaves_cache_and_ledger_in_step(state) {
        let mut running = spawn_child(&state.location, "commit-forever");
        running.kill().unwrap();
        running.wait().unwrap();
        // On PostgreSQL a COMMIT already sent may still land: wait for the session's end.
        state.wait_until_unlocked();
        state.check_integrity();
        let store = state.open();
        let run = store.last_run("sync").unwrap().unwrap();
        let keys: Vec<String> = (0..200_000).map(|i| format!("company-{i}.com")).collect();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        let cached = store.get_lookups("clay", &keys).unwrap();
        // Commits happen in key order, so the cached keys are exactly 0..cached.
        let n = cached.len();
        assert!((0..n).all(|i| cached.contains_key(&format!("company-{i}.com"))));
        assert_eq!(state.query_i64("SELECT count(*) FROM provider_cache") as usize, n);
        assert!(n > 50);
        assert_eq!(run.lookups, n as u64, "every cached answer was charged exactly once");
        assert!((run.credits - n as f64).abs() < 1e-9);
    }

    // ---- the run lock and read-only opening ----

    fn a_second_lock_is_refused_naming_the_holder_and_released_when_dropped(state) {
        let first = state.open();
        let held = first.lock_for_run(&holder("firmo sync --crm hubspot")).unwrap();
        let second = state.open();
        for store in [&first, &second] {
            let err = store.lock_for_run(&holder("firmo enrich")).unwrap_err();
            let StoreError::Locked { state: ref named, holder: Some(ref who) } = err else {
                panic!("expected Locked with a holder, got {err:?}");
            };
            assert_eq!(named, first.path());
            assert_eq!(who.command, "firmo sync --crm hubspot");
            assert_eq!(who.pid, std::process::id());
            let msg = err.to_string();
            assert!(msg.contains(&first.path().display().to_string()), "{msg}");
            assert!(msg.contains("`firmo sync --crm hubspot` (pid "), "{msg}");
            assert!(msg.contains("started 2025-11-24 16:00:00 UTC"), "{msg}");
            assert!(msg.contains("wait for it to finish"), "{msg}");
        }
        drop(held);
        let again = second.lock_for_run(&holder("firmo enrich")).unwrap();
        let err = first.lock_for_run(&holder("x")).unwrap_err();
        assert!(
            matches!(&err, StoreError::Locked { holder: Some(who), .. } if who.command == "firmo enrich"),
            "{err:?}"
        );
        drop(again);
    }

    fn portal_locks_exclude_the_same_portal_and_a_whole_state_run(state) {
        let a = state.open();
        let b = state.open();
        let command = |err: StoreError| match err {
            StoreError::Locked { holder: Some(who), .. } => who.command,
            other => panic!("expected Locked naming a holder, got {other:?}"),
        };
        let first = a.lock_portal("hubspot", "1", &holder("worker 1")).unwrap();
        let err = b.lock_portal("hubspot", "1", &holder("worker 2")).unwrap_err();
        assert_eq!(command(err), "worker 1");
        let err = a.lock_portal("hubspot", "1", &holder("worker 1 again")).unwrap_err();
        assert_eq!(command(err), "worker 1", "not re-entrant");
        let err = b.lock_for_run(&holder("firmo sync")).unwrap_err();
        assert_eq!(command(err), "worker 1", "a whole-state run waits for every portal");
        match state.backend {
            Backend::Postgres => {
                // Another portal runs beside the first.
                let second = b.lock_portal("hubspot", "2", &holder("worker 2")).unwrap();
                drop(first);
                let err = a.lock_for_run(&holder("firmo sync")).unwrap_err();
                assert_eq!(command(err), "worker 2");
                drop(second);
            }
            Backend::Sqlite => {
                // One file, one lock: every portal waits.
                let err = b.lock_portal("hubspot", "2", &holder("worker 2")).unwrap_err();
                assert_eq!(command(err), "worker 1");
                drop(first);
            }
        }
        let whole = b.lock_for_run(&holder("firmo sync")).unwrap();
        let err = a.lock_portal("hubspot", "3", &holder("worker 3")).unwrap_err();
        assert_eq!(command(err), "firmo sync");
        let err = b.lock_portal("hubspot", "3", &holder("worker 3")).unwrap_err();
        assert_eq!(command(err), "firmo sync", "the whole-state holder holds every portal");
        drop(whole);
        let _again = a.lock_portal("hubspot", "1", &holder("worker 1")).unwrap();
    }

    fn a_read_only_store_reads_while_a_run_holds_the_lock_and_writes(state) {
        let mut writer = state.open();
        writer
            .put_lookup(&LookupEntry::new("clearbit", "acme.com", UnixMillis(1), LookupStatus::Hit))
            .unwrap();
        let _lock = writer.lock_for_run(&holder("firmo sync")).unwrap();
        let run = writer.start_run(&RunStart::new("sync", UnixMillis(2))).unwrap();

        let reader = Store::open_read_only(&state.location).unwrap();
        assert!(reader.is_read_only());
        assert_eq!(
            reader.get_lookup("clearbit", "acme.com").unwrap().unwrap().status,
            LookupStatus::Hit
        );
        // The reader sees the running run's commits as they land, not a snapshot.
        writer
            .put_lookup_charged(
                &LookupEntry::new("clearbit", "new.com", UnixMillis(3), LookupStatus::Miss)
                    .charged(1.0),
                run,
            )
            .unwrap();
        let seen = reader.get_run(run).unwrap().unwrap();
        assert!((seen.credits - 1.0).abs() < f64::EPSILON);
        assert!(reader.get_lookup("clearbit", "new.com").unwrap().is_some());
        // A read-only command does not take the lock, and may not.
        assert!(matches!(
            reader.lock_for_run(&holder("report")),
            Err(StoreError::ReadOnly { .. })
        ));
    }

    fn writes_through_a_read_only_store_are_a_clear_error_and_change_nothing(state) {
        drop(state.open());
        let mut store = Store::open_read_only(&state.location).unwrap();
        let err = store.start_run(&RunStart::new("sync", UnixMillis(2))).unwrap_err();
        assert!(matches!(err, StoreError::ReadOnly { .. }), "{err:?}");
        assert!(
            err.to_string().contains(&format!(
                "{}: the state file was opened read-only",
                store.path().display()
            )),
            "{err}"
        );
        let err = store
            .put_lookup(&LookupEntry::new("clay", "a.com", UnixMillis(1), LookupStatus::Miss))
            .unwrap_err();
        assert!(matches!(err, StoreError::ReadOnly { .. }), "{err:?}");
        assert_eq!(store.list_runs(10).unwrap(), Vec::new());
        assert_eq!(state.query_i64("SELECT count(*) FROM runs"), 0);
        assert_eq!(state.query_i64("SELECT count(*) FROM provider_cache"), 0);
    }

    fn a_read_only_open_creates_and_migrates_nothing(state) {
        let err = Store::open_read_only(&state.location).unwrap_err();
        assert!(matches!(err, StoreError::Missing { .. }), "{err:?}");
        assert!(err.to_string().contains("there is no state file"), "{err}");

        drop(state.open());
        state.set_schema_version(SCHEMA_VERSION - 1);
        let err = Store::open_read_only(&state.location).unwrap_err();
        assert!(
            matches!(err, StoreError::Outdated { found, .. } if found == SCHEMA_VERSION - 1),
            "{err:?}"
        );
        assert!(err.to_string().contains("run a command that writes"), "{err}");
        // It stays outdated: the read-only open migrated nothing.
        let err = Store::open_read_only(&state.location).unwrap_err();
        assert!(matches!(err, StoreError::Outdated { .. }), "{err:?}");
    }
}

// ---- PostgreSQL only ----

/// A worker killed mid-lookup frees its keys the moment its connection ends: another run
/// takes them over without waiting for the lease to expire or anyone to clean up.
#[test]
fn a_killed_holders_leases_die_with_its_connection() {
    let Some(state) = support::State::postgres("a_killed_holders_leases_die_with_its_connection")
    else {
        return;
    };
    let mut a = state.open();
    let r1 = a.start_run(&RunStart::new("sync", UnixMillis(1))).unwrap();
    let key = vec!["x.com".to_owned()];
    let ask = vec![("x.com".to_owned(), None)];
    let (now, ttl) = (UnixMillis(1_000), std::time::Duration::from_hours(1));
    a.lease_lookups("clearbit", &ask, r1, now, ttl).unwrap();
    let mut b = state.open();
    let r2 = b.start_run(&RunStart::new("sync", UnixMillis(2))).unwrap();
    assert!(
        b.lease_lookups("clearbit", &ask, r2, now, ttl)
            .unwrap()
            .is_empty()
    );
    drop(a);
    // The server notices the closed socket asynchronously: wait for the backend to go
    // (a bounded wait on the server's own view, not a sleep standing in for it).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !b
        .leased_elsewhere("clearbit", &key, r2, now)
        .unwrap()
        .is_empty()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the dead backend's lease lives on"
        );
        std::thread::yield_now();
    }
    assert_eq!(
        b.lease_lookups("clearbit", &ask, r2, now, ttl).unwrap(),
        key
    );
}

/// The two schemas are the same tables with the same columns in the same order; only
/// the version bookkeeping and the lock's holder table are PostgreSQL's own.
#[test]
fn both_backends_have_the_same_tables_and_columns() {
    let Some(state) = support::State::postgres("both_backends_have_the_same_tables_and_columns")
    else {
        return;
    };
    drop(state.open());
    let sqlite_dir = tempfile::tempdir().unwrap();
    let sqlite_path = sqlite_dir.path().join("state.db");
    drop(Store::open(&sqlite_path).unwrap());
    let conn = rusqlite::Connection::open(&sqlite_path).unwrap();
    let mut sqlite: HashMap<String, Vec<String>> = HashMap::new();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for table in tables {
        let columns: Vec<String> = conn
            .prepare(&format!(
                "SELECT name FROM pragma_table_info('{table}') ORDER BY cid"
            ))
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        sqlite.insert(table, columns);
    }

    let url = support::postgres_url("schema").unwrap();
    let mut client = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
    let schema = state.location.rsplit("%3D").next().unwrap().to_owned();
    let mut pg: HashMap<String, Vec<String>> = HashMap::new();
    for row in client
        .query(
            "SELECT table_name::text, column_name::text FROM information_schema.columns \
             WHERE table_schema = $1 ORDER BY table_name, ordinal_position",
            &[&schema],
        )
        .unwrap()
    {
        pg.entry(row.get(0)).or_default().push(row.get(1));
    }
    for own in ["firmo_schema", "firmo_run_locks"] {
        assert!(pg.remove(own).is_some(), "{own}");
    }
    assert_eq!(pg, sqlite);
    assert_eq!(sqlite.len(), 10, "{sqlite:?}");
}

#[test]
fn a_password_never_reaches_an_error() {
    // A closed local port: the connection is refused, and the message says where.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("postgres://firmo:hunter2@127.0.0.1:{port}/firmo?connect_timeout=5");
    let err = Store::open(&url).unwrap_err();
    let msg = format!("{err} {err:?}");
    assert!(!msg.contains("hunter2"), "{msg}");
    assert!(
        err.to_string().starts_with(&format!(
            "opening postgres://firmo:***@127.0.0.1:{port}/firmo"
        )),
        "{err}"
    );
    assert!(
        err.to_string().contains("error connecting to server"),
        "{err}"
    );
    assert_eq!(
        firmo_store::display_location(std::path::Path::new(&url)),
        format!("postgres://firmo:***@127.0.0.1:{port}/firmo?connect_timeout=5")
    );
}

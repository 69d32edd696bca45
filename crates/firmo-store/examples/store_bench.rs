//! Rough throughput of the store on a temp file: `cargo run --release -p firmo-store
//! --example store_bench`. Prints lookups (or entries) per second for the engine's
//! main write and read patterns. With `FIRMO_TEST_POSTGRES` set (`scripts/pg.sh cargo run
//! …` sets it) the same patterns run on PostgreSQL too, each in a fresh schema.

use std::io::Write;
use std::time::Instant;

use firmo_core::{Field, ProviderRecord, Source, UnixMillis, Value};
use firmo_store::{
    Durability, JournalEntry, LookupEntry, RunStart, Store, StoreError, StoreOptions,
};

const N: i64 = 10_000;

fn entry(i: i64) -> LookupEntry {
    let record = ProviderRecord::new(Source::Clearbit, UnixMillis(i))
        .with(Field::Headcount, Some(Value::Integer(10 + i)))
        .with(Field::Industry, Some(Value::Text("software".into())))
        .with(
            Field::TechStack,
            Some(Value::TextList(vec!["AWS".into(), "Stripe".into()])),
        );
    LookupEntry::hit(
        "clearbit",
        format!("company-{i}.com"),
        UnixMillis(i),
        vec![record],
    )
    .charged(1.0)
}

fn rate(count: i64, started: Instant) -> String {
    let secs = started.elapsed().as_secs_f64();
    format!(
        "{:>10.0}/s ({count} in {:.1} ms)",
        count as f64 / secs,
        secs * 1e3
    )
}

fn main() -> Result<(), StoreError> {
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut out = std::io::stdout().lock();
    let entries: Vec<LookupEntry> = (0..N).map(entry).collect();
    let keys: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();

    let postgres = std::env::var("FIRMO_TEST_POSTGRES").ok();
    let mut targets = vec![("sqlite", None)];
    if let Some(url) = &postgres {
        targets.push(("postgres", Some(url.as_str())));
    }
    for (backend, url) in targets {
        for durability in [Durability::Full, Durability::Normal] {
            let options = StoreOptions {
                durability,
                ..StoreOptions::default()
            };
            let location = match url {
                None => dir
                    .path()
                    .join(format!("{durability:?}.db"))
                    .display()
                    .to_string(),
                Some(url) => fresh_schema(url, &format!("bench_{durability:?}").to_lowercase()),
            };
            let mut store = Store::open_with(&location, &options)?;
            let label = format!("{backend} {durability:?}");
            patterns(&mut store, &label, &entries, &keys, &mut out)?;
        }
    }
    Ok(())
}

/// A new empty schema on the server at `url`; the URL that puts the store in it.
fn fresh_schema(url: &str, name: &str) -> String {
    let mut admin = postgres::Client::connect(url, postgres::NoTls).expect("the server answers");
    admin
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
        ))
        .expect("a fresh schema");
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-csearch_path%3D{name}")
}

fn patterns(
    store: &mut Store,
    durability: &str,
    entries: &[LookupEntry],
    keys: &[&str],
    out: &mut impl Write,
) -> Result<(), StoreError> {
    {
        let t = Instant::now();
        store.put_lookups(entries)?;
        writeln!(
            out,
            "{durability}: put_lookups, one transaction     {}",
            rate(N, t)
        )
        .ok();

        let t = Instant::now();
        for e in &entries[..1_000] {
            store.put_lookup(e)?;
        }
        writeln!(
            out,
            "{durability}: put_lookup, one commit each      {}",
            rate(1_000, t)
        )
        .ok();

        let t = Instant::now();
        for chunk in entries.chunks(100) {
            store.put_lookups(chunk)?;
        }
        writeln!(
            out,
            "{durability}: put_lookups, commits of 100      {}",
            rate(N, t)
        )
        .ok();

        let t = Instant::now();
        let got = store.get_lookups("clearbit", keys)?;
        assert_eq!(got.len(), keys.len());
        writeln!(
            out,
            "{durability}: get_lookups                      {}",
            rate(N, t)
        )
        .ok();

        let run = store.start_run(&RunStart::new("sync", UnixMillis(0)))?;
        let journal: Vec<JournalEntry> = (0..N)
            .flat_map(|i| {
                ["firmo_industry", "firmo_headcount", "firmo_tech_stack"].map(|property| {
                    JournalEntry {
                        crm: "hubspot".into(),
                        portal: "p1".into(),
                        record_id: i.to_string(),
                        property: property.into(),
                        value: "x".into(),
                        written_at: UnixMillis(i),
                    }
                })
            })
            .collect();
        let t = Instant::now();
        store.record_writes(run, &journal)?;
        writeln!(
            out,
            "{durability}: record_writes, one transaction   {}",
            rate(journal.len() as i64, t)
        )
        .ok();

        let ids: Vec<String> = (0..N).map(|i| i.to_string()).collect();
        let t = Instant::now();
        for chunk in ids.chunks(100) {
            let chunk: Vec<&str> = chunk.iter().map(String::as_str).collect();
            assert_eq!(
                store.last_writes("hubspot", "p1", &chunk)?.len(),
                chunk.len() * 3
            );
        }
        writeln!(
            out,
            "{durability}: last_writes, 100 ids a call     {}",
            rate(N, t)
        )
        .ok();
    }
    Ok(())
}

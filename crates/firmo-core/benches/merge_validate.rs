//! Merge + validate throughput over realistic companies: five provider records each
//! (Clay, Clearbit, BuiltWith, Crunchbase, LinkedIn via Clay) with the values real
//! providers send, some disagreeing, some missing.
//!
//! `cargo bench -p firmo-core --bench merge_validate`; throughput is in companies
//! (merged records) per second. A company has 4-5 provider records, so provider records
//! per second are about 4.8 times that.
//!
//! Two groups run the same work: `merge_validate` measures wall time (criterion's
//! default), `merge_validate_cpu` the benchmark thread's CPU time (Linux
//! `/proc/thread-self/schedstat`, tick-granular, so samples are long). On a shared machine
//! where other processes take the cores, wall time measures the neighbours; CPU time is
//! the cost of the code.
#![allow(
    clippy::disallowed_methods,
    reason = "the CPU-time clock is read from /proc"
)]

use std::hint::black_box;

use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use firmo_core::{
    CoreConfig, Date, Evaluation, ExecChange, Field, MergeConfig, MergedRecord, ProviderRecord,
    SignalConfig, Source, UnixMillis, ValidationContext, Value, compute_signals, evaluate_into,
    merge, merge::merge_into, validate_record,
};

/// A small deterministic generator (no dependency, same data every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const INDUSTRIES: &[&str] = &[
    "Software",
    "Financial Services",
    "Retail",
    "Health Care",
    "Logistics",
    "Biotechnology",
];
const TECH: &[&str] = &[
    "AWS",
    "React",
    "Google Analytics",
    "Stripe",
    "Segment",
    "HubSpot",
    "Cloudflare",
    "Kubernetes",
    "Datadog",
    "Snowflake",
    "Node.js",
    "PostgreSQL",
    "Intercom",
    "Zendesk",
    "Google Cloud",
    "Vercel",
];
const STAGES: &[&str] = &[
    "seed",
    "series_a",
    "series_b",
    "series_c",
    "series_unknown",
    "public",
];
const BUCKETS: &[&str] = &["1m_10m", "10m_50m", "50m_100m", "100m_250m"];

fn list(rng: &mut Lcg, n: usize) -> Value {
    Value::TextList(
        (0..n)
            .map(|_| rng.pick(TECH).to_owned())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect(),
    )
}

fn company(rng: &mut Lcg) -> Vec<ProviderRecord> {
    let at = |rng: &mut Lcg| UnixMillis(1_760_000_000_000 + rng.below(5_000_000_000) as i64);
    let headcount = 10 + rng.below(3000) as i64;
    let jitter =
        |rng: &mut Lcg| headcount + rng.below(headcount as u64 / 2 + 1) as i64 - headcount / 4;
    let date = Date::new(
        2022 + rng.below(4) as i32,
        1 + rng.below(12) as u8,
        1 + rng.below(28) as u8,
    );
    let industry = Value::Text(rng.pick(INDUSTRIES).to_owned());
    let mut records = vec![
        ProviderRecord::new(Source::Clay, at(rng))
            .with(Field::Industry, Some(industry.clone()))
            .with(Field::Headcount, Some(Value::Integer(jitter(rng))))
            .with(Field::TechStack, Some(list(rng, 6)))
            .with(
                Field::FundingStage,
                Some(Value::Text(rng.pick(STAGES).to_owned())),
            ),
        ProviderRecord::new(Source::Clearbit, at(rng))
            .with(Field::Industry, Some(industry))
            .with(Field::Headcount, Some(Value::Integer(jitter(rng))))
            .with(
                Field::RevenueRange,
                Some(Value::Text(rng.pick(BUCKETS).to_owned())),
            ),
        ProviderRecord::new(Source::BuiltWith, at(rng)).with(Field::TechStack, Some(list(rng, 12))),
        ProviderRecord::new(Source::Crunchbase, at(rng))
            .with(
                Field::FundingStage,
                Some(Value::Text(rng.pick(STAGES).to_owned())),
            )
            .with(Field::LastFundingDate, date.map(Value::Date))
            .with(
                Field::LastFundingAmount,
                Some(Value::Integer(rng.below(100_000_000) as i64)),
            ),
    ];
    // LinkedIn data comes through Clay for most companies, not all.
    if rng.below(5) != 0 {
        let mut linkedin = ProviderRecord::new(Source::LinkedIn, at(rng))
            .with(Field::Headcount, Some(Value::Integer(jitter(rng))))
            .with(
                Field::EmployeeGrowth6mo,
                Some(Value::Decimal(rng.below(600) as f64 / 10.0 - 10.0)),
            )
            .with(
                Field::RecentJobPostings,
                Some(Value::Integer(rng.below(120) as i64)),
            );
        if rng.below(10) == 0 {
            linkedin.exec_changes.push(ExecChange {
                title: "VP of Engineering".into(),
                date: Date::new(2026, 10, 1).unwrap(),
            });
        }
        records.push(linkedin);
    }
    records
}

/// This thread's time on a CPU, in nanoseconds, if the kernel tells.
fn thread_cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

/// Criterion measurement of the benchmark thread's CPU time.
struct ThreadCpuTime;

impl Measurement for ThreadCpuTime {
    type Intermediate = u64;
    type Value = u64;
    fn start(&self) -> u64 {
        thread_cpu_ns().unwrap_or(0)
    }
    fn end(&self, start: u64) -> u64 {
        thread_cpu_ns().unwrap_or(0).saturating_sub(start)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, value: &u64) -> f64 {
        *value as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &CpuFormatter
    }
}

struct CpuFormatter;

impl ValueFormatter for CpuFormatter {
    fn scale_values(&self, typical: f64, values: &mut [f64]) -> &'static str {
        let (factor, unit) = match typical {
            t if t < 1e3 => (1.0, "ns cpu"),
            t if t < 1e6 => (1e-3, "µs cpu"),
            t if t < 1e9 => (1e-6, "ms cpu"),
            _ => (1e-9, "s cpu"),
        };
        for v in values.iter_mut() {
            *v *= factor;
        }
        unit
    }
    fn scale_throughputs(
        &self,
        typical: f64,
        throughput: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        let per_run = match *throughput {
            Throughput::Elements(n)
            | Throughput::ElementsAndBytes { elements: n, .. }
            | Throughput::Bytes(n)
            | Throughput::BytesDecimal(n)
            | Throughput::Bits(n) => n as f64,
        };
        let rate = per_run * 1e9 / typical;
        let (factor, unit) = if rate < 1e6 {
            (1e-3, "Kelem/s cpu")
        } else {
            (1e-6, "Melem/s cpu")
        };
        for v in values.iter_mut() {
            *v = per_run * 1e9 / *v * factor;
        }
        unit
    }
    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

fn bench_wall(c: &mut Criterion<WallTime>) {
    bench(c, "merge_validate");
}

fn bench_cpu(c: &mut Criterion<ThreadCpuTime>) {
    if thread_cpu_ns().is_some() {
        bench(c, "merge_validate_cpu");
    }
}

/// Companies per batch: a sync merges each company right after its records arrive, so
/// the batch is kept small enough to stay in cache, as it would be there.
const COMPANIES: usize = 100;

fn bench<M: Measurement>(c: &mut Criterion<M>, name: &str) {
    let mut rng = Lcg(42);
    let companies: Vec<Vec<ProviderRecord>> = (0..COMPANIES).map(|_| company(&mut rng)).collect();
    let config = MergeConfig::default();
    let ctx = ValidationContext::new(Date::new(2026, 11, 26).unwrap());
    let signals = SignalConfig::default();

    let mut group = c.benchmark_group(name);
    // Equal samples: the CPU-time clock ticks in milliseconds, so no sample may be short.
    group.sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Elements(companies.len() as u64));
    group.bench_function("merge", |b| {
        b.iter(|| {
            for records in &companies {
                black_box(merge(black_box(records), &config));
            }
        });
    });
    let merged: Vec<_> = companies.iter().map(|r| merge(r, &config)).collect();
    group.bench_function("validate", |b| {
        b.iter(|| {
            for record in &merged {
                black_box(validate_record(black_box(record), &ctx));
            }
        });
    });
    group.bench_function("merge+validate", |b| {
        b.iter(|| {
            for records in &companies {
                let record = merge(black_box(records), &config);
                black_box(validate_record(&record, &ctx));
            }
        });
    });
    // The engine's loop: one merged record reused company after company.
    group.bench_function("merge_into+validate", |b| {
        let mut record = MergedRecord::default();
        b.iter(|| {
            for records in &companies {
                merge_into(black_box(records), &config, &mut record);
                black_box(validate_record(&record, &ctx));
            }
        });
    });
    group.bench_function("merge+validate+signals", |b| {
        b.iter(|| {
            for records in &companies {
                let record = merge(black_box(records), &config);
                black_box(validate_record(&record, &ctx));
                let changes = records.last().map_or(&[][..], |r| &r.exec_changes[..]);
                black_box(compute_signals(&record, changes, ctx.today, &signals));
            }
        });
    });
    // The one composition a sync runs (`firmo_core::evaluate`), buffers reused.
    group.bench_function("evaluate_into", |b| {
        let core = CoreConfig::default();
        let mut out = Evaluation::default();
        b.iter(|| {
            for records in &companies {
                evaluate_into(black_box(records), &core, ctx.today, &mut out);
                black_box(&out);
            }
        });
    });
    group.finish();
}

criterion_group!(benches, bench_wall);
criterion_group! {
    name = benches_cpu;
    config = Criterion::default()
        .with_measurement(ThreadCpuTime)
        .measurement_time(Duration::from_secs(10));
    targets = bench_cpu
}
criterion_main!(benches, benches_cpu);

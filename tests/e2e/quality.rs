//! Data quality end to end: a sample for a reviewer, the test playing the reviewer from
//! the emulators' known truth (the synthetic profile behind each domain), the import, and
//! the measured accuracy per source against the true rate; a person's edit in the CRM as
//! a correction; the sources document's numbers against the store.

use std::collections::BTreeMap;

use firmo_core::{Date, Source};
use firmo_engine::quality::{self, QualityReport};
use firmo_sandbox::emulators::synth;
use firmo_store::Store;

use crate::support::{Sandbox, Workspace, firmo, prop, sync};

/// A reviewer calls a headcount right when it is within 10 % of the company's true
/// headcount: LinkedIn's member count (what a person checks against) is within 7 % of
/// it, and a wrong Clearbit figure is at least 30 % off.
fn headcount_is_true(domain: &str, today: Date, value: i64) -> bool {
    let truth = i64::from(synth::profile(domain, today).headcount);
    (value - truth).abs() * 10 <= truth
}

fn state_arg(ws: &Workspace) -> String {
    ws.state().display().to_string()
}

fn newest_run(ws: &Workspace) -> i64 {
    let store = Store::open_read_only(ws.state()).unwrap();
    store.list_runs(1).unwrap()[0].id.0
}

fn measure(ws: &Workspace, run: i64, today: Date) -> QualityReport {
    let store = Store::open_read_only(ws.state()).unwrap();
    quality::measure(&store, run, today).unwrap()
}

fn headcount_source<'a>(report: &'a QualityReport, source: &str) -> &'a quality::SourceQuality {
    report
        .fields
        .iter()
        .find(|f| f.field == "headcount")
        .and_then(|f| f.sources.iter().find(|s| s.source == source))
        .unwrap_or_else(|| panic!("no headcount entry for {source}"))
}

/// The winning source of `field` on a company, from the `firmo_sources` firmo wrote.
fn written_source(sources: &str, field: &str) -> Option<String> {
    sources
        .split(';')
        .filter_map(|pair| pair.split_once('='))
        .find(|(f, _)| *f == field)
        .map(|(_, s)| s.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spot_checks_measure_each_source_s_accuracy_within_an_interval_holding_the_true_rate() {
    let settings = Sandbox::emulators();
    let today = settings.today;
    let sb = Sandbox::start_with(150, settings).await;
    let ws = Workspace::new();
    sync(&ws, &sb, &[]).await.expect_code(0);

    // The true rate per source, over every company firmo wrote a headcount to.
    let mut truth: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for c in sb.companies() {
        let (Some(domain), Some(value), Some(sources)) = (
            prop(&c, "domain"),
            prop(&c, "firmo_headcount"),
            prop(&c, "firmo_sources"),
        ) else {
            continue;
        };
        let source = written_source(sources, "headcount").expect("a headcount source");
        let value: i64 = value.parse().unwrap();
        let domain = synth::normalize_domain(domain).unwrap();
        let entry = truth.entry(source).or_default();
        entry.0 += 1;
        entry.1 += u64::from(headcount_is_true(&domain, today, value));
    }
    assert!(
        truth.len() >= 2,
        "several sources won headcounts: {truth:?}"
    );

    let sheet = ws.path("sample.csv");
    let sheet_arg = sheet.display().to_string();
    let state = state_arg(&ws);
    let sample = [
        "--state",
        &state,
        "spot-check",
        "sample",
        "--field",
        "headcount",
        "--n",
        "60",
        "--seed",
        "7",
        "--output",
        &sheet_arg,
    ];
    let out = firmo(&ws, &sample).await;
    out.expect_code(0);
    assert!(
        out.stdout.contains("wrote 60 headcount values"),
        "{}",
        out.stdout
    );
    let first = std::fs::read_to_string(&sheet).unwrap();
    firmo(&ws, &sample).await.expect_code(0);
    assert_eq!(
        std::fs::read_to_string(&sheet).unwrap(),
        first,
        "the same seed draws the same sample"
    );

    // Play the reviewer: every row judged from the profile behind its domain.
    let mut reader = csv::Reader::from_path(&sheet).unwrap();
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let mut reviewed = csv::Writer::from_path(ws.path("reviewed.csv")).unwrap();
    reviewed.write_record(&headers).unwrap();
    let mut sampled: BTreeMap<String, u64> = BTreeMap::new();
    for row in reader.records() {
        let row = row.unwrap();
        let value: i64 = row[col("value")].parse().unwrap();
        assert!(row[col("website")].starts_with("https://"), "{row:?}");
        assert!(
            row[col("linkedin")].starts_with("https://www.linkedin.com/"),
            "{row:?}"
        );
        assert!(
            row[col("verdict")].is_empty(),
            "the verdict is the reviewer's"
        );
        *sampled.entry(row[col("source")].to_owned()).or_default() += 1;
        let right = headcount_is_true(&row[col("domain")], today, value);
        let mut cells: Vec<String> = row.iter().map(str::to_owned).collect();
        cells[col("verdict")] = if right { "correct" } else { "wrong" }.to_owned();
        reviewed.write_record(&cells).unwrap();
    }
    reviewed.flush().unwrap();
    drop(reviewed);
    // Stratified: each source's share of the sample is its share of the population.
    let population: u64 = truth.values().map(|t| t.0).sum();
    for (source, n) in &sampled {
        let expected = truth[source].0 as f64 * 60.0 / population as f64;
        assert!(
            (*n as f64 - expected).abs() <= 1.5,
            "{source}: {n} of 60, {expected:.1}"
        );
    }

    let reviewed_arg = ws.path("reviewed.csv").display().to_string();
    let out = firmo(
        &ws,
        &["--state", &state, "spot-check", "import", &reviewed_arg],
    )
    .await;
    out.expect_code(0);
    assert!(
        out.stdout.starts_with("imported 60 verdicts"),
        "{}",
        out.stdout
    );

    let report = measure(&ws, newest_run(&ws), today);
    let headcount = report
        .fields
        .iter()
        .find(|f| f.field == "headcount")
        .unwrap();
    let all = headcount
        .accuracy
        .as_ref()
        .expect("accuracy once verdicts are in");
    assert_eq!(all.n, 60);
    assert_eq!(all.sampled_on, today);
    for (source, (n, right)) in &truth {
        let true_rate = *right as f64 / *n as f64;
        let measured = headcount_source(&report, source);
        let a = measured
            .accuracy
            .as_ref()
            .expect("every winning source was sampled");
        assert_eq!(a.n, sampled[source]);
        assert!(
            a.low <= true_rate && true_rate <= a.high,
            "{source}: true rate {true_rate:.3} outside [{:.3}, {:.3}] (n {})",
            a.low,
            a.high,
            a.n
        );
    }
    let coverage = headcount.coverage;
    assert!((headcount.usable.unwrap() - coverage * all.rate).abs() < 1e-9);
    let text = quality::render_text(&report);
    assert!(
        text.contains(&format!("{:.0} % covered", coverage * 100.0)),
        "{text}"
    );
    assert!(text.contains("usable"), "{text}");

    // A bad sheet: its lines are named, the good rows still count.
    let bad = ws.write(
        "bad.csv",
        &format!(
            "{}\n{}\n",
            "run,account_id,field,value,source,verdict",
            "1,no-such-account,headcount,5,clay,correct"
        ),
    );
    let bad_arg = bad.display().to_string();
    let out = firmo(&ws, &["--state", &state, "spot-check", "import", &bad_arg]).await;
    out.expect_code(1);
    assert!(
        out.stdout
            .contains("line 2: unknown account `no-such-account` in run 1"),
        "{}",
        out.stdout
    );
    let binary = ws.path("photo.png");
    std::fs::write(&binary, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").unwrap();
    let binary_arg = binary.display().to_string();
    let out = firmo(
        &ws,
        &["--state", &state, "spot-check", "import", &binary_arg],
    )
    .await;
    out.expect_code(2);
    assert!(out.stderr.contains("not a CSV text file"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_s_edit_in_the_crm_raises_the_correction_rate() {
    let settings = Sandbox::emulators();
    let today = settings.today;
    let sb = Sandbox::start_with(30, settings).await;
    let ws = Workspace::new();
    sync(&ws, &sb, &[]).await.expect_code(0);
    let first = measure(&ws, newest_run(&ws), today);

    let target = sb
        .companies()
        .into_iter()
        .find(|c| {
            prop(c, "firmo_sources")
                .and_then(|s| written_source(s, "headcount"))
                .is_some_and(|s| s == "clay")
        })
        .expect("Clay won some headcount");
    let before = headcount_source(&first, "clay").corrections;
    assert!(before.written > 0, "{before:?}");
    assert_eq!(before.corrected, 0, "nobody has edited anything yet");

    let ours: i64 = prop(&target, "firmo_headcount").unwrap().parse().unwrap();
    sb.edit_company(
        &target.id,
        serde_json::json!({ "firmo_headcount": (ours + 321).to_string() }),
    )
    .await;
    sync(&ws, &sb, &["--full"]).await.expect_code(0);
    let second = measure(&ws, newest_run(&ws), today);
    let after = headcount_source(&second, "clay").corrections;
    assert_eq!(after.corrected, 1, "{after:?}");
    assert_eq!(after.written, before.written);
    assert!(after.rate > before.rate);
    // Other fields and sources saw no edit.
    for f in &second.fields {
        for s in &f.sources {
            if (f.field.as_str(), s.source.as_str()) != ("headcount", "clay") {
                assert_eq!(s.corrections.corrected, 0, "{} {}", f.field, s.source);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sources_document_states_the_store_s_numbers() {
    let settings = Sandbox::emulators();
    let today = settings.today;
    let sb = Sandbox::start_with(40, settings).await;
    let ws = Workspace::new();
    sync(&ws, &sb, &[]).await.expect_code(0);
    let state = state_arg(&ws);
    let doc_path = ws.path("SOURCES.md");
    let doc_arg = doc_path.display().to_string();
    let out = firmo(
        &ws,
        &["--state", &state, "report", "--sources-md", &doc_arg],
    )
    .await;
    out.expect_code(0);
    let doc = std::fs::read_to_string(&doc_path).unwrap();
    assert!(doc.starts_with("# Enrichment Data Sources\n"), "{doc}");

    let store = Store::open_read_only(ws.state()).unwrap();
    let run = store.list_runs(1).unwrap().remove(0);
    let accounts = store.merged_for_run(run.id).unwrap().len();
    assert!(
        doc.contains(&format!(
            "from run {} ({}, {accounts} accounts)",
            run.id, run.kind
        )),
        "{doc}"
    );
    // Credits: the ledger's, per provider, for the run (the whole month here).
    let spent: BTreeMap<String, f64> = store
        .credits_for_run(run.id)
        .unwrap()
        .into_iter()
        .map(|s| (s.provider, s.credits))
        .collect();
    assert!(!spent.is_empty());
    for source in [
        Source::Clay,
        Source::Clearbit,
        Source::BuiltWith,
        Source::Crunchbase,
    ] {
        let credits = spent.get(source.name()).copied().unwrap_or(0.0);
        let section = doc
            .split(&format!("\n## {}\n", source.label()))
            .nth(1)
            .unwrap_or_else(|| panic!("no section for {source}: {doc}"));
        assert!(
            section.contains(&format!(
                "- **Spend this month:** {credits:.1} credits since"
            )),
            "{source}: {credits} credits\n{section}"
        );
        assert!(
            section.contains(&format!("- **Last updated:** {today}")),
            "{section}"
        );
    }
    // Coverage: the share of accounts whose headcount came from each source, counted
    // from what the CRM holds.
    let companies = sb.companies();
    let clay_won = companies
        .iter()
        .filter(|c| {
            prop(c, "firmo_sources")
                .and_then(|s| written_source(s, "headcount"))
                .is_some_and(|s| s == "clay")
        })
        .count();
    let share = format!("{:.0} %", clay_won as f64 * 100.0 / accounts as f64);
    let clay = doc.split("\n## Clay\n").nth(1).unwrap();
    assert!(
        clay.contains(&format!("`headcount`: source 1 of 3; {share} of accounts")),
        "{share}\n{clay}"
    );
    assert!(
        clay.contains("not measured yet") || clay.contains("values firmo wrote"),
        "{clay}"
    );
}

//! `firmo enrich`: the CSV path gives the CRM path's values, and bad input is reported
//! clearly (by column or by line).

use std::collections::BTreeMap;

use firmo_sandbox::Company;

use crate::support::{Sandbox, Workspace, firmo, prop, sync, with_domain};

/// Columns of the enriched CSV that are not CRM properties.
const CSV_ONLY: [&str; 2] = ["firmo_status", "firmo_findings"];

/// `account_id,account_name,domain` for these companies, as a CRM export has it.
fn export(companies: &[&Company]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["account_id", "account_name", "domain"])
        .unwrap();
    for c in companies {
        w.write_record([
            c.id.as_str(),
            prop(c, "name").unwrap_or_default(),
            prop(c, "domain").unwrap_or_default(),
        ])
        .unwrap();
    }
    String::from_utf8(w.into_inner().unwrap()).unwrap()
}

/// The output CSV as rows of column → cell.
fn read_output(path: &std::path::Path) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(path).expect("the output CSV exists");
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|row| {
            let row = row.expect("a well-formed output row");
            headers
                .iter()
                .zip(row.iter())
                .map(|(h, v)| (h.to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_csv_path_gives_the_crm_paths_values() {
    let sb = Sandbox::start(40).await;
    let ws = Workspace::new();
    sync(&ws, &sb, &[]).await.expect_code(0);
    let companies = sb.companies();
    let providers = sb.provider_requests();

    let input = ws.write(
        "accounts.csv",
        &export(&companies.iter().collect::<Vec<_>>()),
    );
    let output = ws.path("enriched.csv");
    let (input_arg, output_arg) = (input.display().to_string(), output.display().to_string());
    let state = ws.state().display().to_string();
    let url = sb.url();
    let out = firmo(
        &ws,
        &[
            "--state",
            &state,
            "--json",
            "enrich",
            "--sandbox-url",
            &url,
            "--input",
            &input_arg,
            "--output",
            &output_arg,
        ],
    )
    .await;
    out.expect_code(0);
    let json = out.json();
    assert_eq!(json["rows"], companies.len());
    // The same state file: every answer comes from the cache.
    assert_eq!(sb.provider_requests(), providers, "the CSV path paid again");
    for (name, p) in json["providers"].as_object().unwrap() {
        assert_eq!(p["credits"].as_f64(), Some(0.0), "{name}: {p}");
    }

    let rows = read_output(&output);
    assert_eq!(rows.len(), companies.len());
    let columns: Vec<&String> = rows[0]
        .keys()
        .filter(|k| k.starts_with("firmo_") && !CSV_ONLY.contains(&k.as_str()))
        .collect();
    for name in [
        "firmo_headcount",
        "firmo_industry",
        "firmo_tech_stack",
        "firmo_sources",
    ] {
        assert!(
            columns.iter().any(|c| *c == name),
            "no {name} column: {columns:?}"
        );
    }
    let mut compared = 0;
    for (row, company) in rows.iter().zip(&companies) {
        assert_eq!(row["account_id"], company.id, "rows keep the input order");
        for column in &columns {
            let crm = prop(company, column).unwrap_or_default();
            assert_eq!(
                row[*column], crm,
                "{} {column}: CSV {:?}, CRM {crm:?}",
                company.id, row[*column]
            );
            if !crm.is_empty() {
                compared += 1;
            }
        }
        if prop(company, "domain").is_none() {
            assert!(row["firmo_status"].starts_with("skipped"), "{row:?}");
        }
    }
    assert!(
        compared >= with_domain(&companies).len() * 5,
        "only {compared} values compared"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_csv_input_is_reported_by_column_and_by_line() {
    let sb = Sandbox::start(20).await;
    let ws = Workspace::new();
    let url = sb.url();
    let state = ws.state().display().to_string();
    let output = ws.path("out.csv");
    let output_arg = output.display().to_string();

    // No `domain` column: nothing can be done, and the message says what is missing.
    let input = ws.write(
        "no-domain.csv",
        "account_id,account_name,website\n1,Acme,acme.com\n",
    );
    let input_arg = input.display().to_string();
    let out = firmo(
        &ws,
        &[
            "--state",
            &state,
            "enrich",
            "--sandbox-url",
            &url,
            "--input",
            &input_arg,
            "--output",
            &output_arg,
        ],
    )
    .await;
    out.expect_code(2);
    assert!(out.stderr.contains("`domain`"), "{}", out.stderr);
    assert!(out.stderr.contains(&input_arg), "{}", out.stderr);
    assert!(!output.exists(), "an output was written for unusable input");
    assert_eq!(
        sb.stats().total_requests,
        0,
        "the CRM or a provider was called"
    );

    // A short row (line 3) and an empty account_id (line 5): named by line, the rest enriched.
    let companies = sb.companies();
    let good: Vec<&Company> = with_domain(&companies).into_iter().take(3).collect();
    let line = |c: &Company| {
        format!(
            "{},{},{}\n",
            c.id,
            prop(c, "name").unwrap(),
            prop(c, "domain").unwrap()
        )
    };
    let text = format!(
        "account_id,account_name,domain\n{}9999,Short Row\n{}{}",
        line(good[0]),
        line(good[1]) + ",Nameless,nameless.example\n",
        line(good[2])
    );
    let input = ws.write("rows.csv", &text);
    let input_arg = input.display().to_string();
    let out = firmo(
        &ws,
        &[
            "--state",
            &state,
            "enrich",
            "--sandbox-url",
            &url,
            "--input",
            &input_arg,
            "--output",
            &output_arg,
        ],
    )
    .await;
    out.expect_code(1);
    let report = format!("{}{}", out.stdout, out.stderr);
    for (line_no, what) in [(3, "fields"), (5, "empty account_id")] {
        assert!(
            report
                .lines()
                .any(|l| l.contains(&format!("{input_arg}: line {line_no}:")) && l.contains(what)),
            "line {line_no} ({what}) is not reported:\n{report}"
        );
    }
    let rows = read_output(&output);
    let ids: Vec<&str> = rows.iter().map(|r| r["account_id"].as_str()).collect();
    let want: Vec<&str> = good.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids, want,
        "the readable rows are enriched, the others left out"
    );
    for row in &rows {
        assert_eq!(row["firmo_status"], "enriched", "{row:?}");
        assert!(!row["firmo_headcount"].is_empty() || !row["firmo_industry"].is_empty());
    }
}

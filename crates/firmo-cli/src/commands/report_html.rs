//! `firmo report --html`: one self-contained page (no network, no CDN). The report's data
//! is embedded as JSON and a small inline script draws the charts and tables from it, so
//! the page shows exactly what `--json` says; the page's test runs in headless Chromium
//! (`tests/report-html/`).

use firmo_store::{OutcomeCounts, RunOutcome};
use serde::Serialize;

use super::{AccountRow, Latest, Report, TrendPoint};

const TEMPLATE: &str = include_str!("../../assets/report.html");
const STYLE: &str = include_str!("../../assets/report.css");
const SCRIPT: &str = include_str!("../../assets/report.js");

/// What the page embeds: the report without each run's config and full summary, which
/// the page doesn't show and which would make it many times larger.
#[derive(Serialize)]
struct PageData<'a> {
    runs: Vec<PageRun<'a>>,
    latest: Option<&'a Latest>,
    trend: &'a [TrendPoint],
    accounts: &'a [AccountRow],
    accounts_total: usize,
    quality: Option<&'a serde_json::Value>,
}

#[derive(Serialize)]
struct PageRun<'a> {
    id: i64,
    kind: &'a str,
    started_at: String,
    dry_run: bool,
    outcome: RunOutcome,
    counts: OutcomeCounts,
    credits: f64,
}

pub(super) fn page(report: &Report) -> String {
    let data = PageData {
        runs: report
            .runs
            .iter()
            .map(|r| PageRun {
                id: r.id.0,
                kind: &r.kind,
                started_at: firmo_connect::crm::format_timestamp(r.started_at),
                dry_run: r.dry_run,
                outcome: r.outcome,
                counts: r.counts,
                credits: r.credits + 0.0, // never -0.0
            })
            .collect(),
        latest: report.latest.as_ref(),
        trend: &report.trend,
        accounts: &report.accounts,
        accounts_total: report.accounts_total,
        quality: report.quality.as_ref(),
    };
    // Serialising these plain structs cannot fail; `null` still renders an empty page.
    let json = serde_json::to_string(&data).unwrap_or_else(|_| "null".to_owned());
    // A `--portal` report says whose it is where a reader looks first.
    let heading = match &report.portal {
        Some(portal) => format!("firmo report: portal {}", html_text(portal)),
        None => "firmo report".to_owned(),
    };
    TEMPLATE
        .replacen(
            "<title>firmo report</title>",
            &format!("<title>{heading}</title>"),
            1,
        )
        .replacen("<h1>firmo report</h1>", &format!("<h1>{heading}</h1>"), 1)
        .replacen("/*STYLE*/", STYLE, 1)
        .replacen("/*SCRIPT*/", SCRIPT, 1)
        .replacen("/*DATA*/", &script_safe(&json), 1)
}

/// `text` as HTML character data.
fn html_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// JSON that can sit inside `<script>`: CRM text such as a company named `</script>`
/// must not end the element. `\u003c` is the same string to `JSON.parse`.
fn script_safe(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use firmo_store::Outcome;

    use super::*;

    fn embedded(page: &str) -> serde_json::Value {
        let start = page
            .find("<script type=\"application/json\" id=\"firmo-data\">")
            .expect("the data block");
        let rest = &page[start..];
        let body = &rest[rest.find('>').unwrap() + 1..rest.find("</script>").unwrap()];
        serde_json::from_str(body).expect("the embedded data is JSON")
    }

    fn report(name: &str, quality: Option<serde_json::Value>) -> Report {
        Report {
            portal: None,
            runs: Vec::new(),
            latest: None,
            trend: vec![TrendPoint {
                run_id: 3,
                started_at: "2026-12-01T00:00:00.000Z".to_owned(),
                outcomes: OutcomeCounts {
                    written: 1,
                    ..OutcomeCounts::default()
                },
                credits: BTreeMap::from([("clay".to_owned(), 2.5)]),
                coverage: BTreeMap::from([("industry".to_owned(), 1.0)]),
                findings: BTreeMap::new(),
            }],
            accounts: vec![AccountRow {
                id: "101".to_owned(),
                name: Some(name.to_owned()),
                domain: Some("acme.test".to_owned()),
                outcome: Outcome::Written,
                reason: None,
                won: BTreeMap::from([("industry".to_owned(), vec!["clay".to_owned()])]),
                changes: 4,
                findings: Vec::new(),
            }],
            accounts_total: 1,
            quality,
        }
    }

    #[test]
    fn crm_text_cannot_end_the_data_script() {
        let name = "Evil</script><script>alert(1)</script> & Co\u{2028}";
        let page = page(&report(name, None));
        // One data block and one script: the name did not open a third.
        assert_eq!(page.matches("<script").count(), 2, "{page}");
        assert!(!page.contains("alert(1)</script>"));
        assert_eq!(embedded(&page)["accounts"][0]["name"], name);
    }

    #[test]
    fn the_page_is_self_contained_and_embeds_the_quality_document() {
        let quality = serde_json::json!({
            "fields": [{"field": "industry", "coverage": 0.96,
                "accuracy": {"rate": 0.91, "low": 0.85, "high": 0.95, "n": 50, "sampled_on": "2026-12-01"},
                "usable": 0.87,
                "sources": [{"source": "clay", "accuracy": null,
                    "corrections": {"written": 120, "corrected": 3, "rate": 0.025}}]}],
            "agreement": [{"field": "industry", "a": "clay", "b": "clearbit",
                "compared": 120, "agreed": 110, "rate": 0.917}]
        });
        let page = page(&report("Acme", Some(quality.clone())));
        let data = embedded(&page);
        assert_eq!(data["quality"], quality);
        assert_eq!(data["trend"][0]["credits"]["clay"], 2.5);
        for remote in ["http://", "https://", "src=", "href=\"/"] {
            // The SVG namespace is an identifier, not a fetch.
            let fetches = page
                .replace("http://www.w3.org/2000/svg", "")
                .contains(remote);
            assert!(!fetches, "the page refers to {remote}");
        }
        assert!(!page.contains("/*DATA*/") && !page.contains("/*SCRIPT*/"));
    }

    #[test]
    fn a_portal_report_names_its_portal_in_the_title_and_heading() {
        let mut one = report("Acme", None);
        one.portal = Some("hubspot:<7>".to_owned());
        let page = page(&one);
        assert!(page.contains("<title>firmo report: portal hubspot:&lt;7&gt;</title>"));
        assert!(page.contains("<h1>firmo report: portal hubspot:&lt;7&gt;</h1>"));
        let all = super::page(&report("Acme", None));
        assert!(
            all.contains("<h1>firmo report</h1>"),
            "every portal's: no name"
        );
    }

    #[test]
    fn without_a_quality_document_the_data_says_null() {
        let data = embedded(&page(&report("Acme", None)));
        assert!(data["quality"].is_null());
    }
}

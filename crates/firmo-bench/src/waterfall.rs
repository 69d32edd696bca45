//! Issue 11's bench: the same portal synced twice under the emulators' default provider
//! limits, once with the waterfall and once asking every provider about every account
//! (`[waterfall] enabled = false`), each on a fresh sandbox and a fresh state so neither
//! run borrows the other's cache.

use std::fmt::Write as _;
use std::time::Duration;

use firmo_sandbox::RateLimit;

use crate::figures::{Calls, bound, ratio};
use crate::scenario::{self, EMULATOR_LIMITS, Measured, Scenario};

/// Goal: Crunchbase and BuiltWith requests per account under the waterfall.
const GOAL_REQUESTS_PER_ACCOUNT: f64 = 0.2;
/// Goal: the waterfall run's wall time against its largest per-resource bound.
const GOAL_BOUND_FACTOR: f64 = 1.1;
/// The providers whose requests per account the issue sets a goal for.
const GOAL_PROVIDERS: [&str; 2] = ["crunchbase", "builtwith"];
/// Every provider emulator, in the order printed.
const PROVIDERS: [&str; 4] = ["clay", "clearbit", "builtwith", "crunchbase"];

/// What the scenario runs with.
pub(crate) struct Args {
    pub(crate) companies: usize,
    pub(crate) rate_limit: RateLimit,
    pub(crate) budget: f64,
    pub(crate) sandbox_process: bool,
    /// `--config`'s text, the base of both runs.
    pub(crate) config_text: String,
}

/// Runs both syncs and returns the printed comparison (each run's full report first).
pub(crate) async fn run(args: Args) -> anyhow::Result<String> {
    let base = Scenario {
        name: "waterfall",
        companies: args.companies,
        rate_limit: Some(args.rate_limit),
        budget: args.budget,
        sandbox_process: args.sandbox_process,
        config_text: args.config_text,
        provider_limits: true,
    };
    let everyone = Scenario {
        name: "ask-everyone",
        config_text: format!("{}\n[waterfall]\nenabled = false\n", base.config_text),
        ..base.clone()
    };
    let waterfall = scenario::run(base).await?;
    let everyone = scenario::run(everyone).await?;
    let mut out = crate::report::render(&waterfall);
    out.push_str(&crate::report::render(&everyone));
    out.push_str(&compare(&waterfall, &everyone));
    Ok(out)
}

/// One run's figures, as the comparison reads them.
struct Figures {
    accounts: u64,
    wall: Duration,
    credits: f64,
    /// Requests per provider, in [`PROVIDERS`] order.
    requests: [u64; 4],
    /// (resource, its bound, how it is computed), CRM first.
    bounds: Vec<(String, Duration, String)>,
}

impl Figures {
    fn of(m: &Measured) -> Figures {
        let calls = Calls::classify(&m.stats.requests);
        let mut bounds = Vec::new();
        if let Some(l) = m.scenario.rate_limit {
            bounds.push((
                "CRM".to_owned(),
                bound(calls.rate_limited_kinds, l.max_requests, l.interval),
                format!(
                    "{} calls at {}/{} ms",
                    calls.rate_limited_kinds,
                    l.max_requests,
                    l.interval.as_millis()
                ),
            ));
        }
        for (name, rate) in EMULATOR_LIMITS {
            let n = calls.provider(name);
            bounds.push((
                name.to_owned(),
                bound(n, rate, Duration::from_mins(1)),
                format!("{n} requests at {rate}/min"),
            ));
        }
        Figures {
            accounts: m.summary.scanned,
            wall: m.wall,
            credits: m.summary.credits,
            requests: PROVIDERS.map(|p| calls.provider(p)),
            bounds,
        }
    }

    fn per_account(&self, requests: u64) -> f64 {
        if self.accounts == 0 {
            return 0.0;
        }
        requests as f64 / self.accounts as f64
    }

    fn largest(&self) -> Option<&(String, Duration, String)> {
        self.bounds.iter().max_by_key(|(_, b, _)| *b)
    }
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

/// The side-by-side table and the goals.
fn compare(waterfall: &Measured, everyone: &Measured) -> String {
    let (w, e) = (Figures::of(waterfall), Figures::of(everyone));
    let mut o = String::new();
    let _ = writeln!(
        o,
        "\n== firmo-bench [waterfall vs ask-everyone]: {} companies, the emulators' default provider limits ==",
        waterfall.scenario.companies
    );
    let _ = writeln!(o, "{:<34} {:>22} {:>22}", "", "waterfall", "ask-everyone");
    let secs = |d: Duration| format!("{:.1} s", d.as_secs_f64());
    let _ = writeln!(
        o,
        "{:<34} {:>22} {:>22}",
        "wall time",
        secs(w.wall),
        secs(e.wall)
    );
    let _ = writeln!(
        o,
        "{:<34} {:>22.0} {:>22.0}",
        "credits", w.credits, e.credits
    );
    let saved = if e.credits > 0.0 {
        format!("{:.1} %", 100.0 * (1.0 - w.credits / e.credits))
    } else {
        "n/a".to_owned()
    };
    let _ = writeln!(o, "{:<34} {:>22}", "credits saved by the waterfall", saved);
    for (i, name) in PROVIDERS.iter().enumerate() {
        let goal = if GOAL_PROVIDERS.contains(name) {
            let r = w.per_account(w.requests[i]);
            format!(
                " [goal <= {GOAL_REQUESTS_PER_ACCOUNT}: {}]",
                met(r <= GOAL_REQUESTS_PER_ACCOUNT)
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            o,
            "{:<34} {:>22} {:>22}{goal}",
            format!("{name} requests per account"),
            format!("{:.3} ({})", w.per_account(w.requests[i]), w.requests[i]),
            format!("{:.3} ({})", e.per_account(e.requests[i]), e.requests[i]),
        );
    }
    for ((name, wb, wd), (_, eb, ed)) in w.bounds.iter().zip(&e.bounds) {
        let _ = writeln!(
            o,
            "{:<34} {:>22} {:>22}",
            format!("bound of {name}"),
            secs(*wb),
            secs(*eb)
        );
        let _ = writeln!(o, "{:<34} {:>22} {:>22}", "", wd, ed);
    }
    let against = |f: &Figures| {
        f.largest().map_or_else(
            || ("n/a".to_owned(), None),
            |(name, b, _)| {
                let r = ratio(f.wall, *b);
                (
                    format!(
                        "{} ({name})",
                        r.map_or_else(|| "n/a".to_owned(), |r| format!("{r:.3}x"))
                    ),
                    r,
                )
            },
        )
    };
    let ((wr, wratio), (er, _)) = (against(&w), against(&e));
    let _ = writeln!(
        o,
        "{:<34} {:>22} {:>22} [goal <= {GOAL_BOUND_FACTOR}x for the waterfall: {}]",
        "wall time vs the largest bound",
        wr,
        er,
        met(wratio.is_some_and(|r| r <= GOAL_BOUND_FACTOR))
    );
    o
}

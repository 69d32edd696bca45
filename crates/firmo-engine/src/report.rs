//! The run summary: what `firmo sync` prints (a table for people, `--json` for machines)
//! and records in the store for `firmo report`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use firmo_core::coverage::CoverageSummary;
use firmo_core::{Field, Finding, Severity};
use firmo_store::{Outcome, OutcomeCounts};
use serde::{Deserialize, Serialize};

use firmo_connect::ConnectorError;

use crate::diff::PropertySkip;
use crate::enrich::Enriched;
use crate::evaluate::{Evaluated, PreflightRejection};
use crate::fetch::LookupState;
use crate::run::ProviderStats;
use crate::setup::{PropertyReport, PropertyStatus};
use crate::verdict::{FailKind, Rejection, SkipReason, Verdict};

/// The text stored and shown for a verdict (`None` for written and unchanged accounts).
/// The only place a verdict becomes text.
pub fn verdict_reason(verdict: &Verdict, dry_run: bool) -> Option<String> {
    Some(match verdict {
        Verdict::ToWrite if dry_run => "dry run: would write".to_owned(),
        Verdict::Written | Verdict::Unchanged | Verdict::ToWrite => return None,
        Verdict::Skipped(reason) => match reason {
            SkipReason::NoDomain => "no domain".to_owned(),
            SkipReason::InvalidDomain(why) => format!("invalid domain: {why}"),
            SkipReason::WouldLookUp(p) => format!("dry run: would look up {}", p.join(", ")),
            SkipReason::Waiting(p) => format!("waiting for {}", p.join(", ")),
            SkipReason::OverBudget => "over budget: deferred to the next run".to_owned(),
            SkipReason::OverMonthlyBudget => {
                "monthly budget: deferred until the period resets".to_owned()
            }
            SkipReason::ProvidersUnavailable => "every provider failed or is off".to_owned(),
            SkipReason::NoData => "no provider has data for this domain".to_owned(),
            SkipReason::HumanEdited => "human-edited values kept".to_owned(),
            SkipReason::MissingProperties => {
                "CRM lacks firmo's properties: run `firmo properties ensure`".to_owned()
            }
        },
        Verdict::Rejected(rejections) => rejections
            .iter()
            .map(|r| match r {
                Rejection::Rule(code) => code.clone(),
                Rejection::Preflight { property } => format!("preflight:{property}"),
            })
            .collect::<Vec<_>>()
            .join(","),
        Verdict::Failed(FailKind::Write(e)) => e.to_string(),
        Verdict::Failed(FailKind::NoOutcome) => {
            "the CRM returned no outcome for this record".to_owned()
        }
    })
}

/// A file row's status cell for a verdict, and the group it counts under in the summary.
pub fn csv_status(verdict: &Verdict) -> (String, String) {
    let group = |g: &str| g.to_owned();
    match verdict {
        Verdict::Written | Verdict::ToWrite | Verdict::Unchanged => {
            ("enriched".into(), group("enriched"))
        }
        Verdict::Rejected(_) => ("rejected".into(), group("rejected")),
        Verdict::Skipped(SkipReason::NoData) => ("no data".into(), group("no data")),
        Verdict::Skipped(SkipReason::OverBudget) => (
            "deferred: over budget".into(),
            group("deferred: over budget"),
        ),
        Verdict::Skipped(SkipReason::OverMonthlyBudget) => (
            "deferred: monthly budget".into(),
            group("deferred: monthly budget"),
        ),
        Verdict::Skipped(SkipReason::Waiting(_)) => (
            verdict_reason(verdict, false).unwrap_or_default(),
            group("waiting"),
        ),
        Verdict::Skipped(SkipReason::ProvidersUnavailable) => (
            "providers unavailable".into(),
            group("providers unavailable"),
        ),
        other => (
            format!(
                "skipped: {}",
                verdict_reason(other, false).unwrap_or_default()
            ),
            group("skipped"),
        ),
    }
}

/// The summary's group for a verdict's reason: its kind, not each value.
fn reason_group(verdict: &Verdict, dry_run: bool) -> Option<String> {
    if let Verdict::Failed(kind) = verdict {
        return Some(match kind {
            FailKind::Write(e) => error_kind(e),
            FailKind::NoOutcome => "no outcome".to_owned(),
        });
    }
    let text = verdict_reason(verdict, dry_run)?;
    Some(text.split(':').next().unwrap_or_default().trim().to_owned())
}

/// A connector error's kind, as the summary groups failed writes.
fn error_kind(e: &ConnectorError) -> String {
    match e {
        // A value the CRM refused names its property; a record refused as a whole (a 207
        // entry with no property, such as an injected failure) is not a value's fault.
        ConnectorError::Validation {
            property: Some(_), ..
        } => "invalid value".to_owned(),
        ConnectorError::Validation { property: None, .. } => "record refused by the CRM".to_owned(),
        ConnectorError::Auth { .. } => "auth".to_owned(),
        ConnectorError::NotFound { .. } => "record not found".to_owned(),
        ConnectorError::RateLimited { .. } => "rate limited".to_owned(),
        ConnectorError::QuotaExhausted { .. } => "quota exhausted".to_owned(),
        ConnectorError::Server { .. } => "server error".to_owned(),
        ConnectorError::Timeout { .. } => "timeout".to_owned(),
        ConnectorError::Transport { .. } => "transport".to_owned(),
        ConnectorError::Malformed { .. } | ConnectorError::TooLarge { .. } => {
            "bad response".to_owned()
        }
        ConnectorError::Unexpected { status, .. } => format!("HTTP {status}"),
        // The portal's own validation rule, not firmo's value: said apart in the summary.
        ConnectorError::PortalRule { rule, message, .. } => {
            format!("rejected by a portal rule {rule}: {message}")
        }
        ConnectorError::Capacity { .. } => "property capacity".to_owned(),
    }
}

/// A dry run's plan for one account.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountPlan {
    pub id: String,
    pub name: Option<String>,
    pub domain: Option<String>,
    pub lookups: BTreeMap<String, LookupState>,
    /// At most: every lookup it plans, as if each earlier source in the waterfall missed.
    pub credits: f64,
    /// Of those, the credits planned only in case an earlier source misses.
    pub credits_if_missed: f64,
    /// property → value it would get (known only where the providers' answers are cached).
    pub changes: BTreeMap<String, String>,
}

impl AccountPlan {
    pub fn new(e: &Evaluated) -> AccountPlan {
        let enriched = &e.enriched;
        AccountPlan {
            id: enriched.account.id.clone(),
            name: enriched.account.name.clone(),
            domain: enriched.domain.as_ref().ok().cloned(),
            lookups: enriched
                .lookups
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
            credits: enriched.planned_credits,
            credits_if_missed: enriched.planned_if_missed,
            changes: e.diff.changes.clone(),
        }
    }
}

/// The budget period's standing: spent, limit, warnings. Also `firmo budget`'s body.
pub fn render_month(out: &mut String, m: &crate::budget::MonthlyStatus) {
    let money = m
        .money_spent
        .as_ref()
        .map(|x| format!(" ({:.2} {})", x.amount, x.currency))
        .unwrap_or_default();
    let limit = m.limit.map(|l| format!(" of {l:.0}")).unwrap_or_default();
    let _ = writeln!(
        out,
        "month         {:>8.1}{limit} credits since {}{money} · resets {}",
        m.spent, m.period_start, m.resets_on
    );
    for (provider, p) in &m.providers {
        let _ = writeln!(
            out,
            "  {provider:<12}{:>8.1} of {:.0}, {:.1} left",
            p.spent, p.limit, p.left
        );
    }
    for warning in &m.warnings {
        let _ = writeln!(
            out,
            "  warning: {warning} (warns at {:.0} %)",
            m.warn_at * 100.0
        );
    }
    for limit in &m.exhausted {
        let _ = writeln!(
            out,
            "  {limit}: monthly budget spent; its lookups wait until {}",
            m.resets_on
        );
    }
}

/// A field left empty on some accounts, and what asking the providers the waterfall did
/// not ask would cost (the coverage a config's savings give up).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeftEmpty {
    pub field: &'static str,
    pub accounts: u64,
    /// Provider → credits asking it about those accounts would cost.
    pub would_cost: BTreeMap<&'static str, f64>,
}

/// An account whose enriched values the summary shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sample {
    pub id: String,
    pub name: Option<String>,
    pub domain: Option<String>,
    /// field → (value, source)
    pub fields: BTreeMap<String, (serde_json::Value, String)>,
}

/// Counters gathered while the run goes.
#[derive(Debug, Default)]
pub struct Tally {
    pub outcomes: OutcomeCounts,
    pub skipped: BTreeMap<String, u64>,
    pub rejected: BTreeMap<String, u64>,
    pub failed: BTreeMap<String, u64>,
    /// Finding code → count (flags and rejects).
    pub findings: BTreeMap<String, FindingCount>,
    pub samples: Vec<Sample>,
    /// Property → values firmo would have changed but kept because a person edited what
    /// firmo wrote (or set it first): counted per property, not per account, since an
    /// account written for its other changes still keeps these.
    pub human_edits_kept: BTreeMap<String, u64>,
}

/// How often a rule fired.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FindingCount {
    pub rule: String,
    pub severity: String,
    pub count: u64,
    /// One example message.
    pub example: String,
}

const MAX_SAMPLES: usize = 5;

impl Tally {
    /// Counts one account's verdict.
    pub fn count(&mut self, verdict: &Verdict, dry_run: bool) {
        self.count_n(
            verdict.outcome(),
            reason_group(verdict, dry_run).as_deref(),
            1,
        );
    }

    /// Counts `n` accounts of one outcome.
    pub fn count_n(&mut self, outcome: Outcome, group: Option<&str>, n: u64) {
        match outcome {
            Outcome::Written => self.outcomes.written += n,
            Outcome::Unchanged => self.outcomes.unchanged += n,
            Outcome::Skipped => self.outcomes.skipped += n,
            Outcome::Rejected => self.outcomes.rejected += n,
            Outcome::Failed => self.outcomes.failed += n,
        }
        let bucket = match outcome {
            Outcome::Skipped => &mut self.skipped,
            Outcome::Rejected => &mut self.rejected,
            Outcome::Failed => &mut self.failed,
            _ => return,
        };
        *bucket
            .entry(group.unwrap_or("unspecified").to_owned())
            .or_default() += n;
    }

    pub fn absorb_findings(&mut self, findings: &[Finding], preflight: &[PreflightRejection]) {
        for f in findings {
            let entry = self
                .findings
                .entry(f.code.clone())
                .or_insert_with(|| FindingCount {
                    rule: f.rule.clone(),
                    severity: match f.severity {
                        Severity::Reject => "reject".into(),
                        Severity::Flag => "flag".into(),
                    },
                    count: 0,
                    example: f.message.clone(),
                });
            entry.count += 1;
        }
        for p in preflight {
            // A mapped built-in that can't take the value is a note; firmo's own
            // property refusing it is a rejection.
            let (code, rule, severity) = if p.mapped {
                ("MAPPING", "built-in-not-written", "flag")
            } else {
                ("PREFLIGHT", "crm-would-reject", "reject")
            };
            let entry = self
                .findings
                .entry(code.to_owned())
                .or_insert_with(|| FindingCount {
                    rule: rule.into(),
                    severity: severity.into(),
                    count: 0,
                    example: format!("{} = {:?}: {}", p.property, p.value, p.reason),
                });
            entry.count += 1;
        }
    }

    /// Counts the human edits an account's diff kept (see [`Tally::human_edits_kept`]).
    pub fn absorb_kept(&mut self, skipped: &[PropertySkip]) {
        for skip in skipped {
            if let PropertySkip::HumanEdited { property, .. } = skip {
                *self.human_edits_kept.entry(property.clone()).or_default() += 1;
            }
        }
    }

    pub fn sample(&mut self, e: &Enriched) {
        if self.samples.len() >= MAX_SAMPLES || e.evaluation.merged.fields.is_empty() {
            return;
        }
        self.samples.push(Sample {
            id: e.account.id.clone(),
            name: e.account.name.clone(),
            domain: e.domain.as_ref().ok().cloned(),
            fields: e
                .evaluation
                .merged
                .fields
                .iter()
                .map(|(f, m)| {
                    (
                        f.name().to_owned(),
                        (m.value.to_json(), m.source.name().to_owned()),
                    )
                })
                .collect(),
        });
    }
}

/// What the contacts stage did: its own lookups and credits, apart from the companies'
/// (the run's budget is shared; these credits are within `planned_credits`'s budget but
/// not in the company `credits`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ContactSummary {
    /// Companies whose contacts were read.
    pub companies: u64,
    /// Contacts read from the CRM (each once).
    pub read: u64,
    /// Contacts the selector chose (at most the cap per company).
    pub selected: u64,
    /// Person lookups made (each person once, however many companies list them).
    pub looked_up: u64,
    /// Answered from the cache, fresh: nothing spent.
    pub cached: u64,
    pub found: u64,
    pub not_found: u64,
    pub pending: u64,
    /// Due, but over the run's or the month's budget.
    pub deferred: u64,
    pub errors: u64,
    /// Contacts written.
    pub written: u64,
    pub write_failed: u64,
    /// Credits the person lookups cost.
    pub credits: f64,
    /// Dry run: person lookups the real run would make, and their credits.
    pub would_look_up: u64,
    pub planned_credits: f64,
    /// Dry run: contacts the real run would write.
    pub would_write: u64,
    /// Contact values kept because a person edited them.
    pub human_edits_kept: u64,
    /// Companies a new engineering executive sets `exec_change` on.
    pub exec_changes: u64,
    /// CRM calls the stage made.
    pub crm_calls: u64,
    /// firmo's contact properties after setup.
    pub properties: Vec<PropertyReport>,
    /// Why the stage stopped for the rest of the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
}

impl ContactSummary {
    /// The contacts lines of the human table.
    pub fn render(&self, out: &mut String, dry_run: bool) {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "contacts      {:>8} read at {} companies, {} selected",
            self.read, self.companies, self.selected
        );
        if dry_run {
            let _ = writeln!(
                out,
                "  lookups     {:>8}   would be made, {:.1} credits (apart from the companies'); {} cached; {} contacts to write",
                self.would_look_up, self.planned_credits, self.cached, self.would_write
            );
        } else {
            let _ = writeln!(
                out,
                "  lookups     {:>8}   {} found, {} missing, {} pending, {} cached, {} deferred, {} errors; {:.1} credits",
                self.looked_up,
                self.found,
                self.not_found,
                self.pending,
                self.cached,
                self.deferred,
                self.errors,
                self.credits
            );
            let _ = writeln!(
                out,
                "  written     {:>8}   ({} failed, {} human edits kept); exec_change on {} companies",
                self.written, self.write_failed, self.human_edits_kept, self.exec_changes
            );
        }
        if let Some(why) = &self.stopped {
            let _ = writeln!(out, "  STOPPED: {why}");
        }
    }
}

/// Everything a run did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    pub run_id: i64,
    pub dry_run: bool,
    pub crm: String,
    pub portal: String,
    /// `full` or `incremental`.
    pub mode: String,
    pub started_at: String,
    pub finished_at: String,
    pub duration_ms: i64,
    /// Accounts pulled from the CRM.
    pub scanned: u64,
    /// CRM API calls made (not counting the HTTP client's retries).
    pub crm_calls: u64,
    /// Dry run: the calls the real run would make.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimated_crm_calls: Option<u64>,
    /// Credits spent (real run).
    pub credits: f64,
    /// Credits planned (a dry run's estimate; for a real run, what was reserved).
    pub planned_credits: f64,
    pub budget: f64,
    /// The budget period's standing, when monthly limits are set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monthly: Option<crate::budget::MonthlyStatus>,
    pub providers: BTreeMap<String, ProviderStats>,
    pub outcomes: OutcomeCounts,
    pub skipped: BTreeMap<String, u64>,
    pub rejected: BTreeMap<String, u64>,
    pub failed: BTreeMap<String, u64>,
    pub findings: BTreeMap<String, FindingCount>,
    pub coverage: CoverageSummary,
    /// Fields the waterfall left empty where a provider it did not ask might fill them.
    pub left_empty: Vec<LeftEmpty>,
    pub properties: Vec<PropertyReport>,
    pub samples: Vec<Sample>,
    /// Property → values kept because a person edited them (see [`Tally::human_edits_kept`]).
    pub human_edits_kept: BTreeMap<String, u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub plan: Vec<AccountPlan>,
    /// The contacts stage, when `[contacts]` is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contacts: Option<ContactSummary>,
    /// `ok`, `partial`, `failed`.
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl RunSummary {
    /// The human table.
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.render_outcomes(&mut out);
        self.render_spend(&mut out);
        self.render_providers(&mut out);
        if let Some(c) = &self.contacts {
            c.render(&mut out, self.dry_run);
        }
        self.render_quality(&mut out);
        self.render_properties(&mut out);
        self.render_samples(&mut out);
        self.render_plan(&mut out);
        if let Some(e) = &self.error {
            let _ = writeln!(out);
            let _ = writeln!(out, "error: {e}");
        }
        out
    }

    fn render_outcomes(&self, out: &mut String) {
        let title = if self.dry_run {
            "firmo sync (dry run: nothing written)"
        } else {
            "firmo sync"
        };
        let _ = writeln!(
            out,
            "{title} · run {} · {} portal {} · {} pull",
            self.run_id, self.crm, self.portal, self.mode
        );
        let _ = writeln!(out, "  {:.1} s", self.duration_ms as f64 / 1000.0);
        let _ = writeln!(out);
        let _ = writeln!(out, "accounts      {:>8}", self.scanned);
        let o = &self.outcomes;
        let verb = if self.dry_run {
            "would write"
        } else {
            "written"
        };
        let _ = writeln!(out, "  {verb:<12}{:>8}", o.written);
        let _ = writeln!(out, "  unchanged   {:>8}", o.unchanged);
        let _ = writeln!(
            out,
            "  skipped     {:>8}{}",
            o.skipped,
            reasons(&self.skipped)
        );
        let _ = writeln!(
            out,
            "  rejected    {:>8}{}",
            o.rejected,
            reasons(&self.rejected)
        );
        let _ = writeln!(
            out,
            "  failed      {:>8}{}",
            o.failed,
            reasons(&self.failed)
        );
        if let Some(line) = human_edits_line(&self.human_edits_kept) {
            let _ = writeln!(out, "{line}");
        }
    }

    fn render_spend(&self, out: &mut String) {
        let _ = writeln!(out);
        match self.estimated_crm_calls {
            Some(est) => {
                let _ = writeln!(
                    out,
                    "CRM calls     {:>8}   (the real run: about {est})",
                    self.crm_calls
                );
                let _ = writeln!(
                    out,
                    "credits       {:>8.1}   would be spent (budget {:.0})",
                    self.planned_credits, self.budget
                );
            }
            None => {
                let _ = writeln!(out, "CRM calls     {:>8}", self.crm_calls);
                let _ = writeln!(
                    out,
                    "credits       {:>8.1}   spent (budget {:.0})",
                    self.credits, self.budget
                );
            }
        }
        if let Some(m) = &self.monthly {
            render_month(out, m);
        }
        let if_missed: f64 = self.providers.values().map(|p| p.planned_if_missed).sum();
        if self.dry_run && if_missed > 0.0 {
            let _ = writeln!(
                out,
                "              {if_missed:>8.1}   of them only where an earlier source misses"
            );
        }
        let saved: f64 = self.providers.values().map(|p| p.credits_saved).sum();
        if saved > 0.0 {
            let _ = writeln!(
                out,
                "saved         {saved:>8.1}   against asking every provider (waterfall)"
            );
        }
        for gap in &self.left_empty {
            let costs: Vec<String> = gap
                .would_cost
                .iter()
                .map(|(p, c)| format!("{p} for them would cost {c:.0} credits"))
                .collect();
            let accounts = if gap.accounts == 1 {
                "account"
            } else {
                "accounts"
            };
            let _ = writeln!(
                out,
                "  {}: {} {accounts} left empty; asking {}",
                gap.field,
                gap.accounts,
                costs.join(", asking ")
            );
        }
    }

    fn render_providers(&self, out: &mut String) {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<12} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>8}",
            "provider", "lookups", "cached", "found", "missing", "pending", "errors", "credits"
        );
        for (name, p) in &self.providers {
            let _ = writeln!(
                out,
                "{:<12} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>8.1}{}",
                name,
                p.lookups,
                p.cache_hits,
                p.found,
                p.not_found,
                p.pending,
                p.errors,
                p.credits,
                p.stopped
                    .as_ref()
                    .map(|s| format!("  STOPPED: {s}"))
                    .unwrap_or_default()
            );
        }
        for (name, p) in self.providers.iter().filter(|(_, p)| p.repushed > 0) {
            let _ = writeln!(
                out,
                "  {name}: {} pushed again (an interrupted run pushed them and never got \
                 their answers; the provider bills each push)",
                p.repushed
            );
        }
        for (name, p) in self.providers.iter().filter(|(_, p)| p.peer_waits > 0) {
            let _ = writeln!(
                out,
                "  {name}: {} another run was buying at the same time, waited for instead",
                p.peer_waits
            );
        }
    }

    fn render_quality(&self, out: &mut String) {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "coverage      industry+headcount {:.0} %",
            self.coverage.industry_and_headcount * 100.0
        );
        for field in Field::ALL {
            if let Some(share) = self.coverage.fields.get(&field) {
                let _ = writeln!(out, "  {:<22}{:>5.0} %", field.name(), share * 100.0);
            }
        }
        if !self.findings.is_empty() {
            let _ = writeln!(out);
            let _ = writeln!(out, "quality findings");
            for (code, f) in &self.findings {
                let _ = writeln!(
                    out,
                    "  {code} {:<28} {:<6} {:>6}   e.g. {}",
                    f.rule, f.severity, f.count, f.example
                );
            }
        }
    }

    fn render_properties(&self, out: &mut String) {
        let created: Vec<&str> = self
            .properties
            .iter()
            .filter(|p| p.status != PropertyStatus::Exists)
            .map(|p| p.name.as_str())
            .collect();
        if !created.is_empty() {
            let _ = writeln!(out);
            let verb = if self.dry_run {
                "would create"
            } else {
                "properties"
            };
            let _ = writeln!(
                out,
                "{verb}: {}",
                self.properties
                    .iter()
                    .filter(|p| p.status != PropertyStatus::Exists)
                    .map(|p| format!("{} ({})", p.name, p.status))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }

    fn render_samples(&self, out: &mut String) {
        if !self.samples.is_empty() {
            let _ = writeln!(out);
            let _ = writeln!(out, "enriched, for example:");
            for s in &self.samples {
                let _ = writeln!(
                    out,
                    "  {} · {} · {}",
                    s.id,
                    s.name.as_deref().unwrap_or("-"),
                    s.domain.as_deref().unwrap_or("-")
                );
                for (field, (value, source)) in &s.fields {
                    let _ = writeln!(
                        out,
                        "      firmo_{field:<22} {:<40} ({source})",
                        short(value)
                    );
                }
            }
        }
    }

    fn render_plan(&self, out: &mut String) {
        if self.dry_run && !self.plan.is_empty() {
            let _ = writeln!(out);
            let _ = writeln!(out, "plan (first 20 accounts):");
            for p in self.plan.iter().take(20) {
                let lookups: Vec<String> = p
                    .lookups
                    .iter()
                    .map(|(k, v)| format!("{k}:{}", state_word(v)))
                    .collect();
                let _ = writeln!(
                    out,
                    "  {:<8} {:<28} {:>5.1} cr  {}  {}",
                    p.id,
                    p.domain.as_deref().unwrap_or("(no domain)"),
                    p.credits,
                    lookups.join(" "),
                    if p.changes.is_empty() {
                        String::new()
                    } else {
                        format!(
                            "changes: {}",
                            p.changes.keys().cloned().collect::<Vec<_>>().join(", ")
                        )
                    }
                );
            }
        }
    }
}

/// The table's line for [`Tally::human_edits_kept`] (`None` when nothing was kept): how
/// many values a person's edit kept from being overwritten, and on which properties.
pub fn human_edits_line(kept: &BTreeMap<String, u64>) -> Option<String> {
    let total: u64 = kept.values().sum();
    (total > 0).then(|| format!("  human edits kept {total:>5}{}", reasons(kept)))
}

fn reasons(map: &BTreeMap<String, u64>) -> String {
    if map.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = map.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    format!("   ({})", parts.join("; "))
}

fn state_word(s: &LookupState) -> &'static str {
    match s {
        LookupState::Cached => "cached",
        LookupState::Fetched => "fetched",
        LookupState::Pending => "pending",
        LookupState::Deferred => "deferred",
        LookupState::DeferredMonthly => "deferred (monthly budget)",
        LookupState::Failed(_) => "failed",
        LookupState::Off => "off",
        LookupState::WouldFetch => "fetch",
        LookupState::NotNeeded => "not needed",
    }
}

fn short(v: &serde_json::Value) -> String {
    let s = match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(items) => {
            let names: Vec<String> = items
                .iter()
                .map(|i| i.as_str().unwrap_or_default().to_owned())
                .collect();
            names.join(", ")
        }
        other => other.to_string(),
    };
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(39).collect::<String>())
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_human_edits_are_counted_per_property() {
        let mut tally = Tally::default();
        let kept = |property: &str| PropertySkip::HumanEdited {
            property: property.into(),
            crm_value: "500".into(),
        };
        tally.absorb_kept(&[
            kept("firmo_headcount"),
            PropertySkip::NotEmpty {
                property: "industry".into(),
            },
        ]);
        tally.absorb_kept(&[kept("firmo_headcount"), kept("firmo_industry")]);
        assert_eq!(
            tally.human_edits_kept,
            [
                ("firmo_headcount".to_owned(), 2),
                ("firmo_industry".to_owned(), 1)
            ]
            .into()
        );
        assert_eq!(
            human_edits_line(&tally.human_edits_kept).as_deref(),
            Some("  human edits kept     3   (firmo_headcount: 2; firmo_industry: 1)")
        );
        assert_eq!(human_edits_line(&BTreeMap::new()), None);
    }

    #[test]
    fn a_refused_record_is_told_from_a_refused_value() {
        let refused = |property: Option<&str>| ConnectorError::Validation {
            service: firmo_connect::Service::Hubspot,
            property: property.map(str::to_owned),
            value: None,
            message: "injected by the sandbox".into(),
        };
        assert_eq!(error_kind(&refused(None)), "record refused by the CRM");
        assert_eq!(
            error_kind(&refused(Some("firmo_headcount"))),
            "invalid value"
        );
    }
}

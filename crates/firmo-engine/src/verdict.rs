//! One verdict per account, decided in one place. The cursor, the dry-run estimate and
//! the summary ask the verdict; none of them reads text. Text is made only in
//! `report.rs`, where a verdict is shown or stored.

use firmo_connect::ConnectorError;
use firmo_store::Outcome;

use crate::diff::{Diff, PropertySkip};
use crate::enrich::Enriched;
use crate::evaluate::PreflightRejection;
use crate::fetch::LookupState;

/// How one account ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Its changes reached the CRM.
    Written,
    /// It has changes to send: the write stage decides `Written` or `Failed` (a dry run
    /// stops here and counts it as "would write").
    ToWrite,
    /// Everything firmo wants the CRM already holds.
    Unchanged,
    Skipped(SkipReason),
    /// A quality rule or the CRM's property definition refused a value firmo owns.
    Rejected(Vec<Rejection>),
    Failed(FailKind),
}

/// Why an account with nothing to write was left alone.
#[derive(Debug, Clone, PartialEq)]
pub enum SkipReason {
    NoDomain,
    /// The domain didn't normalise; the normaliser's message.
    InvalidDomain(String),
    /// Dry run: these providers would be asked first.
    WouldLookUp(Vec<&'static str>),
    /// An answer is still outstanding (a pushed Clay row, a queued Clearbit lookup).
    Waiting(Vec<&'static str>),
    /// A lookup it needs is over the run's credit budget.
    OverBudget,
    /// A lookup it needs is over a monthly budget: it waits for the period to reset.
    OverMonthlyBudget,
    /// Every provider that could answer failed or is off for this run.
    ProvidersUnavailable,
    /// The providers answered and none knows the company.
    NoData,
    /// Every change would overwrite a value a person set.
    HumanEdited,
    /// The CRM lacks firmo's properties.
    MissingProperties,
}

/// One refused value.
#[derive(Debug, Clone, PartialEq)]
pub enum Rejection {
    /// A firmo quality rule (its code, `FQ004`).
    Rule(String),
    /// The live property definition can't hold the value.
    Preflight { property: String },
}

/// Why a write did not land.
#[derive(Debug, Clone, PartialEq)]
pub enum FailKind {
    /// The CRM refused or failed the write for this record.
    Write(ConnectorError),
    /// The CRM answered the batch without an outcome for this record.
    NoOutcome,
}

impl Verdict {
    /// The stored outcome class.
    pub fn outcome(&self) -> Outcome {
        match self {
            Verdict::Written | Verdict::ToWrite => Outcome::Written,
            Verdict::Unchanged => Outcome::Unchanged,
            Verdict::Skipped(_) => Outcome::Skipped,
            Verdict::Rejected(_) => Outcome::Rejected,
            Verdict::Failed(_) => Outcome::Failed,
        }
    }

    /// Whether the account is unfinished business: the incremental cursor must not move
    /// past it, or plain syncs would not pull it again until the next full sweep.
    pub fn holds_cursor(&self) -> bool {
        matches!(
            self,
            Verdict::Failed(_)
                | Verdict::Skipped(
                    SkipReason::Waiting(_) | SkipReason::OverBudget | SkipReason::OverMonthlyBudget
                )
        )
    }

    /// Whether a dry run expects the real run to write this account (it has changes, or
    /// lookups that will most likely bring some).
    pub fn expects_write(&self) -> bool {
        matches!(
            self,
            Verdict::ToWrite | Verdict::Skipped(SkipReason::WouldLookUp(_))
        )
    }
}

/// Decides an account's verdict before any write, from its enrichment, its changes
/// against the CRM and the values the CRM's definitions refused.
pub fn decide(enriched: &Enriched, diff: &Diff, preflight: &[PreflightRejection]) -> Verdict {
    match &enriched.domain {
        Ok(_) => {}
        Err(DomainProblem::Missing) => return Verdict::Skipped(SkipReason::NoDomain),
        Err(DomainProblem::Invalid(why)) => {
            return Verdict::Skipped(SkipReason::InvalidDomain(why.clone()));
        }
    }
    let mut rejections: Vec<Rejection> = enriched
        .rejected()
        .map(|f| Rejection::Rule(f.code.clone()))
        .collect();
    rejections.extend(
        preflight
            .iter()
            .filter(|p| !p.mapped)
            .map(|p| Rejection::Preflight {
                property: p.property.clone(),
            }),
    );
    rejections.dedup();
    if !diff.changes.is_empty() {
        return Verdict::ToWrite;
    }
    if !rejections.is_empty() {
        return Verdict::Rejected(rejections);
    }
    let providers_in = |wanted: fn(&LookupState) -> bool| -> Vec<&'static str> {
        enriched
            .lookups
            .iter()
            .filter(|(_, s)| wanted(s))
            .map(|(p, _)| *p)
            .collect()
    };
    let planned = providers_in(|s| *s == LookupState::WouldFetch);
    if !planned.is_empty() {
        return Verdict::Skipped(SkipReason::WouldLookUp(planned));
    }
    // A refresh the month can't pay for: the account waits for the period to reset (its
    // stale values stand, and the cursor holds so it is pulled again).
    if !providers_in(|s| *s == LookupState::DeferredMonthly).is_empty() {
        return Verdict::Skipped(SkipReason::OverMonthlyBudget);
    }
    if enriched.evaluation.merged.fields.is_empty() {
        let waiting = providers_in(|s| *s == LookupState::Pending);
        if !waiting.is_empty() {
            return Verdict::Skipped(SkipReason::Waiting(waiting));
        }
        if enriched
            .lookups
            .values()
            .any(|s| *s == LookupState::Deferred)
        {
            return Verdict::Skipped(SkipReason::OverBudget);
        }
        if !enriched.lookups.is_empty()
            && enriched
                .lookups
                .values()
                .all(|s| matches!(s, LookupState::Failed(_) | LookupState::Off))
        {
            return Verdict::Skipped(SkipReason::ProvidersUnavailable);
        }
        return Verdict::Skipped(SkipReason::NoData);
    }
    let skipped = |wanted: fn(&PropertySkip) -> bool| diff.skipped.iter().any(wanted);
    if skipped(|s| matches!(s, PropertySkip::HumanEdited { .. })) {
        return Verdict::Skipped(SkipReason::HumanEdited);
    }
    if skipped(|s| matches!(s, PropertySkip::MissingProperty { .. })) {
        return Verdict::Skipped(SkipReason::MissingProperties);
    }
    Verdict::Unchanged
}

/// Why an account has no domain to look up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainProblem {
    Missing,
    Invalid(String),
}

//! The waterfall: which providers an account still needs. A field's source list is the
//! order in which providers are asked; a provider is asked only when some field it
//! supplies has no accepted value from the providers that already answered, and every
//! provider before it in that field's order has answered. A value core's rules reject
//! counts as not found, so the waterfall goes on past it.
//!
//! - a `union` field's content does not depend on its order (only spelling does), so it
//!   first waits for the sources asked anyway for other fields, and asks its others, in
//!   order, only while it is still empty: tech_stack (BuiltWith ∪ Clay) asks BuiltWith only
//!   where Clay's row, which carries BuiltWith's technologies, has none. The union then
//!   takes every answer firmo holds (fetched, or cached and fresh), so a provider marked
//!   `always` adds its items to every account;
//! - `freshest` fields ask all their sources (the freshest can't be told from the first
//!   answer);
//! - a *passive* field never makes a provider be asked: it takes what providers asked for
//!   other fields return (by default `revenue_range`, which only Clearbit has: asking
//!   Clearbit about every account for it would undo the savings);
//! - a provider marked `always` is asked about every account;
//! - with the waterfall off, every enabled provider is asked (firmo's behaviour before).
//!
//! Everything here is pure: what is known about each provider for one domain goes in,
//! the providers to ask next come out.

use firmo_core::{Evaluation, Field, Severity, Source, Strategy};
use serde::Serialize;

/// The `[waterfall]` settings a run plans with.
#[derive(Debug, Clone, PartialEq)]
pub struct WaterfallPlan {
    /// Off: every enabled provider is asked about every account.
    pub enabled: bool,
    /// Fields that never make a provider be asked on their own.
    pub passive: Vec<Field>,
}

impl Default for WaterfallPlan {
    fn default() -> Self {
        WaterfallPlan {
            enabled: true,
            passive: vec![Field::RevenueRange],
        }
    }
}

/// What one provider has said about one domain so far this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
    /// Not asked yet (nor a fresh answer in the cache).
    Unasked,
    /// Its answer is in: hit, miss, failure, off or over budget. The waterfall goes on
    /// past it.
    Answered,
    /// Asked, no answer yet (a pushed row, a queued lookup): fields it could fill wait
    /// for it rather than pay the next provider.
    Pending,
    /// Dry run: would be asked, outcome unknown. The plan assumes a miss to bound the
    /// cost, and marks what it asks beyond as conditional.
    Assumed,
}

/// A provider the waterfall wants asked now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Want {
    pub provider: usize,
    /// Only because an earlier provider's unknown answer (dry run) was assumed a miss.
    pub conditional: bool,
}

/// One field's part in the waterfall.
#[derive(Debug, Clone, PartialEq)]
struct FieldPlan {
    field: Field,
    /// The providers of its sources, in source order, each once.
    providers: Vec<usize>,
    ask_all: bool,
    /// A union: asked after the other fields' sources, only while still empty.
    union: bool,
    passive: bool,
}

/// The waterfall of a run's config and providers.
#[derive(Debug, Clone, PartialEq)]
pub struct Waterfall {
    enabled: bool,
    fields: Vec<FieldPlan>,
    /// Providers asked about every account.
    always: Vec<bool>,
}

impl Waterfall {
    /// `provider_sources[i]`: the sources provider `i` supplies; `always[i]`: whether it is
    /// asked about every account. A source no provider supplies is left out of a field's
    /// order (its provider is disabled).
    pub fn new(
        enabled: bool,
        merge: &firmo_core::config::MergeConfig,
        passive: &[Field],
        provider_sources: &[&[Source]],
        always: Vec<bool>,
    ) -> Waterfall {
        let fields = Field::ALL
            .iter()
            .map(|&field| {
                let rule = merge.rule(field);
                let mut providers = Vec::new();
                for source in &rule.sources {
                    if let Some(p) = provider_sources.iter().position(|s| s.contains(source))
                        && !providers.contains(&p)
                    {
                        providers.push(p);
                    }
                }
                FieldPlan {
                    field,
                    providers,
                    ask_all: rule.strategy == Strategy::Freshest,
                    union: rule.strategy == Strategy::Union,
                    passive: passive.contains(&field),
                }
            })
            .collect();
        Waterfall {
            enabled,
            fields,
            always,
        }
    }

    /// The providers to ask now, given what each has said (`known`, by provider index) and
    /// which fields already hold an accepted value (`filled`). Empty: the account needs
    /// nothing more this run.
    pub fn wanted(&self, known: &[Known], filled: impl Fn(Field) -> bool) -> Vec<Want> {
        let mut out: Vec<Want> = Vec::new();
        let want = |out: &mut Vec<Want>, provider: usize, conditional: bool| {
            if known[provider] != Known::Unasked {
                return;
            }
            match out.iter_mut().find(|w| w.provider == provider) {
                // Wanted for certain by one field and conditionally by another: certain.
                Some(w) => w.conditional &= conditional,
                None => out.push(Want {
                    provider,
                    conditional,
                }),
            }
        };
        for (p, &always) in self.always.iter().enumerate() {
            if always || !self.enabled {
                want(&mut out, p, false);
            }
        }
        if !self.enabled {
            return out;
        }
        let active = || self.fields.iter().filter(|f| !f.passive);
        for plan in active().filter(|f| !f.union) {
            if plan.ask_all {
                for &p in &plan.providers {
                    want(&mut out, p, false);
                }
                continue;
            }
            if filled(plan.field) {
                continue;
            }
            if let Some((p, conditional)) = next_in_order(plan, known) {
                want(&mut out, p, conditional);
            }
        }
        // Unions last: a source another field asks now, or one still pending, may fill it.
        let busy: Vec<usize> = out.iter().map(|w| w.provider).collect();
        for plan in active().filter(|f| f.union) {
            let waiting = plan
                .providers
                .iter()
                .any(|p| busy.contains(p) || known[*p] == Known::Pending);
            if filled(plan.field) || waiting {
                continue;
            }
            // A dry run's assumed answer may fill it: what follows is only in case.
            let assumed = plan.providers.iter().any(|p| known[*p] == Known::Assumed);
            if let Some((p, conditional)) = next_in_order(plan, known) {
                want(&mut out, p, conditional || assumed);
            }
        }
        out
    }

    /// The providers a field's order could still ask (for the coverage-cost note).
    pub fn sources_of(&self, field: Field) -> &[usize] {
        self.fields
            .iter()
            .find(|f| f.field == field)
            .map_or(&[], |f| &f.providers)
    }

    pub fn is_passive(&self, field: Field) -> bool {
        self.fields.iter().any(|f| f.field == field && f.passive)
    }
}

/// The first provider in `plan`'s order not asked yet, if every one before it answered,
/// and whether it is wanted only in case an assumed answer (a dry run's) misses.
fn next_in_order(plan: &FieldPlan, known: &[Known]) -> Option<(usize, bool)> {
    let mut conditional = false;
    for &p in &plan.providers {
        match known[p] {
            Known::Answered => {}
            Known::Assumed => conditional = true,
            Known::Pending => return None,
            Known::Unasked => return Some((p, conditional)),
        }
    }
    None
}

/// One provider's part in a field's waterfall, for the attempt trace.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub provider: &'static str,
    /// What happened with the provider for this account (`fetched`, `cached`,
    /// `not_needed`, `pending`, ...).
    pub outcome: crate::fetch::LookupState,
    /// Its answer had a value for the field.
    pub had_value: bool,
}

impl Waterfall {
    /// Per field, the providers of its order and what each did: which were asked, in
    /// which order, with what outcome. `providers[i]`: name and sources of provider `i`.
    pub fn trace(
        &self,
        providers: &[(&'static str, &'static [Source])],
        lookups: &std::collections::BTreeMap<&'static str, crate::fetch::LookupState>,
        evaluation: &Evaluation,
    ) -> std::collections::BTreeMap<&'static str, Vec<Step>> {
        self.fields
            .iter()
            .map(|plan| {
                let contributors = evaluation.merged.get(plan.field).map(|m| m.contributors);
                let steps = plan
                    .providers
                    .iter()
                    .map(|&pi| {
                        let (name, sources) = providers[pi];
                        Step {
                            provider: name,
                            outcome: lookups
                                .get(name)
                                .cloned()
                                .unwrap_or(crate::fetch::LookupState::NotNeeded),
                            had_value: contributors
                                .is_some_and(|c| sources.iter().any(|s| c.contains(*s))),
                        }
                    })
                    .collect();
                (plan.field.name(), steps)
            })
            .collect()
    }
}

/// Whether `field` holds a value the quality rules accept.
pub fn is_filled(evaluation: &Evaluation, field: Field) -> bool {
    evaluation.merged.get(field).is_some()
        && !evaluation
            .findings
            .iter()
            .any(|f| f.field == Some(field) && f.severity == Severity::Reject)
}

#[cfg(test)]
mod tests {
    use super::*;
    use firmo_core::config::MergeConfig;

    // Provider indices as the built-in registry orders them.
    const CLAY: usize = 0;
    const CLEARBIT: usize = 1;
    const BUILTWITH: usize = 2;
    const CRUNCHBASE: usize = 3;

    fn waterfall(enabled: bool, always: Vec<bool>) -> Waterfall {
        let sources: [&[Source]; 4] = [
            &[Source::Clay, Source::LinkedIn],
            &[Source::Clearbit],
            &[Source::BuiltWith],
            &[Source::Crunchbase],
        ];
        Waterfall::new(
            enabled,
            &MergeConfig::default(),
            &[Field::RevenueRange],
            &sources,
            always,
        )
    }

    fn providers(wants: &[Want]) -> Vec<usize> {
        let mut p: Vec<usize> = wants.iter().map(|w| w.provider).collect();
        p.sort_unstable();
        p
    }

    #[test]
    fn first_ask_is_each_fields_first_source() {
        let w = waterfall(true, vec![false; 4]);
        let wants = w.wanted(&[Known::Unasked; 4], |_| false);
        // Clay heads industry, headcount, tech_stack and funding. Clearbit (only first for
        // the passive revenue_range), BuiltWith and Crunchbase wait for Clay's answer.
        assert_eq!(providers(&wants), [CLAY]);
    }

    #[test]
    fn a_union_field_asks_its_next_source_only_while_empty() {
        let w = waterfall(true, vec![false; 4]);
        let known = [
            Known::Answered,
            Known::Unasked,
            Known::Unasked,
            Known::Unasked,
        ];
        assert!(w.wanted(&known, |_| true).is_empty());
        let wants = w.wanted(&known, |f| f != Field::TechStack);
        assert_eq!(providers(&wants), [BUILTWITH]);
        // While Clay's row is on its way, BuiltWith waits for it.
        let pending = [
            Known::Pending,
            Known::Unasked,
            Known::Unasked,
            Known::Unasked,
        ];
        assert!(w.wanted(&pending, |_| false).is_empty());
        // A dry run plans BuiltWith only in case Clay's assumed row has no technologies.
        let assumed = [
            Known::Assumed,
            Known::Answered,
            Known::Unasked,
            Known::Answered,
        ];
        let wants = w.wanted(&assumed, |_| false);
        assert_eq!(providers(&wants), [BUILTWITH]);
        assert!(wants[0].conditional);
    }

    #[test]
    fn a_field_clay_filled_asks_nobody_else() {
        let w = waterfall(true, vec![false; 4]);
        let known = [
            Known::Answered,
            Known::Unasked,
            Known::Answered,
            Known::Unasked,
        ];
        assert!(w.wanted(&known, |_| true).is_empty());
        // Clay had no funding: Crunchbase is next for the three funding fields.
        let wants = w.wanted(&known, |f| !f.name().contains("funding"));
        assert_eq!(providers(&wants), [CRUNCHBASE]);
        // Clay had no industry: Clearbit.
        let wants = w.wanted(&known, |f| f != Field::Industry);
        assert_eq!(providers(&wants), [CLEARBIT]);
    }

    #[test]
    fn a_pending_answer_holds_back_the_providers_after_it() {
        let w = waterfall(true, vec![false; 4]);
        let known = [
            Known::Pending,
            Known::Unasked,
            Known::Answered,
            Known::Unasked,
        ];
        assert!(w.wanted(&known, |_| false).is_empty());
    }

    #[test]
    fn a_dry_run_plans_the_next_source_as_conditional() {
        let w = waterfall(true, vec![false; 4]);
        let known = [
            Known::Assumed,
            Known::Unasked,
            Known::Assumed,
            Known::Unasked,
        ];
        let wants = w.wanted(&known, |_| false);
        assert_eq!(providers(&wants), [CLEARBIT, CRUNCHBASE]);
        assert!(wants.iter().all(|w| w.conditional));
    }

    #[test]
    fn always_and_off_ask_regardless() {
        let w = waterfall(true, vec![false, false, false, true]);
        let wants = w.wanted(&[Known::Unasked; 4], |_| true);
        // Every field is filled: only Crunchbase, because it is `always`.
        assert_eq!(providers(&wants), [CRUNCHBASE]);
        let off = waterfall(false, vec![false; 4]);
        assert_eq!(
            providers(&off.wanted(&[Known::Unasked; 4], |_| true)),
            [CLAY, CLEARBIT, BUILTWITH, CRUNCHBASE]
        );
    }
}

//! Configuration of the merge, the quality rules and the signals. Every key has a default
//! (the catalogue's for the merge), so an empty table is a valid config.
//!
//! Core parses no TOML itself (that stays with the CLI); these are plain serde types, and
//! deserializing one *is* validating it: a [`MergeConfig`] that exists is one the merge
//! can run (parse, then validate, then run).
//!
//! ```toml
//! [merge.headcount]
//! strategy = "freshest"                  # precedence | union | freshest
//! sources = ["linkedin", "clay"]         # in precedence order
//!
//! [signals]
//! post_funding_days = 180
//!
//! [quality]
//! headcount_disagreement_pct = 25.0
//! ```

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::field::{Field, FieldKind, Strategy};
use crate::source::Source;

/// How one field is merged: a strategy and the sources it reads, in precedence order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldRule {
    pub strategy: Strategy,
    /// Never empty, no duplicates (checked when the config is built).
    pub sources: Vec<Source>,
}

/// The merge rules of every field, validated. Build it with [`MergeConfig::default`] (the
/// catalogue's rules), [`MergeConfig::from_raw`] or serde (same checks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawMergeConfig", into = "RawMergeConfig")]
pub struct MergeConfig {
    /// Indexed by `Field as usize` (catalogue order); resolved once so the merge does no
    /// lookups per record.
    rules: [FieldRule; Field::ALL.len()],
}

/// One field's overrides as written in the config file; a missing key keeps the default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFieldRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<Strategy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sources: Option<Vec<Source>>,
}

/// The `[merge]` table as written: field name → overrides. Keys are strings so an
/// unknown field name gets an error that lists the known ones.
pub type RawMergeConfig = BTreeMap<String, RawFieldRule>;

/// Why a merge config can't be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("merge.{name}: unknown field `{name}`; known fields: {known}")]
    UnknownField { name: String, known: String },
    #[error(
        "merge.{field}.strategy: `union` merges lists, but {field} is not a list field; use `precedence` or `freshest`"
    )]
    UnionOnScalar { field: Field },
    #[error("merge.{field}.sources: the source list is empty; name at least one source")]
    NoSources { field: Field },
    #[error("merge.{field}.sources: `{duplicate}` is listed twice")]
    DuplicateSource { field: Field, duplicate: Source },
}

impl Default for MergeConfig {
    fn default() -> Self {
        MergeConfig {
            rules: Field::ALL.map(|field| FieldRule {
                strategy: field.spec().strategy,
                sources: field.spec().sources.to_vec(),
            }),
        }
    }
}

impl MergeConfig {
    /// Applies `raw` on top of the catalogue defaults and checks the result.
    pub fn from_raw(raw: &RawMergeConfig) -> Result<MergeConfig, ConfigError> {
        let mut config = MergeConfig::default();
        for (name, over) in raw {
            let field = Field::from_name(name).ok_or_else(|| ConfigError::UnknownField {
                name: name.clone(),
                known: Field::ALL.map(Field::name).join(", "),
            })?;
            let rule = &mut config.rules[field as usize];
            if let Some(strategy) = over.strategy {
                rule.strategy = strategy;
            }
            if let Some(sources) = &over.sources {
                rule.sources.clone_from(sources);
            }
        }
        for field in Field::ALL {
            config.check(field)?;
        }
        Ok(config)
    }

    fn check(&self, field: Field) -> Result<(), ConfigError> {
        let rule = self.rule(field);
        if rule.strategy == Strategy::Union && !matches!(field.kind(), FieldKind::TextList { .. }) {
            return Err(ConfigError::UnionOnScalar { field });
        }
        if rule.sources.is_empty() {
            return Err(ConfigError::NoSources { field });
        }
        for (i, source) in rule.sources.iter().enumerate() {
            if rule.sources[..i].contains(source) {
                return Err(ConfigError::DuplicateSource {
                    field,
                    duplicate: *source,
                });
            }
        }
        Ok(())
    }

    /// The rule for `field`.
    pub fn rule(&self, field: Field) -> &FieldRule {
        &self.rules[field as usize]
    }

    /// Replaces the rule for `field`, checking it.
    pub fn set_rule(&mut self, field: Field, rule: FieldRule) -> Result<(), ConfigError> {
        let old = std::mem::replace(&mut self.rules[field as usize], rule);
        let checked = self.check(field);
        if checked.is_err() {
            self.rules[field as usize] = old;
        }
        checked
    }

    /// The raw form (every field written out), e.g. for `firmo init`.
    pub fn to_raw(&self) -> RawMergeConfig {
        Field::ALL
            .iter()
            .map(|&field| {
                let rule = self.rule(field);
                let raw = RawFieldRule {
                    strategy: Some(rule.strategy),
                    sources: Some(rule.sources.clone()),
                };
                (field.name().to_owned(), raw)
            })
            .collect()
    }
}

impl TryFrom<RawMergeConfig> for MergeConfig {
    type Error = ConfigError;
    fn try_from(raw: RawMergeConfig) -> Result<Self, Self::Error> {
        MergeConfig::from_raw(&raw)
    }
}

impl From<MergeConfig> for RawMergeConfig {
    fn from(config: MergeConfig) -> Self {
        config.to_raw()
    }
}

/// Thresholds of the derived signals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SignalConfig {
    /// `post_funding`: the last round was announced at most this many days ago.
    pub post_funding_days: u32,
    /// `hiring_surge`: six-month employee growth at or above this percentage...
    pub hiring_growth_pct: f64,
    /// ...or at least this many open job postings. Providers report all postings, not
    /// engineering ones only, so this stands in for "many open engineering roles".
    pub hiring_job_postings: i64,
    /// `exec_change`: a new VP Engineering or CTO started at most this many days ago.
    pub exec_change_days: u32,
}

impl Default for SignalConfig {
    fn default() -> Self {
        SignalConfig {
            post_funding_days: 180,
            hiring_growth_pct: 20.0,
            hiring_job_postings: 50,
            exec_change_days: 90,
        }
    }
}

/// Tolerances of the cross-field quality rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QualityConfig {
    /// Flag headcounts from two sources that differ by more than this percentage of the
    /// merged (winning) value.
    pub headcount_disagreement_pct: f64,
}

impl Default for QualityConfig {
    fn default() -> Self {
        QualityConfig {
            headcount_disagreement_pct: 25.0,
        }
    }
}

/// Everything core is configured with: the `[merge]`, `[signals]` and `[quality]` tables
/// of `firmo.toml`, and the `config` object of a fixture.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CoreConfig {
    pub merge: MergeConfig,
    pub signals: SignalConfig,
    pub quality: QualityConfig,
}

impl fmt::Display for FieldRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let strategy = match self.strategy {
            Strategy::Precedence => "precedence",
            Strategy::Union => "union",
            Strategy::Freshest => "freshest",
        };
        write!(f, "{strategy} of ")?;
        for (i, source) in self.sources.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(source.name())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml_text: &str) -> Result<CoreConfig, String> {
        toml::from_str(toml_text).map_err(|e| e.to_string())
    }

    #[test]
    fn empty_config_is_the_catalogue() {
        let config = parse("").unwrap();
        assert_eq!(config, CoreConfig::default());
        for field in Field::ALL {
            let rule = config.merge.rule(field);
            assert_eq!(rule.strategy, field.spec().strategy);
            assert_eq!(rule.sources, field.spec().sources);
        }
        assert_eq!(config.signals.post_funding_days, 180);
        assert!((config.quality.headcount_disagreement_pct - 25.0).abs() < f64::EPSILON);
    }

    #[test]
    fn overrides_keep_other_keys_default() {
        let config = parse(
            "[merge.headcount]\nstrategy = \"freshest\"\n[merge.industry]\nsources = [\"clearbit\"]\n\
             [signals]\nhiring_job_postings = 10\n",
        )
        .unwrap();
        let headcount = config.merge.rule(Field::Headcount);
        assert_eq!(headcount.strategy, Strategy::Freshest);
        assert_eq!(
            headcount.sources,
            [Source::Clay, Source::Clearbit, Source::LinkedIn]
        );
        let industry = config.merge.rule(Field::Industry);
        assert_eq!(industry.strategy, Strategy::Precedence);
        assert_eq!(industry.sources, [Source::Clearbit]);
        assert_eq!(config.signals.hiring_job_postings, 10);
        assert_eq!(config.signals.exec_change_days, 90);
    }

    #[test]
    fn bad_configs_name_the_key() {
        let err = parse("[merge.revenue]\nstrategy = \"precedence\"\n").unwrap_err();
        assert!(
            err.contains("unknown field `revenue`") && err.contains("revenue_range"),
            "{err}"
        );
        let err = parse("[merge.headcount]\nstrategy = \"union\"\n").unwrap_err();
        assert!(err.contains("merge.headcount.strategy"), "{err}");
        let err = parse("[merge.headcount]\nsources = []\n").unwrap_err();
        assert!(
            err.contains("merge.headcount.sources: the source list is empty"),
            "{err}"
        );
        let err = parse("[merge.headcount]\nsources = [\"zoominfo\"]\n").unwrap_err();
        assert!(
            err.contains("zoominfo") && err.contains("linkedin"),
            "{err}"
        );
        let err = parse("[merge.headcount]\nsources = [\"clay\", \"clay\"]\n").unwrap_err();
        assert!(err.contains("`clay` is listed twice"), "{err}");
        let err = parse("[merge.headcount]\nstrategie = \"union\"\n").unwrap_err();
        assert!(err.contains("strategie"), "{err}");
        let err = parse("[signals]\npost_funding = 3\n").unwrap_err();
        assert!(err.contains("post_funding"), "{err}");
        assert!(parse("[merge.tech_stack]\nstrategy = \"union\"\n").is_ok());
    }

    #[test]
    fn set_rule_refuses_a_bad_rule_and_keeps_the_old_one() {
        let mut config = MergeConfig::default();
        let bad = FieldRule {
            strategy: Strategy::Union,
            sources: vec![Source::Clay],
        };
        assert_eq!(
            config.set_rule(Field::Headcount, bad),
            Err(ConfigError::UnionOnScalar {
                field: Field::Headcount
            })
        );
        assert_eq!(config, MergeConfig::default());
    }

    #[test]
    fn raw_round_trip() {
        let config = MergeConfig::default();
        let json = serde_json::to_value(&config).unwrap();
        assert_eq!(json["tech_stack"]["strategy"], "union");
        let back: MergeConfig = serde_json::from_value(json).unwrap();
        assert_eq!(back, config);
        assert_eq!(
            config.rule(Field::TechStack).to_string(),
            "union of builtwith, clay"
        );
    }
}

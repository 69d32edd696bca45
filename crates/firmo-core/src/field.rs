//! The field catalogue: the one place a firmographic field is defined. The JSON Schema,
//! the CRM property names, the merge defaults and the WASM catalogue all read it.

use serde::{Deserialize, Serialize};

use crate::source::Source;

/// A firmographic field firmo enriches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Industry,
    Headcount,
    RevenueRange,
    TechStack,
    FundingStage,
    LastFundingDate,
    LastFundingAmount,
    #[serde(rename = "employee_growth_6mo")]
    EmployeeGrowth6mo,
    RecentJobPostings,
}

/// How often a source's value for a field goes stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Refresh {
    Weekly,
    Monthly,
    Quarterly,
}

impl Refresh {
    /// The refresh interval in days.
    pub const fn days(self) -> u32 {
        match self {
            Refresh::Weekly => 7,
            Refresh::Monthly => 30,
            Refresh::Quarterly => 90,
        }
    }
}

/// One allowed value of an enumerated field: the stable internal value written to the
/// CRM, and the label a person reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct EnumOption {
    pub value: &'static str,
    pub label: &'static str,
}

/// The type of a field's value and its hard limits (a value outside them is rejected).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FieldKind {
    /// Free text, `1..=max_len` characters after trimming.
    Text { max_len: usize },
    /// Whole number in `min..=max`.
    Integer { min: i64, max: i64 },
    /// Decimal number in `min..=max`.
    Decimal { min: f64, max: f64 },
    /// One of a fixed list of options.
    Enum { options: &'static [EnumOption] },
    /// A list of names, at most `max_items`, each `1..=max_item_len` characters.
    TextList {
        max_items: usize,
        max_item_len: usize,
    },
    /// A calendar date, not before `min_year`, not after "today".
    Date { min_year: i32 },
}

/// How the merge picks a field's value from several sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// The value of the first source in precedence order that has one.
    Precedence,
    /// The union of all sources' lists (list fields only).
    Union,
    /// The most recently fetched value among the listed sources.
    Freshest,
}

/// Everything firmo knows about one field.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FieldSpec {
    pub field: Field,
    /// Stable snake_case name (JSON key, config key).
    pub name: &'static str,
    pub label: &'static str,
    pub description: &'static str,
    pub kind: FieldKind,
    pub refresh: Refresh,
    pub strategy: Strategy,
    /// Default sources, in precedence order.
    pub sources: &'static [Source],
}

/// Canonical revenue buckets (USD annual revenue), smallest first.
pub const REVENUE_BUCKETS: &[EnumOption] = &[
    EnumOption {
        value: "0_1m",
        label: "$0-$1M",
    },
    EnumOption {
        value: "1m_10m",
        label: "$1M-$10M",
    },
    EnumOption {
        value: "10m_50m",
        label: "$10M-$50M",
    },
    EnumOption {
        value: "50m_100m",
        label: "$50M-$100M",
    },
    EnumOption {
        value: "100m_250m",
        label: "$100M-$250M",
    },
    EnumOption {
        value: "250m_500m",
        label: "$250M-$500M",
    },
    EnumOption {
        value: "500m_1b",
        label: "$500M-$1B",
    },
    EnumOption {
        value: "1b_10b",
        label: "$1B-$10B",
    },
    EnumOption {
        value: "10b_plus",
        label: "$10B+",
    },
];

/// Canonical funding stages, roughly in the order a company passes them.
pub const FUNDING_STAGES: &[EnumOption] = &[
    EnumOption {
        value: "pre_seed",
        label: "Pre-seed",
    },
    EnumOption {
        value: "angel",
        label: "Angel",
    },
    EnumOption {
        value: "seed",
        label: "Seed",
    },
    EnumOption {
        value: "series_a",
        label: "Series A",
    },
    EnumOption {
        value: "series_b",
        label: "Series B",
    },
    EnumOption {
        value: "series_c",
        label: "Series C",
    },
    EnumOption {
        value: "series_d",
        label: "Series D",
    },
    EnumOption {
        value: "series_e_plus",
        label: "Series E or later",
    },
    EnumOption {
        value: "series_unknown",
        label: "Venture, series unknown",
    },
    EnumOption {
        value: "private_equity",
        label: "Private equity",
    },
    EnumOption {
        value: "corporate_round",
        label: "Corporate round",
    },
    EnumOption {
        value: "convertible_note",
        label: "Convertible note",
    },
    EnumOption {
        value: "debt",
        label: "Debt financing",
    },
    EnumOption {
        value: "grant",
        label: "Grant",
    },
    EnumOption {
        value: "public",
        label: "Public (post-IPO)",
    },
    EnumOption {
        value: "undisclosed",
        label: "Undisclosed",
    },
];

/// The nine fields, in report order.
pub const FIELDS: &[FieldSpec] = &[
    FieldSpec {
        field: Field::Industry,
        name: "industry",
        label: "Industry",
        description: "The company's industry as its best source names it.",
        kind: FieldKind::Text { max_len: 100 },
        refresh: Refresh::Weekly,
        strategy: Strategy::Precedence,
        sources: &[Source::Clay, Source::Clearbit],
    },
    FieldSpec {
        field: Field::Headcount,
        name: "headcount",
        label: "Headcount",
        description: "Number of employees.",
        kind: FieldKind::Integer {
            min: 1,
            max: 5_000_000,
        },
        refresh: Refresh::Weekly,
        strategy: Strategy::Precedence,
        sources: &[Source::Clay, Source::Clearbit, Source::LinkedIn],
    },
    FieldSpec {
        field: Field::RevenueRange,
        name: "revenue_range",
        label: "Revenue range",
        description: "Estimated annual revenue, as a canonical USD bucket.",
        kind: FieldKind::Enum {
            options: REVENUE_BUCKETS,
        },
        refresh: Refresh::Monthly,
        strategy: Strategy::Precedence,
        sources: &[Source::Clearbit],
    },
    FieldSpec {
        field: Field::TechStack,
        name: "tech_stack",
        label: "Tech stack",
        description: "Technologies in use: canonical names, deduplicated.",
        kind: FieldKind::TextList {
            max_items: 500,
            max_item_len: 100,
        },
        refresh: Refresh::Quarterly,
        strategy: Strategy::Union,
        sources: &[Source::BuiltWith, Source::Clay],
    },
    FieldSpec {
        field: Field::FundingStage,
        name: "funding_stage",
        label: "Funding stage",
        description: "Type of the latest funding round.",
        kind: FieldKind::Enum {
            options: FUNDING_STAGES,
        },
        refresh: Refresh::Weekly,
        strategy: Strategy::Precedence,
        sources: &[Source::Clay, Source::Crunchbase],
    },
    FieldSpec {
        field: Field::LastFundingDate,
        name: "last_funding_date",
        label: "Last funding date",
        description: "Announcement date of the latest funding round.",
        kind: FieldKind::Date { min_year: 1900 },
        refresh: Refresh::Weekly,
        strategy: Strategy::Precedence,
        sources: &[Source::Clay, Source::Crunchbase],
    },
    FieldSpec {
        field: Field::LastFundingAmount,
        name: "last_funding_amount",
        label: "Last funding amount (USD)",
        description: "Money raised in the latest round, in US dollars.",
        kind: FieldKind::Integer {
            min: 0,
            max: 1_000_000_000_000,
        },
        refresh: Refresh::Weekly,
        strategy: Strategy::Precedence,
        sources: &[Source::Clay, Source::Crunchbase],
    },
    FieldSpec {
        field: Field::EmployeeGrowth6mo,
        name: "employee_growth_6mo",
        label: "Employee growth, 6 months (%)",
        description: "Headcount change over the last six months, in percent (12.5 = +12.5 %).",
        kind: FieldKind::Decimal {
            min: -100.0,
            max: 1000.0,
        },
        refresh: Refresh::Weekly,
        strategy: Strategy::Precedence,
        sources: &[Source::LinkedIn],
    },
    FieldSpec {
        field: Field::RecentJobPostings,
        name: "recent_job_postings",
        label: "Recent job postings",
        description: "Open job postings seen recently.",
        kind: FieldKind::Integer {
            min: 0,
            max: 100_000,
        },
        refresh: Refresh::Weekly,
        strategy: Strategy::Precedence,
        sources: &[Source::LinkedIn],
    },
];

impl Field {
    /// Every field, in catalogue order.
    pub const ALL: [Field; 9] = [
        Field::Industry,
        Field::Headcount,
        Field::RevenueRange,
        Field::TechStack,
        Field::FundingStage,
        Field::LastFundingDate,
        Field::LastFundingAmount,
        Field::EmployeeGrowth6mo,
        Field::RecentJobPostings,
    ];

    /// This field's catalogue entry.
    pub fn spec(self) -> &'static FieldSpec {
        // FIELDS is in `Field::ALL` order; the test below holds it there.
        &FIELDS[self as usize]
    }

    pub fn name(self) -> &'static str {
        self.spec().name
    }

    pub fn label(self) -> &'static str {
        self.spec().label
    }

    pub fn kind(self) -> FieldKind {
        self.spec().kind
    }

    /// The CRM custom property firmo owns for this field (`firmo_<name>`).
    pub fn property_name(self) -> String {
        format!("{PROPERTY_PREFIX}{}", self.name())
    }

    /// Parses a field name (case-insensitive, surrounding blanks ignored).
    pub fn from_name(name: &str) -> Option<Field> {
        let name = name.trim();
        Field::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(name))
    }
}

/// A field of either catalogue (company [`Field`]s, contact
/// [`ContactField`](crate::contact::ContactField)s): what a kind-driven rule needs to
/// judge a value and name the field in its message.
pub trait CatalogueField: Copy + std::fmt::Display {
    fn kind(self) -> FieldKind;
}

impl CatalogueField for Field {
    fn kind(self) -> FieldKind {
        self.spec().kind
    }
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Prefix of every CRM property firmo owns.
pub const PROPERTY_PREFIX: &str = "firmo_";
/// The CRM property group firmo's properties live in.
pub const PROPERTY_GROUP: &str = "firmo";

/// A derived boolean signal, computed from merged fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    PostFunding,
    HiringSurge,
    CloudNative,
    ExecChange,
}

/// Catalogue entry of a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SignalSpec {
    pub signal: Signal,
    pub name: &'static str,
    pub label: &'static str,
    pub description: &'static str,
}

/// The derived signals, in report order.
pub const SIGNALS: &[SignalSpec] = &[
    SignalSpec {
        signal: Signal::PostFunding,
        name: "post_funding",
        label: "Recently funded",
        description: "Funded within the configured window (default 180 days).",
    },
    SignalSpec {
        signal: Signal::HiringSurge,
        name: "hiring_surge",
        label: "Hiring surge",
        description: "Six-month employee growth or open job postings above the configured thresholds.",
    },
    SignalSpec {
        signal: Signal::CloudNative,
        name: "cloud_native",
        label: "Cloud native",
        description: "AWS, Google Cloud or Azure in the tech stack.",
    },
    SignalSpec {
        signal: Signal::ExecChange,
        name: "exec_change",
        label: "Executive change",
        description: "A new VP Engineering or CTO within the configured window (default 90 days).",
    },
];

impl Signal {
    pub const ALL: [Signal; 4] = [
        Signal::PostFunding,
        Signal::HiringSurge,
        Signal::CloudNative,
        Signal::ExecChange,
    ];

    pub fn spec(self) -> &'static SignalSpec {
        &SIGNALS[self as usize]
    }

    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// The CRM property for this signal (`firmo_<name>`).
    pub fn property_name(self) -> String {
        format!("{PROPERTY_PREFIX}{}", self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_order_matches_enum_order() {
        assert_eq!(FIELDS.len(), Field::ALL.len());
        for (spec, field) in FIELDS.iter().zip(Field::ALL) {
            assert_eq!(spec.field, field);
            assert_eq!(serde_json::to_value(field).unwrap(), spec.name);
        }
        for (spec, signal) in SIGNALS.iter().zip(Signal::ALL) {
            assert_eq!(spec.signal, signal);
            assert_eq!(serde_json::to_value(signal).unwrap(), spec.name);
        }
    }

    #[test]
    fn property_names_are_valid_hubspot_names() {
        for name in Field::ALL
            .iter()
            .map(|f| f.property_name())
            .chain(Signal::ALL.iter().map(|s| s.property_name()))
        {
            assert!(name.starts_with("firmo_"));
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            );
        }
    }

    #[test]
    fn from_name_is_lenient_about_case_and_blanks() {
        assert_eq!(Field::from_name(" Headcount "), Some(Field::Headcount));
        assert_eq!(
            Field::from_name("employee_growth_6mo"),
            Some(Field::EmployeeGrowth6mo)
        );
        assert_eq!(Field::from_name("revenue"), None);
    }

    #[test]
    fn enum_option_values_are_unique() {
        for options in [REVENUE_BUCKETS, FUNDING_STAGES] {
            let mut values: Vec<_> = options.iter().map(|o| o.value).collect();
            values.sort_unstable();
            values.dedup();
            assert_eq!(values.len(), options.len());
        }
    }
}

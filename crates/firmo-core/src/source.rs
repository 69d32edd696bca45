//! The enrichment sources firmo knows. A source is where a value came from, which is
//! not always the provider that was called: Clay rows carry LinkedIn data, kept apart
//! as [`Source::LinkedIn`] so precedence rules can tell the two.

use serde::{Deserialize, Serialize};

/// One origin of firmographic values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Clay,
    Clearbit,
    #[serde(rename = "builtwith")]
    BuiltWith,
    Crunchbase,
    #[serde(rename = "linkedin")]
    LinkedIn,
}

impl Source {
    /// Every source, in a stable order (used for reports and iteration).
    pub const ALL: [Source; 5] = [
        Source::Clay,
        Source::Clearbit,
        Source::BuiltWith,
        Source::Crunchbase,
        Source::LinkedIn,
    ];

    /// The stable lowercase name used in config, the store and CRM properties.
    pub const fn name(self) -> &'static str {
        match self {
            Source::Clay => "clay",
            Source::Clearbit => "clearbit",
            Source::BuiltWith => "builtwith",
            Source::Crunchbase => "crunchbase",
            Source::LinkedIn => "linkedin",
        }
    }

    /// Human label for reports.
    pub const fn label(self) -> &'static str {
        match self {
            Source::Clay => "Clay",
            Source::Clearbit => "Clearbit",
            Source::BuiltWith => "BuiltWith",
            Source::Crunchbase => "Crunchbase",
            Source::LinkedIn => "LinkedIn (via Clay)",
        }
    }

    /// Parses a name as written in config files (case-insensitive).
    pub fn from_name(name: &str) -> Option<Source> {
        Source::ALL
            .into_iter()
            .find(|s| s.name().eq_ignore_ascii_case(name.trim()))
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde_and_from_name() {
        for source in Source::ALL {
            let json = serde_json::to_string(&source).unwrap();
            assert_eq!(json, format!("\"{}\"", source.name()));
            assert_eq!(serde_json::from_str::<Source>(&json).unwrap(), source);
            assert_eq!(
                Source::from_name(&source.name().to_uppercase()),
                Some(source)
            );
        }
        assert_eq!(Source::from_name("zoominfo"), None);
    }
}

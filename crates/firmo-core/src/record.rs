//! Normalized provider records: what one source said about one company, independent of
//! any provider's JSON. Adapters build these through the normalizers; the merge reads them.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use crate::field::Field;
use crate::source::Source;
use crate::value::{Date, UnixMillis, Value};

/// An executive change seen in LinkedIn data (input to the `exec_change` signal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecChange {
    /// The new executive's title as the source gives it (e.g. "VP Engineering").
    pub title: String,
    /// When the change happened (start date in the role).
    pub date: Date,
}

/// One source's canonical values for one company.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProviderRecord {
    pub source: Source,
    /// When the answer was fetched from the provider.
    pub fetched_at: UnixMillis,
    /// The fields this source supplied, already normalized to canonical values.
    pub fields: BTreeMap<Field, Value>,
    /// Executive changes (LinkedIn data only; empty otherwise).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exec_changes: Vec<ExecChange>,
}

impl ProviderRecord {
    /// An empty record for `source`, fetched at `fetched_at`.
    pub fn new(source: Source, fetched_at: UnixMillis) -> ProviderRecord {
        ProviderRecord {
            source,
            fetched_at,
            fields: BTreeMap::new(),
            exec_changes: Vec::new(),
        }
    }

    /// Sets `field` when `value` is `Some`; returns `self` for chaining.
    #[must_use]
    pub fn with(mut self, field: Field, value: Option<Value>) -> ProviderRecord {
        if let Some(value) = value {
            self.fields.insert(field, value);
        }
        self
    }

    pub fn get(&self, field: Field) -> Option<&Value> {
        self.fields.get(&field)
    }
}

#[derive(Deserialize)]
struct RawProviderRecord {
    source: Source,
    fetched_at: UnixMillis,
    #[serde(default)]
    fields: BTreeMap<Field, serde_json::Value>,
    #[serde(default)]
    exec_changes: Vec<ExecChange>,
}

impl<'de> Deserialize<'de> for ProviderRecord {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = RawProviderRecord::deserialize(deserializer)?;
        let mut fields = BTreeMap::new();
        for (field, json) in raw.fields {
            if let Some(value) = Value::from_json(field, &json).map_err(serde::de::Error::custom)? {
                fields.insert(field, value);
            }
        }
        Ok(ProviderRecord {
            source: raw.source,
            fetched_at: raw.fetched_at,
            fields,
            exec_changes: raw.exec_changes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_keeps_typed_values() {
        let json = serde_json::json!({
            "source": "crunchbase",
            "fetched_at": 1_700_000_000_000_i64,
            "fields": {
                "funding_stage": "series_b",
                "last_funding_date": "2024-05-02",
                "last_funding_amount": 25_000_000,
                "headcount": null
            }
        });
        let record: ProviderRecord = serde_json::from_value(json).unwrap();
        assert_eq!(record.source, Source::Crunchbase);
        assert_eq!(record.fields.len(), 3, "null fields are absent, not values");
        assert_eq!(
            record.get(Field::LastFundingDate),
            Some(&Value::Date(Date::new(2024, 5, 2).unwrap()))
        );
        let back: ProviderRecord =
            serde_json::from_value(serde_json::to_value(&record).unwrap()).unwrap();
        assert_eq!(back, record);
    }

    #[test]
    fn wrong_types_are_errors_naming_the_field() {
        let json = serde_json::json!({
            "source": "clay", "fetched_at": 0, "fields": {"headcount": "many"}
        });
        let err = serde_json::from_value::<ProviderRecord>(json).unwrap_err();
        assert!(err.to_string().contains("headcount"), "{err}");
    }
}

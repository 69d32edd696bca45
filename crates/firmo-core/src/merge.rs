//! The merge: per field, pick a value from several sources' normalized records under the
//! configured strategy, and remember who won and who disagreed.
//!
//! Rules every strategy shares:
//! - Only the sources listed for a field are read for it; other records are ignored for
//!   that field (BuiltWith's headcount, if it sent one, never competes).
//! - One candidate per source: when a source appears in several records, its most
//!   recently fetched record that has the field speaks for it (ties: the earlier record
//!   in the input).
//! - `precedence`: the first listed source with a value wins.
//! - `freshest`: the candidate with the latest `fetched_at` wins; ties go to the earlier
//!   source in the list.
//! - `union` (list fields): every candidate's items, de-duplicated case-insensitively (the
//!   spelling of the first source in the list is kept) and sorted case-insensitively.
//!   The winner is the first listed contributor; `fetched_at` is the latest contributor's.
//! - Disagreements: every other candidate whose value differs from the winner's (numbers
//!   differ at all, text case-insensitively, lists as case-insensitive sets), in list order.
//!   A union has none: every contributor is in the value.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::config::{CoreConfig, MergeConfig};
use crate::evaluate::{Evaluation, evaluate};
use crate::field::{Field, Strategy};
use crate::finding::Finding;
use crate::record::{ExecChange, ProviderRecord};
use crate::source::Source;
use crate::validate::parse_field_json;
use crate::value::{Date, UnixMillis, Value, describe_json};

/// A set of sources (a bitset; serialized as a list in [`Source::ALL`] order).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SourceSet(u8);

impl SourceSet {
    pub const EMPTY: SourceSet = SourceSet(0);

    pub fn single(source: Source) -> SourceSet {
        SourceSet(1 << source as u8)
    }
    pub fn insert(&mut self, source: Source) {
        self.0 |= 1 << source as u8;
    }
    pub fn contains(self, source: Source) -> bool {
        self.0 & (1 << source as u8) != 0
    }
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// The members, in [`Source::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Source> {
        Source::ALL.into_iter().filter(move |s| self.contains(*s))
    }
}

impl FromIterator<Source> for SourceSet {
    fn from_iter<I: IntoIterator<Item = Source>>(iter: I) -> Self {
        let mut set = SourceSet::EMPTY;
        for source in iter {
            set.insert(source);
        }
        set
    }
}

impl Serialize for SourceSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.len()))?;
        for source in self.iter() {
            seq.serialize_element(&source)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for SourceSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Vec::<Source>::deserialize(deserializer)?
            .into_iter()
            .collect())
    }
}

/// Another source's differing value for a field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alternative {
    pub source: Source,
    pub value: Value,
}

/// The merged value of one field and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MergedField {
    pub value: Value,
    /// The source whose value won (for a union: the first listed contributor).
    pub source: Source,
    /// Every listed source that had a value for the field (the winner included).
    pub contributors: SourceSet,
    /// When the winner's value was fetched (for a union: the latest contributor's).
    pub fetched_at: UnixMillis,
    /// Other sources whose value differs from the winner's, in precedence order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub disagreements: Vec<Alternative>,
}

/// One company's merged fields. Fields no listed source had are absent.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MergedRecord {
    pub fields: BTreeMap<Field, MergedField>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAlternative {
    source: Source,
    value: serde_json::Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMergedField {
    value: serde_json::Value,
    source: Source,
    contributors: SourceSet,
    fetched_at: UnixMillis,
    #[serde(default)]
    disagreements: Vec<RawAlternative>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMergedRecord {
    fields: BTreeMap<Field, RawMergedField>,
}

impl<'de> Deserialize<'de> for MergedRecord {
    /// Reads back what `Serialize` wrote (e.g. from the store), checking each value's type.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = RawMergedRecord::deserialize(deserializer)?;
        let typed = |field: Field, json: &serde_json::Value| -> Result<Value, D::Error> {
            Value::from_json(field, json)
                .map_err(serde::de::Error::custom)?
                .ok_or_else(|| {
                    serde::de::Error::custom(format!("{field}: a merged value can't be null"))
                })
        };
        let mut fields = BTreeMap::new();
        for (field, m) in raw.fields {
            let mut disagreements = Vec::with_capacity(m.disagreements.len());
            for alt in &m.disagreements {
                disagreements.push(Alternative {
                    source: alt.source,
                    value: typed(field, &alt.value)?,
                });
            }
            let merged = MergedField {
                value: typed(field, &m.value)?,
                source: m.source,
                contributors: m.contributors,
                fetched_at: m.fetched_at,
                disagreements,
            };
            fields.insert(field, merged);
        }
        Ok(MergedRecord { fields })
    }
}

impl MergedRecord {
    pub fn get(&self, field: Field) -> Option<&MergedField> {
        self.fields.get(&field)
    }

    pub fn value(&self, field: Field) -> Option<&Value> {
        self.fields.get(&field).map(|m| &m.value)
    }

    /// The record as the CRM would see it: `{"headcount": 120, "industry": "Software"}`.
    pub fn to_plain_json(&self) -> serde_json::Value {
        let map = self
            .fields
            .iter()
            .map(|(field, merged)| (field.name().to_owned(), merged.value.to_json()))
            .collect();
        serde_json::Value::Object(map)
    }

    /// Which source supplied which field (the `firmo_sources` property).
    pub fn sources(&self) -> BTreeMap<Field, Source> {
        self.fields.iter().map(|(f, m)| (*f, m.source)).collect()
    }
}

/// Merges one company's provider records under `config`. Never fails: a field no listed
/// source supplied is simply absent.
pub fn merge(records: &[ProviderRecord], config: &MergeConfig) -> MergedRecord {
    let mut merged = MergedRecord::default();
    merge_into(records, config, &mut merged);
    merged
}

/// [`merge`] into an existing record, reusing its allocations (strings, lists,
/// disagreement lists): the result is exactly what [`merge`] returns, whatever `out` held
/// before. For loops that merge company after company.
pub fn merge_into(records: &[ProviderRecord], config: &MergeConfig, out: &mut MergedRecord) {
    // found[field][source]: that source's freshest value for the field. One pass over the
    // input, no lookups afterwards.
    let mut found = [[None::<Candidate<'_>>; Source::ALL.len()]; Field::ALL.len()];
    for record in records {
        for (field, value) in &record.fields {
            let slot = &mut found[*field as usize][record.source as usize];
            match slot {
                Some(c) if c.fetched_at >= record.fetched_at => {}
                _ => {
                    *slot = Some(Candidate {
                        source: record.source,
                        fetched_at: record.fetched_at,
                        value,
                    });
                }
            }
        }
    }

    let mut listed = [PLACEHOLDER; Source::ALL.len()];
    for field in Field::ALL {
        let rule = config.rule(field);
        let found = &found[field as usize];
        let mut n = 0;
        for source in &rule.sources {
            if let Some(candidate) = found[*source as usize] {
                listed[n] = candidate;
                n += 1;
            }
        }
        if n == 0 {
            out.fields.remove(&field);
            continue;
        }
        match out.fields.entry(field) {
            Entry::Occupied(mut slot) => merge_field(rule.strategy, &listed[..n], slot.get_mut()),
            Entry::Vacant(slot) => {
                let mut fresh = MergedField {
                    value: NO_VALUE.clone(),
                    source: listed[0].source,
                    contributors: SourceSet::EMPTY,
                    fetched_at: listed[0].fetched_at,
                    disagreements: Vec::new(),
                };
                merge_field(rule.strategy, &listed[..n], &mut fresh);
                slot.insert(fresh);
            }
        }
    }
}

/// Sets `dst` to a copy of `src`, reusing `dst`'s buffers where the variants match.
fn assign(dst: &mut Value, src: &Value) {
    match (dst, src) {
        (Value::Text(d), Value::Text(s)) => d.clone_from(s),
        (Value::TextList(d), Value::TextList(s)) => d.clone_from(s),
        (d, s) => *d = s.clone(),
    }
}

/// One source's value for a field.
#[derive(Clone, Copy)]
struct Candidate<'a> {
    source: Source,
    fetched_at: UnixMillis,
    value: &'a Value,
}

static NO_VALUE: Value = Value::Integer(0);
const PLACEHOLDER: Candidate<'static> = Candidate {
    source: Source::Clay,
    fetched_at: UnixMillis(0),
    value: &NO_VALUE,
};

/// Merges one field from its (non-empty) candidates, in the config's source order, into
/// `m`, overwriting all of it.
fn merge_field(strategy: Strategy, listed: &[Candidate<'_>], m: &mut MergedField) {
    let first = listed[0];
    m.contributors = listed.iter().map(|c| c.source).collect();
    let winner = match strategy {
        Strategy::Precedence => first,
        Strategy::Freshest => {
            let mut best = first;
            for c in listed {
                if c.fetched_at > best.fetched_at {
                    best = *c;
                }
            }
            best
        }
        Strategy::Union => {
            if union(listed, m) {
                return;
            }
            // No candidate holds a list (a wrongly typed record): fall back to precedence so
            // validation sees and rejects the value.
            first
        }
    };
    assign(&mut m.value, winner.value);
    m.source = winner.source;
    m.fetched_at = winner.fetched_at;
    let mut k = 0;
    for c in listed {
        if c.source != winner.source && !same_value(winner.value, c.value) {
            if let Some(alt) = m.disagreements.get_mut(k) {
                alt.source = c.source;
                assign(&mut alt.value, c.value);
            } else {
                m.disagreements.push(Alternative {
                    source: c.source,
                    value: c.value.clone(),
                });
            }
            k += 1;
        }
    }
    m.disagreements.truncate(k);
}

/// The union of the candidates' lists into `m` (all but `contributors`); `false` when no
/// candidate holds a list.
fn union(listed: &[Candidate<'_>], m: &mut MergedField) -> bool {
    // `items` stays sorted and de-duplicated (case-insensitively); each source's list is
    // merged in, in precedence order, keeping the earlier spelling on ties. Provider lists
    // usually arrive sorted already, which makes each step a linear merge.
    let mut items: Vec<&String> = Vec::new();
    let mut winner = None;
    let mut fetched_at = UnixMillis(i64::MIN);
    for c in listed {
        let Value::TextList(list) = c.value else {
            continue;
        };
        winner.get_or_insert(c.source);
        fetched_at = fetched_at.max(c.fetched_at);
        let sorted = list
            .windows(2)
            .all(|w| cmp_ignore_case(&w[0], &w[1]) == Ordering::Less);
        if sorted {
            items = merge_sorted(&items, list.iter());
        } else {
            // Stable: the earliest of equal items leads its run and survives the dedup.
            let mut own: Vec<&String> = list.iter().collect();
            own.sort_by(|a, b| cmp_ignore_case(a, b));
            own.dedup_by(|later, earlier| cmp_ignore_case(later, earlier) == Ordering::Equal);
            items = merge_sorted(&items, own.into_iter());
        }
    }
    let Some(source) = winner else {
        return false;
    };
    if let Value::TextList(dst) = &mut m.value {
        dst.truncate(items.len());
        for (k, item) in items.iter().enumerate() {
            match dst.get_mut(k) {
                Some(d) => d.clone_from(item),
                None => dst.push((*item).clone()),
            }
        }
    } else {
        m.value = Value::TextList(items.into_iter().cloned().collect());
    }
    m.source = source;
    m.fetched_at = fetched_at;
    m.disagreements.clear();
    true
}

/// Merges two sorted, de-duplicated runs; on equal items the one from `first` is kept.
fn merge_sorted<'a>(
    first: &[&'a String],
    second: impl Iterator<Item = &'a String>,
) -> Vec<&'a String> {
    let mut out = Vec::with_capacity(first.len() + second.size_hint().0);
    let mut first = first.iter().copied().peekable();
    for item in second {
        while let Some(&head) = first.peek() {
            match cmp_ignore_case(head, item) {
                Ordering::Less => out.push(head),
                Ordering::Equal | Ordering::Greater => break,
            }
            first.next();
        }
        match first.peek() {
            Some(&head) if cmp_ignore_case(head, item) == Ordering::Equal => {}
            _ => out.push(item),
        }
    }
    out.extend(first);
    out
}

/// Compares two strings by their lowercase forms (Unicode-aware, no allocation).
#[allow(
    clippy::many_single_char_names,
    reason = "a comparator over two strings"
)]
pub fn cmp_ignore_case(a: &str, b: &str) -> Ordering {
    // Fast path over the common ASCII prefix: an ASCII character lowercases to exactly one
    // ASCII character, so comparing it bytewise is what the full comparison would do there.
    let (x, y) = (a.as_bytes(), b.as_bytes());
    let mut i = 0;
    while i < x.len() && i < y.len() {
        let (c, d) = (x[i], y[i]);
        if c >= 0x80 || d >= 0x80 {
            // `i` is a char boundary in both: everything before it was ASCII.
            let (a, b) = (&a[i..], &b[i..]);
            return a
                .chars()
                .flat_map(char::to_lowercase)
                .cmp(b.chars().flat_map(char::to_lowercase));
        }
        let (c, d) = (c.to_ascii_lowercase(), d.to_ascii_lowercase());
        if c != d {
            return c.cmp(&d);
        }
        i += 1;
    }
    x.len().cmp(&y.len())
}

/// Whether two values count as the same for disagreement purposes: numbers exactly, text
/// case-insensitively, lists as case-insensitive sets.
#[allow(clippy::float_cmp, reason = "numbers that differ at all disagree")]
pub fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Text(x), Value::Text(y)) => cmp_ignore_case(x, y) == Ordering::Equal,
        (Value::Integer(x), Value::Integer(y)) => x == y,
        (Value::Decimal(x), Value::Decimal(y)) => x == y,
        (Value::Integer(x), Value::Decimal(y)) | (Value::Decimal(y), Value::Integer(x)) => {
            *x as f64 == *y
        }
        (Value::Date(x), Value::Date(y)) => x == y,
        (Value::TextList(x), Value::TextList(y)) => {
            let contains = |list: &[String], item: &str| {
                list.iter()
                    .any(|other| cmp_ignore_case(other, item) == Ordering::Equal)
            };
            x.iter().all(|i| contains(y, i)) && y.iter().all(|i| contains(x, i))
        }
        _ => false,
    }
}

/// What [`merge_preview`] returns: the merged record, its findings and signals, and what
/// was wrong with the input (each problem skips only the part it is about).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MergePreview {
    pub merged: MergedRecord,
    pub findings: Vec<Finding>,
    /// The known signals only (see [`crate::evaluate`]).
    pub signals: BTreeMap<&'static str, bool>,
    pub input_errors: Vec<String>,
}

/// Reads provider records from JSON (`[{"source": "clay", "fetched_at": 0, "fields":
/// {...}, "exec_changes": [...]}, ...]`) leniently: a record with an unknown source or
/// no `fetched_at` is skipped, a field value of the wrong type or an unknown field is
/// skipped, and each skip is reported in the second list as `records[i]...: why`.
pub fn parse_provider_records(json: &serde_json::Value) -> (Vec<ProviderRecord>, Vec<String>) {
    let mut records = Vec::new();
    let mut errors = Vec::new();
    let Some(items) = json.as_array() else {
        errors.push(format!(
            "records: expected an array of provider records, got {}",
            describe_json(json)
        ));
        return (records, errors);
    };
    for (i, item) in items.iter().enumerate() {
        if let Some(record) = parse_provider_record(i, item, &mut errors) {
            records.push(record);
        }
    }
    (records, errors)
}

fn parse_provider_record(
    i: usize,
    json: &serde_json::Value,
    errors: &mut Vec<String>,
) -> Option<ProviderRecord> {
    let Some(object) = json.as_object() else {
        errors.push(format!(
            "records[{i}]: expected an object, got {}; record skipped",
            describe_json(json)
        ));
        return None;
    };
    let mut keys: Vec<&String> = object.keys().collect();
    keys.sort_unstable();
    for key in keys {
        if !["source", "fetched_at", "fields", "exec_changes"].contains(&key.as_str()) {
            errors.push(format!("records[{i}].{key}: unknown key; ignored"));
        }
    }
    let source = match object.get("source") {
        Some(serde_json::Value::String(name)) if Source::ALL.iter().any(|s| s.name() == name) => {
            Source::ALL.into_iter().find(|s| s.name() == name)
        }
        Some(serde_json::Value::String(name)) => {
            let known = Source::ALL.map(Source::name).join(", ");
            errors.push(format!(
                "records[{i}].source: unknown source {name:?} (known: {known}); record skipped"
            ));
            None
        }
        Some(other) => {
            errors.push(format!(
                "records[{i}].source: expected a source name, got {}; record skipped",
                describe_json(other)
            ));
            None
        }
        None => {
            errors.push(format!("records[{i}].source: missing; record skipped"));
            None
        }
    };
    let fetched_at = match object.get("fetched_at") {
        Some(n) if n.as_i64().is_some() => n.as_i64().map(UnixMillis),
        Some(other) => {
            errors.push(format!(
                "records[{i}].fetched_at: expected milliseconds since the epoch, got {}; record skipped",
                describe_json(other)
            ));
            None
        }
        None => {
            errors.push(format!("records[{i}].fetched_at: missing; record skipped"));
            None
        }
    };
    let (source, fetched_at) = (source?, fetched_at?);
    let mut record = ProviderRecord::new(source, fetched_at);
    match object.get("fields") {
        None | Some(serde_json::Value::Null) => {}
        Some(serde_json::Value::Object(fields)) => {
            let mut names: Vec<&String> = fields.keys().collect();
            names.sort_unstable();
            for name in names {
                let Some(field) = Field::ALL.into_iter().find(|f| f.name() == name) else {
                    errors.push(format!(
                        "records[{i}].fields.{name}: unknown field; skipped"
                    ));
                    continue;
                };
                match parse_field_json(field, &fields[name.as_str()]) {
                    Ok(Some(value)) => {
                        record.fields.insert(field, value);
                    }
                    Ok(None) => {}
                    Err(finding) => {
                        errors.push(format!("records[{i}]: {}; value skipped", finding.message));
                    }
                }
            }
        }
        Some(other) => errors.push(format!(
            "records[{i}].fields: expected an object, got {}; fields skipped",
            describe_json(other)
        )),
    }
    match object.get("exec_changes") {
        None | Some(serde_json::Value::Null) => {}
        Some(serde_json::Value::Array(changes)) => {
            for (j, change) in changes.iter().enumerate() {
                match serde_json::from_value::<ExecChange>(change.clone()) {
                    Ok(change) => record.exec_changes.push(change),
                    Err(e) => errors.push(format!("records[{i}].exec_changes[{j}]: {e}; skipped")),
                }
            }
        }
        Some(other) => errors.push(format!(
            "records[{i}].exec_changes: expected an array, got {}; skipped",
            describe_json(other)
        )),
    }
    Some(record)
}

/// [`evaluate`](crate::evaluate::evaluate) for one company's provider records given as
/// JSON, leniently read ([`parse_provider_records`]): the WASM module's `mergePreview`
/// and the fixtures' runner. The same composition a sync runs.
pub fn merge_preview(
    records: &serde_json::Value,
    config: &CoreConfig,
    today: Date,
) -> MergePreview {
    let (records, input_errors) = parse_provider_records(records);
    let Evaluation {
        merged,
        findings,
        signals,
    } = evaluate(&records, config, today);
    MergePreview {
        merged,
        findings,
        signals,
        input_errors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FieldRule;
    use crate::value::Date;

    fn rec(source: Source, at: i64) -> ProviderRecord {
        ProviderRecord::new(source, UnixMillis(at))
    }
    #[allow(clippy::unnecessary_wraps, reason = "fits ProviderRecord::with")]
    fn int(n: i64) -> Option<Value> {
        Some(Value::Integer(n))
    }
    #[allow(clippy::unnecessary_wraps, reason = "fits ProviderRecord::with")]
    fn text(s: &str) -> Option<Value> {
        Some(Value::Text(s.to_owned()))
    }
    #[allow(clippy::unnecessary_wraps, reason = "fits ProviderRecord::with")]
    fn list(items: &[&str]) -> Option<Value> {
        Some(Value::TextList(
            items.iter().map(|s| (*s).to_owned()).collect(),
        ))
    }

    #[test]
    fn precedence_takes_the_first_listed_source_and_records_disagreements() {
        let records = [
            rec(Source::LinkedIn, 3).with(Field::Headcount, int(480)),
            rec(Source::Clay, 1).with(Field::Headcount, int(120)),
            rec(Source::Clearbit, 2).with(Field::Headcount, int(120)),
        ];
        let merged = merge(&records, &MergeConfig::default());
        let headcount = merged.get(Field::Headcount).unwrap();
        assert_eq!(headcount.value, Value::Integer(120));
        assert_eq!(headcount.source, Source::Clay);
        assert_eq!(headcount.fetched_at, UnixMillis(1));
        assert_eq!(headcount.contributors.len(), 3);
        assert_eq!(
            headcount.disagreements,
            [Alternative {
                source: Source::LinkedIn,
                value: Value::Integer(480)
            }]
        );
        assert_eq!(
            merged.to_plain_json(),
            serde_json::json!({"headcount": 120})
        );
    }

    #[test]
    fn unlisted_sources_are_ignored_for_the_field() {
        let records = [
            rec(Source::BuiltWith, 1).with(Field::Headcount, int(9)),
            rec(Source::Clearbit, 1).with(Field::Industry, text("Software")),
        ];
        let merged = merge(&records, &MergeConfig::default());
        assert!(merged.get(Field::Headcount).is_none());
        assert_eq!(
            merged.get(Field::Industry).unwrap().source,
            Source::Clearbit
        );
        assert!(merge(&[], &MergeConfig::default()).fields.is_empty());
    }

    #[test]
    fn text_disagreement_ignores_case() {
        let records = [
            rec(Source::Clay, 1).with(Field::Industry, text("Software")),
            rec(Source::Clearbit, 1).with(Field::Industry, text("SOFTWARE")),
        ];
        let merged = merge(&records, &MergeConfig::default());
        assert!(
            merged
                .get(Field::Industry)
                .unwrap()
                .disagreements
                .is_empty()
        );
    }

    #[test]
    fn freshest_wins_and_ties_go_to_precedence() {
        let mut config = MergeConfig::default();
        let rule = FieldRule {
            strategy: Strategy::Freshest,
            sources: vec![Source::Clay, Source::Clearbit, Source::LinkedIn],
        };
        config.set_rule(Field::Headcount, rule).unwrap();
        let records = [
            rec(Source::Clay, 5).with(Field::Headcount, int(100)),
            rec(Source::Clearbit, 9).with(Field::Headcount, int(110)),
            rec(Source::LinkedIn, 9).with(Field::Headcount, int(120)),
        ];
        let merged = merge(&records, &config);
        let headcount = merged.get(Field::Headcount).unwrap();
        assert_eq!(
            (headcount.source, headcount.fetched_at),
            (Source::Clearbit, UnixMillis(9))
        );
        assert_eq!(headcount.disagreements.len(), 2);
    }

    #[test]
    fn a_sources_freshest_record_speaks_for_it() {
        let records = [
            rec(Source::Clay, 1).with(Field::Headcount, int(100)),
            rec(Source::Clay, 7).with(Field::Headcount, int(140)),
            rec(Source::Clay, 7).with(Field::Headcount, int(150)),
            rec(Source::Clay, 9).with(Field::Industry, text("Retail")),
        ];
        let merged = merge(&records, &MergeConfig::default());
        assert_eq!(merged.value(Field::Headcount), Some(&Value::Integer(140)));
        assert!(
            merged
                .get(Field::Headcount)
                .unwrap()
                .disagreements
                .is_empty()
        );
    }

    #[test]
    fn union_dedupes_case_insensitively_and_sorts() {
        let records = [
            rec(Source::Clay, 4).with(Field::TechStack, list(&["react", "AWS", "Stripe"])),
            rec(Source::BuiltWith, 2).with(Field::TechStack, list(&["aws", "Éclair", "React"])),
        ];
        let merged = merge(&records, &MergeConfig::default());
        let tech = merged.get(Field::TechStack).unwrap();
        assert_eq!(
            tech.value,
            list(&["aws", "React", "Stripe", "Éclair"]).unwrap(),
            "code-point order after lowercasing"
        );
        assert_eq!(tech.source, Source::BuiltWith);
        assert_eq!(tech.fetched_at, UnixMillis(4));
        assert_eq!(
            tech.contributors,
            [Source::Clay, Source::BuiltWith].into_iter().collect()
        );
        assert!(tech.disagreements.is_empty());
    }

    #[test]
    fn same_value_rules() {
        let d = |y| Value::Date(Date::new(y, 1, 1).unwrap());
        assert!(same_value(&d(2020), &d(2020)));
        assert!(!same_value(&d(2020), &d(2021)));
        assert!(same_value(&Value::Integer(3), &Value::Decimal(3.0)));
        assert!(!same_value(
            &Value::Decimal(f64::NAN),
            &Value::Decimal(f64::NAN)
        ));
        assert!(same_value(
            &list(&["A", "b"]).unwrap(),
            &list(&["B", "a", "a"]).unwrap()
        ));
        assert!(!same_value(
            &list(&["A"]).unwrap(),
            &list(&["A", "C"]).unwrap()
        ));
        assert!(same_value(
            &Value::Text("ÄRZTE".into()),
            &Value::Text("ärzte".into())
        ));
        assert!(!same_value(&Value::Text("1".into()), &Value::Integer(1)));
    }

    fn naive_cmp(a: &str, b: &str) -> Ordering {
        a.to_lowercase().chars().cmp(b.to_lowercase().chars())
    }

    fn any_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        prop_oneof![
            "[aAbB ]{0,3}".prop_map(Value::Text),
            (0..4_i64).prop_map(Value::Integer),
            proptest::collection::vec("[aAbB]{0,2}", 0..4).prop_map(Value::TextList),
        ]
    }

    fn any_records() -> impl proptest::strategy::Strategy<Value = Vec<ProviderRecord>> {
        use proptest::prelude::*;
        let record = (
            proptest::sample::select(Source::ALL.to_vec()),
            0..3_i64,
            proptest::collection::btree_map(
                proptest::sample::select(Field::ALL.to_vec()),
                any_value(),
                0..5,
            ),
        )
            .prop_map(|(source, at, fields)| ProviderRecord {
                source,
                fetched_at: UnixMillis(at),
                fields,
                exec_changes: Vec::new(),
            });
        proptest::collection::vec(record, 0..6)
    }

    proptest::proptest! {
        #[test]
        fn merge_into_a_used_record_is_a_fresh_merge(first in any_records(), second in any_records()) {
            let config = MergeConfig::default();
            let mut reused = merge(&first, &config);
            merge_into(&second, &config, &mut reused);
            proptest::prop_assert_eq!(reused, merge(&second, &config));
        }

        #[test]
        fn union_is_the_sorted_deduplicated_concatenation(
            lists in proptest::collection::vec(proptest::collection::vec("[aAbBcé]{0,2}", 0..6), 1..3),
            presort in proptest::bool::ANY,
        ) {
            let mut lists = lists;
            if presort {
                for list in &mut lists {
                    list.sort_by(|a, b| cmp_ignore_case(a, b));
                    list.dedup_by(|a, b| cmp_ignore_case(a, b).is_eq());
                }
            }
            let sources = [Source::BuiltWith, Source::Clay];
            let records: Vec<ProviderRecord> = lists
                .iter()
                .zip(sources)
                .map(|(l, s)| rec(s, 0).with(Field::TechStack, Some(Value::TextList(l.clone()))))
                .collect();
            let mut expected: Vec<&String> = lists.iter().flatten().collect();
            expected.sort_by(|a, b| cmp_ignore_case(a, b));
            expected.dedup_by(|later, earlier| cmp_ignore_case(later, earlier).is_eq());
            let expected: Vec<String> = expected.into_iter().cloned().collect();
            let merged = merge(&records, &MergeConfig::default());
            proptest::prop_assert_eq!(merged.value(Field::TechStack), Some(&Value::TextList(expected)));
        }

        #[test]
        fn cmp_ignore_case_is_the_lowercase_order(a in "[a-cA-CéÉİ ß]{0,6}", b in "[a-cA-CéÉİ ß]{0,6}") {
            proptest::prop_assert_eq!(cmp_ignore_case(&a, &b), naive_cmp(&a, &b));
        }
    }

    #[test]
    fn source_set_serializes_in_catalogue_order() {
        let set: SourceSet = [Source::LinkedIn, Source::Clay].into_iter().collect();
        assert_eq!(
            serde_json::to_value(set).unwrap(),
            serde_json::json!(["clay", "linkedin"])
        );
        assert!(set.contains(Source::Clay) && !set.contains(Source::Clearbit));
    }
}

//! The CRM interface the engine drives: pull companies (full or incremental, optionally
//! only a segment), read chosen properties by id, write properties back in batches with
//! one outcome per record, and create or check the custom properties firmo owns.
//!
//! HubSpot is the one implementation today (`firmo-hubspot`); the shapes follow its CRM
//! v3 API (every property value is a string, filters use its operators) because other
//! CRMs' APIs map onto them without loss for what firmo needs.

use std::collections::BTreeMap;
use std::fmt;

use async_trait::async_trait;
use firmo_core::{Date, UnixMillis, Value};
use serde::{Deserialize, Serialize};

use crate::error::ConnectorError;

/// One company as the CRM holds it: its id and the properties asked for. A property the
/// CRM knows but that has no value is `None`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrmCompany {
    pub id: String,
    pub properties: BTreeMap<String, Option<String>>,
    /// When the CRM last modified the record (ISO 8601, as the CRM sent it).
    pub updated_at: Option<String>,
}

impl CrmCompany {
    /// A property's value; `None` when absent or empty.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties
            .get(name)
            .and_then(Option::as_deref)
            .filter(|v| !v.is_empty())
    }
}

/// A search operator, as HubSpot names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FilterOperator {
    Eq,
    Neq,
    Gt,
    Gte,
    Lt,
    Lte,
    /// `value ≤ x ≤ high_value`.
    Between,
    /// One of `values`.
    In,
    NotIn,
    HasProperty,
    NotHasProperty,
    /// The value contains the token (word) `value`; `*` wildcards allowed.
    ContainsToken,
    NotContainsToken,
}

impl FilterOperator {
    pub const fn as_str(self) -> &'static str {
        match self {
            FilterOperator::Eq => "EQ",
            FilterOperator::Neq => "NEQ",
            FilterOperator::Gt => "GT",
            FilterOperator::Gte => "GTE",
            FilterOperator::Lt => "LT",
            FilterOperator::Lte => "LTE",
            FilterOperator::Between => "BETWEEN",
            FilterOperator::In => "IN",
            FilterOperator::NotIn => "NOT_IN",
            FilterOperator::HasProperty => "HAS_PROPERTY",
            FilterOperator::NotHasProperty => "NOT_HAS_PROPERTY",
            FilterOperator::ContainsToken => "CONTAINS_TOKEN",
            FilterOperator::NotContainsToken => "NOT_CONTAINS_TOKEN",
        }
    }
}

impl fmt::Display for FilterOperator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FilterOperator {
    /// Every operator, in HubSpot's documentation order.
    pub const ALL: [FilterOperator; 13] = [
        FilterOperator::Eq,
        FilterOperator::Neq,
        FilterOperator::Gt,
        FilterOperator::Gte,
        FilterOperator::Lt,
        FilterOperator::Lte,
        FilterOperator::Between,
        FilterOperator::In,
        FilterOperator::NotIn,
        FilterOperator::HasProperty,
        FilterOperator::NotHasProperty,
        FilterOperator::ContainsToken,
        FilterOperator::NotContainsToken,
    ];

    /// What the operator compares a property with.
    pub const fn operand(self) -> Operand {
        match self {
            FilterOperator::Between => Operand::Range,
            FilterOperator::In | FilterOperator::NotIn => Operand::List,
            FilterOperator::HasProperty | FilterOperator::NotHasProperty => Operand::None,
            _ => Operand::One,
        }
    }
}

/// The operand an operator takes: `value`, `value` + `high_value`, `values`, or nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operand {
    One,
    Range,
    List,
    None,
}

impl std::str::FromStr for FilterOperator {
    type Err = String;

    /// HubSpot's name (`NOT_IN`), case-insensitively; the error lists the known ones.
    fn from_str(s: &str) -> Result<FilterOperator, String> {
        FilterOperator::ALL
            .into_iter()
            .find(|o| o.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                let known: Vec<&str> = FilterOperator::ALL.iter().map(|o| o.as_str()).collect();
                format!("unknown operator `{s}`; known: {}", known.join(", "))
            })
    }
}

/// One condition on a property. Serializes to HubSpot's `Filter` shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    pub property_name: String,
    pub operator: FilterOperator,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high_value: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

impl Filter {
    /// A filter comparing `property` with one value (EQ, NEQ, GT, GTE, LT, LTE,
    /// CONTAINS_TOKEN, NOT_CONTAINS_TOKEN).
    pub fn compare(
        property: impl Into<String>,
        operator: FilterOperator,
        value: impl Into<String>,
    ) -> Filter {
        Filter {
            property_name: property.into(),
            operator,
            value: Some(value.into()),
            high_value: None,
            values: Vec::new(),
        }
    }

    pub fn eq(property: impl Into<String>, value: impl Into<String>) -> Filter {
        Filter::compare(property, FilterOperator::Eq, value)
    }

    pub fn between(
        property: impl Into<String>,
        low: impl Into<String>,
        high: impl Into<String>,
    ) -> Filter {
        Filter {
            property_name: property.into(),
            operator: FilterOperator::Between,
            value: Some(low.into()),
            high_value: Some(high.into()),
            values: Vec::new(),
        }
    }

    /// IN (or NOT_IN with `negate`) over `values`.
    pub fn one_of(
        property: impl Into<String>,
        values: impl IntoIterator<Item = impl Into<String>>,
        negate: bool,
    ) -> Filter {
        Filter {
            property_name: property.into(),
            operator: if negate {
                FilterOperator::NotIn
            } else {
                FilterOperator::In
            },
            value: None,
            high_value: None,
            values: values.into_iter().map(Into::into).collect(),
        }
    }

    /// HAS_PROPERTY (or NOT_HAS_PROPERTY with `negate`).
    pub fn has_property(property: impl Into<String>, negate: bool) -> Filter {
        Filter {
            property_name: property.into(),
            operator: if negate {
                FilterOperator::NotHasProperty
            } else {
                FilterOperator::HasProperty
            },
            value: None,
            high_value: None,
            values: Vec::new(),
        }
    }

    /// Whether the filter carries the operands its operator needs; `Err` says what's
    /// missing.
    pub fn check(&self) -> Result<(), String> {
        use FilterOperator as Op;
        let name = &self.property_name;
        if name.trim().is_empty() {
            return Err(format!("a {} filter has no property name", self.operator));
        }
        let ok = match self.operator {
            Op::HasProperty | Op::NotHasProperty => true,
            Op::In | Op::NotIn => !self.values.is_empty(),
            Op::Between => self.value.is_some() && self.high_value.is_some(),
            _ => self.value.is_some(),
        };
        if ok {
            Ok(())
        } else {
            Err(format!(
                "filter `{name} {}` lacks its value(s)",
                self.operator
            ))
        }
    }
}

/// Filters that must all hold (AND). A segment is a list of groups, any of which may
/// hold (OR); an empty list matches every company.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FilterGroup {
    pub filters: Vec<Filter>,
}

impl FilterGroup {
    pub fn all(filters: impl IntoIterator<Item = Filter>) -> FilterGroup {
        FilterGroup {
            filters: filters.into_iter().collect(),
        }
    }
}

/// What to pull: which properties, which companies (segment), since when.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PullRequest {
    /// Properties to return for each company.
    pub properties: Vec<String>,
    /// The segment: OR of AND-groups; empty = every company.
    pub segment: Vec<FilterGroup>,
    /// Only companies the CRM modified at or after this instant (inclusive, so a
    /// company modified in the same millisecond as the previous run's high-water mark
    /// is read again rather than skipped).
    pub modified_since: Option<UnixMillis>,
    /// Companies per page; the connector caps it at what the CRM allows. `None`: the
    /// connector's default.
    pub page_size: Option<u32>,
}

/// Where a pull stopped; hand it back to get the next page. Opaque; only valid for the
/// same [`PullRequest`] and connector.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PullCursor(String);

impl PullCursor {
    pub fn new(token: impl Into<String>) -> PullCursor {
        PullCursor(token.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One page of a pull.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullPage {
    pub companies: Vec<CrmCompany>,
    /// `None` once the pull is complete.
    pub next: Option<PullCursor>,
    /// The latest modification time among every company this pull returned so far
    /// (carried across pages); after the last page, store it and pass it as the next
    /// run's [`PullRequest::modified_since`]. `None` when nothing was returned.
    pub high_water: Option<UnixMillis>,
}

/// Sort order for a raw search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sort {
    pub property: String,
    pub descending: bool,
}

/// One raw search request (a single page; the CRM's own caps apply).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchQuery {
    pub filter_groups: Vec<FilterGroup>,
    pub sorts: Vec<Sort>,
    pub properties: Vec<String>,
    pub limit: u32,
    pub after: Option<String>,
}

/// One page of a raw search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchPage {
    pub companies: Vec<CrmCompany>,
    /// How many companies match in all.
    pub total: u64,
    /// The cursor of the next page, if any.
    pub after: Option<String>,
}

/// The answer of a batch read: the companies found, and the ids the CRM doesn't have.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BatchRead {
    pub companies: Vec<CrmCompany>,
    pub missing: Vec<String>,
}

/// Properties to set on one company. An empty string clears a property.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompanyUpdate {
    pub id: String,
    pub properties: BTreeMap<String, String>,
}

/// What became of one company's update.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteOutcome {
    Written {
        id: String,
    },
    /// Not written. When `error.stops_service()` (auth, quota) the remaining records
    /// of the call were not sent and carry the same error.
    Failed {
        id: String,
        error: ConnectorError,
    },
}

impl WriteOutcome {
    pub fn id(&self) -> &str {
        match self {
            WriteOutcome::Written { id } | WriteOutcome::Failed { id, .. } => id,
        }
    }

    pub fn is_written(&self) -> bool {
        matches!(self, WriteOutcome::Written { .. })
    }
}

/// A property's data type (HubSpot's `type`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum PropertyType {
    String,
    Number,
    /// A calendar date, written as midnight UTC.
    Date,
    DateTime,
    Enumeration,
    Bool,
    PhoneNumber,
    /// A type firmo doesn't write (e.g. `object_coordinates`, `json`).
    Other(String),
}

impl PropertyType {
    pub fn as_str(&self) -> &str {
        match self {
            PropertyType::String => "string",
            PropertyType::Number => "number",
            PropertyType::Date => "date",
            PropertyType::DateTime => "datetime",
            PropertyType::Enumeration => "enumeration",
            PropertyType::Bool => "bool",
            PropertyType::PhoneNumber => "phone_number",
            PropertyType::Other(s) => s,
        }
    }
}

impl From<String> for PropertyType {
    fn from(s: String) -> PropertyType {
        match s.as_str() {
            "string" => PropertyType::String,
            "number" => PropertyType::Number,
            "date" => PropertyType::Date,
            "datetime" => PropertyType::DateTime,
            "enumeration" => PropertyType::Enumeration,
            "bool" => PropertyType::Bool,
            "phone_number" => PropertyType::PhoneNumber,
            _ => PropertyType::Other(s),
        }
    }
}

impl From<PropertyType> for String {
    fn from(t: PropertyType) -> String {
        t.as_str().to_owned()
    }
}

impl fmt::Display for PropertyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One option of an enumeration property: `value` is what the API reads and writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropertyOption {
    pub label: String,
    pub value: String,
}

/// A property definition, as listed by the CRM or as firmo wants it created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropertyDef {
    /// Internal name (`firmo_headcount`).
    pub name: String,
    pub label: String,
    pub property_type: PropertyType,
    /// How the CRM shows it (HubSpot `fieldType`: `text`, `number`, `date`, `select`,
    /// `checkbox`, `booleancheckbox`...).
    pub field_type: String,
    pub group_name: String,
    /// Options of an enumeration, in display order.
    pub options: Vec<PropertyOption>,
    pub description: String,
    /// Defined by the CRM itself (HubSpot's `hubspotDefined`); ignored on create.
    pub crm_defined: bool,
}

/// A property group (HubSpot shows a group's properties together).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropertyGroup {
    pub name: String,
    pub label: String,
    pub display_order: Option<i32>,
}

/// What `ensure_group` / `ensure_property` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnsureOutcome {
    /// It didn't exist; now it does.
    Created,
    /// It exists as wanted.
    Unchanged,
    /// The enumeration existed without some wanted options; they were added (existing
    /// options are kept).
    OptionsAdded(Vec<String>),
    /// It exists with another type; left alone. `expected`/`found` read `type/fieldType`.
    Mismatch { expected: String, found: String },
}

/// What [`Crm::ensure_properties`] did, and the definitions it ended with, so setup
/// needs no second list to learn them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EnsuredProperties {
    /// One outcome per wanted property, in the order asked.
    pub outcomes: Vec<(String, EnsureOutcome)>,
    /// Every company property as the CRM holds it now: the listed definitions, each
    /// created or extended one replaced by the CRM's own answer for it.
    pub live: Vec<PropertyDef>,
    /// CRM calls made (first attempts; retries not counted).
    pub calls: u64,
}

/// Room left for custom properties on the company object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropertyCapacity {
    /// Custom company properties the account's tier allows.
    pub limit: u64,
    /// Custom company properties that exist.
    pub used: u64,
}

impl PropertyCapacity {
    pub fn left(&self) -> u64 {
        self.limit.saturating_sub(self.used)
    }
}

/// The rate limits the CRM announced in its last response headers (HubSpot's
/// `X-HubSpot-RateLimit-*`); `None` where it sent none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RateLimitFacts {
    /// Requests per interval (`X-HubSpot-RateLimit-Max`: 100 Free/Starter, 190 Pro and
    /// Enterprise, 250 with the capacity pack).
    pub max_per_interval: Option<u64>,
    pub interval_ms: Option<u64>,
    pub remaining_in_interval: Option<u64>,
    pub daily: Option<u64>,
    pub daily_remaining: Option<u64>,
}

/// What the CRM says about the credentials firmo uses, for `firmo doctor`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AccessFacts {
    /// The account (portal) id, when the CRM tells it.
    pub account_id: Option<String>,
    /// The token's scopes, where the CRM lets a token inspect itself; `None` where it
    /// doesn't (then `missing_scopes` is empty: unknown, not fine).
    pub scopes: Option<Vec<String>>,
    /// Scopes firmo needs that the token lacks (known only when `scopes` is).
    pub missing_scopes: Vec<String>,
    pub rate_limit: RateLimitFacts,
}

/// Why a value can't be written to a property: caught before any request, per record,
/// rather than as the CRM's 400 for the whole batch. The one preflight error every CRM's
/// encoder returns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("property `{property}` ({property_type}): {problem}")]
pub struct ValueError {
    pub property: String,
    /// `type/fieldType`, as the CRM defines the property.
    pub property_type: String,
    /// The value as it would have been sent (the first 40 characters of a long one).
    pub value: String,
    pub problem: String,
}

/// A CRM firmo can pull companies from and write properties back to.
#[async_trait]
pub trait Crm: Send + Sync {
    /// Stable name, as in config (`hubspot`).
    fn name(&self) -> &'static str;

    /// A stable key for the account (portal) this client talks to, so cursors and the
    /// write journal of two accounts never mix (`hubspot:12345`).
    async fn account_key(&self) -> Result<String, ConnectorError>;

    /// One page of companies matching `request`, after `cursor` (`None`: the first page).
    /// Every matching company is returned exactly once across the pages, however many
    /// there are and however many share a modification millisecond.
    async fn pull(
        &self,
        request: &PullRequest,
        cursor: Option<&PullCursor>,
    ) -> Result<PullPage, ConnectorError>;

    /// One raw search page (the CRM's caps apply; prefer [`Crm::pull`]).
    async fn search(&self, query: &SearchQuery) -> Result<SearchPage, ConnectorError>;

    /// Reads `properties` of the companies `ids` (any number; chunked internally).
    async fn read_companies(
        &self,
        ids: &[String],
        properties: &[String],
    ) -> Result<BatchRead, ConnectorError>;

    /// Writes `updates` (any number; chunked internally) and returns one outcome per
    /// update, in input order. `Err` only for a call that can't be sent at all (e.g. the
    /// same id twice); failures of the service land in the outcomes.
    async fn update_companies(
        &self,
        updates: &[CompanyUpdate],
    ) -> Result<Vec<WriteOutcome>, ConnectorError>;

    /// Every company property the CRM defines.
    async fn list_properties(&self) -> Result<Vec<PropertyDef>, ConnectorError>;

    /// Every company property group.
    async fn list_groups(&self) -> Result<Vec<PropertyGroup>, ConnectorError>;

    /// Creates the group unless it exists (then `Unchanged`, whatever its label).
    async fn ensure_group(&self, group: &PropertyGroup) -> Result<EnsureOutcome, ConnectorError>;

    /// Creates the property unless it exists; an existing one with another type or field
    /// type is reported as `Mismatch`, never changed; a matching enumeration gets its
    /// missing options added.
    async fn ensure_property(
        &self,
        property: &PropertyDef,
    ) -> Result<EnsureOutcome, ConnectorError>;

    /// Ensures the group and every property of `wanted` in as few calls as the CRM
    /// allows (HubSpot: list, then, only when something is missing, a capacity check, a
    /// group create and one batch create whose answer is the read-back check), with
    /// [`Crm::ensure_property`]'s rules: a mismatch is reported, never changed. Every
    /// limit is checked before anything is created (`ConnectorError::Capacity`), so a
    /// refusal leaves no half-created set. Returns one outcome per wanted property, in
    /// order, and the live definitions. The default calls `ensure_group` and
    /// `ensure_property` per property, then lists the definitions.
    async fn ensure_properties(
        &self,
        group: &PropertyGroup,
        wanted: &[PropertyDef],
    ) -> Result<EnsuredProperties, ConnectorError> {
        self.ensure_group(group).await?;
        let mut outcomes = Vec::with_capacity(wanted.len());
        for property in wanted {
            outcomes.push((property.name.clone(), self.ensure_property(property).await?));
        }
        let live = self.list_properties().await?;
        Ok(EnsuredProperties {
            outcomes,
            live,
            calls: wanted.len() as u64 + 2,
        })
    }

    /// Whether the credentials are accepted, and what the CRM tells about them (account
    /// id, scopes, rate limits). `Err(Auth)` when refused. The default knows only the
    /// account key.
    async fn access_facts(&self) -> Result<AccessFacts, ConnectorError> {
        Ok(AccessFacts {
            account_id: Some(self.account_key().await?),
            ..AccessFacts::default()
        })
    }

    /// Room left for custom company properties; `None` when the CRM doesn't say.
    async fn property_capacity(&self) -> Result<Option<PropertyCapacity>, ConnectorError> {
        Ok(None)
    }

    /// A canonical value as the string this CRM accepts for `property`, checked against
    /// its live definition (type, options, length). The one gate every value passes
    /// before it is sent; no default, since each CRM has its own formats.
    fn encode_value(&self, property: &PropertyDef, value: &Value) -> Result<String, ValueError>;

    /// Whether two strings this CRM holds for `property` are the same value (a number
    /// read back as `120.0` that was written as `120`; a date as epoch milliseconds).
    fn same_value(&self, property: &PropertyDef, a: &str, b: &str) -> bool;
}

/// Parses a CRM timestamp into epoch milliseconds: ISO 8601 (`2024-05-01T12:30:00Z`,
/// `2024-05-01T12:30:00.123Z`, `+02:00` offsets, a bare `2024-05-01`) or a decimal epoch
/// milliseconds string.
pub fn parse_timestamp(s: &str) -> Option<UnixMillis> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok().map(UnixMillis);
    }
    let (date_part, rest) = match s.find(['T', 't', ' ']) {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, ""),
    };
    let date = Date::parse_iso(date_part)?;
    let day_millis = date.midnight_utc_millis();
    if rest.is_empty() {
        return Some(UnixMillis(day_millis));
    }
    // Split the time from its zone: `Z`, `+hh:mm`, `-hh:mm` (or none: UTC).
    let (time, offset_millis) = if let Some(t) = rest.strip_suffix(['Z', 'z']) {
        (t, 0)
    } else if let Some(i) = rest.rfind(['+', '-']) {
        let zone = &rest[i + 1..];
        let sign = if rest.as_bytes()[i] == b'-' { -1 } else { 1 };
        let (h, m) = zone
            .split_once(':')
            .unwrap_or((zone.get(..2)?, zone.get(2..)?));
        let minutes = h.parse::<i64>().ok()? * 60 + m.parse::<i64>().ok()?;
        (&rest[..i], sign * minutes * 60_000)
    } else {
        (rest, 0)
    };
    let mut parts = time.splitn(3, ':');
    let hours: i64 = parts.next()?.parse().ok()?;
    let minutes: i64 = parts.next()?.parse().ok()?;
    let seconds_text = parts.next().unwrap_or("0");
    let (whole, frac) = seconds_text.split_once('.').unwrap_or((seconds_text, ""));
    let seconds: i64 = whole.parse().ok()?;
    if hours > 23 || minutes > 59 || seconds > 60 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let millis: i64 = format!("{frac:0<3}").get(..3)?.parse().ok()?;
    Some(UnixMillis(
        day_millis + ((hours * 60 + minutes) * 60 + seconds) * 1000 + millis - offset_millis,
    ))
}

/// Formats epoch milliseconds as ISO 8601 UTC with milliseconds (`2024-05-01T12:30:00.000Z`).
pub fn format_timestamp(at: UnixMillis) -> String {
    const DAY: i64 = 86_400_000;
    let day = at.0.div_euclid(DAY);
    let rem = at.0.rem_euclid(DAY);
    let date =
        Date::from_days_since_epoch(day).map_or_else(|| "0000-01-01".to_owned(), |d| d.to_string());
    format!(
        "{date}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_parse_in_every_form_hubspot_sends() {
        assert_eq!(parse_timestamp("1970-01-01T00:00:00Z"), Some(UnixMillis(0)));
        assert_eq!(
            parse_timestamp("2024-05-01T12:30:00.123Z"),
            Some(UnixMillis(1_714_566_600_123))
        );
        assert_eq!(
            parse_timestamp("2024-05-01T12:30:00.1Z"),
            Some(UnixMillis(1_714_566_600_100))
        );
        assert_eq!(
            parse_timestamp("2024-05-01T14:30:00+02:00"),
            Some(UnixMillis(1_714_566_600_000))
        );
        assert_eq!(
            parse_timestamp("1714566600123"),
            Some(UnixMillis(1_714_566_600_123))
        );
        assert_eq!(
            parse_timestamp("2024-05-01"),
            Some(UnixMillis(1_714_521_600_000))
        );
        assert_eq!(parse_timestamp("yesterday"), None);
        assert_eq!(parse_timestamp("2024-05-01T25:00:00Z"), None);
        assert_eq!(
            format_timestamp(UnixMillis(1_714_566_600_123)),
            "2024-05-01T12:30:00.123Z"
        );
        let t = UnixMillis(1_700_000_000_007);
        assert_eq!(parse_timestamp(&format_timestamp(t)), Some(t));
    }

    #[test]
    fn filters_serialize_as_hubspot_expects() {
        let f = Filter::compare("hs_lastmodifieddate", FilterOperator::Gte, "1700000000000");
        assert_eq!(
            serde_json::to_value(&f).unwrap(),
            serde_json::json!({"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": "1700000000000"})
        );
        let f = Filter::one_of("country", ["US", "CA"], true);
        assert_eq!(
            serde_json::to_value(&f).unwrap(),
            serde_json::json!({"propertyName": "country", "operator": "NOT_IN", "values": ["US", "CA"]})
        );
        assert!(
            Filter::one_of("country", Vec::<String>::new(), false)
                .check()
                .is_err()
        );
        assert!(Filter::has_property("domain", false).check().is_ok());
    }

    #[test]
    fn property_types_round_trip_unknown_ones() {
        let t: PropertyType =
            serde_json::from_value(serde_json::json!("object_coordinates")).unwrap();
        assert_eq!(t, PropertyType::Other("object_coordinates".into()));
        assert_eq!(
            serde_json::to_value(PropertyType::DateTime).unwrap(),
            "datetime"
        );
    }
}

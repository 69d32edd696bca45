//! Crunchbase API v4 JSON → the organization to fetch, then a normalized record.
//!
//! A lookup reads the search answer alone ([`parse_search_records`]): the search's
//! `field_ids` bring the organization's own funding summary, so no entity request is
//! made. [`parse_organization`] reads an entity with its round card, for callers that
//! want the rounds themselves.
//!
//! Confirmed against Crunchbase's v4 docs ("Using Search API", field types): a search
//! answers `{"count", "entities":[{"uuid", "properties":{"identifier":{"uuid",
//! "permalink", "value"}, …}}]}`; an entity lookup answers `{"properties":{…},
//! "cards":{"raised_funding_rounds":[{"identifier", "announced_on":"YYYY-MM-DD",
//! "investment_type", "money_raised":{"value","currency","value_usd"},
//! "investor_identifiers":[…]}]}}`. `money_raised` is absent for undisclosed amounts.
//!
//! The latest round is the one with the latest `announced_on`; its type gives
//! `funding_stage`, its date `last_funding_date`, its USD amount `last_funding_amount`.
//! Investors have no field in a [`ProviderRecord`]: they are logged at debug level only.
//! With no dated round, the organization's own `last_funding_type`/`last_funding_at`
//! are used.

use firmo_connect::{ConnectorError, Service};
use firmo_core::{Date, Field, ProviderRecord, Source, UnixMillis, Value, normalize};
use serde_json::{Map, Value as Json};

const SERVICE: Service = Service::Crunchbase;

/// The organizations a search on `website_url` found, one per domain in `domains`, in
/// that order: the record built from the hit whose `website_url` is the domain (the
/// first such: the search is ordered by Crunchbase rank), or `None` when no hit is.
/// With one domain asked, the first hit answers it even when its website differs (the
/// search matched it by domain). A record carries what the search's `field_ids` bring:
/// `last_funding_type`, `last_funding_at` and `last_funding_total`; no entity request
/// is needed.
pub fn parse_search_records(
    body: &[u8],
    domains: &[String],
    fetched_at: UnixMillis,
) -> Result<Vec<Option<ProviderRecord>>, ConnectorError> {
    let root = root_object(body)?;
    require_any(&root, &["entities", "count"], "a search answer")?;
    let mut records: Vec<Option<ProviderRecord>> = vec![None; domains.len()];
    let mut exact_seen = vec![false; domains.len()];
    let entities = match root.get("entities") {
        None | Some(Json::Null) => return Ok(records),
        Some(Json::Array(items)) => items,
        Some(other) => return Err(malformed("entities", &expected("an array", other))),
    };
    for (i, entity) in entities.iter().enumerate() {
        let here = format!("entities[{i}].properties");
        let properties = match entity.get("properties") {
            Some(Json::Object(p)) => p,
            None | Some(Json::Null) => continue,
            Some(other) => return Err(malformed(&here, &expected("an object", other))),
        };
        let website = website_domain(properties.get("website_url"));
        let exact = website
            .as_deref()
            .and_then(|w| domains.iter().position(|d| d == w));
        let slot = match exact {
            Some(slot) => slot,
            None if domains.len() == 1 => 0,
            None => {
                tracing::debug!(
                    provider = "crunchbase",
                    path = here,
                    "a hit for a domain firmo didn't ask about; ignored"
                );
                continue;
            }
        };
        // The best-ranked exact hit wins; a fallback hit only fills an empty slot.
        if exact_seen[slot] || (exact.is_none() && records[slot].is_some()) {
            continue;
        }
        records[slot] = Some(summary(
            ProviderRecord::new(Source::Crunchbase, fetched_at),
            properties,
            &here,
        ));
        exact_seen[slot] = exact.is_some();
    }
    Ok(records)
}

/// The normalized domain of a `website_url` (a string, or a `link` object
/// `{"value": "https://…"}`).
fn website_domain(website: Option<&Json>) -> Option<String> {
    let url = match website? {
        Json::String(url) => url.as_str(),
        Json::Object(link) => link.get("value").and_then(Json::as_str)?,
        _ => return None,
    };
    normalize::domain(url).ok()
}

/// `record` with the organization's own funding summary (`last_funding_type`,
/// `last_funding_at`, `last_funding_total`); `here` is the properties' path.
fn summary(record: ProviderRecord, properties: &Map<String, Json>, here: &str) -> ProviderRecord {
    let at = |key: &str| format!("{here}.{key}");
    let stage = string(properties, "last_funding_type", &at("last_funding_type"))
        .and_then(|t| stage(t, &at("last_funding_type")));
    let date = date_of(properties.get("last_funding_at"), &at("last_funding_at"));
    let amount = amount_usd(
        properties.get("last_funding_total"),
        &at("last_funding_total"),
    );
    record
        .with(
            Field::FundingStage,
            stage.map(|s| Value::Text(s.to_owned())),
        )
        .with(Field::LastFundingDate, date.map(Value::Date))
        .with(Field::LastFundingAmount, amount.map(Value::Integer))
}

/// Crunchbase's record from an organization entity with the `raised_funding_rounds` card.
pub fn parse_organization(
    body: &[u8],
    fetched_at: UnixMillis,
) -> Result<ProviderRecord, ConnectorError> {
    let root = root_object(body)?;
    require_any(&root, &["properties", "cards"], "an organization entity")?;
    let properties = match root.get("properties") {
        None | Some(Json::Null) => None,
        Some(Json::Object(p)) => Some(p),
        Some(other) => return Err(malformed("properties", &expected("an object", other))),
    };
    let rounds = match root.get("cards") {
        None | Some(Json::Null) => &[][..],
        Some(Json::Object(cards)) => match cards.get("raised_funding_rounds") {
            None | Some(Json::Null) => &[][..],
            Some(Json::Array(rounds)) => rounds.as_slice(),
            Some(other) => {
                return Err(malformed(
                    "cards.raised_funding_rounds",
                    &expected("an array", other),
                ));
            }
        },
        Some(other) => return Err(malformed("cards", &expected("an object", other))),
    };

    let record = ProviderRecord::new(Source::Crunchbase, fetched_at);
    if let Some((index, round, date)) = latest_round(rounds) {
        let path = format!("cards.raised_funding_rounds[{index}]");
        log_investors(round, &path);
        let stage = string(round, "investment_type", &format!("{path}.investment_type"))
            .and_then(|t| stage(t, &format!("{path}.investment_type")));
        let amount = amount_usd(round.get("money_raised"), &format!("{path}.money_raised"));
        return Ok(record
            .with(
                Field::FundingStage,
                stage.map(|s| Value::Text(s.to_owned())),
            )
            .with(Field::LastFundingDate, Some(Value::Date(date)))
            .with(Field::LastFundingAmount, amount.map(Value::Integer)));
    }
    // No dated round on the card: the organization's own summary fields.
    Ok(match properties {
        Some(properties) => summary(record, properties, "properties"),
        None => record,
    })
}

/// The round with the latest readable `announced_on` (the first of equal dates).
fn latest_round(rounds: &[Json]) -> Option<(usize, &Map<String, Json>, Date)> {
    let mut latest: Option<(usize, &Map<String, Json>, Date)> = None;
    for (i, round) in rounds.iter().enumerate() {
        let path = format!("cards.raised_funding_rounds[{i}]");
        let Json::Object(round) = round else {
            warn_dropped(&path, &expected("an object", round));
            continue;
        };
        let Some(date) = date_of(round.get("announced_on"), &format!("{path}.announced_on")) else {
            continue;
        };
        if latest.is_none_or(|(_, _, best)| date > best) {
            latest = Some((i, round, date));
        }
    }
    latest
}

/// A date field: `"YYYY-MM-DD"`, or a `date_precision` object `{"value": "YYYY-MM-DD"}`.
fn date_of(json: Option<&Json>, path: &str) -> Option<Date> {
    let text = match json {
        None | Some(Json::Null) => return None,
        Some(Json::String(s)) => s.as_str(),
        Some(Json::Object(o)) if o.get("value").is_some_and(Json::is_string) => {
            o.get("value").and_then(Json::as_str).unwrap_or_default()
        }
        Some(other) => {
            warn_dropped(path, &expected("a date", other));
            return None;
        }
    };
    normalize::date(text)
        .map_err(|e| warn_dropped(path, &e))
        .ok()
}

fn stage(investment_type: &str, path: &str) -> Option<&'static str> {
    normalize::funding_stage(investment_type)
        .map_err(|e| warn_dropped(path, &e))
        .ok()
}

/// `money_raised.value_usd` as whole dollars.
fn amount_usd(money: Option<&Json>, path: &str) -> Option<i64> {
    let money = match money {
        None | Some(Json::Null) => return None,
        Some(Json::Object(m)) => m,
        Some(other) => {
            warn_dropped(path, &expected("a money object", other));
            return None;
        }
    };
    let path = format!("{path}.value_usd");
    match money.get("value_usd") {
        None | Some(Json::Null) => None,
        Some(Json::Number(n)) => {
            let usd = n.as_i64().or_else(|| {
                n.as_f64()
                    .filter(|f| f.is_finite())
                    .map(|f| f.round() as i64)
            });
            match usd {
                Some(usd) if usd >= 0 => Some(usd),
                _ => {
                    warn_dropped(&path, &format!("{n} is not an amount"));
                    None
                }
            }
        }
        Some(other) => {
            warn_dropped(&path, &expected("a number", other));
            None
        }
    }
}

fn log_investors(round: &Map<String, Json>, path: &str) {
    let Some(Json::Array(investors)) = round.get("investor_identifiers") else {
        return;
    };
    let names: Vec<&str> = investors
        .iter()
        .filter_map(|i| i.get("value").and_then(Json::as_str))
        .collect();
    tracing::debug!(provider = "crunchbase", path, investors = ?names, "investors in the latest round");
}

fn root_object(body: &[u8]) -> Result<Map<String, Json>, ConnectorError> {
    match serde_json::from_slice(body) {
        Ok(Json::Object(map)) => Ok(map),
        Ok(other) => Err(malformed("$", &expected("an object", &other))),
        Err(e) => Err(malformed("$", &format!("not JSON: {e}"))),
    }
}

/// An answer of the right shape has at least one of `keys` (null when empty); an object
/// with none of them (`{"results": …}`, another API's JSON) is malformed, never "nothing
/// found" or an empty hit cached for a refresh window.
fn require_any(root: &Map<String, Json>, keys: &[&str], what: &str) -> Result<(), ConnectorError> {
    if keys.iter().any(|key| root.contains_key(*key)) {
        return Ok(());
    }
    let found: Vec<String> = root
        .keys()
        .take(10)
        .map(|k| format!("`{}`", k.chars().take(40).collect::<String>()))
        .collect();
    let found = if found.is_empty() {
        "none".to_owned()
    } else {
        found.join(", ")
    };
    Err(malformed(
        "$",
        &format!(
            "expected {what} with any of `{}`, got keys: {found}",
            keys.join("`, `")
        ),
    ))
}

fn string<'a>(parent: &'a Map<String, Json>, key: &str, path: &str) -> Option<&'a str> {
    match parent.get(key) {
        None | Some(Json::Null) => None,
        Some(Json::String(s)) => Some(s),
        Some(other) => {
            warn_dropped(path, &expected("a string", other));
            None
        }
    }
}

fn expected(what: &str, got: &Json) -> String {
    format!(
        "expected {what}, got {}",
        firmo_core::value::describe_json(got)
    )
}

fn warn_dropped(path: &str, why: &dyn std::fmt::Display) {
    tracing::warn!(
        provider = "crunchbase",
        path,
        "dropped a value firmo can't read: {why}"
    );
}

fn malformed(path: &str, message: &str) -> ConnectorError {
    ConnectorError::Malformed {
        service: SERVICE,
        path: path.to_owned(),
        message: message.to_owned(),
    }
}

/// A short message from a Crunchbase error body (`[{"message", "code"}]` or
/// `{"error": …}`), for error reports; `None` when there is none.
pub fn error_message(body: &[u8]) -> Option<String> {
    let json: Json = serde_json::from_slice(body).ok()?;
    let first = match &json {
        Json::Array(items) => items.first()?,
        other => other,
    };
    let message = first
        .get("message")
        .or_else(|| first.get("error"))
        .and_then(|m| {
            m.as_str()
                .map(str::to_owned)
                .or_else(|| m.get("message").and_then(Json::as_str).map(str::to_owned))
        })?;
    let code = first.get("code").and_then(Json::as_str);
    let text = match code {
        Some(code) => format!("{code}: {message}"),
        None => message,
    };
    Some(text.chars().take(300).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const AT: UnixMillis = UnixMillis(1_760_000_000_000);

    fn org(json: &Json) -> Result<ProviderRecord, ConnectorError> {
        parse_organization(json.to_string().as_bytes(), AT)
    }

    fn round(date: &Json, kind: &str, usd: &Json) -> Json {
        json!({
            "identifier": {"uuid": "r-1", "value": "Round", "entity_def_id": "funding_round"},
            "announced_on": date, "investment_type": kind,
            "money_raised": {"value": usd, "currency": "USD", "value_usd": usd},
            "investor_identifiers": [{"value": "Sequoia Capital"}, {"value": "Index Ventures"}]
        })
    }

    fn date(s: &str) -> Value {
        Value::Date(Date::parse_iso(s).unwrap())
    }

    fn search(
        body: &Json,
        domains: &[&str],
    ) -> Result<Vec<Option<ProviderRecord>>, ConnectorError> {
        let domains: Vec<String> = domains.iter().map(|d| (*d).to_owned()).collect();
        parse_search_records(body.to_string().as_bytes(), &domains, AT)
    }

    fn hit(website: &str, stage: &str, usd: i64) -> Json {
        json!({"uuid": "u", "properties": {
            "identifier": {"uuid": "u", "permalink": "p", "value": "Org"},
            "website_url": website, "last_funding_type": stage, "last_funding_at": "2024-05-02",
            "last_funding_total": {"value": usd, "currency": "USD", "value_usd": usd}
        }})
    }

    #[test]
    fn a_search_answers_each_domain_by_its_website() {
        let body = json!({"count": 3, "entities": [
            hit("https://www.b.example/", "series_a", 5_000_000),
            hit("https://holding.example", "seed", 1),
            hit("https://a.example", "series_b", 25_000_000),
            hit("https://a.example", "seed", 2),
        ]});
        let records = search(&body, &["a.example", "b.example", "c.example"]).unwrap();
        let a = records[0].as_ref().unwrap();
        assert_eq!(
            a.get(Field::FundingStage),
            Some(&Value::Text("series_b".into()))
        );
        assert_eq!(
            a.get(Field::LastFundingAmount),
            Some(&Value::Integer(25_000_000))
        );
        assert_eq!(a.get(Field::LastFundingDate), Some(&date("2024-05-02")));
        assert_eq!(
            records[1].as_ref().unwrap().get(Field::LastFundingAmount),
            Some(&Value::Integer(5_000_000))
        );
        assert!(records[2].is_none(), "no hit's website is c.example");
        // One domain asked: an exact website wins, else the first hit answers it.
        let one = search(&body, &["b.example"]).unwrap();
        assert_eq!(
            one[0].as_ref().unwrap().get(Field::FundingStage),
            Some(&Value::Text("series_a".into()))
        );
        let fallback = search(&body, &["other.example"]).unwrap();
        assert!(fallback[0].is_some());
    }

    #[test]
    fn empty_search_is_none_and_bad_search_shapes_are_malformed() {
        for empty in [
            json!({"count": 0, "entities": []}),
            json!({"count": 0}),
            json!({"entities": null}),
        ] {
            assert_eq!(search(&empty, &["x.example"]).unwrap(), vec![None]);
        }
        let path = |body: Json| match search(&body, &["x.example"]) {
            Err(ConnectorError::Malformed { path, .. }) => path,
            other => panic!("expected Malformed, got {other:?}"),
        };
        assert_eq!(path(json!({"entities": {"0": {}}})), "entities");
        assert_eq!(path(json!([])), "$");
        assert_eq!(path(json!({})), "$");
        assert_eq!(path(json!({"results": "not-a-list"})), "$");
        assert_eq!(
            path(json!({"entities": [{"properties": "Acme"}]})),
            "entities[0].properties"
        );
    }

    #[test]
    fn latest_round_gives_stage_date_and_amount() {
        let body = json!({
            "properties": {"identifier": {"permalink": "acme"}, "last_funding_type": "series_a",
                           "last_funding_at": "2021-01-01", "funding_total": {"value_usd": 40_000_000}},
            "cards": {"raised_funding_rounds": [
                round(&json!("2021-03-04"), "series_a", &json!(12_000_000)),
                round(&json!("2024-05-02"), "series_b", &json!(25_000_000.4)),
                round(&json!("2019-11-30"), "seed", &json!(2_000_000))
            ]}
        });
        let record = org(&body).unwrap();
        assert_eq!(record.source, Source::Crunchbase);
        assert_eq!(
            record.get(Field::FundingStage),
            Some(&Value::Text("series_b".into()))
        );
        assert_eq!(
            record.get(Field::LastFundingDate),
            Some(&date("2024-05-02"))
        );
        assert_eq!(
            record.get(Field::LastFundingAmount),
            Some(&Value::Integer(25_000_000))
        );
    }

    #[test]
    fn undisclosed_amount_and_unknown_type_drop_only_those_fields() {
        let body = json!({"cards": {"raised_funding_rounds": [
            {"announced_on": "2024-05-02", "investment_type": "a_kind_nobody_knows"},
            {"announced_on": {"value": "2020-01-01", "precision": "day"}, "investment_type": "seed",
             "money_raised": {"value_usd": 1_000_000}}
        ]}});
        let record = org(&body).unwrap();
        assert_eq!(
            record.get(Field::LastFundingDate),
            Some(&date("2024-05-02"))
        );
        assert_eq!(record.get(Field::FundingStage), None);
        assert_eq!(
            record.get(Field::LastFundingAmount),
            None,
            "no amount taken from an older round"
        );
    }

    #[test]
    fn rounds_without_dates_are_skipped_and_summary_fields_are_the_fallback() {
        let body = json!({
            "properties": {"last_funding_type": "seed", "last_funding_at": "2022-06-01"},
            "cards": {"raised_funding_rounds": [
                {"announced_on": null, "investment_type": "series_c"},
                {"announced_on": "someday", "investment_type": "series_d"},
                "not a round", 7
            ]}
        });
        let record = org(&body).unwrap();
        assert_eq!(
            record.get(Field::FundingStage),
            Some(&Value::Text("seed".into()))
        );
        assert_eq!(
            record.get(Field::LastFundingDate),
            Some(&date("2022-06-01"))
        );
        assert_eq!(record.get(Field::LastFundingAmount), None);
    }

    #[test]
    fn nulls_missing_keys_and_wrong_leaf_types_give_what_is_readable() {
        assert!(
            org(&json!({"properties": null, "cards": null}))
                .unwrap()
                .fields
                .is_empty()
        );
        assert!(
            org(&json!({"cards": {"raised_funding_rounds": []}}))
                .unwrap()
                .fields
                .is_empty()
        );
        let wrong = json!({"cards": {"raised_funding_rounds": [
            {"announced_on": "2023-02-03", "investment_type": 5, "money_raised": {"value_usd": "ten"}},
            {"announced_on": 20_230_101, "investment_type": "seed"}
        ]}, "extra": {"anything": [1, 2]}});
        let record = org(&wrong).unwrap();
        assert_eq!(
            record.get(Field::LastFundingDate),
            Some(&date("2023-02-03"))
        );
        assert_eq!(record.fields.len(), 1);
        let negative = json!({"cards": {"raised_funding_rounds": [
            {"announced_on": "2023-02-03", "money_raised": {"value_usd": -5}}]}});
        assert_eq!(org(&negative).unwrap().get(Field::LastFundingAmount), None);
    }

    #[test]
    fn wrong_shapes_are_malformed_naming_the_path() {
        let path = |r: Result<ProviderRecord, ConnectorError>| match r {
            Err(ConnectorError::Malformed {
                service: Service::Crunchbase,
                path,
                ..
            }) => path,
            other => panic!("expected Malformed, got {other:?}"),
        };
        assert_eq!(path(parse_organization(b"{", AT)), "$");
        // Finding 4: none of the keys firmo reads is not an organization without rounds.
        assert_eq!(path(org(&json!({}))), "$");
        let err = org(&json!({"results": "not-a-list"})).unwrap_err();
        assert!(
            err.to_string().contains("`properties`, `cards`")
                && err.to_string().contains("`results`"),
            "{err}"
        );
        assert_eq!(path(org(&json!("organization"))), "$");
        assert_eq!(path(org(&json!({"properties": []}))), "properties");
        assert_eq!(path(org(&json!({"cards": []}))), "cards");
        assert_eq!(
            path(org(&json!({"cards": {"raised_funding_rounds": {}}}))),
            "cards.raised_funding_rounds"
        );
    }

    #[test]
    fn error_message_reads_both_error_shapes() {
        assert_eq!(
            error_message(br#"[{"message":"Invalid key","code":"LA401"}]"#).as_deref(),
            Some("LA401: Invalid key")
        );
        assert_eq!(
            error_message(br#"{"error":"Rate limited"}"#).as_deref(),
            Some("Rate limited")
        );
        assert_eq!(error_message(b"<html>"), None);
    }
}

//! Clearbit Company API JSON → a normalized [`ProviderRecord`].
//!
//! The body of `GET /v2/companies/find` (confirmed against Clearbit's docs and their Ruby
//! and Node clients): a company object whose firmo-relevant keys are
//! `category.{industry, industryGroup, sector}`, `metrics.{employees, employeesRange,
//! estimatedAnnualRevenue, annualRevenue}` and `tech[]` (slugs). Any of them may be
//! `null` or absent; unknown keys are ignored.
//!
//! Policy: a *value* that can't be read (a string where a number belongs, a revenue
//! range no normalizer knows) is dropped with a warning naming the path, and the rest of
//! the record is kept — we paid for the answer. A *shape* that is wrong (the body is not
//! an object, `metrics` is a string) is [`ConnectorError::Malformed`] naming the path:
//! that is a contract break worth reporting, not a quirk of one company.

use firmo_connect::{ConnectorError, Service};
use firmo_core::{Field, ProviderRecord, Source, UnixMillis, Value, normalize};
use serde_json::{Map, Value as Json};

const SERVICE: Service = Service::Clearbit;

/// Parses a 200 body into Clearbit's record for the company.
pub fn parse_company(
    body: &[u8],
    fetched_at: UnixMillis,
) -> Result<ProviderRecord, ConnectorError> {
    let json: Json =
        serde_json::from_slice(body).map_err(|e| malformed("$", &format!("not JSON: {e}")))?;
    let Json::Object(root) = &json else {
        return Err(malformed("$", "expected a company object"));
    };
    // Clearbit's company object always carries these keys (null when unknown); an object
    // with none of them (`{"results": …}`, an error envelope, `{}`) is not a company, and
    // caching it as a hit with no fields would hide the company for a refresh window.
    if !READ_KEYS.iter().any(|key| root.contains_key(*key)) {
        return Err(malformed(
            "$",
            &format!(
                "expected a company object with any of {}, got an object with keys {}",
                READ_KEYS.join(", "),
                keys_of(root)
            ),
        ));
    }
    let category = object(root, "category", "category")?;
    let metrics = object(root, "metrics", "metrics")?;

    let industry = category.and_then(industry);
    let headcount = metrics.and_then(headcount);
    let revenue = metrics.and_then(revenue_range);
    let tech = tech_stack(root)?;

    Ok(ProviderRecord::new(Source::Clearbit, fetched_at)
        .with(Field::Industry, industry.map(Value::Text))
        .with(Field::Headcount, headcount.map(Value::Integer))
        .with(
            Field::RevenueRange,
            revenue.map(|r| Value::Text(r.to_owned())),
        )
        .with(Field::TechStack, tech.map(Value::TextList)))
}

/// The top-level keys of a company object that firmo reads.
const READ_KEYS: [&str; 3] = ["category", "metrics", "tech"];

/// At most ten of an object's keys, for messages (a garbage body can have thousands).
fn keys_of(map: &Map<String, Json>) -> String {
    if map.is_empty() {
        return "(none)".to_owned();
    }
    let mut keys: Vec<String> = map
        .keys()
        .take(10)
        .map(|k| format!("`{}`", k.chars().take(40).collect::<String>()))
        .collect();
    if map.len() > 10 {
        keys.push(format!("and {} more", map.len() - 10));
    }
    keys.join(", ")
}

/// `category.industry`, else `category.industryGroup`, else `category.sector`: the most
/// specific label Clearbit has.
fn industry(category: &Map<String, Json>) -> Option<String> {
    ["industry", "industryGroup", "sector"]
        .into_iter()
        .find_map(|key| {
            let path = format!("category.{key}");
            let text = string(category, key, &path)?;
            normalize::industry(text)
                .map_err(|e| warn_dropped(&path, &e))
                .ok()
        })
}

/// `metrics.employees`, else the midpoint of `metrics.employeesRange` ("51-250").
fn headcount(metrics: &Map<String, Json>) -> Option<i64> {
    let exact = match metrics.get("employees") {
        None | Some(Json::Null) => None,
        Some(Json::Number(n)) => {
            if let Some(n) = n.as_i64() {
                normalize::headcount(&n.to_string())
                    .map_err(|e| warn_dropped("metrics.employees", &e))
                    .ok()
            } else {
                warn_dropped("metrics.employees", &format!("{n} is not a whole number"));
                None
            }
        }
        Some(other) => {
            warn_dropped(
                "metrics.employees",
                &format!("expected a number, got {}", kind(other)),
            );
            None
        }
    };
    exact.or_else(|| {
        let range = string(metrics, "employeesRange", "metrics.employeesRange")?;
        normalize::headcount(range)
            .map_err(|e| warn_dropped("metrics.employeesRange", &e))
            .ok()
    })
}

/// `metrics.estimatedAnnualRevenue` ("$10M-$50M"), else the bucket of
/// `metrics.annualRevenue` (USD, only known for some public companies).
fn revenue_range(metrics: &Map<String, Json>) -> Option<&'static str> {
    let estimated = string(
        metrics,
        "estimatedAnnualRevenue",
        "metrics.estimatedAnnualRevenue",
    )
    .and_then(|s| {
        normalize::revenue_range(s)
            .map_err(|e| warn_dropped("metrics.estimatedAnnualRevenue", &e))
            .ok()
    });
    estimated.or_else(|| match metrics.get("annualRevenue") {
        None | Some(Json::Null) => None,
        Some(Json::Number(n)) => {
            // Clearbit sends whole dollars; a float is accepted and truncated.
            let usd = n
                .as_i64()
                .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64));
            let bucket = usd.and_then(normalize::revenue_from_usd);
            if bucket.is_none() {
                warn_dropped("metrics.annualRevenue", &format!("{n} is not a USD amount"));
            }
            bucket
        }
        Some(other) => {
            warn_dropped(
                "metrics.annualRevenue",
                &format!("expected a number, got {}", kind(other)),
            );
            None
        }
    })
}

/// `tech[]`: technology slugs, canonicalized. Non-string items are skipped; an empty
/// list gives no value (Clearbit saw nothing, which is not "uses nothing").
fn tech_stack(root: &Map<String, Json>) -> Result<Option<Vec<String>>, ConnectorError> {
    let items = match root.get("tech") {
        None | Some(Json::Null) => return Ok(None),
        Some(Json::Array(items)) => items,
        Some(other) => {
            return Err(malformed(
                "tech",
                &format!("expected an array, got {}", kind(other)),
            ));
        }
    };
    let mut slugs = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match item {
            Json::String(s) => slugs.push(s.as_str()),
            other => warn_dropped(
                &format!("tech[{i}]"),
                &format!("expected a string, got {}", kind(other)),
            ),
        }
    }
    let stack = normalize::tech_stack(slugs);
    Ok((!stack.is_empty()).then_some(stack))
}

/// A nested object, `None` when absent or null; any other type is a shape error.
fn object<'a>(
    parent: &'a Map<String, Json>,
    key: &str,
    path: &str,
) -> Result<Option<&'a Map<String, Json>>, ConnectorError> {
    match parent.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Object(map)) => Ok(Some(map)),
        Some(other) => Err(malformed(
            path,
            &format!("expected an object, got {}", kind(other)),
        )),
    }
}

/// A string leaf, `None` (with a warning for a wrong type) otherwise.
fn string<'a>(parent: &'a Map<String, Json>, key: &str, path: &str) -> Option<&'a str> {
    match parent.get(key) {
        None | Some(Json::Null) => None,
        Some(Json::String(s)) => Some(s),
        Some(other) => {
            warn_dropped(path, &format!("expected a string, got {}", kind(other)));
            None
        }
    }
}

fn kind(json: &Json) -> String {
    firmo_core::value::describe_json(json)
}

fn warn_dropped(path: &str, why: &dyn std::fmt::Display) {
    tracing::warn!(
        provider = "clearbit",
        path,
        "dropped a value firmo can't read: {why}"
    );
}

pub(crate) fn malformed(path: &str, message: &str) -> ConnectorError {
    ConnectorError::Malformed {
        service: SERVICE,
        path: path.to_owned(),
        message: message.to_owned(),
    }
}

/// The `error.message` of a Clearbit error body (`{"error":{"type","message"}}`), for
/// error messages; `None` when the body is something else.
pub fn error_message(body: &[u8]) -> Option<String> {
    let json: Json = serde_json::from_slice(body).ok()?;
    let error = json.get("error")?;
    let message = error.get("message").and_then(Json::as_str);
    let kind = error.get("type").and_then(Json::as_str);
    match (kind, message) {
        (Some(k), Some(m)) => Some(format!("{k}: {m}")),
        (None, Some(m)) => Some(m.to_owned()),
        (Some(k), None) => Some(k.to_owned()),
        (None, None) => None,
    }
    .map(|s| s.chars().take(300).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const AT: UnixMillis = UnixMillis(1_760_000_000_000);

    fn parse(json: &Json) -> Result<ProviderRecord, ConnectorError> {
        parse_company(json.to_string().as_bytes(), AT)
    }

    fn text(s: &str) -> Value {
        Value::Text(s.to_owned())
    }

    #[test]
    fn full_company_gives_all_four_fields() {
        let body = json!({
            "id": "027b0d40-016c-40ea-8925-a076fa640992",
            "name": "Acme Analytics",
            "domain": "acme-analytics.example",
            "category": {
                "sector": "Information Technology",
                "industryGroup": "Software & Services",
                "industry": "Internet Software & Services",
                "subIndustry": "Internet Software & Services",
                "sicCode": "73", "naicsCode": "51"
            },
            "tags": ["SAAS", "B2B"],
            "metrics": {
                "alexaGlobalRank": 12345, "employees": 180, "employeesRange": "51-250",
                "marketCap": null, "raised": 42_000_000, "annualRevenue": null,
                "estimatedAnnualRevenue": "$10M-$50M", "fiscalYearEnd": null
            },
            "tech": ["aws_ec2", "google_analytics", "react"],
            "techCategories": ["web_servers", "analytics"],
            "linkedin": {"handle": "company/acme-analytics"}
        });
        let record = parse(&body).unwrap();
        assert_eq!(record.source, Source::Clearbit);
        assert_eq!(record.fetched_at, AT);
        assert_eq!(
            record.get(Field::Industry),
            Some(&text("Internet Software & Services"))
        );
        assert_eq!(record.get(Field::Headcount), Some(&Value::Integer(180)));
        assert_eq!(record.get(Field::RevenueRange), Some(&text("10m_50m")));
        let expected = normalize::tech_stack(["aws_ec2", "google_analytics", "react"]);
        assert_eq!(expected.len(), 3);
        assert_eq!(
            record.get(Field::TechStack),
            Some(&Value::TextList(expected))
        );
        assert_eq!(record.fields.len(), 4);
    }

    #[test]
    fn nulls_everywhere_and_missing_keys_give_an_empty_record() {
        let nulls = json!({
            "name": null, "category": null, "metrics": null, "tech": null
        });
        assert!(parse(&nulls).unwrap().fields.is_empty());
        let inner_nulls = json!({
            "category": {"industry": null, "industryGroup": null, "sector": null},
            "metrics": {"employees": null, "employeesRange": null,
                        "estimatedAnnualRevenue": null, "annualRevenue": null},
            "tech": []
        });
        assert!(parse(&inner_nulls).unwrap().fields.is_empty());
    }

    /// Finding 4: an object with none of the keys firmo reads is not an empty company.
    #[test]
    fn an_object_without_any_key_firmo_reads_is_malformed_not_an_empty_hit() {
        for body in [
            json!({"results": "not-a-list"}),
            json!({}),
            json!({"name": "Acme", "domain": "acme.com"}),
        ] {
            let err = parse(&body).unwrap_err();
            let ConnectorError::Malformed {
                service,
                path,
                message,
            } = &err
            else {
                panic!("expected Malformed for {body}, got {err:?}");
            };
            assert_eq!((*service, path.as_str()), (Service::Clearbit, "$"));
            assert!(message.contains("category, metrics, tech"), "{message}");
        }
        let err = parse(&json!({"results": "not-a-list"})).unwrap_err();
        assert!(err.to_string().contains("`results`"), "{err}");
        // Thousands of keys are not all echoed.
        let many: Map<String, Json> = (0..5000).map(|i| (format!("k{i}"), Json::Null)).collect();
        let err = parse(&Json::Object(many)).unwrap_err();
        assert!(err.to_string().contains("and 4990 more"), "{err}");
        assert!(err.to_string().len() < 600, "{err}");
    }

    #[test]
    fn falls_back_to_broader_category_range_and_reported_revenue() {
        let body = json!({
            "category": {"industry": null, "industryGroup": "  Software &  Services ", "sector": "IT"},
            "metrics": {"employees": null, "employeesRange": "51-250",
                        "estimatedAnnualRevenue": null, "annualRevenue": 75_000_000}
        });
        let record = parse(&body).unwrap();
        assert_eq!(
            record.get(Field::Industry),
            Some(&text("Software & Services"))
        );
        let midpoint = normalize::headcount("51-250").ok().map(Value::Integer);
        assert_eq!(record.get(Field::Headcount), midpoint.as_ref());
        assert_eq!(record.get(Field::RevenueRange), Some(&text("50m_100m")));
    }

    #[test]
    fn wrong_leaf_types_are_dropped_and_the_rest_kept() {
        let body = json!({
            "category": {"industry": 42, "sector": "Information Technology"},
            "metrics": {"employees": "180", "employeesRange": true,
                        "estimatedAnnualRevenue": 10, "annualRevenue": "lots"},
            "tech": [1, "react", null, {"slug": "vue"}],
            "unexpected": {"deeply": ["nested", 1]}
        });
        let record = parse(&body).unwrap();
        assert_eq!(
            record.get(Field::Industry),
            Some(&text("Information Technology"))
        );
        assert_eq!(record.get(Field::Headcount), None);
        assert_eq!(record.get(Field::RevenueRange), None);
        assert_eq!(
            record.get(Field::TechStack),
            Some(&Value::TextList(normalize::tech_stack(["react"])))
        );
    }

    #[test]
    fn fractional_or_negative_employee_counts_are_not_headcounts() {
        let record = parse(&json!({"metrics": {"employees": 12.5}})).unwrap();
        assert_eq!(record.get(Field::Headcount), None);
    }

    #[test]
    fn wrong_shapes_are_malformed_naming_the_path() {
        let path = |r: Result<ProviderRecord, ConnectorError>| match r {
            Err(ConnectorError::Malformed {
                service: Service::Clearbit,
                path,
                ..
            }) => path,
            other => panic!("expected Malformed, got {other:?}"),
        };
        assert_eq!(path(parse_company(b"<html>502</html>", AT)), "$");
        assert_eq!(path(parse_company(b"", AT)), "$");
        assert_eq!(path(parse(&json!([{"name": "Acme"}]))), "$");
        assert_eq!(path(parse(&json!({"metrics": "lots"}))), "metrics");
        assert_eq!(path(parse(&json!({"category": ["Software"]}))), "category");
        assert_eq!(path(parse(&json!({"tech": {"react": true}}))), "tech");
    }

    #[test]
    fn error_message_reads_clearbit_error_envelope() {
        let body = br#"{"error":{"type":"unknown_record","message":"Unknown domain"}}"#;
        assert_eq!(
            error_message(body).as_deref(),
            Some("unknown_record: Unknown domain")
        );
        assert_eq!(error_message(b"oops"), None);
    }
}

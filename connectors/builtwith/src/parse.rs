//! BuiltWith Domain API JSON → a [`LookupOutcome`].
//!
//! Shape (confirmed against BuiltWith's API docs and its official C# client's
//! `DomainAPI` classes): `{"Results":[{"Result":{"Paths":[{"Domain","Url","SubDomain",
//! "Technologies":[{"Name","Tag","Categories","FirstDetected","LastDetected",…}]}],
//! "IsDB","Spend"},"Meta",…,"Lookup"}],"Errors":[{"Lookup","Message","Code"}]}`, with
//! `FirstDetected`/`LastDetected` in epoch milliseconds.
//!
//! Errors often arrive inside an HTTP 200 (`Errors[]` non-empty, `Results` empty); their
//! `Code` values are documented on BuiltWith's error-code page: -2 bad key (not a GUID),
//! -3 out of API credits, -5 plan limit reached, -7 one lookup at a time, -8 root domain
//! invalid or unsupported, -99 internal error. The message is read first (keywords
//! "credit", "key", "domain"/"not found", "rate"; assumed wording) and the code only
//! when the message says nothing firmo recognises: codes differ between BuiltWith's
//! APIs and versions, the message does not lie about what happened.
//!
//! Only technologies last detected within the configured window of the fetch time count
//! (a site that dropped Google Analytics two years ago doesn't use it). Policy on bad
//! data, as for every adapter: unreadable values are dropped with a warning naming the
//! path; a wrong shape is [`ConnectorError::Malformed`] naming the path.

use firmo_connect::{ConnectorError, LookupOutcome, Service};
use firmo_core::{Field, ProviderRecord, Source, UnixMillis, Value, normalize};
use serde_json::{Map, Value as Json};

const SERVICE: Service = Service::BuiltWith;

/// One domain's answer read from a Domain API body, and whether BuiltWith billed it:
/// it bills "per website call that returns a successful non-error result", so a
/// domain with a `Result` costs a credit and one answered by an `Errors[]` entry doesn't.
#[derive(Debug, Clone, PartialEq)]
pub struct DomainAnswer {
    pub outcome: Result<LookupOutcome, ConnectorError>,
    pub billed: bool,
}

/// Reads a 200 body of a one-domain lookup. `live_window_millis`: how long before
/// `fetched_at` a technology may have been last detected and still count.
pub fn parse_domain(
    body: &[u8],
    fetched_at: UnixMillis,
    live_window_millis: i64,
) -> Result<LookupOutcome, ConnectorError> {
    let mut answers = parse_lookups(body, &[String::new()], fetched_at, live_window_millis);
    answers
        .pop()
        .map_or(Ok(LookupOutcome::NotFound), |a| a.outcome)
}

/// Reads a 200 body of a multi-domain lookup (`LOOKUP=a,b,c`): one answer per domain in
/// `domains`, in that order. Results and errors are matched to domains by their
/// `Lookup`; with a single domain asked, everything in the body is its answer. A domain
/// the body says nothing about is not found; an error without a `Lookup` (a bad key, no
/// credits) answers every domain; a body that can't be read fails every domain.
pub fn parse_lookups(
    body: &[u8],
    domains: &[String],
    fetched_at: UnixMillis,
    live_window_millis: i64,
) -> Vec<DomainAnswer> {
    let mut answers: Vec<Option<DomainAnswer>> = vec![None; domains.len()];
    let whole = read_lookups(body, domains, &mut answers, fetched_at, live_window_millis);
    answers
        .into_iter()
        .map(|answer| match (&whole, answer) {
            (Err(e), None) => DomainAnswer {
                outcome: Err(e.clone()),
                billed: false,
            },
            (Ok(Some(error)), None) => DomainAnswer {
                outcome: outcome_of_error(error),
                billed: false,
            },
            (_, Some(answer)) => answer,
            // The body says nothing about the domain: BuiltWith has nothing on it.
            (Ok(None), None) => DomainAnswer {
                outcome: Ok(LookupOutcome::NotFound),
                billed: false,
            },
        })
        .collect()
}

/// Fills `answers` from the body; returns the error every unanswered domain gets (a
/// body that can't be read, or an `Errors[]` entry for the whole call).
fn read_lookups(
    body: &[u8],
    domains: &[String],
    answers: &mut [Option<DomainAnswer>],
    fetched_at: UnixMillis,
    live_window_millis: i64,
) -> Result<Option<Json>, ConnectorError> {
    let json: Json =
        serde_json::from_slice(body).map_err(|e| malformed("$", &format!("not JSON: {e}")))?;
    let Json::Object(root) = &json else {
        return Err(malformed(
            "$",
            "expected an object with `Results` and `Errors`",
        ));
    };
    // Every Domain API answer has `Results` or `Errors` (null when empty); an object with
    // neither is something else (a proxy's JSON, another API) and must not be cached as
    // "BuiltWith has nothing on this domain".
    if !root.contains_key("Results") && !root.contains_key("Errors") {
        return Err(malformed(
            "$",
            "expected an object with `Results` or `Errors`, got neither",
        ));
    }
    let errors = array(root, "Errors", "Errors")?;
    let results = array(root, "Results", "Results")?;
    let single = domains.len() == 1;
    // Which asked domain a `Lookup` names (any, when one domain was asked).
    let slot = |lookup: Option<&Json>| -> Option<usize> {
        if single {
            return Some(0);
        }
        let named = lookup
            .and_then(Json::as_str)
            .map(|l| l.trim().to_ascii_lowercase())?;
        domains.iter().position(|d| d.eq_ignore_ascii_case(&named))
    };
    for (i, item) in results.iter().enumerate() {
        let here = format!("Results[{i}]");
        let Json::Object(item) = item else {
            return Err(malformed(&here, "expected an object"));
        };
        let Some(at) = slot(item.get("Lookup")) else {
            tracing::warn!(
                provider = "builtwith",
                path = here,
                "a result for a domain firmo didn't ask about; ignored"
            );
            continue;
        };
        if answers[at].is_some() {
            continue;
        }
        answers[at] = Some(match item.get("Result") {
            None | Some(Json::Null) => DomainAnswer {
                outcome: Ok(LookupOutcome::NotFound),
                billed: false,
            },
            Some(Json::Object(result)) => DomainAnswer {
                outcome: read_result(result, &here, fetched_at, live_window_millis),
                billed: true,
            },
            Some(other) => DomainAnswer {
                outcome: Err(malformed(
                    &format!("{here}.Result"),
                    &expected("an object", other),
                )),
                billed: false,
            },
        });
    }
    let mut whole = None;
    for error in errors {
        let lookup = error.get("Lookup").filter(|l| !l.is_null());
        match lookup.and_then(|l| slot(Some(l))).or(single.then_some(0)) {
            Some(at) if answers[at].is_none() => {
                answers[at] = Some(DomainAnswer {
                    outcome: outcome_of_error(error),
                    billed: false,
                });
            }
            Some(_) => tracing::warn!(
                provider = "builtwith",
                "a result came with errors; using the result"
            ),
            None if lookup.is_none() && whole.is_none() => whole = Some(error.clone()),
            None => {}
        }
    }
    Ok(whole)
}

/// One `Result` object → the domain's outcome; `here` is its `Results[i]` path.
fn read_result(
    result: &Map<String, Json>,
    here: &str,
    fetched_at: UnixMillis,
    live_window_millis: i64,
) -> Result<LookupOutcome, ConnectorError> {
    let paths = array(result, "Paths", &format!("{here}.Result.Paths"))?;
    let window_start = fetched_at.0.saturating_sub(live_window_millis);
    let mut seen = 0_usize;
    let mut live = Vec::new();
    for (i, path) in paths.iter().enumerate() {
        let here = format!("{here}.Result.Paths[{i}]");
        let Json::Object(path) = path else {
            return Err(malformed(&here, &expected("an object", path)));
        };
        let technologies = array(path, "Technologies", &format!("{here}.Technologies"))?;
        for (j, tech) in technologies.iter().enumerate() {
            let at = format!("{here}.Technologies[{j}]");
            let Some(tech) = technology(tech, &at) else {
                continue;
            };
            seen += 1;
            if tech.last_detected >= window_start {
                tracing::debug!(
                    provider = "builtwith",
                    name = tech.name,
                    tag = tech.tag,
                    "live technology"
                );
                live.push(tech.name);
            }
        }
    }
    if seen == 0 {
        return Ok(LookupOutcome::NotFound);
    }
    let stack = normalize::tech_stack(live);
    let record = ProviderRecord::new(Source::BuiltWith, fetched_at).with(
        Field::TechStack,
        (!stack.is_empty()).then_some(Value::TextList(stack)),
    );
    Ok(LookupOutcome::Found(vec![record]))
}

/// The parts of one `Technologies[]` item firmo uses.
struct Technology<'a> {
    name: &'a str,
    tag: &'a str,
    last_detected: i64,
}

/// One technology, or `None` (with a warning) when it lacks a name or a detection date.
fn technology<'a>(json: &'a Json, path: &str) -> Option<Technology<'a>> {
    let Json::Object(tech) = json else {
        warn_dropped(path, &expected("an object", json));
        return None;
    };
    let name = match tech.get("Name") {
        Some(Json::String(name)) if !name.trim().is_empty() => name,
        other => {
            warn_dropped(
                &format!("{path}.Name"),
                &expected("a name", other.unwrap_or(&Json::Null)),
            );
            return None;
        }
    };
    let last_detected = match tech.get("LastDetected") {
        Some(Json::Number(n)) if n.as_i64().is_some() => n.as_i64().unwrap_or_default(),
        other => {
            let why = expected("epoch milliseconds", other.unwrap_or(&Json::Null));
            warn_dropped(&format!("{path}.LastDetected"), &why);
            return None;
        }
    };
    let tag = tech.get("Tag").and_then(Json::as_str).unwrap_or("");
    Some(Technology {
        name,
        tag,
        last_detected,
    })
}

/// What an `Errors[]` entry means for the lookup.
fn outcome_of_error(error: &Json) -> Result<LookupOutcome, ConnectorError> {
    let message = error
        .get("Message")
        .and_then(Json::as_str)
        .unwrap_or("")
        .trim();
    let code = match error.get("Code") {
        Some(Json::Number(n)) => n.as_i64(),
        Some(Json::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    let said = if message.is_empty() {
        "no message".to_owned()
    } else {
        cut(message)
    };
    let lower = message.to_ascii_lowercase();
    let by_code = match code {
        Some(-2) => Some(Kind::Auth),
        Some(-3 | -5) => Some(Kind::Quota),
        Some(-7) => Some(Kind::RateLimited),
        Some(-8) => Some(Kind::NotFound),
        Some(-99) => Some(Kind::Server),
        _ => None,
    };
    // The message decides first: BuiltWith's code table is shared by all its APIs and
    // codes have shifted between versions, while the message says what happened.
    let by_message = if lower.contains("credit") || lower.contains("upgrade") {
        Some(Kind::Quota)
    } else if lower.contains("key") {
        Some(Kind::Auth)
    } else if lower.contains("domain") || lower.contains("not found") || lower.contains("no result")
    {
        Some(Kind::NotFound)
    } else if lower.contains("rate") || lower.contains("too many") || lower.contains("one lookup") {
        Some(Kind::RateLimited)
    } else {
        None
    };
    let kind = by_message.or(by_code).unwrap_or(Kind::Other);
    let message = match code {
        Some(code) => format!("error {code}: {said}"),
        None => said,
    };
    match kind {
        Kind::NotFound => {
            tracing::info!(
                provider = "builtwith",
                "BuiltWith has no data for the domain ({message})"
            );
            Ok(LookupOutcome::NotFound)
        }
        Kind::Auth => Err(ConnectorError::Auth {
            service: SERVICE,
            message,
        }),
        Kind::Quota => Err(ConnectorError::QuotaExhausted {
            service: SERVICE,
            message,
        }),
        Kind::RateLimited => Err(ConnectorError::RateLimited {
            service: SERVICE,
            policy: message,
            retry_after: None,
        }),
        Kind::Server => Err(ConnectorError::Server {
            service: SERVICE,
            status: 200,
            message,
        }),
        Kind::Other => Err(ConnectorError::Unexpected {
            service: SERVICE,
            status: 200,
            message,
        }),
    }
}

enum Kind {
    NotFound,
    Auth,
    Quota,
    RateLimited,
    Server,
    Other,
}

/// A JSON array under `key`, empty when absent or null; another type is a shape error.
fn array<'a>(
    parent: &'a Map<String, Json>,
    key: &str,
    path: &str,
) -> Result<&'a [Json], ConnectorError> {
    match parent.get(key) {
        None | Some(Json::Null) => Ok(&[]),
        Some(Json::Array(items)) => Ok(items),
        Some(other) => Err(malformed(path, &expected("an array", other))),
    }
}

fn expected(what: &str, got: &Json) -> String {
    format!(
        "expected {what}, got {}",
        firmo_core::value::describe_json(got)
    )
}

fn cut(s: &str) -> String {
    s.chars().take(300).collect()
}

fn warn_dropped(path: &str, why: &dyn std::fmt::Display) {
    tracing::warn!(
        provider = "builtwith",
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DAY: i64 = 86_400_000;
    const NOW: UnixMillis = UnixMillis(1_760_000_000_000);
    const WINDOW: i64 = 90 * DAY;

    fn parse(json: &Json) -> Result<LookupOutcome, ConnectorError> {
        parse_domain(json.to_string().as_bytes(), NOW, WINDOW)
    }

    fn tech(name: &str, tag: &str, days_ago: i64) -> Json {
        json!({
            "Name": name, "Tag": tag, "Categories": ["Some Category"],
            "FirstDetected": NOW.0 - 900 * DAY, "LastDetected": NOW.0 - days_ago * DAY,
            "IsPremium": "no", "Link": "https://example.invalid", "Description": "…"
        })
    }

    fn body(paths: &Json) -> Json {
        json!({
            "Results": [{
                "Result": {"IsDB": "True", "Spend": 1234, "Paths": paths},
                "Meta": {"CompanyName": "Acme Analytics", "Vertical": "Technology"},
                "Attributes": {"Employees": 0},
                "FirstIndexed": NOW.0 - 2000 * DAY, "LastIndexed": NOW.0 - DAY,
                "Lookup": "acme-analytics.example"
            }],
            "Errors": []
        })
    }

    fn stack(outcome: LookupOutcome) -> Option<Vec<String>> {
        let LookupOutcome::Found(records) = outcome else {
            panic!("expected Found, got {outcome:?}")
        };
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].source, Source::BuiltWith);
        match records[0].get(Field::TechStack) {
            Some(Value::TextList(names)) => Some(names.clone()),
            None => None,
            other => panic!("tech stack of the wrong type: {other:?}"),
        }
    }

    #[test]
    fn only_live_technologies_across_paths_count() {
        let outcome = parse(&body(&json!([
            {"Domain": "acme-analytics.example", "Url": "", "SubDomain": "",
             "Technologies": [tech("Google Analytics", "analytics", 3), tech("WordPress", "cms", 10),
                              tech("Amazon CloudFront", "cdn", 89), tech("Flash", "media", 800)]},
            {"Domain": "acme-analytics.example", "Url": "", "SubDomain": "blog",
             "Technologies": [tech("WordPress", "cms", 1), tech("jQuery", "javascript", 91)]}
        ])))
        .unwrap();
        assert_eq!(
            stack(outcome),
            Some(normalize::tech_stack([
                "Google Analytics",
                "WordPress",
                "Amazon CloudFront"
            ]))
        );
    }

    #[test]
    fn the_window_is_configurable() {
        let json = body(&json!([{"Technologies": [tech("Shopify", "ecommerce", 30)]}]));
        let narrow = parse_domain(json.to_string().as_bytes(), NOW, 7 * DAY).unwrap();
        assert_eq!(
            stack(narrow),
            None,
            "known but not live: a record without a stack"
        );
        let wide = parse_domain(json.to_string().as_bytes(), NOW, 31 * DAY).unwrap();
        assert_eq!(stack(wide), Some(normalize::tech_stack(["Shopify"])));
    }

    #[test]
    fn empty_results_nulls_and_no_technologies_are_not_found() {
        for empty in [
            json!({"Results": [], "Errors": []}),
            json!({"Results": null, "Errors": null}),
            json!({"Results": [{"Result": null, "Lookup": "x.example"}]}),
            body(&json!([])),
            body(&json!(null)),
            body(&json!([{"Technologies": []}, {"Technologies": null}])),
        ] {
            assert_eq!(parse(&empty).unwrap(), LookupOutcome::NotFound, "{empty}");
        }
    }

    #[test]
    fn unreadable_technologies_are_skipped_and_extra_fields_ignored() {
        let outcome = parse(&body(&json!([{"Technologies": [
            "React",
            {"Name": null, "LastDetected": NOW.0},
            {"Name": "Vue", "LastDetected": "yesterday"},
            {"Name": "Stripe", "LastDetected": NOW.0 - DAY, "Brand": {"new": "field"}},
            {"Name": "   ", "LastDetected": NOW.0}
        ]}])))
        .unwrap();
        assert_eq!(stack(outcome), Some(normalize::tech_stack(["Stripe"])));
    }

    #[test]
    fn errors_inside_a_200_map_by_message_then_code() {
        let with_error = |code: Json, message: &str| {
            parse(&json!({"Results": [], "Errors": [
                {"Lookup": "acme.example", "Message": message, "Code": code}
            ]}))
        };
        assert_eq!(
            with_error(json!(-8), "Root domain invalid").unwrap(),
            LookupOutcome::NotFound
        );
        let auth = with_error(json!(-2), "API Key incorrect - it needs to be a GUID").unwrap_err();
        assert!(
            matches!(auth, ConnectorError::Auth { .. }) && auth.stops_service(),
            "{auth:?}"
        );
        let quota = with_error(json!("-3"), "You are out of API credits").unwrap_err();
        assert!(matches!(quota, ConnectorError::QuotaExhausted { .. }) && quota.stops_service());
        assert!(
            with_error(json!(-99), "Internal error")
                .unwrap_err()
                .is_transient()
        );
        assert!(matches!(
            with_error(json!(-7), "Only one lookup at a time").unwrap_err(),
            ConnectorError::RateLimited { .. }
        ));
        // No code: the message decides.
        let by_message = with_error(Json::Null, "Invalid API key").unwrap_err();
        assert!(matches!(by_message, ConnectorError::Auth { .. }));
        assert!(matches!(
            with_error(Json::Null, "Not enough credits remaining").unwrap_err(),
            ConnectorError::QuotaExhausted { .. }
        ));
        assert_eq!(
            with_error(Json::Null, "Domain not found").unwrap(),
            LookupOutcome::NotFound
        );
        assert!(matches!(
            with_error(json!(-6), "Saving technology usage failed").unwrap_err(),
            ConnectorError::Unexpected { status: 200, .. }
        ));
        // The message wins over a code that says otherwise; the code decides alone
        // when the message is silent.
        assert!(matches!(
            with_error(json!(-2), "No API credits remaining.").unwrap_err(),
            ConnectorError::QuotaExhausted { .. }
        ));
        assert!(matches!(
            with_error(json!(-1), "Invalid API key.").unwrap_err(),
            ConnectorError::Auth { .. }
        ));
        assert_eq!(
            with_error(json!(-10), "Domain not in our system.").unwrap(),
            LookupOutcome::NotFound
        );
        assert!(matches!(
            with_error(json!(-2), "").unwrap_err(),
            ConnectorError::Auth { .. }
        ));
        assert_eq!(with_error(json!(-8), "").unwrap(), LookupOutcome::NotFound);
    }

    #[test]
    fn a_multi_lookup_answers_each_domain_by_its_lookup() {
        let domains: Vec<String> = ["a.example", "b.example", "c.example", "d.example"]
            .map(String::from)
            .to_vec();
        let mut found = body(&json!([{"Technologies": [tech("React", "javascript", 2)]}]));
        found["Results"][0]["Lookup"] = json!("C.example");
        let mut unreadable = body(&json!({"Technologies": []}));
        unreadable["Results"][0]["Lookup"] = json!("a.example");
        let json = json!({
            "Results": [found["Results"][0], unreadable["Results"][0]],
            "Errors": [{"Lookup": "b.example", "Message": "Domain not in our system.", "Code": -10}]
        });
        let answers = parse_lookups(json.to_string().as_bytes(), &domains, NOW, WINDOW);
        assert!(
            matches!(&answers[0].outcome, Err(ConnectorError::Malformed { path, .. }) if path == "Results[1].Result.Paths"),
            "{:?}",
            answers[0]
        );
        assert_eq!(answers[1].outcome, Ok(LookupOutcome::NotFound));
        assert_eq!(
            stack(answers[2].outcome.clone().unwrap()),
            Some(normalize::tech_stack(["React"]))
        );
        assert_eq!(
            answers[3].outcome,
            Ok(LookupOutcome::NotFound),
            "not mentioned"
        );
        let billed: Vec<bool> = answers.iter().map(|a| a.billed).collect();
        assert_eq!(
            billed,
            [true, false, true, false],
            "a credit per result returned"
        );

        // An error without a `Lookup` answers every domain.
        let bad_key = json!({"Results": null, "Errors": [{"Lookup": null, "Message": "Invalid API key.", "Code": -2}]});
        let answers = parse_lookups(bad_key.to_string().as_bytes(), &domains, NOW, WINDOW);
        assert!(
            answers
                .iter()
                .all(|a| matches!(a.outcome, Err(ConnectorError::Auth { .. })) && !a.billed)
        );
        // A body that isn't JSON fails every domain.
        let answers = parse_lookups(b"<html>", &domains, NOW, WINDOW);
        assert!(answers.iter().all(
            |a| matches!(&a.outcome, Err(ConnectorError::Malformed { path, .. }) if path == "$")
        ));
    }

    #[test]
    fn wrong_shapes_are_malformed_naming_the_path() {
        let path = |r: Result<LookupOutcome, ConnectorError>| match r {
            Err(ConnectorError::Malformed {
                service: Service::BuiltWith,
                path,
                ..
            }) => path,
            other => panic!("expected Malformed, got {other:?}"),
        };
        assert_eq!(path(parse_domain(b"Invalid request", NOW, WINDOW)), "$");
        assert_eq!(path(parse(&json!([1, 2]))), "$");
        // Finding 4: an object of another shape is not "nothing on this domain".
        assert_eq!(path(parse(&json!({}))), "$");
        assert_eq!(path(parse(&json!({"results": "not-a-list"}))), "$");
        assert_eq!(path(parse(&json!({"Results": {"Result": {}}}))), "Results");
        assert_eq!(
            path(parse(&json!({"Results": [], "Errors": "none"}))),
            "Errors"
        );
        assert_eq!(path(parse(&json!({"Results": ["x"]}))), "Results[0]");
        assert_eq!(
            path(parse(&json!({"Results": [{"Result": 5}]}))),
            "Results[0].Result"
        );
        assert_eq!(
            path(parse(&body(&json!({"Technologies": []})))),
            "Results[0].Result.Paths"
        );
        assert_eq!(
            path(parse(&body(&json!([
                {"Technologies": []},
                {"Technologies": "many"}
            ])))),
            "Results[0].Result.Paths[1].Technologies"
        );
    }
}

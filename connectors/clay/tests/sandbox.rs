//! The Clay adapter against the sandbox's Clay emulator: push a row to the table
//! webhook, get pending, receive the enriched row through the callback receiver.

mod common;

use firmo_connect::{ConnectorError, LookupOutcome, Provider, Service};
use firmo_core::{Field, Source, Value};

use common::{WEBHOOK_TOKEN, clay, next_row, receiver, sandbox};

#[tokio::test]
async fn a_pushed_row_comes_back_as_clay_and_linkedin_records() {
    let (callback, mut rows) = receiver().await;
    let sandbox = sandbox(&callback).await;
    let clay = clay(&sandbox, WEBHOOK_TOKEN);
    assert!(matches!(
        clay.lookup("complete.example").await.unwrap(),
        LookupOutcome::Pending { .. }
    ));
    let (domain, records) = next_row(&mut rows).await;
    assert_eq!(domain, "complete.example");
    let of = |source: Source| {
        records
            .iter()
            .find(|r| r.source == source)
            .unwrap_or_else(|| panic!("no {source}: {records:?}"))
    };
    let own = of(Source::Clay);
    for field in [
        Field::Industry,
        Field::Headcount,
        Field::TechStack,
        Field::FundingStage,
        Field::LastFundingDate,
        Field::LastFundingAmount,
    ] {
        assert!(own.get(field).is_some(), "Clay's {field} missing: {own:?}");
    }
    let linkedin = of(Source::LinkedIn);
    assert!(
        matches!(
            linkedin.get(Field::EmployeeGrowth6mo),
            Some(Value::Decimal(_))
        ),
        "{linkedin:?}"
    );
    assert!(
        matches!(
            linkedin.get(Field::RecentJobPostings),
            Some(Value::Integer(_))
        ),
        "{linkedin:?}"
    );
    assert!(
        !linkedin.exec_changes.is_empty(),
        "complete.example has a new CTO: {linkedin:?}"
    );
}

#[tokio::test]
async fn junk_and_missing_rows() {
    let (callback, mut rows) = receiver().await;
    let sandbox = sandbox(&callback).await;
    let clay = clay(&sandbox, WEBHOOK_TOKEN);
    clay.lookup("missing-clay.example").await.unwrap();
    let (domain, records) = next_row(&mut rows).await;
    assert_eq!(domain, "missing-clay.example");
    assert!(records.is_empty(), "Clay found nothing: {records:?}");
    clay.lookup("junk.example").await.unwrap();
    let (domain, records) = next_row(&mut rows).await;
    assert_eq!(domain, "junk.example");
    let own = records.iter().find(|r| r.source == Source::Clay).unwrap();
    assert!(
        matches!(own.get(Field::Headcount), Some(Value::Integer(n)) if *n > 0),
        "{own:?}"
    );
    assert!(
        records
            .iter()
            .any(|r| r.get(Field::EmployeeGrowth6mo).is_some()),
        "{records:?}"
    );
}

#[tokio::test]
async fn a_wrong_webhook_token_stops_clay() {
    let (callback, _rows) = receiver().await;
    let sandbox = sandbox(&callback).await;
    let err = clay(&sandbox, "wrong-token")
        .lookup("complete.example")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ConnectorError::Auth {
                service: Service::Clay,
                ..
            }
        ) && err.stops_service(),
        "{err:?}"
    );
}

//! The generated JSON Schema and the hand-written field rules agree: a plain record is
//! schema-valid exactly when the rules find no reject and no unknown key.
//!
//! The one rule a static schema can't state is `date-in-future` (FQ010, "not after
//! today"). These tests validate with today = 9999-12-31, the last date there is, so it
//! never fires; `the_schema_cannot_see_the_future` shows the exception.
#![allow(clippy::disallowed_methods, reason = "tests read the fixture files")]

use std::path::PathBuf;
use std::sync::LazyLock;

use firmo_core::{Date, Severity, merge_preview, record_schema, validate_json_record};
use proptest::prelude::*;
use serde_json::{Value as Json, json};

fn end_of_time() -> Date {
    Date::new(9999, 12, 31).unwrap()
}

fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: LazyLock<jsonschema::Validator> = LazyLock::new(|| {
        jsonschema::options()
            .should_validate_formats(true)
            .build(&record_schema())
            .expect("the generated schema compiles")
    });
    &VALIDATOR
}

/// What the hand-written rules say about a record: may it be written as it is?
fn rules_accept(record: &Json) -> bool {
    validate_json_record(record, end_of_time())
        .iter()
        .all(|f| f.severity != Severity::Reject && f.code != "FQ011")
}

fn assert_agree(validator: &jsonschema::Validator, record: &Json) {
    let schema_ok = validator.is_valid(record);
    let rules_ok = rules_accept(record);
    if schema_ok != rules_ok {
        let errors: Vec<String> = validator
            .iter_errors(record)
            .map(|e| e.to_string())
            .collect();
        panic!(
            "schema says {schema_ok}, rules say {rules_ok} for {record}\nschema errors: {errors:?}\nfindings: {:?}",
            validate_json_record(record, end_of_time())
        );
    }
}

fn fixture_records() -> Vec<Json> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/rules");
    let mut records = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let case: Json = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        if let Some(record) = case.get("record") {
            records.push(record.clone());
        } else if let (Some(field), Some(value)) = (case.get("field"), case.get("value")) {
            records.push(json!({ field.as_str().unwrap(): value }));
        } else if let Some(input) = case.get("records") {
            let preview = merge_preview(input, &firmo_core::CoreConfig::default(), end_of_time());
            records.push(preview.merged.to_plain_json());
        }
    }
    records
}

#[test]
fn the_schema_is_a_valid_draft_2020_12_schema() {
    assert!(jsonschema::meta::is_valid(&record_schema()));
}

#[test]
fn schema_and_rules_agree_on_every_fixture() {
    let validator = validator();
    let records = fixture_records();
    assert!(records.len() >= 45);
    let mut accepted = 0;
    for record in &records {
        assert_agree(validator, record);
        accepted += usize::from(validator.is_valid(record));
    }
    // Both outcomes are exercised, or the agreement would be vacuous.
    assert!(
        accepted > 10 && accepted < records.len() - 10,
        "{accepted} of {}",
        records.len()
    );
}

#[test]
fn the_schema_cannot_see_the_future() {
    let record = json!({"last_funding_date": "2030-01-01", "funding_stage": "seed"});
    assert!(validator().is_valid(&record));
    let findings = validate_json_record(&record, Date::new(2026, 11, 26).unwrap());
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].code, "FQ010");
}

const NAMES: &[&str] = &[
    "industry",
    "headcount",
    "revenue_range",
    "tech_stack",
    "funding_stage",
    "last_funding_date",
    "last_funding_amount",
    "employee_growth_6mo",
    "recent_job_postings",
    "Headcount",
    "extra",
];

fn tricky_string() -> impl Strategy<Value = String> {
    let blank = proptest::collection::vec(
        proptest::sample::select(firmo_core::schema::WHITESPACE),
        0..4,
    )
    .prop_map(|cs| cs.into_iter().collect::<String>());
    let near_invisible = proptest::sample::select(vec![
        "\u{200b}", "\u{feff}", "\u{85}", "\u{180e}", "\u{200f}", " a ", "\u{0}", "x",
    ])
    .prop_map(str::to_owned);
    let options = proptest::sample::select(vec![
        "seed", "series_a", "Series A", "10m_50m", "10b_plus", "public", "", "SEED", "0_1m ",
    ])
    .prop_map(str::to_owned);
    let dates = (1890..2030_u32, 0..14_u32, 0..33_u32)
        .prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}"));
    let odd_dates = proptest::sample::select(vec![
        "0000-01-01",
        "9999-12-31",
        "1900-02-29",
        "2000-02-29",
        "2100-02-29",
        "２０２４-01-01",
        "١٩٩٩-01-01",
        "2024-1-1",
        "2024-01-01T00:00:00Z",
        " 2024-01-01",
    ])
    .prop_map(str::to_owned);
    let lengths = (
        98..103_usize,
        proptest::sample::select(vec!['a', 'é', '🚀', '\u{301}', ' ']),
    )
        .prop_map(|(n, c)| std::iter::repeat_n(c, n).collect::<String>());
    prop_oneof![
        blank,
        near_invisible,
        options,
        dates,
        odd_dates,
        lengths,
        "\\PC{0,12}"
    ]
}

fn tricky_number() -> impl Strategy<Value = Json> {
    let edges = proptest::sample::select(vec![
        json!(0),
        json!(1),
        json!(-1),
        json!(5_000_000),
        json!(5_000_001),
        json!(100_000),
        json!(100_001),
        json!(1_000_000_000_000_i64),
        json!(1_000_000_000_001_i64),
        json!(-100),
        json!(-100.5),
        json!(1000),
        json!(1000.5),
        json!(120.0),
        json!(120.5),
        json!(i64::MAX),
        json!(i64::MIN),
        json!(u64::MAX),
        json!(1e300),
        json!(-1e300),
        json!(9.223_372_036_854_776e18),
        json!(-0.0),
        json!(5e-324),
    ]);
    prop_oneof![
        edges,
        any::<i64>().prop_map(Json::from),
        any::<u64>().prop_map(Json::from),
        (-2000.0..2000.0_f64).prop_map(Json::from),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |x| x.is_finite())
            .prop_map(Json::from),
    ]
}

fn tricky_value() -> impl Strategy<Value = Json> {
    let list = prop_oneof![
        proptest::collection::vec(tricky_string().prop_map(Json::from), 0..5),
        (499..502_usize).prop_map(|n| (0..n).map(|i| json!(format!("t{i}"))).collect()),
        proptest::collection::vec(
            prop_oneof![tricky_string().prop_map(Json::from), tricky_number()],
            1..3
        ),
    ]
    .prop_map(Json::Array);
    prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::from),
        tricky_string().prop_map(Json::from),
        tricky_number(),
        list,
        Just(json!({"a": 1})),
    ]
}

fn tricky_record() -> impl Strategy<Value = Json> {
    proptest::collection::btree_map(proptest::sample::select(NAMES), tricky_value(), 0..6)
        .prop_map(|m| Json::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn schema_and_rules_agree_on_generated_records(record in tricky_record()) {
        assert_agree(validator(), &record);
    }
}

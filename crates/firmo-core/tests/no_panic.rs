//! No input, however malformed, makes a core function panic: arbitrary JSON into every
//! JSON entry point, arbitrary typed provider records (any value in any field, NaN
//! included) and arbitrary merge configs into merge, validation, signals and coverage.

use firmo_core::config::FieldRule;
use firmo_core::fixture::run_fixture;
use firmo_core::{
    CoreConfig, Coverage, Date, ExecChange, Field, MergeConfig, ProviderRecord, SignalConfig,
    Source, Strategy as MergeStrategy, UnixMillis, ValidationContext, Value, compute_signals,
    merge, merge_preview, validate_field_json, validate_json_record, validate_record,
};
use proptest::prelude::*;
use serde_json::{Value as Json, json};

fn any_json() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::from),
        any::<i64>().prop_map(Json::from),
        any::<u64>().prop_map(Json::from),
        any::<f64>().prop_map(Json::from), // NaN and infinities become null
        "\\PC{0,20}".prop_map(Json::from),
        ".{0,8}".prop_map(Json::from),
        proptest::sample::select(vec![
            "clay",
            "linkedin",
            "headcount",
            "tech_stack",
            "2024-02-29",
            "1899-12-31",
            "9999-12-31",
            "series_a",
            "fetched_at",
            "source",
            "fields",
            "exec_changes",
            "CTO",
        ])
        .prop_map(Json::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Json::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    proptest::sample::select(vec![
                        "source",
                        "fetched_at",
                        "fields",
                        "exec_changes",
                        "industry",
                        "headcount",
                        "tech_stack",
                        "last_funding_date",
                        "title",
                        "date",
                        "merge",
                        "signals",
                        "quality",
                        "strategy",
                        "sources",
                        "records",
                        "record",
                        "field",
                        "value",
                        "today",
                        "config",
                        "expect",
                    ])
                    .prop_map(str::to_owned),
                    "\\PC{0,6}",
                ],
                inner,
                0..8,
            )
            .prop_map(|m| Json::Object(m.into_iter().collect())),
        ]
    })
}

fn any_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        "\\PC{0,120}".prop_map(Value::Text),
        any::<i64>().prop_map(Value::Integer),
        any::<f64>().prop_map(Value::Decimal),
        proptest::collection::vec("\\PC{0,10}", 0..20).prop_map(Value::TextList),
        (1..=9999_i32, 1..=12_u8, 1..=28_u8)
            .prop_map(|(y, m, d)| Value::Date(Date::new(y, m, d).unwrap())),
    ]
}

fn any_source() -> impl Strategy<Value = Source> {
    proptest::sample::select(Source::ALL.to_vec())
}

fn any_field() -> impl Strategy<Value = Field> {
    proptest::sample::select(Field::ALL.to_vec())
}

fn any_date() -> impl Strategy<Value = Date> {
    (1..=9999_i32, 1..=12_u8, 1..=28_u8).prop_map(|(y, m, d)| Date::new(y, m, d).unwrap())
}

fn any_record() -> impl Strategy<Value = ProviderRecord> {
    (
        any_source(),
        any::<i64>(),
        proptest::collection::btree_map(any_field(), any_value(), 0..9),
        proptest::collection::vec((".{0,30}", any_date()), 0..3),
    )
        .prop_map(|(source, at, fields, changes)| ProviderRecord {
            source,
            fetched_at: UnixMillis(at),
            fields,
            exec_changes: changes
                .into_iter()
                .map(|(title, date)| ExecChange { title, date })
                .collect(),
        })
}

fn any_config() -> impl Strategy<Value = MergeConfig> {
    proptest::collection::vec(
        (
            any_field(),
            proptest::sample::select(vec![
                MergeStrategy::Precedence,
                MergeStrategy::Union,
                MergeStrategy::Freshest,
            ]),
            proptest::collection::vec(any_source(), 0..6),
        ),
        0..6,
    )
    .prop_map(|overrides| {
        let mut config = MergeConfig::default();
        for (field, strategy, sources) in overrides {
            // Bad rules are refused (and the old one kept): that is part of what's tested.
            let _ = config.set_rule(field, FieldRule { strategy, sources });
        }
        config
    })
}

fn any_signal_config() -> impl Strategy<Value = SignalConfig> {
    (any::<u32>(), any::<f64>(), any::<i64>(), any::<u32>()).prop_map(|(a, b, c, d)| SignalConfig {
        post_funding_days: a,
        hiring_growth_pct: b,
        hiring_job_postings: c,
        exec_change_days: d,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn json_entry_points_never_panic(json in any_json(), name in "\\PC{0,20}", today in any_date()) {
        let _ = validate_json_record(&json, today);
        let _ = validate_field_json(&name, &json, today);
        for field in Field::ALL {
            let _ = validate_field_json(field.name(), &json, today);
        }
        let _ = merge_preview(&json, &CoreConfig::default(), today);
        let _ = run_fixture(&json);
        let _ = serde_json::from_value::<CoreConfig>(json.clone());
    }

    #[test]
    fn json_records_never_panic(records in proptest::collection::vec(any_json(), 0..6), today in any_date()) {
        let wrapped: Vec<Json> = records
            .into_iter()
            .enumerate()
            .map(|(i, fields)| json!({"source": Source::ALL[i % 5], "fetched_at": i, "fields": fields, "exec_changes": [{"title": "CTO", "date": "2026-01-01"}]}))
            .collect();
        let preview = merge_preview(&Json::Array(wrapped), &CoreConfig::default(), today);
        let _ = serde_json::to_string(&preview);
        let _ = preview.merged.to_plain_json();
    }

    #[test]
    fn typed_pipeline_never_panics(
        records in proptest::collection::vec(any_record(), 0..8),
        config in any_config(),
        signals in any_signal_config(),
        tolerance in any::<f64>(),
        today in any_date(),
    ) {
        let merged = merge(&records, &config);
        let mut ctx = ValidationContext::new(today);
        ctx.quality.headcount_disagreement_pct = tolerance;
        let findings = validate_record(&merged, &ctx);
        let changes: Vec<ExecChange> = records.iter().flat_map(|r| r.exec_changes.clone()).collect();
        let _ = compute_signals(&merged, &changes, today, &signals);
        let mut coverage = Coverage::default();
        coverage.add_validated(&merged, &findings);
        let _ = coverage.summary();
        let _ = serde_json::to_string(&merged);
        // Every merged value came from a listed source that had it.
        for (field, m) in &merged.fields {
            prop_assert!(config.rule(*field).sources.contains(&m.source));
            prop_assert!(m.contributors.contains(m.source));
        }
    }
}

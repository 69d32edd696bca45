//! firmo-core: the pure heart of firmo. The field catalogue, the normalizers that turn
//! what providers send into canonical values, the merge rules that pick a value per
//! field, the quality rules that decide what may be written, and the derived signals.
//!
//! Nothing here does I/O, reads a clock or the environment, or needs an async runtime:
//! the same code runs in the sync engine and, compiled to wasm32, in the browser.
//!
//! ```
//! use firmo_core::{
//!     Date, Field, MergeConfig, ProviderRecord, Source, UnixMillis, ValidationContext, Value,
//!     merge, validate_record,
//! };
//!
//! let clay = ProviderRecord::new(Source::Clay, UnixMillis(0))
//!     .with(Field::Headcount, Some(Value::Integer(120)));
//! let linkedin = ProviderRecord::new(Source::LinkedIn, UnixMillis(0))
//!     .with(Field::Headcount, Some(Value::Integer(480)));
//! let merged = merge(&[clay, linkedin], &MergeConfig::default());
//! assert_eq!(merged.to_plain_json(), serde_json::json!({"headcount": 120}));
//!
//! let today = Date::new(2026, 11, 26).unwrap();
//! let findings = validate_record(&merged, &ValidationContext::new(today));
//! assert_eq!(
//!     findings[0].message,
//!     "headcount 120 from clay vs 480 from linkedin: spot-check against LinkedIn"
//! );
//! ```

pub mod config;
pub mod contact;
pub mod coverage;
pub mod evaluate;
pub mod field;
pub mod finding;
pub mod fixture;
pub mod merge;
pub mod normalize;
pub mod record;
pub mod rules;
pub mod schema;
pub mod signals;
pub mod source;
pub mod stats;
pub mod title;
pub mod validate;
pub mod value;

pub use config::{CoreConfig, MergeConfig, QualityConfig, SignalConfig};
pub use contact::{
    CONTACT_FIELDS, Contact, ContactEvaluation, ContactField, evaluate_contact,
    evaluate_contact_json, validate_contact, validate_contact_field_json,
};
pub use coverage::Coverage;
pub use evaluate::{Evaluation, evaluate, evaluate_into, known_signals};
pub use field::{FIELDS, Field, FieldKind, FieldSpec, Refresh, SIGNALS, Signal, Strategy};
pub use finding::{ContactFinding, Finding, Severity};
pub use merge::{MergePreview, MergedField, MergedRecord, merge, merge_into, merge_preview};
pub use record::{ExecChange, ProviderRecord};
pub use rules::{RULES, RULES_VERSION, ValidationContext};
pub use schema::{catalog_json, record_schema};
pub use signals::{Signals, compute_signals, compute_signals_from};
pub use source::Source;
pub use title::{EngineeringExec, engineering_exec};
pub use validate::{
    validate_field_json, validate_json_record, validate_record, validate_record_into,
};
pub use value::{Date, UnixMillis, Value};

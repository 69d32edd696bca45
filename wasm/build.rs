//! Generates, into `OUT_DIR`:
//!
//! - `firmo.d.ts`: the TypeScript types of what the module takes and returns. The names
//!   (fields, sources, signals, rule codes, enumeration values, config keys) come from
//!   firmo-core's catalogue and config defaults, so they cannot go stale; `lib.rs` puts
//!   the text in the package's `.d.ts` (`typescript_custom_section`), and a unit test in
//!   `ts.rs` checks that every key the module really returns is declared.
//! - `fixtures.rs`: the shared fixture files `tests/fixtures/rules/*.json` (workspace
//!   root) as `(name, include_str!(..))` pairs, for the parity test in `tests/parity.rs`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use firmo_core::config::{QualityConfig, SignalConfig};
use firmo_core::contact::{CONTACT_FIELDS, SENIORITIES};
use firmo_core::field::{FUNDING_STAGES, REVENUE_BUCKETS};
use firmo_core::{EngineeringExec, FIELDS, RULES, SIGNALS, Signals, Source};

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));

    std::fs::write(out.join("firmo.d.ts"), typescript()).expect("write firmo.d.ts");

    let fixtures = manifest.join("../tests/fixtures/rules");
    println!("cargo::rerun-if-changed={}", fixtures.display());
    std::fs::write(out.join("fixtures.rs"), fixture_list(&fixtures)).expect("write fixtures.rs");
}

/// `"a" | "b" | "c"`.
fn union<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let quoted: Vec<String> = names.into_iter().map(|n| format!("{n:?}")).collect();
    quoted.join(" | ")
}

/// `{ key: number; ... }` from a config struct's default, serialized: the keys and JSON
/// types are the struct's own.
fn interface_of(value: &serde_json::Value, optional: bool) -> String {
    let mut out = String::from("{\n");
    let object = value
        .as_object()
        .expect("config structs serialize to objects");
    for (key, v) in object {
        let ts = match v {
            serde_json::Value::Bool(_) => "boolean",
            serde_json::Value::Number(_) => "number",
            _ => "string",
        };
        let _ = writeln!(out, "  {key}{}: {ts};", if optional { "?" } else { "" });
    }
    out.push('}');
    out
}

fn typescript() -> String {
    let fields = union(FIELDS.iter().map(|f| f.name));
    let sources = union(Source::ALL.iter().map(|s| s.name()));
    let signals = union(SIGNALS.iter().map(|s| s.name));
    let codes = union(RULES.iter().map(|r| r.meta().code));
    let rule_names = union(RULES.iter().map(|r| r.meta().name));
    let stages = union(FUNDING_STAGES.iter().map(|o| o.value));
    let buckets = union(REVENUE_BUCKETS.iter().map(|o| o.value));
    let contact_fields = union(CONTACT_FIELDS.iter().map(|f| f.name));
    let seniorities = union(SENIORITIES.iter().map(|o| o.value));
    let roles: Vec<String> = EngineeringExec::ALL
        .iter()
        .map(|r| {
            serde_json::to_value(r)
                .expect("roles serialize")
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    let exec_roles = union(roles.iter().map(String::as_str));
    let defaults = "config defaults serialize";
    // Optional: only signals whose inputs are known are present (firmo_core::evaluate).
    let signal_values = interface_of(
        &serde_json::to_value(Signals::default()).expect(defaults),
        true,
    );
    let signal_config = interface_of(
        &serde_json::to_value(SignalConfig::default()).expect(defaults),
        true,
    );
    let quality_config = interface_of(
        &serde_json::to_value(QualityConfig::default()).expect(defaults),
        true,
    );
    format!(
        r#"
// ---- Types generated from firmo-core's catalogue (wasm/build.rs) ----

/** A catalogue field's stable name (record key, `validateField`'s first argument). */
export type FieldName = {fields};
/** An enrichment source. */
export type SourceName = {sources};
/** A derived boolean signal. */
export type SignalName = {signals};
/** A quality rule's stable code. */
export type RuleCode = {codes};
/** A quality rule's stable kebab-case name. */
export type RuleName = {rule_names};
/** `funding_stage` values. */
export type FundingStage = {stages};
/** `revenue_range` values. */
export type RevenueBucket = {buckets};
/** `reject`: never written to the CRM; `flag`: written, but a human should look. */
export type Severity = "flag" | "reject";

/**
 * A canonical field value: a string (text, enumeration value, or `YYYY-MM-DD` date), a
 * number, or a list of names (the tech stack).
 */
export type FieldValue = string | number | string[];

/** A plain record, as the CRM sees it: `{{ headcount: 120, industry: "Software" }}`. */
export type PlainRecord = {{ [F in FieldName]?: FieldValue | null }};

/** One rule's verdict on one field (or on the record, when `field` is null). */
export interface Finding {{
  field: FieldName | null;
  code: RuleCode;
  rule: RuleName;
  severity: Severity;
  /** A sentence a person understands, naming the value and the limit. */
  message: string;
}}

/** One allowed value of an enumerated field. */
export interface EnumOption {{
  value: string;
  label: string;
}}

/** A field's type and hard limits. */
export type FieldKind =
  | {{ type: "text"; max_len: number }}
  | {{ type: "integer"; min: number; max: number }}
  | {{ type: "decimal"; min: number; max: number }}
  | {{ type: "enum"; options: EnumOption[] }}
  | {{ type: "text_list"; max_items: number; max_item_len: number }}
  | {{ type: "date"; min_year: number }};

export interface FieldSpec {{
  field: FieldName;
  name: FieldName;
  label: string;
  description: string;
  kind: FieldKind;
  refresh: "weekly" | "monthly" | "quarterly";
  strategy: "precedence" | "union" | "freshest";
  /** Default sources, in precedence order. */
  sources: SourceName[];
  /** The CRM custom property (`firmo_<name>`). */
  property: string;
}}

export interface SignalSpec {{
  signal: SignalName;
  name: SignalName;
  label: string;
  description: string;
  property: string;
}}

export interface RuleInfo {{
  code: RuleCode;
  name: RuleName;
  severity: Severity;
  status: "stable" | "preview";
  scope: "field" | "record";
  summary: string;
  /** Markdown: What it checks / Why it matters / Example / Fix. */
  explanation: string;
}}

/** Everything needed to build a form: fields, signals and rules. */
export interface FieldCatalog {{
  rules_version: string;
  fields: FieldSpec[];
  signals: SignalSpec[];
  rules: RuleInfo[];
}}

/** What one source said about one company. */
export interface ProviderRecord {{
  source: SourceName;
  /** When the answer was fetched, in milliseconds since the epoch. */
  fetched_at: number;
  fields?: PlainRecord | null;
  exec_changes?: {{ title: string; date: string }}[] | null;
}}

/** Another source's differing value. */
export interface Alternative {{
  source: SourceName;
  value: FieldValue;
}}

/** A merged field and where it came from. */
export interface MergedField {{
  value: FieldValue;
  /** The winning source (for a union: the first listed contributor). */
  source: SourceName;
  /** Every listed source that had a value. */
  contributors: SourceName[];
  fetched_at: number;
  /** Other sources whose value differs, in precedence order. */
  disagreements?: Alternative[];
}}

export interface MergedRecord {{
  fields: {{ [F in FieldName]?: MergedField }};
}}

/** The derived signals whose inputs are known: a signal without data is absent, not `false`. */
export interface Signals {signal_values}

/** `mergePreview`'s answer. */
export interface MergePreview {{
  merged: MergedRecord;
  findings: Finding[];
  signals: Signals;
  /** What was wrong with the input; each problem skipped only the part it is about. */
  input_errors: string[];
}}

/** A contact field's stable name (`validateContactField`'s first argument). */
export type ContactFieldName = {contact_fields};
/** `seniority` values, most senior first. */
export type Seniority = {seniorities};
/** An executive-engineering role a job title names. */
export type EngineeringExec = {exec_roles};

/** A plain contact: `{{ job_title: "CTO", role_start_date: "2026-09-01" }}`. */
export type PlainContact = {{ [F in ContactFieldName]?: string | null }};

/** One rule's verdict on one contact field (or on the contact, when `field` is null). */
export interface ContactFinding {{
  field: ContactFieldName | null;
  code: RuleCode;
  rule: RuleName;
  severity: Severity;
  message: string;
}}

/** `validateContact`'s answer. */
export interface ContactEvaluation {{
  findings: ContactFinding[];
  exec_role: EngineeringExec | null;
  /** The contact as an executive change, when its title is an executive-engineering role and its start date is valid. */
  exec_change: {{ title: string; date: string }} | null;
}}

/** How one field is merged (the `[merge.<field>]` table of firmo.toml). */
export interface FieldMergeRule {{
  strategy?: "precedence" | "union" | "freshest";
  sources?: SourceName[];
}}

/** Thresholds of the derived signals (`[signals]`). */
export interface SignalConfig {signal_config}

/** Tolerances of the cross-field rules (`[quality]`). */
export interface QualityConfig {quality_config}

/** The core configuration: the `[merge]`, `[signals]` and `[quality]` tables of firmo.toml. */
export interface CoreConfig {{
  merge?: {{ [F in FieldName]?: FieldMergeRule }};
  signals?: SignalConfig;
  quality?: QualityConfig;
}}

/** Options of a `Validator`. */
export interface ValidatorOptions {{
  /** "Today" as `YYYY-MM-DD`; default: the current UTC date when the validator is made. */
  today?: string;
  config?: CoreConfig;
}}
"#
    )
}

fn fixture_list(dir: &Path) -> String {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut out = String::from("/// Shared fixture files: (file name, contents).\n");
    out.push_str("pub(crate) const FIXTURE_FILES: &[(&str, &str)] = &[\n");
    for path in &files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let absolute = path.canonicalize().expect("fixture path resolves");
        let _ = writeln!(
            out,
            "    ({name:?}, include_str!({:?})),",
            absolute.display().to_string()
        );
    }
    out.push_str("];\n");
    out
}

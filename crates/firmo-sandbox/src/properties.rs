//! Company property definitions and groups, HubSpot's built-ins, and the value checks
//! HubSpot runs on every write (unknown property, option not allowed, date not at
//! midnight, number not numeric, bool not true/false).

use serde::{Deserialize, Serialize};

use crate::time::{self, DAY_MS};

/// A property definition, in the shape of HubSpot's `Property` schema.
#[allow(clippy::struct_excessive_bools)] // HubSpot's schema has these flags
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyDef {
    pub name: String,
    pub label: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub field_type: String,
    pub group_name: String,
    pub description: String,
    pub options: Vec<PropertyOption>,
    pub display_order: i32,
    pub has_unique_value: bool,
    pub hidden: bool,
    pub form_field: bool,
    pub hubspot_defined: bool,
    pub calculated: bool,
    pub external_options: bool,
    pub archived: bool,
    pub created_at: String,
    pub updated_at: String,
    pub modification_metadata: ModificationMetadata,
}

/// One option of an enumeration property.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyOption {
    pub label: String,
    pub value: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub display_order: i32,
    #[serde(default)]
    pub hidden: bool,
}

/// What of a property may change (HubSpot's `PropertyModificationMetadata`).
#[allow(clippy::struct_excessive_bools)] // HubSpot's schema has these flags
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModificationMetadata {
    pub archivable: bool,
    pub read_only_definition: bool,
    pub read_only_value: bool,
    pub read_only_options: bool,
}

/// A property group, in the shape of HubSpot's `PropertyGroup` schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyGroup {
    pub name: String,
    pub label: String,
    pub display_order: i32,
    pub archived: bool,
}

/// Properties HubSpot maintains itself; writes to them are rejected.
pub(crate) const READ_ONLY: &[&str] = &["hs_object_id", "createdate", "hs_lastmodifieddate"];

/// The type/fieldType pairs HubSpot accepts.
pub(crate) fn field_type_fits(kind: &str, field_type: &str) -> bool {
    matches!(
        (kind, field_type),
        (
            "string",
            "text" | "textarea" | "html" | "file" | "phonenumber"
        ) | ("number", "number" | "calculation_equation")
            | ("date" | "datetime", "date")
            | (
                "enumeration",
                "select" | "radio" | "checkbox" | "booleancheckbox"
            )
            | ("bool", "booleancheckbox")
            | ("phone_number", "phonenumber" | "text")
    )
}

pub(crate) const KINDS: &[&str] = &[
    "string",
    "number",
    "date",
    "datetime",
    "enumeration",
    "bool",
    "phone_number",
];

/// Why a custom property name is not allowed, if it isn't.
pub(crate) fn name_problem(name: &str) -> Option<String> {
    let first = name.chars().next();
    if !first.is_some_and(|c| c.is_ascii_lowercase()) {
        return Some(format!(
            "Property name {name:?} must start with a lowercase letter"
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Some(format!(
            "Property name {name:?} may only contain lowercase letters, digits and underscores"
        ));
    }
    if name.starts_with("hs_") || name.starts_with("hubspot_") {
        return Some(format!(
            "Property name {name:?} uses a prefix reserved for HubSpot (hs_, hubspot_)"
        ));
    }
    if name.len() > 100 {
        return Some(format!(
            "Property name {name:?} is longer than 100 characters"
        ));
    }
    None
}

/// A value HubSpot would reject, with HubSpot's error code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ValueError {
    pub(crate) property: String,
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

impl ValueError {
    fn new(property: &str, code: &'static str, message: String) -> Self {
        ValueError {
            property: property.to_string(),
            code,
            message,
        }
    }

    pub(crate) fn unknown(property: &str) -> Self {
        ValueError::new(
            property,
            "PROPERTY_DOESNT_EXIST",
            format!("Property \"{property}\" does not exist"),
        )
    }
}

/// Check `raw` against `def`; the canonical stored form, or `None` when the value clears
/// the property (HubSpot treats `""` as "no value").
pub(crate) fn check_value(def: &PropertyDef, raw: &str) -> Result<Option<String>, ValueError> {
    let name = def.name.as_str();
    if READ_ONLY.contains(&name) || def.modification_metadata.read_only_value {
        return Err(ValueError::new(
            name,
            "READ_ONLY_VALUE",
            format!("Property \"{name}\" is read-only and cannot be set to {raw:?}"),
        ));
    }
    if raw.is_empty() {
        return Ok(None);
    }
    match def.kind.as_str() {
        "number" => {
            let t = raw.trim();
            let numeric = !t.is_empty()
                && t.parse::<f64>().is_ok_and(f64::is_finite)
                && !t.contains(['e', 'E', 'i', 'I', 'n', 'N']);
            if numeric {
                Ok(Some(t.to_string()))
            } else {
                Err(ValueError::new(
                    name,
                    "INVALID_DECIMAL",
                    format!("{raw:?} was not a valid number for property \"{name}\""),
                ))
            }
        }
        "bool" => match raw.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(Some("true".into())),
            "false" => Ok(Some("false".into())),
            _ => Err(ValueError::new(
                name,
                "INVALID_BOOLEAN",
                format!(
                    "{raw:?} was not a valid boolean for property \"{name}\" (use true or false)"
                ),
            )),
        },
        "enumeration" => check_enumeration(def, raw).map(Some),
        "date" => check_date(name, raw).map(Some),
        "datetime" => check_datetime(name, raw).map(Some),
        _ => Ok(Some(raw.to_string())),
    }
}

fn check_enumeration(def: &PropertyDef, raw: &str) -> Result<String, ValueError> {
    let allowed = |v: &str| def.options.iter().any(|o| o.value == v);
    let parts: Vec<&str> = if def.field_type == "checkbox" {
        raw.split(';').filter(|p| !p.is_empty()).collect()
    } else {
        vec![raw]
    };
    if let Some(bad) = parts.iter().find(|p| !allowed(p)) {
        let options: Vec<&str> = def.options.iter().map(|o| o.value.as_str()).collect();
        return Err(ValueError::new(
            &def.name,
            "INVALID_OPTION",
            format!(
                "{bad:?} was not one of the allowed options for property \"{}\": [{}]",
                def.name,
                options.join(", ")
            ),
        ));
    }
    Ok(parts.join(";"))
}

fn check_date(name: &str, raw: &str) -> Result<String, ValueError> {
    let t = raw.trim();
    let ms = t.parse::<i64>().ok().or_else(|| time::parse_iso(t));
    let Some(ms) = ms else {
        return Err(ValueError::new(
            name,
            "INVALID_DATE",
            format!(
                "{raw:?} is not a valid date for property \"{name}\" (use YYYY-MM-DD or epoch milliseconds at midnight UTC)"
            ),
        ));
    };
    if ms.rem_euclid(DAY_MS) != 0 {
        return Err(ValueError::new(
            name,
            "INVALID_DATE",
            format!(
                "{raw} is at {} UTC, not midnight! (property \"{name}\")",
                time::time_of_day(ms)
            ),
        ));
    }
    time::ymd(ms).ok_or_else(|| {
        ValueError::new(
            name,
            "INVALID_DATE",
            format!("{raw:?} is out of range for property \"{name}\""),
        )
    })
}

fn check_datetime(name: &str, raw: &str) -> Result<String, ValueError> {
    let t = raw.trim();
    t.parse::<i64>()
        .ok()
        .or_else(|| time::parse_iso(t))
        // Years 1..=9999 only: what ISO 8601 can say back.
        .filter(|ms| time::ymd(*ms).is_some())
        .map(|ms| ms.to_string())
        .ok_or_else(|| {
            ValueError::new(
                name,
                "INVALID_LONG",
                format!(
                    "{raw:?} was not a valid datetime for property \"{name}\" (use epoch milliseconds or ISO 8601)"
                ),
            )
        })
}

/// How a stored value reads back: datetimes as ISO with milliseconds, the rest as stored.
pub(crate) fn render_value(def: Option<&PropertyDef>, stored: &str) -> String {
    match def.map(|d| d.kind.as_str()) {
        Some("datetime") => stored
            .parse::<i64>()
            .map_or_else(|_| stored.to_string(), time::iso_millis),
        _ => stored.to_string(),
    }
}

// ---- built-ins ----

const META_BUILTIN: ModificationMetadata = ModificationMetadata {
    archivable: false,
    read_only_definition: true,
    read_only_value: false,
    read_only_options: false,
};

/// A subset of HubSpot's real company `industry` options (internal values).
pub(crate) const INDUSTRIES: &[&str] = &[
    "ACCOUNTING",
    "AIRLINES_AVIATION",
    "APPAREL_FASHION",
    "AUTOMOTIVE",
    "BANKING",
    "BIOTECHNOLOGY",
    "BROADCAST_MEDIA",
    "BUILDING_MATERIALS",
    "CHEMICALS",
    "COMPUTER_GAMES",
    "COMPUTER_HARDWARE",
    "COMPUTER_NETWORK_SECURITY",
    "COMPUTER_SOFTWARE",
    "CONSTRUCTION",
    "CONSUMER_ELECTRONICS",
    "CONSUMER_GOODS",
    "E_LEARNING",
    "EDUCATION_MANAGEMENT",
    "ENTERTAINMENT",
    "ENVIRONMENTAL_SERVICES",
    "FINANCIAL_SERVICES",
    "FOOD_BEVERAGES",
    "HEALTH_WELLNESS_AND_FITNESS",
    "HOSPITAL_HEALTH_CARE",
    "HOSPITALITY",
    "HUMAN_RESOURCES",
    "INFORMATION_TECHNOLOGY_AND_SERVICES",
    "INSURANCE",
    "INTERNET",
    "LEGAL_SERVICES",
    "LOGISTICS_AND_SUPPLY_CHAIN",
    "MANAGEMENT_CONSULTING",
    "MARKETING_AND_ADVERTISING",
    "MECHANICAL_OR_INDUSTRIAL_ENGINEERING",
    "MEDICAL_DEVICES",
    "OIL_ENERGY",
    "PHARMACEUTICALS",
    "REAL_ESTATE",
    "RENEWABLES_ENVIRONMENT",
    "RETAIL",
    "SEMICONDUCTORS",
    "STAFFING_AND_RECRUITING",
    "TELECOMMUNICATIONS",
    "TRANSPORTATIONTRUCKINGRAILROAD",
    "VENTURE_CAPITAL_PRIVATE_EQUITY",
    "WHOLESALE",
];

pub(crate) const LIFECYCLE_STAGES: &[(&str, &str)] = &[
    ("subscriber", "Subscriber"),
    ("lead", "Lead"),
    ("marketingqualifiedlead", "Marketing Qualified Lead"),
    ("salesqualifiedlead", "Sales Qualified Lead"),
    ("opportunity", "Opportunity"),
    ("customer", "Customer"),
    ("evangelist", "Evangelist"),
    ("other", "Other"),
];

/// `COMPUTER_NETWORK_SECURITY` → `Computer Network Security`.
fn industry_label(value: &str) -> String {
    value
        .split('_')
        .map(|w| {
            let lower = w.to_ascii_lowercase();
            let mut chars = lower.chars();
            chars.next().map_or_else(String::new, |c| {
                c.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// HubSpot's default company properties: `data/company-properties.tsv`, where the file
/// says where its rows come from.
const DEFAULT_PROPERTIES: &str = include_str!("../data/company-properties.tsv");

/// The type/fieldType pairs HubSpot's own properties may have beyond those a client may
/// create: calculated ones (`calculation_*`) and the activity pointers
/// (`object_coordinates`), as real portals list them.
fn builtin_field_type_fits(kind: &str, field_type: &str) -> bool {
    field_type_fits(kind, field_type)
        || matches!(
            (kind, field_type),
            (
                "string" | "number" | "datetime",
                "calculation_equation" | "calculation_read_time" | "calculation_rollup"
            ) | ("object_coordinates", "text")
        )
}

/// One row of [`DEFAULT_PROPERTIES`], or what is wrong with it.
fn builtin_row(row: &str, now: &str) -> Result<PropertyDef, String> {
    let cells: Vec<&str> = row.split('\t').collect();
    let [name, label, kind, field_type, group, access, opts] = cells[..] else {
        return Err(format!("{} cells, not 7", cells.len()));
    };
    let known = KINDS.contains(&kind) || kind == "object_coordinates";
    if !known || !builtin_field_type_fits(kind, field_type) {
        return Err(format!("`{name}`: type {kind} with fieldType {field_type}"));
    }
    let read_only = match access {
        "ro" => true,
        "rw" => false,
        other => return Err(format!("`{name}`: access {other:?} is neither ro nor rw")),
    };
    let options = match opts {
        "" => Vec::new(),
        "@industry" => options(
            INDUSTRIES
                .iter()
                .map(|v| ((*v).to_string(), industry_label(v))),
        ),
        "@lifecyclestage" => options(
            LIFECYCLE_STAGES
                .iter()
                .map(|(v, l)| ((*v).to_string(), (*l).to_string())),
        ),
        pairs => options(
            pairs
                .split(';')
                .map(|pair| {
                    pair.split_once('=')
                        .map(|(v, l)| (v.to_owned(), l.to_owned()))
                        .ok_or_else(|| format!("`{name}`: option {pair:?} is not value=Label"))
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    Ok(PropertyDef {
        name: name.into(),
        label: label.into(),
        kind: kind.into(),
        field_type: field_type.into(),
        group_name: group.into(),
        description: String::new(),
        options,
        display_order: -1,
        has_unique_value: name == "hs_object_id",
        hidden: false,
        form_field: !read_only,
        hubspot_defined: true,
        calculated: field_type.starts_with("calculation_") || (read_only && kind == "number"),
        external_options: false,
        archived: false,
        created_at: now.into(),
        updated_at: now.into(),
        modification_metadata: ModificationMetadata {
            read_only_value: read_only,
            ..META_BUILTIN
        },
    })
}

fn options(values: impl IntoIterator<Item = (String, String)>) -> Vec<PropertyOption> {
    values
        .into_iter()
        .enumerate()
        .map(|(i, (value, label))| PropertyOption {
            label,
            value,
            description: String::new(),
            display_order: i32::try_from(i).unwrap_or(i32::MAX),
            hidden: false,
        })
        .collect()
}

/// The rows of [`DEFAULT_PROPERTIES`] (comments and blank lines skipped), each parsed.
fn builtin_rows(now: &str) -> impl Iterator<Item = (usize, Result<PropertyDef, String>)> + '_ {
    DEFAULT_PROPERTIES
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .map(move |(i, l)| (i + 1, builtin_row(l, now)))
}

/// HubSpot's built-in company properties, defined at `now` (ISO). A row that doesn't
/// parse is left out with an error log (the unit test below keeps the table whole).
pub(crate) fn builtins(now: &str) -> Vec<PropertyDef> {
    builtin_rows(now)
        .filter_map(|(line, row)| {
            row.map_err(|e| tracing::error!("data/company-properties.tsv line {line}: {e}"))
                .ok()
        })
        .collect()
}

/// HubSpot's built-in company property groups (every group the table uses).
pub(crate) fn builtin_groups() -> Vec<PropertyGroup> {
    [
        ("companyinformation", "Company information", 0),
        ("company_activity", "Company activity", 1),
        ("socialmediainformation", "Social media information", 2),
        ("analyticsinformation", "Web analytics history", 3),
        ("conversioninformation", "Conversion information", 4),
    ]
    .into_iter()
    .map(|(name, label, order)| PropertyGroup {
        name: name.into(),
        label: label.into(),
        display_order: order,
        archived: false,
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_property_table_is_whole_and_consistent() {
        let rows: Vec<_> = builtin_rows("2026-12-01T00:00:00.000Z").collect();
        let bad: Vec<String> = rows
            .iter()
            .filter_map(|(line, r)| r.as_ref().err().map(|e| format!("line {line}: {e}")))
            .collect();
        assert!(bad.is_empty(), "{bad:#?}");
        let defs = builtins("2026-12-01T00:00:00.000Z");
        // Both real-portal dumps list about 190 (see the file's header).
        assert!(defs.len() >= 190, "{} rows", defs.len());
        let names: std::collections::BTreeSet<&str> =
            defs.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names.len(), defs.len(), "no name twice");
        let groups: Vec<String> = builtin_groups().into_iter().map(|g| g.name).collect();
        for d in &defs {
            assert!(
                groups.contains(&d.group_name),
                "{} in {}",
                d.name,
                d.group_name
            );
            let lower = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_';
            assert!(d.hubspot_defined && d.name.chars().all(lower), "{}", d.name);
            if d.kind == "enumeration" && d.field_type != "booleancheckbox" {
                // Owner and team lists are filled per portal; the rest carry options.
                let per_portal = d.name.contains("owner")
                    || d.name.contains("team")
                    || d.name.contains("user_ids")
                    || matches!(
                        d.name.as_str(),
                        // Free lists a portal fills: domains, merged ids, brands, keywords.
                        "hs_additional_domains"
                            | "hs_merged_object_ids"
                            | "hs_all_assigned_business_unit_ids"
                            | "hs_keywords"
                    );
                assert!(
                    per_portal || !d.options.is_empty(),
                    "{} has no options",
                    d.name
                );
            }
        }
        for name in READ_ONLY {
            let d = defs.iter().find(|d| d.name == *name).unwrap();
            assert!(d.modification_metadata.read_only_value, "{name}");
        }
        let industry = defs.iter().find(|d| d.name == "industry").unwrap();
        assert_eq!(industry.options.len(), INDUSTRIES.len());
        let stage = defs.iter().find(|d| d.name == "lifecyclestage").unwrap();
        assert_eq!(stage.field_type, "radio");
        assert_eq!(
            builtin_row("x\tX\tstring\tnumber\tg\trw\t", "now").unwrap_err(),
            "`x`: type string with fieldType number"
        );
        assert!(builtin_row("x\tX", "now").is_err());
        // HubSpot's calculated fields are built-ins only: a client may not create one.
        let rollup = defs.iter().find(|d| d.name == "total_revenue").unwrap();
        assert!(rollup.calculated && rollup.modification_metadata.read_only_value);
        assert!(!field_type_fits("number", "calculation_rollup"));
        assert!(builtin_field_type_fits("number", "calculation_rollup"));
    }

    fn def(name: &str, kind: &str, field_type: &str, opts: &[&str]) -> PropertyDef {
        let opts: Vec<String> = opts.iter().map(|o| format!("{o}={o}")).collect();
        let row = format!(
            "{name}\t{name}\t{kind}\t{field_type}\tg\trw\t{}",
            opts.join(";")
        );
        let mut d = builtin_row(&row, "2024-01-01T00:00:00.000Z").unwrap();
        d.hubspot_defined = false;
        d
    }

    #[test]
    fn dates_must_be_midnight_utc() {
        let d = def("founded", "date", "date", &[]);
        assert_eq!(
            check_value(&d, "1572480000000").unwrap().as_deref(),
            Some("2019-10-31")
        );
        assert_eq!(
            check_value(&d, "2019-10-31").unwrap().as_deref(),
            Some("2019-10-31")
        );
        assert_eq!(
            check_value(&d, "2019-10-31T00:00:00.000Z")
                .unwrap()
                .as_deref(),
            Some("2019-10-31")
        );
        let err = check_value(&d, "1635535865000").unwrap_err();
        assert_eq!(err.code, "INVALID_DATE");
        assert!(
            err.message.contains("19:31:05.000 UTC, not midnight!"),
            "{}",
            err.message
        );
        assert_eq!(
            check_value(&d, "2019-10-31T10:00:00Z").unwrap_err().code,
            "INVALID_DATE"
        );
        assert_eq!(
            check_value(&d, "31/10/2019").unwrap_err().code,
            "INVALID_DATE"
        );
    }

    #[test]
    fn numbers_bools_and_options() {
        let number = def("n", "number", "number", &[]);
        assert_eq!(check_value(&number, "17").unwrap().as_deref(), Some("17"));
        assert_eq!(
            check_value(&number, "-1.5").unwrap().as_deref(),
            Some("-1.5")
        );
        assert_eq!(
            check_value(&number, "12 employees").unwrap_err().code,
            "INVALID_DECIMAL"
        );
        assert_eq!(
            check_value(&number, "NaN").unwrap_err().code,
            "INVALID_DECIMAL"
        );
        assert_eq!(check_value(&number, "").unwrap(), None);
        let boolean = def("b", "bool", "booleancheckbox", &[]);
        assert_eq!(
            check_value(&boolean, "TRUE").unwrap().as_deref(),
            Some("true")
        );
        assert_eq!(
            check_value(&boolean, "yes").unwrap_err().code,
            "INVALID_BOOLEAN"
        );
        let select = def("e", "enumeration", "select", &["a", "b"]);
        assert_eq!(check_value(&select, "a").unwrap().as_deref(), Some("a"));
        assert_eq!(
            check_value(&select, "A").unwrap_err().code,
            "INVALID_OPTION"
        );
        let datetime = def("t", "datetime", "date", &[]);
        assert_eq!(
            check_value(&datetime, "2019-10-30T03:30:17.883Z")
                .unwrap()
                .as_deref(),
            Some("1572406217883")
        );
        assert_eq!(
            check_value(&datetime, "1572406217883").unwrap().as_deref(),
            Some("1572406217883")
        );
        assert_eq!(
            check_value(&datetime, "9223372036854775807")
                .unwrap_err()
                .code,
            "INVALID_LONG"
        );
        assert_eq!(
            check_value(&datetime, "soon").unwrap_err().code,
            "INVALID_LONG"
        );
        let multi = def("m", "enumeration", "checkbox", &["a", "b"]);
        assert_eq!(check_value(&multi, "a;b").unwrap().as_deref(), Some("a;b"));
        assert_eq!(
            check_value(&multi, "a;c").unwrap_err().code,
            "INVALID_OPTION"
        );
    }

    #[test]
    fn names_and_field_types() {
        assert!(name_problem("firmo_headcount").is_none());
        assert!(name_problem("Firmo").is_some());
        assert!(name_problem("hs_thing").is_some());
        assert!(name_problem("hubspot_thing").is_some());
        assert!(name_problem("9lives").is_some());
        assert!(name_problem("has-dash").is_some());
        assert!(field_type_fits("enumeration", "checkbox"));
        assert!(field_type_fits("bool", "booleancheckbox"));
        assert!(!field_type_fits("number", "text"));
        assert!(!field_type_fits("date", "number"));
    }

    #[test]
    fn industry_labels_read_naturally() {
        assert_eq!(industry_label("COMPUTER_SOFTWARE"), "Computer Software");
    }
}

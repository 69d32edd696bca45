//! HubSpot's JSON shapes (from its OpenAPI files), only the fields firmo reads or sends.
//! Unknown fields are ignored so HubSpot can add to its answers without breaking us.

use std::collections::BTreeMap;

use firmo_connect::crm::{CrmCompany, PropertyDef, PropertyGroup, PropertyOption, PropertyType};
use serde::{Deserialize, Serialize};

/// `SimplePublicObject`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SimplePublicObject {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) properties: BTreeMap<String, Option<String>>,
    #[serde(default)]
    pub(crate) updated_at: Option<String>,
    #[serde(default)]
    pub(crate) object_write_trace_id: Option<String>,
}

impl From<SimplePublicObject> for CrmCompany {
    fn from(o: SimplePublicObject) -> CrmCompany {
        CrmCompany {
            id: o.id,
            properties: o.properties,
            updated_at: o.updated_at,
        }
    }
}

/// `paging.next.after`.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Paging {
    #[serde(default)]
    pub(crate) next: Option<NextPage>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct NextPage {
    pub(crate) after: String,
}

/// `CollectionResponseSimplePublicObjectWithAssociationsForwardPaging` (list) and
/// `CollectionResponseWithTotalSimplePublicObject` (search).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Collection {
    pub(crate) results: Vec<SimplePublicObject>,
    #[serde(default)]
    pub(crate) paging: Option<Paging>,
    #[serde(default)]
    pub(crate) total: Option<u64>,
}

impl Collection {
    pub(crate) fn next_after(&self) -> Option<String> {
        self.paging
            .as_ref()
            .and_then(|p| p.next.as_ref())
            .map(|n| n.after.clone())
    }
}

/// `BatchResponseSimplePublicObject[WithErrors]`: 200 or 207.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct BatchResponse {
    #[serde(default)]
    pub(crate) results: Vec<SimplePublicObject>,
    #[serde(default)]
    pub(crate) errors: Vec<StandardError>,
}

/// `StandardError` (one entry of a 207's `errors`) and `Error` (a whole error answer):
/// the fields they share.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StandardError {
    #[serde(default)]
    pub(crate) status: Option<String>,
    #[serde(default)]
    pub(crate) category: Option<String>,
    #[serde(default)]
    pub(crate) message: Option<String>,
    #[serde(default)]
    pub(crate) errors: Vec<ErrorDetail>,
    #[serde(default)]
    pub(crate) context: BTreeMap<String, serde_json::Value>,
    /// 429 answers name the window that was exceeded.
    #[serde(default)]
    pub(crate) policy_name: Option<String>,
}

impl StandardError {
    /// The strings of `context[key]` (HubSpot sends arrays of strings; be lenient).
    pub(crate) fn context_strings(&self, key: &str) -> Vec<String> {
        match self.context.get(key) {
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .filter_map(|v| match v {
                    serde_json::Value::String(s) => Some(s.clone()),
                    serde_json::Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .collect(),
            Some(serde_json::Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        }
    }
}

/// `ErrorDetail`.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct ErrorDetail {
    #[serde(default)]
    pub(crate) message: Option<String>,
    #[serde(default)]
    pub(crate) code: Option<String>,
    #[serde(default, rename = "in")]
    pub(crate) in_: Option<String>,
    #[serde(default)]
    pub(crate) context: BTreeMap<String, serde_json::Value>,
}

/// `Property`.
#[derive(Debug, Clone, Deserialize)]
#[allow(clippy::struct_field_names)] // `type` is a keyword; `property_type` says what it is
#[serde(rename_all = "camelCase")]
pub(crate) struct Property {
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) label: String,
    #[serde(rename = "type")]
    pub(crate) property_type: String,
    #[serde(default)]
    pub(crate) field_type: String,
    #[serde(default)]
    pub(crate) group_name: String,
    #[serde(default)]
    pub(crate) options: Vec<OptionWire>,
    #[serde(default)]
    pub(crate) description: String,
    #[serde(default)]
    pub(crate) hubspot_defined: Option<bool>,
}

impl From<Property> for PropertyDef {
    fn from(p: Property) -> PropertyDef {
        PropertyDef {
            name: p.name,
            label: p.label,
            property_type: PropertyType::from(p.property_type),
            field_type: p.field_type,
            group_name: p.group_name,
            options: p
                .options
                .into_iter()
                .map(|o| PropertyOption {
                    label: o.label,
                    value: o.value,
                })
                .collect(),
            description: p.description,
            crm_defined: p.hubspot_defined.unwrap_or(false),
        }
    }
}

/// `Option` / `OptionInput`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OptionWire {
    pub(crate) label: String,
    pub(crate) value: String,
    #[serde(default)]
    pub(crate) hidden: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) display_order: Option<i32>,
}

/// `PropertyCreate`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PropertyCreate<'a> {
    pub(crate) name: &'a str,
    pub(crate) label: &'a str,
    #[serde(rename = "type")]
    pub(crate) property_type: &'a str,
    pub(crate) field_type: &'a str,
    pub(crate) group_name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub(crate) description: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) options: Vec<OptionWire>,
}

impl<'a> PropertyCreate<'a> {
    pub(crate) fn from_def(def: &'a PropertyDef) -> PropertyCreate<'a> {
        PropertyCreate {
            name: &def.name,
            label: &def.label,
            property_type: def.property_type.as_str(),
            field_type: &def.field_type,
            group_name: &def.group_name,
            description: &def.description,
            options: options_wire(&def.options),
        }
    }
}

pub(crate) fn options_wire(options: &[PropertyOption]) -> Vec<OptionWire> {
    options
        .iter()
        .enumerate()
        .map(|(i, o)| OptionWire {
            label: o.label.clone(),
            value: o.value.clone(),
            hidden: false,
            display_order: i32::try_from(i).ok(),
        })
        .collect()
}

/// `PropertyGroup`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Group {
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) display_order: Option<i32>,
}

impl From<Group> for PropertyGroup {
    fn from(g: Group) -> PropertyGroup {
        PropertyGroup {
            name: g.name,
            label: g.label,
            display_order: g.display_order,
        }
    }
}

/// `CollectionResponsePropertyNoPaging` / `...PropertyGroupNoPaging`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Results<T> {
    pub(crate) results: Vec<T>,
}

/// `GET /account-info/{version}/details` (only the field firmo reads).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AccountDetails {
    pub(crate) portal_id: u64,
}

/// `BatchResponseProperty` / `BatchResponsePropertyWithErrors` (batch property create).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct PropertyBatch {
    #[serde(default)]
    pub(crate) results: Vec<Property>,
    #[serde(default)]
    pub(crate) errors: Vec<StandardError>,
}

/// `GET /crm/limits/{version}/custom-properties`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PropertyLimits {
    #[serde(default)]
    pub(crate) overall_limit: Option<u64>,
    #[serde(default)]
    pub(crate) overall_usage: Option<u64>,
    #[serde(default)]
    pub(crate) by_object_type: Vec<ObjectTypeLimit>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ObjectTypeLimit {
    pub(crate) object_type_id: String,
    pub(crate) limit: u64,
    pub(crate) usage: u64,
}

/// `POST /oauth/v2/private-apps/get/access-token-info`: the fields firmo reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TokenInfo {
    #[serde(default)]
    pub(crate) hub_id: Option<u64>,
    #[serde(default)]
    pub(crate) scopes: Vec<String>,
}

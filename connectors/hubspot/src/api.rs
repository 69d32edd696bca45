//! Which HubSpot API version firmo speaks, and every path it calls, built in one place.
//!
//! HubSpot's REST APIs moved to date-based versions on 2026-03-30 (developer docs: "API
//! versioning", "Legacy API migration guide"): the version sits after the API name,
//! `/crm/objects/2026-09/companies`, `/crm/properties/2026-09/companies/batch/create`,
//! `/account-info/2026-09/details`, `/crm/limits/2026-09/custom-properties`, where the
//! legacy paths read `/crm/v3/objects/companies` and so on. A new version ships every
//! March and September and is supported at least 18 months; the numbered v1–v4 paths lose
//! support in September 2027. From 2026-09 on, a portal's own validation rules apply to
//! API writes (changelog "CRM API write validation enforcement").

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A HubSpot API version firmo is tested against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ApiVersion {
    /// `2026-09`: the newest; portal validation rules apply to writes.
    #[default]
    V2026_09,
    /// `2026-03`: the first dated version.
    V2026_03,
    /// `v3`: the legacy numbered paths (unsupported from September 2027).
    V3,
}

impl ApiVersion {
    /// Every version, newest first.
    pub const ALL: [ApiVersion; 3] = [ApiVersion::V2026_09, ApiVersion::V2026_03, ApiVersion::V3];

    /// As written in config and in HubSpot's paths.
    pub const fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V2026_09 => "2026-09",
            ApiVersion::V2026_03 => "2026-03",
            ApiVersion::V3 => "v3",
        }
    }

    /// Whether HubSpot applies the portal's validation rules (required and conditionally
    /// required properties) to writes made through this version.
    pub const fn enforces_portal_rules(self) -> bool {
        matches!(self, ApiVersion::V2026_09)
    }

    /// `/{api}/{version}/{rest}` for dated versions, `/{api}/v3/{rest}` for the legacy
    /// one, except that legacy CRM paths put the version before the API name
    /// (`/crm/v3/objects/...` against `/crm/objects/2026-09/...`).
    fn path(self, api: &str, rest: &str) -> String {
        let version = self.as_str();
        match (self, api.split_once('/')) {
            // `crm/objects` → `/crm/v3/objects/...`
            (ApiVersion::V3, Some((root, name))) => format!("/{root}/v3/{name}/{rest}"),
            _ => format!("/{api}/{version}/{rest}"),
        }
    }

    /// A CRM object collection: `/crm/objects/2026-09/companies`.
    pub fn objects(self, object_type: &str) -> String {
        self.path("crm/objects", object_type)
    }

    /// An object type's properties: `/crm/properties/2026-09/companies`.
    pub fn properties(self, object_type: &str) -> String {
        self.path("crm/properties", object_type)
    }

    /// An object type's property groups: `/crm/properties/2026-09/companies/groups`.
    pub fn property_groups(self, object_type: &str) -> String {
        format!("{}/groups", self.properties(object_type))
    }

    /// The account's details (portal id): `/account-info/2026-09/details`.
    pub fn account_details(self) -> String {
        self.path("account-info", "details")
    }

    /// Custom-property limits and usage: `/crm/limits/2026-09/custom-properties`.
    pub fn custom_property_limits(self) -> String {
        self.path("crm/limits", "custom-properties")
    }
}

/// A private app's (or service key's) token describing itself: HubSpot documents this
/// one path only (no dated version), `POST` with `{"tokenKey": ...}`.
pub const TOKEN_INFO_PATH: &str = "/oauth/v2/private-apps/get/access-token-info";

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An `api_version` value firmo doesn't speak.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "HubSpot API version {given:?} is not one firmo speaks; use \"2026-09\" (the default), \"2026-03\" or \"v3\""
)]
pub struct UnknownApiVersion {
    pub given: String,
}

impl FromStr for ApiVersion {
    type Err = UnknownApiVersion;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim();
        ApiVersion::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(trimmed))
            .ok_or_else(|| UnknownApiVersion {
                given: s.to_owned(),
            })
    }
}

impl TryFrom<String> for ApiVersion {
    type Error = UnknownApiVersion;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<ApiVersion> for String {
    fn from(v: ApiVersion) -> String {
        v.as_str().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dated_and_legacy_paths_have_hubspots_shapes() {
        let v = ApiVersion::V2026_09;
        assert_eq!(v.objects("companies"), "/crm/objects/2026-09/companies");
        assert_eq!(
            v.properties("companies"),
            "/crm/properties/2026-09/companies"
        );
        assert_eq!(
            v.property_groups("companies"),
            "/crm/properties/2026-09/companies/groups"
        );
        assert_eq!(v.account_details(), "/account-info/2026-09/details");
        assert_eq!(
            v.custom_property_limits(),
            "/crm/limits/2026-09/custom-properties"
        );
        let v3 = ApiVersion::V3;
        assert_eq!(v3.objects("companies"), "/crm/v3/objects/companies");
        assert_eq!(v3.properties("companies"), "/crm/v3/properties/companies");
        assert_eq!(v3.account_details(), "/account-info/v3/details");
        assert_eq!(
            v3.custom_property_limits(),
            "/crm/v3/limits/custom-properties"
        );
        assert_eq!(
            ApiVersion::V2026_03.objects("companies"),
            "/crm/objects/2026-03/companies"
        );
    }

    #[test]
    fn versions_parse_from_config_and_name_the_choices_when_wrong() {
        assert_eq!(ApiVersion::default(), ApiVersion::V2026_09);
        assert_eq!("2026-03".parse(), Ok(ApiVersion::V2026_03));
        assert_eq!(" V3 ".parse(), Ok(ApiVersion::V3));
        let err = "2025-09".parse::<ApiVersion>().unwrap_err();
        assert!(err.to_string().contains("\"2025-09\""), "{err}");
        assert!(err.to_string().contains("2026-09"), "{err}");
        let v: ApiVersion = serde_json::from_str("\"2026-09\"").unwrap();
        assert!(v.enforces_portal_rules() && !ApiVersion::V3.enforces_portal_rules());
        assert!(serde_json::from_str::<ApiVersion>("\"v4\"").is_err());
    }
}

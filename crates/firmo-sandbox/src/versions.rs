//! HubSpot's API versions the sandbox serves, identically: the legacy `/crm/v3/...` paths
//! and the dated ones (`/crm/objects/2026-09/companies`, `/account-info/2026-03/details`)
//! that replaced them on 2026-03-30 (developer docs: "API versioning", "Legacy API
//! migration guide"). One rule differs by version, as at HubSpot: portal validation
//! rules apply to writes from `2026-09` on (changelog "CRM API write validation
//! enforcement").

use std::borrow::Cow;

/// The path segment of each version served.
pub(crate) const VERSIONS: [&str; 3] = ["v3", "2026-03", "2026-09"];

/// HubSpot's names for the company object type: plural, singular alias, type id.
pub(crate) const COMPANY_NAMES: [&str; 3] = ["companies", "company", "0-2"];

/// `/crm/{api}/...` with `api` one of these takes the version after the API name in
/// dated paths (`/crm/objects/2026-09/...`) and before it in legacy ones
/// (`/crm/v3/objects/...`).
const CRM_APIS: [&str; 3] = ["objects", "properties", "limits"];

/// A route for `version`: `crm_api` is `Some("objects")` for `/crm/...` APIs, `rest`
/// what follows the version.
pub(crate) fn route(version: &str, crm_api: Option<&str>, api: &str, rest: &str) -> String {
    match crm_api {
        Some(crm) if version == "v3" => format!("/crm/v3/{crm}/{rest}"),
        Some(crm) => format!("/crm/{crm}/{version}/{rest}"),
        None => format!("/{api}/{version}/{rest}"),
    }
}

/// The version a request path names, if any.
pub(crate) fn of(path: &str) -> Option<&'static str> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let candidate = match segments.as_slice() {
        ["crm", "v3", ..] => "v3",
        ["crm", _, version, ..] | [_, version, ..] => version,
        _ => return None,
    };
    VERSIONS.into_iter().find(|v| *v == candidate)
}

/// Whether writes through `path` are subject to the portal's validation rules.
pub(crate) fn enforces_portal_rules(path: &str) -> bool {
    of(path) == Some("2026-09")
}

/// The legacy `v3` form of a path, with the company aliases as `companies`, so counting
/// and classification see one shape whatever version a client speaks.
pub(crate) fn canonical(path: &str) -> Cow<'_, str> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let mut out: Vec<&str> = match segments.as_slice() {
        ["crm", api, version, rest @ ..]
            if CRM_APIS.contains(api) && VERSIONS[1..].contains(version) =>
        {
            [&["crm", "v3", *api][..], rest].concat()
        }
        [api, version, rest @ ..] if *api != "crm" && VERSIONS[1..].contains(version) => {
            [&[*api, "v3"][..], rest].concat()
        }
        _ => segments.clone(),
    };
    if let ["crm", "v3", "objects" | "properties", object, ..] = out.as_slice()
        && COMPANY_NAMES[1..].contains(object)
    {
        out[3] = "companies";
    }
    if out == segments {
        return Cow::Borrowed(path);
    }
    Cow::Owned(format!("/{}", out.join("/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dated_paths_and_aliases_read_as_their_v3_form() {
        assert_eq!(
            canonical("/crm/objects/2026-09/companies/batch/update"),
            "/crm/v3/objects/companies/batch/update"
        );
        assert_eq!(
            canonical("/crm/properties/2026-03/company/groups"),
            "/crm/v3/properties/companies/groups"
        );
        assert_eq!(
            canonical("/crm/v3/objects/0-2/12"),
            "/crm/v3/objects/companies/12"
        );
        assert_eq!(
            canonical("/account-info/2026-09/details"),
            "/account-info/v3/details"
        );
        assert_eq!(
            canonical("/clearbit/v2/companies/find"),
            "/clearbit/v2/companies/find"
        );
        assert_eq!(of("/crm/objects/2026-09/companies"), Some("2026-09"));
        assert_eq!(of("/crm/v3/objects/companies"), Some("v3"));
        assert_eq!(of("/account-info/2026-03/details"), Some("2026-03"));
        assert_eq!(of("/crm/objects/2025-09/companies"), None);
        assert!(enforces_portal_rules(
            "/crm/objects/2026-09/companies/batch/update"
        ));
        assert!(!enforces_portal_rules(
            "/crm/v3/objects/companies/batch/update"
        ));
        assert_eq!(
            route("2026-09", Some("objects"), "", "companies/search"),
            "/crm/objects/2026-09/companies/search"
        );
        assert_eq!(
            route("v3", None, "account-info", "details"),
            "/account-info/v3/details"
        );
    }
}

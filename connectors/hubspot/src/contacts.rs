//! A company's people: company → contact associations, contact records, contact property
//! writes and contact property setup, implementing [`ContactCrm`].
//!
//! What HubSpot documents (developer reference "Associations v4: batch read", its OpenAPI
//! file `Associations/Rollouts/130902/{v4,2026-09}/associations.json`, changelog "Bug
//! fix: batch read limit for HubSpot associations API"):
//!
//! - `POST /crm/v4/associations/companies/contacts/batch/read` (legacy; associations
//!   never had a v3 of this shape worth using: it doesn't page) or
//!   `POST /crm/associations/{2026-03|2026-09}/companies/contacts/batch/read`, body
//!   `{"inputs":[{"id","after"?}]}`, at most 1,000 ids per request since 2025-02-10;
//! - each result is `{from:{id}, to:[{toObjectId, associationTypes:[{category, typeId,
//!   label?}]}], paging?}`; "the 'after' field in a returned paging object can be added
//!   alongside the 'id' to retrieve the next page", and `paging` is absent on the last;
//! - a contact can come back once per association type (unlabeled 280 and "Primary" 2),
//!   so contacts are deduplicated by `toObjectId` with their labels merged.
//!
//! Contact records: `POST .../objects/contacts/batch/read` (≤ 100 ids) with only the
//! properties firmo reads; writes: `.../objects/contacts/batch/update`, through the same
//! per-record outcome machinery as companies (see [`HubspotClient::batch_update`]).

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use async_trait::async_trait;
use firmo_connect::ConnectorError;
use firmo_connect::contacts::{
    CompanyContacts, CompanyId, ContactCrm, ContactLink, ContactRead, ContactUpdate, CrmContact,
};
use firmo_connect::crm::{EnsureOutcome, PropertyDef, PropertyGroup, WriteOutcome};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::ApiVersion;
use crate::client::{Accept, BATCH_LIMIT, HubspotClient, SERVICE, encode_component, to_body};
use crate::retry::{entry_is_transient, error_from_standard};
use crate::wire::{BatchResponse, Group, Paging, Property, PropertyCreate, Results, StandardError};

/// Most company ids one associations batch read takes (HubSpot's limit since 2025-02-10).
pub const ASSOCIATION_INPUT_LIMIT: usize = 1_000;
/// HubSpot's object type name for contacts.
pub const CONTACT_OBJECT_TYPE: &str = "contacts";
/// HubSpot's company → contact "Primary" association type id.
pub const PRIMARY_TYPE_ID: i64 = 2;
/// The built-in contact properties firmo reads on every contact.
pub const CONTACT_READ_PROPERTIES: &[&str] = &["email", "firstname", "jobtitle", "lastname"];
/// Times an association page whose 207 entry was transient is asked again.
const TRANSIENT_ROUNDS: u32 = 3;

/// What firmo reads on a contact: [`CONTACT_READ_PROPERTIES`], the portal's LinkedIn
/// property if the user mapped one, and firmo's own contact properties; each once.
pub fn contact_properties(linkedin_property: Option<&str>, firmo_own: &[String]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    CONTACT_READ_PROPERTIES
        .iter()
        .map(|s| (*s).to_owned())
        .chain(linkedin_property.map(str::to_owned))
        .chain(firmo_own.iter().cloned())
        .filter(|p| !p.trim().is_empty() && seen.insert(p.clone()))
        .collect()
}

/// The company → contact associations batch read path for `version`.
pub fn associations_path(version: ApiVersion) -> String {
    match version {
        // The legacy associations API that pages and carries labels is v4, not v3.
        ApiVersion::V3 => "/crm/v4/associations/companies/contacts/batch/read".to_owned(),
        dated => format!(
            "/crm/associations/{}/companies/contacts/batch/read",
            dated.as_str()
        ),
    }
}

/// `BatchResponsePublicAssociationMultiWithLabel[WithErrors]`.
#[derive(Debug, Deserialize)]
struct AssociationBatch {
    #[serde(default)]
    results: Vec<AssociationResult>,
    #[serde(default)]
    errors: Vec<StandardError>,
}

#[derive(Debug, Deserialize)]
struct AssociationResult {
    from: ObjectId,
    #[serde(default)]
    to: Vec<AssociatedObject>,
    #[serde(default)]
    paging: Option<Paging>,
}

#[derive(Debug, Deserialize)]
struct ObjectId {
    id: Value,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AssociatedObject {
    // A string in HubSpot's OpenAPI file, a number in answers integrators quote: take both.
    to_object_id: Value,
    #[serde(default)]
    association_types: Vec<AssociationType>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AssociationType {
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    type_id: Option<i64>,
    #[serde(default)]
    label: Option<String>,
}

fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn malformed(message: String) -> ConnectorError {
    ConnectorError::Malformed {
        service: SERVICE,
        path: "associations batch read response".into(),
        message,
    }
}

/// One company's contacts as they accumulate over pages.
#[derive(Default)]
struct Gathered {
    links: Vec<ContactLink>,
    index: HashMap<String, usize>,
}

impl Gathered {
    fn add(&mut self, contact_id: String, types: &[AssociationType]) {
        let at = *self.index.entry(contact_id.clone()).or_insert_with(|| {
            self.links.push(ContactLink {
                contact_id,
                labels: Vec::new(),
                primary: false,
            });
            self.links.len() - 1
        });
        let link = &mut self.links[at];
        for t in types {
            if let Some(label) = t.label.as_deref().map(str::trim).filter(|l| !l.is_empty())
                && !link.labels.iter().any(|l| l == label)
            {
                link.labels.push(label.to_owned());
            }
            if t.type_id == Some(PRIMARY_TYPE_ID)
                && t.category.as_deref().is_none_or(|c| c == "HUBSPOT_DEFINED")
            {
                link.primary = true;
            }
        }
    }
}

impl HubspotClient {
    fn contacts_path(&self) -> String {
        self.config().api_version.objects(CONTACT_OBJECT_TYPE)
    }

    fn contact_properties_path(&self) -> String {
        self.config().api_version.properties(CONTACT_OBJECT_TYPE)
    }

    /// Every contact of each company (see [`ContactCrm::contacts_of`]): ≤ 1,000 ids per
    /// request, each company's list paged by its `after` token until none is returned.
    pub async fn company_contacts(
        &self,
        companies: &[CompanyId],
    ) -> Result<Vec<CompanyContacts>, ConnectorError> {
        let mut order = Vec::new();
        let mut gathered: HashMap<String, Gathered> = HashMap::new();
        for id in companies {
            if gathered.insert(id.clone(), Gathered::default()).is_none() {
                order.push(id.clone());
            }
        }
        let path = associations_path(self.config().api_version);
        let mut queue: VecDeque<(String, Option<String>)> =
            order.iter().map(|id| (id.clone(), None)).collect();
        let mut asked: HashSet<(String, Option<String>)> = HashSet::new();
        let mut retries: HashMap<(String, Option<String>), u32> = HashMap::new();
        while !queue.is_empty() {
            let take = queue.len().min(ASSOCIATION_INPUT_LIMIT);
            let chunk: Vec<(String, Option<String>)> = queue.drain(..take).collect();
            let inputs: Vec<Value> = chunk
                .iter()
                .map(|(id, after)| match after {
                    Some(after) => json!({"id": id, "after": after}),
                    None => json!({ "id": id }),
                })
                .collect();
            let answer: AssociationBatch = self
                .post_json(
                    &path,
                    &json!({ "inputs": inputs }),
                    "associations batch read",
                )
                .await?;
            for result in answer.results {
                let from = id_text(&result.from.id)
                    .ok_or_else(|| malformed(format!("`from.id` is {}", result.from.id)))?;
                // An id we didn't ask about has nowhere to go: HubSpot echoes ours.
                let Some(entry) = gathered.get_mut(&from) else {
                    continue;
                };
                for to in result.to {
                    let contact = id_text(&to.to_object_id).ok_or_else(|| {
                        malformed(format!(
                            "company {from}: `toObjectId` is {}",
                            to.to_object_id
                        ))
                    })?;
                    entry.add(contact, &to.association_types);
                }
                if let Some(after) = result.paging.and_then(|p| p.next).map(|n| n.after) {
                    // A token handed out twice would page forever.
                    if !asked.insert((from.clone(), Some(after.clone()))) {
                        return Err(malformed(format!(
                            "company {from}: paging token {after:?} came back twice"
                        )));
                    }
                    queue.push_back((from, Some(after)));
                }
            }
            for error in &answer.errors {
                if error.category.as_deref() == Some("OBJECT_NOT_FOUND") {
                    // A company with no contacts (or none by that id): an empty list.
                    continue;
                }
                if !entry_is_transient(error) {
                    return Err(error_from_standard(error, 207));
                }
                let mut ids = error.context_strings("fromObjectId");
                ids.extend(error.context_strings("ids"));
                let failed: Vec<&(String, Option<String>)> = if ids.is_empty() {
                    chunk.iter().collect()
                } else {
                    chunk.iter().filter(|(id, _)| ids.contains(id)).collect()
                };
                for key in failed {
                    let rounds = retries.entry(key.clone()).or_default();
                    *rounds += 1;
                    if *rounds > TRANSIENT_ROUNDS {
                        return Err(error_from_standard(error, 207));
                    }
                    queue.push_back(key.clone());
                }
            }
        }
        Ok(order
            .into_iter()
            .map(|company_id| {
                let contacts = gathered.remove(&company_id).unwrap_or_default().links;
                CompanyContacts {
                    company_id,
                    contacts,
                }
            })
            .collect())
    }

    /// Contacts by id in batches of 100 (see [`ContactCrm::read_contacts`]).
    pub async fn contacts_batch_read(
        &self,
        ids: &[String],
        properties: &[String],
    ) -> Result<ContactRead, ConnectorError> {
        let mut out = ContactRead::default();
        let mut seen = BTreeSet::new();
        let unique: Vec<&String> = ids.iter().filter(|id| seen.insert(id.as_str())).collect();
        let path = format!("{}/batch/read", self.contacts_path());
        for chunk in unique.chunks(BATCH_LIMIT) {
            let body = json!({
                "properties": properties,
                "propertiesWithHistory": [],
                "inputs": chunk.iter().map(|id| json!({ "id": id })).collect::<Vec<_>>(),
            });
            let response: BatchResponse = self
                .post_json(&path, &body, "contacts batch read response")
                .await?;
            for error in &response.errors {
                if !matches!(error.category.as_deref(), Some("OBJECT_NOT_FOUND") | None) {
                    return Err(error_from_standard(error, 207));
                }
            }
            let found: BTreeSet<String> = response.results.iter().map(|o| o.id.clone()).collect();
            out.contacts
                .extend(response.results.into_iter().map(|o| CrmContact {
                    id: o.id,
                    properties: o.properties,
                }));
            // Whatever wasn't returned is missing (HubSpot lists them in a 207's errors).
            out.missing.extend(
                chunk
                    .iter()
                    .filter(|id| !found.contains(id.as_str()))
                    .map(|id| (*id).clone()),
            );
        }
        Ok(out)
    }

    /// Writes contact properties (see [`ContactCrm::write_contacts`]).
    pub async fn contacts_batch_update(
        &self,
        updates: &[ContactUpdate],
    ) -> Result<Vec<WriteOutcome>, ConnectorError> {
        self.batch_update_at(&self.contacts_path(), updates).await
    }

    /// `GET .../properties/contacts`.
    pub async fn list_contact_properties(&self) -> Result<Vec<PropertyDef>, ConnectorError> {
        let list: Results<Property> = self
            .get_json(
                &self.contact_properties_path(),
                &[],
                "contact properties list",
            )
            .await?;
        Ok(list.results.into_iter().map(PropertyDef::from).collect())
    }

    async fn contact_property(&self, name: &str) -> Result<Option<PropertyDef>, ConnectorError> {
        let path = format!(
            "{}/{}",
            self.contact_properties_path(),
            encode_component(name)
        );
        match self
            .get_json::<Property>(&path, &[], "contact property")
            .await
        {
            Ok(p) => Ok(Some(p.into())),
            Err(ConnectorError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Creates the contact property group unless it exists.
    pub async fn ensure_contact_group(
        &self,
        group: &PropertyGroup,
    ) -> Result<EnsureOutcome, ConnectorError> {
        let groups = format!("{}/groups", self.contact_properties_path());
        let one = format!("{groups}/{}", encode_component(&group.name));
        match self
            .get_json::<Group>(&one, &[], "contact property group")
            .await
        {
            Ok(_) => return Ok(EnsureOutcome::Unchanged),
            Err(ConnectorError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
        let body = to_body(&Group {
            name: group.name.clone(),
            label: group.label.clone(),
            display_order: group.display_order,
        })?;
        let response = self
            .send(Method::POST, &groups, &[], Some(body), &Accept(&[409]))
            .await?;
        Ok(if response.status == 409 {
            EnsureOutcome::Unchanged
        } else {
            EnsureOutcome::Created
        })
    }

    /// Creates the contact property unless it exists; compares an existing one.
    pub async fn ensure_contact_property(
        &self,
        wanted: &PropertyDef,
    ) -> Result<EnsureOutcome, ConnectorError> {
        if let Some(existing) = self.contact_property(&wanted.name).await? {
            return Ok(compare(wanted, &existing));
        }
        let body = to_body(&PropertyCreate::from_def(wanted))?;
        let response = self
            .send(
                Method::POST,
                &self.contact_properties_path(),
                &[],
                Some(body),
                &Accept(&[409]),
            )
            .await?;
        if response.status != 409 {
            return Ok(EnsureOutcome::Created);
        }
        // Created by someone else between our read and our create.
        match self.contact_property(&wanted.name).await? {
            Some(existing) => Ok(compare(wanted, &existing)),
            None => Err(ConnectorError::Unexpected {
                service: SERVICE,
                status: 409,
                message: format!(
                    "contact property `{}` conflicted on create but can't be read",
                    wanted.name
                ),
            }),
        }
    }
}

/// An existing contact property against the wanted one. Options are never extended on
/// contacts: a missing option is reported for a person to add.
fn compare(wanted: &PropertyDef, existing: &PropertyDef) -> EnsureOutcome {
    let shape = |p: &PropertyDef| format!("{}/{}", p.property_type, p.field_type);
    if existing.property_type != wanted.property_type || existing.field_type != wanted.field_type {
        return EnsureOutcome::Mismatch {
            expected: shape(wanted),
            found: shape(existing),
        };
    }
    let have: BTreeSet<&str> = existing.options.iter().map(|o| o.value.as_str()).collect();
    let missing: Vec<&str> = wanted
        .options
        .iter()
        .map(|o| o.value.as_str())
        .filter(|v| !have.contains(v))
        .collect();
    if missing.is_empty() {
        EnsureOutcome::Unchanged
    } else {
        EnsureOutcome::Mismatch {
            expected: format!("{} with options {}", shape(wanted), missing.join(", ")),
            found: format!("{} without them", shape(existing)),
        }
    }
}

#[async_trait]
impl ContactCrm for HubspotClient {
    async fn contacts_of(
        &self,
        companies: &[CompanyId],
    ) -> Result<Vec<CompanyContacts>, ConnectorError> {
        self.company_contacts(companies).await
    }

    async fn read_contacts(
        &self,
        ids: &[String],
        properties: &[String],
    ) -> Result<ContactRead, ConnectorError> {
        self.contacts_batch_read(ids, properties).await
    }

    async fn write_contacts(
        &self,
        updates: &[ContactUpdate],
    ) -> Result<Vec<WriteOutcome>, ConnectorError> {
        self.contacts_batch_update(updates).await
    }

    async fn list_contact_properties(&self) -> Result<Vec<PropertyDef>, ConnectorError> {
        HubspotClient::list_contact_properties(self).await
    }

    async fn ensure_contact_group(
        &self,
        group: &PropertyGroup,
    ) -> Result<EnsureOutcome, ConnectorError> {
        HubspotClient::ensure_contact_group(self, group).await
    }

    async fn ensure_contact_property(
        &self,
        property: &PropertyDef,
    ) -> Result<EnsureOutcome, ConnectorError> {
        HubspotClient::ensure_contact_property(self, property).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn association_paths_follow_the_version() {
        assert_eq!(
            associations_path(ApiVersion::V3),
            "/crm/v4/associations/companies/contacts/batch/read"
        );
        assert_eq!(
            associations_path(ApiVersion::V2026_09),
            "/crm/associations/2026-09/companies/contacts/batch/read"
        );
        assert_eq!(
            associations_path(ApiVersion::V2026_03),
            "/crm/associations/2026-03/companies/contacts/batch/read"
        );
    }

    #[test]
    fn read_properties_are_each_once_with_the_mapped_linkedin_property() {
        let own = vec!["firmo_seniority".to_owned(), "jobtitle".to_owned()];
        assert_eq!(
            contact_properties(Some("hs_linkedin_url"), &own),
            [
                "email",
                "firstname",
                "jobtitle",
                "lastname",
                "hs_linkedin_url",
                "firmo_seniority"
            ]
        );
        assert_eq!(contact_properties(Some(" "), &[]).len(), 4);
    }

    #[test]
    fn a_contact_under_two_labels_is_one_link_with_both() {
        let types: Vec<AssociationType> = serde_json::from_value(json!([
            {"category": "HUBSPOT_DEFINED", "typeId": 280},
        ]))
        .unwrap();
        let primary: Vec<AssociationType> = serde_json::from_value(json!([
            {"category": "HUBSPOT_DEFINED", "typeId": 2, "label": "Primary"},
            {"category": "USER_DEFINED", "typeId": 1001, "label": "Technical buyer"},
        ]))
        .unwrap();
        let mut g = Gathered::default();
        g.add("7".into(), &types);
        g.add("8".into(), &types);
        g.add("7".into(), &primary);
        g.add("7".into(), &primary);
        assert_eq!(g.links.len(), 2);
        assert_eq!(g.links[0].labels, ["Primary", "Technical buyer"]);
        assert!(g.links[0].primary && !g.links[1].primary);
        assert_eq!(id_text(&json!(12)), Some("12".into()));
        assert_eq!(id_text(&json!("")), None);
    }
}

//! The CRM's people: which contacts belong to which company, their records, and writes
//! to their properties. A trait of its own beside [`Crm`](crate::Crm) so a CRM without
//! contacts needs no stubs, and the engine asks for contacts only with `[contacts]` on.

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::crm::{EnsureOutcome, PropertyDef, PropertyGroup, WriteOutcome};
use crate::error::ConnectorError;

/// A CRM company id (HubSpot's `hs_object_id`).
pub type CompanyId = String;

/// A contact update: the same shape as a company's (id and property values), written in
/// batches of at most 100 with one outcome per record.
pub type ContactUpdate = crate::crm::CompanyUpdate;

/// One contact of a company, once, whatever the number of association labels it is
/// associated under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactLink {
    pub contact_id: String,
    /// The association labels, in the order the CRM listed them; an unlabeled
    /// association adds none.
    pub labels: Vec<String>,
    /// Associated under the CRM's "primary company" type (HubSpot type 2).
    pub primary: bool,
}

/// A company's contacts, each once, in the order the CRM first listed them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompanyContacts {
    pub company_id: CompanyId,
    pub contacts: Vec<ContactLink>,
}

/// A contact as read: its id and the requested properties (`None`: no value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrmContact {
    pub id: String,
    pub properties: BTreeMap<String, Option<String>>,
}

impl CrmContact {
    /// A property's value, `None` when absent or empty.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties
            .get(name)
            .and_then(Option::as_deref)
            .filter(|v| !v.is_empty())
    }
}

/// The answer to a contacts batch read: the contacts found, and the ids that weren't.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactRead {
    pub contacts: Vec<CrmContact>,
    pub missing: Vec<String>,
}

/// A CRM whose companies have contacts firmo can read and write.
#[async_trait]
pub trait ContactCrm: Send + Sync {
    /// Every contact of each company, paged to the end and each contact once; one entry
    /// per distinct company id, in input order (a company with no contacts: empty list).
    async fn contacts_of(
        &self,
        companies: &[CompanyId],
    ) -> Result<Vec<CompanyContacts>, ConnectorError>;

    /// The contacts with these ids (duplicates read once), with only `properties`.
    async fn read_contacts(
        &self,
        ids: &[String],
        properties: &[String],
    ) -> Result<ContactRead, ConnectorError>;

    /// Writes contact properties; one outcome per update, in input order.
    async fn write_contacts(
        &self,
        updates: &[ContactUpdate],
    ) -> Result<Vec<WriteOutcome>, ConnectorError>;

    /// Every contact property the CRM defines.
    async fn list_contact_properties(&self) -> Result<Vec<PropertyDef>, ConnectorError>;

    /// Creates the contact property group unless it exists.
    async fn ensure_contact_group(
        &self,
        group: &PropertyGroup,
    ) -> Result<EnsureOutcome, ConnectorError>;

    /// Creates the contact property unless it exists; an existing one of another type,
    /// or an enumeration without some wanted options, is a `Mismatch` (left alone).
    async fn ensure_contact_property(
        &self,
        property: &PropertyDef,
    ) -> Result<EnsureOutcome, ConnectorError>;
}

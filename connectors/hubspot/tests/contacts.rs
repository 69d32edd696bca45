//! The contacts half of the HubSpot client against the sandbox (in-process,
//! 127.0.0.1:0), on every API version firmo speaks: associations paged past 1,000 and
//! deduplicated across labels, more than 1,000 company ids split, contacts read in
//! batches of 100, contact writes with one outcome per record, contact property setup.

use std::collections::BTreeMap;
use std::time::Duration;

use firmo_connect::contacts::{ContactCrm, ContactUpdate};
use firmo_connect::crm::{EnsureOutcome, PropertyDef, PropertyGroup, PropertyOption, PropertyType};
use firmo_connect::{ConnectorError, Secret};
use firmo_hubspot::{ApiVersion, HubspotClient, HubspotConfig, contact_properties};
use firmo_sandbox::{AssociationLabel, SandboxConfig, SandboxHandle};

async fn start(companies: usize) -> SandboxHandle {
    let config = SandboxConfig {
        companies,
        ..SandboxConfig::default()
    };
    firmo_sandbox::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("sandbox starts")
}

fn client(sandbox: &SandboxHandle, version: ApiVersion) -> HubspotClient {
    let mut config = HubspotConfig::new(Secret::new(sandbox.token()))
        .with_base_url(sandbox.base_url())
        .with_api_version(version);
    config.requests_per_interval = 2000;
    config.interval = Duration::from_secs(1);
    config.base_backoff = Duration::from_millis(10);
    config.max_backoff = Duration::from_millis(100);
    config.timeout = Duration::from_secs(10);
    HubspotClient::new(config).unwrap()
}

/// A company of the demo with a domain (so it has contacts).
fn company_with_contacts(sandbox: &SandboxHandle) -> String {
    sandbox
        .companies()
        .into_iter()
        .find(|c| !sandbox.state().contact_ids_of(&c.id).is_empty())
        .expect("a demo company with contacts")
        .id
}

#[tokio::test]
async fn associations_page_past_1000_and_a_twice_associated_contact_is_listed_once() {
    for version in ApiVersion::ALL {
        let sandbox = start(20).await;
        let hubspot = client(&sandbox, version);
        let big = company_with_contacts(&sandbox);
        let seeded = sandbox.state().contact_ids_of(&big);
        let added = sandbox.state().add_contacts(&big, "bulk.example", 1_100);
        assert!(
            sandbox
                .state()
                .associate(&big, &added[600], AssociationLabel::Primary)
        );
        let companies: Vec<String> = sandbox.companies().into_iter().map(|c| c.id).collect();
        let mut asked = companies.clone();
        asked.push(big.clone()); // asked twice: answered once
        let lists = hubspot.contacts_of(&asked).await.unwrap();
        assert_eq!(lists.len(), companies.len(), "{version}");
        let mine = lists.iter().find(|l| l.company_id == big).unwrap();
        assert_eq!(mine.contacts.len(), seeded.len() + 1_100, "{version}");
        let twice = mine
            .contacts
            .iter()
            .find(|c| c.contact_id == added[600])
            .unwrap();
        assert!(twice.primary, "{version}");
        assert_eq!(twice.labels, ["Primary"], "{version}");
        let mut ids: Vec<&str> = mine
            .contacts
            .iter()
            .map(|c| c.contact_id.as_str())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), mine.contacts.len(), "each contact once");
        // Every other company's list is what the sandbox holds, deduplicated.
        for list in &lists {
            let expected = sandbox.state().contact_ids_of(&list.company_id);
            let got: Vec<String> = list.contacts.iter().map(|c| c.contact_id.clone()).collect();
            let (mut e, mut g) = (expected.clone(), got.clone());
            e.sort_unstable();
            g.sort_unstable();
            assert_eq!(g, e, "{version} company {}", list.company_id);
        }
        let twice_in_demo = lists
            .iter()
            .flat_map(|l| &l.contacts)
            .filter(|c| !c.labels.is_empty())
            .count();
        assert!(twice_in_demo >= 5, "{version}: {twice_in_demo}");
    }
}

#[tokio::test]
async fn more_than_1000_company_ids_are_split_into_requests_the_sandbox_takes() {
    let sandbox = start(5).await;
    let hubspot = client(&sandbox, ApiVersion::V2026_09);
    let real = company_with_contacts(&sandbox);
    // 1,500 ids the portal doesn't have, then a real one: past the first request's 1,000.
    let mut ids: Vec<String> = (0..1_500).map(|i| format!("{}", 9_000_000 + i)).collect();
    ids.push(real.clone());
    let lists = hubspot.contacts_of(&ids).await.unwrap();
    assert_eq!(lists.len(), 1_501);
    assert!(lists[..1_500].iter().all(|l| l.contacts.is_empty()));
    assert_eq!(lists[1_500].company_id, real);
    assert_eq!(
        lists[1_500].contacts.len(),
        sandbox.state().contact_ids_of(&real).len()
    );
}

#[tokio::test]
async fn contacts_are_read_in_batches_of_100_with_only_the_wanted_properties() {
    for version in ApiVersion::ALL {
        let sandbox = start(5).await;
        let hubspot = client(&sandbox, version);
        let company = company_with_contacts(&sandbox);
        let mut ids = sandbox.state().add_contacts(&company, "many.example", 250);
        ids.push(ids[3].clone());
        ids.push("4999999".into());
        let wanted = contact_properties(Some("hs_linkedin_url"), &[]);
        let read = hubspot.read_contacts(&ids, &wanted).await.unwrap();
        assert_eq!(read.contacts.len(), 250, "{version}");
        assert_eq!(read.missing, ["4999999"], "{version}");
        let first = &read.contacts[0];
        assert_eq!(first.property("email"), Some("person0@many.example"));
        assert_eq!(first.property("jobtitle"), None);
        assert!(first.properties.contains_key("hs_linkedin_url"));
        assert!(
            !first.properties.contains_key("company"),
            "only what was asked"
        );
    }
}

#[tokio::test]
async fn contact_writes_have_one_outcome_each_and_land() {
    for version in ApiVersion::ALL {
        let sandbox = start(5).await;
        let hubspot = client(&sandbox, version);
        let company = company_with_contacts(&sandbox);
        let ids = sandbox.state().add_contacts(&company, "write.example", 150);
        let mut updates: Vec<ContactUpdate> = ids
            .iter()
            .map(|id| ContactUpdate {
                id: id.clone(),
                properties: BTreeMap::from([("jobtitle".to_owned(), format!("Title {id}"))]),
            })
            .collect();
        updates.push(ContactUpdate {
            id: "4999998".into(),
            properties: BTreeMap::from([("jobtitle".to_owned(), "x".to_owned())]),
        });
        updates.push(ContactUpdate {
            id: ids[1].clone(),
            properties: BTreeMap::new(),
        });
        let dup = hubspot.write_contacts(&updates).await.unwrap_err();
        assert!(
            matches!(dup, ConnectorError::Validation { .. }),
            "{version}: {dup}"
        );
        updates.pop();
        updates.push(ContactUpdate {
            id: ids[5].clone(),
            properties: BTreeMap::from([("firmo_missing".to_owned(), "x".to_owned())]),
        });
        updates.swap_remove(5);
        let outcomes = hubspot.write_contacts(&updates).await.unwrap();
        assert_eq!(outcomes.len(), updates.len(), "{version}");
        for (update, outcome) in updates.iter().zip(&outcomes) {
            assert_eq!(outcome.id(), update.id, "{version}");
            let expect_written =
                update.properties.contains_key("jobtitle") && update.id != "4999998";
            assert_eq!(
                outcome.is_written(),
                expect_written,
                "{version} {outcome:?}"
            );
        }
        assert_eq!(
            sandbox.state().contact(&ids[7]).unwrap().properties["jobtitle"],
            format!("Title {}", ids[7])
        );
        assert!(
            !sandbox
                .state()
                .contact(&ids[5])
                .unwrap()
                .properties
                .contains_key("firmo_missing")
        );
    }
}

#[tokio::test]
async fn contact_properties_are_ensured_once_and_a_wrong_type_is_reported() {
    for version in ApiVersion::ALL {
        let sandbox = start(2).await;
        let hubspot = client(&sandbox, version);
        let group = PropertyGroup {
            name: "firmo".into(),
            label: "firmo".into(),
            display_order: None,
        };
        assert_eq!(
            hubspot.ensure_contact_group(&group).await.unwrap(),
            EnsureOutcome::Created
        );
        assert_eq!(
            hubspot.ensure_contact_group(&group).await.unwrap(),
            EnsureOutcome::Unchanged
        );
        let seniority = PropertyDef {
            name: "firmo_seniority".into(),
            label: "Seniority (firmo)".into(),
            property_type: PropertyType::Enumeration,
            field_type: "select".into(),
            group_name: "firmo".into(),
            options: vec![PropertyOption {
                label: "VP".into(),
                value: "vp".into(),
            }],
            description: "Level of the current role.".into(),
            crm_defined: false,
        };
        assert_eq!(
            hubspot.ensure_contact_property(&seniority).await.unwrap(),
            EnsureOutcome::Created,
            "{version}"
        );
        assert_eq!(
            hubspot.ensure_contact_property(&seniority).await.unwrap(),
            EnsureOutcome::Unchanged
        );
        let mut more = seniority.clone();
        more.options.push(PropertyOption {
            label: "CTO".into(),
            value: "c_suite".into(),
        });
        assert!(matches!(
            hubspot.ensure_contact_property(&more).await.unwrap(),
            EnsureOutcome::Mismatch { expected, .. } if expected.contains("c_suite")
        ));
        let title_as_number = PropertyDef {
            name: "jobtitle".into(),
            property_type: PropertyType::Number,
            field_type: "number".into(),
            options: Vec::new(),
            ..seniority.clone()
        };
        assert!(matches!(
            hubspot.ensure_contact_property(&title_as_number).await.unwrap(),
            EnsureOutcome::Mismatch { found, .. } if found == "string/text"
        ));
        let names: Vec<String> = hubspot
            .list_contact_properties()
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert!(names.contains(&"firmo_seniority".to_owned()));
        assert!(
            sandbox.state().property("firmo_seniority").is_none(),
            "not on companies"
        );
    }
}

//! Contacts and company → contact associations, checked against HubSpot's own OpenAPI
//! files for them (`contacts-v3.json`, `associations-v4.json`), on every path version.

mod common;

use std::sync::OnceLock;

use common::{get, post, sandbox};
use firmo_sandbox::AssociationLabel;
use serde_json::{Value, json};

/// `name`'s schema from one of the two new OpenAPI files, as JSON Schema `$defs`.
fn assert_fits(file: &str, name: &str, instance: &Value) {
    static CONTACTS: OnceLock<Value> = OnceLock::new();
    static ASSOCIATIONS: OnceLock<Value> = OnceLock::new();
    let cell = if file == "contacts-v3.json" {
        &CONTACTS
    } else {
        &ASSOCIATIONS
    };
    let defs = cell.get_or_init(|| {
        let path = format!(
            "{}/tests/fixtures/hubspot-openapi/{file}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(path).expect("OpenAPI fixture readable");
        let text = text.replace("#/components/schemas/", "#/$defs/");
        let openapi: Value = serde_json::from_str(&text).expect("OpenAPI fixture is JSON");
        let mut defs = openapi["components"]["schemas"].clone();
        // As for companies: a requested property without a value comes back null.
        if let Some(object) = defs.get_mut("SimplePublicObject") {
            object["properties"]["properties"]["additionalProperties"] =
                json!({"type": ["string", "null"]});
        }
        defs
    });
    assert!(defs.get(name).is_some(), "no schema {name} in {file}");
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$defs": defs,
        "$ref": format!("#/$defs/{name}"),
    });
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&schema)
        .expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "does not fit {name}: {errors:#?}\n{instance:#}"
    );
}

const ASSOC: [&str; 3] = [
    "/crm/v4/associations/companies/contacts/batch/read",
    "/crm/associations/2026-03/companies/contacts/batch/read",
    "/crm/associations/2026-09/companies/contacts/batch/read",
];
const CONTACTS: [&str; 3] = [
    "/crm/v3/objects/contacts",
    "/crm/objects/2026-03/contacts",
    "/crm/objects/2026-09/contacts",
];

#[tokio::test]
async fn demo_companies_have_contacts_some_twice_under_two_labels() {
    let sb = sandbox(30).await;
    let companies = sb.companies();
    let inputs: Vec<Value> = companies.iter().map(|c| json!({"id": c.id})).collect();
    let mut twice = 0;
    for path in ASSOC {
        let answer = post(&sb, path, json!({ "inputs": inputs })).await;
        // Companies without a domain have no contacts: a 207 names them.
        let schema = if answer.status == 207 {
            "BatchResponsePublicAssociationMultiWithLabelWithErrors"
        } else {
            "BatchResponsePublicAssociationMultiWithLabel"
        };
        assert_fits("associations-v4.json", schema, &answer.body);
        twice = 0;
        for result in answer.body["results"].as_array().unwrap() {
            let to = result["to"].as_array().unwrap();
            let mut ids: Vec<&str> = to
                .iter()
                .map(|t| t["toObjectId"].as_str().unwrap())
                .collect();
            let all = ids.len();
            ids.sort_unstable();
            ids.dedup();
            twice += all - ids.len();
            let company = result["from"]["id"].as_str().unwrap();
            assert_eq!(ids.len(), sb.state().contact_ids_of(company).len());
            assert!(result.get("paging").is_none(), "short lists fit one page");
        }
    }
    assert!(
        twice >= 10,
        "most companies have a primary contact: {twice}"
    );
}

#[tokio::test]
async fn more_than_500_associations_page_and_over_1000_ids_are_refused() {
    let sb = sandbox(3).await;
    let company = sb.companies()[0].id.clone();
    let before = sb.state().contact_ids_of(&company).len();
    let added = sb.state().add_contacts(&company, "bulk.example", 1_200);
    assert!(
        sb.state()
            .associate(&company, &added[7], AssociationLabel::Primary)
    );
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut input = json!({"id": company});
        if let Some(a) = &after {
            input["after"] = json!(a);
        }
        let answer = post(&sb, ASSOC[2], json!({"inputs": [input]})).await;
        assert_eq!(answer.status, 200, "{:#}", answer.body);
        assert_fits(
            "associations-v4.json",
            "BatchResponsePublicAssociationMultiWithLabel",
            &answer.body,
        );
        let result = &answer.body["results"][0];
        for to in result["to"].as_array().unwrap() {
            seen.push(to["toObjectId"].as_str().unwrap().to_owned());
        }
        pages += 1;
        match result["paging"]["next"]["after"].as_str() {
            Some(a) => after = Some(a.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let twice = seen.iter().filter(|id| **id == added[7]).count();
    assert_eq!(twice, 2, "unlabeled and Primary");
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), before + 1_200);
    let too_many: Vec<Value> = (0..1_001).map(|i| json!({"id": i.to_string()})).collect();
    let refused = post(&sb, ASSOC[0], json!({ "inputs": too_many })).await;
    common::assert_error(&refused, 400, "VALIDATION_ERROR");
    assert!(
        refused.body["message"].as_str().unwrap().contains("1000"),
        "{:#}",
        refused.body
    );
    let exactly: Vec<Value> = (0..1_000).map(|i| json!({"id": i.to_string()})).collect();
    assert_eq!(
        post(&sb, ASSOC[1], json!({ "inputs": exactly }))
            .await
            .status,
        207
    );
    let forged = post(
        &sb,
        ASSOC[1],
        json!({"inputs": [{"id": company, "after": "forged"}]}),
    )
    .await;
    common::assert_error(&forged, 400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn contacts_batch_read_and_update_fit_hubspots_schemas_on_every_version() {
    let sb = sandbox(10).await;
    let company = sb
        .companies()
        .into_iter()
        .find(|c| !sb.state().contact_ids_of(&c.id).is_empty())
        .unwrap();
    let ids = sb.state().contact_ids_of(&company.id);
    for base in CONTACTS {
        let inputs: Vec<Value> = ids
            .iter()
            .map(|id| json!({ "id": id }))
            .chain([json!({"id": "999"})])
            .collect();
        let read = post(
            &sb,
            &format!("{base}/batch/read"),
            json!({"inputs": inputs, "properties": ["jobtitle", "email", "nope"], "propertiesWithHistory": []}),
        )
        .await;
        assert_eq!(read.status, 207, "{:#}", read.body);
        assert_fits(
            "contacts-v3.json",
            "BatchResponseSimplePublicObjectWithErrors",
            &read.body,
        );
        assert_eq!(read.body["results"].as_array().unwrap().len(), ids.len());
        assert_eq!(read.body["errors"][0]["context"]["ids"][0], "999");
        let first = &read.body["results"][0]["properties"];
        assert!(
            first["email"]
                .as_str()
                .unwrap()
                .ends_with(company.properties["domain"].as_str())
        );
        assert!(first.get("nope").is_none());
        let update = post(
            &sb,
            &format!("{base}/batch/update"),
            json!({"inputs": [
                {"id": ids[0], "objectWriteTraceId": "t0", "properties": {"jobtitle": format!("CTO via {base}")}},
                {"id": ids[1], "objectWriteTraceId": "t1", "properties": {"firmo_nope": "x"}},
            ]}),
        )
        .await;
        assert_eq!(update.status, 207, "{:#}", update.body);
        assert_fits(
            "contacts-v3.json",
            "BatchResponseSimplePublicObjectWithErrors",
            &update.body,
        );
        assert_eq!(update.body["results"][0]["objectWriteTraceId"], "t0");
        assert_eq!(
            update.body["errors"][0]["context"]["objectWriteTraceId"][0],
            "t1"
        );
        assert_eq!(
            sb.state().contact(&ids[0]).unwrap().properties["jobtitle"],
            format!("CTO via {base}")
        );
    }
    let too_many: Vec<Value> = (0..101).map(|i| json!({"id": i.to_string()})).collect();
    let refused = post(
        &sb,
        "/crm/v3/objects/contacts/batch/read",
        json!({"inputs": too_many, "properties": []}),
    )
    .await;
    common::assert_error(&refused, 400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn contact_properties_are_listed_and_created_apart_from_company_ones() {
    let sb = sandbox(2).await;
    let create = json!({
        "name": "firmo_seniority", "label": "Seniority (firmo)", "type": "enumeration",
        "fieldType": "select", "groupName": "contactinformation",
        "options": [{"label": "VP", "value": "vp"}],
    });
    let created = post(&sb, "/crm/properties/2026-09/contacts", create.clone()).await;
    assert_eq!(created.status, 201, "{:#}", created.body);
    common::assert_schema(common::Spec::Properties, "Property", &created.body);
    let again = post(&sb, "/crm/v3/properties/contacts", create).await;
    common::assert_error(&again, 409, "CONFLICT");
    let listed = get(&sb, "/crm/v3/properties/contacts").await;
    let names: Vec<&str> = listed.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"firmo_seniority") && names.contains(&"jobtitle"));
    assert!(!names.contains(&"domain"), "company properties stay apart");
    let one = get(&sb, "/crm/properties/2026-03/contacts/hs_linkedin_url").await;
    assert_eq!(one.body["label"], "LinkedIn URL");
    let company = get(&sb, "/crm/v3/properties/companies/firmo_seniority").await;
    assert_eq!(company.status, 404);
    // A value outside the new enumeration is refused like a company's would be.
    let id = sb
        .companies()
        .iter()
        .flat_map(|c| sb.state().contact_ids_of(&c.id))
        .next()
        .unwrap();
    let bad = post(
        &sb,
        "/crm/v3/objects/contacts/batch/update",
        json!({"inputs": [{"id": id, "properties": {"firmo_seniority": "wizard"}}]}),
    )
    .await;
    common::assert_error(&bad, 400, "VALIDATION_ERROR");
    let group = post(
        &sb,
        "/crm/v3/properties/contacts/groups",
        json!({"name": "firmo", "label": "firmo"}),
    )
    .await;
    assert_eq!(group.status, 201);
    assert_eq!(
        get(&sb, "/crm/v3/properties/contacts/groups/firmo")
            .await
            .body["name"],
        "firmo"
    );
}

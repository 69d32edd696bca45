//! Companies endpoints: happy and error paths, each answer checked against HubSpot's
//! OpenAPI schema for it.

mod common;

use std::collections::BTreeSet;

use common::{Spec, assert_error, assert_schema, call_as, get, patch, post, sandbox};
use reqwest::Method;
use serde_json::{Value, json};

const LIST: &str = "CollectionResponseSimplePublicObjectWithAssociationsForwardPaging";

#[tokio::test]
async fn crm_needs_the_bearer_token() {
    let sb = sandbox(5).await;
    let missing = call_as(&sb, None, Method::GET, "/crm/v3/objects/companies", None).await;
    assert_error(&missing, 401, "INVALID_AUTHENTICATION");
    let wrong = call_as(
        &sb,
        Some("nope"),
        Method::GET,
        "/crm/v3/objects/companies",
        None,
    )
    .await;
    assert_error(&wrong, 401, "INVALID_AUTHENTICATION");
    let id = wrong.body["correlationId"].as_str().unwrap();
    assert_eq!(id.len(), 36, "{id}");
    let ok = get(&sb, "/crm/v3/objects/companies").await;
    assert_eq!(ok.status, 200);
}

#[tokio::test]
async fn list_pages_through_every_company_once() {
    let sb = sandbox(57).await;
    let mut seen = BTreeSet::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &after {
            Some(a) => format!("/crm/v3/objects/companies?limit=10&after={a}"),
            None => "/crm/v3/objects/companies?limit=10".into(),
        };
        let page = get(&sb, &path).await;
        assert_eq!(page.status, 200);
        assert_schema(Spec::Companies, LIST, &page.body);
        pages += 1;
        for r in page.body["results"].as_array().unwrap() {
            assert!(
                seen.insert(r["id"].as_str().unwrap().to_string()),
                "id repeated"
            );
            // Default properties plus the three HubSpot always sends.
            let props = r["properties"].as_object().unwrap();
            let keys: BTreeSet<&str> = props.keys().map(String::as_str).collect();
            assert_eq!(
                keys,
                BTreeSet::from([
                    "createdate",
                    "domain",
                    "hs_lastmodifieddate",
                    "hs_object_id",
                    "name"
                ])
            );
            assert_eq!(props["hs_object_id"], r["id"]);
            assert_eq!(props["createdate"], r["createdAt"]);
        }
        match page.body["paging"]["next"]["after"].as_str() {
            Some(a) => {
                assert!(
                    page.body["paging"]["next"]["link"]
                        .as_str()
                        .unwrap()
                        .contains(a)
                );
                after = Some(a.to_string());
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), 57);
    assert_eq!(pages, 6);
}

#[tokio::test]
async fn list_options_and_bad_parameters() {
    let sb = sandbox(120).await;
    let page = get(
        &sb,
        "/crm/v3/objects/companies?limit=500&properties=industry,nosuchprop&properties=country",
    )
    .await;
    assert_eq!(page.status, 200);
    let results = page.body["results"].as_array().unwrap();
    assert_eq!(results.len(), 100, "list pages are capped at 100");
    for r in results {
        let props = r["properties"].as_object().unwrap();
        assert!(props.contains_key("industry") && props.contains_key("country"));
        assert!(
            !props.contains_key("nosuchprop"),
            "undefined properties are left out"
        );
        assert!(!props.contains_key("name"), "only the requested properties");
    }
    assert!(
        results
            .iter()
            .any(|r| r["properties"]["industry"].is_null()),
        "a defined property without a value reads back as null"
    );
    assert_error(
        &get(&sb, "/crm/v3/objects/companies?after=abc").await,
        400,
        "VALIDATION_ERROR",
    );
    assert_error(
        &get(&sb, "/crm/v3/objects/companies?limit=x").await,
        400,
        "VALIDATION_ERROR",
    );
    // Hundreds of properties in a query string meet HubSpot's 414.
    let many: Vec<String> = (0..400)
        .map(|i| format!("firmo_property_number_{i}"))
        .collect();
    let long = get(
        &sb,
        &format!("/crm/v3/objects/companies?properties={}", many.join(",")),
    )
    .await;
    assert_eq!(long.status, 414);
    let archived = get(&sb, "/crm/v3/objects/companies?archived=true").await;
    assert_eq!(archived.body["results"], json!([]));
}

fn first_id(sb: &firmo_sandbox::SandboxHandle) -> String {
    sb.companies()[0].id.clone()
}

#[tokio::test]
async fn get_one_by_id_and_by_id_property() {
    let sb = sandbox(5).await;
    let id = first_id(&sb);
    let one = get(
        &sb,
        &format!("/crm/v3/objects/companies/{id}?properties=name,city"),
    )
    .await;
    assert_eq!(one.status, 200);
    assert_schema(
        Spec::Companies,
        "SimplePublicObjectWithAssociations",
        &one.body,
    );
    assert_eq!(one.body["id"], id.as_str());
    assert_eq!(
        one.body["properties"]["name"],
        sb.company(&id).unwrap().properties["name"].as_str()
    );
    let by_prop = get(
        &sb,
        &format!("/crm/v3/objects/companies/{id}?idProperty=hs_object_id"),
    )
    .await;
    assert_eq!(by_prop.body["id"], id.as_str());
    let not_unique = get(&sb, "/crm/v3/objects/companies/x.com?idProperty=domain").await;
    assert_error(&not_unique, 400, "VALIDATION_ERROR");
    assert_error(
        &get(&sb, "/crm/v3/objects/companies/999").await,
        404,
        "OBJECT_NOT_FOUND",
    );
}

#[tokio::test]
async fn patch_writes_normalizes_and_stamps() {
    let sb = sandbox(5).await;
    let id = first_id(&sb);
    let before = sb.company(&id).unwrap();
    let created = post(
        &sb,
        "/crm/v3/properties/companies",
        json!({"name": "firmo_last_funding_date", "label": "Last funding", "type": "date", "fieldType": "date", "groupName": "companyinformation"}),
    )
    .await;
    assert_eq!(created.status, 201);
    let answer = patch(
        &sb,
        &format!("/crm/v3/objects/companies/{id}"),
        json!({"properties": {
            "numberofemployees": 120,
            "industry": "COMPUTER_SOFTWARE",
            "firmo_last_funding_date": "1572480000000",
            "city": ""
        }}),
    )
    .await;
    assert_eq!(answer.status, 200, "{:#}", answer.body);
    assert_schema(Spec::Companies, "SimplePublicObject", &answer.body);
    let props = &answer.body["properties"];
    assert_eq!(props["numberofemployees"], "120");
    assert_eq!(
        props["firmo_last_funding_date"], "2019-10-31",
        "dates read back as YYYY-MM-DD"
    );
    assert_eq!(
        props["city"],
        Value::Null,
        "an empty string clears the value"
    );
    let after = sb.company(&id).unwrap();
    assert!(after.updated_at > before.updated_at);
    let changed = [
        "numberofemployees",
        "industry",
        "firmo_last_funding_date",
        "city",
    ]
    .iter()
    .filter(|k| before.properties.get(**k) != after.properties.get(**k))
    .count();
    assert_eq!(
        sb.stats().values_written,
        changed as u64,
        "only changed values count"
    );
    assert_eq!(props["hs_lastmodifieddate"], answer.body["updatedAt"]);
    assert!(!after.properties.contains_key("city"));
    assert_error(
        &patch(
            &sb,
            "/crm/v3/objects/companies/999",
            json!({"properties": {"name": "x"}}),
        )
        .await,
        404,
        "OBJECT_NOT_FOUND",
    );
}

#[tokio::test]
async fn invalid_values_are_rejected_like_hubspot_and_nothing_is_written() {
    let sb = sandbox(5).await;
    let id = first_id(&sb);
    let before = sb.company(&id).unwrap();
    post(
        &sb,
        "/crm/v3/properties/companies",
        json!({"name": "firmo_funded_on", "label": "Funded on", "type": "date", "fieldType": "date", "groupName": "companyinformation"}),
    )
    .await;
    post(
        &sb,
        "/crm/v3/properties/companies",
        json!({"name": "firmo_cloud_native", "label": "Cloud native", "type": "bool", "fieldType": "booleancheckbox", "groupName": "companyinformation"}),
    )
    .await;
    let cases = [
        ("nosuchprop", json!("x"), "PROPERTY_DOESNT_EXIST"),
        ("industry", json!("Software"), "INVALID_OPTION"),
        ("lifecyclestage", json!("prospect"), "INVALID_OPTION"),
        ("firmo_funded_on", json!("1635535865000"), "INVALID_DATE"),
        (
            "firmo_funded_on",
            json!("2021-10-29T19:31:05Z"),
            "INVALID_DATE",
        ),
        ("numberofemployees", json!("about 50"), "INVALID_DECIMAL"),
        ("firmo_cloud_native", json!("yes"), "INVALID_BOOLEAN"),
        ("hs_object_id", json!("1"), "READ_ONLY_VALUE"),
    ];
    for (property, value, code) in cases {
        let answer = patch(
            &sb,
            &format!("/crm/v3/objects/companies/{id}"),
            json!({"properties": {"name": "Renamed", property: value}}),
        )
        .await;
        assert_error(&answer, 400, "VALIDATION_ERROR");
        let message = answer.body["message"].as_str().unwrap();
        assert!(
            message.starts_with("Property values were not valid"),
            "{message}"
        );
        assert!(
            message.contains(property),
            "the message names the property: {message}"
        );
        let detail = &answer.body["errors"][0];
        assert_eq!(
            detail["code"], code,
            "{property}={value}: {:#}",
            answer.body
        );
        assert_eq!(detail["context"]["propertyName"][0], property);
        assert_eq!(detail["in"], property);
    }
    assert_eq!(
        sb.company(&id).unwrap(),
        before,
        "a rejected write changes nothing"
    );
    let not_midnight = patch(
        &sb,
        &format!("/crm/v3/objects/companies/{id}"),
        json!({"properties": {"firmo_funded_on": "1635535865000"}}),
    )
    .await;
    assert!(
        not_midnight.body["message"]
            .as_str()
            .unwrap()
            .contains("UTC, not midnight!")
    );
    let not_json = common::call(
        &sb,
        Method::PATCH,
        &format!("/crm/v3/objects/companies/{id}"),
        Some(json!([1])),
    )
    .await;
    assert_error(&not_json, 400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn create_one_and_in_batches() {
    let sb = sandbox(3).await;
    let max_id: u64 = sb
        .companies()
        .iter()
        .map(|c| c.id.parse::<u64>().unwrap())
        .max()
        .unwrap();
    let one = post(
        &sb,
        "/crm/v3/objects/companies",
        json!({"properties": {"name": "Acme Test", "domain": "acme-test.io"}}),
    )
    .await;
    assert_eq!(one.status, 201, "{:#}", one.body);
    assert_schema(Spec::Companies, "SimplePublicObject", &one.body);
    assert!(one.body["id"].as_str().unwrap().parse::<u64>().unwrap() > max_id);
    let bad = post(
        &sb,
        "/crm/v3/objects/companies",
        json!({"properties": {"industry": "nope"}}),
    )
    .await;
    assert_error(&bad, 400, "VALIDATION_ERROR");

    let batch = post(
        &sb,
        "/crm/v3/objects/companies/batch/create",
        json!({"inputs": [
            {"properties": {"name": "B1"}, "objectWriteTraceId": "t1"},
            {"properties": {"name": "B2", "annualrevenue": "1e"}, "objectWriteTraceId": "t2"},
            {"properties": {"name": "B3"}, "associations": []}
        ]}),
    )
    .await;
    assert_eq!(batch.status, 207, "{:#}", batch.body);
    assert_schema(
        Spec::Companies,
        "BatchResponseSimplePublicObjectWithErrors",
        &batch.body,
    );
    assert_eq!(batch.body["numErrors"], 1);
    assert_eq!(
        batch.body["errors"][0]["context"]["objectWriteTraceId"][0],
        "t2"
    );
    assert_eq!(batch.body["results"].as_array().unwrap().len(), 2);
    assert_eq!(sb.companies().len(), 3 + 1 + 2);

    let all_good = post(
        &sb,
        "/crm/v3/objects/companies/batch/create",
        json!({"inputs": [{"properties": {"name": "C1"}}]}),
    )
    .await;
    assert_eq!(all_good.status, 201);
    assert_schema(
        Spec::Companies,
        "BatchResponseSimplePublicObject",
        &all_good.body,
    );
    assert_eq!(all_good.body["status"], "COMPLETE");
}

#[tokio::test]
async fn batch_read_reports_missing_ids_in_a_207() {
    let sb = sandbox(8).await;
    let ids: Vec<String> = sb.companies().iter().map(|c| c.id.clone()).collect();
    let body = json!({"inputs": [{"id": ids[0]}, {"id": ids[1]}], "properties": ["name", "country"], "propertiesWithHistory": []});
    let ok = post(&sb, "/crm/v3/objects/companies/batch/read", body).await;
    assert_eq!(ok.status, 200);
    assert_schema(Spec::Companies, "BatchResponseSimplePublicObject", &ok.body);
    assert_eq!(ok.body["results"].as_array().unwrap().len(), 2);
    assert!(ok.body["results"][0]["properties"]["country"].is_string());

    let partial = post(
        &sb,
        "/crm/v3/objects/companies/batch/read",
        json!({"inputs": [{"id": ids[2]}, {"id": "42"}, {"id": "43"}], "properties": ["name"], "propertiesWithHistory": []}),
    )
    .await;
    assert_eq!(partial.status, 207);
    assert_schema(
        Spec::Companies,
        "BatchResponseSimplePublicObjectWithErrors",
        &partial.body,
    );
    assert_eq!(partial.body["errors"][0]["category"], "OBJECT_NOT_FOUND");
    assert_eq!(
        partial.body["errors"][0]["context"]["ids"],
        json!(["42", "43"])
    );

    let too_many: Vec<Value> = (0..101).map(|i| json!({"id": i.to_string()})).collect();
    let answer = post(
        &sb,
        "/crm/v3/objects/companies/batch/read",
        json!({"inputs": too_many, "properties": []}),
    )
    .await;
    assert_error(&answer, 400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn batch_update_maps_every_failure_to_its_input() {
    let sb = sandbox(10).await;
    let ids: Vec<String> = sb.companies().iter().map(|c| c.id.clone()).collect();
    let ok = post(
        &sb,
        "/crm/v3/objects/companies/batch/update",
        json!({"inputs": [
            {"id": ids[0], "properties": {"numberofemployees": "10"}, "objectWriteTraceId": "a"},
            {"id": ids[1], "properties": {"industry": "INTERNET"}, "objectWriteTraceId": "b"}
        ]}),
    )
    .await;
    assert_eq!(ok.status, 200, "{:#}", ok.body);
    assert_schema(Spec::Companies, "BatchResponseSimplePublicObject", &ok.body);
    assert_eq!(
        sb.company(&ids[1]).unwrap().properties["industry"],
        "INTERNET"
    );

    let partial = post(
        &sb,
        "/crm/v3/objects/companies/batch/update",
        json!({"inputs": [
            {"id": ids[2], "properties": {"numberofemployees": "11"}, "objectWriteTraceId": "c"},
            {"id": ids[3], "properties": {"industry": "Tech"}, "objectWriteTraceId": "d"},
            {"id": "12345", "properties": {"name": "ghost"}, "objectWriteTraceId": "e"}
        ]}),
    )
    .await;
    assert_eq!(partial.status, 207, "{:#}", partial.body);
    assert_schema(
        Spec::Companies,
        "BatchResponseSimplePublicObjectWithErrors",
        &partial.body,
    );
    assert_eq!(partial.body["numErrors"], 2);
    let errors = partial.body["errors"].as_array().unwrap();
    let invalid = errors
        .iter()
        .find(|e| e["category"] == "VALIDATION_ERROR")
        .unwrap();
    assert_eq!(invalid["context"]["ids"], json!([ids[3]]));
    assert_eq!(invalid["context"]["objectWriteTraceId"], json!(["d"]));
    assert_eq!(invalid["errors"][0]["code"], "INVALID_OPTION");
    let missing = errors
        .iter()
        .find(|e| e["category"] == "OBJECT_NOT_FOUND")
        .unwrap();
    assert_eq!(missing["context"]["ids"], json!(["12345"]));
    assert_eq!(partial.body["results"][0]["objectWriteTraceId"], "c");
    assert_eq!(
        sb.company(&ids[2]).unwrap().properties["numberofemployees"],
        "11"
    );

    let all_bad = post(
        &sb,
        "/crm/v3/objects/companies/batch/update",
        json!({"inputs": [{"id": ids[4], "properties": {"bogus": "1"}}]}),
    )
    .await;
    assert_error(&all_bad, 400, "VALIDATION_ERROR");
    assert_eq!(all_bad.body["context"]["ids"], json!([ids[4]]));

    let dup = post(
        &sb,
        "/crm/v3/objects/companies/batch/update",
        json!({"inputs": [{"id": ids[5], "properties": {}}, {"id": ids[5], "properties": {}}]}),
    )
    .await;
    assert_error(&dup, 400, "VALIDATION_ERROR");
    assert!(
        dup.body["message"]
            .as_str()
            .unwrap()
            .contains("Duplicate IDs")
    );

    let too_many: Vec<Value> = (0..101)
        .map(|i| json!({"id": i.to_string(), "properties": {}}))
        .collect();
    assert_error(
        &post(
            &sb,
            "/crm/v3/objects/companies/batch/update",
            json!({"inputs": too_many}),
        )
        .await,
        400,
        "VALIDATION_ERROR",
    );
}

#[tokio::test]
async fn fail_ids_fault_turns_an_input_into_a_207_error() {
    let sb = sandbox(4).await;
    let ids: Vec<String> = sb.companies().iter().map(|c| c.id.clone()).collect();
    sb.set_faults(firmo_sandbox::Faults {
        fail_ids: [ids[1].clone()].into(),
        ..Default::default()
    });
    let answer = post(
        &sb,
        "/crm/v3/objects/companies/batch/update",
        json!({"inputs": [
            {"id": ids[0], "properties": {"city": "Oslo"}},
            {"id": ids[1], "properties": {"city": "Oslo"}}
        ]}),
    )
    .await;
    assert_eq!(answer.status, 207);
    assert_schema(
        Spec::Companies,
        "BatchResponseSimplePublicObjectWithErrors",
        &answer.body,
    );
    assert_eq!(answer.body["errors"][0]["context"]["ids"], json!([ids[1]]));
    assert_ne!(
        sb.company(&ids[1])
            .unwrap()
            .properties
            .get("city")
            .map(String::as_str),
        Some("Oslo")
    );
}

#[tokio::test]
async fn last_modified_never_goes_back_and_can_share_a_millisecond() {
    let sb = sandbox(30).await;
    let ids: Vec<String> = sb.companies().iter().map(|c| c.id.clone()).collect();
    let mut stamps = Vec::new();
    for chunk in ids.chunks(10) {
        let inputs: Vec<Value> = chunk
            .iter()
            .map(|id| json!({"id": id, "properties": {"city": "Lisbon"}}))
            .collect();
        let answer = post(
            &sb,
            "/crm/v3/objects/companies/batch/update",
            json!({"inputs": inputs}),
        )
        .await;
        assert_eq!(answer.status, 200);
        for r in answer.body["results"].as_array().unwrap() {
            stamps.push(
                r["properties"]["hs_lastmodifieddate"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
    }
    assert!(stamps.windows(2).all(|w| w[0] <= w[1]), "{stamps:?}");
    // One batch is one write instant: its records share the millisecond.
    assert!(stamps[..10].iter().all(|s| *s == stamps[0]));
}

#[tokio::test]
async fn a_unique_value_property_identifies_records() {
    let sb = sandbox(4).await;
    let id = first_id(&sb);
    let created = post(
        &sb,
        "/crm/v3/properties/companies",
        json!({"name": "firmo_key", "label": "Key", "type": "string", "fieldType": "text", "groupName": "companyinformation", "hasUniqueValue": true}),
    )
    .await;
    assert_eq!(created.status, 201);
    assert_eq!(created.body["hasUniqueValue"], true);
    let set = patch(
        &sb,
        &format!("/crm/v3/objects/companies/{id}"),
        json!({"properties": {"firmo_key": "k-1"}}),
    )
    .await;
    assert_eq!(set.status, 200);
    let by_key = get(
        &sb,
        "/crm/v3/objects/companies/k-1?idProperty=firmo_key&properties=firmo_key",
    )
    .await;
    assert_eq!(by_key.body["id"], id.as_str());
    let renamed = patch(
        &sb,
        "/crm/v3/objects/companies/k-1?idProperty=firmo_key",
        json!({"properties": {"name": "Keyed"}}),
    )
    .await;
    assert_eq!(renamed.status, 200);
    assert_eq!(sb.company(&id).unwrap().properties["name"], "Keyed");
    let read = post(
        &sb,
        "/crm/v3/objects/companies/batch/read",
        json!({"idProperty": "firmo_key", "inputs": [{"id": "k-1"}, {"id": "k-2"}], "properties": ["name"], "propertiesWithHistory": []}),
    )
    .await;
    assert_eq!(read.status, 207);
    assert_eq!(read.body["results"][0]["id"], id.as_str());
    assert_eq!(read.body["errors"][0]["context"]["ids"], json!(["k-2"]));
    assert_error(
        &get(&sb, "/crm/v3/objects/companies/k-1?idProperty=nosuch").await,
        400,
        "VALIDATION_ERROR",
    );
}

#[tokio::test]
async fn archived_records_leave_every_view_but_the_archived_one() {
    let sb = sandbox(6).await;
    let id = first_id(&sb);
    let path = format!("/crm/v3/objects/companies/{id}");
    assert_eq!(
        common::call(&sb, Method::DELETE, &path, None).await.status,
        204
    );
    assert_eq!(
        common::call(&sb, Method::DELETE, &path, None).await.status,
        204,
        "idempotent"
    );
    assert_error(&get(&sb, &path).await, 404, "OBJECT_NOT_FOUND");
    let archived = get(&sb, &format!("{path}?archived=true")).await;
    assert_eq!(archived.status, 200);
    assert_schema(
        Spec::Companies,
        "SimplePublicObjectWithAssociations",
        &archived.body,
    );
    assert_eq!(archived.body["archived"], true);
    assert!(archived.body["archivedAt"].is_string());
    let listed = get(&sb, "/crm/v3/objects/companies?archived=true").await;
    assert_eq!(listed.body["results"][0]["id"], id.as_str());
    let live = get(&sb, "/crm/v3/objects/companies?limit=100").await;
    assert_eq!(live.body["results"].as_array().unwrap().len(), 5);
    assert_eq!(
        post(&sb, "/crm/v3/objects/companies/search", json!({}))
            .await
            .body["total"],
        5
    );
    assert_error(
        &patch(&sb, &path, json!({"properties": {"name": "x"}})).await,
        404,
        "OBJECT_NOT_FOUND",
    );
    assert_eq!(sb.stats().requests["companies.archive"], 2);
}

//! Batch property create as HubSpot answers it (201 all created, 207 some failed, 400
//! none or too many) on every API version, and the default company properties a real
//! portal has, each answer checked against HubSpot's OpenAPI schemas.

mod common;

use common::{Spec, assert_error, assert_schema, get, post, sandbox};
use serde_json::{Value, json};

fn input(name: &str, kind: &str, field_type: &str) -> Value {
    json!({
        "name": name,
        "label": name,
        "type": kind,
        "fieldType": field_type,
        "groupName": "firmo",
    })
}

#[tokio::test]
async fn batch_create_answers_201_then_207_then_400_as_the_openapi_says() {
    for version in ["v3", "2026-03", "2026-09"] {
        let sb = sandbox(1).await;
        let properties = if version == "v3" {
            "/crm/v3/properties/companies".to_owned()
        } else {
            format!("/crm/properties/{version}/companies")
        };
        let group = post(
            &sb,
            &format!("{properties}/groups"),
            json!({"name": "firmo", "label": "firmo"}),
        )
        .await;
        assert_eq!(group.status, 201, "{version}: {:#}", group.body);

        let batch = format!("{properties}/batch/create");
        let all = post(
            &sb,
            &batch,
            json!({"inputs": [
                input("firmo_a", "number", "number"),
                input("firmo_b", "string", "text"),
            ]}),
        )
        .await;
        assert_eq!(all.status, 201, "{version}: {:#}", all.body);
        assert_schema(Spec::Properties, "BatchResponseProperty", &all.body);
        assert_eq!(all.body["results"].as_array().unwrap().len(), 2);
        assert_eq!(all.body["results"][0]["type"], "number");

        // One exists (409 inside), one is new: a 207 naming the failed input.
        let some = post(
            &sb,
            &batch,
            json!({"inputs": [
                input("firmo_a", "number", "number"),
                input("firmo_c", "bool", "booleancheckbox"),
            ]}),
        )
        .await;
        assert_eq!(some.status, 207, "{version}: {:#}", some.body);
        assert_schema(
            Spec::Properties,
            "BatchResponsePropertyWithErrors",
            &some.body,
        );
        assert_eq!(some.body["numErrors"], 1);
        assert_eq!(some.body["errors"][0]["category"], "CONFLICT");
        assert_eq!(some.body["errors"][0]["context"]["name"][0], "firmo_a");
        assert_eq!(some.body["results"][0]["name"], "firmo_c");
        let created = get(&sb, &format!("{properties}/firmo_c")).await;
        assert_eq!(
            created.status, 200,
            "{version}: the 207's success is stored"
        );

        let none = post(
            &sb,
            &batch,
            json!({"inputs": [input("firmo_d", "number", "nosuchfield")]}),
        )
        .await;
        assert_error(&none, 400, "VALIDATION_ERROR");
        let too_many: Vec<Value> = (0..101)
            .map(|i| input(&format!("firmo_x{i}"), "string", "text"))
            .collect();
        let refused = post(&sb, &batch, json!({ "inputs": too_many })).await;
        assert_error(&refused, 400, "VALIDATION_ERROR");
        assert_eq!(
            get(&sb, &format!("{properties}/firmo_x0")).await.status,
            404,
            "{version}: a refused batch creates nothing"
        );
        sb.shutdown().await.unwrap();
    }
}

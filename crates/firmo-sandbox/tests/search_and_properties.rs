//! Search (operators, sorting, paging, HubSpot's limits) and the properties and groups
//! endpoints, each answer checked against HubSpot's OpenAPI schema.

mod common;

use common::{Spec, assert_error, assert_schema, get, patch, post, sandbox};
use firmo_sandbox::{Company, SandboxHandle};
use serde_json::{Value, json};

const SEARCH: &str = "/crm/v3/objects/companies/search";

async fn search(sb: &SandboxHandle, body: Value) -> common::Answer {
    post(sb, SEARCH, body).await
}

fn one_filter(property: &str, operator: &str, extra: Value) -> Value {
    let mut filter = json!({"propertyName": property, "operator": operator});
    let Value::Object(extra) = extra else {
        panic!("extra filter fields are an object")
    };
    for (k, v) in extra {
        filter[k] = v;
    }
    json!({"filterGroups": [{"filters": [filter]}], "limit": 200, "properties": ["name", "country", "numberofemployees", "industry", "domain"]})
}

/// Ids of every match, over all pages.
async fn all_ids(sb: &SandboxHandle, mut body: Value) -> Vec<String> {
    let mut ids = Vec::new();
    loop {
        let page = search(sb, body.clone()).await;
        assert_eq!(page.status, 200, "{:#}", page.body);
        assert_schema(
            Spec::Companies,
            "CollectionResponseWithTotalSimplePublicObject",
            &page.body,
        );
        assert!(
            page.headers.get("x-hubspot-ratelimit-max").is_none(),
            "search answers carry no rate-limit headers"
        );
        ids.extend(
            page.body["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_string()),
        );
        match page.body["paging"]["next"]["after"].as_str() {
            Some(after) => body["after"] = json!(after),
            None => return ids,
        }
    }
}

fn expected(sb: &SandboxHandle, keep: impl Fn(&Company) -> bool) -> Vec<String> {
    sb.companies()
        .into_iter()
        .filter(|c| keep(c))
        .map(|c| c.id)
        .collect()
}

type Keep = Box<dyn Fn(&Company) -> bool>;

fn employees(c: &Company) -> Option<f64> {
    c.properties
        .get("numberofemployees")
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn every_operator_selects_what_it_says() {
    let sb = sandbox(400).await;
    let country = |c: &Company| c.properties.get("country").cloned();
    let cases: Vec<(Value, Keep)> = vec![
        (
            one_filter("country", "EQ", json!({"value": "us"})),
            Box::new(move |c| country(c).as_deref() == Some("US")),
        ),
        (
            one_filter("country", "NEQ", json!({"value": "US"})),
            Box::new(move |c| country(c).as_deref() != Some("US")),
        ),
        (
            one_filter("numberofemployees", "GT", json!({"value": "1000"})),
            Box::new(|c| employees(c).is_some_and(|e| e > 1000.0)),
        ),
        (
            one_filter("numberofemployees", "GTE", json!({"value": "1000"})),
            Box::new(|c| employees(c).is_some_and(|e| e >= 1000.0)),
        ),
        (
            one_filter("numberofemployees", "LT", json!({"value": "20"})),
            Box::new(|c| employees(c).is_some_and(|e| e < 20.0)),
        ),
        (
            one_filter("numberofemployees", "LTE", json!({"value": "20"})),
            Box::new(|c| employees(c).is_some_and(|e| e <= 20.0)),
        ),
        (
            one_filter(
                "numberofemployees",
                "BETWEEN",
                json!({"value": "50", "highValue": "500"}),
            ),
            Box::new(|c| employees(c).is_some_and(|e| (50.0..=500.0).contains(&e))),
        ),
        (
            one_filter("country", "IN", json!({"values": ["de", "FR"]})),
            Box::new(move |c| matches!(country(c).as_deref(), Some("DE" | "FR"))),
        ),
        (
            one_filter("country", "NOT_IN", json!({"values": ["US", "GB"]})),
            Box::new(move |c| !matches!(country(c).as_deref(), Some("US" | "GB"))),
        ),
        (
            one_filter("domain", "HAS_PROPERTY", json!({})),
            Box::new(|c| c.properties.contains_key("domain")),
        ),
        (
            one_filter("industry", "NOT_HAS_PROPERTY", json!({})),
            Box::new(|c| !c.properties.contains_key("industry")),
        ),
        (
            one_filter("name", "CONTAINS_TOKEN", json!({"value": "analytics"})),
            Box::new(|c| {
                c.properties["name"]
                    .to_lowercase()
                    .split(' ')
                    .any(|w| w == "analytics")
            }),
        ),
        (
            one_filter("name", "NOT_CONTAINS_TOKEN", json!({"value": "analytics"})),
            Box::new(|c| {
                !c.properties["name"]
                    .to_lowercase()
                    .split(' ')
                    .any(|w| w == "analytics")
            }),
        ),
    ];
    for (body, keep) in cases {
        let want = expected(&sb, keep);
        assert!(!want.is_empty(), "the demo data exercises {body}");
        let got = all_ids(&sb, body.clone()).await;
        assert_eq!(got, want, "{body}");
    }
    // Groups are ORed, filters within a group ANDed.
    let body = json!({"filterGroups": [
        {"filters": [{"propertyName": "country", "operator": "EQ", "value": "DE"}, {"propertyName": "lifecyclestage", "operator": "EQ", "value": "customer"}]},
        {"filters": [{"propertyName": "country", "operator": "EQ", "value": "FR"}]}
    ], "limit": 100});
    let want = expected(&sb, |c| {
        let country = c.properties.get("country").map(String::as_str);
        (country == Some("DE")
            && c.properties.get("lifecyclestage").map(String::as_str) == Some("customer"))
            || country == Some("FR")
    });
    assert_eq!(all_ids(&sb, body).await, want);
}

#[tokio::test]
async fn dates_sorting_query_and_total() {
    let sb = sandbox(300).await;
    let all = sb.companies();
    let cutoff = all[150].updated_at;
    let body = json!({
        "filterGroups": [{"filters": [{"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": cutoff.to_string()}]}],
        "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
        "limit": 50
    });
    let first = search(&sb, body.clone()).await;
    let total = all.iter().filter(|c| c.updated_at >= cutoff).count();
    assert_eq!(first.body["total"], total);
    let stamps: Vec<&str> = first.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["properties"]["hs_lastmodifieddate"].as_str().unwrap())
        .collect();
    assert!(
        stamps.windows(2).all(|w| w[0] <= w[1]),
        "ascending: {stamps:?}"
    );
    // An ISO filter value means the same instant.
    let iso = first.body["results"][0]["properties"]["hs_lastmodifieddate"]
        .as_str()
        .unwrap()
        .to_string();
    let mut by_iso = body.clone();
    by_iso["filterGroups"][0]["filters"][0]["value"] = json!(iso);
    assert_eq!(search(&sb, by_iso).await.body["total"], total);

    let desc = search(
        &sb,
        json!({"sorts": [{"propertyName": "numberofemployees", "direction": "DESCENDING"}], "properties": ["numberofemployees"], "limit": 20}),
    )
    .await;
    let counts: Vec<f64> = desc.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["properties"]["numberofemployees"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{counts:?}");

    let name = all[7].properties["name"].clone();
    let word = name.split(' ').next().unwrap();
    let found = search(&sb, json!({"query": word.to_lowercase(), "limit": 200})).await;
    assert!(
        found.body["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == all[7].id.as_str())
    );

    let count_only = search(&sb, json!({"limit": 0})).await;
    assert_eq!(count_only.body["total"], 300);
    assert!(count_only.body.get("paging").is_none());
    let empty = search(&sb, json!({})).await;
    assert_eq!(empty.status, 200);
    assert_eq!(empty.body["total"], 300);
    assert_eq!(empty.body["results"].as_array().unwrap().len(), 10);
}

#[tokio::test]
async fn search_enforces_hubspots_limits() {
    let sb = sandbox(10_050).await;
    let filter = json!({"propertyName": "country", "operator": "HAS_PROPERTY"});
    let too_many_groups: Vec<Value> = (0..6).map(|_| json!({"filters": [filter]})).collect();
    assert_error(
        &search(&sb, json!({"filterGroups": too_many_groups})).await,
        400,
        "VALIDATION_ERROR",
    );
    let crowded_group = json!({"filters": vec![filter.clone(); 11]});
    assert_error(
        &search(&sb, json!({"filterGroups": [crowded_group]})).await,
        400,
        "VALIDATION_ERROR",
    );
    let groups: Vec<Value> = (0..5)
        .map(|_| json!({"filters": vec![filter.clone(); 6]}))
        .collect();
    assert_error(
        &search(&sb, json!({"filterGroups": groups})).await,
        400,
        "VALIDATION_ERROR",
    );
    let groups: Vec<Value> = (0..5)
        .map(|_| json!({"filters": vec![filter.clone(); 5]}))
        .collect();
    assert_eq!(
        search(&sb, json!({"filterGroups": groups})).await.status,
        200,
        "25 filters in all are fine"
    );
    assert_error(
        &search(&sb, json!({"limit": 201})).await,
        400,
        "VALIDATION_ERROR",
    );
    assert_error(
        &search(&sb, one_filter("nosuch", "EQ", json!({"value": "1"}))).await,
        400,
        "VALIDATION_ERROR",
    );
    assert_error(
        &search(&sb, one_filter("name", "LIKE", json!({"value": "1"}))).await,
        400,
        "VALIDATION_ERROR",
    );
    assert_error(
        &search(&sb, one_filter("name", "EQ", json!({}))).await,
        400,
        "VALIDATION_ERROR",
    );
    assert_error(
        &search(
            &sb,
            one_filter("numberofemployees", "BETWEEN", json!({"value": "1"})),
        )
        .await,
        400,
        "VALIDATION_ERROR",
    );

    // The 10,000-result window: the page before the edge still points past it …
    let near = search(&sb, json!({"after": "9900", "limit": 100})).await;
    assert_eq!(near.status, 200);
    assert_eq!(near.body["total"], 10_050);
    assert_eq!(near.body["paging"]["next"]["after"], "10000");
    // … and following that cursor is HubSpot's 400.
    let past = search(&sb, json!({"after": "10000", "limit": 100})).await;
    assert_error(&past, 400, "VALIDATION_ERROR");
    let straddle = search(&sb, json!({"after": "9950", "limit": 100})).await;
    assert_eq!(
        straddle.body["results"].as_array().unwrap().len(),
        50,
        "nothing past 10,000 comes back"
    );
}

#[tokio::test]
async fn properties_list_get_create_update() {
    let sb = sandbox(2).await;
    let list = get(&sb, "/crm/v3/properties/companies").await;
    assert_eq!(list.status, 200);
    assert_schema(
        Spec::Properties,
        "CollectionResponsePropertyNoPaging",
        &list.body,
    );
    let names: Vec<&str> = list.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for builtin in [
        "name",
        "domain",
        "industry",
        "numberofemployees",
        "annualrevenue",
        "city",
        "country",
        "lifecyclestage",
        "hs_object_id",
        "createdate",
        "hs_lastmodifieddate",
    ] {
        assert!(names.contains(&builtin), "{builtin} is seeded");
    }
    let industry = get(&sb, "/crm/v3/properties/companies/industry").await;
    assert_schema(Spec::Properties, "Property", &industry.body);
    let options: Vec<&str> = industry.body["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["value"].as_str().unwrap())
        .collect();
    assert!(
        options.len() >= 40
            && options.contains(&"COMPUTER_SOFTWARE")
            && options.contains(&"HOSPITAL_HEALTH_CARE")
    );
    let stage = get(&sb, "/crm/v3/properties/companies/lifecyclestage").await;
    assert_eq!(stage.body["options"].as_array().unwrap().len(), 8);
    assert_error(
        &get(&sb, "/crm/v3/properties/companies/nosuch").await,
        404,
        "OBJECT_NOT_FOUND",
    );

    let stage_def = json!({
        "name": "firmo_funding_stage", "label": "Funding stage", "type": "enumeration", "fieldType": "select",
        "groupName": "companyinformation",
        "options": [{"label": "Seed", "value": "seed", "hidden": false}, {"label": "Series A", "value": "series_a", "hidden": false}]
    });
    let created = post(&sb, "/crm/v3/properties/companies", stage_def.clone()).await;
    assert_eq!(created.status, 201, "{:#}", created.body);
    assert_schema(Spec::Properties, "Property", &created.body);
    assert_eq!(created.body["hubspotDefined"], false);
    let again = post(&sb, "/crm/v3/properties/companies", stage_def).await;
    assert_error(&again, 409, "CONFLICT");

    let base = json!({"label": "L", "groupName": "companyinformation", "type": "string", "fieldType": "text"});
    for (name, kind, field_type, group) in [
        ("Firmo_caps", "string", "text", "companyinformation"),
        ("hs_mine", "string", "text", "companyinformation"),
        ("hubspot_mine", "string", "text", "companyinformation"),
        ("9lives", "string", "text", "companyinformation"),
        ("firmo_n", "number", "text", "companyinformation"),
        ("firmo_d", "date", "number", "companyinformation"),
        ("firmo_e", "enumeration", "select", "companyinformation"),
        ("firmo_x", "string", "text", "nosuchgroup"),
        ("firmo_t", "strng", "text", "companyinformation"),
    ] {
        let mut body = base.clone();
        body["name"] = json!(name);
        body["type"] = json!(kind);
        body["fieldType"] = json!(field_type);
        body["groupName"] = json!(group);
        assert_error(
            &post(&sb, "/crm/v3/properties/companies", body).await,
            400,
            "VALIDATION_ERROR",
        );
    }
    let mut no_label = base.clone();
    no_label["name"] = json!("firmo_ok");
    no_label.as_object_mut().unwrap().remove("label");
    assert_error(
        &post(&sb, "/crm/v3/properties/companies", no_label).await,
        400,
        "VALIDATION_ERROR",
    );

    // New options become writable values.
    let id = sb.companies()[0].id.clone();
    let write = |value: &'static str| {
        let sb = &sb;
        let id = id.clone();
        async move {
            patch(
                sb,
                &format!("/crm/v3/objects/companies/{id}"),
                json!({"properties": {"firmo_funding_stage": value}}),
            )
            .await
        }
    };
    assert_eq!(write("series_b").await.status, 400);
    let updated = patch(
        &sb,
        "/crm/v3/properties/companies/firmo_funding_stage",
        json!({"label": "Funding stage (firmo)", "options": [
            {"label": "Seed", "value": "seed", "hidden": false},
            {"label": "Series A", "value": "series_a", "hidden": false},
            {"label": "Series B", "value": "series_b", "hidden": false}
        ]}),
    )
    .await;
    assert_eq!(updated.status, 200, "{:#}", updated.body);
    assert_schema(Spec::Properties, "Property", &updated.body);
    assert_eq!(updated.body["label"], "Funding stage (firmo)");
    assert_eq!(write("series_b").await.status, 200);
    let retype = patch(
        &sb,
        "/crm/v3/properties/companies/industry",
        json!({"type": "string", "fieldType": "text"}),
    )
    .await;
    assert_error(&retype, 400, "VALIDATION_ERROR");
    assert_error(
        &patch(
            &sb,
            "/crm/v3/properties/companies/nosuch",
            json!({"label": "x"}),
        )
        .await,
        404,
        "OBJECT_NOT_FOUND",
    );
    assert_error(
        &get(&sb, "/crm/v3/properties/deals").await,
        400,
        "VALIDATION_ERROR",
    );
}

#[tokio::test]
async fn property_groups() {
    let sb = sandbox(1).await;
    let list = get(&sb, "/crm/v3/properties/companies/groups").await;
    assert_eq!(list.status, 200);
    assert_schema(
        Spec::Properties,
        "CollectionResponsePropertyGroupNoPaging",
        &list.body,
    );
    let created = post(
        &sb,
        "/crm/v3/properties/companies/groups",
        json!({"name": "firmo", "label": "firmo", "displayOrder": -1}),
    )
    .await;
    assert_eq!(created.status, 201);
    assert_schema(Spec::Properties, "PropertyGroup", &created.body);
    assert_error(
        &post(
            &sb,
            "/crm/v3/properties/companies/groups",
            json!({"name": "firmo", "label": "again"}),
        )
        .await,
        409,
        "CONFLICT",
    );
    assert_error(
        &post(
            &sb,
            "/crm/v3/properties/companies/groups",
            json!({"name": "Bad Name", "label": "x"}),
        )
        .await,
        400,
        "VALIDATION_ERROR",
    );
    assert_error(
        &post(
            &sb,
            "/crm/v3/properties/companies/groups",
            json!({"name": "nolabel"}),
        )
        .await,
        400,
        "VALIDATION_ERROR",
    );
    let one = get(&sb, "/crm/v3/properties/companies/groups/firmo").await;
    assert_schema(Spec::Properties, "PropertyGroup", &one.body);
    let renamed = patch(
        &sb,
        "/crm/v3/properties/companies/groups/firmo",
        json!({"label": "Firmo enrichment"}),
    )
    .await;
    assert_eq!(renamed.body["label"], "Firmo enrichment");
    assert_error(
        &get(&sb, "/crm/v3/properties/companies/groups/nosuch").await,
        404,
        "OBJECT_NOT_FOUND",
    );
    // A property can now live in the new group.
    let prop = post(
        &sb,
        "/crm/v3/properties/companies",
        json!({"name": "firmo_headcount", "label": "Headcount", "type": "number", "fieldType": "number", "groupName": "firmo"}),
    )
    .await;
    assert_eq!(prop.status, 201);
}

#[tokio::test]
async fn search_lag_hides_fresh_writes_from_search_only() {
    let sb = sandbox(5).await;
    let id = sb.companies()[0].id.clone();
    let by_id = json!({"filterGroups": [{"filters": [{"propertyName": "hs_object_id", "operator": "EQ", "value": id}]}]});
    assert_eq!(search(&sb, by_id.clone()).await.body["total"], 1);
    sb.set_faults(firmo_sandbox::Faults {
        search_lag: std::time::Duration::from_mins(1),
        ..Default::default()
    });
    let written = patch(
        &sb,
        &format!("/crm/v3/objects/companies/{id}"),
        json!({"properties": {"city": "Turku"}}),
    )
    .await;
    assert_eq!(written.status, 200);
    assert_eq!(
        search(&sb, by_id.clone()).await.body["total"],
        0,
        "not indexed yet"
    );
    let direct = get(
        &sb,
        &format!("/crm/v3/objects/companies/{id}?properties=city"),
    )
    .await;
    assert_eq!(
        direct.body["properties"]["city"], "Turku",
        "reads by id see the write at once"
    );
    sb.set_faults(firmo_sandbox::Faults::default());
    assert_eq!(search(&sb, by_id).await.body["total"], 1);
}

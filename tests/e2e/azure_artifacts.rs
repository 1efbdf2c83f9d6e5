//! `conf/azure/`: the alert rules and the workbook checked against the constraints of their
//! published schemas (Azure/azure-resource-manager-schemas: `deploymentTemplate.json`
//! 2019-04-01, `Microsoft.Insights` `scheduledQueryRules` 2023-03-15-preview and `workbooks`
//! 2022-04-01; the Application Insights Workbooks `workbook.json`), written out here: the
//! tests run offline, so the schemas are not fetched.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use serde_json::Value;

fn read(file: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../conf/azure")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// An ARM deployment template: `$schema`, `contentVersion`, declared parameters only.
fn check_template(template: &Value, file: &str) {
    assert_eq!(
        template["$schema"],
        "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "{file}"
    );
    assert!(
        template["contentVersion"]
            .as_str()
            .unwrap()
            .split('.')
            .count()
            == 4,
        "{file}"
    );
    let text = template.to_string();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("parameters('") {
        let name = rest[at + 12..].split('\'').next().unwrap();
        assert!(
            template["parameters"].get(name).is_some(),
            "{file}: parameter `{name}` is used but not declared"
        );
        rest = &rest[at + 12..];
    }
    for resource in template["resources"].as_array().unwrap() {
        for key in ["type", "apiVersion", "name", "location", "properties"] {
            assert!(
                resource.get(key).is_some(),
                "{file}: a resource without `{key}`"
            );
        }
    }
}

fn iso_duration(text: &str) -> bool {
    let rest = text.strip_prefix("PT").or_else(|| text.strip_prefix('P'));
    rest.is_some_and(|r| {
        r.len() >= 2
            && r[..r.len() - 1].chars().all(|c| c.is_ascii_digit())
            && matches!(r.chars().last(), Some('M' | 'H' | 'D'))
    })
}

pub(crate) fn alert_rules_match_the_scheduled_query_rules_schema() {
    let template = read("alert-rules.json");
    check_template(&template, "alert-rules.json");
    let rules = template["resources"].as_array().unwrap();
    let names: Vec<&str> = rules.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "tern-forwarder-silent",
            "tern-forwarder-drops",
            "tern-forwarder-spool-growing"
        ]
    );
    for rule in rules {
        assert_eq!(rule["type"], "Microsoft.Insights/scheduledQueryRules");
        assert_eq!(rule["apiVersion"], "2023-03-15-preview");
        let p = &rule["properties"];
        assert!(
            (0..=4).contains(&p["severity"].as_i64().unwrap()),
            "severity 0-4"
        );
        assert!(p["enabled"].is_boolean());
        assert!(iso_duration(p["evaluationFrequency"].as_str().unwrap()));
        assert!(iso_duration(p["windowSize"].as_str().unwrap()));
        assert!(p["scopes"].as_array().unwrap().iter().all(Value::is_string));
        for criterion in p["criteria"]["allOf"].as_array().unwrap() {
            let query = criterion["query"].as_str().unwrap();
            assert!(query.contains("TernHeartbeat_CL"), "{query}");
            let aggregation = criterion["timeAggregation"].as_str().unwrap();
            assert!(["Count", "Average", "Minimum", "Maximum", "Total"].contains(&aggregation));
            // The schema needs the measured column for every aggregation but Count.
            if aggregation != "Count" {
                let column = criterion["metricMeasureColumn"].as_str().unwrap();
                assert!(
                    query.contains(&format!("{column} =")),
                    "{column} not made by {query}"
                );
            }
            assert!(
                [
                    "Equals",
                    "GreaterThan",
                    "GreaterThanOrEqual",
                    "LessThan",
                    "LessThanOrEqual"
                ]
                .contains(&criterion["operator"].as_str().unwrap())
            );
            assert!(criterion["threshold"].is_number());
            for dimension in criterion["dimensions"].as_array().into_iter().flatten() {
                assert!(["Include", "Exclude"].contains(&dimension["operator"].as_str().unwrap()));
                let name = dimension["name"].as_str().unwrap();
                assert!(query.contains(name), "dimension {name} not in {query}");
            }
            let periods = &criterion["failingPeriods"];
            assert!(
                periods["minFailingPeriodsToAlert"].as_i64().unwrap()
                    <= periods["numberOfEvaluationPeriods"].as_i64().unwrap()
            );
        }
    }
}

pub(crate) fn the_workbook_matches_the_workbook_schema_and_its_deployment() {
    let workbook = read("workbook.json");
    assert_eq!(workbook["version"], "Notebook/1.0");
    let items = workbook["items"].as_array().unwrap();
    assert!(items.len() >= 5);
    for item in items {
        let name = item["name"].as_str().unwrap();
        match item["type"].as_i64().unwrap() {
            1 => assert!(item["content"]["json"].is_string(), "{name}"),
            3 => {
                let content = &item["content"];
                assert_eq!(content["version"], "KqlItem/1.0", "{name}");
                assert!(
                    content["query"]
                        .as_str()
                        .unwrap()
                        .contains("TernHeartbeat_CL")
                );
                assert_eq!(
                    content["resourceType"],
                    "microsoft.operationalinsights/workspaces"
                );
            }
            other => panic!("{name}: item type {other}"),
        }
    }
    // What it charts: EPS, drops by reason, upload latency and errors, spool depth.
    let all = workbook.to_string();
    for column in [
        "EventsReceived",
        "DroppedByReason",
        "UploadLatencyMs",
        "UploadErrors",
        "SpoolBytes",
    ] {
        assert!(all.contains(column), "the workbook does not chart {column}");
    }
    let deploy = read("workbook-deploy.json");
    check_template(&deploy, "workbook-deploy.json");
    let resource = &deploy["resources"][0];
    assert_eq!(resource["type"], "Microsoft.Insights/workbooks");
    assert_eq!(resource["apiVersion"], "2022-04-01");
    assert!(["shared", "user"].contains(&resource["kind"].as_str().unwrap()));
    let properties = &resource["properties"];
    assert!(properties["displayName"].is_string() && properties["category"].is_string());
    // The deployed workbook is the gallery file, not a copy drifting from it.
    let serialized: Value =
        serde_json::from_str(properties["serializedData"].as_str().unwrap()).unwrap();
    assert_eq!(serialized, workbook);
}

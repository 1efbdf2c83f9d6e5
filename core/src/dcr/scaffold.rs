//! `tern dcr scaffold`: the ingestion DCR (an ARM template) that matches Tern's columns, so
//! users deploy it instead of writing stream declarations by hand.

use serde_json::{Value, json};

use crate::tables::Table;

/// The Azure CLI command that creates the heartbeat table in `workspace` (an ARM resource id):
/// a DCR can only send to a custom table that exists.
pub fn heartbeat_table_command(workspace: &str) -> String {
    let part = |key: &str| {
        workspace
            .split('/')
            .skip_while(|p| !p.eq_ignore_ascii_case(key))
            .nth(1)
            .unwrap_or("…")
            .to_owned()
    };
    let columns: Vec<String> = crate::heartbeat::COLUMNS
        .iter()
        .map(|(name, kind)| format!("{name}={kind}"))
        .collect();
    format!(
        "az monitor log-analytics workspace table create --resource-group {} --workspace-name {} --name {} --columns {}",
        part("resourceGroups"),
        part("workspaces"),
        crate::heartbeat::TABLE,
        columns.join(" ")
    )
}

/// Input stream names Tern posts to.
pub const SYSLOG_STREAM: &str = "Custom-TernSyslog";
pub const CEF_STREAM: &str = "Custom-TernCEF";
/// The heartbeat rows' stream, into the custom table `TernHeartbeat_CL` (which the workspace
/// must have: `tern dcr scaffold` prints the command that creates it).
pub const HEARTBEAT_STREAM: &str = "Custom-TernHeartbeat";

fn declaration(table: Table, extra: &[(Table, String, &'static str)]) -> Value {
    let mut columns: Vec<Value> = table
        .columns()
        .into_iter()
        .map(|(name, kind)| json!({"name": name, "type": kind}))
        .collect();
    for (_, name, kind) in extra.iter().filter(|(t, ..)| *t == table) {
        columns.push(json!({"name": name, "type": kind}));
    }
    json!({ "columns": columns })
}

/// The columns collection transformations add to Tern's tables (in the routes of `routing`),
/// each once, with its declaration type: what the ingestion DCR must declare to receive them.
pub fn transform_columns(routing: &super::routing::Routing) -> Vec<(Table, String, &'static str)> {
    let mut extra: Vec<(Table, String, &'static str)> = Vec::new();
    for route in routing.routes() {
        let Some(flow) = &route.transform else {
            continue;
        };
        let known = route.table.columns();
        for (name, ty) in flow.transform.output() {
            let new = !known.iter().any(|(k, _)| k == name)
                && !extra.iter().any(|(t, n, _)| *t == route.table && n == name);
            if new {
                extra.push((route.table, name.clone(), ty.declaration_name()));
            }
        }
    }
    extra
}

/// The ARM template for a Direct ingestion DCR writing Syslog and CommonSecurityLog into
/// `workspace` (an ARM resource id).
pub fn template(workspace: &str, location: &str, name: &str) -> Value {
    template_with(workspace, location, name, &[])
}

/// [`template`], also declaring `extra` columns (those collection transformations add; see
/// [`transform_columns`]).
pub fn template_with(
    workspace: &str,
    location: &str,
    name: &str,
    extra: &[(Table, String, &'static str)],
) -> Value {
    json!({
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "resources": [{
            "type": "Microsoft.Insights/dataCollectionRules",
            "apiVersion": "2023-03-11",
            "name": name,
            "location": location,
            "kind": "Direct",
            "properties": {
                "description": "Tern: Syslog, CommonSecurityLog and Tern's heartbeat through the Logs Ingestion API",
                "streamDeclarations": {
                    SYSLOG_STREAM: declaration(Table::Syslog, extra),
                    CEF_STREAM: declaration(Table::CommonSecurityLog, extra),
                    HEARTBEAT_STREAM: {"columns": crate::heartbeat::COLUMNS
                        .iter()
                        .map(|(name, kind)| json!({"name": name, "type": kind}))
                        .collect::<Vec<_>>()},
                },
                "destinations": {"logAnalytics": [{"name": "workspace", "workspaceResourceId": workspace}]},
                "dataFlows": [
                    {"streams": [SYSLOG_STREAM], "destinations": ["workspace"], "transformKql": "source", "outputStream": "Microsoft-Syslog"},
                    {"streams": [CEF_STREAM], "destinations": ["workspace"], "transformKql": "source", "outputStream": "Microsoft-CommonSecurityLog"},
                    {"streams": [HEARTBEAT_STREAM], "destinations": ["workspace"], "transformKql": "source", "outputStream": format!("Custom-{}", crate::heartbeat::TABLE)},
                ]
            }
        }],
        "outputs": {
            "immutableId": {"type": "string", "value": format!("[reference(resourceId('Microsoft.Insights/dataCollectionRules', '{name}')).immutableId]")},
            "logsIngestionEndpoint": {"type": "string", "value": format!("[reference(resourceId('Microsoft.Insights/dataCollectionRules', '{name}')).endpoints.logsIngestion]")}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dcr::load::load_str;

    #[test]
    fn scaffold_loads_and_declares_every_column_tern_writes() {
        let text = template("/subscriptions/s/resourceGroups/g/providers/Microsoft.OperationalInsights/workspaces/w", "westeurope", "tern")
            .to_string();
        let dcrs = load_str("scaffold.json", &text).unwrap();
        assert_eq!(dcrs.len(), 1);
        let dcr = &dcrs[0];
        assert_eq!(dcr.declared_streams.len(), 3);
        assert_eq!(dcr.flows.len(), 3);
        assert_eq!(
            dcr.flows[1].output_stream.as_deref(),
            Some("Microsoft-CommonSecurityLog")
        );
        assert_eq!(
            dcr.flows[2].output_stream.as_deref(),
            Some("Custom-TernHeartbeat_CL")
        );
        assert_eq!(
            heartbeat_table_command("/subscriptions/s/resourceGroups/g/providers/Microsoft.OperationalInsights/workspaces/w")
                .split(" --columns ")
                .next(),
            Some("az monitor log-analytics workspace table create --resource-group g --workspace-name w --name TernHeartbeat_CL")
        );
        let value: Value = serde_json::from_str(&text).unwrap();
        let cef_columns =
            value["resources"][0]["properties"]["streamDeclarations"][CEF_STREAM]["columns"]
                .as_array()
                .unwrap();
        assert_eq!(cef_columns.len(), Table::CommonSecurityLog.columns().len());
        assert!(
            cef_columns
                .iter()
                .any(|c| c["name"] == "SourcePort" && c["type"] == "int")
        );
        assert!(
            cef_columns
                .iter()
                .any(|c| c["name"] == "ReceivedBytes" && c["type"] == "long")
        );
        assert!(
            cef_columns
                .iter()
                .any(|c| c["name"] == "StartTime" && c["type"] == "datetime")
        );
        assert!(
            cef_columns
                .iter()
                .any(|c| c["name"] == "DeviceCustomFloatingPoint1" && c["type"] == "real")
        );
        let names: std::collections::BTreeSet<_> = cef_columns
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names.len(), cef_columns.len(), "no column declared twice");
    }

    #[test]
    fn scaffold_declares_the_columns_transformations_add() {
        let collection = r#"{"properties": {
            "dataSources": {"syslog": [{"name": "s", "streams": ["Microsoft-Syslog"], "facilityNames": ["*"], "logLevels": ["*"]}]},
            "destinations": {"logAnalytics": [{"name": "la", "workspaceResourceId": "/subscriptions/s/resourceGroups/g/providers/Microsoft.OperationalInsights/workspaces/w"}]},
            "dataFlows": [{"streams": ["Microsoft-Syslog"], "destinations": ["la"], "transformKql": "source | extend Site_CF = 'hq', Score_CF = strlen(SyslogMessage) * 1.5"}]
        }}"#;
        let dcrs = load_str("c.json", collection).unwrap();
        let routing = crate::dcr::routing::Routing::compile(&dcrs, false).unwrap();
        let extra = transform_columns(&routing);
        assert_eq!(
            extra,
            vec![
                (Table::Syslog, "Site_CF".to_owned(), "string"),
                (Table::Syslog, "Score_CF".to_owned(), "real"),
            ]
        );
        let text = template_with("/w", "westeurope", "tern", &extra).to_string();
        let dcr = load_str("scaffold.json", &text).unwrap();
        let syslog = dcr[0]
            .declared_streams
            .iter()
            .find(|s| s.name == SYSLOG_STREAM)
            .unwrap();
        let last: Vec<(&str, &str)> = syslog
            .columns
            .iter()
            .rev()
            .take(2)
            .map(|c| (c.name.as_str(), c.kind.as_str()))
            .collect();
        assert_eq!(last, [("Score_CF", "real"), ("Site_CF", "string")]);
    }
}

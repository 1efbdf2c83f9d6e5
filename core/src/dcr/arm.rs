//! DCRs from Azure Resource Manager (issue 25): the requests and what their answers mean,
//! without I/O. `GET {arm}{dcr id}?api-version=2022-06-01` returns the ARM resource shape
//! that [`super::load`] reads; `GET {arm}{machine}/providers/Microsoft.Insights/
//! dataCollectionRuleAssociations` lists a machine's DCRs (`value[].properties.
//! dataCollectionRuleId`, paged by `nextLink`). `reference/edge.md` §2.

use serde_json::Value;

pub const API_VERSION: &str = "2022-06-01";

/// One `[[dcr.azure]]` entry: a DCR by id, or the DCRs associated with a machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArmSource {
    Dcr(String),
    AssociatedWith(String),
}

/// Checks a DCR resource id: `/subscriptions/…/providers/Microsoft.Insights/
/// dataCollectionRules/<name>` (case as Azure accepts it: any).
pub fn check_dcr_id(id: &str) -> Result<(), String> {
    let lower = id.to_ascii_lowercase();
    let parts: Vec<&str> = lower.split('/').collect();
    let shaped = lower.starts_with("/subscriptions/")
        && parts.len() == 9
        && parts.get(5) == Some(&"providers")
        && parts.get(6) == Some(&"microsoft.insights")
        && parts.get(7) == Some(&"datacollectionrules")
        && parts.get(8).is_some_and(|n| !n.is_empty());
    if shaped && !id.contains(['?', '#', ' ']) {
        Ok(())
    } else {
        Err(format!(
            "`{id}` is not a DCR resource id (/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Insights/dataCollectionRules/<name>)"
        ))
    }
}

/// Checks a machine's resource id (a VM or an Arc-enabled server).
pub fn check_machine_id(id: &str) -> Result<(), String> {
    let lower = id.to_ascii_lowercase();
    let known = lower.contains("/providers/microsoft.compute/virtualmachines/")
        || lower.contains("/providers/microsoft.hybridcompute/machines/");
    if lower.starts_with("/subscriptions/") && known && !id.contains(['?', '#', ' ']) {
        Ok(())
    } else {
        Err(format!(
            "`{id}` is not a VM or Arc machine resource id (…/providers/Microsoft.Compute/virtualMachines/<name> or …/providers/Microsoft.HybridCompute/machines/<name>)"
        ))
    }
}

/// The URL of a DCR.
pub fn dcr_url(arm: &str, id: &str) -> String {
    format!(
        "{}{id}?api-version={API_VERSION}",
        arm.trim_end_matches('/')
    )
}

/// The URL listing a machine's DCR associations.
pub fn associations_url(arm: &str, machine: &str) -> String {
    format!(
        "{}{machine}/providers/Microsoft.Insights/dataCollectionRuleAssociations?api-version={API_VERSION}",
        arm.trim_end_matches('/')
    )
}

/// One page of associations: the DCR ids, and the next page's URL. Associations to data
/// collection endpoints (no `dataCollectionRuleId`) are skipped.
pub fn association_page(body: &[u8]) -> Result<(Vec<String>, Option<String>), String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("associations: not JSON: {e}"))?;
    let list = value
        .get("value")
        .and_then(Value::as_array)
        .ok_or("associations: no `value` list")?;
    let mut ids = Vec::new();
    for item in list {
        if let Some(id) = item
            .pointer("/properties/dataCollectionRuleId")
            .and_then(Value::as_str)
        {
            check_dcr_id(id).map_err(|e| format!("associations: {e}"))?;
            ids.push(id.to_owned());
        }
    }
    let next = value
        .get("nextLink")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .map(str::to_owned);
    Ok((ids, next))
}

/// The cache file of a DCR: its subscription, group and name, made safe for a file name.
/// Whether a `nextLink` stays on Resource Manager (`arm`): same scheme, host and port, no
/// credentials in it. A page of an answer is outside input: a link elsewhere would be sent the
/// Resource Manager token.
pub fn same_origin(arm: &str, next: &str) -> bool {
    match (url::Url::parse(arm), url::Url::parse(next)) {
        (Ok(arm), Ok(next)) => {
            next.username().is_empty()
                && next.password().is_none()
                && arm.scheme() == next.scheme()
                && arm.host() == next.host()
                && arm.port_or_known_default() == next.port_or_known_default()
        }
        _ => false,
    }
}

pub fn cache_file_name(id: &str) -> String {
    let parts: Vec<&str> = id.split('/').filter(|p| !p.is_empty()).collect();
    let pick = |i: usize| parts.get(i).copied().unwrap_or("_");
    let name = format!("{}-{}-{}", pick(1), pick(3), pick(7));
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("arm-{safe}.json")
}

/// What an answer to a DCR GET means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DcrAnswer {
    /// 200: the DCR (checked to load) and its ETag.
    Changed { body: String, etag: Option<String> },
    /// 304: as cached.
    Unchanged,
    /// Anything else: why, with the fix.
    Failed(String),
}

/// Reads a DCR GET's answer: a 200 whose body does not load as a DCR is a failure (the cached
/// copy stays in force); 403 says which role is missing.
pub fn dcr_answer(id: &str, status: u16, etag: Option<&str>, body: &[u8]) -> DcrAnswer {
    match status {
        200 => {
            let text = String::from_utf8_lossy(body).into_owned();
            match super::load::load_str(id, &text) {
                Ok(_) => DcrAnswer::Changed {
                    etag: etag.map(str::to_owned).or_else(|| {
                        serde_json::from_str::<Value>(&text)
                            .ok()
                            .and_then(|v| v.get("etag")?.as_str().map(str::to_owned))
                    }),
                    body: text,
                },
                Err(errors) => DcrAnswer::Failed(format!(
                    "{id}: the DCR Azure returned does not load: {}",
                    errors
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ")
                )),
            }
        }
        304 => DcrAnswer::Unchanged,
        403 => DcrAnswer::Failed(format!(
            "{id}: 403: the identity may not read this DCR: give it the Monitoring Reader role \
             (Microsoft.Insights/dataCollectionRules/read) on the DCR or its resource group"
        )),
        404 => DcrAnswer::Failed(format!(
            "{id}: 404: no such DCR (check the subscription, group and name)"
        )),
        other => DcrAnswer::Failed(format!("{id}: Azure Resource Manager answered {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_links_must_stay_on_resource_manager() {
        let arm = "https://management.azure.com";
        assert!(same_origin(
            arm,
            "https://management.azure.com/sub/x?$skipToken=1"
        ));
        assert!(same_origin(arm, "https://management.azure.com:443/sub/x"));
        for away in [
            "https://management.azure.com.evil.example/sub/x",
            "https://management.azure.com@evil.example/sub/x",
            "https://user@management.azure.com/sub/x",
            "http://management.azure.com/sub/x",
            "https://management.azure.com:8443/sub/x",
            "/relative",
        ] {
            assert!(!same_origin(arm, away), "{away}");
        }
    }

    const ID: &str = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Insights/dataCollectionRules/dcr-a";

    #[test]
    fn ids_urls_and_cache_names() {
        assert_eq!(check_dcr_id(ID), Ok(()));
        assert!(check_dcr_id("/subscriptions/s1/resourceGroups/rg").is_err());
        assert!(check_dcr_id(&format!("{ID}?x")).is_err());
        assert!(
            check_machine_id(
                "/subscriptions/s/resourceGroups/g/providers/Microsoft.HybridCompute/machines/fwd1"
            )
            .is_ok()
        );
        assert!(check_machine_id(ID).is_err());
        assert_eq!(
            dcr_url("https://management.azure.com/", ID),
            format!("https://management.azure.com{ID}?api-version=2022-06-01")
        );
        assert_eq!(cache_file_name(ID), "arm-s1-rg-dcr-a.json");
    }

    #[test]
    fn association_pages_give_dcr_ids_and_the_next_link() {
        let page = format!(
            r#"{{"value": [{{"properties": {{"dataCollectionRuleId": "{ID}"}}}}, {{"properties": {{"dataCollectionEndpointId": "/x"}}}}], "nextLink": "https://arm/next"}}"#
        );
        assert_eq!(
            association_page(page.as_bytes()),
            Ok((vec![ID.to_owned()], Some("https://arm/next".to_owned())))
        );
        assert!(association_page(b"{}").is_err());
        assert!(
            association_page(br#"{"value": [{"properties": {"dataCollectionRuleId": "/nope"}}]}"#)
                .is_err()
        );
    }

    #[test]
    fn answers() {
        let dcr = r#"{"name": "dcr-a", "etag": "\"e1\"", "properties": {"dataSources": {}, "dataFlows": []}}"#;
        assert_eq!(
            dcr_answer(ID, 200, None, dcr.as_bytes()),
            DcrAnswer::Changed {
                body: dcr.to_owned(),
                etag: Some("\"e1\"".to_owned())
            }
        );
        assert_eq!(dcr_answer(ID, 304, None, b""), DcrAnswer::Unchanged);
        assert!(matches!(
            dcr_answer(ID, 403, None, b""),
            DcrAnswer::Failed(m) if m.contains("Monitoring Reader")
        ));
        assert!(matches!(
            dcr_answer(ID, 200, None, b"{\"properties\": {\"dataFlows\": 3}}"),
            DcrAnswer::Failed(_)
        ));
    }
}

//! Binding routes to upload targets: ingestion DCRs (`streamDeclarations` of `Custom-*`
//! streams whose dataFlows have `outputStream` `Microsoft-Syslog` or
//! `Microsoft-CommonSecurityLog`) and inline `[[destination]]`s, matched to each route by table
//! and workspace.
//!
//! Owns: finding the targets, checking that every route has one, and checking each target's
//! declared columns against the columns and types Tern writes. A declared type that differs
//! from Tern's is an error (Azure would accept the request and drop the data); a Tern column the
//! declaration lacks is reported once, as data that would be dropped.

use std::sync::Arc;

use super::DcrError;
use super::load::Dcr;
use super::routing::Routing;
use crate::tables::{Table, Undeclared};

/// Where the rows of one (table, workspace) are posted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Where it was defined: `file: path` or `[[destination]] name`.
    pub origin: String,
    pub endpoint: Option<String>,
    pub immutable_id: Option<String>,
    pub stream: String,
    pub table: Table,
    /// `None`: an inline destination that names no workspace; it takes its table from every
    /// workspace's routes.
    pub workspace: Option<String>,
    /// Tern's columns of `table` that the stream does not declare (rows leave them out);
    /// empty for an inline destination (Tern's own columns assumed, as `tern dcr scaffold`
    /// declares them).
    pub undeclared: Undeclared,
    /// The key its rows travel under to their uploader (the request URL without the query),
    /// made once here rather than per row; `None` without an endpoint or DCR id.
    pub key: Option<String>,
    /// The named credential (`[azure.auth.<name>]`) its requests use; `None`: `[azure.auth]`.
    pub auth: Option<String>,
}

/// The uploader key of (endpoint, DCR immutable id, stream).
pub fn upload_key(
    endpoint: Option<&str>,
    immutable_id: Option<&str>,
    stream: &str,
) -> Option<String> {
    Some(format!(
        "{}/dataCollectionRules/{}/streams/{stream}",
        endpoint?.trim_end_matches('/'),
        immutable_id?
    ))
}

/// Routes bound to targets.
#[derive(Debug, Clone, Default)]
pub struct Bindings {
    pub targets: Vec<Target>,
    /// Target ids per route id (or per table when everything is kept).
    pub by_route: Vec<Vec<usize>>,
    pub notes: Vec<String>,
}

fn output_table(stream: &str) -> Option<Table> {
    if stream.eq_ignore_ascii_case("Microsoft-Syslog") {
        Some(Table::Syslog)
    } else if stream.eq_ignore_ascii_case("Microsoft-CommonSecurityLog") {
        Some(Table::CommonSecurityLog)
    } else {
        custom_table(stream)
    }
}

/// `Custom-MyApp_CL` → the custom table `MyApp_CL` (the `_CL` suffix is Log Analytics').
pub fn custom_table(stream: &str) -> Option<Table> {
    let name = stream.strip_prefix("Custom-")?;
    (name.ends_with("_CL") && name.len() > 3).then(|| crate::tables::custom(name))
}

/// Log files collected (a collection DCR's `logFiles` source) and the targets their rows go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileBinding {
    pub source: super::load::LogFileSource,
    /// `file: path` of the source, for messages.
    pub origin: String,
    pub table: Table,
    /// Indexes into [`Bindings::targets`].
    pub targets: Vec<usize>,
    /// The transformation of its dataFlow(s), if any.
    pub transform: Option<Arc<super::routing::FlowTransform>>,
}

/// Binds every `logFiles` source to the targets that write its table into the workspaces its
/// flows name. As for syslog routes: with targets, a source no target takes is an error.
pub fn bind_files(dcrs: &[Dcr], targets: &[Target]) -> Result<Vec<FileBinding>, Vec<DcrError>> {
    let mut bound = Vec::new();
    let mut errors = Vec::new();
    for dcr in dcrs {
        for source in &dcr.log_files {
            let origin = format!("{}: {}", dcr.file, source.path);
            let mut indexes = Vec::new();
            let mut table = None;
            let mut transforms: Vec<Option<Arc<super::routing::FlowTransform>>> = Vec::new();
            for flow in dcr
                .flows
                .iter()
                .filter(|f| f.streams.contains(&source.stream))
            {
                let Some(flow_table) = flow
                    .output_stream
                    .as_deref()
                    .or(Some(source.stream.as_str()))
                    .and_then(custom_table)
                else {
                    errors.push(DcrError {
                        file: dcr.file.clone(),
                        path: flow.path.clone(),
                        message: format!(
                            "{} goes to no custom table: give outputStream `Custom-<name>_CL`",
                            source.stream
                        ),
                    });
                    continue;
                };
                // The flow's transformation runs on the stream's rows (its declaration's
                // columns, else the text-log columns); one per source, as its rows are
                // written once for all its targets.
                let columns = super::routing::stream_columns(dcr, &source.stream);
                let borrowed: Vec<(&str, &str)> = columns
                    .iter()
                    .map(|(n, t)| (n.as_str(), t.as_str()))
                    .collect();
                match super::routing::flow_transform_over(dcr, flow, &source.stream, &borrowed) {
                    Ok(t) if transforms.iter().all(|seen| *seen == t) => {
                        if transforms.is_empty() {
                            transforms.push(t);
                        }
                    }
                    Ok(_) => errors.push(DcrError {
                        file: dcr.file.clone(),
                        path: format!("{}.transformKql", flow.path),
                        message: format!(
                            "{} goes through dataFlows with different transformations; Tern \
                             writes a file's rows once for all its targets: give each \
                             transformation its own stream",
                            source.stream
                        ),
                    }),
                    Err(e) => errors.push(e),
                }
                table = Some(flow_table);
                for alias in &flow.destinations {
                    let Some(workspace) = dcr.workspaces.iter().find(|w| w.name == *alias) else {
                        continue;
                    };
                    let matching: Vec<usize> = targets
                        .iter()
                        .enumerate()
                        .filter(|(_, t)| {
                            t.table == flow_table
                                && t.workspace.as_ref().is_none_or(|w| {
                                    w.eq_ignore_ascii_case(&workspace.workspace_resource_id)
                                })
                        })
                        .map(|(i, _)| i)
                        .collect();
                    if matching.is_empty() && !targets.is_empty() {
                        errors.push(DcrError {
                            file: dcr.file.clone(),
                            path: source.path.clone(),
                            message: format!(
                                "no ingestion DCR or [[destination]] writes {} into {}: these files would be read and never sent",
                                flow_table.name(),
                                workspace.workspace_resource_id
                            ),
                        });
                    }
                    indexes.extend(matching);
                }
            }
            let Some(table) = table else {
                errors.push(DcrError {
                    file: dcr.file.clone(),
                    path: source.path.clone(),
                    message: format!("no dataFlow takes stream {}", source.stream),
                });
                continue;
            };
            indexes.sort_unstable();
            indexes.dedup();
            bound.push(FileBinding {
                source: source.clone(),
                origin,
                table,
                targets: indexes,
                transform: transforms.into_iter().next().flatten(),
            });
        }
    }
    errors.extend(shared_checkpoints(&bound));
    if errors.is_empty() {
        Ok(bound)
    } else {
        Err(errors)
    }
}

/// Sources that would read the same files under one checkpoint entry but differently (another
/// format, record start or table). A file's read position is kept per stream and patterns
/// (`files::checkpoint::source_key`), so two such tailers would overwrite each other's
/// positions: rows lost or sent twice after a restart. The same source declared twice the
/// same way is fine: it becomes one tailer (decision 86).
fn shared_checkpoints(bound: &[FileBinding]) -> Vec<DcrError> {
    let mut errors = Vec::new();
    for (i, a) in bound.iter().enumerate() {
        let key = source_key(&a.source.stream, &a.source.patterns);
        let clash = bound.iter().skip(i + 1).find(|b| {
            source_key(&b.source.stream, &b.source.patterns) == key
                && (b.table != a.table
                    || b.source.format != a.source.format
                    || b.source.record_start != a.source.record_start)
        });
        if let Some(b) = clash {
            let (file, path) = b.origin.split_once(": ").unwrap_or((&b.origin, ""));
            errors.push(DcrError {
                file: file.to_owned(),
                path: path.to_owned(),
                message: format!(
                    "reads the same files as {} (stream {}, the same filePatterns) but another \
                     way (format, record start or output table): they would share one read \
                     position per file; give one of them its own stream",
                    a.origin, a.source.stream
                ),
            });
        }
    }
    errors
}

/// The targets the ingestion DCRs among `dcrs` define, with their declared columns checked.
pub fn targets_from(dcrs: &[Dcr]) -> (Vec<Target>, Vec<DcrError>, Vec<String>) {
    let mut targets = Vec::new();
    let mut errors = Vec::new();
    let mut notes = Vec::new();
    for dcr in dcrs {
        for flow in &dcr.flows {
            let Some(table) = flow.output_stream.as_deref().and_then(output_table) else {
                continue;
            };
            // A collection DCR's flow of its own logFiles stream collects; it posts nothing.
            if flow
                .streams
                .iter()
                .any(|s| dcr.log_files.iter().any(|f| f.stream == *s))
            {
                continue;
            }
            for stream in &flow.streams {
                let Some(declaration) = dcr.declared_streams.iter().find(|d| d.name == *stream)
                else {
                    // Azure refuses a Custom- stream it has no declaration for; rows posted to
                    // it would be refused too.
                    if stream.starts_with("Custom-") {
                        errors.push(DcrError {
                            file: dcr.file.clone(),
                            path: flow.path.clone(),
                            message: format!(
                                "stream `{stream}` is not in streamDeclarations: Azure refuses \
                                 the DCR and every row posted to the stream"
                            ),
                        });
                    }
                    continue;
                };
                if flow.destinations.is_empty() {
                    errors.push(DcrError {
                        file: dcr.file.clone(),
                        path: flow.path.clone(),
                        message: format!(
                            "stream `{stream}` has no destination: rows posted to it would be \
                             dropped"
                        ),
                    });
                    continue;
                }
                let tern_columns = table.columns();
                let declared_names: Vec<String> =
                    declaration.columns.iter().map(|c| c.name.clone()).collect();
                for column in &declaration.columns {
                    if let Some((_, kind)) =
                        tern_columns.iter().find(|(name, _)| *name == column.name)
                    {
                        if !column.kind.eq_ignore_ascii_case(kind) {
                            errors.push(DcrError {
                                file: dcr.file.clone(),
                                path: format!("{}.type", column.path),
                                message: format!(
                                    "`{}` is declared `{}` but Tern writes it as `{kind}` in {}: \
                                     Azure would accept the rows and drop the data",
                                    column.name,
                                    column.kind,
                                    table.name()
                                ),
                            });
                        }
                    }
                }
                let missing: Vec<&str> = tern_columns
                    .iter()
                    .map(|(name, _)| *name)
                    .filter(|name| !declaration.columns.iter().any(|c| c.name == *name))
                    .collect();
                if !missing.is_empty() {
                    let shown: Vec<&str> = missing.iter().take(8).copied().collect();
                    let more = missing.len().saturating_sub(shown.len());
                    notes.push(format!(
                        "{}: {}: {} does not declare {} column(s) Tern writes to {}; their values \
                         would be dropped: {}{} (`tern dcr scaffold` declares them all)",
                        dcr.file,
                        declaration.path,
                        stream,
                        missing.len(),
                        table.name(),
                        shown.join(", "),
                        if more > 0 {
                            format!(" and {more} more")
                        } else {
                            String::new()
                        }
                    ));
                }
                for alias in &flow.destinations {
                    let workspace = dcr
                        .workspaces
                        .iter()
                        .find(|w| w.name == *alias)
                        .map(|w| w.workspace_resource_id.clone());
                    if workspace.is_none() {
                        errors.push(DcrError {
                            file: dcr.file.clone(),
                            path: flow.path.clone(),
                            message: format!(
                                "destination `{alias}` is not in destinations.logAnalytics"
                            ),
                        });
                        continue;
                    }
                    if dcr.logs_ingestion_endpoint.is_none() {
                        notes.push(format!(
                            "{}: {}: no endpoints.logsIngestion (a DCE is used?): give the endpoint \
                             in a [[destination]] for stream {stream}",
                            dcr.file, dcr.base
                        ));
                    }
                    targets.push(Target {
                        key: upload_key(
                            dcr.logs_ingestion_endpoint.as_deref(),
                            dcr.immutable_id.as_deref(),
                            stream,
                        ),
                        origin: format!("{}: {}", dcr.file, flow.path),
                        endpoint: dcr.logs_ingestion_endpoint.clone(),
                        immutable_id: dcr.immutable_id.clone(),
                        stream: stream.clone(),
                        table,
                        workspace,
                        undeclared: Undeclared::of(table, &declared_names),
                        auth: None,
                    });
                }
            }
        }
    }
    (targets, errors, notes)
}

/// An inline `[[destination]]`: an ingestion target given in the config, not by a DCR file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub name: String,
    pub endpoint: String,
    pub dcr_immutable_id: String,
    /// (table name, `Custom-*` stream).
    pub streams: Vec<(String, String)>,
    pub workspace: Option<String>,
    /// `auth`: the named credential its requests use (another tenant's app, say).
    pub auth: Option<String>,
}

/// A log-file source's identity for its read position (checkpoints and the refusal of two
/// sources that read the same files differently): its stream and its patterns.
pub fn source_key(stream: &str, patterns: &[String]) -> String {
    format!("{stream} {}", patterns.join(" "))
}

/// The targets of inline `[[destination]]`s.
pub fn targets_from_config(destinations: &[Destination]) -> Vec<Target> {
    destinations
        .iter()
        .flat_map(|d| {
            d.streams.iter().filter_map(move |(table, stream)| {
                let table = match table.as_str() {
                    "Syslog" => Table::Syslog,
                    "CommonSecurityLog" => Table::CommonSecurityLog,
                    custom => custom_table(&format!("Custom-{custom}"))?,
                };
                Some(Target {
                    key: upload_key(Some(&d.endpoint), Some(&d.dcr_immutable_id), stream),
                    origin: format!("[[destination]] {}", d.name),
                    endpoint: Some(d.endpoint.clone()),
                    immutable_id: Some(d.dcr_immutable_id.clone()),
                    stream: stream.clone(),
                    table,
                    workspace: d.workspace.clone(),
                    undeclared: Undeclared::default(),
                    auth: d.auth.clone(),
                })
            })
        })
        .collect()
}

/// Binds every route of `routing` to its targets. With no target at all, rows stay local
/// (a note); with targets, a route no target takes is an error.
pub fn bind(routing: &Routing, targets: Vec<Target>) -> Result<Bindings, Vec<DcrError>> {
    let mut notes = Vec::new();
    if targets.is_empty() {
        notes.push(
            "no ingestion DCR or [[destination]]: rows go to the local outputs only".to_owned(),
        );
        return Ok(Bindings {
            targets,
            by_route: Vec::new(),
            notes,
        });
    }
    let mut errors = Vec::new();
    let mut by_route = Vec::new();
    for route in routing.routes() {
        let bound: Vec<usize> = targets
            .iter()
            .enumerate()
            .filter(|(_, t)| {
                t.table == route.table
                    && t.workspace
                        .as_ref()
                        .is_none_or(|w| w.eq_ignore_ascii_case(&route.workspace))
            })
            .map(|(i, _)| i)
            .collect();
        // A target that cannot post (a DCR exported before deployment: no endpoint or
        // immutable id) is left out where one that can takes the same rows, such as the
        // [[destination]] that completes it; its copies would only be counted as dropped.
        let can_post = |i: &usize| targets.get(*i).is_some_and(|t| t.key.is_some());
        let bound: Vec<usize> = if bound.iter().any(can_post) {
            bound.into_iter().filter(can_post).collect()
        } else {
            bound
        };
        if bound.is_empty() {
            errors.push(DcrError {
                file: "(collection DCRs)".to_owned(),
                path: format!("{} in {}", route.table.name(), route.workspace),
                message:
                    "no ingestion DCR or [[destination]] writes this table into this workspace: \
                          its events would be collected and never sent"
                        .to_owned(),
            });
        }
        if let Some(flow) = &route.transform {
            notes.extend(transform_column_notes(flow, route.table, &bound, &targets));
        }
        by_route.push(bound);
    }
    notes.dedup();
    if errors.is_empty() {
        Ok(Bindings {
            targets,
            by_route,
            notes,
        })
    } else {
        Err(errors)
    }
}

/// Columns a transformation gives that its targets would not store: on a built-in table, a
/// column of its own that does not end in `_CF` (Azure refuses custom columns without it);
/// a column of the table that the target's stream does not declare (Azure drops it).
fn transform_column_notes(
    flow: &super::routing::FlowTransform,
    table: Table,
    bound: &[usize],
    targets: &[Target],
) -> Vec<String> {
    let mut notes = Vec::new();
    let known = table.columns();
    for (column, _) in flow.transform.output() {
        let is_table_column = known.iter().any(|(name, _)| name == column);
        if !is_table_column && !matches!(table, Table::Custom(_)) && !column.ends_with("_CF") {
            notes.push(format!(
                "{}: the transformation adds `{column}` to {}: custom columns of a built-in \
                 table must end in _CF, so Azure will not store it",
                flow.origin,
                table.name()
            ));
        }
        for target in bound.iter().filter_map(|i| targets.get(*i)) {
            if target.undeclared.contains(column) {
                notes.push(format!(
                    "{}: the transformation gives `{column}`, which stream {} of {} does not \
                     declare: it is left out of the rows",
                    flow.origin, target.stream, target.origin
                ));
            }
        }
    }
    notes
}

impl Bindings {
    /// For `tern check`: each target and the routes bound to it.
    pub fn describe(&self, routing: &Routing) -> Vec<String> {
        self.targets
            .iter()
            .enumerate()
            .map(|(id, t)| {
                let routes: Vec<String> = self
                    .by_route
                    .iter()
                    .enumerate()
                    .filter(|(_, ids)| ids.contains(&id))
                    .filter_map(|(r, _)| routing.route(r))
                    .map(|r| format!("{} in {}", r.table.name(), r.workspace))
                    .collect();
                format!(
                    "{} → {} stream {} (DCR {}, endpoint {}){}",
                    t.table.name(),
                    t.workspace.as_deref().unwrap_or("any workspace"),
                    t.stream,
                    t.immutable_id.as_deref().unwrap_or("?"),
                    t.endpoint.as_deref().unwrap_or("?"),
                    if routing.keeps_everything() || !routes.is_empty() {
                        String::new()
                    } else {
                        " — no route uses it".to_owned()
                    }
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dcr::load::load_str;

    /// A collection DCR with `logFiles` sources given as (stream, format) over one pattern.
    fn files_dcr(sources: &[(&str, &str)]) -> Vec<Dcr> {
        let data_sources: Vec<serde_json::Value> = sources
            .iter()
            .enumerate()
            .map(|(i, (stream, format))| {
                serde_json::json!({"name": format!("files{i}"), "streams": [stream],
                    "filePatterns": ["/var/log/app/*.log"], "format": format})
            })
            .collect();
        let streams: Vec<&str> = sources.iter().map(|(s, _)| *s).collect();
        let text = serde_json::json!({"location": "westeurope", "kind": "Linux", "properties": {
            "dataSources": {"logFiles": data_sources},
            "destinations": {"logAnalytics": [{"name": "la", "workspaceResourceId": "/subscriptions/s/resourceGroups/g/providers/Microsoft.OperationalInsights/workspaces/w"}]},
            "dataFlows": [{"streams": streams, "destinations": ["la"], "outputStream": "Custom-App_CL"}]
        }})
        .to_string();
        load_str("files.json", &text).unwrap()
    }

    #[test]
    fn two_sources_reading_the_same_files_differently_are_refused() {
        let errors = bind_files(
            &files_dcr(&[("Custom-App_CL", "text"), ("Custom-App_CL", "json")]),
            &[],
        )
        .unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].file, "files.json");
        assert!(
            errors[0].message.contains("share one read position"),
            "{}",
            errors[0].message
        );
        // The same files under their own streams, or the same source twice, are fine.
        let bound = bind_files(
            &files_dcr(&[("Custom-App_CL", "text"), ("Custom-Other_CL", "json")]),
            &[],
        )
        .unwrap();
        assert_eq!(bound.len(), 2);
        let bound = bind_files(
            &files_dcr(&[("Custom-App_CL", "text"), ("Custom-App_CL", "text")]),
            &[],
        )
        .unwrap();
        assert_eq!(bound.len(), 2);
    }

    #[test]
    fn a_log_file_flow_transformation_is_compiled_for_the_text_log_columns() {
        let mut dcrs = files_dcr(&[("Custom-App_CL", "text")]);
        if let Some(flow) = dcrs.first_mut().and_then(|d| d.flows.first_mut()) {
            flow.transform_kql = Some(
                "source | where RawData !has 'debug' | project TimeGenerated, RawData".to_owned(),
            );
        }
        let bound = bind_files(&dcrs, &[]).unwrap();
        let output: Vec<&str> = bound[0]
            .transform
            .as_ref()
            .unwrap()
            .transform
            .output()
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(output, ["TimeGenerated", "RawData"]);
        // A column text logs do not have is a DCR error at the transformation.
        if let Some(flow) = dcrs.first_mut().and_then(|d| d.flows.first_mut()) {
            flow.transform_kql = Some("source | where Level == 'x'".to_owned());
        }
        let errors = bind_files(&dcrs, &[]).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].path, "properties.dataFlows[0].transformKql");
        assert!(
            errors[0]
                .message
                .contains("no column or `let` named `Level`"),
            "{}",
            errors[0].message
        );
    }
}

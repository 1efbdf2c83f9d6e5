//! Collection DCRs compiled into a routing table: `facility × severity × event kind → routes`,
//! looked up in O(1) per event.
//!
//! Semantics (`reference/azure.md` §3.2, §3.6, and the DCR issue):
//! - `logLevels` are sets, not thresholds; `facilityNames` too. `*` is every value.
//! - Several DCRs (and several sources) are a union; a route is a (table, workspace) pair and is
//!   taken once however many selections lead to it.
//! - Streams: `Microsoft-Syslog` collects into Syslog, `Microsoft-CommonSecurityLog` collects CEF
//!   into CommonSecurityLog, `Microsoft-CiscoAsa` collects Cisco ASA/FTD into CommonSecurityLog.
//!   A CEF or ASA event goes to CommonSecurityLog where such a source selects it, and to Syslog
//!   only for workspaces where no such source selects it: one table per workspace. AMA also
//!   copies it into Syslog (the duplicate-ingestion trap); `duplicate_cef_to_syslog = true`
//!   restores that.
//! - A plain event selected only by a CEF or ASA source is not collected (AMA's CEF path takes
//!   CEF only).
//! - `nopri` selects messages that had no PRI (they are also user.notice, RFC 3164); `mark`
//!   selects nothing (Tern generates no mark messages).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::DcrError;
use super::load::{Dcr, FacilityName};
use crate::tables::Table;
use crate::transform::{Transform, is_identity};

/// What kind of event a message is, for routing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Syslog = 0,
    Cef = 1,
    Asa = 2,
}

const KINDS: usize = 3;
/// 24 wire facilities and `nopri`.
const SLOTS: usize = 25;
const NOPRI_SLOT: usize = 24;
const SEVERITIES: usize = 8;
const CELLS: usize = SLOTS * SEVERITIES * KINDS;
/// Routes are a bit set in a `u64`.
pub const MAX_ROUTES: usize = 64;

/// Where an event goes: a table in a workspace, through a dataFlow's transformation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub table: Table,
    /// The workspace's ARM resource id, as the DCR gives it.
    pub workspace: String,
    /// The dataFlow's `transformKql`, unless it is `source` (decision 111: flows with the same
    /// transformation share a route, flows with different ones get a row each, as the
    /// service would give).
    pub transform: Option<Arc<FlowTransform>>,
}

/// A collection dataFlow's transformation, compiled for its input stream's columns.
#[derive(Debug)]
pub struct FlowTransform {
    pub transform: Transform,
    /// The DCR's name (else its file), for metrics and messages.
    pub dcr: String,
    /// The input stream (`Microsoft-Syslog`, `Microsoft-CommonSecurityLog`).
    pub stream: String,
    /// `file: dataFlows[0]`, for messages.
    pub origin: String,
}

impl PartialEq for FlowTransform {
    fn eq(&self, other: &FlowTransform) -> bool {
        self.transform.text == other.transform.text && self.stream == other.stream
    }
}

impl Eq for FlowTransform {}

/// A stream's columns as a transformation sees them: the table's for `Microsoft-Syslog` and
/// `Microsoft-CommonSecurityLog`, the declaration's for a declared `Custom-` stream, the text
/// log columns otherwise (a `logFiles` stream).
pub fn stream_columns(dcr: &Dcr, stream: &str) -> Vec<(String, String)> {
    if let Some((_, table)) = stream_kind(stream) {
        return owned(table.columns());
    }
    if let Some(declared) = dcr
        .declared_streams
        .iter()
        .find(|d| d.name.eq_ignore_ascii_case(stream))
    {
        return declared
            .columns
            .iter()
            .map(|c| (c.name.clone(), c.kind.clone()))
            .collect();
    }
    owned(crate::tables::FILE_COLUMNS.to_vec())
}

fn owned(columns: Vec<(&str, &str)>) -> Vec<(String, String)> {
    columns
        .into_iter()
        .map(|(n, t)| (n.to_owned(), t.to_owned()))
        .collect()
}

/// Every dataFlow of `dcr` with a transformation, per input stream, compiled for that
/// stream's columns (`tern transform test`): (`dataFlows[i]`, stream, the transformation).
pub fn all_flow_transforms(dcr: &Dcr) -> Vec<(String, String, Result<Transform, String>)> {
    let mut all = Vec::new();
    for flow in &dcr.flows {
        let Some(kql) = flow.transform_kql.as_deref().filter(|k| !is_identity(k)) else {
            continue;
        };
        for stream in &flow.streams {
            let columns = stream_columns(dcr, stream);
            let borrowed: Vec<(&str, &str)> = columns
                .iter()
                .map(|(n, t)| (n.as_str(), t.as_str()))
                .collect();
            let compiled = Transform::compile(kql, &borrowed).map_err(|e| e.render(kql));
            all.push((flow.path.clone(), stream.clone(), compiled));
        }
    }
    all
}

/// Compiles a dataFlow's `transformKql` for a stream with `table`'s columns; `None` for no
/// transformation (`source`). The error names the file, the dataFlow and the construct.
pub fn flow_transform(
    dcr: &Dcr,
    flow: &super::load::Flow,
    stream: &str,
    table: Table,
) -> Result<Option<Arc<FlowTransform>>, DcrError> {
    flow_transform_over(dcr, flow, stream, &table.columns())
}

/// [`flow_transform`] for a stream with the given columns (a `logFiles` stream: the text-log
/// columns, or its declaration).
pub fn flow_transform_over(
    dcr: &Dcr,
    flow: &super::load::Flow,
    stream: &str,
    columns: &[(&str, &str)],
) -> Result<Option<Arc<FlowTransform>>, DcrError> {
    let Some(kql) = flow.transform_kql.as_deref().filter(|k| !is_identity(k)) else {
        return Ok(None);
    };
    match Transform::compile(kql, columns) {
        Ok(transform) => Ok(Some(Arc::new(FlowTransform {
            transform,
            dcr: dcr.name.clone().unwrap_or_else(|| dcr.file.clone()),
            stream: stream.to_owned(),
            origin: format!("{}: {}", dcr.file, flow.path),
        }))),
        Err(e) => Err(DcrError {
            file: dcr.file.clone(),
            path: format!("{}.transformKql", flow.path),
            message: format!(
                "Tern cannot run this transformation, so nothing is collected for it: {}",
                e.render(kql)
            ),
        }),
    }
}

/// A set of route ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RouteSet(pub u64);

impl RouteSet {
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn ids(self) -> impl Iterator<Item = usize> {
        set_bits(self.0)
    }
}

/// The positions of the set bits of `bits`, lowest first: one step per set bit, where testing
/// all 64 positions cost a loop of 64 per event (1 % of the daemon in the load benchmark).
pub fn set_bits(mut bits: u64) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        if bits == 0 {
            return None;
        }
        let at = bits.trailing_zeros();
        bits &= bits - 1;
        usize::try_from(at).ok()
    })
}

/// The compiled routing.
#[derive(Debug, Clone)]
pub struct Routing {
    /// `None`: no collection DCR is loaded, so everything is kept.
    cells: Option<Box<[u64; CELLS]>>,
    routes: Vec<Route>,
    /// Things worth telling the operator (multi-homing, suppressed duplicates), once.
    pub notes: Vec<String>,
}

fn cell(slot: usize, severity: usize, kind: EventKind) -> usize {
    (slot * SEVERITIES + severity) * KINDS + kind as usize
}

fn stream_kind(stream: &str) -> Option<(EventKind, Table)> {
    if stream.eq_ignore_ascii_case("Microsoft-Syslog") {
        Some((EventKind::Syslog, Table::Syslog))
    } else if stream.eq_ignore_ascii_case("Microsoft-CommonSecurityLog") {
        Some((EventKind::Cef, Table::CommonSecurityLog))
    } else if stream.eq_ignore_ascii_case("Microsoft-CiscoAsa") {
        Some((EventKind::Asa, Table::CommonSecurityLog))
    } else {
        None
    }
}

impl Routing {
    /// No collection DCR: keep every event (its table by kind).
    pub fn keep_all() -> Routing {
        Routing {
            cells: None,
            routes: Vec::new(),
            notes: vec!["no collection DCR loaded: every facility and severity is kept".to_owned()],
        }
    }

    pub fn keeps_everything(&self) -> bool {
        self.cells.is_none()
    }

    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// Compiles the collection DCRs among `dcrs` (others are ignored here).
    pub fn compile(dcrs: &[Dcr], duplicate_cef_to_syslog: bool) -> Result<Routing, Vec<DcrError>> {
        let collection: Vec<&Dcr> = dcrs.iter().filter(|d| d.is_collection()).collect();
        if collection.is_empty() {
            return Ok(Routing::keep_all());
        }
        let mut errors = Vec::new();
        let mut notes = Vec::new();
        let mut routes: Vec<Route> = Vec::new();
        // Selections per kind, before the one-table rule: cell → route bits.
        let mut selected = vec![0u64; CELLS];
        for dcr in collection {
            let error = |path: &str, message: String| DcrError {
                file: dcr.file.clone(),
                path: path.to_owned(),
                message,
            };
            for source in &dcr.syslog_sources {
                let mut slots = Vec::new();
                for f in &source.facilities {
                    match f {
                        FacilityName::Code(code) => slots.push(usize::from(*code)),
                        FacilityName::NoPri => slots.push(NOPRI_SLOT),
                        FacilityName::All => slots.extend(0..SLOTS),
                        FacilityName::Mark => notes.push(format!(
                            "{}: {}: facility `mark` selects nothing (Tern generates no mark messages)",
                            dcr.file, source.path
                        )),
                    }
                }
                for (i, stream) in source.streams.iter().enumerate() {
                    let path = format!("{}.streams[{i}]", source.path);
                    let Some((kind, table)) = stream_kind(stream) else {
                        errors.push(error(
                            &path,
                            format!(
                                "stream `{stream}` is not one Tern collects (Microsoft-Syslog, \
                                 Microsoft-CommonSecurityLog, Microsoft-CiscoAsa)"
                            ),
                        ));
                        continue;
                    };
                    let flows: Vec<_> = dcr
                        .flows
                        .iter()
                        .filter(|f| f.streams.iter().any(|s| s.eq_ignore_ascii_case(stream)))
                        .collect();
                    if flows.is_empty() {
                        errors.push(error(
                            &path,
                            format!(
                                "stream `{stream}` has no dataFlow: its events would go nowhere"
                            ),
                        ));
                        continue;
                    }
                    for flow in flows {
                        let transform = match flow_transform(dcr, flow, stream, table) {
                            Ok(t) => t,
                            Err(e) => {
                                // Once per flow, not per source stream that reaches it.
                                if !errors.contains(&e) {
                                    errors.push(e);
                                }
                                continue;
                            }
                        };
                        for (d, alias) in flow.destinations.iter().enumerate() {
                            let Some(workspace) = dcr.workspaces.iter().find(|w| w.name == *alias)
                            else {
                                errors.push(error(
                                    &format!("{}.destinations[{d}]", flow.path),
                                    format!(
                                        "destination `{alias}` is not in destinations.logAnalytics"
                                    ),
                                ));
                                continue;
                            };
                            let route = Route {
                                table,
                                workspace: workspace.workspace_resource_id.clone(),
                                transform: transform.clone(),
                            };
                            let id = match routes.iter().position(|r| {
                                r.table == route.table
                                    && r.workspace.eq_ignore_ascii_case(&route.workspace)
                                    && r.transform == route.transform
                            }) {
                                Some(id) => id,
                                None => {
                                    routes.push(route);
                                    routes.len() - 1
                                }
                            };
                            if id >= MAX_ROUTES {
                                errors.push(error(
                                    &flow.path,
                                    format!("more than {MAX_ROUTES} (table, workspace) routes"),
                                ));
                                continue;
                            }
                            for &slot in &slots {
                                for severity in 0..SEVERITIES {
                                    if source.levels & (1 << severity) != 0 {
                                        if let Some(c) =
                                            selected.get_mut(cell(slot, severity, kind))
                                        {
                                            *c |= 1 << id;
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let workspaces_of = |bits: u64| -> Vec<&str> {
            RouteSet(bits)
                .ids()
                .filter_map(|id| routes.get(id).map(|r| r.workspace.as_str()))
                .collect()
        };
        let mut cells = Box::new([0u64; CELLS]);
        let mut suppressed = BTreeMap::new();
        for slot in 0..SLOTS {
            for severity in 0..SEVERITIES {
                let syslog = selected
                    .get(cell(slot, severity, EventKind::Syslog))
                    .copied()
                    .unwrap_or(0);
                for kind in [EventKind::Syslog, EventKind::Cef, EventKind::Asa] {
                    let own = selected
                        .get(cell(slot, severity, kind))
                        .copied()
                        .unwrap_or(0);
                    let mut bits = own;
                    if kind != EventKind::Syslog {
                        let own_workspaces = workspaces_of(own);
                        for id in RouteSet(syslog).ids() {
                            let Some(route) = routes.get(id) else {
                                continue;
                            };
                            let covered = own_workspaces
                                .iter()
                                .any(|w| w.eq_ignore_ascii_case(&route.workspace));
                            if duplicate_cef_to_syslog || !covered {
                                bits |= 1 << id;
                            } else {
                                suppressed
                                    .entry((kind as u8, route.workspace.clone()))
                                    .or_insert((slot, severity));
                            }
                        }
                    }
                    if let Some(c) = cells.get_mut(cell(slot, severity, kind)) {
                        *c = bits;
                    }
                }
            }
        }
        for ((kind, workspace), _) in suppressed {
            let what = if kind == EventKind::Cef as u8 {
                "CEF"
            } else {
                "Cisco ASA"
            };
            notes.push(format!(
                "{what} events selected for both CommonSecurityLog and Syslog in {workspace} go to \
                 CommonSecurityLog only (set duplicate_cef_to_syslog = true for AMA's copy in Syslog)"
            ));
        }
        // Multi-homing: a table filled in more than one workspace.
        let mut per_table: BTreeMap<&'static str, Vec<&str>> = BTreeMap::new();
        for route in &routes {
            let workspaces = per_table.entry(route.table.name()).or_default();
            if !workspaces.contains(&route.workspace.as_str()) {
                workspaces.push(&route.workspace);
            }
        }
        for (table, workspaces) in per_table {
            if workspaces.len() > 1 {
                notes.push(format!(
                    "{table} goes to {} workspaces (multi-homing: events selected for several are \
                     sent, and billed, once per workspace): {}",
                    workspaces.len(),
                    workspaces.join(", ")
                ));
            }
        }
        Ok(Routing {
            cells: Some(cells),
            routes,
            notes,
        })
    }

    /// The routes of an event: its facility (`None` for a message without PRI), severity and
    /// kind. With no collection DCR, `None`: keep it.
    pub fn lookup(&self, facility: Option<u8>, severity: u8, kind: EventKind) -> Option<RouteSet> {
        let cells = self.cells.as_ref()?;
        let severity = usize::from(severity.min(7));
        let at = |slot: usize| cells.get(cell(slot, severity, kind)).copied().unwrap_or(0);
        Some(RouteSet(match facility {
            Some(code) => at(usize::from(code)),
            // No PRI: user.notice by RFC 3164, and `nopri`.
            None => at(1) | at(NOPRI_SLOT),
        }))
    }

    pub fn route(&self, id: usize) -> Option<&Route> {
        self.routes.get(id)
    }

    /// The routing table for people: per route, the facilities and levels of each kind it takes.
    pub fn describe(&self) -> Vec<String> {
        let Some(cells) = &self.cells else {
            return vec![
                "every facility and severity → Syslog (CEF and Cisco ASA/FTD → CommonSecurityLog)"
                    .to_owned(),
            ];
        };
        let facility_name = |slot: usize| {
            if slot == NOPRI_SLOT {
                "nopri"
            } else {
                u8::try_from(slot)
                    .ok()
                    .and_then(tern_parsers::Facility::from_code)
                    .map_or("?", |f| f.name())
            }
        };
        let mut lines = Vec::new();
        for (id, route) in self.routes.iter().enumerate() {
            for (kind, label) in [
                (EventKind::Syslog, "syslog"),
                (EventKind::Cef, "CEF"),
                (EventKind::Asa, "ASA"),
            ] {
                let mut selections = Vec::new();
                for slot in 0..SLOTS {
                    let mut mask = 0u8;
                    for severity in 0..SEVERITIES {
                        if cells
                            .get(cell(slot, severity, kind))
                            .is_some_and(|c| c & (1 << id) != 0)
                        {
                            mask |= 1 << severity;
                        }
                    }
                    if mask == 0 {
                        continue;
                    }
                    let levels = if mask == 0xff {
                        "*".to_owned()
                    } else {
                        (0..8u8)
                            .filter(|s| mask & (1 << s) != 0)
                            .filter_map(tern_parsers::Severity::from_code)
                            .map(|s| s.dcr_name())
                            .collect::<Vec<_>>()
                            .join(",")
                    };
                    selections.push(format!("{}.{{{levels}}}", facility_name(slot)));
                }
                if !selections.is_empty() {
                    lines.push(format!(
                        "{label} events {} → {} in {}{}",
                        selections.join(" "),
                        route.table.name(),
                        route.workspace,
                        route
                            .transform
                            .as_ref()
                            .map(|t| format!(" through the transformation of {}", t.origin))
                            .unwrap_or_default()
                    ));
                }
            }
        }
        // Each transformation once: its KQL and the columns it gives (issue 24 item 3).
        let mut shown: Vec<&str> = Vec::new();
        for flow in self.routes.iter().filter_map(|r| r.transform.as_ref()) {
            if shown.contains(&flow.origin.as_str()) {
                continue;
            }
            shown.push(&flow.origin);
            lines.push(format!(
                "transformation of {} ({}): {}",
                flow.origin,
                flow.stream,
                flow.transform
                    .text
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            ));
            lines.push(format!(
                "  output columns: {}",
                flow.transform
                    .output()
                    .iter()
                    .map(|(name, ty)| format!("{name}:{}", ty.declaration_name()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::set_bits;

    #[test]
    fn set_bits_lists_every_set_position_once_lowest_first() {
        assert_eq!(set_bits(0).count(), 0);
        assert_eq!(set_bits(1).collect::<Vec<_>>(), [0]);
        assert_eq!(set_bits(1 << 63).collect::<Vec<_>>(), [63]);
        assert_eq!(
            set_bits(0b1010_0110 | 1 << 40).collect::<Vec<_>>(),
            [1, 2, 5, 7, 40]
        );
        assert_eq!(
            set_bits(u64::MAX).collect::<Vec<_>>(),
            (0..64).collect::<Vec<_>>()
        );
    }
}

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

use super::DcrError;
use super::load::{Dcr, FacilityName};
use crate::tables::Table;

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

/// Where an event goes: a table in a workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub table: Table,
    /// The workspace's ARM resource id, as the DCR gives it.
    pub workspace: String,
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
                            };
                            let id = match routes.iter().position(|r| {
                                r.table == route.table
                                    && r.workspace.eq_ignore_ascii_case(&route.workspace)
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
            per_table
                .entry(route.table.name())
                .or_default()
                .push(&route.workspace);
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
                        "{label} events {} → {} in {}",
                        selections.join(" "),
                        route.table.name(),
                        route.workspace
                    ));
                }
            }
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

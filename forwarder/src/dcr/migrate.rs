//! `tern migrate`: turns the legacy Log Analytics (OMS) agent's syslog forwarding into the
//! equivalent collection DCR (`reference/azure.md` §9).
//!
//! Input: rsyslog's `95-omsagent.conf` (selectors sent to port 25224) and
//! `security-config-omsagent.conf` (CEF/ASA content sent to 25226), and syslog-ng's OMS blocks
//! (`filter f_…_oms { level(…) and facility(…); }` used by a `log` statement whose destination
//! goes to 25224, and the CEF/ASA filter to 25226). Selector semantics follow syslog.conf(5)
//! and rsyslog: `fac.sev` is that level and every more severe one, `=` exactly, `!` excludes,
//! `none` drops the facility, `;` joins selectors left to right. syslog-ng's `level(a)` is
//! exactly `a`, `level(a..b)` a range.
//!
//! Output: facilities with identical level sets grouped into one `Microsoft-Syslog` source
//! (as Microsoft's DCR Config Generator does), and for CEF/ASA a `Microsoft-CommonSecurityLog`
//! and a `Microsoft-CiscoAsa` source on every facility and level (the legacy file filtered on
//! content only).

use serde_json::{Value, json};
use tern_parsers::pri::{Facility, Severity};

/// The legacy agent's syslog port (`omsagent.d/syslog.conf`).
pub const OMS_SYSLOG_PORT: u16 = 25224;
/// The CEF/ASA ports: 25226 now, 25225 in older connector docs.
pub const OMS_CEF_PORTS: [u16; 2] = [25226, 25225];

/// What the legacy configuration selected.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Selection {
    /// Per wire facility, a bit per severity (bit 0: emergency … bit 7: debug).
    pub syslog: [u8; 24],
    /// Content-matched CEF/ASA forwarding was found.
    pub cef: bool,
    /// What the operator should know (ignored lines, the `mark` facility, duplicates).
    pub notes: Vec<String>,
}

const ALL_LEVELS: u8 = 0xff;

/// A selector's level word: the table's short names plus syslog.conf's aliases.
fn severity(word: &str) -> Option<u8> {
    let canonical = match word.to_ascii_lowercase().as_str() {
        "panic" => "emerg",
        "error" => "err",
        "warn" => "warning",
        _ => word,
    };
    Severity::from_name(canonical).map(Severity::code)
}

/// Bits for severities 0..=`to` (the level and every more severe one).
fn at_or_above(to: u8) -> u8 {
    if to >= 7 {
        ALL_LEVELS
    } else {
        (1u8 << (to + 1)) - 1
    }
}

/// The facilities a selector names: codes, or every one for `*`.
fn facilities(list: &str, file: &str, notes: &mut Vec<String>) -> Vec<usize> {
    let mut codes = Vec::new();
    for name in list.split(',').map(str::trim) {
        match name {
            "*" => return (0..24).collect(),
            "security" => codes.push(Facility::Auth.code().into()),
            "mark" => notes.push(format!(
                "{file}: the `mark` facility is syslogd's own timer; nothing to collect"
            )),
            other => match Facility::from_name(other) {
                Some(f) => codes.push(usize::from(f.code())),
                None => notes.push(format!("{file}: unknown facility `{other}` ignored")),
            },
        }
    }
    codes
}

/// Applies one `facility[,facility].[=|!|!=]level` selector.
fn apply_selector(selection: &mut Selection, selector: &str, file: &str) {
    let Some((list, level)) = selector.trim().rsplit_once('.') else {
        selection
            .notes
            .push(format!("{file}: `{selector}` is not a selector; ignored"));
        return;
    };
    let codes = facilities(list, file, &mut selection.notes);
    let level = level.trim().to_ascii_lowercase();
    let (exclude, rest) = match level.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, level.as_str()),
    };
    let (exact, word) = match rest.strip_prefix('=') {
        Some(word) => (true, word),
        None => (false, rest),
    };
    let bits = match word {
        "*" => ALL_LEVELS,
        "none" => {
            for code in &codes {
                if let Some(mask) = selection.syslog.get_mut(*code) {
                    *mask = 0;
                }
            }
            return;
        }
        word => match severity(word) {
            Some(s) if exact => 1 << s,
            Some(s) => at_or_above(s),
            None => {
                selection.notes.push(format!(
                    "{file}: unknown level `{word}` in `{selector}`; ignored"
                ));
                return;
            }
        },
    };
    for code in codes {
        if let Some(mask) = selection.syslog.get_mut(code) {
            if exclude {
                *mask &= !bits;
            } else {
                *mask |= bits;
            }
        }
    }
}

/// The port of an rsyslog action field `@host:port` / `@@host:port` (`(o)` options and
/// `;Template` allowed).
fn action_port(action: &str) -> Option<u16> {
    let rest = action.trim_start_matches('@');
    let rest = rest.rsplit(')').next().unwrap_or(rest);
    let rest = rest.split(';').next().unwrap_or(rest);
    rest.rsplit_once(':')?.1.parse().ok()
}

/// Reads rsyslog text: selector lines sent to the OMS syslog port, and any forwarding to the
/// CEF port (selector or RainerScript `if … then`).
pub fn rsyslog(file: &str, text: &str, selection: &mut Selection) {
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with('$') {
            continue;
        }
        if OMS_CEF_PORTS
            .iter()
            .any(|p| line.contains(&format!(":{p}")) || line.contains(&format!("\"{p}\"")))
        {
            selection.cef = true;
            continue;
        }
        let Some((selectors, action)) = line.rsplit_once(char::is_whitespace) else {
            continue;
        };
        if !action.starts_with('@') {
            continue;
        }
        if action_port(action) != Some(OMS_SYSLOG_PORT) {
            selection.notes.push(format!(
                "{file}: `{line}` does not go to the OMS agent ({OMS_SYSLOG_PORT}); ignored"
            ));
            continue;
        }
        for selector in selectors.trim().split(';').filter(|s| !s.trim().is_empty()) {
            apply_selector(selection, selector, file);
        }
    }
}

/// The text inside `name(` … `)` in `statement`, if present.
fn call<'a>(statement: &'a str, name: &str) -> Option<&'a str> {
    let mut from = 0;
    while let Some(at) = statement.get(from..)?.find(&format!("{name}(")) {
        let start = from + at;
        let before = statement.get(..start)?.chars().next_back();
        if before.is_none_or(|c| !c.is_ascii_alphanumeric() && c != '_' && c != '-') {
            let inner = statement.get(start + name.len() + 1..)?;
            return inner.get(..inner.find(')')?);
        }
        from = start + name.len();
    }
    None
}

/// syslog-ng `kind NAME { … };` blocks (`log { … };` has no name): (name, body).
fn blocks<'a>(text: &'a str, kind: &str) -> Vec<(&'a str, &'a str)> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = text.get(from..).and_then(|t| t.find(kind)) {
        let start = from + at;
        from = start + kind.len();
        let before = text.get(..start).and_then(|b| b.chars().next_back());
        let Some(after) = text.get(start + kind.len()..) else {
            break;
        };
        // A whole word followed by a name or the brace.
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '(')
            || !after.starts_with([' ', '\t', '\n', '{'])
        {
            continue;
        }
        let Some(brace) = after.find('{') else {
            break;
        };
        let name = after.get(..brace).unwrap_or_default().trim();
        if name.contains([';', '(', ')', '}']) {
            continue;
        }
        let body = after.get(brace + 1..).unwrap_or_default();
        let body_end = body.find("};").unwrap_or(body.len());
        found.push((name, body.get(..body_end).unwrap_or_default()));
        from = start + kind.len() + brace + 1 + body_end;
    }
    found
}

/// syslog-ng `level(…)`: a comma list of words and `a..b` ranges.
fn syslog_ng_levels(list: &str) -> Option<u8> {
    let mut bits = 0u8;
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match item.split_once("..") {
            Some((a, b)) => {
                let (a, b) = (severity(a.trim())?, severity(b.trim())?);
                for s in a.min(b)..=a.max(b) {
                    bits |= 1 << s;
                }
            }
            None => bits |= 1 << severity(item)?,
        }
    }
    Some(bits)
}

/// Reads syslog-ng text: `log` statements whose destination sends to the OMS ports, with
/// their filters' `level()` and `facility()`.
pub fn syslog_ng(file: &str, text: &str, selection: &mut Selection) {
    let destinations = blocks(text, "destination");
    let filters = blocks(text, "filter");
    let port_of = |destination: &str| -> Option<u16> {
        let body = destinations.iter().find(|(n, _)| *n == destination)?.1;
        call(body, "port")?.trim().parse().ok()
    };
    for (_, log) in blocks(text, "log") {
        let Some(port) = call(log, "destination").and_then(|d| port_of(d.trim())) else {
            continue;
        };
        let filter = call(log, "filter").and_then(|f| {
            let f = f.trim();
            filters.iter().find(|(n, _)| *n == f).map(|(_, body)| *body)
        });
        if OMS_CEF_PORTS.contains(&port) {
            selection.cef = true;
            continue;
        }
        if port != OMS_SYSLOG_PORT {
            continue;
        }
        let Some(filter) = filter else {
            // No filter: everything.
            for mask in &mut selection.syslog {
                *mask = ALL_LEVELS;
            }
            continue;
        };
        let levels = match call(filter, "level").or_else(|| call(filter, "priority")) {
            Some(list) => match syslog_ng_levels(list) {
                Some(bits) => bits,
                None => {
                    selection
                        .notes
                        .push(format!("{file}: level({list}) not understood; ignored"));
                    continue;
                }
            },
            None => ALL_LEVELS,
        };
        let codes = match call(filter, "facility") {
            Some(list) => facilities(list, file, &mut selection.notes),
            None => (0..24).collect(),
        };
        for code in codes {
            if let Some(mask) = selection.syslog.get_mut(code) {
                *mask |= levels;
            }
        }
    }
}

/// The collection DCR (an ARM resource, as `az monitor data-collection rule show` prints).
pub fn dcr(selection: &Selection, name: &str, location: &str, workspace: &str) -> Value {
    // Group facilities with the same level set, in facility order.
    let mut groups: Vec<(u8, Vec<&'static str>)> = Vec::new();
    for (code, mask) in selection.syslog.iter().enumerate() {
        if *mask == 0 {
            continue;
        }
        let facility = u8::try_from(code)
            .ok()
            .and_then(Facility::from_code)
            .map_or("user", Facility::name);
        match groups.iter_mut().find(|(m, _)| m == mask) {
            Some((_, names)) => names.push(facility),
            None => groups.push((*mask, vec![facility])),
        }
    }
    let mut sources: Vec<Value> = groups
        .iter()
        .enumerate()
        .map(|(i, (mask, names))| {
            let levels: Vec<&str> = Severity::ALL
                .iter()
                .filter(|s| mask & (1 << s.code()) != 0)
                .map(|s| s.dcr_name())
                .collect();
            json!({
                "name": format!("DS_LinuxSyslog_{}", i + 1),
                "streams": ["Microsoft-Syslog"],
                "facilityNames": names,
                "logLevels": levels,
            })
        })
        .collect();
    let mut streams = Vec::new();
    if !sources.is_empty() {
        streams.push("Microsoft-Syslog");
    }
    if selection.cef {
        for (source, stream) in [
            ("DS_CommonSecurityLog", "Microsoft-CommonSecurityLog"),
            ("DS_CiscoAsa", "Microsoft-CiscoAsa"),
        ] {
            sources.push(json!({
                "name": source,
                "streams": [stream],
                "facilityNames": ["*"],
                "logLevels": ["*"],
            }));
            streams.push(stream);
        }
    }
    json!({
        "name": name,
        "type": "Microsoft.Insights/dataCollectionRules",
        "location": location,
        "kind": "Linux",
        "properties": {
            "description": "Migrated by tern migrate from the Log Analytics (OMS) agent's syslog configuration",
            "dataSources": { "syslog": sources },
            "destinations": { "logAnalytics": [ { "name": "la", "workspaceResourceId": workspace } ] },
            "dataFlows": streams.iter().map(|s| json!({ "streams": [s], "destinations": ["la"] })).collect::<Vec<_>>(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask(selection: &Selection, facility: Facility) -> u8 {
        selection.syslog[usize::from(facility.code())]
    }

    #[test]
    fn rsyslog_selectors() {
        let mut s = Selection::default();
        rsyslog(
            "f",
            "kern.warning @127.0.0.1:25224\n\
             auth.=alert;auth.=crit;auth.=err @127.0.0.1:25224\n\
             daemon.*;daemon.!=debug @127.0.0.1:25224\n\
             *.info;mail.none @127.0.0.1:25224\n\
             local7.* @10.0.0.5:514\n",
            &mut s,
        );
        assert_eq!(mask(&s, Facility::Kern), 0b0111_1111); // warning and above, then *.info
        assert_eq!(mask(&s, Facility::Auth), 0b0111_1111); // alert, crit, err, then *.info
        assert_eq!(mask(&s, Facility::Daemon), 0b0111_1111);
        assert_eq!(mask(&s, Facility::Mail), 0);
        assert_eq!(mask(&s, Facility::Local7), 0b0111_1111, "only *.info");
        assert!(s.notes.iter().any(|n| n.contains("10.0.0.5")));
        assert!(!s.cef);
    }

    #[test]
    fn exclusions_and_cef() {
        let mut s = Selection::default();
        rsyslog(
            "f",
            "local4.*;local4.!err @127.0.0.1:25224\nif $rawmsg contains \"CEF:\" then @@127.0.0.1:25226\n",
            &mut s,
        );
        assert_eq!(mask(&s, Facility::Local4), 0b1111_0000);
        assert!(s.cef);
    }

    #[test]
    fn syslog_ng_blocks() {
        let mut s = Selection::default();
        syslog_ng(
            "f",
            r#"
#OMS_Destination
destination d_oms { udp("127.0.0.1" port(25224)); };
#OMS_facility = auth
filter f_auth_oms { level(alert,crit,err) and facility(auth); };
log { source(src); filter(f_auth_oms); destination(d_oms); };
#OMS_facility = local3
filter f_local3_oms { level(warning..emerg) and facility(local3); };
log { source(src); filter(f_local3_oms); destination(d_oms); };
"#,
            &mut s,
        );
        assert_eq!(mask(&s, Facility::Auth), 0b0000_1110);
        assert_eq!(mask(&s, Facility::Local3), 0b0001_1111);
        assert_eq!(mask(&s, Facility::Kern), 0);
    }
}

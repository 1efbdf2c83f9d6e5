//! McAfee / Trellix ePolicy Orchestrator events forwarded over syslog: RFC 5424 with APP-NAME
//! `EPOEvents`, MSGID `EventFwd`, and the event as an XML document (`<EPOEvent><MachineInfo>
//! <MachineName>…`). The XML's leaf elements are the fields; the root element's name is the
//! log type. McAfee Network Security Platform and Web Gateway write `key="value"` pairs; their
//! TAG is the log type.

use super::scan::kv;
use super::{Candidate, Layout, Vendor, VendorMessage, message};

/// The name of the first element after any XML declaration.
fn root_element(xml: &[u8]) -> &str {
    let mut rest = xml;
    while let Some(open) = memchr::memchr(b'<', rest) {
        let tag = rest.get(open + 1..).unwrap_or_default();
        if matches!(tag.first(), Some(b'?' | b'!')) {
            rest = tag;
            continue;
        }
        let end = tag
            .iter()
            .position(|b| matches!(b, b'>' | b' ' | b'/'))
            .unwrap_or(tag.len());
        return std::str::from_utf8(tag.get(..end).unwrap_or_default()).unwrap_or_default();
    }
    ""
}

pub fn recognise<'a>(c: &Candidate<'a>, pinned: bool) -> Option<VendorMessage<'a>> {
    let m = c.message;
    // Network Security Platform (`SyslogAlertForwarder: …`) and Web Gateway (`mwg: …`) write
    // `key="value"` pairs.
    let app = c.app_name.unwrap_or_default();
    if (app.starts_with("Syslog") && app.ends_with("Forwarder")) || app == "mwg" {
        return Some(message(
            Vendor::McAfee,
            app,
            m,
            Layout::KeyValue(kv::SPACED),
        ));
    }
    let from_epo = c.app_name == Some("EPOEvents");
    let xml_at = memchr::memchr(b'<', m);
    let root = xml_at.map_or("", |at| root_element(m.get(at..).unwrap_or_default()));
    let epo_root = ["EPOEvent", "UpdateEvents", "EPOEvents"]
        .iter()
        .any(|r| r.eq_ignore_ascii_case(root));
    if !(from_epo || epo_root || (pinned && xml_at.is_some())) {
        return None;
    }
    let payload = match xml_at {
        // The declaration and root start at the first `<`; a stray BOM or `?` before it is
        // not part of the event.
        Some(at) if epo_root || from_epo => m.get(at..).unwrap_or_default(),
        _ => m,
    };
    let layout = if xml_at.is_some() {
        Layout::Xml
    } else {
        Layout::Text
    };
    Some(message(Vendor::McAfee, root, payload, layout))
}

//! Juniper Junos (SRX, EX, MX) and ScreenOS (NetScreen) messages.
//!
//! - Structured form (`<14>1 … RT_FLOW - RT_FLOW_SESSION_CREATE [junos@2636.1.1.1.2.129
//!   source-address="…" …]`): the SD params are the fields; the MSGID is the log type. Also when
//!   a relay wrapped it in a BSD header (`junos-flow: 2017-09-23T18:17:08Z host RT_FLOW - … [junos@…]`).
//! - BSD text form of the flow session logs (`RT_FLOW: RT_FLOW_SESSION_CREATE: session created
//!   10.0.0.1/1234->1.2.3.4/80 junos-http …`): fields by position, per Junos' documented word
//!   order for `RT_FLOW_SESSION_CREATE`, `_CLOSE` and `_DENY`.
//! - Other Junos events (`RT_IDP: IDP_ATTACK_LOG_EVENT: …`, `mib2d[1484]: SNMP_TRAP_LINK_UP: …`):
//!   the event tag is the log type and the rest is the message. In auto mode these are Juniper
//!   only when the TAG is an `RT_*` facility; other daemons' messages (rpd, mib2d) look like
//!   any router's, so they are Juniper when the listener is pinned to `juniper`.
//! - ScreenOS (`NetScreen device_id=ssg5 [Root]system-notification-00257(traffic): k=v …`):
//!   `device_id`, `vsys`, the event id as log type, then the `key=value` pairs or the text.

use std::borrow::Cow;

use super::scan::kv;
use super::{Candidate, Field, Layout, Vendor, VendorMessage, message};
use crate::structured_data::parse_structured_data;

/// `RT_FLOW_SESSION_CREATE` and the like: capitals, digits and underscores.
fn is_event_tag(word: &[u8]) -> bool {
    word.len() >= 3
        && word
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_')
        && word.first().is_some_and(u8::is_ascii_uppercase)
}

/// Splits `EVENT_TAG: rest`.
fn event_tag(message: &[u8]) -> Option<(&str, &[u8])> {
    let colon = message.iter().take(64).position(|&b| b == b':')?;
    let tag = message.get(..colon)?;
    if !is_event_tag(tag) {
        return None;
    }
    let rest = message.get(colon + 1..).unwrap_or_default();
    Some((
        std::str::from_utf8(tag).ok()?,
        crate::text::trim_spaces(rest),
    ))
}

fn is_junos_sd(id: &str) -> bool {
    id.starts_with("junos@")
}

pub fn recognise<'a>(c: &Candidate<'a>, pinned: bool) -> Option<VendorMessage<'a>> {
    let m = c.message;
    // Structured form, as parsed by the RFC 5424 header.
    if c.structured_data
        .elements()
        .next()
        .is_some_and(|e| is_junos_sd(e.id))
    {
        return Some(VendorMessage {
            vendor: Vendor::Juniper,
            log_type: c.msg_id.unwrap_or_default(),
            payload: m,
            layout: Layout::StructuredData,
            structured_data: c.structured_data,
        });
    }
    // Structured form behind a relay's BSD header: `… MSGID [junos@…] text` (the relays
    // seen tag it `junos-flow`, `junos-ids`).
    let app = c.app_name.unwrap_or_default();
    let relayed = pinned || app.starts_with("junos");
    if let Some(open) = relayed
        .then(|| memchr::memmem::find(m, b"[junos@"))
        .flatten()
    {
        let before = m.get(..open).unwrap_or_default();
        let msg_id = before
            .rsplit(|&b| b == b' ')
            .find(|w| !w.is_empty())
            .and_then(|w| std::str::from_utf8(w).ok())
            .unwrap_or_default();
        if let Ok((sd, rest)) = parse_structured_data(m.get(open..).unwrap_or_default()) {
            return Some(VendorMessage {
                vendor: Vendor::Juniper,
                log_type: msg_id,
                payload: rest,
                layout: Layout::StructuredData,
                structured_data: sd,
            });
        }
    }
    if let Some(rest) = m.strip_prefix(b"NetScreen device_id=") {
        let payload = m.get(b"NetScreen ".len()..).unwrap_or_default();
        let event = screenos_event(rest).unwrap_or_default();
        return Some(message(
            Vendor::Juniper,
            event,
            payload,
            Layout::KeyValue(kv::SPACED),
        ));
    }
    let junos_app = app.starts_with("RT_") || app.starts_with("junos");
    if let Some((tag, rest)) = event_tag(m) {
        if tag.starts_with("RT_FLOW_SESSION_") && !tag.ends_with("_LS") {
            return Some(message(Vendor::Juniper, tag, rest, Layout::JunosFlowText));
        }
        if junos_app || pinned {
            return Some(message(Vendor::Juniper, tag, rest, Layout::Text));
        }
    }
    (pinned || (junos_app && !m.is_empty())).then(|| message(Vendor::Juniper, "", m, Layout::Text))
}

/// `[Root]system-notification-00257(traffic):` → `system-notification-00257`.
fn screenos_event(after_device: &[u8]) -> Option<&str> {
    let close = memchr::memchr(b']', after_device)?;
    let rest = after_device.get(close + 1..)?;
    let end = rest.iter().position(|&b| matches!(b, b'(' | b':' | b' '))?;
    std::str::from_utf8(rest.get(..end)?).ok()
}

/// The word order of the BSD text form, per event (Junos 12.1X46 and later; later releases
/// append fields, which come out with an empty key). `a/b->c/d` pairs are split into the four
/// named fields.
const CREATE: &[&str] = &[
    "source-address->destination-address",
    "service-name",
    "nat-source-address->nat-destination-address",
    "src-nat-rule-name",
    "dst-nat-rule-name",
    "protocol-id",
    "policy-name",
    "source-zone-name",
    "destination-zone-name",
    "session-id-32",
    "username(roles)",
    "packet-incoming-interface",
    "application",
    "nested-application",
    "encrypted",
    "application-category",
    "application-sub-category",
];
const CLOSE: &[&str] = &[
    "source-address->destination-address",
    "service-name",
    "nat-source-address->nat-destination-address",
    "src-nat-rule-name",
    "dst-nat-rule-name",
    "protocol-id",
    "policy-name",
    "source-zone-name",
    "destination-zone-name",
    "session-id-32",
    "packets-from-client(bytes-from-client)",
    "packets-from-server(bytes-from-server)",
    "elapsed-time",
    "application",
    "nested-application",
    "username(roles)",
    "packet-incoming-interface",
];
const DENY: &[&str] = &[
    "source-address->destination-address",
    "service-name",
    "protocol-id(icmp-type)",
    "policy-name",
    "source-zone-name",
    "destination-zone-name",
    "application",
    "nested-application",
    "username(roles)",
    "packet-incoming-interface",
];

/// The fields of an `RT_FLOW_SESSION_*` text message.
#[derive(Debug, Clone)]
pub struct FlowFields<'a> {
    /// Words still to read.
    rest: &'a [u8],
    names: std::slice::Iter<'static, &'static str>,
    /// Fields produced by splitting one word, given before the next word is read.
    pending: [Option<Field<'a>>; 3],
}

impl<'a> FlowFields<'a> {
    pub fn new(payload: &'a [u8], log_type: &str) -> FlowFields<'a> {
        let (names, rest): (&'static [&'static str], &[u8]) = match log_type {
            "RT_FLOW_SESSION_CREATE" => (CREATE, after_word(payload, b"created")),
            "RT_FLOW_SESSION_DENY" => (DENY, after_word(payload, b"denied")),
            _ => (CLOSE, payload),
        };
        let mut pending = [None, None, None];
        let mut rest = rest;
        // `session closed TCP FIN:` — the close reason runs up to the colon.
        if log_type == "RT_FLOW_SESSION_CLOSE" {
            if let Some(after) = rest.strip_prefix(b"session closed ") {
                let colon = memchr::memchr(b':', after).unwrap_or(after.len());
                pending[0] = Some((
                    Cow::Borrowed("reason"),
                    crate::text::utf8_cow(after.get(..colon).unwrap_or_default()),
                ));
                rest = after.get(colon + 1..).unwrap_or_default();
            }
        }
        FlowFields {
            rest,
            names: names.iter(),
            pending,
        }
    }
}

/// The text after `session <word> `.
fn after_word<'a>(payload: &'a [u8], word: &[u8]) -> &'a [u8] {
    payload
        .strip_prefix(b"session ")
        .and_then(|r| r.strip_prefix(word))
        .map_or(payload, crate::text::trim_spaces)
}

impl<'a> Iterator for FlowFields<'a> {
    type Item = Field<'a>;

    fn next(&mut self) -> Option<Field<'a>> {
        loop {
            if let Some(field) = self.pending.iter_mut().find_map(Option::take) {
                return Some(field);
            }
            let rest = crate::text::trim_spaces(self.rest);
            if rest.is_empty() {
                return None;
            }
            let Some(name) = self.names.next().copied() else {
                // Fields later Junos releases append.
                self.rest = &[];
                return Some((Cow::Borrowed("extra"), crate::text::utf8_cow(rest)));
            };
            let end = memchr::memchr(b' ', rest).unwrap_or(rest.len());
            let word = std::str::from_utf8(rest.get(..end).unwrap_or_default()).unwrap_or_default();
            self.rest = rest.get(end..).unwrap_or_default();
            // `a/1->b/2` into addresses and ports.
            if let Some((left, right)) = name.split_once("->") {
                if let Some((from, to)) = word.split_once("->") {
                    let (fa, fp) = from.rsplit_once('/').unwrap_or((from, ""));
                    let (ta, tp) = to.rsplit_once('/').unwrap_or((to, ""));
                    let (left_port, right_port) = ports_of(left);
                    self.pending = [
                        Some((Cow::Borrowed(left_port), Cow::Borrowed(fp))),
                        Some((Cow::Borrowed(right), Cow::Borrowed(ta))),
                        Some((Cow::Borrowed(right_port), Cow::Borrowed(tp))),
                    ];
                    return Some((Cow::Borrowed(left), Cow::Borrowed(fa)));
                }
            }
            // `packets(bytes)`, `protocol(icmp-type)`, `username(roles)`.
            let (name, word) = match (name.split_once('('), word.split_once('(')) {
                (Some((outer, inner)), Some((value, in_parens))) => {
                    let in_parens = in_parens.trim_end_matches(')');
                    if is_set(in_parens) {
                        self.pending[0] = Some((
                            Cow::Borrowed(inner.trim_end_matches(')')),
                            Cow::Borrowed(in_parens),
                        ));
                    }
                    (outer, value)
                }
                (Some((outer, _)), None) => (outer, word),
                _ => (name, word),
            };
            if !is_set(word) {
                continue;
            }
            return Some((Cow::Borrowed(name), Cow::Borrowed(word)));
        }
    }
}

/// Junos writes `None`, `N/A` and `UNKNOWN` for fields it has no value for.
fn is_set(word: &str) -> bool {
    !matches!(word, "None" | "N/A" | "UNKNOWN" | "")
}

/// The port names that go with an address pair's names.
fn ports_of(left: &str) -> (&'static str, &'static str) {
    if left.starts_with("nat-") {
        ("nat-source-port", "nat-destination-port")
    } else {
        ("source-port", "destination-port")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(payload: &str, log_type: &str) -> Vec<(String, String)> {
        FlowFields::new(payload.as_bytes(), log_type)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    #[test]
    fn session_create_close_deny() {
        let f = fields(
            "session created 192.168.1.102/58662->8.8.8.8/53 junos-dns-udp 68.144.1.1/55893->8.8.8.8/53 TRUST-INET-ACCESS None 17 TRUST-INET-ACCESS trust untrust 50811 N/A(N/A) vlan.100",
            "RT_FLOW_SESSION_CREATE",
        );
        let get = |k: &str| f.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("source-address"), Some("192.168.1.102"));
        assert_eq!(get("source-port"), Some("58662"));
        assert_eq!(get("destination-address"), Some("8.8.8.8"));
        assert_eq!(get("destination-port"), Some("53"));
        assert_eq!(get("nat-source-address"), Some("68.144.1.1"));
        assert_eq!(get("nat-source-port"), Some("55893"));
        assert_eq!(get("service-name"), Some("junos-dns-udp"));
        assert_eq!(get("protocol-id"), Some("17"));
        assert_eq!(get("policy-name"), Some("TRUST-INET-ACCESS"));
        assert_eq!(get("source-zone-name"), Some("trust"));
        assert_eq!(get("destination-zone-name"), Some("untrust"));
        assert_eq!(get("session-id-32"), Some("50811"));
        assert_eq!(get("packet-incoming-interface"), Some("vlan.100"));
        assert_eq!(get("src-nat-rule-name"), Some("TRUST-INET-ACCESS"));
        let f = fields(
            "session closed TCP FIN: 10.10.10.2/53836->10.10.10.1/22 junos-ssh 10.10.10.2/53836->10.10.10.1/22 None None 6 log-host-traffic untrust junos-host 36 39(4245) 68(9417) 40 UNKNOWN UNKNOWN N/A(N/A) ge-0/0/1.0",
            "RT_FLOW_SESSION_CLOSE",
        );
        let get = |k: &str| f.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("reason"), Some("TCP FIN"));
        assert_eq!(get("packets-from-client"), Some("39"));
        assert_eq!(get("bytes-from-client"), Some("4245"));
        assert_eq!(get("bytes-from-server"), Some("9417"));
        assert_eq!(get("elapsed-time"), Some("40"));
        assert_eq!(get("session-id-32"), Some("36"));
        assert_eq!(get("destination-zone-name"), Some("junos-host"));
        assert_eq!(get("packet-incoming-interface"), Some("ge-0/0/1.0"));
        let f = fields(
            "session denied 10.0.0.1/54924->192.168.1.1/53 junos-dns-udp 17(0) default-deny(global) trust trust UNKNOWN UNKNOWN N/A(N/A) ge-0/0/1.0",
            "RT_FLOW_SESSION_DENY",
        );
        let get = |k: &str| f.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("protocol-id"), Some("17"));
        assert_eq!(get("icmp-type"), Some("0"));
        assert_eq!(get("policy-name"), Some("default-deny(global)"));
        assert_eq!(get("packet-incoming-interface"), Some("ge-0/0/1.0"));
        assert_eq!(get("username"), None);
    }
}

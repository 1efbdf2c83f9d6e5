//! Cisco Meraki (MX/MR/MS) syslog: `1374543213.342705328 MX84 urls src=192.168.1.186:63735
//! dst=69.58.188.40:80 mac=58:1F:AA:CE:61:F2 request: GET https://…`.
//!
//! Meraki messages are not self-describing: a line is read as Meraki when the listener is
//! pinned to `meraki`, or when it has the exact shape of an epoch with nanoseconds, a device
//! name and one of Meraki's event types. Fields: `timestamp`, `device`, `type`, the event's
//! sub-type word where it has one (`ids_alerted`), the `key=value` pairs (`ip:port` values of
//! `src`/`dst` split into `src_ip`/`src_port`…), and the free text after `request:`,
//! `pattern:`, `message:`, `url:` as fields of those names.

use std::borrow::Cow;

use super::scan::kv::{self, Pairs};
use super::{Candidate, Field, Layout, Vendor, VendorMessage, message};

/// Event types of Meraki's syslog (MX security appliance, MR access points, MS switches).
const EVENT_TYPES: [&str; 14] = [
    "flows",
    "urls",
    "firewall",
    "vpn_firewall",
    "cellular_firewall",
    "bridge_anyconnect_client_vpn_firewall",
    "ids-alerts",
    "security_event",
    "events",
    "airmarshal_events",
    "ip_flow_start",
    "ip_flow_end",
    "port_event",
    "air_marshal",
];

/// `1563249630.774247467` (an epoch with a fraction).
fn is_epoch(word: &[u8]) -> bool {
    let mut parts = word.splitn(2, |&b| b == b'.');
    let seconds = parts.next().unwrap_or_default();
    let fraction = parts.next().unwrap_or_default();
    (9..=10).contains(&seconds.len())
        && seconds.iter().all(u8::is_ascii_digit)
        && !fraction.is_empty()
        && fraction.iter().all(u8::is_ascii_digit)
}

/// `timestamp`, `device`, `event type` and the rest of a Meraki message.
type Head<'a> = (&'a [u8], &'a [u8], &'a [u8], &'a [u8]);

/// Splits `timestamp device type rest`, skipping a stray RFC 5424 version `1 ` in front.
fn split_head(m: &[u8]) -> Option<Head<'_>> {
    let m = m
        .strip_prefix(b"1 ")
        .filter(|r| is_epoch(first_word(r)))
        .unwrap_or(m);
    let mut words = m.splitn(4, |&b| b == b' ');
    let epoch = words.next().filter(|w| is_epoch(w))?;
    let device = words.next()?;
    let event_type = words.next()?;
    let rest = words.next().unwrap_or_default();
    Some((epoch, device, event_type, rest))
}

fn first_word(m: &[u8]) -> &[u8] {
    m.split(|&b| b == b' ').next().unwrap_or_default()
}

pub fn recognise<'a>(c: &Candidate<'a>, pinned: bool) -> Option<VendorMessage<'a>> {
    let m = crate::text::trim_spaces(c.message);
    match split_head(m) {
        Some((_, _, event_type, _)) => {
            let known = EVENT_TYPES.iter().any(|t| t.as_bytes() == event_type);
            let event_type = std::str::from_utf8(event_type).unwrap_or_default();
            (pinned || known).then(|| message(Vendor::Meraki, event_type, m, Layout::Meraki))
        }
        None if pinned => Some(message(Vendor::Meraki, "", m, Layout::Meraki)),
        None => None,
    }
}

/// Words that introduce free text in Meraki messages.
const TEXT_LABELS: [&str; 5] = ["request:", "pattern:", "message:", "url:", "reason:"];

/// The fields of a Meraki message; see the module docs.
#[derive(Debug, Clone)]
pub struct Fields<'a> {
    head: [Option<Field<'a>>; 3],
    pairs: Pairs<'a>,
    /// The port half of a split `ip:port` value, given next.
    pending: Option<Field<'a>>,
}

impl<'a> Fields<'a> {
    pub fn new(payload: &'a [u8]) -> Fields<'a> {
        let text = |b: &'a [u8]| crate::text::utf8_cow(b);
        match split_head(payload) {
            Some((epoch, device, event_type, rest)) => Fields {
                head: [
                    Some((Cow::Borrowed("timestamp"), text(epoch))),
                    Some((Cow::Borrowed("device"), text(device))),
                    Some((Cow::Borrowed("event_type"), text(event_type))),
                ],
                pairs: Pairs::new(rest, kv::SINGLE_QUOTED),
                pending: None,
            },
            None => Fields {
                head: [None, None, None],
                pairs: Pairs::new(payload, kv::SINGLE_QUOTED),
                pending: None,
            },
        }
    }
}

/// `1.2.3.4:80` → (`1.2.3.4`, `80`); `[2001:db8::1]:80` and bare IPv6 handled.
fn split_ip_port(value: &str) -> Option<(&str, &str)> {
    if let Some(v6) = value.strip_prefix('[') {
        let (ip, port) = v6.split_once("]:")?;
        return Some((ip, port));
    }
    let (ip, port) = value.rsplit_once(':')?;
    (!ip.contains(':') && !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()))
        .then_some((ip, port))
}

impl<'a> Iterator for Fields<'a> {
    type Item = Field<'a>;

    fn next(&mut self) -> Option<Field<'a>> {
        if let Some(field) = self.head.iter_mut().find_map(Option::take) {
            return Some(field);
        }
        if let Some(field) = self.pending.take() {
            return Some(field);
        }
        let (key, value) = self.pairs.next()?;
        if key.is_empty() {
            // `request: GET https://…` and the like, or a sub-type word (`ids_alerted`).
            if let Some(label) = TEXT_LABELS
                .iter()
                .find(|l| value.starts_with(*l))
                .map(|l| l.trim_end_matches(':'))
            {
                let text = match value {
                    Cow::Borrowed(v) => {
                        Cow::Borrowed(v.get(label.len() + 1..).unwrap_or("").trim())
                    }
                    Cow::Owned(v) => {
                        Cow::Owned(v.get(label.len() + 1..).unwrap_or("").trim().to_owned())
                    }
                };
                return Some((Cow::Borrowed(label), text));
            }
            return Some((key, value));
        }
        let split = match (&*key, &value) {
            ("src" | "dst", Cow::Borrowed(v)) => split_ip_port(v),
            _ => None,
        };
        if let Some((ip, port)) = split {
            let (ip_key, port_key) = if key == "src" {
                ("src_ip", "src_port")
            } else {
                ("dst_ip", "dst_port")
            };
            self.pending = Some((Cow::Borrowed(port_key), Cow::Borrowed(port)));
            return Some((Cow::Borrowed(ip_key), Cow::Borrowed(ip)));
        }
        Some((key, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(line: &str) -> Vec<(String, String)> {
        Fields::new(line.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    fn owned(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn urls_and_flows() {
        assert_eq!(
            fields(
                "1374543213.342705328 MX84 urls src=192.168.1.186:63735 dst=69.58.188.40:80 mac=58:1F:AA:CE:61:F2 agent='Mozilla/5.0 (X)' request: GET https://a.example/?q=1"
            ),
            owned(&[
                ("timestamp", "1374543213.342705328"),
                ("device", "MX84"),
                ("event_type", "urls"),
                ("src_ip", "192.168.1.186"),
                ("src_port", "63735"),
                ("dst_ip", "69.58.188.40"),
                ("dst_port", "80"),
                ("mac", "58:1F:AA:CE:61:F2"),
                ("agent", "Mozilla/5.0 (X)"),
                ("request", "GET https://a.example/?q=1"),
            ])
        );
        assert_eq!(
            fields(
                "1563249630.774247467 mx security_event ids_alerted signature=1:28423:1 src=151.101.52.238:80 message: EXPLOIT-KIT x"
            ),
            owned(&[
                ("timestamp", "1563249630.774247467"),
                ("device", "mx"),
                ("event_type", "security_event"),
                ("", "ids_alerted"),
                ("signature", "1:28423:1"),
                ("src_ip", "151.101.52.238"),
                ("src_port", "80"),
                ("message", "EXPLOIT-KIT x"),
            ])
        );
    }
}

//! Check Point: the syslog form of the log exporter (`[action:"Accept"; ifdir:"inbound"; …]`,
//! TAG `CheckPoint`) and its pipe form (`time=1570633513|hostname=GW|product=SmartConsole|…`,
//! `\|` and `\=` escaped). Check Point's CEF form is read as CEF.

use super::scan::kv::{self, Pairs};
use super::{Candidate, Layout, Vendor, VendorMessage, message};

/// Whether a message starts like the pipe form (`time=…|`, `hostname=…|`, `|hostname=…`).
pub fn starts_like(message: &[u8]) -> bool {
    message.starts_with(b"time=") || message.starts_with(b"hostname=") || message.starts_with(b"|")
}

pub fn recognise<'a>(c: &Candidate<'a>, pinned: bool) -> Option<VendorMessage<'a>> {
    let m = c.message;
    // RFC 5424 with the fields as structured data (a relay such as SC4S re-wrote them).
    if c.app_name == Some("CheckPoint") && !c.structured_data.is_empty() {
        return Some(VendorMessage {
            vendor: Vendor::CheckPoint,
            log_type: "",
            payload: m,
            layout: Layout::StructuredData,
            structured_data: c.structured_data,
        });
    }
    if let Some(inside) = m.strip_prefix(b"[") {
        // `[key:"` — checked by hand: text in brackets is common, Check Point's form is not.
        let key_len = inside
            .iter()
            .take(64)
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
            .count();
        let colon_form = key_len > 0 && inside.get(key_len..key_len + 2) == Some(b":\"");
        if colon_form && (pinned || c.app_name == Some("CheckPoint") || inside.contains(&b';')) {
            let inside = inside.strip_suffix(b"]").unwrap_or(inside);
            return Some(message(
                Vendor::CheckPoint,
                "",
                inside,
                Layout::KeyValue(kv::COLON_QUOTED),
            ));
        }
        // `[sc4s@2620 key="value" …]` that was not valid structured data.
        if c.app_name == Some("CheckPoint") || pinned {
            let inside = inside.strip_suffix(b"]").unwrap_or(inside);
            return Some(message(
                Vendor::CheckPoint,
                "",
                inside,
                Layout::KeyValue(kv::SPACED),
            ));
        }
        return None;
    }
    // The pipe form: Check Point's own keys among the first pairs.
    let piped = m.contains(&b'|')
        && Pairs::new(m, kv::PIPED).take(6).any(|(k, _)| {
            matches!(
                &*k,
                "product" | "loguid" | "originsicname" | "sequencenum" | "hostname"
            )
        })
        && Pairs::new(m, kv::PIPED)
            .take(6)
            .any(|(k, _)| k == "product" || k == "time");
    if piped || (pinned && m.contains(&b'|')) {
        return Some(message(
            Vendor::CheckPoint,
            "",
            m,
            Layout::KeyValue(kv::PIPED),
        ));
    }
    if pinned {
        return Some(message(Vendor::CheckPoint, "", m, Layout::Text));
    }
    None
}

//! Fortinet FortiGate (and FortiMail/FortiAuthenticator, which share the syntax): `date=…
//! time=… devname="…" logid="…" type="traffic" …` key=value pairs, values quoted when they hold
//! spaces.

use super::scan::kv::{self, Pairs};
use super::{Candidate, Layout, Vendor, VendorMessage, early_value, message};

/// Keys only FortiOS-family logs put among their first pairs.
fn looks_fortinet(payload: &[u8]) -> bool {
    let mut has_log_id = false;
    let mut has_type = false;
    for (key, _) in Pairs::new(payload, kv::SPACED).take(10) {
        match &*key {
            "logid" | "log_id" | "devid" | "device_id" | "typeid" => has_log_id = true,
            "type" | "subtype" | "logdesc" | "category" => has_type = true,
            // Sophos XG writes `device="SFW"`; it has its own module.
            "device" => return false,
            _ => {}
        }
    }
    has_log_id && has_type
}

/// Whether a message starts with a key FortiOS-family logs start with.
pub fn starts_like(message: &[u8]) -> bool {
    [
        &b"date="[..],
        b"logver=",
        b"timestamp=",
        b"time=",
        b"devname=",
        b"devid=",
        b"device_id=",
        b"category=",
    ]
    .iter()
    .any(|p| message.starts_with(p))
}

pub fn recognise<'a>(c: &Candidate<'a>, _pinned: bool) -> Option<VendorMessage<'a>> {
    let payload = c.message;
    let starts_like = starts_like(payload);
    // A pinned listener's other shapes are kept by the generic fallback (`vendor::recognise`).
    if !(starts_like && looks_fortinet(payload)) {
        return None;
    }
    let log_type = early_value(payload, "type", kv::SPACED).unwrap_or_default();
    Some(message(
        Vendor::Fortinet,
        log_type,
        payload,
        Layout::KeyValue(kv::SPACED),
    ))
}

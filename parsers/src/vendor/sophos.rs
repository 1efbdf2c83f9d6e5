//! Sophos XG / SFOS firewalls: `device="SFW" date=… time=… device_name="XG210" log_id=…
//! log_type="Firewall" log_component="Firewall Rule" …` key=value pairs.

use super::scan::kv::{self, Pairs};
use super::{Candidate, Layout, Vendor, VendorMessage, early_value, message};

pub fn recognise<'a>(c: &Candidate<'a>, _pinned: bool) -> Option<VendorMessage<'a>> {
    let payload = c.message;
    let sophos = payload.starts_with(b"device=\"SFW\"")
        || payload.starts_with(b"device=SFW")
        || ((payload.starts_with(b"device=") || payload.starts_with(b"date="))
            && Pairs::new(payload, kv::SPACED)
                .take(10)
                .any(|(k, _)| k == "log_component" || k == "device_name"));
    // A pinned listener's other shapes are kept by the generic fallback (`vendor::recognise`).
    if !sophos {
        return None;
    }
    let log_type = early_value(payload, "log_type", kv::SPACED).unwrap_or_default();
    Some(message(
        Vendor::Sophos,
        log_type,
        payload,
        Layout::KeyValue(kv::SPACED),
    ))
}

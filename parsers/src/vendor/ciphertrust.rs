//! Thales CipherTrust Manager and Vormetric Data Security Manager (DSM) audit records.
//!
//! The file-system agents and the DSM write RFC 5424 with their fields in structured data
//! under Vormetric's enterprise number (`[CGP@21513 sev="INFO" msg="Audit access" act="read"
//! …]`, `[COM@21513 …]`); the MSGID is the event code (`CGP2603I`). CipherTrust Manager's plain
//! form (`CipherTrust: 2019-08-12 06:25:12 | 'Update Syslog Connection' succeeded (…)`) is kept
//! as text; its CEF and LEEF forms are read as CEF and LEEF.

use super::{Candidate, Layout, Vendor, VendorMessage, message};

/// Vormetric's (now Thales') IANA private enterprise number.
const ENTERPRISE_SUFFIX: &str = "@21513";

pub fn recognise<'a>(c: &Candidate<'a>, pinned: bool) -> Option<VendorMessage<'a>> {
    let vormetric_sd = c
        .structured_data
        .elements()
        .next()
        .is_some_and(|e| e.id.ends_with(ENTERPRISE_SUFFIX));
    if vormetric_sd {
        return Some(VendorMessage {
            vendor: Vendor::CipherTrust,
            log_type: c.msg_id.unwrap_or_default(),
            payload: c.message,
            layout: Layout::StructuredData,
            structured_data: c.structured_data,
        });
    }
    let app = c.app_name.unwrap_or_default();
    let named = app.eq_ignore_ascii_case("CipherTrust")
        || app.starts_with("vee-")
        || app.starts_with("dsm");
    (named || pinned).then(|| {
        message(
            Vendor::CipherTrust,
            c.msg_id.unwrap_or_default(),
            c.message,
            Layout::Text,
        )
    })
}

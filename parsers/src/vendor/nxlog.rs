//! NXLog's structured output forwarded as syslog: JSON (`{"EventTime":"…","Hostname":"…",
//! "SourceName":…}`, `to_json()`) and XML (`<Event><EventTime>…</EventTime>…</Event>`,
//! `to_xml()`), with NXLog's own field names (`EventTime`, `Hostname`, `SeverityValue`,
//! `SourceModuleName`, Windows `EventID`…).

use super::scan::kv;
use super::{Candidate, Layout, Vendor, VendorMessage, message};

/// Whether `region` holds a name only NXLog's records use (`SourceModuleName`/
/// `SourceModuleType`, `EventReceivedTime`). One pass for the two capitals instead of a
/// substring search per name: this runs on every JSON body that reaches the recognisers.
fn has_nxlog_key(region: &[u8]) -> bool {
    memchr::memchr2_iter(b'S', b'E', region).any(|at| {
        let rest = region.get(at..).unwrap_or_default();
        rest.starts_with(b"SourceModule") || rest.starts_with(b"EventReceivedTime")
    })
}

/// NXLog's `xm_kvp` output: `SourceModuleName=in;SourceModuleType=im_file;Hostname=…`.
const KVP: kv::Dialect = kv::Dialect {
    separator: b';',
    assign: b'=',
    backslash_escapes: true,
    quote: b'"',
    unquoted_ends_at_separator: true,
};

pub fn recognise<'a>(c: &Candidate<'a>, pinned: bool) -> Option<VendorMessage<'a>> {
    let m = c.message;
    // RFC 5424 from NXLog's `to_syslog_ietf()`: the fields under NXLog's SD-ID.
    if c.structured_data
        .elements()
        .next()
        .is_some_and(|e| e.id.starts_with("NXLOG@"))
    {
        return Some(VendorMessage {
            vendor: Vendor::NxLog,
            log_type: "",
            payload: m,
            layout: Layout::StructuredData,
            structured_data: c.structured_data,
        });
    }
    if m.starts_with(b"SourceModuleName=") || (pinned && m.contains(&b';') && m.contains(&b'=')) {
        return Some(message(Vendor::NxLog, "", m, Layout::KeyValue(KVP)));
    }
    // `to_json()` writes `EventTime` first and NXLog's own fields (`EventReceivedTime`,
    // `SourceModuleName`, `SourceModuleType`) first or last: look at both ends, not the whole
    // record (this runs on every JSON body).
    let nxlog_keys = || {
        const END: usize = 160;
        let head = m.get(..m.len().min(END)).unwrap_or_default();
        // The tail only when it is not within the head already; a name cut by the border is
        // whole in one of the two overlapping regions.
        let tail = match m.len() {
            len if len <= END => &[][..],
            len => m
                .get(len.saturating_sub(END).max(END - 20)..)
                .unwrap_or_default(),
        };
        m.starts_with(b"{\"EventTime\":")
            || m.starts_with(b"<Event><EventTime>")
            || has_nxlog_key(head)
            || has_nxlog_key(tail)
    };
    match m.first() {
        Some(b'{') if pinned || nxlog_keys() => Some(message(Vendor::NxLog, "", m, Layout::Json)),
        Some(b'<') if m.starts_with(b"<Event>") && (pinned || nxlog_keys()) => {
            Some(message(Vendor::NxLog, "", m, Layout::Xml))
        }
        _ if pinned => Some(message(Vendor::NxLog, "", m, Layout::Text)),
        _ => None,
    }
}

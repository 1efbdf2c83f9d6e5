//! Fortinet FortiGate (FortiOS) and its siblings, following Fortinet's "FortiOS to CEF log
//! field mapping guidelines": `logid`'s last five digits are the event class, `Activity` is
//! `type:subtype` followed by `eventtype`, `action` and `status` where present, and the severity
//! is the reversed FortiOS level (`8 − level`), as FortiGate's own CEF output writes them.
//! FortiOS keys that share a name with a CEF key but mean something else (`cat`, `app`,
//! `type`) are not mapped by name.

use std::borrow::Cow;

use tern_parsers::VendorMessage;

use super::{Mapping, field};

pub const MAPPING: Mapping = Mapping {
    device_vendor: "Fortinet",
    device_product: "Fortigate",
    log_type_columns: &[],
    fields: &[
        ("devid", "DeviceExternalID", ""),
        ("device_id", "DeviceExternalID", ""),
        ("devname", "DeviceName", ""),
        ("srcip", "SourceIP", ""),
        ("client_ip", "SourceIP", ""),
        ("srcport", "SourcePort", ""),
        ("srcintf", "DeviceInboundInterface", ""),
        ("srcname", "SourceHostName", ""),
        ("srcmac", "SourceMACAddress", ""),
        ("dstip", "DestinationIP", ""),
        ("dst_ip", "DestinationIP", ""),
        ("dstport", "DestinationPort", ""),
        ("dstintf", "DeviceOutboundInterface", ""),
        ("dstname", "DestinationHostName", ""),
        ("hostname", "DestinationHostName", ""),
        ("dstmac", "DestinationMACAddress", ""),
        ("sessionid", "ExtID", ""),
        ("proto", "Protocol", ""),
        ("action", "DeviceAction", ""),
        ("service", "ApplicationProtocol", ""),
        ("transip", "SourceTranslatedAddress", ""),
        ("transport", "SourceTranslatedPort", ""),
        ("tranip", "DestinationTranslatedAddress", ""),
        ("tranport", "DestinationTranslatedPort", ""),
        ("sentbyte", "SentBytes", ""),
        ("rcvdbyte", "ReceivedBytes", ""),
        ("user", "DestinationUserName", ""),
        ("ui", "SourceProcessName", ""),
        ("status", "EventOutcome", ""),
        ("reason", "Reason", ""),
        ("msg", "Message", ""),
        ("cookies", "RequestCookies", ""),
        ("role", "SourceServiceName", ""),
        ("url", "RequestURL", ""),
        ("catdesc", "RequestContext", ""),
        ("direction", "CommunicationDirection", ""),
        ("count", "EventCount", ""),
        ("filename", "FileName", ""),
        ("agent", "RequestClientApplication", ""),
        ("ref", "DeviceCustomString2", "Reference"),
        ("policyid", "DeviceCustomString5", "Policy Id"),
        // The text FortiAuthenticator writes after its pairs.
        ("", "Message", ""),
    ],
    derive: Some(derive),
    replaced: &[],
};

/// FortiOS level words, most severe first.
const LEVELS: [&str; 8] = [
    "emergency",
    "alert",
    "critical",
    "error",
    "warning",
    "notice",
    "information",
    "debug",
];

fn derive<'a>(message: &VendorMessage<'a>, set: &mut dyn FnMut(&'static str, Cow<'a, str>)) {
    let (mut logid, mut kind, mut subtype, mut eventtype, mut action, mut status, mut level) =
        (None, None, None, None, None, None, None);
    let mut product = None;
    for (key, value) in message.fields() {
        let slot = match &*key {
            "logid" | "log_id" | "typeid" => &mut logid,
            "type" | "category" => &mut kind,
            "subtype" | "subcategory" => &mut subtype,
            "eventtype" => &mut eventtype,
            "action" => &mut action,
            "status" => &mut status,
            "level" | "pri" => &mut level,
            "devid" | "device_id" => &mut product,
            _ => continue,
        };
        slot.get_or_insert(value);
    }
    // The serial number's prefix names the product (FortiGate `FG`/`FGT`, FortiMail `FE`,
    // FortiWeb `FV`, FortiDDoS `FI`); FortiAuthenticator writes `typeid`.
    let named = match product.as_deref().map(|p| p.get(..2).unwrap_or_default()) {
        Some("FE") => Some("FortiMail"),
        Some("FV") => Some("FortiWeb"),
        Some("FI") => Some("FortiDDoS"),
        _ if field(message, "typeid").is_some() => Some("FortiAuthenticator"),
        _ => None,
    };
    if let Some(name) = named {
        set("DeviceProduct", Cow::Borrowed(name));
    }
    if let Some(logid) = logid {
        let id = match &logid {
            Cow::Borrowed(s) if s.len() == 10 && s.bytes().all(|b| b.is_ascii_digit()) => {
                Cow::Borrowed(s.get(5..).unwrap_or(s))
            }
            _ => logid,
        };
        set("DeviceEventClassID", id);
    }
    if let Some(kind) = &kind {
        let category = match &subtype {
            Some(sub) => format!("{kind}:{sub}"),
            None => kind.to_string(),
        };
        let mut activity = category.clone();
        for part in [&eventtype, &action, &status].into_iter().flatten() {
            if !part.is_empty() {
                activity.push(' ');
                activity.push_str(part);
            }
        }
        set("DeviceEventCategory", Cow::Owned(category));
        set("Activity", Cow::Owned(activity));
    }
    if let Some(level) = level {
        if let Some(n) = LEVELS.iter().position(|l| {
            level.eq_ignore_ascii_case(l) || (*l == "notice" && level == "notification")
        }) {
            set("LogSeverity", Cow::Owned((8 - n).to_string()));
        }
        set("OriginalLogSeverity", level);
    }
}

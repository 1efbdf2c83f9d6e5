//! Corelight / Zeek logs, after Sentinel's Corelight ASIM parser for conn: the log path
//! (`conn`, `dns`, `http`, `ssl`, `notice`) is the event class and the activity (a notice's
//! `note` replaces both), the connection 4-tuple, protocol, service, bytes and MACs; per-log
//! fields (DNS query, HTTP request, TLS server name, notice message) go to their nearest
//! columns. `ts` is the start time; the raw value stays in `ReceiptTime`.

use std::borrow::Cow;

use tern_parsers::VendorMessage;

use super::{Mapping, field};

pub const MAPPING: Mapping = Mapping {
    device_vendor: "Corelight",
    device_product: "Zeek",
    log_type_columns: &["DeviceEventClassID", "Activity"],
    fields: &[
        ("_path", "DeviceEventClassID", ""),
        ("ts", "StartTime", ""),
        ("uid", "ExtID", ""),
        ("id.orig_h", "SourceIP", ""),
        ("id.orig_p", "SourcePort", ""),
        ("id.resp_h", "DestinationIP", ""),
        ("id.resp_p", "DestinationPort", ""),
        ("proto", "Protocol", ""),
        ("service", "ApplicationProtocol", ""),
        ("orig_bytes", "SentBytes", ""),
        ("resp_bytes", "ReceivedBytes", ""),
        ("conn_state", "Reason", ""),
        ("orig_l2_addr", "SourceMACAddress", ""),
        ("resp_l2_addr", "DestinationMACAddress", ""),
        ("query", "DestinationDnsDomain", ""),
        ("qtype_name", "DeviceCustomString1", "Query Type"),
        ("rcode_name", "DeviceCustomString2", "Response Code"),
        ("answers", "DeviceCustomString3", "Answers"),
        ("method", "RequestMethod", ""),
        ("host", "DestinationHostName", ""),
        ("uri", "RequestURL", ""),
        ("user_agent", "RequestClientApplication", ""),
        ("referrer", "RequestContext", ""),
        ("status_code", "FieldDeviceCustomNumber1", "Status Code"),
        ("server_name", "DestinationHostName", ""),
        ("version", "DeviceCustomString1", "TLS Version"),
        ("cipher", "DeviceCustomString2", "Cipher"),
        (
            "validation_status",
            "DeviceCustomString3",
            "Validation Status",
        ),
        ("ja3", "DeviceCustomString4", "JA3"),
        ("note", "DeviceEventClassID", ""),
        ("msg", "Message", ""),
        ("sub", "DeviceCustomString1", "Sub"),
        ("src", "SourceIP", ""),
        ("dst", "DestinationIP", ""),
        ("p", "DestinationPort", ""),
        ("actions", "DeviceAction", ""),
        ("_system_name", "DeviceName", ""),
    ],
    derive: Some(derive),
    replaced: &[],
};

fn derive<'a>(message: &VendorMessage<'a>, set: &mut dyn FnMut(&'static str, Cow<'a, str>)) {
    if message.log_type == "notice" {
        if let Some(note) = field(message, "note") {
            set("Activity", note);
        }
    }
    if let Some(ts) = field(message, "ts") {
        set("ReceiptTime", ts);
    }
}

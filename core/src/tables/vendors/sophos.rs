//! Sophos Firewall (SFOS, "XG"): SFOS keys up to 19.0 and their 19.5+ renames, per Sentinel's
//! Sophos XG parser. SFOS has no CEF of its own; `Activity` is `log_type:log_component
//! log_subtype` and the action falls back to `log_subtype` (Allowed/Denied) when `status` is
//! empty.

use std::borrow::Cow;

use tern_parsers::VendorMessage;

use super::{Mapping, field};

pub const MAPPING: Mapping = Mapping {
    device_vendor: "Sophos",
    device_product: "XG Firewall",
    log_type_columns: &["DeviceEventCategory"],
    fields: &[
        ("log_id", "DeviceEventClassID", ""),
        ("log_type", "DeviceEventCategory", ""),
        ("priority", "LogSeverity", ""),
        ("severity", "LogSeverity", ""),
        ("status", "DeviceAction", ""),
        ("src_ip", "SourceIP", ""),
        ("src_port", "SourcePort", ""),
        ("dst_ip", "DestinationIP", ""),
        ("dst_port", "DestinationPort", ""),
        ("protocol", "Protocol", ""),
        ("sent_bytes", "SentBytes", ""),
        ("bytes_sent", "SentBytes", ""),
        ("recv_bytes", "ReceivedBytes", ""),
        ("bytes_received", "ReceivedBytes", ""),
        ("user_name", "SourceUserName", ""),
        ("user", "SourceUserName", ""),
        ("in_interface", "DeviceInboundInterface", ""),
        ("out_interface", "DeviceOutboundInterface", ""),
        ("src_mac", "SourceMACAddress", ""),
        ("dst_mac", "DestinationMACAddress", ""),
        ("tran_src_ip", "SourceTranslatedAddress", ""),
        ("src_trans_ip", "SourceTranslatedAddress", ""),
        ("tran_src_port", "SourceTranslatedPort", ""),
        ("src_trans_port", "SourceTranslatedPort", ""),
        ("tran_dst_ip", "DestinationTranslatedAddress", ""),
        ("dst_trans_ip", "DestinationTranslatedAddress", ""),
        ("tran_dst_port", "DestinationTranslatedPort", ""),
        ("dst_trans_port", "DestinationTranslatedPort", ""),
        ("application", "ApplicationProtocol", ""),
        ("app_name", "ApplicationProtocol", ""),
        ("url", "RequestURL", ""),
        ("domain", "DestinationHostName", ""),
        ("user_agent", "RequestClientApplication", ""),
        ("referer", "RequestContext", ""),
        ("message", "Message", ""),
        ("device_name", "DeviceName", ""),
        ("device_id", "DeviceExternalID", ""),
        ("device_serial_id", "DeviceExternalID", ""),
        ("con_id", "ExtID", ""),
        ("fw_rule_id", "DeviceCustomString1", "Firewall Rule ID"),
        ("fw_rule_name", "DeviceCustomString6", "Firewall Rule Name"),
        ("srczone", "DeviceCustomString2", "Source Zone"),
        ("src_zone", "DeviceCustomString2", "Source Zone"),
        ("dstzone", "DeviceCustomString3", "Destination Zone"),
        ("dst_zone", "DeviceCustomString3", "Destination Zone"),
        ("category", "DeviceCustomString4", "Category"),
        ("http_category", "DeviceCustomString4", "Category"),
    ],
    derive: Some(derive),
    replaced: &[],
};

fn derive<'a>(message: &VendorMessage<'a>, set: &mut dyn FnMut(&'static str, Cow<'a, str>)) {
    let component = field(message, "log_component");
    let subtype = field(message, "log_subtype");
    if !message.log_type.is_empty() {
        let mut activity = message.log_type.to_owned();
        if let Some(c) = component.as_deref().filter(|c| !c.is_empty()) {
            activity.push(':');
            activity.push_str(c);
        }
        if let Some(s) = subtype.as_deref().filter(|s| !s.is_empty()) {
            activity.push(' ');
            activity.push_str(s);
        }
        set("Activity", Cow::Owned(activity));
    }
    // A `status` field, when not empty, replaces this (it is a mapped field).
    if let Some(subtype) = subtype {
        set("DeviceAction", subtype);
    }
}

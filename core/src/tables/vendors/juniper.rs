//! Juniper Junos (SRX flow, IDP and screen logs, other events) and ScreenOS. Junos has no CEF:
//! fields are named by their structured-data (`sd-syslog`) names, which the BSD text form
//! prints in the same order. The event tag (`RT_FLOW_SESSION_CREATE`) is the event class; flow
//! sessions' `Activity` and action are `session created`/`accept`, `session closed`/`close`,
//! `session denied`/`deny`; IDP and screen logs use the attack name.

use std::borrow::Cow;

use tern_parsers::VendorMessage;

use super::{Mapping, field};

pub const MAPPING: Mapping = Mapping {
    device_vendor: "Juniper",
    device_product: "SRX",
    log_type_columns: &["DeviceEventClassID"],
    fields: &[
        ("source-address", "SourceIP", ""),
        ("source-port", "SourcePort", ""),
        ("destination-address", "DestinationIP", ""),
        ("destination-port", "DestinationPort", ""),
        ("nat-source-address", "SourceTranslatedAddress", ""),
        ("nat-source-port", "SourceTranslatedPort", ""),
        (
            "nat-destination-address",
            "DestinationTranslatedAddress",
            "",
        ),
        ("nat-destination-port", "DestinationTranslatedPort", ""),
        ("protocol-id", "Protocol", ""),
        ("protocol-name", "Protocol", ""),
        ("service-name", "DestinationServiceName", ""),
        ("application", "ApplicationProtocol", ""),
        ("bytes-from-client", "SentBytes", ""),
        ("bytes-from-server", "ReceivedBytes", ""),
        ("outbound-bytes", "SentBytes", ""),
        ("inbound-bytes", "ReceivedBytes", ""),
        ("elapsed-time", "FieldDeviceCustomNumber1", "Elapsed Time"),
        ("session-id-32", "ExtID", ""),
        ("policy-name", "DeviceCustomString1", "Policy Name"),
        ("source-zone-name", "DeviceCustomString2", "Source Zone"),
        (
            "destination-zone-name",
            "DeviceCustomString3",
            "Destination Zone",
        ),
        (
            "src-nat-rule-name",
            "DeviceCustomString4",
            "Source NAT Rule",
        ),
        (
            "dst-nat-rule-name",
            "DeviceCustomString5",
            "Destination NAT Rule",
        ),
        ("attack-name", "DeviceCustomString6", "Attack Name"),
        ("username", "SourceUserName", ""),
        ("packet-incoming-interface", "DeviceInboundInterface", ""),
        ("source-interface-name", "DeviceInboundInterface", ""),
        ("interface-name", "DeviceInboundInterface", ""),
        ("destination-interface-name", "DeviceOutboundInterface", ""),
        ("reason", "Reason", ""),
        ("action", "DeviceAction", ""),
        ("threat-severity", "LogSeverity", ""),
        ("epoch-time", "StartTime", ""),
        ("repeat-count", "EventCount", ""),
        ("url", "RequestURL", ""),
        ("http-host", "DestinationHostName", ""),
        ("file-name", "FileName", ""),
        ("sample-sha256", "FileHash", ""),
        ("device_id", "DeviceExternalID", ""),
        ("message", "Message", ""),
        ("", "Message", ""),
    ],
    derive: Some(derive),
    replaced: &[],
};

fn derive<'a>(message: &VendorMessage<'a>, set: &mut dyn FnMut(&'static str, Cow<'a, str>)) {
    let flow = match message.log_type.trim_end_matches("_LS") {
        "RT_FLOW_SESSION_CREATE" => Some(("session created", "accept")),
        "RT_FLOW_SESSION_CLOSE" => Some(("session closed", "close")),
        "RT_FLOW_SESSION_DENY" => Some(("session denied", "deny")),
        _ => None,
    };
    if let Some((activity, action)) = flow {
        set("Activity", Cow::Borrowed(activity));
        set("DeviceAction", Cow::Borrowed(action));
    } else if let Some(attack) = field(message, "attack-name") {
        set("Activity", attack);
    }
}

//! Check Point Log Exporter (syslog `[key:"value"; …]` and pipe forms), following Check
//! Point's own CEF mapping ("Log Exporter CEF Field Mappings"): `DeviceProduct` is the
//! `product` field, `Activity` the service (`service_id`) or the attack, the interface goes to
//! the inbound or outbound column by `ifdir`, rule name in `DeviceCustomString2`.

use std::borrow::Cow;

use tern_parsers::VendorMessage;

use super::Mapping;

pub const MAPPING: Mapping = Mapping {
    device_vendor: "Check Point",
    device_product: "Check Point",
    log_type_columns: &[],
    fields: &[
        ("product", "DeviceProduct", ""),
        ("severity", "LogSeverity", ""),
        ("attack", "DeviceEventClassID", ""),
        ("protection_type", "DeviceEventClassID", ""),
        ("service_id", "Activity", ""),
        ("src", "SourceIP", ""),
        ("dst", "DestinationIP", ""),
        ("s_port", "SourcePort", ""),
        ("service", "DestinationPort", ""),
        ("proto", "Protocol", ""),
        ("action", "DeviceAction", ""),
        ("xlatesrc", "SourceTranslatedAddress", ""),
        ("xlatesport", "SourceTranslatedPort", ""),
        ("xlatedst", "DestinationTranslatedAddress", ""),
        ("xlatedport", "DestinationTranslatedPort", ""),
        ("ifdir", "CommunicationDirection", ""),
        ("rule_name", "DeviceCustomString2", "Rule Name"),
        ("received_bytes", "ReceivedBytes", ""),
        ("server_outbound_bytes", "ReceivedBytes", ""),
        ("sent_bytes", "SentBytes", ""),
        ("client_outbound_bytes", "SentBytes", ""),
        (
            "elapsed",
            "FieldDeviceCustomNumber1",
            "Elapsed Time in Seconds",
        ),
        ("icmp_type", "FieldDeviceCustomNumber2", "ICMP Type"),
        ("icmp_code", "FieldDeviceCustomNumber3", "ICMP Code"),
        ("src_user_name", "SourceUserName", ""),
        ("user", "SourceUserName", ""),
        ("administrator", "SourceUserName", ""),
        ("dst_user_name", "DestinationUserName", ""),
        ("src_machine_name", "SourceHostName", ""),
        ("dst_machine_name", "DestinationHostName", ""),
        ("resource", "RequestURL", ""),
        ("domain_name", "SourceNTDomain", ""),
        ("file_md5", "FileHash", ""),
        ("file_sha1", "FileHash", ""),
        ("file_sha256", "FileHash", ""),
        ("file_name", "FileName", ""),
        ("file_type", "FileType", ""),
        ("file_size", "FileSize", ""),
        ("termination_reason", "Reason", ""),
        ("product_family", "DeviceFacility", ""),
        ("protection_name", "DeviceCustomString4", "Protection Name"),
        ("malware_family", "DeviceCustomString6", "Malware Family"),
        ("confidence_level", "FlexNumber1", "Confidence"),
        ("performance_impact", "FlexNumber2", "Performance Impact"),
        ("origin", "DeviceAddress", ""),
        ("hostname", "DeviceName", ""),
        ("loguid", "ExtID", ""),
        ("client_ip", "SourceIP", ""),
        ("operation", "Activity", ""),
    ],
    derive: Some(derive),
    // `ifname` lands in the interface column `ifdir` picks (`ifdir` has a column of its own).
    replaced: &[(
        "ifname",
        &[&["DeviceInboundInterface"], &["DeviceOutboundInterface"]],
    )],
};

fn derive<'a>(message: &VendorMessage<'a>, set: &mut dyn FnMut(&'static str, Cow<'a, str>)) {
    let (mut ifdir, mut ifname) = (None, None);
    for (key, value) in message.fields() {
        match &*key {
            "ifdir" => ifdir = Some(value),
            "ifname" => ifname = Some(value),
            _ => {}
        }
    }
    if let Some(name) = ifname {
        let column = if ifdir.as_deref() == Some("outbound") {
            "DeviceOutboundInterface"
        } else {
            "DeviceInboundInterface"
        };
        set(column, name);
    }
}

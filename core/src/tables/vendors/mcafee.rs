//! McAfee / Trellix ePolicy Orchestrator events (XML), with the element meanings of Sentinel's
//! ePO parser; McAfee Network Security Platform and Web Gateway `key="value"` messages map
//! their addresses and users.

use std::borrow::Cow;

use tern_parsers::VendorMessage;

use super::Mapping;

pub const MAPPING: Mapping = Mapping {
    device_vendor: "McAfee",
    device_product: "ePO",
    log_type_columns: &[],
    fields: &[
        ("MachineName", "DeviceName", ""),
        ("IPAddress", "DeviceAddress", ""),
        ("RawMACAddress", "DeviceMacAddress", ""),
        ("AgentGUID", "DeviceExternalID", ""),
        ("EventID", "DeviceEventClassID", ""),
        ("Severity", "LogSeverity", ""),
        ("ThreatName", "Activity", ""),
        ("ThreatType", "DeviceCustomString4", "Threat Type"),
        ("ThreatCategory", "DeviceEventCategory", ""),
        ("ThreatActionTaken", "DeviceAction", ""),
        ("ThreatHandled", "EventOutcome", ""),
        ("SourceIPV4", "SourceIP", ""),
        ("SourceMAC", "SourceMACAddress", ""),
        ("TargetIPV4", "DestinationIP", ""),
        ("TargetMAC", "DestinationMACAddress", ""),
        ("SourceHostName", "SourceHostName", ""),
        ("TargetHostName", "DestinationHostName", ""),
        ("SourceUserName", "SourceUserName", ""),
        ("TargetUserName", "DestinationUserName", ""),
        ("SourceProcessName", "SourceProcessName", ""),
        ("TargetProcessName", "DestinationProcessName", ""),
        ("TargetFileName", "FilePath", ""),
        ("TargetHash", "FileHash", ""),
        ("SourceURL", "RequestURL", ""),
        ("AnalyzerName", "DeviceCustomString2", "Analyzer Name"),
        ("NaturalLangDescription", "Message", ""),
        ("DetectedUTC", "StartTime", ""),
        // Network Security Platform.
        ("src_ip", "SourceIP", ""),
        ("dest_ip", "DestinationIP", ""),
        ("src_port", "SourcePort", ""),
        ("dest_port", "DestinationPort", ""),
        ("alert_type", "DeviceEventCategory", ""),
        ("attack_name", "Activity", ""),
        ("attack_severity", "LogSeverity", ""),
        ("result_status", "DeviceAction", ""),
        ("acl_action", "DeviceAction", ""),
        ("direction", "CommunicationDirection", ""),
        // Web Gateway.
        ("srcip", "SourceIP", ""),
        ("dhost", "DestinationHostName", ""),
        ("user", "SourceUserName", ""),
        ("url", "RequestURL", ""),
        ("mtd", "RequestMethod", ""),
        ("ua", "RequestClientApplication", ""),
        ("urlc", "DeviceCustomString1", "URL Category"),
        ("status", "EventOutcome", ""),
    ],
    derive: Some(derive),
    replaced: &[],
};

/// The product by the TAG of the non-ePO forms.
fn derive<'a>(message: &VendorMessage<'a>, set: &mut dyn FnMut(&'static str, Cow<'a, str>)) {
    let product = match message.log_type {
        "mwg" => "Web Gateway",
        t if t.starts_with("Syslog") => "Network Security Platform",
        _ => return,
    };
    set("DeviceProduct", Cow::Borrowed(product));
}

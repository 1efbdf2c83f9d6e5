//! NXLog's JSON, XML, key-value and RFC 5424 output, by NXLog's core field names and the
//! Windows event fields of `im_msvistalog`.

use super::Mapping;

pub const MAPPING: Mapping = Mapping {
    device_vendor: "NXLog",
    device_product: "NXLog",
    log_type_columns: &[],
    fields: &[
        ("SourceModuleType", "DeviceProduct", ""),
        ("EventID", "DeviceEventClassID", ""),
        ("Category", "Activity", ""),
        ("SeverityValue", "LogSeverity", ""),
        ("Severity", "OriginalLogSeverity", ""),
        ("Hostname", "DeviceName", ""),
        ("EventTime", "ReceiptTime", ""),
        ("Message", "Message", ""),
        ("message", "Message", ""),
        ("SourceName", "ProcessName", ""),
        ("ProcessID", "ProcessID", ""),
        ("SyslogFacility", "DeviceFacility", ""),
        ("AccountName", "SourceUserName", ""),
        ("TargetUserName", "DestinationUserName", ""),
        ("Domain", "SourceNTDomain", ""),
        ("TargetDomainName", "DestinationNTDomain", ""),
        ("IpAddress", "SourceIP", ""),
        ("IpPort", "SourcePort", ""),
        ("MessageSourceAddress", "DeviceAddress", ""),
    ],
    derive: None,
    replaced: &[],
};

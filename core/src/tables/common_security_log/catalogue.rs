//! The table's columns: those filled from CEF extension keys (with their kinds), the vendor
//! header and the columns written outside the key table, and their Log Analytics types.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Str,
    Int,
    /// An `int` column that holds a TCP/UDP port: 0 to 65535, else the value is kept in
    /// `AdditionalExtensions` and counted like any value that does not fit.
    Port,
    Long,
    Real,
    Datetime,
}

/// Columns filled from CEF extension keys, in the order they are written.
pub(super) const COLUMNS: &[(&str, Kind)] = &[
    ("DeviceAction", Str),
    ("ApplicationProtocol", Str),
    ("DeviceEventCategory", Str),
    ("EventCount", Int),
    ("DestinationDnsDomain", Str),
    ("DestinationServiceName", Str),
    ("DestinationTranslatedAddress", Str),
    ("DestinationTranslatedPort", Port),
    ("DeviceDnsDomain", Str),
    ("DeviceExternalID", Str),
    ("DeviceFacility", Str),
    ("DeviceInboundInterface", Str),
    ("DeviceNtDomain", Str),
    ("DeviceOutboundInterface", Str),
    ("DevicePayloadId", Str),
    ("ProcessName", Str),
    ("DeviceTranslatedAddress", Str),
    ("DestinationHostName", Str),
    ("DestinationMACAddress", Str),
    ("DestinationNTDomain", Str),
    ("DestinationProcessId", Int),
    ("DestinationUserPrivileges", Str),
    ("DestinationProcessName", Str),
    ("DestinationPort", Port),
    ("DestinationIP", Str),
    ("DeviceTimeZone", Str),
    ("DestinationUserID", Str),
    ("DestinationUserName", Str),
    ("DeviceAddress", Str),
    ("DeviceName", Str),
    ("DeviceMacAddress", Str),
    ("ProcessID", Int),
    ("ReceivedBytes", Long),
    ("SentBytes", Long),
    ("Message", Str),
    ("EventOutcome", Str),
    ("Protocol", Str),
    ("Reason", Str),
    ("RequestURL", Str),
    ("RequestClientApplication", Str),
    ("RequestContext", Str),
    ("RequestCookies", Str),
    ("RequestMethod", Str),
    ("ReceiptTime", Str),
    ("SourceHostName", Str),
    ("SourceMACAddress", Str),
    ("SourceNTDomain", Str),
    ("SourceDnsDomain", Str),
    ("SourceServiceName", Str),
    ("SourceTranslatedAddress", Str),
    ("SourceTranslatedPort", Port),
    ("SourceProcessId", Int),
    ("SourceUserPrivileges", Str),
    ("SourceProcessName", Str),
    ("SourcePort", Port),
    ("SourceIP", Str),
    ("SourceUserID", Str),
    ("SourceUserName", Str),
    ("EventType", Int),
    ("FileCreateTime", Str),
    ("FileHash", Str),
    ("FileID", Str),
    ("FileModificationTime", Str),
    ("FilePath", Str),
    ("FilePermission", Str),
    ("FileType", Str),
    ("FileName", Str),
    ("FileSize", Int),
    ("OldFileCreateTime", Str),
    ("OldFileHash", Str),
    ("OldFileID", Str),
    ("OldFileModificationTime", Str),
    ("OldFileName", Str),
    ("OldFilePath", Str),
    ("OldFilePermission", Str),
    ("OldFileSize", Int),
    ("OldFileType", Str),
    ("DeviceCustomString1", Str),
    ("DeviceCustomString2", Str),
    ("DeviceCustomString3", Str),
    ("DeviceCustomString4", Str),
    ("DeviceCustomString5", Str),
    ("DeviceCustomString6", Str),
    ("DeviceCustomString1Label", Str),
    ("DeviceCustomString2Label", Str),
    ("DeviceCustomString3Label", Str),
    ("DeviceCustomString4Label", Str),
    ("DeviceCustomString5Label", Str),
    ("DeviceCustomString6Label", Str),
    ("FieldDeviceCustomNumber1", Long),
    ("FieldDeviceCustomNumber2", Long),
    ("FieldDeviceCustomNumber3", Long),
    ("DeviceCustomNumber1Label", Str),
    ("DeviceCustomNumber2Label", Str),
    ("DeviceCustomNumber3Label", Str),
    ("DeviceCustomFloatingPoint1", Real),
    ("DeviceCustomFloatingPoint2", Real),
    ("DeviceCustomFloatingPoint3", Real),
    ("DeviceCustomFloatingPoint4", Real),
    ("DeviceCustomFloatingPoint1Label", Str),
    ("DeviceCustomFloatingPoint2Label", Str),
    ("DeviceCustomFloatingPoint3Label", Str),
    ("DeviceCustomFloatingPoint4Label", Str),
    ("DeviceCustomIPv6Address1", Str),
    ("DeviceCustomIPv6Address2", Str),
    ("DeviceCustomIPv6Address3", Str),
    ("DeviceCustomIPv6Address4", Str),
    ("DeviceCustomIPv6Address1Label", Str),
    ("DeviceCustomIPv6Address2Label", Str),
    ("DeviceCustomIPv6Address3Label", Str),
    ("DeviceCustomIPv6Address4Label", Str),
    ("DeviceCustomDate1", Str),
    ("DeviceCustomDate2", Str),
    ("DeviceCustomDate1Label", Str),
    ("DeviceCustomDate2Label", Str),
    ("FlexDate1", Str),
    ("FlexDate1Label", Str),
    ("FlexNumber1", Int),
    ("FlexNumber2", Int),
    ("FlexNumber1Label", Str),
    ("FlexNumber2Label", Str),
    ("FlexString1", Str),
    ("FlexString2", Str),
    ("FlexString1Label", Str),
    ("FlexString2Label", Str),
    ("StartTime", Datetime),
    ("EndTime", Datetime),
    ("ExtID", Str),
    ("CommunicationDirection", Str),
    // Header columns, filled by vendor mappings (CEF writes them from its header).
    ("DeviceVendor", Str),
    ("DeviceProduct", Str),
    ("DeviceVersion", Str),
    ("DeviceEventClassID", Str),
    ("Activity", Str),
    ("LogSeverity", Str),
    ("OriginalLogSeverity", Str),
];

/// The header columns a vendor row writes first, in this order.
pub(super) const VENDOR_HEADER: [&str; 7] = [
    "DeviceVendor",
    "DeviceProduct",
    "DeviceVersion",
    "DeviceEventClassID",
    "Activity",
    "LogSeverity",
    "OriginalLogSeverity",
];

/// The index of a column in [`COLUMNS`]; hashed, as vendor rows look up a few per event.
pub(in super::super) fn column_index(column: &str) -> Option<usize> {
    COLUMN_INDEX.get(column).copied()
}

pub(super) static COLUMN_INDEX: std::sync::LazyLock<rustc_hash::FxHashMap<&'static str, usize>> =
    std::sync::LazyLock::new(|| {
        let mut index = rustc_hash::FxHashMap::default();
        for (i, (name, _)) in COLUMNS.iter().enumerate() {
            index.entry(*name).or_insert(i);
        }
        index
    });

/// Columns written outside the key table, with their Log Analytics types.
pub(super) const HEADER_COLUMNS: &[(&str, &str)] = &[
    ("TimeGenerated", "datetime"),
    ("Computer", "string"),
    ("CollectorHostName", "string"),
    ("DeviceVendor", "string"),
    ("DeviceProduct", "string"),
    ("DeviceVersion", "string"),
    ("DeviceEventClassID", "string"),
    ("Activity", "string"),
    ("LogSeverity", "string"),
    ("OriginalLogSeverity", "string"),
    ("ExternalID", "int"),
    ("DeviceCustomNumber1", "int"),
    ("DeviceCustomNumber2", "int"),
    ("DeviceCustomNumber3", "int"),
    ("RemoteIP", "string"),
    ("RemotePort", "string"),
    ("SimplifiedDeviceAction", "string"),
    ("AdditionalExtensions", "string"),
];

/// Every column this module can write, with its Log Analytics type, in a stable order.
pub fn columns() -> Vec<(&'static str, &'static str)> {
    let mut all: Vec<(&str, &str)> = HEADER_COLUMNS.to_vec();
    for (name, kind) in COLUMNS {
        if all.iter().any(|(n, _)| n == name) {
            continue;
        }
        all.push((
            name,
            match kind {
                Str => "string",
                Int | Port => "int",
                Long => "long",
                Real => "real",
                Datetime => "datetime",
            },
        ));
    }
    all
}

//! Cisco ASA, FTD and PIX messages into CommonSecurityLog (`reference/azure.md` §4.4): the
//! tag gives vendor, product, message id and level; the connection and access messages give
//! addresses, ports, protocol, action, direction, interfaces and the ACL name
//! (`DeviceCustomString2`, as Sentinel's own ASA parsing does). `Message` keeps the text after
//! the tag verbatim.

use tern_parsers::AsaMessage;

use super::json::JsonObject;

/// ASA level names, for `OriginalLogSeverity` (the ASA's own words for its levels 0–7).
const ASA_LEVELS: [&str; 8] = [
    "emergencies",
    "alerts",
    "critical",
    "errors",
    "warnings",
    "notifications",
    "informational",
    "debugging",
];

pub fn write(asa: &AsaMessage<'_>, row: &mut JsonObject<'_>) {
    use tern_parsers::vendor::cisco_asa::{Direction, Endpoint, fields};

    row.string("DeviceVendor", "Cisco");
    row.string("DeviceProduct", asa.product.name());
    row.string("DeviceEventClassID", asa.message_id);
    row.plain("LogSeverity", &asa.level);
    if let Some(name) = ASA_LEVELS.get(usize::from(asa.level)) {
        row.string("OriginalLogSeverity", name);
    }
    row.bytes("Message", asa.text);
    let fields = fields(asa);
    if let Some(action) = fields.action {
        row.string("DeviceAction", action);
    }
    if let Some(protocol) = fields.protocol {
        row.string("Protocol", protocol);
    }
    if let Some(direction) = fields.direction {
        let direction = match direction {
            Direction::Inbound => "Inbound",
            Direction::Outbound => "Outbound",
        };
        row.string("CommunicationDirection", direction);
    }
    let mut end = |end: Option<Endpoint<'_>>, ip: &str, port: &str, interface: &str| {
        let Some(end) = end else { return };
        row.string(ip, end.address);
        // A service name (`ssh`) in place of a number stays in Message only.
        if let Some(number) = end.port.and_then(|p| p.parse::<i32>().ok()) {
            row.int(port, i64::from(number));
        }
        if let Some(name) = end.interface {
            row.string(interface, name);
        }
    };
    end(
        fields.source,
        "SourceIP",
        "SourcePort",
        "DeviceInboundInterface",
    );
    end(
        fields.destination,
        "DestinationIP",
        "DestinationPort",
        "DeviceOutboundInterface",
    );
    // The ACL name in DeviceCustomString2, as Sentinel's ASA parsing does (§4.4).
    if let Some(acl) = fields.acl {
        row.string("DeviceCustomString2", acl);
    }
}

//! Cisco ASA, FTD and PIX messages into CommonSecurityLog (`reference/azure.md` §4.4): the
//! tag gives vendor, product, message id and level; [`fields`] gives the rest. `Message` keeps
//! the text after the tag verbatim.
//!
//! Column choices:
//! - `DeviceAction` is the verb as written (`Built`, `Deny`, `denied`, `permitted`, `Rejected`,
//!   `executed`…), `Protocol` as written (or the number of `protocol 47`),
//!   `CommunicationDirection` where the message says inbound or outbound.
//! - Source and destination are the initiator and the responder: "Built outbound" 302013,
//!   302015 and 302020 name the responder first, so their two sides are swapped; Teardown
//!   messages do not say who opened the connection and keep the order written (the foreign side
//!   first), as Sentinel's ASIM parser does.
//! - An address goes to `SourceIP`/`DestinationIP` when it is an IP address and to
//!   `SourceHostName`/`DestinationHostName` when the ASA wrote a name (`names`, FQDN objects,
//!   the FQDN of 106023). Ports are ints, written only when numeric (a service name such as
//!   `ssh` stays in `Message`). The source's interface is `DeviceInboundInterface` (else
//!   `on interface NAME`), the destination's `DeviceOutboundInterface` (else the mapped side's
//!   interface of 305011/305012).
//! - NAT: the mapped address of 302013–302016, 302020/302021's `gaddr` and the `to` side of
//!   305011/305012 fill `SourceTranslatedAddress`/`Port` or `DestinationTranslatedAddress`/
//!   `Port` of their side, only when NAT changed the address or port (the ASA repeats the real
//!   address when it did not).
//! - Users: an identity-firewall user next to an address goes to its side's user column, so
//!   "Built outbound" swaps users too. `SourceUserName` also holds the AAA user of 302013/
//!   302015 and 113004/113005 (whose address, 113005's `user IP`, is `SourceIP`, and whose AAA
//!   server is `DestinationIP`), the VPN user of 113019 (peer address `SourceIP`) and the
//!   administrator of 111008–111010 (station `SourceIP`): each is the one who acted.
//! - The ACL name goes to `DeviceCustomString2`, as Sentinel's ASA parsing does; 106100's
//!   `hit-cnt` to `EventCount`; the reason of 106007, 302014, 113005 and 113019 to `Reason`.
//! - Threat detection (733100): the object to `DeviceCustomString1`, the rate id (`rate-1`) to
//!   `DeviceCustomString3`, the current burst rate, average rate and cumulative count to
//!   `FieldDeviceCustomNumber1`–`3` (and the deprecated `DeviceCustomNumber1`–`3` when they
//!   fit, as for CEF), each with its label.

use core::net::IpAddr;

use tern_parsers::AsaMessage;
use tern_parsers::vendor::cisco_asa::{Direction, DropRate, Endpoint, fields};

use super::json::{JsonObject, Record};

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

/// The columns of one side of a connection.
struct SideColumns {
    ip: &'static str,
    host: &'static str,
    port: &'static str,
    interface: &'static str,
    translated_ip: &'static str,
    translated_port: &'static str,
    user: &'static str,
}

const SOURCE: SideColumns = SideColumns {
    ip: "SourceIP",
    host: "SourceHostName",
    port: "SourcePort",
    interface: "DeviceInboundInterface",
    translated_ip: "SourceTranslatedAddress",
    translated_port: "SourceTranslatedPort",
    user: "SourceUserName",
};

const DESTINATION: SideColumns = SideColumns {
    ip: "DestinationIP",
    host: "DestinationHostName",
    port: "DestinationPort",
    interface: "DeviceOutboundInterface",
    translated_ip: "DestinationTranslatedAddress",
    translated_port: "DestinationTranslatedPort",
    user: "DestinationUserName",
};

fn port_number(port: Option<&str>) -> Option<i64> {
    port.and_then(|p| p.parse::<u16>().ok()).map(i64::from)
}

/// Writes one side: the endpoint, the interface when the endpoint names none, and the user.
fn write_side(
    row: &mut JsonObject<'_, impl Record>,
    columns: &SideColumns,
    end: Option<&Endpoint<'_>>,
    interface: Option<&str>,
    user: Option<&str>,
) {
    if let Some(end) = end {
        let is_ip = end.address.parse::<IpAddr>().is_ok();
        if is_ip {
            row.string(columns.ip, end.address);
        }
        if let Some(host) = (!is_ip).then_some(end.address).or(end.host) {
            row.string(columns.host, host);
        }
        if let Some(port) = port_number(end.port) {
            row.int(columns.port, port);
        }
        let translated = end
            .mapped_address
            .filter(|m| m.parse::<IpAddr>().is_ok())
            .filter(|m| (Some(*m), end.mapped_port) != (Some(end.address), end.port));
        if let Some(mapped) = translated {
            row.string(columns.translated_ip, mapped);
            if let Some(port) = port_number(end.mapped_port) {
                row.int(columns.translated_port, port);
            }
        }
    }
    if let Some(name) = end.and_then(|e| e.interface).or(interface) {
        row.string(columns.interface, name);
    }
    if let Some(user) = user {
        row.string(columns.user, user);
    }
}

/// 733100's object, rate id and counts, with their labels.
fn write_drop_rate(row: &mut JsonObject<'_, impl Record>, rate: &DropRate<'_>) {
    if let Some(object) = rate.object {
        row.string("DeviceCustomString1", object);
        row.string("DeviceCustomString1Label", "Threat detection object");
    }
    if let Some(id) = rate.rate_id {
        row.string("DeviceCustomString3", id);
        row.string("DeviceCustomString3Label", "Drop rate");
    }
    let numbers = [
        (rate.burst_rate, "Current burst rate"),
        (rate.average_rate, "Current average rate"),
        (rate.total_count, "Cumulative total count"),
    ];
    let columns = [
        (
            "FieldDeviceCustomNumber1",
            "DeviceCustomNumber1",
            "DeviceCustomNumber1Label",
        ),
        (
            "FieldDeviceCustomNumber2",
            "DeviceCustomNumber2",
            "DeviceCustomNumber2Label",
        ),
        (
            "FieldDeviceCustomNumber3",
            "DeviceCustomNumber3",
            "DeviceCustomNumber3Label",
        ),
    ];
    for ((value, label), (column, legacy, label_column)) in numbers.into_iter().zip(columns) {
        let Some(n) = value.and_then(|v| v.parse::<i64>().ok()) else {
            continue;
        };
        row.int(column, n);
        if let Ok(n) = i32::try_from(n) {
            row.int(legacy, i64::from(n));
        }
        row.string(label_column, label);
    }
}

/// `SimplifiedDeviceAction` of an ASA message: by message id where the id says more than the
/// verb (ASIM's Cisco ASA parser: 106013 drops a ping, 710003 denies and 710004/710005 drop
/// to-the-box traffic, 710002 permits it), else from the verb.
fn simplified_action<'a>(message_id: &str, action: Option<&'a str>) -> Option<&'a str> {
    match message_id {
        "106013" | "710004" | "710005" => Some("Drop"),
        "710003" => Some("Deny"),
        "710002" => Some("Allow"),
        _ => action.and_then(super::device_action::simplified),
    }
}

pub fn write(asa: &AsaMessage<'_>, row: &mut JsonObject<'_, impl Record>) {
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
    if let Some(simplified) = simplified_action(asa.message_id, fields.action) {
        row.string("SimplifiedDeviceAction", simplified);
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
    write_side(
        row,
        &SOURCE,
        fields.source.as_ref(),
        fields.interface,
        fields.source_user,
    );
    write_side(
        row,
        &DESTINATION,
        fields.destination.as_ref(),
        fields.mapped_interface,
        fields.destination_user,
    );
    // The ACL name in DeviceCustomString2, as Sentinel's ASA parsing does (§4.4).
    if let Some(acl) = fields.acl {
        row.string("DeviceCustomString2", acl);
    }
    if let Some(count) = fields.hit_count.and_then(|c| c.parse::<i32>().ok()) {
        row.int("EventCount", i64::from(count));
    }
    if let Some(reason) = fields.reason {
        row.string("Reason", reason);
    }
    if let Some(rate) = &fields.drop_rate {
        write_drop_rate(row, rate);
    }
}

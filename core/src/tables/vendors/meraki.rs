//! Cisco Meraki, after Sentinel's Meraki ASIM parsers: the event type is the event class,
//! `Activity` the type and its sub-type (`security_event ids_alerted`, `events
//! vpn_connectivity_change`), addresses and ports from `src`/`dst` (`ip:port` split by the
//! parser) or `sport`/`dport`, `pattern:` and `allow`/`deny` words as the action (Meraki's `0`
//! is allow, `1` deny), `request: METHOD URL` split into method and URL, IDS priority as the
//! severity.

use std::borrow::Cow;

use tern_parsers::VendorMessage;

use super::Mapping;

pub const MAPPING: Mapping = Mapping {
    device_vendor: "Cisco",
    device_product: "Meraki",
    log_type_columns: &["DeviceEventClassID", "Activity"],
    fields: &[
        ("event_type", "DeviceEventClassID", ""),
        ("timestamp", "StartTime", ""),
        ("device", "DeviceName", ""),
        ("src_ip", "SourceIP", ""),
        ("src_port", "SourcePort", ""),
        ("dst_ip", "DestinationIP", ""),
        ("dst_port", "DestinationPort", ""),
        ("src", "SourceIP", ""),
        ("dst", "DestinationIP", ""),
        ("sport", "SourcePort", ""),
        ("dport", "DestinationPort", ""),
        ("mac", "SourceMACAddress", ""),
        ("shost", "SourceMACAddress", ""),
        ("client_mac", "SourceMACAddress", ""),
        ("dhost", "DestinationMACAddress", ""),
        ("protocol", "Protocol", ""),
        ("agent", "RequestClientApplication", ""),
        ("signature", "DeviceCustomString1", "Signature"),
        ("priority", "LogSeverity", ""),
        ("direction", "CommunicationDirection", ""),
        ("message", "Message", ""),
        ("sha256", "FileHash", ""),
        ("name", "FileName", ""),
        ("disposition", "Reason", ""),
        ("url", "RequestURL", ""),
        ("identity", "SourceUserName", ""),
        ("last_known_client_ip", "SourceIP", ""),
        ("ssid", "DeviceCustomString2", "SSID"),
        ("bssid", "DeviceCustomString3", "BSSID"),
        ("action", "DeviceAction", ""),
    ],
    derive: Some(derive),
    // `request: GET https://…` becomes RequestMethod and RequestURL.
    replaced: &[("request", &[&["RequestMethod", "RequestURL"]])],
};

fn derive<'a>(message: &VendorMessage<'a>, set: &mut dyn FnMut(&'static str, Cow<'a, str>)) {
    for (key, value) in message.fields() {
        match (&*key, value) {
            // `security_event ids_alerted`, `events type=…`: the sub-type completes Activity.
            ("" | "type", Cow::Borrowed(sub))
                if !sub.contains(' ') && !message.log_type.is_empty() && !sub.is_empty() =>
            {
                if sub == "allow" || sub == "deny" {
                    set("DeviceAction", Cow::Borrowed(sub));
                } else if key != "type" || message.log_type == "events" {
                    set(
                        "Activity",
                        Cow::Owned(format!("{} {sub}", message.log_type)),
                    );
                }
            }
            ("pattern", value) => {
                let word = value.split(' ').next().unwrap_or_default();
                let action = match word {
                    "0" | "allow" => "allow",
                    "1" | "deny" => "deny",
                    _ => continue,
                };
                set("DeviceAction", Cow::Borrowed(action));
            }
            ("request", Cow::Borrowed(request)) => {
                if let Some((method, url)) = request.split_once(' ') {
                    set("RequestMethod", Cow::Borrowed(method));
                    set("RequestURL", Cow::Borrowed(url.trim()));
                }
            }
            _ => {}
        }
    }
}

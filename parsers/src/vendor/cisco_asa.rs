//! Cisco ASA, FTD and PIX message tags: `%ASA-6-302013: text`.
//!
//! Owns: recognising the tag and reading product, level and message id. Field extraction per
//! message id belongs to the vendor-formats work and builds on [`AsaMessage::text`].

/// Which Cisco firewall family wrote the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsaProduct {
    Asa,
    Ftd,
    /// The ASA's predecessor; its messages share the ids and formats.
    Pix,
}

impl AsaProduct {
    /// The `DeviceProduct` value in CommonSecurityLog.
    pub fn name(self) -> &'static str {
        match self {
            AsaProduct::Asa => "ASA",
            AsaProduct::Ftd => "FTD",
            AsaProduct::Pix => "PIX",
        }
    }
}

/// A message with a Cisco ASA-family tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AsaMessage<'a> {
    pub product: AsaProduct,
    /// The syslog level digit 0–7 of the tag (the ASA's own severity).
    pub level: u8,
    /// The message id, e.g. `302013` (digits as written).
    pub message_id: &'a str,
    /// The text after `%ASA-6-302013:` with the separating space removed.
    pub text: &'a [u8],
}

fn product(prefix: &[u8]) -> Option<AsaProduct> {
    let p = prefix.get(..3)?;
    if p.eq_ignore_ascii_case(b"ASA") {
        Some(AsaProduct::Asa)
    } else if p.eq_ignore_ascii_case(b"FTD") {
        Some(AsaProduct::Ftd)
    } else if p.eq_ignore_ascii_case(b"PIX") {
        Some(AsaProduct::Pix)
    } else {
        None
    }
}

/// Parses a tag at the front of `content`: `%ASA-L-NNNNNN:` (also `%FTD-`, `%PIX-`, any case,
/// and without the `%` as some exports strip it). The colon may be missing at the very end.
#[inline]
pub fn parse_asa(content: &[u8]) -> Option<AsaMessage<'_>> {
    // Cheap rejection first: this runs on every message.
    if !matches!(
        content.first(),
        Some(b'%' | b'A' | b'a' | b'F' | b'f' | b'P' | b'p')
    ) {
        return None;
    }
    let body = content.strip_prefix(b"%").unwrap_or(content);
    let product = product(body)?;
    let rest = body.get(3..)?.strip_prefix(b"-")?;
    let level = *rest.first()?;
    if !(b'0'..=b'7').contains(&level) {
        return None;
    }
    let rest = rest.get(1..)?.strip_prefix(b"-")?;
    let id_len = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if !(5..=7).contains(&id_len) {
        return None;
    }
    let message_id = std::str::from_utf8(rest.get(..id_len)?).ok()?;
    let after = rest.get(id_len..)?;
    let text = match after.first() {
        Some(b':') => after.get(1..)?,
        None => after,
        Some(b' ') => after,
        Some(_) => return None,
    };
    let text = text.strip_prefix(b" ").unwrap_or(text);
    Some(AsaMessage {
        product,
        level: level - b'0',
        message_id,
        text,
    })
}

/// Whether `content` starts with an ASA-family tag.
pub fn is_asa_tag(content: &[u8]) -> bool {
    parse_asa(content).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags() {
        let m = parse_asa(b"%ASA-6-302013: Built outbound TCP").unwrap();
        assert_eq!(
            (m.product, m.level, m.message_id),
            (AsaProduct::Asa, 6, "302013")
        );
        assert_eq!(m.text, b"Built outbound TCP");
        let m = parse_asa(b"%ftd-1-430002: x").unwrap();
        assert_eq!(m.product, AsaProduct::Ftd);
        let m = parse_asa(b"ASA-2-106001: Inbound").unwrap();
        assert_eq!(m.level, 2);
        let m = parse_asa(b"%ASA-4-401004").unwrap();
        assert_eq!(m.text, b"");
        assert!(parse_asa(b"%SYS-5-CONFIG_I: x").is_none());
        assert!(parse_asa(b"%ASA-9-302013: x").is_none());
        assert!(parse_asa(b"%ASA-6-30: x").is_none());
        assert!(parse_asa(b"%ASA-6-302013x").is_none());
    }
}

/// One end of a connection in an ASA message: `interface:address/port`, `address/port`,
/// `interface/address(port)` (106100), or a bare address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint<'a> {
    pub interface: Option<&'a str>,
    pub address: &'a str,
    /// As written: a number, or a service name the ASA substituted (`ssh`).
    pub port: Option<&'a str>,
}

/// Which way a connection was set up, where the message says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Inbound,
    Outbound,
}

/// Fields of the connection and access messages the Sentinel ASIM parser handles (106001,
/// 106002, 106006, 106007, 106010, 106012–106018, 106020–106023, 106100, 302013–302016,
/// 302020, 302021, 710002–710005) and their kin; other ids give the defaults (`None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AsaFields<'a> {
    /// The verb as written: `Built`, `Teardown`, `Deny`, `denied`, `permitted`, `discarded`…
    pub action: Option<&'a str>,
    pub protocol: Option<&'a str>,
    pub direction: Option<Direction>,
    /// The initiator: for "Built outbound" the `to` side, otherwise the `from`/`src`/`for` side.
    pub source: Option<Endpoint<'a>>,
    pub destination: Option<Endpoint<'a>>,
    /// The access list (`by access-group "NAME"`, `access-list NAME`).
    pub acl: Option<&'a str>,
    /// `on interface NAME`.
    pub interface: Option<&'a str>,
}

fn is_protocol(word: &str) -> bool {
    [
        "tcp", "udp", "icmp", "icmp6", "gre", "esp", "ah", "sctp", "ip",
    ]
    .iter()
    .any(|p| p.eq_ignore_ascii_case(word))
}

/// Reads an endpoint token (punctuation around it already trimmed).
fn endpoint(token: &str) -> Option<Endpoint<'_>> {
    // `interface/address(port)` (106100).
    if let Some(open) = token.find('(') {
        let (head, tail) = token.split_at(open);
        let port = tail.trim_start_matches('(').trim_end_matches(')');
        let (interface, address) = head.split_once('/')?;
        return Some(Endpoint {
            interface: Some(interface),
            address,
            port: (!port.is_empty()).then_some(port),
        });
    }
    // An interface name before the first `:`, unless the token is an IPv6 address.
    let (interface, rest) = match token.split_once(':') {
        Some((name, rest))
            if !name.is_empty()
                && name.bytes().any(|b| !b.is_ascii_hexdigit())
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.') =>
        {
            (Some(name), rest)
        }
        _ => (None, token),
    };
    let (address, port) = match rest.rsplit_once('/') {
        Some((address, port)) => (address, Some(port)),
        None => (rest, None),
    };
    (!address.is_empty()).then_some(Endpoint {
        interface,
        address,
        port: port.filter(|p| !p.is_empty()),
    })
}

/// Words of a message looked at; the fields of every handled id come well before this.
const MAX_WORDS: usize = 40;

/// Extracts the connection fields from an ASA message's text.
pub fn fields<'a>(message: &AsaMessage<'a>) -> AsaFields<'a> {
    // Only the connection and access families: other messages' words are prose.
    let id = message.message_id;
    let handled = ["1060", "1061", "3020", "7100"]
        .iter()
        .any(|p| id.starts_with(p));
    let Ok(text) = std::str::from_utf8(message.text) else {
        return AsaFields::default();
    };
    if !handled {
        return AsaFields::default();
    }
    // The first words, on the stack: the fields all sit early in these messages.
    let mut buffer: [&str; MAX_WORDS] = [""; MAX_WORDS];
    let mut count = 0;
    for (slot, word) in buffer.iter_mut().zip(
        text.split(' ')
            .filter(|w| !w.is_empty())
            .map(|w| w.trim_end_matches([',', '.', ';'])),
    ) {
        *slot = word;
        count += 1;
    }
    let words = buffer.get(..count).unwrap_or_default();
    let mut f = AsaFields::default();
    let after = |key: &str| -> Option<&'a str> {
        words
            .iter()
            .position(|w| w.eq_ignore_ascii_case(key))
            .and_then(|i| words.get(i + 1).copied())
    };
    f.action = words.first().copied().filter(|w| {
        ["Built", "Teardown", "Deny", "Inbound", "TCP", "UDP", "ICMP"].contains(w)
            || w.eq_ignore_ascii_case("access-list")
    });
    f.protocol = words.iter().copied().find(|w| is_protocol(w));
    if words.iter().any(|w| w.eq_ignore_ascii_case("inbound")) {
        f.direction = Some(Direction::Inbound);
    } else if words.iter().any(|w| w.eq_ignore_ascii_case("outbound")) {
        f.direction = Some(Direction::Outbound);
    }
    // The verb of messages that start with a noun.
    for verb in [
        "denied",
        "permitted",
        "discarded",
        "est-allowed",
        "Deny",
        "Built",
        "Teardown",
    ] {
        if words.contains(&verb) {
            f.action = Some(verb);
            break;
        }
    }
    f.acl = after("access-group")
        .map(|acl| acl.trim_matches('"'))
        .or_else(|| {
            (message.message_id == "106100")
                .then(|| after("access-list"))
                .flatten()
        });
    if let Some(i) = words.windows(2).position(|w| w == ["on", "interface"]) {
        f.interface = words.get(i + 2).copied();
    }
    let pair = |first: &str, second: &str| -> Option<(Endpoint<'a>, Endpoint<'a>)> {
        Some((endpoint(after(first)?)?, endpoint(after(second)?)?))
    };
    let ends = match message.message_id {
        "302013" | "302014" | "302015" | "302016" | "302017" | "302018" => pair("for", "to"),
        "302020" | "302021" => pair("faddr", "laddr"),
        "106100" => words.iter().position(|w| *w == "->").and_then(|arrow| {
            let src = words.get(arrow.checked_sub(1)?).and_then(|w| endpoint(w));
            let dst = words.get(arrow + 1).and_then(|w| endpoint(w));
            src.zip(dst)
        }),
        _ => pair("src", "dst").or_else(|| pair("from", "to")),
    };
    if let Some((first, second)) = ends {
        // "Built outbound": the connection was opened from the `to` (inside) side.
        let swap = f.direction == Some(Direction::Outbound)
            && matches!(
                message.message_id,
                "302013" | "302015" | "302017" | "302020"
            );
        (f.source, f.destination) = if swap {
            (Some(second), Some(first))
        } else {
            (Some(first), Some(second))
        };
    }
    f
}

#[cfg(test)]
mod field_tests {
    use super::*;

    fn f(text: &str) -> AsaFields<'_> {
        fields(&parse_asa(text.as_bytes()).unwrap())
    }

    fn ep<'a>(
        interface: Option<&'a str>,
        address: &'a str,
        port: Option<&'a str>,
    ) -> Option<Endpoint<'a>> {
        Some(Endpoint {
            interface,
            address,
            port,
        })
    }

    #[test]
    fn built_outbound_swaps_roles() {
        let x = f(
            "%ASA-6-302013: Built outbound TCP connection 9 for outside:10.1.2.1/22 (10.1.2.1/22) to inside:10.1.1.2/53496 (10.1.1.2/53496)",
        );
        assert_eq!(x.action, Some("Built"));
        assert_eq!(x.protocol, Some("TCP"));
        assert_eq!(x.direction, Some(Direction::Outbound));
        assert_eq!(x.source, ep(Some("inside"), "10.1.1.2", Some("53496")));
        assert_eq!(x.destination, ep(Some("outside"), "10.1.2.1", Some("22")));
        let x = f(
            "%ASA-6-302013: Built inbound TCP connection 1 for outside:198.51.100.7/4444 (198.51.100.7/4444) to inside:10.0.0.5/22 (10.0.0.5/22)",
        );
        assert_eq!(x.source, ep(Some("outside"), "198.51.100.7", Some("4444")));
        assert_eq!(x.destination, ep(Some("inside"), "10.0.0.5", Some("22")));
    }

    #[test]
    fn teardown_deny_and_access_lists() {
        let x = f(
            "%ASA-6-302014: Teardown TCP connection 4211 for external:171.70.168.183/53 to mgmt:192.168.1.185/1032 duration 0:00:00 bytes 526",
        );
        assert_eq!((x.action, x.protocol), (Some("Teardown"), Some("TCP")));
        assert_eq!(x.source, ep(Some("external"), "171.70.168.183", Some("53")));
        assert_eq!(
            x.destination,
            ep(Some("mgmt"), "192.168.1.185", Some("1032"))
        );
        let x = f(
            r#"%ASA-4-106023: Deny tcp src inside:111.11.11.1/2143 dst YYY:172.11.1.11/139 by access-group "inside_inbound" [0x0, 0x0]"#,
        );
        assert_eq!(
            (x.action, x.protocol, x.acl),
            (Some("Deny"), Some("tcp"), Some("inside_inbound"))
        );
        assert_eq!(x.source, ep(Some("inside"), "111.11.11.1", Some("2143")));
        assert_eq!(x.destination, ep(Some("YYY"), "172.11.1.11", Some("139")));
        let x = f(
            "%ASA-6-106100: access-list outside-entry permitted tcp outside/10.11.12.13(54726) -> inside/192.168.17.18(80) hit-cnt 1 300-second interval [0x32b3835, 0x0]",
        );
        assert_eq!(
            (x.action, x.acl, x.protocol),
            (Some("permitted"), Some("outside-entry"), Some("tcp"))
        );
        assert_eq!(x.source, ep(Some("outside"), "10.11.12.13", Some("54726")));
        assert_eq!(
            x.destination,
            ep(Some("inside"), "192.168.17.18", Some("80"))
        );
    }

    #[test]
    fn from_to_forms_and_interfaces() {
        let x = f(
            "%ASA-2-106001: Inbound TCP connection denied from 111.93.241.59/54322 to 116.6.127.122/1433 flags SYN on interface outside",
        );
        assert_eq!(
            (x.action, x.direction, x.interface),
            (Some("denied"), Some(Direction::Inbound), Some("outside"))
        );
        assert_eq!(x.source, ep(None, "111.93.241.59", Some("54322")));
        assert_eq!(x.destination, ep(None, "116.6.127.122", Some("1433")));
        let x = f(
            "%ASA-3-710003: TCP access denied by ACL from 179.236.133.160/8949 to outside:72.142.18.38/23",
        );
        assert_eq!(
            x.destination,
            ep(Some("outside"), "72.142.18.38", Some("23"))
        );
        let x = f(
            "%ASA-6-302020: Built inbound ICMP connection for faddr 10.137.200.251/18425 gaddr 10.137.10.1/0 laddr 10.137.10.10/0",
        );
        assert_eq!(x.source, ep(None, "10.137.200.251", Some("18425")));
        assert_eq!(x.destination, ep(None, "10.137.10.10", Some("0")));
        let x = f(
            "%ASA-6-302015: Built inbound UDP connection 2 for outside:2001:db8::1/53 (2001:db8::1/53) to inside:2001:db8::2/5353 (2001:db8::2/5353)",
        );
        assert_eq!(x.source, ep(Some("outside"), "2001:db8::1", Some("53")));
        let other = f(
            "%ASA-5-111008: User 'admin' executed the 'ip route 0.0.0.0 0.0.0.0 10.0.0.1' command.",
        );
        assert_eq!(other, AsaFields::default());
    }
}

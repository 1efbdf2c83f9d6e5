//! Cisco ASA, FTD and PIX message tags: `%ASA-6-302013: text`.
//!
//! Owns: recognising the tag and reading product, level and message id, and [`fields`]: the
//! connection, NAT, AAA, command and threat-detection fields of the message ids Sentinel's ASA
//! parsing handles and their kin (formats from Cisco's "ASA Series Syslog Messages", checked
//! against real samples). Which field lands in which column is the forwarder's business.

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
    let rest = skip_class(body.get(3..)?.strip_prefix(b"-")?);
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

/// Skips a message class written before the level (`auth-` of `%ASA-auth-4-113004`, as some
/// collectors' exports have it); anything else is returned as it is.
fn skip_class(rest: &[u8]) -> &[u8] {
    if !rest.first().is_some_and(u8::is_ascii_lowercase) {
        return rest;
    }
    // Class names are short (`auth`, `session`, `mdm-proxy`): look a few bytes ahead only.
    let end = rest
        .windows(3)
        .take(20)
        .position(|w| matches!(w, [b'-', b'0'..=b'7', b'-']));
    match end {
        Some(i)
            if rest.get(..i).is_some_and(|class| {
                class.iter().all(|b| b.is_ascii_lowercase() || *b == b'-')
            }) =>
        {
            rest.get(i + 1..).unwrap_or(rest)
        }
        _ => rest,
    }
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
        let m = parse_asa(b"%ASA-auth-4-113004: AAA user").unwrap();
        assert_eq!(
            (m.level, m.message_id, m.text),
            (4, "113004", &b"AAA user"[..])
        );
        let m = parse_asa(b"%FTD-mdm-proxy-6-302013: x").unwrap();
        assert_eq!(m.message_id, "302013");
        assert!(parse_asa(b"%ASA-auth-9-113004: x").is_none());
        assert!(parse_asa(b"%ASA-Auth-4-113004: x").is_none());
    }
}

/// One end of a connection in an ASA message: `interface:address/port`, `address/port`,
/// `interface/address(port)` (106100), or a bare address; with the NAT-mapped side where the
/// message gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Endpoint<'a> {
    pub interface: Option<&'a str>,
    /// As written: an IP address, or a name the ASA substituted (`names`, FQDN objects).
    pub address: &'a str,
    /// As written: a number, or a service name the ASA substituted (`ssh`).
    pub port: Option<&'a str>,
    /// The address on the other side of NAT: the `(mapped/port)` of 302013/302015, the `gaddr`
    /// of 302020/302021, the `to` side of 305011/305012.
    pub mapped_address: Option<&'a str>,
    pub mapped_port: Option<&'a str>,
    /// An FQDN written after the address where a user may also stand (106010, 106014, 106023).
    pub host: Option<&'a str>,
}

/// Which way a connection was set up, where the message says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Inbound,
    Outbound,
}

/// Threat detection's rate report (733100), values as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DropRate<'a> {
    /// What is dropped: a host address, a port (`RDP 3389`) or a kind of drop (`Scanning`,
    /// `ACL drop`), from between the brackets; `None` when they are empty.
    pub object: Option<&'a str>,
    /// Which configured rate was exceeded (`rate-1` to `rate-3`).
    pub rate_id: Option<&'a str>,
    pub burst_rate: Option<&'a str>,
    pub max_burst_rate: Option<&'a str>,
    pub average_rate: Option<&'a str>,
    pub max_average_rate: Option<&'a str>,
    pub total_count: Option<&'a str>,
}

/// Fields of the messages the Sentinel ASIM parser handles (106001, 106002, 106006, 106007,
/// 106010, 106012–106018, 106020–106023, 106100, 302013–302016, 302020, 302021, 710002–710005)
/// and their kin, NAT (305011, 305012), AAA and VPN users (113004, 113005, 113019), commands
/// (111008–111010) and threat detection (733100); other ids give the defaults (`None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AsaFields<'a> {
    /// The verb as written: `Built`, `Teardown`, `Deny`, `denied`, `permitted`, `discarded`,
    /// `Dropping`, `exceeded`, `Successful`, `Rejected`, `executed`, `disconnected`…
    pub action: Option<&'a str>,
    /// As written (`TCP`, `udp`), or the number of `protocol 47`.
    pub protocol: Option<&'a str>,
    pub direction: Option<Direction>,
    /// The initiator: for "Built outbound" the `to` (inside) side, otherwise the side written
    /// first (`from`, `src`, `for`, `faddr`): Teardown messages do not say who opened the
    /// connection. For 113004/113005 the user's address; for 111010 the admin's station.
    pub source: Option<Endpoint<'a>>,
    /// For 113004/113005 the AAA server.
    pub destination: Option<Endpoint<'a>>,
    /// The user on the source side: an identity-firewall user next to the address
    /// (`(LOCAL\alice)`), the AAA user of 302013/302015 and 113004/113005, the VPN user of
    /// 113019, the admin of 111008–111010.
    pub source_user: Option<&'a str>,
    /// An identity-firewall user next to the destination address.
    pub destination_user: Option<&'a str>,
    /// The access list (`by access-group "NAME"`, `access-list NAME`, `outbound list NAME`).
    pub acl: Option<&'a str>,
    /// `on interface NAME`: where the packet arrived.
    pub interface: Option<&'a str>,
    /// 305011/305012: the interface of the mapped address.
    pub mapped_interface: Option<&'a str>,
    /// Why: 106007's DNS query or response, the teardown reason of 302014 (`TCP FINs`), the
    /// AAA rejection reason of 113005, the disconnect reason of 113019.
    pub reason: Option<&'a str>,
    /// 106100's `hit-cnt`.
    pub hit_count: Option<&'a str>,
    pub drop_rate: Option<DropRate<'a>>,
}

/// Words of a message looked at; the fields of every handled id come well before this.
const MAX_WORDS: usize = 40;

/// Verbs that say what the firewall did with a connection or packet.
const VERBS: [&str; 10] = [
    "Built",
    "Teardown",
    "Deny",
    "denied",
    "permitted",
    "discarded",
    "requested",
    "exceeded",
    "Dropping",
    "est-allowed",
];

/// Extracts the fields of an ASA message's text (see [`AsaFields`]).
pub fn fields<'a>(message: &AsaMessage<'a>) -> AsaFields<'a> {
    let Ok(text) = std::str::from_utf8(message.text) else {
        return AsaFields::default();
    };
    let id = message.message_id;
    match id {
        "113004" | "113005" => aaa(text),
        "113019" => vpn_session(text),
        "111008" | "111009" | "111010" => command(text),
        "733100" => drop_rate(text),
        "305011" | "305012" => translation(text),
        "106100" => access_list(text),
        // Only the connection and access families: other messages' words are prose.
        _ if ["1060", "3020", "7100"].iter().any(|p| id.starts_with(p)) => connection(id, text),
        _ => AsaFields::default(),
    }
}

/// The first words of `text`, on the stack, with trailing `,` `.` `;` trimmed.
fn words<'a, 'b>(text: &'a str, buffer: &'b mut [&'a str; MAX_WORDS]) -> &'b [&'a str] {
    let mut count = 0;
    let split = text
        .split(' ')
        .map(|w| w.trim_end_matches([',', '.', ';']))
        .filter(|w| !w.is_empty());
    for (slot, word) in buffer.iter_mut().zip(split) {
        *slot = word;
        count += 1;
    }
    buffer.get(..count).unwrap_or_default()
}

fn position(words: &[&str], from: usize, word: &str) -> Option<usize> {
    let found = words.get(from..)?.iter().position(|w| *w == word)?;
    Some(from + found)
}

fn is_protocol(word: &str) -> bool {
    [
        "tcp", "udp", "icmp", "icmp6", "gre", "esp", "ah", "sctp", "ip", "igmp", "pim", "ospf",
        "eigrp",
    ]
    .iter()
    .any(|p| p.eq_ignore_ascii_case(word))
}

fn is_number(word: &str) -> bool {
    !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit())
}

/// The protocol among the leading words: a name, or the number of `protocol 47`.
fn protocol<'a>(head: &[&'a str]) -> Option<&'a str> {
    let numbered = head
        .windows(2)
        .find(|w| w.first() == Some(&"protocol") && w.get(1).is_some_and(|n| is_number(n)))
        .and_then(|w| w.get(1).copied());
    numbered.or_else(|| head.iter().copied().find(|w| is_protocol(w)))
}

fn direction(head: &[&str]) -> Option<Direction> {
    if head.iter().any(|w| w.eq_ignore_ascii_case("inbound")) {
        Some(Direction::Inbound)
    } else if head.iter().any(|w| w.eq_ignore_ascii_case("outbound")) {
        Some(Direction::Outbound)
    } else {
        None
    }
}

/// Characters of an address or name as the ASA writes it; anything else (`***`, `[source`,
/// `<public`) is a redaction or a template placeholder, not an address.
fn plausible(address: &str) -> bool {
    !address.is_empty()
        && address
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b':' | b'-' | b'_' | b'%'))
}

fn plausible_port(port: &str) -> bool {
    !port.is_empty()
        && port
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

/// Whether `name` before the first `:` of `name:rest` is an interface rather than the first
/// group of a bare IPv6 address (at most four hex digits, and more colons follow).
fn is_interface(name: &str, rest: &str) -> bool {
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    let ipv6_group = name.len() <= 4 && name.bytes().all(|b| b.is_ascii_hexdigit());
    valid && !(ipv6_group && rest.contains(':'))
}

/// `address/port` or `address`.
fn address_port(text: &str) -> (&str, Option<&str>) {
    match text.rsplit_once('/') {
        Some((address, port)) => (address, Some(port).filter(|p| plausible_port(p))),
        None => (text, None),
    }
}

/// The first parenthesised group of `text` (`(LOCAL\alice)`, `(LOCAL\alice, 5:Eng)`), without
/// the parentheses; `None` for 106014's `(type 8, code 0)`.
fn note(text: &str) -> Option<&str> {
    let inner = text.strip_prefix('(')?;
    let note = inner.split([',', ')']).next().unwrap_or(inner).trim();
    (!note.is_empty() && note != "type").then_some(note)
}

/// Reads an endpoint token, and the note glued after it (`inside:10.0.0.1/80(LOCAL\alice)`).
fn endpoint(token: &str) -> Option<(Endpoint<'_>, Option<&str>)> {
    // 106016 writes the spoofed address in parentheses.
    let token = match token.strip_prefix('(') {
        Some(inner) => inner.strip_suffix(')').unwrap_or(inner),
        None => token,
    };
    // `inside(acl-name):10.0.0.1/80` (305012) names the NAT rule's ACL after the interface.
    let (named, token) = match token.split_once("):") {
        Some((head, rest)) => (head.split_once('(').map(|(name, _)| name), rest),
        None => (None, token),
    };
    let (token, note) = match token.find('(') {
        Some(open) => (token.get(..open)?, token.get(open..).and_then(note)),
        None => (token, None),
    };
    let (interface, rest) = match (named, token.split_once(':')) {
        (Some(name), _) => (Some(name), token),
        (None, Some((name, rest))) if is_interface(name, rest) => (Some(name), rest),
        _ => (None, token),
    };
    let (address, port) = address_port(rest);
    plausible(address).then_some((
        Endpoint {
            interface: interface.filter(|i| !i.is_empty()),
            address,
            port,
            ..Endpoint::default()
        },
        note,
    ))
}

/// 106100's `interface/address(port)`, and the note glued after it.
fn slash_endpoint(token: &str) -> Option<(Endpoint<'_>, Option<&str>)> {
    let (interface, rest) = token.split_once('/')?;
    let (address, rest) = rest.split_once('(')?;
    let (port, rest) = rest.split_once(')').unwrap_or((rest, ""));
    plausible(address).then_some((
        Endpoint {
            interface: Some(interface).filter(|i| !i.is_empty()),
            address,
            port: Some(port).filter(|p| plausible_port(p)),
            ..Endpoint::default()
        },
        note(rest),
    ))
}

/// One side of a connection: the endpoint and the notes written after it.
struct Side<'a> {
    end: Endpoint<'a>,
    /// The first note is the side's own user; a second is 302013's AAA `(user)`.
    notes: [Option<&'a str>; 2],
}

impl<'a> Side<'a> {
    fn push(&mut self, note: Option<&'a str>) {
        if let Some(slot) = self.notes.iter_mut().find(|n| n.is_none()) {
            *slot = note;
        }
    }

    /// The note as an identity-firewall user (`DOMAIN\user`) or, where the format allows an
    /// FQDN in its place, as the host name.
    fn user_or_host(&mut self) -> Option<&'a str> {
        match self.notes.first().copied().flatten() {
            Some(note) if !note.contains('\\') => {
                self.end.host = Some(note);
                None
            }
            note => note,
        }
    }
}

/// What may follow an endpoint besides notes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum After {
    /// Nothing: the format has no notes (106001, 7100xx: `(current connections…)` is prose).
    Nothing,
    Notes,
    /// 302013/302015: the first parenthesised address is the NAT-mapped one.
    Mapped,
    /// 106002/106018 write the port as a separate word: `src 10.0.0.1 138 dest`.
    Port,
}

/// The endpoint at `words[at]`, then what follows it before `limit` (see [`After`]).
fn side<'a>(
    parsed: (Endpoint<'a>, Option<&'a str>),
    words: &[&'a str],
    at: usize,
    limit: usize,
    after_end: After,
) -> Side<'a> {
    let (end, glued) = parsed;
    let mut side = Side {
        end,
        notes: [glued, None],
    };
    if after_end == After::Nothing {
        side.notes = [None, None];
        return side;
    }
    let after = words.get(at + 1..limit.max(at + 1)).unwrap_or_default();
    for (n, word) in after.iter().enumerate() {
        if after_end == After::Port && n == 0 && side.end.port.is_none() && is_number(word) {
            side.end.port = Some(word);
            continue;
        }
        let Some(inner) = word.strip_prefix('(') else {
            break;
        };
        // `(mapped/port)(LOCAL\alice)` comes as one word.
        for group in inner.split(")(") {
            let group = group.trim_end_matches(')');
            let (address, port) = address_port(group);
            let is_address = group.contains('/') || address.parse::<std::net::IpAddr>().is_ok();
            if after_end == After::Mapped
                && side.end.mapped_address.is_none()
                && is_address
                && plausible(address)
            {
                side.end.mapped_address = Some(address);
                side.end.mapped_port = port;
            } else {
                let note = group.split(',').next().unwrap_or(group).trim();
                if !note.is_empty() && note != "type" {
                    side.push(Some(note));
                }
            }
        }
    }
    side
}

/// The side whose endpoint is the word after `keyword`, up to `limit`.
fn side_after<'a>(
    words: &[&'a str],
    keyword_at: usize,
    limit: usize,
    after_end: After,
) -> Option<Side<'a>> {
    let at = keyword_at + 1;
    let parsed = endpoint(words.get(at)?)?;
    Some(side(parsed, words, at, limit, after_end))
}

/// Connection and access messages: 1060xx, 3020xx and 7100xx.
fn connection<'a>(id: &str, text: &'a str) -> AsaFields<'a> {
    let mut buffer = [""; MAX_WORDS];
    let words = words(text, &mut buffer);
    let mut f = AsaFields::default();
    // The verb, the protocol and the direction come before the first endpoint.
    let head_len = words
        .iter()
        .position(|w| matches!(*w, "src" | "from" | "for"))
        .unwrap_or(words.len());
    let head = words.get(..head_len).unwrap_or_default();
    f.action = head.iter().copied().find(|w| VERBS.contains(w));
    f.protocol = protocol(head);
    f.direction = direction(head);
    if id == "106013" {
        // An echo request is ICMP.
        f.protocol = Some("ICMP");
    }
    if matches!(id, "106002" | "106018") {
        f.acl = position(head, 0, "list").and_then(|i| head.get(i + 1).copied());
    } else if let Some((_, after)) = text.split_once("access-group ") {
        f.acl = match after.strip_prefix('"') {
            Some(quoted) => quoted.split('"').next(),
            None => after.split(' ').next(),
        }
        .filter(|acl| !acl.is_empty());
    }
    if let Some(i) = words.windows(2).position(|w| w == ["on", "interface"]) {
        f.interface = words.get(i + 2).copied();
    }
    if id == "106007" {
        f.reason = text
            .split_once("due to ")
            .map(|(_, why)| why.trim().trim_end_matches('.'));
    }
    if matches!(id, "302014" | "302016") {
        f.reason = teardown_reason(text);
    }
    let built = f.action == Some("Built");
    let after_for_to = if built { After::Mapped } else { After::Notes };
    let after_src_dst = if matches!(id, "106002" | "106018") {
        After::Port
    } else {
        After::Notes
    };
    let (mut first, mut second) = if let Some(faddr) = position(words, 0, "faddr") {
        icmp_sides(words, faddr)
    } else if id.starts_with("3020") {
        let first = words.iter().position(|w| matches!(*w, "for" | "from"));
        match first.and_then(|i| Some((i, position(words, i + 2, "to")?))) {
            Some((i, to)) => (
                side_after(words, i, to, after_for_to),
                side_after(words, to, words.len(), after_for_to),
            ),
            None => (None, None),
        }
    } else if let Some(src) = position(words, 0, "src") {
        let dst = position(words, src + 2, "dst").or_else(|| position(words, src + 2, "dest"));
        (
            side_after(words, src, dst.unwrap_or(words.len()), after_src_dst),
            dst.and_then(|d| side_after(words, d, words.len(), after_src_dst)),
        )
    } else if let Some(from) = position(words, 0, "from") {
        let to = position(words, from + 2, "to");
        // 106013: `to PAT address 192.0.2.1`.
        let to_address = to.map(|t| match words.get(t + 1..t + 3) {
            Some(["PAT", "address"]) => t + 2,
            _ => t,
        });
        (
            side_after(words, from, to.unwrap_or(words.len()), After::Nothing),
            to_address.and_then(|t| side_after(words, t, words.len(), After::Nothing)),
        )
    } else {
        (None, None)
    };
    // The note after an address: an identity-firewall user, or where the format allows an FQDN
    // in its place (1060xx), the host name.
    let fqdn_allowed = id.starts_with("1060");
    let user = |side: Option<&mut Side<'a>>| {
        let side = side?;
        if fqdn_allowed {
            side.user_or_host()
        } else {
            side.notes.first().copied().flatten()
        }
    };
    let first_user = user(first.as_mut());
    let second_user = user(second.as_mut());
    // 302013/302015 may end with the AAA user who opened the connection.
    let aaa_user = second
        .as_ref()
        .and_then(|s| s.notes.get(1).copied().flatten())
        .filter(|_| built);
    let (first, second) = (first.map(|s| s.end), second.map(|s| s.end));
    // "Built outbound": the connection was opened from the `to` (inside) side.
    let swap = f.direction == Some(Direction::Outbound)
        && built
        && matches!(id, "302013" | "302015" | "302017" | "302020");
    if swap {
        (f.source, f.destination) = (second, first);
        (f.source_user, f.destination_user) = (second_user, first_user);
    } else {
        (f.source, f.destination) = (first, second);
        (f.source_user, f.destination_user) = (first_user, second_user);
    }
    f.source_user = f.source_user.or(aaa_user);
    f
}

/// 302020/302021: `faddr F [(user)] gaddr G laddr L [(user)]`, the global address being the
/// local one's mapped address. The foreign side comes first, as written.
fn icmp_sides<'a>(words: &[&'a str], faddr: usize) -> (Option<Side<'a>>, Option<Side<'a>>) {
    let gaddr = position(words, faddr, "gaddr");
    let laddr = position(words, faddr, "laddr");
    let limit = gaddr.or(laddr).unwrap_or(words.len());
    let foreign = side_after(words, faddr, limit, After::Notes);
    let global = gaddr
        .and_then(|g| endpoint(words.get(g + 1)?))
        .map(|(e, _)| e);
    let local = laddr.and_then(|l| side_after(words, l, words.len(), After::Notes));
    let local = local.map(|mut side| {
        if let Some(global) = global {
            side.end.mapped_address = Some(global.address);
            side.end.mapped_port = global.port;
        }
        side
    });
    (foreign, local)
}

/// 302014's reason after `bytes N` (`TCP FINs`, `Conn-timeout`), without the trailing
/// `from <initiator>` and AAA `(user)`.
fn teardown_reason(text: &str) -> Option<&str> {
    let (_, after) = text.split_once(" bytes ")?;
    let (_, reason) = after.split_once(' ')?;
    let reason = match reason.trim_end().strip_suffix(')') {
        Some(open) => open.rsplit_once('(').map_or(reason, |(r, _)| r),
        None => reason,
    };
    let reason = reason.split(" from ").next().unwrap_or(reason).trim();
    (!reason.is_empty()).then_some(reason)
}

/// 106100: `access-list NAME VERB PROTOCOL if/src(port) -> if/dst(port) hit-cnt N …`.
fn access_list(text: &str) -> AsaFields<'_> {
    let mut buffer = [""; MAX_WORDS];
    let words = words(text, &mut buffer);
    let mut f = AsaFields {
        acl: words.get(1).copied(),
        action: words
            .get(2)
            .copied()
            .filter(|w| matches!(*w, "permitted" | "denied" | "est-allowed")),
        protocol: words
            .get(3)
            .copied()
            .filter(|w| is_protocol(w) || is_number(w)),
        ..AsaFields::default()
    };
    f.hit_count = position(words, 0, "hit-cnt").and_then(|i| words.get(i + 1).copied());
    let Some(arrow) = position(words, 4, "->") else {
        return f;
    };
    let first_note = |at: usize, limit: usize| {
        words
            .get(at + 1..limit)
            .and_then(|w| w.first())
            .and_then(|w| note(w))
    };
    let hit = position(words, arrow, "hit-cnt").unwrap_or(words.len());
    if let Some((end, glued)) = words.get(4).and_then(|w| slash_endpoint(w)) {
        f.source = Some(end);
        f.source_user = glued.or_else(|| first_note(4, arrow));
    }
    if let Some((end, glued)) = words.get(arrow + 1).and_then(|w| slash_endpoint(w)) {
        f.destination = Some(end);
        f.destination_user = glued.or_else(|| first_note(arrow + 1, hit));
    }
    f
}

/// 305011/305012: `Built dynamic TCP translation from inside:10.0.0.5/1234 to
/// outside:192.0.2.1/5555`: the source and the address it is mapped to.
fn translation(text: &str) -> AsaFields<'_> {
    let mut buffer = [""; MAX_WORDS];
    let words = words(text, &mut buffer);
    let mut f = AsaFields {
        action: words.first().copied().filter(|w| VERBS.contains(w)),
        protocol: words.get(2).copied().filter(|w| is_protocol(w)),
        ..AsaFields::default()
    };
    let Some(from) = position(words, 0, "from") else {
        return f;
    };
    let to = position(words, from + 2, "to");
    let Some(mut source) = side_after(words, from, to.unwrap_or(words.len()), After::Notes) else {
        return f;
    };
    if let Some((mapped, _)) = to.and_then(|t| endpoint(words.get(t + 1)?)) {
        source.end.mapped_address = Some(mapped.address);
        source.end.mapped_port = mapped.port;
        f.mapped_interface = mapped.interface;
    }
    f.source_user = source.notes.first().copied().flatten();
    f.source = Some(source.end);
    f
}

/// Where `key` starts in `text`, ASCII case ignored, at the start or after a separator.
fn find_key(text: &str, key: &str) -> Option<usize> {
    let key = key.as_bytes();
    let bytes = text.as_bytes();
    (0..bytes.len()).find(|&i| {
        bytes
            .get(i..i + key.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(key))
            && (i == 0
                || bytes
                    .get(i - 1)
                    .is_some_and(|b| matches!(b, b' ' | b',' | b':')))
    })
}

/// The value of `key = value` in an AAA message, up to the next `,` or a `:` that ends a word
/// (so that an IPv6 address stays whole); `None` when empty.
fn value_of<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let start = find_key(text, key)? + key.len();
    let rest = text.get(start..)?;
    let bytes = rest.as_bytes();
    let end = (0..bytes.len())
        .find(|&i| match bytes.get(i) {
            Some(b',') => true,
            Some(b':') => bytes.get(i + 1).is_none_or(|b| *b == b' '),
            _ => false,
        })
        .unwrap_or(bytes.len());
    let value = rest.get(..end)?.trim();
    (!value.is_empty()).then_some(value)
}

/// A bare address (`server = 10.0.0.1`) as an endpoint.
fn address_only(address: &str) -> Option<Endpoint<'_>> {
    plausible(address).then_some(Endpoint {
        address,
        ..Endpoint::default()
    })
}

/// 113004/113005: `AAA user authentication Rejected : reason = R : server = S : user = U : user
/// IP = A` (separators `:` or `,`, key case varies): the user and their address are the
/// source, the AAA server the destination.
fn aaa(text: &str) -> AsaFields<'_> {
    AsaFields {
        action: text
            .split(' ')
            .map(|w| w.trim_end_matches(':'))
            .find(|w| matches!(*w, "Successful" | "Rejected")),
        reason: value_of(text, "reason ="),
        source: value_of(text, "user IP =").and_then(address_only),
        source_user: value_of(text, "user ="),
        destination: value_of(text, "server =").and_then(address_only),
        ..AsaFields::default()
    }
}

/// 113019: `Group = G, Username = U, IP = A, Session disconnected. Session Type: T, Duration:
/// D, Bytes xmt: N, Bytes rcv: N, Reason: R`: the VPN user and peer address are the source.
fn vpn_session(text: &str) -> AsaFields<'_> {
    let mut f = AsaFields::default();
    for part in text.split(", ") {
        match part.split_once(" = ") {
            Some(("Username", user)) => f.source_user = Some(user.trim()).filter(|u| !u.is_empty()),
            Some(("IP", address)) => f.source = address_only(address.trim()),
            _ => {}
        }
        if let Some(reason) = part.strip_prefix("Reason: ") {
            f.reason = Some(reason.trim()).filter(|r| !r.is_empty());
        }
        if part.starts_with("Session disconnected") {
            f.action = Some("disconnected");
        }
    }
    f
}

/// 111008–111010: `User 'admin' executed the 'cmd' command`, `User 'admin', running 'CLI' from
/// IP 10.0.0.1, executed 'cmd'`: the admin is the source user, their station the source.
fn command(text: &str) -> AsaFields<'_> {
    let mut f = AsaFields::default();
    let Some(rest) = text.strip_prefix("User ") else {
        return f;
    };
    f.source_user = match rest.strip_prefix('\'') {
        Some(quoted) => quoted.split('\'').next(),
        None => rest.split([' ', ',']).next(),
    }
    .filter(|u| !u.is_empty());
    f.action = text
        .split([' ', ','])
        .find(|w| *w == "executed")
        .or_else(|| text.contains(" executed").then_some("executed"));
    f.source = text
        .split_once(" from IP ")
        .and_then(|(_, after)| after.split([',', ' ']).next())
        .and_then(address_only);
    f
}

/// The number after `key` in `text`, and the text after it.
fn number_after<'a>(text: &'a str, key: &str) -> Option<(&'a str, &'a str)> {
    let (_, after) = text.split_once(key)?;
    let end = after
        .find(|c: char| !(c.is_ascii_digit() || c == '-'))
        .unwrap_or(after.len());
    let number = after.get(..end)?;
    Some((number, after.get(end..)?)).filter(|(n, _)| !n.is_empty())
}

/// 733100: `[ Scanning] drop rate-1 exceeded. Current burst rate is 10 per second, max
/// configured rate is 10; Current average rate is 7 per second, max configured rate is 5;
/// Cumulative total count is 4323` (Cisco's documentation writes the object without brackets).
fn drop_rate(text: &str) -> AsaFields<'_> {
    let Some((object, rest)) = text.split_once(" drop ") else {
        return AsaFields::default();
    };
    let object = object
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim();
    let rate_id = rest.split_once(" exceeded").map(|(id, _)| id.trim());
    let (burst_rate, max_burst_rate, after_burst) =
        match number_after(rest, "Current burst rate is ") {
            Some((burst, after)) => {
                let max = number_after(after, "max configured rate is ");
                (
                    Some(burst),
                    max.map(|(n, _)| n),
                    max.map_or(after, |(_, a)| a),
                )
            }
            None => (None, None, rest),
        };
    let (average_rate, max_average_rate) =
        match number_after(after_burst, "Current average rate is ") {
            Some((average, after)) => (
                Some(average),
                number_after(after, "max configured rate is ").map(|(n, _)| n),
            ),
            None => (None, None),
        };
    AsaFields {
        action: rest.contains(" exceeded").then_some("exceeded"),
        drop_rate: Some(DropRate {
            object: Some(object).filter(|o| !o.is_empty()),
            rate_id: rate_id.filter(|r| !r.is_empty()),
            burst_rate,
            max_burst_rate,
            average_rate,
            max_average_rate,
            total_count: number_after(rest, "Cumulative total count is ").map(|(n, _)| n),
        }),
        ..AsaFields::default()
    }
}

#[cfg(test)]
mod field_tests {
    use super::*;

    fn f(text: &'static str) -> AsaFields<'static> {
        fields(&parse_asa(text.as_bytes()).unwrap())
    }

    fn ep(
        interface: Option<&'static str>,
        address: &'static str,
        port: Option<&'static str>,
    ) -> Option<Endpoint<'static>> {
        Some(Endpoint {
            interface,
            address,
            port,
            ..Endpoint::default()
        })
    }

    /// `end` with its NAT-mapped address.
    fn nat(
        end: Option<Endpoint<'static>>,
        address: &'static str,
        port: Option<&'static str>,
    ) -> Option<Endpoint<'static>> {
        end.map(|e| Endpoint {
            mapped_address: Some(address),
            mapped_port: port,
            ..e
        })
    }

    use Direction::{Inbound, Outbound};

    #[test]
    fn access_denials_106001_to_106007() {
        assert_eq!(
            f(
                "%ASA-2-106001: Inbound TCP connection denied from 198.51.100.7/54322 to 203.0.113.10/1433 flags SYN on interface outside"
            ),
            AsaFields {
                action: Some("denied"),
                protocol: Some("TCP"),
                direction: Some(Inbound),
                source: ep(None, "198.51.100.7", Some("54322")),
                destination: ep(None, "203.0.113.10", Some("1433")),
                interface: Some("outside"),
                ..AsaFields::default()
            }
        );
        // PIX writes the ports as separate words.
        assert_eq!(
            f(
                "%PIX-2-106002: udp connection denied by outbound list 30 src 10.1.1.5 138 dest 198.51.100.20 138"
            ),
            AsaFields {
                action: Some("denied"),
                protocol: Some("udp"),
                direction: Some(Outbound),
                source: ep(None, "10.1.1.5", Some("138")),
                destination: ep(None, "198.51.100.20", Some("138")),
                acl: Some("30"),
                ..AsaFields::default()
            }
        );
        assert_eq!(
            f(
                "%ASA-2-106006: Deny inbound UDP from 198.51.100.7/65020 to 203.0.113.10/161 on interface outside."
            ),
            AsaFields {
                action: Some("Deny"),
                protocol: Some("UDP"),
                direction: Some(Inbound),
                source: ep(None, "198.51.100.7", Some("65020")),
                destination: ep(None, "203.0.113.10", Some("161")),
                interface: Some("outside"),
                ..AsaFields::default()
            }
        );
        assert_eq!(
            f(
                "%ASA-2-106007: Deny inbound UDP from 198.51.100.53/53 to 10.0.0.5/33123 due to DNS Response."
            ),
            AsaFields {
                action: Some("Deny"),
                protocol: Some("UDP"),
                direction: Some(Inbound),
                source: ep(None, "198.51.100.53", Some("53")),
                destination: ep(None, "10.0.0.5", Some("33123")),
                reason: Some("DNS Response"),
                ..AsaFields::default()
            }
        );
    }

    #[test]
    fn deny_inbound_106010_and_106014() {
        assert_eq!(
            f(
                "%ASA-3-106010: Deny inbound protocol 47 src outside:198.51.100.9 dst outside:203.0.113.20"
            ),
            AsaFields {
                action: Some("Deny"),
                protocol: Some("47"),
                direction: Some(Inbound),
                source: ep(Some("outside"), "198.51.100.9", None),
                destination: ep(Some("outside"), "203.0.113.20", None),
                ..AsaFields::default()
            }
        );
        // `dmz` is made of hex digits, and still an interface.
        let x = f(
            "%PIX-3-106010: Deny inbound tcp src outside:198.51.100.9/2620 dst dmz:203.0.113.45/135",
        );
        assert_eq!(x.protocol, Some("tcp"));
        assert_eq!(x.destination, ep(Some("dmz"), "203.0.113.45", Some("135")));
        let icmp = AsaFields {
            action: Some("Deny"),
            protocol: Some("icmp"),
            direction: Some(Inbound),
            source: ep(Some("outside"), "198.51.100.31", None),
            destination: ep(Some("outside"), "203.0.113.12", None),
            ..AsaFields::default()
        };
        assert_eq!(
            f(
                "%ASA-3-106014: Deny inbound icmp src outside:198.51.100.31 dst outside:203.0.113.12 (type 8, code 0)"
            ),
            icmp
        );
        // Some versions write no space before `(type`.
        assert_eq!(
            f(
                "%ASA-3-106014: Deny inbound icmp src outside:198.51.100.31 dst outside:203.0.113.12(type 8, code 0)"
            ),
            icmp
        );
    }

    #[test]
    fn ip_level_denials_106012_to_106022() {
        assert_eq!(
            f(
                r#"%ASA-6-106012: Deny IP from 10.1.2.1 to 198.51.100.44, IP options: "Router Alert""#
            ),
            AsaFields {
                action: Some("Deny"),
                protocol: Some("IP"),
                source: ep(None, "10.1.2.1", None),
                destination: ep(None, "198.51.100.44", None),
                ..AsaFields::default()
            }
        );
        assert_eq!(
            f("%ASA-2-106013: Dropping echo request from 198.51.100.4 to PAT address 203.0.113.1"),
            AsaFields {
                action: Some("Dropping"),
                protocol: Some("ICMP"),
                source: ep(None, "198.51.100.4", None),
                destination: ep(None, "203.0.113.1", None),
                ..AsaFields::default()
            }
        );
        assert_eq!(
            f(
                "%ASA-6-106015: Deny TCP (no connection) from 10.1.1.20/53089 to 198.51.100.80/443 flags FIN PSH ACK  on interface inside"
            ),
            AsaFields {
                action: Some("Deny"),
                protocol: Some("TCP"),
                source: ep(None, "10.1.1.20", Some("53089")),
                destination: ep(None, "198.51.100.80", Some("443")),
                interface: Some("inside"),
                ..AsaFields::default()
            }
        );
        assert_eq!(
            f("%ASA-2-106016: Deny IP spoof from (0.0.0.0) to 203.0.113.255 on interface outside."),
            AsaFields {
                action: Some("Deny"),
                protocol: Some("IP"),
                source: ep(None, "0.0.0.0", None),
                destination: ep(None, "203.0.113.255", None),
                interface: Some("outside"),
                ..AsaFields::default()
            }
        );
        assert_eq!(
            f("%ASA-2-106017: Deny IP due to Land Attack from 203.0.113.7 to 203.0.113.7"),
            AsaFields {
                action: Some("Deny"),
                protocol: Some("IP"),
                source: ep(None, "203.0.113.7", None),
                destination: ep(None, "203.0.113.7", None),
                ..AsaFields::default()
            }
        );
        assert_eq!(
            f(
                "%ASA-2-106018: ICMP packet type 8 denied by outbound list NO_PING src 10.1.1.9 dest 198.51.100.1"
            ),
            AsaFields {
                action: Some("denied"),
                protocol: Some("ICMP"),
                direction: Some(Outbound),
                source: ep(None, "10.1.1.9", None),
                destination: ep(None, "198.51.100.1", None),
                acl: Some("NO_PING"),
                ..AsaFields::default()
            }
        );
        assert_eq!(
            f(
                "%ASA-2-106020: Deny IP teardrop fragment (size = 1480, offset = 0) from 198.51.100.228 to 203.0.113.1"
            ),
            AsaFields {
                action: Some("Deny"),
                protocol: Some("IP"),
                source: ep(None, "198.51.100.228", None),
                destination: ep(None, "203.0.113.1", None),
                ..AsaFields::default()
            }
        );
        assert_eq!(
            f(
                "%ASA-1-106021: Deny TCP reverse path check from 198.51.100.2 to 203.0.113.10 on interface outside"
            ),
            AsaFields {
                action: Some("Deny"),
                protocol: Some("TCP"),
                source: ep(None, "198.51.100.2", None),
                destination: ep(None, "203.0.113.10", None),
                interface: Some("outside"),
                ..AsaFields::default()
            }
        );
        assert_eq!(
            f(
                "%ASA-1-106022: Deny TCP connection spoof from 10.0.0.1 to 198.51.100.2 on interface dmz"
            ),
            AsaFields {
                action: Some("Deny"),
                protocol: Some("TCP"),
                source: ep(None, "10.0.0.1", None),
                destination: ep(None, "198.51.100.2", None),
                interface: Some("dmz"),
                ..AsaFields::default()
            }
        );
    }

    #[test]
    fn access_group_106023() {
        assert_eq!(
            f(
                r#"%ASA-4-106023: Deny tcp src inside:111.11.11.1/2143 dst YYY:172.11.1.11/139 by access-group "inside_inbound" [0x0, 0x0]"#
            ),
            AsaFields {
                action: Some("Deny"),
                protocol: Some("tcp"),
                source: ep(Some("inside"), "111.11.11.1", Some("2143")),
                destination: ep(Some("YYY"), "172.11.1.11", Some("139")),
                acl: Some("inside_inbound"),
                ..AsaFields::default()
            }
        );
        // An identity-firewall user and an FQDN after the addresses.
        let x = f(
            r#"%ASA-4-106023: Deny tcp src inside:10.0.0.5/51234(CORP\alice) dst outside:198.51.100.7/443(www.example.com) by access-group "inside_out" [0x0, 0x0]"#,
        );
        assert_eq!(x.source, ep(Some("inside"), "10.0.0.5", Some("51234")));
        assert_eq!(x.source_user, Some(r"CORP\alice"));
        assert_eq!(
            x.destination,
            Some(Endpoint {
                host: Some("www.example.com"),
                ..ep(Some("outside"), "198.51.100.7", Some("443")).unwrap()
            })
        );
        assert_eq!(x.destination_user, None);
        // IPv6 with an ICMP type; an unquoted ACL name.
        let x = f(
            "%ASA-4-106023: Deny icmp src OUTSIDE:2001:db8::7 dst OUTSIDE:2001:db8::1 (type 128, code 0) by access-group OUTSIDE_in [0x0, 0x0]",
        );
        assert_eq!(x.source, ep(Some("OUTSIDE"), "2001:db8::7", None));
        assert_eq!(x.destination, ep(Some("OUTSIDE"), "2001:db8::1", None));
        assert_eq!(x.acl, Some("OUTSIDE_in"));
        let x = f(
            r#"%ASA-4-106023: Deny protocol 47 src outside:198.51.100.4 dst inside:10.0.0.44 by access-group "inbound""#,
        );
        assert_eq!(x.protocol, Some("47"));
    }

    #[test]
    fn access_list_106100() {
        assert_eq!(
            f(
                "%ASA-6-106100: access-list outside-entry permitted tcp outside/198.51.100.13(54726) -> inside/10.0.0.18(80) hit-cnt 1 300-second interval [0x32b3835, 0x0]"
            ),
            AsaFields {
                action: Some("permitted"),
                protocol: Some("tcp"),
                source: ep(Some("outside"), "198.51.100.13", Some("54726")),
                destination: ep(Some("inside"), "10.0.0.18", Some("80")),
                acl: Some("outside-entry"),
                hit_count: Some("1"),
                ..AsaFields::default()
            }
        );
        let x = f(
            r"%ASA-5-106100: access-list acl_in denied udp inside/10.0.0.46(49734)(CORP\bob, 5:Eng) -> outside/2001:db8::53(53) hit-cnt 3 first hit [0x71a87d94, 0x0]",
        );
        assert_eq!(x.action, Some("denied"));
        assert_eq!(x.source_user, Some(r"CORP\bob"));
        assert_eq!(
            x.destination,
            ep(Some("outside"), "2001:db8::53", Some("53"))
        );
        assert_eq!(x.hit_count, Some("3"));
    }

    #[test]
    fn built_and_teardown_302013_to_302016() {
        // Outbound: the `to` (inside) side opened the connection; its user and NAT go with it.
        assert_eq!(
            f(
                r"%ASA-6-302013: Built outbound TCP connection 2556 for outside:203.0.113.9/443 (203.0.113.9/443) to inside:10.0.0.5/51515 (198.51.100.1/40312)(CORP\alice)"
            ),
            AsaFields {
                action: Some("Built"),
                protocol: Some("TCP"),
                direction: Some(Outbound),
                source: nat(
                    ep(Some("inside"), "10.0.0.5", Some("51515")),
                    "198.51.100.1",
                    Some("40312")
                ),
                destination: nat(
                    ep(Some("outside"), "203.0.113.9", Some("443")),
                    "203.0.113.9",
                    Some("443")
                ),
                source_user: Some(r"CORP\alice"),
                ..AsaFields::default()
            }
        );
        // Inbound to a server behind static NAT.
        assert_eq!(
            f(
                "%ASA-6-302013: Built inbound TCP connection 4711 for outside:198.51.100.7/4444 (198.51.100.7/4444) to dmz:10.0.0.5/443 (203.0.113.5/443)"
            ),
            AsaFields {
                action: Some("Built"),
                protocol: Some("TCP"),
                direction: Some(Inbound),
                source: nat(
                    ep(Some("outside"), "198.51.100.7", Some("4444")),
                    "198.51.100.7",
                    Some("4444")
                ),
                destination: nat(
                    ep(Some("dmz"), "10.0.0.5", Some("443")),
                    "203.0.113.5",
                    Some("443")
                ),
                ..AsaFields::default()
            }
        );
        // Identity-firewall users on both sides, then the AAA user.
        let x = f(
            r"%ASA-6-302013: Built inbound TCP connection 77 for outside:198.51.100.7/4444 (198.51.100.7/4444) (CORP\ext) to inside:10.0.0.5/80 (203.0.113.5/80) (CORP\web01) (jsmith)",
        );
        assert_eq!(x.source_user, Some(r"CORP\ext"));
        assert_eq!(x.destination_user, Some(r"CORP\web01"));
        assert_eq!(
            x.destination,
            nat(
                ep(Some("inside"), "10.0.0.5", Some("80")),
                "203.0.113.5",
                Some("80")
            )
        );
        assert_eq!(
            f(
                "%ASA-6-302014: Teardown TCP connection 4711 for outside:198.51.100.7/4444 to dmz:10.0.0.5/443 duration 0:01:02 bytes 6183 TCP FINs from outside"
            ),
            AsaFields {
                action: Some("Teardown"),
                protocol: Some("TCP"),
                source: ep(Some("outside"), "198.51.100.7", Some("4444")),
                destination: ep(Some("dmz"), "10.0.0.5", Some("443")),
                reason: Some("TCP FINs"),
                ..AsaFields::default()
            }
        );
        let x = f(
            r"%ASA-6-302014: Teardown TCP connection 2960892904 for outside:198.51.100.10/443 to inside:10.0.0.2/55225(CORP\alice) duration 0:00:00 bytes 0 TCP Reset-I (alice)",
        );
        assert_eq!(x.destination_user, Some(r"CORP\alice"));
        assert_eq!(x.reason, Some("TCP Reset-I"));
        // The user glued after the mapped address, as FTD writes it.
        assert_eq!(
            f(
                r"%ASA-6-302015: Built outbound UDP connection 2234066391 for outside:198.51.100.80/53 (198.51.100.80/53) to inside:10.96.105.18/55173 (203.0.113.2/41002)(LOCAL\svc-dns)"
            ),
            AsaFields {
                action: Some("Built"),
                protocol: Some("UDP"),
                direction: Some(Outbound),
                source: nat(
                    ep(Some("inside"), "10.96.105.18", Some("55173")),
                    "203.0.113.2",
                    Some("41002")
                ),
                destination: nat(
                    ep(Some("outside"), "198.51.100.80", Some("53")),
                    "198.51.100.80",
                    Some("53")
                ),
                source_user: Some(r"LOCAL\svc-dns"),
                ..AsaFields::default()
            }
        );
        assert_eq!(
            f(
                "%ASA-6-302016: Teardown UDP connection 2234066391 for outside:198.51.100.80/53 to inside:10.96.105.18/55173 duration 0:00:01 bytes 187"
            ),
            AsaFields {
                action: Some("Teardown"),
                protocol: Some("UDP"),
                source: ep(Some("outside"), "198.51.100.80", Some("53")),
                destination: ep(Some("inside"), "10.96.105.18", Some("55173")),
                ..AsaFields::default()
            }
        );
    }

    #[test]
    fn icmp_302020_302021() {
        // Inbound: faddr opened it; gaddr is laddr's mapped address.
        assert_eq!(
            f(
                "%ASA-6-302020: Built inbound ICMP connection for faddr 198.51.100.251/18425 gaddr 203.0.113.1/0 laddr 10.0.10.10/0 type 8 code 0"
            ),
            AsaFields {
                action: Some("Built"),
                protocol: Some("ICMP"),
                direction: Some(Inbound),
                source: ep(None, "198.51.100.251", Some("18425")),
                destination: nat(ep(None, "10.0.10.10", Some("0")), "203.0.113.1", Some("0")),
                ..AsaFields::default()
            }
        );
        assert_eq!(
            f(
                r"%ASA-6-302020: Built outbound ICMP connection for faddr 198.51.100.10/0 gaddr 203.0.113.144/21 laddr 10.0.2.2/1 (CORP\alice) type 8 code 0"
            ),
            AsaFields {
                action: Some("Built"),
                protocol: Some("ICMP"),
                direction: Some(Outbound),
                source: nat(ep(None, "10.0.2.2", Some("1")), "203.0.113.144", Some("21")),
                destination: ep(None, "198.51.100.10", Some("0")),
                source_user: Some(r"CORP\alice"),
                ..AsaFields::default()
            }
        );
        assert_eq!(
            f(
                "%ASA-6-302021: Teardown ICMP connection for faddr 198.51.100.10/0 gaddr 203.0.113.144/21 laddr 10.0.2.2/1 type 8 code 0"
            ),
            AsaFields {
                action: Some("Teardown"),
                protocol: Some("ICMP"),
                source: ep(None, "198.51.100.10", Some("0")),
                destination: nat(ep(None, "10.0.2.2", Some("1")), "203.0.113.144", Some("21")),
                ..AsaFields::default()
            }
        );
    }

    #[test]
    fn to_the_box_710002_to_710005() {
        assert_eq!(
            f("%PIX-7-710002: TCP access permitted from 10.0.0.1/60749 to db:10.0.0.2/ssh"),
            AsaFields {
                action: Some("permitted"),
                protocol: Some("TCP"),
                source: ep(None, "10.0.0.1", Some("60749")),
                destination: ep(Some("db"), "10.0.0.2", Some("ssh")),
                ..AsaFields::default()
            }
        );
        assert_eq!(
            f(
                "%ASA-3-710003: TCP access denied by ACL from 198.51.100.160/8949 to outside:203.0.113.38/23"
            ),
            AsaFields {
                action: Some("denied"),
                protocol: Some("TCP"),
                source: ep(None, "198.51.100.160", Some("8949")),
                destination: ep(Some("outside"), "203.0.113.38", Some("23")),
                ..AsaFields::default()
            }
        );
        assert_eq!(
            f(
                "%ASA-7-710004: TCP connection limit exceeded from 10.0.0.1/1025 to inside:10.0.0.2/22 (current connections/connection limit = 11/10)"
            ),
            AsaFields {
                action: Some("exceeded"),
                protocol: Some("TCP"),
                source: ep(None, "10.0.0.1", Some("1025")),
                destination: ep(Some("inside"), "10.0.0.2", Some("22")),
                ..AsaFields::default()
            }
        );
        assert_eq!(
            f("%ASA-7-710005: UDP request discarded from 10.0.0.10/1985 to inside:224.0.0.2/1985"),
            AsaFields {
                action: Some("discarded"),
                protocol: Some("UDP"),
                source: ep(None, "10.0.0.10", Some("1985")),
                destination: ep(Some("inside"), "224.0.0.2", Some("1985")),
                ..AsaFields::default()
            }
        );
    }

    #[test]
    fn translations_305011_305012() {
        assert_eq!(
            f(
                "%ASA-6-305011: Built dynamic TCP translation from inside:10.1.1.1/1234 to outside:192.0.2.1/5555"
            ),
            AsaFields {
                action: Some("Built"),
                protocol: Some("TCP"),
                source: nat(
                    ep(Some("inside"), "10.1.1.1", Some("1234")),
                    "192.0.2.1",
                    Some("5555")
                ),
                mapped_interface: Some("outside"),
                ..AsaFields::default()
            }
        );
        assert_eq!(
            f(
                "%FTD-6-305012: Teardown dynamic UDP translation from inside:10.44.60.80/59877 to outside:203.0.113.9/59877 duration 0:01:01"
            ),
            AsaFields {
                action: Some("Teardown"),
                protocol: Some("UDP"),
                source: nat(
                    ep(Some("inside"), "10.44.60.80", Some("59877")),
                    "203.0.113.9",
                    Some("59877")
                ),
                mapped_interface: Some("outside"),
                ..AsaFields::default()
            }
        );
        // The NAT rule's ACL after the interface, and an identity-firewall user.
        let x = f(
            r"%ASA-6-305012: Teardown static ICMP translation from dmz(NAT_ACL):10.2.2.2/7 (CORP\svc) to outside:203.0.113.53/7 duration 0:00:30",
        );
        assert_eq!(
            x.source,
            nat(
                ep(Some("dmz"), "10.2.2.2", Some("7")),
                "203.0.113.53",
                Some("7")
            )
        );
        assert_eq!(x.source_user, Some(r"CORP\svc"));
    }

    #[test]
    fn aaa_113004_113005_and_vpn_113019() {
        assert_eq!(
            f(
                "%ASA-6-113004: AAA user authentication Successful : server = 10.0.0.70 : user = alice"
            ),
            AsaFields {
                action: Some("Successful"),
                destination: ep(None, "10.0.0.70", None),
                source_user: Some("alice"),
                ..AsaFields::default()
            }
        );
        // Cisco's documented form: commas, `User` capitalised; the server may be IPv6.
        let x = f(
            "%ASA-6-113004: AAA user authorization Successful: server = 2001:db8::70, User = alice",
        );
        assert_eq!(x.destination, ep(None, "2001:db8::70", None));
        assert_eq!(x.source_user, Some("alice"));
        assert_eq!(
            f(
                "%ASA-6-113005: AAA user authentication Rejected : reason = Invalid password : server = 10.0.0.70 : user = bob : user IP = 198.51.100.43"
            ),
            AsaFields {
                action: Some("Rejected"),
                reason: Some("Invalid password"),
                source: ep(None, "198.51.100.43", None),
                destination: ep(None, "10.0.0.70", None),
                source_user: Some("bob"),
                ..AsaFields::default()
            }
        );
        let x = f(
            "%ASA-6-113005: AAA user authentication Rejected: reason = AAA failure: server = 10.0.0.70, User = bob: user IP = 198.51.100.43",
        );
        assert_eq!(
            (x.reason, x.source_user, x.source),
            (
                Some("AAA failure"),
                Some("bob"),
                ep(None, "198.51.100.43", None)
            )
        );
        let x = f(
            "%ASA-6-113005: AAA user authentication Rejected : reason = Unspecified : server = 10.0.0.70 : user = : user IP = 198.51.100.43",
        );
        assert_eq!(x.source_user, None);
        assert_eq!(
            f(
                "%ASA-4-113019: Group = RemoteVPN, Username = alice, IP = 198.51.100.144, Session disconnected. Session Type: SSL, Duration: 0h:32m:16s, Bytes xmt: 297103, Bytes rcv: 1216163, Reason: User Requested"
            ),
            AsaFields {
                action: Some("disconnected"),
                source: ep(None, "198.51.100.144", None),
                source_user: Some("alice"),
                reason: Some("User Requested"),
                ..AsaFields::default()
            }
        );
    }

    #[test]
    fn commands_111008_111010() {
        assert_eq!(
            f("%ASA-5-111008: User 'enable_15' executed the 'logging on' command."),
            AsaFields {
                action: Some("executed"),
                source_user: Some("enable_15"),
                ..AsaFields::default()
            }
        );
        // Cisco's documented form, unquoted.
        assert_eq!(
            f("%ASA-5-111008: User admin executed the write memory command").source_user,
            Some("admin")
        );
        assert_eq!(
            f(
                "%ASA-5-111010: User 'admin', running 'CLI' from IP 10.0.0.87, executed 'write memory'"
            ),
            AsaFields {
                action: Some("executed"),
                source: ep(None, "10.0.0.87", None),
                source_user: Some("admin"),
                ..AsaFields::default()
            }
        );
    }

    #[test]
    fn threat_detection_733100() {
        assert_eq!(
            f(
                "%ASA-4-733100: [ Scanning] drop rate-1 exceeded. Current burst rate is 11 per second, max configured rate is 10; Current average rate is 2 per second, max configured rate is 5; Cumulative total count is 1302"
            ),
            AsaFields {
                action: Some("exceeded"),
                drop_rate: Some(DropRate {
                    object: Some("Scanning"),
                    rate_id: Some("rate-1"),
                    burst_rate: Some("11"),
                    max_burst_rate: Some("10"),
                    average_rate: Some("2"),
                    max_average_rate: Some("5"),
                    total_count: Some("1302"),
                }),
                ..AsaFields::default()
            }
        );
        let x = f(
            "%ASA-4-733100: [           RDP 3389] drop rate-2 exceeded. Current burst rate is 0 per second, max configured rate is -4; Current average rate is 7 per second, max configured rate is -5; Cumulative total count is 9063",
        )
        .drop_rate
        .unwrap();
        assert_eq!(
            (x.object, x.rate_id, x.max_burst_rate, x.max_average_rate),
            (Some("RDP 3389"), Some("rate-2"), Some("-4"), Some("-5"))
        );
        let x = f("%ASA-4-733100: [] drop rate-2 exceeded. Current burst rate is 0 per second")
            .drop_rate
            .unwrap();
        assert_eq!(
            (x.object, x.burst_rate, x.total_count),
            (None, Some("0"), None)
        );
    }

    #[test]
    fn addresses_interfaces_and_placeholders() {
        let x = f(
            "%ASA-6-302015: Built inbound UDP connection 2 for outside:2001:db8::1/53 (2001:db8::1/53) to inside:2001:db8::2/5353 (2001:db8::2/5353)",
        );
        assert_eq!(
            x.source,
            nat(
                ep(Some("outside"), "2001:db8::1", Some("53")),
                "2001:db8::1",
                Some("53")
            )
        );
        // A bare IPv6 address has no interface; a name from `names` is kept as written.
        let x = f(
            "%ASA-2-106001: Inbound TCP connection denied from fe80::1/1234 to Server_Windows/445 flags SYN on interface outside",
        );
        assert_eq!(x.source, ep(None, "fe80::1", Some("1234")));
        assert_eq!(x.destination, ep(None, "Server_Windows", Some("445")));
        // Redactions and template placeholders are not addresses.
        let x = f("%PIX-2-106006: Deny inbound UDP from ***/20031 to ***/20031 on");
        assert_eq!((x.source, x.destination), (None, None));
        let x = f(
            "%FTD-3-106010: Deny inbound protocol src [interface_name: 192.168.1.59/source_port] dst [interface_name: 192.168.1.59/dest_port}",
        );
        assert_eq!((x.source, x.destination), (None, None));
        // Other ids and non-UTF-8 text give nothing.
        assert_eq!(
            f("%ASA-5-111003: 192.168.0.1 Erase configuration"),
            AsaFields::default()
        );
        let raw =
            parse_asa(b"%ASA-2-106001: Inbound TCP \xff from 10.0.0.1/1 to 10.0.0.2/2").unwrap();
        assert_eq!(fields(&raw), AsaFields::default());
    }
}

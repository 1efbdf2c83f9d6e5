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

//! RELP frames (the Reliable Event Logging Protocol that rsyslog's `omrelp` speaks):
//! `TXNR SP COMMAND SP DATALEN [SP DATA] LF`, as librelp writes and reads them.
//!
//! Owns: cutting frames out of a connection's bytes, borrowing the command and data. A frame
//! split across reads is `NeedMore`; a malformed header or a frame over the size limit is
//! `Invalid` (RELP has no way to resynchronise: the connection must be closed, and the sender
//! resends everything it had no answer for).

/// One RELP frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelpFrame<'a> {
    pub txnr: u64,
    pub command: &'a [u8],
    pub data: &'a [u8],
}

/// The result of looking for a frame at the front of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelpDecoded<'a> {
    Frame {
        frame: RelpFrame<'a>,
        consumed: usize,
    },
    NeedMore,
    Invalid(&'static str),
}

/// Decimal digits at the front, at most `max_digits`: the value and the rest.
fn number(input: &[u8], max_digits: usize) -> Result<Option<(u64, &[u8])>, &'static str> {
    let digits = input.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == input.len() && digits <= max_digits {
        return Ok(None); // the number may continue in the next read
    }
    if digits == 0 || digits > max_digits {
        return Err("bad number");
    }
    let value = input
        .iter()
        .take(digits)
        .fold(0u64, |v, d| v * 10 + u64::from(d - b'0'));
    Ok(Some((value, input.get(digits..).unwrap_or_default())))
}

/// Decodes the frame at the front of `input`; `max_data` bounds DATALEN.
pub fn decode_relp(input: &[u8], max_data: usize) -> RelpDecoded<'_> {
    match decode(input, max_data) {
        Ok(Some((frame, consumed))) => RelpDecoded::Frame { frame, consumed },
        Ok(None) => RelpDecoded::NeedMore,
        Err(why) => RelpDecoded::Invalid(why),
    }
}

fn decode(input: &[u8], max_data: usize) -> Result<Option<(RelpFrame<'_>, usize)>, &'static str> {
    let Some((txnr, rest)) = number(input, 9)? else {
        return Ok(None);
    };
    let rest = match rest.split_first() {
        None => return Ok(None),
        Some((b' ', rest)) => rest,
        Some(_) => return Err("no space after the transaction number"),
    };
    let command_len = rest.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    if command_len == rest.len() {
        return if command_len <= 32 {
            Ok(None)
        } else {
            Err("command too long")
        };
    }
    if command_len == 0 || command_len > 32 {
        return Err("bad command");
    }
    let (command, rest) = rest.split_at(command_len);
    let rest = match rest.split_first() {
        Some((b' ', rest)) => rest,
        _ => return Err("no space after the command"),
    };
    let Some((len, rest)) = number(rest, 9)? else {
        return Ok(None);
    };
    let len = usize::try_from(len).map_err(|_| "data length too large")?;
    if len > max_data {
        return Err("frame larger than max_message_bytes");
    }
    let data_start;
    let data = if len == 0 {
        data_start = input.len() - rest.len();
        &[][..]
    } else {
        let rest = match rest.split_first() {
            None => return Ok(None),
            Some((b' ', rest)) => rest,
            Some(_) => return Err("no space before the data"),
        };
        data_start = input.len() - rest.len();
        match rest.get(..len) {
            Some(data) => data,
            None => return Ok(None),
        }
    };
    let trailer_at = data_start + len;
    match input.get(trailer_at) {
        None => Ok(None),
        Some(b'\n') => Ok(Some((
            RelpFrame {
                txnr,
                command,
                data,
            },
            trailer_at + 1,
        ))),
        Some(_) => Err("no trailer after the data"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(input: &[u8]) -> (RelpFrame<'_>, usize) {
        match decode_relp(input, 1024) {
            RelpDecoded::Frame { frame, consumed } => (frame, consumed),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn frames_as_librelp_writes_them() {
        let (f, n) = frame(b"1 open 23 relp_version=0\ncommands\n2 syslog");
        assert_eq!(
            (f.txnr, f.command, f.data),
            (1, &b"open"[..], &b"relp_version=0\ncommands"[..])
        );
        assert_eq!(n, 34);
        let (f, n) = frame(b"3 close 0\n");
        assert_eq!(
            (f.txnr, f.command, f.data, n),
            (3, &b"close"[..], &b""[..], 10)
        );
        let (f, _) = frame(b"2 syslog 5 <13>x\n");
        assert_eq!(f.data, b"<13>x");
    }

    #[test]
    fn every_cut_of_a_frame_needs_more() {
        let whole = b"12 syslog 11 <13>hello w\n";
        for cut in 0..whole.len() {
            assert_eq!(
                decode_relp(&whole[..cut], 1024),
                RelpDecoded::NeedMore,
                "cut {cut}"
            );
        }
        assert!(matches!(
            decode_relp(whole, 1024),
            RelpDecoded::Frame { consumed: 25, .. }
        ));
    }

    #[test]
    fn malformed_frames_are_invalid() {
        for bad in [
            &b"x syslog 1 a\n"[..],
            b"1syslog 1 a\n",
            b"1 sys-log 1 a\n",
            b"1 syslog 1 ab\n",
            b"1 syslog 1a\n",
            b"1234567890 syslog 1 a\n",
        ] {
            assert!(
                matches!(decode_relp(bad, 1024), RelpDecoded::Invalid(_)),
                "{bad:?}"
            );
        }
        assert_eq!(
            decode_relp(b"1 syslog 2000 ", 1024),
            RelpDecoded::Invalid("frame larger than max_message_bytes")
        );
    }
}

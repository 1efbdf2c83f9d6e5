//! A scripted RELP client that behaves as librelp (rsyslog's `omrelp`) does where it matters
//! for delivery: frames stay "unanswered" until their `rsp` arrives, a broken session is only
//! noticed when the client next sends, and then it reconnects, sends `open` again and resends
//! every unanswered frame (with new transaction numbers) before the new one.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use tern_parsers::relp::{RelpDecoded, decode_relp};

/// How long a blocking read for an answer may take before the test fails: a deadline, not a
/// pace.
const ANSWER_DEADLINE: Duration = Duration::from_secs(60);

pub struct RelpClient {
    port: u16,
    stream: TcpStream,
    next_txnr: u64,
    /// Transaction number → message, for syslog frames not answered yet.
    unanswered: BTreeMap<u64, String>,
    /// Bytes read but not yet decoded.
    pending: Vec<u8>,
    /// Messages answered with `200 OK`, in order.
    pub answered: Vec<String>,
}

impl RelpClient {
    /// Connects (waiting for the listener) and opens a session.
    pub fn connect(port: u16) -> RelpClient {
        let mut client = RelpClient {
            port,
            stream: super::connect_when_ready(port),
            next_txnr: 1,
            unanswered: BTreeMap::new(),
            pending: Vec::new(),
            answered: Vec::new(),
        };
        client.open();
        client
    }

    fn open(&mut self) {
        self.stream
            .set_read_timeout(Some(ANSWER_DEADLINE))
            .unwrap_or_else(|e| panic!("{e}"));
        let offer = "relp_version=0\nrelp_software=tern-test\ncommands=syslog";
        let txnr = self.write_frame("open", offer);
        let (answered, data) = self
            .read_answer()
            .unwrap_or_else(|| panic!("no answer to open"));
        assert_eq!(answered, txnr);
        assert!(data.starts_with("200 OK"), "open: {data}");
    }

    fn write_frame(&mut self, command: &str, data: &str) -> u64 {
        let txnr = self.next_txnr;
        self.next_txnr += 1;
        let frame = format!("{txnr} {command} {} {data}\n", data.len());
        self.stream
            .write_all(frame.as_bytes())
            .unwrap_or_else(|e| panic!("RELP write: {e}"));
        txnr
    }

    /// Sends one syslog message; unanswered until [`RelpClient::read_answers`] sees its `rsp`.
    pub fn send(&mut self, message: &str) {
        let txnr = self.write_frame("syslog", message);
        self.unanswered.insert(txnr, message.to_owned());
    }

    /// One `rsp` frame: (txnr, data); `None` at the end of the stream.
    fn read_answer(&mut self) -> Option<(u64, String)> {
        loop {
            match decode_relp(&self.pending, 1 << 20) {
                RelpDecoded::Frame { frame, consumed } => {
                    assert_eq!(frame.command, b"rsp");
                    let answer = (frame.txnr, String::from_utf8_lossy(frame.data).into_owned());
                    self.pending.drain(..consumed);
                    return Some(answer);
                }
                RelpDecoded::NeedMore => {}
                RelpDecoded::Invalid(why) => panic!("bad answer from Tern: {why}"),
            }
            let mut buffer = [0u8; 4096];
            match self.stream.read(&mut buffer) {
                Ok(0) => return None,
                Ok(n) => self
                    .pending
                    .extend_from_slice(buffer.get(..n).unwrap_or_default()),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return None,
                Err(e) => panic!("RELP read (no answer within {ANSWER_DEADLINE:?}): {e}"),
            }
        }
    }

    /// Reads answers until `want` are unanswered, or until the session ends (`false`).
    pub fn read_answers_until(&mut self, want_unanswered: usize) -> bool {
        while self.unanswered.len() > want_unanswered {
            let Some((txnr, data)) = self.read_answer() else {
                return false;
            };
            self.take_answer(txnr, &data);
        }
        true
    }

    fn take_answer(&mut self, txnr: u64, data: &str) {
        if let Some(message) = self.unanswered.remove(&txnr) {
            assert!(data.starts_with("200 OK"), "frame {txnr}: {data}");
            self.answered.push(message);
        }
    }

    /// Reads every answer Tern sent before the session ended (after a kill).
    pub fn read_until_closed(&mut self) {
        while let Some((txnr, data)) = self.read_answer() {
            self.take_answer(txnr, &data);
        }
    }

    pub fn unanswered(&self) -> usize {
        self.unanswered.len()
    }

    /// What librelp does on its next send after a broken session: reconnect, `open` again,
    /// resend every unanswered frame with new transaction numbers.
    pub fn reconnect_and_resend(&mut self) {
        self.stream = super::connect_when_ready(self.port);
        self.pending.clear();
        self.next_txnr = 1;
        self.open();
        let resend: Vec<String> = std::mem::take(&mut self.unanswered).into_values().collect();
        for message in resend {
            self.send(&message);
        }
    }
}

//! The `tern` daemon end to end: the built binary with a config on ports chosen at run time,
//! real clients (`logger`, rsyslog as a relay), rows read back from a file output, counters
//! from `/metrics`. Everything on loopback.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeSet;
use std::io::{BufRead, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{free_port, logger, rsyslogd};

struct Daemon {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
    metrics_port: u16,
}

impl Daemon {
    /// Starts `tern run` with UDP and TCP on one port, rows to `rows.jsonl`, plus `extra`
    /// config text appended.
    fn start(extra: &str) -> Daemon {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let metrics_port = free_port();
        let config = format!(
            r#"hostname = "fwd-test"

[[listen]]
protocol = "udp"
address = "127.0.0.1:{port}"
sockets = 2

[[listen]]
protocol = "tcp"
address = "127.0.0.1:{port}"

[[output]]
kind = "file"
path = "{rows}"

[metrics]
address = "127.0.0.1:{metrics_port}"
{extra}"#,
            rows = dir.path().join("rows.jsonl").display()
        );
        let config_path = dir.path().join("tern.toml");
        std::fs::write(&config_path, config).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_tern"))
            .args(["run", "--config"])
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(dir.path().join("stderr.log")).unwrap(),
            ))
            .spawn()
            .unwrap();
        let daemon = Daemon {
            child,
            dir,
            port,
            metrics_port,
        };
        crate::support::wait_for("tern ready", Duration::from_secs(20), || {
            if daemon.http("/readyz").map(|(status, _)| status) == Some(200) {
                Ok(())
            } else {
                Err(daemon.stderr())
            }
        });
        daemon
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default()
    }

    /// A GET against the metrics endpoint: (status, body).
    fn http(&self, path: &str) -> Option<(u16, String)> {
        crate::support::http_get(self.metrics_port, path)
    }

    /// The sum of a metric over all its label sets matching `filter`.
    fn metric(&self, name: &str, filter: &str) -> u64 {
        let (_, body) = self.http("/metrics").unwrap();
        crate::support::metric_sum(&body, name, filter)
    }

    fn rows_path(&self) -> PathBuf {
        self.dir.path().join("rows.jsonl")
    }

    /// Waits until the output holds at least `n` rows, and returns them.
    fn rows(&self, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = std::fs::read_to_string(self.rows_path()).unwrap_or_default();
            let rows: Vec<Value> = text
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            if rows.len() >= n || Instant::now() > deadline {
                return rows;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM and wait; returns the exit code. The output stays readable until drop.
    fn stop(&mut self) -> i32 {
        crate::support::signal(self.child.id(), nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            assert!(Instant::now() < deadline, "tern did not stop after SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn this_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_owned()
}

pub(crate) fn logger_over_udp_tcp_and_octet_counting_gives_exact_syslog_rows() {
    let mut daemon = Daemon::start("");
    let port = daemon.port.to_string();
    let seconds_now = || {
        let mut text = String::new();
        tern::pipeline::now()
            .write_rfc3339_utc(0, &mut text)
            .unwrap();
        text[..19].to_owned()
    };
    let before = seconds_now();
    logger(&[
        "-n",
        "127.0.0.1",
        "-P",
        &port,
        "--rfc5424",
        "-i",
        "-t",
        "app-udp",
        "-p",
        "local4.warning",
        "hello udp",
    ]);
    logger(&[
        "-T",
        "-n",
        "127.0.0.1",
        "-P",
        &port,
        "-i",
        "-t",
        "app-tcp",
        "-p",
        "auth.info",
        "hello tcp",
    ]);
    logger(&[
        "--octet-count",
        "-T",
        "-n",
        "127.0.0.1",
        "-P",
        &port,
        "--rfc5424",
        "-i",
        "-t",
        "app-oc",
        "-p",
        "daemon.err",
        "hello octets",
    ]);
    let mut rows = daemon.rows(3);
    let after = seconds_now();
    assert_eq!(rows.len(), 3, "{}", daemon.stderr());
    rows.sort_by_key(|r| r["row"]["SyslogMessage"].as_str().unwrap().to_owned());
    let expected = [
        ("hello octets", "daemon", "err", "app-oc"),
        ("hello tcp", "auth", "info", "app-tcp"),
        ("hello udp", "local4", "warning", "app-udp"),
    ];
    for (row, (message, facility, severity, process)) in rows.iter().zip(expected) {
        assert_eq!(row["table"], "Syslog");
        let r = &row["row"];
        assert_eq!(r["SyslogMessage"], message);
        assert_eq!(r["Facility"], facility);
        assert_eq!(r["SeverityLevel"], severity);
        assert_eq!(r["ProcessName"], process);
        assert_eq!(r["Computer"], this_host());
        assert_eq!(r["HostName"], this_host());
        assert_eq!(r["HostIP"], "127.0.0.1");
        assert_eq!(r["CollectorHostName"], "fwd-test");
        // The time received, in UTC, to the second within the test's own clock readings.
        let received = r["TimeGenerated"].as_str().unwrap();
        assert!(received.ends_with('Z'), "{received}");
        assert!(
            (before.as_str()..=after.as_str()).contains(&&received[..19]),
            "{before} ≤ {received} ≤ {after}"
        );
        assert!(r["EventTime"].as_str().unwrap().ends_with('Z'));
        // logger's own PID is in the header of each.
        assert!(r["ProcessID"].as_i64().unwrap() > 0);
        assert_eq!(r.as_object().unwrap().len(), 11, "{r}");
    }
    assert_eq!(daemon.metric("tern_received_total", ""), 3);
    assert_eq!(daemon.metric("tern_rows_total", "Syslog"), 3);
    assert_eq!(daemon.stop(), 0);
}

/// Sends `count` messages with sequence numbers over `connections` TCP connections at once,
/// octet-counted on even connections and LF-framed on odd ones.
fn send_tcp(port: u16, connections: usize, count: usize) {
    let per = count / connections;
    let threads: Vec<_> = (0..connections)
        .map(|c| {
            std::thread::spawn(move || {
                let mut stream = std::io::BufWriter::with_capacity(
                    1 << 16,
                    TcpStream::connect(("127.0.0.1", port)).unwrap(),
                );
                for i in 0..per {
                    let seq = c * per + i;
                    let message = format!("<134>1 2026-11-21T10:00:00Z h a - - - seq={seq}");
                    if c % 2 == 0 {
                        write!(stream, "{} {message}", message.len()).unwrap();
                    } else {
                        writeln!(stream, "{message}").unwrap();
                    }
                }
                stream.flush().unwrap();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

pub(crate) fn a_million_tcp_messages_over_four_connections_arrive_exactly_once() {
    let mut daemon = Daemon::start("");
    const COUNT: usize = 1_000_000;
    send_tcp(daemon.port, 4, COUNT);
    crate::support::wait_for("a million rows", Duration::from_secs(240), || {
        let rows = daemon.metric("tern_output_rows_total", "");
        if rows >= COUNT as u64 {
            Ok(())
        } else {
            Err(format!("only {rows} rows"))
        }
    });
    assert_eq!(daemon.metric("tern_received_total", "tcp"), COUNT as u64);
    assert_eq!(daemon.metric("tern_parsed_total", "tcp"), COUNT as u64);
    assert_eq!(daemon.metric("tern_rows_total", ""), COUNT as u64);
    assert_eq!(daemon.metric("tern_dropped_total", ""), 0);
    let rows_path = daemon.rows_path();
    assert_eq!(daemon.stop(), 0);
    let mut seen = vec![false; COUNT];
    let mut lines = 0;
    for line in std::io::BufReader::new(std::fs::File::open(rows_path).unwrap()).lines() {
        let line = line.unwrap();
        lines += 1;
        let seq: usize = line
            .rsplit("seq=")
            .next()
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(!seen[seq], "sequence {seq} duplicated");
        seen[seq] = true;
    }
    assert_eq!(lines, COUNT);
    assert!(seen.iter().all(|s| *s), "sequences missing");
}

/// SIGTERM right after a burst: what the senders wrote before it is still in the kernel's
/// socket buffers, and Tern reads it before it stops (a connection kept open too, until it has
/// been quiet for a moment), so every row is written out and the exit is 0.
pub(crate) fn sigterm_drains_what_was_received() {
    let mut daemon = Daemon::start("");
    // One connection closed after its burst, one kept open.
    send_tcp(daemon.port, 2, 200_000);
    let mut open = TcpStream::connect(("127.0.0.1", daemon.port)).unwrap();
    let mut burst = String::new();
    for seq in 200_000..220_000 {
        burst.push_str(&format!(
            "<134>1 2026-11-21T10:00:00Z h a - - - seq={seq}\n"
        ));
    }
    open.write_all(burst.as_bytes()).unwrap();
    // At once: no waiting for Tern to have read anything.
    let rows_path = daemon.rows_path();
    assert_eq!(daemon.stop(), 0, "{}", daemon.stderr());
    drop(open);
    let text = std::fs::read_to_string(rows_path).unwrap();
    let mut seqs: Vec<usize> = text
        .lines()
        .filter_map(|l| l.split("seq=").nth(1))
        .filter_map(|rest| rest.split('"').next()?.parse().ok())
        .collect();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), 220_000, "every row written out once");
    assert_eq!(text.lines().count(), 220_000);
}

pub(crate) fn oversized_frames_and_rejected_senders_are_counted() {
    let extra = r#"
[[listen]]
protocol = "tcp"
address = "127.0.0.1:PORT2"
allow = ["10.0.0.0/8"]
"#;
    let port2 = free_port();
    let mut daemon = Daemon::start(&extra.replace("PORT2", &port2.to_string()));
    // One frame over the 64 KiB default, between two good ones.
    let mut stream = TcpStream::connect(("127.0.0.1", daemon.port)).unwrap();
    let big = "x".repeat(70_000);
    write!(stream, "<13>before\n<13>{big}\n<13>after\n").unwrap();
    drop(stream);
    // A sender outside the allow list.
    let mut rejected = TcpStream::connect(("127.0.0.1", port2)).unwrap();
    let _ = writeln!(rejected, "<13>not allowed");
    drop(rejected);
    crate::support::wait_until(
        "the oversized and rejected counts",
        Duration::from_secs(30),
        || {
            daemon.metric("tern_dropped_total", "reason=\"oversized\"") == 1
                && daemon.metric("tern_dropped_total", "reason=\"rejected_sender\"") == 1
        },
    );
    daemon.rows(2);
    let oversized = daemon.metric("tern_dropped_total", "reason=\"oversized\"");
    let rejected = daemon.metric("tern_dropped_total", "reason=\"rejected_sender\"");
    // Stopped, the daemon has written out everything: the rows are all there is.
    assert_eq!(daemon.stop(), 0);
    let rows = daemon.rows(0);
    let messages: Vec<_> = rows
        .iter()
        .map(|r| r["row"]["SyslogMessage"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(messages, ["before", "after"]);
    assert_eq!(oversized, 1);
    assert_eq!(rejected, 1);
}

pub(crate) fn bad_configs_give_one_clear_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "[[listen]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:1\"\nbogus = 1\n",
            ":4: listen[0].bogus: unknown key `bogus`",
        ),
        (
            "[[listen]]\nprotocol = \"udp\"\naddress = \"localhost\"\n",
            ":3: listen[0].address",
        ),
        (
            "[[listen]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:1\"\nformat = \"xml\"\n",
            ":4: listen[0].format",
        ),
    ];
    for (text, expected) in cases {
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, text).unwrap();
        for command in ["run", "check"] {
            let output = Command::new(env!("CARGO_BIN_EXE_tern"))
                .args([command, "--config"])
                .arg(&path)
                .output()
                .unwrap();
            assert_eq!(output.status.code(), Some(2), "{command} {text}");
            let stderr = String::from_utf8(output.stderr).unwrap();
            assert_eq!(stderr.lines().count(), 1, "{stderr}");
            assert!(stderr.contains(&format!("bad.toml{expected}")), "{stderr}");
        }
    }
    // A file that cannot be read.
    let output = Command::new(env!("CARGO_BIN_EXE_tern"))
        .args(["run", "--config", "/nonexistent/tern.toml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8(output.stderr)
            .unwrap()
            .contains("/nonexistent/tern.toml")
    );
}

/// Every problem of a configuration comes at once, in file order, as `file:line: key:
/// message`, the same from `check` and `run`, in TOML's terms rather than Rust's (issue 26).
pub(crate) fn bad_configs_report_every_error_at_once_in_file_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[metrics]\naddress = \"nope\"\n\n\
         [[listen]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:5514\"\nmax_message_bytes = \"big\"\n\n\
         [[listen]]\nprotocol = \"tcp\"\nadress = \"127.0.0.1:5514\"\n\n\
         [[listen]]\nprotocol = \"tcpx\"\naddress = \"127.0.0.1:5514\"\n\n\
         [[output]]\nkind = \"file\"\n\n\
         [spool]\nwhen_full = \"explode\"\n\n\
         [bogus]\nx = 1\n",
    )
    .unwrap();
    let file = path.display().to_string();
    let expected = [
        format!(
            "{file}:2: metrics.address: `nope` is not an address and port such as 127.0.0.1:9280"
        ),
        format!(
            "{file}:7: listen[0].max_message_bytes: invalid type: string \"big\", expected a whole number"
        ),
        format!(
            "{file}:11: listen[1].adress: unknown key `adress`, expected one of `protocol`, `address`,"
        ),
        format!(
            "{file}:14: listen[2].protocol: unknown protocol `tcpx`: use udp, tcp, tls, relp or unix"
        ),
        format!("{file}:18: output[0]: a file output needs `path`"),
        format!("{file}:21: spool.when_full: `explode`: use block or drop-oldest"),
        format!("{file}:23: bogus: unknown section or key"),
    ];
    for command in ["check", "run"] {
        let output = Command::new(env!("CARGO_BIN_EXE_tern"))
            .args([command, "--config"])
            .arg(&path)
            .output()
            .unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(output.status.code(), Some(2), "{command}: {stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), expected.len(), "{command}: {stderr}");
        for (line, wanted) in lines.iter().zip(&expected) {
            assert!(
                line.starts_with(&format!("tern: config error: {wanted}")),
                "{command}: {line}\nwanted: {wanted}"
            );
        }
        for rust in ["usize", "u64", "Some(", "Stdout", "File(", "Tcp"] {
            assert!(!stderr.contains(rust), "{command}: {rust} in {stderr}");
        }
    }
}

/// A DCR folder that cannot be read is named by the setting that gives it, with its line.
pub(crate) fn an_unreadable_dcr_folder_is_named_by_its_setting() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.toml");
    let missing = dir.path().join("dcr.d");
    std::fs::write(
        &path,
        format!(
            "[[listen]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:1\"\n\n[dcr]\npaths = [\n  \"{}\",\n]\n",
            missing.display()
        ),
    )
    .unwrap();
    let output = tern_check(&path);
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        format!(
            "tern: dcr error: {}:7: dcr.paths[0]: {}: cannot read: No such file or directory \
             (os error 2) (create it, or fix the path)",
            path.display(),
            missing.display()
        )
    );
}

/// `tern check` refuses what `tern run` would fail on when it opens its outputs, and prints
/// outputs without Rust's debug formatting.
pub(crate) fn check_refuses_an_output_file_in_a_missing_folder() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.toml");
    let write = |output: &Path| {
        std::fs::write(
            &path,
            format!(
                "[[listen]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:1\"\n\
                 [[output]]\nkind = \"file\"\npath = \"{}\"\n[metrics]\naddress = \"\"\n",
                output.display()
            ),
        )
        .unwrap();
    };
    let check = || tern_check(&path);
    write(&dir.path().join("missing/rows.jsonl"));
    let output = check();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("output file")
            && stderr.contains("missing")
            && stderr.contains("does not exist"),
        "{stderr}"
    );
    let rows = dir.path().join("rows.jsonl");
    write(&rows);
    let output = check();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains(&format!("output file {}", rows.display())),
        "{stdout}"
    );
    assert!(!stdout.contains("File(\""), "{stdout}");
}

pub(crate) fn a_port_in_use_is_a_runtime_error_with_exit_1() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.toml");
    std::fs::write(&path, format!("[[listen]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{port}\"\n[metrics]\naddress = \"\"\n")).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_tern"))
        .args(["run", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains(&format!("tcp://127.0.0.1:{port}")) && stderr.contains("in use"),
        "{stderr}"
    );
}

/// A second Tern on the UDP port of a running one fails like TCP does, instead of silently
/// sharing the port (`SO_REUSEPORT`) and taking part of the traffic.
pub(crate) fn a_second_tern_on_a_udp_port_in_use_exits_1() {
    let mut first = Daemon::start("");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("second.toml");
    std::fs::write(
        &path,
        format!(
            "[[listen]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:{}\"\n[metrics]\naddress = \"\"\n",
            first.port
        ),
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_tern"))
        .args(["run", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("in use"), "{stderr}");
    assert_eq!(first.stop(), 0);
}

pub(crate) fn rsyslog_relay_forwards_octet_counted_and_lf_framed() {
    let mut daemon = Daemon::start("");
    let relay_port = free_port();
    let work = tempfile::tempdir().unwrap();
    // Two forwarding actions: RFC 5424 octet-counted, and the traditional LF-framed format.
    let config = format!(
        r#"global(workDirectory="{work}")
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="{relay_port}" ruleset="relay")
ruleset(name="relay") {{
  action(type="omfwd" target="127.0.0.1" port="{tern}" protocol="tcp"
         TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")
  action(type="omfwd" target="127.0.0.1" port="{tern}" protocol="tcp"
         template="RSYSLOG_ForwardFormat")
}}
"#,
        work = work.path().display(),
        tern = daemon.port
    );
    let config_path = work.path().join("rsyslog.conf");
    std::fs::write(&config_path, config).unwrap();
    let mut relay = Command::new(rsyslogd())
        .args(["-n", "-f"])
        .arg(&config_path)
        .arg("-i")
        .arg(work.path().join("rsyslog.pid"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The relay takes UDP: ready once its socket is bound.
    crate::support::wait_until("rsyslog's UDP input", Duration::from_secs(30), || {
        crate::support::port_bound("udp", relay_port)
    });
    let port = relay_port.to_string();
    logger(&[
        "-n",
        "127.0.0.1",
        "-P",
        &port,
        "-t",
        "sshd",
        "-p",
        "auth.notice",
        "Accepted publickey for admin",
    ]);
    logger(&[
        "-n",
        "127.0.0.1",
        "-P",
        &port,
        "-t",
        "fw",
        "-p",
        "local4.info",
        "CEF:0|Vendor|Product|1.0|100|Blocked|7|src=10.0.0.1 dst=10.0.0.2 dpt=22 act=block",
    ]);
    let rows = daemon.rows(4);
    let _ = relay.kill();
    let _ = relay.wait();
    assert_eq!(rows.len(), 4, "{}", daemon.stderr());
    let syslog: Vec<_> = rows.iter().filter(|r| r["table"] == "Syslog").collect();
    let cef: Vec<_> = rows
        .iter()
        .filter(|r| r["table"] == "CommonSecurityLog")
        .collect();
    assert_eq!((syslog.len(), cef.len()), (2, 2));
    for row in syslog {
        let r = &row["row"];
        assert_eq!(r["SyslogMessage"], "Accepted publickey for admin");
        assert_eq!(r["ProcessName"], "sshd");
        assert_eq!(r["Facility"], "auth");
        assert_eq!(r["SeverityLevel"], "notice");
        assert_eq!(r["Computer"], this_host());
    }
    for row in cef {
        let r = &row["row"];
        assert_eq!(r["DeviceVendor"], "Vendor");
        assert_eq!(r["Activity"], "Blocked");
        assert_eq!(r["LogSeverity"], "7");
        assert_eq!(r["SourceIP"], "10.0.0.1");
        assert_eq!(r["DestinationIP"], "10.0.0.2");
        assert_eq!(r["DestinationPort"], 22);
        assert_eq!(r["DeviceAction"], "block");
        assert_eq!(r["Computer"], this_host());
    }
    assert_eq!(daemon.metric("tern_framing_resyncs_total", ""), 0);
    assert_eq!(daemon.stop(), 0);
}

/// `tern check --config CONFIG`'s exit status and output.
fn tern_check(config: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tern"))
        .args(["check", "--config"])
        .arg(config)
        .output()
        .unwrap()
}

/// `conf/tern.toml` with its DCR folder pointed at the examples in `conf/dcr`.
fn example_config(dir: &Path) -> PathBuf {
    let conf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../conf");
    let text = std::fs::read_to_string(conf.join("tern.toml"))
        .unwrap()
        .replace("/etc/tern/dcr.d", &conf.join("dcr").display().to_string());
    let path = dir.join("tern.toml");
    std::fs::write(&path, text).unwrap();
    path
}

pub(crate) fn the_example_config_and_dcrs_check() {
    let dir = tempfile::tempdir().unwrap();
    let path = example_config(dir.path());
    let check = || tern_check(&path);
    // The scaffolded ingestion DCR has no endpoint or immutable id until it is deployed:
    // every row routed to it would be dropped, and check says so (issue 26).
    let output = check();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    for (table, flow) in [("Syslog", 0), ("CommonSecurityLog", 1)] {
        assert!(
            stderr.lines().any(|l| l.starts_with("tern: dcr error: ")
                && l.contains(&format!(
                    "ingestion-direct-template.json: resources[0].properties.dataFlows[{flow}]: {table} in /subscriptions/"
                ))
                && l.contains("rows will be dropped")),
            "{stderr}"
        );
    }
    assert_eq!(stderr.lines().count(), 2, "{stderr}");
    // The [[destination]] that completes it (as the template's note says) makes it whole.
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(
        "\n[[destination]]\nname = \"deployed\"\nendpoint = \"https://dce.westeurope-1.ingest.monitor.azure.com\"\n\
         dcr_immutable_id = \"dcr-0123\"\n\
         streams = { Syslog = \"Custom-TernSyslog\", CommonSecurityLog = \"Custom-TernCEF\" }\n\
         [azure.auth]\nmethod = \"client-secret\"\ntenant_id = \"t\"\nclient_id = \"c\"\nclient_secret_file = \"",
    );
    let secret = dir.path().join("client-secret");
    std::fs::write(&secret, "s3cret").unwrap();
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    text.push_str(&format!("{}\"\n", secret.display()));
    std::fs::write(&path, text).unwrap();
    let output = check();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("listen udp://0.0.0.0:514"), "{stdout}");
    assert!(stdout.contains("listen tcp://0.0.0.0:514"), "{stdout}");
    assert!(stdout.contains("CEF events local4.{Emergency,Alert,Critical,Error,Warning,Notice,Info} → CommonSecurityLog in /subscriptions/"), "{stdout}");
    assert!(
        stdout.contains("ASA events local4.{*} → CommonSecurityLog"),
        "{stdout}"
    );
    // The secret file is read by check (not while parsing): gone, check names it and fails.
    std::fs::remove_file(&secret).unwrap();
    let output = check();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "azure.auth.client_secret_file: cannot read {}: No such file",
            secret.display()
        )),
        "{stderr}"
    );
}

pub(crate) fn a_thousand_connections_are_served_while_slow_and_garbage_clients_misbehave() {
    let mut daemon = Daemon::start("");
    // A client that sends half a frame and then nothing.
    let mut slow = TcpStream::connect(("127.0.0.1", daemon.port)).unwrap();
    slow.write_all(b"200 <13>1 - - - - - - never finished")
        .unwrap();
    // A client that sends a megabyte without any frame boundary.
    let mut garbage = TcpStream::connect(("127.0.0.1", daemon.port)).unwrap();
    garbage.write_all(&vec![b'g'; 1 << 20]).unwrap();
    let mut clients: Vec<TcpStream> = (0..1000)
        .map(|_| TcpStream::connect(("127.0.0.1", daemon.port)).unwrap())
        .collect();
    crate::support::wait_for("1002 open connections", Duration::from_secs(30), || {
        let open = daemon.metric("tern_connections_open", "");
        if open >= 1002 {
            Ok(())
        } else {
            Err(format!("open: {open}"))
        }
    });
    for (i, client) in clients.iter_mut().enumerate() {
        writeln!(client, "<14>Nov 21 10:00:00 host app: connection {i}").unwrap();
    }
    let rows = daemon.rows(1000);
    assert_eq!(rows.len(), 1000);
    let mut seen: Vec<usize> = rows
        .iter()
        .map(|r| {
            r["row"]["SyslogMessage"]
                .as_str()
                .unwrap()
                .trim_start_matches("connection ")
                .parse()
                .unwrap()
        })
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..1000).collect::<Vec<_>>());
    // The garbage was one oversized frame, still open; the slow client is still connected.
    assert!(daemon.metric("tern_connections_open", "") >= 2);
    drop(clients);
    drop(garbage);
    drop(slow);
    // Closing inside the counted frame is reported as truncated; the megabyte without a
    // delimiter as one oversized frame.
    crate::support::wait_until("two drops", Duration::from_secs(10), || {
        daemon.metric("tern_dropped_total", "") >= 2
    });
    assert_eq!(
        daemon.metric("tern_dropped_total", "reason=\"truncated\""),
        1
    );
    assert_eq!(
        daemon.metric("tern_dropped_total", "reason=\"oversized\""),
        1
    );
    assert_eq!(daemon.stop(), 0);
}

pub(crate) fn unix_and_ipv6_listeners() {
    let socket_dir = tempfile::tempdir().unwrap();
    let socket = socket_dir.path().join("log.sock");
    let port6 = {
        let l = std::net::TcpListener::bind("[::1]:0").expect("IPv6 loopback");
        l.local_addr().unwrap().port()
    };
    let extra = format!(
        "\n[[listen]]\nprotocol = \"unix\"\naddress = \"{}\"\n\n[[listen]]\nprotocol = \"udp\"\naddress = \"[::1]:{port6}\"\n\n[[listen]]\nprotocol = \"tcp\"\naddress = \"[::1]:{port6}\"\n",
        socket.display()
    );
    let mut daemon = Daemon::start(&extra);
    logger(&[
        "-u",
        socket.to_str().unwrap(),
        "-t",
        "local-app",
        "via unix",
    ]);
    logger(&[
        "-n",
        "::1",
        "-P",
        &port6.to_string(),
        "-t",
        "v6-udp",
        "via ipv6 udp",
    ]);
    logger(&[
        "-T",
        "-n",
        "::1",
        "-P",
        &port6.to_string(),
        "-t",
        "v6-tcp",
        "via ipv6 tcp",
    ]);
    let rows = daemon.rows(3);
    let by_message = |m: &str| {
        rows.iter()
            .find(|r| r["row"]["SyslogMessage"] == m)
            .unwrap_or_else(|| panic!("{m} missing: {rows:?}"))["row"]
            .clone()
    };
    let unix = by_message("via unix");
    assert_eq!(unix["ProcessName"], "local-app");
    assert!(unix.get("HostIP").is_none(), "{unix}");
    assert_eq!(by_message("via ipv6 udp")["HostIP"], "::1");
    assert_eq!(by_message("via ipv6 tcp")["HostIP"], "::1");
    assert_eq!(daemon.stop(), 0);
    assert!(!socket.exists(), "the socket file is removed at exit");
}

pub(crate) fn sighup_reopens_the_output_file() {
    let mut daemon = Daemon::start("");
    let port = daemon.port.to_string();
    logger(&["-T", "-n", "127.0.0.1", "-P", &port, "before rotation"]);
    assert_eq!(daemon.rows(1).len(), 1);
    let rotated = daemon.dir.path().join("rows.jsonl.1");
    std::fs::rename(daemon.rows_path(), &rotated).unwrap();
    crate::support::signal(daemon.child.id(), nix::sys::signal::Signal::SIGHUP);
    crate::support::wait_for("the output reopened", Duration::from_secs(10), || {
        if daemon.rows_path().exists() {
            Ok(())
        } else {
            Err(daemon.stderr())
        }
    });
    logger(&["-T", "-n", "127.0.0.1", "-P", &port, "after rotation"]);
    let rows = daemon.rows(1);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["row"]["SyslogMessage"], "after rotation");
    let old = std::fs::read_to_string(&rotated).unwrap();
    assert_eq!(old.lines().count(), 1);
    assert!(old.contains("before rotation"));
    // UDP loss is visible: the kernel drop counter is exported for each UDP listener.
    let (_, metrics) = daemon.http("/metrics").unwrap();
    assert!(
        metrics.contains("tern_udp_kernel_drops_total{listener=\"udp://127.0.0.1:"),
        "{metrics}"
    );
    assert_eq!(daemon.stop(), 0);
}

pub(crate) fn udp_loss_in_the_kernel_is_counted_exactly() {
    // One socket with a small buffer; the daemon is paused (SIGSTOP) while a burst arrives, so
    // the kernel must drop most of it. Every datagram is then either received or counted.
    let port = free_port();
    let mut daemon = Daemon::start(&format!(
        "\n[[listen]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:{port}\"\nsockets = 1\nreceive_buffer_bytes = 4096\n"
    ));
    let pid = daemon.child.id();
    crate::support::signal(pid, nix::sys::signal::Signal::SIGSTOP);
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    const BURST: u64 = 2000;
    for i in 0..BURST {
        sender
            .send_to(
                format!("<13>Nov 21 10:00:00 h app: burst {i}").as_bytes(),
                ("127.0.0.1", port),
            )
            .unwrap();
    }
    crate::support::signal(pid, nix::sys::signal::Signal::SIGCONT);
    let listener = format!("udp://127.0.0.1:{port}");
    // A datagram sent after the burst carries the socket's final drop count; one more is
    // sent each time the counts do not add up yet.
    let after = || {
        sender
            .send_to(b"<13>Nov 21 10:00:00 h app: after", ("127.0.0.1", port))
            .unwrap();
    };
    after();
    let mut sent = BURST + 1;
    let mut dropped = 0;
    crate::support::wait_for(
        "every datagram received or counted",
        Duration::from_secs(20),
        || {
            let received = daemon.metric("tern_received_total", &listener);
            dropped = daemon.metric("tern_udp_kernel_drops_total", &listener);
            if received + dropped == sent {
                return Ok(());
            }
            after();
            sent += 1;
            Err(format!(
                "sent {sent}, received {received}, kernel drops {dropped}"
            ))
        },
    );
    assert!(
        dropped > 0,
        "the kernel dropped nothing; the test proves nothing"
    );
    assert_eq!(daemon.stop(), 0);
}

pub(crate) fn collection_dcrs_filter_and_route_events() {
    let conf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../conf/dcr");
    let mut daemon = Daemon::start(&format!("\n[dcr]\npaths = [\"{}\"]\n", conf.display()));
    let port = daemon.port.to_string();
    let send = |priority: &str, message: &str| {
        logger(&[
            "-T",
            "-n",
            "127.0.0.1",
            "-P",
            &port,
            "--rfc3164",
            "-t",
            "dev",
            "-p",
            priority,
            message,
        ]);
    };
    send(
        "local4.info",
        "CEF:0|V|P|1|100|cef on local4|5|src=10.0.0.1",
    );
    send(
        "local4.debug",
        "CEF:0|V|P|1|101|cef debug on local4|5|src=10.0.0.1",
    );
    send(
        "local4.info",
        "%ASA-6-302013: Built outbound TCP connection 1",
    );
    send("local4.info", "plain on local4");
    send("auth.notice", "plain on auth");
    send("user.info", "plain on user: not selected");
    send(
        "local7.err",
        "CEF:0|V|P|1|102|cef on local7: not selected|5|src=1",
    );
    crate::support::wait_until("7 events counted", Duration::from_secs(30), || {
        daemon.metric("tern_filtered_total", "") == 2 && daemon.rows(0).len() >= 5
    });
    let filtered = daemon.metric("tern_filtered_total", "");
    // Stopped, the daemon has written out everything: the rows are all there is.
    assert_eq!(daemon.stop(), 0);
    let rows = daemon.rows(0);
    let summary: BTreeSet<(String, String)> = rows
        .iter()
        .map(|r| {
            let row = &r["row"];
            let text = row
                .get("Activity")
                .or(row.get("SyslogMessage"))
                .or(row.get("Message"))
                .unwrap();
            (
                r["table"].as_str().unwrap().to_owned(),
                text.as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: BTreeSet<(String, String)> = [
        ("CommonSecurityLog", "cef on local4"),
        // Debug is below the CEF source's levels, but local4.* is selected for Syslog.
        (
            "Syslog",
            "CEF:0|V|P|1|101|cef debug on local4|5|src=10.0.0.1",
        ),
        ("CommonSecurityLog", "Built outbound TCP connection 1"),
        ("Syslog", "plain on local4"),
        ("Syslog", "plain on auth"),
    ]
    .iter()
    .map(|(t, m)| (t.to_string(), m.to_string()))
    .collect();
    assert_eq!(summary, expected);
    assert_eq!(rows.len(), 5, "each event in exactly one table");
    assert_eq!(filtered, 2);
}

pub(crate) fn invalid_dcrs_give_one_error_each_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let dcrs = dir.path().join("dcr");
    std::fs::create_dir(&dcrs).unwrap();
    std::fs::write(
        dcrs.join("a-truncated.json"),
        r#"{"properties": {"dataSources": "#,
    )
    .unwrap();
    std::fs::write(
        dcrs.join("b-facility.json"),
        r#"{"properties": {"dataSources": {"syslog": [{"streams": ["Microsoft-Syslog"], "facilityNames": ["local9"], "logLevels": ["*"]}]}}}"#,
    )
    .unwrap();
    std::fs::write(
        dcrs.join("c-type.json"),
        r#"{"properties": {"dataSources": {"syslog": [{"streams": ["Microsoft-Syslog"], "facilityNames": "auth", "logLevels": ["*"]}]}}}"#,
    )
    .unwrap();
    let config = dir.path().join("t.toml");
    std::fs::write(
        &config,
        format!(
            "[[listen]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:1\"\n[dcr]\npaths = [\"{}\"]\n",
            dcrs.display()
        ),
    )
    .unwrap();
    for command in ["check", "run"] {
        let output = Command::new(env!("CARGO_BIN_EXE_tern"))
            .args([command, "--config"])
            .arg(&config)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{command}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 3, "{stderr}");
        assert!(
            lines[0].contains("a-truncated.json: line 1, column")
                && lines[0].contains("not valid JSON"),
            "{stderr}"
        );
        assert!(lines[1].contains("b-facility.json: properties.dataSources.syslog[0].facilityNames[0]: unknown facility `local9`"), "{stderr}");
        assert!(
            lines[2].contains(
                "c-type.json: properties.dataSources.syslog[0].facilityNames: expected an array"
            ),
            "{stderr}"
        );
    }
    // A stream with no flow is found when compiling.
    std::fs::remove_dir_all(&dcrs).unwrap();
    std::fs::create_dir(&dcrs).unwrap();
    std::fs::write(
        dcrs.join("noflow.json"),
        r#"{"properties": {"dataSources": {"syslog": [{"streams": ["Microsoft-Syslog"], "facilityNames": ["auth"], "logLevels": ["*"]}]}, "dataFlows": []}}"#,
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_tern"))
        .args(["check", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("noflow.json: properties.dataSources.syslog[0].streams[0]: stream `Microsoft-Syslog` has no dataFlow"), "{stderr}");
}

/// A collection DCR selecting `facilities` (all levels) into Syslog.
fn syslog_dcr(facilities: &[&str]) -> String {
    serde_json::json!({
        "properties": {
            "dataSources": {"syslog": [{"name": "s", "streams": ["Microsoft-Syslog"], "facilityNames": facilities, "logLevels": ["*"]}]},
            "destinations": {"logAnalytics": [{"name": "la", "workspaceResourceId": "/subscriptions/s/resourceGroups/g/providers/Microsoft.OperationalInsights/workspaces/w"}]},
            "dataFlows": [{"streams": ["Microsoft-Syslog"], "destinations": ["la"]}]
        }
    })
    .to_string()
}

pub(crate) fn dcr_reload_under_load_loses_and_duplicates_nothing() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    let dcr_dir = tempfile::tempdir().unwrap();
    let dcr_file = dcr_dir.path().join("rules.json");
    std::fs::write(&dcr_file, syslog_dcr(&["user"])).unwrap();
    let port2 = free_port();
    let mut daemon = Daemon::start(&format!(
        "\n[[listen]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{port2}\"\n\n[dcr]\npaths = [\"{}\"]\nwatch = true\n",
        dcr_dir.path().display()
    ));
    let port = daemon.port;
    // Two connections stream `user` messages (selected before and after) throughout the reload.
    const BASE: usize = 1_000_000;
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let streams: Vec<_> = (0..2)
        .map(|c| {
            let (stop, sent) = (Arc::clone(&stop), Arc::clone(&sent));
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let mut batch = String::new();
                    for _ in 0..200 {
                        batch.push_str(&format!(
                            "<14>Nov 21 10:00:00 h app: seq={}\n",
                            BASE + c * BASE + i
                        ));
                        i += 1;
                    }
                    stream.write_all(batch.as_bytes()).unwrap();
                    sent.fetch_add(200, Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(2));
                }
                i
            })
        })
        .collect();
    // `daemon` messages on their own listener: the first half before the reload (filtered),
    // the second after it (collected).
    const HALF: usize = 5_000;
    let listener2 = format!("tcp://127.0.0.1:{port2}");
    let mut daemon_stream = TcpStream::connect(("127.0.0.1", port2)).unwrap();
    let send_daemon = |stream: &mut TcpStream, from: usize| {
        let text: String = (from..from + HALF)
            .map(|i| format!("<30>Nov 21 10:00:00 h app: seq={i}\n"))
            .collect();
        stream.write_all(text.as_bytes()).unwrap();
    };
    send_daemon(&mut daemon_stream, 0);
    let wait = |what: &str, done: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !done() {
            assert!(
                Instant::now() < deadline,
                "waiting for {what}: {}",
                daemon.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    wait("the first half", &|| {
        daemon.metric("tern_received_total", &listener2) == HALF as u64
    });
    // Replace the file the way deployment tools do: write aside, rename over.
    let staged = dcr_dir.path().join("rules.json.tmp");
    std::fs::write(&staged, syslog_dcr(&["user", "daemon"])).unwrap();
    std::fs::rename(&staged, &dcr_file).unwrap();
    wait("the reload", &|| {
        daemon.metric("tern_dcr_reloads_total", "result=\"ok\"") == 1
    });
    send_daemon(&mut daemon_stream, HALF);
    wait("the second half", &|| {
        daemon.metric("tern_received_total", &listener2) == 2 * HALF as u64
    });
    stop.store(true, Ordering::Relaxed);
    let per_connection: Vec<usize> = streams.into_iter().map(|t| t.join().unwrap()).collect();
    let user_total = sent.load(Ordering::Relaxed);
    wait("every user message", &|| {
        daemon.metric("tern_received_total", &format!("tcp://127.0.0.1:{port}\""))
            == user_total as u64
    });
    // A broken file afterwards: the reload fails, the routing in force stays.
    std::fs::write(&staged, "{ not json").unwrap();
    std::fs::rename(&staged, &dcr_file).unwrap();
    wait("the failed reload", &|| {
        daemon.metric("tern_dcr_reloads_total", "result=\"failed\"") == 1
    });
    let filtered = daemon.metric("tern_filtered_total", "");
    let rows_path = daemon.rows_path();
    assert_eq!(daemon.stop(), 0, "still running after a failed reload");
    let mut counts = std::collections::HashMap::new();
    for line in std::fs::read_to_string(rows_path).unwrap().lines() {
        let seq: usize = line
            .rsplit("seq=")
            .next()
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        *counts.entry(seq).or_insert(0u32) += 1;
    }
    assert!(
        counts.values().all(|&n| n == 1),
        "a message was written twice"
    );
    for (c, &n) in per_connection.iter().enumerate() {
        for i in 0..n {
            assert!(
                counts.contains_key(&(BASE + c * BASE + i)),
                "user message {c}/{i} lost"
            );
        }
    }
    assert!(user_total > 0);
    assert_eq!(
        filtered, HALF as u64,
        "the first half of the daemon messages was filtered"
    );
    assert!((0..HALF).all(|i| !counts.contains_key(&i)));
    assert!(
        (HALF..2 * HALF).all(|i| counts.contains_key(&i)),
        "the second half was collected"
    );
    assert_eq!(counts.len(), user_total + HALF);
}

pub(crate) fn the_scaffolded_ingestion_dcr_checks_and_says_what_it_lacks() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_tern"))
        .args(["dcr", "scaffold", "--workspace", "/subscriptions/s/resourceGroups/g/providers/Microsoft.OperationalInsights/workspaces/w"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let dcrs = dir.path().join("dcr");
    std::fs::create_dir(&dcrs).unwrap();
    std::fs::write(dcrs.join("ingestion.json"), &output.stdout).unwrap();
    let config = dir.path().join("t.toml");
    std::fs::write(
        &config,
        format!(
            "[[listen]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:1\"\n[dcr]\npaths = [\"{}\"]\n",
            dcrs.display()
        ),
    )
    .unwrap();
    let check = || tern_check(&config);
    // Before it is deployed the DCR has no endpoint or immutable id: valid, but nothing could
    // be posted, so rows would be dropped; check says exactly that, once per table.
    let output = check();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    for (line, (flow, table)) in lines.iter().zip([(0, "Syslog"), (1, "CommonSecurityLog")]) {
        assert!(
            line.starts_with(&format!(
                "tern: dcr error: {}: resources[0].properties.dataFlows[{flow}]: {table} in every workspace: no logs ingestion endpoint or DCR immutable id",
                dcrs.join("ingestion.json").display()
            )) && line.contains("rows will be dropped"),
            "{stderr}"
        );
    }
    // With a local output the rows are kept there: no longer a loss.
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("[[output]]\nkind = \"stdout\"\n");
    std::fs::write(&config, text).unwrap();
    let output = check();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

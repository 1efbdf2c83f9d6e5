//! Vendor formats through the daemon: Cisco ISE segments put back together (and the counts of
//! complete and incomplete ones), and a format pinned per sender network (`sender_formats`)
//! turning a Meraki line that auto-detection leaves as syslog into a CommonSecurityLog row.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{
    connect_when_ready, daemon_config, free_port, http_get, metric_sum, spawn_tern, stop_tern_ref,
};

fn rows_in(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

const ISE: [&str; 4] = [
    "<181>Nov 21 10:00:00 ise-1 CISE_Passed_Authentications 0000004242 4 0 2026-11-21 10:00:00.100 +00:00 0000170001 5200 NOTICE Passed-Authentication: Authentication succeeded, ConfigVersionId=7, Device IP Address=10.90.0.1,",
    "<181>Nov 21 10:00:00 ise-1 CISE_Passed_Authentications 0000004242 4 1  UserName=alice, Protocol=Radius,",
    "<181>Nov 21 10:00:01 ise-1 CISE_Passed_Authentications 0000004242 4 2  NetworkDeviceName=switch-7, AuthenticationMethod=PAP_ASCII,",
    "<181>Nov 21 10:00:01 ise-1 CISE_Passed_Authentications 0000004242 4 3  Response={Class=CACS:0a; }",
];

/// A Meraki switch event whose type auto-detection does not know.
const MERAKI: &str =
    "<134>1 1795255300.000000001 ms-core switch_event port 3 status changed from 100fdx to down";

pub(crate) fn ise_segments_are_reassembled_and_senders_can_be_pinned() {
    let dir = tempfile::tempdir().unwrap();
    let rows_path = dir.path().join("rows.jsonl");
    let (port, pinned_port, metrics_port) = (free_port(), free_port(), free_port());
    // Reassembly only where asked for (`reassemble = true`): on the first listener.
    let config = daemon_config(
        "fwd-01",
        port,
        &rows_path,
        &format!("127.0.0.1:{metrics_port}"),
    )
    .replacen(
        &format!("address = \"127.0.0.1:{port}\"\n"),
        &format!("address = \"127.0.0.1:{port}\"\nreassemble = true\n"),
        1,
    ) + &format!(
        "\n[[listen]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{pinned_port}\"\n\
         sender_formats = {{ \"127.0.0.0/8\" = \"meraki\" }}\n"
    );
    let config_path = dir.path().join("tern.toml");
    std::fs::write(&config_path, config).unwrap();
    let mut tern = spawn_tern(&config_path);

    let mut stream = connect_when_ready(port);
    // Segments out of order, with an unrelated message between them.
    for line in [
        ISE[0],
        ISE[2],
        "<13>Nov 21 10:00:01 host app: between",
        ISE[1],
        ISE[3],
    ] {
        writeln!(stream, "{line}").unwrap();
    }
    // Two of three segments, then the connection closes: forwarded as they are.
    writeln!(stream, "<181>Nov 21 10:00:02 ise-1 CISE_Failed_Attempts 0000004243 3 0 2026-11-21 10:00:02.000 +00:00 0000170002 5400 NOTICE Failed-Attempt: Authentication failed, UserName=mallory,").unwrap();
    writeln!(stream, "<181>Nov 21 10:00:02 ise-1 CISE_Failed_Attempts 0000004243 3 2  FailureReason=24408 User authentication against Active Directory failed,").unwrap();
    writeln!(stream, "{MERAKI}").unwrap();
    drop(stream);
    let mut pinned = connect_when_ready(pinned_port);
    writeln!(pinned, "{MERAKI}").unwrap();
    drop(pinned);

    let deadline = Instant::now() + Duration::from_secs(30);
    while rows_in(&rows_path).len() < 5 {
        assert!(Instant::now() < deadline, "rows: {:?}", rows_in(&rows_path));
        std::thread::sleep(Duration::from_millis(50));
    }
    // Each count settles before the exposition is read; the rows are complete once Tern stops.
    let mut exposition = String::new();
    crate::support::wait_until(
        "the reassembly and Meraki counts",
        Duration::from_secs(30),
        || {
            exposition = http_get(metrics_port, "/metrics").unwrap().1;
            metric_sum(&exposition, "tern_reassembled_total", "") == 1
                && metric_sum(&exposition, "tern_reassembly_incomplete_total", "") == 1
                && metric_sum(&exposition, "tern_parsed_total", "kind=\"meraki\"") == 1
        },
    );
    assert_eq!(stop_tern_ref(&mut tern).code(), Some(0));
    let rows = rows_in(&rows_path);
    assert_eq!(rows.len(), 5, "{rows:#?}");

    let messages: Vec<&str> = rows
        .iter()
        .filter(|r| r["table"] == "Syslog")
        .map(|r| r["row"]["SyslogMessage"].as_str().unwrap())
        .collect();
    let whole = "CISE_Passed_Authentications 0000004242 1 0 2026-11-21 10:00:00.100 +00:00 0000170001 5200 NOTICE Passed-Authentication: Authentication succeeded, ConfigVersionId=7, Device IP Address=10.90.0.1, UserName=alice, Protocol=Radius, NetworkDeviceName=switch-7, AuthenticationMethod=PAP_ASCII, Response={Class=CACS:0a; }";
    assert_eq!(
        messages.iter().filter(|m| **m == whole).count(),
        1,
        "{messages:#?}"
    );
    assert!(messages.contains(&"between"));
    let partial = "CISE_Failed_Attempts 0000004243 1 0 2026-11-21 10:00:02.000 +00:00 0000170002 5400 NOTICE Failed-Attempt: Authentication failed, UserName=mallory, FailureReason=24408 User authentication against Active Directory failed,";
    assert!(messages.contains(&partial), "{messages:#?}");
    // The Meraki line: plain syslog on the auto listener, a Meraki row on the pinned one.
    assert!(messages.iter().any(|m| m.contains("switch_event port 3")));
    let meraki: Vec<&Value> = rows
        .iter()
        .filter(|r| r["table"] == "CommonSecurityLog")
        .collect();
    assert_eq!(meraki.len(), 1, "{rows:#?}");
    let row = &meraki[0]["row"];
    assert_eq!(row["DeviceVendor"], "Cisco");
    assert_eq!(row["DeviceProduct"], "Meraki");
    assert_eq!(row["DeviceEventClassID"], "switch_event");
    assert_eq!(row["DeviceName"], "ms-core");
    assert_eq!(row["StartTime"], "2026-11-21T10:01:40.000000001Z");

    assert_eq!(metric_sum(&exposition, "tern_reassembled_total", ""), 1);
    assert_eq!(
        metric_sum(&exposition, "tern_reassembly_incomplete_total", ""),
        1
    );
    assert_eq!(
        metric_sum(&exposition, "tern_parsed_total", "kind=\"meraki\""),
        1
    );
}

/// Over UDP, an incomplete ISE group is forwarded once its window has passed although the
/// sender sends nothing more (there is no connection whose end would release it).
pub(crate) fn incomplete_ise_group_leaves_a_quiet_udp_listener_on_time() {
    incomplete_ise_group_leaves_a_quiet_sender_on_time(Transport::Udp);
}

/// Over TCP, the same while the sender keeps its connection open and silent (the group used to
/// wait for the next bytes or the idle timeout, five minutes).
pub(crate) fn incomplete_ise_group_leaves_a_quiet_tcp_connection_on_time() {
    incomplete_ise_group_leaves_a_quiet_sender_on_time(Transport::Tcp);
}

#[derive(Clone, Copy, Debug)]
enum Transport {
    Udp,
    Tcp,
}

fn incomplete_ise_group_leaves_a_quiet_sender_on_time(transport: Transport) {
    let dir = tempfile::tempdir().unwrap();
    let rows_path = dir.path().join("rows.jsonl");
    let (port, udp_port, metrics_port) = (free_port(), free_port(), free_port());
    let config = daemon_config(
        "fwd-01",
        port,
        &rows_path,
        &format!("127.0.0.1:{metrics_port}"),
    )
    .replacen(
        &format!("address = \"127.0.0.1:{port}\"\n"),
        &format!("address = \"127.0.0.1:{port}\"\nreassemble = true\n"),
        1,
    ) + &format!(
        "\n[[listen]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:{udp_port}\"\nreassemble = true\n"
    );
    let config_path = dir.path().join("tern.toml");
    std::fs::write(&config_path, config).unwrap();
    let mut tern = spawn_tern(&config_path);
    let mut connection = connect_when_ready(port);

    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut send = |message: &str| match transport {
        Transport::Udp => {
            socket
                .send_to(message.as_bytes(), ("127.0.0.1", udp_port))
                .unwrap();
        }
        Transport::Tcp => connection
            .write_all(format!("{message}\n").as_bytes())
            .unwrap(),
    };
    // A datagram sent before the listener is bound is lost: repeat one until it lands.
    crate::support::wait_until(
        &format!("the {transport:?} listener to answer"),
        Duration::from_secs(20),
        || {
            if rows_in(&rows_path).is_empty() {
                send("<13>Nov 21 10:00:01 host app: ready");
                false
            } else {
                true
            }
        },
    );
    let ready_rows = rows_in(&rows_path).len();
    let sent = Instant::now();
    for segment in [ISE[0], ISE[1]] {
        send(segment);
    }
    // Nothing more is sent (the TCP connection stays open). The window is 10 s; the check runs
    // every second. The deadline is generous for a loaded machine.
    crate::support::wait_until(
        "the incomplete group to leave",
        Duration::from_secs(60),
        || rows_in(&rows_path).len() != ready_rows,
    );
    let waited = sent.elapsed();
    let (_, exposition) = http_get(metrics_port, "/metrics").unwrap();
    drop(connection);
    assert_eq!(stop_tern_ref(&mut tern).code(), Some(0));
    // Never before the window (10 s); how soon after is the reassembler's unit test's to
    // check, with its clock in hand (`incomplete_groups_leave_after_the_window_or_at_the_end`).
    assert!(
        waited >= Duration::from_secs(10),
        "{transport:?}: left after {waited:?}"
    );
    let rows = rows_in(&rows_path);
    assert_eq!(rows.len(), ready_rows + 1, "{rows:#?}");
    let partial = "CISE_Passed_Authentications 0000004242 1 0 2026-11-21 10:00:00.100 +00:00 0000170001 5200 NOTICE Passed-Authentication: Authentication succeeded, ConfigVersionId=7, Device IP Address=10.90.0.1, UserName=alice, Protocol=Radius,";
    assert_eq!(
        rows.last().unwrap()["row"]["SyslogMessage"],
        partial,
        "{rows:#?}"
    );
    assert_eq!(
        metric_sum(&exposition, "tern_reassembly_incomplete_total", ""),
        1
    );
}

//! systemd integration (issue 8): the units pass `systemd-analyze verify`, the binary takes
//! the sockets systemd passes (`LISTEN_FDS`, through Debian's `systemd-socket-activate`), and
//! it speaks the notification protocol (READY, STATUS, WATCHDOG, STOPPING).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{free_port, logger};

fn units() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../systemd")
}

pub(crate) fn units_pass_systemd_analyze_verify() {
    let dir = tempfile::tempdir().unwrap();
    // verify checks that ExecStart's binary exists: point it at the one just built.
    let service = std::fs::read_to_string(units().join("tern.service"))
        .unwrap()
        .replace("/usr/local/bin/tern", env!("CARGO_BIN_EXE_tern"));
    std::fs::write(dir.path().join("tern.service"), service).unwrap();
    std::fs::copy(units().join("tern.socket"), dir.path().join("tern.socket")).unwrap();
    let out = Command::new("systemd-analyze")
        .current_dir(dir.path())
        .args(["verify", "./tern.service", "./tern.socket"])
        .output()
        .unwrap_or_else(|e| panic!("systemd-analyze (Debian package systemd) is needed: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // Unknown keys are only warnings to verify; none are allowed here.
    assert!(stderr.trim().is_empty(), "systemd-analyze verify: {stderr}");
    // The hardening keeps its rating (lower is better; 2.0 is the bound the review set), and
    // memory has a ceiling.
    let out = Command::new("systemd-analyze")
        .current_dir(dir.path())
        .args(["security", "--offline=true", "./tern.service"])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    let exposure: f64 = report
        .lines()
        .find_map(|l| l.split("exposure level for tern.service:").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in: {report}"));
    assert!(exposure <= 2.0, "exposure {exposure}");
    let unit = std::fs::read_to_string(units().join("tern.service")).unwrap();
    assert!(unit.lines().any(|l| l.starts_with("MemoryMax=")));
}

pub(crate) fn sysusers_and_tmpfiles_snippets_make_the_user_and_folders() {
    // Both tools work inside a scratch root: the user lands in its /etc/passwd, and the
    // folders are made there, owned by that user.
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("etc")).unwrap();
    let root_arg = format!("--root={}", root.path().display());
    for (tool, file, extra) in [
        ("systemd-sysusers", "tern.sysusers", None),
        ("systemd-tmpfiles", "tern.tmpfiles", Some("--create")),
    ] {
        let out = Command::new(tool)
            .arg(&root_arg)
            .args(extra)
            .arg(units().join(file))
            .output()
            .unwrap_or_else(|e| panic!("{tool} (package systemd) is needed: {e}"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{tool} {file}: {stderr}");
        assert!(
            !["Failed", "ignoring", "Unknown", "invalid"]
                .iter()
                .any(|w| stderr.contains(w)),
            "{tool} {file}: {stderr}"
        );
    }
    let passwd = std::fs::read_to_string(root.path().join("etc/passwd")).unwrap();
    let tern = passwd
        .lines()
        .find(|l| l.starts_with("tern:"))
        .unwrap_or_else(|| panic!("no tern user in {passwd}"));
    let uid: u32 = tern.split(':').nth(2).unwrap().parse().unwrap();
    assert!(tern.ends_with(":/var/lib/tern:/usr/sbin/nologin"), "{tern}");
    use std::os::unix::fs::MetadataExt;
    let spool = std::fs::metadata(root.path().join("var/lib/tern/spool")).unwrap();
    assert_eq!((spool.uid(), spool.mode() & 0o777), (uid, 0o750));
    let etc = std::fs::metadata(root.path().join("etc/tern")).unwrap();
    assert_eq!((etc.uid(), etc.mode() & 0o777), (0, 0o750));
}

pub(crate) fn socket_activation_serves_the_inherited_sockets() {
    let dir = tempfile::tempdir().unwrap();
    let (udp, tcp, metrics) = (free_port(), free_port(), free_port());
    let rows = dir.path().join("rows.jsonl");
    let config = dir.path().join("tern.toml");
    // The TCP listener asks for the wildcard address; systemd bound 127.0.0.1: it matches by port.
    std::fs::write(
        &config,
        format!(
            "hostname = \"fwd-sa\"\n[[listen]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:{udp}\"\n\
             [[listen]]\nprotocol = \"tcp\"\naddress = \"0.0.0.0:{tcp}\"\n\
             [[output]]\nkind = \"file\"\npath = \"{}\"\n[metrics]\naddress = \"127.0.0.1:{metrics}\"\n",
            rows.display()
        ),
    )
    .unwrap();
    let log = dir.path().join("stderr.log");
    // Two activators in a chain: the outer passes its UDP socket on to the inner, which adds a
    // TCP one and execs Tern with both (LISTEN_FDS=2). Each waits for traffic before exec.
    let mut child = Command::new("systemd-socket-activate")
        .args(["--datagram", "-l", &format!("127.0.0.1:{udp}"), "--"])
        .args([
            "systemd-socket-activate",
            "-l",
            &format!("127.0.0.1:{tcp}"),
            "--",
        ])
        .arg(env!("CARGO_BIN_EXE_tern"))
        .args(["run", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("systemd-socket-activate (package systemd) is needed: {e}"));
    // Read in /proc, not probed: a probe would wake the activators.
    crate::support::wait_until(
        "the outer activator's UDP socket",
        Duration::from_secs(30),
        || crate::support::port_bound("udp", udp),
    );
    let udp_target = format!("{udp}");
    let tcp_target = format!("{tcp}");
    // This datagram wakes the outer activator and waits in the socket until Tern reads it.
    logger(&["-d", "-n", "127.0.0.1", "-P", &udp_target, "sa-udp-1"]);
    crate::support::wait_until(
        "the inner activator's TCP socket",
        Duration::from_secs(30),
        || crate::support::port_bound("tcp", tcp),
    );
    logger(&["-T", "-n", "127.0.0.1", "-P", &tcp_target, "sa-tcp-1"]);
    crate::support::wait_until("tern ready", Duration::from_secs(20), || {
        crate::support::http_get(metrics, "/readyz").is_some_and(|(status, _)| status == 200)
    });
    logger(&["-d", "-n", "127.0.0.1", "-P", &udp_target, "sa-udp-2"]);
    logger(&["-T", "-n", "127.0.0.1", "-P", &tcp_target, "sa-tcp-2"]);
    let want = ["sa-udp-1", "sa-tcp-1", "sa-udp-2", "sa-tcp-2"];
    let mut text = String::new();
    crate::support::wait_for("the four rows", Duration::from_secs(20), || {
        text = std::fs::read_to_string(&rows).unwrap_or_default();
        if want.iter().all(|w| text.contains(w)) {
            Ok(())
        } else {
            Err(format!("rows so far: {text}"))
        }
    });
    assert_eq!(text.lines().count(), 4, "{text}");
    crate::support::signal(child.id(), nix::sys::signal::Signal::SIGTERM);
    assert!(child.wait().unwrap().success());
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        stderr.matches("using the socket passed by systemd").count(),
        2,
        "{stderr}"
    );
}

pub(crate) fn notifies_ready_status_watchdog_and_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let port = free_port();
    let config = dir.path().join("tern.toml");
    std::fs::write(
        &config,
        format!(
            "[[listen]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{port}\"\n\
             [[output]]\nkind = \"file\"\npath = \"{}\"\n[metrics]\naddress = \"127.0.0.1:{}\"\n",
            dir.path().join("rows.jsonl").display(),
            free_port()
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tern"))
        .args(["run", "--config"])
        .arg(&config)
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "1500000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let receive = || {
        let mut buffer = [0u8; 1024];
        let n = socket.recv(&mut buffer).unwrap();
        String::from_utf8_lossy(&buffer[..n]).into_owned()
    };
    let first = receive();
    assert!(first.contains("READY=1\n"), "{first}");
    assert!(
        first.contains("STATUS=0 messages received, 0 rows uploaded"),
        "{first}"
    );
    // A 1.5 s watchdog gets a ping every 0.5 s (the interval is `systemd.rs`'s unit test's to
    // check), each with the live status.
    let mut pings = 0;
    while pings < 3 {
        let message = receive();
        if message.contains("WATCHDOG=1") {
            assert!(message.contains("STATUS="), "{message}");
            pings += 1;
        }
    }
    crate::support::signal(child.id(), nix::sys::signal::Signal::SIGTERM);
    loop {
        let message = receive();
        if message.contains("STOPPING=1") {
            break;
        }
    }
    assert!(child.wait().unwrap().success());
}

pub(crate) fn the_install_script_lays_out_a_vm() {
    let root = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/install.sh");
    let out = Command::new("bash")
        .arg(&script)
        .args(["--binary", env!("CARGO_BIN_EXE_tern"), "--destdir"])
        .arg(root.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = |p: &str| root.path().join(p);
    for file in [
        "usr/local/bin/tern",
        "etc/systemd/system/tern.service",
        "etc/systemd/system/tern.socket",
        "usr/lib/sysusers.d/tern.conf",
        "usr/lib/tmpfiles.d/tern.conf",
        "usr/share/doc/tern/relays/rsyslog-tls-to-tern.conf",
        "etc/tern/tern.toml",
    ] {
        assert!(r(file).is_file(), "{file} not installed");
    }
    use std::os::unix::fs::MetadataExt;
    let passwd = std::fs::read_to_string(r("etc/passwd")).unwrap();
    let uid: u32 = passwd
        .lines()
        .find(|l| l.starts_with("tern:"))
        .unwrap()
        .split(':')
        .nth(2)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        std::fs::metadata(r("var/lib/tern/spool")).unwrap().uid(),
        uid
    );
    assert_eq!(
        std::fs::metadata(r("etc/tern/tern.toml")).unwrap().mode() & 0o777,
        0o640
    );
    // The installed config checks, its DCR folder being the installed one.
    let text = std::fs::read_to_string(r("etc/tern/tern.toml"))
        .unwrap()
        .replace(
            "/etc/tern/dcr.d",
            &r("etc/tern/dcr.d").display().to_string(),
        );
    std::fs::write(r("check.toml"), text).unwrap();
    let check = Command::new(r("usr/local/bin/tern"))
        .args(["check", "--config"])
        .arg(r("check.toml"))
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    // A second run keeps the operator's config.
    std::fs::write(r("etc/tern/tern.toml"), "# mine\n").unwrap();
    let again = Command::new("bash")
        .arg(&script)
        .args(["--binary", env!("CARGO_BIN_EXE_tern"), "--destdir"])
        .arg(root.path())
        .output()
        .unwrap();
    assert!(again.status.success());
    assert_eq!(
        std::fs::read_to_string(r("etc/tern/tern.toml")).unwrap(),
        "# mine\n"
    );
}

//! Helpers shared by the upload and credential tests.
#![allow(dead_code)] // each test crate uses its own part

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub mod pki;
pub mod programs;
pub mod relp;

use tern::upload::auth::TokenCache;
use tern::upload::sender::{RetryPolicy, Sender};

/// A sender to the mock at `url` whose backoff is short, so that retries show in a test's
/// time and not a production one's.
pub fn fast_sender(
    url: &str,
    tokens: Arc<TokenCache>,
    dcr: &str,
    stream: &str,
    dead_letter: PathBuf,
) -> Sender {
    let http = tern::upload::http_client().unwrap_or_else(|e| panic!("{e}"));
    fast_sender_with(http, url, tokens, dcr, stream, dead_letter)
}

/// [`fast_sender`] with a given HTTP client (a proxy, extra roots).
pub fn fast_sender_with(
    http: reqwest::Client,
    url: &str,
    tokens: Arc<TokenCache>,
    dcr: &str,
    stream: &str,
    dead_letter: PathBuf,
) -> Sender {
    Sender::new(
        http,
        tokens,
        url,
        dcr,
        stream,
        dead_letter,
        RetryPolicy {
            base: Duration::from_millis(20),
            cap: Duration::from_millis(200),
            configuration_wait: Duration::from_millis(200),
        },
    )
}

/// A port free for both TCP and UDP on 127.0.0.1 right now, and never handed out twice in this
/// process (tests run in parallel: two could otherwise get the same free port before either
/// binds it).
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    loop {
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let port = tcp.local_addr().map_or(0, |a| a.port());
        let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
        if port != 0 && !given.contains(&port) && UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            given.push(port);
            return port;
        }
    }
}

/// A minimal HTTP GET on 127.0.0.1:`port`: (status, body).
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.get(9..12)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n")?.1.to_owned();
    Some((status, body))
}

/// The sum of a Prometheus metric in `exposition` over its label sets matching `filter`.
pub fn metric_sum(exposition: &str, name: &str, filter: &str) -> u64 {
    exposition
        .lines()
        .filter(|l| l.starts_with(name) && l.contains(filter))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// Runs util-linux `logger` with `args`.
pub fn logger(args: &[&str]) {
    let status = Command::new("logger")
        .args(args)
        .status()
        .unwrap_or_else(|e| panic!("logger (util-linux) is needed: {e}"));
    assert!(status.success());
}

/// `logger` sending each line of `file` over TCP with octet counting to 127.0.0.1:`port`.
pub fn logger_file(port: u16, priority: &str, tag: &str, file: &Path) {
    logger(&[
        "-T",
        "--octet-count",
        "-n",
        "127.0.0.1",
        "-P",
        &port.to_string(),
        "-p",
        priority,
        "-t",
        tag,
        "-f",
        file.to_str()
            .unwrap_or_else(|| panic!("{} is not UTF-8", file.display())),
    ]);
}

pub fn rsyslogd() -> PathBuf {
    let program = programs::Program::named("rsyslogd");
    program
        .path()
        .unwrap_or_else(|| panic!("{}", program.missing_reason()))
}

/// The start of a daemon config: `hostname`, a TCP listener on `port`, rows to `rows`, and
/// the metrics endpoint on `metrics` (empty: none).
pub fn daemon_config(hostname: &str, port: u16, rows: &std::path::Path, metrics: &str) -> String {
    format!(
        "hostname = \"{hostname}\"\n[[listen]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{port}\"\n\n\
         [[output]]\nkind = \"file\"\npath = \"{}\"\n\n[metrics]\naddress = \"{metrics}\"\n",
        rows.display()
    )
}

/// Starts `tern run` on `config`; its log goes to `tern.log` beside the config (appended, so
/// a restarted Tern's log follows the first's), for a failing test to show.
pub fn spawn_tern(config: &std::path::Path) -> Tern {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(config.with_file_name("tern.log"))
        .unwrap();
    Tern(Some(
        std::process::Command::new(env!("CARGO_BIN_EXE_tern"))
            .args(["run", "--config"])
            .arg(config)
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    ))
}

/// What `spawn_tern` logged for `config`, for failure messages.
pub fn tern_log(config: &std::path::Path) -> String {
    std::fs::read_to_string(config.with_file_name("tern.log")).unwrap_or_default()
}

/// A `tern run` child that is killed if the test ends without stopping it (a failed assertion
/// unwinds past the `stop_tern` at its end, and the daemon would outlive the test run).
pub struct Tern(Option<std::process::Child>);

impl std::ops::Deref for Tern {
    type Target = std::process::Child;
    fn deref(&self) -> &std::process::Child {
        self.0
            .as_ref()
            .expect("the child is taken only by stop_tern")
    }
}

impl std::ops::DerefMut for Tern {
    fn deref_mut(&mut self) -> &mut std::process::Child {
        self.0
            .as_mut()
            .expect("the child is taken only by stop_tern")
    }
}

impl Drop for Tern {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            if matches!(child.try_wait(), Ok(None)) {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// Syslog messages `seqs` (`<PRI>… app: seq=N`) on a new TCP connection to `port`.
pub async fn send_seqs(port: u16, pri: u8, seqs: std::ops::Range<usize>) {
    let sent = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut stream = connect_when_ready(port);
        let text: String = seqs
            .map(|i| format!("<{pri}>Nov 21 10:00:00 h app: seq={i}\n"))
            .collect();
        stream.write_all(text.as_bytes())
    })
    .await;
    assert!(matches!(sent, Ok(Ok(()))), "sending to {port}: {sent:?}");
}

/// Connects once the daemon listens, for up to 20 s.
pub fn connect_when_ready(port: u16) -> std::net::TcpStream {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match std::net::TcpStream::connect(("127.0.0.1", port)) {
            Ok(stream) => return stream,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => panic!("tern did not start: {e}"),
        }
    }
}

/// SIGTERM, then the exit status once the daemon has drained.
pub async fn stop_tern(mut tern: Tern) -> std::process::ExitStatus {
    let mut child = tern.0.take().expect("a running child");
    crate::support::signal(child.id(), nix::sys::signal::Signal::SIGTERM);
    tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap()
}

/// The sequence number of a `seq=N` or `seq=N padding` message column.
pub fn seq_of(column: &serde_json::Value) -> usize {
    let text = column.as_str().unwrap();
    let digits = text
        .strip_prefix("seq=")
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    digits.parse().unwrap()
}

/// A real rsyslog relay in the foreground with its own work folder: `imtcp` on `port`, every
/// message to `action` (an rsyslog `action(...)` statement). Stopped when dropped.
pub struct Relay {
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn rsyslog_relay(port: u16, modules: &str, action: &str) -> Relay {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let config = dir.path().join("rsyslog.conf");
    let text = format!(
        "global(workDirectory=\"{work}\")\nmodule(load=\"imtcp\")\n{modules}\n\
         input(type=\"imtcp\" address=\"127.0.0.1\" port=\"{port}\" ruleset=\"relay\")\n\
         ruleset(name=\"relay\") {{\n  {action}\n}}\n",
        work = dir.path().display()
    );
    std::fs::write(&config, text).unwrap_or_else(|e| panic!("{e}"));
    start_rsyslogd(dir, &config, port)
}

/// Runs rsyslogd in the foreground on `config` (in `dir`) until `port` accepts.
fn start_rsyslogd(dir: tempfile::TempDir, config: &Path, port: u16) -> Relay {
    let child = Command::new(rsyslogd())
        .args(["-n", "-f"])
        .arg(config)
        .arg("-i")
        .arg(dir.path().join("rsyslog.pid"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("rsyslogd: {e}"));
    drop(connect_when_ready(port));
    Relay { child, _dir: dir }
}

/// The `[azure.auth]` section for the mock's client `app` with secret `right`, whose secret
/// file it writes into `dir`; tokens from the mock at `url`.
pub fn secret_auth(dir: &Path, url: &str) -> String {
    let secret = dir.join("secret");
    std::fs::write(&secret, "right").unwrap_or_else(|e| panic!("{e}"));
    format!(
        "[azure.auth]\nmethod = \"client-secret\"\ntenant_id = \"t\"\nclient_id = \"app\"\n\
         client_secret_file = \"{}\"\nauthority_host = \"{url}\"\n",
        secret.display()
    )
}

/// A relay recipe from `conf/relays/`, with each `(from, to)` replaced: what the tests run is
/// what the recipes ship.
pub fn relay_recipe(file: &str, replace: &[(&str, &str)]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../conf/relays")
        .join(file);
    let mut text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    for (from, to) in replace {
        assert!(text.contains(from), "{file} has no `{from}`");
        text = text.replace(from, to);
    }
    text
}

/// A real rsyslog relay: `imtcp` on `port` into the default ruleset, then `snippet` (a drop-in
/// file for /etc/rsyslog.d/). Stopped when dropped.
pub fn rsyslog_with(port: u16, snippet: &str) -> Relay {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let config = dir.path().join("rsyslog.conf");
    let text = format!(
        "global(workDirectory=\"{work}\")\nmodule(load=\"imtcp\")\n\
         input(type=\"imtcp\" address=\"127.0.0.1\" port=\"{port}\")\n{snippet}\n",
        work = dir.path().display()
    );
    std::fs::write(&config, text).unwrap_or_else(|e| panic!("{e}"));
    let check = Command::new(rsyslogd())
        .args(["-N1", "-f"])
        .arg(&config)
        .output()
        .unwrap_or_else(|e| panic!("rsyslogd: {e}"));
    assert!(
        check.status.success(),
        "rsyslogd -N1 rejects the config: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    start_rsyslogd(dir, &config, port)
}

/// syslog-ng's files ([`programs::syslog_ng_root`]): (binary, module path, library path).
pub fn syslog_ng() -> (PathBuf, PathBuf, PathBuf) {
    let root = programs::syslog_ng_root()
        .unwrap_or_else(|| panic!("{}", programs::Program::named("syslog-ng").missing_reason()));
    (
        root.join("usr/sbin/syslog-ng"),
        root.join("usr/lib/syslog-ng/3.38"),
        root.join("usr/lib/syslog-ng"),
    )
}

/// A real syslog-ng relay: a `syslog()` source `s_src` on `port` (TCP, RFC 5424 with octet
/// counting), then `snippet` (a drop-in file for /etc/syslog-ng/conf.d/). Stopped when dropped.
pub fn syslog_ng_with(port: u16, snippet: &str) -> Relay {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let config = dir.path().join("syslog-ng.conf");
    let text = format!(
        "@version: 3.38\n\
         source s_src {{ syslog(ip(\"127.0.0.1\") port({port}) transport(\"tcp\")); }};\n{snippet}\n"
    );
    std::fs::write(&config, text).unwrap_or_else(|e| panic!("{e}"));
    let (binary, modules, libraries) = syslog_ng();
    let run = |extra: &[&str]| {
        let mut command = Command::new(&binary);
        command
            .env("LD_LIBRARY_PATH", &libraries)
            .arg(format!("--module-path={}", modules.display()))
            .arg("-f")
            .arg(&config)
            .arg("-R")
            .arg(dir.path().join("persist"))
            .arg("-p")
            .arg(dir.path().join("pid"))
            .arg("-c")
            .arg(dir.path().join("ctl"))
            .args(extra);
        command
    };
    let check = run(&["-s"])
        .output()
        .unwrap_or_else(|e| panic!("syslog-ng: {e}"));
    assert!(
        check.status.success(),
        "syslog-ng -s rejects the config: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let child = run(&["-F"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("syslog-ng: {e}"));
    drop(connect_when_ready(port));
    Relay { child, _dir: dir }
}

/// SIGTERM, then the exit status, for a child the caller keeps.
pub fn stop_tern_ref(child: &mut std::process::Child) -> std::process::ExitStatus {
    crate::support::signal(child.id(), nix::sys::signal::Signal::SIGTERM);
    child.wait().unwrap_or_else(|e| panic!("{e}"))
}

/// Sends `signal` to the process `pid` (a child of the test).
pub fn signal(pid: u32, signal: nix::sys::signal::Signal) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(pid).unwrap_or_else(|e| panic!("{e}")));
    nix::sys::signal::kill(pid, signal).unwrap_or_else(|e| panic!("kill -{signal} {pid}: {e}"));
}

/// Waits until `condition` holds, checking every 20 ms, for at most `limit`; panics naming
/// `what` past it. The limit is a deadline, generous for a loaded machine, never a pace.
pub fn wait_until(what: &str, limit: Duration, mut condition: impl FnMut() -> bool) {
    wait_for(what, limit, || {
        if condition() {
            Ok(())
        } else {
            Err(String::new())
        }
    });
}

/// [`wait_until`] for a condition that says where things stand when it does not hold yet
/// (`Err(state)`): the last state is in the panic message.
pub fn wait_for(what: &str, limit: Duration, mut condition: impl FnMut() -> Result<(), String>) {
    let deadline = Instant::now() + limit;
    loop {
        let state = match condition() {
            Ok(()) => return,
            Err(state) => state,
        };
        assert!(
            Instant::now() < deadline,
            "waited {limit:?} for {what}: {state}"
        );
        std::thread::sleep(POLL);
    }
}

/// [`wait_until`] for async tests.
pub async fn wait_until_async(what: &str, limit: Duration, mut condition: impl FnMut() -> bool) {
    wait_for_async(what, limit, || {
        if condition() {
            Ok(())
        } else {
            Err(String::new())
        }
    })
    .await;
}

/// [`wait_for`] for async tests.
pub async fn wait_for_async(
    what: &str,
    limit: Duration,
    mut condition: impl FnMut() -> Result<(), String>,
) {
    let deadline = Instant::now() + limit;
    loop {
        let state = match condition() {
            Ok(()) => return,
            Err(state) => state,
        };
        assert!(
            Instant::now() < deadline,
            "waited {limit:?} for {what}: {state}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Looks every 20 ms until `condition` holds or `limit` passes; whether it held. For waits
/// whose caller reports the outcome itself (what arrived, what is missing).
pub async fn poll_async(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// How often the waits look again.
const POLL: Duration = Duration::from_millis(20);

/// Whether something on this machine has bound `port` for `protocol` ("udp" or "tcp", listening)
/// on IPv4 or IPv6: how a test knows a daemon that it cannot probe without waking it is ready.
pub fn port_bound(protocol: &str, port: u16) -> bool {
    let listening_state = if protocol == "tcp" { "0A" } else { "07" };
    [
        format!("/proc/net/{protocol}"),
        format!("/proc/net/{protocol}6"),
    ]
    .iter()
    .filter_map(|table| std::fs::read_to_string(table).ok())
    .flat_map(|text| text.lines().skip(1).map(str::to_owned).collect::<Vec<_>>())
    .any(|line| {
        let mut fields = line.split_whitespace();
        let local = fields.nth(1).unwrap_or_default();
        let state = fields.nth(1).unwrap_or_default();
        local
            .rsplit(':')
            .next()
            .and_then(|hex| u16::from_str_radix(hex, 16).ok())
            == Some(port)
            && state == listening_state
    })
}

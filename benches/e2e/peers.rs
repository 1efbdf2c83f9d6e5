//! The forwarders compared, each run in the foreground with its own config under a temp
//! folder, doing the same job: syslog over TCP in, parse, one JSON row per event, out to the
//! local sink. What each one does exactly:
//!
//! - **Tern**: parses RFC 3164/5424, CEF (every extension to its column) and Cisco ASA, shapes
//!   Syslog and CommonSecurityLog rows, batches them (≤ 1 MB), gzips, spools nothing (no
//!   `[spool]`), and POSTs to the mock Logs Ingestion API with a bearer token.
//! - **rsyslog** (Debian 12's 8.2302): `imtcp`, its built-in RFC 3164/5424 parser, a JSON
//!   template of the header fields and the message (`option.jsonf`), and `omfwd` over TCP to a
//!   line sink: Debian builds no `omhttp`, so there is no HTTP and no gzip.
//! - **rsyslog-zlib**: the same, with `omfwd` compressing its stream (`compression.mode=
//!   "stream:always"`, `ziplevel="1"`, flushed at the end of each batch): rsyslog's nearest to
//!   the job's gzip (decision 87). The line sink inflates it.
//! - **syslog-ng** (Debian 12's 3.38): `network()` TCP source with its RFC 3164 parser, a
//!   `format-json` row of the same fields, and the `http()` destination batching up to 1,000
//!   rows (≤ 1 MB) into a JSON array per POST to the mock with a bearer token: 3.38 cannot
//!   compress (`compression()` came in 4.4).
//!
//! Neither relay parses CEF extensions or ASA fields: their rows are header fields plus the
//! message, so they do less work per event than Tern.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A forwarder under test, started and listening.
pub struct Running {
    pub child: Child,
    _dir: tempfile::TempDir,
}

impl Running {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until something accepts connections on `port`.
fn wait_listening(port: u16, child: &mut Child, name: &str) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("{name} exited at start: {status}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!("{name} did not listen on {port} within 20 s"))
}

/// Where the job's rows go.
pub struct Sink {
    /// The mock Logs Ingestion API base URL (`http://127.0.0.1:PORT`).
    pub api_url: String,
    pub dcr: String,
    pub stream_syslog: String,
    pub stream_csl: String,
    /// A token the mock accepts (for syslog-ng's static header).
    pub token: String,
    /// The TCP line sink (for rsyslog).
    pub line_port: u16,
}

/// Tern with a TCP listener on `port` (or UDP, with `udp`), `extra` config appended (spool,
/// metrics).
pub fn tern(
    binary: &Path,
    port: u16,
    udp: bool,
    extra: &str,
    sink: &Sink,
) -> Result<Running, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "bench").map_err(|e| e.to_string())?;
    let config = format!(
        "hostname = \"bench\"\n\
         [[listen]]\nprotocol = \"{protocol}\"\naddress = \"127.0.0.1:{port}\"\n{udp_options}\n\
         [azure]\ncloud = \"public\"\n\
         [azure.auth]\nmethod = \"client-secret\"\ntenant_id = \"t\"\nclient_id = \"bench\"\n\
         client_secret_file = \"{secret}\"\nauthority_host = \"{url}\"\n\n\
         [[destination]]\nname = \"bench\"\nendpoint = \"{url}\"\ndcr_immutable_id = \"{dcr}\"\n\
         streams = {{ Syslog = \"{syslog}\", CommonSecurityLog = \"{csl}\" }}\n\n{extra}\n",
        protocol = if udp { "udp" } else { "tcp" },
        udp_options = if udp {
            "receive_buffer_bytes = 33554432\n"
        } else {
            ""
        },
        secret = secret.display(),
        url = sink.api_url,
        dcr = sink.dcr,
        syslog = sink.stream_syslog,
        csl = sink.stream_csl,
    );
    let path = dir.path().join("tern.toml");
    std::fs::write(&path, config).map_err(|e| e.to_string())?;
    let mut child = Command::new(binary)
        .args(["run", "--config"])
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{}: {e}", binary.display()))?;
    if udp {
        // Nothing to connect to: give it the time to bind.
        std::thread::sleep(Duration::from_millis(800));
    } else {
        wait_listening(port, &mut child, "tern")?;
    }
    Ok(Running { child, _dir: dir })
}

/// rsyslog as above; with `zlib`, `omfwd` compresses its stream (zlib level 1, flushed at the
/// end of each batch of messages): the nearest rsyslog gets to the job's gzip without `omhttp`.
pub fn rsyslog(port: u16, sink: &Sink, zlib: bool) -> Result<Running, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    // Queues large enough not to be the limit; the action queue in memory (no disk).
    let config = format!(
        "global(workDirectory=\"{work}\" maxMessageSize=\"64k\")\n\
         main_queue(queue.type=\"LinkedList\" queue.size=\"200000\" queue.dequeueBatchSize=\"2048\")\n\
         module(load=\"imtcp\")\n\
         input(type=\"imtcp\" address=\"127.0.0.1\" port=\"{port}\")\n\
         template(name=\"row\" type=\"list\" option.jsonf=\"on\") {{\n\
           property(outname=\"TimeGenerated\" name=\"timegenerated\" dateFormat=\"rfc3339\" format=\"jsonf\")\n\
           property(outname=\"EventTime\" name=\"timereported\" dateFormat=\"rfc3339\" format=\"jsonf\")\n\
           property(outname=\"Computer\" name=\"hostname\" format=\"jsonf\")\n\
           property(outname=\"Facility\" name=\"syslogfacility-text\" format=\"jsonf\")\n\
           property(outname=\"SeverityLevel\" name=\"syslogseverity-text\" format=\"jsonf\")\n\
           property(outname=\"ProcessName\" name=\"programname\" format=\"jsonf\")\n\
           property(outname=\"ProcessID\" name=\"procid\" format=\"jsonf\")\n\
           property(outname=\"SyslogMessage\" name=\"msg\" format=\"jsonf\")\n\
         }}\n\
         action(type=\"omfwd\" target=\"127.0.0.1\" port=\"{sink}\" protocol=\"tcp\" template=\"row\"{compression}\n\
           queue.type=\"LinkedList\" queue.size=\"200000\" queue.dequeueBatchSize=\"2048\")\n",
        work = work.display(),
        sink = sink.line_port,
        compression = if zlib {
            " compression.mode=\"stream:always\" ziplevel=\"1\" compression.stream.flushOnTXEnd=\"on\""
        } else {
            ""
        },
    );
    let path = dir.path().join("rsyslog.conf");
    std::fs::write(&path, config).map_err(|e| e.to_string())?;
    let pid = dir.path().join("rsyslog.pid");
    let mut child = Command::new("rsyslogd")
        .args(["-n", "-f"])
        .arg(&path)
        .arg("-i")
        .arg(&pid)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("rsyslogd: {e} (bash .ci/packages.sh installs it)"))?;
    wait_listening(port, &mut child, "rsyslog")?;
    Ok(Running { child, _dir: dir })
}

/// syslog-ng's binary and module folders (Debian's package unpacked by `.ci/packages.sh`).
fn syslog_ng_paths() -> Result<(PathBuf, PathBuf, PathBuf), String> {
    let root = std::env::var_os("TERN_SYSLOG_NG_ROOT")
        .map_or_else(|| PathBuf::from("/opt/tern-ci/syslog-ng"), PathBuf::from);
    for root in [root, PathBuf::from("/")] {
        let binary = root.join("usr/sbin/syslog-ng");
        if binary.exists() {
            return Ok((
                binary,
                root.join("usr/lib/syslog-ng/3.38"),
                root.join("usr/lib/syslog-ng"),
            ));
        }
    }
    Err("syslog-ng not found: bash .ci/packages.sh unpacks it into /opt/tern-ci/syslog-ng".into())
}

pub fn syslog_ng(port: u16, sink: &Sink) -> Result<Running, String> {
    let (binary, modules, libraries) = syslog_ng_paths()?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let url = format!(
        "{}/dataCollectionRules/{}/streams/{}?api-version=2023-01-01",
        sink.api_url, sink.dcr, sink.stream_syslog
    );
    let config = format!(
        "@version: 3.38\n\
         options {{ log-fifo-size(200000); flush-lines(1000); stats-freq(0); }};\n\
         source s_net {{ network(ip(\"127.0.0.1\") port({port}) transport(\"tcp\") log-iw-size(100000) max-connections(64)); }};\n\
         destination d_api {{\n\
           http(url(\"{url}\") method(\"POST\")\n\
             headers(\"Authorization: Bearer {token}\", \"Content-Type: application/json\")\n\
             batch-lines(1000) batch-bytes(900000) batch-timeout(200) workers(2)\n\
             body-prefix(\"[\") delimiter(\",\") body-suffix(\"]\")\n\
             body(\"$(format-json TimeGenerated=$R_ISODATE EventTime=$ISODATE Computer=$HOST Facility=$FACILITY SeverityLevel=$LEVEL ProcessName=$PROGRAM ProcessID=$PID SyslogMessage=$MESSAGE)\"));\n\
         }};\n\
         log {{ source(s_net); destination(d_api); flags(flow-control); }};\n",
        token = sink.token,
    );
    let path = dir.path().join("syslog-ng.conf");
    std::fs::write(&path, config).map_err(|e| e.to_string())?;
    let d = dir.path();
    let mut child = Command::new(&binary)
        .env("LD_LIBRARY_PATH", &libraries)
        .arg("-F")
        .arg(format!("--module-path={}", modules.display()))
        .arg("-f")
        .arg(&path)
        .arg("-R")
        .arg(d.join("persist"))
        .arg("-p")
        .arg(d.join("pid"))
        .arg("-c")
        .arg(d.join("ctl"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{}: {e}", binary.display()))?;
    wait_listening(port, &mut child, "syslog-ng")?;
    Ok(Running { child, _dir: dir })
}

/// User + system CPU seconds of a process (all its threads) so far.
pub fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces), from field 3 on.
    let after = stat.rsplit_once(") ").map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split(' ').collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 (1-based), i.e. 11 and 12 here; 100 ticks/s.
    (ticks(11) + ticks(12)) / 100.0
}

/// Peak resident memory of a process so far, in bytes (`VmHWM`).
pub fn peak_rss(pid: u32) -> u64 {
    status_kb(pid, "VmHWM:")
}

/// Resident memory of a process now, in bytes (`VmRSS`).
pub fn rss_now(pid: u32) -> u64 {
    status_kb(pid, "VmRSS:")
}

fn status_kb(pid: u32, field: &str) -> u64 {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return 0;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

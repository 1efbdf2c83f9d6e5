//! Checks of this host: each listener (bindable, or served by a running Tern), TLS
//! certificates, the kernel's UDP drop counters, and the spool.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use crate::config::{Address, Config, Listen, Protocol};
use crate::listen::tls;

use super::{Check, check, warn};

pub fn run(config: &Config, checks: &mut Vec<Check>) {
    let running = config.metrics_address.is_some_and(|address| {
        crate::health::check(&format!("http://{address}/readyz"), Duration::from_secs(2)).is_ok()
    });
    for listen in &config.listen {
        checks.push(listener(listen, running));
        if let Some(files) = &listen.tls {
            checks.push(certificate(listen, files));
        }
    }
    if config.listen.iter().any(|l| l.protocol == Protocol::Udp) {
        if let Some(c) = udp_drops(Path::new("/proc/net/snmp")) {
            checks.push(c);
        }
    }
    if let Some(spool) = &config.spool {
        checks.extend(spool_checks(spool));
    }
    // What `run` would refuse when it opens its outputs (as `tern check` does).
    for output in &config.outputs {
        if let Some(problem) = output.problem() {
            checks.push(check(false, format!("output {output}"), problem));
        }
    }
}

fn listener(listen: &Listen, running: bool) -> Check {
    let what = format!("listener {}", listen.name());
    if running {
        return check(
            true,
            what,
            "served by the running Tern (/readyz answers 200)",
        );
    }
    let bound = match (&listen.address, listen.protocol) {
        (Address::Inet(a), Protocol::Udp) => std::net::UdpSocket::bind(a).map(drop),
        (Address::Inet(a), _) => std::net::TcpListener::bind(a).map(drop),
        (Address::Path(p), _) => match p.parent() {
            Some(parent) if !parent.as_os_str().is_empty() && !parent.is_dir() => Err(
                std::io::Error::new(std::io::ErrorKind::NotFound, "its folder does not exist"),
            ),
            _ => Ok(()),
        },
    };
    match bound {
        Ok(()) => check(true, what, "free: Tern can bind it (Tern is not running)"),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => check(
            false,
            what,
            "the address is in use by another process and Tern is not running",
        )
        .fix(format!(
            "find it with `ss -lntup 'sport = :{}'` (rsyslog or syslog-ng listening on it?) and stop it, or move this listener",
            match &listen.address {
                Address::Inet(a) => a.port().to_string(),
                Address::Path(_) => String::new(),
            }
        )),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => check(
            false,
            what,
            format!("cannot bind: {e}"),
        )
        .fix("ports below 1024 need tern.socket (systemd socket activation), CAP_NET_BIND_SERVICE or root"),
        Err(e) => check(false, what, format!("cannot bind: {e}")).fix("check the address in the config"),
    }
}

fn certificate(listen: &Listen, files: &crate::config::TlsFiles) -> Check {
    let what = format!("certificate {}", listen.name());
    match tls::load(files) {
        Err(tls::TlsLoadError::Expired(e)) => check(false, what, e).fix(
            "install a renewed certificate and key at the same paths; Tern reloads them within 5 s",
        ),
        Err(tls::TlsLoadError::NotYetValid(e)) => check(false, what, e)
            .fix("check this host's clock (timedatectl), or wait until the certificate is valid"),
        Err(tls::TlsLoadError::Unusable(e)) => check(false, what, e)
            .fix("fix the file named above (PEM, matching key, readable by tern)"),
        Ok(loaded) => {
            let days = (loaded.not_after - tls::unix_now()) / 86_400;
            let mode = if files.client_ca.is_some() {
                "; client certificates required (mutual TLS)"
            } else {
                ""
            };
            let detail = format!(
                "{} valid until {} ({days} days){mode}",
                loaded.subject,
                tls::rfc3339(loaded.not_after)
            );
            if days < i64::try_from(tls::EXPIRY_WARNING.as_secs() / 86_400).unwrap_or(30) {
                warn(what, detail).fix("renew it now; Tern reloads the files when they change")
            } else {
                check(true, what, detail)
            }
        }
    }
}

/// The kernel's UDP counters since boot (all sockets): receive-buffer overflows are
/// datagrams lost before any program could read them.
pub fn udp_drops(snmp: &Path) -> Option<Check> {
    let text = std::fs::read_to_string(snmp).ok()?;
    let mut udp = text.lines().filter(|l| l.starts_with("Udp:"));
    let names: Vec<&str> = udp.next()?.split_whitespace().collect();
    let values: Vec<&str> = udp.next()?.split_whitespace().collect();
    let value = |name: &str| -> u64 {
        names
            .iter()
            .position(|n| *n == name)
            .and_then(|i| values.get(i))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let overflows = value("RcvbufErrors");
    let received = value("InDatagrams");
    Some(if overflows == 0 {
        check(
            true,
            "kernel UDP drops",
            format!("none since boot ({received} datagrams received)"),
        )
    } else {
        warn(
            "kernel UDP drops",
            format!("{overflows} datagrams dropped for full receive buffers since boot (all sockets; {received} received)"),
        )
        .fix("raise net.core.rmem_max (sysctl -w net.core.rmem_max=33554432) and set receive_buffer_bytes on UDP listeners; compare tern_udp_kernel_drops_total")
    })
}

fn spool_checks(spool: &crate::spool::SpoolConfig) -> Vec<Check> {
    let mut checks = Vec::new();
    let dir = &spool.dir;
    if !dir.is_dir() {
        let parent_ok = dir.parent().is_some_and(Path::is_dir);
        checks.push(if parent_ok {
            check(true, "spool", format!("{} will be created at start", dir.display()))
        } else {
            check(false, "spool", format!("{}: neither it nor its folder exists", dir.display()))
                .fix("create it (install.sh and tern.tmpfiles make /var/lib/tern/spool) or change [spool] dir")
        });
        return checks;
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let name = format!(".tern-doctor-probe-{}-{nanos:x}", std::process::id());
    if let Err(e) = probe(dir, &name) {
        checks.push(
            check(
                false,
                "spool",
                format!("{}: cannot write: {e}", dir.display()),
            )
            .fix("give the tern user the folder: chown -R tern:tern on it"),
        );
        return checks;
    }
    let used = folder_bytes(dir);
    let percent = used.saturating_mul(100) / spool.max_bytes.max(1);
    let detail = format!(
        "{}: {} in use of max_bytes {} ({percent}%)",
        dir.display(),
        human(used),
        human(spool.max_bytes)
    );
    checks.push(if percent >= 90 {
        check(false, "spool", format!("{detail}: nearly full, so uploads are behind or failing"))
            .fix("fix the upload targets below (the spool drains by itself once they accept), or raise [spool] max_bytes")
    } else {
        check(true, "spool", detail)
    });
    if let Ok(fs) = nix::sys::statvfs::statvfs(dir) {
        let free = fs.blocks_available().saturating_mul(fs.fragment_size());
        let may_grow = spool.max_bytes.saturating_sub(used);
        if free < may_grow {
            checks.push(
                warn(
                    "spool disk",
                    format!(
                        "{} free on the disk, less than the spool may still take ({})",
                        human(free),
                        human(may_grow)
                    ),
                )
                .fix("lower [spool] max_bytes below the free space, or grow the disk"),
            );
        }
    }
    checks
}

/// Whether a new file can be written in `dir`. Doctor runs as root and the folder is the tern
/// user's: the file is made afresh (never through a link planted there), under a name not
/// known ahead, and removed after.
fn probe(dir: &Path, name: &str) -> std::io::Result<()> {
    let path = dir.join(name);
    let mut file = crate::secure_file::create_new(&path, crate::secure_file::PRIVATE)?;
    let written = file.write_all(b"probe");
    drop(file);
    // Ours (created above), even when the write failed.
    let _ = std::fs::remove_file(&path);
    written
}

/// Bytes in files under `dir` (two levels: the spool's per-target folders).
fn folder_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(m) if m.is_dir() => folder_bytes(&entry.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

fn human(bytes: u64) -> String {
    const MIB: u64 = 1 << 20;
    if bytes >= 1 << 30 {
        format!("{:.1} GiB", bytes as f64 / f64::from(1u32 << 30))
    } else {
        format!("{:.1} MiB", bytes as f64 / MIB as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn udp_counters() {
        let dir = tempfile::tempdir().unwrap();
        let snmp = dir.path().join("snmp");
        std::fs::write(
            &snmp,
            "Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors\n\
             Udp: 1000 3 12 5 12 0\n",
        )
        .unwrap();
        let c = udp_drops(&snmp).unwrap();
        assert_eq!(c.verdict, super::super::Verdict::Warn);
        assert!(c.detail.starts_with("12 datagrams dropped"), "{}", c.detail);
    }

    #[test]
    fn the_spool_probe_never_writes_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let spool_dir = dir.path().join("spool");
        std::fs::create_dir(&spool_dir).unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        // The old fixed probe name, and a name the probe is told to use.
        std::os::unix::fs::symlink(&victim, spool_dir.join(".tern-doctor-probe")).unwrap();
        std::os::unix::fs::symlink(&victim, spool_dir.join(".planted")).unwrap();

        let config = crate::spool::SpoolConfig {
            dir: spool_dir.clone(),
            max_bytes: 1 << 40,
            when_full: crate::spool::WhenFull::Block,
            fsync: crate::spool::FsyncPolicy::Never,
        };
        let checks = spool_checks(&config);
        let first = checks.first().unwrap();
        assert_eq!(first.verdict, super::super::Verdict::Ok, "{}", first.detail);
        assert!(probe(&spool_dir, ".planted").is_err());

        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        let mut left: Vec<String> = std::fs::read_dir(&spool_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [".planted", ".tern-doctor-probe"],
            "no probe left behind"
        );
    }
}

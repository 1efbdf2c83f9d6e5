//! The relays on this host: where rsyslog and syslog-ng forward to, whether that is one of
//! Tern's listeners with the same transport, and leftovers of the OMS agent (its files, or
//! forwarding to its ports 25224/25226), which `tern migrate` replaces.
//!
//! A scan of the configuration text, not a parser of either language: it finds `omfwd` and
//! `omrelp` actions and the legacy `@host:port`/`@@host:port` selectors in rsyslog, and
//! `network()`, `syslog()`, `tcp()` and `udp()` destinations in syslog-ng.

use std::path::{Path, PathBuf};

use crate::config::{Address, Config, Protocol};

use super::{Check, check, warn};

/// The OMS agent's ports (`reference/azure.md` §9): syslog to 25224, CEF to 25226.
const OMS_PORTS: [u16; 2] = [25224, 25226];

/// One forwarding found in a relay's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    pub file: PathBuf,
    pub host: String,
    pub port: u16,
    /// `udp`, `tcp`, `tls` or `relp`.
    pub transport: String,
}

fn files(root: &Path, main: &str, folder: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let main = root.join(main);
    if main.is_file() {
        found.push(main);
    }
    if let Ok(entries) = std::fs::read_dir(root.join(folder)) {
        let mut more: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "conf"))
            .collect();
        more.sort();
        found.extend(more);
    }
    found
}

/// `key="value"` (case-insensitive key) inside an rsyslog `action(...)` body.
fn parameter<'a>(body: &'a str, key: &str) -> Option<&'a str> {
    let lower = body.to_ascii_lowercase();
    let mut from = 0;
    while let Some(at) = lower.get(from..)?.find(&key.to_ascii_lowercase()) {
        let start = from + at;
        let before = lower.get(..start)?.chars().next_back();
        let rest = body.get(start + key.len()..)?.trim_start();
        if before.is_none_or(|c| !c.is_ascii_alphanumeric() && c != '.' && c != '_') {
            if let Some(value) = rest.strip_prefix('=') {
                let value = value.trim_start().strip_prefix('"')?;
                return value.get(..value.find('"')?);
            }
        }
        from = start + key.len();
    }
    None
}

/// Forwardings in rsyslog configuration text.
pub fn rsyslog_forwards(file: &Path, text: &str) -> Vec<Forward> {
    let mut found = Vec::new();
    let mut push = |host: &str, port: u16, transport: &str| {
        found.push(Forward {
            file: file.to_path_buf(),
            host: host.trim_matches(['[', ']']).to_owned(),
            port,
            transport: transport.to_owned(),
        });
    };
    for action in text.split("action(").skip(1) {
        let body = action.split(')').next().unwrap_or_default();
        let kind = parameter(body, "type")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let Some(target) = parameter(body, "target") else {
            continue;
        };
        match kind.as_str() {
            "omfwd" => {
                let port = parameter(body, "port")
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(514);
                let tls = parameter(body, "streamdriver").is_some_and(|d| d != "ptcp")
                    && parameter(body, "streamdrivermode").is_some_and(|m| m == "1");
                let transport = match parameter(body, "protocol").map(str::to_ascii_lowercase) {
                    Some(p) if p == "tcp" => {
                        if tls {
                            "tls"
                        } else {
                            "tcp"
                        }
                    }
                    _ => "udp",
                };
                push(target, port, transport);
            }
            "omrelp" => {
                let port = parameter(body, "port")
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(514);
                push(target, port, "relp");
            }
            _ => {}
        }
    }
    // Legacy selectors: `*.* @@host:port` (TCP), `*.* @host:port` (UDP), `:omrelp:host:port`.
    for line in text.lines().map(str::trim).filter(|l| !l.starts_with('#')) {
        for word in line.split_whitespace() {
            let (rest, transport) = if let Some(r) = word.strip_prefix("@@") {
                (r, "tcp")
            } else if let Some(r) = word.strip_prefix('@') {
                (r, "udp")
            } else if let Some(r) = word.strip_prefix(":omrelp:") {
                (r, "relp")
            } else {
                continue;
            };
            // `(o)` options before the host, `;Template` after the port.
            let rest = rest.rsplit(')').next().unwrap_or(rest);
            let rest = rest.split(';').next().unwrap_or(rest);
            let (host, port) = match rest.rsplit_once(':') {
                Some((h, p)) if !h.is_empty() && p.chars().all(|c| c.is_ascii_digit()) => {
                    (h, p.parse().unwrap_or(514))
                }
                _ => (rest, 514),
            };
            if !host.is_empty() {
                push(host, port, transport);
            }
        }
    }
    found
}

/// Forwardings in syslog-ng configuration text.
pub fn syslog_ng_forwards(file: &Path, text: &str) -> Vec<Forward> {
    let mut found = Vec::new();
    for driver in ["network(", "syslog(", "tcp(", "udp(", "tcp6(", "udp6("] {
        let mut from = 0;
        while let Some(at) = text.get(from..).and_then(|t| t.find(driver)) {
            let start = from + at + driver.len();
            from = start;
            // Only destinations name a host first: `network("10.0.0.5" ...)`.
            let Some(rest) = text.get(start..).map(str::trim_start) else {
                break;
            };
            let Some(quoted) = rest.strip_prefix('"') else {
                continue;
            };
            let Some(host) = quoted.get(..quoted.find('"').unwrap_or(0)) else {
                continue;
            };
            let statement = rest
                .get(..rest.find(';').unwrap_or(rest.len()))
                .unwrap_or(rest);
            let option = |name: &str| -> Option<String> {
                let at = statement.find(&format!("{name}("))?;
                let value = statement.get(at + name.len() + 1..)?;
                Some(
                    value
                        .get(..value.find(')')?)?
                        .trim()
                        .trim_matches('"')
                        .to_owned(),
                )
            };
            let transport = match option("transport").as_deref() {
                Some("tls") => "tls",
                Some("udp") => "udp",
                Some(_) => "tcp",
                None if driver.starts_with("udp") => "udp",
                None if driver == "network(" => "udp",
                None => "tcp",
            };
            let default_port = match (driver, transport) {
                ("syslog(", "tls") => 6514,
                ("syslog(", "tcp") => 601,
                _ => 514,
            };
            let port = option("port")
                .and_then(|p| p.parse().ok())
                .unwrap_or(default_port);
            found.push(Forward {
                file: file.to_path_buf(),
                host: host.to_owned(),
                port,
                transport: transport.to_owned(),
            });
        }
    }
    found
}

fn is_local(host: &str) -> bool {
    matches!(host, "127.0.0.1" | "localhost" | "::1" | "0.0.0.0" | "::")
        || host == crate::config::system_hostname()
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The Tern listener a local forward reaches, if any.
fn listener_for(config: &Config, forward: &Forward) -> Option<String> {
    config
        .listen
        .iter()
        .find(|l| {
            let Address::Inet(address) = l.address else {
                return false;
            };
            address.port() == forward.port
                && matches!(
                    (l.protocol, forward.transport.as_str()),
                    (Protocol::Udp, "udp")
                        | (Protocol::Tcp, "tcp")
                        | (Protocol::Tls, "tls")
                        | (Protocol::Relp, "relp")
                )
        })
        .map(Listen::name)
}

use crate::config::Listen;

pub fn run(config: &Config, root: &Path, checks: &mut Vec<Check>) {
    let relays = [
        (
            "rsyslog",
            files(root, "etc/rsyslog.conf", "etc/rsyslog.d"),
            "conf/relays/rsyslog-tcp-to-tern.conf into /etc/rsyslog.d/",
        ),
        (
            "syslog-ng",
            files(root, "etc/syslog-ng/syslog-ng.conf", "etc/syslog-ng/conf.d"),
            "conf/relays/syslog-ng-tcp-to-tern.conf into /etc/syslog-ng/conf.d/",
        ),
    ];
    for (relay, files, recipe) in relays {
        if files.is_empty() {
            continue;
        }
        let mut to_tern = 0;
        for file in &files {
            let name = file
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            let Ok(text) = std::fs::read_to_string(file) else {
                continue;
            };
            if name.contains("omsagent") {
                checks.push(
                    warn(
                        format!("{relay} {}", file.display()),
                        "the legacy Log Analytics (OMS) agent's forwarding configuration",
                    )
                    .fix(format!(
                        "print the equivalent DCR with `tern migrate --{relay} {}`, then remove the file and restart {relay}",
                        file.display()
                    )),
                );
                continue;
            }
            let forwards = if relay == "rsyslog" {
                rsyslog_forwards(file, &text)
            } else {
                syslog_ng_forwards(file, &text)
            };
            for forward in forwards {
                let what = format!("{relay} {}", file.display());
                let target = format!("{}:{} ({})", forward.host, forward.port, forward.transport);
                if !is_local(&forward.host) {
                    checks.push(check(
                        true,
                        what,
                        format!("forwards to {target}, not this host"),
                    ));
                } else if OMS_PORTS.contains(&forward.port) {
                    checks.push(
                        warn(what, format!("forwards to {target}: the OMS agent's port")).fix(
                            format!("use {recipe} instead, and `tern migrate` for the selectors"),
                        ),
                    );
                } else if let Some(listener) = listener_for(config, &forward) {
                    to_tern += 1;
                    checks.push(check(
                        true,
                        what,
                        format!("forwards to {target} → Tern listener {listener}"),
                    ));
                } else {
                    checks.push(
                        check(false, what, format!("forwards to {target}, where no Tern listener with that transport is"))
                            .fix(format!("add a [[listen]] for it, or use {recipe}")),
                    );
                }
            }
        }
        if to_tern == 0 {
            checks.push(
                warn(
                    relay,
                    format!(
                        "configured on this host ({} files) but forwards nothing to Tern",
                        files.len()
                    ),
                )
                .fix(format!(
                    "if it should relay to Tern, drop {recipe} (TERN_HOST = 127.0.0.1)"
                )),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwards(text: &str) -> Vec<(String, u16, String)> {
        rsyslog_forwards(Path::new("f"), text)
            .into_iter()
            .map(|f| (f.host, f.port, f.transport))
            .collect()
    }

    #[test]
    fn rsyslog_actions_and_selectors() {
        let text = r#"
action(type="omfwd" Target="127.0.0.1" Port="514" Protocol="tcp" TCP_Framing="octet-counted")
action(type="omfwd" target="tern" port="6514" protocol="tcp" StreamDriver="gtls" StreamDriverMode="1")
action(type="omrelp" target="10.0.0.5" port="2514")
*.* @@127.0.0.1:25226
local4.* @(o)10.1.1.1:1514;RSYSLOG_ForwardFormat
"#;
        assert_eq!(
            forwards(text),
            [
                ("127.0.0.1".to_owned(), 514, "tcp".to_owned()),
                ("tern".to_owned(), 6514, "tls".to_owned()),
                ("10.0.0.5".to_owned(), 2514, "relp".to_owned()),
                ("127.0.0.1".to_owned(), 25226, "tcp".to_owned()),
                ("10.1.1.1".to_owned(), 1514, "udp".to_owned()),
            ]
        );
    }

    #[test]
    fn syslog_ng_destinations() {
        let text = r#"
source s_net { network(ip("0.0.0.0") port(514)); };
destination d_tern { syslog("127.0.0.1" port(5514) transport("tcp")); };
destination d_tls { syslog("tern.example" transport("tls") tls(ca-file("/x"))); };
destination d_oms { tcp("127.0.0.1" port(25224)); };
"#;
        let found: Vec<(String, u16, String)> = syslog_ng_forwards(Path::new("f"), text)
            .into_iter()
            .map(|f| (f.host, f.port, f.transport))
            .collect();
        assert_eq!(
            found,
            [
                ("127.0.0.1".to_owned(), 5514, "tcp".to_owned()),
                ("tern.example".to_owned(), 6514, "tls".to_owned()),
                ("127.0.0.1".to_owned(), 25224, "tcp".to_owned()),
            ]
        );
    }
}

//! Why a request to Entra ID or the Logs Ingestion API failed, in an operator's words, with
//! the fix that matches (issue 26: `doctor` and `run` name the underlying cause), and when a
//! lasting failure is logged.
//!
//! reqwest's own message ("error sending request for url …") hides the cause in its source
//! chain; [`Cause::of`] walks the chain.

use std::time::{Duration, Instant};

/// The underlying cause of a failed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    ConnectionRefused,
    /// The name did not resolve.
    Dns,
    /// The TLS handshake failed (an untrusted certificate: a TLS-inspecting proxy?).
    Tls,
    Timeout,
    /// The connection was reset or closed mid-request.
    Reset,
    /// The peer answered with this HTTP status.
    Status(u16),
    /// Anything else, as the error chain words it.
    Other,
}

impl Cause {
    /// Classifies a transport error by its source chain.
    pub fn of(error: &(dyn std::error::Error + 'static)) -> Cause {
        if let Some(e) = error.downcast_ref::<reqwest::Error>() {
            if e.is_timeout() {
                return Cause::Timeout;
            }
        }
        let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
        let mut words = String::new();
        while let Some(e) = current {
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                match io.kind() {
                    std::io::ErrorKind::ConnectionRefused => return Cause::ConnectionRefused,
                    std::io::ErrorKind::TimedOut => return Cause::Timeout,
                    std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::UnexpectedEof
                    | std::io::ErrorKind::BrokenPipe => return Cause::Reset,
                    _ => {}
                }
            }
            words.push_str(&e.to_string().to_ascii_lowercase());
            words.push(' ');
            current = e.source();
        }
        if words.contains("dns error") || words.contains("failed to lookup address") {
            Cause::Dns
        } else if words.contains("certificate")
            || words.contains("tls")
            || words.contains("handshake")
        {
            Cause::Tls
        } else if words.contains("connection refused") {
            Cause::ConnectionRefused
        } else if words.contains("timed out") {
            Cause::Timeout
        } else if words.contains("connection reset") || words.contains("connection closed") {
            Cause::Reset
        } else {
            Cause::Other
        }
    }

    /// Whether the request reached the service (an HTTP answer) rather than failing on the way.
    pub fn reached_the_service(&self) -> bool {
        matches!(self, Cause::Status(_))
    }

    /// A few words naming the cause.
    pub fn describe(&self) -> String {
        match self {
            Cause::ConnectionRefused => "connection refused".to_owned(),
            Cause::Dns => "the name does not resolve (DNS)".to_owned(),
            Cause::Tls => "TLS handshake failed (certificate not trusted?)".to_owned(),
            Cause::Timeout => "timed out".to_owned(),
            Cause::Reset => "connection reset".to_owned(),
            Cause::Status(status) => format!("HTTP {status}"),
            Cause::Other => "request failed".to_owned(),
        }
    }

    /// What to do about it, for `host`.
    pub fn fix(&self, host: &str) -> String {
        match self {
            Cause::ConnectionRefused => format!(
                "nothing accepts connections at {host}: check the URL and port, a firewall that \
                 rejects HTTPS, or [azure.upload] proxy"
            ),
            Cause::Dns => format!(
                "{host} does not resolve: check DNS on this host (resolvectl query {host}), a \
                 private-link zone, or set [azure.upload] proxy"
            ),
            Cause::Tls => format!(
                "the certificate of {host} is not trusted: behind a TLS-inspecting proxy give its \
                 CA in [azure.upload] ca_file"
            ),
            Cause::Timeout => format!(
                "{host} did not answer in time: a firewall dropping HTTPS (443), or a proxy needed \
                 ([azure.upload] proxy)"
            ),
            Cause::Reset => format!(
                "the connection to {host} was cut: a proxy or firewall in between? set \
                 [azure.upload] proxy if one is required"
            ),
            Cause::Status(status) if *status >= 500 || *status == 429 => format!(
                "{host} is failing or throttling ({status}): Tern retries and keeps the rows"
            ),
            Cause::Status(status) => format!("{host} answered {status}"),
            Cause::Other => {
                format!("allow HTTPS (443) to {host}, check DNS, or set [azure.upload] proxy")
            }
        }
    }
}

/// The host of `url`, for messages.
pub fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split(['/', '?']).next().unwrap_or(rest)
}

/// The whole error chain as one line (`a: b: c`), each cause once.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut current = error.source();
    while let Some(e) = current {
        let part = e.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        current = e.source();
    }
    text
}

/// How often a lasting failure is logged again, at the least.
pub const FAILURE_LOG_EVERY: Duration = Duration::from_secs(60);

/// When a target's failures are logged: the first at once, then at least once per
/// [`FAILURE_LOG_EVERY`] while they go on (with how many and for how long), and the recovery.
/// Sans-IO: given the time, it says what to log.
#[derive(Debug, Default)]
pub struct FailureLog {
    /// Since when the requests fail, how many have failed, when the last line was logged.
    streak: Option<(Instant, u64, Instant)>,
}

impl FailureLog {
    /// A request failed at `now` for `cause`: the line to log, if one is due.
    pub fn failed(&mut self, now: Instant, cause: &str) -> Option<String> {
        match &mut self.streak {
            None => {
                self.streak = Some((now, 1, now));
                Some(format!(
                    "upload failed ({cause}); retrying, the rows are kept"
                ))
            }
            Some((since, count, logged)) => {
                *count += 1;
                if now.saturating_duration_since(*logged) < FAILURE_LOG_EVERY {
                    return None;
                }
                *logged = now;
                Some(format!(
                    "uploads failing for {} s ({count} failed requests, the last: {cause}); \
                     retrying, the rows are kept",
                    now.saturating_duration_since(*since).as_secs()
                ))
            }
        }
    }

    /// A request succeeded at `now`: the recovery line, after a failure.
    pub fn succeeded(&mut self, now: Instant) -> Option<String> {
        let (since, count, _) = self.streak.take()?;
        Some(format!(
            "uploads recovered after {} s ({count} failed requests)",
            now.saturating_duration_since(since).as_secs()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lasting_failure_is_logged_at_once_then_every_minute_then_its_end() {
        let start = Instant::now();
        let mut log = FailureLog::default();
        assert_eq!(
            log.failed(start, "HTTP 503").as_deref(),
            Some("upload failed (HTTP 503); retrying, the rows are kept")
        );
        for second in 1..60 {
            assert_eq!(
                log.failed(start + Duration::from_secs(second), "HTTP 503"),
                None
            );
        }
        assert_eq!(
            log.failed(start + Duration::from_secs(60), "connection refused")
                .as_deref(),
            Some(
                "uploads failing for 60 s (61 failed requests, the last: connection refused); \
                 retrying, the rows are kept"
            )
        );
        assert_eq!(
            log.failed(start + Duration::from_secs(61), "HTTP 503"),
            None
        );
        assert_eq!(
            log.succeeded(start + Duration::from_secs(75)).as_deref(),
            Some("uploads recovered after 75 s (62 failed requests)")
        );
        assert_eq!(log.succeeded(start + Duration::from_secs(76)), None);
        assert!(
            log.failed(start + Duration::from_secs(80), "HTTP 500")
                .is_some()
        );
    }

    #[test]
    fn causes_are_read_from_the_error_chain() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(Cause::of(&refused), Cause::ConnectionRefused);
        #[derive(Debug)]
        struct Wrapper(std::io::Error);
        impl std::fmt::Display for Wrapper {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("error sending request")
            }
        }
        impl std::error::Error for Wrapper {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let wrapped = Wrapper(std::io::Error::other("dns error: failed to lookup address"));
        assert_eq!(Cause::of(&wrapped), Cause::Dns);
        assert_eq!(
            chain(&wrapped),
            "error sending request: dns error: failed to lookup address"
        );
        let wrapped = Wrapper(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert_eq!(Cause::of(&wrapped), Cause::ConnectionRefused);
        assert_eq!(
            host_of("https://dce.ingest.monitor.azure.com/x?y"),
            "dce.ingest.monitor.azure.com"
        );
        assert_eq!(host_of("http://127.0.0.1:3000"), "127.0.0.1:3000");
    }
}

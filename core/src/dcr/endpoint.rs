//! The one rule for every URL Tern sends a bearer token to, wherever it comes from (a
//! `[[destination]]`, an ingestion DCR's `endpoints.logsIngestion`, `authority_host`): https,
//! or plain http only to a loopback address (tests and local mocks), and never with
//! credentials in the URL. A DCR file is outside input like any other: an `http://` endpoint
//! on another host would hand the workspace's token to whoever is on the path.

/// Why `url` may not be given a token; `None` if it may.
pub fn refusal(url: &str) -> Option<String> {
    let parsed = match url::Url::parse(url) {
        Ok(parsed) => parsed,
        Err(e) => return Some(format!("`{url}` is not a URL ({e})")),
    };
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Some(format!(
            "`{url}` carries credentials; give them in [azure.auth]"
        ));
    }
    let loopback = match parsed.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match parsed.scheme() {
        "https" if parsed.host().is_some() => None,
        "http" if loopback => None,
        _ => Some(format!(
            "`{url}` must be https:// (plain http:// only on a loopback address, for tests)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::refusal;

    #[test]
    fn https_anywhere_http_only_on_loopback_never_with_credentials() {
        for ok in [
            "https://dce-1.westeurope-1.ingest.monitor.azure.com",
            "http://127.0.0.1:8080",
            "http://127.8.9.10/x",
            "http://[::1]:80/",
            "http://localhost:1234",
        ] {
            assert_eq!(refusal(ok), None, "{ok}");
        }
        for bad in [
            "http://10.0.0.5",
            "http://dce.example.com",
            "http://localhost.evil.example",
            "http://127.0.0.1.evil.example",
            "http://127.0.0.1@evil.example/",
            "https://user:secret@dce.example.com",
            "ftp://127.0.0.1",
            "not a url",
            "",
        ] {
            assert!(refusal(bad).is_some(), "{bad}");
        }
    }
}

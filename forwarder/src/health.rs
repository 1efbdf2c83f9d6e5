//! `tern health`: asks a running Tern's `/healthz` (or `/readyz`) and succeeds on `200`. The
//! Docker image has no shell or curl, so its HEALTHCHECK runs this.
//!
//! One HTTP/1.0 GET over a std `TcpStream`, by hand: the endpoint is Tern's own plain-HTTP
//! server on a local address, and a runtime plus an HTTP client stack for one request would
//! cost more start-up time than the check itself.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Splits `http://host:port/path` into the address and the path.
fn split(url: &str) -> Result<(SocketAddr, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url}: only http:// URLs (Tern's metrics endpoint) are checked"))?;
    let (authority, path) = match rest.find('/') {
        Some(slash) => rest.split_at(slash),
        None => (rest, "/"),
    };
    let address = authority
        .to_socket_addrs()
        .map_err(|e| format!("{url}: {e}"))?
        .next()
        .ok_or_else(|| format!("{url}: no address"))?;
    Ok((address, path.to_owned()))
}

/// One GET: the status code and the body, or what went wrong.
pub fn get(url: &str, timeout: Duration) -> Result<(u16, String), String> {
    let (address, path) = split(url)?;
    let mut stream =
        TcpStream::connect_timeout(&address, timeout).map_err(|e| format!("{address}: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n").as_bytes())
        .map_err(|e| format!("{address}: {e}"))?;
    let mut answer = Vec::new();
    stream
        .take(16 * 1024 * 1024)
        .read_to_end(&mut answer)
        .map_err(|e| format!("{address}: {e}"))?;
    let text = String::from_utf8_lossy(&answer);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .lines()
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("{url}: no HTTP answer"))?;
    Ok((status, body.to_owned()))
}

/// `Ok` with a short description when the answer is 200, else what went wrong.
pub fn check(url: &str, timeout: Duration) -> Result<String, String> {
    match get(url, timeout)? {
        (200, _) => Ok("200 OK".to_owned()),
        (status, body) => Err(format!("{url}: {status} {}", body.trim())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let (address, path) = split("http://127.0.0.1:9280/healthz").unwrap();
        assert_eq!((address.port(), path.as_str()), (9280, "/healthz"));
        assert_eq!(split("http://127.0.0.1:9280").unwrap().1, "/");
        assert!(split("https://127.0.0.1:9280/healthz").is_err());
    }
}

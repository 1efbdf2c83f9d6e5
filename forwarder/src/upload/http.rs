//! The HTTP client for uploads and Entra ID tokens, with the operator's proxy and extra trust
//! roots (`reference/azure.md` §7).
//!
//! Owns: rustls with the `ring` provider (no C toolchain beyond what `ring` needs; aws-lc
//! would need more), TLS 1.2 or later, the system's trust roots plus `ca_file` (for
//! TLS-inspecting proxies), keep-alive, bounded timeouts, and the proxy.
//!
//! The proxy is parsed here rather than left to reqwest so that the forms operators bring from
//! the OMS agent's `proxy.conf` work: `[scheme://][user:password@]host[:port]`, a missing
//! scheme meaning `http`, credentials percent-decoded (`p%40ss` is `p@ss`), and the host found
//! after the **last** `@`, so even an unencoded `@` in a password works. `NO_PROXY` applies.

use std::path::PathBuf;
use std::time::Duration;

use percent_encoding::percent_decode_str;

/// Where the HTTP client goes through and what it trusts beyond the system's roots.
#[derive(Debug, Clone, Default)]
pub struct HttpOptions {
    pub proxy: Option<ProxyConfig>,
    pub ca_file: Option<PathBuf>,
}

/// A forward proxy with optional basic-auth credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyConfig {
    /// `scheme://host[:port]`, without credentials.
    pub url: String,
    pub user: Option<String>,
    pub password: Option<String>,
}

impl std::fmt::Debug for ProxyConfig {
    // The password stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyConfig")
            .field("url", &self.url)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl ProxyConfig {
    /// Parses `[scheme://][user[:password]@]host[:port][/]`. The error never repeats the
    /// password.
    pub fn parse(text: &str) -> Result<ProxyConfig, String> {
        let text = text.trim();
        let (scheme, rest) = match text.split_once("://") {
            Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
            None => ("http".to_owned(), text),
        };
        if scheme != "http" && scheme != "https" {
            return Err(format!(
                "proxy scheme `{scheme}` is not supported (use http:// or https://)"
            ));
        }
        let rest = rest.trim_end_matches('/');
        let (userinfo, host) = match rest.rsplit_once('@') {
            Some((userinfo, host)) => (Some(userinfo), host),
            None => (None, rest),
        };
        if host.is_empty() || host.contains('/') {
            return Err("the proxy needs a host: [http://][user:password@]host[:port]".into());
        }
        let decode = |part: &str| percent_decode_str(part).decode_utf8_lossy().into_owned();
        let (user, password) = match userinfo {
            None => (None, None),
            Some(info) => match info.split_once(':') {
                Some((user, password)) => (Some(decode(user)), Some(decode(password))),
                None => (Some(decode(info)), None),
            },
        };
        Ok(ProxyConfig {
            url: format!("{scheme}://{host}"),
            user,
            password,
        })
    }

    /// The proxy from the environment (`HTTPS_PROXY`, then `https_proxy`, `ALL_PROXY`,
    /// `all_proxy`), as the `(variable, value)` it came from. Uploads are HTTPS, so
    /// `HTTP_PROXY` does not apply.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Option<(&'static str, String)> {
        ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]
            .into_iter()
            .find_map(|name| {
                env(name)
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| (name, v))
            })
    }
}

/// The client with default options: no proxy, the system's roots.
pub fn http_client() -> Result<reqwest::Client, String> {
    http_client_with(&HttpOptions::default())
}

pub fn http_client_with(options: &HttpOptions) -> Result<reqwest::Client, String> {
    // Installing twice is harmless: the second attempt reports the first provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    // reqwest's own environment proxy detection is off: the proxy is decided once, at
    // configuration, so that `tern check` and `tern doctor` show what is used.
    let mut builder = reqwest::Client::builder()
        .no_proxy()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(120))
        .pool_idle_timeout(Duration::from_secs(90))
        .tls_version_min(reqwest::tls::Version::TLS_1_2)
        .user_agent(concat!("tern/", env!("CARGO_PKG_VERSION")));
    if let Some(proxy) = &options.proxy {
        let mut p = reqwest::Proxy::all(&proxy.url)
            .map_err(|e| format!("proxy {}: {e}", proxy.url))?
            .no_proxy(reqwest::NoProxy::from_env());
        if let Some(user) = &proxy.user {
            p = p.basic_auth(user, proxy.password.as_deref().unwrap_or_default());
        }
        builder = builder.proxy(p);
    }
    if let Some(path) = &options.ca_file {
        let pem = std::fs::read(path).map_err(|e| format!("ca_file {}: {e}", path.display()))?;
        let certificates = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("ca_file {}: not PEM certificates: {e}", path.display()))?;
        if certificates.is_empty() {
            return Err(format!("ca_file {}: no certificates in it", path.display()));
        }
        builder = builder.tls_certs_merge(certificates);
    }
    builder
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_forms_operators_bring() {
        let p = ProxyConfig::parse("http://user01:p%40ss%3Aw0rd@proxy01.contoso.com:30443")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.url, "http://proxy01.contoso.com:30443");
        assert_eq!(p.user.as_deref(), Some("user01"));
        assert_eq!(p.password.as_deref(), Some("p@ss:w0rd"));
        // OMS proxy.conf style: no scheme, and an unencoded `@` in the password.
        let p = ProxyConfig::parse("user01:p@ss@proxy01:3128").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.url, "http://proxy01:3128");
        assert_eq!(p.password.as_deref(), Some("p@ss"));
        let p = ProxyConfig::parse("https://proxy01:443/").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((p.url.as_str(), p.user), ("https://proxy01:443", None));
        assert!(!format!("{:?}", ProxyConfig::parse("u:hunter2@h").ok()).contains("hunter2"));
        let err = ProxyConfig::parse("socks5://u:hunter2@h:1080").unwrap_err();
        assert!(err.contains("socks5") && !err.contains("hunter2"), "{err}");
        assert!(ProxyConfig::parse("u:p@").is_err());
    }

    #[test]
    fn proxy_from_the_environment_prefers_https_proxy() {
        let vars = [
            ("https_proxy", "http://b:3128"),
            ("HTTPS_PROXY", "http://a:3128"),
        ];
        let env = |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        };
        assert_eq!(
            ProxyConfig::from_env(&env),
            Some(("HTTPS_PROXY", "http://a:3128".to_owned()))
        );
        assert_eq!(ProxyConfig::from_env(&|_| None), None);
    }

    #[test]
    fn a_bad_ca_file_is_named() {
        let options = HttpOptions {
            proxy: None,
            ca_file: Some(PathBuf::from("/nonexistent/ca.pem")),
        };
        let err = http_client_with(&options).unwrap_err();
        assert!(err.starts_with("ca_file /nonexistent/ca.pem"), "{err}");
    }
}

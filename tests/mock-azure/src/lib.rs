//! An in-process mock of Azure for Tern's tests: the Logs Ingestion API and the Entra ID
//! client-credentials token endpoint, enforcing the real contract (`reference/azure.md` §1.8).
//!
//! Ingestion: `POST /dataCollectionRules/{immutableId}/streams/{stream}?api-version=2023-01-01`.
//! - unknown DCR or stream: 404; no `api-version`: 400;
//! - no bearer token: 401; a token it did not issue, or an expired one: 401; a token for
//!   another client: 403 `OperationFailed`; a token from another tenant than the stream's
//!   (`set_stream_tenant`): 403 `InvalidTenant`;
//! - `Content-Type` other than `application/json`: 415 (the service answers 400/415);
//! - wire body or (after `Content-Encoding: gzip`) decompressed body over 1,000,000 bytes: 413;
//! - a body that is not a JSON array of objects each with a parseable `TimeGenerated`: 400
//!   (the real service accepts a bare object with 204 and then drops it; the mock rejects it so
//!   that tests catch the bug);
//! - otherwise 204, and every row is recorded.
//!
//! Faults are injected ahead of time ([`Fault`]) and served in order, one per request.
//!
//! Faults can also last a while ([`MockAzure::outage`]: every ingestion request answered
//! with a status for a time).
//!
//! DCRs from Azure Resource Manager ([`arm`]): GET with ETags, associations, an outage switch.
//!
//! Tokens ([`identity`]): `POST /{tenant}/oauth2/v2.0/token` (client credentials with a
//! secret, a certificate's signed assertion or a federated token) and
//! `GET /metadata/identity/oauth2/token` (IMDS, or Arc's HIMDS challenge).
//!
//! It can also stand in for an HTTP proxy: requests in absolute form are served the same way,
//! and their `Proxy-Authorization` headers are recorded ([`MockAzure::proxy_authorizations`]).

mod arm;
mod identity;

use std::collections::{HashMap, VecDeque};
use std::io::Read;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Request, Response, StatusCode};
use serde_json::Value;

/// The largest body the service takes, compressed or not.
pub const MAX_BODY_BYTES: usize = 1_000_000;

/// A planned answer to the next ingestion request, instead of the normal one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status (e.g. 429, 503) and an optional `Retry-After` in seconds;
    /// the rows are not recorded.
    Status {
        status: u16,
        retry_after: Option<u32>,
    },
    /// Close the connection without answering.
    Reset,
}

/// What the mock saw of one ingestion request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub status: u16,
    pub wire_bytes: usize,
    pub uncompressed_bytes: usize,
    pub gzip: bool,
    pub rows: usize,
}

#[derive(Default)]
pub(crate) struct State {
    /// (immutable id, stream) → accepted rows.
    streams: HashMap<(String, String), Vec<Value>>,
    /// Client credentials it accepts: client id → secret.
    clients: HashMap<String, String>,
    /// Issued tokens: token → (client id, expiry).
    tokens: HashMap<String, (String, Instant)>,
    /// The client allowed to ingest (others get 403); `None`: any client with a token.
    allowed_client: Option<String>,
    /// Clients registered in one tenant (`add_tenant_client`): client id → tenant. Such a
    /// client gets no token from another tenant's endpoint.
    client_tenants: HashMap<String, String>,
    /// The tenant each token was issued in (the `{tenant}` of its token endpoint).
    token_tenants: HashMap<String, String>,
    /// Streams of a DCR in a given tenant: a token from another tenant gets 403.
    stream_tenants: HashMap<(String, String), String>,
    /// Azure Resource Manager's DCRs and associations.
    arm: arm::Arm,
    token_lifetime: Duration,
    faults: VecDeque<Fault>,
    seen: Vec<Seen>,
    issued: u64,
    /// Fast mode (benchmarks): validate the array and count rows, keep nothing.
    count_only: bool,
    counted: u64,
    /// Load benchmarks: the `tseq=N` numbers seen in fast mode (see [`Sequences`]).
    sequences: Option<Sequences>,
    /// Certificate clients: client id → thumbprint and public key.
    certificates: HashMap<String, identity::CertificateClient>,
    /// Workload identity: client id → the federated token currently valid.
    federated: HashMap<String, String>,
    identities: identity::ManagedIdentities,
    /// Until when every ingestion request gets this status (and `Retry-After`).
    outage: Option<(Instant, u16, Option<u32>)>,
    /// The same for one stream only.
    stream_outages: HashMap<String, (Instant, u16, Option<u32>)>,
    /// The base URL, for the audience of client assertions.
    base_url: String,
    proxy_authorizations: Vec<String>,
}

/// Which sequence numbers arrived, for the load benchmark: every row the generator sent carries
/// `tseq=N` once; a number seen twice is a duplicate, one never seen a loss.
#[derive(Debug, Default, Clone)]
pub struct Sequences {
    seen: Vec<u64>,
    /// Rows that carried a number.
    pub rows: u64,
    /// Numbers seen more than once (each extra sighting).
    pub duplicates: u64,
    /// Numbers seen at least once.
    pub unique: u64,
}

impl Sequences {
    /// Records every `tseq=N` in `text` (one per row).
    pub fn record(&mut self, text: &[u8]) {
        let mut rest = text;
        while let Some(at) = find(rest, b"tseq=") {
            let digits = rest.get(at + 5..).unwrap_or_default();
            let len = digits.iter().take_while(|b| b.is_ascii_digit()).count();
            let n = std::str::from_utf8(digits.get(..len).unwrap_or_default())
                .ok()
                .and_then(|d| d.parse::<usize>().ok());
            rest = digits.get(len..).unwrap_or_default();
            let Some(n) = n else { continue };
            self.rows += 1;
            let (word, bit) = (n / 64, n % 64);
            if self.seen.len() <= word {
                self.seen.resize(word + 1, 0);
            }
            if let Some(w) = self.seen.get_mut(word) {
                if *w & (1 << bit) != 0 {
                    self.duplicates += 1;
                } else {
                    *w |= 1 << bit;
                    self.unique += 1;
                }
            }
        }
    }

    /// Numbers below `sent` that never arrived.
    pub fn missing(&self, sent: u64) -> u64 {
        sent.saturating_sub(self.unique)
    }

    /// The first `max` numbers below `sent` that never arrived.
    pub fn first_missing(&self, sent: u64, max: usize) -> Vec<u64> {
        (0..sent)
            .filter(|n| {
                let (word, bit) = ((n / 64) as usize, n % 64);
                self.seen.get(word).is_none_or(|w| w & (1 << bit) == 0)
            })
            .take(max)
            .collect()
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A running mock; stops when dropped.
pub struct MockAzure {
    pub address: SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for MockAzure {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub(crate) fn response(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r
}

pub(crate) fn error(status: StatusCode, code: &str, message: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({"error": {"code": code, "message": message}}).to_string();
    let mut r = response(status, body);
    if let Ok(v) = hyper::header::HeaderValue::from_str(code) {
        r.headers_mut().insert("x-ms-error-code", v);
    }
    r
}

impl MockAzure {
    /// Starts on 127.0.0.1 with a random port, accepting `streams` as (immutable id, stream).
    pub async fn start(streams: &[(&str, &str)]) -> std::io::Result<MockAzure> {
        Self::start_with(streams, None).await
    }

    /// [`MockAzure::start`] serving HTTPS with this certificate chain and key (PEM), as the
    /// real endpoints do (TLS 1.2 and 1.3).
    pub async fn start_tls(
        streams: &[(&str, &str)],
        certificate_chain_pem: &[u8],
        key_pem: &[u8],
    ) -> std::io::Result<MockAzure> {
        use rustls_pki_types::pem::PemObject;
        use rustls_pki_types::{CertificateDer, PrivateKeyDer};
        let chain = CertificateDer::pem_slice_iter(certificate_chain_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(std::io::Error::other)?;
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(std::io::Error::other)?;
        let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(std::io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(std::io::Error::other)?;
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        Self::start_with(streams, Some(acceptor)).await
    }

    async fn start_with(
        streams: &[(&str, &str)],
        tls: Option<tokio_rustls::TlsAcceptor>,
    ) -> std::io::Result<MockAzure> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let state = Arc::new(Mutex::new(State {
            token_lifetime: Duration::from_secs(3600),
            base_url: format!("{scheme}://{address}"),
            ..State::default()
        }));
        if let Ok(mut s) = state.lock() {
            for (dcr, stream) in streams {
                s.streams
                    .insert(((*dcr).to_owned(), (*stream).to_owned()), Vec::new());
            }
        }
        let shared = Arc::clone(&state);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = Arc::clone(&shared);
                let tls = tls.clone();
                tokio::spawn(async move {
                    match tls {
                        None => serve(stream, state).await,
                        Some(acceptor) => {
                            // A failed handshake (an untrusting client) just ends here.
                            if let Ok(stream) = acceptor.accept(stream).await {
                                serve(stream, state).await;
                            }
                        }
                    }
                });
            }
        });
        Ok(MockAzure {
            address,
            state,
            task,
        })
    }

    /// The base URL, e.g. `http://127.0.0.1:PORT` (`https://` when started with TLS).
    pub fn url(&self) -> String {
        self.with(|s| s.base_url.clone())
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        // A poisoned lock means a handler panicked: the test has failed anyway.
        match self.state.lock() {
            Ok(mut s) => f(&mut s),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// Accepts client credentials of an app registered in `tenant` only (its token endpoint
    /// is `/{tenant}/oauth2/v2.0/token`); it may ingest into that tenant's streams
    /// ([`MockAzure::set_stream_tenant`]).
    pub fn add_tenant_client(&self, tenant: &str, client_id: &str, secret: &str) {
        self.with(|s| {
            s.clients.insert(client_id.to_owned(), secret.to_owned());
            s.client_tenants
                .insert(client_id.to_owned(), tenant.to_owned());
        });
    }

    /// Puts a stream of a DCR in `tenant`: an ingestion call with a token issued for any
    /// other tenant is refused with 403, as the service refuses a token from another
    /// directory.
    pub fn set_stream_tenant(&self, dcr: &str, stream: &str, tenant: &str) {
        self.with(|s| {
            s.stream_tenants
                .insert((dcr.to_owned(), stream.to_owned()), tenant.to_owned());
        });
    }

    /// Serves `resource` (a DCR as ARM returns it) at `id`, with a new ETag.
    pub fn set_arm_dcr(&self, id: &str, resource: Value) {
        self.with(|s| s.arm.set_dcr(id, resource));
    }

    /// The DCRs associated with the machine `machine` (a resource id).
    pub fn set_arm_associations(&self, machine: &str, dcrs: &[&str]) {
        self.with(|s| s.arm.set_associations(machine, dcrs));
    }

    /// While `down`, every ARM request gets 503.
    pub fn set_arm_down(&self, down: bool) {
        self.with(|s| s.arm.set_down(down));
    }

    /// (path, status) of every ARM request so far.
    pub fn arm_requests(&self) -> Vec<(String, u16)> {
        self.with(|s| s.arm.seen.clone())
    }

    /// Accepts client credentials; the first client registered is the one allowed to ingest.
    pub fn add_client(&self, client_id: &str, secret: &str) {
        self.with(|s| {
            s.clients.insert(client_id.to_owned(), secret.to_owned());
            s.allowed_client.get_or_insert_with(|| client_id.to_owned());
        });
    }

    /// Accepts a client that authenticates with the certificate in `certificate_pem` (the
    /// first CERTIFICATE block), whose RSA public key is `rsa_public_key_pem` (PKCS#1, `RSA
    /// PUBLIC KEY`). The first client registered is the one allowed to ingest.
    pub fn add_certificate_client(
        &self,
        client_id: &str,
        certificate_pem: &str,
        rsa_public_key_pem: &str,
    ) {
        let certificate = identity::pem_blocks(certificate_pem, "CERTIFICATE");
        let public_key = identity::pem_blocks(rsa_public_key_pem, "RSA PUBLIC KEY");
        let (Some(certificate), Some(public_key)) = (certificate.first(), public_key.first())
        else {
            return;
        };
        let client = identity::CertificateClient {
            x5t_s256: identity::thumbprint(certificate),
            public_key: public_key.clone(),
        };
        self.with(|s| {
            s.certificates.insert(client_id.to_owned(), client);
            s.allowed_client.get_or_insert_with(|| client_id.to_owned());
        });
    }

    /// Workload identity: `token` is the federated token now valid for `client_id` (call again
    /// to rotate it; the old one is refused from then on).
    pub fn set_federated_token(&self, client_id: &str, token: &str) {
        self.with(|s| {
            s.federated.insert(client_id.to_owned(), token.to_owned());
            s.allowed_client.get_or_insert_with(|| client_id.to_owned());
        });
    }

    /// IMDS: the VM has a system-assigned identity with this client id.
    pub fn set_system_identity(&self, client_id: &str) {
        self.with(|s| {
            s.identities.system = Some(client_id.to_owned());
            s.allowed_client.get_or_insert_with(|| client_id.to_owned());
        });
    }

    /// IMDS: a user-assigned identity, selectable by any of `selectors` (client id, object
    /// id, resource id), with this client id.
    pub fn add_user_assigned_identity(&self, client_id: &str, selectors: &[&str]) {
        self.with(|s| {
            for selector in selectors {
                s.identities
                    .user_assigned
                    .insert((*selector).to_owned(), client_id.to_owned());
            }
            s.allowed_client.get_or_insert_with(|| client_id.to_owned());
        });
    }

    /// Turns the identity endpoint into Azure Arc's HIMDS: a challenge whose key file is
    /// written into `key_dir`. The Arc identity (`arc-system-identity`) may ingest.
    pub fn enable_arc(&self, key_dir: &std::path::Path) {
        self.with(|s| {
            s.identities.arc_key_dir = Some(key_dir.to_path_buf());
            s.allowed_client
                .get_or_insert_with(|| "arc-system-identity".to_owned());
        });
    }

    /// How many Arc challenges were issued.
    pub fn arc_challenges(&self) -> u64 {
        self.with(|s| s.identities.arc_challenges)
    }

    /// Every ingestion request for `duration` from now is answered with `status` (and
    /// `Retry-After: retry_after` seconds if given), the rows not recorded.
    pub fn outage(&self, status: u16, duration: Duration, retry_after: Option<u32>) {
        self.with(|s| s.outage = Some((Instant::now() + duration, status, retry_after)));
    }

    /// [`MockAzure::outage`] for the requests to one stream only (a workspace that is down
    /// while the others are up).
    pub fn stream_outage(
        &self,
        stream: &str,
        status: u16,
        duration: Duration,
        retry_after: Option<u32>,
    ) {
        self.with(|s| {
            s.stream_outages.insert(
                stream.to_owned(),
                (Instant::now() + duration, status, retry_after),
            )
        });
    }

    /// The `Proxy-Authorization` headers of requests that came through as a proxy.
    pub fn proxy_authorizations(&self) -> Vec<String> {
        self.with(|s| s.proxy_authorizations.clone())
    }

    /// Lifetime of tokens issued from now on.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.with(|s| s.token_lifetime = lifetime);
    }

    /// Expires every token issued so far.
    pub fn expire_tokens(&self) {
        self.with(|s| {
            let now = Instant::now();
            for (_, expiry) in s.tokens.values_mut() {
                *expiry = now;
            }
        });
    }

    /// Plans answers for the next requests, in order.
    pub fn inject(&self, faults: impl IntoIterator<Item = Fault>) {
        self.with(|s| s.faults.extend(faults));
    }

    /// Rows accepted for a stream, in arrival order.
    pub fn rows(&self, dcr: &str, stream: &str) -> Vec<Value> {
        self.with(|s| {
            s.streams
                .get(&(dcr.to_owned(), stream.to_owned()))
                .cloned()
                .unwrap_or_default()
        })
    }

    /// Fast mode for benchmarks: bodies are still decompressed and parsed as a JSON array, but
    /// rows are only counted ([`MockAzure::counted`]), not stored or checked one by one.
    pub fn set_count_only(&self, on: bool) {
        self.with(|s| s.count_only = on);
    }

    /// Rows accepted in fast mode.
    pub fn counted(&self) -> u64 {
        self.with(|s| s.counted)
    }

    /// Fast mode that also records every row's `tseq=N` (load benchmarks).
    pub fn set_sequence_check(&self, on: bool) {
        self.with(|s| {
            s.count_only = on;
            s.sequences = on.then(Sequences::default);
        });
    }

    /// What [`MockAzure::set_sequence_check`] recorded so far.
    pub fn sequences(&self) -> Sequences {
        self.with(|s| s.sequences.clone().unwrap_or_default())
    }

    /// A token valid for `lifetime`, for clients that cannot fetch one (a relay's HTTP output).
    pub fn issue_token(&self, client_id: &str, lifetime: Duration) -> String {
        self.with(|s| {
            s.issued += 1;
            let token = format!("mock-static-token-{}", s.issued);
            s.tokens.insert(
                token.clone(),
                (client_id.to_owned(), Instant::now() + lifetime),
            );
            token
        })
    }

    /// Every ingestion request seen, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.with(|s| s.seen.clone())
    }
}

/// Serves HTTP/1.1 on one connection.
async fn serve<IO>(io: IO, state: Arc<Mutex<State>>)
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
        let state = Arc::clone(&state);
        async move { handle(request, &state).await }
    });
    let io = hyper_util::rt::TokioIo::new(io);
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, service)
        .await;
}

/// Answers one request; `Err` closes the connection without an answer (an injected reset).
async fn handle(
    request: Request<hyper::body::Incoming>,
    state: &Mutex<State>,
) -> Result<Response<Full<Bytes>>, std::io::Error> {
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    let headers = request.headers().clone();
    let body = match request.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return Ok(response(StatusCode::BAD_REQUEST, "unreadable body")),
    };
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut state = match state.lock() {
        Ok(s) => s,
        Err(poisoned) => poisoned.into_inner(),
    };
    if let Some(auth) = headers
        .get(hyper::header::PROXY_AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        state.proxy_authorizations.push(auth.to_owned());
    }
    if let Some(reply) = arm::serve(&mut state, &path, &query, &headers) {
        return Ok(reply);
    }
    Ok(match parts.as_slice() {
        [tenant, "oauth2", "v2.0", "token"] => {
            let token_url = format!("{}{path}", state.base_url);
            identity::entra_token(&mut state, tenant, &token_url, &form(&body))
        }
        ["metadata", "identity", "oauth2", "token"] => {
            identity::identity_token(&mut state, &form(query.as_bytes()), &headers)
        }
        ["dataCollectionRules", dcr, "streams", stream] => {
            match ingest(&mut state, dcr, stream, &query, &headers, &body) {
                Some(reply) => reply,
                None => return Err(std::io::Error::other("injected connection reset")),
            }
        }
        _ => response(StatusCode::NOT_FOUND, "no such endpoint"),
    })
}

fn form(body: &[u8]) -> HashMap<String, String> {
    String::from_utf8_lossy(body)
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

/// `application/x-www-form-urlencoded` decoding (`+` and `%XX`).
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            _ => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn ingest(
    state: &mut State,
    dcr: &str,
    stream: &str,
    query: &str,
    headers: &hyper::HeaderMap,
    body: &[u8],
) -> Option<Response<Full<Bytes>>> {
    let gzip = headers
        .get(hyper::header::CONTENT_ENCODING)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
    let mut seen = Seen {
        status: 0,
        wire_bytes: body.len(),
        uncompressed_bytes: body.len(),
        gzip,
        rows: 0,
    };
    let reply = ingest_checked(state, dcr, stream, query, headers, body, &mut seen);
    seen.status = reply.as_ref().map_or(0, |r| r.status().as_u16());
    state.seen.push(seen);
    reply
}

#[allow(clippy::too_many_arguments)]
fn ingest_checked(
    state: &mut State,
    dcr: &str,
    stream: &str,
    query: &str,
    headers: &hyper::HeaderMap,
    body: &[u8],
    seen: &mut Seen,
) -> Option<Response<Full<Bytes>>> {
    let fail = |status, code, message: &str| Some(error(status, code, message));
    if !query.split('&').any(|p| p == "api-version=2023-01-01") {
        return fail(
            StatusCode::BAD_REQUEST,
            "InvalidApiVersion",
            "api-version=2023-01-01 is required",
        );
    }
    let key = (dcr.to_owned(), stream.to_owned());
    if !state.streams.contains_key(&key) {
        return fail(
            StatusCode::NOT_FOUND,
            "NotFound",
            "unknown DCR immutable id or stream",
        );
    }
    let Some(token) = bearer(headers) else {
        return fail(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "no bearer token",
        );
    };
    match state.tokens.get(token) {
        None => {
            return fail(
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                "unknown token",
            );
        }
        Some((_, expiry)) if *expiry <= Instant::now() => {
            return fail(
                StatusCode::UNAUTHORIZED,
                "ExpiredAuthenticationToken",
                "the token has expired",
            );
        }
        Some((client, _)) if state.allowed_client.as_ref().is_some_and(|a| a != client) => {
            let message = format!(
                "The authentication token provided does not have access to ingest data for the \
                 data collection rule with immutable Id '{dcr}'."
            );
            return fail(StatusCode::FORBIDDEN, "OperationFailed", &message);
        }
        Some(_) => {}
    }
    if let Some(required) = state.stream_tenants.get(&key) {
        let issued_in = state.token_tenants.get(token);
        if issued_in != Some(required) {
            let message = format!(
                "The token was issued for tenant '{}', but the data collection rule with \
                 immutable Id '{dcr}' is in tenant '{required}'.",
                issued_in.map_or("(managed identity)", String::as_str)
            );
            return fail(StatusCode::FORBIDDEN, "InvalidTenant", &message);
        }
    }
    let json_type = headers
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json_type {
        return fail(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            "Content-Type must be application/json",
        );
    }
    if body.len() > MAX_BODY_BYTES {
        return fail(
            StatusCode::PAYLOAD_TOO_LARGE,
            "ContentLengthLimitExceeded",
            "body over 1 MB",
        );
    }
    let json = if seen.gzip {
        let mut out = Vec::new();
        // One byte past the limit shows an oversized body without inflating all of it.
        let mut decoder = flate2::read::GzDecoder::new(body).take(MAX_BODY_BYTES as u64 + 1);
        if decoder.read_to_end(&mut out).is_err() {
            return fail(StatusCode::BAD_REQUEST, "InvalidContent", "not gzip");
        }
        out
    } else {
        body.to_vec()
    };
    seen.uncompressed_bytes = json.len();
    if json.len() > MAX_BODY_BYTES {
        return fail(
            StatusCode::PAYLOAD_TOO_LARGE,
            "ContentLengthLimitExceeded",
            "uncompressed body over 1 MB",
        );
    }
    if let Some((until, status, retry_after)) = state.outage {
        if Instant::now() < until {
            return Some(fault_response(status, retry_after));
        }
        state.outage = None;
    }
    if let Some(&(until, status, retry_after)) = state.stream_outages.get(stream) {
        if Instant::now() < until {
            return Some(fault_response(status, retry_after));
        }
        state.stream_outages.remove(stream);
    }
    if let Some(fault) = state.faults.pop_front() {
        return match fault {
            Fault::Status {
                status,
                retry_after,
            } => Some(fault_response(status, retry_after)),
            Fault::Reset => None,
        };
    }
    if state.count_only {
        return match serde_json::from_slice::<Vec<serde::de::IgnoredAny>>(&json) {
            Ok(rows) => {
                seen.rows = rows.len();
                state.counted += rows.len() as u64;
                if let Some(sequences) = state.sequences.as_mut() {
                    sequences.record(&json);
                }
                Some(response(StatusCode::NO_CONTENT, Bytes::new()))
            }
            Err(e) => fail(
                StatusCode::BAD_REQUEST,
                "InvalidContent",
                &format!("not a JSON array: {e}"),
            ),
        };
    }
    let rows = match serde_json::from_slice::<Value>(&json) {
        Ok(Value::Array(rows)) => rows,
        Ok(_) => {
            return fail(
                StatusCode::BAD_REQUEST,
                "InvalidContent",
                "the body must be a JSON array",
            );
        }
        Err(e) => {
            return fail(
                StatusCode::BAD_REQUEST,
                "InvalidContent",
                &format!("malformed JSON: {e}"),
            );
        }
    };
    for (i, row) in rows.iter().enumerate() {
        let time = row.get("TimeGenerated").and_then(Value::as_str);
        if !row.is_object() || time.is_none_or(|t| !plausible_time(t)) {
            return fail(
                StatusCode::BAD_REQUEST,
                "InvalidContent",
                &format!("row {i} has no valid TimeGenerated"),
            );
        }
    }
    seen.rows = rows.len();
    if let Some(stored) = state.streams.get_mut(&key) {
        stored.extend(rows);
    }
    Some(response(StatusCode::NO_CONTENT, Bytes::new()))
}

/// An injected error answer, with `Retry-After` in seconds if given.
fn fault_response(status: u16, retry_after: Option<u32>) -> Response<Full<Bytes>> {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let mut r = error(code, "Injected", "injected fault");
    if let Some(seconds) = retry_after {
        if let Ok(v) = hyper::header::HeaderValue::from_str(&seconds.to_string()) {
            r.headers_mut().insert(hyper::header::RETRY_AFTER, v);
        }
    }
    r
}

/// `YYYY-MM-DDTHH:MM:SS…Z`, as Tern writes it.
fn plausible_time(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() >= 20
        && b.iter().take(4).all(u8::is_ascii_digit)
        && b.get(4) == Some(&b'-')
        && b.get(10) == Some(&b'T')
        && text.ends_with('Z')
}

/// The token of an `Authorization: Bearer …` header, if there is one.
pub(crate) fn bearer(headers: &hyper::HeaderMap) -> Option<&str> {
    headers
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

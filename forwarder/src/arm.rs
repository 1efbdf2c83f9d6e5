//! DCRs fetched from Azure Resource Manager (`[[dcr.azure]]`, issue 25): each poll asks for
//! every DCR with its ETag (`If-None-Match`), keeps the last good copy of each in
//! `[dcr] cache_dir` (written atomically), and says whether anything changed; the daemon then
//! reloads through the same path as files. A DCR Azure cannot give (ARM down, 403, a body that
//! does not load) keeps its cached copy, so Tern starts and keeps forwarding without Azure.
//! What the requests and answers mean is `tern_core::dcr::arm`'s.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use tern_core::dcr::arm::{self as rules, ArmSource, DcrAnswer};

use crate::config::Config;
use crate::upload::auth::TokenCache;

/// Polls Azure for the DCRs of `[[dcr.azure]]`.
pub struct ArmPoller {
    http: reqwest::Client,
    arm: String,
    /// Per entry: what to fetch and with which credential's ARM token.
    entries: Vec<(ArmSource, Arc<TokenCache>)>,
    cache_dir: PathBuf,
    /// DCR id → the ETag of its cached copy.
    etags: HashMap<String, String>,
    /// Per entry, the DCR ids it gave last time (an association list that cannot be read
    /// keeps them).
    known: Vec<Vec<String>>,
}

/// What one poll did.
#[derive(Debug, Default)]
pub struct Polled {
    /// The cache changed: reload.
    pub changed: bool,
    /// What went wrong, one line each (the cached copies stay in force).
    pub problems: Vec<String>,
}

impl ArmPoller {
    /// `None` without `[[dcr.azure]]` entries.
    pub fn new(config: &Config) -> Result<Option<ArmPoller>, String> {
        let (Some(azure), Some(cache_dir)) = (&config.azure, &config.dcr.cache_dir) else {
            return Ok(None);
        };
        if config.dcr.azure.is_empty() {
            return Ok(None);
        }
        let scope = format!("{}/.default", azure.resource_manager);
        let mut caches: HashMap<Option<String>, Arc<TokenCache>> = HashMap::new();
        let mut entries = Vec::new();
        for entry in &config.dcr.azure {
            let credential = match &entry.auth {
                None => azure.credential.clone(),
                Some(name) => azure
                    .credentials
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, c)| c.clone()),
            }
            .ok_or_else(|| "dcr.azure: no credential to ask Azure with".to_owned())?;
            let tokens = caches
                .entry(entry.auth.clone())
                .or_insert_with(|| Arc::new(TokenCache::new(credential.with_scope(&scope))));
            entries.push((entry.source.clone(), Arc::clone(tokens)));
        }
        Ok(Some(ArmPoller {
            http: crate::upload::http_client_with(&azure.http)?,
            arm: azure.resource_manager.clone(),
            known: vec![Vec::new(); entries.len()],
            entries,
            cache_dir: cache_dir.clone(),
            etags: HashMap::new(),
        }))
    }

    /// Asks Azure for every DCR once.
    pub async fn poll(&mut self) -> Polled {
        let mut polled = Polled::default();
        if let Err(e) = tokio::fs::create_dir_all(&self.cache_dir).await {
            polled.problems.push(format!(
                "{}: cannot create the DCR cache: {e}",
                self.cache_dir.display()
            ));
            return polled;
        }
        let mut wanted: Vec<(String, Arc<TokenCache>)> = Vec::new();
        let mut complete = true;
        for (index, (source, tokens)) in self.entries.iter().enumerate() {
            let ids = match source {
                ArmSource::Dcr(id) => Ok(vec![id.clone()]),
                ArmSource::AssociatedWith(machine) => self.associations(machine, tokens).await,
            };
            match ids {
                Ok(ids) => {
                    if let Some(known) = self.known.get_mut(index) {
                        known.clone_from(&ids);
                    }
                }
                Err(problem) => {
                    complete = false;
                    polled.problems.push(problem);
                }
            }
            for id in self.known.get(index).into_iter().flatten() {
                if !wanted.iter().any(|(w, _)| w.eq_ignore_ascii_case(id)) {
                    wanted.push((id.clone(), Arc::clone(tokens)));
                }
            }
        }
        for (id, tokens) in &wanted {
            match self.fetch(id, tokens).await {
                Ok(true) => polled.changed = true,
                Ok(false) => {}
                Err(problem) => polled.problems.push(problem),
            }
        }
        // A DCR no longer wanted (its association removed) leaves the cache, unless a list
        // could not be read (then nothing is known to be gone).
        if complete {
            let names: HashSet<String> = wanted
                .iter()
                .map(|(id, _)| rules::cache_file_name(id))
                .collect();
            if let Ok(mut dir) = tokio::fs::read_dir(&self.cache_dir).await {
                while let Ok(Some(entry)) = dir.next_entry().await {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    let stale = name.starts_with("arm-")
                        && name.ends_with(".json")
                        && !names.contains(&name);
                    if stale && tokio::fs::remove_file(entry.path()).await.is_ok() {
                        polled.changed = true;
                    }
                }
            }
        }
        polled
    }

    async fn get(
        &self,
        url: &str,
        tokens: &TokenCache,
        etag: Option<&str>,
    ) -> Result<(u16, Option<String>, Vec<u8>), String> {
        let token = tokens
            .token(&self.http)
            .await
            .map_err(|e| format!("Azure Resource Manager token: {e}"))?;
        let mut request = self.http.get(url).bearer_auth(token);
        if let Some(etag) = etag {
            request = request.header(reqwest::header::IF_NONE_MATCH, etag);
        }
        let response = request.send().await.map_err(|e| {
            format!(
                "{url}: {}",
                crate::upload::diagnosis::Cause::of(&e).describe()
            )
        })?;
        let status = response.status().as_u16();
        let etag = response
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        // A DCR is a few kilobytes: a body over 4 MiB is refused, not held.
        let body = read_limited(response, 4 << 20).await?;
        Ok((status, etag, body))
    }

    /// The DCR ids associated with `machine`, all pages.
    async fn associations(
        &self,
        machine: &str,
        tokens: &TokenCache,
    ) -> Result<Vec<String>, String> {
        let mut ids = Vec::new();
        let mut url = rules::associations_url(&self.arm, machine);
        // A bounded number of pages: a reply that links to itself cannot spin.
        for _ in 0..100 {
            let (status, _, body) = self.get(&url, tokens, None).await?;
            match status {
                200 => {}
                403 => {
                    return Err(format!(
                        "{machine}: 403: the identity may not list its DCR associations: give it \
                         the Monitoring Reader role on the machine"
                    ));
                }
                other => return Err(format!("{machine}: associations: answered {other}")),
            }
            let (page, next) = rules::association_page(&body)?;
            ids.extend(page);
            match next {
                Some(next) if rules::same_origin(&self.arm, &next) => url = next,
                Some(next) => {
                    return Err(format!(
                        "{machine}: associations: nextLink {next} leaves {}",
                        self.arm
                    ));
                }
                None => return Ok(ids),
            }
        }
        Err(format!("{machine}: associations: more than 100 pages"))
    }

    /// Fetches one DCR into the cache; `Ok(true)` when its copy changed.
    async fn fetch(&mut self, id: &str, tokens: &TokenCache) -> Result<bool, String> {
        let path = self.cache_dir.join(rules::cache_file_name(id));
        let cached = tokio::fs::try_exists(&path).await.unwrap_or(false);
        let etag = self.etags.get(id).filter(|_| cached).cloned();
        let (status, header_etag, body) = self
            .get(&rules::dcr_url(&self.arm, id), tokens, etag.as_deref())
            .await?;
        match rules::dcr_answer(id, status, header_etag.as_deref(), &body) {
            DcrAnswer::Unchanged => Ok(false),
            DcrAnswer::Failed(problem) => Err(problem),
            DcrAnswer::Changed { body, etag } => {
                let previous = tokio::fs::read_to_string(&path).await.ok();
                if let Some(etag) = etag {
                    self.etags.insert(id.to_owned(), etag);
                }
                if previous.as_deref() == Some(body.as_str()) {
                    return Ok(false);
                }
                // Written beside and renamed only once whole (a failed write, a full disk, keeps
                // the last good copy), never through a planted link; off the runtime's threads.
                let target = path.clone();
                tokio::task::spawn_blocking(move || {
                    crate::secure_file::write_atomically(
                        &target,
                        body.as_bytes(),
                        crate::secure_file::PRIVATE,
                        false,
                    )
                })
                .await
                .map_err(|e| format!("{}: {e}", path.display()))?
                .map_err(|e| format!("{}: {e}", path.display()))?;
                Ok(true)
            }
        }
    }
}

/// A response body up to `limit` bytes.
async fn read_limited(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > limit {
            return Err(format!("an answer over {limit} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Polls every `[dcr] poll_interval` until `shutdown`, reloading when the cache changed;
/// problems are logged when they change (not every poll).
pub async fn run(
    mut poller: ArmPoller,
    config: crate::dcr::DcrConfig,
    destinations: Vec<crate::dcr::binding::Destination>,
    reloaded: crate::reload::Reloaded,
    ok: prometheus_client::metrics::counter::Counter,
    failed: prometheus_client::metrics::counter::Counter,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut last_problems: Vec<String> = Vec::new();
    loop {
        tokio::select! {
            () = tokio::time::sleep(config.poll_interval) => {}
            _ = shutdown.changed() => return,
        }
        let polled = poller.poll().await;
        if polled.problems != last_problems {
            for problem in &polled.problems {
                tracing::warn!(%problem, "DCRs from Azure: keeping the cached copy");
            }
            if polled.problems.is_empty() && !last_problems.is_empty() {
                tracing::info!("DCRs from Azure: reachable again");
            }
            last_problems = polled.problems;
        }
        if polled.changed {
            tracing::info!("DCRs from Azure changed: reloading");
            crate::reload::reload(&config, &destinations, &reloaded, &ok, &failed).await;
        }
    }
}

//! Upload checks: each target end to end: the credential (a token), the target's endpoint and
//! DCR id with a zero-row probe (an empty JSON array, which the service accepts without
//! storing anything), and clock skew against the service's `Date` header.

use std::time::{Duration, SystemTime};

use crate::config::Config;
use crate::dcr::Compiled;
use crate::upload::auth::TokenCache;
use crate::upload::diagnosis::{Cause, chain, host_of};

/// Clock skew beyond this is reported (tokens and TimeGenerated both depend on the clock).
const SKEW_LIMIT: Duration = Duration::from_secs(120);

use super::{Check, check};

/// Appends the upload checks to `checks`.
pub async fn run(config: &Config, compiled: &Compiled, checks: &mut Vec<Check>) {
    let targets = &compiled.bindings.targets;
    if targets.is_empty() {
        checks.push(check(
            false,
            "upload targets",
            "none: add an ingestion DCR (`tern dcr scaffold`) to [dcr] paths or a [[destination]]",
        ));
        return;
    }
    let options = config
        .azure
        .as_ref()
        .map(|a| a.http.clone())
        .unwrap_or_default();
    if let Some(proxy) = &options.proxy {
        checks.push(check(
            true,
            "proxy",
            format!("uploads and Entra ID through {}", proxy.url),
        ));
    }
    let http = match crate::upload::http_client_with(&options) {
        Ok(h) => h,
        Err(e) => {
            checks.push(check(false, "HTTP client", e));
            return;
        }
    };
    // Each credential once, then the targets that use it.
    let mut names: Vec<Option<&str>> = Vec::new();
    for target in targets {
        if !names.contains(&target.auth.as_deref()) {
            names.push(target.auth.as_deref());
        }
    }
    for name in names {
        let using: Vec<&crate::dcr::binding::Target> = targets
            .iter()
            .filter(|t| t.auth.as_deref() == name)
            .collect();
        let credential = match name {
            None => config.azure.as_ref().and_then(|a| a.credential.clone()),
            Some(name) => config.azure.as_ref().and_then(|a| {
                a.credentials
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, c)| c.clone())
            }),
        };
        let label = name.map_or_else(|| "token".to_owned(), |n| format!("token ({n})"));
        let Some(credential) = credential else {
            checks.push(check(
                false,
                "credential",
                "no [azure.auth] section: nothing to get a token with",
            ));
            continue;
        };
        probe_targets(&http, &credential, &label, &using, checks).await;
    }
}

/// Gets a token with `credential` and probes each of `targets` with it.
async fn probe_targets(
    http: &reqwest::Client,
    credential: &crate::upload::auth::Credential,
    label: &str,
    targets: &[&crate::dcr::binding::Target],
    checks: &mut Vec<Check>,
) {
    let tokens = TokenCache::new(credential.clone());
    let token = match tokens.token(http).await {
        Ok(t) => {
            checks.push(check(true, label, credential.describe()));
            t
        }
        Err(e) => {
            // The credential is to blame only when the identity endpoint answered; a request
            // that never got there has a network cause and a network fix.
            let fix = match e.cause() {
                Some(cause) if !cause.reached_the_service() => {
                    let host = e.url().map(host_of).unwrap_or("the identity endpoint");
                    format!("{}: {}", cause.describe(), cause.fix(host))
                }
                _ => credential.hint().to_owned(),
            };
            checks.push(check(false, label, format!("{e} ({})", credential.describe())).fix(fix));
            return;
        }
    };
    for target in targets {
        let name = format!("{} → {}", target.origin, target.stream);
        let (Some(endpoint), Some(immutable_id)) = (&target.endpoint, &target.immutable_id) else {
            checks.push(check(
                false,
                name,
                "no endpoint or DCR immutable id (a template before deployment, or a DCE): give them in a [[destination]]",
            ));
            continue;
        };
        let url = format!(
            "{}/dataCollectionRules/{immutable_id}/streams/{}?api-version=2023-01-01",
            endpoint.trim_end_matches('/'),
            target.stream
        );
        let probe = http
            .post(&url)
            .bearer_auth(&token)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body("[]")
            .send()
            .await;
        match probe {
            Err(e) => {
                let cause = Cause::of(&e);
                checks.push(
                    check(
                        false,
                        name,
                        format!("{url}: {}: {}", cause.describe(), chain(&e)),
                    )
                    .fix(cause.fix(host_of(&url))),
                );
            }
            Ok(response) => {
                let status = response.status().as_u16();
                let skew = response
                    .headers()
                    .get(reqwest::header::DATE)
                    .and_then(|d| d.to_str().ok())
                    .and_then(|d| httpdate::parse_http_date(d).ok())
                    .map(|server| match server.duration_since(SystemTime::now()) {
                        Ok(ahead) => ahead,
                        Err(behind) => behind.duration(),
                    });
                let (ok, detail, fix) = match status {
                    200..=299 => (true, "probe accepted".to_owned(), None),
                    401 => (
                        false,
                        "401: the token was refused (wrong tenant or cloud?)".to_owned(),
                        Some("check [azure] cloud and [azure.auth] tenant_id against the workspace's tenant".to_owned()),
                    ),
                    403 => (
                        false,
                        "403: the identity lacks \"Monitoring Metrics Publisher\" on the DCR (a new role assignment can take 30 minutes)".to_owned(),
                        Some(format!(
                            "az role assignment create --role \"Monitoring Metrics Publisher\" --assignee <{}> --scope <the DCR's resource id>",
                            credential.describe()
                        )),
                    ),
                    404 => (
                        false,
                        "404: wrong DCR immutable id, stream name or endpoint region".to_owned(),
                        Some(format!(
                            "compare with `az monitor data-collection rule show`: immutableId {immutable_id}, a stream named {} in streamDeclarations, and the DCR's logsIngestion endpoint",
                            target.stream
                        )),
                    ),
                    other => (false, format!("{other}: unexpected answer"), None),
                };
                let c = check(ok, name.clone(), format!("{url}: {detail}"));
                checks.push(match fix {
                    Some(fix) => c.fix(fix),
                    None => c,
                });
                if let Some(skew) = skew.filter(|s| *s > SKEW_LIMIT) {
                    checks.push(
                        check(
                            false,
                            format!("{name} clock"),
                            format!(
                                "local clock differs from the service by {}s",
                                skew.as_secs()
                            ),
                        )
                        .fix("enable time sync: timedatectl set-ntp true (tokens and TimeGenerated depend on it)"),
                    );
                }
            }
        }
    }
}

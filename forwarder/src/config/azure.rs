//! `[azure]`: the cloud, credentials (`[azure.auth]`, `[azure.auth.<name>]`) and upload
//! settings. Credentials name their secret files; nothing secret is read here (decision 116).

use super::*;

/// `[azure]`: how to reach Azure.
#[derive(Debug, Clone)]
pub struct AzureConfig {
    pub cloud: crate::upload::auth::Cloud,
    /// `None` without an `[azure.auth]` section.
    pub credential: Option<crate::upload::auth::Credential>,
    /// `[azure.auth.<name>]`: credentials a `[[destination]]` names with `auth` (other
    /// tenants' apps), in file order.
    pub credentials: Vec<(String, crate::upload::auth::Credential)>,
    /// Azure Resource Manager (`resource_manager`, else the cloud's), for DCRs from Azure.
    pub resource_manager: String,
    pub concurrency: usize,
    /// Per target, gzip bytes that may wait for a request slot.
    pub max_queue_bytes: usize,
    pub dead_letter: PathBuf,
    /// Proxy (from `proxy` or `HTTPS_PROXY`) and extra trust roots.
    pub http: crate::upload::HttpOptions,
    pub compression: crate::upload::batch::Compression,
    pub retry: crate::upload::sender::RetryPolicy,
}

/// The retry backoff of `[azure.upload]`: `retry_base_ms` (default 500, 10 to 60,000) and
/// `retry_cap_ms` (default 60,000, from the base to 600,000). Out-of-range values are clamped:
/// a base of 0 would retry in a hot loop, and an hour's cap would hide a recovered workspace.
pub(super) fn retry_policy(upload: Option<&RawAzureUpload>) -> crate::upload::sender::RetryPolicy {
    let default = crate::upload::sender::RetryPolicy::default();
    let millis = |d: std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    let base = upload
        .and_then(|u| u.retry_base_ms)
        .unwrap_or(millis(default.base))
        .clamp(10, 60_000);
    let cap = upload
        .and_then(|u| u.retry_cap_ms)
        .unwrap_or(millis(default.cap))
        .clamp(base, 600_000);
    crate::upload::sender::RetryPolicy {
        base: std::time::Duration::from_millis(base),
        cap: std::time::Duration::from_millis(cap),
        configuration_wait: default.configuration_wait,
    }
}

/// The credential of `[azure.auth]`. `env` reads the environment variables the Azure SDKs
/// honour (`AZURE_CLIENT_SECRET`, `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`,
/// `AZURE_FEDERATED_TOKEN_FILE`, `AZURE_AUTHORITY_HOST`, `IDENTITY_ENDPOINT`), which fill in
/// what the file leaves out; the file wins when it gives both.
pub(super) fn credential(
    auth: &RawAzureAuth,
    cloud: crate::upload::auth::Cloud,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<crate::upload::auth::Credential, String> {
    use crate::upload::auth::{
        AzureArc, ClientCertificate, ClientSecret, Credential, ManagedIdentity, Secret,
        UserAssigned, WorkloadIdentity, managed_identity,
    };
    let method = auth.method.get_ref().as_str();
    let either = |value: &Option<String>, variable: &str| value.clone().or_else(|| env(variable));
    let required = |value: Option<String>, key: &str| {
        value.ok_or_else(|| format!("azure.auth: `{key}` is required for {method}"))
    };
    let authority_host = either(&auth.authority_host, "AZURE_AUTHORITY_HOST")
        .unwrap_or_else(|| cloud.authority_host().to_owned());
    if let Some(why) = crate::upload::endpoint::refusal(&authority_host) {
        return Err(format!("azure.auth.authority_host: {why}"));
    }
    let unused = |keys: &[(&str, bool)]| -> Result<(), String> {
        match keys.iter().find(|(_, given)| *given) {
            Some((key, _)) => Err(format!("azure.auth.{key}: not used by {method}")),
            None => Ok(()),
        }
    };
    let identity_keys = [
        ("object_id", auth.object_id.is_some()),
        ("resource_id", auth.resource_id.is_some()),
        ("identity_endpoint", auth.identity_endpoint.is_some()),
        ("arc_key_dir", auth.arc_key_dir.is_some()),
    ];
    match method {
        "client-secret" => {
            unused(&identity_keys)?;
            // The file is read when a token is asked for (and checked before the daemon
            // starts), not here: parsing reads no secret. It never appears in a message.
            let secret = match &auth.client_secret_file {
                Some(file) => Secret::File(PathBuf::from(file)),
                None => Secret::Value(env("AZURE_CLIENT_SECRET").ok_or(
                    "azure.auth: `client_secret_file` (or the AZURE_CLIENT_SECRET environment variable) is required for client-secret",
                )?),
            };
            Ok(Credential::ClientSecret(ClientSecret {
                authority_host,
                tenant_id: required(either(&auth.tenant_id, "AZURE_TENANT_ID"), "tenant_id")?,
                client_id: required(either(&auth.client_id, "AZURE_CLIENT_ID"), "client_id")?,
                secret,
                scope: cloud.scope().to_owned(),
            }))
        }
        "client-certificate" => {
            unused(&identity_keys)?;
            let file = required(auth.certificate_file.clone(), "certificate_file")?;
            Ok(Credential::ClientCertificate(ClientCertificate {
                authority_host,
                tenant_id: required(either(&auth.tenant_id, "AZURE_TENANT_ID"), "tenant_id")?,
                client_id: required(either(&auth.client_id, "AZURE_CLIENT_ID"), "client_id")?,
                scope: cloud.scope().to_owned(),
                certificate_file: PathBuf::from(file),
            }))
        }
        "workload-identity" => {
            unused(&identity_keys)?;
            let token_file = required(
                either(&auth.federated_token_file, "AZURE_FEDERATED_TOKEN_FILE"),
                "federated_token_file",
            )?;
            Ok(Credential::WorkloadIdentity(WorkloadIdentity {
                authority_host,
                tenant_id: required(either(&auth.tenant_id, "AZURE_TENANT_ID"), "tenant_id")?,
                client_id: required(either(&auth.client_id, "AZURE_CLIENT_ID"), "client_id")?,
                scope: cloud.scope().to_owned(),
                token_file: PathBuf::from(token_file),
            }))
        }
        "managed-identity" => {
            unused(&[("arc_key_dir", auth.arc_key_dir.is_some())])?;
            let ids = [
                auth.client_id.clone().map(UserAssigned::ClientId),
                auth.object_id.clone().map(UserAssigned::ObjectId),
                auth.resource_id.clone().map(UserAssigned::ResourceId),
            ];
            let mut given = ids.into_iter().flatten();
            let user_assigned = given.next();
            if given.next().is_some() {
                return Err(
                    "azure.auth: give one of client_id, object_id or resource_id for a user-assigned identity"
                        .into(),
                );
            }
            Ok(Credential::ManagedIdentity(ManagedIdentity {
                endpoint: auth
                    .identity_endpoint
                    .clone()
                    .unwrap_or_else(|| managed_identity::IMDS_ENDPOINT.to_owned()),
                resource: cloud.resource().to_owned(),
                user_assigned,
            }))
        }
        "azure-arc" => {
            unused(&[
                ("client_id", auth.client_id.is_some()),
                ("object_id", auth.object_id.is_some()),
                ("resource_id", auth.resource_id.is_some()),
            ])?;
            Ok(Credential::AzureArc(AzureArc {
                endpoint: either(&auth.identity_endpoint, "IDENTITY_ENDPOINT")
                    .unwrap_or_else(|| managed_identity::ARC_ENDPOINT.to_owned()),
                resource: cloud.resource().to_owned(),
                key_dir: PathBuf::from(
                    auth.arc_key_dir
                        .as_deref()
                        .unwrap_or(managed_identity::ARC_KEY_DIR),
                ),
            }))
        }
        other => Err(format!(
            "azure.auth.method: unknown method `{other}`: use client-secret, client-certificate, \
             managed-identity, azure-arc or workload-identity"
        )),
    }
}

/// `[azure.upload]`'s proxy (or the environment's) and `ca_file`.
/// Errors carry the span of the key (empty for a bad proxy variable in the environment).
pub(super) fn http_options(
    upload: Option<&RawAzureUpload>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<crate::upload::HttpOptions, (std::ops::Range<usize>, String)> {
    use crate::upload::ProxyConfig;
    let proxy = match upload.and_then(|u| u.proxy.as_ref()) {
        Some(text) => Some(
            ProxyConfig::parse(text.get_ref())
                .map_err(|e| (text.span(), format!("azure.upload.proxy: {e}")))?,
        ),
        None => match ProxyConfig::from_env(env) {
            Some((variable, text)) => Some(
                ProxyConfig::parse(&text)
                    .map_err(|e| (0..0, format!("the {variable} environment variable: {e}")))?,
            ),
            None => None,
        },
    };
    let ca_file = match upload.and_then(|u| u.ca_file.as_ref()) {
        Some(path) if !std::path::Path::new(path.get_ref()).is_file() => {
            return Err((
                path.span(),
                format!(
                    "azure.upload.ca_file: {} is not a readable file",
                    path.get_ref()
                ),
            ));
        }
        Some(path) => Some(PathBuf::from(path.get_ref())),
        None => None,
    };
    Ok(crate::upload::HttpOptions { proxy, ca_file })
}

/// `[azure]` (and `[azure.auth.<name>]`), checked; `None` without the section.
pub(super) fn azure_config(
    raw: &RawConfig,
    at: &impl Fn(std::ops::Range<usize>, String) -> ConfigError,
) -> Result<Option<AzureConfig>, ConfigError> {
    Ok(match &raw.azure {
        None => None,
        Some(a) => {
            use crate::upload::auth::Cloud;
            let cloud = match a.cloud.as_ref().map(|c| (c.get_ref().as_str(), c.span())) {
                None | Some(("public", _)) => Cloud::Public,
                Some(("usgov", _)) => Cloud::UsGov,
                Some(("china", _)) => Cloud::China,
                Some((other, span)) => {
                    return Err(at(
                        span,
                        format!("azure.cloud: unknown cloud `{other}`: use public, usgov or china"),
                    ));
                }
            };
            let credential = match &a.auth {
                None => None,
                Some(auth) => Some(
                    credential(auth, cloud, &|name| std::env::var(name).ok())
                        .map_err(|message| at(auth.method.span(), message))?,
                ),
            };
            let mut credentials = Vec::new();
            for (name, auth, _) in &raw.named_auth {
                // A named credential reads no AZURE_* variable: those are the default's.
                let made = self::credential(auth, cloud, &|_| None).map_err(|message| {
                    at(
                        auth.method.span(),
                        message.replacen("azure.auth", &format!("azure.auth.{name}"), 1),
                    )
                })?;
                credentials.push((name.clone(), made));
            }

            let resource_manager = match &a.resource_manager {
                None => cloud.resource_manager().to_owned(),
                Some(text) => {
                    // The rule for every URL given a token (Resource Manager gets one too).
                    let url = text.get_ref().trim_end_matches('/');
                    if let Some(why) = crate::upload::endpoint::refusal(url) {
                        return Err(at(text.span(), format!("azure.resource_manager: {why}")));
                    }
                    url.to_owned()
                }
            };
            Some(AzureConfig {
                cloud,
                credential,
                credentials,
                resource_manager,
                concurrency: a
                    .upload
                    .as_ref()
                    .and_then(|u| u.concurrency)
                    .unwrap_or(4)
                    .clamp(1, 64),
                max_queue_bytes: match a.upload.as_ref().and_then(|u| u.max_queue.as_ref()) {
                    None if raw.spool.is_some() => DEFAULT_MEMORY_TIER_BYTES,
                    None => DEFAULT_MAX_QUEUE_BYTES,
                    Some(text) => parse_bytes(text.get_ref()).ok_or_else(|| {
                        at(
                            text.span(),
                            format!(
                                "azure.upload.max_queue: `{}` is not a size (e.g. 256MiB, 1GiB)",
                                text.get_ref()
                            ),
                        )
                    })?,
                },
                dead_letter: a
                    .upload
                    .as_ref()
                    .and_then(|u| u.dead_letter_path.as_ref())
                    .map_or_else(|| PathBuf::from(DEFAULT_DEAD_LETTER), PathBuf::from),
                http: http_options(a.upload.as_ref(), &|name| std::env::var(name).ok())
                    .map_err(|(span, message)| at(span, message))?,
                compression: match a.upload.as_ref().and_then(|u| u.compression.as_ref()) {
                    None => crate::upload::batch::Compression::default(),
                    Some(name) => crate::upload::batch::Compression::parse(name.get_ref())
                        .ok_or_else(|| {
                            at(
                                name.span(),
                                format!(
                                    "azure.upload.compression: `{}` is not fast or small",
                                    name.get_ref()
                                ),
                            )
                        })?,
                },
                retry: retry_policy(a.upload.as_ref()),
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Resource Manager gets a token: the rule for every such URL, not a prefix check that
    /// `http://localhost.evil.example` would pass.
    #[test]
    fn resource_manager_is_https_or_loopback_http() {
        let with = |url: &str| {
            Config::parse(
                "t.toml",
                &format!(
                    "[[listen]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:1\"\n\n\
                     [azure]\nresource_manager = \"{url}\"\n"
                ),
            )
            .map(|c| c.azure.map(|a| a.resource_manager))
            .map_err(|e| e.to_string())
        };
        assert_eq!(
            with("http://127.0.0.1:8080/"),
            Ok(Some("http://127.0.0.1:8080".to_owned()))
        );
        assert_eq!(
            with("https://management.usgovcloudapi.net"),
            Ok(Some("https://management.usgovcloudapi.net".to_owned()))
        );
        for refused in [
            "http://localhost.evil.example",
            "http://127.0.0.1.evil.example",
            "http://127.0.0.1@evil.example",
            "http://management.azure.com",
        ] {
            let e = with(refused).err().unwrap_or_default();
            assert!(e.contains("azure.resource_manager: "), "{refused}: {e}");
        }
    }

    /// `[azure.auth]` with `lines`, through [`credential`] with `vars` as the environment.
    fn auth(lines: &str, vars: &[(&str, &str)]) -> Result<crate::upload::auth::Credential, String> {
        let raw: RawAzureAuth = toml::from_str(lines).unwrap();
        let env = |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        };
        credential(&raw, crate::upload::auth::Cloud::UsGov, &env)
    }

    #[test]
    fn every_credential_kind_is_configured_from_file_or_environment() {
        use crate::upload::auth::{Credential, UserAssigned};
        let fixture = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/test-only-client-certificate.pem"
        );
        let Ok(Credential::ClientSecret(c)) = auth(
            "method = \"client-secret\"\ntenant_id = \"t\"",
            &[
                ("AZURE_CLIENT_ID", "app"),
                ("AZURE_CLIENT_SECRET", "from-env"),
            ],
        ) else {
            panic!("client secret from the environment");
        };
        assert_eq!(c.client_id, "app");
        assert!(matches!(&c.secret, crate::upload::auth::Secret::Value(v) if v == "from-env"));
        assert_eq!(c.authority_host, "https://login.microsoftonline.us");
        assert_eq!(c.scope, "https://monitor.azure.us/.default");

        let Ok(Credential::ClientCertificate(c)) = auth(
            &format!(
                "method = \"client-certificate\"\ntenant_id = \"t\"\nclient_id = \"app\"\ncertificate_file = \"{fixture}\""
            ),
            &[],
        ) else {
            panic!("client certificate");
        };
        assert_eq!(c.certificate_file, PathBuf::from(&fixture));
        assert_eq!(Credential::ClientCertificate(c).check_files(), Ok(()));

        let Ok(Credential::WorkloadIdentity(c)) = auth(
            "method = \"workload-identity\"",
            &[
                ("AZURE_TENANT_ID", "t"),
                ("AZURE_CLIENT_ID", "app"),
                (
                    "AZURE_FEDERATED_TOKEN_FILE",
                    "/var/run/secrets/azure/tokens/azure-identity-token",
                ),
                ("AZURE_AUTHORITY_HOST", "https://login.example/"),
            ],
        ) else {
            panic!("workload identity");
        };
        assert_eq!(c.authority_host, "https://login.example/");
        assert_eq!(
            c.token_file,
            PathBuf::from("/var/run/secrets/azure/tokens/azure-identity-token")
        );

        let Ok(Credential::ManagedIdentity(m)) =
            auth("method = \"managed-identity\"\nobject_id = \"oid\"", &[])
        else {
            panic!("managed identity");
        };
        assert_eq!(m.user_assigned, Some(UserAssigned::ObjectId("oid".into())));
        assert_eq!(m.resource, "https://monitor.azure.us");
        assert_eq!(
            m.endpoint,
            "http://169.254.169.254/metadata/identity/oauth2/token"
        );

        let Ok(Credential::AzureArc(a)) = auth(
            "method = \"azure-arc\"",
            &[(
                "IDENTITY_ENDPOINT",
                "http://localhost:40342/metadata/identity/oauth2/token",
            )],
        ) else {
            panic!("azure arc");
        };
        assert_eq!(a.key_dir, PathBuf::from("/var/opt/azcmagent/tokens"));
    }

    #[test]
    fn credential_mistakes_are_named() {
        let err = |lines: &str| auth(lines, &[]).err().unwrap_or_default();
        assert_eq!(
            err("method = \"client-certificate\"\ntenant_id = \"t\"\nclient_id = \"c\""),
            "azure.auth: `certificate_file` is required for client-certificate"
        );
        // Files are named while parsing and read by `check_files` (before the daemon starts)
        // and for each token: the message names the setting and the file.
        for (lines, wanted) in [
            (
                "certificate_file = \"/nonexistent.pem\"\nmethod = \"client-certificate\"",
                "certificate_file: cannot read /nonexistent.pem",
            ),
            (
                "client_secret_file = \"/nonexistent-secret\"\nmethod = \"client-secret\"",
                "client_secret_file: cannot read /nonexistent-secret",
            ),
        ] {
            let credential = auth(
                &format!("{lines}\ntenant_id = \"t\"\nclient_id = \"c\""),
                &[],
            )
            .unwrap_or_else(|e| panic!("{e}"));
            let e = credential.check_files().unwrap_err();
            assert!(e.starts_with(wanted), "{e}");
        }
        assert_eq!(
            err("method = \"managed-identity\"\nclient_id = \"a\"\nobject_id = \"b\""),
            "azure.auth: give one of client_id, object_id or resource_id for a user-assigned identity"
        );
        assert_eq!(
            err("method = \"azure-arc\"\nclient_id = \"a\""),
            "azure.auth.client_id: not used by azure-arc"
        );
        assert!(
            err("method = \"client-secret\"\nauthority_host = \"http://login.example\"")
                .contains("must be https://")
        );
        assert!(
            err("method = \"password\"")
                .starts_with("azure.auth.method: unknown method `password`")
        );
    }

    #[test]
    fn named_credentials_beside_the_default_and_destinations_naming_them() {
        let base = "[[listen]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:5514\"\n\
                    [azure.auth]\nmethod = \"managed-identity\"\n\
                    [azure.auth.tenant-b]\nmethod = \"managed-identity\"\nclient_id = \"b\"\n\
                    [[destination]]\nname = \"b\"\nendpoint = \"https://dce.example\"\n\
                    dcr_immutable_id = \"dcr-1\"\nstreams = { Syslog = \"Custom-S\" }\n";
        let config = Config::parse("t.toml", &format!("{base}auth = \"tenant-b\"\n")).unwrap();
        let azure = config.azure.unwrap();
        assert!(azure.credential.is_some());
        let names: Vec<&str> = azure.credentials.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["tenant-b"]);
        assert_eq!(config.destinations[0].auth.as_deref(), Some("tenant-b"));
        let err = Config::parse("t.toml", &format!("{base}auth = \"tenant-c\"\n"))
            .unwrap_err()
            .into_first();
        assert_eq!(err.line, 14);
        assert_eq!(
            err.message,
            "destination[0].auth: no credential `tenant-c`: define [azure.auth.tenant-c] \
             (defined: [azure.auth.tenant-b])"
        );
        // A named credential is checked like the default, under its own name.
        let err = Config::parse(
            "t.toml",
            "[[listen]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:5514\"\n\
             [azure.auth.x]\nmethod = \"client-secret\"\nclient_id = \"c\"\n",
        )
        .unwrap_err()
        .into_first();
        assert!(
            err.message
                .starts_with("azure.auth.x: `client_secret_file`"),
            "{}",
            err.message
        );
    }

    #[test]
    fn retry_backoff_defaults_and_is_clamped_to_its_range() {
        use std::time::Duration;
        let listen = "[[listen]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:1\"\n";
        let retry = |upload: &str| {
            Config::parse("t.toml", &format!("{listen}[azure]\n{upload}"))
                .unwrap()
                .azure
                .unwrap()
                .retry
        };
        let default = retry("");
        assert_eq!(default.base, Duration::from_millis(500));
        assert_eq!(default.cap, Duration::from_secs(60));
        let fast = retry("[azure.upload]\nretry_base_ms = 50\nretry_cap_ms = 400\n");
        assert_eq!(
            (fast.base, fast.cap),
            (Duration::from_millis(50), Duration::from_millis(400))
        );
        let wild = retry("[azure.upload]\nretry_base_ms = 0\nretry_cap_ms = 99999999\n");
        assert_eq!(
            (wild.base, wild.cap),
            (Duration::from_millis(10), Duration::from_secs(600))
        );
        let inverted = retry("[azure.upload]\nretry_base_ms = 2000\nretry_cap_ms = 100\n");
        assert_eq!(inverted.cap, Duration::from_millis(2000));
    }

    #[test]
    fn upload_compression_is_fast_unless_asked_for_small() {
        let listen = "[[listen]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:1\"\n";
        let with = |upload: &str| Config::parse("t.toml", &format!("{listen}[azure]\n{upload}"));
        let compression = |config: Config| config.azure.unwrap().compression;
        use crate::upload::batch::Compression;
        assert_eq!(compression(with("").unwrap()), Compression::Fast);
        let small = with("[azure.upload]\ncompression = \"small\"\n").unwrap();
        assert_eq!(compression(small), Compression::Small);
        let err = with("[azure.upload]\ncompression = \"zstd\"\n")
            .unwrap_err()
            .into_first();
        assert_eq!(err.line, 6);
        assert!(
            err.message.contains("azure.upload.compression: `zstd`"),
            "{}",
            err.message
        );
    }
}

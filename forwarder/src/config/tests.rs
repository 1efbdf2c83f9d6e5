use super::*;

#[test]
fn vendor_formats_and_sender_pins() {
    let c = Config::parse(
        "t.toml",
        "[[listen]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:1\"\nformat = \"paloalto\"\n\
         sender_formats = { \"10.1.0.0/16\" = \"meraki\", \"10.1.2.0/24\" = \"fortinet\", \"192.0.2.9\" = \"cef\" }\n",
    )
    .unwrap();
    let l = &c.listen[0];
    assert_eq!(l.format, Format::Vendor(tern_parsers::Vendor::PaloAlto));
    let at = |ip: &str| pinned_format(l.format, &l.sender_formats, Some(ip.parse().unwrap()));
    assert_eq!(
        at("10.1.2.3"),
        Format::Vendor(tern_parsers::Vendor::Fortinet)
    );
    assert_eq!(at("10.1.9.9"), Format::Vendor(tern_parsers::Vendor::Meraki));
    assert_eq!(at("192.0.2.9"), Format::Cef);
    assert_eq!(at("192.0.2.10"), l.format);
    assert_eq!(pinned_format(l.format, &l.sender_formats, None), l.format);
    let err = Config::parse(
        "t.toml",
        "[[listen]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:1\"\nsender_formats = { \"10.0.0.0/8\" = \"merakii\" }\n",
    )
    .unwrap_err().into_first();
    assert!(
        err.message.contains("listen[0].sender_formats") && err.message.contains("meraki"),
        "{}",
        err.message
    );
}

#[test]
fn full_design_example_loads() {
    let text = r#"
hostname = "fwd-01"

[[listen]]
protocol = "udp"
address = "0.0.0.0:514"

[[listen]]
protocol = "tcp"
address = "[::]:514"
framing = "octet-counting"
max_message_bytes = 131072
format = "cef"
allow = ["10.0.0.0/8", "192.0.2.1"]

[dcr]
paths = ["/etc/tern/dcr.d"]
watch = true
duplicate_cef_to_syslog = false

[azure]
cloud = "public"
[azure.auth]
method = "client-secret"
tenant_id = "t"
client_id = "c"
client_secret_file = "/etc/tern/client-secret"
[azure.upload]
concurrency = 4

[[destination]]
name = "sentinel-eu"
endpoint = "https://x.ingest.monitor.azure.com"
dcr_immutable_id = "dcr-1"
streams = { Syslog = "Custom-TernSyslog", CommonSecurityLog = "Custom-TernCEF" }

[[output]]
kind = "file"
path = "/var/log/tern/rows.jsonl"

[spool]
dir = "/var/lib/tern/spool"
max_bytes = "10GiB"
when_full = "block"

[metrics]
address = "127.0.0.1:9280"
"#;
    let secret =
        std::env::temp_dir().join(format!("tern-config-test-secret-{}", std::process::id()));
    std::fs::write(&secret, "s3cret\n").unwrap();
    let text = text.replace("/etc/tern/client-secret", &secret.display().to_string());
    let c = Config::parse("tern.toml", &text).unwrap();
    let _ = std::fs::remove_file(&secret);
    let Some(crate::upload::auth::Credential::ClientSecret(credential)) =
        c.azure.as_ref().unwrap().credential.as_ref()
    else {
        panic!("not a client secret");
    };
    // Named, not read: parsing touches no secret (the file is already gone here).
    assert!(matches!(&credential.secret, crate::upload::auth::Secret::File(f) if *f == secret));
    assert_eq!(
        credential.authority_host,
        "https://login.microsoftonline.com"
    );
    assert_eq!(c.azure.as_ref().unwrap().concurrency, 4);
    assert_eq!(c.hostname, "fwd-01");
    assert_eq!(c.listen.len(), 2);
    assert_eq!(c.listen[1].framing, Framing::OctetCounting);
    assert_eq!(c.listen[1].format, Format::Cef);
    assert_eq!(c.listen[1].allow.len(), 2);
    assert_eq!(c.listen[1].max_message_bytes, 131_072);
    assert_eq!(
        c.outputs,
        vec![Output::File(PathBuf::from("/var/log/tern/rows.jsonl"))]
    );
    let spool = c.spool.as_ref().unwrap();
    assert_eq!(spool.max_bytes, 10 << 30);
    assert_eq!(spool.when_full, crate::spool::WhenFull::Block);
    assert_eq!(
        spool.fsync,
        crate::spool::FsyncPolicy::Interval(std::time::Duration::from_secs(1))
    );
    assert_eq!(c.dcr.paths, vec![PathBuf::from("/etc/tern/dcr.d")]);
    assert!(!c.dcr.duplicate_cef_to_syslog);
    assert!(c.dcr.watch);
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
        err("method = \"password\"").starts_with("azure.auth.method: unknown method `password`")
    );
}

#[test]
fn sizes_with_units() {
    assert_eq!(parse_bytes("256MiB"), Some(256 << 20));
    assert_eq!(parse_bytes("1 GiB"), Some(1 << 30));
    assert_eq!(parse_bytes("5MB"), Some(5_000_000));
    assert_eq!(parse_bytes("4096"), Some(4096));
    assert_eq!(parse_bytes("lots"), None);
    assert_eq!(parse_bytes("10 parsecs"), None);
}

#[test]
fn listeners_and_sender_networks_bound_to_dcr_sets_share_scopes() {
    let c = Config::parse(
        "t.toml",
        "[[listen]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:1\"\ndcrs = [\"b\", \"a\"]\n\
         sender_dcrs = { \"10.0.0.0/8\" = [\"a\"], \"10.1.0.0/16\" = [\"c\"] }\n\
         [[listen]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:1\"\ndcrs = [\"a\", \"b\"]\n",
    )
    .unwrap();
    assert_eq!(
        c.dcr.scopes,
        [
            vec!["a".to_owned(), "b".to_owned()],
            vec!["a".to_owned()],
            vec!["c".to_owned()]
        ]
    );
    assert_eq!(c.listen[0].scope, Some(0));
    assert_eq!(c.listen[1].scope, Some(0));
    // Longest prefix first.
    let nets: Vec<(String, usize)> = c.listen[0]
        .sender_scopes
        .iter()
        .map(|(net, scope)| (net.to_string(), *scope))
        .collect();
    assert_eq!(
        nets,
        [("10.1.0.0/16".to_owned(), 2), ("10.0.0.0/8".to_owned(), 1)]
    );
    let err = Config::parse(
        "t.toml",
        "[[listen]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:1\"\ndcrs = []\n",
    )
    .unwrap_err()
    .into_first();
    assert_eq!(
        err.message,
        "listen[0].dcrs: name at least one collection DCR"
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
fn unknown_key_names_file_line_and_key() {
    let err = Config::parse(
        "t.toml",
        "[[listen]]\nprotocol = \"udp\"\naddress = \"0.0.0.0:514\"\nport = 5\n",
    )
    .unwrap_err()
    .into_first();
    assert_eq!(err.file, "t.toml");
    assert_eq!(err.line, 4);
    assert!(
        err.message.contains("unknown key `port`"),
        "{}",
        err.message
    );
}

#[test]
fn bad_values_name_their_line_and_key() {
    let err = Config::parse(
        "t.toml",
        "[[listen]]\nprotocol = \"udp\"\naddress = \"nowhere\"\n",
    )
    .unwrap_err()
    .into_first();
    assert_eq!(err.line, 3);
    assert!(err.message.contains("listen[0].address"), "{}", err.message);
    let err = Config::parse(
        "t.toml",
        "[[listen]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:1\"\nallow = [\"10.0.0.0/33\"]\n",
    )
    .unwrap_err()
    .into_first();
    assert_eq!(err.line, 4);
    assert!(
        err.message.contains("listen[0].allow[0]"),
        "{}",
        err.message
    );
    let err = Config::parse(
        "t.toml",
        "[[listen]]\nprotocol = \"smtp\"\naddress = \"127.0.0.1:1\"\n",
    )
    .unwrap_err()
    .into_first();
    assert_eq!(err.line, 2);
    let err = Config::parse("t.toml", "hostname = \n")
        .unwrap_err()
        .into_first();
    assert_eq!(err.line, 1);
    let err = Config::parse("t.toml", "hostname = \"x\"\n")
        .unwrap_err()
        .into_first();
    assert!(err.message.contains("no [[listen]]"));
}

#[test]
fn listener_timezone_is_utc_unless_set_and_a_wrong_one_is_named() {
    use crate::timezone::Zone;
    let with = |extra: &str| {
        Config::parse(
            "t.toml",
            &format!("[[listen]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:1\"\n{extra}"),
        )
    };
    assert_eq!(with("").unwrap().listen[0].timezone, Zone::Fixed(0));
    let berlin = with("timezone = \"Europe/Berlin\"\n").unwrap();
    assert!(
        matches!(&berlin.listen[0].timezone, Zone::Named { name, .. } if name == "Europe/Berlin")
    );
    assert_eq!(
        with("timezone = \"-03:00\"\n").unwrap().listen[0].timezone,
        Zone::Fixed(-10_800)
    );
    let err = with("timezone = \"Europe/Berlni\"\n")
        .unwrap_err()
        .into_first();
    assert_eq!(err.line, 4);
    assert!(
        err.message
            .contains("listen[0].timezone: `Europe/Berlni` is not a time zone"),
        "{}",
        err.message
    );
}

#[test]
fn listener_limits_are_checked_and_keys_of_other_protocols_refused() {
    let listen = |protocol: &str, extra: &str| {
        Config::parse(
            "t.toml",
            &format!(
                "[[listen]]\nprotocol = \"{protocol}\"\naddress = \"{}\"\n{extra}",
                if protocol == "unix" {
                    "/run/x.sock"
                } else {
                    "127.0.0.1:1"
                }
            ),
        )
    };
    let tcp = listen("tcp", "max_connections = 100\n").unwrap();
    assert_eq!(tcp.listen[0].max_connections_per_source, 25);
    assert_eq!(
        tcp.listen[0].frame_timeout,
        std::time::Duration::from_secs(60)
    );
    assert_eq!(tcp.listen[0].reassembly_max_bytes, None);
    let ise = listen("udp", "reassemble = true\n").unwrap();
    assert_eq!(ise.listen[0].reassembly_max_bytes, Some(16 << 20));
    for (protocol, extra, wanted) in [
        (
            "tcp",
            "max_connections = 99999999999\n",
            "listen[0].max_connections: must be between",
        ),
        (
            "tcp",
            "max_connections = 10\nmax_connections_per_source = 11\n",
            "max_connections_per_source: must be between 1 and max_connections (10)",
        ),
        (
            "tcp",
            "frame_timeout_seconds = 0\n",
            "frame_timeout_seconds: must be between 1 and 3600",
        ),
        (
            "tcp",
            "buffer_budget = \"1KiB\"\n",
            "buffer_budget: `1KiB` is not a size of at least 1MiB",
        ),
        (
            "tcp",
            "reassembly_max_bytes = \"1MiB\"\n",
            "reassembly_max_bytes: only with `reassemble = true`",
        ),
        (
            "unix",
            "allow = [\"10.0.0.0/8\"]\n",
            "listen[0].allow: only network listeners take it (this one is unix)",
        ),
        (
            "udp",
            "max_connections = 5\n",
            "listen[0].max_connections: only tcp, tls and relp listeners take it (this one is udp)",
        ),
        (
            "tcp",
            "sockets = 2\n",
            "listen[0].sockets: only udp listeners take it",
        ),
        (
            "relp",
            "reassemble = true\n",
            "listen[0].reassemble: not on a relp listener",
        ),
    ] {
        let err = listen(protocol, extra).unwrap_err().into_first();
        assert!(err.message.contains(wanted), "{extra}: {}", err.message);
    }
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

#[test]
fn files_allowed_roots_are_absolute_folders_or_unset() {
    let listen = "[[listen]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:1\"\n";
    let with = |files: &str| Config::parse("t.toml", &format!("{listen}[files]\n{files}"));
    assert_eq!(with("").unwrap().files.allowed_roots, None);
    let set = with("allowed_roots = [\"/var/log\", \"/srv/app/logs/\"]\n").unwrap();
    assert_eq!(
        set.files.allowed_roots,
        Some(vec![
            PathBuf::from("/var/log"),
            PathBuf::from("/srv/app/logs")
        ])
    );
    for bad in ["[\"var/log\"]", "[\"/var/log/../../etc\"]", "[]"] {
        let err = with(&format!("allowed_roots = {bad}\n"))
            .unwrap_err()
            .into_first();
        assert_eq!(err.line, 5, "{bad}");
        assert!(
            err.message.starts_with("files.allowed_roots: "),
            "{}",
            err.message
        );
    }
}

//! What several commands share: reading the configuration and DCRs, printing their errors,
//! the runtime, printing JSON.

use std::path::PathBuf;
use std::process::ExitCode;

use tern::config::Config;
use tern::dcr::Compiled;

/// The configuration file read when `--config` is not given, if it exists.
const DEFAULT_CONFIG: &str = "/etc/tern/tern.toml";

/// The collection DCRs of `paths` compiled into routing (with their transformations); every
/// error printed, exit code 2.
pub(crate) fn load_routing(
    paths: &[PathBuf],
) -> Result<(tern::dcr::routing::Routing, bool), ExitCode> {
    let print = |errors: Vec<tern::dcr::DcrError>| {
        for e in errors {
            eprintln!("tern: dcr error: {e}");
        }
        ExitCode::from(2)
    };
    let dcrs = tern::dcr::load::load_paths(paths).map_err(print)?;
    let several = dcrs.iter().filter(|d| d.is_collection()).count() > 1;
    let routing = tern::dcr::routing::Routing::compile(&dcrs, false).map_err(print)?;
    Ok((routing, several))
}

/// Loads `--config`, else the default file if present, else the built-in default.
pub(crate) fn load_config(path: Option<PathBuf>) -> Result<Config, tern::config::ConfigErrors> {
    match path {
        Some(path) => Config::load(&path),
        None if std::path::Path::new(DEFAULT_CONFIG).exists() => {
            Config::load(std::path::Path::new(DEFAULT_CONFIG))
        }
        None => Ok(Config::builtin()),
    }
}

/// Loads the configuration (see [`load_config`]) and compiles its DCRs. Every error is
/// printed, one per line; `Err` is the exit code (2: configuration).
pub(crate) fn load_all(path: Option<PathBuf>) -> Result<(Config, Compiled), ExitCode> {
    let config = load_config(path).map_err(|errors| {
        for e in errors.0 {
            eprintln!("tern: config error: {e}");
        }
        ExitCode::from(2)
    })?;
    check_credential_files(&config)?;
    let compiled = tern::dcr::compile(&config.dcr, &config.destinations).map_err(|errors| {
        for e in errors {
            eprintln!("tern: dcr error: {e}");
        }
        ExitCode::from(2)
    })?;
    Ok((config, compiled))
}

/// Reads each credential's secret or certificate file as a token request will (parsing the
/// configuration reads none): a missing or unreadable one stops `tern check` and `tern run`
/// at once, naming the section and the file (exit code 2).
fn check_credential_files(config: &Config) -> Result<(), ExitCode> {
    let Some(azure) = &config.azure else {
        return Ok(());
    };
    let named = azure
        .credentials
        .iter()
        .map(|(name, credential)| (format!("azure.auth.{name}"), credential));
    let mut failed = false;
    for (section, credential) in azure
        .credential
        .iter()
        .map(|c| ("azure.auth".to_owned(), c))
        .chain(named)
    {
        if let Err(e) = credential.check_files() {
            eprintln!("tern: config error: {}: {section}.{e}", config.source);
            failed = true;
        }
    }
    if failed {
        return Err(ExitCode::from(2));
    }
    Ok(())
}

/// Reads every TLS listener's certificate files as the listener would; errors (exit code 2)
/// name the listener, the setting and the file. Returns notes for certificates expiring soon.
/// `strict` (`tern check`): a certificate outside its validity is an error; otherwise (`tern
/// run`) the listener logs it and serves it anyway (decision 52).
pub(crate) fn check_tls(config: &Config, strict: bool) -> Result<Vec<String>, ExitCode> {
    let mut failed = false;
    let mut notes = Vec::new();
    for listen in &config.listen {
        let Some(files) = &listen.tls else { continue };
        let loaded = if strict {
            tern::listen::tls::load(files).map_err(|e| e.to_string())
        } else {
            tern::listen::tls::load_for_serving(files)
        };
        match loaded {
            Ok(loaded) => {
                let left = loaded.not_after - tern::listen::tls::unix_now();
                if left
                    < i64::try_from(tern::listen::tls::EXPIRY_WARNING.as_secs()).unwrap_or(i64::MAX)
                {
                    notes.push(format!(
                        "listener {}: the certificate {} expires at {} (in {} days); renew it",
                        listen.name(),
                        files.cert.display(),
                        tern::listen::tls::rfc3339(loaded.not_after),
                        left / 86_400
                    ));
                }
            }
            Err(e) => {
                eprintln!(
                    "tern: config error: {}: listener {}: {e}",
                    config.source,
                    listen.name()
                );
                failed = true;
            }
        }
    }
    if failed {
        Err(ExitCode::from(2))
    } else {
        Ok(notes)
    }
}

/// A tokio runtime, or the exit code of a runtime failure.
pub(crate) fn runtime(multi_thread: bool) -> Result<tokio::runtime::Runtime, ExitCode> {
    let mut builder = if multi_thread {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    builder.enable_all().build().map_err(|e| {
        eprintln!("tern: cannot start: {e}");
        ExitCode::from(1)
    })
}

/// Prints a JSON document (a DCR) for `az` and for Tern's `[dcr] paths`.
pub(crate) fn print_json(value: &serde_json::Value) -> ExitCode {
    match serde_json::to_string_pretty(value) {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tern: {e}");
            ExitCode::from(1)
        }
    }
}

//! Data Collection Rules, as exported from Azure, drive what Tern keeps and where it goes.
//!
//! The rules themselves (reading DCR text, routing, binding, scaffold, migrate) are
//! `tern_core::dcr`'s, re-exported here under their paths; the daemon's part is reading the
//! files ([`load`]) and compiling a set ([`compile`]); `crate::reload` swaps it in live.

pub mod load;

pub use tern_core::dcr::{Compiled, DcrError, binding, migrate, routing, scaffold};

/// `[dcr]`: where the DCR exports are and how to apply them.
#[derive(Debug, Clone)]
pub struct DcrConfig {
    pub paths: Vec<std::path::PathBuf>,
    /// Where each of `paths` is set (`tern.toml:40: dcr.paths[0]`), for errors that concern
    /// the path itself; empty when not from a file.
    pub origins: Vec<String>,
    pub watch: bool,
    pub duplicate_cef_to_syslog: bool,
    /// Sets of collection DCR names that listeners (`[[listen]] dcrs`) and sender networks
    /// (`sender_dcrs`) are bound to: each gets its own routing (tenants kept apart).
    pub scopes: Vec<Vec<String>>,
    /// `[[dcr.azure]]`: DCRs fetched from Azure Resource Manager.
    pub azure: Vec<ArmEntry>,
    /// How often Azure is asked for changed DCRs.
    pub poll_interval: std::time::Duration,
    /// Where the DCRs from Azure are kept (loaded like a `paths` folder); `None` without
    /// `[[dcr.azure]]` entries.
    pub cache_dir: Option<std::path::PathBuf>,
}

/// One `[[dcr.azure]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArmEntry {
    pub source: tern_core::dcr::arm::ArmSource,
    /// A named credential; `None`: `[azure.auth]`.
    pub auth: Option<String>,
}

impl Default for DcrConfig {
    fn default() -> DcrConfig {
        DcrConfig {
            paths: Vec::new(),
            origins: Vec::new(),
            watch: false,
            duplicate_cef_to_syslog: false,
            scopes: Vec::new(),
            azure: Vec::new(),
            poll_interval: std::time::Duration::from_secs(300),
            cache_dir: None,
        }
    }
}

impl DcrConfig {
    /// The folders and files DCRs are loaded from: `paths`, and the cache of DCRs from Azure
    /// once it exists.
    pub fn load_paths(&self) -> Vec<std::path::PathBuf> {
        let mut paths = self.paths.clone();
        if let Some(cache) = self.cache_dir.as_ref().filter(|c| c.is_dir()) {
            paths.push(cache.clone());
        }
        paths
    }
}

/// A problem with a `[dcr] paths` entry itself (a folder that cannot be read) named by the
/// setting that gives it, `tern.toml:40: dcr.paths[0]` (the message carries the fix for the
/// usual causes, from the error's kind).
fn name_the_setting(error: DcrError, config: &DcrConfig) -> DcrError {
    let Some(origin) = config
        .paths
        .iter()
        .position(|p| p.display().to_string() == error.file)
        .and_then(|i| config.origins.get(i))
    else {
        return error;
    };
    if error.path != "(file)" {
        return error;
    }
    let (file, key) = origin
        .rsplit_once(": ")
        .unwrap_or((origin.as_str(), "dcr.paths"));
    DcrError {
        file: file.to_owned(),
        path: key.to_owned(),
        message: format!("{}: {}", error.file, error.message),
    }
}

/// Loads the DCRs of `[dcr] paths`, compiles the routing and binds it to the ingestion targets
/// (DCRs and inline `[[destination]]`s). Every problem found is returned.
pub fn compile(
    config: &DcrConfig,
    destinations: &[tern_core::dcr::binding::Destination],
) -> Result<Compiled, Vec<DcrError>> {
    let dcrs = load::load_paths(&config.load_paths()).map_err(|errors| {
        errors
            .into_iter()
            .map(|e| name_the_setting(e, config))
            .collect::<Vec<_>>()
    })?;
    let routing = routing::Routing::compile(&dcrs, config.duplicate_cef_to_syslog)?;
    let (mut targets, errors, notes) = binding::targets_from(&dcrs);
    if !errors.is_empty() {
        return Err(errors);
    }
    targets.extend(binding::targets_from_config(destinations));
    let mut bindings = binding::bind(&routing, targets)?;
    bindings.notes.extend(notes);
    let files = binding::bind_files(&dcrs, &bindings.targets)?;
    let scopes = scoped_routing(&dcrs, config, &bindings.targets)?;
    Ok(Compiled {
        routing,
        bindings,
        files,
        scopes,
    })
}

/// The routing of each bound set of collection DCRs: only their selections, to the same
/// targets. A name no collection DCR has is an error (a listener that would keep nothing, or
/// everything, by a typo).
fn scoped_routing(
    dcrs: &[tern_core::dcr::load::Dcr],
    config: &DcrConfig,
    targets: &[binding::Target],
) -> Result<Vec<tern_core::dcr::Scope>, Vec<DcrError>> {
    let mut scopes = Vec::new();
    let mut errors = Vec::new();
    let name_of = |d: &tern_core::dcr::load::Dcr| d.display_name();
    for names in &config.scopes {
        for name in names {
            if !dcrs
                .iter()
                .any(|d| d.is_collection() && name_of(d) == *name)
            {
                let known: Vec<String> = dcrs
                    .iter()
                    .filter(|d| d.is_collection())
                    .map(name_of)
                    .collect();
                errors.push(DcrError {
                    file: "(the configuration)".to_owned(),
                    path: "listen dcrs / sender_dcrs".to_owned(),
                    message: format!(
                        "no collection DCR is named `{name}` (loaded: {})",
                        if known.is_empty() {
                            "none".to_owned()
                        } else {
                            known.join(", ")
                        }
                    ),
                });
            }
        }
        let chosen: Vec<tern_core::dcr::load::Dcr> = dcrs
            .iter()
            .filter(|d| !d.is_collection() || names.contains(&name_of(d)))
            .cloned()
            .collect();
        match routing::Routing::compile(&chosen, config.duplicate_cef_to_syslog)
            .and_then(|routing| Ok((binding::bind(&routing, targets.to_vec())?, routing)))
        {
            Ok((bindings, routing)) => scopes.push(tern_core::dcr::Scope {
                dcrs: names.clone(),
                routing,
                by_route: bindings.by_route,
            }),
            Err(e) => errors.extend(e),
        }
    }
    if errors.is_empty() {
        Ok(scopes)
    } else {
        Err(errors)
    }
}

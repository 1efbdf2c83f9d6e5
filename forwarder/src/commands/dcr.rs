//! `tern dcr scaffold`: the ingestion DCR matching Tern's columns (and the columns
//! collection transformations add).

use std::path::PathBuf;
use std::process::ExitCode;

use super::load::{load_routing, print_json};

pub(crate) fn scaffold(workspace: &str, location: &str, name: &str, dcr: &[PathBuf]) -> ExitCode {
    let extra = if dcr.is_empty() {
        Vec::new()
    } else {
        match load_routing(dcr) {
            Ok((routing, _)) => tern::dcr::scaffold::transform_columns(&routing),
            Err(code) => return code,
        }
    };
    eprintln!(
        "tern: the heartbeat stream needs the table {} in the workspace; create it once with:\n  {}",
        tern_core::heartbeat::TABLE,
        tern::dcr::scaffold::heartbeat_table_command(workspace)
    );
    print_json(&tern::dcr::scaffold::template_with(
        workspace, location, name, &extra,
    ))
}

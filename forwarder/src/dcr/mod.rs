//! Data Collection Rules, as exported from Azure, drive what Tern keeps and where it goes.
//!
//! Owns: reading DCR JSON in every shape Azure produces ([`load`]) and compiling collection
//! rules into an O(1) routing table ([`routing`]). Never reads sockets or writes rows; the
//! pipeline asks the compiled [`routing::Routing`] per event.

pub mod load;
pub mod reload;
pub mod routing;
pub mod scaffold;

/// A problem in a DCR file, named by file and JSON path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {path}: {message}")]
pub struct DcrError {
    pub file: String,
    /// JSON path such as `properties.dataSources.syslog[0].facilityNames[2]`, or `(file)`.
    pub path: String,
    pub message: String,
}

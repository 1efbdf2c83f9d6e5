//! Data Collection Rules, as exported from Azure, read from their text and compiled: what
//! Tern keeps and where it goes (the daemon reads the files and swaps the result in).
//!
//! - [`load`]: DCR JSON in every shape Azure produces, checked strictly;
//! - [`routing`]: collection rules compiled into an O(1) table per (facility, severity, kind);
//! - [`binding`]: routes bound to the ingestion targets (DCR streams and `[[destination]]`s);
//! - [`scaffold`], [`migrate`]: the DCRs Tern writes (the ingestion DCR for its columns, the
//!   collection DCR equivalent to a legacy agent's selectors);
//! - [`endpoint`]: which ingestion and identity URLs a token may be sent to.

pub mod arm;
pub mod binding;
pub mod endpoint;
pub mod load;
pub mod migrate;
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

/// The DCR set compiled for the pipeline: what to keep and route, and where each route is
/// posted. Swapped whole on reload.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub routing: routing::Routing,
    pub bindings: binding::Bindings,
    /// Log files to collect (`logFiles` sources) and their targets.
    pub files: Vec<binding::FileBinding>,
    /// Per bound set of collection DCRs (`[[listen]] dcrs`), in the configuration's order.
    pub scopes: Vec<Scope>,
}

/// The routing of a listener or sender network bound to some collection DCRs only: what
/// keeps each tenant's devices to their own DCRs (issue 25).
#[derive(Debug, Clone)]
pub struct Scope {
    /// The DCR names, sorted.
    pub dcrs: Vec<String>,
    pub routing: routing::Routing,
    /// Route id (of `routing`) → target ids (of the compiled bindings' targets).
    pub by_route: Vec<Vec<usize>>,
}

impl Compiled {
    /// The routing and route → targets map for an event of `scope` (`None`: every DCR).
    pub fn routing_for(&self, scope: Option<usize>) -> (&routing::Routing, &[Vec<usize>]) {
        match scope.and_then(|i| self.scopes.get(i)) {
            Some(s) => (&s.routing, &s.by_route),
            None => (&self.routing, &self.bindings.by_route),
        }
    }

    /// Everything kept, nothing bound: no DCR and no destination.
    pub fn keep_all() -> Compiled {
        Compiled {
            routing: routing::Routing::keep_all(),
            bindings: binding::Bindings::default(),
            files: Vec::new(),
            scopes: Vec::new(),
        }
    }
}

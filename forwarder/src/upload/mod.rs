//! Uploading rows to Log Analytics through the Azure Monitor Logs Ingestion API
//! (`reference/azure.md` §1).
//!
//! One concept per module: [`batch`] cuts rows into request bodies within the API's limits
//! (a closed batch is an immutable unit, bytes + metadata, that a durable spool can store
//! unchanged); [`auth`] gets Entra ID tokens; [`http`] is the client (TLS, proxy, trust
//! roots); [`sender`] posts a batch and applies the response rules; [`stage`] runs an
//! uploader per target in the daemon.

pub mod auth;
pub mod batch;
pub use tern_core::delivery;
pub mod diagnosis;
pub use tern_core::dcr::endpoint;
pub mod http;
pub mod sender;
pub mod stage;

pub use http::{HttpOptions, ProxyConfig, http_client, http_client_with};

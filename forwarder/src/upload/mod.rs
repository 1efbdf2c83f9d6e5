//! Uploading rows to Log Analytics through the Azure Monitor Logs Ingestion API
//! (`reference/azure.md` §1).
//!
//! Owns: cutting rows into request bodies that respect the API's limits ([`batch`]). The HTTP
//! client, credentials and retries build on these closed batches; a closed batch is an
//! immutable unit (bytes + metadata) so a durable spool can store it unchanged.

pub mod batch;

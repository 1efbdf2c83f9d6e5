//! Generic scanners for the syntaxes vendor formats share: `key=value` lists, flat JSON
//! objects, XML leaves, and delimited (CSV/TSV) records. Each yields `(key, value)` pairs
//! borrowed from the input and never drops a byte it cannot read: that text comes out with an
//! empty key.

pub mod delimited;
pub mod json;
pub mod kv;
pub mod xml;

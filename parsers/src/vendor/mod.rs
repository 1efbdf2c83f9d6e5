//! Vendor formats recognised behind [`crate::parse`]. One module per vendor; each reads the
//! message body only (the syslog header is already parsed) and borrows from it.

pub mod cisco_asa;

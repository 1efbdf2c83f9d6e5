//! Vendor formats into CommonSecurityLog: per vendor, the `DeviceVendor`/`DeviceProduct` that
//! Sentinel's own content expects and which vendor field fills which column. `docs/vendors.md`
//! is the same tables for people. Fields not listed here go to `AdditionalExtensions`.

mod checkpoint;
mod ciphertrust;
mod fortinet;
mod juniper;
mod mcafee;
mod meraki;
mod nxlog;
mod paloalto;
mod sophos;
mod zeek;

use std::collections::HashMap;
use std::sync::LazyLock;

use std::borrow::Cow;

use tern_parsers::{Vendor, VendorMessage};

use super::common_security_log::column_index;

/// How one vendor's fields land in CommonSecurityLog.
#[derive(Debug)]
pub struct Mapping {
    pub device_vendor: &'static str,
    pub device_product: &'static str,
    /// The columns the parser's log type fills (the PAN-OS type, the Zeek path…).
    pub log_type_columns: &'static [&'static str],
    /// Vendor field → column, and the label written beside a custom column (`""` for none).
    /// A column named twice takes the later field of the message.
    pub fields: &'static [(&'static str, &'static str, &'static str)],
    /// Columns computed from several fields (FortiOS' `Activity`, a reversed severity…).
    pub derive: Option<Derive>,
    /// Fields that `derive` turns whole into columns, with the sets of columns that stand for
    /// them: a field is left out of `AdditionalExtensions` when, for one of its sets, every
    /// column holds a derived value (not one a field of its own filled), so that nothing is
    /// written twice and nothing is lost.
    pub replaced: &'static [(&'static str, &'static [&'static [&'static str]])],
}

/// Computes column values from a whole message: called with a setter for (column, value).
pub type Derive = for<'a> fn(&VendorMessage<'a>, &mut dyn FnMut(&'static str, Cow<'a, str>));

/// The first value of `key` among a message's fields.
pub(crate) fn field<'a>(message: &VendorMessage<'a>, key: &str) -> Option<Cow<'a, str>> {
    message.fields().find(|(k, _)| k == key).map(|(_, v)| v)
}

pub fn mapping(vendor: Vendor) -> &'static Mapping {
    match vendor {
        Vendor::CheckPoint => &checkpoint::MAPPING,
        Vendor::CipherTrust => &ciphertrust::MAPPING,
        Vendor::Fortinet => &fortinet::MAPPING,
        Vendor::Juniper => &juniper::MAPPING,
        Vendor::McAfee => &mcafee::MAPPING,
        Vendor::Meraki => &meraki::MAPPING,
        Vendor::NxLog => &nxlog::MAPPING,
        Vendor::PaloAlto => &paloalto::MAPPING,
        Vendor::Sophos => &sophos::MAPPING,
        Vendor::Zeek => &zeek::MAPPING,
    }
}

/// Field → column index, per vendor, built once: the lookup runs for every field.
/// The label column beside a custom column; `FieldDeviceCustomNumberN` kept the labels of the
/// deprecated `DeviceCustomNumberN` (`reference/azure.md` §4.2).
fn label_column(column: &str) -> String {
    let base = column.strip_prefix("Field").unwrap_or(column);
    format!("{base}Label")
}

/// A field's column index and its label column's index and text.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub column: usize,
    pub label: Option<(usize, &'static str)>,
    /// A NAT column: `0` there means "not translated", not port or address zero.
    pub translated: bool,
}

static INDEX: LazyLock<Vec<HashMap<&'static str, Target>>> = LazyLock::new(|| {
    Vendor::ALL
        .iter()
        .map(|&vendor| {
            mapping(vendor)
                .fields
                .iter()
                .filter_map(|(field, column, label)| {
                    let label = (!label.is_empty())
                        .then(|| column_index(&label_column(column)).map(|i| (i, *label)))
                        .flatten();
                    Some((
                        *field,
                        Target {
                            column: column_index(column)?,
                            label,
                            translated: column.contains("Translated"),
                        },
                    ))
                })
                .collect()
        })
        .collect()
});

impl Mapping {
    /// Where `field` lands (indices in the CommonSecurityLog column list).
    pub fn target(&self, vendor: Vendor, field: &str) -> Option<Target> {
        let slot = Vendor::ALL.iter().position(|v| *v == vendor)?;
        INDEX.get(slot)?.get(field).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mapped_column_exists() {
        for vendor in Vendor::ALL {
            let m = mapping(vendor);
            for (field, column, label) in m.fields {
                assert!(
                    column_index(column).is_some(),
                    "{vendor:?}: {field} → unknown column {column}"
                );
                assert!(
                    label.is_empty() || column_index(&label_column(column)).is_some(),
                    "{vendor:?}: {field} → {column} has no label column"
                );
            }
            for column in m.log_type_columns {
                assert!(column_index(column).is_some(), "{vendor:?}: {column}");
            }
            assert!(!m.device_vendor.is_empty() && !m.device_product.is_empty());
        }
    }

    #[test]
    fn vendor_docs_match_the_mappings() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/vendors.md");
        let docs = std::fs::read_to_string(&path).unwrap_or_default();
        for vendor in Vendor::ALL {
            let m = mapping(vendor);
            let header = format!(
                "`DeviceVendor` = `{}`, `DeviceProduct` = `{}`",
                m.device_vendor, m.device_product
            );
            assert!(docs.contains(&header), "{vendor:?}: {header}");
            for (field, column, label) in m.fields {
                let field = if field.is_empty() {
                    "(text outside any pair)".to_owned()
                } else {
                    format!("`{field}`")
                };
                let row = format!("| {field} | `{column}` | {label} |");
                assert!(docs.contains(&row), "docs/vendors.md lacks {row}");
            }
        }
    }
}

//! Configuration errors: each names the file, the line and the key.

/// A configuration error that names where it is.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct ConfigError {
    pub file: String,
    /// 1-based; 0 when the problem is the file as a whole.
    pub line: usize,
    pub message: String,
}

/// Every problem of a configuration, in file order (never empty).
#[derive(Debug)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    /// The first problem in file order.
    pub fn into_first(self) -> ConfigError {
        self.0.into_iter().next().unwrap_or(ConfigError {
            file: String::new(),
            line: 0,
            message: "invalid configuration".to_owned(),
        })
    }
}

impl std::fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// The dotted path (`listen[0].max_connections`) of the innermost key of `value` whose key or
/// value holds `offset`, below `path`.
pub(super) fn key_path(
    value: &toml::Spanned<toml::de::DeValue<'_>>,
    offset: usize,
    path: &str,
) -> String {
    use toml::de::DeValue;
    let inside = |span: std::ops::Range<usize>| span.contains(&offset);
    match value.get_ref() {
        DeValue::Table(table) => {
            for (key, item) in table {
                if inside(key.span()) || inside(item.span()) {
                    let name: &str = key.get_ref();
                    return key_path(item, offset, &format!("{path}.{name}"));
                }
            }
            path.to_owned()
        }
        DeValue::Array(items) => items
            .iter()
            .enumerate()
            .find(|(_, item)| inside(item.span()))
            .map_or_else(
                || path.to_owned(),
                |(i, item)| key_path(item, offset, &format!("{path}[{i}]")),
            ),
        _ => path.to_owned(),
    }
}

/// A deserializer's message in the terms of the file: TOML types, not Rust's.
pub(super) fn plain_message(message: &str) -> String {
    let mut text = message.trim_end().to_owned();
    for (rust, plain) in [
        ("expected usize", "expected a whole number"),
        ("expected u64", "expected a whole number"),
        ("expected u32", "expected a whole number"),
        ("expected u16", "expected a whole number"),
        ("expected u8", "expected a whole number"),
        ("expected i64", "expected a whole number"),
        ("expected i32", "expected a whole number"),
        ("expected f64", "expected a number"),
        ("expected a sequence", "expected a list"),
        ("expected a map", "expected a table"),
        ("unknown field", "unknown key"),
        ("missing field", "missing key"),
        ("invalid type: map", "invalid type: table"),
        ("invalid type: sequence", "invalid type: list"),
    ] {
        text = text.replace(rust, plain);
    }
    text
}

/// The 1-based line of a byte offset.
pub(super) fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()
        .iter()
        .take(offset)
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

//! `[spool]`: where and how batches wait for the service.

use super::*;

/// `[spool]`; errors carry the key's span.
pub(super) fn spool_config(
    raw: &RawSpool,
) -> Result<crate::spool::SpoolConfig, (std::ops::Range<usize>, String)> {
    use crate::spool::{FsyncPolicy, SpoolConfig, WhenFull};
    let max_bytes = match &raw.max_bytes {
        None => 10 << 30,
        Some(value) => match value.get_ref() {
            toml::Value::Integer(n) => u64::try_from(*n).ok(),
            toml::Value::String(text) => parse_bytes(text).map(|n| n as u64),
            _ => None,
        }
        .filter(|&n| n >= 1 << 20)
        .ok_or_else(|| {
            (
                value.span(),
                "spool.max_bytes: not a size of at least 1MiB (e.g. \"10GiB\")".to_owned(),
            )
        })?,
    };
    let when_full = match raw
        .when_full
        .as_ref()
        .map(|w| (w.get_ref().as_str(), w.span()))
    {
        None | Some(("block", _)) => WhenFull::Block,
        Some(("drop-oldest", _)) => WhenFull::DropOldest,
        Some((other, span)) => {
            return Err((
                span,
                format!("spool.when_full: `{other}`: use block or drop-oldest"),
            ));
        }
    };
    // 10 ms to a minute: the spool's durability window (docs/hardening.md).
    let interval =
        std::time::Duration::from_millis(raw.fsync_interval_ms.unwrap_or(1000).clamp(10, 60_000));
    let fsync = match raw.fsync.as_ref().map(|f| (f.get_ref().as_str(), f.span())) {
        None | Some(("interval", _)) => FsyncPolicy::Interval(interval),
        Some(("always", _)) => FsyncPolicy::Always,
        Some(("never", _)) => FsyncPolicy::Never,
        Some((other, span)) => {
            return Err((
                span,
                format!("spool.fsync: `{other}`: use always, interval or never"),
            ));
        }
    };
    Ok(SpoolConfig {
        dir: PathBuf::from(raw.dir.as_deref().unwrap_or("/var/lib/tern/spool")),
        max_bytes,
        when_full,
        fsync,
    })
}

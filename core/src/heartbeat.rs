//! Heartbeat rows (issue 25): the Logs Ingestion API cannot write Sentinel's `Heartbeat`
//! table, so a forwarder's beat goes to the custom table `TernHeartbeat_CL`, which reuses the
//! Heartbeat table's column names where they apply (so "computers not reporting" queries need
//! only the table name changed) and adds Tern's health since the last beat.
//!
//! Sans-IO: [`Heartbeat::beat`] takes the cumulative counter readings, the forwarder's
//! identity and the time, and writes the row; the daemon ticks and posts it.

use tern_parsers::Timestamp;

use crate::tables::json::JsonObject;

/// The table destinations declare a stream for (`streams = { TernHeartbeat_CL = "…" }`).
pub const TABLE: &str = "TernHeartbeat_CL";

/// The row's columns and their Log Analytics types (what `tern dcr scaffold` declares).
pub const COLUMNS: [(&str, &str); 16] = [
    ("TimeGenerated", "datetime"),
    ("Computer", "string"),
    ("ComputerIP", "string"),
    ("Category", "string"),
    ("Version", "string"),
    ("OSType", "string"),
    ("OSName", "string"),
    ("IntervalSeconds", "long"),
    ("EventsReceived", "long"),
    ("RowsUploaded", "long"),
    ("EventsDropped", "long"),
    ("DroppedByReason", "dynamic"),
    ("UploadErrors", "long"),
    ("UploadLatencyMs", "real"),
    ("SpoolBytes", "long"),
    ("OldestUnsentSeconds", "long"),
];

/// Who is beating.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The collector host name (`CollectorHostName` of its rows).
    pub computer: String,
    /// The address it reaches Azure from, when known.
    pub computer_ip: Option<String>,
    pub version: String,
    /// `Linux`.
    pub os_type: String,
    /// `/etc/os-release`'s `PRETTY_NAME`, when there is one.
    pub os_name: Option<String>,
}

/// Cumulative readings of the forwarder's counters (and two gauges) at a beat.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Readings {
    pub received: u64,
    pub uploaded: u64,
    /// Every event not delivered, whatever the reason (the loss report's counters).
    pub dropped: u64,
    /// The same by reason (`dropped{oversized}`, `udp_kernel_drops`, …), sorted.
    pub dropped_by_reason: Vec<(String, u64)>,
    /// Upload requests answered, and the seconds they took in all (the request-duration
    /// histogram's count and sum).
    pub requests: u64,
    pub request_seconds: f64,
    /// Upload requests that failed (any answer but success, or none).
    pub upload_errors: u64,
    /// Gauges: as they stand.
    pub spool_bytes: u64,
    pub oldest_unsent_seconds: u64,
}

impl Readings {
    /// From a Prometheus exposition of Tern's metrics.
    pub fn from_exposition(text: &str) -> Readings {
        // Counters are whole numbers; a gauge in seconds is rounded down.
        let sum = |name: &str, filter: &str| -> u64 {
            let total = crate::exposition::sum_in(text, name, filter);
            if total.is_finite() && total > 0.0 {
                total as u64
            } else {
                0
            }
        };
        let dropped_by_reason = crate::loss_report::totals(text);
        let dropped = dropped_by_reason.iter().map(|(_, n)| n).sum();
        let seconds =
            crate::exposition::sum_in(text, "tern_upload_request_duration_seconds_sum", "");
        // Requests answered with 200 or 204 succeeded; every other status (and `error`,
        // `token_error`) is a failure.
        let requests = "tern_upload_requests_total";
        let failed = sum(requests, "")
            .saturating_sub(sum(requests, "status=\"204\""))
            .saturating_sub(sum(requests, "status=\"200\""));
        let oldest = text
            .lines()
            .filter(|l| l.starts_with("tern_spool_oldest_seconds"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .fold(0.0f64, f64::max);
        Readings {
            received: sum("tern_received_total", ""),
            uploaded: sum("tern_upload_rows_total", ""),
            dropped,
            dropped_by_reason,
            requests: sum("tern_upload_request_duration_seconds_count", ""),
            request_seconds: if seconds.is_finite() {
                seconds.max(0.0)
            } else {
                0.0
            },
            upload_errors: failed,
            spool_bytes: sum("tern_spool_bytes", ""),
            oldest_unsent_seconds: if oldest.is_finite() && oldest > 0.0 {
                oldest as u64
            } else {
                0
            },
        }
    }
}

/// The beats so far: each row counts what happened since the one before.
#[derive(Debug, Default)]
pub struct Heartbeat {
    last: Option<(Readings, Timestamp)>,
}

impl Heartbeat {
    pub fn new() -> Heartbeat {
        Heartbeat::default()
    }

    /// Writes the row for a beat at `at` (UTC) with `readings`, and remembers them: the
    /// counts are the growth since the previous beat (since start for the first one; a
    /// counter that went down, as after a restart of its owner, counts from zero).
    pub fn beat(
        &mut self,
        readings: Readings,
        identity: &Identity,
        at: Timestamp,
        out: &mut Vec<u8>,
    ) {
        let (before, since) = match self.last.take() {
            Some((before, since)) => (before, Some(since)),
            None => (Readings::default(), None),
        };
        let grew = |now: u64, then: u64| {
            i64::try_from(if now >= then { now - then } else { now }).unwrap_or(i64::MAX)
        };
        let interval = since.map_or(0, |since| {
            (at.unix_seconds(0) - since.unix_seconds(0)).max(0)
        });
        let mut row = JsonObject::begin(out);
        row.datetime("TimeGenerated", &at, 0);
        row.string("Computer", &identity.computer);
        if let Some(ip) = &identity.computer_ip {
            row.string("ComputerIP", ip);
        }
        row.string("Category", "Tern");
        row.string("Version", &identity.version);
        row.string("OSType", &identity.os_type);
        if let Some(name) = &identity.os_name {
            row.string("OSName", name);
        }
        row.int("IntervalSeconds", interval);
        row.int("EventsReceived", grew(readings.received, before.received));
        row.int("RowsUploaded", grew(readings.uploaded, before.uploaded));
        row.int("EventsDropped", grew(readings.dropped, before.dropped));
        // Only the reasons that grew, as a bag: `{"dropped{oversized}": 3}`.
        let mut reasons = serde_json::Map::new();
        for (reason, total) in &readings.dropped_by_reason {
            let then = before
                .dropped_by_reason
                .iter()
                .find(|(r, _)| r == reason)
                .map_or(0, |(_, n)| *n);
            let delta = grew(*total, then);
            if delta > 0 {
                reasons.insert(reason.clone(), serde_json::Value::from(delta));
            }
        }
        if let Some(raw) = row.raw("DroppedByReason") {
            raw.extend_from_slice(serde_json::Value::Object(reasons).to_string().as_bytes());
        }
        row.int(
            "UploadErrors",
            grew(readings.upload_errors, before.upload_errors),
        );
        // The mean time of the requests answered since the last beat.
        let requests = readings.requests.saturating_sub(before.requests);
        let seconds = readings.request_seconds - before.request_seconds;
        if requests > 0 && seconds >= 0.0 {
            row.real("UploadLatencyMs", seconds * 1000.0 / requests as f64);
        }
        row.int(
            "SpoolBytes",
            i64::try_from(readings.spool_bytes).unwrap_or(i64::MAX),
        );
        row.int(
            "OldestUnsentSeconds",
            i64::try_from(readings.oldest_unsent_seconds).unwrap_or(i64::MAX),
        );
        row.end();
        self.last = Some((readings, at));
    }
}

/// `PRETTY_NAME` of an `/etc/os-release` text.
pub fn os_pretty_name(os_release: &str) -> Option<String> {
    os_release.lines().find_map(|line| {
        let value = line.strip_prefix("PRETTY_NAME=")?;
        Some(value.trim().trim_matches('"').to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> Identity {
        Identity {
            computer: "fwd1".to_owned(),
            computer_ip: Some("10.0.0.4".to_owned()),
            version: "0.1.0".to_owned(),
            os_type: "Linux".to_owned(),
            os_name: os_pretty_name(
                "NAME=Debian\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n",
            ),
        }
    }

    const EXPOSITION: &str = "\
tern_received_total{listener=\"udp 0.0.0.0:514\"} 100
tern_received_total{listener=\"tcp 0.0.0.0:514\"} 50
tern_upload_rows_total 140
tern_dropped_total{listener=\"udp 0.0.0.0:514\",reason=\"oversized\"} 3
tern_udp_kernel_drops_total{listener=\"udp 0.0.0.0:514\"} 2
tern_upload_requests_total{status=\"204\"} 10
tern_upload_requests_total{status=\"503\"} 4
tern_upload_requests_total{status=\"error\"} 1
tern_upload_request_duration_seconds_sum 1.5
tern_upload_request_duration_seconds_count 15
tern_spool_bytes{target=\"a\"} 2048
tern_spool_oldest_seconds{target=\"a\"} 12.5
";

    #[test]
    fn readings_come_from_the_exposition() {
        assert_eq!(
            Readings::from_exposition(EXPOSITION),
            Readings {
                received: 150,
                uploaded: 140,
                dropped: 5,
                dropped_by_reason: vec![
                    ("dropped{oversized}".to_owned(), 3),
                    ("udp_kernel_drops".to_owned(), 2),
                ],
                requests: 15,
                request_seconds: 1.5,
                upload_errors: 5,
                spool_bytes: 2048,
                oldest_unsent_seconds: 12,
            }
        );
    }

    #[test]
    fn each_beat_counts_what_happened_since_the_last() {
        let mut heartbeat = Heartbeat::new();
        let start = Timestamp::from_unix(1_796_000_000, 0);
        let mut first = Vec::new();
        heartbeat.beat(
            Readings::from_exposition(EXPOSITION),
            &identity(),
            start,
            &mut first,
        );
        assert_eq!(
            String::from_utf8_lossy(&first),
            concat!(
                r#"{"TimeGenerated":"2026-11-30T00:53:20Z","Computer":"fwd1","ComputerIP":"10.0.0.4","#,
                r#""Category":"Tern","Version":"0.1.0","OSType":"Linux","OSName":"Debian GNU/Linux 12 (bookworm)","#,
                r#""IntervalSeconds":0,"EventsReceived":150,"RowsUploaded":140,"EventsDropped":5,"#,
                r#""DroppedByReason":{"dropped{oversized}":3,"udp_kernel_drops":2},"#,
                r#""UploadErrors":5,"UploadLatencyMs":100.0,"SpoolBytes":2048,"OldestUnsentSeconds":12}"#
            )
        );
        let later = Readings {
            received: 400,
            uploaded: 390,
            dropped: 5,
            dropped_by_reason: vec![
                ("dropped{oversized}".to_owned(), 3),
                ("udp_kernel_drops".to_owned(), 2),
            ],
            requests: 15,
            request_seconds: 1.5,
            upload_errors: 5,
            spool_bytes: 0,
            oldest_unsent_seconds: 0,
        };
        let mut second = Vec::new();
        heartbeat.beat(
            later,
            &identity(),
            Timestamp::from_unix(1_796_000_060, 0),
            &mut second,
        );
        let row: serde_json::Value = serde_json::from_slice(&second).unwrap_or_default();
        assert_eq!(row["IntervalSeconds"], 60);
        assert_eq!(row["EventsReceived"], 250);
        assert_eq!(row["RowsUploaded"], 250);
        assert_eq!(row["EventsDropped"], 0);
        assert_eq!(row["DroppedByReason"], serde_json::json!({}));
        assert!(
            row.get("UploadLatencyMs").is_none(),
            "no request since the last beat"
        );
        assert_eq!(row["UploadErrors"], 0);
        assert_eq!(row["SpoolBytes"], 0);
    }
}

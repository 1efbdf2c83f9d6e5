//! The periodic "what was lost" log line: every counter of events Tern did not deliver, summed
//! by reason, logged once a minute while it grows (issue 26: no drop without a loud signal).
//!
//! Sans-IO: [`LossReport::observe`] takes the metrics exposition and the time and returns the
//! lines to log; the run loop only feeds it and logs. Reading the exposition text (once a
//! minute) keeps every counter's owner free of reporting code.

use std::time::{Duration, Instant};

/// How often growth is reported, at most.
pub const REPORT_EVERY: Duration = Duration::from_secs(60);

/// The counters of events not delivered, and the label that splits them into reasons.
pub const LOSS_COUNTERS: [(&str, Option<&str>, &str); 6] = [
    ("tern_dropped_total", Some("reason"), "dropped"),
    ("tern_udp_kernel_drops_total", None, "udp_kernel_drops"),
    (
        "tern_spool_dropped_rows_total",
        None,
        "spool_dropped_oldest",
    ),
    ("tern_upload_quarantined_rows_total", None, "quarantined"),
    ("tern_output_errors_total", None, "output_errors"),
    // A row a DCR transformation failed on is not sent (decision 111); rows its `where`
    // drops are the user's filter, not a loss.
    ("tern_transform_errors_total", None, "transform_errors"),
];

/// Totals per (counter, reason) as of the last report.
#[derive(Debug, Default)]
pub struct LossReport {
    reported: Vec<(String, u64)>,
    last: Option<Instant>,
}

impl LossReport {
    pub fn new() -> LossReport {
        LossReport::default()
    }

    /// Reads `exposition` at `now`; at most once per [`REPORT_EVERY`], returns one line per
    /// reason whose total grew since the last report: "`reason`: N in the last M s (T in all)".
    pub fn observe(&mut self, now: Instant, exposition: &str) -> Vec<String> {
        if self
            .last
            .is_some_and(|last| now.saturating_duration_since(last) < REPORT_EVERY)
        {
            return Vec::new();
        }
        let since = self.last.map(|last| now.saturating_duration_since(last));
        self.last = Some(now);
        let totals = totals(exposition);
        let mut lines = Vec::new();
        for (key, total) in &totals {
            let before = self
                .reported
                .iter()
                .find(|(k, _)| k == key)
                .map_or(0, |(_, v)| *v);
            if *total > before {
                lines.push(match since {
                    Some(since) => format!(
                        "{key}: {} in the last {} s ({total} since start)",
                        total - before,
                        since.as_secs()
                    ),
                    None => format!("{key}: {total} since start"),
                });
            }
        }
        self.reported = totals;
        lines
    }
}

/// The loss counters of `exposition`, summed over listeners and targets, keyed
/// `family{reason}` or `family`, in a stable order.
pub fn totals(exposition: &str) -> Vec<(String, u64)> {
    let mut totals: Vec<(String, u64)> = Vec::new();
    for line in exposition.lines() {
        for (name, label, short) in LOSS_COUNTERS {
            let Some(rest) = line.strip_prefix(name) else {
                continue;
            };
            if !(rest.starts_with('{') || rest.starts_with(' ')) {
                continue;
            }
            let Some(value) = rest.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()) else {
                continue;
            };
            let key = match label.and_then(|label| label_value(rest, label)) {
                Some(reason) => format!("{short}{{{reason}}}"),
                None => short.to_owned(),
            };
            // Counters are whole numbers; the exposition writes them as such.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let value = value.max(0.0) as u64;
            match totals.iter_mut().find(|(k, _)| *k == key) {
                Some((_, total)) => *total += value,
                None => totals.push((key, value)),
            }
        }
    }
    totals.sort();
    totals
}

/// The value of `label` in the `{…}` label set at the start of `rest`.
fn label_value<'a>(rest: &'a str, label: &str) -> Option<&'a str> {
    let set = rest.strip_prefix('{')?.split('}').next()?;
    set.split(',').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        (name.trim() == label).then(|| value.trim_matches('"'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exposition(no_uploader: u64, oversized: u64, quarantined: u64) -> String {
        format!(
            "# HELP tern_dropped Messages not turned into rows, by reason.\n\
             tern_dropped_total{{listener=\"udp://a\",reason=\"no_uploader\"}} {no_uploader}\n\
             tern_dropped_total{{listener=\"tcp://b\",reason=\"no_uploader\"}} 1\n\
             tern_dropped_total{{listener=\"udp://a\",reason=\"oversized\"}} {oversized}\n\
             tern_dropped_totalx{{reason=\"other\"}} 99\n\
             tern_upload_quarantined_rows_total {quarantined}\n\
             tern_received_total{{listener=\"udp://a\"}} 1000\n"
        )
    }

    #[test]
    fn growth_is_reported_once_a_minute_per_reason_and_silence_when_nothing_grows() {
        let start = Instant::now();
        let mut report = LossReport::new();
        // The first look reports what was lost before it (one row, on the TCP listener).
        assert_eq!(
            report.observe(start, &exposition(0, 0, 0)),
            vec!["dropped{no_uploader}: 1 since start".to_owned()]
        );
        // Growth within the minute waits for the minute.
        assert!(
            report
                .observe(start + Duration::from_secs(30), &exposition(10, 0, 0))
                .is_empty()
        );
        let lines = report.observe(start + Duration::from_secs(60), &exposition(41, 2, 0));
        assert_eq!(
            lines,
            vec![
                "dropped{no_uploader}: 41 in the last 60 s (42 since start)".to_owned(),
                "dropped{oversized}: 2 in the last 60 s (2 since start)".to_owned(),
            ]
        );
        // Only what grew since the last report is named.
        let lines = report.observe(start + Duration::from_secs(125), &exposition(41, 2, 7));
        assert_eq!(
            lines,
            vec!["quarantined: 7 in the last 65 s (7 since start)".to_owned()]
        );
        assert!(
            report
                .observe(start + Duration::from_secs(200), &exposition(41, 2, 7))
                .is_empty()
        );
    }

    #[test]
    fn losses_before_the_first_look_are_reported_as_totals() {
        let mut report = LossReport::new();
        let lines = report.observe(Instant::now(), &exposition(4, 0, 0));
        assert_eq!(
            lines,
            vec!["dropped{no_uploader}: 5 since start".to_owned()]
        );
    }
}

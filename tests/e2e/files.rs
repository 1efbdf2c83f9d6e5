//! Log-file collection from DCR `logFiles` sources (issue 10), end to end against the mock of
//! Azure: appends under load through rename rotation and copytruncate, files appearing after
//! start and deleted while open, kill -9 and restart, a restart after rotation, multi-line
//! records in every timestamp format, and JSON lines with nested values. Counts are exact:
//! every line once (after kill -9: at least once, duplicates reported).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tern_mock_azure::MockAzure;

use crate::support::{free_port, spawn_tern, stop_tern};

const DCR: &str = "dcr-0000000000000000000000000000000f";
const STREAM: &str = "Custom-TernFiles";
const WORKSPACE: &str =
    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/ws";

/// A `logFiles` source.
struct FileSource {
    patterns: Vec<String>,
    format: &'static str,
    record_start: Option<&'static str>,
}

fn text_source(pattern: &Path) -> FileSource {
    FileSource {
        patterns: vec![pattern.display().to_string()],
        format: "text",
        record_start: None,
    }
}

/// A DCR collecting `sources` into `Custom-App_CL`, sent to the test's workspace, through the
/// transformation `kql`.
fn files_dcr(sources: &[FileSource], kql: &str) -> Value {
    let data_sources: Vec<Value> = sources
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut source = json!({
                "name": format!("files{i}"),
                "streams": ["Custom-App_CL"],
                "filePatterns": s.patterns,
                "format": s.format,
            });
            if let Some(start) = s.record_start {
                source["settings"] = json!({"text": {"recordStartTimestampFormat": start}});
            }
            source
        })
        .collect();
    json!({
        "location": "westeurope",
        "kind": "Linux",
        "properties": {
            "streamDeclarations": {"Custom-App_CL": {"columns": [
                {"name": "TimeGenerated", "type": "datetime"},
                {"name": "RawData", "type": "string"},
                {"name": "FilePath", "type": "string"},
                {"name": "Computer", "type": "string"}
            ]}},
            "dataSources": {"logFiles": data_sources},
            "destinations": {"logAnalytics": [{"name": "la", "workspaceResourceId": WORKSPACE}]},
            "dataFlows": [{"streams": ["Custom-App_CL"], "destinations": ["la"],
                           "transformKql": kql, "outputStream": "Custom-App_CL"}]
        }
    })
}

struct Setup {
    mock: MockAzure,
    dir: tempfile::TempDir,
    metrics_port: u16,
    config: PathBuf,
}

impl Setup {
    /// `sources` gets the test's folder, to put the watched folders in.
    async fn new(start_at: &str, sources: impl FnOnce(&Path) -> Vec<FileSource>) -> Setup {
        Setup::transformed(start_at, sources, "source").await
    }

    /// [`Setup::new`] with the dataFlow's transformation `kql`.
    async fn transformed(
        start_at: &str,
        sources: impl FnOnce(&Path) -> Vec<FileSource>,
        kql: &str,
    ) -> Setup {
        let mock = MockAzure::start(&[(DCR, STREAM)]).await.unwrap();
        mock.add_client("app", "right");
        let dir = tempfile::tempdir().unwrap();
        let sources = sources(dir.path());
        for source in &sources {
            for pattern in &source.patterns {
                std::fs::create_dir_all(Path::new(pattern).parent().unwrap()).unwrap();
            }
        }
        let dcr = files_dcr(&sources, kql);
        let dcr_dir = dir.path().join("dcr.d");
        std::fs::create_dir(&dcr_dir).unwrap();
        std::fs::write(dcr_dir.join("files.json"), dcr.to_string()).unwrap();
        let metrics_port = free_port();
        let text = format!(
            "hostname = \"fwd-files\"\n[[listen]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:{udp}\"\n\
             [metrics]\naddress = \"127.0.0.1:{metrics_port}\"\n\
             [dcr]\npaths = [\"{dcr}\"]\nwatch = true\n\n{auth}\n\
             [[destination]]\nname = \"ws\"\nendpoint = \"{url}\"\ndcr_immutable_id = \"{DCR}\"\n\
             streams = {{ App_CL = \"{STREAM}\" }}\n\n\
             [spool]\ndir = \"{spool}\"\nfsync = \"always\"\n\n\
             [files]\nstart_at = \"{start_at}\"\npartial_flush_ms = 400\n",
            udp = free_port(),
            dcr = dcr_dir.display(),
            auth = crate::support::secret_auth(dir.path(), &mock.url()),
            url = mock.url(),
            spool = dir.path().join("state/spool").display(),
        );
        let config = dir.path().join("tern.toml");
        std::fs::write(&config, text).unwrap();
        Setup {
            mock,
            dir,
            metrics_port,
            config,
        }
    }

    fn start(&self) -> crate::support::Tern {
        let child = spawn_tern(&self.config);
        let deadline = Instant::now() + Duration::from_secs(20);
        while crate::support::http_get(self.metrics_port, "/readyz").is_none_or(|(s, _)| s != 200) {
            assert!(Instant::now() < deadline, "tern did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        child
    }

    fn rows(&self) -> Vec<Value> {
        self.mock.rows(DCR, STREAM)
    }

    /// How often each `marker seq=N` arrived.
    fn arrivals(&self, marker: &str) -> HashMap<usize, usize> {
        let mut counts = HashMap::new();
        for row in self.rows() {
            let raw = row["RawData"].as_str().unwrap_or_default();
            if let Some(rest) = raw.strip_prefix(&format!("{marker} seq=")) {
                let n = rest.split(' ').next().unwrap().parse::<usize>().unwrap();
                *counts.entry(n).or_insert(0) += 1;
            }
        }
        counts
    }

    /// Waits (up to 60 s) until `want` distinct lines arrived; the arrivals, for the caller to
    /// check. Late duplicates show in the counts taken after Tern stops (each test's end).
    async fn wait_for(&self, marker: &str, want: usize) -> HashMap<usize, usize> {
        crate::support::poll_async(Duration::from_secs(60), || {
            self.arrivals(marker).len() >= want
        })
        .await;
        self.arrivals(marker)
    }

    fn metric(&self, name: &str) -> u64 {
        self.metric_where(name, "")
    }

    /// The sum of `name`'s series whose labels contain `filter`.
    fn metric_where(&self, name: &str, filter: &str) -> u64 {
        let (_, body) = crate::support::http_get(self.metrics_port, "/metrics").unwrap_or_default();
        crate::support::metric_sum(&body, name, filter)
    }

    async fn wait_for_reloads(&self, ok: u64) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.metric_where("tern_dcr_reloads_total", "result=\"ok\"") < ok {
            assert!(Instant::now() < deadline, "no DCR reload #{ok}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(
            self.metric_where("tern_dcr_reloads_total", "result=\"failed\""),
            0
        );
    }
}

fn append(path: &Path, text: &str) {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

fn exactly_once(arrivals: &HashMap<usize, usize>, n: usize, what: &str) {
    let missing: Vec<usize> = (0..n).filter(|s| !arrivals.contains_key(s)).collect();
    let mut duplicated: Vec<usize> = arrivals
        .iter()
        .filter(|(_, c)| **c > 1)
        .map(|(s, _)| *s)
        .collect();
    duplicated.sort_unstable();
    assert!(
        missing.is_empty() && duplicated.is_empty(),
        "{what}: {} of {n} arrived; missing {} (first {:?}); duplicated {} ({:?} … {:?})",
        arrivals.len(),
        missing.len(),
        missing.iter().take(10).collect::<Vec<_>>(),
        duplicated.len(),
        duplicated.first(),
        duplicated.last()
    );
}

/// A writer appending `seq=N` lines to `app.log` under load, rotating it by rename (logrotate
/// `create`) and then by copytruncate while it writes; a file appearing after start; another
/// deleted while open. Every line once.
pub(crate) async fn appends_rotations_new_and_deleted_files_deliver_every_line_once() {
    // Rotated copies (app.log.1, app.log.2) match too, so copytruncate's copy is read from
    // where the original was: nothing written just before the truncation is lost.
    let setup = Setup::new("end", |dir| {
        vec![
            text_source(&dir.join("logs/app.log*")),
            text_source(&dir.join("other/*.log")),
        ]
    })
    .await;
    let logs = setup.dir.path().join("logs");
    let other = setup.dir.path().join("other");
    // A line present before Tern starts is not sent (start_at = "end"): only what is appended.
    let app = logs.join("app.log");
    append(&app, "old line before start\n");
    let tern = setup.start();
    // Start writing once Tern has looked at the folders (start_at = "end" is "the end when
    // first seen").
    let deadline = Instant::now() + Duration::from_secs(20);
    while setup.metric("tern_file_watched") < 1 {
        assert!(Instant::now() < deadline, "app.log never watched");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    const N: usize = 12_000;
    let writer_app = app.clone();
    let logs_dir = logs.clone();
    let writer = std::thread::spawn(move || {
        for seq in 0..N {
            append(
                &writer_app,
                &format!("app seq={seq} {}\n", "x".repeat(seq % 200)),
            );
            if seq == 4_000 {
                // logrotate `create`: rename, then a new file.
                std::fs::rename(&writer_app, logs_dir.join("app.log.1")).unwrap();
            }
            if seq == 8_000 {
                // logrotate `copytruncate`: copy, then truncate in place.
                std::fs::copy(&writer_app, logs_dir.join("app.log.2")).unwrap();
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&writer_app)
                    .unwrap()
                    .set_len(0)
                    .unwrap();
            }
            if seq % 500 == 0 {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    });
    // A file that appears after start, and one deleted while Tern has it open.
    let later = other.join("later.log");
    for seq in 0..500 {
        append(&later, &format!("later seq={seq}\n"));
    }
    let doomed = other.join("doomed.log");
    for seq in 0..300 {
        append(&doomed, &format!("doomed seq={seq}\n"));
    }
    // Deleted only once Tern has it open and read.
    setup.wait_for("doomed", 300).await;
    for seq in 300..600 {
        append(&doomed, &format!("doomed seq={seq}\n"));
    }
    std::fs::remove_file(&doomed).unwrap();
    writer.join().unwrap();

    exactly_once(&setup.wait_for("app", N).await, N, "app.log under rotation");
    exactly_once(
        &setup.wait_for("later", 500).await,
        500,
        "a file created after start",
    );
    exactly_once(
        &setup.wait_for("doomed", 600).await,
        600,
        "a file deleted while open",
    );
    assert!(
        !setup
            .rows()
            .iter()
            .any(|r| r["RawData"] == "old line before start"),
        "start_at = end"
    );
    let row = setup
        .rows()
        .into_iter()
        .find(|r| r["RawData"] == "later seq=0")
        .unwrap();
    assert_eq!(row["FilePath"], later.display().to_string());
    assert_eq!(row["Computer"], "fwd-files");
    // No assertion on tern_file_rotations_total: when the whole rotation happens between two
    // looks (a loaded machine), Tern meets the truncated file and the copy as new files and
    // reads both whole, which is as correct and counts no truncation.
    assert_eq!(setup.metric("tern_file_rows_total") as usize, N + 500 + 600);
    assert!(stop_tern(tern).await.success());
    // Stopped, Tern has made every upload it will: these counts are final.
    exactly_once(&setup.arrivals("app"), N, "app.log under rotation, final");
    exactly_once(
        &setup.arrivals("later"),
        500,
        "a file created after start, final",
    );
    exactly_once(
        &setup.arrivals("doomed"),
        600,
        "a file deleted while open, final",
    );

    // A restart after the rotation re-sends nothing: app.log.1 and app.log.2 still match,
    // and their checkpoints say they were read to the end.
    let before = setup.rows().len();
    let tern = setup.start();
    append(&app, "app seq=999999 after restart\n");
    crate::support::wait_until_async(
        "the line after the restart",
        Duration::from_secs(20),
        || setup.arrivals("app").contains_key(&999_999),
    )
    .await;
    assert!(stop_tern(tern).await.success());
    assert_eq!(
        setup.rows().len(),
        before + 1,
        "only the new line after the restart"
    );
}

fn kill9(child: &mut std::process::Child) {
    crate::support::signal(child.id(), nix::sys::signal::Signal::SIGKILL);
    let _ = child.wait();
}

/// kill -9 in the middle of a file being written, then a restart: every line arrives (at
/// least once), and duplicates are no more than Tern reports as possible duplicates.
pub(crate) async fn kill_9_mid_file_resumes_at_the_checkpoint() {
    let setup = Setup::new("beginning", |dir| {
        vec![text_source(&dir.join("logs/*.log"))]
    })
    .await;
    let log = setup.dir.path().join("logs/busy.log");
    let mut tern = setup.start();
    const N: usize = 20_000;
    let writer_log = log.clone();
    let writer = std::thread::spawn(move || {
        for seq in 0..N {
            append(
                &writer_log,
                &format!("busy seq={seq} {}\n", "y".repeat(seq % 100)),
            );
            if seq % 200 == 0 {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while setup.arrivals("busy").len() < N / 4 {
        assert!(Instant::now() < deadline, "nothing arrived before the kill");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    kill9(&mut tern);
    let at_kill = setup.arrivals("busy").len();
    writer.join().unwrap();
    let tern = setup.start();
    setup.wait_for("busy", N).await;
    let reread = setup.metric("tern_file_possible_duplicate_rows_total") as usize;
    let resent = setup.metric("tern_spool_recovered_rows_total") as usize;
    assert!(stop_tern(tern).await.success());
    let arrivals = setup.arrivals("busy");
    let missing: Vec<usize> = (0..N).filter(|s| !arrivals.contains_key(s)).collect();
    let duplicates: usize = arrivals.values().map(|c| c - 1).sum();
    // Both ways a row can be sent twice are counted: read again from the file (the checkpoint
    // had not moved yet) and sent again from the spool (accepted, the acknowledgement not yet
    // on disk).
    let reported = reread + resent;
    eprintln!(
        "files + kill -9: {N} lines, {at_kill} delivered before the kill, {duplicates} duplicates; \
         counted: {reread} read again from the file, {resent} sent again from the spool"
    );
    assert!(
        missing.is_empty(),
        "missing {} lines: {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    assert!(
        duplicates <= reported,
        "{duplicates} duplicates but only {reported} reported"
    );
}

/// Multi-line records in each recordStartTimestampFormat: continuation lines join the record
/// they follow; the last record is sent after the partial-record timeout.
pub(crate) async fn multi_line_records_in_every_timestamp_format() {
    let formats: [(&str, &str, &str); 9] = [
        (
            "ISO 8601",
            "2026-11-22T10:00:00.5+01:00",
            "2026-11-22T10:00:01+01:00",
        ),
        (
            "YYYY-MM-DD HH:MM:SS",
            "2026-11-22 10:00:00",
            "2026-11-22 10:00:01",
        ),
        (
            "M/D/YYYY HH:MM:SS AM/PM",
            "11/22/2026 9:00:00 AM",
            "11/22/2026 9:00:01 PM",
        ),
        (
            "Mon DD, YYYY HH:MM:SS",
            "Nov 22, 2026 10:00:00",
            "Nov 22, 2026 10:00:01",
        ),
        ("yyMMdd HH:mm:ss", "261122 10:00:00", "261122 10:00:01"),
        ("ddMMyy HH:mm:ss", "221126 10:00:00", "221126 10:00:01"),
        ("MMM d hh:mm:ss", "Nov  2 10:00:00", "Nov 22 10:00:01"),
        (
            "dd/MMM/yyyy:HH:mm:ss zzz",
            "22/Nov/2026:10:00:00 +0100",
            "22/Nov/2026:10:00:01 +0100",
        ),
        (
            "yyyy-MM-ddTHH:mm:ssK",
            "2026-11-22T10:00:00Z",
            "2026-11-22T10:00:01.25-05:00",
        ),
    ];
    let setup = Setup::new("beginning", |dir| {
        formats
            .iter()
            .enumerate()
            .map(|(i, (format, _, _))| FileSource {
                patterns: vec![dir.join(format!("fmt{i}/*.log")).display().to_string()],
                format: "text",
                record_start: Some(format),
            })
            .collect()
    })
    .await;
    let tern = setup.start();
    for (i, (_, first, second)) in formats.iter().enumerate() {
        let file = setup.dir.path().join(format!("fmt{i}/app.log"));
        append(
            &file,
            &format!(
                "{first} ERROR boom {i}\njava.lang.IllegalStateException: x\n\tat a.B.c(B.java:1)\n\
                 {second} INFO fine {i}\n"
            ),
        );
    }
    crate::support::wait_for_async("two rows per format", Duration::from_secs(30), || {
        let rows = setup.rows();
        if rows.len() >= 2 * formats.len() {
            Ok(())
        } else {
            Err(format!("rows so far: {rows:#?}"))
        }
    })
    .await;
    assert!(stop_tern(tern).await.success());
    let rows = setup.rows();
    assert_eq!(rows.len(), 2 * formats.len());
    for (i, (format, first, second)) in formats.iter().enumerate() {
        let path = setup
            .dir
            .path()
            .join(format!("fmt{i}/app.log"))
            .display()
            .to_string();
        let mut raw: Vec<&str> = rows
            .iter()
            .filter(|r| r["FilePath"] == path)
            .map(|r| r["RawData"].as_str().unwrap())
            .collect();
        raw.sort_unstable();
        let mut want = vec![
            format!(
                "{first} ERROR boom {i}\njava.lang.IllegalStateException: x\n\tat a.B.c(B.java:1)"
            ),
            format!("{second} INFO fine {i}"),
        ];
        want.sort_unstable();
        assert_eq!(raw, want, "{format}");
    }
}

/// JSON lines: nested objects and arrays arrive as they are, with FilePath and Computer; a
/// line that is not JSON is sent as RawData and counted.
pub(crate) async fn json_lines_with_nested_values() {
    let setup = Setup::new("beginning", |dir| {
        vec![FileSource {
            patterns: vec![dir.join("json/*.json").display().to_string()],
            format: "json",
            record_start: None,
        }]
    })
    .await;
    let tern = setup.start();
    let file = setup.dir.path().join("json/events.json");
    append(
        &file,
        "{\"TimeGenerated\":\"2026-11-22T10:00:00Z\",\"user\":{\"name\":\"ana\",\"groups\":[\"a\",\"b\"]},\"bytes\":1234,\"ok\":true}\n\
         {\"event\":\"login\",\"geo\":{\"lat\":52.1,\"lon\":4.3}}\n\
         not json at all\n",
    );
    crate::support::wait_for_async("three rows", Duration::from_secs(20), || {
        let rows = setup.rows();
        if rows.len() >= 3 {
            Ok(())
        } else {
            Err(format!("rows: {rows:?}"))
        }
    })
    .await;
    crate::support::wait_until_async("the error count", Duration::from_secs(30), || {
        setup.metric("tern_file_errors_total") == 1
    })
    .await;
    assert!(stop_tern(tern).await.success());
    let rows = setup.rows();
    assert_eq!(rows.len(), 3);
    let first = rows.iter().find(|r| r["bytes"] == 1234).unwrap();
    assert_eq!(first["TimeGenerated"], "2026-11-22T10:00:00Z");
    assert_eq!(first["user"]["groups"][1], "b");
    assert_eq!(first["ok"], true);
    assert_eq!(first["FilePath"], file.display().to_string());
    assert_eq!(first["Computer"], "fwd-files");
    let second = rows.iter().find(|r| r["event"] == "login").unwrap();
    assert_eq!(second["geo"]["lon"], 4.3);
    assert!(second["TimeGenerated"].as_str().unwrap().starts_with("20"));
    let third = rows
        .iter()
        .find(|r| r["RawData"] == "not json at all")
        .unwrap();
    assert_eq!(third["FilePath"], file.display().to_string());
}

/// A `logFiles` dataFlow's transformation runs on each line's row: its `where` drops the
/// debug lines (counted by DCR and stream), its `extend` masks the rest; every kept line once.
pub(crate) async fn a_transformation_filters_and_masks_log_lines() {
    let setup = Setup::transformed(
        "beginning",
        |dir| vec![text_source(&dir.join("logs/*.log"))],
        "source | where RawData !has \"debug\" | extend RawData = replace_string(RawData, \"secret\", \"***\")",
    )
    .await;
    let tern = setup.start();
    let file = setup.dir.path().join("logs/app.log");
    const N: usize = 2_000;
    let text: String = (0..N)
        .map(|i| {
            let level = if i % 2 == 0 { "info" } else { "debug" };
            format!("app seq={i} secret {level}\n")
        })
        .collect();
    append(&file, &text);
    let arrivals = setup.wait_for("app", N / 2).await;
    crate::support::wait_until_async("the dropped count", Duration::from_secs(30), || {
        setup.metric_where(
            "tern_transform_dropped_rows_total",
            "stream=\"Custom-App_CL\"",
        ) == N as u64 / 2
    })
    .await;
    assert!(stop_tern(tern).await.success());
    let arrivals_after = setup.arrivals("app");
    exactly_once(&arrivals_after, 0, "kept lines");
    let kept: Vec<usize> = {
        let mut k: Vec<usize> = arrivals_after.keys().copied().collect();
        k.sort_unstable();
        k
    };
    assert_eq!(kept, (0..N).step_by(2).collect::<Vec<_>>());
    assert!(arrivals.len() >= N / 2);
    for row in setup.rows() {
        let raw = row["RawData"].as_str().unwrap();
        assert!(raw.ends_with(" *** info"), "{raw}");
    }
    assert_eq!(setup.metric("tern_transform_errors_total"), 0);
}

/// `tern doctor` reports each pattern: files found and readable, or the folder missing.
pub(crate) async fn doctor_reports_each_pattern() {
    let setup = Setup::new("end", |dir| {
        vec![
            text_source(&dir.join("present/*.log")),
            text_source(&dir.join("absent/*.log")),
        ]
    })
    .await;
    std::fs::remove_dir(setup.dir.path().join("absent")).unwrap();
    append(&setup.dir.path().join("present/a.log"), "x\n");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tern"))
        .args(["doctor", "--config"])
        .arg(&setup.config)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let present = format!("{}/present/*.log", setup.dir.path().display());
    let absent = format!("{}/absent/*.log", setup.dir.path().display());
    assert!(
        text.contains(&format!(
            "ok   files {present}: 1 file(s), readable → App_CL"
        )),
        "{text}"
    );
    assert!(text.contains(&format!("FAIL files {absent}: ")), "{text}");
    assert!(
        text.contains("fix: create the folder or give the tern user access"),
        "{text}"
    );
    assert_eq!(out.status.code(), Some(1));
}

/// Two sources in one folder, stopped and started again: lines written while Tern was down,
/// and a file created while it was down, are all read after the restart, each once.
pub(crate) async fn lines_written_while_stopped_arrive_after_the_restart() {
    let setup = Setup::new("end", |dir| {
        vec![
            text_source(&dir.join("logs/access*.log")),
            text_source(&dir.join("logs/error*.log")),
        ]
    })
    .await;
    let logs = setup.dir.path().join("logs");
    let tern = setup.start();
    // Both sources have made their first scan once the checkpoints list them.
    let checkpoints = setup.dir.path().join("state/file-checkpoints.json");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::fs::read_to_string(&checkpoints)
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .is_none_or(|c| c["sources"].as_array().is_none_or(|s| s.len() < 2))
    {
        assert!(Instant::now() < deadline, "the sources never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for seq in 0..100 {
        append(&logs.join("access.log"), &format!("access seq={seq}\n"));
        append(&logs.join("error.log"), &format!("error seq={seq}\n"));
    }
    setup.wait_for("access", 100).await;
    setup.wait_for("error", 100).await;
    assert!(stop_tern(tern).await.success());
    for seq in 100..200 {
        append(&logs.join("access.log"), &format!("access seq={seq}\n"));
        append(&logs.join("error.log"), &format!("error seq={seq}\n"));
    }
    for seq in 200..250 {
        append(&logs.join("access-2.log"), &format!("access seq={seq}\n"));
    }
    let tern = setup.start();
    exactly_once(
        &setup.wait_for("access", 250).await,
        250,
        "access after the restart",
    );
    exactly_once(
        &setup.wait_for("error", 200).await,
        200,
        "error after the restart",
    );
    assert!(stop_tern(tern).await.success());
    exactly_once(&setup.arrivals("access"), 250, "access, final");
    exactly_once(&setup.arrivals("error"), 200, "error, final");
}

/// Adding a `logFiles` source is a DCR change like any other: its files are collected from the
/// reload on, without a restart; removing it stops them; the source both DCR sets share keeps
/// reading throughout (not restarted: no line twice).
pub(crate) async fn log_files_added_and_removed_by_a_dcr_reload_start_and_stop_without_a_restart() {
    // From the beginning: with `end`, a file that the added source finds on its first scan is
    // read from its end, and whether that scan comes before or after the test's first append
    // is a race.
    let setup = Setup::new("beginning", |dir| vec![text_source(&dir.join("a/app.log"))]).await;
    let child = setup.start();
    let a = setup.dir.path().join("a/app.log");
    let lines = |marker: &str, seqs: std::ops::Range<usize>| {
        seqs.map(|n| format!("{marker} seq={n} payload\n"))
            .collect::<String>()
    };
    append(&a, &lines("a", 0..50));
    setup.wait_for("a", 50).await;

    // A second DCR file with a source for b/*.log.
    let b_dir = setup.dir.path().join("b");
    std::fs::create_dir_all(&b_dir).unwrap();
    let more = setup.dir.path().join("dcr.d/more.json");
    let b_source = text_source(&b_dir.join("*.log"));
    std::fs::write(&more, files_dcr(&[b_source], "source").to_string()).unwrap();
    setup.wait_for_reloads(1).await;
    let b = b_dir.join("new.log");
    append(&b, &lines("b", 0..50));
    append(&a, &lines("a", 50..100));
    exactly_once(&setup.wait_for("b", 50).await, 50, "the added source");
    exactly_once(&setup.wait_for("a", 100).await, 100, "the source kept");

    // The second DCR file goes: b/*.log is no longer collected.
    std::fs::remove_file(&more).unwrap();
    setup.wait_for_reloads(2).await;
    append(&b, &lines("b", 50..60));
    append(&a, &lines("a", 100..110));
    exactly_once(&setup.wait_for("a", 110).await, 110, "the source kept");
    let b_arrivals = setup.arrivals("b");
    assert_eq!(
        b_arrivals.len(),
        50,
        "lines of a removed source arrived: {:?}",
        b_arrivals.keys().filter(|&&n| n >= 50).collect::<Vec<_>>()
    );
    assert!(stop_tern(child).await.success());
    exactly_once(&setup.arrivals("a"), 110, "the source kept, final");
    assert_eq!(setup.arrivals("b").len(), 50, "the removed source, final");
}

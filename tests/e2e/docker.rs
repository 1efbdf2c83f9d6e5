//! The Docker image, by construction (no engine runs here; issue 8): the Dockerfile's final
//! stage is what the README says (non-root, the binary, the default config, a health check),
//! and the binary started exactly as the image's ENTRYPOINT + CMD, with the image's default
//! config, serves syslog and passes the image's own HEALTHCHECK command.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{free_port, logger};

fn docker_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docker")
}

/// The final stage of the Dockerfile: the lines after the last `FROM`, continuations joined.
fn final_stage() -> (String, Vec<String>) {
    let text = std::fs::read_to_string(docker_dir().join("Dockerfile")).unwrap();
    let joined = text.replace("\\\n", " ");
    let lines: Vec<&str> = joined
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let last_from = lines.iter().rposition(|l| l.starts_with("FROM ")).unwrap();
    (
        lines[last_from].to_owned(),
        lines[last_from + 1..]
            .iter()
            .map(|l| (*l).to_owned())
            .collect(),
    )
}

/// The JSON array after `instruction` (exec form), e.g. `CMD ["run", ...]`.
fn exec_form(stage: &[String], instruction: &str) -> Vec<String> {
    let line = stage
        .iter()
        .find(|l| l.starts_with(instruction))
        .unwrap_or_else(|| panic!("no {instruction} in the final stage"));
    let json = &line[line.find('[').unwrap()..];
    serde_json::from_str(json).unwrap()
}

pub(crate) async fn the_image_command_runs_with_the_image_config_and_passes_its_health_check() {
    let (from, stage) = final_stage();
    assert!(from.contains("distroless/cc-debian12:nonroot"), "{from}");
    assert!(stage.contains(&"USER nonroot:nonroot".to_owned()));
    assert!(
        stage
            .iter()
            .any(|l| l.starts_with("COPY --from=build") && l.ends_with(" /usr/local/bin/tern"))
    );
    assert!(stage.contains(&"COPY docker/tern.toml /etc/tern/tern.toml".to_owned()));
    assert!(
        stage
            .iter()
            .any(|l| l.starts_with("VOLUME") && l.contains("/var/lib/tern"))
    );
    let entrypoint = exec_form(&stage, "ENTRYPOINT");
    let cmd = exec_form(&stage, "CMD ");
    let healthcheck = exec_form(&stage, "HEALTHCHECK");
    assert_eq!(entrypoint, ["/usr/local/bin/tern"]);
    assert_eq!(healthcheck[..2], ["/usr/local/bin/tern", "health"]);

    // The image's config, with its ports and folders moved to this test's.
    let dir = tempfile::tempdir().unwrap();
    let (port, metrics) = (free_port(), free_port());
    let dcr = dir.path().join("dcr.d");
    std::fs::create_dir(&dcr).unwrap();
    for file in std::fs::read_dir(docker_dir().join("dcr.d")).unwrap() {
        let file = file.unwrap().path();
        std::fs::copy(&file, dcr.join(file.file_name().unwrap())).unwrap();
    }
    let mut config_text = std::fs::read_to_string(docker_dir().join("tern.toml")).unwrap();
    for (from, to) in [
        ("0.0.0.0:514", format!("127.0.0.1:{port}")),
        ("0.0.0.0:9280", format!("127.0.0.1:{metrics}")),
        ("/etc/tern/dcr.d", dcr.display().to_string()),
        (
            "/var/lib/tern/spool",
            dir.path().join("spool").display().to_string(),
        ),
    ] {
        assert!(config_text.contains(from), "docker/tern.toml has no {from}");
        config_text = config_text.replace(from, &to);
    }
    let config = dir.path().join("tern.toml");
    std::fs::write(&config, config_text).unwrap();

    // ENTRYPOINT + CMD, the config path being the only change.
    let args: Vec<String> = cmd
        .iter()
        .map(|a| {
            if a == "/etc/tern/tern.toml" {
                config.display().to_string()
            } else {
                a.clone()
            }
        })
        .collect();
    let stdout = dir.path().join("stdout.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tern"))
        .args(&args)
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let health = |expect_ok: bool| {
        let args: Vec<String> = healthcheck[1..]
            .iter()
            .map(|a| a.replace(":9280/", &format!(":{metrics}/")))
            .collect();
        let status = Command::new(env!("CARGO_BIN_EXE_tern"))
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        status.success() == expect_ok
    };
    crate::support::wait_until_async("the health check to pass", Duration::from_secs(20), || {
        health(true)
    })
    .await;
    let port_text = port.to_string();
    logger(&[
        "-d",
        "-n",
        "127.0.0.1",
        "-P",
        &port_text,
        "-t",
        "app",
        "docker-udp",
    ]);
    logger(&[
        "-T",
        "-n",
        "127.0.0.1",
        "-P",
        &port_text,
        "-t",
        "app",
        "docker-tcp",
    ]);
    let mut text = String::new();
    crate::support::wait_for_async("both rows", Duration::from_secs(20), || {
        text = std::fs::read_to_string(&stdout).unwrap_or_default();
        if text.contains("docker-udp") && text.contains("docker-tcp") {
            Ok(())
        } else {
            Err(format!("rows: {text}"))
        }
    })
    .await;
    // No DCRs mounted: every event is kept and printed as a Syslog row.
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.lines().all(|l| l.starts_with("{\"table\":\"Syslog\"")));
    assert!(crate::support::stop_tern_ref(&mut child).success());
    assert!(health(false), "the health check fails once Tern is gone");
}

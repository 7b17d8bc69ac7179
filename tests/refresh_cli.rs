//! The benchmark refresh job through the real binary on the demo workspace (real flights data,
//! real SQLite): the demo's `refresh-benchmarks --all` (good models replaced, the damaged extract
//! quarantined and rejected, one summary, audit rows), rollback, `benchmarks`, and each hostile
//! extract of the quality bar leaving the old benchmark byte-identical.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest, Sha256};

fn driftdeck(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_driftdeck"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .env_remove("EMAIL_RECIPIENTS")
        .env_remove("VALIDATION_THRESHOLD")
        .env_remove("BENCHMARKING_PATH")
        .env("NO_COLOR", "1")
        .output()
        .expect("driftdeck runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        common::strip_ansi(&String::from_utf8_lossy(&out.stderr))
    )
}

/// A fresh demo workspace in a temp dir; returns (dir guard, config path).
fn demo() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let ws = dir.path().join("ws");
    let out = Command::new(env!("CARGO_BIN_EXE_driftdeck"))
        .args(["demo", "init"])
        .arg(&ws)
        .output()
        .expect("demo init");
    assert!(out.status.success(), "demo init: {}", text(&out));
    let config = ws.join("config").join("driftdeck.toml");
    (dir, config)
}

fn sha(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    format!("{:x}", Sha256::digest(&bytes))
}

fn ws_of(config: &Path) -> PathBuf {
    config
        .parent()
        .and_then(Path::parent)
        .expect("ws")
        .to_path_buf()
}

fn bench(config: &Path, vs: &str, model: &str) -> PathBuf {
    ws_of(config)
        .join("benchmarks")
        .join(vs)
        .join(model)
        .join("benchmark.csv")
}

#[test]
fn demo_refresh_replaces_good_models_rejects_the_damaged_one_and_rolls_back() {
    let (_d, config) = demo();
    let ws = ws_of(&config);
    let regional_before = sha(&bench(&config, "carriers", "regional_delay"));
    let jfk_before = sha(&bench(&config, "airports", "jfk_delay"));

    let out = driftdeck(&config, &["refresh-benchmarks", "--all"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "one model fails: {t}");
    assert!(t.contains("7 replaced, 1 rejected"), "{t}");
    assert!(t.contains("carriers/regional_delay rejected"), "{t}");
    assert!(
        t.contains("fail quarantined_share: 164 of 3277 rows"),
        "{t}"
    );

    // The damaged model keeps its benchmark byte for byte; the others changed.
    assert_eq!(
        sha(&bench(&config, "carriers", "regional_delay")),
        regional_before
    );
    let jfk_after = sha(&bench(&config, "airports", "jfk_delay"));
    assert_ne!(jfk_after, jfk_before);

    // Quarantine: original fields + line + reason, one row per bad record.
    let qdir = ws.join("quarantine").join("regional_delay");
    let qfile = std::fs::read_dir(&qdir)
        .expect("quarantine dir")
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("refresh-"))
        })
        .expect("quarantine file");
    let mut r = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(&qfile)
        .expect("csv");
    let header = r.headers().expect("header").clone();
    assert_eq!(header.get(header.len() - 1), Some("reason"));
    assert_eq!(header.get(header.len() - 2), Some("line"));
    let rows: Vec<csv::StringRecord> = r.records().map(|x| x.expect("row")).collect();
    assert_eq!(rows.len(), 164);
    assert!(
        rows[0]
            .iter()
            .any(|f| f.contains("column score") && f.contains("n/a"))
    );
    assert!(
        rows.last()
            .is_some_and(|row| row.iter().any(|f| f.contains("field(s) instead of 23")))
    );

    // New profile matches the new benchmark; the old one is kept in versions/.
    let profile: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            bench(&config, "airports", "jfk_delay").with_file_name("benchmark.profile.json"),
        )
        .expect("profile"),
    )
    .expect("json");
    assert_eq!(
        profile["source_checksum"].as_str(),
        Some(jfk_after.as_str())
    );
    let out = driftdeck(&config, &["benchmarks", "--model", "jfk_delay", "--json"]);
    let versions: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let versions = versions.as_array().expect("array");
    assert_eq!(versions.len(), 2, "{versions:?}");
    assert_eq!(versions[0]["id"], "current");
    assert_eq!(versions[1]["checksum"].as_str(), Some(&jfk_before[..16]));

    // Audit rows and one summary notification naming every outcome.
    let db = rusqlite::Connection::open(ws.join("driftdeck.sqlite")).expect("db");
    let audits: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM PCI_CSI_AUDIT WHERE action = 'refresh'",
            [],
            |r| r.get(0),
        )
        .expect("audit");
    assert_eq!(audits, 8);
    let outbox =
        std::fs::read_to_string(ws.join("outbox").join("notifications.jsonl")).expect("outbox");
    let summaries: Vec<&str> = outbox
        .lines()
        .filter(|l| l.contains("driftdeck refresh"))
        .collect();
    assert_eq!(summaries.len(), 1, "{outbox}");
    assert!(summaries[0].contains("regional_delay rejected"));
    assert!(summaries[0].contains("network-planning@example.com"));

    // Rollback restores the previous benchmark and keeps the refreshed one.
    let out = driftdeck(
        &config,
        &[
            "rollback-benchmark",
            "--model",
            "jfk_delay",
            "--triggered-by",
            "alice",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(sha(&bench(&config, "airports", "jfk_delay")), jfk_before);
    let out = driftdeck(&config, &["benchmarks", "--model", "jfk_delay", "--json"]);
    let versions: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(versions.as_array().map(Vec::len), Some(3));
    let who: String = db
        .query_row(
            "SELECT user FROM PCI_CSI_AUDIT WHERE action = 'rollback'",
            [],
            |r| r.get(0),
        )
        .expect("rollback audited");
    assert_eq!(who, "alice");
    // A daily run works on the rolled-back benchmark.
    let out = driftdeck(
        &config,
        &[
            "run",
            "--model",
            "jfk_delay",
            "--date",
            "2013-12-31",
            "--attempts",
            "1",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    // A run's final failure is one message to the model's and its value stream's recipients.
    let out = driftdeck(
        &config,
        &[
            "run",
            "--model",
            "jfk_delay",
            "--date",
            "2014-06-01",
            "--attempts",
            "1",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let outbox =
        std::fs::read_to_string(ws.join("outbox").join("notifications.jsonl")).expect("outbox");
    let failure: Vec<&str> = outbox
        .lines()
        .filter(|l| l.contains("jfk_delay") && l.contains("2014-06-01"))
        .collect();
    assert_eq!(failure.len(), 1, "{outbox}");
    assert!(
        failure[0].contains("airport-ops-leads@example.com"),
        "{}",
        failure[0]
    );
    assert!(
        failure[0].contains("airport-ops@example.com"),
        "{}",
        failure[0]
    );
}

/// Replaces ewr_delay's extract with `bytes`, refreshes it, and checks the refresh failed with
/// `expect` in its output and the benchmark unchanged.
fn hostile(config: &Path, bytes: &[u8], expect: &str) {
    let ws = ws_of(config);
    let before = sha(&bench(config, "airports", "ewr_delay"));
    std::fs::write(ws.join("data/extracts/ewr_delay.csv"), bytes).expect("write extract");
    let out = driftdeck(config, &["refresh-benchmarks", "--model", "ewr_delay"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{expect}: {t}");
    assert!(t.contains(expect), "expected {expect:?} in: {t}");
    assert_eq!(
        sha(&bench(config, "airports", "ewr_delay")),
        before,
        "benchmark changed after {expect}"
    );
    assert!(!t.contains("panicked"), "{t}");
}

#[test]
fn hostile_extracts_are_rejected_with_the_old_benchmark_intact() {
    let (_d, config) = demo();
    let ws = ws_of(&config);
    let good = std::fs::read_to_string(ws.join("data/extracts/ewr_delay.csv")).expect("extract");
    let lines: Vec<&str> = good.lines().collect();

    // Truncated: the transfer stopped after the header and a few rows.
    let truncated = format!("{}\n{}\n{}", lines[0], lines[1], &lines[2][..20]);
    hostile(&config, truncated.as_bytes(), "fail quarantined_share");
    // Wrong delimiter.
    hostile(
        &config,
        good.replace(',', ";").as_bytes(),
        "wrong delimiter",
    );
    // Missing column.
    let header: Vec<&str> = lines[0].split(',').collect();
    let score = header.iter().position(|h| *h == "score").expect("score");
    let drop_score: String = lines
        .iter()
        .map(|l| {
            let mut f: Vec<&str> = l.split(',').collect();
            f.remove(score);
            f.join(",") + "\n"
        })
        .collect();
    hostile(&config, drop_score.as_bytes(), "missing column(s) score");
    // All-null column.
    let temp = header.iter().position(|h| *h == "temp").expect("temp");
    let null_temp: String = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let mut f: Vec<&str> = l.split(',').collect();
            if i > 0 {
                f[temp] = "";
            }
            f.join(",") + "\n"
        })
        .collect();
    hostile(&config, null_temp.as_bytes(), "fail missing_share (temp)");
    // Ten times larger (the same rows with new keys).
    let mut big = String::from(lines[0]);
    big.push('\n');
    for k in 0..10 {
        for l in &lines[1..] {
            let (id, rest) = l.split_once(',').expect("row");
            big.push_str(&format!("{}{id},{rest}\n", k + 1));
        }
    }
    hostile(&config, big.as_bytes(), "fail row_ratio");
    // Valid CSV, a different population: July's flights from EWR (the shift check).
    let july = common::Csv::read(&common::repo().join("assets/demo/data/current_2013-07.csv"))
        .filter("origin", "EWR");
    let mut text_july = july.header.join(",") + "\n";
    for r in &july.rows {
        text_july.push_str(&(r.join(",") + "\n"));
    }
    hostile(&config, text_july.as_bytes(), "fail psi_shift (score)");
    // Not a file at all.
    std::fs::remove_file(ws.join("data/extracts/ewr_delay.csv")).expect("rm");
    let out = driftdeck(&config, &["refresh-benchmarks", "--model", "ewr_delay"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("ewr_delay.csv"), "{}", text(&out));
}

#[test]
fn a_benchmark_path_outside_the_root_is_refused() {
    let (d, config) = demo();
    let outside = d.path().join("elsewhere").join("benchmark.csv");
    std::fs::create_dir_all(outside.parent().expect("parent")).expect("mkdir");
    std::fs::copy(bench(&config, "airports", "ewr_delay"), &outside).expect("copy");
    let before = sha(&outside);
    let out = Command::new(env!("CARGO_BIN_EXE_driftdeck"))
        .arg("--config")
        .arg(&config)
        .args(["refresh-benchmarks", "--model", "ewr_delay"])
        .env("MODEL_EWR_DELAY_BENCHMARKING_PATH", &outside)
        .env("NO_COLOR", "1")
        .output()
        .expect("runs");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("outside the benchmark root"), "{t}");
    assert_eq!(sha(&outside), before);
}

#[test]
fn dry_run_validates_without_replacing() {
    let (_d, config) = demo();
    let before = sha(&bench(&config, "airports", "lga_delay"));
    let out = driftdeck(
        &config,
        &[
            "refresh-benchmarks",
            "--value-stream",
            "airports",
            "--dry-run",
        ],
    );
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("airports/lga_delay passed"), "{t}");
    assert!(t.contains("airports/common passed"), "{t}");
    assert_eq!(sha(&bench(&config, "airports", "lga_delay")), before);
}

/// Accepts one HTTP request on `listener`, answers 200 and returns its body.
fn one_http_request(listener: std::net::TcpListener) -> std::thread::JoinHandle<String> {
    use std::io::{BufRead, BufReader, Read, Write};
    std::thread::spawn(move || {
        let Ok((stream, _)) = listener.accept() else {
            return String::new();
        };
        let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(30)));
        let mut reader = BufReader::new(stream);
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; length];
        let _ = reader.read_exact(&mut body);
        let mut stream = reader.into_inner();
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        String::from_utf8_lossy(&body).into_owned()
    })
}

#[test]
fn refresh_summary_goes_to_slack_and_metrics_to_dogstatsd() {
    let (_d, config) = demo();
    let toml = std::fs::read_to_string(&config).expect("toml");
    let (start, end) = (
        toml.find("[notify]\n").expect("notify"),
        toml.find("[validation]\n").expect("validation"),
    );
    let http = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let hook = format!(
        "http://127.0.0.1:{}/services/T/B/C",
        http.local_addr().expect("a").port()
    );
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
    let udp_addr = udp.local_addr().expect("addr");
    let replaced = format!(
        "{}[notify]\nkind = \"slack\"\nwebhook_env = \"TEST_HOOK\"\nretry = {{ attempts = 2, delay_ms = 10 }}\n\n[metrics]\nkind = \"dogstatsd\"\naddress = \"{udp_addr}\"\nprefix = \"dd\"\ntags = {{ env = \"ci\" }}\n\n{}",
        &toml[..start],
        &toml[end..]
    );
    std::fs::write(&config, replaced).expect("write toml");
    let server = one_http_request(http);
    let out = Command::new(env!("CARGO_BIN_EXE_driftdeck"))
        .arg("--config")
        .arg(&config)
        .args(["refresh-benchmarks", "--value-stream", "carriers"])
        .env("TEST_HOOK", &hook)
        .env("NO_COLOR", "1")
        .env_remove("DD_AGENT_HOST")
        .env_remove("DD_DOGSTATSD_PORT")
        .output()
        .expect("runs");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        !t.contains("/services/T/B/C"),
        "the webhook URL leaked: {t}"
    );
    let body = server.join().expect("server");
    let json: serde_json::Value = serde_json::from_str(&body).expect("slack json");
    let text_sent = json["text"].as_str().expect("text");
    assert!(text_sent.contains("driftdeck refresh"), "{text_sent}");
    assert!(
        text_sent.contains("carriers/regional_delay rejected"),
        "{text_sent}"
    );

    // Every datagram parses; the rejected model's counters carry its tags.
    udp.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .expect("timeout");
    let mut buf = [0u8; 4096];
    let mut lines = Vec::new();
    while let Ok(n) = udp.recv(&mut buf) {
        lines.extend(
            String::from_utf8_lossy(&buf[..n])
                .lines()
                .map(str::to_string),
        );
        if lines
            .iter()
            .any(|l| l.starts_with("dd.refresh.rows_quarantined:164|c|"))
            && lines
                .iter()
                .filter(|l| l.starts_with("dd.refresh.started:"))
                .count()
                >= 4
        {
            break;
        }
    }
    let q = lines
        .iter()
        .find(|l| l.starts_with("dd.refresh.rows_quarantined:164|c|"))
        .unwrap_or_else(|| panic!("no quarantine counter in {lines:?}"));
    for tag in [
        "model:regional_delay",
        "value_stream:carriers",
        "action:refresh",
        "env:ci",
    ] {
        assert!(q.contains(tag), "{q}");
    }
    assert!(
        lines.iter().any(
            |l| l.starts_with("dd.refresh.rejected:1|c|") && l.contains("model:regional_delay")
        ),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("dd.refresh.validations_failed:1|c|")),
        "{lines:?}"
    );
}

/// A Parquet extract (written with arrow from the CSV extract) refreshes like the CSV one: every
/// row kept, numbers and missing values read the same way (same row count and profile rows).
#[test]
fn a_parquet_extract_is_a_source_too() {
    use std::sync::Arc;
    let (_d, config) = demo();
    let ws = ws_of(&config);
    let csv_path = ws.join("data/extracts/lga_delay.csv");
    let mut file = std::fs::File::open(&csv_path).expect("csv");
    let (schema, _) = arrow::csv::reader::Format::default()
        .with_header(true)
        .infer_schema(&mut file, None)
        .expect("schema");
    let file = std::fs::File::open(&csv_path).expect("csv");
    let reader = arrow::csv::ReaderBuilder::new(Arc::new(schema))
        .with_header(true)
        .build(file)
        .expect("reader");
    let pq_path = ws.join("data/extracts/lga_delay.parquet");
    let out = std::fs::File::create(&pq_path).expect("parquet");
    let mut writer: Option<parquet::arrow::ArrowWriter<std::fs::File>> = None;
    let mut rows = 0;
    let mut out = Some(out);
    for batch in reader {
        let batch = batch.expect("batch");
        rows += batch.num_rows();
        if writer.is_none() {
            writer = Some(
                parquet::arrow::ArrowWriter::try_new(
                    out.take().expect("file"),
                    batch.schema(),
                    None,
                )
                .expect("writer"),
            );
        }
        writer
            .as_mut()
            .expect("writer")
            .write(&batch)
            .expect("write");
    }
    writer.expect("writer").close().expect("close");
    let models = ws.join("config/models.yaml");
    let yaml = std::fs::read_to_string(&models).expect("yaml");
    std::fs::write(
        &models,
        yaml.replace(
            "data/extracts/lga_delay.csv",
            "data/extracts/lga_delay.parquet",
        ),
    )
    .expect("write yaml");
    let out = driftdeck(
        &config,
        &["refresh-benchmarks", "--model", "lga_delay", "--json"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json report");
    let m = &report["models"][0];
    assert_eq!(m["outcome"], "replaced", "{m}");
    assert!(
        m["source"]
            .as_str()
            .is_some_and(|s| s.ends_with(".parquet"))
    );
    assert_eq!(m["rows_read"].as_u64(), Some(rows as u64));
    assert_eq!(m["quarantined"].as_u64(), Some(0));
    let table = driftdeck::sources::read_table(&bench(&config, "airports", "lga_delay"), None)
        .expect("the installed benchmark reads");
    assert_eq!(table.rows, rows);
}

#[test]
fn the_same_extract_twice_is_unchanged_and_keeps_no_extra_version() {
    let (_d, config) = demo();
    let out = driftdeck(&config, &["refresh-benchmarks", "--model", "jfk_delay"]);
    assert!(text(&out).contains("jfk_delay replaced"), "{}", text(&out));
    let installed = sha(&bench(&config, "airports", "jfk_delay"));
    let out = driftdeck(&config, &["refresh-benchmarks", "--model", "jfk_delay"]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("airports/jfk_delay unchanged"), "{t}");
    assert!(t.contains("PSI 0.0000"), "{t}");
    assert_eq!(sha(&bench(&config, "airports", "jfk_delay")), installed);
    let out = driftdeck(&config, &["benchmarks", "--model", "jfk_delay", "--json"]);
    let versions: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        versions.as_array().map(Vec::len),
        Some(2),
        "current + the one the first refresh replaced: {versions}"
    );
}

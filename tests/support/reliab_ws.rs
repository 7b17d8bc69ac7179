//! A small workspace driven through the real binary, shared by the reliability suites
//! (`reliab_concurrency.rs`, `reliab_crash_signals.rs`) and `cli_hardening.rs`: the command with
//! a clean environment, the workspace with its store, and `stderr_of`.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

use rusqlite::{Connection, OpenFlags};

pub fn command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_driftdeck"));
    cmd.env("RUST_BACKTRACE", "0")
        .env("RUST_LIB_BACKTRACE", "0")
        .env("NO_COLOR", "1");
    for k in [
        "DRIFTDECK_CONFIG",
        "DRIFTDECK_LOG",
        "DRIFTDECK_JOB_LOG",
        "THRESHOLD",
        "BENCHMARKING_PATH",
        "EMAIL_RECIPIENTS",
        "VALIDATION_THRESHOLD",
        "MODEL_M1_BENCHMARKING_PATH",
    ] {
        cmd.env_remove(k);
    }
    cmd
}

/// A one-model workspace (`m1` in value stream `vs`, one attempt, no delay).
pub struct Ws {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
    pub config: PathBuf,
}

impl Ws {
    pub fn new() -> Ws {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("ws");
        for d in ["config", "data", "benchmarks/vs/m1"] {
            std::fs::create_dir_all(root.join(d)).expect("mkdir");
        }
        std::fs::write(
            root.join("config/driftdeck.toml"),
            "[workspace]\nname = \"mini\"\n\n[retry]\nattempts = 1\ndelay_seconds = 0\n",
        )
        .expect("toml");
        std::fs::write(
            root.join("config/models.yaml"),
            r#"models:
  - id: m1
    value_stream: vs
    owner: tests
    schedule: "0 6 * * *"
    score: score
    characteristics:
      - { name: x, kind: numeric }
      - { name: c, kind: categorical }
    current:
      path: data/cur_{date}.csv
"#,
        )
        .expect("yaml");
        let mut bench = String::from("score,x,c\n");
        for i in 0..40 {
            bench.push_str(&format!(
                "{},{},{}\n",
                i as f64 / 40.0,
                i * 3,
                ["a", "b", "c"][i % 3]
            ));
        }
        std::fs::write(root.join("benchmarks/vs/m1/benchmark.csv"), bench).expect("bench");
        Ws {
            config: root.join("config/driftdeck.toml"),
            root,
            _dir: dir,
        }
    }

    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = command();
        cmd.arg("--config").arg(&self.config).args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("driftdeck binary runs")
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.run_env(args, &[])
    }

    /// Rewrites `driftdeck.toml` as the workspace name plus `extra` (TOML sections).
    pub fn set_toml(&self, extra: &str) {
        std::fs::write(
            &self.config,
            format!("[workspace]\nname = \"mini\"\n\n{extra}\n"),
        )
        .expect("toml");
    }

    pub fn db(&self) -> Connection {
        Connection::open_with_flags(
            self.root.join("driftdeck.sqlite"),
            OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .expect("open store")
    }

    pub fn count(&self, sql: &str) -> i64 {
        if !self.root.join("driftdeck.sqlite").exists() {
            return 0;
        }
        self.db()
            .query_row(sql, [], |r| r.get(0))
            .expect("count query")
    }
}

pub fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The workspace with a second model `m2` (same columns) and current files for 2024-04-01..08.
pub fn two_model_ws() -> Ws {
    let ws = Ws::new();
    let models = ws.root.join("config/models.yaml");
    let yaml = std::fs::read_to_string(&models).expect("yaml");
    let m2 = yaml.replacen("  - id: m1", "  - id: m2", 1);
    let m2 = &m2[m2.find("  - id: m2").expect("m2")..];
    std::fs::write(&models, format!("{yaml}{m2}")).expect("yaml");
    std::fs::create_dir_all(ws.root.join("benchmarks/vs/m2")).expect("mkdir");
    std::fs::copy(
        ws.root.join("benchmarks/vs/m1/benchmark.csv"),
        ws.root.join("benchmarks/vs/m2/benchmark.csv"),
    )
    .expect("bench");
    for day in 1..=8 {
        let mut cur = String::from("score,x,c\n");
        for i in 0..30 {
            cur.push_str(&format!(
                "{},{},{}\n",
                (i + day) as f64 / 40.0,
                i * day,
                ["a", "b", "c"][i % 3]
            ));
        }
        std::fs::write(ws.root.join(format!("data/cur_2024-04-0{day}.csv")), cur).expect("current");
    }
    ws
}

//! Daily quarantine of unreadable rows (issue 10 #2) through the real binary on a tiny workspace:
//! rows whose value cannot be read go to `<workspace>/quarantine/<model>/<date>/<run_id>.csv`
//! byte for byte with `line` and `reason`; the run goes on up to `max_quarantined_share` and its
//! PSI is exactly the PSI of the kept rows; above the share it fails naming the count and reasons;
//! structural faults still fail; hostile inputs end in a clear failure or a quarantine, never in
//! a silent PSI change.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rusqlite::{Connection, OpenFlags, params};

struct Ws {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Ws {
    /// Model `m1`: daily files `data/cur_{date}.csv` (id, score, x numeric, c categorical),
    /// `max_quarantined_share` 0.05 by override; `m2` the same files with the default 0.01.
    fn new() -> Ws {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("ws");
        for d in ["config", "data", "benchmarks/vs/m1", "benchmarks/vs/m2"] {
            std::fs::create_dir_all(root.join(d)).expect("mkdir");
        }
        std::fs::write(
            root.join("config/driftdeck.toml"),
            "[workspace]\nname = \"q\"\n\n[retry]\nattempts = 1\ndelay_seconds = 0\n\n\
             [quality]\nhistory_runs = 0\nrange_tolerance = -1\nmax_missing_share = 1\n",
        )
        .expect("toml");
        let model = |id: &str, extra: &str| {
            format!(
                "  - id: {id}\n    value_stream: vs\n    owner: tests\n    schedule: \"0 6 * * *\"\n    \
                 score: score\n    characteristics:\n      - {{ name: x, kind: numeric }}\n      \
                 - {{ name: c, kind: categorical }}\n    current:\n      path: data/cur_{{date}}.csv\n{extra}"
            )
        };
        std::fs::write(
            root.join("config/models.yaml"),
            format!(
                "models:\n{}{}",
                model("m1", "    quality:\n      max_quarantined_share: 0.05\n"),
                model("m2", "")
            ),
        )
        .expect("yaml");
        let mut bench = String::from("score,x,c\n");
        for i in 0..200 {
            bench.push_str(&format!(
                "{},{},{}\n",
                i as f64 / 200.0,
                i % 37,
                ["a", "b", "c"][i % 3]
            ));
        }
        for m in ["m1", "m2"] {
            std::fs::write(
                root.join(format!("benchmarks/vs/{m}/benchmark.csv")),
                &bench,
            )
            .expect("bench");
        }
        Ws { _dir: dir, root }
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_driftdeck"));
        cmd.env("RUST_BACKTRACE", "0")
            .env("RUST_LIB_BACKTRACE", "0")
            .env("NO_COLOR", "1");
        for k in [
            "DRIFTDECK_CONFIG",
            "DRIFTDECK_LOG",
            "DRIFTDECK_JOB_LOG",
            "THRESHOLD",
        ] {
            cmd.env_remove(k);
        }
        cmd.arg("--config")
            .arg(self.root.join("config/driftdeck.toml"))
            .args(args)
            .output()
            .expect("driftdeck runs")
    }

    fn write(&self, date: &str, body: &[u8]) {
        std::fs::write(self.root.join(format!("data/cur_{date}.csv")), body).expect("write");
    }

    fn db(&self) -> Connection {
        Connection::open_with_flags(
            self.root.join("driftdeck.sqlite"),
            OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .expect("open store")
    }

    fn psi(&self, model: &str, date: &str) -> Option<f64> {
        self.db()
            .query_row(
                "SELECT psi_score FROM PCI_CSI_RESULTS WHERE model_id = ?1 AND calculation_date = ?2",
                params![model, date],
                |r| r.get(0),
            )
            .ok()
    }

    /// (run_id, rows_current) of the newest attempt of a model on a date.
    fn last_run(&self, model: &str, date: &str) -> (String, Option<i64>) {
        self.db()
            .query_row(
                "SELECT run_id, rows_current FROM PCI_CSI_RUNS WHERE model_id = ?1
                 AND calculation_date = ?2 ORDER BY started_at DESC, attempt DESC LIMIT 1",
                params![model, date],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("a run")
    }

    /// (check, severity, message) of the quarantine findings of a run.
    fn quarantine_findings(&self, run_id: &str) -> Vec<(String, String)> {
        let db = self.db();
        let mut st = db
            .prepare(
                "SELECT severity, message FROM PCI_CSI_FINDINGS
                 WHERE run_id = ?1 AND check_name = 'quarantine' ORDER BY attempt, seq",
            )
            .expect("prepare");
        st.query_map(params![run_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    }

    fn quarantine_file(&self, model: &str, date: &str, run_id: &str) -> PathBuf {
        self.root
            .join("quarantine")
            .join(model)
            .join(date)
            .join(format!("{run_id}.csv"))
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `rows` clean lines (header included as line 1).
fn clean(rows: usize) -> Vec<String> {
    let mut lines = vec!["id,score,x,c".to_string()];
    for i in 0..rows {
        lines.push(format!(
            "k{i},{},{},{}",
            (i * 7 % rows) as f64 / rows as f64,
            i % 41,
            ["a", "b", "c", "d"][i % 4]
        ));
    }
    lines
}

fn body(lines: &[String]) -> Vec<u8> {
    let mut s = lines.join("\n");
    s.push('\n');
    s.into_bytes()
}

/// The data lines of a quarantine file: (line number, the line without the added columns).
fn quarantined_lines(file: &Path, input: &[String]) -> Vec<usize> {
    let text = std::fs::read_to_string(file).expect("quarantine file");
    let mut out = Vec::new();
    let mut it = text.lines();
    assert_eq!(
        it.next(),
        Some(format!("{},line,reason", input[0]).as_str())
    );
    for l in it {
        // The original line, then `,<line>,<reason>`: find the line whose bytes prefix it.
        let n = input
            .iter()
            .enumerate()
            .skip(1)
            .find(|(i, orig)| l.starts_with(&format!("{orig},{},", i + 1)))
            .map(|(i, _)| i + 1)
            .unwrap_or_else(|| panic!("{l:?} is not an input line plus its line number"));
        out.push(n);
    }
    out
}

#[test]
fn bad_rows_within_the_limit_are_quarantined_and_the_psi_is_that_of_the_kept_rows() {
    let ws = Ws::new();
    let mut lines = clean(100);
    lines[5] = "k4,oops,3,a".into(); // text in the score
    lines[9] = "k8,0.5,inf,b".into(); // infinite characteristic
    lines[20] = "k19,0.5,3".into(); // a field short
    lines[30] = "k29,0.5,3,a,extra".into(); // a field too many
    ws.write("2024-01-01", &body(&lines));
    let out = ws.run(&["run", "--model", "m1", "--date", "2024-01-01"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (run_id, rows) = ws.last_run("m1", "2024-01-01");
    assert_eq!(rows, Some(96), "4 of 100 rows set aside");
    let file = ws.quarantine_file("m1", "2024-01-01", &run_id);
    assert_eq!(quarantined_lines(&file, &lines), [6, 10, 21, 31]);
    let text = std::fs::read_to_string(&file).expect("read");
    assert!(text.contains("not a number: \"\"oops\"\""), "{text}");
    assert!(text.contains("infinite value"), "{text}");
    assert!(
        text.contains("expected 4 fields (as in the header), found 3"),
        "{text}"
    );
    let f = ws.quarantine_findings(&run_id);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].0, "warn");
    assert!(
        f[0].1.contains("4 of 100 rows") && f[0].1.contains(&run_id),
        "{f:?}"
    );

    // The PSI is exactly that of the kept rows.
    let kept: Vec<String> = lines
        .iter()
        .enumerate()
        .filter(|(i, _)| ![5, 9, 20, 30].contains(i))
        .map(|(_, l)| l.clone())
        .collect();
    ws.write("2024-01-02", &body(&kept));
    let out = ws.run(&["run", "--model", "m1", "--date", "2024-01-02"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(ws.psi("m1", "2024-01-01"), ws.psi("m1", "2024-01-02"));
    assert!(ws.psi("m1", "2024-01-01").is_some());

    // Default limit 1 %: the same file fails m2, naming the count and the first reason; the
    // rows are still kept aside, nothing is written.
    let out = ws.run(&["run", "--model", "m2", "--date", "2024-01-01"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("data-quality check failed")
            && err.contains("4 of 100 rows (4.00%, limit 1.00%) quarantined")
            && err.contains("line 6: column \"score\": not a number"),
        "{err}"
    );
    assert_eq!(ws.psi("m2", "2024-01-01"), None);
    let (run_id, _) = ws.last_run("m2", "2024-01-01");
    assert_eq!(ws.quarantine_findings(&run_id)[0].0, "fail");
    assert!(ws.quarantine_file("m2", "2024-01-01", &run_id).is_file());
}

#[test]
fn structural_faults_still_fail_the_run() {
    let ws = Ws::new();
    let cases: [(&str, &[u8], &str); 4] = [
        ("2024-02-01", b"id,score,c\nk1,0.1,a\n", "\"x\""),
        ("2024-02-02", b"id;score;x;c\nk1;0.1;3;a\n", "score"),
        ("2024-02-03", b"", "empty"),
        (
            "2024-02-04",
            b"id,score,x,c\nk1,0.1,3,\"open\n",
            "unterminated quote",
        ),
    ];
    for (date, text, named) in cases {
        ws.write(date, text);
        let out = ws.run(&["run", "--model", "m1", "--date", date]);
        assert!(!out.status.success(), "{date}");
        let err = stderr(&out);
        assert!(err.contains(named), "{date}: {err}");
        assert!(
            !err.contains("panicked") && !err.contains("stack backtrace"),
            "{err}"
        );
    }
    let out = ws.run(&["run", "--model", "m1", "--date", "2024-02-09"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("cur_2024-02-09.csv"),
        "{}",
        stderr(&out)
    );
}

/// Changes some lines of a clean input.
type Corrupt = Box<dyn Fn(&mut Vec<String>)>;

#[test]
fn hostile_inputs_end_in_a_failure_or_a_quarantine_never_a_silent_psi_change() {
    let ws = Ws::new();
    let base = clean(200);
    let hostile: Vec<(&str, Corrupt)> = vec![
        ("text", Box::new(|l| l[3] = "k2,abc,1,a".into())),
        ("inf", Box::new(|l| l[4] = "k3,0.1,-inf,a".into())),
        ("infinity", Box::new(|l| l[4] = "k3,Infinity,1,a".into())),
        ("overflow", Box::new(|l| l[5] = "k4,1e999,1,a".into())),
        ("nul byte", Box::new(|l| l[6] = "k5,0.1\u{0},1,a".into())),
        ("ragged", Box::new(|l| l[7] = "k6".into())),
        ("control", Box::new(|l| l[8] = "k7,\u{1b}[31m,1,a".into())),
        ("comma decimal", Box::new(|l| l[9] = "k8,0,5,1,a".into())),
        ("quoted", Box::new(|l| l[10] = "k9,\"0.5\",1,a".into())),
        ("bidi", Box::new(|l| l[11] = "k10,0.1,1,\u{202e}a".into())),
        (
            "huge value",
            Box::new(|l| l[12] = format!("k11,{},1,a", "9".repeat(5000))),
        ),
        ("space", Box::new(|l| l[13] = "k12, 0.5 ,1,a".into())),
    ];
    for (n, (name, corrupt)) in hostile.iter().enumerate() {
        let date = format!("2024-03-{:02}", n + 1);
        let mut lines = base.clone();
        corrupt(&mut lines);
        ws.write(&date, &body(&lines));
        let out = ws.run(&["run", "--model", "m1", "--date", &date]);
        let err = stderr(&out);
        assert!(
            !err.contains("panicked") && !err.contains("stack backtrace"),
            "{name}: {err}"
        );
        let (run_id, _) = ws.last_run("m1", &date);
        if !out.status.success() {
            assert!(
                err.contains(&format!("cur_{date}.csv")) || err.contains("line"),
                "{name}: {err}"
            );
            continue;
        }
        // Succeeded: the PSI must be that of the lines not quarantined.
        let file = ws.quarantine_file("m1", &date, &run_id);
        let quarantined = if file.exists() {
            assert_eq!(ws.quarantine_findings(&run_id).len(), 1, "{name}");
            quarantined_lines(&file, &lines)
        } else {
            Vec::new()
        };
        let kept: Vec<String> = lines
            .iter()
            .enumerate()
            .filter(|(i, _)| !quarantined.contains(&(i + 1)))
            .map(|(_, l)| l.clone())
            .collect();
        let check = format!("2024-04-{:02}", n + 1);
        ws.write(&check, &body(&kept));
        let out = ws.run(&["run", "--model", "m1", "--date", &check]);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        assert_eq!(
            ws.psi("m1", &date),
            ws.psi("m1", &check),
            "{name}: PSI of the run differs from the PSI of its kept rows"
        );
        // And a corrupted row that was neither quarantined nor failed must read as the clean
        // row did (the quoted number, the padded number).
        if quarantined.is_empty() {
            assert!(
                ["quoted", "space", "bidi"].contains(name),
                "{name}: silently kept"
            );
        }
    }
}

//! Issue 11 on the real binary: numbers bounded with the limit named (#5), bounded backfill dates
//! (#9), escapes from data never reach the terminal or the store (#10), an empty registry is an
//! error for `--all` (#11), secret-looking values and file contents are not echoed (#13).

mod common;
#[path = "support/reliab_ws.rs"]
mod reliab_ws;

use std::path::{Path, PathBuf};
use std::process::Output;

use reliab_ws::{Ws, stderr_of};

/// Fails (not a panic: exit code 1 or clap's 2, never 101) and says all of `needles`.
fn assert_refused(out: &Output, needles: &[&str]) -> String {
    let err = stderr_of(out);
    let code = out.status.code();
    assert!(
        matches!(code, Some(1) | Some(2)),
        "expected a clean refusal, got {code:?}:\n{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    for n in needles {
        assert!(err.contains(n), "stderr lacks {n:?}:\n{err}");
    }
    err
}

/// Finding 5: every number from the command line and the configuration is bounded, the limit named.
#[test]
fn numbers_from_cli_and_config_are_bounded_with_the_limit_named() {
    let ws = Ws::new();
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "--model", "m1", "--date", "2024-04-01"];
        args.extend_from_slice(extra);
        ws.run(&args)
    };
    assert_refused(
        &run(&["--retry-delay", "1e20"]),
        &["--retry-delay", "86400"],
    );
    assert_refused(&run(&["--retry-delay", "NaN"]), &["--retry-delay", "86400"]);
    assert_refused(&run(&["--retry-delay=-1"]), &["--retry-delay", "86400"]);
    assert_refused(&run(&["--attempts", "4294967295"]), &["--attempts", "20"]);
    assert_refused(&run(&["--attempts", "0"]), &["--attempts", "20"]);
    let backfill = |extra: &[&str]| {
        let mut args = vec![
            "backfill",
            "--all",
            "--from",
            "2024-04-01",
            "--to",
            "2024-04-02",
        ];
        args.extend_from_slice(extra);
        ws.run(&args)
    };
    assert_refused(
        &backfill(&["--concurrency", "1000000"]),
        &["--concurrency", "64"],
    );
    assert_refused(&backfill(&["--concurrency", "0"]), &["--concurrency", "64"]);
    assert_refused(
        &ws.run(&["schedule", "--list", "1000000000"]),
        &["--list", "10000"],
    );
    assert_eq!(ws.count("SELECT COUNT(*) FROM PCI_CSI_RUNS"), 0);

    for (toml, key, limit) in [
        (
            "[retry]\ndelay_seconds = 18446744073709551615",
            "retry.delay_seconds",
            "86400",
        ),
        ("[retry]\nattempts = 4294967295", "retry.attempts", "20"),
        (
            "[orchestrator]\nconcurrency = 1000000",
            "orchestrator.concurrency",
            "64",
        ),
    ] {
        ws.set_toml(toml);
        for cmd in [
            &["status"][..],
            &["info"],
            &["run", "--all", "--date", "2024-04-01"],
        ] {
            assert_refused(&ws.run(cmd), &[key, limit]);
        }
    }
}

/// Finding 9: dates outside 1900..=2200 and ranges over 3,660 days (without --large) are refused
/// before anything is written.
#[test]
fn backfill_dates_and_ranges_are_bounded() {
    let ws = Ws::new();
    for (from, to) in [
        ("-9999-01-01", "9999-12-31"),
        ("0000-01-01", "0000-01-02"),
        ("+10000-01-01", "+10000-01-02"),
        ("1899-12-31", "1900-01-01"),
        ("2200-12-31", "2201-01-01"),
    ] {
        let from_arg = format!("--from={from}");
        let to_arg = format!("--to={to}");
        let out = ws.run(&["backfill", "--all", &from_arg, &to_arg, "--large"]);
        let err = assert_refused(&out, &[]);
        assert!(
            err.contains("1900..=2200") || err.contains("YYYY-MM-DD"),
            "{from}..{to}: {err}"
        );
    }
    let out = ws.run(&[
        "backfill",
        "--all",
        "--from",
        "2000-01-01",
        "--to",
        "2013-12-31",
    ]);
    assert_refused(&out, &["5114 days", "3660", "--large"]);
    let out = ws.run(&["run", "--model", "m1", "--date", "0000-01-01"]);
    assert_refused(&out, &[]);
    assert_eq!(ws.count("SELECT COUNT(*) FROM PCI_CSI_RUNS"), 0);
}

/// Finding 11: `run --all` and `backfill --all` over an empty or comment-only registry fail with
/// a message naming the registry file.
#[test]
fn all_over_an_empty_registry_fails_clearly() {
    let ws = Ws::new();
    let models = ws.root.join("config/models.yaml");
    for text in ["", "# nothing here yet\n# - id: m1\n", "models: []\n"] {
        std::fs::write(&models, text).expect("yaml");
        for args in [
            &["run", "--all", "--date", "2024-04-01"][..],
            &[
                "backfill",
                "--all",
                "--from",
                "2024-04-01",
                "--to",
                "2024-04-02",
            ],
        ] {
            let out = ws.run(args);
            let err = stderr_of(&out);
            assert!(
                !out.status.success(),
                "{args:?} over {text:?} must fail:\n{err}"
            );
            assert!(
                err.contains("models.yaml") && err.contains("no model"),
                "{args:?} over {text:?}:\n{err}"
            );
        }
    }
}

/// Finding 10: a current file whose header holds terminal escapes makes `run` fail without
/// writing one escape byte to stderr or to the stored error.
#[test]
fn escapes_in_data_never_reach_the_terminal_or_the_store() {
    let ws = Ws::new();
    let mut cur = String::from("score,x,\u{1b}]2;pwned\u{7}\u{1b}[2Jc\n");
    for i in 0..30 {
        cur.push_str(&format!("{},{},a\n", i as f64 / 30.0, i));
    }
    std::fs::write(ws.root.join("data/cur_2024-04-01.csv"), cur).expect("write");
    let out = ws.run(&["run", "--model", "m1", "--date", "2024-04-01"]);
    assert!(!out.status.success());
    let raw = [out.stdout.as_slice(), out.stderr.as_slice()].concat();
    assert!(
        !raw.contains(&0x1b) && !raw.contains(&0x07),
        "escape bytes reached the terminal:\n{}",
        String::from_utf8_lossy(&raw).escape_debug()
    );
    assert!(stderr_of(&out).contains("\\u{1b}"), "{}", stderr_of(&out));
    let stored: String = ws
        .db()
        .query_row("SELECT error FROM PCI_CSI_RUNS", [], |r| r.get(0))
        .expect("stored error");
    assert!(
        !stored.contains('\u{1b}') && !stored.contains('\u{7}'),
        "{stored:?}"
    );
}

fn files_containing(root: &Path, needle: &str, except: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p != except
                && std::fs::read(&p)
                    .is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
            {
                out.push(p);
            }
        }
    }
    out
}

/// Finding 13: a URL where a variable name belongs is not echoed, and a benchmark override
/// pointing at an unrelated file does not copy that file's first line into stderr, the store or
/// the outbox.
#[test]
fn secret_looking_values_and_file_contents_are_not_echoed() {
    let ws = Ws::new();
    let webhook = "https://hooks.slack.com/services/T0AAAA/B0BBBB/s3cr3tT0k3nXXXXXXXXXXXX";
    ws.set_toml(&format!("[notify]\nslack_webhook_env = \"{webhook}\""));
    let out = ws.run(&["status"]);
    let err = assert_refused(&out, &["notify.slack_webhook_env", "withheld"]);
    assert!(
        !err.contains("s3cr3t") && !err.contains("hooks.slack.com"),
        "{err}"
    );

    ws.set_toml("[retry]\nattempts = 1\ndelay_seconds = 0");
    let bait = ws.root.join("credentials.txt");
    std::fs::write(
        &bait,
        "db_password=hunter2hunter2,aws_secret_access_key=wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY\nrow,2\n",
    )
    .expect("bait");
    std::fs::write(
        ws.root.join("data/cur_2024-04-01.csv"),
        "score,x,c\n0.1,1,a\n",
    )
    .expect("current");
    let out = ws.run_env(
        &["run", "--model", "m1", "--date", "2024-04-01"],
        &[("MODEL_M1_BENCHMARKING_PATH", bait.to_str().expect("utf-8"))],
    );
    assert!(!out.status.success());
    let err = stderr_of(&out);
    for secret in ["hunter2", "wJalrXUtnFEMI"] {
        assert!(!err.contains(secret), "stderr echoes {secret}:\n{err}");
        let leaked = files_containing(&ws.root, secret, &bait);
        assert!(leaked.is_empty(), "{secret} copied into {leaked:?}");
    }
    assert_eq!(ws.count("SELECT COUNT(*) FROM PCI_CSI_RUNS"), 1);
}

/// Finding 14: a corrupt or inconsistent `benchmark.profile.json` is rebuilt from the benchmark
/// (logged) instead of failing every run of the model until someone deletes it.
#[test]
fn corrupt_profile_is_rebuilt_from_the_benchmark() {
    let ws = Ws::new();
    let mut cur = String::from("score,x,c\n");
    for i in 0..30 {
        cur.push_str(&format!(
            "{},{},{}\n",
            i as f64 / 30.0,
            i * 4,
            ["a", "b"][i % 2]
        ));
    }
    std::fs::write(ws.root.join("data/cur_2024-04-01.csv"), cur).expect("current");
    let args = ["run", "--model", "m1", "--date", "2024-04-01"];
    let first = ws.run(&args);
    assert!(first.status.success(), "{}", stderr_of(&first));
    let profile = ws.root.join("benchmarks/vs/m1/benchmark.profile.json");
    let good = std::fs::read_to_string(&profile).expect("profile written");
    let counts = good
        .find("\"expected_counts\"")
        .expect("counts in the profile");
    let mut inconsistent = good.clone();
    inconsistent.insert_str(
        counts + "\"expected_counts\": [".len(),
        "18446744073709551615, ",
    );
    for corrupt in [
        "{ \"truncated\": ".to_string(),
        String::new(),
        "[1, 2, 3]".to_string(),
        inconsistent,
    ] {
        std::fs::write(&profile, &corrupt).expect("corrupt the profile");
        let out = ws.run(&args);
        let err = stderr_of(&out);
        assert!(out.status.success(), "profile {corrupt:.40?}: {err}");
        assert!(err.contains("profile_rebuilt"), "rebuild is logged: {err}");
        let rebuilt = std::fs::read_to_string(&profile).expect("profile");
        assert!(rebuilt.contains("\"expected_counts\""), "profile rewritten");
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// Finding 15: `status` does not silently migrate a 0-byte store file into a new store.
#[test]
fn status_refuses_a_zero_byte_store_without_writing() {
    let ws = Ws::new();
    let db = ws.root.join("driftdeck.sqlite");
    std::fs::write(&db, b"").expect("0-byte store");
    let out = ws.run(&["status"]);
    assert_refused(&out, &["driftdeck.sqlite", "0 bytes"]);
    assert_eq!(std::fs::metadata(&db).expect("still there").len(), 0);
}

/// Finding 7: a manual CLI run is audited with the OS user (not `$USER`) and that user's
/// configured role; the claimed `--triggered-by` is kept beside it.
#[test]
fn cli_runs_are_audited_with_the_os_user_and_the_claimed_name_beside_it() {
    let ws = Ws::new();
    let real = driftdeck::identity::os_user();
    ws.set_toml(&format!(
        "[retry]\nattempts = 1\ndelay_seconds = 0\n\n[roles]\ndefault = \"viewer\"\n\n[roles.users]\nadmin = \"admin\"\n{real:?} = \"operator\""
    ));
    let out = ws.run_env(
        &[
            "run",
            "--model",
            "m1",
            "--date",
            "2024-04-01",
            "--triggered-by",
            "mallory",
        ],
        &[("USER", "admin"), ("LOGNAME", "admin")],
    );
    // The run itself fails (no current file): it was still started, so it is audited.
    assert!(!out.status.success());
    let rows: Vec<(String, String, String, String, String)> = {
        let db = ws.db();
        let mut st = db
            .prepare("SELECT user, role, action, target, outcome FROM PCI_CSI_AUDIT")
            .expect("audit table");
        st.query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
    };
    assert_eq!(rows.len(), 1, "{rows:?}");
    let (user, role, action, target, outcome) = &rows[0];
    assert_eq!(user, &real, "the OS user, not $USER=admin");
    assert_eq!(role, "operator");
    assert_eq!(action, "cli-run");
    assert_eq!(target, "m1 2024-04-01");
    assert!(outcome.contains("mallory"), "{outcome}");
}

//! End-to-end test of the console: the real `driftdeck` binary in a tmux pane, driven with keys
//! as a person would, on a demo workspace created in a temporary directory.
//!
//! Steps: the header and models table appear; a model in alert is found and filtered to with
//! `/`; Enter drills into its characteristics and the bins of its worst characteristic; its
//! runs and job log open; `r` reruns the latest date (confirm, run shows ✓, a new attempt row
//! with `triggered_by` = the user in `PCI_CSI_RUNS`); `b` backfills 2013-12-01..2013-12-03
//! through the date-range dialog (three runs show ✓, the models table and trend reach
//! 2013-12-03, `PCI_CSI_RESULTS` holds the three dates); `?` shows the help overlay; the
//! console survives 60×15 and 300×100; `q` quits with status 0 and leaves the alternate screen.
//!
//! Needs tmux (CI installs it). Without tmux the test fails with a message saying so, unless
//! `DRIFTDECK_SKIP_TMUX=1`. With `DRIFTDECK_E2E_SCREENSHOT=PATH` it also writes a 120×40 text
//! capture of the console after the backfill to PATH (the README's `assets/screenshot.txt`).
//!
//! Every wait polls `capture-pane` every 200 ms up to 60 s per step; nothing asserts on time.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::thread::sleep;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_driftdeck");
const STEP_DEADLINE: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(200);
const SESSION: &str = "e2e";
/// `$USER` given to the console, which must ignore it: the console's user (header, role, the
/// runs it starts) is the OS user of the real uid (issue 11 #7).
const FAKE_USER: &str = "e2euser";
const MODEL_PANE_WIDTH_HINT: &str = "1 Models";

/// A private tmux server (its socket inside the test's temporary directory, so parallel tests
/// never share a server; no user config), killed on drop, with the workspace.
struct Tmux {
    socket: PathBuf,
    // Dropped after the server is killed (fields drop after `Drop::drop`).
    _dir: tempfile::TempDir,
}

impl Tmux {
    fn new(dir: tempfile::TempDir) -> Tmux {
        Tmux {
            socket: dir.path().join("tmux.sock"),
            _dir: dir,
        }
    }

    fn cmd(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            // Tests may run inside a tmux session; this server is always the private one.
            .env_remove("TMUX")
            .arg("-S")
            .arg(&self.socket)
            .args(["-f", "/dev/null"])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run tmux {args:?}: {e}"))
    }

    fn ok(&self, args: &[&str]) {
        let out = self.cmd(args);
        assert!(
            out.status.success(),
            "tmux {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Sends tmux key names (`Enter`, `Escape`, `BSpace`, `Tab`, `q`, ...).
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", SESSION];
        args.extend_from_slice(keys);
        self.ok(&args);
    }

    /// Types `text` literally.
    fn type_text(&self, text: &str) {
        self.ok(&["send-keys", "-t", SESSION, "-l", text]);
    }

    fn capture(&self) -> String {
        let out = self.cmd(&["capture-pane", "-t", SESSION, "-p"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Polls the screen until `pred` holds; panics with the last screen after the deadline.
    fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        self.wait_for_within(STEP_DEADLINE, what, pred)
    }

    /// [`Tmux::wait_for`] with its own deadline (the console's first start computes history).
    fn wait_for_within(
        &self,
        deadline: Duration,
        what: &str,
        pred: impl Fn(&str) -> bool,
    ) -> String {
        let start = Instant::now();
        loop {
            let screen = self.capture();
            if pred(&screen) {
                return screen;
            }
            if start.elapsed() > deadline {
                panic!("timed out waiting for {what}; last screen:\n{screen}");
            }
            sleep(POLL);
        }
    }

    /// Waits until every one of `needles` is on screen.
    fn wait_text(&self, needles: &[&str]) -> String {
        self.wait_for(&format!("{needles:?}"), |s| {
            needles.iter().all(|n| s.contains(n))
        })
    }

    fn resize(&self, w: u16, h: u16) {
        self.ok(&[
            "resize-window",
            "-t",
            SESSION,
            "-x",
            &w.to_string(),
            "-y",
            &h.to_string(),
        ]);
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // Kills the console (SIGHUP) and the shell around it; jobs it started are short.
        let _ = self.cmd(&["kill-server"]);
    }
}

fn tmux_available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn driftdeck(args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {BIN}: {e}"));
    assert!(
        out.status.success(),
        "driftdeck {args:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Single-quotes `s` for `sh`.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The models-table part of a screen line (the first `│ … │` segment).
fn left_pane(line: &str) -> &str {
    line.split('│').nth(1).unwrap_or("")
}

/// Text of the pane title starting with `prefix` (up to the border run `─`).
fn title_after<'a>(screen: &'a str, prefix: &str) -> Option<&'a str> {
    let start = screen.find(prefix)? + prefix.len();
    let rest = &screen[start..];
    let end = rest.find(" ─").or_else(|| rest.find('\n'))?;
    Some(rest[..end].trim())
}

/// Lines of the runs pane (below its title) that mention `date` with a finished ✓ status.
fn finished_run_lines<'a>(screen: &'a str, date: &str) -> Vec<&'a str> {
    screen
        .lines()
        .skip_while(|l| !l.contains("5 Runs "))
        .skip(1)
        .map(left_pane)
        .filter(|l| l.starts_with(date) && l.contains("✓ ok"))
        .collect()
}

/// The status line (the last line above the footer).
fn status_line(screen: &str) -> &str {
    screen
        .lines()
        .filter(|l| !l.trim().is_empty())
        .rev()
        .nth(1)
        .unwrap_or("")
}

/// Data rows of the models table (below its title and column header), trimmed.
fn model_rows(screen: &str) -> Vec<&str> {
    screen
        .lines()
        .skip_while(|l| !l.contains("1 Models "))
        .skip(2)
        .take_while(|l| !l.starts_with('└'))
        .map(|l| left_pane(l).trim())
        .filter(|l| !l.is_empty())
        .collect()
}

fn open_store(ws: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(
        ws.join("driftdeck.sqlite"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("open the workspace store")
}

#[test]
fn console_end_to_end_in_tmux() {
    if !tmux_available() {
        if std::env::var("DRIFTDECK_SKIP_TMUX").as_deref() == Ok("1") {
            eprintln!("tmux not installed; skipped because DRIFTDECK_SKIP_TMUX=1");
            return;
        }
        panic!(
            "tmux is not installed: the console end-to-end test drives the real binary in tmux. \
             Install tmux (apt-get install tmux / brew install tmux; CI's .ci/run installs it) \
             or set DRIFTDECK_SKIP_TMUX=1 to skip this test."
        );
    }

    // A demo workspace with a short history through 2013-11-30, built with the CLI.
    let dir = tempfile::tempdir().expect("tempdir");
    let ws: PathBuf = dir.path().join("ws");
    let ws_str = ws.to_str().expect("utf-8 temp path").to_string();
    driftdeck(&["demo", "init", &ws_str]);
    // The on-call story's late feed has arrived (README "On call"), so every demo run computes.
    std::fs::copy(
        driftdeck::demo::late_feed_path(&ws),
        ws.join("data/feeds/lowcost_delay/current_2013-11.csv"),
    )
    .expect("late feed in place");
    let config = ws.join("config").join("driftdeck.toml");
    let config_str = config.to_str().expect("utf-8 config path").to_string();
    let backfill = driftdeck(&[
        "--config",
        &config_str,
        "backfill",
        "--all",
        "--from",
        "2013-11-24",
        "--to",
        "2013-11-30",
    ]);
    assert!(backfill.contains("0 failed"), "{backfill}");

    let tmux = Tmux::new(dir);
    let script = format!(
        "USER={FAKE_USER} LOGNAME={FAKE_USER} {} --config {}; echo EXIT=$?; exec sleep 600",
        sh_quote(BIN),
        sh_quote(&config_str)
    );
    tmux.ok(&[
        "new-session",
        "-d",
        "-s",
        SESSION,
        "-x",
        "160",
        "-y",
        "45",
        &format!("sh -c {}", sh_quote(&script)),
    ]);

    // 1. Header and models table.
    let screen = tmux.wait_for("header and six model rows", |s| {
        s.contains("driftdeck · demo · local · sqlite")
            && s.contains("6 models")
            && s.contains("1 Models 6/6")
            && s.contains("MODEL")
            && s.contains("2013-11-30")
    });
    let user = driftdeck::identity::os_user();
    let user = user.as_str();
    assert!(screen.contains(&format!("{user} (operator)")), "{screen}");
    assert!(
        !screen.contains(FAKE_USER),
        "$USER is not the identity:\n{screen}"
    );

    // 2. A model in alert: the first models-table row with the ✖ marker on its PSI.
    let alert_row = model_rows(&screen)
        .into_iter()
        .find(|l| l.contains("2013-11-30") && l.contains("✖ 0."))
        .unwrap_or_else(|| panic!("no model in alert on the first screen:\n{screen}"))
        .to_string();
    let mut cells = alert_row.split_whitespace();
    let stream = cells.next().expect("value stream cell").to_string();
    let model = cells.next().expect("model cell").to_string();
    tmux.keys(&["/"]);
    tmux.type_text(&model);
    tmux.keys(&["Enter"]);
    let trend_title = format!("2 Trend {stream}/{model} · 2013-11-30 PSI");
    let screen = tmux.wait_text(&[
        "1 Models 1/6",
        &format!("/{model}"),
        &trend_title,
        "✖ alert",
    ]);
    let rows = model_rows(&screen);
    assert_eq!(rows.len(), 1, "filter shows one model:\n{screen}");
    assert!(
        rows[0].contains(&model) && rows[0].contains("✖"),
        "{screen}"
    );

    // 3. Drill down: characteristics (score first, worst first), then the bins of the worst one.
    tmux.keys(&["Enter"]);
    let chars_title = format!("3 Characteristics {stream}/{model} 2013-11-30");
    let screen = tmux.wait_text(&[&chars_title, "score (score)"]);
    // The characteristic below the score row: the worst CSI.
    let worst = screen
        .lines()
        .skip_while(|l| !l.contains(&chars_title))
        .skip(1)
        .filter_map(|l| l.split('│').nth(3))
        .nth(1)
        .and_then(|cell| cell.split_whitespace().nth(1))
        .unwrap_or_else(|| panic!("no characteristic row:\n{screen}"))
        .to_string();
    assert_ne!(worst, "score", "{screen}");
    tmux.keys(&["j", "Enter"]);
    let bins_title = format!("4 Bins of {worst} · expected ░ vs actual █ · CSI");
    let screen = tmux.wait_text(&[&bins_title, "BIN", "EXPECT", "ACTUAL", "CONTRIB"]);
    let bin_labels = screen
        .lines()
        .skip_while(|l| !l.contains(&bins_title))
        .skip(2)
        .filter_map(|l| l.split('│').nth(3))
        .filter(|c| c.trim_start().starts_with('(') && c.contains(','))
        .count();
    assert!(bin_labels >= 3, "bin labels like (a, b] shown:\n{screen}");

    // 4. Runs and the log of the selected run.
    tmux.keys(&["5"]);
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_text(&[&format!("5 Runs {stream}/{model}"), "6 Log "]);
    assert!(
        !finished_run_lines(&screen, "2013-11-30").is_empty(),
        "{screen}"
    );
    let log_title = title_after(&screen, "6 Log ").unwrap_or_default();
    assert!(
        log_title.contains(&model),
        "log of the model's run: {log_title:?}"
    );

    // 5. Rerun the latest date from the keyboard: confirm, ✓ in the runs pane, a new attempt.
    tmux.keys(&["r"]);
    tmux.wait_text(&[
        "Confirm rerun",
        &format!("{stream} / {model}"),
        "2013-11-30",
    ]);
    tmux.keys(&["y"]);
    let screen = tmux.wait_for("the rerun finished (✓, by the user)", |s| {
        finished_run_lines(s, "2013-11-30")
            .iter()
            .any(|l| l.contains(" run ") && l.contains(user))
            && status_line(s).contains("job run-")
            && status_line(s).contains("succeeded")
    });
    // The log pane shows the job that was just started.
    let log_title = title_after(&screen, "6 Log ").unwrap_or_default();
    assert!(log_title.starts_with("run-"), "{screen}");
    tmux.wait_text(&["run succeeded"]);
    {
        let db = open_store(&ws);
        let (by_user, total): (i64, i64) = db
            .query_row(
                "SELECT SUM(triggered_by = ?2 AND action = 'run' AND status = 'succeeded'), \
                 COUNT(*) FROM PCI_CSI_RUNS WHERE model_id = ?1 AND calculation_date = '2013-11-30'",
                rusqlite::params![model, user],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("query PCI_CSI_RUNS");
        assert_eq!(by_user, 1, "one attempt triggered by {user}");
        assert_eq!(total, 2, "the backfill's attempt and the rerun");
    }

    // 6. Backfill three days through the dialog.
    tmux.keys(&["b"]);
    tmux.wait_text(&["Backfill", "from       [", "dry run:"]);
    tmux.keys(&["BSpace"; 10]);
    tmux.type_text("2013-12-01");
    tmux.keys(&["Tab"]);
    tmux.keys(&["BSpace"; 10]);
    tmux.type_text("2013-12-03");
    tmux.wait_text(&[
        "[2013-12-01]",
        "dry run: 3 run(s) will start",
        "2013-12-01, 2013-12-02, 2013-12-03",
        "existing  0 already stored",
    ]);
    tmux.keys(&["Enter"]);
    tmux.wait_text(&[
        "Confirm backfill",
        "2013-12-01 .. 2013-12-03 (3 days)",
        "3 will start",
    ]);
    tmux.keys(&["y"]);
    let screen = tmux.wait_for(
        "three backfilled runs finished and the table at 2013-12-03",
        |s| {
            ["2013-12-01", "2013-12-02", "2013-12-03"]
                .iter()
                .all(|d| !finished_run_lines(s, d).is_empty())
                && s.lines()
                    .map(left_pane)
                    .any(|l| l.contains(&model) && l.contains("2013-12-03"))
                && status_line(s).contains("job backfill-")
                && status_line(s).contains("succeeded")
        },
    );
    assert!(!status_line(&screen).contains("failed"), "{screen}");
    {
        let db = open_store(&ws);
        let dates: Vec<String> = db
            .prepare(
                "SELECT calculation_date FROM PCI_CSI_RESULTS WHERE model_id = ?1 \
                 AND calculation_date >= '2013-12-01' ORDER BY calculation_date",
            )
            .and_then(|mut st| {
                st.query_map([&model], |r| r.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()
            })
            .expect("query PCI_CSI_RESULTS");
        assert_eq!(dates, ["2013-12-01", "2013-12-02", "2013-12-03"]);
    }
    // The trend reaches the new dates: its axis ends at 2013-12-03 and the date cursor walks
    // onto the new points.
    tmux.keys(&["2"]);
    tmux.keys(&["l", "l", "l"]);
    tmux.wait_text(&[
        &format!("2 Trend {stream}/{model} · 2013-12-03 PSI"),
        &format!("3 Characteristics {stream}/{model} 2013-12-03"),
        "2013-11-24",
    ]);

    // 6b. A benchmark refresh from the CLI shows in the refresh view (`B`): the good models
    // replaced, the demo's damaged extract rejected with its quarantine file; `u` on a replaced
    // model names the version it would restore, and an operator's rollback is refused.
    let refresh = Command::new(BIN)
        .args(["--config", &config_str, "refresh-benchmarks", "--all"])
        .output()
        .expect("refresh-benchmarks runs");
    let refreshed = String::from_utf8_lossy(&refresh.stdout);
    assert!(refreshed.contains("1 rejected"), "{refreshed}");
    tmux.keys(&["B"]);
    tmux.wait_text(&[
        "Benchmark refreshes",
        "carriers/regional_delay",
        "rejected",
        "replaced",
        "quarantine: ",
        "fail quarantined_share",
    ]);
    for _ in 0..12 {
        let s = tmux.capture();
        if s.lines()
            .any(|l| l.contains("▸ ") && l.contains(" replaced "))
        {
            break;
        }
        tmux.keys(&["j"]);
        std::thread::sleep(POLL);
    }
    tmux.wait_for(
        "a replaced model selected, its rollback version named",
        |s| {
            s.lines()
                .any(|l| l.contains("▸ ") && l.contains(" replaced "))
                && s.contains("u roll back ")
                && s.contains(" to version ")
        },
    );
    tmux.keys(&["u"]);
    tmux.wait_text(&[
        "Confirm rollback",
        "restores   version ",
        "will be denied: rollback needs the admin role",
    ]);
    tmux.keys(&["y"]);
    tmux.wait_for("the operator's rollback refused", |s| {
        status_line(s).contains("denied: rollback needs the admin role")
    });
    {
        let db = open_store(&ws);
        let denied: i64 = db
            .query_row(
                "SELECT COUNT(*) FROM PCI_CSI_AUDIT WHERE action = 'rollback' AND outcome LIKE 'denied%'",
                [],
                |r| r.get(0),
            )
            .expect("query PCI_CSI_AUDIT");
        assert_eq!(denied, 1);
    }

    // 7. Help overlay opens and closes.
    tmux.keys(&["?"]);
    tmux.wait_text(&["Keys (esc closes)", "rerun", "backfill"]);
    tmux.keys(&["Escape"]);
    tmux.wait_for("help closed", |s| !s.contains("Keys (esc closes)"));

    // 8. A clean 120×40 screen: every model, no filter, no status message.
    tmux.keys(&["1", "Escape"]);
    tmux.wait_text(&["1 Models 6/6"]);
    tmux.keys(&["Escape"]);
    tmux.resize(120, 40);
    let shot = tmux.wait_for("a 120×40 frame", |s| {
        s.lines().count() >= 39
            && s.lines().all(|l| l.chars().count() <= 120)
            && s.contains("1 Models 6/6")
            && !status_line(s).contains("succeeded")
    });
    if let Ok(path) = std::env::var("DRIFTDECK_E2E_SCREENSHOT") {
        let trimmed: String = shot
            .lines()
            .map(|l| format!("{}\n", l.trim_end()))
            .collect();
        std::fs::write(&path, trimmed).expect("write the screenshot");
    }

    // 9. Resizes: tiny and huge; the console keeps rendering and keeps running.
    tmux.resize(60, 15);
    let screen = tmux.wait_for("a 60×15 frame", |s| {
        s.contains("driftdeck") && s.lines().all(|l| l.chars().count() <= 60)
    });
    assert!(!screen.contains("EXIT="), "{screen}");
    tmux.resize(300, 100);
    let screen = tmux.wait_for("a 300×100 frame", |s| {
        s.contains(MODEL_PANE_WIDTH_HINT)
            && s.contains("TREND")
            && s.lines().any(|l| l.chars().count() > 200)
    });
    assert!(!screen.contains("EXIT="), "{screen}");
    tmux.resize(160, 45);
    tmux.wait_text(&[MODEL_PANE_WIDTH_HINT]);

    // 10. Quit: clean exit, terminal restored (the alternate screen is gone).
    tmux.keys(&["q"]);
    let screen = tmux.wait_for("the console exited", |s| {
        if s.contains("Quit?") {
            // Jobs from this console still running: confirm.
            let _ = tmux.cmd(&["send-keys", "-t", SESSION, "y"]);
        }
        s.contains("EXIT=")
    });
    assert!(screen.contains("EXIT=0"), "exit status 0:\n{screen}");
    assert!(
        !screen.contains(MODEL_PANE_WIDTH_HINT) && !screen.contains("driftdeck · demo"),
        "the console's screen is gone after quitting:\n{screen}"
    );
}

/// The README tour "On call: from red to green", key for key, on the demo as the console's first
/// start builds it (`demo init`, then the console computes the history up to 2013-11-30 with the
/// configured 3 attempts and no retry wait): the red row, `a`, the runs pane with the three failed
/// attempts and their recorded finding, the quarantine of `regional_delay` (finding on screen,
/// file on disk), the late feed copied in, `r` `y` on the failed run, and the model green.
#[test]
fn console_on_call_tour_from_red_to_green_in_tmux() {
    if !tmux_available() {
        if std::env::var("DRIFTDECK_SKIP_TMUX").as_deref() == Ok("1") {
            eprintln!("tmux not installed; skipped because DRIFTDECK_SKIP_TMUX=1");
            return;
        }
        panic!("tmux is not installed (CI's .ci/run installs it); DRIFTDECK_SKIP_TMUX=1 skips");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let ws: PathBuf = dir.path().join("ws");
    let ws_str = ws.to_str().expect("utf-8 temp path").to_string();
    driftdeck(&["demo", "init", &ws_str]);
    let config = ws.join("config").join("driftdeck.toml");
    let config_str = config.to_str().expect("utf-8 config path").to_string();
    let tmux = Tmux::new(dir);
    let script = format!(
        "{} --config {}; echo EXIT=$?; exec sleep 600",
        sh_quote(BIN),
        sh_quote(&config_str)
    );
    tmux.ok(&[
        "new-session",
        "-d",
        "-s",
        SESSION,
        "-x",
        "200",
        "-y",
        "50",
        &format!("sh -c {}", sh_quote(&script)),
    ]);

    // 1. The red row: lowcost_delay failed (its latest result is 2013-11-29), on top.
    let screen = tmux.wait_for_within(
        Duration::from_secs(600),
        "the demo history and the red row",
        |s| s.contains("✗ 1 failed") && s.contains("1 Models 6/6"),
    );
    let rows = model_rows(&screen);
    assert!(
        rows[0].contains("lowcost_delay")
            && rows[0].contains("2013-11-29")
            && rows[0].contains("✗ FAIL")
            && rows[0].contains("Q✗"),
        "{screen}"
    );
    for m in ["legacy_delay", "regional_delay"] {
        assert!(
            rows.iter().any(|r| r.contains(m) && r.contains("Q!")),
            "{m} has a warning:\n{screen}"
        );
    }

    // 2. `a`: needs attention only.
    tmux.keys(&["a"]);
    let screen = tmux.wait_text(&["needs attention"]);
    let rows = model_rows(&screen);
    assert!(rows[0].contains("lowcost_delay"), "{screen}");
    assert!(
        rows.iter().all(|r| !r.contains("lga_delay")),
        "lga_delay (warn band only) is filtered out:\n{screen}"
    );

    // 3. Runs pane: three failed attempts and the recorded finding of the selected one.
    tmux.keys(&["5"]);
    let screen = tmux.wait_text(&[
        "5 Runs carriers/lowcost_delay",
        "6 Log demo-lowcost_delay-2013-11-30#3",
        "Q✗ window_coverage [2013-11-30]: no rows for 2013-11-30",
    ]);
    let runs: Vec<&str> = screen
        .lines()
        .skip_while(|l| !l.contains("5 Runs "))
        .skip(2)
        .map(left_pane)
        .filter(|l| l.starts_with("2013-11-30"))
        .collect();
    assert!(
        runs.len() == 3
            && runs[0].contains("✗ FAIL  3/3")
            && runs[1].contains("↻ retry 2/3")
            && runs[2].contains("↻ retry 1/3"),
        "{screen}"
    );

    // 4. The quarantine of regional_delay: its file holds the six unreadable lines.
    let qdir = ws.join("quarantine/regional_delay/2013-11-30");
    let files: Vec<PathBuf> = std::fs::read_dir(&qdir)
        .unwrap_or_else(|e| panic!("{}: {e}", qdir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let text = std::fs::read_to_string(&files[0]).expect("quarantine file");
    assert_eq!(text.lines().count(), 7, "{text}");

    // 5. The late feed arrives (the tour's `cp`).
    std::fs::copy(
        driftdeck::demo::late_feed_path(&ws),
        ws.join("data/feeds/lowcost_delay/current_2013-11.csv"),
    )
    .expect("cp late feed");

    // 6. `r` on the selected failed run, `y`: the model turns green.
    tmux.keys(&["r"]);
    tmux.wait_text(&["Confirm rerun", "carriers / lowcost_delay", "2013-11-30"]);
    tmux.keys(&["y"]);
    let screen = tmux.wait_for("lowcost_delay green on 2013-11-30", |s| {
        s.contains("✗ 0 failed")
            && model_rows(s).iter().any(|r| {
                r.contains("lowcost_delay") && r.contains("2013-11-30") && r.contains("✓ ok")
            })
    });
    assert!(
        finished_run_lines(&screen, "2013-11-30")
            .iter()
            .any(|l| l.contains(" run ")),
        "{screen}"
    );
}

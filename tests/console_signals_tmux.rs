//! Issue 11, finding 2: SIGTERM, SIGHUP and SIGINT sent to the console restore the terminal
//! like `q`: after the console exits, `stty -a` of its terminal shows `icanon echo isig opost`,
//! tmux reports the alternate screen off and the cursor visible.
//!
//! The real binary runs in a private tmux server (socket in a temporary directory). Needs tmux
//! (CI installs it); without tmux the test fails with a message saying so, unless
//! `DRIFTDECK_SKIP_TMUX=1`. Every wait polls every 200 ms up to 60 s; nothing asserts on time.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::thread::sleep;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_driftdeck");
const STEP_DEADLINE: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(200);

struct Tmux {
    socket: PathBuf,
}

impl Tmux {
    fn cmd(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .env_remove("TMUX")
            .arg("-S")
            .arg(&self.socket)
            .args(["-f", "/dev/null"])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run tmux {args:?}: {e}"))
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.cmd(args);
        assert!(
            out.status.success(),
            "tmux {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn wait_for(&self, session: &str, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.ok(&["capture-pane", "-t", session, "-p"]);
            if pred(&screen) {
                return screen;
            }
            if start.elapsed() > STEP_DEADLINE {
                panic!("timed out waiting for {what}; last screen:\n{screen}");
            }
            sleep(POLL);
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn driftdeck(args: &[&str]) {
    let out = Command::new(BIN)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {BIN}: {e}"));
    assert!(
        out.status.success(),
        "driftdeck {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn wait_file(path: &Path) -> String {
    let start = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && !text.trim().is_empty()
        {
            return text;
        }
        assert!(
            start.elapsed() < STEP_DEADLINE,
            "{} never written",
            path.display()
        );
        sleep(POLL);
    }
}

#[test]
fn termination_signals_restore_the_terminal_like_q() {
    if Command::new("tmux").arg("-V").output().is_err() {
        if std::env::var("DRIFTDECK_SKIP_TMUX").as_deref() == Ok("1") {
            eprintln!("tmux not installed; skipped because DRIFTDECK_SKIP_TMUX=1");
            return;
        }
        panic!("tmux is not installed (CI's .ci/run installs it); DRIFTDECK_SKIP_TMUX=1 skips");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let ws = dir.path().join("ws");
    let ws_str = ws.to_str().expect("utf-8 path").to_string();
    driftdeck(&["demo", "init", &ws_str]);
    // The on-call story's late feed has arrived (README "On call"), so every demo run computes.
    std::fs::copy(
        driftdeck::demo::late_feed_path(&ws),
        ws.join("data/feeds/lowcost_delay/current_2013-11.csv"),
    )
    .expect("late feed in place");
    let config = ws.join("config").join("driftdeck.toml");
    let config_str = config.to_str().expect("utf-8 path").to_string();
    // One stored day, so the console does not backfill the demo year at start.
    driftdeck(&[
        "--config",
        &config_str,
        "backfill",
        "--all",
        "--from",
        "2013-11-30",
        "--to",
        "2013-11-30",
    ]);
    let tmux = Tmux {
        socket: dir.path().join("tmux.sock"),
    };
    // A session that outlives the tested ones: the server exits when its last session ends.
    tmux.ok(&["new-session", "-d", "-s", "keep", "sleep 600"]);
    for sig in ["TERM", "HUP", "INT"] {
        let session = format!("sig{sig}");
        let pid_file = dir.path().join(format!("{sig}.pid"));
        let stty_file = dir.path().join(format!("{sig}.stty"));
        let inner = format!(
            "echo $$ > {}; exec {} --config {}",
            sh_quote(pid_file.to_str().expect("utf-8")),
            sh_quote(BIN),
            sh_quote(&config_str)
        );
        let script = format!(
            "sh -c {}; echo EXIT=$?; stty -a > {}; exec sleep 600",
            sh_quote(&inner),
            sh_quote(stty_file.to_str().expect("utf-8"))
        );
        tmux.ok(&[
            "new-session",
            "-d",
            "-s",
            &session,
            "-x",
            "140",
            "-y",
            "40",
            &format!("sh -c {}", sh_quote(&script)),
        ]);
        tmux.wait_for(&session, "the console's models table", |s| {
            s.contains("1 Models") && s.contains("2013-11-30")
        });
        let pid = wait_file(&pid_file).trim().to_string();
        let killed = Command::new("kill")
            .args([&format!("-{sig}"), &pid])
            .status()
            .expect("run kill");
        assert!(killed.success(), "kill -{sig} {pid}");
        let screen = tmux.wait_for(&session, "the console exited", |s| s.contains("EXIT="));
        assert!(
            !screen.contains("1 Models"),
            "SIG{sig}: the console's screen is gone:\n{screen}"
        );
        let stty = wait_file(&stty_file);
        let flags: Vec<&str> = stty.split_whitespace().collect();
        for flag in ["icanon", "echo", "isig", "opost"] {
            assert!(
                flags.contains(&flag),
                "SIG{sig}: terminal left with -{flag} (raw mode):\n{stty}"
            );
        }
        let state = tmux.ok(&[
            "display-message",
            "-p",
            "-t",
            &session,
            "#{alternate_on} #{cursor_flag}",
        ]);
        assert_eq!(
            state.trim(),
            "0 1",
            "SIG{sig}: alternate screen off and cursor visible (alternate_on cursor_flag)"
        );
        tmux.ok(&["kill-session", "-t", &session]);
    }
}

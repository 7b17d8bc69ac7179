//! The demo's on-call story (issue 10 item 5): the workspace the console opens on (`demo init`
//! plus the first start's backfill up to 2013-11-30) holds a model whose latest run failed after
//! its retries, a model with a quality warning and a model with quarantined rows, all visible in
//! the real store and in the real binary's `status --json`; copying the late feed and rerunning
//! the failed date turns the model green.

use std::path::Path;
use std::process::Command;

use driftdeck::demo;
use driftdeck::domain::RunStatus;
use serde_json::Value;

fn status_json(ws: &Path) -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_driftdeck"))
        .arg("--config")
        .arg(demo::config_path(ws))
        .args(["status", "--json"])
        .env("NO_COLOR", "1")
        .output()
        .expect("run driftdeck");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("status --json is JSON");
    // `{store, pending, models: [...]}`.
    match v {
        Value::Object(mut o) => match o.remove("models") {
            Some(Value::Array(rows)) => rows,
            other => panic!("status --json without a models array: {other:?}"),
        },
        other => panic!("status --json is not an object: {other}"),
    }
}

fn row<'a>(rows: &'a [Value], model: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["model_id"] == model)
        .unwrap_or_else(|| panic!("no status row for {model}: {rows:?}"))
}

fn checks(row: &Value) -> Vec<(String, String)> {
    row["findings"]
        .as_array()
        .map(|f| {
            f.iter()
                .map(|x| {
                    (
                        x["check"].as_str().unwrap_or_default().to_string(),
                        x["severity"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn demo_opens_on_the_on_call_story_and_the_late_feed_turns_it_green() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("demo");
    demo::init(&dir, false, &|_| {}).expect("demo init");
    let ws =
        driftdeck::jobs::setup::Workspace::open(Some(&demo::config_path(&dir))).expect("workspace");
    let summary =
        demo::backfill_year(&ws, Some(demo::console_history_to()), &|_| {}).expect("backfill");
    // Only the truncated feed fails: 2013-11-30 of lowcost_delay, nothing else.
    let failed: Vec<(String, String)> = summary
        .failures
        .iter()
        .map(|(m, d, _)| (m.to_string(), d.to_string()))
        .collect();
    assert_eq!(
        failed,
        vec![(
            demo::TRUNCATED_FEED_MODEL.to_string(),
            "2013-11-30".to_string()
        )]
    );

    // The failed run: attempts 1 and 2 retrying, 3 failed, each with the missing day named.
    let runs = ws
        .ctx
        .store
        .runs(Some(demo::TRUNCATED_FEED_MODEL), 10)
        .expect("runs");
    let last_day: Vec<_> = runs
        .iter()
        .filter(|r| r.calculation_date.to_string() == "2013-11-30")
        .collect();
    assert_eq!(last_day.len(), 3, "{last_day:?}");
    for r in &last_day {
        let expected = if r.attempt == 3 {
            RunStatus::Failed
        } else {
            RunStatus::Retrying
        };
        assert_eq!(r.status, expected, "{r:?}");
        assert_eq!(r.max_attempts, 3, "{r:?}");
        let e = r.error.as_deref().unwrap_or_default();
        assert!(e.contains("no rows for 2013-11-30"), "{e}");
    }
    let mut attempts: Vec<u32> = last_day.iter().map(|r| r.attempt).collect();
    attempts.sort();
    assert_eq!(attempts, vec![1, 2, 3]);

    let rows = status_json(&dir);
    // The failed model's latest result is still 2013-11-29 (nothing was written for the 30th).
    let lowcost = row(&rows, demo::TRUNCATED_FEED_MODEL);
    assert_eq!(lowcost["last_date"], "2013-11-29", "{lowcost}");
    assert_eq!(lowcost["run_status"], "failed", "{lowcost}");
    assert!(
        checks(lowcost).contains(&("window_coverage".to_string(), "fail".to_string())),
        "{lowcost}"
    );
    // The warning: legacy_delay's feed lacks 2013-11-28.
    let legacy = row(&rows, demo::SHORT_DAY_FEED_MODEL);
    assert_eq!(legacy["last_date"], "2013-11-30", "{legacy}");
    assert_eq!(
        checks(legacy),
        vec![("window_coverage".to_string(), "warn".to_string())],
        "{legacy}"
    );
    // The quarantine: six unreadable rows of regional_delay's feed, within 1 %.
    let regional = row(&rows, demo::QUARANTINE_FEED_MODEL);
    assert_eq!(regional["last_date"], "2013-11-30", "{regional}");
    assert_eq!(
        checks(regional),
        vec![("quarantine".to_string(), "warn".to_string())],
        "{regional}"
    );
    let qdir = dir
        .join("quarantine")
        .join(demo::QUARANTINE_FEED_MODEL)
        .join("2013-11-30");
    let files: Vec<_> = std::fs::read_dir(&qdir)
        .unwrap_or_else(|e| panic!("{}: {e}", qdir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let text = std::fs::read_to_string(&files[0]).expect("quarantine file");
    assert_eq!(text.lines().count(), 7, "header + 6 rows:\n{text}");
    assert_eq!(text.matches(",M,").count(), 5, "{text}");
    // The airport models are untouched.
    for m in ["ewr_delay", "jfk_delay", "lga_delay"] {
        let r = row(&rows, m);
        assert_eq!(r["last_date"], "2013-11-30", "{r}");
        assert_eq!(checks(r), Vec::<(String, String)>::new(), "{r}");
    }

    // The late feed arrives (the README tour's `cp`), the rerun of 2013-11-30 succeeds.
    let feed = dir
        .join("data/feeds")
        .join(demo::TRUNCATED_FEED_MODEL)
        .join("current_2013-11.csv");
    std::fs::copy(demo::late_feed_path(&dir), &feed).expect("cp late feed");
    let out = Command::new(env!("CARGO_BIN_EXE_driftdeck"))
        .arg("--config")
        .arg(demo::config_path(&dir))
        .args([
            "run",
            "--model",
            demo::TRUNCATED_FEED_MODEL,
            "--date",
            "2013-11-30",
        ])
        .output()
        .expect("run driftdeck");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = status_json(&dir);
    let lowcost = row(&rows, demo::TRUNCATED_FEED_MODEL);
    assert_eq!(lowcost["last_date"], "2013-11-30", "{lowcost}");
    assert_ne!(lowcost["run_status"], "failed", "{lowcost}");
    assert_eq!(checks(lowcost), Vec::<(String, String)>::new(), "{lowcost}");
}

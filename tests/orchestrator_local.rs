//! Local runner with a fake job program (a shell script standing in for the driftdeck binary),
//! and the log tail helper.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::NaiveDate;
use driftdeck::domain::ModelId;
use driftdeck::orchestrator::local::INDEX_FILE;
use driftdeck::orchestrator::{
    JobEvent, JobId, JobInfo, JobRequest, JobSpec, JobState, LocalRunner, LocalRunnerConfig,
    LogTail, Orchestrator, OrchestratorError,
};
use tokio::sync::broadcast;

/// The fake job: prints its arguments (stdout) and a line on stderr, then behaves by model:
/// `fail*` exits 3, `slow*` writes start/end timestamps to `stamps` around a short sleep,
/// `gate*` waits for the file `gate` to exist, `hang*` sleeps long, anything else exits 0.
fn fake_script(dir: &Path) -> String {
    format!(
        r#"echo "args: $*"
echo "to stderr" >&2
model=""
while [ $# -gt 0 ]; do
  if [ "$1" = "--model" ]; then model=$2; fi
  shift
done
case "$model" in
  fail*) echo "failing on purpose"; exit 3 ;;
  slow*) echo "start $(date +%s%N) $model" >> "{dir}/stamps"; sleep 0.3; echo "end $(date +%s%N) $model" >> "{dir}/stamps" ;;
  gate*) i=0; while [ ! -e "{dir}/gate" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done; echo "gate passed" ;;
  hang*) i=0; while [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done ;;
esac
exit 0
"#,
        dir = dir.display()
    )
}

fn config(dir: &Path, concurrency: usize) -> LocalRunnerConfig {
    let mut cfg = LocalRunnerConfig::new("/bin/sh", dir.join("logs"), concurrency)
        .with_config_path(dir.join("config/driftdeck.toml"));
    cfg.program_args = vec!["-c".into(), fake_script(dir).into(), "fakejob".into()];
    cfg.poll_interval = Duration::from_millis(50);
    cfg
}

fn model(id: &str) -> ModelId {
    ModelId::new(id).expect("model id")
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

fn run_request(m: &str) -> JobRequest {
    JobRequest {
        spec: JobSpec::Run {
            model: model(m),
            date: Some(date("2013-02-01")),
        },
        triggered_by: "ana".to_string(),
    }
}

/// Waits (generously: this is a deadline, not a timing assertion) until every id is final.
async fn wait_final(
    rx: &mut broadcast::Receiver<JobEvent>,
    ids: &[JobId],
) -> HashMap<JobId, JobInfo> {
    let wanted: HashSet<&JobId> = ids.iter().collect();
    let mut done = HashMap::new();
    tokio::time::timeout(Duration::from_secs(60), async {
        while done.len() < wanted.len() {
            let event = rx.recv().await.expect("job events");
            if wanted.contains(&event.job.id) && event.job.state.is_final() {
                done.insert(event.job.id.clone(), event.job);
            }
        }
    })
    .await
    .expect("jobs did not finish within 60 s");
    done
}

async fn wait_state(
    rx: &mut broadcast::Receiver<JobEvent>,
    id: &JobId,
    state: JobState,
) -> JobInfo {
    tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let event = rx.recv().await.expect("job events");
            if event.job.id == *id && event.job.state == state {
                return event.job;
            }
        }
    })
    .await
    .expect("state not reached within 60 s")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).expect("read file")
}

fn alive(pid: u32, id: &JobId) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| String::from_utf8_lossy(&c).contains(&format!("driftdeck-job:{id}")))
        .unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_job_writes_its_log_and_succeeds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let runner = LocalRunner::open(config(dir.path(), 2)).expect("runner");
    assert_eq!(runner.kind(), "local");
    let mut rx = runner.subscribe();
    let queued = runner
        .submit(run_request("ok_model"))
        .await
        .expect("submit");
    assert_eq!(queued.state, JobState::Queued);
    assert_eq!(queued.spec.kind(), driftdeck::domain::RunAction::Run);
    assert_eq!(JobId::new(queued.id.as_str()).expect("safe id"), queued.id);
    assert!(
        queued.id.as_str().starts_with("run-ok_model-20130201-"),
        "{}",
        queued.id
    );
    // The trait gives an opaque log reference; the file is a local-runner detail.
    assert_eq!(queued.log.as_str(), format!("local:{}", queued.id));
    assert_eq!(
        runner.log_file(&queued.id),
        dir.path().join("logs").join(format!("{}.log", queued.id))
    );

    let done = wait_final(&mut rx, std::slice::from_ref(&queued.id)).await;
    let job = &done[&queued.id];
    assert_eq!(job.state, JobState::Succeeded);
    assert_eq!(job.exit_code, Some(0));
    assert!(runner.pid(&job.id).is_some());
    let (started, finished) = (
        job.started_at.expect("started"),
        job.finished_at.expect("finished"),
    );
    assert!(queued.submitted_at <= started && started <= finished);

    let log = read(&runner.log_file(&job.id));
    let config_path = dir.path().join("config/driftdeck.toml");
    let expected_args = format!(
        "args: --config {} run --model ok_model --date 2013-02-01 --triggered-by ana --run-id {}",
        config_path.display(),
        queued.id
    );
    assert!(log.contains(&expected_args), "log was:\n{log}");
    assert!(
        log.contains("to stderr"),
        "stderr goes to the log too:\n{log}"
    );
    assert_eq!(runner.job(queued.id.clone()).await.expect("job"), *job);
    assert_eq!(runner.list().await.expect("list"), vec![job.clone()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_job_reports_its_exit_code_and_every_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    let runner = LocalRunner::open(config(dir.path(), 1)).expect("runner");
    let mut rx = runner.subscribe();
    let job = runner
        .submit(run_request("fail_model"))
        .await
        .expect("submit");
    let mut states = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let event = rx.recv().await.expect("events");
            if event.job.id == job.id {
                states.push(event.job.state);
                if event.job.state.is_final() {
                    assert_eq!(event.job.exit_code, Some(3));
                    break;
                }
            }
        }
    })
    .await
    .expect("finish");
    assert_eq!(
        states,
        [JobState::Queued, JobState::Running, JobState::Failed]
    );
    assert!(read(&runner.log_file(&job.id)).contains("failing on purpose"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_bound_is_respected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let runner = LocalRunner::open(config(dir.path(), 2)).expect("runner");
    let mut rx = runner.subscribe();
    let mut ids = Vec::new();
    for i in 0..6 {
        let job = runner
            .submit(run_request(&format!("slow_{i}")))
            .await
            .expect("submit");
        ids.push(job.id);
    }
    let done = wait_final(&mut rx, &ids).await;
    assert!(done.values().all(|j| j.state == JobState::Succeeded));

    // Sweep over the intervals the jobs themselves recorded.
    let mut points: Vec<(u128, i32)> = read(&dir.path().join("stamps"))
        .lines()
        .map(|l| {
            let mut parts = l.split_whitespace();
            let kind = parts.next().expect("kind");
            let ns: u128 = parts.next().expect("ns").parse().expect("ns number");
            (ns, if kind == "start" { 1 } else { -1 })
        })
        .collect();
    assert_eq!(points.len(), 12, "every job started and ended");
    points.sort_by_key(|&(ns, delta)| (ns, delta)); // an end before a start at the same ns
    let mut running = 0;
    let mut max = 0;
    for (_, delta) in points {
        running += delta;
        max = max.max(running);
    }
    assert!(max <= 2, "at most 2 jobs at once, saw {max}");
    assert!(max >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_runner_reads_back_finished_jobs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = LocalRunner::open(config(dir.path(), 2)).expect("runner");
    let mut rx = first.subscribe();
    let ok = first.submit(run_request("ok_model")).await.expect("ok");
    let bad = first.submit(run_request("fail_model")).await.expect("bad");
    let done = wait_final(&mut rx, &[ok.id.clone(), bad.id.clone()]).await;
    drop(first);

    let second = LocalRunner::open(config(dir.path(), 2)).expect("second runner");
    let jobs = second.list().await.expect("list");
    assert_eq!(jobs.len(), 2);
    let by_id: HashMap<&JobId, &JobInfo> = jobs.iter().map(|j| (&j.id, j)).collect();
    assert_eq!(*by_id[&ok.id], done[&ok.id]);
    assert_eq!(by_id[&bad.id].state, JobState::Failed);
    assert_eq!(by_id[&bad.id].exit_code, Some(3));
    assert_eq!(by_id[&bad.id].log, bad.log);
    // Newest submission first.
    assert!(jobs[0].submitted_at >= jobs[1].submitted_at);
    // A torn last line (crash mid-write) does not prevent reading the index.
    let index = dir.path().join("logs").join(INDEX_FILE);
    std::fs::OpenOptions::new()
        .append(true)
        .open(&index)
        .and_then(|mut f| f.write_all(b"{\"event\":\"sta"))
        .expect("torn line");
    let third = LocalRunner::open(config(dir.path(), 2)).expect("third runner");
    assert_eq!(third.list().await.expect("list").len(), 2);
}

#[test]
fn jobs_survive_the_console_and_are_adopted_by_the_next_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rt1 = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime 1");
    let gated = rt1.block_on(async {
        let runner = LocalRunner::open(config(dir.path(), 1)).expect("runner");
        let mut rx = runner.subscribe();
        let gated = runner
            .submit(run_request("gate_model"))
            .await
            .expect("gate");
        // Concurrency 1: this one waits behind the gated job and never starts.
        let queued = runner
            .submit(run_request("ok_model"))
            .await
            .expect("queued");
        let running = wait_state(&mut rx, &gated.id, JobState::Running).await;
        let pid = runner.pid(&gated.id).expect("pid");
        (running, queued, pid)
    });
    let (gated, queued, pid) = (gated.0, gated.1, gated.2);
    // The console closes: its runtime and runner go away.
    rt1.shutdown_background();
    // The job outlives the console. (Poll briefly: right after spawn the process may still be
    // inside execve, before its command line shows the marker.)
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !alive(pid, &gated.id) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(alive(pid, &gated.id), "the job outlives the console");

    let rt2 = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime 2");
    rt2.block_on(async {
        let runner = LocalRunner::open(config(dir.path(), 1)).expect("next runner");
        let mut rx = runner.subscribe();
        let adopted = runner.job(gated.id.clone()).await.expect("adopted job");
        assert_eq!(adopted.state, JobState::Running);
        assert_eq!(runner.pid(&adopted.id), Some(pid));
        let never = runner.job(queued.id.clone()).await.expect("queued job");
        assert_eq!(never.state, JobState::Cancelled);
        assert!(runner.pid(&never.id).is_none());

        std::fs::write(dir.path().join("gate"), b"").expect("open gate");
        let done = wait_final(&mut rx, std::slice::from_ref(&gated.id)).await;
        let job = &done[&gated.id];
        assert_eq!(job.state, JobState::Succeeded);
        assert_eq!(
            job.exit_code,
            Some(0),
            "exit code from the wrapper's record"
        );
        assert!(read(&runner.log_file(&job.id)).contains("gate passed"));
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_running_and_queued_jobs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let runner = LocalRunner::open(config(dir.path(), 1)).expect("runner");
    let mut rx = runner.subscribe();
    let hang = runner
        .submit(run_request("hang_model"))
        .await
        .expect("hang");
    let waiting = runner
        .submit(run_request("ok_model"))
        .await
        .expect("waiting");
    let running = wait_state(&mut rx, &hang.id, JobState::Running).await;

    let snapshot = runner
        .cancel(waiting.id.clone())
        .await
        .expect("cancel queued");
    assert_eq!(snapshot.id, waiting.id);
    runner
        .cancel(hang.id.clone())
        .await
        .expect("cancel running");
    let done = wait_final(&mut rx, &[hang.id.clone(), waiting.id.clone()]).await;
    assert_eq!(done[&hang.id].state, JobState::Cancelled);
    assert_eq!(done[&waiting.id].state, JobState::Cancelled);
    assert!(runner.pid(&waiting.id).is_none(), "never started");
    let _ = running;
    assert!(
        !alive(runner.pid(&hang.id).expect("pid"), &hang.id),
        "process group stopped"
    );
    // Cancelling a finished job is a no-op.
    let again = runner.cancel(hang.id.clone()).await.expect("no-op");
    assert_eq!(again.state, JobState::Cancelled);
    assert!(matches!(
        runner.cancel(JobId::new("nope").expect("id")).await,
        Err(OrchestratorError::UnknownJob(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_gone_without_exit_record_is_lost() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).expect("logs");
    // A process that has certainly ended, and whose pid does not carry the job's marker.
    let mut child = std::process::Command::new("/bin/sh")
        .args(["-c", "exit 0"])
        .spawn()
        .expect("spawn");
    let pid = child.id();
    child.wait().expect("wait");
    let index = format!(
        "{{\"event\":\"submitted\",\"id\":\"run-m-20130201-x-1\",\"spec\":{{\"kind\":\"run\",\"model\":\"m\",\"date\":\"2013-02-01\"}},\"triggered_by\":\"schedule\",\"at\":\"2025-01-01T00:00:00Z\",\"log_path\":\"{}\"}}\n\
         {{\"event\":\"started\",\"id\":\"run-m-20130201-x-1\",\"at\":\"2025-01-01T00:00:01Z\",\"pid\":{pid}}}\n",
        logs.join("run-m-20130201-x-1.log").display()
    );
    std::fs::write(logs.join(INDEX_FILE), index).expect("index");
    let runner = LocalRunner::open(config(dir.path(), 1)).expect("runner");
    let job = runner
        .job(JobId::new("run-m-20130201-x-1").expect("id"))
        .await
        .expect("job");
    assert_eq!(job.state, JobState::Lost);
    assert!(job.note.as_deref().unwrap_or("").contains("PCI_CSI_RUNS"));
    // The resolution is persisted: a later runner sees it without re-deriving.
    let text = read(&logs.join(INDEX_FILE));
    assert!(text.contains("\"state\":\"lost\""), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_program_fails_with_its_message_in_the_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = LocalRunnerConfig::new(
        dir.path().join("no-such-driftdeck"),
        dir.path().join("logs"),
        1,
    );
    let runner = LocalRunner::open(cfg).expect("runner");
    let mut rx = runner.subscribe();
    let job = runner
        .submit(run_request("ok_model"))
        .await
        .expect("submit");
    let done = wait_final(&mut rx, std::slice::from_ref(&job.id)).await;
    assert_eq!(done[&job.id].state, JobState::Failed);
    assert_eq!(done[&job.id].exit_code, Some(127));
    assert!(read(&runner.log_file(&job.id)).contains("no-such-driftdeck"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_requests_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let runner = LocalRunner::open(config(dir.path(), 1)).expect("runner");
    let bad = JobRequest {
        spec: JobSpec::Backfill {
            model: model("m"),
            from: date("2013-02-03"),
            to: date("2013-02-01"),
            only_missing: false,
        },
        triggered_by: "ana".into(),
    };
    assert!(matches!(
        runner.submit(bad).await,
        Err(OrchestratorError::InvalidRequest(_))
    ));
    assert!(runner.list().await.expect("list").is_empty());
    for bad_id in ["", "../x", "a/b", ".hidden", "UPPER", "a b"] {
        assert!(JobId::new(bad_id).is_err(), "{bad_id:?}");
    }
}

#[test]
fn opening_outside_a_runtime_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert!(matches!(
        LocalRunner::open(config(dir.path(), 1)),
        Err(OrchestratorError::NoRuntime)
    ));
}

#[test]
fn cli_args_follow_the_job_contract() {
    let id = JobId::new("backfill-m-1").expect("id");
    let backfill = JobSpec::Backfill {
        model: model("jfk_delay"),
        from: date("2013-02-01"),
        to: date("2013-02-03"),
        only_missing: true,
    };
    assert_eq!(
        backfill.cli_args(&id, "ana"),
        [
            "backfill",
            "--model",
            "jfk_delay",
            "--from",
            "2013-02-01",
            "--to",
            "2013-02-03",
            "--only-missing",
            "--triggered-by",
            "ana",
            "--run-id",
            "backfill-m-1"
        ]
    );
    assert_eq!(
        backfill.dates(),
        (Some(date("2013-02-01")), Some(date("2013-02-03")))
    );
    let refresh = JobSpec::RefreshBenchmarks {
        model: None,
        value_stream: Some("Flights East".into()),
        all: false,
        dry_run: true,
    };
    assert_eq!(
        refresh.cli_args(&id, "ana"),
        [
            "refresh-benchmarks",
            "--value-stream",
            "Flights East",
            "--dry-run",
            "--triggered-by",
            "ana",
            "--run-id",
            "backfill-m-1"
        ]
    );
    let run = JobSpec::Run {
        model: model("jfk_delay"),
        date: None,
    };
    assert_eq!(
        run.cli_args(&id, "schedule"),
        [
            "run",
            "--model",
            "jfk_delay",
            "--triggered-by",
            "schedule",
            "--run-id",
            "backfill-m-1"
        ]
    );
}

// ---- LogTail ----

fn write_lines(path: &Path, range: std::ops::Range<usize>) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open");
    for i in range {
        writeln!(f, "line {i}").expect("write");
    }
}

fn tail_lines(tail: &LogTail) -> Vec<String> {
    tail.lines().iter().cloned().collect()
}

#[test]
fn log_tail_reads_the_last_lines_of_a_large_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("job.log");
    // About 190 KB: the backwards search crosses several 64 KiB chunks.
    write_lines(&path, 0..20_000);
    let tail = LogTail::open(&path, 3, 100).expect("tail");
    assert_eq!(
        tail_lines(&tail),
        ["line 19997", "line 19998", "line 19999"]
    );
    assert_eq!(tail.dropped(), 0);
    let all = LogTail::open(&path, 50_000, 50_000).expect("everything");
    assert_eq!(all.lines().len(), 20_000);
    assert_eq!(all.lines()[0], "line 0");
    let none = LogTail::open(&path, 0, 10).expect("none");
    assert!(none.lines().is_empty());
}

#[test]
fn log_tail_follows_appends_and_partial_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("job.log");
    std::fs::write(&path, "a\nb\nunfinished").expect("write");
    let mut tail = LogTail::open(&path, 10, 10).expect("tail");
    assert_eq!(tail_lines(&tail), ["a", "b"]);
    assert_eq!(tail.partial_line().as_deref(), Some("unfinished"));
    assert_eq!(tail.take_new(), ["a", "b"]);
    assert_eq!(tail.poll().expect("poll"), 0);

    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(b" now\r\nc\n"))
        .expect("append");
    assert_eq!(tail.poll().expect("poll"), 2);
    assert_eq!(tail.take_new(), ["unfinished now", "c"]);
    assert!(tail.partial_line().is_none());
    assert!(tail.take_new().is_empty());
}

#[test]
fn log_tail_ring_buffer_counts_dropped_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("job.log");
    write_lines(&path, 0..5);
    let mut tail = LogTail::open(&path, 100, 4).expect("tail");
    assert_eq!(tail_lines(&tail), ["line 1", "line 2", "line 3", "line 4"]);
    assert_eq!(
        tail.dropped(),
        0,
        "lines before the window were never loaded"
    );
    write_lines(&path, 5..11);
    assert_eq!(tail.poll().expect("poll"), 6);
    assert_eq!(tail_lines(&tail), ["line 7", "line 8", "line 9", "line 10"]);
    assert_eq!(tail.dropped(), 6);
    assert_eq!(tail.take_new().len(), 4, "only what is still buffered");
}

#[test]
fn log_tail_handles_missing_truncated_and_long_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path: PathBuf = dir.path().join("later.log");
    let mut tail = LogTail::open(&path, 10, 10).expect("missing file is empty");
    assert_eq!(tail.poll().expect("poll"), 0);
    write_lines(&path, 0..3);
    assert_eq!(tail.poll().expect("poll"), 3);
    // Replaced by a shorter file: read again from the start.
    std::fs::write(&path, "fresh\n").expect("truncate");
    assert_eq!(tail.poll().expect("poll"), 1);
    assert_eq!(tail.lines().back().map(String::as_str), Some("fresh"));
    // A huge line is cut, and invalid UTF-8 does not break the tail.
    let mut long = vec![b'x'; driftdeck::orchestrator::log_tail::MAX_LINE_BYTES * 3];
    long.extend_from_slice(b"\n\xff\xfe\n");
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(&long))
        .expect("append");
    assert_eq!(tail.poll().expect("poll"), 2);
    let lines = tail_lines(&tail);
    let cut = &lines[lines.len() - 2];
    assert!(cut.ends_with('…'));
    assert!(cut.len() <= driftdeck::orchestrator::log_tail::MAX_LINE_BYTES + '…'.len_utf8());
    assert_eq!(lines[lines.len() - 1], "\u{fffd}\u{fffd}");
}

// ---- every JobSpec::cli_args parsed back by the real CLI parser ----

/// Parses `driftdeck --config C <args>` with the binary's own clap definition.
fn parse_job_args(args: &[String]) -> driftdeck::cli::Command {
    use clap::Parser;
    let argv = ["driftdeck", "--config", "/tmp/driftdeck.toml"]
        .into_iter()
        .map(String::from)
        .chain(args.iter().cloned());
    match driftdeck::cli::Cli::try_parse_from(argv) {
        Ok(cli) => cli.command.expect("a job always names a subcommand"),
        Err(e) => panic!("the CLI rejects the job contract {args:?}: {e}"),
    }
}

#[test]
fn every_job_spec_is_accepted_by_the_cli_parser() {
    use driftdeck::cli::Command;
    let id = JobId::new("run-jfk_delay-20130201-1").expect("id");
    let specs = [
        JobSpec::Run {
            model: model("jfk_delay"),
            date: Some(date("2013-02-01")),
        },
        JobSpec::Run {
            model: model("jfk_delay"),
            date: None,
        },
        JobSpec::Backfill {
            model: model("jfk_delay"),
            from: date("2013-02-01"),
            to: date("2013-02-28"),
            only_missing: true,
        },
        JobSpec::Backfill {
            model: model("lga_delay"),
            from: date("2013-02-01"),
            to: date("2013-02-01"),
            only_missing: false,
        },
        JobSpec::RefreshBenchmarks {
            model: Some(model("jfk_delay")),
            value_stream: None,
            all: false,
            dry_run: false,
        },
        JobSpec::RefreshBenchmarks {
            model: None,
            value_stream: Some("flights -- east".into()),
            all: false,
            dry_run: true,
        },
        JobSpec::RefreshBenchmarks {
            model: None,
            value_stream: None,
            all: true,
            dry_run: false,
        },
    ];
    for spec in specs {
        spec.validate().expect("valid spec");
        let args = spec.cli_args(&id, "ana");
        let parsed = parse_job_args(&args);
        // The parsed arguments mean the same job.
        match (&spec, parsed) {
            (JobSpec::Run { model, date }, Command::Run(a)) => {
                assert_eq!(a.model.as_deref(), Some(model.as_str()));
                assert_eq!(a.date, date.map(|d| d.to_string()));
                assert!(!a.all && !a.failed);
                assert_eq!(a.job.triggered_by, "ana");
                assert_eq!(a.job.run_id.as_deref(), Some(id.as_str()));
            }
            (
                JobSpec::Backfill {
                    model,
                    from,
                    to,
                    only_missing,
                },
                Command::Backfill(a),
            ) => {
                assert_eq!(a.model.as_deref(), Some(model.as_str()));
                assert_eq!((a.from, a.to), (from.to_string(), to.to_string()));
                assert_eq!(a.only_missing, *only_missing);
                assert_eq!(a.job.triggered_by, "ana");
                assert_eq!(a.job.run_id.as_deref(), Some(id.as_str()));
            }
            (
                JobSpec::RefreshBenchmarks {
                    model,
                    value_stream,
                    all,
                    dry_run,
                },
                Command::RefreshBenchmarks(a),
            ) => {
                assert_eq!(a.model.as_deref(), model.as_ref().map(|m| m.as_str()));
                assert_eq!(&a.value_stream, value_stream);
                assert_eq!((a.all, a.dry_run), (*all, *dry_run));
                assert_eq!(a.job.run_id.as_deref(), Some(id.as_str()));
            }
            (spec, other) => panic!("{spec:?} parsed as another command: {other:?}"),
        }
    }
}

#[test]
fn a_refresh_must_select_exactly_one_target() {
    let none = JobSpec::RefreshBenchmarks {
        model: None,
        value_stream: None,
        all: false,
        dry_run: false,
    };
    assert!(matches!(
        none.validate(),
        Err(OrchestratorError::InvalidRequest(_))
    ));
    let two = JobSpec::RefreshBenchmarks {
        model: Some(model("jfk_delay")),
        value_stream: None,
        all: true,
        dry_run: false,
    };
    assert!(two.validate().is_err());
    // The CLI refuses the same combinations.
    use clap::Parser;
    for argv in [
        vec!["driftdeck", "refresh-benchmarks"],
        vec!["driftdeck", "refresh-benchmarks", "--model", "m", "--all"],
    ] {
        assert!(driftdeck::cli::Cli::try_parse_from(argv).is_err());
    }
}

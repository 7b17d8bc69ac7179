//! Configuration: the shipped reference files load; discovery order; env overrides; every
//! validation failure names the file and the key.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use driftdeck::benchmarks::BenchmarkStore;
use driftdeck::config::{Config, MetricsSettings, SqliteSettings, StoreSettings};
use driftdeck::config::{ConfigError, Discovery, find_settings, load_from, load_with};
use driftdeck::engine::{Binning, Kind};
use driftdeck::sources::KindHint;
use driftdeck::store::ColumnRole;

/// The benchmark file of model `id` as the wiring's benchmark store resolves it.
fn benchmark_path(cfg: &Config, id: &str) -> PathBuf {
    let m = cfg.model(id).expect("model");
    driftdeck::wiring::local_benchmark_store(cfg)
        .benchmark_path(&m.value_stream, &m.id)
        .expect("path")
}

fn no_env(_: &str) -> Option<String> {
    None
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

const TOML: &str = "[workspace]\nname = \"t\"\n";

const MODEL: &str = "  - id: m1
    value_stream: vs
    owner: me
    schedule: \"0 6 * * *\"
    score: score
    characteristics:
      - { name: x, kind: numeric, bins: 5 }
      - { name: c, kind: categorical }
      - { name: e, kind: numeric, edges: [1, 2.5, 4] }
    current:
      path: data/cur_{month}.csv
      date_column: d
      filter: { origin: [EWR, JFK], hour: 6 }
";

/// Writes `<dir>/config/driftdeck.toml` and `<dir>/config/models.yaml`.
fn workspace(toml: &str, yaml: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("config");
    std::fs::create_dir_all(&cfg).expect("mkdir");
    std::fs::write(cfg.join("driftdeck.toml"), toml).expect("write toml");
    std::fs::write(cfg.join("models.yaml"), yaml).expect("write yaml");
    let path = cfg.join("driftdeck.toml");
    (dir, path)
}

fn load_err(toml: &str, yaml: &str) -> String {
    let (_d, p) = workspace(toml, yaml);
    load_from(&p, &no_env)
        .expect_err("should be rejected")
        .to_string()
}

#[test]
fn reference_files_load() {
    let cfg = load_from(&repo().join("config/driftdeck.toml"), &no_env).expect("reference config");
    assert!(cfg.settings.workspace.demo);
    assert_eq!(cfg.settings.workspace.name, "demo");
    assert_eq!(cfg.workspace_root, repo().join("demo-workspace"));
    assert_eq!(
        cfg.settings.benchmarks.root(),
        repo().join("demo-workspace/benchmarks")
    );
    assert_eq!(
        cfg.settings.store,
        StoreSettings::Sqlite(SqliteSettings {
            path: repo().join("demo-workspace/driftdeck.sqlite")
        })
    );
    assert_eq!(cfg.settings.metrics, MetricsSettings::None);
    assert_eq!(cfg.models.len(), 6);
    let streams: Vec<&str> = cfg.value_streams().iter().map(|v| v.as_str()).collect();
    assert_eq!(streams, vec!["airports", "carriers"]);
    assert_eq!(cfg.models_in("airports").len(), 3);
    let jfk = cfg.model("jfk_delay").expect("jfk");
    assert_eq!(jfk.characteristics.len(), 16);
    assert_eq!(jfk.current.filter["origin"].0, vec!["JFK"]);
    assert_eq!(
        jfk.current.path,
        repo()
            .join("demo-workspace/data/current_{month}.csv")
            .to_string_lossy()
    );
    assert_eq!(
        benchmark_path(&cfg, "jfk_delay"),
        repo().join("demo-workspace/benchmarks/airports/jfk_delay/benchmark.csv")
    );
    let regional = cfg.model("regional_delay").expect("regional");
    assert_eq!(
        regional.current.filter["carrier"].0,
        vec!["EV", "MQ", "9E", "OO", "YV"]
    );
    assert!(regional.characteristics.iter().any(|c| c.name == "origin"));
    let specs = cfg.column_specs(jfk);
    assert_eq!(specs[0].role, ColumnRole::Score);
    assert_eq!(specs[0].binning, Binning::Quantile { bins: 10 });
    assert_eq!(specs.len(), 17);
    // Every demo column exists in the demo data.
    let header =
        std::fs::read_to_string(repo().join("assets/demo/data/benchmark.csv")).expect("demo data");
    let header: Vec<&str> = header.lines().next().expect("header").split(',').collect();
    for m in &cfg.models {
        for r in m.column_requests() {
            assert!(
                header.contains(&r.name.as_str()),
                "{} not in demo data",
                r.name
            );
        }
        for col in m.current.filter.keys() {
            assert!(header.contains(&col.as_str()));
        }
    }
    let err = cfg.model("nope").expect_err("unknown");
    assert!(err.to_string().contains("ewr_delay, jfk_delay"), "{err}");
}

#[test]
fn small_workspace_defaults_specs_and_requests() {
    let (dir, p) = workspace(TOML, &format!("models:\n{MODEL}"));
    let cfg = load_from(&p, &no_env).expect("load");
    assert_eq!(cfg.workspace_root, dir.path());
    let m = cfg.model("m1").expect("m1");
    assert_eq!(m.thresholds.alert, 0.25);
    assert_eq!(m.current.window_days, 1);
    assert_eq!(m.current.filter["hour"].0, vec!["6"]);
    let specs = cfg.column_specs(m);
    assert_eq!(specs[1].binning, Binning::Quantile { bins: 5 });
    assert_eq!(specs[2].kind, Kind::Categorical);
    assert_eq!(
        specs[3].binning,
        Binning::Fixed {
            edges: vec![1.0, 2.5, 4.0]
        }
    );
    let reqs = m.column_requests();
    assert_eq!(reqs[0].kind, KindHint::Numeric);
    assert_eq!(reqs[2].kind, KindHint::Categorical);
    // Root explicitly "." when the directory is not named config.
    let other = dir.path().join("elsewhere");
    std::fs::create_dir_all(&other).expect("mkdir");
    std::fs::write(other.join("driftdeck.toml"), TOML).expect("write");
    std::fs::write(other.join("models.yaml"), "models: []\n").expect("write");
    let cfg = load_from(&other.join("driftdeck.toml"), &no_env).expect("load");
    assert_eq!(cfg.workspace_root, other);
    assert_eq!(
        cfg.settings.orchestrator.log_dir(),
        Some(other.join("logs").as_path())
    );
}

#[test]
fn env_overrides_in_configmap_style() {
    let (dir, p) = workspace(TOML, &format!("models:\n{MODEL}"));
    let env: HashMap<&str, &str> = HashMap::from([
        ("THRESHOLD", "0.3"),
        ("BENCHMARKING_PATH", "/efs/benchmarks"),
        ("MODEL_M1_BENCHMARKING_PATH", "special/bench.csv"),
        ("EMAIL_RECIPIENTS", "a@x.com, b@y.org"),
        ("VALIDATION_THRESHOLD", "0.05"),
    ]);
    let lookup = |k: &str| env.get(k).map(|v| v.to_string());
    let cfg = load_from(&p, &lookup).expect("load");
    let m = cfg.model("m1").expect("m1");
    assert_eq!(m.thresholds.alert, 0.3);
    assert_eq!(cfg.settings.benchmarks.root(), Path::new("/efs/benchmarks"));
    assert_eq!(
        benchmark_path(&cfg, "m1"),
        dir.path().join("special/bench.csv")
    );
    assert_eq!(m.recipients.email, vec!["a@x.com", "b@y.org"]);
    assert_eq!(cfg.settings.validation.threshold, 0.05);

    let bad = |k: &str| (k == "THRESHOLD").then(|| "high".to_string());
    let err = load_from(&p, &bad).expect_err("bad env").to_string();
    assert!(err.contains("THRESHOLD") && err.contains("high"), "{err}");
    // THRESHOLD below the configured warn wins: warn follows it down (empty warn band).
    let low = |k: &str| (k == "THRESHOLD").then(|| "0.05".to_string());
    let cfg = load_from(&p, &low).expect("THRESHOLD below warn");
    let m = cfg.model("m1").expect("m1");
    assert_eq!((m.thresholds.warn, m.thresholds.alert), (0.05, 0.05));
    assert_eq!(m.thresholds.band(0.049), driftdeck::domain::Band::Ok);
    assert_eq!(m.thresholds.band(0.05), driftdeck::domain::Band::Alert);
}

#[test]
fn discovery_order() {
    let (dir, p) = workspace(TOML, "models: []\n");
    let xdg = tempfile::tempdir().expect("xdg");
    let env_none = no_env;
    // ./config/driftdeck.toml
    let d = Discovery {
        explicit: None,
        env: &env_none,
        config_dir: Some(xdg.path().to_path_buf()),
        cwd: dir.path().to_path_buf(),
    };
    assert_eq!(find_settings(&d).expect("cwd"), p);
    // XDG beats ./config
    let xdg_file = xdg.path().join("driftdeck/driftdeck.toml");
    std::fs::create_dir_all(xdg_file.parent().expect("parent")).expect("mkdir");
    std::fs::write(&xdg_file, TOML).expect("write");
    assert_eq!(find_settings(&d).expect("xdg"), xdg_file);
    // DRIFTDECK_CONFIG beats XDG; a missing one is an error, not a fallback.
    let p2 = p.clone();
    let env_cfg =
        move |k: &str| (k == "DRIFTDECK_CONFIG").then(|| p2.to_string_lossy().into_owned());
    let d = Discovery {
        explicit: None,
        env: &env_cfg,
        config_dir: Some(xdg.path().to_path_buf()),
        cwd: dir.path().to_path_buf(),
    };
    assert_eq!(find_settings(&d).expect("env"), p);
    // --config beats everything.
    let d = Discovery {
        explicit: Some(&xdg_file),
        ..d
    };
    assert_eq!(find_settings(&d).expect("explicit"), xdg_file);
    let missing = dir.path().join("nope.toml");
    let d = Discovery {
        explicit: Some(&missing),
        ..d
    };
    let err = load_with(&d).expect_err("missing").to_string();
    assert!(err.contains("nope.toml"), "{err}");
    let empty = tempfile::tempdir().expect("empty");
    let d = Discovery {
        explicit: None,
        env: &env_none,
        config_dir: None,
        cwd: empty.path().to_path_buf(),
    };
    let err = find_settings(&d).expect_err("nothing").to_string();
    assert!(err.contains("config/driftdeck.toml"), "{err}");
}

#[test]
fn unknown_keys_name_file_line_and_key() {
    let err = load_err(
        "[store]\nkind = \"sqlite\"\n\n[engine]\nepz = 0.1\n",
        "models: []\n",
    );
    assert!(
        err.contains("driftdeck.toml:5") && err.contains("engine.epz"),
        "{err}"
    );
    assert!(err.contains("unknown field"), "{err}");
    let err = load_err("[stor]\n", "models: []\n");
    assert!(err.contains("driftdeck.toml:1"), "{err}");
    let err = load_err("[store]\nkind = \"oracle\"\n", "models: []\n");
    assert!(
        err.contains("store.kind") && err.contains("oracle"),
        "{err}"
    );
    let yaml = format!("models:\n{}    colour: red\n", MODEL);
    let err = load_err(TOML, &yaml);
    assert!(
        err.contains("models.yaml:") && err.contains("models[0]"),
        "{err}"
    );
    assert!(err.contains("colour"), "{err}");
    let yaml = MODEL.replace("kind: categorical", "kind: text");
    let err = load_err(TOML, &format!("models:\n{yaml}"));
    assert!(err.contains("models[0].characteristics[1].kind"), "{err}");
}

#[test]
fn hostile_ids_are_rejected() {
    for bad in ["../x", "a b", "a'b", "a\\\"b", "../../etc", "Upper"] {
        let yaml = MODEL.replace("id: m1", &format!("id: \"{bad}\""));
        let err = load_err(TOML, &format!("models:\n{yaml}"));
        assert!(
            err.contains("models.yaml") && err.contains("models[0].id"),
            "{bad}: {err}"
        );
        assert!(err.contains("invalid model id"), "{err}");
    }
    let yaml = MODEL.replace("value_stream: vs", "value_stream: \"v s\"");
    let err = load_err(TOML, &format!("models:\n{yaml}"));
    assert!(
        err.contains("models[0].value_stream") && err.contains("invalid value stream"),
        "{err}"
    );
}

fn invalid(yaml_model: &str) -> String {
    load_err(TOML, &format!("models:\n{yaml_model}"))
}

#[test]
fn semantic_validation_names_key() {
    let cases: Vec<(String, &str, &str)> = vec![
        (
            format!("{MODEL}{}", MODEL.replace("owner: me", "owner: you")),
            "models[1].id",
            "duplicate model id",
        ),
        (
            MODEL.replace("0 6 * * *", "0 25 * * *"),
            "models[0].schedule",
            "cron",
        ),
        (
            MODEL.replace("0 6 * * *", "every day"),
            "models[0].schedule",
            "cron",
        ),
        (
            MODEL.replace(
                "current:",
                "thresholds: { warn: 0.3, alert: 0.2 }\n    current:",
            ),
            "models[0].thresholds",
            "warn (0.3) must not be above alert (0.2)",
        ),
        (
            MODEL.replace("bins: 5", "bins: 1"),
            "models[0].characteristics[0].bins",
            "between 2",
        ),
        (
            MODEL.replace("[1, 2.5, 4]", "[1, 4, 2.5]"),
            "models[0].characteristics[2].edges",
            "strictly increasing",
        ),
        (
            MODEL.replace("[1, 2.5, 4]", "[]"),
            "models[0].characteristics[2].edges",
            "at least one",
        ),
        (
            MODEL.replace("name: x,", "name: score,"),
            "models[0].characteristics[0].name",
            "score column",
        ),
        (
            MODEL.replace("name: e,", "name: x,"),
            "models[0].characteristics[2].name",
            "duplicate characteristic",
        ),
        (
            MODEL.replace("kind: categorical", "kind: categorical, bins: 4"),
            "models[0].characteristics[1]",
            "numeric characteristics only",
        ),
        (
            MODEL.replace("bins: 5", "bins: 5, edges: [1, 2]"),
            "models[0].characteristics[0]",
            "not both",
        ),
        (
            MODEL.replace("cur_{month}", "cur_{day}"),
            "models[0].current.path",
            "unknown placeholder {day}",
        ),
        (
            MODEL.replace("date_column: d", "date_column: d\n      window_days: 0"),
            "models[0].current.window_days",
            "between 1 and 366",
        ),
        (
            MODEL.replace("owner: me", "owner: \"\""),
            "models[0].owner",
            "must not be empty",
        ),
        (
            MODEL.replace("current:", "recipients: { email: [nobody] }\n    current:"),
            "models[0].recipients.email[0]",
            "not an e-mail",
        ),
    ];
    for (yaml, key, text) in cases {
        let err = invalid(&yaml);
        assert!(err.contains("models.yaml"), "{err}");
        assert!(err.contains(key), "expected key {key}: {err}");
        assert!(err.contains(text), "expected {text:?}: {err}");
    }
    let settings_cases = [
        ("[engine]\neps = 0\n", "engine.eps"),
        ("[engine]\nbins = 1\n", "engine.bins"),
        ("[retry]\nattempts = 0\n", "retry.attempts"),
        (
            "[orchestrator]\nconcurrency = 0\n",
            "orchestrator.concurrency",
        ),
        (
            "[notify]\nslack_webhook_env = \"https://hooks.slack.com/x\"\n",
            "notify.slack_webhook_env",
        ),
    ];
    for (toml, key) in settings_cases {
        let err = load_err(toml, "models: []\n");
        assert!(
            err.contains("driftdeck.toml") && err.contains(key),
            "{key}: {err}"
        );
    }
}

#[test]
fn problems_are_all_listed() {
    let yaml = MODEL
        .replace("0 6 * * *", "bad")
        .replace("bins: 5", "bins: 0");
    let (_d, p) = workspace(TOML, &format!("models:\n{yaml}"));
    match load_from(&p, &no_env) {
        Err(ConfigError::Invalid { path, problems }) => {
            assert!(path.ends_with(Path::new("config/models.yaml")));
            assert_eq!(problems.len(), 2, "{problems:?}");
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn benchmarking_path_to_a_file_is_that_models_benchmark_as_in_the_seed_configmap() {
    let (dir, p) = workspace(
        TOML,
        &format!("models:\n{MODEL}{}", MODEL.replace("id: m1", "id: m2")),
    );
    let efs = dir.path().join("efs");
    let file = efs.join("vs/m1/benchmark.csv");
    std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
    std::fs::write(&file, "score\n1\n").expect("write");
    let value = file.to_string_lossy().into_owned();
    let env = |k: &str| (k == "BENCHMARKING_PATH").then(|| value.clone());
    let cfg = load_from(&p, &env).expect("load");
    assert_eq!(benchmark_path(&cfg, "m1"), file);
    // The other model keeps the EFS layout under the same mount.
    assert_eq!(cfg.settings.benchmarks.root(), efs);
    assert_eq!(benchmark_path(&cfg, "m2"), efs.join("vs/m2/benchmark.csv"));

    // A directory keeps the root meaning.
    let root = efs.to_string_lossy().into_owned();
    let env = |k: &str| (k == "BENCHMARKING_PATH").then(|| root.clone());
    let cfg = load_from(&p, &env).expect("load");
    assert_eq!(cfg.settings.benchmarks.root(), efs);
    assert_eq!(benchmark_path(&cfg, "m1"), efs.join("vs/m1/benchmark.csv"));

    // A file of no registered model is an error naming the variable.
    let stray = dir.path().join("elsewhere/bench.csv");
    std::fs::create_dir_all(stray.parent().expect("parent")).expect("mkdir");
    std::fs::write(&stray, "score\n1\n").expect("write");
    let stray = stray.to_string_lossy().into_owned();
    let env = |k: &str| (k == "BENCHMARKING_PATH").then(|| stray.clone());
    let err = load_from(&p, &env).expect_err("stray file").to_string();
    assert!(
        err.contains("BENCHMARKING_PATH") && err.contains("bench.csv"),
        "{err}"
    );
}

#[test]
fn model_x_benchmarking_path_is_not_doubled() {
    let yaml = format!("models:\n{}", MODEL.replace("id: m1", "id: model_x"));
    let (dir, p) = workspace(TOML, &yaml);
    let env = |k: &str| (k == "MODEL_X_BENCHMARKING_PATH").then(|| "x/bench.csv".to_string());
    let cfg = load_from(&p, &env).expect("load");
    assert_eq!(
        benchmark_path(&cfg, "model_x"),
        dir.path().join("x/bench.csv")
    );
    // The doubled spelling of earlier releases is still read.
    let env = |k: &str| (k == "MODEL_MODEL_X_BENCHMARKING_PATH").then(|| "y/bench.csv".to_string());
    let cfg = load_from(&p, &env).expect("load");
    assert_eq!(
        benchmark_path(&cfg, "model_x"),
        dir.path().join("y/bench.csv")
    );
}

#[test]
fn backend_sections_are_tagged_by_kind() {
    // No kind: the embedded default; kind given: same.
    let (_dir, p) = workspace("[store]\npath = \"x.sqlite\"\n[metrics]\n", "models: []\n");
    let cfg = load_from(&p, &no_env).expect("load");
    assert!(
        matches!(&cfg.settings.store, StoreSettings::Sqlite(s) if s.path.ends_with("x.sqlite"))
    );
    assert_eq!(cfg.settings.metrics, MetricsSettings::None);
    // A kind of a later release: a clear error naming the key and the file.
    // Snowflake is built: its keys load, relative paths resolve against the workspace.
    let (_dir, p) = workspace(
        "[store]\nkind = \"snowflake\"\naccount = \"acme-prod\"\nuser = \"DRIFTDECK\"\n\
         database = \"MODEL_MONITORING\"\nschema = \"PSI\"\nca_file = \"certs/ca.pem\"\n",
        "models: []\n",
    );
    let cfg = load_from(&p, &no_env).expect("load snowflake store");
    let StoreSettings::Snowflake(sf) = &cfg.settings.store else {
        panic!("snowflake store expected");
    };
    assert_eq!(sf.account, "acme-prod");
    assert!(sf.ca_file.as_ref().is_some_and(|f| f.is_absolute()));
    assert!(sf.pending_path.is_absolute());
    // A missing key, and a password in the file, are refused.
    let err = load_err(
        "[store]\nkind = \"snowflake\"\naccount = \"a\"\n",
        "models: []\n",
    );
    assert!(err.contains("user") || err.contains("database"), "{err}");
    let err = load_err(
        "[store]\nkind = \"snowflake\"\naccount = \"a\"\nuser = \"u\"\ndatabase = \"d\"\n\
         schema = \"s\"\npassword = \"hunter2\"\n",
        "models: []\n",
    );
    assert!(
        err.contains("password") && err.contains("unknown field"),
        "{err}"
    );
    // A kind nobody knows, and an unknown key inside a kind.
    let err = load_err("[metrics]\nkind = \"graphite\"\n", "models: []\n");
    assert!(
        err.contains("metrics.kind") && err.contains("graphite") && err.contains("dogstatsd"),
        "{err}"
    );
    let err = load_err(
        "[orchestrator]\nkind = \"local\"\nlogdir = \"x\"\n",
        "models: []\n",
    );
    assert!(
        err.contains("orchestrator.logdir") && err.contains("unknown field"),
        "{err}"
    );
}

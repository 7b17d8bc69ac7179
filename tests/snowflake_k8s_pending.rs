//! The Snowflake store's pending queue in Kubernetes: `driftdeck render k8s` gives every job pod
//! (the models' CronJobs and the refresh CronJob, and so the console's Jobs made from them) the
//! queue on the EFS volume — env `DRIFTDECK_PENDING_PATH` under a writable mount of the EFS claim —
//! never on the pod's disk; and the configuration honours that variable.

use std::path::{Path, PathBuf};
use std::process::Command;

use driftdeck::config::{Discovery, StoreSettings, load_with};
use driftdeck::orchestrator::kubernetes::manifests::{
    EFS_MOUNT, Manifest, PENDING_PATH, parse_yaml_stream,
};
use serde_json::Value;

#[test]
fn every_job_pod_keeps_the_queue_on_a_writable_efs_mount() {
    let out = Command::new(env!("CARGO_BIN_EXE_driftdeck"))
        .arg("--config")
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/driftdeck.toml"))
        .args(["render", "k8s"])
        .env("NO_COLOR", "1")
        .output()
        .expect("run driftdeck");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifests = parse_yaml_stream(&String::from_utf8(out.stdout).unwrap()).unwrap();
    let cronjobs: Vec<Value> = manifests
        .iter()
        .filter(|m| matches!(m, Manifest::CronJob(_)))
        .map(Manifest::to_json)
        .collect();
    assert_eq!(cronjobs.len(), 7, "6 models + the refresh");
    assert!(Path::new(PENDING_PATH).starts_with(EFS_MOUNT));
    for cj in &cronjobs {
        let name = cj["metadata"]["name"].as_str().unwrap();
        let pod = &cj["spec"]["jobTemplate"]["spec"]["template"]["spec"];
        let container = &pod["containers"][0];
        let env = container["env"].as_array().unwrap();
        let pending = env
            .iter()
            .find(|e| e["name"] == "DRIFTDECK_PENDING_PATH")
            .unwrap_or_else(|| panic!("{name}: no DRIFTDECK_PENDING_PATH"));
        assert_eq!(pending["value"], PENDING_PATH, "{name}");
        // The deepest mount holding the queue file is the EFS claim, writable.
        let holder = container["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| Path::new(PENDING_PATH).starts_with(m["mountPath"].as_str().unwrap()))
            .max_by_key(|m| m["mountPath"].as_str().unwrap().len())
            .unwrap_or_else(|| panic!("{name}: no mount holds {PENDING_PATH}"));
        assert_eq!(holder["name"], "efs", "{name}: {holder}");
        assert_ne!(holder["readOnly"], true, "{name}: {holder}");
        let volume = pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == "efs")
            .unwrap();
        assert!(
            volume["persistentVolumeClaim"]["claimName"].is_string(),
            "{name}: the efs volume is the shared claim: {volume}"
        );
    }
}

#[test]
fn driftdeck_pending_path_moves_the_snowflake_queue() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("driftdeck.toml");
    std::fs::write(
        &config,
        "[store]\nkind = \"snowflake\"\naccount = \"a\"\nuser = \"u\"\ndatabase = \"D\"\nschema = \"S\"\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("models.yaml"), "models: []\n").unwrap();
    let load = |pending: Option<&'static str>| {
        let env = move |k: &str| {
            (k == "DRIFTDECK_PENDING_PATH")
                .then_some(pending)
                .flatten()
                .map(String::from)
        };
        let cfg = load_with(&Discovery {
            explicit: Some(&config),
            env: &env,
            config_dir: None,
            cwd: dir.path().to_path_buf(),
        })
        .expect("config loads");
        match cfg.settings.store {
            StoreSettings::Snowflake(s) => s.pending_path,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(load(None), dir.path().join("pending.sqlite"));
    assert_eq!(load(Some(PENDING_PATH)), PathBuf::from(PENDING_PATH));
}

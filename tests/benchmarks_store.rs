//! Benchmark store over the EFS layout: reads, checksums, atomic profile and benchmark writes,
//! listing, missing files named.

use std::path::Path;

use driftdeck::benchmarks::{BenchmarkError, BenchmarkStore, BenchmarkStoreExt, LocalDirStore};
use driftdeck::domain::{ModelId, ValueStream};
use driftdeck::sources::{ColumnRequest, KindHint};
use serde::{Deserialize, Serialize};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Profile {
    checksum: String,
    edges: Vec<f64>,
}

struct Unserialisable;
impl Serialize for Unserialisable {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("boom"))
    }
}

fn ids(vs: &str, m: &str) -> (ValueStream, ModelId) {
    (
        ValueStream::new(vs).expect("vs"),
        ModelId::new(m).expect("m"),
    )
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn read_checksum_and_missing_benchmark() {
    let root = tempfile::tempdir().expect("root");
    let store = LocalDirStore::new(root.path());
    let (vs, m) = ids("airports", "jfk_delay");
    let err = store
        .read_benchmark(&vs, &m, None)
        .expect_err("missing")
        .to_string();
    assert!(
        err.contains("airports/jfk_delay/benchmark.csv") && err.contains("not found"),
        "{err}"
    );
    assert!(store.checksum(&vs, &m).is_err());
    store
        .write_benchmark(&vs, &m, b"score,c\n0.1,a\n0.2,b\n")
        .expect("write");
    let t = store
        .read_benchmark(
            &vs,
            &m,
            Some(&[ColumnRequest::new("score", KindHint::Numeric)]),
        )
        .expect("read");
    assert_eq!(t.rows, 2);
    assert_eq!(store.checksum(&vs, &m).expect("sum").len(), 64);
}

#[test]
fn profile_roundtrip_is_atomic() {
    let root = tempfile::tempdir().expect("root");
    let store = LocalDirStore::new(root.path());
    let (vs, m) = ids("carriers", "legacy_delay");
    assert_eq!(store.load_profile::<Profile>(&vs, &m).expect("none"), None);
    let p = Profile {
        checksum: "abc".into(),
        edges: vec![0.1, 0.5],
    };
    store.save_profile(&vs, &m, &p).expect("save");
    assert_eq!(
        store.load_profile::<Profile>(&vs, &m).expect("load"),
        Some(p)
    );
    // A failed save leaves the previous profile intact and no temp file behind.
    let err = store
        .save_profile(&vs, &m, &Unserialisable)
        .expect_err("boom");
    assert!(matches!(err, BenchmarkError::Profile { .. }));
    let dir = root.path().join("carriers/legacy_delay");
    assert_eq!(files_in(&dir), vec!["benchmark.profile.json"]);
    assert_eq!(
        store
            .load_profile::<Profile>(&vs, &m)
            .expect("load")
            .map(|p| p.checksum),
        Some("abc".to_string())
    );
    // A corrupt profile is reported with its path.
    std::fs::write(dir.join("benchmark.profile.json"), b"{not json").expect("corrupt");
    let err = store
        .load_profile::<Profile>(&vs, &m)
        .expect_err("corrupt")
        .to_string();
    assert!(err.contains("benchmark.profile.json"), "{err}");
    // Works through a trait object too.
    let dynamic: &dyn BenchmarkStore = &store;
    assert!(dynamic.load_profile::<Profile>(&vs, &m).is_err());
}

#[test]
fn write_benchmark_keeps_previous_version() {
    let root = tempfile::tempdir().expect("root");
    let store = LocalDirStore::new(root.path());
    let (vs, m) = ids("airports", "ewr_delay");
    assert_eq!(
        store.write_benchmark(&vs, &m, b"x\n1\n").expect("first"),
        None
    );
    let kept = store
        .write_benchmark(&vs, &m, b"x\n2\n")
        .expect("second")
        .expect("version dir");
    assert!(kept.starts_with(root.path().join("airports/ewr_delay/versions")));
    assert_eq!(
        std::fs::read(kept.join("benchmark.csv")).expect("old"),
        b"x\n1\n"
    );
    let current = store.benchmark_path(&vs, &m).expect("path");
    assert_eq!(std::fs::read(current).expect("new"), b"x\n2\n");
    let kept2 = store
        .write_benchmark(&vs, &m, b"x\n3\n")
        .expect("third")
        .expect("dir");
    assert_ne!(kept, kept2);
    assert_eq!(
        files_in(&root.path().join("airports/ewr_delay")),
        vec!["benchmark.csv", "versions"]
    );
}

#[test]
fn list_finds_models_and_skips_others() {
    let root = tempfile::tempdir().expect("root");
    let store = LocalDirStore::new(root.path());
    assert!(store.list().expect("empty").is_empty());
    for (vs, m) in [
        ("airports", "jfk_delay"),
        ("airports", "ewr_delay"),
        ("carriers", "legacy_delay"),
    ] {
        let (vs, m) = ids(vs, m);
        store.write_benchmark(&vs, &m, b"x\n1\n").expect("write");
    }
    std::fs::create_dir_all(root.path().join("airports/common")).expect("common");
    std::fs::write(root.path().join("airports/common/benchmark.csv"), b"x\n").expect("w");
    std::fs::create_dir_all(root.path().join("airports/No Good")).expect("bad");
    std::fs::write(root.path().join("airports/No Good/benchmark.csv"), b"x\n").expect("w");
    std::fs::create_dir_all(root.path().join("airports/empty_model")).expect("empty");
    let listed: Vec<(String, String)> = store
        .list()
        .expect("list")
        .into_iter()
        .map(|(v, m)| (v.to_string(), m.to_string()))
        .collect();
    assert_eq!(
        listed,
        vec![
            ("airports".to_string(), "ewr_delay".to_string()),
            ("airports".to_string(), "jfk_delay".to_string()),
            ("carriers".to_string(), "legacy_delay".to_string()),
        ]
    );
}

#[test]
fn store_from_config_honours_overrides() {
    let dir = tempfile::tempdir().expect("dir");
    let cfg_dir = dir.path().join("config");
    std::fs::create_dir_all(&cfg_dir).expect("mkdir");
    std::fs::write(
        cfg_dir.join("driftdeck.toml"),
        "[benchmarks]\nroot = \"bench\"\n",
    )
    .expect("w");
    std::fs::write(
        cfg_dir.join("models.yaml"),
        "models:\n  - { id: a1, value_stream: vs, owner: o, schedule: \"@daily\", score: s, current: { path: d.csv } }\n  - { id: a2, value_stream: vs, owner: o, schedule: \"@daily\", score: s, current: { path: d.csv } }\n",
    )
    .expect("w");
    let env =
        |k: &str| (k == "MODEL_A2_BENCHMARKING_PATH").then(|| "/elsewhere/a2.csv".to_string());
    let cfg = driftdeck::config::load_from(&cfg_dir.join("driftdeck.toml"), &env).expect("cfg");
    let store = driftdeck::wiring::local_benchmark_store(&cfg);
    let (vs, a1) = ids("vs", "a1");
    let (_, a2) = ids("vs", "a2");
    assert_eq!(
        store.benchmark_path(&vs, &a1).expect("a1"),
        dir.path().join("bench/vs/a1/benchmark.csv")
    );
    assert_eq!(
        store.benchmark_path(&vs, &a2).expect("a2"),
        Path::new("/elsewhere/a2.csv")
    );
}

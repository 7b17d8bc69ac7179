//! models.yaml `refresh: source: query:` — a new benchmark from a Snowflake query, run on the
//! Snowflake store's client, validated and installed exactly like a file extract of the same rows
//! (same installed bytes, same quarantine counts), through the real binary against the
//! Snowflake-protocol test server. A failing query keeps the old benchmark.

#[path = "snowflake/support.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use driftdeck::store::snowflake::sql;
use serde_json::Value;

fn driftdeck(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_driftdeck"))
        .env("RUST_BACKTRACE", "0")
        .env("NO_COLOR", "1")
        .env_remove("DRIFTDECK_CONFIG")
        .env_remove("VALIDATION_THRESHOLD")
        .env_remove("EMAIL_RECIPIENTS")
        .env_remove("BENCHMARKING_PATH")
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .expect("run driftdeck")
}

fn models_yaml() -> String {
    let model = |id: &str, source: &str| {
        format!(
            r#"  - id: {id}
    value_stream: vs
    owner: tests
    schedule: "0 6 * * *"
    score: score
    characteristics:
      - {{ name: x, kind: numeric }}
      - {{ name: c, kind: categorical }}
    current: {{ path: "data/cur_{{date}}.csv" }}
    refresh:
      source: {source}
      key: id
      ranges: {{ x: [0, 10] }}
"#
        )
    };
    format!(
        "models:\n{}{}{}",
        model(
            "m_query",
            r#"{ query: "SELECT id, score, x, c FROM BENCH_ROWS WHERE loaded <= {date} ORDER BY n" }"#
        ),
        model("m_file", r#"{ path: data/extract.csv }"#),
        model(
            "m_broken",
            r#"{ query: "SELECT id, score, x, c FROM NO_SUCH_TABLE" }"#
        ),
    )
}

/// The new population: 100 rows, two repeating an earlier key and one with x out of range.
/// `x` holds two decimals exactly (the table's NUMBER(8,2)).
fn new_rows() -> Vec<(String, f64, f64, &'static str)> {
    (0..100u32)
        .map(|i| {
            let id = if (97..99).contains(&i) {
                format!("r{}", i - 90)
            } else {
                format!("r{i}")
            };
            let x = if i == 99 {
                50.0
            } else {
                f64::from((i * 29) % 600 + 25) / 100.0
            };
            (
                id,
                f64::from((i * 7) % 90) / 100.0 + 0.005,
                x,
                ["a", "b", "c", "O'Hare"][(i % 4) as usize],
            )
        })
        .collect()
}

fn bench(root: &Path, model: &str) -> PathBuf {
    root.join("benchmarks/vs").join(model).join("benchmark.csv")
}

/// The models refresh in parallel (`[refresh] concurrency` default), sharing the store's session.
fn workspace(root: &Path, store: &str) -> PathBuf {
    std::fs::create_dir_all(root.join("config")).unwrap();
    std::fs::create_dir_all(root.join("data")).unwrap();
    std::fs::write(
        root.join("config/driftdeck.toml"),
        format!(
            "[workspace]\nname = \"refresh\"\n\n[refresh]\nmax_quarantined_share = 0.1\n\n[validation]\nmin_rows = 10\n\n{store}"
        ),
    )
    .unwrap();
    std::fs::write(root.join("config/models.yaml"), models_yaml()).unwrap();
    let mut old = String::from("id,score,x,c\n");
    for i in 0..90u32 {
        old.push_str(&format!(
            "o{i},{},{},{}\n",
            f64::from((i * 7) % 90) / 100.0,
            f64::from((i * 29) % 600) / 100.0,
            ["a", "b", "c"][(i % 3) as usize]
        ));
    }
    for m in ["m_query", "m_file", "m_broken"] {
        std::fs::create_dir_all(bench(root, m).parent().unwrap()).unwrap();
        std::fs::write(bench(root, m), &old).unwrap();
    }
    let mut csv = String::from("id,score,x,c\n");
    for (id, s, x, c) in new_rows() {
        csv.push_str(&format!("{id},{s},{x},{c}\n"));
    }
    std::fs::write(root.join("data/extract.csv"), csv).unwrap();
    root.join("config/driftdeck.toml")
}

#[test]
fn refresh_query_source_without_snowflake_store_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = workspace(dir.path(), "");
    let out = driftdeck(&config, &["refresh-benchmarks", "--model", "m_file"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("models[0].refresh.source.query") && err.contains("kind = \"snowflake\""),
        "{err}"
    );
}

#[test]
fn refresh_from_a_query_installs_the_same_benchmark_as_the_file_extract() {
    let Some(db) = support::test_db("refresh_query") else {
        return;
    };
    let c = db.client();
    c.execute("CREATE SCHEMA", "CREATE SCHEMA IF NOT EXISTS PSI")
        .unwrap();
    c.execute(
        "CREATE TABLE",
        "CREATE TABLE BENCH_ROWS (n INTEGER, id VARCHAR, score FLOAT, x NUMBER(8,2), c VARCHAR, loaded DATE)",
    )
    .unwrap();
    let values: Vec<String> = new_rows()
        .iter()
        .enumerate()
        .map(|(n, (id, s, x, cat))| {
            format!(
                "({n}, {}, {}, {}, {}, '2013-01-31'::DATE)",
                sql::string(id).unwrap(),
                sql::float(*s),
                sql::float(*x),
                sql::string(cat).unwrap()
            )
        })
        .collect();
    c.execute(
        "INSERT rows",
        &format!("INSERT INTO BENCH_ROWS VALUES {}", values.join(", ")),
    )
    .unwrap();

    let root = db.base().join("ws");
    let s = &db.settings;
    let store = format!(
        "[store]\nkind = \"snowflake\"\naccount = \"{}\"\nuser = \"{}\"\npassword_file = \"{}\"\n\
         database = \"{}\"\nschema = \"{}\"\naddress = \"{}\"\nca_file = \"{}\"\n",
        s.account,
        s.user,
        db.base().join("password").display(),
        s.database,
        s.schema,
        s.address.as_deref().unwrap(),
        s.ca_file.as_ref().unwrap().display()
    );
    let config = workspace(&root, &store);
    let broken_before = std::fs::read(bench(&root, "m_broken")).unwrap();
    let out = driftdeck(&config, &["refresh-benchmarks", "--all", "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "m_broken fails: {stderr}");
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{stderr}", String::from_utf8_lossy(&out.stdout)));
    let model = |id: &str| -> Value {
        report["models"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["model"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} in {report}"))
    };
    let (q, f, b) = (model("m_query"), model("m_file"), model("m_broken"));
    assert_eq!(q["outcome"], "replaced", "{q}");
    assert_eq!(f["outcome"], "replaced", "{f}");
    assert!(
        q["source"]
            .as_str()
            .is_some_and(|s| s.starts_with("snowflake query")),
        "{q}"
    );
    for k in ["rows_read", "rows_kept", "quarantined"] {
        assert_eq!(q[k], f[k], "{k}: {q} vs {f}");
    }
    assert_eq!(q["rows_read"], 100, "{q}");
    assert_eq!(
        q["quarantined"], 3,
        "two repeated keys, one x out of range: {q}"
    );
    // The same bytes installed: the query's rows went through the same staging as the file's
    // (upper-cased result names mapped back to the model's columns).
    let installed = std::fs::read_to_string(bench(&root, "m_query")).unwrap();
    assert!(installed.starts_with("id,score,x,c\n"), "{installed}");
    assert!(installed.contains("O'Hare"), "{installed}");
    assert_eq!(
        installed,
        std::fs::read_to_string(bench(&root, "m_file")).unwrap()
    );
    // The quarantine holds the three rows with their reasons.
    let qfile = PathBuf::from(q["quarantine_file"].as_str().expect("quarantine file"));
    let mut r = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(&qfile)
        .expect("quarantine csv");
    assert_eq!(
        r.headers().unwrap().iter().collect::<Vec<_>>(),
        ["id", "score", "x", "c", "line", "reason"]
    );
    let reasons: Vec<String> = r
        .records()
        .map(|row| row.unwrap().get(5).unwrap().to_string())
        .collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert_eq!(
        reasons
            .iter()
            .filter(|r| r.contains("duplicate key"))
            .count(),
        2,
        "{reasons:?}"
    );
    // A failing query: the refresh of that model fails naming Snowflake's error; the old
    // benchmark is untouched.
    assert_eq!(b["outcome"], "failed", "{b}");
    let err = b["error"].as_str().unwrap_or_default();
    assert!(
        err.contains("NO_SUCH_TABLE") || err.contains("no_such_table"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(bench(&root, "m_broken")).unwrap(),
        broken_before
    );
}

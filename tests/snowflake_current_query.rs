//! models.yaml `current: query:` — the current population of a calculation date from a Snowflake
//! query template, run through the Snowflake store's client, driven through the real binary.
//! The same rows as a CSV file give the same PSI and CSI. Without the Snowflake store the query
//! is a configuration error (no server needed for that test).

#[path = "snowflake/support.rs"]
mod support;

use std::path::Path;
use std::process::{Command, Output};

use driftdeck::store::snowflake::sql;
use serde_json::Value;

fn driftdeck(config: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_driftdeck"));
    cmd.env("RUST_BACKTRACE", "0")
        .env("NO_COLOR", "1")
        .env_remove("DRIFTDECK_CONFIG")
        .env_remove("THRESHOLD")
        .env_remove("BENCHMARKING_PATH")
        .env_remove("SNOWFLAKE_PASSWORD")
        .arg("--config")
        .arg(config)
        .args(args);
    cmd.output().expect("run driftdeck")
}

fn ok(out: &Output, what: &str) -> String {
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what} failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

const MODELS_YAML: &str = r#"models:
  - id: m_query
    value_stream: vs
    owner: tests
    schedule: "0 6 * * *"
    score: score
    characteristics:
      - { name: x, kind: numeric }
      - { name: c, kind: categorical }
    current:
      query: "SELECT flight_date, score, x, c FROM CURRENT_ROWS WHERE origin = 'JFK' AND flight_date BETWEEN {from} AND {date}"
      date_column: flight_date
      window_days: 2
  - id: m_file
    value_stream: vs
    owner: tests
    schedule: "0 6 * * *"
    score: score
    characteristics:
      - { name: x, kind: numeric }
      - { name: c, kind: categorical }
    current:
      path: data/current.csv
      date_column: flight_date
      window_days: 2
      filter: { origin: JFK }
"#;

/// Rows of the current population: (date, origin, score, x with two decimals, category).
fn current_rows() -> Vec<(String, &'static str, f64, f64, &'static str)> {
    (0..240u32)
        .map(|i| {
            let day = 1 + i % 3;
            let score = f64::from((i * 37 + day * 11) % 100) / 100.0 + f64::from(day) * 0.05;
            let x = f64::from((i * 13) % 500) / 100.0 + f64::from(day);
            (
                format!("2013-02-{day:02}"),
                ["JFK", "EWR"][(i % 2) as usize],
                score,
                x,
                ["a", "b", "c", "O'Hare"][(i % 4) as usize],
            )
        })
        .collect()
}

/// A workspace of two models over the same data: `m_query` reads Snowflake, `m_file` a CSV.
fn workspace(root: &Path, store: &str) -> std::path::PathBuf {
    std::fs::create_dir_all(root.join("config")).unwrap();
    std::fs::create_dir_all(root.join("data")).unwrap();
    std::fs::write(
        root.join("config/driftdeck.toml"),
        format!(
            "[workspace]\nname = \"query\"\n\n[retry]\nattempts = 1\ndelay_seconds = 0\n\n{store}"
        ),
    )
    .unwrap();
    std::fs::write(root.join("config/models.yaml"), MODELS_YAML).unwrap();
    let mut bench = String::from("score,x,c\n");
    for i in 0..90u32 {
        bench.push_str(&format!(
            "{},{},{}\n",
            f64::from((i * 7) % 90) / 100.0,
            f64::from((i * 29) % 600) / 100.0,
            ["a", "b", "c"][(i % 3) as usize]
        ));
    }
    for m in ["m_query", "m_file"] {
        let dir = root.join("benchmarks/vs").join(m);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("benchmark.csv"), &bench).unwrap();
    }
    let mut csv = String::from("flight_date,origin,score,x,c\n");
    for (d, o, s, x, c) in current_rows() {
        csv.push_str(&format!("{d},{o},{s},{x},{c}\n"));
    }
    std::fs::write(root.join("data/current.csv"), csv).unwrap();
    root.join("config/driftdeck.toml")
}

#[test]
fn query_source_without_snowflake_store_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = workspace(dir.path(), "");
    let out = driftdeck(&config, &["status"]);
    assert!(!out.status.success(), "a query with the SQLite store runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("models.yaml")
            && err.contains("models[0].current.query")
            && err.contains("kind = \"snowflake\""),
        "{err}"
    );
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
}

#[test]
fn query_source_computes_the_same_psi_as_the_equivalent_csv() {
    let Some(db) = support::test_db("current_query") else {
        return;
    };
    let c = db.client();
    c.execute("CREATE SCHEMA", "CREATE SCHEMA IF NOT EXISTS PSI")
        .unwrap();
    c.execute(
        "CREATE TABLE",
        "CREATE TABLE CURRENT_ROWS (flight_date DATE, origin VARCHAR, score FLOAT, x NUMBER(8,2), c VARCHAR)",
    )
    .unwrap();
    let values: Vec<String> = current_rows()
        .iter()
        .map(|(d, o, s, x, cat)| {
            format!(
                "({}, {}, {}, {}, {})",
                sql::string(d).unwrap() + "::DATE",
                sql::string(o).unwrap(),
                sql::float(*s),
                sql::float(*x),
                sql::string(cat).unwrap()
            )
        })
        .collect();
    c.execute(
        "INSERT current",
        &format!("INSERT INTO CURRENT_ROWS VALUES {}", values.join(", ")),
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
    ok(&driftdeck(&config, &["migrate"]), "migrate");
    for m in ["m_query", "m_file"] {
        ok(
            &driftdeck(&config, &["run", "--model", m, "--date", "2013-02-02"]),
            m,
        );
    }
    let out = ok(&driftdeck(&config, &["status", "--json"]), "status");
    let doc: Value = serde_json::from_str(&out).expect("status JSON");
    assert_eq!(doc["store"], "snowflake", "{doc}");
    assert_eq!(doc["pending"], 0, "{doc}");
    let row = |id: &str| -> Value {
        doc["models"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["model_id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} in {doc}"))
    };
    let (q, f) = (row("m_query"), row("m_file"));
    assert_eq!(q["last_date"], "2013-02-02", "{q}");
    assert_eq!(q["run_status"], "succeeded", "{q}");
    let (psi_q, psi_f) = (q["psi"].as_f64().unwrap(), f["psi"].as_f64().unwrap());
    assert!(psi_q > 0.01, "the shifted window drifts: {q}");
    assert!(
        (psi_q - psi_f).abs() < 1e-12,
        "query {psi_q} vs file {psi_f}"
    );
    assert_eq!(q["csi"], f["csi"], "{q} vs {f}");
    assert_eq!(
        q["worst_characteristic"], f["worst_characteristic"],
        "{q} vs {f}"
    );
    assert_eq!(q["rows_current"], f["rows_current"], "{q} vs {f}");
    assert_eq!(q["rows_current"], 80, "JFK rows of two days: {q}");
}

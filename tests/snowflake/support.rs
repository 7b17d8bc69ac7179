//! Connection to the Snowflake-protocol test server started by `tests/snowflake/with_fakesnow.sh`
//! (`.ci/run` runs the whole suite under it). Without it, tests skip with a printed reason, unless
//! `SNOWFLAKE_TEST_REQUIRED` is set (CI), where a missing server fails them.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use driftdeck::store::snowflake::{SnowflakeClient, SnowflakeSettings};

/// A test database on the server: unique name, settings, and a directory holding the password.
pub struct TestDb {
    pub settings: SnowflakeSettings,
    pub dir: tempfile::TempDir,
}

impl TestDb {
    pub fn base(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// The `[store]` section of a `driftdeck.toml` that reaches this database (password from the
    /// file in [`TestDb::base`]).
    pub fn store_toml(&self) -> String {
        let s = &self.settings;
        format!(
            "[store]\nkind = \"snowflake\"\naccount = \"{}\"\nuser = \"{}\"\npassword_file = \"{}\"\n\
             database = \"{}\"\nschema = \"{}\"\naddress = \"{}\"\nca_file = \"{}\"\n",
            s.account,
            s.user,
            self.base().join("password").display(),
            s.database,
            s.schema,
            s.address.as_deref().unwrap_or_default(),
            s.ca_file
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        )
    }
    pub fn client(&self) -> SnowflakeClient {
        SnowflakeClient::new(&self.settings, self.dir.path()).expect("client")
    }
}

/// Settings pointing at the test server, with a fresh database named after `test` (created).
/// `None` (skip) when no server runs.
pub fn test_db(test: &str) -> Option<TestDb> {
    let (Ok(port), Ok(ca)) = (
        std::env::var("SNOWFLAKE_TEST_PORT"),
        std::env::var("SNOWFLAKE_TEST_CA"),
    ) else {
        if std::env::var_os("SNOWFLAKE_TEST_REQUIRED").is_some() {
            panic!(
                "SNOWFLAKE_TEST_REQUIRED is set but SNOWFLAKE_TEST_PORT/SNOWFLAKE_TEST_CA are not"
            );
        }
        eprintln!(
            "skipping {test}: no Snowflake test server (run under tests/snowflake/with_fakesnow.sh, as .ci/run does)"
        );
        return None;
    };
    static N: AtomicU32 = AtomicU32::new(0);
    let db = format!(
        "T_{}_{}_{}",
        test.to_uppercase(),
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("password"), "test-password\n").expect("password file");
    let mut settings = SnowflakeSettings::new("testacct", "DRIFTDECK", &db, "PSI");
    settings.password_file = Some("password".into());
    settings.address = Some(format!("127.0.0.1:{port}"));
    settings.ca_file = Some(ca.into());
    settings.query_timeout_secs = 60;
    settings.backoff_ms = 50;
    let t = TestDb { settings, dir };
    // The database must exist before a session uses it.
    let mut bootstrap = t.settings.clone();
    bootstrap.database = "BOOTSTRAP".into();
    let c = SnowflakeClient::new(&bootstrap, t.dir.path()).expect("bootstrap client");
    c.execute(
        "CREATE DATABASE",
        &format!("CREATE DATABASE IF NOT EXISTS {db}"),
    )
    .expect("create test database");
    Some(t)
}

/// A server of this test's own (to stop and resume), killed on drop.
pub struct OwnServer {
    pub child: std::process::Child,
    pub port: u16,
}

impl OwnServer {
    /// Starts the shim on a free port with the harness's certificate; waits until it accepts.
    pub fn start() -> OwnServer {
        let var = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} not set"));
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = std::process::Command::new(var("SNOWFLAKE_TEST_PYTHON"))
            .arg(var("SNOWFLAKE_TEST_SHIM"))
            .arg(port.to_string())
            .arg(var("SNOWFLAKE_TEST_CERT"))
            .arg(var("SNOWFLAKE_TEST_KEY"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start own server");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "own server did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        OwnServer { child, port }
    }

    fn signal(&self, sig: &str) {
        let ok = std::process::Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .expect("kill")
            .success();
        assert!(ok, "kill {sig}");
    }

    /// Freezes the server (connections hang, as with a network partition).
    pub fn stop(&self) {
        self.signal("-STOP");
    }

    /// Resumes it.
    pub fn resume(&self) {
        self.signal("-CONT");
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

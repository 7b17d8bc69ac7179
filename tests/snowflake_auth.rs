//! Session expiry and key-pair login against the Snowflake-protocol test server, through the
//! shim's test hooks (`tests/snowflake/fakesnow_shim.py`): an expired session is logged in again
//! once and the statement succeeds; a key-pair login carries a JWT that the shim verifies like
//! Snowflake (RS256 signature with the registered public key, `sub`, and `iss` with the key's
//! fingerprint), a wrong key is refused without a retry, and the key never shows in errors or
//! debug output. Key files that cannot be used are refused before any network traffic.

#[path = "snowflake/support.rs"]
mod support;

use std::path::Path;
use std::process::Command;

use driftdeck::store::snowflake::{SnowflakeClient, SnowflakeError, SnowflakeSettings};

/// Calls a test hook of the shim (curl, as the harness does).
fn hook(method: &str, path: &str, body: Option<&Path>) -> String {
    let port = std::env::var("SNOWFLAKE_TEST_PORT").expect("port");
    let ca = std::env::var("SNOWFLAKE_TEST_CA").expect("ca");
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--fail", "--cacert", &ca, "--resolve"])
        .arg(format!("testacct.snowflakecomputing.com:{port}:127.0.0.1"))
        .args(["-X", method])
        .arg(format!(
            "https://testacct.snowflakecomputing.com:{port}{path}"
        ));
    if let Some(b) = body {
        cmd.arg("--data-binary").arg(format!("@{}", b.display()));
    }
    let out = cmd.output().expect("curl");
    assert!(
        out.status.success(),
        "hook {path}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The error of a statement that must fail (the result type has no `Debug`).
fn fails<T>(r: Result<T, SnowflakeError>) -> SnowflakeError {
    match r {
        Ok(_) => panic!("the statement succeeded"),
        Err(e) => e,
    }
}

fn openssl(args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An RSA key pair in PKCS#8 PEM (`<name>.p8`) and its public key (`<name>.pub.pem`).
fn key_pair(dir: &Path, name: &str) -> (String, String) {
    let key = dir.join(format!("{name}.p8"));
    let public = dir.join(format!("{name}.pub.pem"));
    openssl(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        key.to_str().unwrap(),
    ]);
    openssl(&[
        "pkey",
        "-in",
        key.to_str().unwrap(),
        "-pubout",
        "-out",
        public.to_str().unwrap(),
    ]);
    (
        std::fs::read_to_string(&key).unwrap(),
        public.display().to_string(),
    )
}

#[test]
fn an_expired_session_logs_in_again_once_then_the_statement_succeeds() {
    let Some(db) = support::test_db("relogin") else {
        return;
    };
    let c = db.client();
    c.execute("SELECT one", "SELECT 1")
        .expect("first statement");
    assert_eq!(c.stats().logins(), 1);
    let expired = hook(
        "POST",
        &format!(
            "/driftdeck/expire-sessions?database={}",
            db.settings.database
        ),
        None,
    );
    assert!(expired.contains("\"expired\":1"), "{expired}");
    c.execute("SELECT two", "SELECT 2")
        .expect("the statement succeeds after a new login");
    assert_eq!(c.stats().logins(), 2, "logged in again once");
    assert_eq!(c.stats().statements(), 2);
    assert_eq!(c.stats().attempts(), 3, "one failed attempt, one retry");
    // SQL errors are never retried (and need no new session).
    let err = fails(c.execute("SELECT missing", "SELECT * FROM NO_SUCH_TABLE"));
    assert!(matches!(err, SnowflakeError::Sql { .. }), "{err}");
    assert_eq!(c.stats().attempts(), 4);
    assert_eq!(c.stats().logins(), 2);
}

#[test]
fn key_pair_login_is_verified_and_the_key_never_shows() {
    let Some(mut db) = support::test_db("keypair") else {
        return;
    };
    let dir = db.base();
    let (pem, public) = key_pair(&dir, "driftdeck");
    let (other_pem, _) = key_pair(&dir, "other");
    hook(
        "POST",
        &format!("/driftdeck/require-key?database={}", db.settings.database),
        Some(Path::new(&public)),
    );
    // A password login is refused from now on: the server really checks.
    let err = fails(db.client().execute("SELECT one", "SELECT 1")).to_string();
    assert!(err.contains("390144"), "{err}");

    db.settings.password_file = None;
    db.settings.private_key_file = Some("driftdeck.p8".into());
    let c = db.client();
    c.execute("SELECT one", "SELECT 1")
        .expect("key-pair login accepted");
    let logins = hook(
        "GET",
        &format!("/driftdeck/logins?database={}", db.settings.database),
        None,
    );
    assert!(logins.ends_with("\"SNOWFLAKE_JWT\"]}"), "{logins}");
    // The key is in no debug output.
    let body_line = pem.lines().nth(1).expect("PEM body");
    for shown in [format!("{c:?}"), format!("{:?}", db.settings)] {
        assert!(!shown.contains(body_line), "{shown}");
    }

    // Another key: refused by the server, not retried, the key not in the message.
    db.settings.private_key_file = Some("other.p8".into());
    let wrong = db.client();
    let err = fails(wrong.execute("SELECT one", "SELECT 1"));
    let text = err.to_string();
    assert!(matches!(err, SnowflakeError::Auth { .. }), "{text}");
    assert!(text.contains("390144"), "{text}");
    assert_eq!(
        wrong.stats().attempts(),
        1,
        "an auth failure is not retried"
    );
    let other_line = other_pem.lines().nth(1).unwrap();
    assert!(
        !text.contains(other_line) && !text.contains(body_line),
        "{text}"
    );
}

#[test]
fn unusable_key_files_are_refused_before_any_connection() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = SnowflakeSettings::new("acct", "U", "D", "S");
    s.address = Some("127.0.0.1:9".into());
    s.private_key_file = Some("missing.p8".into());
    let err = SnowflakeClient::new(&s, dir.path())
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing.p8"), "{err}");
    std::fs::write(dir.path().join("not-pem.p8"), "hunter2-not-a-key\n").unwrap();
    s.private_key_file = Some("not-pem.p8".into());
    let err = SnowflakeClient::new(&s, dir.path())
        .unwrap_err()
        .to_string();
    assert!(err.contains("not-pem.p8") && err.contains("PEM"), "{err}");
    assert!(
        !err.contains("hunter2"),
        "the file's content is not shown: {err}"
    );
}

//! Notification delivery against real servers on loopback:
//! - Slack: a minimal HTTP/1.1 server (std sockets) standing in for the incoming webhook; checks
//!   the JSON received, retries after a 500, no retry after a 400, and that errors never carry
//!   the webhook URL;
//! - e-mail: Python's `aiosmtpd` (PyPI; installed by `.ci/run`) with STARTTLS required and AUTH,
//!   a self-signed certificate made by `openssl` trusted through `ca_file`; checks the message,
//!   envelope, TLS and authentication, and a wrong password failing without being logged.
//!   Skipped with a printed reason when python3 + aiosmtpd or openssl are missing.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use driftdeck::jobs::Notification;
use driftdeck::notify::{
    DeliveryRetry, EmailNotifier, EmailSettings, SlackNotifier, SlackSettings, SmtpTls,
};

fn notification() -> Notification {
    Notification {
        at: chrono::Utc::now(),
        subject: "driftdeck refresh: 5 replaced, 1 rejected — action needed".into(),
        body: "refresh 20261129: 5 replaced, 1 rejected\n  carriers/regional_delay rejected".into(),
        email: vec![
            "network-planning@example.com".into(),
            "mlops-oncall@example.com".into(),
        ],
        slack: Some("#carrier-models".into()),
    }
}

fn fast_retry() -> DeliveryRetry {
    DeliveryRetry {
        attempts: 3,
        delay_ms: 10,
        timeout_seconds: 5,
    }
}

/// Serves `statuses.len()` HTTP requests answering each with the next status; returns the
/// (request line, body) pairs received.
/// (request line, body) of each request a server received.
type Requests = Arc<Mutex<Vec<(String, String)>>>;

fn webhook_server(statuses: Vec<u16>) -> (u16, Requests) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    std::thread::spawn(move || {
        for status in statuses {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut reader = BufReader::new(stream);
            let mut request_line = String::new();
            let _ = reader.read_line(&mut request_line);
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((k, v)) = line.split_once(':')
                    && k.eq_ignore_ascii_case("content-length")
                {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; length];
            let _ = reader.read_exact(&mut body);
            seen2.lock().expect("lock").push((
                request_line.trim().to_string(),
                String::from_utf8_lossy(&body).into_owned(),
            ));
            let mut stream = reader.into_inner();
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
            );
        }
    });
    (port, seen)
}

fn slack(port: u16, path: &str) -> SlackNotifier {
    let url = format!("http://127.0.0.1:{port}{path}");
    let env = move |k: &str| (k == "TEST_SLACK_WEBHOOK").then(|| url.clone());
    SlackNotifier::from_settings(
        &SlackSettings {
            webhook_env: "TEST_SLACK_WEBHOOK".into(),
            retry: fast_retry(),
        },
        &env,
    )
    .expect("slack notifier")
}

#[test]
fn slack_webhook_receives_the_summary_after_a_retry() {
    let (port, seen) = webhook_server(vec![500, 200]);
    slack(port, "/services/T000/B000/SECRETTOKEN")
        .send(&notification())
        .expect("delivered on the second attempt");
    let seen = seen.lock().expect("lock");
    assert_eq!(seen.len(), 2, "one retry after the 500");
    assert_eq!(seen[1].0, "POST /services/T000/B000/SECRETTOKEN HTTP/1.1");
    let json: serde_json::Value = serde_json::from_str(&seen[1].1).expect("json body");
    let text = json["text"].as_str().expect("text");
    assert!(text.contains("5 replaced, 1 rejected"), "{text}");
    assert!(text.contains("carriers/regional_delay rejected"), "{text}");
    assert!(text.contains("#carrier-models"), "{text}");
}

#[test]
fn slack_errors_are_not_retried_on_400_and_never_show_the_url() {
    let (port, seen) = webhook_server(vec![400, 200]);
    let err = slack(port, "/services/T/B/SECRETTOKEN")
        .send(&notification())
        .expect_err("400 is final");
    assert_eq!(seen.lock().expect("lock").len(), 1);
    assert!(err.to_string().contains("1 attempt(s)"), "{err}");
    assert!(!err.to_string().contains("SECRETTOKEN"), "{err}");
    // Nobody listening: transport errors are retried and the URL is still not shown.
    let dead = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = dead.local_addr().expect("addr").port();
    drop(dead);
    let err = slack(port, "/services/T/B/SECRETTOKEN")
        .send(&notification())
        .expect_err("refused");
    assert!(err.to_string().contains("3 attempt(s)"), "{err}");
    assert!(!err.to_string().contains("SECRETTOKEN"), "{err}");
}

struct SmtpServer {
    child: Child,
    port: u16,
    out: tempfile::TempDir,
    ca: std::path::PathBuf,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn have(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn smtp_server() -> Option<SmtpServer> {
    if !have("python3", &["-c", "import aiosmtpd"]) {
        eprintln!("SKIPPED: python3 with aiosmtpd not found (pip install aiosmtpd; .ci/run does)");
        return None;
    }
    if !have("openssl", &["version"]) {
        eprintln!("SKIPPED: openssl not found (needed for the test certificate)");
        return None;
    }
    let out = tempfile::tempdir().expect("tmp");
    let cert = out.path().join("cert.pem");
    let key = out.path().join("key.pem");
    let ca = out.path().join("ca.pem");
    // A test CA and a leaf for 127.0.0.1 signed by it (webpki rejects a CA used as end entity).
    let ext = out.path().join("leaf.ext");
    std::fs::write(
        &ext,
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .expect("ext");
    let dir = out.path().display().to_string();
    let steps: Vec<Vec<String>> = vec![
        "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -keyout {d}/ca.key -out {d}/ca.pem -subj /CN=driftdeck-test-ca",
        "req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout {d}/key.pem -out {d}/leaf.csr -subj /CN=127.0.0.1",
        "x509 -req -in {d}/leaf.csr -CA {d}/ca.pem -CAkey {d}/ca.key -CAcreateserial -days 2 -out {d}/cert.pem -extfile {d}/leaf.ext",
    ]
    .into_iter()
    .map(|s| s.replace("{d}", &dir).split(' ').map(str::to_string).collect())
    .collect();
    let ok = steps.iter().all(|args| {
        Command::new("openssl")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    assert!(ok, "openssl could not make a test certificate");
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let mails = out.path().join("mails");
    std::fs::create_dir_all(&mails).expect("mkdir");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_sink.py");
    let mut child = Command::new("python3")
        .arg(script)
        .args(["--port", &port.to_string()])
        .arg("--cert")
        .arg(&cert)
        .arg("--key")
        .arg(&key)
        .args(["--user", "driftdeck", "--password", "s3cret-pw"])
        .arg("--out")
        .arg(&mails)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 runs");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    let _ = BufReader::new(stdout).read_line(&mut line);
    assert!(
        line.starts_with("ready"),
        "smtp sink did not start: {line:?}"
    );
    Some(SmtpServer {
        child,
        port,
        out,
        ca,
    })
}

fn email(server: &SmtpServer, password: &str) -> EmailNotifier {
    let pw = password.to_string();
    let env = move |k: &str| (k == "TEST_SMTP_PASSWORD").then(|| pw.clone());
    EmailNotifier::from_settings(
        &EmailSettings {
            smtp_host: "127.0.0.1".into(),
            smtp_port: server.port,
            tls: SmtpTls::Starttls,
            ca_file: Some(server.ca.clone()),
            username: Some("driftdeck".into()),
            password_env: "TEST_SMTP_PASSWORD".into(),
            from: "driftdeck <driftdeck@example.com>".into(),
            email_recipients: Vec::new(),
            retry: fast_retry(),
        },
        &env,
    )
    .expect("email notifier")
}

#[test]
fn email_goes_through_starttls_and_auth_to_every_recipient() {
    let Some(server) = smtp_server() else { return };
    email(&server, "s3cret-pw")
        .send(&notification())
        .expect("delivered");
    let path = server.out.path().join("mails").join("0001.eml");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !path.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let mail = std::fs::read_to_string(&path).expect("message received");
    assert!(mail.contains("X-TLS: True"), "{mail}");
    assert!(mail.contains("X-Authenticated: True"), "{mail}");
    assert!(
        mail.contains("X-Envelope-To: network-planning@example.com,mlops-oncall@example.com"),
        "{mail}"
    );
    assert!(
        mail.contains("X-Envelope-From: driftdeck@example.com"),
        "{mail}"
    );
    assert!(mail.contains("Subject: "), "{mail}");
    assert!(mail.contains("regional_delay rejected"), "{mail}");
}

#[test]
fn a_wrong_smtp_password_fails_without_showing_it() {
    let Some(server) = smtp_server() else { return };
    let err = email(&server, "wrong-pw-123")
        .send(&notification())
        .expect_err("auth fails");
    let text = err.to_string();
    assert!(!text.contains("wrong-pw-123"), "{text}");
    assert!(text.contains("smtp 127.0.0.1"), "{text}");
    assert!(
        text.contains("535"),
        "the server's authentication refusal: {text}"
    );
    assert!(
        text.contains("1 attempt(s)"),
        "a permanent answer is not retried: {text}"
    );
    assert!(!server.out.path().join("mails").join("0001.eml").exists());
}

#[test]
fn plain_smtp_is_refused_for_a_remote_host() {
    let none = |_: &str| None;
    let err = EmailNotifier::from_settings(
        &EmailSettings {
            smtp_host: "smtp.example.com".into(),
            smtp_port: 25,
            tls: SmtpTls::None,
            ca_file: None,
            username: None,
            password_env: "X".into(),
            from: "d@example.com".into(),
            email_recipients: Vec::new(),
            retry: fast_retry(),
        },
        &none,
    )
    .expect_err("refused");
    assert!(err.to_string().contains("loopback"), "{err}");
}

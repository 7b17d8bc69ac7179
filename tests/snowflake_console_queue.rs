//! The Snowflake store's pending queue as the console sees it: the header shows the queue depth
//! (`⇡N queued`, text), and the console's background overview load sends the queue once
//! Snowflake answers. The first test needs no server (Snowflake unreachable: a closed loopback
//! port); the second runs against the Snowflake-protocol test server.

#[path = "snowflake/support.rs"]
mod support;

use driftdeck::console::fixture::{fixed_now, settle};
use driftdeck::console::{App, KeyMap, ModelMeta, Session, Theme, view};
use driftdeck::domain::{Role, Thresholds};
use driftdeck::store::snowflake::{SnowflakeSettings, SnowflakeStore};
use driftdeck::store::{ColumnRole, ResultsStore, contract};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const MODELS: [&str; 3] = ["m1", "m2", "m3"];

fn console(store: &dyn ResultsStore) -> App {
    let session = Session {
        workspace: "queue".into(),
        store: store.backend().to_string(),
        user: "alice".into(),
        role: Role::Operator,
        ..Session::default()
    };
    let models = MODELS
        .iter()
        .map(|m| ModelMeta {
            model_id: (*m).to_string(),
            value_stream: "vs".into(),
            thresholds: Thresholds::default(),
            owner: None,
        })
        .collect();
    let mut app = App::new(session, models, Theme::default(), KeyMap::default());
    app.set_now(fixed_now());
    let fx = app.init();
    settle(&mut app, store, fx);
    app
}

/// The header line (first row) of a 160-column render.
fn header(app: &App) -> String {
    let mut terminal = Terminal::new(TestBackend::new(160, 30)).expect("terminal");
    terminal.draw(|f| view(app, f)).expect("draw");
    let buf = terminal.backend().buffer();
    (0..buf.area.width)
        .map(|x| buf[(x, 0)].symbol().to_string())
        .collect()
}

/// A loopback port where nothing listens (Snowflake unreachable: connection refused).
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

fn unreachable_settings(dir: &std::path::Path, database: &str) -> SnowflakeSettings {
    std::fs::write(dir.join("password"), "test-password\n").expect("password file");
    let mut s = SnowflakeSettings::new("testacct", "DRIFTDECK", database, "PSI");
    s.password_file = Some("password".into());
    s.address = Some(format!("127.0.0.1:{}", closed_port()));
    s.attempts = 1;
    s.backoff_ms = 10;
    s.query_timeout_secs = 5;
    s
}

/// Queues one result with characteristics per model (no statement is sent: below `batch_rows`).
fn queue_results(store: &SnowflakeStore, date: &str) {
    for m in MODELS {
        let chars = [
            contract::characteristic(m, date, "score", ColumnRole::Score, 0.2),
            contract::characteristic(m, date, "temp", ColumnRole::Characteristic, 0.4),
        ];
        store
            .save_result(&contract::result("vs", m, date, 0.2), &chars)
            .expect("result accepted while Snowflake is unreachable");
    }
}

#[test]
fn header_shows_the_queue_while_snowflake_is_unreachable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let settings = unreachable_settings(dir.path(), "NOWHERE");
    let store = SnowflakeStore::open(&settings, dir.path()).expect("open (no network yet)");
    queue_results(&store, "2013-02-01");
    assert_eq!(store.pending().unwrap(), 3);
    let app = console(&store);
    let line = header(&app);
    assert!(line.contains("snowflake ⇡3 queued"), "{line}");
    // The read failed (unreachable), the queue is intact.
    assert_eq!(store.pending().unwrap(), 3);
}

#[test]
fn console_background_load_sends_the_queue_when_snowflake_answers() {
    let Some(db) = support::test_db("console_queue") else {
        return;
    };
    // Queue while Snowflake is unreachable, in the workspace the real store uses.
    {
        let mut down = db.settings.clone();
        down.address = Some(format!("127.0.0.1:{}", closed_port()));
        down.attempts = 1;
        let store = SnowflakeStore::open(&down, &db.base()).expect("open unreachable");
        queue_results(&store, "2013-02-01");
        assert_eq!(store.pending().unwrap(), 3);
        let line = header(&console(&store));
        assert!(line.contains("⇡3 queued"), "{line}");
    }
    // Snowflake answers: the console's overview load (what its background refresh runs every
    // `refresh_every`) sends the queue first, then reads the results back.
    let store = SnowflakeStore::open(&db.settings, &db.base()).expect("open");
    assert_eq!(
        store.pending().unwrap(),
        3,
        "the queue survived the process"
    );
    let app = console(&store);
    assert_eq!(
        store.pending().unwrap(),
        0,
        "the console's load sent the queue"
    );
    let line = header(&app);
    assert!(!line.contains("queued"), "{line}");
    assert!(line.contains("3 models"), "{line}");
    let mut terminal = Terminal::new(TestBackend::new(160, 30)).expect("terminal");
    terminal.draw(|f| view(&app, f)).expect("draw");
    let screen: String = format!("{:?}", terminal.backend().buffer());
    assert!(screen.contains("2013-02-01"), "results read back: {screen}");
}

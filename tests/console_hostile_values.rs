//! Issue 11, findings 3 and 10: whatever a store holds (another writer to the shared tables can
//! put anything there), every console view renders without hanging or panicking, and no control
//! character from data reaches a screen cell.
//!
//! A property test fills the console's fixture store with arbitrary f64 values (NaN, ±inf,
//! ±1.797e308, subnormals, negatives) and arbitrary strings (control characters, escapes, wide
//! characters), then draws every pane, overlay and layout on a ratatui `TestBackend`. Each draw
//! runs on its own thread with a deadline, so a hang fails the test instead of stalling it.

use std::sync::mpsc;
use std::time::Duration;

use chrono::NaiveDate;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use driftdeck::console::app::{App, Msg, Session, update};
use driftdeck::console::fixture::{Estate, EstateSpec, fixed_now, generate, settle};
use driftdeck::console::{KeyMap, Theme, view};
use driftdeck::domain::{BinStat, Role};
use driftdeck::store::{CharacteristicRecord, ColumnRole, ResultRecord, ResultsStore};
use proptest::prelude::*;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// Longest a whole case (every pane at every size) may take before it counts as a hang.
const DEADLINE: Duration = Duration::from_secs(20);

fn estate() -> Estate {
    generate(&EstateSpec {
        models: 3,
        days: 10,
        detail_days: 2,
        seed: 11,
    })
}

fn app(e: &Estate) -> App {
    let session = Session {
        workspace: "hostile".into(),
        role: Role::Operator,
        user: "alice".into(),
        ..Session::default()
    };
    let mut app = App::new(
        session,
        e.models.clone(),
        Theme::default(),
        KeyMap::default(),
    );
    app.set_now(fixed_now());
    let fx = app.init();
    settle(&mut app, &e.store, fx);
    app
}

fn press(app: &mut App, e: &Estate, k: KeyCode) {
    let fx = update(app, Msg::Key(KeyEvent::new(k, KeyModifiers::NONE)));
    settle(app, &e.store, fx);
}

/// Hostile rows for model_0000: results on the last days with `values`, characteristic rows
/// (and bins) named and labelled with `text`, a run whose error and user are `text`.
/// Stores refuse non-finite values (typed `NonFinite`), so the worst a store can hand the
/// console is a finite extreme: NaN and ±inf are stored as -1.797e308 / ±1.797e308.
fn storable(v: f64) -> f64 {
    if v.is_nan() {
        f64::MIN
    } else {
        v.clamp(f64::MIN, f64::MAX)
    }
}

fn poison(e: &Estate, values: &[f64], text: &str) {
    let values: Vec<f64> = values.iter().copied().map(storable).collect();
    let values = values.as_slice();
    let last = NaiveDate::from_ymd_opt(2013, 2, 28).expect("date");
    let vs = e.models[0].value_stream.clone();
    for (i, v) in values.iter().enumerate() {
        let date = last - chrono::Days::new(i as u64);
        let result = ResultRecord {
            model_id: "model_0000".into(),
            value_stream: vs.clone(),
            calculation_date: date,
            psi_score: *v,
            csi_score: values[(i + 1) % values.len()],
            execution_time: chrono::Utc::now(),
        };
        let bins: Vec<BinStat> = values
            .iter()
            .map(|x| BinStat {
                label: format!("({x}, {text}]"),
                expected_count: 1,
                actual_count: u64::MAX,
                expected_share: *x,
                actual_share: -*x,
                contribution: *x,
            })
            .collect();
        let chars = vec![
            CharacteristicRecord {
                model_id: "model_0000".into(),
                calculation_date: date,
                characteristic: text.to_string(),
                role: ColumnRole::Score,
                kind: "numeric".into(),
                index_value: *v,
                bins: bins.clone(),
            },
            CharacteristicRecord {
                model_id: "model_0000".into(),
                calculation_date: date,
                characteristic: format!("{text}\u{1b}[2J"),
                role: ColumnRole::Characteristic,
                kind: text.to_string(),
                index_value: -*v,
                bins,
            },
        ];
        e.store.save_result(&result, &chars).expect("save");
    }
    let mut run = e
        .store
        .runs(Some("model_0000"), 1)
        .expect("runs")
        .into_iter()
        .next()
        .expect("a fixture run");
    run.error = Some(format!("{text}\u{1b}]2;pwned\u{7}"));
    run.triggered_by = text.to_string();
    run.attempt += 1;
    e.store.record_attempt(&run).expect("record");
}

/// Every pane (keys 1..7), help and the dialogs, at a full, a medium and a small size; asserts
/// that no cell holds a control character. Returns a description of the first problem.
fn draw_everything(e: &Estate) -> Result<(), String> {
    for (w, h) in [(140u16, 40u16), (90, 24), (60, 15)] {
        for k in ['1', '2', '3', '4', '5', '6', '7', '?', 'b', 'r'] {
            let mut app = app(e);
            // Filter to model_0000, drill into its characteristics and bins, then open pane k.
            press(&mut app, e, KeyCode::Char('/'));
            for c in "model_0000".chars() {
                press(&mut app, e, KeyCode::Char(c));
            }
            press(&mut app, e, KeyCode::Enter);
            press(&mut app, e, KeyCode::Enter);
            press(&mut app, e, KeyCode::Down);
            press(&mut app, e, KeyCode::Enter);
            press(&mut app, e, KeyCode::Char(k));
            for move_key in [KeyCode::Left, KeyCode::Right, KeyCode::End] {
                press(&mut app, e, move_key);
            }
            let mut terminal =
                Terminal::new(TestBackend::new(w, h)).map_err(|err| err.to_string())?;
            terminal
                .draw(|f| view(&app, f))
                .map_err(|err| err.to_string())?;
            let buf = terminal.backend().buffer();
            if let Some(cell) = buf
                .content()
                .iter()
                .find(|c| c.symbol().chars().any(char::is_control))
            {
                return Err(format!(
                    "control character {:?} in a cell (pane {k}, {w}x{h})",
                    cell.symbol()
                ));
            }
        }
    }
    Ok(())
}

/// Runs `draw_everything` on a thread; a draw that does not finish within [`DEADLINE`] is a hang.
fn draw_with_deadline(values: Vec<f64>, text: String) -> Result<(), String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let e = estate();
        poison(&e, &values, &text);
        let _ = tx.send(draw_everything(&e));
    });
    match rx.recv_timeout(DEADLINE) {
        Ok(r) => r,
        Err(mpsc::RecvTimeoutError::Timeout) => Err(format!(
            "drawing did not finish within {DEADLINE:?}: the console would hang"
        )),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err("drawing panicked".into()),
    }
}

/// The finding as filed: one `psi_score` of 1e308 made the trend pane spin forever.
#[test]
fn extreme_psi_in_the_store_renders_every_view() {
    for v in [
        1e308,
        -1e308,
        f64::MAX,
        f64::MIN,
        f64::NAN,
        f64::INFINITY,
        -0.5,
    ] {
        draw_with_deadline(vec![v, 0.3, 1e-300], "carrier".into())
            .unwrap_or_else(|e| panic!("stored PSI {v:e}: {e}"));
    }
}

/// Terminal escapes stored in names, labels and errors never reach a cell as control characters.
#[test]
fn escapes_in_stored_strings_never_reach_a_cell() {
    draw_with_deadline(
        vec![0.2, 0.4],
        "\u{1b}]2;renamed\u{7}\u{1b}[2J\r\u{8}\u{9b}31m".into(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
}

fn hostile_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(1e308),
        Just(-1e308),
        Just(f64::MAX),
        Just(f64::MIN),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(f64::MIN_POSITIVE),
        Just(-0.0),
        any::<f64>(),
        0.0..1.0f64,
    ]
}

fn hostile_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            any::<char>(),
            (0u32..0x20).prop_map(|c| char::from_u32(c).unwrap_or('?')),
            (0x7fu32..0xa0).prop_map(|c| char::from_u32(c).unwrap_or('?')),
            Just('界'),
            Just('\u{202e}'),
        ],
        0..40,
    )
    .prop_map(|v| v.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn any_stored_values_and_strings_render(
        values in prop::collection::vec(hostile_f64(), 1..6),
        text in hostile_text(),
    ) {
        prop_assert_eq!(draw_with_deadline(values, text), Ok(()));
    }
}

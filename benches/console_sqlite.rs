//! Console at scale against the REAL results store: 1,000 models × 365 days written into a
//! `SqliteStore` file in a tempdir (results for every day, characteristics with bins for the last
//! 30 days, three run attempts per model; data from `console::fixture::generate`, written with
//! `save_result` / `record_attempt`).
//!
//! - `console_sqlite/first_frame`: start → first full frame from the SQLite file: open the store,
//!   load the overview (`overview` + `trends`: latest results, latest runs, worst characteristic
//!   and 30-day trends of every model in two store calls), build the `App`, load the selected model's detail and
//!   characteristics, draw a 200×60 `TestBackend`. Target < 300 ms.
//! - `console_sqlite/frame_navigate`: one interactive frame: a key press, the detail and
//!   characteristics answers of the newly selected model applied, full redraw (the queries run on
//!   background threads in the real console). Target < 16 ms.
//! - `console_sqlite/frame_navigate_with_queries`: the same plus the two SQLite queries done
//!   synchronously in the frame (upper bound of what one selection change costs in total).
//! - `console_sqlite/redraw`: a full redraw only.
//! - `console_sqlite/load_overview`: the background refresh query (every 5 s);
//!   `apply_overview`: applying it on the UI thread.

// `models_yaml` is for the example only.
#[allow(dead_code)]
#[path = "support/estate.rs"]
mod estate;

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use driftdeck::console::app::{App, Msg, Session, update};
use driftdeck::console::fixture::{fixed_now, settle};
use driftdeck::console::runtime::{load_detail, load_overview};
use driftdeck::console::{KeyMap, ModelMeta, Theme, view};
use driftdeck::store::ResultsStore;
use driftdeck::store::sqlite::SqliteStore;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// Start → first full frame: open, overview, App, detail + characteristics, draw.
fn first_frame(path: &Path, models: &[ModelMeta]) -> usize {
    let store = SqliteStore::open(path).expect("open store");
    let session = Session {
        store: store.backend().to_string(),
        ..Session::default()
    };
    let mut app = App::new(
        session,
        models.to_vec(),
        Theme::default(),
        KeyMap::default(),
    );
    app.set_now(fixed_now());
    let fx = app.init();
    settle(&mut app, &store, fx);
    assert!(app.selected_detail().is_some(), "detail loaded");
    let mut terminal = Terminal::new(TestBackend::new(200, 60)).expect("terminal");
    terminal.draw(|f| view(&app, f)).expect("draw");
    app.rows().len()
}

fn answers(store: &SqliteStore, model: &str, date: chrono::NaiveDate) -> (Msg, Msg) {
    (
        Msg::Detail {
            model_id: model.to_string(),
            result: load_detail(store, model).map_err(|x| x.to_string()),
        },
        Msg::Characteristics {
            model_id: model.to_string(),
            date,
            result: store
                .characteristics(model, date)
                .map_err(|x| x.to_string()),
        },
    )
}

fn bench(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("driftdeck.sqlite");
    let t = Instant::now();
    let written = estate::write_estate(&path, &estate::spec_1000x365()).expect("estate");
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "console_sqlite: wrote {} results ({} with characteristics), {} runs for {} models in {:.1} s; {:.0} MB file",
        written.results,
        written.with_characteristics,
        written.runs,
        written.models.len(),
        t.elapsed().as_secs_f64(),
        size as f64 / 1_048_576.0
    );
    let models = written.models;

    let mut g = c.benchmark_group("console_sqlite");
    g.bench_function("first_frame", |b| {
        b.iter(|| black_box(first_frame(&path, &models)))
    });

    // An app in its steady state, over the same file.
    let store = SqliteStore::open(&path).expect("open store");
    let mut app = App::new(
        Session::default(),
        models.clone(),
        Theme::default(),
        KeyMap::default(),
    );
    app.set_now(fixed_now());
    let fx = app.init();
    settle(&mut app, &store, fx);
    let mut terminal = Terminal::new(TestBackend::new(200, 60)).expect("terminal");
    terminal.draw(|f| view(&app, f)).expect("draw");
    let ids: Vec<String> = app
        .visible_rows()
        .take(2)
        .map(|r| r.model_id.clone())
        .collect();
    let last = app
        .visible_rows()
        .next()
        .and_then(|r| r.last_date)
        .expect("date");
    let pre = [
        answers(&store, &ids[0], last),
        answers(&store, &ids[1], last),
    ];

    g.bench_function("frame_navigate", |b| {
        let mut down = true;
        b.iter(|| {
            let (code, (detail, chars)) = if down {
                (KeyCode::Down, pre[1].clone())
            } else {
                (KeyCode::Up, pre[0].clone())
            };
            down = !down;
            let _ = update(&mut app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
            let _ = update(&mut app, detail);
            let _ = update(&mut app, chars);
            terminal.draw(|f| view(&app, f)).expect("draw");
        })
    });
    g.bench_function("frame_navigate_with_queries", |b| {
        let mut down = true;
        b.iter(|| {
            let (code, id) = if down {
                (KeyCode::Down, &ids[1])
            } else {
                (KeyCode::Up, &ids[0])
            };
            down = !down;
            let _ = update(&mut app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
            let (detail, chars) = answers(&store, id, last);
            let _ = update(&mut app, detail);
            let _ = update(&mut app, chars);
            terminal.draw(|f| view(&app, f)).expect("draw");
        })
    });
    g.bench_function("redraw", |b| {
        b.iter(|| terminal.draw(|f| view(&app, f)).expect("draw").area.width)
    });
    // One batched refresh (overview + trends): no cache to warm any more.
    g.bench_function("load_overview", |b| {
        b.iter(|| black_box(load_overview(&store).expect("overview").latest.len()))
    });
    let overview = load_overview(&store).expect("overview");
    g.bench_function("apply_overview", |b| {
        b.iter(|| {
            let _ = update(&mut app, Msg::Overview(Ok(overview.clone())));
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(4));
    targets = bench
}
criterion_main!(benches);

//! Console frame time with 1,000 models × 365 days of history (fixture generated in-process).
//!
//! - `first_frame`: App state built from the store (overview + selected model detail) and the
//!   first full frame drawn: the UI-thread part of "start to first frame".
//! - `frame/navigate`: one key press (down/up), the detail and characteristics answers for the
//!   newly selected model applied, and a full redraw to a 200×60 TestBackend: the work of one
//!   interactive frame (store queries themselves run on background threads).
//! - `frame/redraw`: a full redraw only.
//! - `frame/apply_overview`: applying a periodic refresh of 1,000 models (UI thread).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use driftdeck::console::app::{App, Msg, Session, update};
use driftdeck::console::fixture::{Estate, EstateSpec, fixed_now, generate, settle};
use driftdeck::console::runtime::{load_detail, load_overview};
use driftdeck::console::{KeyMap, Theme, view};
use driftdeck::store::ResultsStore;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn rss_mb() -> Option<f64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: f64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096.0 / 1_048_576.0)
}

fn new_app(e: &Estate) -> App {
    let mut app = App::new(
        Session::default(),
        e.models.clone(),
        Theme::default(),
        KeyMap::default(),
    );
    app.set_now(fixed_now());
    let fx = app.init();
    settle(&mut app, &e.store, fx);
    app
}

fn messages_for(e: &Estate, model: &str, date: chrono::NaiveDate) -> (Msg, Msg) {
    (
        Msg::Detail {
            model_id: model.to_string(),
            result: load_detail(&e.store, model).map_err(|x| x.to_string()),
        },
        Msg::Characteristics {
            model_id: model.to_string(),
            date,
            result: e
                .store
                .characteristics(model, date)
                .map_err(|x| x.to_string()),
        },
    )
}

fn bench(c: &mut Criterion) {
    let before = rss_mb();
    let e = generate(&EstateSpec {
        models: 1_000,
        days: 365,
        detail_days: 30,
        seed: 42,
    });
    let mut app = new_app(&e);
    if let (Some(b), Some(a)) = (before, rss_mb()) {
        eprintln!(
            "RSS: {b:.0} MB before the fixture, {a:.0} MB with 1,000 models × 365 days in the store and the app state"
        );
    }
    let mut terminal = Terminal::new(TestBackend::new(200, 60)).expect("terminal");

    c.bench_function("first_frame", |b| {
        b.iter(|| {
            let app = new_app(&e);
            terminal.draw(|f| view(&app, f)).expect("draw");
            black_box(app.rows().len())
        })
    });

    // Pre-load the answers for the first two rows so the loop measures UI work only.
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
    let answers = [
        messages_for(&e, &ids[0], last),
        messages_for(&e, &ids[1], last),
    ];
    let mut g = c.benchmark_group("frame");
    g.bench_function("navigate", |b| {
        let mut down = true;
        b.iter(|| {
            let (code, (detail, chars)) = if down {
                (KeyCode::Down, answers[1].clone())
            } else {
                (KeyCode::Up, answers[0].clone())
            };
            down = !down;
            let _ = update(&mut app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
            let _ = update(&mut app, detail);
            let _ = update(&mut app, chars);
            terminal.draw(|f| view(&app, f)).expect("draw");
        })
    });
    g.bench_function("redraw", |b| {
        b.iter(|| {
            terminal.draw(|f| view(&app, f)).expect("draw");
        })
    });
    let overview = load_overview(&e.store).expect("overview");
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

//! driftdeck: a PSI/CSI engine, the daily jobs that run it and a terminal console over the results.
//!
//! Data flows one way: `sources` and `benchmarks` → [`engine`] → [`store`] → `console`.
pub mod benchmarks;
pub mod config;
pub mod console;
pub mod domain;
pub mod engine;
pub mod orchestrator;
pub mod sources;
pub mod store;

//! driftdeck: a PSI/CSI engine, the daily jobs that run it and a terminal console over the results.
//!
//! Data flows one way: [`sources`] and [`benchmarks`] → [`engine`] → [`store`] → console, with
//! [`jobs`] running the calculation and [`orchestrator`] running jobs.
#![warn(missing_docs)]

pub mod app;
pub mod benchmarks;
pub mod cli;
pub mod config;
pub mod console;
pub mod demo;
pub mod domain;
pub mod engine;
pub mod identity;
pub mod jobs;
pub mod metrics_dogstatsd;
pub mod notify;
pub mod orchestrator;
pub mod quality;
pub mod quarantine;
pub mod refresh;
pub mod sanitize;
pub mod schedule;
pub mod sources;
pub mod store;
pub mod wiring;

//! The PSI/CSI engine: pure computation, no I/O, no async (README, Design §6).
//!
//! - [`build_profile`] freezes the bins of a benchmark population ([`BenchmarkProfile`], saved
//!   as `benchmark.profile.json`): numeric edges = numpy "linear" quantiles of the non-missing
//!   benchmark values at k/B (ties collapsed), or equal width, or fixed edges; right-closed bins
//!   plus a missing bin; categorical bins = sorted benchmark levels + `unseen` + `missing`.
//! - [`evaluate`] bins a current population against a frozen profile and returns the PSI (score)
//!   and CSI (characteristics) with per-bin tables ([`Evaluation`]).
//! - [`compare`] does both for ad-hoc use.
//!
//! Shares count all rows (missing included); a zero share becomes ε (default 1e-4) without
//! renormalisation; index = Σ (A − E)·ln(A/E) (Siddiqi 2006; feature-engine / evidently ε
//! practice). Results agree with `shared/peers/psi_reference.py` to 1e-9 relative and bin for bin
//! (tests/engine_reference.rs).

mod binning;
mod categorical;
pub mod column;
mod error;
mod evaluate;
mod labels;
mod profile;
mod psi;
mod quantile;
mod spec;

pub use categorical::{MISSING_LABEL, UNSEEN_LABEL};
pub use column::{CategoricalColumn, Column, MISSING_CODE, Table};
pub use error::{EngineError, Side};
pub use evaluate::{ColumnResult, Evaluation, compare, evaluate};
pub use labels::{numeric_labels, python_repr};
pub use profile::{BenchmarkProfile, ColumnProfile, build_profile};
pub use psi::{bin_table, contribution, pairwise_sum, share};
pub use spec::{Binning, ColumnSpec, DEFAULT_BINS, DEFAULT_EPS, EngineOptions, Kind, MAX_BINS};

/// Version of the engine's definition and arithmetic, stored in every [`BenchmarkProfile`];
/// a profile built by another version is rebuilt. Bump when bins or sums could change.
pub const ENGINE_VERSION: &str = concat!("driftdeck-engine/", env!("CARGO_PKG_VERSION"), "+psi1");

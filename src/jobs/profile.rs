//! The frozen benchmark profile of a model: computed once per benchmark version and saved beside the
//! benchmark as `benchmark.profile.json`; reused by every daily run while the benchmark's checksum,
//! the model's column specs, ε and the engine version are unchanged (README, Design §4 and §6).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::{JobContext, JobError, ModelJob};
use crate::benchmarks::{BenchmarkStamp, BenchmarkStoreExt};
use crate::engine::{self, BenchmarkProfile};
use crate::sources::ColumnRequest;

/// A profile ready for evaluation, with the benchmark version it came from.
#[derive(Debug)]
pub struct LoadedProfile {
    /// The frozen bins and expected counts.
    pub profile: BenchmarkProfile,
    /// Benchmark version: the first 16 hex digits of the benchmark file's sha256.
    pub version: String,
}

type Key = BenchmarkStamp;

/// Process-wide memo so a backfill hashes and parses each benchmark once, keyed by path,
/// modification time and length (a replaced benchmark has a new key).
static MEMO: Mutex<Option<HashMap<Key, Arc<LoadedProfile>>>> = Mutex::new(None);

/// Held while a profile is loaded or built, so concurrent runs of a backfill build each profile
/// once (the others then find it in the memo).
static BUILD: Mutex<()> = Mutex::new(());

/// Returns the model's profile: from the memo, from `benchmark.profile.json` when it matches the
/// benchmark's checksum and the model's specs, or built from the benchmark (and saved).
///
/// # Errors
/// Missing or unreadable benchmark (file, line, column named), engine errors on the benchmark
/// (e.g. an all-missing column), or a profile that cannot be written.
pub fn ensure_profile(ctx: &JobContext, job: &ModelJob) -> Result<Arc<LoadedProfile>, JobError> {
    let (vs, id) = (&job.value_stream, &job.model_id);
    let key: Key = ctx.benchmarks.stamp(vs, id)?;
    let memoized = || {
        MEMO.lock().ok().and_then(|guard| {
            guard
                .as_ref()
                .and_then(|m| m.get(&key))
                .filter(|found| {
                    let p = &found.profile;
                    p.matches_specs(&job.specs, &ctx.engine, &p.source_checksum)
                })
                .cloned()
        })
    };
    if let Some(found) = memoized() {
        return Ok(found);
    }
    let _building = BUILD
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(found) = memoized() {
        return Ok(found);
    }
    let checksum = ctx.benchmarks.checksum(vs, id)?;
    let version: String = checksum.chars().take(16).collect();
    // A profile that does not parse, or parses but breaks the engine's invariants (a truncated
    // write by another tool, a hand edit), is rebuilt from the benchmark, never a permanent
    // failure of the model's runs (issue 11 #14). Read errors (permissions) still fail.
    let stored: Option<BenchmarkProfile> = match ctx
        .benchmarks
        .load_profile(&job.value_stream, &job.model_id)
    {
        Ok(p) => p,
        Err(crate::benchmarks::BenchmarkError::Profile { path, message }) => {
            tracing::warn!(event = "profile_rebuilt", model = %job.model_id, path = %path.display(), reason = %crate::sanitize::excerpt(&message, 200), "benchmark profile does not parse; rebuilding it from the benchmark");
            None
        }
        Err(e) => return Err(e.into()),
    };
    let stored = stored.filter(|p| match p.validate() {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(event = "profile_rebuilt", model = %job.model_id, reason = %e, "benchmark profile is inconsistent; rebuilding it from the benchmark");
            false
        }
    });
    let profile = match stored {
        Some(p) if p.matches_specs(&job.specs, &ctx.engine, &checksum) => p,
        _ => {
            let requests = ColumnRequest::for_specs(&job.specs);
            let table = ctx.benchmarks.read_benchmark(vs, id, Some(&requests))?;
            let profile = engine::build_profile(&table, &job.specs, &ctx.engine, &checksum)
                .map_err(|source| JobError::Benchmark {
                    model: job.model_id.to_string(),
                    path: key.location.clone(),
                    source,
                })?;
            ctx.benchmarks
                .save_profile(&job.value_stream, &job.model_id, &profile)?;
            tracing::info!(event = "profile_built", model = %job.model_id, version = %version, rows = profile.rows, "benchmark profile built");
            profile
        }
    };
    let loaded = Arc::new(LoadedProfile { profile, version });
    if let Ok(mut guard) = MEMO.lock() {
        guard
            .get_or_insert_with(HashMap::new)
            .insert(key, loaded.clone());
    }
    Ok(loaded)
}

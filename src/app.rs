//! Console bootstrap (placeholder until the console lands).
use std::path::Path;
use std::process::ExitCode;

use color_eyre::eyre::{Result, eyre};

use crate::cli::ConsoleArgs;

/// Opens the console.
///
/// # Errors
/// Always, for now.
pub fn run_console(_config: Option<&Path>, _args: &ConsoleArgs) -> Result<ExitCode> {
    Err(eyre!("the console is not built yet"))
}

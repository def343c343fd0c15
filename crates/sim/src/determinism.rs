//! A fixed run whose trace hash must be the same natively and in the browser (std's HashMap
//! order or float formatting differing between targets would show up here).

use crate::{presets, runner};

/// Trace hash of the `failover` preset, identical on every target.
pub fn reference_run_hash() -> u64 {
    let s = presets::get("failover").expect("the failover preset parses");
    runner::run(&s).world.trace_hash()
}

/// The value both the native test and the wasm test require.
/// Update it (from the native test's failure message) only when a change to the engine or the
/// simulator is meant to change runs.
pub const EXPECTED_HASH: u64 = 18_308_313_103_138_106_094;

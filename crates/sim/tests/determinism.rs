//! The same run natively and in wasm (see tests/wasm.rs): one trace hash.

use replscope_sim::determinism::{reference_run_hash, EXPECTED_HASH};

#[test]
fn the_reference_run_has_the_expected_trace_hash() {
    assert_eq!(reference_run_hash(), EXPECTED_HASH, "if this change is meant to alter runs, update EXPECTED_HASH");
}

//! The simulator in the browser gives the very run it gives natively.
#![cfg(target_arch = "wasm32")]

use replscope_sim::determinism::{reference_run_hash, EXPECTED_HASH};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn the_reference_run_hashes_as_natively() {
    assert_eq!(reference_run_hash(), EXPECTED_HASH);
}

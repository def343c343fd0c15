#!/usr/bin/env bash
# Replicated commands per second with the simulator compiled to wasm32 and run in headless
# Chromium: the same workload as `cargo bench -p replscope-sim -- throughput`
# (crates/sim/benches/shared/throughput.rs), release build, the figure printed by the test.
set -euo pipefail
cd "$(dirname "$0")/.."
export CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"
export WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-600}"
cargo test --release --target wasm32-unknown-unknown -p replscope-sim --test wasm_bench -- --nocapture

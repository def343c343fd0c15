//! The throughput bench in wasm32, in a browser: `scripts/bench-wasm.sh` runs it (release
//! build, headless Chromium) and prints replicated commands per second, to set beside
//! `cargo bench -p replscope-sim -- throughput`. It prints figures and asserts nothing about
//! timing; ordinary `cargo test` runs never build it for wasm (it is its own test target).
#![cfg(target_arch = "wasm32")]

use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

#[path = "../benches/shared/throughput.rs"]
mod throughput;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn replicated_commands_per_second() {
    let n = throughput::COMMANDS;
    let mut rates = Vec::new();
    // A short warm-up run first (the browser compiles hot code again, optimised), as natively.
    let (mut w, c) = throughput::setup();
    throughput::write(&mut w, c, n / 10);
    for _ in 0..5 {
        let (mut w, c) = throughput::setup();
        let start = js_sys::Date::now();
        throughput::write(&mut w, c, n);
        let secs = (js_sys::Date::now() - start) / 1000.0;
        throughput::check(&w);
        rates.push(n as f64 / secs.max(1e-3));
    }
    rates.sort_by(|a, b| a.total_cmp(b));
    console_log!("wasm32 replicated commands/s (master + 2 replicas, {n} SETs, median of 5): {:.0} (runs: {:.0?})", rates[2], rates);
}

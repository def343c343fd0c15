//! `cargo bench -p replscope-sim`: throughput of replication through the simulator and the
//! cost of a time-travel jump. Prints figures; asserts nothing (timing is not a test).

use std::time::Instant;

use replscope_sim::scenario::{Action, NodeDef, Scenario, Step};
use replscope_sim::timetravel::TimeMachine;

#[path = "shared/throughput.rs"]
mod throughput;

fn throughput(commands: usize) -> f64 {
    let (mut w, c) = throughput::setup();
    let start = Instant::now();
    throughput::write(&mut w, c, commands);
    let secs = start.elapsed().as_secs_f64();
    throughput::check(&w);
    commands as f64 / secs
}

fn ten_minute_run() -> Scenario {
    let nodes = vec![
        NodeDef { name: "m".into(), args: vec!["--repl-diskless-sync-delay".into(), "0".into()], replicaof: None },
        NodeDef { name: "r1".into(), args: vec![], replicaof: Some("m".into()) },
        NodeDef { name: "r2".into(), args: vec![], replicaof: Some("m".into()) },
    ];
    let mut steps = vec![Step { at: 1_000, say: None, action: Action::Load { node: "m".into(), per_second: 100, keys: 5_000, value_bytes: 0 } }];
    // A fault every minute keeps the run interesting.
    for minute in 1..10u64 {
        steps.push(Step { at: minute * 60_000, say: None, action: Action::Reset { a: "m".into(), b: "r1".into() } });
    }
    Scenario { name: "bench".into(), title: String::new(), description: String::new(), seed: 3, tail_ms: 0, nodes, links: vec![], steps }
}

/// `cargo bench -p replscope-sim -- throughput` (or `jump`) runs just that part.
fn wanted(part: &str) -> bool {
    let names: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    names.is_empty() || names.iter().any(|n| part.contains(n.as_str()))
}

fn main() {
    if wanted("throughput") {
        bench_throughput();
    }
    if wanted("jump") {
        bench_jumps();
    }
}

fn bench_throughput() {
    let n = throughput::COMMANDS;
    // A short warm-up run, then five, the median reported (one run alone varies by ten
    // percent here; the wasm bench does the same, where the warm-up lets the JIT tier up).
    throughput(n / 10);
    let mut rates: Vec<f64> = (0..5).map(|_| throughput(n)).collect();
    rates.sort_by(|a, b| a.total_cmp(b));
    println!("replicated commands/s (master + 2 replicas, {n} SETs, median of 5): {:.0} (runs: {:.0?})", rates[2], rates);
}

fn bench_jumps() {

    let s = ten_minute_run();
    let mut tm = TimeMachine::new(&s, 2_000);
    let t = Instant::now();
    tm.seek(600_000);
    println!("building a 10-minute run with snapshots every 2 s: {:.2} s", t.elapsed().as_secs_f64());
    let mut jumps = Vec::new();
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    for _ in 0..200 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let target = x % 600_000;
        let t = Instant::now();
        tm.seek(target);
        jumps.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    jumps.sort_by(|a, b| a.total_cmp(b));
    let p50 = jumps[jumps.len() / 2];
    let p95 = jumps[jumps.len() * 95 / 100];
    println!("jump to a random point of the 10-minute run: p50 {p50:.2} ms, p95 {p95:.2} ms, max {:.2} ms", jumps[jumps.len() - 1]);
}

//! `cargo bench -p replscope-view`: the Rust side of one animation frame at 12 nodes under
//! 1,000 writes/s (the page's frame-cost target): advance 16 ms of virtual time, build the
//! frame, lay out the chart. The browser's share is measured by tests/e2e/frame-bench.mjs.

use std::time::Instant;

use replscope_sim::scenario::{Action, LinkDef, NodeDef, Scenario, Step};
use replscope_view::chart::geometry;
use replscope_view::Run;

fn twelve_nodes() -> Scenario {
    let fast = vec!["--repl-diskless-sync-delay".to_string(), "0".to_string()];
    let mut nodes = vec![NodeDef { name: "master".into(), args: fast.clone(), replicaof: None }];
    let tree = [("r1", "master"), ("r2", "master"), ("r3", "r1"), ("r4", "r1"), ("r5", "r2"), ("r6", "r2"), ("r7", "r3"), ("r8", "r4"), ("r9", "r5"), ("r10", "r6"), ("r11", "r3")];
    for (n, m) in tree {
        nodes.push(NodeDef { name: n.into(), args: fast.clone(), replicaof: Some(m.into()) });
    }
    let links = tree.iter().map(|(n, m)| LinkDef { a: n.to_string(), b: m.to_string(), latency_ms: Some(50), bytes_per_ms: None, both: true }).collect();
    let steps = vec![Step { at: 100, say: None, action: Action::Load { node: "master".into(), per_second: 1_000, keys: 1_000, value_bytes: 0 } }];
    Scenario { name: "bench".into(), title: String::new(), description: String::new(), seed: 9, tail_ms: 0, nodes, links, steps }
}

fn main() {
    let mut run = Run::new(twelve_nodes());
    run.advance(5_000);
    let mut advance = Vec::new();
    let mut build = Vec::new();
    let mut chart = Vec::new();
    for _ in 0..600 {
        let t = Instant::now();
        run.advance(16);
        let t1 = Instant::now();
        let f = run.frame(4);
        let t2 = Instant::now();
        let g = geometry(run.history().until(f.time_ms), run.history().faults(), f.time_ms, 30_000, 600.0, 160.0);
        let t3 = Instant::now();
        assert_eq!(f.nodes.len(), 12);
        std::hint::black_box(g);
        advance.push((t1 - t).as_secs_f64() * 1e3);
        build.push((t2 - t1).as_secs_f64() * 1e3);
        chart.push((t3 - t2).as_secs_f64() * 1e3);
    }
    for (name, v) in [("advance 16 ms", &mut advance), ("build the frame", &mut build), ("chart geometry", &mut chart)] {
        v.sort_by(|a, b| a.total_cmp(b));
        println!("{name:>16}: p50 {:.3} ms, p95 {:.3} ms, max {:.3} ms", v[v.len() / 2], v[v.len() * 95 / 100], v[v.len() - 1]);
    }
    let f = run.frame(4);
    println!("(12 nodes, {} messages drawn, {} trace entries)", f.messages.len(), run.world().trace().len());
}

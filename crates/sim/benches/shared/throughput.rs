//! The throughput workload, shared by the native bench (`benches/sim.rs`) and the wasm one
//! (`tests/wasm_bench.rs`) so both measure the very same thing: a master with two replicas
//! under a write load, each command going through the master and both replicas.

use replscope_sim::{ClientId, NodeSpec, World};

/// How many SETs a run writes.
pub const COMMANDS: usize = 100_000;

/// A master and two replicas, synced (not timed).
pub fn setup() -> (World, ClientId) {
    let mut w = World::new(1);
    w.add_node(NodeSpec::new("m").arg("--repl-diskless-sync-delay").arg("0").arg("--save").arg(""));
    w.add_node(NodeSpec::new("r1").arg("--replicaof").arg("m").arg("6379"));
    w.add_node(NodeSpec::new("r2").arg("--replicaof").arg("m").arg("6379"));
    w.run_for(2_000);
    let c = w.client("m");
    (w, c)
}

/// The timed part: `commands` SETs in pipelines of 100, run until the replicas have them all.
pub fn write(w: &mut World, c: ClientId, commands: usize) {
    for i in 0..commands {
        w.command(c, &format!("SET key:{} {}", i % 10_000, i));
        if i % 100 == 99 {
            w.run_for(1);
            let _ = w.take_replies(c);
        }
    }
    w.run_for(1_000);
}

/// Every replica ends with the master's data (not timed).
pub fn check(w: &World) {
    assert_eq!(w.digest("m"), w.digest("r1"));
    assert_eq!(w.digest("m"), w.digest("r2"));
}

//! The simulated world: determinism, links that take time, partitions, resets, crashes.

use replscope_engine::{Frame, Role};
use replscope_sim::{LinkConfig, NodeSpec, TraceKind, World};

fn pair(seed: u64) -> World {
    let mut w = World::new(seed);
    w.add_node(NodeSpec::new("m").arg("--repl-diskless-sync").arg("no"));
    w.add_node(NodeSpec::new("r1").arg("--replicaof").arg("m").arg("6379"));
    w.run_for(2_000);
    w
}

fn sync_counts(w: &World, node: &str) -> (u64, u64) {
    let s = w.status(node).unwrap();
    (s.sync_full, s.sync_partial_ok)
}

fn link_up(w: &World, node: &str) -> bool {
    matches!(w.status(node).map(|s| s.role), Some(Role::Replica(v)) if v.link_up)
}

fn workload(w: &mut World) {
    let c = w.client("m");
    for i in 0..50 {
        w.command(c, &format!("SET k{i} {}", "v".repeat(i)));
        w.run_for(7);
    }
    w.command(c, "INCRBYFLOAT f 0.1");
    w.run_for(500);
}

#[test]
fn same_seed_same_run_different_seed_different_ids() {
    let run = |seed| {
        let mut w = pair(seed);
        workload(&mut w);
        (w.trace_hash(), w.status("m").unwrap().replid)
    };
    assert_eq!(run(11), run(11));
    assert_ne!(run(11).1, run(12).1);
}

#[test]
fn a_replica_follows_its_master() {
    let mut w = pair(1);
    assert!(link_up(&w, "r1"));
    workload(&mut w);
    assert_eq!(w.digest("m"), w.digest("r1"));
    let (m, r) = (w.status("m").unwrap(), w.status("r1").unwrap());
    assert_eq!(m.master_repl_offset, r.master_repl_offset);
    let c = w.client("r1");
    w.command(c, "SET x 1");
    w.run_for(1);
    assert_eq!(w.take_replies(c), vec![Frame::err("READONLY You can't write against a read only replica.")]);
    assert!(w.trace().iter().any(|e| matches!(&e.kind, TraceKind::Sent { payload: replscope_sim::Payload::RdbChunk, .. })));
    assert!(w.trace().iter().any(|e| matches!(&e.kind, TraceKind::Sent { payload: replscope_sim::Payload::Ack, .. })));
}

#[test]
fn a_big_snapshot_takes_time_on_a_slow_link() {
    let mut w = World::new(3);
    w.add_node(NodeSpec::new("m").arg("--repl-diskless-sync").arg("no"));
    let c = w.client("m");
    for i in 0..200 {
        w.command(c, &format!("SET big{i} {}", "x".repeat(10_000)));
    }
    w.run_for(10);
    // 1 byte per ms: ~2 MB takes ~2000 s; use 1000 bytes/ms → ~2 s.
    w.set_link("m", "r1", LinkConfig { bytes_per_ms: 1_000, ..LinkConfig::default() });
    w.add_node(NodeSpec::new("r1").arg("--replicaof").arg("m").arg("6379"));
    w.run_for(1_000);
    let Some(Role::Replica(v)) = w.status("r1").map(|s| s.role) else { panic!() };
    let (read, total) = v.transfer.expect("mid-transfer after 1 s");
    assert!(read > 0 && read < total, "{read}/{total}");
    assert!(!v.link_up);
    w.run_for(3_000);
    assert!(link_up(&w, "r1"));
    assert_eq!(w.digest("m"), w.digest("r1"));
}

#[test]
fn a_partition_holds_bytes_until_it_heals_without_a_resync() {
    let mut w = pair(2);
    w.cut("m", "r1");
    let c = w.client("m");
    w.command(c, "SET during 1");
    w.run_for(5_000);
    assert_ne!(w.digest("m"), w.digest("r1"), "nothing crosses a cut link");
    w.heal("m", "r1");
    w.run_for(100);
    assert_eq!(w.digest("m"), w.digest("r1"));
    assert_eq!(sync_counts(&w, "m"), (1, 0), "TCP kept the connection: no resync at all");
}

#[test]
fn a_long_partition_times_out_then_resyncs_partially() {
    let mut w = pair(4);
    w.cut("m", "r1");
    let c = w.client("m");
    w.command(c, "SET during 1");
    w.run_for(65_000);
    assert!(!link_up(&w, "r1"), "repl-timeout (60 s) noticed the silence");
    w.heal("m", "r1");
    w.run_for(70_000);
    assert!(link_up(&w, "r1"));
    assert_eq!(w.digest("m"), w.digest("r1"));
    assert!(sync_counts(&w, "m").1 >= 1, "{:?}", sync_counts(&w, "m"));
}

#[test]
fn a_connection_reset_resumes_with_a_partial_resync() {
    let mut w = pair(5);
    w.reset_connections("m", "r1");
    let c = w.client("m");
    w.command(c, "SET after_reset 1");
    w.run_for(500);
    assert!(link_up(&w, "r1"));
    assert_eq!(sync_counts(&w, "m"), (1, 1));
    assert_eq!(w.digest("m"), w.digest("r1"));
}

#[test]
fn connecting_to_a_node_that_is_down_is_refused_and_retried() {
    let mut w = World::new(6);
    w.add_node(NodeSpec::new("m").arg("--repl-diskless-sync").arg("no"));
    w.crash("m");
    w.add_node(NodeSpec::new("r1").arg("--replicaof").arg("m").arg("6379"));
    w.run_for(3_500);
    let refused = w.trace().iter().filter(|e| matches!(&e.kind, TraceKind::ConnectFailed { .. })).count();
    assert!(refused >= 3, "one attempt a second: {refused}");
    w.restart("m");
    w.run_for(1_500);
    assert!(link_up(&w, "r1"));
}

#[test]
fn a_master_without_persistence_restarts_empty_and_wipes_its_replica() {
    let mut w = World::new(7);
    w.add_node(NodeSpec::new("m").arg("--save").arg("").arg("--repl-diskless-sync").arg("no"));
    w.add_node(NodeSpec::new("r1").arg("--replicaof").arg("m").arg("6379"));
    w.run_for(2_000);
    workload(&mut w);
    assert!(w.status("r1").unwrap().keys[0] > 0);
    w.crash("m");
    w.run_for(1_000);
    assert!(w.status("r1").unwrap().keys[0] > 0, "serves its data while the master is down");
    w.restart("m");
    w.run_for(2_000);
    assert_eq!(w.status("r1").unwrap().keys[0], 0, "wiped by the full sync to an empty master");
}

#[test]
fn a_master_with_a_disk_restarts_and_its_replica_continues() {
    let mut w = pair(8);
    workload(&mut w);
    let c = w.client("m");
    w.command(c, "SAVE");
    w.run_for(10);
    w.crash("m");
    w.run_for(1_000);
    w.restart("m");
    w.run_for(2_000);
    assert!(link_up(&w, "r1"));
    assert_eq!(sync_counts(&w, "m"), (0, 1), "the restarted master's replid2 accepts the PSYNC");
    assert_eq!(w.digest("m"), w.digest("r1"));
}

#[test]
fn a_connect_across_a_cut_link_hangs_until_healed_or_timed_out() {
    let mut w = World::new(9);
    w.add_node(NodeSpec::new("m").arg("--repl-diskless-sync").arg("no"));
    w.cut("m", "r1");
    w.add_node(NodeSpec::new("r1").arg("--replicaof").arg("m").arg("6379"));
    w.run_for(5_000);
    assert!(!link_up(&w, "r1"));
    w.heal("m", "r1");
    w.run_for(2_000);
    assert!(link_up(&w, "r1"));
}

#[test]
fn a_write_load_is_replicated_and_a_paused_replica_catches_up() {
    let mut w = pair(21);
    let load = w.start_load("m", 200, 100);
    w.run_for(1_000);
    w.pause("r1", 2_000);
    w.run_for(1_000);
    let lagging = w.status("m").unwrap().master_repl_offset - w.status("r1").unwrap().master_repl_offset;
    assert!(lagging > 0, "the paused replica applies nothing");
    w.run_for(2_000);
    w.stop_load(load);
    w.run_for(500);
    assert_eq!(w.digest("m"), w.digest("r1"));
    let info = w.info("r1", "replication");
    assert!(info.contains("master_link_status:up"), "{info}");
    assert!(w.status("m").unwrap().keys[0] > 50);
}

#[test]
fn removing_a_replica_affects_nobody_else() {
    let mut w = pair(22);
    w.add_node(NodeSpec::new("r2").arg("--replicaof").arg("m").arg("6379"));
    w.run_for(7_000);
    w.remove_node("r1");
    let c = w.client("m");
    w.command(c, "SET after 1");
    w.run_for(100);
    assert_eq!(w.digest("m"), w.digest("r2"));
    assert_eq!(w.status("m").unwrap().replicas.len(), 1);
}

/// Regression: small writes used to cost a whole millisecond of wire time each, so a burst of
/// them queued seconds of transmission and replicas fell far behind.
#[test]
fn a_burst_of_small_writes_is_replicated_at_link_speed() {
    let mut w = pair(31);
    let c = w.client("m");
    for i in 0..5_000 {
        w.command(c, &format!("SET k{} {i}", i % 500));
        if i % 100 == 99 {
            w.run_for(1);
        }
    }
    // ~180 KB of stream at 10 KB/ms: well under 100 ms of wire time.
    w.run_for(100);
    assert_eq!(w.status("r1").unwrap().master_repl_offset, w.status("m").unwrap().master_repl_offset);
    assert_eq!(w.digest("m"), w.digest("r1"));
}

/// redis-server 7.0 loads a full sync through its RDB file (repl-diskless-load disabled), so a
/// replica that crashes keeps the master's snapshot on disk and, restarted, continues from it.
#[test]
fn a_replica_restarted_from_its_disk_continues_with_a_partial_resync() {
    let mut w = World::new(5);
    w.add_node(NodeSpec::new("m").arg("--repl-diskless-sync-delay").arg("0"));
    w.add_node(NodeSpec::new("r").arg("--replicaof").arg("m").arg("6379"));
    w.run_for(2_000);
    let c = w.client("m");
    w.command(c, "SET before-crash 1");
    w.run_for(100);
    w.crash("r");
    w.command(c, "SET while-down 2");
    w.run_for(500);
    w.restart("r");
    w.run_for(3_000);
    let st = w.status("m").unwrap();
    assert_eq!((st.sync_full, st.sync_partial_ok), (1, 1));
    assert_eq!(w.digest("m"), w.digest("r"));
    // With diskless load the snapshot never reaches the disk: a restart starts over.
    let mut w = World::new(5);
    w.add_node(NodeSpec::new("m").arg("--repl-diskless-sync-delay").arg("0"));
    w.add_node(NodeSpec::new("r").arg("--replicaof").arg("m").arg("6379").arg("--repl-diskless-load").arg("swapdb").arg("--save").arg(""));
    w.run_for(2_000);
    w.crash("r");
    w.run_for(500);
    w.restart("r");
    w.run_for(3_000);
    assert_eq!(w.status("m").unwrap().sync_full, 2);
}

/// A pipeline written in one millisecond reaches the master as one read; the master runs it in
/// one go and writes the replication stream once per replica (Redis's beforeSleep write), so
/// the trace holds one delivery and one stream send for ten commands, with every byte.
#[test]
fn a_pipeline_arrives_whole_and_leaves_as_one_stream_write() {
    let mut w = pair(5);
    let c = w.client("m");
    let before = w.trace().len();
    let t0 = w.time();
    let lines: Vec<String> = (0..10).map(|i| format!("SET key{i} value{i}")).collect();
    for l in &lines {
        w.command(c, l);
    }
    w.run_for(200);
    let new = &w.trace()[before..];
    let delivered_to_m: Vec<usize> = new
        .iter()
        .filter_map(|e| match &e.kind {
            // Client bytes land at once (clients sit next to their node); ACKs come later.
            TraceKind::Delivered { to, bytes, .. } if to == "m" && e.at == t0 => Some(*bytes),
            _ => None,
        })
        .collect();
    let pipeline: usize = lines.iter().map(|l| replscope_engine::resp::encode_command(&replscope_engine::split_args(l.as_bytes()).unwrap()).len()).sum();
    assert_eq!(delivered_to_m, vec![pipeline], "one read of the whole pipeline");
    let stream: Vec<usize> = new
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::Sent { from, to, bytes, payload: replscope_sim::Payload::Stream, .. } if from == "m" && to == "r1" => Some(*bytes),
            _ => None,
        })
        .collect();
    assert_eq!(stream.len(), 1, "one stream write for the pipeline: {stream:?}");
    // The stream is the ten SETs (and the SELECT before the first one, if the stream needs it).
    assert!(stream[0] >= pipeline, "{} < {pipeline}", stream[0]);
    assert_eq!(w.take_replies(c).len(), 10);
    assert_eq!(w.digest("m"), w.digest("r1"));
}

//! Master and replicas in memory: the handshake, full and partial resync, the stream applied
//! with exact offsets, cascades, promotion. Expected values come from SPEC.md's measurements.

mod support;

use support::cluster::Cluster;

fn synced_pair() -> Cluster {
    let mut c = Cluster::new();
    c.add(7001, &["--repl-diskless-sync", "no"]);
    c.add(7002, &[]);
    let m = c.client(7001);
    c.cmd(m, "SET pre 1");
    let r = c.client(7002);
    assert_eq!(c.cmd(r, "REPLICAOF 127.0.0.1 7001"), "+OK\r\n");
    c.advance(2_000);
    c
}

#[test]
fn replicaof_does_a_full_sync_and_then_applies_the_stream() {
    let mut c = synced_pair();
    assert_eq!(c.info(7002, "master_link_status"), "up");
    assert_eq!(c.info(7002, "master_replid"), c.info(7001, "master_replid"));
    assert!(c.logged(7002, "Trying a partial resynchronization (request "), "a runtime REPLICAOF sends its own id");
    assert_eq!(c.info(7001, "sync_full"), "1");
    assert_eq!(c.info(7001, "sync_partial_err"), "1", "SPEC §1.3: the first PSYNC names the replica's own history");
    assert_eq!(c.digest(7001), c.digest(7002));
    let m = c.client(7001);
    c.cmd(m, "SET a 1");
    c.cmd(m, "INCR counter");
    c.cmd(m, "SELECT 3");
    c.cmd(m, "RPUSH l x y");
    assert_eq!(c.digest(7001), c.digest(7002));
    assert_eq!(c.info(7002, "slave_repl_offset"), c.info(7001, "master_repl_offset"));
    assert_eq!(c.info(7002, "master_repl_offset"), c.info(7001, "master_repl_offset"));
    let r = c.client(7002);
    assert_eq!(c.cmd(r, "SET x 1"), "-READONLY You can't write against a read only replica.\r\n");
    assert_eq!(c.cmd(r, "GET a"), "$1\r\n1\r\n");
    let role = c.cmd(r, "ROLE");
    assert!(role.starts_with("*5\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n:7001\r\n$9\r\nconnected\r\n:"), "{role:?}");
}

#[test]
fn acks_reach_the_master_every_second() {
    let mut c = synced_pair();
    let m = c.client(7001);
    c.cmd(m, "SET a 1");
    c.advance(1_100);
    let offset = c.info(7001, "master_repl_offset");
    let slave0 = c.info(7001, "slave0");
    assert!(slave0.contains(&format!("state=online,offset={offset},")), "{slave0}");
}

#[test]
fn a_lost_link_resumes_with_a_partial_resync() {
    let mut c = synced_pair();
    let m = c.client(7001);
    c.cut(7001, 7002);
    assert_eq!(c.info(7002, "master_link_status"), "up", "reconnected at once");
    c.cmd(m, "SET during 1");
    assert_eq!(c.info(7001, "sync_partial_ok"), "1");
    assert!(c.logged(7002, "Successful partial resynchronization with master."));
    assert_eq!(c.digest(7001), c.digest(7002));

    // While the master is unreachable the replica serves its data with the link down.
    c.down.insert(7001);
    c.cut(7001, 7002);
    c.cmd(m, "SET while_away 1");
    c.cmd(m, "SET while_away2 2");
    c.advance(3_000);
    assert_eq!(c.info(7002, "master_link_status"), "down");
    assert_eq!(c.info(7002, "master_link_down_since_seconds"), "3");
    let r = c.client(7002);
    assert_eq!(c.cmd(r, "GET during"), "$1\r\n1\r\n");
    c.down.clear();
    c.advance(1_100);
    assert_eq!(c.info(7002, "master_link_status"), "up");
    assert_eq!(c.info(7001, "sync_partial_ok"), "2");
    assert_eq!(c.info(7001, "sync_full"), "1");
    assert_eq!(c.digest(7001), c.digest(7002));
}

#[test]
fn an_overrun_backlog_means_a_full_resync() {
    let mut c = Cluster::new();
    c.add(7001, &["--repl-diskless-sync", "no", "--repl-backlog-size", "16384"]);
    c.add(7002, &[]);
    let r = c.client(7002);
    c.cmd(r, "REPLICAOF 127.0.0.1 7001");
    c.advance(1_000);
    let m = c.client(7001);
    c.down.insert(7001);
    c.cut(7001, 7002);
    for i in 0..100 {
        c.cmd(m, &format!("SET big{i} {}", "b".repeat(1000)));
    }
    c.down.clear();
    c.advance(2_000);
    assert_eq!(c.info(7001, "sync_full"), "2");
    assert_eq!(c.digest(7001), c.digest(7002));
}

#[test]
fn replica_of_a_replica_gets_the_same_stream() {
    let mut c = synced_pair();
    c.add(7003, &[]);
    let r2 = c.client(7003);
    c.cmd(r2, "REPLICAOF 127.0.0.1 7002");
    c.advance(7_000);
    let m = c.client(7001);
    c.cmd(m, "SET chained 1");
    c.advance(10_000);
    let off = c.info(7001, "master_repl_offset");
    assert_eq!(c.info(7002, "master_repl_offset"), off);
    assert_eq!(c.info(7003, "master_repl_offset"), off);
    assert_eq!(c.info(7003, "master_replid"), c.info(7001, "master_replid"));
    assert_eq!(c.digest(7003), c.digest(7001));
}

#[test]
fn promotion_keeps_the_history_as_replid2_and_siblings_continue_partially() {
    let mut c = synced_pair();
    c.add(7003, &[]);
    let r2 = c.client(7003);
    c.cmd(r2, "REPLICAOF 127.0.0.1 7002");
    // 7002 has the default diskless sync: the snapshot waits repl-diskless-sync-delay (5 s).
    c.advance(7_000);
    assert_eq!(c.info(7003, "master_link_status"), "up");
    let m = c.client(7001);
    c.cmd(m, "SET a 1");
    let old_id = c.info(7001, "master_replid");
    let offset: i64 = c.info(7001, "master_repl_offset").parse().unwrap();
    let r1 = c.client(7002);
    assert_eq!(c.cmd(r1, "REPLICAOF NO ONE"), "+OK\r\n");
    assert_eq!(c.info(7002, "master_replid2"), old_id);
    assert_eq!(c.info(7002, "second_repl_offset"), (offset + 1).to_string());
    c.advance(2_000);
    assert_eq!(c.info(7003, "master_replid"), c.info(7002, "master_replid"), "+CONTINUE <newid>");
    assert_eq!(c.info(7002, "sync_full"), "1", "only 7003's very first sync");
    // The old master rejoins the new one through replid2: partial.
    let m = c.client(7001);
    c.cmd(m, "REPLICAOF 127.0.0.1 7002");
    c.advance(2_000);
    assert_eq!(c.info(7001, "master_link_status"), "up");
    assert_eq!(c.info(7002, "sync_partial_ok"), "2", "7003 and 7001 both continued");
    let p = c.client(7002);
    c.cmd(p, "SET after 1");
    assert_eq!(c.digest(7001), c.digest(7002));
    assert_eq!(c.digest(7003), c.digest(7002));
}

#[test]
fn startup_replicaof_sends_psync_question_mark() {
    let mut c = Cluster::new();
    c.add(7001, &["--repl-diskless-sync", "no"]);
    c.add(7002, &["--replicaof", "127.0.0.1", "7001"]);
    c.advance(2_000);
    assert!(c.logged(7002, "Partial resynchronization not possible (no cached master)"));
    assert_eq!(c.info(7001, "sync_partial_err"), "0");
    assert_eq!(c.info(7002, "master_link_status"), "up");
}

#[test]
fn expired_keys_wait_for_the_masters_del_on_a_replica() {
    let mut c = Cluster::new();
    c.add(7001, &["--repl-diskless-sync", "no"]);
    c.add(7002, &["--replicaof", "127.0.0.1", "7001"]);
    c.advance(2_000);
    let m = c.client(7001);
    c.cmd(m, "DEBUG SET-ACTIVE-EXPIRE 0");
    c.cmd(m, "SET k v PX 100");
    c.advance(200);
    let r = c.client(7002);
    assert_eq!(c.cmd(r, "GET k"), "$-1\r\n", "hidden from reads");
    assert_eq!(c.cmd(r, "DBSIZE"), ":1\r\n", "but still stored");
    c.cmd(m, "GET k");
    assert_eq!(c.cmd(r, "DBSIZE"), ":0\r\n", "the master's DEL removed it");
}

#[test]
fn client_kill_type_master_resumes_partially() {
    let mut c = synced_pair();
    let m = c.client(7001);
    c.cmd(m, "SET a 1");
    let r = c.client(7002);
    assert_eq!(c.cmd(r, "CLIENT KILL TYPE master"), ":1\r\n");
    c.cmd(m, "SET b 2");
    assert_eq!(c.info(7002, "master_link_status"), "up");
    assert_eq!(c.info(7001, "sync_partial_ok"), "1");
    assert_eq!(c.digest(7001), c.digest(7002));
    let k = c.client(7001);
    assert_eq!(c.cmd(k, "CLIENT KILL TYPE replica"), ":1\r\n");
    c.cmd(m, "SET c 3");
    assert_eq!(c.info(7001, "sync_partial_ok"), "2");
    assert_eq!(c.digest(7001), c.digest(7002));
}

/// Property: however the stream is cut into pieces on the wire, the replica ends in the
/// master's state with the master's offset (offsets advance per whole command only).
#[test]
fn any_split_of_the_stream_gives_the_same_replica() {
    for seed in 1..=40u64 {
        let mut c = Cluster::new();
        c.split = Some(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        c.add(7001, &["--repl-diskless-sync", if seed % 2 == 0 { "no" } else { "yes" }, "--repl-diskless-sync-delay", "0"]);
        c.add(7002, &[]);
        let m = c.client(7001);
        c.cmd(m, "SET before 1");
        let r = c.client(7002);
        c.cmd(r, "REPLICAOF 127.0.0.1 7001");
        c.advance(1_000);
        for i in 0..20 {
            c.cmd(m, &format!("SET k{i} {}", "v".repeat(i * 7)));
            c.cmd(m, "MULTI");
            c.cmd(m, &format!("HSET h{i} f {i}"));
            c.cmd(m, &format!("LPUSH l x{i}"));
            c.cmd(m, "EXEC");
            c.cmd(m, &format!("SELECT {}", i % 3));
            c.cmd(m, "INCRBYFLOAT f 0.1");
        }
        c.advance(1_100);
        assert_eq!(c.digest(7001), c.digest(7002), "seed {seed}");
        assert_eq!(c.info(7002, "slave_repl_offset"), c.info(7001, "master_repl_offset"), "seed {seed}");
        let slave0 = c.info(7001, "slave0");
        assert!(slave0.contains(&format!("offset={},", c.info(7001, "master_repl_offset"))), "seed {seed}: {slave0}");
    }
}

/// Garbage from the master ends the link (not cached: the next PSYNC is `? -1`) and the
/// replica keeps serving its data.
#[test]
fn a_protocol_error_from_the_master_drops_the_cache() {
    let mut c = synced_pair();
    let m = c.client(7001);
    c.cmd(m, "SET a 1");
    // Inject bytes into the master link as if the master had sent them.
    let conn = c.master_link_conn(7002).expect("linked");
    c.nodes.get_mut(&7002).unwrap().handle_input(c.now, replscope_engine::Input::Received { conn, bytes: b"*1\r\n+oops\r\n" });
    c.pump();
    c.advance(1_000);
    assert!(c.logged(7002, "Partial resynchronization not possible (no cached master)"));
    assert_eq!(c.info(7002, "master_link_status"), "up");
    assert_eq!(c.digest(7001), c.digest(7002));
}

/// SPEC §8 / exp5 with one replica.
#[test]
fn wait_counts_acknowledging_replicas() {
    let mut c = synced_pair();
    c.advance(1_100);
    let m = c.client(7001);
    c.cmd(m, "SET w 1");
    // The write reaches the replica at once, but its ACK comes with the GETACK answer.
    assert_eq!(c.cmd(m, "WAIT 1 0"), ":1\r\n");
    assert_eq!(c.cmd(m, "WAIT 0 0"), ":1\r\n");
    assert_eq!(c.cmd(m, "WAIT 2 500"), "", "blocked: only one replica exists");
    c.advance(400);
    assert_eq!(c.take(m), "");
    c.advance(200);
    assert_eq!(c.take(m), ":1\r\n", "resolved by the 10 Hz cron after the timeout");
    assert_eq!(c.cmd(m, "MULTI"), "+OK\r\n");
    c.cmd(m, "WAIT 5 0");
    // Answers at once; 0 as measured on 7.0.15: the previous WAIT's GETACK moved the offset
    // past what the replica acknowledged (it ACKs the offset before a GETACK).
    assert_eq!(c.cmd(m, "EXEC"), "*1\r\n:0\r\n", "WAIT inside MULTI answers at once");
    assert_eq!(c.cmd(m, "WAIT -1 abc"), "-ERR timeout is not an integer or out of range\r\n");
    assert_eq!(c.cmd(m, "WAIT 1 -5"), "-ERR timeout is negative\r\n");
    let r = c.client(7002);
    assert!(c.cmd(r, "WAIT 1 0").starts_with("-ERR WAIT cannot be used with replica instances."));
    // Link cut: nobody acks the new write.
    c.down.insert(7001);
    c.cut(7001, 7002);
    c.cmd(m, "SET lost 1");
    assert_eq!(c.cmd(m, "WAIT 1 300"), "");
    c.advance(400);
    assert_eq!(c.take(m), ":0\r\n");
}

#[test]
fn wait_with_no_replicas_still_appends_a_getack() {
    let mut c = Cluster::new();
    c.add(7001, &["--repl-diskless-sync", "no"]);
    c.add(7002, &[]);
    let r = c.client(7002);
    c.cmd(r, "REPLICAOF 127.0.0.1 7001");
    c.advance(1_000);
    c.cmd(r, "REPLICAOF NO ONE");
    c.advance(100);
    let m = c.client(7001);
    assert_eq!(c.info(7001, "connected_slaves"), "0");
    let before: i64 = c.info(7001, "master_repl_offset").parse().unwrap();
    assert_eq!(c.cmd(m, "WAIT 0 0"), ":0\r\n");
    assert_eq!(c.cmd(m, "WAIT 1 100"), "");
    c.advance(200);
    assert_eq!(c.take(m), ":0\r\n");
    let after: i64 = c.info(7001, "master_repl_offset").parse().unwrap();
    assert_eq!(after - before, 37, "exp2: the GETACK is in the stream even with 0 replicas");
}

#[test]
fn min_replicas_to_write_refuses_writes_without_good_replicas() {
    let mut c = synced_pair();
    let m = c.client(7001);
    c.cmd(m, "CONFIG SET min-replicas-to-write 2");
    c.advance(1_100);
    assert_eq!(c.cmd(m, "SET x 1"), "-NOREPLICAS Not enough good replicas to write.\r\n");
    assert_eq!(c.cmd(m, "GET pre"), "$1\r\n1\r\n", "reads still work");
    assert_eq!(c.info(7001, "min_slaves_good_slaves"), "1");
    c.cmd(m, "CONFIG SET min-replicas-to-write 1");
    c.advance(1_100);
    assert_eq!(c.cmd(m, "SET x 1"), "+OK\r\n");
    // A silent replica stops counting after min-replicas-max-lag.
    c.cmd(m, "CONFIG SET min-replicas-max-lag 2");
    c.down.insert(7001);
    c.cut(7001, 7002);
    c.advance(1_100);
    assert_eq!(c.cmd(m, "SET y 1"), "-NOREPLICAS Not enough good replicas to write.\r\n");
    assert_eq!(c.info(7001, "min_slaves_good_slaves"), "0");
    c.down.clear();
    c.advance(2_100);
    assert_eq!(c.cmd(m, "SET y 1"), "+OK\r\n");
}

/// SPEC §3: a master restarting from its RDB keeps the old history as replid2, so its
/// replicas continue with +CONTINUE <newid> instead of a full sync.
#[test]
fn a_persistent_master_restarts_and_its_replicas_continue_partially() {
    let mut c = synced_pair();
    let m = c.client(7001);
    c.cmd(m, "SET a 1");
    let old_id = c.info(7001, "master_replid");
    let off: i64 = c.info(7001, "master_repl_offset").parse().unwrap();
    let m = c.client(7001);
    assert_eq!(c.cmd(m, "SHUTDOWN SAVE"), "");
    c.crash(7001);
    assert_eq!(c.info(7002, "master_link_status"), "down");
    c.advance(500);
    c.restart(7001, 99);
    assert_eq!(c.info(7001, "master_replid2"), old_id);
    assert_eq!(c.info(7001, "second_repl_offset"), (off + 1).to_string());
    assert_eq!(c.info(7001, "master_repl_offset"), off.to_string());
    c.advance(1_100);
    assert_eq!(c.info(7002, "master_link_status"), "up");
    assert_eq!(c.info(7001, "sync_partial_ok"), "1");
    assert_eq!(c.info(7001, "sync_full"), "0");
    assert_eq!(c.info(7002, "master_replid"), c.info(7001, "master_replid"));
    assert_eq!(c.digest(7001), c.digest(7002));
}

/// SPEC §12: a master without persistence restarts empty with a new history; the whole
/// chain full-syncs to the empty dataset.
#[test]
fn a_master_without_persistence_restarts_empty_and_wipes_the_chain() {
    let mut c = Cluster::new();
    c.add(7001, &["--save", "", "--repl-diskless-sync", "no"]);
    c.add(7002, &["--repl-diskless-sync", "no"]);
    c.add(7003, &[]);
    let m = c.client(7001);
    for i in 0..106 {
        c.cmd(m, &format!("SET k{i} v"));
    }
    let r1 = c.client(7002);
    c.cmd(r1, "REPLICAOF 127.0.0.1 7001");
    c.advance(1_000);
    let r2 = c.client(7003);
    c.cmd(r2, "REPLICAOF 127.0.0.1 7002");
    c.advance(1_000);
    assert_eq!(c.nodes[&7003].dbsize(0), 106);
    c.crash(7001);
    c.advance(1_000);
    let r = c.client(7002);
    assert_eq!(c.cmd(r, "DBSIZE"), ":106\r\n", "serves its data while the master is down");
    assert!(!c.disks.contains_key(&7001), "save '' wrote nothing");
    c.restart(7001, 4242);
    c.advance(3_000);
    assert_eq!(c.info(7002, "master_link_status"), "up");
    assert_eq!(c.info(7003, "master_link_status"), "up");
    for port in [7001, 7002, 7003] {
        assert_eq!(c.nodes[&port].dbsize(0), 0, "node {port} wiped");
    }
    assert!(c.logged(7002, "Full resync from master: "));
    assert!(c.logged(7003, "Full resync from master: "));
    assert_eq!(c.info(7003, "master_replid"), c.info(7001, "master_replid"));
}

/// SPEC §11 / exp5 5g: chain 7001 → 7002 → 7003, `FAILOVER TO 7002` on 7001.
#[test]
fn failover_swaps_roles_with_partial_syncs_only() {
    let mut c = Cluster::new();
    c.add(7001, &["--repl-diskless-sync", "no"]);
    c.add(7002, &["--repl-diskless-sync", "no"]);
    c.add(7003, &[]);
    let r1 = c.client(7002);
    c.cmd(r1, "REPLICAOF 127.0.0.1 7001");
    c.advance(1_000);
    let r2 = c.client(7003);
    c.cmd(r2, "REPLICAOF 127.0.0.1 7002");
    c.advance(1_000);
    let m = c.client(7001);
    c.cmd(m, "SET a 1");
    let old_id = c.info(7001, "master_replid");
    let e = c.client(7001);
    assert_eq!(c.cmd(e, "FAILOVER TO 127.0.0.1 9"), "-ERR FAILOVER target HOST and PORT is not a replica.\r\n");
    assert_eq!(c.cmd(e, "FAILOVER FORCE"), "-ERR FAILOVER with force option requires both a timeout and target HOST and IP.\r\n");
    assert_eq!(c.cmd(e, "FAILOVER ABORT"), "-ERR No failover in progress.\r\n");
    assert_eq!(c.cmd(e, "FAILOVER TIMEOUT 0"), "-ERR FAILOVER timeout must be greater than 0\r\n");
    assert_eq!(c.cmd(r1, "FAILOVER"), "-ERR FAILOVER is not valid when server is a replica.\r\n");

    assert_eq!(c.cmd(e, "FAILOVER TO 127.0.0.1 7002"), "+OK\r\n");
    assert_eq!(c.info(7001, "master_failover_state"), "waiting-for-sync");
    assert_eq!(c.cmd(e, "FAILOVER TO 127.0.0.1 7002"), "-ERR FAILOVER already in progress.\r\n");
    assert_eq!(c.cmd(m, "SET paused 1"), "", "writes wait during the failover");
    c.advance(1_200);
    assert_eq!(c.take(m), "-READONLY You can't write against a read only replica.\r\n", "and then find a replica");
    assert_eq!(c.info(7001, "role"), "slave");
    assert_eq!(c.info(7001, "master_port"), "7002");
    assert_eq!(c.info(7001, "master_failover_state"), "no-failover");
    assert_eq!(c.info(7002, "role"), "master");
    assert_eq!(c.info(7002, "master_replid2"), old_id);
    assert_eq!(c.info(7001, "master_replid2"), old_id);
    assert_eq!(c.info(7002, "connected_slaves"), "2");
    assert!(c.info(7002, "slave0").starts_with("ip=127.0.0.1,port=7001,state=online"));
    assert!(c.info(7002, "slave1").starts_with("ip=127.0.0.1,port=7003,state=online"));
    assert_eq!(c.info(7002, "sync_partial_ok"), "2");
    assert_eq!(c.info(7002, "sync_full"), "1", "only 7003's first sync, before the failover");
    let w = c.client(7002);
    c.cmd(w, "SET after 1");
    assert_eq!(c.digest(7001), c.digest(7002));
    assert_eq!(c.digest(7003), c.digest(7002));
}

#[test]
fn failover_timeout_aborts_unless_forced() {
    let mut c = synced_pair();
    c.down.insert(7001);
    c.cut(7001, 7002);
    let m = c.client(7001);
    c.cmd(m, "SET a 1");
    assert_eq!(c.cmd(m, "FAILOVER TIMEOUT 500"), "-ERR FAILOVER requires connected replicas.\r\n");
    c.down.clear();
    c.advance(1_100);
    c.cmd(m, "SET b 1");
    // The replica acks only once a second: a 50 ms window cannot see it caught up.
    assert_eq!(c.cmd(m, "FAILOVER TO 127.0.0.1 7002 TIMEOUT 50"), "+OK\r\n");
    c.advance(300);
    assert_eq!(c.info(7001, "master_failover_state"), "no-failover");
    assert_eq!(c.info(7001, "role"), "master");
    assert!(c.logged(7001, "FAILOVER to 127.0.0.1:7002 aborted: Replica never caught up before timeout"));
    c.cmd(m, "SET c 1");
    assert_eq!(c.cmd(m, "FAILOVER TO 127.0.0.1 7002 TIMEOUT 50 FORCE"), "+OK\r\n");
    c.advance(1_500);
    assert!(c.logged(7001, "FAILOVER to 127.0.0.1:7002 time out exceeded, failing over."));
    assert_eq!(c.info(7001, "role"), "slave");
    assert_eq!(c.info(7002, "role"), "master");
    assert_eq!(c.digest(7001), c.digest(7002));
}

#[test]
fn status_reports_both_sides_of_a_link() {
    let mut c = synced_pair();
    let m = c.client(7001);
    c.cmd(m, "SET a 1");
    c.advance(1_100);
    let now = c.now;
    let master = c.nodes[&7001].status(now);
    let replica = c.nodes[&7002].status(now);
    assert_eq!(master.role, replscope_engine::Role::Master);
    assert_eq!(master.replicas.len(), 1);
    assert_eq!(master.replicas[0].port, 7002);
    assert_eq!(master.replicas[0].state, "online");
    assert_eq!(master.replicas[0].ack_offset, master.master_repl_offset);
    let replscope_engine::Role::Replica(view) = &replica.role else { panic!("7002 is a replica") };
    assert!(view.link_up);
    assert_eq!(view.link_state, "connected");
    assert_eq!(view.applied_offset, master.master_repl_offset);
    assert_eq!(replica.replid, master.replid);
    assert_eq!(master.backlog.as_ref().unwrap().first_byte_offset, 1);
    assert_eq!(replica.keys[0], 2);
}

fn used_memory(c: &mut Cluster, port: u16) -> u64 {
    c.info(port, "used_memory").parse().unwrap()
}

#[test]
fn noeviction_answers_oom_and_keeps_everything() {
    let mut c = Cluster::new();
    c.add(7001, &[]);
    let m = c.client(7001);
    c.cmd(m, "SET seed 1");
    let limit = used_memory(&mut c, 7001) + 2_000;
    c.cmd(m, &format!("CONFIG SET maxmemory {limit}"));
    let mut oom = None;
    for i in 0..100 {
        let r = c.cmd(m, &format!("SET key{i} {}", "x".repeat(100)));
        if r.starts_with('-') {
            oom = Some(r);
            break;
        }
    }
    assert_eq!(oom.as_deref(), Some("-OOM command not allowed when used memory > 'maxmemory'.\r\n"));
    assert_eq!(c.cmd(m, "GET seed"), "$1\r\n1\r\n", "reads still work");
    assert_eq!(c.cmd(m, "DEL seed"), ":1\r\n", "and deletes");
    assert_eq!(c.info(7001, "evicted_keys"), "0");
}

#[test]
fn allkeys_lru_evicts_idle_keys_and_replicas_follow() {
    let mut c = synced_pair();
    let m = c.client(7001);
    c.cmd(m, "CONFIG SET maxmemory-policy allkeys-lru");
    c.cmd(m, "CONFIG SET maxmemory-samples 64");
    for i in 0..20 {
        c.cmd(m, &format!("SET old{i} {}", "o".repeat(100)));
    }
    c.advance(1_000);
    c.cmd(m, "SET hot 1");
    let limit = used_memory(&mut c, 7001) + 500;
    c.cmd(m, &format!("CONFIG SET maxmemory {limit}"));
    for i in 0..10 {
        c.advance(10);
        c.cmd(m, "GET hot");
        assert_eq!(c.cmd(m, &format!("SET new{i} {}", "n".repeat(100))), "+OK\r\n");
    }
    let evicted: u64 = c.info(7001, "evicted_keys").parse().unwrap();
    assert!(evicted >= 5, "evicted {evicted}");
    assert_eq!(c.cmd(m, "GET hot"), "$1\r\n1\r\n", "the recently used key stays");
    assert_eq!(c.cmd(m, "EXISTS new9"), ":1\r\n");
    assert!(used_memory(&mut c, 7001) <= limit + 200);
    assert_eq!(c.digest(7001), c.digest(7002), "evictions reach the replica as DELs");
}

#[test]
fn volatile_ttl_evicts_the_soonest_expiring_keys_only() {
    let mut c = Cluster::new();
    c.add(7001, &["--maxmemory-policy", "volatile-ttl"]);
    let m = c.client(7001);
    c.cmd(m, &format!("SET keep {}", "k".repeat(300)));
    c.cmd(m, &format!("SET soon {} EX 100", "s".repeat(300)));
    c.cmd(m, &format!("SET later {} EX 10000", "l".repeat(300)));
    let limit = used_memory(&mut c, 7001) + 50;
    c.cmd(m, &format!("CONFIG SET maxmemory {limit}"));
    assert_eq!(c.cmd(m, &format!("SET more {}", "m".repeat(200))), "+OK\r\n");
    assert_eq!(c.cmd(m, "EXISTS soon"), ":0\r\n");
    assert_eq!(c.cmd(m, "EXISTS later keep"), ":2\r\n");
    // Keep pushing: only volatile keys may go; then -OOM.
    let mut last = String::new();
    for i in 0..10 {
        last = c.cmd(m, &format!("SET more{i} {}", "m".repeat(200)));
        if last.starts_with('-') {
            break;
        }
    }
    assert_eq!(last, "-OOM command not allowed when used memory > 'maxmemory'.\r\n");
    assert_eq!(c.cmd(m, "EXISTS keep"), ":1\r\n", "non-volatile keys are never evicted");
}

/// SPEC §3: a replica restarting from its own RDB resumes as a cached master and continues
/// with a partial resync (its file carries repl-id, repl-offset and repl-stream-db).
#[test]
fn a_replica_restarting_from_its_rdb_continues_partially() {
    let mut c = Cluster::new();
    c.add(7001, &["--repl-diskless-sync", "no"]);
    c.add(7002, &["--replicaof", "127.0.0.1", "7001"]);
    c.advance(2_000);
    let m = c.client(7001);
    c.cmd(m, "SELECT 3");
    c.cmd(m, "SET in3 1");
    let r = c.client(7002);
    assert_eq!(c.cmd(r, "SAVE"), "+OK\r\n");
    c.crash(7002);
    c.cmd(m, "SET while_down 1");
    c.advance(500);
    c.restart(7002, 77);
    c.advance(2_000);
    assert_eq!(c.info(7002, "master_link_status"), "up");
    assert!(c.logged(7002, "Trying a partial resynchronization"));
    assert_eq!(c.info(7001, "sync_partial_ok"), "1");
    assert_eq!(c.info(7001, "sync_full"), "1", "only the first attach");
    assert_eq!(c.digest(7001), c.digest(7002));
    c.cmd(m, "SET after 1");
    assert_eq!(c.digest(7001), c.digest(7002), "the stream goes on in the right DB");
}

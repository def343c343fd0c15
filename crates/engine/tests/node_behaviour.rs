//! Behaviour of one node over time and across connections: expiry, DEBUG SLEEP, auth,
//! protocol errors, pipelining, SHUTDOWN.

mod support;

use replscope_engine::Output;
use support::Harness;

#[test]
fn lazy_expiry_hides_and_deletes_keys() {
    let mut h = Harness::new(&["--enable-debug-command", "yes"]);
    let c = h.connect();
    h.cmd(c, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    assert_eq!(h.cmd(c, &["SET", "k", "v", "PX", "100"]), "+OK\r\n");
    h.advance(50);
    assert_eq!(h.cmd(c, &["GET", "k"]), "$1\r\nv\r\n");
    h.advance(100);
    assert_eq!(h.cmd(c, &["DBSIZE"]), ":1\r\n", "without the active cycle the key is still stored");
    assert_eq!(h.cmd(c, &["GET", "k"]), "$-1\r\n");
    assert_eq!(h.cmd(c, &["DBSIZE"]), ":0\r\n", "the read deleted it");
}

#[test]
fn active_expire_cycle_removes_keys_nobody_reads() {
    let mut h = Harness::new(&[]);
    let c = h.connect();
    for i in 0..50 {
        h.cmd(c, &["SET", &format!("k{i}"), "v", "PX", "200"]);
    }
    h.cmd(c, &["SET", "stays", "v"]);
    h.advance(150);
    assert_eq!(h.cmd(c, &["DBSIZE"]), ":51\r\n");
    h.advance(400);
    assert_eq!(h.cmd(c, &["DBSIZE"]), ":1\r\n");
    let info = h.cmd(c, &["INFO", "stats"]);
    assert!(info.contains("expired_keys:50\r\n"), "{info}");
}

#[test]
fn debug_sleep_blocks_every_client_until_time_passes() {
    let mut h = Harness::new(&["--enable-debug-command", "yes"]);
    let a = h.connect();
    let b = h.connect();
    h.send_raw(a, b"*3\r\n$5\r\nDEBUG\r\n$5\r\nSLEEP\r\n$3\r\n0.5\r\n");
    assert_eq!(h.take_sent(a), b"", "the reply waits for the sleep to end");
    h.send_raw(b, b"PING\r\n");
    assert_eq!(h.take_sent(b), b"", "other clients wait too");
    assert_eq!(h.node.poll_timeout(), Some(h.now.saturating_add(500)));
    h.advance(499);
    assert_eq!(h.take_sent(b), b"");
    h.advance(1);
    assert_eq!(h.take_sent(a), b"+OK\r\n");
    assert_eq!(h.take_sent(b), b"+PONG\r\n");
}

#[test]
fn requirepass_gates_commands_until_auth() {
    let mut h = Harness::new(&["--requirepass", "s3cret"]);
    let c = h.connect();
    assert_eq!(h.cmd(c, &["GET", "k"]), "-NOAUTH Authentication required.\r\n");
    assert!(h.cmd(c, &["NOPE"]).starts_with("-ERR unknown command 'NOPE'"), "unknown beats NOAUTH");
    assert_eq!(
        h.cmd(c, &["AUTH", "wrong"]),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(h.cmd(c, &["AUTH", "s3cret"]), "+OK\r\n");
    assert_eq!(h.cmd(c, &["GET", "k"]), "$-1\r\n");
    let other = h.connect();
    assert_eq!(h.cmd(other, &["AUTH", "default", "s3cret"]), "+OK\r\n");
}

#[test]
fn unauthenticated_clients_cannot_send_big_requests() {
    let mut h = Harness::new(&["--requirepass", "x"]);
    let c = h.connect();
    h.send_raw(c, b"*100\r\n");
    assert_eq!(h.take_sent(c), b"-ERR Protocol error: unauthenticated multibulk length\r\n");
    assert!(h.closed(c));
}

#[test]
fn protocol_error_replies_then_closes_and_ignores_the_rest() {
    let mut h = Harness::new(&[]);
    let c = h.connect();
    h.send_raw(c, b"PING\r\n*1\r\n+PING\r\nPING\r\n");
    assert_eq!(h.take_sent(c), b"+PONG\r\n-ERR Protocol error: expected '$', got '+'\r\n");
    assert!(h.closed(c));
    let d = h.connect();
    assert_eq!(h.cmd(d, &["PING"]), "+PONG\r\n", "the node keeps serving others");
}

#[test]
fn pipelined_and_split_input_gives_the_same_replies() {
    let mut h = Harness::new(&[]);
    let c = h.connect();
    let script = b"SET a 1\r\n*2\r\n$4\r\nINCR\r\n$1\r\na\r\nGET a\r\n\r\nECHO \"x y\"\r\n";
    let expected = b"+OK\r\n:2\r\n$1\r\n2\r\n$3\r\nx y\r\n".to_vec();
    h.send_raw(c, script);
    assert_eq!(h.take_sent(c), expected);
    let d = h.connect();
    h.cmd(d, &["FLUSHALL"]);
    for byte in script.iter() {
        h.send_raw(d, std::slice::from_ref(byte));
    }
    assert_eq!(h.take_sent(d), expected);
}

#[test]
fn quit_replies_ok_and_closes() {
    let mut h = Harness::new(&[]);
    let c = h.connect();
    assert_eq!(h.cmd(c, &["QUIT"]), "+OK\r\n");
    assert!(h.closed(c));
}

#[test]
fn client_kill_closes_the_other_connection() {
    let mut h = Harness::new(&[]);
    let a = h.connect();
    let b = h.connect();
    assert_eq!(h.cmd(a, &["CLIENT", "KILL", "ID", &b.0.to_string()]), ":1\r\n");
    assert!(h.closed(b));
    assert!(!h.closed(a));
    let list = h.cmd(a, &["CLIENT", "LIST"]);
    assert_eq!(list.matches("id=").count(), 1, "{list}");
}

#[test]
fn transactions_queue_and_run_atomically() {
    let mut h = Harness::new(&[]);
    let c = h.connect();
    assert_eq!(h.cmd(c, &["MULTI"]), "+OK\r\n");
    assert_eq!(h.cmd(c, &["SET", "a", "1"]), "+QUEUED\r\n");
    assert_eq!(h.cmd(c, &["INCR", "a"]), "+QUEUED\r\n");
    assert_eq!(h.cmd(c, &["LPUSH", "a", "x"]), "+QUEUED\r\n");
    assert_eq!(
        h.cmd(c, &["EXEC"]),
        "*3\r\n+OK\r\n:2\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    h.cmd(c, &["MULTI"]);
    assert_eq!(h.cmd(c, &["GET"]), "-ERR wrong number of arguments for 'get' command\r\n");
    assert_eq!(h.cmd(c, &["EXEC"]), "-EXECABORT Transaction discarded because of previous errors.\r\n");
}

#[test]
fn shutdown_stops_the_node_without_a_reply() {
    let mut h = Harness::new(&["--save", ""]);
    let c = h.connect();
    assert_eq!(h.cmd(c, &["SHUTDOWN", "NOSAVE"]), "");
    assert!(h.node.is_stopped());
    assert!(h.outputs.iter().any(|o| matches!(o, Output::Shutdown { save: false })));
    assert!(h.closed(c));
    assert_eq!(h.node.poll_timeout(), None);
}

#[test]
fn debug_is_refused_unless_enabled() {
    let mut h = Harness::new(&[]);
    let c = h.connect();
    assert!(h.cmd(c, &["DEBUG", "DIGEST"]).starts_with("-ERR DEBUG command not allowed."));
    let mut local = Harness::new(&["--enable-debug-command", "local"]);
    let c = local.connect();
    assert_eq!(local.cmd(c, &["DEBUG", "DIGEST"]), "+0000000000000000000000000000000000000000\r\n");
}

#[test]
fn info_sections_follow_redis_order() {
    let mut h = Harness::new(&["--port", "7001"]);
    let c = h.connect();
    let info = h.cmd(c, &["INFO"]);
    let headers: Vec<&str> = info.lines().filter(|l| l.starts_with('#')).collect();
    assert_eq!(
        headers,
        ["# Server", "# Clients", "# Memory", "# Persistence", "# Stats", "# Replication", "# CPU", "# Modules", "# Errorstats", "# Cluster", "# Keyspace"]
    );
    let all = h.cmd(c, &["INFO", "all"]);
    assert!(all.contains("# Commandstats\r\ncmdstat_info:calls=1,"), "{all}");
    assert!(all.contains("# Latencystats\r\n"));
    assert!(info.contains("tcp_port:7001\r\n"));
    assert!(info.contains("\r\nrole:master\r\nconnected_slaves:0\r\nmaster_failover_state:no-failover\r\n"));
    let only = h.cmd(c, &["INFO", "keyspace"]);
    assert!(only.starts_with("$12\r\n# Keyspace\r\n"), "{only:?}");
    assert_eq!(h.cmd(c, &["INFO", "nosuchsection"]), "$0\r\n\r\n");
}

#[test]
fn query_buffer_limit_closes_hostile_clients() {
    let mut h = Harness::new(&["--client-query-buffer-limit", "1024"]);
    let c = h.connect();
    h.send_raw(c, b"*1\r\n$100000\r\n");
    h.send_raw(c, &[b'a'; 2000]);
    assert!(h.closed(c));
    assert_eq!(h.take_sent(c), b"");
}

/// Hostile bytes never panic the node, and it keeps answering other clients.
#[test]
fn random_garbage_never_breaks_the_node() {
    let mut h = Harness::new(&["--enable-debug-command", "yes"]);
    let pieces: &[&[u8]] = &[
        b"*", b"$", b"\r\n", b"\n", b"-1", b"3", b"0", b"99999999999999999999", b"\"", b"'", b"\\x4",
        b"SET", b"GET", b"MULTI", b"EXEC", b"DEBUG", b"SLEEP", b"SCAN", b"KEYS", b"[", b"*?", b"\0",
        b"INCRBYFLOAT", b"1e400", b"CLIENT", b"KILL", b"CONFIG", b"SET", b" ", b"x", b"EXPIRE",
        b"-9223372036854775808", b"LRANGE", b"SPOP", b"HSET", b"\xff\xfe",
    ];
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..300 {
        let c = h.connect();
        for _ in 0..40 {
            let mut chunk = Vec::new();
            for _ in 0..(next() % 12) {
                chunk.extend_from_slice(pieces[(next() % pieces.len() as u64) as usize]);
            }
            h.send_raw(c, &chunk);
        }
        h.advance(next() % 50);
    }
    h.advance(60_000);
    let fresh = h.connect();
    assert_eq!(h.cmd(fresh, &["PING"]), "+PONG\r\n");
}

/// Values printed by redis-server 7.0.15 for the same dataset.
#[test]
fn debug_digest_value_matches_redis() {
    let mut h = Harness::new(&["--enable-debug-command", "yes"]);
    let c = h.connect();
    h.cmd(c, &["SET", "a", "b"]);
    h.cmd(c, &["RPUSH", "l", "x", "y"]);
    assert_eq!(
        h.cmd(c, &["DEBUG", "DIGEST-VALUE", "a", "l", "nokey"]),
        "*3\r\n+b78559cd22bce6e6df712eb99ce7f3b08e8f8f1f\r\n+a3b14a34cfbd69f970cd30aff36fd797e07b4dbc\r\n+0000000000000000000000000000000000000000\r\n"
    );
}

#[test]
fn save_bgsave_and_restore_round_trip() {
    let mut h = Harness::new(&["--save", ""]);
    let c = h.connect();
    h.cmd(c, &["SET", "a", "1"]);
    h.cmd(c, &["RPUSH", "l", "x"]);
    assert_eq!(h.cmd(c, &["SAVE"]), "+OK\r\n");
    let rdb = h
        .outputs
        .iter()
        .find_map(|o| match o {
            replscope_engine::Output::SaveRdb { bytes } => Some(bytes.clone()),
            _ => None,
        })
        .expect("SAVE hands the snapshot to the driver");
    let restored = replscope_engine::Node::restore(replscope_engine::Config::default(), 1, h.now, &rdb).unwrap();
    assert_eq!(restored.digest(), h.node.digest());
    assert_eq!(h.cmd(c, &["BGSAVE"]), "+Background saving started\r\n");
    assert_eq!(h.cmd(c, &["BGSAVE"]), "-ERR Background save already in progress\r\n");
    h.advance(200);
    assert_eq!(h.cmd(c, &["BGSAVE"]), "+Background saving started\r\n");
    assert!(replscope_engine::Node::restore(replscope_engine::Config::default(), 1, h.now, b"REDIS0010garbage").is_err());
}

#[test]
fn save_rules_snapshot_after_enough_changes() {
    let mut h = Harness::new(&["--save", "1 2"]);
    let c = h.connect();
    h.cmd(c, &["SET", "a", "1"]);
    h.advance(3_000);
    assert!(!h.outputs.iter().any(|o| matches!(o, replscope_engine::Output::SaveRdb { .. })), "1 change < 2");
    h.cmd(c, &["SET", "b", "1"]);
    h.advance(300);
    assert!(h.outputs.iter().any(|o| matches!(o, replscope_engine::Output::SaveRdb { .. })));
    let info = h.cmd(c, &["INFO", "persistence"]);
    assert!(info.contains("rdb_changes_since_last_save:0\r\n"), "{info}");
}

#[test]
fn shutdown_with_save_writes_the_final_snapshot_first() {
    let mut h = Harness::new(&[]);
    let c = h.connect();
    h.cmd(c, &["SET", "a", "1"]);
    assert_eq!(h.cmd(c, &["SHUTDOWN"]), "");
    let save = h.outputs.iter().position(|o| matches!(o, replscope_engine::Output::SaveRdb { .. }));
    let stop = h.outputs.iter().position(|o| matches!(o, replscope_engine::Output::Shutdown { save: true }));
    assert!(save.is_some() && save < stop, "{:?}", h.outputs);
}

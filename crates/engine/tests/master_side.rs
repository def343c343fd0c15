//! The master side of replication driven by a raw fake replica, checked against what
//! redis-server 7.0.15 sent a raw-socket replica (../shared/redis-facts exp2).

mod support;

use replscope_engine::ConnId;
use support::Harness;

/// A fake replica's handshake up to (not including) PSYNC.
fn handshake(h: &mut Harness, port: &str, capas: &[&str]) -> ConnId {
    let r = h.connect_from(&format!("127.0.0.1:{}", 40000 + h.node.dbsize(0)));
    assert_eq!(h.cmd(r, &["PING"]), "+PONG\r\n");
    assert_eq!(h.cmd(r, &["REPLCONF", "listening-port", port]), "+OK\r\n");
    let mut capa = vec!["REPLCONF"];
    for c in capas {
        capa.push("capa");
        capa.push(c);
    }
    assert_eq!(h.cmd(r, &capa), "+OK\r\n");
    r
}

fn sync_stats(h: &mut Harness, c: ConnId) -> (String, String, String) {
    (h.info_field(c, "sync_full"), h.info_field(c, "sync_partial_ok"), h.info_field(c, "sync_partial_err"))
}

fn disk_master() -> Harness {
    Harness::new(&["--repl-diskless-sync", "no", "--save", ""])
}

#[test]
fn first_replica_gets_a_new_replid_a_disk_snapshot_then_the_stream() {
    let mut h = disk_master();
    let c = h.connect();
    h.cmd(c, &["SET", "pre1", "a"]);
    let old_id = h.info_field(c, "master_replid");
    assert_eq!(h.info_field(c, "master_repl_offset"), "0", "no backlog: the offset does not move");
    let r = handshake(&mut h, "9999", &["psync2"]);
    let reply = h.cmd(r, &["PSYNC", "?", "-1"]);
    let new_id = h.info_field(c, "master_replid");
    assert_ne!(new_id, old_id, "the backlog's creation starts a new history");
    assert_eq!(reply, format!("+FULLRESYNC {new_id} 0\r\n"));
    h.advance(150);
    let payload = h.take_sent(r);
    // `\n` keepalives may precede the payload (the 1 Hz cron), as with redis-server.
    let start = payload.iter().position(|&b| b != b'\n').unwrap();
    let payload = &payload[start..];
    let crlf = payload.windows(2).position(|w| w == b"\r\n").unwrap();
    let len: usize = std::str::from_utf8(&payload[1..crlf]).unwrap().parse().unwrap();
    let rdb = &payload[crlf + 2..];
    assert_eq!(rdb.len(), len, "no CRLF after the RDB");
    assert!(rdb.starts_with(b"REDIS0010"));
    let has = |needle: &[u8]| rdb.windows(needle.len()).any(|w| w == needle);
    assert!(has(b"repl-id") && has(new_id.as_bytes()));
    let info = h.cmd(c, &["INFO", "replication"]);
    assert!(info.contains("connected_slaves:1\r\nslave0:ip=127.0.0.1,port=9999,state=online,offset=0,lag=0\r\n"), "{info}");
    assert!(info.contains("repl_backlog_active:1\r\n"));
    assert!(info.contains("repl_backlog_first_byte_offset:1\r\nrepl_backlog_histlen:0\r\n"));
    assert_eq!(sync_stats(&mut h, c), ("1".into(), "0".into(), "0".into()));

    h.cmd(c, &["SET", "k1", "v1"]);
    assert_eq!(
        h.take_sent(r),
        b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$2\r\nk1\r\n$2\r\nv1\r\n",
        "SELECT is forced after a full sync"
    );
    assert_eq!(h.info_field(c, "master_repl_offset"), "52");
    assert_eq!(h.cmd(r, &["REPLCONF", "ACK", "52"]), "", "ACK has no reply");
    let info = h.cmd(c, &["INFO", "replication"]);
    assert!(info.contains("state=online,offset=52,"), "{info}");
    assert_eq!(
        h.cmd(c, &["ROLE"]),
        "*3\r\n$6\r\nmaster\r\n:52\r\n*1\r\n*3\r\n$9\r\n127.0.0.1\r\n$4\r\n9999\r\n$2\r\n52\r\n"
    );
}

#[test]
fn psync_decisions_and_counters_follow_exp2() {
    let mut h = disk_master();
    let c = h.connect();
    let r = handshake(&mut h, "9999", &["psync2"]);
    h.cmd(r, &["PSYNC", "?", "-1"]);
    h.advance(150);
    h.take_sent(r);
    for i in 0..3 {
        h.cmd(c, &["SET", &format!("k{i}"), "v"]);
    }
    let id = h.info_field(c, "master_replid");
    let offset: i64 = h.info_field(c, "master_repl_offset").parse().unwrap();
    assert_eq!(offset, 23 + 3 * 28);

    // Resuming from inside the backlog: exactly the missing bytes.
    let r2 = handshake(&mut h, "9998", &["psync2"]);
    let got = h.cmd(r2, &["PSYNC", &id, &(offset - 27).to_string()]);
    assert_eq!(got, format!("+CONTINUE {id}\r\n*3\r\n$3\r\nSET\r\n$2\r\nk2\r\n$1\r\nv\r\n"));
    assert_eq!(sync_stats(&mut h, c), ("1".into(), "1".into(), "0".into()));

    // Beyond the offset: full resync, counted as a partial error.
    let r3 = handshake(&mut h, "9997", &["psync2"]);
    assert_eq!(h.cmd(r3, &["PSYNC", &id, &(offset + 100).to_string()]), format!("+FULLRESYNC {id} {offset}\r\n"));
    assert_eq!(sync_stats(&mut h, c), ("2".into(), "1".into(), "1".into()));

    // Exactly master_repl_offset + 1: accepted with nothing to send.
    let r4 = handshake(&mut h, "9996", &["psync2"]);
    assert_eq!(h.cmd(r4, &["PSYNC", &id, &(offset + 1).to_string()]), format!("+CONTINUE {id}\r\n"));
    // Without capa psync2 the id is not sent.
    let r5 = handshake(&mut h, "9995", &[]);
    assert_eq!(h.cmd(r5, &["PSYNC", &id, &(offset + 1).to_string()]), "+CONTINUE\r\n");
    // An unknown id while the disk snapshot runs: it shares the snapshot and its offset.
    let r6 = handshake(&mut h, "9994", &["psync2"]);
    assert_eq!(h.cmd(r6, &["PSYNC", &"a".repeat(40), "1"]), format!("+FULLRESYNC {id} {offset}\r\n"));
    assert_eq!(sync_stats(&mut h, c), ("3".into(), "3".into(), "2".into()));

    let e = h.connect();
    assert_eq!(h.cmd(e, &["REPLCONF", "listening-port"]), "-ERR syntax error\r\n");
    assert_eq!(h.cmd(e, &["REPLCONF", "foo", "bar"]), "-ERR Unrecognized REPLCONF option: foo\r\n");
    assert_eq!(h.cmd(e, &["REPLCONF", "listening-port", "abc"]), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(h.cmd(e, &["PSYNC", "?", "abc"]), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(h.cmd(e, &["REPLCONF", "ACK", "10"]), "");
    assert_eq!(h.cmd(e, &["REPLCONF", "GETACK", "*"]), "");
    assert_eq!(sync_stats(&mut h, c), ("3".into(), "3".into(), "2".into()), "a wrong offset is no sync at all");
    assert_eq!(h.info_field(c, "connected_slaves"), "6");
}

#[test]
fn diskless_sync_waits_with_keepalives_then_streams_after_the_first_ack() {
    let mut h = Harness::new(&[]);
    let c = h.connect();
    h.cmd(c, &["SET", "pre", "x"]);
    let r = handshake(&mut h, "9998", &["eof", "psync2"]);
    assert_eq!(h.cmd(r, &["PSYNC", "?", "-1"]), "", "+FULLRESYNC waits for the delayed fork");
    let mut got = Vec::new();
    for _ in 0..60 {
        h.advance(100);
        got.extend(h.take_sent(r));
        if got.contains(&b'+') {
            break;
        }
    }
    // exp2: five `\n` a second apart, the fifth in the same cron tick as the fork.
    let keepalives = got.iter().take_while(|&&b| b == b'\n').count();
    assert_eq!(keepalives, 5, "one \\n a second during repl-diskless-sync-delay 5");
    let got = got[keepalives..].to_vec();
    let id = h.info_field(c, "master_replid");
    let text = String::from_utf8_lossy(&got).into_owned();
    let head = format!("+FULLRESYNC {id} 0\r\n$EOF:");
    assert!(text.starts_with(&head), "{text:?}");
    let mark = &text[head.len()..head.len() + 40];
    assert!(text[head.len() + 42..].starts_with("REDIS0010"));
    assert!(text.ends_with(mark), "the payload ends with the announced mark");

    h.advance(100);
    h.cmd(c, &["SET", "after", "rdb"]);
    assert_eq!(h.take_sent(r), b"", "the stream waits for the replica's first ACK");
    assert_eq!(h.cmd(r, &["REPLCONF", "ACK", "0"]), "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$5\r\nafter\r\n$3\r\nrdb\r\n");
}

#[test]
fn pings_keep_the_stream_alive_on_a_ten_second_grid() {
    let mut h = disk_master();
    let c = h.connect();
    let r = handshake(&mut h, "9999", &["psync2"]);
    h.cmd(r, &["PSYNC", "?", "-1"]);
    h.advance(500);
    h.take_sent(r);
    h.advance(9_600);
    assert_eq!(h.take_sent(r), b"*1\r\n$4\r\nping\r\n");
    assert_eq!(h.info_field(c, "master_repl_offset"), "14");
    h.advance(10_000);
    assert_eq!(h.take_sent(r), b"*1\r\n$4\r\nping\r\n");
}

#[test]
fn backlog_ttl_frees_it_and_changes_the_replid_but_keeps_the_offset() {
    let mut h = Harness::new(&["--repl-diskless-sync", "no", "--repl-backlog-ttl", "2"]);
    let c = h.connect();
    let r = handshake(&mut h, "9999", &["psync2"]);
    h.cmd(r, &["PSYNC", "?", "-1"]);
    h.advance(200);
    h.cmd(c, &["SET", "a", "1"]);
    let id = h.info_field(c, "master_replid");
    h.node.handle_input(h.now, replscope_engine::Input::Closed { conn: r });
    assert_eq!(h.info_field(c, "connected_slaves"), "0");
    h.advance(2_000);
    assert_eq!(h.info_field(c, "repl_backlog_active"), "1", "not yet more than 2 s");
    h.advance(2_000);
    assert_eq!(h.info_field(c, "repl_backlog_active"), "0");
    assert_ne!(h.info_field(c, "master_replid"), id);
    assert_eq!(h.info_field(c, "master_repl_offset"), "50");
}

#[test]
fn a_replica_that_stops_acking_is_dropped_after_repl_timeout() {
    let mut h = Harness::new(&["--repl-diskless-sync", "no", "--repl-timeout", "5"]);
    let c = h.connect();
    let r = handshake(&mut h, "9999", &["psync2"]);
    h.cmd(r, &["PSYNC", "?", "-1"]);
    h.advance(3_000);
    h.cmd(r, &["REPLCONF", "ACK", "0"]);
    h.advance(5_000);
    assert_eq!(h.info_field(c, "connected_slaves"), "1");
    h.advance(1_500);
    assert!(h.closed(r));
    assert_eq!(h.info_field(c, "connected_slaves"), "0");
}

//! Garbage from a master ends the link with a logged reason; the replica keeps serving its
//! data and never holds half a dataset.

mod support;

use replscope_engine::resp::encode_command;
use replscope_engine::{Input, Output};
use support::Harness;

/// Starts REPLICAOF and answers the handshake as a master would, up to PSYNC.
fn handshake(h: &mut Harness) -> replscope_engine::ConnId {
    let c = h.connect();
    h.cmd(c, &["SET", "precious", "data"]);
    assert_eq!(h.cmd(c, &["REPLICAOF", "fake", "7000"]), "+OK\r\n");
    let conn = h
        .outputs
        .iter()
        .find_map(|o| match o {
            Output::Connect { conn, .. } => Some(*conn),
            _ => None,
        })
        .expect("the replica connects to its master");
    h.node.handle_input(h.now, Input::Connected { conn });
    h.drain();
    assert_eq!(h.take_sent(conn), encode_command(&["PING"]));
    h.send_raw(conn, b"+PONG\r\n");
    h.send_raw(conn, b"+OK\r\n+OK\r\n");
    let psync = String::from_utf8(h.take_sent(conn)).unwrap();
    assert!(psync.contains("REPLCONF") && psync.contains("PSYNC"), "{psync}");
    conn
}

fn logged(h: &Harness, needle: &str) -> bool {
    h.outputs.iter().any(|o| matches!(o, Output::Log { line, .. } if line.contains(needle)))
}

fn still_has_its_data(h: &mut Harness) {
    let c = h.connect();
    assert_eq!(h.cmd(c, &["GET", "precious"]), "$4\r\ndata\r\n");
}

#[test]
fn a_corrupt_payload_is_refused_whole() {
    let mut h = Harness::new(&[]);
    let conn = handshake(&mut h);
    let mut rdb = b"REDIS0010".to_vec();
    rdb.extend_from_slice(&[0xFE, 0x00, 0x00, 0x01, b'k', 0x01, b'v', 0xFF]);
    rdb.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]); // a wrong checksum
    let mut bytes = format!("+FULLRESYNC {} 0\r\n${}\r\n", "a".repeat(40), rdb.len()).into_bytes();
    bytes.extend_from_slice(&rdb);
    h.send_raw(conn, &bytes);
    assert!(logged(&h, "Failed trying to load the MASTER synchronization DB"), "{:?}", h.outputs);
    assert!(h.closed(conn));
    still_has_its_data(&mut h);
}

#[test]
fn a_truncated_payload_leaves_the_old_data_in_place() {
    let mut h = Harness::new(&[]);
    let conn = handshake(&mut h);
    h.send_raw(conn, format!("+FULLRESYNC {} 0\r\n$5000\r\nREDIS0010", "b".repeat(40)).as_bytes());
    h.node.handle_input(h.now, Input::Closed { conn });
    h.drain();
    still_has_its_data(&mut h);
    let c = h.connect();
    let info = h.cmd(c, &["INFO", "replication"]);
    assert!(info.contains("master_link_status:down"), "{info}");
}

#[test]
fn a_bad_psync_reply_and_a_bad_preamble_end_the_link_with_a_reason() {
    let mut h = Harness::new(&[]);
    let conn = handshake(&mut h);
    h.send_raw(conn, b"+WHAT\r\n");
    assert!(logged(&h, "Unexpected reply to PSYNC from master: +WHAT"));
    assert_eq!(h.take_sent(conn), b"SYNC\r\n", "then it falls back to SYNC, as 7.0 does");
    h.send_raw(conn, b"garbage\r\n");
    assert!(logged(&h, "Bad protocol from MASTER, the first byte is not '$' (we received 'garbage')"));
    assert!(h.closed(conn));
    assert!(logged(&h, "Reconnecting to MASTER fake:7000 after failure"));
    still_has_its_data(&mut h);
}

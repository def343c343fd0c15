//! Replication between real processes: replscope-node and redis-server as master and
//! replica in every combination. The replica must end up with the master's dataset (same
//! DEBUG DIGEST) and keep following its writes.

use std::time::{Duration, Instant};

use replscope_tests::{Client, Kind, Reply, Server};

const MASTER_ARGS: &[&str] = &["--repl-diskless-sync-delay", "0"];

fn start_replica(kind: Kind, master: &Server) -> Server {
    let port = master.port.to_string();
    Server::start(kind, &["--replicaof", "127.0.0.1", &port])
}

/// ROLE of a replica: `*5 slave <host> <port> <state> <offset>`; the state.
fn link_state(c: &mut Client) -> String {
    match c.call(&["ROLE"]).ok().and_then(|r| Reply::parse(&r)) {
        Some(Reply::Array(Some(v))) if v.len() == 5 => v[3].bulk_text().unwrap_or_default(),
        other => format!("{other:?}"),
    }
}

fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<String>) {
    let deadline = Instant::now() + timeout;
    let mut last = String::new();
    while Instant::now() < deadline {
        match f() {
            None => return,
            Some(s) => last = s,
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} within {timeout:?}; last seen: {last}");
}

fn digest(c: &mut Client) -> Vec<u8> {
    c.call(&["DEBUG", "DIGEST"]).expect("DEBUG DIGEST")
}

fn replicate(master_kind: Kind, replica_kind: Kind) {
    replscope_tests::redis_server_path();
    let master = Server::start(master_kind, MASTER_ARGS);
    let mut m = master.connect();
    for cmd in [
        vec!["MSET", "a", "1", "b", "2"],
        vec!["RPUSH", "list", "x", "y", "z"],
        vec!["HSET", "hash", "f", "1", "g", "2"],
        vec!["SADD", "set", "m1", "m2", "3"],
        vec!["SET", "ttl", "v", "EX", "1000"],
        vec!["SELECT", "4"],
        vec!["SET", "in4", "v"],
        vec!["SELECT", "0"],
    ] {
        let r = m.call(&cmd).unwrap();
        assert!(!r.starts_with(b"-"), "{cmd:?}: {}", r.escape_ascii());
    }

    let replica = start_replica(replica_kind, &master);
    let mut r = replica.connect();
    wait_for(&format!("{} replica of {} did not reach 'connected'", replica_kind.name(), master_kind.name()), Duration::from_secs(15), || {
        let s = link_state(&mut r);
        (s != "connected").then_some(s)
    });
    let want = digest(&mut m);
    wait_for("the replica's dataset did not match the master's after the full sync", Duration::from_secs(5), || {
        let got = digest(&mut r);
        (got != want).then(|| format!("{} vs master {}", got.escape_ascii(), want.escape_ascii()))
    });

    // Writes after the sync flow through the replication stream.
    for cmd in [
        vec!["INCR", "a"],
        vec!["LPOP", "list"],
        vec!["HINCRBY", "hash", "f", "41"],
        vec!["SREM", "set", "m1"],
        vec!["DEL", "b"],
        vec!["SELECT", "4"],
        vec!["SET", "in4", "w"],
        vec!["SELECT", "0"],
        vec!["MULTI"],
        vec!["INCR", "counter"],
        vec!["INCRBYFLOAT", "float", "1.25"],
        vec!["EXEC"],
    ] {
        m.call(&cmd).unwrap();
    }
    let want = digest(&mut m);
    wait_for("the replica did not follow the master's writes", Duration::from_secs(5), || {
        let got = digest(&mut r);
        (got != want).then(|| format!("{} vs master {}", got.escape_ascii(), want.escape_ascii()))
    });
    assert_eq!(r.call(&["GET", "a"]).unwrap(), b"$1\r\n2\r\n");
    // A replica refuses writes from its clients.
    let denied = r.call(&["SET", "x", "1"]).unwrap();
    assert_eq!(denied, b"-READONLY You can't write against a read only replica.\r\n".to_vec(), "{}", denied.escape_ascii());
    let info = m.call(&["INFO", "replication"]).unwrap();
    let info = String::from_utf8_lossy(&info);
    assert!(info.contains("connected_slaves:1\r\n"), "{info}");
}

#[test]
fn node_replica_of_node_master() {
    replicate(Kind::Node, Kind::Node);
}

#[test]
fn node_replica_of_redis_master() {
    replicate(Kind::Redis, Kind::Node);
}

#[test]
fn redis_replica_of_node_master() {
    replicate(Kind::Node, Kind::Redis);
}

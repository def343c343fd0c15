//! maxmemory on redis-server 7.0 and on replscope-node side by side. Memory accounting differs
//! (jemalloc versus the engine's estimate), so limits are set relative to each server's own
//! `used_memory`, and what is compared is the behaviour: the -OOM text, which keys a policy
//! may evict, and that evictions reach the replica as DELs.

use std::time::{Duration, Instant};

use replscope_tests::{Client, Kind, Server};

fn call(c: &mut Client, args: &[&str]) -> String {
    String::from_utf8_lossy(&c.call(args).expect("reply")).into_owned()
}

fn info_field(c: &mut Client, field: &str) -> String {
    let info = call(c, &["INFO"]);
    info.split("\r\n").find_map(|l| l.strip_prefix(&format!("{field}:"))).unwrap_or("").to_string()
}

fn used_memory(c: &mut Client) -> u64 {
    info_field(c, "used_memory").parse().expect("used_memory")
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

/// What one kind of server does under maxmemory; compared between the two kinds.
#[derive(Debug, PartialEq, Eq)]
struct Behaviour {
    oom_reply: String,
    read_while_full: String,
    del_while_full: String,
    random_evicted_some: bool,
    replica_followed_evictions: bool,
    ttl_kept_persistent_keys: bool,
    ttl_evicted_volatile_keys: bool,
}

fn observe(kind: Kind) -> Behaviour {
    replscope_tests::redis_server_path();
    let master = Server::start(kind, &["--repl-diskless-sync-delay", "0"]);
    let mut m = master.connect();
    let value = "v".repeat(1000);
    for i in 0..200 {
        call(&mut m, &["SET", &format!("key:{i}"), &value]);
    }

    // noeviction: writes refused, reads and deletes still served.
    call(&mut m, &["CONFIG", "SET", "maxmemory", "1"]);
    let oom_reply = call(&mut m, &["SET", "more", "1"]);
    let read_while_full = call(&mut m, &["GET", "key:0"]).len().to_string();
    let del_while_full = call(&mut m, &["DEL", "key:0"]);
    call(&mut m, &["CONFIG", "SET", "maxmemory", "0"]);

    // allkeys-random with a replica attached: evictions are DELs in the stream.
    let port = master.port.to_string();
    let replica = Server::start(kind, &["--replicaof", "127.0.0.1", &port]);
    let mut r = replica.connect();
    wait_until("the replica to sync", || info_field(&mut r, "master_link_status") == "up");
    call(&mut m, &["CONFIG", "SET", "maxmemory-policy", "allkeys-random"]);
    let limit = used_memory(&mut m) - 60_000;
    call(&mut m, &["CONFIG", "SET", "maxmemory", &limit.to_string()]);
    call(&mut m, &["SET", "trigger", "1"]);
    let evicted: u64 = info_field(&mut m, "evicted_keys").parse().unwrap_or(0);
    let random_evicted_some = evicted > 0;
    let mut digests_equal = false;
    wait_until("the replica to apply the evictions", || {
        digests_equal = call(&mut m, &["DEBUG", "DIGEST"]) == call(&mut r, &["DEBUG", "DIGEST"]);
        digests_equal
    });
    drop(r);
    drop(replica);

    // volatile-ttl: only keys with a TTL may go, soonest expiry first.
    call(&mut m, &["CONFIG", "SET", "maxmemory", "0"]);
    call(&mut m, &["FLUSHALL"]);
    for i in 0..50 {
        call(&mut m, &["SET", &format!("keep:{i}"), &value]);
        call(&mut m, &["SET", &format!("ttl:{i}"), &value, "EX", &(1000 + i).to_string()]);
    }
    call(&mut m, &["CONFIG", "SET", "maxmemory-policy", "volatile-ttl"]);
    let limit = used_memory(&mut m) - 20_000;
    call(&mut m, &["CONFIG", "SET", "maxmemory", &limit.to_string()]);
    call(&mut m, &["SET", "trigger", "1"]);
    let keys = call(&mut m, &["KEYS", "keep:*"]);
    let ttl_kept_persistent_keys = keys.starts_with("*50\r\n");
    let left = call(&mut m, &["KEYS", "ttl:*"]);
    let ttl_evicted_volatile_keys = !left.starts_with("*50\r\n");
    call(&mut m, &["CONFIG", "SET", "maxmemory", "0"]);

    Behaviour {
        oom_reply,
        read_while_full,
        del_while_full,
        random_evicted_some,
        replica_followed_evictions: digests_equal,
        ttl_kept_persistent_keys,
        ttl_evicted_volatile_keys,
    }
}

#[test]
fn maxmemory_behaves_as_redis_server_does() {
    let redis = observe(Kind::Redis);
    let ours = observe(Kind::Node);
    eprintln!("redis-server: {redis:?}\nreplscope-node: {ours:?}");
    assert_eq!(redis.oom_reply, "-OOM command not allowed when used memory > 'maxmemory'.\r\n", "{redis:?}");
    assert!(redis.random_evicted_some && redis.replica_followed_evictions, "{redis:?}");
    assert_eq!(ours, redis);
}

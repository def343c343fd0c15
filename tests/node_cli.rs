//! The `replscope-node` process: command line, shutdown paths, signals, logging and many
//! clients at once.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use replscope_tests::{free_port, node_binary, Client, Kind, Reply, Server, TempDir};

fn run(args: &[&str]) -> std::process::Output {
    Command::new(node_binary()).args(args).output().expect("run replscope-node")
}

/// Starts the node with exactly `args` plus `--port`, in a fresh directory used as cwd.
fn start_with(args: &[&str]) -> Server {
    let port = free_port();
    let dir = TempDir::new("node-cli");
    let mut all: Vec<String> = vec!["--port".into(), port.to_string()];
    all.extend(args.iter().map(|s| s.to_string()));
    Server::spawn(Kind::Node, port, dir, &all)
}

fn bulk(r: &[u8]) -> String {
    Reply::parse(r).and_then(|r| r.bulk_text()).unwrap_or_else(|| panic!("not a bulk string: {}", r.escape_ascii()))
}

fn config_get(c: &mut Client, name: &str) -> String {
    let r = c.call(&["CONFIG", "GET", name]).unwrap();
    match Reply::parse(&r) {
        Some(Reply::Array(Some(v))) if v.len() == 2 => v[1].bulk_text().unwrap(),
        _ => panic!("CONFIG GET {name}: {}", r.escape_ascii()),
    }
}

#[test]
fn unknown_option_exits_non_zero_with_redis_style_message() {
    let out = run(&["--port", "7001", "--no-such-option", "1"]);
    assert!(!out.status.success(), "exit status {:?}", out.status);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***"), "stderr: {err}");
    assert!(err.contains(">>> 'no-such-option \"1\"'"), "stderr: {err}");
    assert!(err.contains("Bad directive or wrong number of arguments"), "stderr: {err}");
}

#[test]
fn invalid_values_exit_non_zero() {
    let out = run(&["--port", "notaport"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("argument couldn't be parsed into an integer"), "stderr: {err}");
    let out = run(&["--dir", "/no/such/replscope/dir"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("No such file or directory"));
    let out = run(&["--loglevel", "chatty"]);
    assert!(!out.status.success());
    let out = run(&["redis.conf"]);
    assert!(!out.status.success());
}

#[test]
fn version_flags() {
    for flag in ["--version", "-v"] {
        let out = run(&[flag]);
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.starts_with("replscope-node v=") && text.contains("redis_version=7.0.15"), "{text}");
    }
}

#[test]
fn port_in_use_fails_like_redis() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port().to_string();
    let out = run(&["--port", &port]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Could not create server TCP listening socket 127.0.0.1:"), "{text}");
    assert!(text.contains("Address already in use"), "{text}");
}

#[test]
fn shutdown_nosave_stops_with_exit_0() {
    let mut node = start_with(&["--save", ""]);
    let mut c = node.connect();
    assert_eq!(c.call(&["SET", "k", "v"]).unwrap(), b"+OK\r\n");
    c.send(b"*2\r\n$8\r\nSHUTDOWN\r\n$6\r\nNOSAVE\r\n");
    let (bytes, closed) = c.read_until_close(Duration::from_secs(5));
    assert!(closed && bytes.is_empty(), "SHUTDOWN answers nothing and closes: {:?} closed={closed}", bytes.escape_ascii());
    let status = node.wait_exit(Duration::from_secs(5)).expect("process still running after SHUTDOWN NOSAVE");
    assert!(status.success(), "{status}");
    assert!(node.log_text().contains("Redis is now ready to exit, bye bye..."), "{}", node.log_text());
    assert!(!node.dir().join("dump.rdb").exists());
    assert!(TcpStream::connect(("127.0.0.1", node.port)).is_err(), "still listening");
}

#[test]
fn sigterm_and_sigint_stop_cleanly() {
    for (sig, name) in [(libc::SIGTERM, "SIGTERM"), (libc::SIGINT, "SIGINT")] {
        let mut node = start_with(&["--save", ""]);
        let mut c = node.connect();
        assert_eq!(c.call(&["PING"]).unwrap(), b"+PONG\r\n");
        node.signal(sig);
        let status = node.wait_exit(Duration::from_secs(5)).unwrap_or_else(|| panic!("still running after {name}"));
        assert_eq!(status.code(), Some(0), "{name}: {status}");
        let log = node.log_text();
        assert!(log.contains("signal-handler (") && log.contains(&format!("Received {name} scheduling shutdown...")), "{log}");
        assert!(log.contains("User requested shutdown...") && log.contains("bye bye"), "{log}");
        let (_, closed) = c.read_until_close(Duration::from_secs(2));
        assert!(closed, "client connection not closed after {name}");
    }
}

#[test]
fn shutdown_save_writes_an_rdb_that_redis_server_loads() {
    let mut node = start_with(&["--save", "", "--dbfilename", "snap.rdb", "--enable-debug-command", "yes"]);
    let mut c = node.connect();
    for cmd in [
        vec!["SET", "s", "v"],
        vec!["RPUSH", "l", "a", "b", "c"],
        vec!["HSET", "h", "f", "1", "g", "2"],
        vec!["SADD", "set", "x", "y", "1"],
        vec!["SET", "ttl", "v", "EX", "1000"],
        vec!["SELECT", "3"],
        vec!["SET", "in3", "v"],
    ] {
        let r = c.call(&cmd).unwrap();
        assert!(!r.starts_with(b"-"), "{cmd:?}: {}", r.escape_ascii());
    }
    let digest = c.call(&["DEBUG", "DIGEST"]).unwrap();
    c.send(b"SHUTDOWN SAVE\r\n");
    let (_, closed) = c.read_until_close(Duration::from_secs(5));
    assert!(closed);
    let status = node.wait_exit(Duration::from_secs(5)).expect("still running after SHUTDOWN SAVE");
    assert!(status.success(), "{status}\n{}", node.log_text());
    let rdb = node.dir().join("snap.rdb");
    assert!(rdb.is_file(), "no snap.rdb written; log:\n{}", node.log_text());
    assert!(node.log_text().contains("DB saved on disk"));

    // The same file through a real redis-server: same dataset digest.
    let port = free_port();
    let dir = TempDir::new("rdb-load");
    std::fs::copy(&rdb, dir.path().join("snap.rdb")).unwrap();
    let args: Vec<String> = Server::base_args(port, dir.path()).into_iter().chain(["--dbfilename".to_string(), "snap.rdb".to_string()]).collect();
    let redis = Server::spawn(Kind::Redis, port, dir, &args);
    let mut rc = redis.connect();
    let loaded = rc.call(&["DEBUG", "DIGEST"]).unwrap();
    assert_eq!(loaded.escape_ascii().to_string(), digest.escape_ascii().to_string(), "redis-server log:\n{}", redis.log_text());
}

#[test]
fn save_and_restart_from_the_rdb_file() {
    let node = start_with(&["--save", "", "--enable-debug-command", "yes"]);
    let port = node.port;
    let mut c = node.connect();
    for cmd in [vec!["RPUSH", "l", "a", "b"], vec!["HSET", "h", "f", "v"], vec!["SET", "s", "v"], vec!["SELECT", "2"], vec!["SET", "in2", "v"]] {
        assert!(!c.call(&cmd).unwrap().starts_with(b"-"));
    }
    assert_eq!(c.call(&["SAVE"]).unwrap(), b"+OK\r\n");
    let dump = node.dir().join("dump.rdb");
    assert!(dump.is_file(), "SAVE wrote no dump.rdb");
    let digest = c.call(&["DEBUG", "DIGEST"]).unwrap();
    assert_eq!(c.call(&["SET", "after-save", "x"]).unwrap(), b"+OK\r\n");
    assert_eq!(c.call(&["BGSAVE"]).unwrap(), b"+Background saving started\r\n");
    let bg_digest = c.call(&["DEBUG", "DIGEST"]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while replscope_tests::rdb_digest(&std::fs::read(&dump).unwrap()).unwrap() != bg_digest {
        assert!(Instant::now() < deadline, "BGSAVE did not replace dump.rdb");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_ne!(digest, bg_digest);

    // Killed without saving: the restart loads the last BGSAVE.
    let dir = node.into_dir();
    let args: Vec<String> = ["--port", &port.to_string(), "--save", "", "--enable-debug-command", "yes", "--dir", &dir.path().to_string_lossy()]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let again = Server::spawn(Kind::Node, port, dir, &args);
    let mut c = again.connect();
    assert_eq!(c.call(&["DEBUG", "DIGEST"]).unwrap(), bg_digest, "{}", again.log_text());
    assert_eq!(c.call(&["SELECT", "2"]).unwrap(), b"+OK\r\n");
    assert_eq!(c.call(&["GET", "after-save"]).unwrap(), b"$1\r\nx\r\n");

    // A damaged file stops the start-up like redis-server.
    let dir = again.into_dir();
    std::fs::write(dir.path().join("dump.rdb"), b"REDIS0010garbage").unwrap();
    let out = Command::new(node_binary()).args(["--port", &free_port().to_string(), "--dir", &dir.path().to_string_lossy()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Fatal error loading the DB"), "{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn defaults_bind_loopback_and_absolute_dir() {
    let node = start_with(&["--dir", "."]);
    let mut c = node.connect();
    assert_eq!(config_get(&mut c, "bind"), "127.0.0.1");
    assert_eq!(config_get(&mut c, "dir"), node.dir().to_string_lossy());
    // Addresses are ip:port on both ends.
    let list = bulk(&c.call(&["CLIENT", "INFO"]).unwrap());
    assert!(list.contains(&format!("addr={} ", c.local_addr())), "{list}");
    assert!(list.contains(&format!("laddr=127.0.0.1:{} ", node.port)), "{list}");
}

#[test]
fn logfile_and_loglevel() {
    let node = start_with(&["--logfile", "node.log", "--loglevel", "verbose"]);
    let mut c = node.connect();
    c.call(&["PING"]).unwrap();
    let log_path = node.dir().join("node.log");
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut text = String::new();
    while Instant::now() < deadline {
        text = std::fs::read_to_string(&log_path).unwrap_or_default();
        if text.contains("Accepted 127.0.0.1:") {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let ready = text.lines().find(|l| l.ends_with(" * Ready to accept connections")).unwrap_or_else(|| panic!("{text}"));
    // "pid:M 24 Nov 2026 19:57:00.123 * Ready to accept connections"
    let (pid, rest) = ready.split_once(':').unwrap();
    assert_eq!(pid, node.pid().to_string());
    let parts: Vec<&str> = rest.split(' ').collect();
    assert_eq!(parts[0], "M", "{ready}");
    assert_eq!(parts[1].len(), 2, "{ready}");
    assert_eq!(parts[2].len(), 3, "{ready}");
    assert_eq!(parts[3].len(), 4, "{ready}");
    assert_eq!(parts[4].len(), "19:57:00.123".len(), "{ready}");
    assert!(text.contains(&format!(" - Accepted {}", c.local_addr())), "{text}");
    // Nothing went to stdout.
    assert!(!node.log_text().contains("Ready to accept"), "{}", node.log_text());

    let quiet = start_with(&["--loglevel", "warning"]);
    quiet.connect().call(&["PING"]).unwrap();
    let out = quiet.log_text();
    assert!(!out.contains("Ready to accept connections") && !out.contains("Accepted"), "{out}");
    assert!(out.contains("Configuration loaded"), "{out}");
}

#[test]
fn many_concurrent_clients() {
    let node = start_with(&[]);
    const CLIENTS: usize = 24;
    const ROUNDS: usize = 100;
    let barrier = Arc::new(Barrier::new(CLIENTS + 1));
    let port = node.port;
    let threads: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let mut c = Client::connect(port);
                barrier.wait();
                for r in 0..ROUNDS {
                    assert!(c.call(&["INCR", "shared"]).unwrap().starts_with(b":"));
                    let v = format!("{i}-{r}");
                    assert_eq!(c.call(&["SET", &format!("own{i}"), &v]).unwrap(), b"+OK\r\n");
                    let got = c.call(&["GET", &format!("own{i}")]).unwrap();
                    assert_eq!(got, format!("${}\r\n{v}\r\n", v.len()).into_bytes());
                }
                // Everybody still connected: the list shows all of us.
                barrier.wait();
                barrier.wait();
            })
        })
        .collect();
    barrier.wait();
    barrier.wait();
    let mut c = node.connect();
    let list = bulk(&c.call(&["CLIENT", "LIST"]).unwrap());
    assert_eq!(list.lines().count(), CLIENTS + 1, "{list}");
    barrier.wait();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(c.call(&["GET", "shared"]).unwrap(), format!("${}\r\n{}\r\n", (CLIENTS * ROUNDS).to_string().len(), CLIENTS * ROUNDS).into_bytes());
}

#[test]
fn a_client_that_does_not_read_does_not_block_others() {
    let node = start_with(&[]);
    let mut c = node.connect();
    let big = "x".repeat(1 << 20);
    assert_eq!(c.call(&["SET", "big", &big]).unwrap(), b"+OK\r\n");
    // 64 MB of replies queued for a client that never reads.
    let mut slow = TcpStream::connect(("127.0.0.1", node.port)).unwrap();
    let mut req = Vec::new();
    for _ in 0..64 {
        req.extend_from_slice(b"GET big\r\n");
    }
    slow.write_all(&req).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let start = Instant::now();
    let mut other = node.connect();
    assert_eq!(other.call(&["PING"]).unwrap(), b"+PONG\r\n");
    assert!(start.elapsed() < Duration::from_secs(2), "PING took {:?}", start.elapsed());
    // The slow client still gets everything once it reads.
    slow.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut total = 0usize;
    let mut buf = vec![0u8; 1 << 16];
    let want = 64 * (big.len() + "$1048576\r\n\r\n".len());
    while total < want {
        let n = slow.read(&mut buf).unwrap();
        assert!(n > 0);
        total += n;
    }
    assert_eq!(total, want);
}

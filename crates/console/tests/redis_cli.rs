//! Differential test: the console's output for a script of commands, against the output of
//! the real `redis-cli --no-raw` (TTY formatting) talking to a real `redis-server` 7.0.
//!
//! Needs `redis-server` and `redis-cli` on PATH (scripts/setup.sh installs them). Without
//! them the test says so on stderr and passes; set REPLSCOPE_REQUIRE_REDIS=1 to make their
//! absence a failure.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use replscope_console::{Console, Submitted};
use replscope_engine::{Config, Millis, Node};

/// Lines typed into both. Only commands whose replies do not depend on time, randomness or
/// process details, so the two servers must agree byte for byte.
const SCRIPT: &[&str] = &[
    "SET greeting hello",
    "GET greeting",
    "GET missing",
    r#"SET esc "a\nb\tc\r\x01\x7f\xff\"q\\ \a\b""#,
    "GET esc",
    r#"SET utf8 "h\xc3\xa9llo""#,
    "GET utf8",
    "RPUSH list 1 2 3 4 5 6 7 8 9 10 11 12",
    "LRANGE list 0 -1",
    "LRANGE nolist 0 -1",
    "INCR counter",
    "INCRBY counter -5",
    "INCR greeting",
    "NOSUCH a b",
    "GET",
    "MULTI",
    "RPUSH q a b",
    "LRANGE q 0 -1",
    "INCR counter",
    "GET missing",
    "LRANGE list 0 10",
    "EXEC",
    "HSET h field value",
    "HGETALL h",
    "HGET h nothing",
    "ECHO \"\"",
    "DEL greeting esc",
    "EXISTS greeting esc utf8",
    "DBSIZE",
    "INFO keyspace",
    "DEBUG DIGEST",
    "SELECT 3",
    "DBSIZE",
];

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn have(tool: &str) -> bool {
    Command::new(tool).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

fn start_redis(port: u16) -> Server {
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .args(["--enable-debug-command", "yes", "--daemonize", "no", "--logfile", ""])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server starts");
    let server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "redis-server did not listen on {port}");
        sleep(Duration::from_millis(50));
    }
    server
}

fn real_redis_cli(port: u16, script: &[&str]) -> String {
    let mut child = Command::new("redis-cli")
        .args(["-p", &port.to_string(), "--no-raw"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("redis-cli starts");
    {
        let mut stdin = child.stdin.take().expect("stdin");
        for line in script {
            writeln!(stdin, "{line}").expect("write to redis-cli");
        }
    }
    let out = child.wait_with_output().expect("redis-cli output");
    String::from_utf8(out.stdout).expect("redis-cli prints text")
}

fn our_console(script: &[&str]) -> String {
    let now = Millis(1_700_000_000_000);
    let config = Config::from_args(&["--enable-debug-command", "yes"]).expect("config");
    let mut node = Node::new(config, 1, now);
    let mut console = Console::new();
    console.connect(&mut node, now).expect("connect");
    let mut out = String::new();
    for line in script {
        match console.submit(&mut node, now, line) {
            Submitted::Done(text) => out.push_str(&text),
            other => panic!("{line}: {other:?}"),
        }
    }
    out
}

#[test]
fn output_matches_redis_cli_7() {
    if !(have("redis-server") && have("redis-cli")) {
        if std::env::var_os("REPLSCOPE_REQUIRE_REDIS").is_some() {
            panic!("redis-server and redis-cli are required (REPLSCOPE_REQUIRE_REDIS is set)");
        }
        eprintln!("SKIPPED output_matches_redis_cli_7: redis-server/redis-cli not installed");
        return;
    }
    let version = Command::new("redis-cli").arg("--version").output().expect("redis-cli --version");
    let version = String::from_utf8_lossy(&version.stdout);
    assert!(version.contains(" 7.0."), "the reference must be redis-cli 7.0, found {version}");

    let port = free_port();
    let _server = start_redis(port);
    let expected = real_redis_cli(port, SCRIPT);
    let actual = our_console(SCRIPT);
    // Guard against comparing two empty outputs.
    for sample in [" 1) \"1\"\n", "12) \"12\"\n", "2) 1) \"a\"\n   2) \"b\"\n", "(error) ERR unknown command 'NOSUCH'"] {
        assert!(expected.contains(sample), "redis-cli output lacks {sample:?}:\n{expected}");
    }
    // Compare line by line first for a readable failure.
    for (i, (e, a)) in expected.lines().zip(actual.lines()).enumerate() {
        assert_eq!(a, e, "line {} differs", i + 1);
    }
    assert_eq!(actual, expected);
}

//! RDB files written by a real redis-server 7.0.15, read with `rdb_load`.
//!
//! * `rdb_fixture_*` loads a committed dump (`fixtures/redis-7.0.15-mixed.rdb`) and checks its
//!   DEBUG DIGEST, so plain `cargo test` always exercises the encodings 7.0 really writes.
//! * `rdb_live_*` starts `redis-server` (it must be installed: the test fails, never skips,
//!   without it), fills it with data that triggers every encoding 7.0 writes, runs SAVE and
//!   compares our load of `dump.rdb` with the server's DEBUG DIGEST, key counts and expire times.
//!
//! The fixture is made by the same code: `cargo test -p replscope-engine --test rdb_real --
//! --ignored regenerate_fixture --nocapture` rewrites it and prints the digest to paste below.

#![cfg(not(target_arch = "wasm32"))]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use replscope_engine::rdb_load::{digest_of, load, Loaded};

const FIXTURE: &[u8] = include_bytes!("fixtures/redis-7.0.15-mixed.rdb");
/// `DEBUG DIGEST` of the server that wrote the fixture, right after its SAVE.
const FIXTURE_DIGEST: &str = "660bc2c37f593f83c58ed7494b6cd5cba71e58ce";
/// A fixed absolute expire (2100-01-01) so the fixture's dataset is reproducible.
const FAR_FUTURE_MS: &str = "4102444800000";

// ---- a redis-server child process -------------------------------------------------------

fn redis_server_path() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .and_then(|p| std::env::split_paths(&p).map(|d| d.join("redis-server")).find(|p| p.is_file()));
    on_path.or_else(|| Some(PathBuf::from("/usr/bin/redis-server")).filter(|p| p.is_file())).unwrap_or_else(|| {
        panic!(
            "redis-server is not installed (not on PATH, not /usr/bin/redis-server). This test loads \
             snapshots written by a real redis-server 7.0.15 and cannot run without it: run \
             `bash scripts/setup.sh` (or `apt-get install redis-server`)."
        )
    })
}

/// The server process and its directory; dropping it kills the process (by its PID, it is
/// our child) and removes the directory, also when a test panics.
struct Redis {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Redis {
    fn start(tag: &str, extra: &[&str]) -> Redis {
        let program = redis_server_path();
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let dir = std::env::temp_dir().join(format!("replscope-rdb-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        let mut last_log = String::new();
        for _attempt in 0..3 {
            let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let log = std::fs::File::create(dir.join("server.log")).expect("create log");
            let mut child = Command::new(&program)
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
                .args(["--enable-debug-command", "yes", "--daemonize", "no"])
                .args(extra)
                .arg("--dir")
                .arg(&dir)
                .current_dir(&dir)
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
            let deadline = Instant::now() + Duration::from_secs(15);
            loop {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Redis { child, port, dir };
                }
                if child.try_wait().ok().flatten().is_some() || Instant::now() > deadline {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            // Most likely the port was taken meanwhile: try another one.
            let _ = child.kill();
            let _ = child.wait();
            last_log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
        }
        let _ = std::fs::remove_dir_all(&dir);
        panic!("redis-server did not start; its output:\n{last_log}");
    }

    fn client(&self) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to redis-server");
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        Client { out: stream.try_clone().unwrap(), inp: BufReader::new(stream) }
    }

    fn dump_path(&self) -> PathBuf {
        self.dir.join("dump.rdb")
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
            eprintln!("--- redis-server output ---\n{log}");
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

// ---- a raw RESP client --------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Reply {
    Status(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

impl Reply {
    fn text(&self) -> String {
        match self {
            Reply::Status(s) => s.clone(),
            Reply::Bulk(Some(b)) => String::from_utf8_lossy(b).into_owned(),
            other => panic!("not a text reply: {other:?}"),
        }
    }

    fn int(&self) -> i64 {
        match self {
            Reply::Int(n) => *n,
            other => panic!("not an integer reply: {other:?}"),
        }
    }
}

struct Client {
    out: TcpStream,
    inp: BufReader<TcpStream>,
}

impl Client {
    fn call<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Reply {
        let mut cmd = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            let a = a.as_ref();
            cmd.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            cmd.extend_from_slice(a);
            cmd.extend_from_slice(b"\r\n");
        }
        self.out.write_all(&cmd).expect("send to redis-server");
        self.read()
    }

    /// A command that must not fail.
    fn ok<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Reply {
        let r = self.call(args);
        if let Reply::Error(e) = &r {
            let shown: Vec<String> = args.iter().take(4).map(|a| String::from_utf8_lossy(a.as_ref()).into_owned()).collect();
            panic!("redis-server refused {shown:?}...: {e}");
        }
        r
    }

    fn line(&mut self) -> String {
        let mut l = String::new();
        self.inp.read_line(&mut l).expect("read from redis-server");
        assert!(l.ends_with("\r\n"), "connection closed or bad line {l:?}");
        l.truncate(l.len() - 2);
        l
    }

    fn read(&mut self) -> Reply {
        let l = self.line();
        let (kind, rest) = l.split_at(1);
        match kind {
            "+" => Reply::Status(rest.to_string()),
            "-" => Reply::Error(rest.to_string()),
            ":" => Reply::Int(rest.parse().unwrap()),
            "$" => {
                let n: i64 = rest.parse().unwrap();
                if n < 0 {
                    return Reply::Bulk(None);
                }
                let mut b = vec![0u8; n as usize + 2];
                self.inp.read_exact(&mut b).expect("read bulk");
                b.truncate(n as usize);
                Reply::Bulk(Some(b))
            }
            "*" => {
                let n: i64 = rest.parse().unwrap();
                if n < 0 {
                    return Reply::Array(None);
                }
                Reply::Array(Some((0..n).map(|_| self.read()).collect()))
            }
            _ => panic!("unexpected reply line {l:?}"),
        }
    }

    fn object_encoding(&mut self, key: &str) -> String {
        self.ok(&["OBJECT", "ENCODING", key]).text()
    }
}

// ---- the datasets ---------------------------------------------------------------------------

/// Deterministic pseudo-random bytes (not compressible).
fn noise(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Integers hitting every listpack integer width (7, 13, 16, 24, 32 and 64 bits).
const EVERY_INT_WIDTH: [&str; 12] = [
    "0",
    "127",
    "-1",
    "4095",
    "-4096",
    "32767",
    "-32768",
    "8388607",
    "-8388608",
    "2147483647",
    "-2147483648",
    "-9223372036854775808",
];

/// The fixture's dataset: every encoding 7.0 writes, kept small. Returns (key, db, expected
/// OBJECT ENCODING) for the keys whose encoding matters.
fn fill_mixed(c: &mut Client) -> Vec<(&'static str, u32, &'static str)> {
    c.ok(&["SELECT", "0"]);
    c.ok(&["SET", "str:small", "hello"]);
    c.ok(&["SET", "str:int", "12345"]);
    c.ok(&["SET", "str:neg", "-9876543210"]);
    c.ok(&["SET", "str:zero-padded", "007"]);
    c.ok(&["SET", "str:empty", ""]);
    c.ok(&["SET", "", "empty key name"]);
    c.ok(&["SET", "12", "an integer key name"]);
    let lzf = "compress me please, ".repeat(10);
    c.ok(&["SET", "str:lzf", lzf.as_str()]);
    c.ok(&[&b"SET"[..], b"str:binary", &noise(1, 40)]);
    // A small list: one listpack node with every integer width and strings > 63 bytes.
    let mut args: Vec<Vec<u8>> = vec![b"RPUSH".to_vec(), b"list:small".to_vec()];
    args.extend(EVERY_INT_WIDTH.iter().map(|s| s.as_bytes().to_vec()));
    args.extend([b"a".to_vec(), Vec::new(), vec![b'x'; 100], noise(2, 70)]);
    c.ok(&args);
    // More than 8 KB: several listpack nodes (LZF-compressed in the file).
    let mut args: Vec<Vec<u8>> = vec![b"RPUSH".to_vec(), b"list:nodes".to_vec()];
    args.extend((0..1500).map(|i| format!("item-{i:05}").into_bytes()));
    c.ok(&args);
    let mut args = vec!["SADD".to_string(), "set:intset".to_string()];
    args.extend(["5", "-3", "100000", "2", "-70000"].iter().map(|s| s.to_string()));
    c.ok(&args);
    c.ok(&["SADD", "set:strings", "apple", "banana", "7", "cherry"]);
    let mut args = vec!["HSET".to_string(), "hash:small".to_string()];
    for (i, v) in EVERY_INT_WIDTH.iter().enumerate() {
        args.push(format!("f{i}"));
        args.push(v.to_string());
    }
    args.extend(["name", "value", "123", "int field"].iter().map(|s| s.to_string()));
    c.ok(&args);
    // More than hash-max-listpack-entries (512 in 7.0): a hashtable, written field by field.
    let mut args = vec!["HSET".to_string(), "hash:big".to_string()];
    for i in 0..520 {
        args.push(format!("f{i}"));
        args.push(format!("{}", i * 7));
    }
    c.ok(&args);
    c.ok(&["SET", "ttl:str", "expiring"]);
    c.ok(&["PEXPIREAT", "ttl:str", FAR_FUTURE_MS]);
    c.ok(&["RPUSH", "ttl:list", "a", "b"]);
    c.ok(&["PEXPIREAT", "ttl:list", FAR_FUTURE_MS]);
    c.ok(&["SELECT", "2"]);
    c.ok(&["SET", "str:small", "in db 2"]);
    c.ok(&["SADD", "set:intset", "1", "2", "3"]);
    c.ok(&["HSET", "ttl:hash", "a", "1"]);
    c.ok(&["PEXPIREAT", "ttl:hash", FAR_FUTURE_MS]);
    c.ok(&["SELECT", "9"]);
    c.ok(&["RPUSH", "list:other-db", "x", "1", "y"]);
    c.ok(&["SELECT", "0"]);
    // A function library: written as a FUNCTION2 record, which the loader skips.
    c.ok(&["FUNCTION", "LOAD", "#!lua name=rdbtest\nredis.register_function('answer', function() return 42 end)"]);
    vec![
        ("str:small", 0, "embstr"),
        ("str:int", 0, "int"),
        ("str:lzf", 0, "raw"),
        ("list:small", 0, "quicklist"),
        ("list:nodes", 0, "quicklist"),
        ("set:intset", 0, "intset"),
        ("set:strings", 0, "hashtable"),
        ("hash:small", 0, "listpack"),
        ("hash:big", 0, "hashtable"),
    ]
}

/// The live test's extra data: big values, many nodes, plain nodes, more databases.
fn fill_large(c: &mut Client) -> Vec<(&'static str, u32, &'static str)> {
    c.ok(&["SELECT", "0"]);
    c.ok(&[&b"SET"[..], b"big:noise", &noise(3, 100_000)]);
    c.ok(&["SET", "big:text", &"The quick brown fox jumps over the lazy dog. ".repeat(2000)]);
    // 10k elements over many nodes, with long strings (12- and 32-bit listpack lengths) and ints.
    let mut args: Vec<Vec<u8>> = vec![b"RPUSH".to_vec(), b"big:list".to_vec()];
    for i in 0..10_000u64 {
        args.push(match i % 100 {
            0 => noise(i, 200),
            50 => vec![b'L'; 5000],
            n if n % 3 == 0 => (i as i64 * -7919).to_string().into_bytes(),
            _ => format!("element-{i}").into_bytes(),
        });
    }
    args.extend(EVERY_INT_WIDTH.iter().map(|s| s.as_bytes().to_vec()));
    c.ok(&args);
    // Elements above the packed threshold are stored as PLAIN quicklist nodes.
    c.ok(&["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "1000"]);
    c.ok(&[&b"RPUSH"[..], b"big:plain", b"small", &noise(4, 3000), b"tail", &vec![b'P'; 2000]]);
    c.ok(&["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "1073741824"]);
    // Intsets of 32- and 64-bit members, and a set of integers too big for an intset.
    c.ok(&["SADD", "set:int32", "1", "-2", "3000000000", "-3000000"]);
    c.ok(&["SADD", "set:int64", "1", "9223372036854775807", "-9223372036854775808"]);
    let mut args = vec!["SADD".to_string(), "set:many-ints".to_string()];
    args.extend((0..600).map(|i| (i * 3 - 900).to_string()));
    c.ok(&args);
    let mut args = vec!["SADD".to_string(), "set:many-strings".to_string()];
    args.extend((0..1000).map(|i| format!("member:{i}")));
    c.ok(&args);
    // Hashes: a long value forces a hashtable; a big one with long compressible values.
    c.ok(&["HSET", "hash:long-value", "f", &"v".repeat(100), "g", "1"]);
    let mut args = vec!["HSET".to_string(), "hash:huge".to_string()];
    for i in 0..5000 {
        args.push(format!("field:{i}"));
        args.push(if i % 10 == 0 { format!("{}", i - 2500) } else { format!("value {i} ").repeat(5) });
    }
    c.ok(&args);
    // Expires: absolute and relative, across databases.
    for db in ["1", "5", "15"] {
        c.ok(&["SELECT", db]);
        for i in 0..50 {
            let key = format!("db{db}:key{i}");
            c.ok(&["SET", &key, &format!("value {i}")]);
            if i % 3 == 0 {
                c.ok(&["EXPIRE", &key, &(100_000 + i).to_string()]);
            }
        }
        c.ok(&["HSET", &format!("db{db}:hash"), "a", "1", "b", "2"]);
        c.ok(&["PEXPIREAT", &format!("db{db}:hash"), FAR_FUTURE_MS]);
    }
    c.ok(&["SELECT", "0"]);
    vec![
        ("big:noise", 0, "raw"),
        ("big:list", 0, "quicklist"),
        ("big:plain", 0, "quicklist"),
        ("set:int32", 0, "intset"),
        ("set:int64", 0, "intset"),
        ("set:many-ints", 0, "hashtable"),
        ("hash:long-value", 0, "hashtable"),
        ("hash:huge", 0, "hashtable"),
    ]
}

fn check_encodings(c: &mut Client, expected: &[(&str, u32, &str)]) {
    for (key, db, enc) in expected {
        c.ok(&["SELECT", &db.to_string()]);
        assert_eq!(c.object_encoding(key), *enc, "OBJECT ENCODING {key} (the test data no longer covers it)");
    }
    c.ok(&["SELECT", "0"]);
}

fn save(c: &mut Client, server: &Redis) -> Vec<u8> {
    assert_eq!(c.ok(&["SAVE"]), Reply::Status("OK".into()));
    std::fs::read(server.dump_path()).expect("read dump.rdb")
}

fn load_ok(bytes: &[u8], what: &str) -> Loaded {
    load(bytes, 16).unwrap_or_else(|e| panic!("{what}: the loader refused a redis-server 7.0.15 snapshot: {e}"))
}

/// Everything the server can tell us about the dataset, compared with the loaded one.
fn compare_with_server(c: &mut Client, loaded: &Loaded, what: &str) {
    let server_digest = c.ok(&["DEBUG", "DIGEST"]).text();
    let ours = digest_of(loaded);
    if ours != server_digest {
        // Point at the culprits: keys missing or of another type.
        let mut diffs = Vec::new();
        for (id, db) in loaded.dbs.iter().enumerate() {
            c.ok(&["SELECT", &id.to_string()]);
            for (key, e) in db.iter() {
                let t = c.ok(&[&b"TYPE"[..], key]).text();
                if t != e.value.type_name() {
                    diffs.push(format!("db {id} {:?}: server {t}, loaded {}", String::from_utf8_lossy(key), e.value.type_name()));
                }
            }
        }
        c.ok(&["SELECT", "0"]);
        panic!("{what}: digest of the loaded data {ours} != DEBUG DIGEST {server_digest}; type differences: {diffs:?}");
    }
    assert_eq!(loaded.dbs.len(), 16);
    for (id, db) in loaded.dbs.iter().enumerate() {
        c.ok(&["SELECT", &id.to_string()]);
        assert_eq!(c.ok(&["DBSIZE"]).int() as usize, db.len(), "{what}: DBSIZE of db {id}");
        let mut volatile = 0;
        for (key, e) in db.iter() {
            let at = c.ok(&[&b"PEXPIRETIME"[..], key]).int();
            match e.expire_at {
                Some(ms) => {
                    volatile += 1;
                    assert_eq!(at, ms as i64, "{what}: expire of {:?} in db {id}", String::from_utf8_lossy(key));
                }
                None => assert_eq!(at, -1, "{what}: {:?} in db {id} should have no expire", String::from_utf8_lossy(key)),
            }
        }
        assert_eq!(volatile, db.expires_len());
    }
    c.ok(&["SELECT", "0"]);
    assert_eq!(loaded.aux.get("redis-ver").map(|v| v.as_slice()), Some(&b"7.0.15"[..]), "{what}: aux redis-ver");
}

fn ql_nodes(c: &mut Client, key: &str) -> u64 {
    let info = c.ok(&["DEBUG", "OBJECT", key]).text();
    info.split_whitespace()
        .find_map(|w| w.strip_prefix("ql_nodes:"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no ql_nodes in {info}"))
}

// ---- tests ----------------------------------------------------------------------------------

#[test]
fn rdb_fixture_from_redis_7_0_15_loads_with_its_digest() {
    assert!(FIXTURE.starts_with(b"REDIS0010"), "the fixture is a version 10 RDB file");
    let loaded = load_ok(FIXTURE, "fixture");
    assert_eq!(digest_of(&loaded), FIXTURE_DIGEST, "DEBUG DIGEST of the server that wrote the fixture");
    let sizes: Vec<usize> = loaded.dbs.iter().map(|d| d.len()).collect();
    assert_eq!(sizes, [17, 0, 3, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    assert_eq!(loaded.dbs[0].expires_len(), 2);
    assert_eq!(loaded.dbs[0].get(b"ttl:str").and_then(|e| e.expire_at), Some(4_102_444_800_000));
    assert_eq!(loaded.aux.get("redis-ver").map(|v| v.as_slice()), Some(&b"7.0.15"[..]));
    // The file really holds what the test is about.
    assert!(FIXTURE.windows(1).any(|w| w[0] == 0xF5), "a FUNCTION2 record");
    // Damaged copies are refused.
    let mut bad = FIXTURE.to_vec();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x01;
    assert!(load(&bad, 16).is_err());
    assert!(load(&FIXTURE[..FIXTURE.len() - 1], 16).is_err());
    assert!(load(FIXTURE, 9).is_err(), "db 9 is used: 9 databases are too few");
}

#[test]
fn rdb_live_redis_snapshots_load_with_the_same_digest() {
    let server = Redis::start("live", &[]);
    let mut c = server.client();
    let mut expected = fill_mixed(&mut c);
    expected.extend(fill_large(&mut c));
    check_encodings(&mut c, &expected);
    assert!(ql_nodes(&mut c, "list:nodes") > 1, "list:nodes spans several quicklist nodes");
    assert!(ql_nodes(&mut c, "big:list") > 10, "big:list spans many quicklist nodes");
    assert!(ql_nodes(&mut c, "big:plain") >= 3, "big:plain has plain nodes");

    // Default settings: LZF compression and a checksum.
    let compressed = save(&mut c, &server);
    let loaded = load_ok(&compressed, "rdbcompression yes");
    compare_with_server(&mut c, &loaded, "rdbcompression yes");
    assert!(compressed.windows(1).any(|w| w[0] == 0xC3), "the file has LZF strings");

    // Without compression: the same data, a bigger file.
    c.ok(&["CONFIG", "SET", "rdbcompression", "no"]);
    let plain = save(&mut c, &server);
    assert!(plain.len() > compressed.len() + 50_000, "compression had made the file smaller");
    let loaded = load_ok(&plain, "rdbcompression no");
    compare_with_server(&mut c, &loaded, "rdbcompression no");

    // A real file with one flipped byte, or cut short, is refused.
    let mut bad = compressed.clone();
    let at = bad.len() / 3;
    bad[at] ^= 0x40;
    assert!(load(&bad, 16).is_err(), "a flipped byte went unnoticed");
    for cut in [9, 100, compressed.len() / 2, compressed.len() - 9, compressed.len() - 1] {
        assert!(load(&compressed[..cut], 16).is_err(), "a file cut at {cut} loaded");
    }
}

#[test]
fn rdb_live_snapshot_without_checksum_loads() {
    // `rdbchecksum` cannot be changed at run time: a server of its own.
    let server = Redis::start("nochecksum", &["--rdbchecksum", "no"]);
    let mut c = server.client();
    fill_mixed(&mut c);
    let unchecked = save(&mut c, &server);
    assert_eq!(&unchecked[unchecked.len() - 8..], &[0u8; 8], "checksum disabled: 8 zero bytes");
    let loaded = load_ok(&unchecked, "rdbchecksum no");
    compare_with_server(&mut c, &loaded, "rdbchecksum no");
}

/// Rewrites the committed fixture from a live server and prints its digest.
#[test]
#[ignore]
fn regenerate_fixture() {
    let server = Redis::start("fixture", &[]);
    let mut c = server.client();
    let expected = fill_mixed(&mut c);
    check_encodings(&mut c, &expected);
    let bytes = save(&mut c, &server);
    let digest = c.ok(&["DEBUG", "DIGEST"]).text();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/redis-7.0.15-mixed.rdb");
    std::fs::write(&path, &bytes).expect("write fixture");
    println!("wrote {} ({} bytes); FIXTURE_DIGEST = \"{digest}\"", path.display(), bytes.len());
}

//! Differential test: the same script against a real redis-server 7.0 and replscope-node,
//! comparing every reply byte for byte (see `Cmp` for the few narrow exceptions and why).
//!
//! Fails (never passes silently) when redis-server is not installed.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use replscope_tests::diff::{Cmp, Diff, SideInfo, Which};
use replscope_tests::{Client, Kind, ReadError, Server};

fn pair(extra: &[&str]) -> (Server, Server) {
    // Resolve both binaries first so a missing redis-server fails with its own message.
    replscope_tests::redis_server_path();
    (Server::start(Kind::Redis, extra), Server::start(Kind::Node, extra))
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// Strings: SET and its options, the other string commands, and their errors.
fn strings(d: &mut Diff) {
    let later = (unix_now() + 1000).to_string();
    let later_ms = ((unix_now() + 100) * 1000).to_string();

    d.cmd(&["SET", "s1", "hello"]);
    d.cmd(&["GET", "s1"]);
    d.cmd(&["GET", "nosuchkey"]);
    d.cmd(&["SET", "s1", "world", "XX"]);
    d.cmd(&["SET", "s2", "v", "NX"]);
    d.cmd(&["SET", "s2", "v2", "NX"]);
    d.cmd(&["SET", "s3", "v", "XX"]);
    d.cmd(&["SET", "s1", "x", "GET"]);
    d.cmd(&["SET", "newkey", "y", "GET"]);
    d.cmd(&["set", "lower", "case", "nx"]);
    d.cmd(&["SET", "empty", ""]);
    d.cmd(&["GET", "empty"]);
    d.cmd(&["SET", "s1", "v", "EX", "100"]);
    d.check(0, &["TTL", "s1"], Cmp::IntRange(99, 100));
    d.cmd(&["SET", "s1", "v", "PX", "100000"]);
    d.check(0, &["PTTL", "s1"], Cmp::IntRange(99_000, 100_000));
    d.cmd(&["SET", "s1", "v2", "KEEPTTL"]);
    d.check(0, &["TTL", "s1"], Cmp::IntRange(99, 100));
    d.cmd(&["SET", "s1", "v3"]);
    d.cmd(&["TTL", "s1"]);
    d.cmd(&["SET", "s1", "v", "EXAT", &later]);
    d.check(0, &["TTL", "s1"], Cmp::IntRange(990, 1000));
    d.cmd(&["SET", "s1", "v", "PXAT", &later_ms]);
    d.check(0, &["PTTL", "s1"], Cmp::IntRange(90_000, 100_000));
    d.cmd(&["SET", "s1", "v", "NX", "GET"]);
    d.cmd(&["SET", "s1", "v", "EX", "0"]);
    d.cmd(&["SET", "s1", "v", "EX", "-5"]);
    d.cmd(&["SET", "s1", "v", "PX", "0"]);
    d.cmd(&["SET", "s1", "v", "EX", "abc"]);
    d.cmd(&["SET", "s1", "v", "EX", "9999999999999999"]);
    d.cmd(&["SET", "s1", "v", "EX"]);
    d.cmd(&["SET", "s1", "v", "NX", "XX"]);
    d.cmd(&["SET", "s1", "v", "EX", "10", "PX", "10000"]);
    d.cmd(&["SET", "s1", "v", "KEEPTTL", "EX", "10"]);
    d.cmd(&["SET", "s1", "v", "FOO"]);
    d.cmd(&["SET", "s1"]);
    d.cmd(&["GET"]);
    d.cmd(&["GET", "a", "b"]);

    d.cmd(&["SETNX", "nx1", "1"]);
    d.cmd(&["SETNX", "nx1", "2"]);
    d.cmd(&["GET", "nx1"]);
    d.cmd(&["SETEX", "se", "100", "v"]);
    d.check(0, &["TTL", "se"], Cmp::IntRange(99, 100));
    d.cmd(&["SETEX", "se", "0", "v"]);
    d.cmd(&["SETEX", "se", "x", "v"]);
    d.cmd(&["PSETEX", "pse", "100000", "v"]);
    d.check(0, &["PTTL", "pse"], Cmp::IntRange(99_000, 100_000));
    d.cmd(&["PSETEX", "pse", "-1", "v"]);
    d.cmd(&["GETSET", "nx1", "new"]);
    d.cmd(&["GETSET", "gs-missing", "v"]);
    d.cmd(&["GETDEL", "gs-missing"]);
    d.cmd(&["GETDEL", "gs-missing"]);

    d.cmd(&["SET", "ge", "v"]);
    d.cmd(&["GETEX", "ge"]);
    d.cmd(&["GETEX", "ge", "EX", "100"]);
    d.check(0, &["TTL", "ge"], Cmp::IntRange(99, 100));
    d.cmd(&["GETEX", "ge", "PERSIST"]);
    d.cmd(&["TTL", "ge"]);
    d.cmd(&["GETEX", "ge", "PX", "100000"]);
    d.check(0, &["PTTL", "ge"], Cmp::IntRange(99_000, 100_000));
    d.cmd(&["GETEX", "ge", "EXAT", &later]);
    d.check(0, &["TTL", "ge"], Cmp::IntRange(990, 1000));
    d.cmd(&["GETEX", "ge", "PXAT", &later_ms]);
    d.cmd(&["GETEX", "ge", "EX", "0"]);
    d.cmd(&["GETEX", "ge", "FOO"]);
    d.cmd(&["GETEX", "ge", "EX", "10", "PX", "10"]);
    d.cmd(&["GETEX", "ge", "PERSIST", "EX", "10"]);
    d.cmd(&["GETEX", "ge-missing", "EX", "10"]);
    d.cmd(&["PERSIST", "ge"]);

    d.cmd(&["MSET", "a", "1", "b", "2", "c", "3"]);
    d.cmd(&["MGET", "a", "b", "c", "nosuchkey"]);
    d.cmd(&["MSET", "a"]);
    d.cmd(&["MSET", "a", "1", "b"]);

    d.cmd(&["SET", "n", "10"]);
    d.cmd(&["INCR", "n"]);
    d.cmd(&["DECR", "n"]);
    d.cmd(&["INCRBY", "n", "5"]);
    d.cmd(&["DECRBY", "n", "3"]);
    d.cmd(&["INCRBY", "n", "-20"]);
    d.cmd(&["INCR", "counter-new"]);
    d.cmd(&["DECR", "counter-new2"]);
    d.cmd(&["INCR", "s2"]);
    d.cmd(&["INCRBY", "n", "abc"]);
    d.cmd(&["INCRBY", "n", "99999999999999999999"]);
    d.cmd(&["INCRBY", "n", "1.5"]);
    d.cmd(&["SET", "big", "9223372036854775807"]);
    d.cmd(&["INCR", "big"]);
    d.cmd(&["SET", "small", "-9223372036854775808"]);
    d.cmd(&["DECR", "small"]);
    d.cmd(&["DECRBY", "n", "-9223372036854775808"]);
    d.cmd(&["SET", "spaced", " 1"]);
    d.cmd(&["INCR", "spaced"]);
    d.cmd(&["SET", "lead0", "01"]);
    d.cmd(&["INCR", "lead0"]);
    d.cmd(&["SET", "negz", "-0"]);
    d.cmd(&["INCR", "negz"]);

    d.cmd(&["SET", "f", "10.5"]);
    d.cmd(&["INCRBYFLOAT", "f", "0.1"]);
    d.cmd(&["INCRBYFLOAT", "f", "-5"]);
    d.cmd(&["INCRBYFLOAT", "f", "5.0e3"]);
    d.cmd(&["INCRBYFLOAT", "f", "1.5e-3"]);
    d.cmd(&["GET", "f"]);
    d.cmd(&["INCRBYFLOAT", "f", "abc"]);
    d.cmd(&["INCRBYFLOAT", "f", "inf"]);
    d.cmd(&["INCRBYFLOAT", "s2", "1"]);
    d.cmd(&["INCRBYFLOAT", "float-new", "3"]);
    d.cmd(&["INCRBYFLOAT", "n", "0.25"]);
    d.cmd(&["INCRBYFLOAT", "float-new", "0.1"]);
    d.cmd(&["INCRBYFLOAT", "float-new", "-3.1"]);
    d.cmd(&["SET", "huge", "1e308"]);
    d.cmd(&["INCRBYFLOAT", "huge", "1e308"]);
    d.cmd(&["INCRBYFLOAT", "f", ""]);

    d.cmd(&["APPEND", "ap", "hello"]);
    d.cmd(&["APPEND", "ap", " world"]);
    d.cmd(&["GET", "ap"]);
    d.cmd(&["STRLEN", "ap"]);
    d.cmd(&["STRLEN", "nosuchkey"]);
    d.cmd(&["APPEND", "n", "7"]);
    d.cmd(&["GET", "n"]);
    d.cmd(&["STRLEN", "n"]);
    d.cmd(&["DEBUG", "DIGEST"]);
    d.cmd(&["DEBUG", "DIGEST-VALUE", "ap", "n", "nosuchkey"]);
}

/// Lists, hashes and sets, with WRONGTYPE and argument errors.
fn collections(d: &mut Diff) {
    d.cmd(&["LPUSH", "l", "a", "b", "c"]);
    d.cmd(&["RPUSH", "l", "d", "e"]);
    d.cmd(&["LRANGE", "l", "0", "-1"]);
    d.cmd(&["LRANGE", "l", "1", "2"]);
    d.cmd(&["LRANGE", "l", "-2", "-1"]);
    d.cmd(&["LRANGE", "l", "5", "1"]);
    d.cmd(&["LRANGE", "l", "-100", "100"]);
    d.cmd(&["LRANGE", "l", "a", "b"]);
    d.cmd(&["LRANGE", "nosuchkey", "0", "-1"]);
    d.cmd(&["LLEN", "l"]);
    d.cmd(&["LLEN", "nosuchkey"]);
    d.cmd(&["LINDEX", "l", "0"]);
    d.cmd(&["LINDEX", "l", "-1"]);
    d.cmd(&["LINDEX", "l", "99"]);
    d.cmd(&["LINDEX", "l", "x"]);
    d.cmd(&["LPOP", "l"]);
    d.cmd(&["RPOP", "l"]);
    d.cmd(&["LPOP", "l", "2"]);
    d.cmd(&["RPOP", "l", "0"]);
    d.cmd(&["LPOP", "l", "-1"]);
    d.cmd(&["LPOP", "l", "x"]);
    d.cmd(&["LPOP", "nosuchkey"]);
    d.cmd(&["LPOP", "nosuchkey", "2"]);
    d.cmd(&["RPOP", "l", "5"]);
    d.cmd(&["EXISTS", "l"]);
    d.cmd(&["RPUSH", "l", "x", "y", "z"]);
    d.cmd(&["LPUSH", "l"]);
    d.cmd(&["LPUSH", "s2", "x"]);
    d.cmd(&["LRANGE", "s2", "0", "-1"]);
    d.cmd(&["LLEN", "s2"]);
    d.cmd(&["GET", "l"]);
    d.cmd(&["SET", "s1", "v", "GET"]); // s1 is a string: fine
    d.cmd(&["SET", "l", "v", "GET"]); // l is a list: WRONGTYPE, nothing set
    d.cmd(&["GETSET", "l", "v"]);
    d.cmd(&["GETDEL", "l"]);
    d.cmd(&["GETEX", "l"]);
    d.cmd(&["APPEND", "l", "x"]);
    d.cmd(&["STRLEN", "l"]);
    d.cmd(&["INCR", "l"]);
    d.cmd(&["INCRBYFLOAT", "l", "1"]);
    d.cmd(&["MGET", "l", "s2"]);

    d.cmd(&["HSET", "h", "f1", "v1", "f2", "v2"]);
    d.cmd(&["HSET", "h", "f1", "x"]);
    d.cmd(&["HSET", "h", "f3"]);
    d.cmd(&["HGET", "h", "f1"]);
    d.cmd(&["HGET", "h", "nofield"]);
    d.cmd(&["HGET", "nosuchkey", "f"]);
    d.cmd(&["HGETALL", "h"]);
    d.cmd(&["HGETALL", "nosuchkey"]);
    d.cmd(&["HLEN", "h"]);
    d.cmd(&["HEXISTS", "h", "f1"]);
    d.cmd(&["HEXISTS", "h", "nofield"]);
    d.cmd(&["HDEL", "h", "f2", "nofield"]);
    d.cmd(&["HINCRBY", "h", "cnt", "5"]);
    d.cmd(&["HINCRBY", "h", "cnt", "-10"]);
    d.cmd(&["HINCRBY", "h", "f1", "1"]);
    d.cmd(&["HINCRBY", "h", "cnt", "abc"]);
    d.cmd(&["HSET", "h", "big", "9223372036854775807"]);
    d.cmd(&["HINCRBY", "h", "big", "1"]);
    d.cmd(&["HGETALL", "h"]);
    d.cmd(&["HGET", "s2", "f"]);
    d.cmd(&["HSET", "s2", "f", "v"]);
    d.cmd(&["HSET", "h2", "only", "1"]);
    d.cmd(&["HDEL", "h2", "only"]);
    d.cmd(&["EXISTS", "h2"]);
    d.cmd(&["HDEL", "h"]);

    d.cmd(&["SADD", "si", "3", "1", "2"]);
    d.cmd(&["SADD", "si", "2"]);
    // An all-integer small set is an intset in 7.0: SMEMBERS is sorted, deterministic.
    d.cmd(&["SMEMBERS", "si"]);
    d.cmd(&["SCARD", "si"]);
    d.cmd(&["SISMEMBER", "si", "1"]);
    d.cmd(&["SISMEMBER", "si", "9"]);
    d.cmd(&["SREM", "si", "1", "9"]);
    d.cmd(&["SMEMBERS", "si"]);
    d.cmd(&["SADD", "ss", "b", "a", "c", "dd"]);
    // A set of strings is a hash table in 7.0: member order is the table's.
    d.check(0, &["SMEMBERS", "ss"], Cmp::Sorted);
    d.cmd(&["SCARD", "ss"]);
    d.cmd(&["SISMEMBER", "ss", "dd"]);
    d.cmd(&["SMEMBERS", "nosuchkey"]);
    d.cmd(&["SCARD", "nosuchkey"]);
    d.cmd(&["SADD", "s2", "x"]);
    d.cmd(&["SMEMBERS", "h"]);
    d.cmd(&["SREM", "ss"]);
    // SPOP picks at random: compare membership, then delete the set so both servers hold
    // the same data again.
    d.check(0, &["SPOP", "ss"], Cmp::OneOf(s(&["a", "b", "c", "dd"])));
    d.cmd(&["SCARD", "ss"]);
    d.cmd(&["DEL", "ss"]);
    d.cmd(&["SADD", "ss", "p", "q", "r", "t", "u"]);
    d.check(0, &["SPOP", "ss", "2"], Cmp::SubsetOf(s(&["p", "q", "r", "t", "u"])));
    d.cmd(&["SCARD", "ss"]);
    d.cmd(&["DEL", "ss"]);
    d.cmd(&["SPOP", "ss"]);
    d.cmd(&["SPOP", "ss", "2"]);
    d.cmd(&["SPOP", "si", "-1"]);
    d.cmd(&["SPOP", "si", "0"]);
    d.cmd(&["SPOP", "si", "x"]);
    d.cmd(&["SPOP", "si", "1", "2"]);
    d.cmd(&["SADD", "si2", "5", "4"]);
    d.check(0, &["SPOP", "si2", "10"], Cmp::Sorted);
    d.cmd(&["EXISTS", "si2"]);
    d.cmd(&["SPOP", "s2"]);
    d.cmd(&["DEBUG", "DIGEST"]);
}

/// Key-space commands, expiry, SCAN/KEYS/RANDOMKEY, databases.
fn keyspace(d: &mut Diff) {
    let later = (unix_now() + 1000).to_string();
    let later_ms = ((unix_now() + 100) * 1000).to_string();

    d.cmd(&["DEL", "a", "b", "nosuchkey"]);
    d.cmd(&["UNLINK", "c", "nosuchkey"]);
    d.cmd(&["DEL"]);
    d.cmd(&["MSET", "a", "1", "b", "2", "c", "3"]);
    d.cmd(&["EXISTS", "a", "a", "b", "nosuchkey"]);
    d.cmd(&["EXISTS"]);
    d.cmd(&["TYPE", "a"]);
    d.cmd(&["TYPE", "l"]);
    d.cmd(&["TYPE", "h"]);
    d.cmd(&["TYPE", "si"]);
    d.cmd(&["TYPE", "nosuchkey"]);

    d.cmd(&["SET", "e", "v"]);
    d.cmd(&["EXPIRE", "e", "100"]);
    d.check(0, &["TTL", "e"], Cmp::IntRange(99, 100));
    d.cmd(&["EXPIRE", "nosuchkey", "100"]);
    d.cmd(&["EXPIRE", "e", "abc"]);
    d.cmd(&["EXPIRE", "e", "100", "NX"]);
    d.cmd(&["EXPIRE", "e", "200", "XX"]);
    d.cmd(&["EXPIRE", "e", "50", "GT"]);
    d.cmd(&["EXPIRE", "e", "300", "GT"]);
    d.cmd(&["EXPIRE", "e", "400", "LT"]);
    d.cmd(&["EXPIRE", "e", "100", "LT"]);
    d.check(0, &["TTL", "e"], Cmp::IntRange(99, 100));
    d.cmd(&["EXPIRE", "e", "10", "NX", "XX"]);
    d.cmd(&["EXPIRE", "e", "10", "GT", "LT"]);
    d.cmd(&["EXPIRE", "e", "10", "NX", "GT"]);
    d.cmd(&["EXPIRE", "e", "10", "FOO"]);
    d.cmd(&["EXPIRE", "e", "9223372036854775807"]);
    d.cmd(&["PEXPIRE", "e", "9223372036854775807"]);
    d.cmd(&["EXPIRE", "e"]);
    d.cmd(&["SET", "nottl", "v"]);
    d.cmd(&["EXPIRE", "nottl", "100", "XX"]);
    d.cmd(&["EXPIRE", "nottl", "100", "LT"]);
    // GT with a shorter TTL than the one LT just set: refused. (The same 100 s raced the
    // clock: a millisecond passing between the two commands made GT succeed on one server.)
    d.cmd(&["EXPIRE", "nottl", "50", "GT"]);
    d.cmd(&["EXPIRE", "nottl", "200", "GT"]);
    d.cmd(&["EXPIRE", "nottl", "100", "LT"]);
    d.cmd(&["PEXPIRE", "e", "100000"]);
    d.check(0, &["PTTL", "e"], Cmp::IntRange(99_000, 100_000));
    d.cmd(&["PEXPIRE", "e", "x"]);
    d.cmd(&["EXPIREAT", "e", &later]);
    d.check(0, &["TTL", "e"], Cmp::IntRange(990, 1000));
    d.cmd(&["EXPIREAT", "e", "x"]);
    d.cmd(&["PEXPIREAT", "e", &later_ms]);
    d.check(0, &["PTTL", "e"], Cmp::IntRange(90_000, 100_000));
    d.cmd(&["PEXPIREAT", "nosuchkey", &later_ms]);
    d.cmd(&["TTL", "nosuchkey"]);
    d.cmd(&["PTTL", "nosuchkey"]);
    d.check(0, &["TTL", "nottl"], Cmp::IntRange(90, 100));
    // EXPIRE LT (after GT's 200 s) gave it a 100 s TTL: PTTL depends on how long the steps took.
    d.check(0, &["PTTL", "nottl"], Cmp::IntRange(90_000, 100_000));
    d.cmd(&["PERSIST", "e"]);
    d.cmd(&["PERSIST", "e"]);
    d.cmd(&["PERSIST", "nosuchkey"]);
    d.cmd(&["TTL", "e"]);
    // A time in the past deletes the key at once.
    d.cmd(&["EXPIRE", "e", "-1"]);
    d.cmd(&["EXISTS", "e"]);
    d.cmd(&["SET", "e", "v"]);
    d.cmd(&["EXPIREAT", "e", "100"]);
    d.cmd(&["GET", "e"]);

    d.cmd(&["RENAME", "a", "a-renamed"]);
    d.cmd(&["GET", "a-renamed"]);
    d.cmd(&["EXISTS", "a"]);
    d.cmd(&["RENAME", "nosuchkey", "x"]);
    d.cmd(&["RENAME", "b", "b"]);
    d.cmd(&["SET", "withttl", "v", "EX", "100"]);
    d.cmd(&["RENAME", "withttl", "c"]);
    d.check(0, &["TTL", "c"], Cmp::IntRange(99, 100));
    d.cmd(&["RENAME", "l", "h"]);
    d.cmd(&["TYPE", "h"]);

    // KEYS answers in hash-table order: compare as sets.
    d.check(0, &["KEYS", "*"], Cmp::Sorted);
    d.check(0, &["KEYS", "s*"], Cmp::Sorted);
    d.check(0, &["KEYS", "?"], Cmp::Sorted);
    d.check(0, &["KEYS", "[ab]*"], Cmp::Sorted);
    d.check(0, &["KEYS", "*[^0-9]"], Cmp::Sorted);
    d.check(0, &["KEYS", "s\\1"], Cmp::Sorted);
    d.cmd(&["KEYS", "nomatch*"]);
    d.cmd(&["KEYS"]);
    d.cmd(&["DBSIZE"]);
    d.cmd(&["DBSIZE", "x"]);
    d.scan(0, &[]);
    d.scan(0, &["MATCH", "s*"]);
    d.scan(0, &["COUNT", "3"]);
    d.scan(0, &["TYPE", "string"]);
    d.scan(0, &["TYPE", "list", "COUNT", "1000"]);
    d.scan(0, &["MATCH", "*", "COUNT", "2", "TYPE", "set"]);
    d.cmd(&["SCAN", "abc"]);
    d.cmd(&["SCAN", "0", "COUNT", "0"]);
    d.cmd(&["SCAN", "0", "COUNT", "x"]);
    d.cmd(&["SCAN", "0", "FOO", "bar"]);
    d.cmd(&["SCAN", "0", "MATCH"]);
    d.cmd(&["SCAN"]);

    d.cmd(&["SELECT", "2"]);
    d.cmd(&["RANDOMKEY"]);
    d.cmd(&["MSET", "r1", "1", "r2", "2", "r3", "3"]);
    d.check(0, &["RANDOMKEY"], Cmp::OneOf(s(&["r1", "r2", "r3"])));
    d.check(0, &["KEYS", "*"], Cmp::Sorted);
    d.cmd(&["DBSIZE"]);
    d.cmd(&["RANDOMKEY", "x"]);
    d.cmd(&["FLUSHDB"]);
    d.cmd(&["DBSIZE"]);
    d.cmd(&["SET", "in-db2", "v"]);
    d.cmd(&["FLUSHDB", "ASYNC"]);
    d.cmd(&["SET", "in-db2", "v"]);
    d.cmd(&["FLUSHDB", "SYNC"]);
    d.cmd(&["FLUSHDB", "FOO"]);
    d.cmd(&["SET", "kept-in-db2", "v"]);
    d.cmd(&["SELECT", "1"]);
    d.cmd(&["SET", "in-db1", "v"]);
    d.cmd(&["GET", "s1"]);
    d.cmd(&["SELECT", "16"]);
    d.cmd(&["SELECT", "-1"]);
    d.cmd(&["SELECT", "abc"]);
    d.cmd(&["SELECT", "99999999999"]);
    d.cmd(&["SELECT"]);
    d.cmd(&["SELECT", "0"]);
    d.cmd(&["GET", "in-db1"]);
    d.check(0, &["INFO", "keyspace"], Cmp::Info);
    d.cmd(&["DEBUG", "DIGEST"]);
}

/// PING/ECHO/TIME/INFO/CONFIG/CLIENT/COMMAND/DEBUG/AUTH without a password.
fn server(d: &mut Diff) {
    d.cmd(&["PING"]);
    d.cmd(&["PING", "hello"]);
    d.cmd(&["PING", "a", "b"]);
    d.cmd(&["ECHO", "hi there"]);
    d.cmd(&["ECHO", ""]);
    d.cmd(&["ECHO"]);
    d.cmd(&["NOSUCHCMD", "a", "b"]);
    d.cmd(&["nosuchcmd"]);
    d.cmd(&["NOSUCHCMD", "a\r\nb"]);
    // TIME is the server's clock.
    d.check(0, &["TIME"], Cmp::Time);
    d.cmd(&["TIME", "x"]);

    // INFO: memory, times, PIDs and run ids differ; see Cmp::Info.
    d.check(0, &["INFO"], Cmp::Info);
    d.check(0, &["INFO", "server"], Cmp::Info);
    d.check(0, &["INFO", "clients"], Cmp::Info);
    d.check(0, &["INFO", "stats"], Cmp::Info);
    d.check(0, &["INFO", "replication"], Cmp::Info);
    d.check(0, &["INFO", "keyspace"], Cmp::Info);
    d.check(0, &["INFO", "server", "keyspace"], Cmp::Info);
    d.check(0, &["INFO", "all"], Cmp::Info);
    d.check(0, &["INFO", "everything"], Cmp::Info);
    d.cmd(&["INFO", "nosuchsection"]);

    d.cmd(&["CONFIG", "GET", "maxmemory"]);
    d.cmd(&["CONFIG", "GET", "hz"]);
    d.cmd(&["CONFIG", "GET", "save"]);
    d.cmd(&["CONFIG", "GET", "appendonly"]);
    d.cmd(&["CONFIG", "GET", "bind"]);
    d.cmd(&["CONFIG", "GET", "databases"]);
    d.cmd(&["CONFIG", "GET", "requirepass"]);
    d.cmd(&["CONFIG", "GET", "repl-backlog-size"]);
    d.cmd(&["CONFIG", "GET", "slave-read-only"]);
    d.cmd(&["CONFIG", "GET", "MAXMEMORY"]);
    // Each server's own port and directory.
    d.check(0, &["CONFIG", "GET", "port"], Cmp::OwnValues);
    d.check(0, &["CONFIG", "GET", "dir"], Cmp::OwnValues);
    // A glob lists matches in dict order.
    d.check(0, &["CONFIG", "GET", "maxmemory*"], Cmp::SortedPairs);
    d.check(0, &["CONFIG", "GET", "repl-diskless-*"], Cmp::SortedPairs);
    d.check(0, &["CONFIG", "GET", "hz", "maxmemory-policy", "save"], Cmp::SortedPairs);
    d.cmd(&["CONFIG", "GET", "nosuchparam"]);
    d.cmd(&["CONFIG", "GET"]);
    d.cmd(&["CONFIG", "SET", "hz", "20"]);
    d.cmd(&["CONFIG", "GET", "hz"]);
    d.cmd(&["CONFIG", "SET", "hz", "abc"]);
    d.cmd(&["CONFIG", "SET", "hz", "10", "hz", "20"]);
    d.cmd(&["CONFIG", "SET", "hz", "10", "maxmemory", "1mb"]);
    d.cmd(&["CONFIG", "GET", "maxmemory"]);
    d.cmd(&["CONFIG", "SET", "maxmemory", "0"]);
    d.cmd(&["CONFIG", "SET", "maxmemory", "lots"]);
    d.cmd(&["CONFIG", "SET", "maxmemory-policy", "ALLKEYS-LRU"]);
    d.cmd(&["CONFIG", "GET", "maxmemory-policy"]);
    d.cmd(&["CONFIG", "SET", "maxmemory-policy", "sometimes"]);
    d.cmd(&["CONFIG", "SET", "maxmemory-policy", "noeviction"]);
    d.cmd(&["CONFIG", "SET", "appendonly", "maybe"]);
    d.cmd(&["CONFIG", "SET", "daemonize", "yes"]);
    d.cmd(&["CONFIG", "SET", "databases", "4"]);
    d.cmd(&["CONFIG", "SET", "nosuchparam", "1"]);
    d.cmd(&["CONFIG", "SET", "hz"]);
    d.cmd(&["CONFIG", "SET", "hz", "10", "maxmemory"]);
    d.cmd(&["CONFIG", "SET", "loglevel", "warning"]);
    d.cmd(&["CONFIG", "SET", "loglevel", "notice"]);
    d.cmd(&["CONFIG", "SET", "save", "100 10"]);
    d.cmd(&["CONFIG", "GET", "save"]);
    d.cmd(&["CONFIG", "SET", "save", "100"]);
    d.cmd(&["CONFIG", "SET", "save", ""]);
    d.cmd(&["CONFIG", "RESETSTAT"]);
    d.cmd(&["CONFIG", "RESETSTAT", "x"]);
    d.cmd(&["CONFIG", "NOSUCHSUB"]);
    d.cmd(&["CONFIG"]);

    d.cmd(&["CLIENT", "GETNAME"]);
    d.cmd(&["CLIENT", "SETNAME", "conn0"]);
    d.cmd(&["CLIENT", "GETNAME"]);
    d.cmd(&["CLIENT", "SETNAME", "bad name"]);
    d.cmd(&["CLIENT", "SETNAME", ""]);
    d.cmd(&["CLIENT", "GETNAME"]);
    d.cmd(&["CLIENT", "SETNAME", "conn0"]);
    d.cmd(&["CLIENT", "SETNAME"]);
    // CLIENT ID numbers every connection ever made, test helpers' included.
    d.check(0, &["CLIENT", "ID"], Cmp::IntType);
    // CLIENT LIST / INFO: addresses, ages, memory figures differ; see Cmp::ClientList.
    d.check(0, &["CLIENT", "INFO"], Cmp::ClientList);
    let c1 = d.open();
    d.check(c1, &["CLIENT", "SETNAME", "victim"], Cmp::Exact);
    d.check(c1, &["SELECT", "3"], Cmp::Exact);
    d.check(0, &["CLIENT", "LIST"], Cmp::ClientList);
    d.check(0, &["CLIENT", "LIST", "TYPE", "normal"], Cmp::ClientList);
    d.cmd(&["CLIENT", "LIST", "TYPE", "master"]);
    d.cmd(&["CLIENT", "LIST", "TYPE", "pubsub"]);
    d.cmd(&["CLIENT", "LIST", "TYPE", "foo"]);
    d.cmd(&["CLIENT", "LIST", "ID", "abc"]);
    d.cmd(&["CLIENT", "LIST", "FOO"]);
    d.cmd(&["CLIENT", "LIST", "ID", "999999"]);
    d.cmd(&["CLIENT", "KILL", "1.2.3.4:5"]);
    d.cmd(&["CLIENT", "KILL", "ID", "999999"]);
    d.cmd(&["CLIENT", "KILL", "ID", "abc"]);
    d.cmd(&["CLIENT", "KILL", "TYPE", "foo"]);
    d.cmd(&["CLIENT", "KILL", "USER", "nosuchuser"]);
    d.cmd(&["CLIENT", "KILL", "FOO", "bar"]);
    d.cmd(&["CLIENT", "KILL", "ID"]);
    d.cmd(&["CLIENT", "KILL", "ADDR", "1.2.3.4:5", "SKIPME", "maybe"]);
    d.cmd(&["CLIENT", "KILL"]);
    // Kill the second connection by its address (each server sees its own port number).
    d.check_each(0, move |side: &SideInfo| s(&["CLIENT", "KILL", "ADDR", &side.addrs[c1]]), Cmp::Exact);
    d.expect_closed(c1, "CLIENT KILL ADDR");
    let c2 = d.open();
    // A connection the server has not accepted yet cannot be killed: make sure it has.
    d.check(c2, &["PING"], Cmp::Exact);
    d.check_each(0, move |side: &SideInfo| s(&["CLIENT", "KILL", &side.addrs[c2]]), Cmp::Exact);
    d.expect_closed(c2, "CLIENT KILL addr:port");
    let c3 = d.open();
    d.check(c3, &["PING"], Cmp::Exact);
    d.check_each(0, move |side: &SideInfo| s(&["CLIENT", "KILL", "LADDR", &format!("127.0.0.1:{}", side.port), "SKIPME", "yes"]), Cmp::Exact);
    d.expect_closed(c3, "CLIENT KILL LADDR");
    d.cmd(&["CLIENT", "NOSUCHSUB"]);
    d.cmd(&["CLIENT"]);
    d.check(0, &["CLIENT", "LIST"], Cmp::ClientList);

    // We implement fewer commands than redis-server: only the type can match.
    d.check(0, &["COMMAND", "COUNT"], Cmp::IntType);
    d.cmd(&["COMMAND", "COUNT", "x"]);
    d.cmd(&["COMMAND", "INFO", "nosuchcmd"]);
    d.cmd(&["COMMAND", "INFO", "get"]);
    d.cmd(&["COMMAND", "NOSUCHSUB"]);
    d.cmd(&["COMMAND", "DOCS", "nosuchcmd"]);
    d.cmd(&["COMMAND", "LIST", "FOO"]);

    d.cmd(&["ROLE"]);
    d.cmd(&["ROLE", "x"]);
    d.cmd(&["REPLCONF"]);
    d.cmd(&["REPLCONF", "listening-port"]);
    d.cmd(&["REPLCONF", "nosuchoption", "1"]);
    d.cmd(&["REPLCONF", "listening-port", "abc"]);
    d.cmd(&["PSYNC"]);
    d.cmd(&["SYNC", "x"]);

    d.cmd(&["DEBUG", "SLEEP", "0"]);
    d.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"]);
    d.cmd(&["DEBUG", "NOSUCHSUB"]);
    d.cmd(&["DEBUG"]);
    d.cmd(&["DEBUG", "DIGEST", "extra"]);

    d.cmd(&["AUTH", "anything"]);
    d.cmd(&["AUTH", "default", "anything"]);
    d.cmd(&["AUTH", "someone", "anything"]);
    d.cmd(&["AUTH", "a", "b", "c"]);
    d.cmd(&["AUTH"]);
}

fn transactions(d: &mut Diff) {
    d.cmd(&["MULTI"]);
    d.cmd(&["SET", "t", "1"]);
    d.cmd(&["INCR", "t"]);
    d.cmd(&["GET", "t"]);
    d.cmd(&["EXEC"]);
    d.cmd(&["MULTI"]);
    d.cmd(&["SET", "t", "100"]);
    d.cmd(&["DISCARD"]);
    d.cmd(&["GET", "t"]);
    d.cmd(&["DISCARD"]);
    d.cmd(&["EXEC"]);
    d.cmd(&["MULTI"]);
    d.cmd(&["MULTI"]);
    d.cmd(&["INCR", "t"]);
    d.cmd(&["EXEC"]);
    // A command rejected while queuing dooms the transaction.
    d.cmd(&["MULTI"]);
    d.cmd(&["INCR", "t"]);
    d.cmd(&["NOSUCHCMD"]);
    d.cmd(&["EXEC"]);
    d.cmd(&["MULTI"]);
    d.cmd(&["INCR", "t"]);
    d.cmd(&["GET"]);
    d.cmd(&["EXEC"]);
    d.cmd(&["GET", "t"]);
    // Errors while executing do not.
    d.cmd(&["MULTI"]);
    d.cmd(&["INCR", "t"]);
    d.cmd(&["LPUSH", "t", "x"]);
    d.cmd(&["INCRBY", "t", "x"]);
    d.cmd(&["INCR", "t"]);
    d.cmd(&["EXEC"]);
    d.cmd(&["MULTI"]);
    d.cmd(&["SELECT", "5"]);
    d.cmd(&["SET", "in-db5", "v"]);
    d.cmd(&["EXEC"]);
    d.cmd(&["GET", "in-db5"]);
    d.cmd(&["SELECT", "0"]);
    d.cmd(&["MULTI"]);
    d.cmd(&["EXEC"]);
    d.cmd(&["MULTI", "x"]);
    d.cmd(&["DEBUG", "DIGEST"]);
}

/// Inline commands and pipelines.
fn inline_and_pipelines(d: &mut Diff) {
    d.raw(0, b"PING\r\n", 1);
    d.raw(0, b"PING\n", 1);
    d.raw(0, b"SET inl \"hello world\"\r\n", 1);
    d.raw(0, b"GET inl\r\n", 1);
    d.raw(0, b"  SET   inl2    'single quoted'  \r\n", 1);
    d.raw(0, b"GET inl2\n", 1);
    d.raw(0, b"ECHO \"a\\x41\\n\\t\"\r\n", 1);
    d.raw(0, b"ECHO \"\"\r\n", 1);
    d.raw(0, b"\r\nPING\r\n", 1);
    d.raw(0, b"\n\n\nECHO after-empty-lines\n", 1);
    d.raw(0, b"*0\r\nPING\r\n", 1);
    d.raw(0, b"*-1\r\nPING\r\n", 1);
    d.raw(0, b"NOSUCHCMD inline args\r\n", 1);
    d.raw(0, b"get\r\n", 1);
    // Mixed inline and multibulk in one write.
    d.raw(0, b"PING\r\n*2\r\n$4\r\nECHO\r\n$3\r\nabc\r\nECHO inline\r\n*1\r\n$4\r\nPING\r\n", 4);

    // Fifty commands in a single write.
    let mut cmds: Vec<Vec<&str>> = Vec::new();
    let names: Vec<String> = (0..10).map(|i| format!("pk{i}")).collect();
    for k in &names {
        cmds.push(vec!["SET", k.as_str(), "0"]);
        cmds.push(vec!["INCR", k.as_str()]);
        cmds.push(vec!["INCRBY", k.as_str(), "10"]);
        cmds.push(vec!["GET", k.as_str()]);
        cmds.push(vec!["APPEND", k.as_str(), "x"]);
    }
    d.pipeline(0, &cmds);
    d.pipeline(0, &[vec!["RPUSH", "pl", "a", "b"], vec!["LPOP", "pl"], vec!["NOSUCHCMD"], vec!["LLEN", "pl"], vec!["GET", "pl"], vec!["DEL", "pl"]]);
    d.pipeline(0, &[vec!["MULTI"], vec!["INCR", "pk0"], vec!["INCR", "pk0"], vec!["EXEC"]]);
    d.cmd(&["DEBUG", "DIGEST"]);
}

/// Expiry across DEBUG SLEEP (the server's clock moves while it is blocked).
fn expiry(d: &mut Diff) {
    d.cmd(&["SET", "k", "v", "PX", "50"]);
    d.cmd(&["DEBUG", "SLEEP", "0.1"]);
    d.cmd(&["GET", "k"]);
    d.cmd(&["SET", "k2", "v", "PX", "100"]);
    d.check(0, &["PTTL", "k2"], Cmp::IntRange(0, 100));
    d.cmd(&["DEBUG", "SLEEP", "0.15"]);
    d.cmd(&["EXISTS", "k2"]);
    d.cmd(&["TTL", "k2"]);
    d.cmd(&["SET", "k3", "v", "EX", "100"]);
    d.cmd(&["DEBUG", "SLEEP", "0.05"]);
    d.check(0, &["PTTL", "k3"], Cmp::IntRange(99_800, 99_960));

    // Without active expiry an expired key stays counted until touched.
    d.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    d.cmd(&["SET", "lazy", "v", "PX", "10"]);
    d.cmd(&["DBSIZE"]);
    d.cmd(&["DEBUG", "SLEEP", "0.05"]);
    d.cmd(&["DBSIZE"]);
    d.cmd(&["GET", "lazy"]);
    d.cmd(&["DBSIZE"]);
    // With it, the cron removes them (20 keys, well under one cycle's sample).
    d.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"]);
    let keys: Vec<String> = (0..20).map(|i| format!("vol{i}")).collect();
    let cmds: Vec<Vec<&str>> = keys.iter().map(|k| vec!["SET", k.as_str(), "v", "PX", "10"]).collect();
    d.pipeline(0, &cmds);
    d.sleep(600);
    d.cmd(&["DBSIZE"]);
    d.check(0, &["INFO", "keyspace"], Cmp::Info);
    d.cmd(&["DEBUG", "DIGEST"]);
}

/// Protocol errors: each on a fresh connection, which the server closes after the error.
fn protocol_errors(d: &mut Diff) {
    d.until_close(b"*x\r\n");
    d.until_close(b"*1\r\n+PING\r\n");
    d.until_close(b"*1\r\n$x\r\n");
    d.until_close(b"*1\r\n$-5\r\n");
    d.until_close(b"*2000000\r\n");
    d.until_close(b"*1\r\n$600000000\r\n");
    d.until_close(b"*1\r\n$4\r\nPINGXX");
    d.until_close(b"PING\r\n*1\r\n:1\r\n");
    d.until_close(b"SET \"a b\r\n");
    d.until_close(b"SET 'a\r\n");
    d.until_close(b"SET \"a\"b c\r\n");
    d.until_close(b"ECHO \"unterminated \\\"\r\n");
    d.until_close(&vec![b'a'; 70_000]);
    let mut big_count = b"*".to_vec();
    big_count.extend(vec![b'1'; 70_000]);
    d.until_close(&big_count);
    let mut big_len = b"*1\r\n$".to_vec();
    big_len.extend(vec![b'1'; 70_000]);
    d.until_close(&big_len);
    // QUIT answers +OK and closes.
    let q = d.open();
    d.send_until_close(q, &["QUIT"]);
    d.until_close(b"PING\r\nQUIT\r\nPING\r\n");
}

#[test]
fn differential_against_redis_server() {
    let (redis, ours) = pair(&[]);
    let mut d = Diff::new("main", &redis, &ours);
    strings(&mut d);
    collections(&mut d);
    keyspace(&mut d);
    server(&mut d);
    transactions(&mut d);
    inline_and_pipelines(&mut d);
    expiry(&mut d);
    protocol_errors(&mut d);

    d.check(0, &["KEYS", "*"], Cmp::Sorted);
    d.scan(0, &[]);
    d.cmd(&["DBSIZE"]);
    d.cmd(&["DEBUG", "DIGEST"]);
    d.cmd(&["FLUSHALL", "FOO"]);
    d.cmd(&["FLUSHALL"]);
    d.cmd(&["DBSIZE"]);
    d.cmd(&["DEBUG", "DIGEST"]);
    d.cmd(&["SET", "after", "flushall"]);
    d.cmd(&["FLUSHALL", "ASYNC"]);
    d.cmd(&["FLUSHALL", "SYNC"]);
    d.cmd(&["DEBUG", "DIGEST"]);

    // Persistence: each server writes dump.rdb into its own directory.
    let now = unix_now() as i64;
    d.cmd(&["SET", "persisted", "v"]);
    d.cmd(&["SAVE"]);
    d.cmd(&["SAVE", "x"]);
    d.check(0, &["LASTSAVE"], Cmp::IntRange(now - 5, now + 5));
    d.cmd(&["BGSAVE"]);
    d.sleep(500);
    d.cmd(&["BGSAVE", "SCHEDULE"]);
    d.sleep(500);
    d.cmd(&["BGSAVE", "FOO"]);
    d.cmd(&["LASTSAVE", "x"]);
    d.check(0, &["INFO", "persistence"], Cmp::Info);

    // WAIT with no replicas.
    d.cmd(&["WAIT", "0", "0"]);
    d.cmd(&["WAIT", "1", "100"]);
    d.cmd(&["WAIT", "x", "0"]);
    d.cmd(&["WAIT", "0", "-1"]);
    d.cmd(&["WAIT", "0"]);

    // REPLICAOF: errors, a master that is never reachable, and back.
    d.cmd(&["REPLICAOF", "NO", "ONE"]);
    d.cmd(&["SLAVEOF", "NO", "ONE"]);
    d.cmd(&["REPLICAOF", "127.0.0.1"]);
    d.cmd(&["REPLICAOF", "127.0.0.1", "notaport"]);
    d.cmd(&["REPLICAOF", "127.0.0.1", "99999"]);
    let nobody = replscope_tests::free_port().to_string();
    d.cmd(&["REPLICAOF", "127.0.0.1", &nobody]);
    d.cmd(&["REPLICAOF", "127.0.0.1", &nobody]);
    d.cmd(&["SET", "on-a-replica", "v"]);
    d.cmd(&["GET", "persisted"]);
    d.cmd(&["REPLICAOF", "NO", "ONE"]);
    d.cmd(&["SET", "on-a-master-again", "v"]);
    d.check(0, &["INFO", "replication"], Cmp::Info);
    d.cmd(&["DEBUG", "DIGEST"]);

    // SHUTDOWN: errors first, then a real one on each server.
    d.cmd(&["SHUTDOWN", "FOO"]);
    d.cmd(&["SHUTDOWN", "SAVE", "NOSAVE"]);
    d.cmd(&["SHUTDOWN", "ABORT"]);
    d.cmd(&["MULTI"]);
    d.cmd(&["SHUTDOWN", "NOSAVE"]);
    d.cmd(&["EXEC"]);
    d.cmd(&["PING"]);
    let commands = d.commands;
    d.send_until_close(0, &["SHUTDOWN", "NOSAVE"]);
    let mut redis = redis;
    let mut ours = ours;
    let rs = redis.wait_exit(std::time::Duration::from_secs(5));
    let os = ours.wait_exit(std::time::Duration::from_secs(5));
    assert!(commands >= 200, "the script must send at least 200 commands, sent {commands}");
    let mismatches = d.mismatches.len();
    d.finish();
    assert_eq!(mismatches, 0);
    assert!(rs.is_some_and(|s| s.success()), "redis-server did not exit 0 after SHUTDOWN NOSAVE: {rs:?}");
    assert!(os.is_some_and(|s| s.success()), "replscope-node did not exit 0 after SHUTDOWN NOSAVE: {os:?}");
}

/// A second pair started with --requirepass: NOAUTH, WRONGPASS, and what needs no auth.
#[test]
fn differential_with_requirepass() {
    let (redis, ours) = pair(&["--requirepass", "s3cret"]);
    let mut d = Diff::new("requirepass", &redis, &ours);
    d.cmd(&["PING"]);
    d.cmd(&["GET", "x"]);
    d.cmd(&["SET", "x", "1"]);
    d.cmd(&["CLIENT", "SETNAME", "n"]);
    d.cmd(&["SELECT", "1"]);
    d.cmd(&["NOSUCHCMD", "a"]);
    d.cmd(&["GET"]);
    d.cmd(&["MULTI"]);
    d.cmd(&["EXEC"]);
    d.cmd(&["AUTH", "wrong"]);
    d.cmd(&["AUTH", "default", "wrong"]);
    d.cmd(&["AUTH", "someone", "s3cret"]);
    d.cmd(&["AUTH", "a", "b", "c"]);
    d.cmd(&["AUTH"]);
    d.cmd(&["PING"]);
    d.cmd(&["AUTH", "s3cret"]);
    d.cmd(&["PING"]);
    d.cmd(&["SET", "x", "1"]);
    d.cmd(&["GET", "x"]);
    d.cmd(&["AUTH", "default", "s3cret"]);
    d.cmd(&["AUTH", "wrong"]);
    // A failed AUTH does not log out an authenticated connection.
    d.cmd(&["GET", "x"]);
    d.cmd(&["CONFIG", "GET", "requirepass"]);
    let c = d.open();
    d.check(c, &["GET", "x"], Cmp::Exact);
    d.check(c, &["AUTH", "default", "s3cret"], Cmp::Exact);
    d.check(c, &["GET", "x"], Cmp::Exact);
    d.raw(c, b"PING\r\n", 1);
    let c2 = d.open();
    d.raw(c2, b"GET x\r\n", 1);
    d.raw(c2, b"AUTH s3cret\r\n", 1);
    d.raw(c2, b"GET x\r\n", 1);
    // Unauthenticated clients may not announce big requests.
    d.until_close(b"*20\r\n");
    d.until_close(b"*1\r\n$20000\r\n");
    d.until_close(b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$20000\r\n");
    let q = d.open();
    d.send_until_close(q, &["QUIT"]);
    d.cmd(&["CONFIG", "SET", "requirepass", "other"]);
    d.cmd(&["GET", "x"]);
    let c3 = d.open();
    d.check(c3, &["GET", "x"], Cmp::Exact);
    d.check(c3, &["AUTH", "s3cret"], Cmp::Exact);
    d.check(c3, &["AUTH", "other"], Cmp::Exact);
    d.check(c3, &["DEBUG", "DIGEST"], Cmp::Exact);
    d.finish();
}

/// What a replica receives for a full synchronisation.
struct FullSync {
    /// `+FULLRESYNC <replid> <offset>` with the random replication id replaced, or empty for
    /// SYNC (which sends the payload straight away).
    header: String,
    replid: String,
    offset: u64,
    /// `$<len>` (RDB from disk) or `$EOF:<mark>` (diskless); only the kind is compared, the
    /// mark is random.
    form: &'static str,
    rdb: Vec<u8>,
}

fn read_full_sync(c: &mut Client, psync: bool) -> Result<FullSync, String> {
    c.timeout = Duration::from_secs(10);
    let e = |e: ReadError| format!("{e:?}");
    let (mut header, mut replid, mut offset) = (String::new(), String::new(), 0);
    if psync {
        c.skip_newlines().map_err(e)?;
        let line = String::from_utf8_lossy(&c.read_line().map_err(e)?).into_owned();
        let parts: Vec<&str> = line.split(' ').collect();
        match parts.as_slice() {
            ["+FULLRESYNC", id, off] if id.len() == 40 && id.bytes().all(|b| b.is_ascii_hexdigit()) => {
                replid = id.to_string();
                offset = off.parse().map_err(|_| format!("bad offset in {line:?}"))?;
                header = format!("+FULLRESYNC <replid> {off}");
            }
            _ => return Err(format!("expected +FULLRESYNC <replid> <offset>, got {line:?}")),
        }
    }
    // Newlines are keepalives while the RDB is being produced.
    c.skip_newlines().map_err(e)?;
    let line = c.read_line().map_err(e)?;
    let (form, rdb) = if let Some(mark) = line.strip_prefix(b"$EOF:") {
        ("$EOF:<mark>", c.read_until(mark).map_err(e)?)
    } else if let Some(len) = line.strip_prefix(b"$") {
        let len: usize = String::from_utf8_lossy(len).parse().map_err(|_| format!("bad length line {:?}", line.escape_ascii().to_string()))?;
        ("$<len>", c.read_exact(len).map_err(e)?)
    } else {
        return Err(format!("expected the RDB payload, got {}", line.escape_ascii()));
    };
    Ok(FullSync { header, replid, offset, form, rdb })
}

/// Compares what each side's fake replica got for a full sync; returns (redis, ours) on
/// success. `digests` are the masters' DEBUG DIGEST replies at the time.
fn check_full_sync(d: &mut Diff, what: &str, got: (Result<FullSync, String>, Result<FullSync, String>), digests: (&[u8], &[u8])) -> Option<(FullSync, FullSync)> {
    match got {
        (Ok(r), Ok(o)) => {
            let why = (r.header != o.header).then(|| "different +FULLRESYNC line (replid replaced)".to_string());
            d.checked(&format!("{what}: reply line"), r.header.as_bytes(), o.header.as_bytes(), why);
            let why = (r.form != o.form).then(|| "different transfer form".to_string());
            d.checked(&format!("{what}: payload form"), r.form.as_bytes(), o.form.as_bytes(), why);
            // The files differ in their aux fields (ctime, used-mem...); what matters is
            // that redis-server loads each into the dataset its master had.
            for (name, sync, digest) in [("redis", &r, digests.0), ("ours", &o, digests.1)] {
                let loaded = replscope_tests::rdb_digest(&sync.rdb);
                let why = match &loaded {
                    Ok(dg) if dg.as_slice() == digest => None,
                    Ok(_) => Some(format!("{name}'s RDB loads into a different dataset than its master's DEBUG DIGEST")),
                    Err(e) => Some(format!("redis-server cannot load {name}'s RDB: {}", e.lines().rev().take(3).collect::<Vec<_>>().join(" / "))),
                };
                let got = loaded.unwrap_or_default();
                d.checked(&format!("{what}: {name}'s RDB ({} bytes) loaded in redis-server, DEBUG DIGEST", sync.rdb.len()), digest, &got, why);
            }
            Some((r, o))
        }
        (r, o) => {
            let s = |x: &Result<FullSync, String>| match x {
                Ok(f) => format!("{} {} ({} bytes)", f.header, f.form, f.rdb.len()),
                Err(e) => e.clone(),
            };
            d.checked(what, s(&r).as_bytes(), s(&o).as_bytes(), Some("full sync failed".into()));
            None
        }
    }
}

/// Sends `cmds` on connection 0 (replies compared) and compares the bytes each replica
/// connection receives: the replication stream must be byte-identical.
fn stream_step(d: &mut Diff, replica: usize, what: &str, cmds: &[Vec<&str>]) -> usize {
    d.pipeline(0, cmds);
    let (r, o) = d.each(replica, |_, c| c.read_idle(Duration::from_millis(400)));
    let why = (r != o).then(|| "different replication stream".to_string());
    d.checked(&format!("replication stream after: {what}"), &r, &o, why);
    r.len()
}

fn replication(diskless: bool) {
    let delay_args = ["--repl-diskless-sync", if diskless { "yes" } else { "no" }, "--repl-diskless-sync-delay", "0", "--repl-ping-replica-period", "3600"];
    let (redis, ours) = pair(&delay_args);
    let name = if diskless { "replication, diskless" } else { "replication, disk" };
    let mut d = Diff::new(name, &redis, &ours);
    let at = (unix_now() + 10_000).to_string();
    let at_ms = ((unix_now() + 10_000) * 1000).to_string();

    d.cmd(&["ROLE"]);
    d.check(0, &["INFO", "replication"], Cmp::Info);
    d.cmd(&["MSET", "a", "1", "b", "2"]);
    d.cmd(&["RPUSH", "list", "x", "y"]);
    d.cmd(&["HSET", "hash", "f", "v"]);
    d.cmd(&["SADD", "set", "m1", "m2"]);
    d.cmd(&["SET", "vol", "v", "PXAT", &at_ms]);
    d.cmd(&["SELECT", "2"]);
    d.cmd(&["SET", "in2", "v"]);
    d.cmd(&["SELECT", "0"]);
    let dg = d.each(0, |_, c| c.call(&["DEBUG", "DIGEST"]).unwrap_or_default());
    // The first replication cron (1 s after start) pings replicas: start after it, and with
    // a one-hour ping period no PING lands in the streams compared below.
    std::thread::sleep(Duration::from_millis(1200));

    let rep = d.open();
    d.check(rep, &["REPLCONF", "listening-port", "7777"], Cmp::Exact);
    d.check(rep, &["REPLCONF", "capa", "eof", "capa", "psync2"], Cmp::Exact);
    let got = d.each(rep, |_, c| {
        c.send(&replscope_tests::encode(&["PSYNC", "?", "-1"]));
        read_full_sync(c, true)
    });
    let Some((rs, os)) = check_full_sync(&mut d, "PSYNC ? -1", got, (&dg.0, &dg.1)) else {
        d.finish();
        return;
    };
    // 7.0 starts streaming to a diskless replica on its first ACK.
    let (roff, ooff) = (rs.offset, os.offset);
    d.each(rep, |side, c| {
        let off = if side.which == Which::Redis { roff } else { ooff };
        c.send(&replscope_tests::encode(&["REPLCONF", "ACK", &off.to_string()]));
    });
    std::thread::sleep(Duration::from_millis(100));

    let mut streamed = 0;
    streamed += stream_step(&mut d, rep, "writes to db 0", &[
        vec!["SET", "a", "10"],
        vec!["INCR", "a"],
        vec!["GET", "a"],
        vec!["RPUSH", "list", "z"],
        vec!["HSET", "hash", "g", "w"],
        vec!["SADD", "set", "m3"],
        vec!["DEL", "b", "nosuchkey"],
        vec!["INCR", "hash"],
        vec!["EXPIREAT", "list", &at],
        vec!["SET", "vol2", "v", "PXAT", &at_ms],
        vec!["INCRBYFLOAT", "fl", "1.5"],
        vec!["GETSET", "a", "20"],
        vec!["APPEND", "a", "x"],
        vec!["PERSIST", "list"],
    ]);
    streamed += stream_step(&mut d, rep, "other databases and MULTI", &[
        vec!["SELECT", "2"],
        vec!["SET", "in2", "w"],
        vec!["SELECT", "0"],
        vec!["MULTI"],
        vec!["INCR", "cnt"],
        vec!["INCR", "cnt"],
        vec!["EXEC"],
        vec!["MULTI"],
        vec!["GET", "cnt"],
        vec!["EXEC"],
        vec!["FLUSHDB"],
        vec!["SET", "after-flush", "v"],
    ]);
    let (rt, ot) = (roff + streamed as u64, ooff + streamed as u64);
    d.each(rep, |side, c| {
        let off = if side.which == Which::Redis { rt } else { ot };
        c.send(&replscope_tests::encode(&["REPLCONF", "ACK", &off.to_string()]));
    });
    std::thread::sleep(Duration::from_millis(100));
    d.cmd(&["ROLE"]);
    d.check(0, &["INFO", "replication"], Cmp::Info);

    // The replica goes away and comes back asking for the next byte: partial resync.
    d.close(rep);
    std::thread::sleep(Duration::from_millis(100));
    d.cmd(&["SET", "while-away", "v"]);
    let back = d.open();
    d.check(back, &["REPLCONF", "capa", "eof", "capa", "psync2"], Cmp::Exact);
    let (rid, oid) = (rs.replid.clone(), os.replid.clone());
    let cont = d.each(back, |side, c| {
        let (id, off) = if side.which == Which::Redis { (&rid, rt) } else { (&oid, ot) };
        c.send(&replscope_tests::encode(&["PSYNC", id, &(off + 1).to_string()]));
        let line = c.read_line().unwrap_or_default();
        String::from_utf8_lossy(&line).replace(id.as_str(), "<replid>")
    });
    let why = (cont.0 != cont.1).then(|| "different PSYNC <replid> <offset> reply (replid replaced)".to_string());
    d.checked("PSYNC <replid> <next offset>", cont.0.as_bytes(), cont.1.as_bytes(), why);
    let (r, o) = d.each(back, |_, c| c.read_idle(Duration::from_millis(400)));
    let why = (r != o).then(|| "different backlog replay".to_string());
    d.checked("backlog replayed after +CONTINUE", &r, &o, why);
    stream_step(&mut d, back, "writes after the partial resync", &[vec!["SET", "back", "1"], vec!["DEL", "while-away"]]);

    // A replica that asks for an unknown history gets a full resync; SYNC is the old form.
    let dg = d.each(0, |_, c| c.call(&["DEBUG", "DIGEST"]).unwrap_or_default());
    let again = d.open();
    let got = d.each(again, |_, c| {
        c.send(&replscope_tests::encode(&["PSYNC", "0123456789012345678901234567890123456789", "5"]));
        read_full_sync(c, true)
    });
    check_full_sync(&mut d, "PSYNC <unknown replid> 5", got, (&dg.0, &dg.1));
    let old = d.open();
    let got = d.each(old, |_, c| {
        c.send(b"SYNC\r\n");
        read_full_sync(c, false)
    });
    check_full_sync(&mut d, "SYNC", got, (&dg.0, &dg.1));
    d.check(0, &["INFO", "replication"], Cmp::Info);
    d.finish();
}

#[test]
fn differential_replication_disk() {
    replication(false);
}

#[test]
fn differential_replication_diskless() {
    replication(true);
}

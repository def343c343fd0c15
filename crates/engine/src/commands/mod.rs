//! The command table and the helpers every command family shares.
//!
//! A handler gets the arguments (name included) and returns the reply, or `Err(reply)` for an
//! error reply, so `?` reads naturally. Arity and auth are checked before a handler runs.

use std::collections::BTreeMap;

use crate::client::Client;
use crate::resp::{string2ll, Frame};
use crate::server::Server;
use crate::time::Millis;

mod command_info;
mod connection;
mod hashes;
mod keys;
mod lists;
mod server_cmds;
mod sets;
mod strings;

pub type CmdResult = Result<Frame, Frame>;
pub type Handler = fn(&mut Ctx, &[Vec<u8>]) -> CmdResult;

/// The command changes the dataset (propagated to replicas, refused on read-only replicas).
pub const WRITE: u32 = 1 << 0;
/// Allowed before AUTH.
pub const NO_AUTH: u32 = 1 << 1;
/// Only reads the dataset.
pub const READONLY: u32 = 1 << 2;
/// Administrative (CONFIG, DEBUG, SHUTDOWN...).
pub const ADMIN: u32 = 1 << 3;
/// Allowed while the dataset is loading (`CMD_LOADING`).
pub const LOADING_OK: u32 = 1 << 4;
/// Allowed on a replica whose link is down with replica-serve-stale-data no (`CMD_STALE`).
pub const STALE_OK: u32 = 1 << 5;
const LS: u32 = LOADING_OK | STALE_OK;
/// May grow memory: refused with -OOM when nothing can be evicted (`CMD_DENYOOM`).
pub const DENY_OOM: u32 = 1 << 6;
const WD: u32 = WRITE | DENY_OOM;

pub struct Spec {
    /// Lower-case name as Redis's `fullname` (container subcommands are `parent|sub`).
    pub name: &'static str,
    /// Positive: exact argument count; negative: at least that many.
    pub arity: i32,
    pub flags: u32,
    pub run: Handler,
    pub subcommands: &'static [Spec],
}

const fn cmd(name: &'static str, arity: i32, flags: u32, run: Handler) -> Spec {
    Spec { name, arity, flags, run, subcommands: &[] }
}

const fn container(name: &'static str, subcommands: &'static [Spec]) -> Spec {
    Spec { name, arity: -2, flags: 0, run: container_help, subcommands }
}

/// What one command invocation can see and change.
pub struct Ctx<'a> {
    pub now: Millis,
    pub server: &'a mut Server,
    pub clients: &'a mut BTreeMap<u64, Client>,
    /// The calling client's id.
    pub me: u64,
    /// The calling client's selected DB (written back after the command).
    pub db: usize,
}

impl Ctx<'_> {
    pub fn client(&mut self) -> Option<&mut Client> {
        self.clients.get_mut(&self.me)
    }

    /// Queues a write for the replication stream, in the client's DB.
    pub fn propagate(&mut self, args: Vec<Vec<u8>>) {
        self.propagate_as_is(&args);
    }

    /// Queues the command exactly as the client sent it.
    pub fn propagate_as_is(&mut self, args: &[Vec<u8>]) {
        // Every write counts towards the `save` rules, on masters and replicas alike.
        self.server.save.dirty += 1;
        self.server.repl.propagate(self.db, args);
    }
}

/// Builds a propagated command from byte-string pieces.
pub fn argv<const N: usize>(parts: [&[u8]; N]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.to_vec()).collect()
}

pub enum Lookup {
    Found(&'static Spec),
    /// The container exists but not this subcommand.
    UnknownSubcommand,
    Unknown,
}

/// Finds the spec for `args` (case-insensitive; containers resolve their subcommand).
pub fn lookup(args: &[Vec<u8>]) -> Lookup {
    let Some(name) = args.first() else { return Lookup::Unknown };
    let Some(spec) = top_level(name) else {
        return Lookup::Unknown;
    };
    if spec.subcommands.is_empty() || args.len() < 2 {
        return Lookup::Found(spec);
    }
    let sub = &args[1];
    let prefix = spec.name.len() + 1;
    match spec.subcommands.iter().find(|s| s.name[prefix..].as_bytes().eq_ignore_ascii_case(sub)) {
        Some(s) => Lookup::Found(s),
        None => Lookup::UnknownSubcommand,
    }
}

/// The command named `name` (any case): a hash lookup, as every command runs one.
fn top_level(name: &[u8]) -> Option<&'static Spec> {
    static INDEX: std::sync::OnceLock<rustc_hash::FxHashMap<&'static [u8], &'static Spec>> = std::sync::OnceLock::new();
    let index = INDEX.get_or_init(|| {
        let mut m = rustc_hash::FxHashMap::default();
        for s in TABLE {
            m.entry(s.name.as_bytes()).or_insert(s);
        }
        m
    });
    // Names are short: lower-case them on the stack. Longer input names no command.
    let mut buf = [0u8; 32];
    let lower = buf.get_mut(..name.len())?;
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    index.get(&*lower).copied()
}

/// Commands the engine implements (COMMAND COUNT reports this, not redis-server's 240).
pub fn count() -> usize {
    TABLE.len()
}

pub fn table() -> &'static [Spec] {
    TABLE
}

pub fn arity_ok(spec: &Spec, argc: usize) -> bool {
    let argc = argc as i64;
    let arity = spec.arity as i64;
    if arity > 0 {
        argc == arity
    } else {
        argc >= -arity
    }
}

fn container_help(_ctx: &mut Ctx, args: &[Vec<u8>]) -> CmdResult {
    // Reached only as `CONTAINER` alone, which fails the arity check first; kept total.
    Err(arity_error(&String::from_utf8_lossy(&args[0]).to_ascii_lowercase()))
}

// ---- shared reply helpers -------------------------------------------------------------------

pub fn arity_error(fullname: &str) -> Frame {
    Frame::err(format!("ERR wrong number of arguments for '{fullname}' command"))
}

pub fn wrongtype() -> Frame {
    Frame::err("WRONGTYPE Operation against a key holding the wrong kind of value")
}

pub fn syntax_error() -> Frame {
    Frame::err("ERR syntax error")
}

pub fn not_integer() -> Frame {
    Frame::err("ERR value is not an integer or out of range")
}

pub fn not_float() -> Frame {
    Frame::err("ERR value is not a valid float")
}

/// `getLongLongFromObjectOrReply`.
pub fn int_arg(arg: &[u8]) -> Result<i64, Frame> {
    string2ll(arg).ok_or_else(not_integer)
}

/// `getPositiveLongFromObjectOrReply` with Redis's "must be positive" text.
pub fn positive_count(arg: &[u8]) -> Result<i64, Frame> {
    match string2ll(arg) {
        Some(n) if n >= 0 => Ok(n),
        _ => Err(Frame::err("ERR value is out of range, must be positive")),
    }
}

pub fn eq_ic(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

pub fn int_reply(n: usize) -> Frame {
    Frame::Integer(n as i64)
}

static TABLE: &[Spec] = &[
    // strings
    cmd("get", 2, READONLY, strings::get),
    cmd("set", -3, WD, strings::set),
    cmd("setnx", 3, WD, strings::setnx),
    cmd("setex", 4, WD, strings::setex),
    cmd("psetex", 4, WD, strings::psetex),
    cmd("getset", 3, WD, strings::getset),
    cmd("getdel", 2, WRITE, strings::getdel),
    cmd("getex", -2, WRITE, strings::getex),
    cmd("mset", -3, WD, strings::mset),
    cmd("mget", -2, READONLY, strings::mget),
    cmd("incr", 2, WD, strings::incr),
    cmd("decr", 2, WD, strings::decr),
    cmd("incrby", 3, WD, strings::incrby),
    cmd("decrby", 3, WD, strings::decrby),
    cmd("incrbyfloat", 3, WD, strings::incrbyfloat),
    cmd("append", 3, WD, strings::append),
    cmd("strlen", 2, READONLY, strings::strlen),
    // keys
    cmd("del", -2, WRITE, keys::del),
    cmd("unlink", -2, WRITE, keys::del),
    cmd("exists", -2, READONLY, keys::exists),
    cmd("expire", -3, WRITE, keys::expire),
    cmd("pexpire", -3, WRITE, keys::pexpire),
    cmd("expireat", -3, WRITE, keys::expireat),
    cmd("pexpireat", -3, WRITE, keys::pexpireat),
    cmd("ttl", 2, READONLY, keys::ttl),
    cmd("pttl", 2, READONLY, keys::pttl),
    cmd("persist", 2, WRITE, keys::persist),
    cmd("type", 2, READONLY, keys::type_cmd),
    cmd("keys", 2, READONLY, keys::keys),
    cmd("scan", -2, READONLY, keys::scan),
    cmd("dbsize", 1, READONLY, keys::dbsize),
    cmd("rename", 3, WRITE, keys::rename),
    cmd("flushdb", -1, WRITE, keys::flushdb),
    cmd("flushall", -1, WRITE, keys::flushall),
    cmd("randomkey", 1, READONLY, keys::randomkey),
    // lists
    cmd("lpush", -3, WD, lists::lpush),
    cmd("rpush", -3, WD, lists::rpush),
    cmd("lpop", -2, WRITE, lists::lpop),
    cmd("rpop", -2, WRITE, lists::rpop),
    cmd("lrange", 4, READONLY, lists::lrange),
    cmd("llen", 2, READONLY, lists::llen),
    cmd("lindex", 3, READONLY, lists::lindex),
    // hashes
    cmd("hset", -4, WD, hashes::hset),
    cmd("hget", 3, READONLY, hashes::hget),
    cmd("hdel", -3, WRITE, hashes::hdel),
    cmd("hgetall", 2, READONLY, hashes::hgetall),
    cmd("hlen", 2, READONLY, hashes::hlen),
    cmd("hexists", 3, READONLY, hashes::hexists),
    cmd("hincrby", 4, WD, hashes::hincrby),
    // sets
    cmd("sadd", -3, WD, sets::sadd),
    cmd("srem", -3, WRITE, sets::srem),
    cmd("smembers", 2, READONLY, sets::smembers),
    cmd("scard", 2, READONLY, sets::scard),
    cmd("sismember", 3, READONLY, sets::sismember),
    cmd("spop", -2, WRITE, sets::spop),
    // server and connection
    cmd("ping", -1, 0, server_cmds::ping),
    cmd("echo", 2, 0, server_cmds::echo),
    cmd("time", 1, LS, server_cmds::time),
    cmd("select", 2, LS, server_cmds::select),
    cmd("info", -1, LS, server_cmds::info),
    cmd("debug", -2, ADMIN | LS, server_cmds::debug),
    cmd("auth", -2, NO_AUTH | LS, connection::auth),
    container(
        "config",
        &[
            cmd("config|get", -3, ADMIN | LS, server_cmds::config_get),
            cmd("config|set", -4, ADMIN | LS, server_cmds::config_set),
            cmd("config|resetstat", 2, ADMIN | LS, server_cmds::config_resetstat),
        ],
    ),
    container(
        "client",
        &[
            cmd("client|setname", 3, LS, connection::client_setname),
            cmd("client|getname", 2, LS, connection::client_getname),
            cmd("client|id", 2, LS, connection::client_id),
            cmd("client|info", 2, LS, connection::client_info),
            cmd("client|list", -2, ADMIN | LS, connection::client_list),
            cmd("client|kill", -3, ADMIN | LS, connection::client_kill),
        ],
    ),
    Spec {
        name: "command",
        arity: -1,
        flags: LS,
        run: server_cmds::command_all,
        subcommands: &[
            cmd("command|count", 2, LS, server_cmds::command_count),
            cmd("command|list", -2, LS, server_cmds::command_list),
            cmd("command|docs", -2, LS, server_cmds::command_docs),
            cmd("command|info", -2, LS, server_cmds::command_info),
        ],
    },
    // Transactions and SHUTDOWN are steered by the node itself (they change how it reads input).
    cmd("multi", 1, LS, server_cmds::handled_by_node),
    cmd("exec", 1, LS, server_cmds::handled_by_node),
    cmd("discard", 1, LS, server_cmds::handled_by_node),
    cmd("shutdown", -1, ADMIN | LS, server_cmds::shutdown),
    // Replication: steered by the node (they turn a client into a replica).
    cmd("replconf", -1, ADMIN | LS, server_cmds::handled_by_node),
    cmd("psync", -3, ADMIN, server_cmds::handled_by_node),
    cmd("sync", 1, ADMIN, server_cmds::handled_by_node),
    cmd("role", 1, LS, server_cmds::handled_by_node),
    cmd("replicaof", 3, ADMIN | STALE_OK, server_cmds::handled_by_node),
    cmd("wait", 3, 0, server_cmds::handled_by_node),
    cmd("save", 1, ADMIN, server_cmds::handled_by_node),
    cmd("bgsave", -1, ADMIN, server_cmds::handled_by_node),
    cmd("lastsave", 1, LS, server_cmds::handled_by_node),
    cmd("failover", -1, ADMIN | STALE_OK, server_cmds::handled_by_node),
    cmd("slaveof", 3, ADMIN | STALE_OK, server_cmds::handled_by_node),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_top_level_command_has_redis_command_info() {
        for spec in TABLE {
            let found = command_info::ENTRIES.binary_search_by(|(n, _)| n.cmp(&spec.name));
            assert!(found.is_ok(), "no COMMAND INFO entry for {}", spec.name);
            let bytes = command_info::ENTRIES[found.unwrap()].1;
            let (frame, used) = Frame::decode(bytes).unwrap().unwrap();
            assert_eq!(used, bytes.len());
            let Frame::Array(items) = frame else { panic!("entry is an array") };
            assert_eq!(items.len(), 10);
            assert_eq!(items[0], Frame::bulk(spec.name));
            assert_eq!(items[1], Frame::Integer(spec.arity as i64), "arity of {} matches redis-server", spec.name);
        }
    }
}

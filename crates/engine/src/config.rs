//! Configuration: the redis.conf directives the engine understands, with redis-server's
//! defaults, validation and error texts. `CONFIG GET/SET` and the command line share it.

use std::collections::BTreeMap;

use crate::glob::glob_match;

#[derive(Clone, Copy, Debug)]
enum Kind {
    Bool,
    Int { min: i64, max: i64 },
    Memory { max: i64 },
    Str,
    Enum(&'static [&'static str]),
    Save,
    /// `yes`, `no` or `local` (enable-debug-command).
    Protection,
}

struct Param {
    name: &'static str,
    kind: Kind,
    default: &'static str,
    /// Only settable at start-up (`can't set immutable config`).
    immutable: bool,
}

const fn p(name: &'static str, kind: Kind, default: &'static str) -> Param {
    Param { name, kind, default, immutable: false }
}

const fn fixed(name: &'static str, kind: Kind, default: &'static str) -> Param {
    Param { name, kind, default, immutable: true }
}

const LOGLEVELS: &[&str] = &["debug", "verbose", "notice", "warning"];
const POLICIES: &[&str] = &[
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "noeviction",
];
const DISKLESS_LOAD: &[&str] = &["disabled", "on-empty-db", "swapdb"];
const INT_MAX: i64 = i32::MAX as i64;
const LONG_MAX: i64 = i64::MAX;

/// Every directive, with redis-server 7.0's default.
static PARAMS: &[Param] = &[
    p("port", Kind::Int { min: 0, max: 65535 }, "6379"),
    fixed("bind", Kind::Str, "* -::*"),
    fixed("databases", Kind::Int { min: 1, max: INT_MAX }, "16"),
    fixed("daemonize", Kind::Bool, "no"),
    fixed("enable-debug-command", Kind::Protection, "no"),
    p("requirepass", Kind::Str, ""),
    p("masterauth", Kind::Str, ""),
    p("masteruser", Kind::Str, ""),
    p("dir", Kind::Str, "/"),
    p("dbfilename", Kind::Str, "dump.rdb"),
    p("save", Kind::Save, "3600 1 300 100 60 10000"),
    p("appendonly", Kind::Bool, "no"),
    p("loglevel", Kind::Enum(LOGLEVELS), "notice"),
    fixed("logfile", Kind::Str, ""),
    p("hz", Kind::Int { min: 0, max: INT_MAX }, "10"),
    p("timeout", Kind::Int { min: 0, max: INT_MAX }, "0"),
    p("maxclients", Kind::Int { min: 1, max: INT_MAX }, "10000"),
    p("maxmemory", Kind::Memory { max: LONG_MAX }, "0"),
    p("maxmemory-policy", Kind::Enum(POLICIES), "noeviction"),
    p("maxmemory-samples", Kind::Int { min: 1, max: 64 }, "5"),
    p("maxmemory-clients", Kind::Memory { max: LONG_MAX }, "0"),
    p("maxmemory-eviction-tenacity", Kind::Int { min: 0, max: 100 }, "10"),
    p("proto-max-bulk-len", Kind::Memory { max: LONG_MAX }, "536870912"),
    p("client-query-buffer-limit", Kind::Memory { max: LONG_MAX }, "1073741824"),
    p("replicaof", Kind::Str, ""),
    p("replica-read-only", Kind::Bool, "yes"),
    p("replica-serve-stale-data", Kind::Bool, "yes"),
    p("replica-priority", Kind::Int { min: 0, max: INT_MAX }, "100"),
    p("replica-announce-ip", Kind::Str, ""),
    p("replica-announce-port", Kind::Int { min: 0, max: 65535 }, "0"),
    p("replica-lazy-flush", Kind::Bool, "no"),
    p("repl-backlog-size", Kind::Memory { max: LONG_MAX }, "1048576"),
    p("repl-backlog-ttl", Kind::Int { min: 0, max: LONG_MAX }, "3600"),
    p("repl-diskless-sync", Kind::Bool, "yes"),
    p("repl-diskless-sync-delay", Kind::Int { min: 0, max: INT_MAX }, "5"),
    p("repl-diskless-sync-max-replicas", Kind::Int { min: 0, max: INT_MAX }, "0"),
    p("repl-diskless-load", Kind::Enum(DISKLESS_LOAD), "disabled"),
    p("repl-ping-replica-period", Kind::Int { min: 1, max: INT_MAX }, "10"),
    p("repl-timeout", Kind::Int { min: 1, max: INT_MAX }, "60"),
    p("min-replicas-to-write", Kind::Int { min: 0, max: INT_MAX }, "0"),
    p("min-replicas-max-lag", Kind::Int { min: 0, max: INT_MAX }, "10"),
];

/// Old names Redis still accepts (`slaveof` and friends).
static ALIASES: &[(&str, &str)] = &[
    ("slaveof", "replicaof"),
    ("slave-read-only", "replica-read-only"),
    ("slave-serve-stale-data", "replica-serve-stale-data"),
    ("slave-priority", "replica-priority"),
    ("slave-announce-ip", "replica-announce-ip"),
    ("slave-announce-port", "replica-announce-port"),
    ("slave-lazy-flush", "replica-lazy-flush"),
    ("repl-ping-slave-period", "repl-ping-replica-period"),
    ("min-slaves-to-write", "min-replicas-to-write"),
    ("min-slaves-max-lag", "min-replicas-max-lag"),
];

/// A failed CONFIG SET: Redis's message names the argument and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    Unknown(String),
    Invalid { name: String, reason: String },
}

impl ConfigError {
    /// The text after `-ERR ` that CONFIG SET answers.
    pub fn config_set_message(&self) -> String {
        match self {
            ConfigError::Unknown(n) => {
                format!("Unknown option or number of arguments for CONFIG SET - '{n}'")
            }
            ConfigError::Invalid { name, reason } => {
                format!("CONFIG SET failed (possibly related to argument '{name}') - {reason}")
            }
        }
    }
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigError::Unknown(n) => write!(f, "Bad directive or wrong number of arguments: '{n}'"),
            ConfigError::Invalid { name, reason } => write!(f, "'{name}': {reason}"),
        }
    }
}

/// The node's configuration. Values are kept in their canonical text form (what CONFIG GET
/// prints); typed getters parse them.
#[derive(Clone, Debug)]
pub struct Config {
    values: BTreeMap<&'static str, String>,
    hot: Hot,
}

/// Directives every command reads, parsed once whenever one is set (a map lookup and a parse
/// per command and directive were a measurable share of the simulator's time).
#[derive(Clone, Copy, Debug, Default)]
pub struct Hot {
    pub proto_max_bulk_len: i64,
    pub client_query_buffer_limit: i64,
    pub maxmemory: i64,
    pub min_replicas_to_write: i64,
    pub min_replicas_max_lag: i64,
    pub requirepass_set: bool,
    pub replica_read_only: bool,
    pub replica_serve_stale_data: bool,
}

impl Default for Config {
    fn default() -> Config {
        let mut c = Config { values: PARAMS.iter().map(|p| (p.name, p.default.to_string())).collect(), hot: Hot::default() };
        c.refresh_hot();
        c
    }
}

impl Config {
    /// Applies redis-server style arguments: `--name value [value...]` pairs (as
    /// `redis-server --port 7000 --save ""` takes them), checking every value.
    pub fn from_args<S: AsRef<str>>(args: &[S]) -> Result<Config, ConfigError> {
        let mut config = Config::default();
        let mut i = 0;
        while i < args.len() {
            let flag = args[i].as_ref();
            let Some(name) = flag.strip_prefix("--") else {
                return Err(ConfigError::Unknown(flag.to_string()));
            };
            // A directive takes every following argument up to the next `--name`.
            let mut j = i + 1;
            while j < args.len() && !args[j].as_ref().starts_with("--") {
                j += 1;
            }
            let values: Vec<&str> = args[i + 1..j].iter().map(|s| s.as_ref()).collect();
            let value = if name.eq_ignore_ascii_case("save") || name.eq_ignore_ascii_case("replicaof") || name.eq_ignore_ascii_case("slaveof") {
                values.join(" ")
            } else if values.len() == 1 {
                values[0].to_string()
            } else {
                return Err(ConfigError::Unknown(name.to_string()));
            };
            config.apply(name, &value, true)?;
            i = j;
        }
        Ok(config)
    }

    /// CONFIG SET: a runtime change (immutable directives are refused).
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        self.apply(name, value, false)
    }

    /// The canonical name for `name` (case-insensitive, aliases resolved).
    pub fn canonical(name: &str) -> Option<&'static str> {
        let lower = name.to_ascii_lowercase();
        let target = ALIASES.iter().find(|(a, _)| *a == lower).map(|(_, t)| *t).unwrap_or(&lower);
        PARAMS.iter().find(|p| p.name == target).map(|p| p.name)
    }

    /// The value as CONFIG GET prints it.
    pub fn get(&self, name: &str) -> Option<&str> {
        // Callers mostly pass the canonical name: one map lookup, no lowercasing or scans
        // (this runs several times per command).
        if let Some(v) = self.values.get(name) {
            return Some(v.as_str());
        }
        let canonical = Config::canonical(name)?;
        self.values.get(canonical).map(|s| s.as_str())
    }

    /// CONFIG GET: name/value pairs for each argument (exact names or globs). An exact name is
    /// echoed as typed, a glob lists canonical names; each directive at most once.
    pub fn get_matching(&self, patterns: &[&[u8]]) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut seen: Vec<&'static str> = Vec::new();
        for pat in patterns {
            let text = String::from_utf8_lossy(pat);
            if !pat.iter().any(|b| matches!(b, b'[' | b'*' | b'?')) {
                if let Some(c) = Config::canonical(&text) {
                    if !seen.contains(&c) {
                        seen.push(c);
                        out.push((text.into_owned(), self.values[c].clone()));
                    }
                }
                continue;
            }
            for p in PARAMS {
                if !seen.contains(&p.name) && glob_match(pat, p.name.as_bytes(), true) {
                    seen.push(p.name);
                    out.push((p.name.to_string(), self.values[p.name].clone()));
                }
            }
        }
        out
    }

    pub fn int(&self, name: &str) -> i64 {
        self.get(name).and_then(|v| v.parse().ok()).unwrap_or(0)
    }

    pub fn bool(&self, name: &str) -> bool {
        self.get(name) == Some("yes")
    }

    pub fn text(&self, name: &str) -> &str {
        self.get(name).unwrap_or("")
    }

    fn apply(&mut self, name: &str, value: &str, startup: bool) -> Result<(), ConfigError> {
        let Some(canonical) = Config::canonical(name) else {
            return Err(ConfigError::Unknown(name.to_string()));
        };
        let param = PARAMS.iter().find(|p| p.name == canonical).ok_or_else(|| ConfigError::Unknown(name.to_string()))?;
        let invalid = |reason: String| ConfigError::Invalid { name: name.to_string(), reason };
        if param.immutable && !startup {
            return Err(invalid("can't set immutable config".into()));
        }
        let stored = match param.kind {
            Kind::Bool => match value.to_ascii_lowercase().as_str() {
                "yes" => "yes".to_string(),
                "no" => "no".to_string(),
                _ => return Err(invalid("argument must be 'yes' or 'no'".into())),
            },
            Kind::Protection => match value.to_ascii_lowercase().as_str() {
                v @ ("yes" | "no" | "local") => v.to_string(),
                _ => return Err(invalid("argument must be 'yes', 'no' or 'local'".into())),
            },
            Kind::Int { min, max } => {
                let n: i64 = value
                    .parse()
                    .map_err(|_| invalid("argument couldn't be parsed into an integer".into()))?;
                if n < min || n > max {
                    return Err(invalid(format!("argument must be between {min} and {max} inclusive")));
                }
                n.to_string()
            }
            Kind::Memory { max } => {
                let n = parse_memory(value).ok_or_else(|| invalid("argument must be a memory value".into()))?;
                if n < 0 || n > max {
                    return Err(invalid(format!("argument must be between 0 and {max} inclusive")));
                }
                // Redis clamps a tiny backlog to CONFIG_REPL_BACKLOG_MIN_SIZE (reads back 16384).
                if canonical == "repl-backlog-size" {
                    n.max(crate::backlog::MIN_SIZE as i64).to_string()
                } else {
                    n.to_string()
                }
            }
            Kind::Str => value.to_string(),
            Kind::Enum(options) => {
                let lower = value.to_ascii_lowercase();
                if !options.contains(&lower.as_str()) {
                    return Err(invalid(format!(
                        "argument(s) must be one of the following: {}",
                        options.join(", ")
                    )));
                }
                lower
            }
            Kind::Save => normalize_save(value).ok_or_else(|| invalid("Invalid save parameters".into()))?,
        };
        self.values.insert(canonical, stored);
        self.refresh_hot();
        Ok(())
    }

    /// The per-command directives, already parsed.
    pub fn hot(&self) -> &Hot {
        &self.hot
    }

    fn refresh_hot(&mut self) {
        self.hot = Hot {
            proto_max_bulk_len: self.int("proto-max-bulk-len"),
            client_query_buffer_limit: self.int("client-query-buffer-limit"),
            maxmemory: self.int("maxmemory"),
            min_replicas_to_write: self.int("min-replicas-to-write"),
            min_replicas_max_lag: self.int("min-replicas-max-lag"),
            requirepass_set: !self.text("requirepass").is_empty(),
            replica_read_only: self.bool("replica-read-only"),
            replica_serve_stale_data: self.bool("replica-serve-stale-data"),
        };
    }
}

/// `memtoull`: a byte count with an optional k/kb/m/mb/g/gb suffix (case-insensitive).
pub fn parse_memory(v: &str) -> Option<i64> {
    let lower = v.to_ascii_lowercase();
    let split = lower.find(|c: char| !c.is_ascii_digit() && c != '-').unwrap_or(lower.len());
    let (num, unit) = lower.split_at(split);
    let mul: i64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    num.parse::<i64>().ok()?.checked_mul(mul)
}

/// `save` is either empty or pairs of positive integers "seconds changes".
fn normalize_save(v: &str) -> Option<String> {
    let parts: Vec<&str> = v.split_whitespace().collect();
    if parts.is_empty() {
        return Some(String::new());
    }
    if parts.len() % 2 != 0 {
        return None;
    }
    let nums: Option<Vec<i64>> = parts.iter().map(|p| p.parse::<i64>().ok().filter(|n| *n >= 0)).collect();
    Some(nums?.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_redis_7_0() {
        let c = Config::default();
        assert_eq!(c.get("repl-backlog-size"), Some("1048576"));
        assert_eq!(c.get("save"), Some("3600 1 300 100 60 10000"));
        assert_eq!(c.get("SLAVE-READ-ONLY"), Some("yes"));
        assert_eq!(c.int("databases"), 16);
    }

    #[test]
    fn command_line_form() {
        let c = Config::from_args(&["--port", "7001", "--save", "", "--requirepass", "s3", "--maxmemory", "1mb"]).unwrap();
        assert_eq!(c.int("port"), 7001);
        assert_eq!(c.get("save"), Some(""));
        assert_eq!(c.get("requirepass"), Some("s3"));
        assert_eq!(c.get("maxmemory"), Some("1048576"));
        let c = Config::from_args(&["--replicaof", "127.0.0.1", "7000"]).unwrap();
        assert_eq!(c.get("replicaof"), Some("127.0.0.1 7000"));
        assert_eq!(Config::from_args(&["--nope", "1"]).unwrap_err(), ConfigError::Unknown("nope".into()));
        assert!(Config::from_args(&["--port", "abc"]).is_err());
        assert!(Config::from_args(&["port"]).is_err());
    }

    #[test]
    fn config_set_errors_have_redis_texts() {
        let mut c = Config::default();
        assert_eq!(
            c.set("databases", "1").unwrap_err().config_set_message(),
            "CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config"
        );
        assert_eq!(
            c.set("hz", "x").unwrap_err().config_set_message(),
            "CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be parsed into an integer"
        );
        assert_eq!(
            c.set("appendonly", "maybe").unwrap_err().config_set_message(),
            "CONFIG SET failed (possibly related to argument 'appendonly') - argument must be 'yes' or 'no'"
        );
        assert_eq!(
            c.set("foo", "1").unwrap_err().config_set_message(),
            "Unknown option or number of arguments for CONFIG SET - 'foo'"
        );
        c.set("MaxMemory-Policy", "ALLKEYS-LRU").unwrap();
        assert_eq!(c.get("maxmemory-policy"), Some("allkeys-lru"));
    }

    #[test]
    fn config_get_patterns() {
        let c = Config::default();
        let got = c.get_matching(&[b"MAXMEMORY", b"maxmemory*"]);
        assert_eq!(got[0], ("MAXMEMORY".to_string(), "0".to_string()));
        let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
        assert!(names.contains(&"maxmemory-policy") && names.contains(&"maxmemory-samples"));
        assert_eq!(names.iter().filter(|n| n.eq_ignore_ascii_case("maxmemory")).count(), 1);
        assert!(c.get_matching(&[b"nothing-like-this"]).is_empty());
    }

    #[test]
    fn memory_values() {
        assert_eq!(parse_memory("16kb"), Some(16384));
        assert_eq!(parse_memory("1GB"), Some(1 << 30));
        assert_eq!(parse_memory("5"), Some(5));
        assert_eq!(parse_memory("1tb"), None);
        assert_eq!(parse_memory("x"), None);
    }
}

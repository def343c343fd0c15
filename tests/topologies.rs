//! Differential replication topologies: every scenario runs twice with the same layout and
//! the same arguments, once with real redis-servers and once with replscope-nodes (the two
//! runs in parallel, on their own ports and directories). Each run records a transcript;
//! the transcripts must be identical.
//!
//! What a transcript holds, and the only normalisations applied:
//! * client replies, rendered injectively from the parsed RESP (so byte-identical replies
//!   render identically and any byte difference shows), with replication ids replaced by
//!   `<idN>` in order of first appearance within the run (so an id *change* is still
//!   compared), the servers' own port numbers replaced by their names, and absolute Unix
//!   timestamps (ms or s within a day of now) by `<unix-ms>`/`<unix-s>`;
//! * `INFO replication` field by field (ids and ports as above; `master_last_io_seconds_ago`,
//!   `master_link_down_since_seconds` and `lag=` as small ranges), the sync counters of
//!   `INFO stats`, `DEBUG DIGEST` at checkpoints (the value itself where no key has a TTL,
//!   otherwise only whether all nodes agree: digests cover absolute expire times);
//! * the outcome of every poll ("link up", "offsets equal", ...), which never uses fixed
//!   sleeps except where the point is that something does *not* happen for a while.
//!
//! All servers get `--repl-diskless-sync-delay 0` (no 5 s wait per full sync) and
//! `--repl-ping-replica-period 3600`: the master's heartbeat PING adds 14 bytes to the stream
//! at times that differ between runs, so it is switched on only where scenario 1 measures it.
//! Servers also get `--appendonly no --enable-debug-command yes --save ""` (the harness's base
//! arguments).
//!
//! Fails (never passes silently) when redis-server is not installed.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use replscope_tests::{escape, Client, Kind, ReadError, Reply, Server, TempDir};

const COMMON: &[&str] = &["--repl-diskless-sync-delay", "0", "--repl-ping-replica-period", "3600"];
const HOST: &str = "127.0.0.1";

// ---------------------------------------------------------------------------------------
// Transcripts
// ---------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq)]
enum Val {
    Text(String),
    /// INFO-like `name:value` pairs, compared field by field.
    Fields(Vec<(String, String)>),
}

impl std::fmt::Display for Val {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Val::Text(s) => write!(f, "{s}"),
            Val::Fields(v) => {
                let parts: Vec<String> = v.iter().map(|(k, v)| format!("{k}:{v}")).collect();
                write!(f, "{}", parts.join(" | "))
            }
        }
    }
}

#[derive(Clone, Debug)]
struct Entry {
    label: String,
    val: Val,
}

struct Slot {
    name: String,
    port: u16,
    extra: Vec<String>,
    server: Option<Server>,
    /// Kept between a shutdown and a restart on the same files.
    dir: Option<TempDir>,
    password: Option<String>,
}

/// One run of a scenario against one kind of server.
struct Run {
    kind: Kind,
    slots: Vec<Slot>,
    conns: HashMap<String, Client>,
    entries: Vec<Entry>,
    ids: Vec<String>,
    /// Scenario 1: offsets at or above this value are written `P+d` (the number of heartbeat
    /// PINGs that arrived while idle is timing).
    base: Option<i64>,
    /// Named offsets that are timing in themselves but must be met exactly by other values
    /// (scenario 4: the offset at which FAILOVER paused the writes).
    marks: Vec<(i64, String)>,
    logs: Vec<String>,
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

fn is_hex40(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Run {
    fn new(kind: Kind) -> Run {
        Run { kind, slots: Vec::new(), conns: HashMap::new(), entries: Vec::new(), ids: Vec::new(), base: None, marks: Vec::new(), logs: Vec::new() }
    }

    // ----- servers -----

    fn slot(&self, name: &str) -> &Slot {
        self.slots.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no server named {name}"))
    }

    fn slot_mut(&mut self, name: &str) -> &mut Slot {
        self.slots.iter_mut().find(|s| s.name == name).unwrap_or_else(|| panic!("no server named {name}"))
    }

    fn port(&self, name: &str) -> String {
        self.slot(name).port.to_string()
    }

    /// Starts server `name` with the common arguments plus `extra`.
    fn start(&mut self, name: &str, extra: &[&str]) {
        let mut args: Vec<&str> = COMMON.to_vec();
        args.extend_from_slice(extra);
        let password = extra.iter().position(|a| *a == "--requirepass").map(|i| extra[i + 1].to_string());
        let server = start_checked(self.kind, &args, password.as_deref());
        self.slots.push(Slot {
            name: name.to_string(),
            port: server.port,
            extra: args.iter().map(|s| s.to_string()).collect(),
            server: Some(server),
            dir: None,
            password,
        });
    }

    /// Restarts `name` (after a SHUTDOWN) on the same port, directory and arguments.
    fn restart(&mut self, name: &str) {
        let kind = self.kind;
        let slot = self.slot_mut(name);
        let dir = match (slot.server.take(), slot.dir.take()) {
            (Some(s), _) => s.into_dir(),
            (None, Some(d)) => d,
            (None, None) => panic!("{name} has no directory to restart from"),
        };
        let mut args = Server::base_args(slot.port, dir.path());
        args.extend(slot.extra.iter().cloned());
        let server = Server::spawn(kind, slot.port, dir, &args);
        slot.server = Some(server);
        self.conns.remove(name);
        self.note(&format!("{name}: restarted on the same port, dir and arguments"), "ok");
    }

    /// Kills `name` (SIGKILL) and removes its directory.
    fn kill(&mut self, name: &str) {
        self.conns.remove(name);
        let slot = self.slot_mut(name);
        if let Some(s) = slot.server.take() {
            let log = s.log_text();
            drop(s);
            self.logs.push(format!("--- {} {name} (killed) ---\n{}", self.kind.name(), tail(&log, 40)));
        }
        self.note(&format!("{name}: killed (SIGKILL)"), "ok");
    }

    // ----- connections -----

    fn conn(&mut self, name: &str) -> &mut Client {
        if !self.conns.contains_key(name) {
            let slot = self.slot(name);
            let mut c = Client::connect(slot.port);
            if let Some(p) = slot.password.clone() {
                let r = c.call(&["AUTH", &p]);
                assert_eq!(r, Ok(b"+OK\r\n".to_vec()), "AUTH on {name}");
            }
            self.conns.insert(name.to_string(), c);
        }
        self.conns.get_mut(name).unwrap()
    }

    /// An unrecorded command (for polling). A failed read drops the connection.
    fn call(&mut self, name: &str, args: &[&str]) -> Result<Vec<u8>, ReadError> {
        let r = self.conn(name).call(args);
        if r.is_err() {
            self.conns.remove(name);
        }
        r
    }

    /// `INFO <section>` as name/value pairs (unrecorded).
    fn info_pairs(&mut self, name: &str, section: &str) -> Result<Vec<(String, String)>, String> {
        let raw = self.call(name, &["INFO", section]).map_err(|e| format!("{name}: INFO {section}: {e:?}"))?;
        let text = Reply::parse(&raw).and_then(|r| r.bulk_text()).ok_or_else(|| format!("{name}: INFO reply {}", escape(&raw)))?;
        Ok(text
            .split("\r\n")
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|l| l.split_once(':').map(|(k, v)| (k.to_string(), v.to_string())))
            .collect())
    }

    fn info_map(&mut self, name: &str) -> Result<HashMap<String, String>, String> {
        Ok(self.info_pairs(name, "replication")?.into_iter().collect())
    }

    fn field(&mut self, name: &str, field: &str) -> String {
        self.info_map(name).ok().and_then(|m| m.get(field).cloned()).unwrap_or_else(|| "<missing>".into())
    }

    // ----- normalisation -----

    fn id(&mut self, s: &str) -> String {
        if s.bytes().all(|b| b == b'0') {
            return s.to_string();
        }
        let lower = s.to_ascii_lowercase();
        let i = match self.ids.iter().position(|x| *x == lower) {
            Some(i) => i,
            None => {
                self.ids.push(lower);
                self.ids.len() - 1
            }
        };
        format!("<id{}>", i + 1)
    }

    fn port_name(&self, s: &str) -> Option<String> {
        self.slots.iter().find(|x| x.port.to_string() == s).map(|x| format!("<{}>", x.name))
    }

    fn time_like(n: i64) -> Option<&'static str> {
        let now = now_ms();
        if (n - now).abs() < 86_400_000 {
            Some("<unix-ms>")
        } else if (n - now / 1000).abs() < 86_400 {
            Some("<unix-s>")
        } else {
            None
        }
    }

    /// Replaces 40-hex tokens by id placeholders and time-like numbers; a whole string equal
    /// to a server's port by its name.
    fn norm_text(&mut self, s: &str) -> String {
        if let Some(p) = self.port_name(s) {
            return p;
        }
        let mut out = String::new();
        let mut token = String::new();
        let flush = |run: &mut Run, token: &mut String, out: &mut String| {
            if is_hex40(token) {
                out.push_str(&run.id(token));
            } else if token.len() >= 10 && token.bytes().all(|b| b.is_ascii_digit()) {
                match token.parse::<i64>().ok().and_then(Run::time_like) {
                    Some(t) => out.push_str(t),
                    None => out.push_str(token),
                }
            } else {
                out.push_str(token);
            }
            token.clear();
        };
        for ch in s.chars() {
            if ch.is_ascii_alphanumeric() {
                token.push(ch);
            } else {
                flush(self, &mut token, &mut out);
                out.push(ch);
            }
        }
        flush(self, &mut token, &mut out);
        out
    }

    fn render(&mut self, raw: &[u8]) -> String {
        match Reply::parse(raw) {
            Some(r) => self.render_reply(&r),
            None => format!("<not one RESP2 reply: {}>", escape(raw)),
        }
    }

    fn render_reply(&mut self, r: &Reply) -> String {
        match r {
            Reply::Simple(s) => format!("+{}", self.norm_text(&escape(s))),
            Reply::Error(s) => format!("-{}", escape(s)),
            Reply::Int(n) => {
                if let Some(p) = self.port_name(&n.to_string()) {
                    return format!(":{p}");
                }
                match Run::time_like(*n) {
                    Some(t) => format!(":{t}"),
                    None => format!(":{n}"),
                }
            }
            Reply::Bulk(None) => "(nil)".into(),
            Reply::Bulk(Some(b)) => format!("\"{}\"", self.norm_text(&escape(b))),
            Reply::Array(None) => "*(nil)".into(),
            Reply::Array(Some(v)) => {
                let items: Vec<String> = v.iter().map(|x| self.render_reply(x)).collect();
                format!("[{}]", items.join(", "))
            }
        }
    }

    fn render_result(&mut self, r: &Result<Vec<u8>, ReadError>) -> String {
        match r {
            Ok(b) => self.render(b),
            Err(ReadError::Closed(b)) => format!("<connection closed; received: {}>", escape(b)),
            Err(ReadError::TimedOut(b)) => format!("<no reply within the timeout; received: {}>", escape(b)),
        }
    }

    fn label(&self, name: &str, args: &[&str]) -> String {
        let parts: Vec<String> = args.iter().map(|a| self.port_name(a).unwrap_or_else(|| escape(a.as_bytes()))).collect();
        format!("{name}> {}", parts.join(" "))
    }

    fn offset(&self, v: &str) -> String {
        if let Ok(n) = v.parse::<i64>() {
            for (m, name) in &self.marks {
                if n == *m {
                    return name.clone();
                }
                if n == m + 1 {
                    return format!("{name}+1");
                }
            }
        }
        match (self.base, v.parse::<i64>()) {
            (Some(b), Ok(n)) if n == b => "P".into(),
            (Some(b), Ok(n)) if n > b => format!("P+{}", n - b),
            _ => v.to_string(),
        }
    }

    fn small(v: &str, max: i64) -> String {
        match v.parse::<i64>() {
            Ok(n) if (0..=max).contains(&n) => format!("0..{max}"),
            _ => v.to_string(),
        }
    }

    fn norm_field(&mut self, k: &str, v: &str) -> String {
        match k {
            "master_replid" | "master_replid2" => self.norm_text(v),
            "master_port" => self.port_name(v).unwrap_or_else(|| v.to_string()),
            "master_last_io_seconds_ago" | "master_sync_last_io_seconds_ago" => Run::small(v, 2),
            "master_link_down_since_seconds" => Run::small(v, 5),
            "master_repl_offset" | "slave_repl_offset" | "slave_read_repl_offset" | "second_repl_offset"
            | "repl_backlog_first_byte_offset" | "repl_backlog_histlen" => self.offset(v),
            _ if k.starts_with("slave") && k[5..].bytes().all(|b| b.is_ascii_digit()) && k.len() > 5 => {
                let parts: Vec<String> = v
                    .split(',')
                    .map(|kv| match kv.split_once('=') {
                        Some(("port", p)) => format!("port={}", self.port_name(p).unwrap_or_else(|| p.to_string())),
                        Some(("offset", o)) => format!("offset={}", self.offset(o)),
                        Some(("lag", l)) => format!("lag={}", Run::small(l, 2)),
                        _ => kv.to_string(),
                    })
                    .collect();
                parts.join(",")
            }
            _ => v.to_string(),
        }
    }

    // ----- recording -----

    fn push(&mut self, label: String, val: Val) {
        self.entries.push(Entry { label, val });
    }

    fn note(&mut self, label: &str, value: &str) {
        self.push(label.to_string(), Val::Text(value.to_string()));
    }

    /// Runs a command on `name`'s connection and records the reply.
    fn cmd(&mut self, name: &str, args: &[&str]) -> Vec<u8> {
        let label = self.label(name, args);
        let r = self.call(name, args);
        let v = self.render_result(&r);
        self.push(label, Val::Text(v));
        r.unwrap_or_default()
    }

    /// Records a command whose integer reply is timing (TTL): only whether it is in range.
    fn cmd_range(&mut self, name: &str, args: &[&str], lo: i64, hi: i64) {
        let label = self.label(name, args);
        let r = self.call(name, args);
        let v = match r.as_ref().ok().and_then(|b| Reply::parse(b)) {
            Some(Reply::Int(n)) if (lo..=hi).contains(&n) => format!(":{lo}..{hi}"),
            _ => self.render_result(&r),
        };
        self.push(label, Val::Text(v));
    }

    /// Records a command on a fresh (unauthenticated) connection.
    fn fresh(&mut self, name: &str, args: &[&str]) {
        let label = format!("{} (fresh connection)", self.label(name, args));
        let mut c = Client::connect(self.slot(name).port);
        let r = c.call(args);
        c.shutdown();
        let v = self.render_result(&r);
        self.push(label, Val::Text(v));
    }

    /// Records `INFO replication` of `name`, all fields or only `only`.
    fn info(&mut self, name: &str, only: Option<&[&str]>) {
        let label = format!("{name} INFO replication{}", if only.is_some() { " (selected fields)" } else { "" });
        match self.info_pairs(name, "replication") {
            Ok(pairs) => {
                let mut out = Vec::new();
                for (k, v) in pairs {
                    if only.is_some_and(|o| !o.contains(&k.as_str())) {
                        continue;
                    }
                    let v = self.norm_field(&k, &v);
                    out.push((k, v));
                }
                self.push(label, Val::Fields(out));
            }
            Err(e) => self.push(label, Val::Text(e)),
        }
    }

    fn stats(&mut self, name: &str) {
        let label = format!("{name} sync counters");
        match self.info_pairs(name, "stats") {
            Ok(pairs) => {
                let out = pairs.into_iter().filter(|(k, _)| k.starts_with("sync_")).collect();
                self.push(label, Val::Fields(out));
            }
            Err(e) => self.push(label, Val::Text(e)),
        }
    }

    fn digest_of(&mut self, name: &str) -> String {
        match self.call(name, &["DEBUG", "DIGEST"]) {
            Ok(b) => Reply::parse(&b).and_then(|r| match r {
                Reply::Simple(s) => Some(String::from_utf8_lossy(&s).into_owned()),
                _ => None,
            })
            .unwrap_or_else(|| escape(&b)),
            Err(e) => format!("{e:?}"),
        }
    }

    /// DEBUG DIGEST of every node in `names`: equal to each other (and, with `value`, the
    /// digest itself, compared across the runs).
    fn digests(&mut self, names: &[&str], value: bool) {
        let ds: Vec<String> = names.iter().map(|n| self.digest_of(n)).collect();
        let v = if ds.iter().all(|d| *d == ds[0]) {
            if value { format!("all equal: {}", ds[0]) } else { "all equal".into() }
        } else {
            let parts: Vec<String> = names.iter().zip(&ds).map(|(n, d)| format!("{n}={d}")).collect();
            format!("DIFFERENT: {}", parts.join(" "))
        };
        self.push(format!("DEBUG DIGEST {}", names.join(",")), Val::Text(v));
    }

    /// Polls `f` every 50 ms until it returns `None` or `secs` pass; records the outcome.
    fn wait(&mut self, label: &str, secs: u64, mut f: impl FnMut(&mut Run) -> Option<String>) -> bool {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let last = match f(self) {
                None => {
                    self.note(&format!("wait: {label}"), "ok");
                    return true;
                }
                Some(s) => s,
            };
            if Instant::now() > deadline {
                self.note(&format!("wait: {label}"), &format!("NOT within {secs} s; last seen: {last}"));
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_field(&mut self, name: &str, field: &str, want: &str, secs: u64) -> bool {
        let (field, want) = (field.to_string(), want.to_string());
        let n = name.to_string();
        self.wait(&format!("{name} {field}:{want}"), secs, move |r| {
            let got = r.field(&n, &field);
            (got != want).then_some(got)
        })
    }

    fn link_up(&mut self, name: &str) -> bool {
        self.wait_field(name, "master_link_status", "up", 20)
    }

    /// Waits until `names` share one `master_repl_offset`, every replica among them has its
    /// link up, and every replica listed by any of them is online and has acknowledged that
    /// offset.
    fn settle(&mut self, names: &[&str]) -> bool {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        self.wait(&format!("settled {}", names.join(",")), 20, move |r| {
            let mut offs = Vec::new();
            for n in &names {
                let m = match r.info_map(n) {
                    Ok(m) => m,
                    Err(e) => return Some(e),
                };
                let off = m.get("master_repl_offset").cloned().unwrap_or_default();
                if m.get("role").map(String::as_str) == Some("slave") {
                    if m.get("master_link_status").map(String::as_str) != Some("up") {
                        return Some(format!("{n}: link not up"));
                    }
                    if m.get("slave_repl_offset") != Some(&off) {
                        return Some(format!("{n}: slave_repl_offset != master_repl_offset"));
                    }
                }
                for (k, v) in &m {
                    if k.starts_with("slave") && k.len() > 5 && k[5..].bytes().all(|b| b.is_ascii_digit()) {
                        if !v.contains("state=online") || !v.contains(&format!(",offset={off},")) {
                            return Some(format!("{n}: {k}:{v} (own offset {off})"));
                        }
                    }
                }
                offs.push(format!("{n}={off}"));
            }
            let first = offs.first().and_then(|s| s.split_once('=')).map(|x| x.1.to_string());
            if offs.iter().all(|o| o.split_once('=').map(|x| x.1.to_string()) == first) {
                None
            } else {
                Some(offs.join(" "))
            }
        })
    }

    /// Sends a SHUTDOWN variant: records what arrives before the close, waits for the process
    /// to exit and keeps its directory for `restart`.
    fn shutdown(&mut self, name: &str, args: &[&str]) {
        let label = self.label(name, args);
        let c = self.conn(name);
        c.send(&replscope_tests::encode(args));
        let (bytes, closed) = c.read_until_close(Duration::from_secs(15));
        self.conns.remove(name);
        self.note(&label, &format!("{}{}", escape(&bytes), if closed { " <closed>" } else { " <still open>" }));
        let slot = self.slot_mut(name);
        let mut server = slot.server.take().expect("running server");
        let status = server.wait_exit(Duration::from_secs(15));
        let log = server.log_text();
        slot.dir = Some(server.into_dir());
        let text = match status {
            Some(s) if s.success() => "exited with status 0".to_string(),
            Some(s) => format!("exited: {s}"),
            None => "still running after 15 s (killed)".to_string(),
        };
        self.logs.push(format!("--- {} {name} (shut down) ---\n{}", self.kind.name(), tail(&log, 40)));
        self.note(&format!("{name}: process"), &text);
    }

    /// ROLE, with its offsets written like the INFO offsets (`P+d`, marks).
    fn role(&mut self, name: &str) {
        let label = self.label(name, &["ROLE"]);
        let r = self.call(name, &["ROLE"]);
        let v = match r.as_ref().ok().and_then(|b| Reply::parse(b)) {
            Some(reply) => {
                fn walk(run: &Run, x: &Reply) -> Reply {
                    match x {
                        Reply::Int(n) if run.port_name(&n.to_string()).is_none() => Reply::Simple(format!("offset {}", run.offset(&n.to_string())).into_bytes()),
                        Reply::Bulk(Some(b)) if !b.is_empty() && b.iter().all(u8::is_ascii_digit) && run.port_name(&String::from_utf8_lossy(b)).is_none() => {
                            Reply::Simple(format!("bulk offset {}", run.offset(&String::from_utf8_lossy(b))).into_bytes())
                        }
                        Reply::Array(Some(v)) => Reply::Array(Some(v.iter().map(|y| walk(run, y)).collect())),
                        other => other.clone(),
                    }
                }
                let w = walk(self, &reply);
                self.render_reply(&w)
            }
            None => self.render_result(&r),
        };
        self.push(label, Val::Text(v));
    }

    fn replicaof(&mut self, name: &str, master: &str) {
        let p = self.port(master);
        self.cmd(name, &["REPLICAOF", HOST, &p]);
    }

    fn collect_logs(&mut self) {
        for s in &self.slots {
            if let Some(server) = &s.server {
                self.logs.push(format!("--- {} {} (port {}) ---\n{}", self.kind.name(), s.name, s.port, tail(&server.log_text(), 40)));
            }
        }
    }
}

/// `Server::start`, making sure the process that answers on the port is the one started: a
/// free port can be taken by another process between the probe and the server's bind (the
/// tests run many servers at once), and then the server exits while the other one answers.
fn start_checked(kind: Kind, args: &[&str], password: Option<&str>) -> Server {
    for attempt in 1..=5 {
        let server = Server::start(kind, args);
        if std::net::TcpStream::connect((HOST, server.port)).is_ok() {
            let mut c = Client::connect(server.port);
            if let Some(p) = password {
                let _ = c.call(&["AUTH", p]);
            }
            let info = c.call(&["INFO", "server"]).ok().and_then(|b| Reply::parse(&b)).and_then(|r| r.bulk_text()).unwrap_or_default();
            let want = format!("process_id:{}\r\n", server.pid());
            if info.contains(&want) {
                return server;
            }
        }
        eprintln!("NOTE: {} on port {} is not the process that answers there (attempt {attempt}); starting it again", kind.name(), server.port);
    }
    panic!("could not start {} on a port of its own", kind.name());
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

// ---------------------------------------------------------------------------------------
// Running and comparing
// ---------------------------------------------------------------------------------------

struct Outcome {
    entries: Vec<Entry>,
    logs: Vec<String>,
    secs: f64,
}

fn run_one(kind: Kind, scenario: fn(&mut Run)) -> Outcome {
    let t0 = Instant::now();
    let mut run = Run::new(kind);
    let r = std::panic::catch_unwind(AssertUnwindSafe(|| scenario(&mut run)));
    if let Err(p) = r {
        let msg = p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
        run.note("PANIC", &msg);
    }
    run.collect_logs();
    let out = Outcome { entries: std::mem::take(&mut run.entries), logs: std::mem::take(&mut run.logs), secs: t0.elapsed().as_secs_f64() };
    drop(run);
    out
}

fn field_diff(r: &[(String, String)], o: &[(String, String)]) -> Vec<String> {
    let mut out = Vec::new();
    let om: HashMap<&str, &str> = o.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let rm: HashMap<&str, &str> = r.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    for (k, v) in r {
        match om.get(k.as_str()) {
            None => out.push(format!("{k}: redis {v:?}, ours <missing>")),
            Some(ov) if ov != v => out.push(format!("{k}: redis {v:?}, ours {ov:?}")),
            _ => {}
        }
    }
    for (k, v) in o {
        if !rm.contains_key(k.as_str()) {
            out.push(format!("{k}: redis <missing>, ours {v:?}"));
        }
    }
    if out.is_empty() {
        out.push("same fields in a different order".into());
    }
    out
}

fn differential(name: &str, scenario: fn(&mut Run)) {
    replscope_tests::redis_server_path();
    replscope_tests::node_binary();
    let t0 = Instant::now();
    let (redis, ours) = std::thread::scope(|s| {
        let a = s.spawn(|| run_one(Kind::Redis, scenario));
        let b = s.spawn(|| run_one(Kind::Node, scenario));
        (a.join().expect("redis run"), b.join().expect("node run"))
    });
    let mut diffs = Vec::new();
    let n = redis.entries.len().max(ours.entries.len());
    for i in 0..n {
        match (redis.entries.get(i), ours.entries.get(i)) {
            (Some(r), Some(o)) if r.label != o.label => {
                diffs.push(format!("[{i}] transcripts diverge: redis step {:?} = {}, ours step {:?} = {}", r.label, r.val, o.label, o.val));
                break;
            }
            (Some(r), Some(o)) if r.val != o.val => {
                let detail = match (&r.val, &o.val) {
                    (Val::Fields(a), Val::Fields(b)) => field_diff(a, b).into_iter().map(|d| format!("\n      {d}")).collect::<String>(),
                    _ => String::new(),
                };
                diffs.push(format!("[{i}] {}\n    redis: {}\n    ours:  {}{detail}", r.label, r.val, o.val));
            }
            (Some(_), Some(_)) => {}
            (Some(r), None) => diffs.push(format!("[{i}] only redis: {} = {}", r.label, r.val)),
            (None, Some(o)) => diffs.push(format!("[{i}] only ours: {} = {}", o.label, o.val)),
            (None, None) => unreachable!(),
        }
    }
    eprintln!(
        "topology '{name}': {} steps; redis run {:.1} s, replscope run {:.1} s, wall {:.1} s; {} differences",
        redis.entries.len(),
        redis.secs,
        ours.secs,
        t0.elapsed().as_secs_f64(),
        diffs.len()
    );
    if std::env::var_os("TOPO_TRANSCRIPT").is_some() {
        for e in &redis.entries {
            eprintln!("  {} = {}", e.label, e.val);
        }
    }
    if !diffs.is_empty() {
        for l in redis.logs.iter().chain(&ours.logs) {
            if std::env::var_os("TOPO_LOGS").is_some() || l.contains("replscope-node") {
                eprintln!("{l}");
            }
        }
        panic!("topology '{name}': {} differences between redis-server and replscope-node:\n{}", diffs.len(), diffs.join("\n"));
    }
}

// ---------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------

/// master → r1 → r2 (the chain started with REPLICAOF at runtime).
fn chain(r: &mut Run, master_extra: &[&str]) {
    r.start("m", master_extra);
    r.start("r1", &[]);
    r.start("r2", &[]);
    r.replicaof("r1", "m");
    r.link_up("r1");
    r.replicaof("r2", "r1");
    r.link_up("r2");
}

fn cascade(r: &mut Run) {
    chain(r, &[]);
    for i in 0..5 {
        r.cmd("m", &["SET", &format!("k{i}"), "v"]);
    }
    r.settle(&["m", "r1", "r2"]);
    for n in ["m", "r1", "r2"] {
        r.info(n, None);
        r.stats(n);
    }
    r.digests(&["m", "r1", "r2"], true);

    // The heartbeat PING travels down the chain unchanged.
    let before: i64 = r.field("m", "master_repl_offset").parse().unwrap_or(-1);
    r.cmd("m", &["CONFIG", "SET", "repl-ping-replica-period", "1"]);
    r.wait("m's offset grew by a heartbeat while idle", 10, |r| {
        let now: i64 = r.field("m", "master_repl_offset").parse().unwrap_or(-1);
        (now < before + 14).then(|| format!("{before} -> {now}"))
    });
    r.cmd("m", &["CONFIG", "SET", "repl-ping-replica-period", "3600"]);
    r.settle(&["m", "r1", "r2"]);
    let after: i64 = r.field("m", "master_repl_offset").parse().unwrap_or(-1);
    let grew = after - before;
    r.note("idle growth of the offset is a positive multiple of 14 (lower-case ping)", &format!("{}", grew > 0 && grew % 14 == 0));
    r.base = Some(after);
    for n in ["m", "r1", "r2"] {
        r.info(n, Some(&["role", "master_replid", "master_repl_offset", "slave_repl_offset", "repl_backlog_histlen"]));
    }

    // Promote r1: replid2/second_repl_offset; r2 follows by partial resync.
    r.cmd("r1", &["REPLICAOF", "NO", "ONE"]);
    r.info("r1", Some(&["role", "master_replid", "master_replid2", "master_repl_offset", "second_repl_offset", "repl_backlog_active"]));
    r.link_up("r2");
    r.settle(&["r1", "r2"]);
    r.info("r1", None);
    r.info("r2", None);
    r.stats("r1");
    r.stats("r2");
    r.cmd("r1", &["SET", "on_r1", "1"]);
    r.settle(&["r1", "r2"]);
    r.cmd("r2", &["GET", "on_r1"]);
    r.info("m", Some(&["role", "master_replid", "master_repl_offset", "connected_slaves"]));

    // The old master (no writes since) joins r1 by PSYNC with r1's replid2.
    r.replicaof("m", "r1");
    r.link_up("m");
    r.settle(&["r1", "r2", "m"]);
    r.stats("r1");
    r.stats("m");
    r.info("m", None);
    r.info("r1", None);
    r.cmd("m", &["GET", "on_r1"]);
    r.role("m");
    r.role("r1");
    r.digests(&["m", "r1", "r2"], true);
}

fn fill(r: &mut Run, prefix: &str, n: usize) {
    let mut args: Vec<String> = vec!["MSET".into()];
    for i in 0..n {
        args.push(format!("{prefix}{i}"));
        args.push(format!("value-{i}"));
    }
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    r.cmd("m", &a);
}

fn restart_without_persistence(r: &mut Run) {
    chain(r, &["--save", ""]);
    fill(r, "data", 20);
    r.cmd("m", &["RPUSH", "list", "a", "b", "c"]);
    r.settle(&["m", "r1", "r2"]);
    for n in ["m", "r1", "r2"] {
        r.cmd(n, &["DBSIZE"]);
        r.stats(n);
    }
    r.digests(&["m", "r1", "r2"], true);
    r.info("r1", None);

    r.shutdown("m", &["SHUTDOWN", "NOSAVE"]);
    r.wait_field("r1", "master_link_status", "down", 10);
    r.info("r1", None);
    r.info("r2", Some(&["role", "master_link_status", "master_repl_offset"]));
    r.cmd("r1", &["DBSIZE"]);
    r.cmd("r2", &["GET", "data7"]);

    r.restart("m");
    r.link_up("r1");
    r.link_up("r2");
    r.settle(&["m", "r1", "r2"]);
    for n in ["m", "r1", "r2"] {
        r.cmd(n, &["DBSIZE"]);
        r.info(n, None);
        r.stats(n);
    }
    r.digests(&["m", "r1", "r2"], true);
    r.cmd("m", &["SET", "after", "restart"]);
    r.settle(&["m", "r1", "r2"]);
    r.cmd("r2", &["GET", "after"]);
    r.digests(&["m", "r1", "r2"], true);
}

fn restart_with_persistence(r: &mut Run) {
    chain(r, &["--save", ""]);
    fill(r, "data", 20);
    r.cmd("m", &["HSET", "h", "f", "1", "g", "2"]);
    r.cmd("m", &["SELECT", "3"]);
    r.cmd("m", &["SET", "in3", "x"]);
    r.settle(&["m", "r1", "r2"]);
    r.info("m", None);
    for n in ["m", "r1", "r2"] {
        r.stats(n);
    }
    r.digests(&["m", "r1", "r2"], true);

    r.shutdown("m", &["SHUTDOWN", "SAVE"]);
    r.wait_field("r1", "master_link_status", "down", 10);
    r.restart("m");
    // Right after loading: the saved id is replid2, the offset continues.
    r.info("m", Some(&["role", "master_replid", "master_replid2", "master_repl_offset", "second_repl_offset", "repl_backlog_active", "repl_backlog_first_byte_offset", "repl_backlog_histlen"]));
    r.link_up("r1");
    r.link_up("r2");
    r.settle(&["m", "r1", "r2"]);
    for n in ["m", "r1", "r2"] {
        r.cmd(n, &["DBSIZE"]);
        r.info(n, None);
        r.stats(n);
    }
    r.digests(&["m", "r1", "r2"], true);
    r.cmd("m", &["SELECT", "0"]);
    r.cmd("m", &["SET", "after", "restart"]);
    r.settle(&["m", "r1", "r2"]);
    r.cmd("r2", &["GET", "after"]);
    r.info("r2", Some(&["master_replid", "master_replid2", "master_repl_offset", "second_repl_offset"]));
    r.digests(&["m", "r1", "r2"], true);
}

const WRITES: usize = 400;

struct WriterResult {
    applied: usize,
    /// Writes the first server (the old master) applied before it refused one.
    on_first: usize,
    unexpected: Vec<String>,
}

fn write_cmd(i: usize) -> Vec<String> {
    if i % 2 == 0 {
        vec!["SET".into(), format!("key:{i}"), format!("{i}")]
    } else {
        vec!["INCR".into(), "counter".into()]
    }
}

/// Writes `WRITES` commands, one at a time with a short pause, to `first`; a `-READONLY`
/// (the master became a replica) moves it to `second`, where the refused write is retried.
fn writer(first: u16, second: u16, progress: Arc<AtomicUsize>) -> WriterResult {
    let mut c = Client::connect(first);
    c.timeout = Duration::from_secs(20);
    let mut moved = false;
    let mut unexpected = Vec::new();
    let mut applied = 0;
    let mut on_first = 0;
    for i in 0..WRITES {
        let args = write_cmd(i);
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        loop {
            let r = c.call(&a);
            match &r {
                Ok(b) if b.starts_with(b"+OK") || b.starts_with(b":") => {
                    applied += 1;
                    if !moved {
                        on_first += 1;
                    }
                    break;
                }
                Ok(b) if b.starts_with(b"-READONLY") && !moved => {
                    moved = true;
                    c = Client::connect(second);
                    c.timeout = Duration::from_secs(20);
                }
                _ => {
                    unexpected.push(format!("write {i}: {r:?}"));
                    break;
                }
            }
        }
        progress.store(i + 1, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(2));
    }
    WriterResult { applied, on_first, unexpected }
}

fn failover_under_load(r: &mut Run) {
    // As exp5 5g: r1 replicates the master, r2 replicates r1.
    chain(r, &[]);
    fill(r, "pre", 10);
    r.settle(&["m", "r1", "r2"]);
    r.stats("r1");
    r.stats("m");

    // Error texts (exp5 5g).
    r.cmd("r1", &["FAILOVER"]);
    r.cmd("m", &["FAILOVER", "TO", HOST, "9"]);
    let p2 = r.port("r2");
    r.cmd("m", &["FAILOVER", "TO", HOST, &p2]);
    r.cmd("m", &["FAILOVER", "FORCE"]);
    r.cmd("m", &["FAILOVER", "ABORT"]);
    r.cmd("m", &["FAILOVER", "TIMEOUT", "0"]);
    r.cmd("m", &["FAILOVER", "TIMEOUT", "-1"]);
    r.cmd("m", &["FAILOVER", "TO", HOST]);
    r.cmd("m", &["FAILOVER", "BOGUS"]);
    r.info("m", Some(&["role", "master_failover_state"]));

    let o0: i64 = r.field("m", "master_repl_offset").parse().unwrap_or(-1);
    let progress = Arc::new(AtomicUsize::new(0));
    let (mp, r1p) = (r.slot("m").port, r.slot("r1").port);
    let handle = {
        let progress = progress.clone();
        std::thread::spawn(move || writer(mp, r1p, progress))
    };
    r.wait("the writer has started", 10, |_| {
        let n = progress.load(Ordering::SeqCst);
        (n < 40).then(|| format!("{n} writes"))
    });
    let p1 = r.port("r1");
    r.cmd("m", &["FAILOVER", "TO", HOST, &p1]);
    // Writes are paused until the target has caught up (its next ACK, up to 1 s).
    r.cmd("m", &["FAILOVER"]);
    r.wait("roles swapped and the failover finished", 20, |r| {
        let (mr, ms, r1r) = (r.field("m", "role"), r.field("m", "master_failover_state"), r.field("r1", "role"));
        (!(mr == "slave" && ms == "no-failover" && r1r == "master")).then(|| format!("m {mr} {ms}, r1 {r1r}"))
    });
    let w = handle.join().expect("writer thread");
    r.note("writer: writes applied", &w.applied.to_string());
    // Where the old master's history ends depends on when the pause caught the writer: F is
    // the offset after the writes it applied, computed from their RESP sizes.
    let f = o0 + (0..w.on_first).map(|i| replscope_tests::encode(&write_cmd(i)).len() as i64).sum::<i64>();
    r.marks.push((f, "F".into()));
    r.note("writer: the old master applied some writes and the new master the rest", &(w.on_first > 0 && w.on_first < WRITES).to_string());
    r.info("m", Some(&["master_repl_offset"]));
    r.note("writer: replies other than +OK/:n/one -READONLY", &format!("{:?}", w.unexpected));

    r.link_up("m");
    r.link_up("r2");
    r.settle(&["r1", "m", "r2"]);
    for n in ["r1", "m", "r2"] {
        r.info(n, None);
        r.stats(n);
    }
    r.cmd("r1", &["GET", "counter"]);
    r.cmd("m", &["GET", "counter"]);
    r.cmd("r2", &["DBSIZE"]);
    r.role("r1");
    r.role("m");
    r.cmd("m", &["FAILOVER"]);
    r.cmd("m", &["SET", "x", "1"]);
    r.digests(&["r1", "m", "r2"], true);
}

/// `total_connections_received` of `name` (INFO stats), not recorded.
fn connections(r: &mut Run, name: &str) -> i64 {
    let pairs = r.info_pairs(name, "stats").unwrap_or_default();
    pairs.iter().find(|(k, _)| k == "total_connections_received").and_then(|(_, v)| v.parse().ok()).unwrap_or(-1)
}

/// A count of reconnection attempts as a bucket: the replication cron retries about once a
/// second; an immediate retry after each failure makes hundreds.
fn attempts(n: i64) -> String {
    match n {
        1..=6 => "1..6 (about one attempt per second)".into(),
        n if n >= 100 => ">=100 (immediate retries)".into(),
        n => n.to_string(),
    }
}

fn auth(r: &mut Run) {
    r.start("m", &["--requirepass", "secret"]);
    r.start("r1", &[]);
    r.cmd("m", &["SET", "secret-data", "1"]);
    // A client that did not AUTH, as a replica without masterauth is.
    r.fresh("m", &["PING"]);
    r.fresh("m", &["REPLCONF", "listening-port", "1"]);
    r.fresh("m", &["PSYNC", "?", "-1"]);
    r.fresh("m", &["SYNC"]);

    let c0 = connections(r, "m");
    r.replicaof("r1", "m");
    // The point is that nothing happens: give it a few reconnection attempts.
    std::thread::sleep(Duration::from_millis(2500));
    let c1 = connections(r, "m");
    r.note("connections the master received while the replica had no masterauth (2.5 s)", &attempts(c1 - c0));
    r.info("r1", Some(&["role", "master_link_status", "master_last_io_seconds_ago", "master_link_down_since_seconds", "master_repl_offset"]));
    // Sampled mid-cycle: ROLE's state and master_sync_in_progress move through the handshake.
    let role = r.call("r1", &["ROLE"]).unwrap_or_default();
    let role = r.render(&role);
    let state_ok = ["\"connect\"", "\"connecting\"", "\"handshake\"", "\"sync\""].iter().any(|s| role.contains(s)) && role.ends_with(":-1]");
    r.note("r1 ROLE: slave, state connect/connecting/handshake/sync, offset -1", &if state_ok { "true".to_string() } else { role });
    let sip = r.field("r1", "master_sync_in_progress");
    r.note("r1 master_sync_in_progress is 0 or 1", &if sip == "0" || sip == "1" { "true".to_string() } else { sip });
    r.info("m", Some(&["connected_slaves"]));
    r.stats("m");
    r.cmd("r1", &["GET", "secret-data"]);

    r.cmd("r1", &["CONFIG", "SET", "masterauth", "wrong"]);
    let c0 = connections(r, "m");
    std::thread::sleep(Duration::from_millis(2500));
    let c1 = connections(r, "m");
    r.note("connections the master received while the replica had a wrong masterauth (2.5 s)", &attempts(c1 - c0));
    r.info("r1", Some(&["master_link_status", "master_last_io_seconds_ago", "master_link_down_since_seconds"]));
    r.stats("m");

    r.cmd("r1", &["CONFIG", "SET", "masterauth", "secret"]);
    r.link_up("r1");
    r.settle(&["m", "r1"]);
    r.info("r1", None);
    r.info("m", None);
    r.stats("m");
    r.cmd("r1", &["GET", "secret-data"]);
    r.cmd("m", &["SET", "later", "2"]);
    r.settle(&["m", "r1"]);
    r.cmd("r1", &["GET", "later"]);
    r.cmd("r1", &["CONFIG", "GET", "masterauth"]);
    r.digests(&["m", "r1"], true);
}

fn readonly_and_errors(r: &mut Run) {
    chain(r, &[]);
    r.cmd("m", &["SET", "a", "1"]);
    r.settle(&["m", "r1", "r2"]);

    r.cmd("r1", &["SET", "foo", "bar"]);
    r.cmd("r1", &["DEL", "a"]);
    r.cmd("r1", &["INCR", "a"]);
    r.cmd("r1", &["GET", "foo"]);
    r.cmd("r1", &["GET", "a"]);
    r.cmd("r1", &["WAIT", "1", "0"]);
    r.cmd("r1", &["CONFIG", "GET", "replica-read-only"]);
    r.cmd("r1", &["MULTI"]);
    r.cmd("r1", &["SET", "x", "1"]);
    r.cmd("r1", &["GET", "a"]);
    r.cmd("r1", &["EXEC"]);
    r.cmd("r1", &["MULTI"]);
    r.cmd("r1", &["GET", "a"]);
    r.cmd("r1", &["EXEC"]);
    r.cmd("r2", &["SET", "foo", "bar"]);
    r.cmd("r2", &["FLUSHALL"]);
    r.cmd("r1", &["REPLICAOF", HOST, "70000"]);
    r.cmd("r1", &["REPLICAOF", HOST, "notaport"]);
    let mp = r.port("m");
    r.cmd("r1", &["REPLICAOF", HOST, &mp]);

    // A writable replica: the local write stays local and does not move the offset.
    r.cmd("r1", &["CONFIG", "SET", "replica-read-only", "no"]);
    r.info("r1", Some(&["slave_read_only", "master_repl_offset"]));
    r.cmd("r1", &["SET", "local", "1"]);
    r.cmd("m", &["SET", "marker", "1"]);
    r.settle(&["m", "r1", "r2"]);
    r.info("r1", Some(&["slave_read_only", "master_repl_offset"]));
    r.cmd("r1", &["GET", "local"]);
    r.cmd("r2", &["GET", "local"]);
    r.cmd("m", &["GET", "local"]);
    r.cmd("r2", &["GET", "marker"]);
    r.cmd("r1", &["CONFIG", "SET", "replica-read-only", "yes"]);
    r.cmd("r1", &["SET", "local", "2"]);
    r.digests(&["m", "r2"], true);
    r.cmd("r1", &["DBSIZE"]);
    r.cmd("r2", &["DBSIZE"]);

    // r1's link goes down (its master stops): stale data, MASTERDOWN, NOMASTERLINK.
    r.shutdown("m", &["SHUTDOWN", "NOSAVE"]);
    r.wait_field("r1", "master_link_status", "down", 10);
    r.cmd("r1", &["GET", "a"]);
    r.info("r2", Some(&["role", "master_link_status"]));
    r.cmd("r1", &["CONFIG", "SET", "replica-serve-stale-data", "no"]);
    r.cmd("r1", &["GET", "a"]);
    r.cmd("r1", &["SET", "a", "2"]);
    r.cmd("r1", &["PING"]);
    r.cmd("r1", &["DBSIZE"]);
    r.cmd("r1", &["MULTI"]);
    r.cmd("r1", &["GET", "a"]);
    r.cmd("r1", &["EXEC"]);
    r.cmd("r1", &["CONFIG", "GET", "replica-serve-stale-data"]);
    r.cmd("r2", &["GET", "a"]);
    r.cmd("r1", &["CONFIG", "SET", "replica-serve-stale-data", "yes"]);
    r.cmd("r1", &["GET", "a"]);
    r.fresh("r1", &["PSYNC", "?", "-1"]);
    r.fresh("r1", &["SYNC"]);
    r.fresh("r2", &["GET", "a"]);
    r.info("r1", Some(&["role", "master_link_status", "master_last_io_seconds_ago", "master_sync_in_progress", "slave_repl_offset", "master_link_down_since_seconds", "connected_slaves"]));
}

fn expiry(r: &mut Run) {
    r.start("m", &[]);
    r.start("r1", &[]);
    r.replicaof("r1", "m");
    r.link_up("r1");
    r.cmd("m", &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    r.cmd("m", &["SET", "keep", "1"]);
    r.cmd("m", &["SET", "long", "v", "EX", "1000"]);
    r.cmd("m", &["SET", "exp1", "v", "PX", "1500"]);
    r.cmd("m", &["SET", "exp2", "v", "PX", "1500"]);
    r.cmd("m", &["SADD", "exp3", "a", "b"]);
    r.cmd("m", &["PEXPIRE", "exp3", "1500"]);
    r.wait("r1 applied the writes", 10, |r| {
        let (a, b) = (r.field("m", "master_repl_offset"), r.field("r1", "master_repl_offset"));
        (a != b).then(|| format!("m {a}, r1 {b}"))
    });
    r.cmd("r1", &["GET", "exp1"]);
    r.cmd_range("r1", &["PTTL", "exp1"], 0, 1500);
    r.cmd("r1", &["EXISTS", "exp1", "exp2", "exp3"]);
    r.cmd("r1", &["DBSIZE"]);

    // Logically expired on the replica; the master has not deleted them.
    r.wait("r1 reports exp1 as gone", 10, |r| {
        let v = r.call("r1", &["EXISTS", "exp1"]).unwrap_or_default();
        (v != b":0\r\n").then(|| escape(&v))
    });
    r.cmd("r1", &["GET", "exp1"]);
    r.cmd("r1", &["EXISTS", "exp1", "exp2", "keep"]);
    r.cmd("r1", &["TTL", "exp1"]);
    r.cmd("r1", &["PTTL", "exp2"]);
    r.cmd("r1", &["TYPE", "exp2"]);
    r.cmd("r1", &["SMEMBERS", "exp3"]);
    r.cmd("r1", &["SCARD", "exp3"]);
    r.cmd("r1", &["KEYS", "exp*"]);
    r.cmd("r1", &["SCAN", "0", "MATCH", "exp*", "COUNT", "100"]);
    r.cmd("r1", &["DBSIZE"]);
    let ks = r.info_pairs("r1", "keyspace").unwrap_or_default();
    let db0: Vec<(String, String)> = ks
        .into_iter()
        .map(|(k, v)| (k, v.split(',').filter(|p| !p.starts_with("avg_ttl=")).collect::<Vec<_>>().join(",")))
        .collect();
    r.push("r1 INFO keyspace (without avg_ttl)".into(), Val::Fields(db0));
    r.cmd("m", &["DBSIZE"]);
    r.cmd("r1", &["GET", "keep"]);
    r.cmd_range("r1", &["TTL", "long"], 990, 1000);
    r.digests(&["m", "r1"], false);

    // The master touches exp1: its lazy expiry propagates DEL.
    r.cmd("m", &["GET", "exp1"]);
    r.wait("r1 DBSIZE drops to 4", 10, |r| {
        let v = r.call("r1", &["DBSIZE"]).unwrap_or_default();
        (v != b":4\r\n").then(|| escape(&v))
    });
    r.cmd("r1", &["DBSIZE"]);
    r.cmd("m", &["DBSIZE"]);
    r.stats("m");
    r.settle(&["m", "r1"]);
    r.info("r1", Some(&["master_repl_offset"]));
    r.digests(&["m", "r1"], false);

    // Active expiry back on: the master deletes the rest and the DELs reach the replica.
    r.cmd("m", &["DEBUG", "SET-ACTIVE-EXPIRE", "1"]);
    r.wait("r1 DBSIZE drops to 2", 10, |r| {
        let v = r.call("r1", &["DBSIZE"]).unwrap_or_default();
        (v != b":2\r\n").then(|| escape(&v))
    });
    r.settle(&["m", "r1"]);
    r.cmd("r1", &["DBSIZE"]);
    r.cmd("m", &["DBSIZE"]);
    r.info("r1", Some(&["master_repl_offset"]));
    r.digests(&["m", "r1"], false);
}

fn wait_and_min_replicas(r: &mut Run) {
    r.start("m", &[]);
    r.start("r1", &[]);
    r.replicaof("r1", "m");
    r.link_up("r1");
    r.settle(&["m", "r1"]);

    r.cmd("m", &["SET", "w", "1"]);
    let t = Instant::now();
    r.cmd("m", &["WAIT", "1", "0"]);
    let el = t.elapsed().as_millis();
    // Generous bounds: both servers are timed alike, and a loaded CI box stretches replies.
    r.note("WAIT 1 0 answered within 2 s", &(el < 2_000).to_string());
    let t = Instant::now();
    r.cmd("m", &["WAIT", "2", "500"]);
    let el = t.elapsed().as_millis();
    r.note("WAIT 2 500 answered after 450 ms (and within 5 s)", &((450..5_000).contains(&el)).to_string());
    r.cmd("m", &["WAIT", "0", "0"]);
    r.cmd("m", &["WAIT", "1", "-1"]);
    r.cmd("m", &["WAIT", "x", "0"]);
    r.cmd("m", &["WAIT", "1"]);
    r.settle(&["m", "r1"]);
    r.cmd("m", &["MULTI"]);
    r.cmd("m", &["WAIT", "5", "0"]);
    r.cmd("m", &["EXEC"]);
    r.settle(&["m", "r1"]);
    r.info("m", None);

    r.cmd("m", &["CONFIG", "SET", "min-replicas-to-write", "2"]);
    r.info("m", None);
    r.cmd("m", &["SET", "a", "1"]);
    r.cmd("m", &["INCR", "n"]);
    r.cmd("m", &["GET", "a"]);
    r.cmd("m", &["MULTI"]);
    r.cmd("m", &["SET", "a", "1"]);
    r.cmd("m", &["EXEC"]);
    r.cmd("r1", &["SET", "a", "1"]);
    r.cmd("m", &["CONFIG", "SET", "min-replicas-to-write", "1"]);
    r.cmd("m", &["CONFIG", "SET", "min-replicas-max-lag", "2"]);
    r.cmd("m", &["SET", "a", "1"]);
    r.info("m", Some(&["connected_slaves", "min_slaves_good_slaves"]));

    // The replica sleeps: no ACKs, so it stops being a good replica.
    let rp = r.slot("r1").port;
    let sleeper = std::thread::spawn(move || {
        let mut c = Client::connect(rp);
        c.timeout = Duration::from_secs(15);
        c.call(&["DEBUG", "SLEEP", "4"])
    });
    r.wait_field("m", "min_slaves_good_slaves", "0", 10);
    let slave0 = r.field("m", "slave0");
    let lag: i64 = slave0.rsplit("lag=").next().and_then(|l| l.parse().ok()).unwrap_or(-1);
    r.note("m slave0 lag while the replica sleeps is 2..8", &((2..=8).contains(&lag)).to_string());
    r.cmd("m", &["SET", "a", "2"]);
    r.cmd("m", &["GET", "a"]);
    let slept = sleeper.join().expect("sleeper");
    let slept = r.render_result(&slept);
    r.note("r1> DEBUG SLEEP 4", &slept);
    r.wait_field("m", "min_slaves_good_slaves", "1", 10);
    r.cmd("m", &["SET", "a", "3"]);
    r.cmd("m", &["CONFIG", "SET", "min-replicas-to-write", "0"]);
    r.cmd("m", &["CONFIG", "SET", "min-replicas-max-lag", "10"]);
    r.info("m", Some(&["connected_slaves", "min_slaves_good_slaves"]));
    r.settle(&["m", "r1"]);
    r.info("m", None);
    r.cmd("r1", &["GET", "a"]);
    r.digests(&["m", "r1"], true);
}

fn nodes_going_down(r: &mut Run) {
    r.start("m", &[]);
    r.start("r1", &[]);
    r.start("r2", &[]);
    r.replicaof("r1", "m");
    r.link_up("r1");
    r.replicaof("r2", "m");
    r.link_up("r2");
    fill(r, "k", 10);
    r.settle(&["m", "r1", "r2"]);
    r.info("m", None);

    r.kill("r1");
    r.wait_field("m", "connected_slaves", "1", 10);
    r.cmd("m", &["SET", "after_r1", "1"]);
    r.cmd("m", &["INCR", "n"]);
    r.settle(&["m", "r2"]);
    r.info("m", None);
    r.info("r2", None);
    r.cmd("r2", &["GET", "after_r1"]);
    r.stats("m");
    r.digests(&["m", "r2"], true);

    r.kill("m");
    r.wait_field("r2", "master_link_status", "down", 10);
    r.cmd("r2", &["GET", "after_r1"]);
    r.cmd("r2", &["DBSIZE"]);
    r.cmd("r2", &["SET", "x", "1"]);
    r.info("r2", None);
    let role = r.call("r2", &["ROLE"]).unwrap_or_default();
    let role = r.render(&role);
    let ok = role.starts_with("[\"slave\", \"127.0.0.1\", :<m>, ") && (role.contains("\"connect\"") || role.contains("\"connecting\"")) && role.ends_with(":-1]");
    r.note("r2 ROLE: slave of <m>, state connect/connecting, offset -1", &if ok { "true".to_string() } else { role });
}

#[test]
fn cascade_promote_and_rejoin() {
    differential("cascade", cascade);
}

#[test]
fn persistenceless_master_restart_wipes_the_chain() {
    differential("restart-without-persistence", restart_without_persistence);
}

#[test]
fn persistent_master_restart_continues_partially() {
    differential("restart-with-persistence", restart_with_persistence);
}

#[test]
fn failover_under_write_load() {
    differential("failover", failover_under_load);
}

#[test]
fn masterauth_heals_the_link() {
    differential("auth", auth);
}

#[test]
fn read_only_replicas_and_errors() {
    differential("read-only", readonly_and_errors);
}

#[test]
fn expiry_on_replicas() {
    differential("expiry", expiry);
}

#[test]
fn wait_and_min_replicas_to_write() {
    differential("wait", wait_and_min_replicas);
}

#[test]
fn a_node_going_down() {
    differential("going-down", nodes_going_down);
}

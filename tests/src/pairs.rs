//! Differential replication scenarios: the same scenario runs once on real redis-servers and
//! once on replscope-nodes (same layout: master, replicas, proxies), each run records a
//! transcript, and the two transcripts are compared entry by entry.
//!
//! A transcript entry is a label (the node and the command, with ports replaced by the node
//! names) and a value. Values are recorded already normalised, and only for what must be:
//!
//! * replication ids become `R1`, `R2`, ... in order of first appearance within the run, so
//!   a *change* of id (or the same id showing up on two nodes) is still compared;
//! * port numbers become the node names (`<M>`, `<R>`, `<P>`), only where a port is expected
//!   (INFO `master_port`, INFO `slave<i>` lines, ROLE, command arguments);
//! * times that depend on the clock (`lag=`, `master_last_io_seconds_ago`,
//!   `master_link_down_since_seconds`) are compared as small ranges (see [`near`]);
//! * absolute PXAT/PEXPIREAT times in a replication stream become the distance to the
//!   moment the command was received, in whole seconds.
//!
//! Everything else is compared exactly: client replies byte for byte, INFO replication field
//! by field (names, order, values), the sync counters of INFO stats, DEBUG DIGEST.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::{encode, escape, Client, Kind, ReadError, Reply, Server};

pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

// ---------------------------------------------------------------------------------------
// A cuttable TCP proxy
// ---------------------------------------------------------------------------------------

/// A TCP proxy `127.0.0.1:port -> 127.0.0.1:target`. `cut()` closes every live connection and
/// makes the proxy accept-and-close new ones (like fixtures/rlib.py's `Proxy`), `restore()`
/// lets connections through again.
pub struct Proxy {
    pub port: u16,
    up: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
    accept: Option<JoinHandle<()>>,
}

impl Proxy {
    pub fn new(target: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).expect("nonblocking listener");
        let up = Arc::new(AtomicBool::new(true));
        let stop = Arc::new(AtomicBool::new(false));
        let conns: Arc<Mutex<Vec<TcpStream>>> = Arc::new(Mutex::new(Vec::new()));
        let (up2, stop2, conns2) = (up.clone(), stop.clone(), conns.clone());
        let accept = std::thread::spawn(move || {
            while !stop2.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((down, _)) => {
                        down.set_nonblocking(false).ok();
                        if !up2.load(Ordering::SeqCst) {
                            let _ = down.shutdown(Shutdown::Both);
                            continue;
                        }
                        let Ok(upstream) = TcpStream::connect(("127.0.0.1", target)) else {
                            let _ = down.shutdown(Shutdown::Both);
                            continue;
                        };
                        down.set_nodelay(true).ok();
                        upstream.set_nodelay(true).ok();
                        {
                            let mut c = conns2.lock().unwrap();
                            c.push(down.try_clone().unwrap());
                            c.push(upstream.try_clone().unwrap());
                        }
                        let (d2, u2) = (down.try_clone().unwrap(), upstream.try_clone().unwrap());
                        std::thread::spawn(move || pipe(down, upstream));
                        std::thread::spawn(move || pipe(u2, d2));
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(5)),
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Proxy { port, up, stop, conns, accept: Some(accept) }
    }

    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for s in self.conns.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 65536];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.cut();
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

// ---------------------------------------------------------------------------------------
// A raw-socket fake replica (fixtures/fake_replica.py)
// ---------------------------------------------------------------------------------------

/// One command of the replication stream as the fake replica parsed it.
#[derive(Clone, Debug)]
pub struct StreamCmd {
    pub raw: Vec<u8>,
    pub argv: Vec<Vec<u8>>,
    /// Wall clock (ms) when it was parsed.
    pub at_ms: u64,
    /// Replication offset after this command.
    pub offset_after: i64,
}

#[derive(Clone, Debug, Default)]
pub struct StreamState {
    pub offset: i64,
    pub cmds: Vec<StreamCmd>,
    /// Bytes that were not RESP arrays (bare `\n` keepalives); they do not move the offset.
    pub junk: Vec<Vec<u8>>,
    pub closed: bool,
}

/// Speaks the replica side of the handshake (PING, REPLCONF listening-port, REPLCONF capa...,
/// PSYNC), receives the RDB, then parses the command stream in a background thread, answering
/// `REPLCONF GETACK *` with the offset before the GETACK (like a real replica). It sends no
/// periodic ACKs: only [`FakeReplica::ack`] and the GETACK answers, so WAIT is deterministic.
pub struct FakeReplica {
    writer: TcpStream,
    /// (command sent, raw reply line) for PING and each REPLCONF.
    pub handshake: Vec<(String, Vec<u8>)>,
    /// The PSYNC reply line (without the `\n` keepalives before it).
    pub psync_reply: Vec<u8>,
    pub keepalives_before_psync_reply: usize,
    pub keepalives_before_rdb: usize,
    /// `$<len>` or `$EOF:<mark>`.
    pub preamble: Vec<u8>,
    pub rdb: Vec<u8>,
    state: Arc<Mutex<StreamState>>,
    stop: Arc<AtomicBool>,
    reader: Option<JoinHandle<()>>,
}

struct LineReader {
    s: TcpStream,
    buf: Vec<u8>,
}

impl LineReader {
    fn fill(&mut self, deadline: Instant) -> Result<(), String> {
        let now = Instant::now();
        if now >= deadline {
            return Err(format!("timed out; received so far: {}", escape(&self.buf)));
        }
        self.s.set_read_timeout(Some(deadline - now)).ok();
        let mut chunk = [0u8; 65536];
        match self.s.read(&mut chunk) {
            Ok(0) => Err(format!("connection closed; received: {}", escape(&self.buf))),
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(())
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted) => Ok(()),
            Err(e) => Err(format!("read error {e}")),
        }
    }

    /// A line through `\n` (kept).
    fn line(&mut self, deadline: Instant) -> Result<Vec<u8>, String> {
        loop {
            if let Some(p) = self.buf.iter().position(|&b| b == b'\n') {
                return Ok(self.buf.drain(..=p).collect());
            }
            self.fill(deadline)?;
        }
    }
}

impl FakeReplica {
    pub fn connect(port: u16, listening_port: u16, capas: &[&str], psync: (&str, &str)) -> Result<FakeReplica, String> {
        let s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect: {e}"))?;
        s.set_nodelay(true).ok();
        let mut writer = s.try_clone().unwrap();
        let mut r = LineReader { s, buf: Vec::new() };
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut steps: Vec<Vec<String>> = vec![vec!["PING".into()]];
        steps.push(vec!["REPLCONF".into(), "listening-port".into(), listening_port.to_string()]);
        if !capas.is_empty() {
            let mut c = vec!["REPLCONF".to_string()];
            for capa in capas {
                c.push("capa".into());
                c.push(capa.to_string());
            }
            steps.push(c);
        }
        let mut handshake = Vec::new();
        for st in steps {
            writer.write_all(&encode(&st)).map_err(|e| e.to_string())?;
            let line = r.line(deadline)?;
            handshake.push((st.join(" "), line));
        }
        writer.write_all(&encode(&["PSYNC", psync.0, psync.1])).map_err(|e| e.to_string())?;
        let mut keepalives_before_psync_reply = 0;
        let psync_reply = loop {
            let line = r.line(deadline)?;
            if line == b"\n" {
                keepalives_before_psync_reply += 1;
                continue;
            }
            break line;
        };
        let mut keepalives_before_rdb = 0;
        let mut preamble = Vec::new();
        let mut rdb = Vec::new();
        if psync_reply.starts_with(b"+FULLRESYNC") {
            preamble = loop {
                let line = r.line(deadline)?;
                if line == b"\n" {
                    keepalives_before_rdb += 1;
                    continue;
                }
                break line;
            };
            if let Some(mark) = preamble.strip_prefix(b"$EOF:") {
                let mark = mark.strip_suffix(b"\r\n").unwrap_or(mark).to_vec();
                loop {
                    if let Some(p) = r.buf.windows(mark.len()).position(|w| w == mark.as_slice()) {
                        rdb = r.buf[..p].to_vec();
                        r.buf.drain(..p + mark.len());
                        break;
                    }
                    r.fill(deadline)?;
                }
            } else {
                let n: usize = std::str::from_utf8(&preamble[1..])
                    .ok()
                    .and_then(|s| s.trim().parse().ok())
                    .ok_or_else(|| format!("bad RDB preamble {}", escape(&preamble)))?;
                while r.buf.len() < n {
                    r.fill(deadline)?;
                }
                rdb = r.buf.drain(..n).collect();
            }
        }
        let start_offset: i64 = if psync_reply.starts_with(b"+FULLRESYNC") {
            String::from_utf8_lossy(&psync_reply).split_whitespace().nth(2).and_then(|s| s.parse().ok()).unwrap_or(-1)
        } else {
            psync.1.parse::<i64>().unwrap_or(0) - 1
        };
        let state = Arc::new(Mutex::new(StreamState { offset: start_offset, ..Default::default() }));
        let stop = Arc::new(AtomicBool::new(false));
        let (state2, stop2) = (state.clone(), stop.clone());
        let mut ack_writer = writer.try_clone().unwrap();
        let reader = std::thread::spawn(move || {
            let mut s = r.s;
            let mut buf = r.buf;
            s.set_read_timeout(Some(Duration::from_millis(50))).ok();
            let mut chunk = [0u8; 65536];
            loop {
                // Parse what is buffered.
                while let Some((len, argv)) = parse_command(&buf) {
                    let raw: Vec<u8> = buf.drain(..len).collect();
                    let mut st = state2.lock().unwrap();
                    match argv {
                        None => st.junk.push(raw),
                        Some(argv) => {
                            let before = st.offset;
                            st.offset += raw.len() as i64;
                            let getack = argv.len() >= 2
                                && argv[0].eq_ignore_ascii_case(b"REPLCONF")
                                && argv[1].eq_ignore_ascii_case(b"GETACK");
                            let offset_after = st.offset;
                            st.cmds.push(StreamCmd { raw, argv, at_ms: now_ms(), offset_after });
                            if getack {
                                let _ = ack_writer.write_all(&encode(&["REPLCONF", "ACK", &before.to_string()]));
                            }
                        }
                    }
                }
                if stop2.load(Ordering::SeqCst) {
                    return;
                }
                match s.read(&mut chunk) {
                    Ok(0) => {
                        state2.lock().unwrap().closed = true;
                        return;
                    }
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted) => {}
                    Err(_) => {
                        state2.lock().unwrap().closed = true;
                        return;
                    }
                }
            }
        });
        writer.set_nodelay(true).ok();
        Ok(FakeReplica {
            writer,
            handshake,
            psync_reply,
            keepalives_before_psync_reply,
            keepalives_before_rdb,
            preamble,
            rdb,
            state,
            stop,
            reader: Some(reader),
        })
    }

    pub fn snapshot(&self) -> StreamState {
        self.state.lock().unwrap().clone()
    }

    pub fn offset(&self) -> i64 {
        self.state.lock().unwrap().offset
    }

    /// Polls until `f` holds on the stream state; false on timeout.
    pub fn wait_until(&self, timeout: Duration, mut f: impl FnMut(&StreamState) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if f(&self.state.lock().unwrap()) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn ack(&mut self, offset: i64) {
        let _ = self.writer.write_all(&encode(&["REPLCONF", "ACK", &offset.to_string()]));
    }
}

impl Drop for FakeReplica {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.writer.shutdown(Shutdown::Both);
        if let Some(h) = self.reader.take() {
            let _ = h.join();
        }
    }
}

/// One command from the head of `buf`: `(length, Some(argv))` for a RESP array,
/// `(length, None)` for a non-RESP line (a `\n` keepalive), `None` if incomplete.
pub fn parse_command(buf: &[u8]) -> Option<(usize, Option<Vec<Vec<u8>>>)> {
    if buf.is_empty() {
        return None;
    }
    if buf[0] != b'*' {
        let p = buf.iter().position(|&b| b == b'\n')?;
        return Some((p + 1, None));
    }
    let line_end = |from: usize| buf.get(from..)?.windows(2).position(|w| w == b"\r\n").map(|p| from + p);
    let e = line_end(0)?;
    let n: usize = std::str::from_utf8(&buf[1..e]).ok()?.parse().ok()?;
    let mut pos = e + 2;
    let mut argv = Vec::with_capacity(n);
    for _ in 0..n {
        let e = line_end(pos)?;
        let len: usize = std::str::from_utf8(&buf[pos + 1..e]).ok()?.parse().ok()?;
        pos = e + 2;
        if buf.len() < pos + len + 2 {
            return None;
        }
        argv.push(buf[pos..pos + len].to_vec());
        pos += len + 2;
    }
    Some((pos, Some(argv)))
}

// ---------------------------------------------------------------------------------------
// Transcripts
// ---------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
pub enum Val {
    /// Compared byte for byte.
    Exact(String),
    /// INFO fields `(name, value)` in order, normalised; compared field by field.
    Info(Vec<(String, String)>),
    /// A count compared within a tolerance (e.g. periodic pings).
    Within(i64, i64),
}

impl std::fmt::Display for Val {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Val::Exact(s) => write!(f, "{s}"),
            Val::Info(v) => write!(f, "{}", v.iter().map(|(k, v)| format!("{k}:{v}")).collect::<Vec<_>>().join(" | ")),
            Val::Within(n, t) => write!(f, "{n} (±{t})"),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Entry {
    pub label: String,
    pub val: Val,
}

/// Clock-dependent seconds: equal when either is negative (-1 = "never"), otherwise both
/// non-negative and at most 2 apart.
pub fn near(a: i64, b: i64) -> bool {
    if a < 0 || b < 0 {
        a == b
    } else {
        (a - b).abs() <= 2
    }
}

/// INFO fields whose value is a number of seconds on the clock.
const CLOCK_FIELDS: &[&str] = &["master_last_io_seconds_ago", "master_link_down_since_seconds", "master_sync_last_io_seconds_ago"];

fn is_slave_line(name: &str) -> bool {
    name.len() > 5 && name.starts_with("slave") && name[5..].bytes().all(|b| b.is_ascii_digit())
}

/// Compares one INFO value; `None` if equal (after the clock tolerance).
fn info_value_diff(name: &str, a: &str, b: &str) -> Option<String> {
    if CLOCK_FIELDS.contains(&name) {
        return match (a.parse::<i64>(), b.parse::<i64>()) {
            (Ok(x), Ok(y)) if near(x, y) => None,
            _ => Some(format!("{name}: redis {a} / ours {b} (clock field, allowed ±2 s)")),
        };
    }
    if is_slave_line(name) {
        let pa: Vec<&str> = a.split(',').collect();
        let pb: Vec<&str> = b.split(',').collect();
        let names = |v: &[&str]| v.iter().map(|f| f.split('=').next().unwrap_or("").to_string()).collect::<Vec<_>>();
        if names(&pa) != names(&pb) {
            return Some(format!("{name}: redis {a} / ours {b}"));
        }
        for (fa, fb) in pa.iter().zip(&pb) {
            let (ka, va) = fa.split_once('=').unwrap_or((fa, ""));
            let (_, vb) = fb.split_once('=').unwrap_or((fb, ""));
            let same = if ka == "lag" {
                matches!((va.parse::<i64>(), vb.parse::<i64>()), (Ok(x), Ok(y)) if near(x, y))
            } else {
                va == vb
            };
            if !same {
                return Some(format!("{name}: redis {a} / ours {b} (field {ka})"));
            }
        }
        return None;
    }
    (a != b).then(|| format!("{name}: redis {a} / ours {b}"))
}

fn compare_val(a: &Val, b: &Val) -> Option<String> {
    match (a, b) {
        (Val::Exact(x), Val::Exact(y)) => (x != y).then(|| "differs".to_string()),
        (Val::Within(x, t), Val::Within(y, _)) => ((x - y).abs() > *t).then(|| format!("differs by more than {t}")),
        (Val::Info(x), Val::Info(y)) => {
            let nx: Vec<&str> = x.iter().map(|(k, _)| k.as_str()).collect();
            let ny: Vec<&str> = y.iter().map(|(k, _)| k.as_str()).collect();
            let mut out = Vec::new();
            if nx != ny {
                let missing: Vec<&&str> = nx.iter().filter(|k| !ny.contains(k)).collect();
                let extra: Vec<&&str> = ny.iter().filter(|k| !nx.contains(k)).collect();
                out.push(format!("field names/order differ (missing in ours: {missing:?}, extra in ours: {extra:?}); redis order {nx:?}, ours {ny:?}"));
            }
            let my: HashMap<&str, &str> = y.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            for (k, va) in x {
                if let Some(vb) = my.get(k.as_str()) {
                    if let Some(d) = info_value_diff(k, va, vb) {
                        out.push(d);
                    }
                }
            }
            (!out.is_empty()).then(|| out.join("; "))
        }
        _ => Some("different kinds of value".to_string()),
    }
}

/// One difference between the two transcripts.
#[derive(Debug, Clone)]
pub struct Difference {
    pub index: usize,
    pub label: String,
    pub redis: String,
    pub ours: String,
    pub why: String,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "[#{}] {}", self.index, self.label)?;
        writeln!(f, "    redis: {}", self.redis)?;
        writeln!(f, "    ours:  {}", self.ours)?;
        write!(f, "    why:   {}", self.why)
    }
}

/// Entry-by-entry comparison. Stops at the first label mismatch (the runs took different
/// paths, e.g. one aborted on a timeout); everything after it would be noise.
pub fn compare(redis: &[Entry], ours: &[Entry]) -> Vec<Difference> {
    let mut out = Vec::new();
    for (i, (a, b)) in redis.iter().zip(ours).enumerate() {
        if a.label != b.label {
            out.push(Difference {
                index: i,
                label: format!("{}  <>  {}", a.label, b.label),
                redis: a.val.to_string(),
                ours: b.val.to_string(),
                why: "the runs diverged here (different steps); later entries not compared".into(),
            });
            return out;
        }
        if let Some(why) = compare_val(&a.val, &b.val) {
            out.push(Difference { index: i, label: a.label.clone(), redis: a.val.to_string(), ours: b.val.to_string(), why });
        }
    }
    if redis.len() != ours.len() {
        let (longer, who) = if redis.len() > ours.len() { (redis, "redis") } else { (ours, "ours") };
        let first = &longer[redis.len().min(ours.len())];
        out.push(Difference {
            index: redis.len().min(ours.len()),
            label: first.label.clone(),
            redis: format!("{} entries", redis.len()),
            ours: format!("{} entries", ours.len()),
            why: format!("only {who} went on: {} = {}", first.label, first.val),
        });
    }
    out
}

/// A SPEC fact checked on the redis side: a scenario records these with [`Run::spec`]; a
/// redis-server transcript that violates one means the scenario (not the engine) is wrong.
pub const SPEC_FAIL: &str = "NOT AS SPEC: ";

// ---------------------------------------------------------------------------------------
// A run: the servers of one side and its transcript
// ---------------------------------------------------------------------------------------

pub struct Run {
    pub kind: Kind,
    pub entries: Vec<Entry>,
    servers: Vec<(String, Server)>,
    clients: HashMap<String, Client>,
    ports: Vec<(u16, String)>,
    replids: Vec<String>,
    proxies: Vec<(String, Proxy)>,
    /// Extra substitutions for stream normalisation (e.g. the SPOPped member).
    pub popped: Vec<String>,
}

pub type Res<T = ()> = Result<T, String>;

fn show_err(e: ReadError) -> String {
    match e {
        ReadError::Closed(b) => format!("<connection closed; received: {}>", escape(&b)),
        ReadError::TimedOut(b) => format!("<no reply within the timeout; received: {}>", escape(&b)),
    }
}

pub fn info_fields(raw: &[u8]) -> Vec<(String, String)> {
    let text = match Reply::parse(raw) {
        Some(Reply::Bulk(Some(b))) => String::from_utf8_lossy(&b).into_owned(),
        _ => String::from_utf8_lossy(raw).into_owned(),
    };
    text.split("\r\n")
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.split_once(':') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (l.to_string(), String::new()),
        })
        .collect()
}

fn is_replid(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Run {
    pub fn new(kind: Kind) -> Run {
        Run {
            kind,
            entries: Vec::new(),
            servers: Vec::new(),
            clients: HashMap::new(),
            ports: Vec::new(),
            replids: Vec::new(),
            proxies: Vec::new(),
            popped: Vec::new(),
        }
    }

    /// Starts node `name` with the standard arguments plus `extra`.
    pub fn start(&mut self, name: &str, extra: &[&str]) -> u16 {
        let s = Server::start(self.kind, extra);
        let port = s.port;
        self.ports.push((port, format!("<{name}>")));
        self.clients.insert(name.to_string(), s.connect());
        self.servers.push((name.to_string(), s));
        port
    }

    /// A proxy named `name` in front of node `target`.
    pub fn proxy(&mut self, name: &str, target: &str) -> u16 {
        let p = Proxy::new(self.port(target));
        let port = p.port;
        self.ports.push((port, format!("<{name}>")));
        self.proxies.push((name.to_string(), p));
        port
    }

    pub fn proxy_ref(&self, name: &str) -> &Proxy {
        &self.proxies.iter().find(|(n, _)| n == name).expect("proxy").1
    }

    pub fn port(&self, name: &str) -> u16 {
        self.servers.iter().find(|(n, _)| n == name).map(|(_, s)| s.port).unwrap_or_else(|| panic!("no node {name}"))
    }

    pub fn port_str(&self, name: &str) -> String {
        self.port(name).to_string()
    }

    /// A port number as its node name, or unchanged.
    pub fn norm_port(&self, s: &str) -> String {
        self.ports.iter().find(|(p, _)| p.to_string() == s).map(|(_, n)| n.clone()).unwrap_or_else(|| s.to_string())
    }

    /// A replication id as `R<n>` (zeros stay zeros: that is a value, not an id).
    pub fn norm_replid(&mut self, id: &str) -> String {
        if id.bytes().all(|b| b == b'0') {
            return id.to_string();
        }
        let id = id.to_ascii_lowercase();
        if let Some(i) = self.replids.iter().position(|r| *r == id) {
            return format!("R{}", i + 1);
        }
        self.replids.push(id);
        format!("R{}", self.replids.len())
    }

    pub fn record(&mut self, label: impl Into<String>, val: Val) {
        self.entries.push(Entry { label: label.into(), val });
    }

    pub fn exact(&mut self, label: impl Into<String>, text: impl Into<String>) {
        self.record(label, Val::Exact(text.into()));
    }

    /// Records a SPEC fact: `ok` on redis-server is required for the scenario to be valid.
    pub fn spec(&mut self, label: &str, ok: bool, detail: String) {
        let text = if ok { format!("as SPEC: {detail}") } else { format!("{SPEC_FAIL}{detail}") };
        self.exact(format!("spec: {label}"), text);
    }

    fn label(&self, node: &str, args: &[&str]) -> String {
        let a: Vec<String> = args.iter().map(|a| self.norm_port(&escape(a.as_bytes()))).collect();
        format!("{node}> {}", a.join(" "))
    }

    fn client(&mut self, node: &str) -> &mut Client {
        self.clients.get_mut(node).unwrap_or_else(|| panic!("no client for {node}"))
    }

    /// Sends a command without recording it.
    pub fn raw(&mut self, node: &str, args: &[&str]) -> Res<Vec<u8>> {
        let label = self.label(node, args);
        self.client(node).call(args).map_err(|e| format!("{label}: {}", show_err(e)))
    }

    /// Sends a command and records its reply byte for byte.
    pub fn cmd(&mut self, node: &str, args: &[&str]) -> Res<Vec<u8>> {
        let label = self.label(node, args);
        match self.client(node).call(args) {
            Ok(r) => {
                self.exact(label, escape(&r));
                Ok(r)
            }
            Err(e) => {
                let s = show_err(e);
                self.exact(label.clone(), s.clone());
                Err(format!("{label}: {s}"))
            }
        }
    }

    /// Sends several commands in one write and records every reply.
    pub fn pipeline(&mut self, node: &str, cmds: &[&[&str]]) -> Res<Vec<Vec<u8>>> {
        let mut bytes = Vec::new();
        for c in cmds {
            bytes.extend(encode(c));
        }
        let label = cmds.iter().map(|c| self.label(node, c)).collect::<Vec<_>>().join(" ; ");
        let c = self.client(node);
        c.send(&bytes);
        match c.read_replies(cmds.len()) {
            Ok(v) => {
                for (cmd, r) in cmds.iter().zip(&v) {
                    let l = format!("(pipelined) {}", self.label(node, cmd));
                    self.exact(l, escape(r));
                }
                Ok(v)
            }
            Err(e) => {
                let s = show_err(e);
                self.exact(format!("(pipelined) {label}"), s.clone());
                Err(format!("{label}: {s}"))
            }
        }
    }

    /// Sends one command to each node first, then reads the replies in order (commands that
    /// must reach different nodes at nearly the same time); records every reply.
    pub fn fan_out(&mut self, cmds: &[(&str, &[&str])]) -> Res<Vec<Vec<u8>>> {
        for (node, args) in cmds {
            self.client(node).send(&encode(args));
        }
        let mut out = Vec::new();
        for (node, args) in cmds {
            let label = format!("(sent together) {}", self.label(node, args));
            match self.client(node).read_replies(1) {
                Ok(mut v) => {
                    let r = v.remove(0);
                    self.exact(label, escape(&r));
                    out.push(r);
                }
                Err(e) => {
                    let s = show_err(e);
                    self.exact(label.clone(), s.clone());
                    return Err(format!("{label}: {s}"));
                }
            }
        }
        Ok(out)
    }

    /// The raw INFO fields of `section` (not recorded).
    ///
    /// INFO goes over a second connection of its own to the node, so that polling never
    /// changes the state of the main one (a MULTI in progress, WAIT's offset of the
    /// client's last command).
    pub fn info(&mut self, node: &str, section: &str) -> Res<Vec<(String, String)>> {
        let side = format!("{node}#info");
        if !self.clients.contains_key(&side) {
            let port = self.port(node);
            self.clients.insert(side.clone(), Client::connect(port));
        }
        let raw = self.client(&side).call(&["INFO", section]).map_err(|e| format!("{node}> INFO {section}: {}", show_err(e)))?;
        Ok(info_fields(&raw))
    }

    pub fn field(&mut self, node: &str, section: &str, name: &str) -> Res<String> {
        Ok(self.info(node, section)?.into_iter().find(|(k, _)| k == name).map(|(_, v)| v).unwrap_or_default())
    }

    pub fn offset(&mut self, node: &str) -> Res<i64> {
        self.field(node, "replication", "master_repl_offset")?.parse().map_err(|_| format!("{node}: no master_repl_offset"))
    }

    /// INFO replication, normalised, recorded for a field-by-field comparison.
    pub fn record_info(&mut self, node: &str, note: &str) -> Res<Vec<(String, String)>> {
        let fields = self.info(node, "replication")?;
        let mut norm = Vec::new();
        for (k, v) in &fields {
            let v = match k.as_str() {
                "master_replid" | "master_replid2" if is_replid(v) => self.norm_replid(v),
                "master_port" => self.norm_port(v),
                _ if is_slave_line(k) => v
                    .split(',')
                    .map(|f| match f.split_once('=') {
                        Some(("port", p)) => format!("port={}", self.norm_port(p)),
                        _ => f.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(","),
                _ => v.clone(),
            };
            norm.push((k.clone(), v));
        }
        self.record(format!("{node}> INFO replication ({note})"), Val::Info(norm));
        Ok(fields)
    }

    /// Like `record_info`, but the `slave<i>` lines are sorted (for replicas that attached
    /// concurrently: their order is the order their PSYNCs arrived, a race between two
    /// processes) and renumbered.
    pub fn record_info_sorted_slaves(&mut self, node: &str, note: &str) -> Res<()> {
        self.record_info(node, note)?;
        let Some(Entry { val: Val::Info(fields), .. }) = self.entries.last_mut() else { unreachable!() };
        let mut lines: Vec<String> = fields.iter().filter(|(k, _)| is_slave_line(k)).map(|(_, v)| v.clone()).collect();
        lines.sort();
        let mut it = lines.into_iter();
        for (k, v) in fields.iter_mut() {
            if is_slave_line(k) {
                *v = it.next().unwrap();
            }
        }
        Ok(())
    }

    /// `sync_full`, `sync_partial_ok`, `sync_partial_err` of INFO stats.
    pub fn counters(&mut self, node: &str) -> Res<(i64, i64, i64)> {
        let st = self.info(node, "stats")?;
        let get = |n: &str| st.iter().find(|(k, _)| k == n).and_then(|(_, v)| v.parse().ok()).unwrap_or(-1);
        Ok((get("sync_full"), get("sync_partial_ok"), get("sync_partial_err")))
    }

    pub fn record_counters(&mut self, node: &str) -> Res<(i64, i64, i64)> {
        let c = self.counters(node)?;
        self.exact(format!("{node}> sync counters"), format!("sync_full:{} sync_partial_ok:{} sync_partial_err:{}", c.0, c.1, c.2));
        Ok(c)
    }

    /// DEBUG DIGEST of every node (recorded), plus whether they all agree.
    pub fn record_digests(&mut self, nodes: &[&str]) -> Res<()> {
        let mut all = Vec::new();
        for n in nodes {
            let d = self.cmd(n, &["DEBUG", "DIGEST"])?;
            all.push(d);
        }
        let same = all.windows(2).all(|w| w[0] == w[1]);
        self.exact(format!("digests of {} agree", nodes.join(",")), same.to_string());
        Ok(())
    }

    /// ROLE, recorded with the ports replaced by node names (positional: ROLE holds offsets
    /// that could look like port numbers).
    pub fn record_role(&mut self, node: &str) -> Res<()> {
        let raw = self.raw(node, &["ROLE"])?;
        let text = match Reply::parse(&raw) {
            Some(Reply::Array(Some(v))) => {
                let s = |r: &Reply| match r {
                    Reply::Bulk(Some(b)) => format!("\"{}\"", escape(b)),
                    Reply::Int(n) => format!(":{n}"),
                    other => format!("{other:?}"),
                };
                match v.first() {
                    Some(Reply::Bulk(Some(b))) if b == b"master" && v.len() == 3 => {
                        let reps = match &v[2] {
                            Reply::Array(Some(list)) => list
                                .iter()
                                .map(|r| match r {
                                    Reply::Array(Some(t)) if t.len() == 3 => {
                                        let port = t[1].bulk_text().map(|p| self.norm_port(&p)).unwrap_or_default();
                                        format!("[{}, \"{port}\"({}), {}]", s(&t[0]), escape(&encode_bulk_len(&t[1])), s(&t[2]))
                                    }
                                    other => format!("{other:?}"),
                                })
                                .collect::<Vec<_>>()
                                .join(", "),
                            other => format!("{other:?}"),
                        };
                        format!("[\"master\", {}, [{reps}]]", s(&v[1]))
                    }
                    Some(Reply::Bulk(Some(b))) if b == b"slave" && v.len() == 5 => {
                        let port = match &v[2] {
                            Reply::Int(n) => format!(":{}", self.norm_port(&n.to_string())),
                            other => format!("{other:?}"),
                        };
                        format!("[\"slave\", {}, {port}, {}, {}]", s(&v[1]), s(&v[3]), s(&v[4]))
                    }
                    _ => escape(&raw),
                }
            }
            _ => escape(&raw),
        };
        self.exact(format!("{node}> ROLE"), text);
        Ok(())
    }

    /// Polls `f` every 25 ms until it returns `None` (done) or `timeout`; `Some(s)` says what
    /// was last seen. Records the wait so both transcripts show it.
    pub fn wait(&mut self, what: &str, timeout: Duration, mut f: impl FnMut(&mut Run) -> Res<Option<String>>) -> Res<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let last = match f(self) {
                Ok(None) => {
                    self.exact(format!("wait: {what}"), "ok");
                    return Ok(());
                }
                Ok(Some(s)) => s,
                Err(e) => e,
            };
            if Instant::now() > deadline {
                let msg = format!("TIMEOUT after {timeout:?}; last seen: {last}");
                self.exact(format!("wait: {what}"), msg.clone());
                return Err(format!("{what}: {msg}"));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Waits until `replica`'s link is up.
    pub fn wait_link_up(&mut self, replica: &str, timeout: Duration) -> Res<()> {
        let r = replica.to_string();
        self.wait(&format!("{replica} master_link_status:up"), timeout, move |run| {
            let v = run.field(&r, "replication", "master_link_status")?;
            Ok((v != "up").then_some(format!("master_link_status:{v}")))
        })
    }

    /// Waits until `master` lists exactly `replicas` online with ACKed offsets equal to its
    /// master_repl_offset, and every replica's link is up at that offset.
    pub fn wait_synced(&mut self, master: &str, replicas: &[&str], timeout: Duration) -> Res<()> {
        let m = master.to_string();
        let reps: Vec<String> = replicas.iter().map(|s| s.to_string()).collect();
        self.wait(&format!("{master} and {} in sync (online, offsets equal)", replicas.join(",")), timeout, move |run| {
            let mi = run.info(&m, "replication")?;
            let get = |f: &[(String, String)], n: &str| f.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()).unwrap_or_default();
            let off = get(&mi, "master_repl_offset");
            let slaves: Vec<String> = mi.iter().filter(|(k, _)| is_slave_line(k)).map(|(_, v)| v.clone()).collect();
            if slaves.len() != reps.len() {
                return Ok(Some(format!("{m} has {} replicas: {slaves:?}", slaves.len())));
            }
            for s in &slaves {
                if !s.contains("state=online") || !s.contains(&format!(",offset={off},")) {
                    return Ok(Some(format!("{m} master_repl_offset {off}, replica {s}")));
                }
            }
            for r in &reps {
                let ri = run.info(r, "replication")?;
                let (link, roff) = (get(&ri, "master_link_status"), get(&ri, "slave_repl_offset"));
                if link != "up" || roff != off {
                    return Ok(Some(format!("{r} link {link} slave_repl_offset {roff}, {m} offset {off}")));
                }
            }
            Ok(None)
        })
    }

    /// The last lines of each server's output (for a run that aborted).
    pub fn log_tails(&self) -> String {
        let mut out = String::new();
        for (name, s) in &self.servers {
            let text = s.log_text();
            let lines: Vec<&str> = text.lines().collect();
            out.push_str(&format!("--- {name} ({}) last output ---\n", s.kind.name()));
            for l in &lines[lines.len().saturating_sub(20)..] {
                out.push_str(l);
                out.push('\n');
            }
        }
        out
    }
}

fn encode_bulk_len(r: &Reply) -> Vec<u8> {
    match r {
        Reply::Bulk(Some(b)) => format!("${}", b.len()).into_bytes(),
        _ => b"?".to_vec(),
    }
}

// ---------------------------------------------------------------------------------------
// The driver
// ---------------------------------------------------------------------------------------

pub struct Outcome {
    pub redis: Vec<Entry>,
    pub ours: Vec<Entry>,
    pub differences: Vec<Difference>,
    pub elapsed: Duration,
}

fn execute(kind: Kind, scenario: &(dyn Fn(&mut Run) -> Res + Sync)) -> (Vec<Entry>, Option<String>) {
    let mut run = Run::new(kind);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| scenario(&mut run)));
    let err = match result {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e),
        Err(p) => Some(
            p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_else(|| "panic".into()),
        ),
    };
    let tails = err.as_ref().map(|_| run.log_tails());
    if let Some(e) = &err {
        run.exact("run aborted", e.clone());
    }
    // Proxies and fake replicas first, then the servers (dropping kills them by PID).
    run.proxies.clear();
    run.clients.clear();
    let entries = std::mem::take(&mut run.entries);
    drop(run);
    (entries, err.map(|e| format!("{e}\n{}", tails.unwrap_or_default())))
}

/// Runs `scenario` on redis-servers and on replscope-nodes (concurrently: each run has its
/// own servers on their own free ports) and compares the transcripts.
pub fn differential(name: &str, scenario: impl Fn(&mut Run) -> Res + Sync) -> Outcome {
    crate::redis_server_path();
    crate::node_binary();
    let t0 = Instant::now();
    let f: &(dyn Fn(&mut Run) -> Res + Sync) = &scenario;
    let ((redis, redis_err), (ours, ours_err)) = std::thread::scope(|s| {
        let a = s.spawn(|| execute(Kind::Redis, f));
        let b = s.spawn(|| execute(Kind::Node, f));
        (a.join().expect("redis run"), b.join().expect("node run"))
    });
    let elapsed = t0.elapsed();
    if let Some(e) = &redis_err {
        eprintln!("[{name}] redis-server run aborted: {e}");
    }
    if let Some(e) = &ours_err {
        eprintln!("[{name}] replscope-node run aborted: {e}");
    }
    let mut differences = compare(&redis, &ours);
    // An aborted run is a failure even when both aborted the same way.
    for (who, err) in [("redis-server", &redis_err), ("replscope-node", &ours_err)] {
        if let Some(e) = err {
            differences.push(Difference {
                index: usize::MAX,
                label: format!("{who} run aborted"),
                redis: String::new(),
                ours: String::new(),
                why: e.clone(),
            });
        }
    }
    for (i, e) in redis.iter().enumerate() {
        if let Val::Exact(t) = &e.val {
            if t.starts_with(SPEC_FAIL) {
                differences.push(Difference {
                    index: i,
                    label: e.label.clone(),
                    redis: t.clone(),
                    ours: String::new(),
                    why: "redis-server itself does not show the SPEC fact: the scenario is wrong".into(),
                });
            }
        }
    }
    eprintln!("[{name}] {} entries (redis) / {} (ours), {} difference(s), {:.1} s", redis.len(), ours.len(), differences.len(), elapsed.as_secs_f64());
    if std::env::var_os("PAIRS_TRANSCRIPT").is_some() {
        for (i, e) in redis.iter().enumerate() {
            eprintln!("  redis #{i} {} = {}", e.label, e.val);
        }
        for (i, e) in ours.iter().enumerate() {
            eprintln!("  ours  #{i} {} = {}", e.label, e.val);
        }
    }
    Outcome { redis, ours, differences, elapsed }
}

impl Outcome {
    /// Fails the test with every difference.
    pub fn assert_same(&self, name: &str) {
        if self.differences.is_empty() {
            return;
        }
        let mut msg = format!("{name}: {} difference(s) between redis-server and replscope-node:\n", self.differences.len());
        for d in &self.differences {
            msg.push_str(&format!("{d}\n"));
        }
        panic!("{msg}");
    }
}

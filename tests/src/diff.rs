//! Differential runner: one script, two servers (redis-server and replscope-node), run in
//! lockstep. Every step sends the same bytes to both and compares the replies, byte for byte
//! unless the step names a narrower comparison ([`Cmp`]). Mismatches are printed as they
//! happen and collected; [`Diff::finish`] fails the test listing all of them.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::{encode, escape, Client, ReadError, Reply, Server};

/// How two replies are compared. Everything but `Exact` exists because the reply is
/// legitimately different between two servers (clocks, ports, memory, hash-table order).
#[derive(Clone, Debug)]
pub enum Cmp {
    /// Byte-identical.
    Exact,
    /// TIME: two bulk strings of digits each; the clocks may differ by a few seconds.
    Time,
    /// INFO: the same sections and field names in the same order, plus the values of the
    /// fields that do not depend on memory, time, PIDs or random ids.
    Info,
    /// CLIENT LIST / CLIENT INFO: the same number of lines, the same field names in order,
    /// addresses in `ip:port` form, and equal values for the fields that do not depend on
    /// timing or memory accounting.
    ClientList,
    /// Any integer (CLIENT ID, COMMAND COUNT: we implement fewer commands).
    IntType,
    /// An array compared as a multiset (KEYS, SMEMBERS of a hash-table set: order is the
    /// hash table's).
    Sorted,
    /// CONFIG GET with a glob: name/value pairs compared as a set (dict order).
    SortedPairs,
    /// RANDOMKEY / SPOP: a bulk string from this set.
    OneOf(Vec<String>),
    /// SPOP with a count: distinct members of this set, as many on both sides.
    SubsetOf(Vec<String>),
    /// TTL / PTTL: an integer in this range on both sides.
    IntRange(i64, i64),
    /// Exact after replacing each side's own port and dir by placeholders (CONFIG GET port).
    OwnValues,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    Redis,
    Ours,
}

/// Facts about one side a step may need to build its command.
#[derive(Clone, Debug)]
pub struct SideInfo {
    pub which: Which,
    pub port: u16,
    pub dir: String,
    /// Local address (as the server sees it) of each open connection.
    pub addrs: Vec<String>,
}

struct Side {
    info: SideInfo,
    conns: Vec<Option<Client>>,
}

impl Side {
    fn conn(&mut self, i: usize) -> &mut Client {
        self.conns[i].as_mut().expect("connection was closed")
    }
}

#[derive(Debug, Clone)]
pub struct Mismatch {
    pub step: usize,
    pub command: String,
    pub redis: String,
    pub ours: String,
    pub why: String,
}

/// Long replies (INFO ALL is 14 kB) are cut in the report; `why` says what differs.
fn clip(s: &str) -> String {
    const MAX: usize = 1200;
    if s.len() <= MAX {
        return s.to_string();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({} characters in all)", &s[..end], s.len())
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "[step {}] {}", self.step, self.command)?;
        writeln!(f, "    redis: {}", clip(&self.redis))?;
        writeln!(f, "    ours:  {}", clip(&self.ours))?;
        if !self.why.is_empty() {
            writeln!(f, "    why:   {}", self.why)?;
        }
        Ok(())
    }
}

pub struct Diff {
    name: String,
    redis: Side,
    ours: Side,
    pub mismatches: Vec<Mismatch>,
    pub steps: usize,
    /// Commands sent to each server (a pipeline of 50 counts 50).
    pub commands: usize,
}

fn show(r: &Result<Vec<u8>, ReadError>) -> String {
    match r {
        Ok(b) => escape(b),
        Err(ReadError::Closed(b)) => format!("<connection closed; received: {}>", escape(b)),
        Err(ReadError::TimedOut(b)) => format!("<no complete reply within the timeout; received: {}>", escape(b)),
    }
}

/// A command for the report: arguments joined by spaces, escaped.
pub fn label<S: AsRef<[u8]>>(args: &[S]) -> String {
    args.iter().map(|a| escape(a.as_ref())).collect::<Vec<_>>().join(" ")
}

impl Diff {
    /// Opens connection 0 to each server.
    pub fn new(name: &str, redis: &Server, ours: &Server) -> Diff {
        let side = |s: &Server, which| {
            let c = s.connect();
            Side {
                info: SideInfo { which, port: s.port, dir: s.dir().to_string_lossy().into_owned(), addrs: vec![c.local_addr()] },
                conns: vec![Some(c)],
            }
        };
        Diff {
            name: name.to_string(),
            redis: side(redis, Which::Redis),
            ours: side(ours, Which::Ours),
            mismatches: Vec::new(),
            steps: 0,
            commands: 0,
        }
    }

    /// Opens another connection to each server; returns its index.
    pub fn open(&mut self) -> usize {
        for side in [&mut self.redis, &mut self.ours] {
            let c = Client::connect(side.info.port);
            side.info.addrs.push(c.local_addr());
            side.conns.push(Some(c));
        }
        self.redis.conns.len() - 1
    }

    /// Closes connection `i` on both sides.
    pub fn close(&mut self, i: usize) {
        for side in [&mut self.redis, &mut self.ours] {
            if let Some(c) = side.conns[i].take() {
                c.shutdown();
            }
        }
    }

    /// Raw access to connection `conn` on each side, for exchanges the step helpers do not
    /// cover (a replica's view of the replication stream). Returns (redis, ours).
    pub fn each<T>(&mut self, conn: usize, mut f: impl FnMut(&SideInfo, &mut Client) -> T) -> (T, T) {
        let r = f(&self.redis.info, self.redis.conns[conn].as_mut().expect("open connection"));
        let o = f(&self.ours.info, self.ours.conns[conn].as_mut().expect("open connection"));
        (r, o)
    }

    /// Counts a step checked by the caller, recording a mismatch if `why` is `Some`.
    pub fn checked(&mut self, command: &str, redis: &[u8], ours: &[u8], why: Option<String>) {
        self.steps += 1;
        if let Some(why) = why {
            self.record(command.to_string(), escape(redis), escape(ours), why);
        }
    }

    fn record(&mut self, command: String, redis: String, ours: String, why: String) {
        let m = Mismatch { step: self.steps, command, redis, ours, why };
        eprintln!("MISMATCH ({}) {m}", self.name);
        self.mismatches.push(m);
    }

    /// After a reply went missing, both sides get a fresh connection `i`, so later steps
    /// start from the same (default) connection state again.
    fn reconnect(&mut self, i: usize) {
        for side in [&mut self.redis, &mut self.ours] {
            if let Some(c) = side.conns[i].take() {
                c.shutdown();
            }
            let c = Client::connect(side.info.port);
            side.info.addrs[i] = c.local_addr();
            side.conns[i] = Some(c);
        }
        eprintln!("NOTE ({}) connection {i} reopened on both servers after a missing reply", self.name);
    }

    /// Sends `bytes` (per side) on connection `conn` and reads `n` replies from each.
    fn exchange(&mut self, conn: usize, rb: &[u8], ob: &[u8], n: usize) -> [Result<Vec<Vec<u8>>, ReadError>; 2] {
        self.redis.conn(conn).send(rb);
        self.ours.conn(conn).send(ob);
        let r = self.redis.conn(conn).read_replies(n);
        let o = self.ours.conn(conn).read_replies(n);
        [r, o]
    }

    /// Runs `args` on connection 0 and compares byte for byte.
    pub fn cmd(&mut self, args: &[&str]) {
        self.check(0, args, Cmp::Exact);
    }

    /// Runs `args` on connection `conn` with comparison `cmp`.
    pub fn check(&mut self, conn: usize, args: &[&str], cmp: Cmp) {
        let bytes = encode(args);
        self.step(conn, label(args), &bytes, &bytes, 1, std::slice::from_ref(&cmp));
    }

    /// Like `check`, with a command built from each side's facts (its port, its client
    /// addresses).
    pub fn check_each(&mut self, conn: usize, build: impl Fn(&SideInfo) -> Vec<String>, cmp: Cmp) {
        let ra = build(&self.redis.info);
        let oa = build(&self.ours.info);
        let text = if ra == oa { label(&ra) } else { format!("{} (ours: {})", label(&ra), label(&oa)) };
        self.step(conn, text, &encode(&ra), &encode(&oa), 1, std::slice::from_ref(&cmp));
    }

    /// Sends raw bytes and compares the `n` replies they produce, byte for byte.
    pub fn raw(&mut self, conn: usize, bytes: &[u8], n: usize) {
        let cmps = vec![Cmp::Exact; n];
        self.step(conn, format!("raw \"{}\"", escape(bytes)), bytes, bytes, n, &cmps);
    }

    /// Sends all `cmds` in a single write and compares each reply (byte for byte).
    pub fn pipeline(&mut self, conn: usize, cmds: &[Vec<&str>]) {
        let mut bytes = Vec::new();
        for c in cmds {
            bytes.extend(encode(c));
        }
        let labels: Vec<String> = cmds.iter().map(|c| label(c)).collect();
        self.multi_step(conn, &labels, &bytes, &vec![Cmp::Exact; cmds.len()]);
    }

    fn step(&mut self, conn: usize, text: String, rb: &[u8], ob: &[u8], n: usize, cmps: &[Cmp]) {
        if n == 1 {
            self.steps += 1;
            self.commands += 1;
            let [r, o] = self.exchange(conn, rb, ob, 1);
            self.judge(conn, &text, r.map(|mut v| v.remove(0)), o.map(|mut v| v.remove(0)), &cmps[0]);
            self.check_no_extra(conn, &text);
        } else {
            assert_eq!(rb, ob);
            let labels: Vec<String> = (0..n).map(|i| format!("{text} (reply {} of {n})", i + 1)).collect();
            self.multi_step(conn, &labels, rb, cmps);
        }
    }

    fn multi_step(&mut self, conn: usize, labels: &[String], bytes: &[u8], cmps: &[Cmp]) {
        let n = labels.len();
        self.commands += n;
        let [r, o] = self.exchange(conn, bytes, bytes, n);
        match (r, o) {
            (Ok(r), Ok(o)) => {
                for i in 0..n {
                    self.steps += 1;
                    self.judge(conn, &labels[i], Ok(r[i].clone()), Ok(o[i].clone()), &cmps[i]);
                }
            }
            (r, o) => {
                self.steps += 1;
                let s = |x: &Result<Vec<Vec<u8>>, ReadError>| match x {
                    Ok(v) => escape(&v.concat()),
                    Err(e) => show(&Err(e.clone())),
                };
                let why = format!("expected {n} replies from each");
                self.record(format!("{} commands: {}", n, labels.join(" | ")), s(&r), s(&o), why);
                self.reconnect(conn);
                return;
            }
        }
        self.check_no_extra(conn, &labels.join(" | "));
    }

    fn check_no_extra(&mut self, conn: usize, text: &str) {
        let (Some(Some(rc)), Some(Some(oc))) = (self.redis.conns.get_mut(conn), self.ours.conns.get_mut(conn)) else { return };
        let re = rc.take_pending();
        let oe = oc.take_pending();
        if re != oe {
            self.record(format!("{text} (bytes after the expected replies)"), escape(&re), escape(&oe), "extra bytes".into());
        }
    }

    fn judge(&mut self, conn: usize, text: &str, r: Result<Vec<u8>, ReadError>, o: Result<Vec<u8>, ReadError>, cmp: &Cmp) {
        match (&r, &o) {
            (Ok(rb), Ok(ob)) => {
                if let Err(why) = compare(cmp, rb, ob, &self.redis.info, &self.ours.info) {
                    self.record(text.to_string(), escape(rb), escape(ob), why);
                }
            }
            _ => {
                self.record(text.to_string(), show(&r), show(&o), "a reply is missing".into());
                self.reconnect(conn);
            }
        }
    }

    /// Opens a fresh connection on each side, sends `bytes`, and reads until the server
    /// closes it (protocol errors close the connection after the error reply).
    pub fn until_close(&mut self, bytes: &[u8]) {
        self.steps += 1;
        self.commands += 1;
        let mut rc = Client::connect(self.redis.info.port);
        let mut oc = Client::connect(self.ours.info.port);
        rc.send(bytes);
        oc.send(bytes);
        self.compare_close(&format!("fresh connection, raw \"{}\", read until closed", escape(bytes)), &mut rc, &mut oc);
    }

    /// Reads connection `conn` until the server closes it on both sides (after CLIENT KILL,
    /// QUIT, SHUTDOWN), and forgets it.
    pub fn expect_closed(&mut self, conn: usize, what: &str) {
        self.steps += 1;
        let mut rc = self.redis.conns[conn].take().expect("open connection");
        let mut oc = self.ours.conns[conn].take().expect("open connection");
        self.compare_close(&format!("connection {conn} after {what}: read until closed"), &mut rc, &mut oc);
    }

    /// Sends on connection `conn` and then reads it until closed (QUIT, SHUTDOWN).
    pub fn send_until_close(&mut self, conn: usize, args: &[&str]) {
        self.commands += 1;
        let bytes = encode(args);
        self.redis.conn(conn).send(&bytes);
        self.ours.conn(conn).send(&bytes);
        self.expect_closed(conn, &label(args));
    }

    fn compare_close(&mut self, text: &str, rc: &mut Client, oc: &mut Client) {
        let (rb, rclosed) = rc.read_until_close(Duration::from_secs(3));
        let (ob, oclosed) = oc.read_until_close(Duration::from_secs(3));
        if rb != ob || rclosed != oclosed {
            let s = |b: &[u8], closed: bool| format!("{}{}", escape(b), if closed { " <closed>" } else { " <still open after 3 s>" });
            self.record(text.to_string(), s(&rb, rclosed), s(&ob, oclosed), String::new());
        }
    }

    /// SCAN from cursor 0 until the cursor comes back to 0 on each side separately (cursors
    /// are hash-table positions, so the pages differ), then compares the union of the keys.
    pub fn scan(&mut self, conn: usize, extra: &[&str]) {
        self.steps += 1;
        let text = format!("SCAN 0 {} ... until cursor 0 (union of keys)", label(extra));
        let r = scan_all(self.redis.conn(conn), extra);
        let o = scan_all(self.ours.conn(conn), extra);
        match (r, o) {
            (Ok((r, rn)), Ok((o, on))) => {
                self.commands += rn.max(on);
                if r != o {
                    let s = |set: &BTreeSet<Vec<u8>>| set.iter().map(|k| escape(k)).collect::<Vec<_>>().join(", ");
                    self.record(text, s(&r), s(&o), "different keys".into());
                }
            }
            (r, o) => {
                let s = |x: &Result<(BTreeSet<Vec<u8>>, usize), String>| match x {
                    Ok((set, _)) => format!("{} keys", set.len()),
                    Err(e) => e.clone(),
                };
                self.record(text, s(&r), s(&o), "SCAN failed".into());
                self.reconnect(conn);
            }
        }
    }

    pub fn sleep(&mut self, ms: u64) {
        std::thread::sleep(Duration::from_millis(ms));
    }

    /// Prints the summary and fails listing every mismatch.
    pub fn finish(self) {
        eprintln!(
            "differential '{}': {} steps, {} commands, {} mismatches",
            self.name,
            self.steps,
            self.commands,
            self.mismatches.len()
        );
        if !self.mismatches.is_empty() {
            let mut text = String::new();
            for m in &self.mismatches {
                text.push_str(&m.to_string());
            }
            panic!(
                "differential '{}': {} of {} steps differ between redis-server and replscope-node:\n{text}",
                self.name,
                self.mismatches.len(),
                self.steps
            );
        }
    }
}

fn scan_all(c: &mut Client, extra: &[&str]) -> Result<(BTreeSet<Vec<u8>>, usize), String> {
    let mut cursor = "0".to_string();
    let mut keys = BTreeSet::new();
    for calls in 1..=10_000 {
        let mut args = vec!["SCAN", cursor.as_str()];
        args.extend_from_slice(extra);
        let raw = c.call(&args).map_err(|e| show(&Err(e)))?;
        let Some(Reply::Array(Some(items))) = Reply::parse(&raw) else { return Err(format!("not an array: {}", escape(&raw))) };
        let [Reply::Bulk(Some(next)), Reply::Array(Some(page))] = items.as_slice() else {
            return Err(format!("not [cursor, keys]: {}", escape(&raw)));
        };
        for k in page {
            match k {
                Reply::Bulk(Some(k)) => {
                    keys.insert(k.clone());
                }
                _ => return Err(format!("a key is not a bulk string: {}", escape(&raw))),
            }
        }
        cursor = String::from_utf8_lossy(next).into_owned();
        if cursor == "0" {
            return Ok((keys, calls));
        }
    }
    Err("SCAN did not return to cursor 0 within 10000 calls".into())
}

/// Compares two replies under `cmp`. `Err(reason)` for a mismatch.
pub fn compare(cmp: &Cmp, r: &[u8], o: &[u8], rs: &SideInfo, os: &SideInfo) -> Result<(), String> {
    if let Cmp::Exact = cmp {
        return if r == o { Ok(()) } else { Err(String::new()) };
    }
    let (Some(rp), Some(op)) = (Reply::parse(r), Reply::parse(o)) else {
        return if r == o { Ok(()) } else { Err("not a single well-formed RESP2 reply".into()) };
    };
    // An error (or any other reply kind) where a value was expected: only equal bytes pass.
    if matches!(rp, Reply::Error(_)) || matches!(op, Reply::Error(_)) {
        return if r == o { Ok(()) } else { Err("error reply".into()) };
    }
    match cmp {
        Cmp::Exact => unreachable!(),
        Cmp::Time => {
            let secs = |p: &Reply| -> Option<(i64, i64)> {
                let Reply::Array(Some(v)) = p else { return None };
                let [Reply::Bulk(Some(s)), Reply::Bulk(Some(us))] = v.as_slice() else { return None };
                let s: i64 = std::str::from_utf8(s).ok()?.parse().ok()?;
                let us: i64 = std::str::from_utf8(us).ok()?.parse().ok()?;
                (0..1_000_000).contains(&us).then_some((s, us))
            };
            match (secs(&rp), secs(&op)) {
                (Some((a, _)), Some((b, _))) if (a - b).abs() <= 5 => Ok(()),
                (Some(_), Some(_)) => Err("clocks more than 5 s apart".into()),
                _ => Err("not [seconds, microseconds]".into()),
            }
        }
        Cmp::IntType => match (&rp, &op) {
            (Reply::Int(_), Reply::Int(_)) => Ok(()),
            _ => Err("not both integers".into()),
        },
        Cmp::IntRange(lo, hi) => match (&rp, &op) {
            (Reply::Int(a), Reply::Int(b)) if (lo..=hi).contains(&a) && (lo..=hi).contains(&b) => Ok(()),
            _ => Err(format!("expected integers in {lo}..={hi}")),
        },
        Cmp::Sorted => match (&rp, &op) {
            (Reply::Array(Some(a)), Reply::Array(Some(b))) => {
                let (mut a, mut b) = (a.clone(), b.clone());
                a.sort();
                b.sort();
                if a == b { Ok(()) } else { Err("different elements (compared as sorted multisets)".into()) }
            }
            _ => if r == o { Ok(()) } else { Err("not both arrays".into()) },
        },
        Cmp::SortedPairs => match (&rp, &op) {
            (Reply::Array(Some(a)), Reply::Array(Some(b))) if a.len() % 2 == 0 && b.len() % 2 == 0 => {
                let pairs = |v: &Vec<Reply>| {
                    let mut p: Vec<(Reply, Reply)> = v.chunks(2).map(|c| (c[0].clone(), c[1].clone())).collect();
                    p.sort();
                    p
                };
                if pairs(a) == pairs(b) { Ok(()) } else { Err("different name/value pairs (compared as sets)".into()) }
            }
            _ => Err("not both arrays of pairs".into()),
        },
        Cmp::OneOf(set) => {
            let ok = |p: &Reply| matches!(p, Reply::Bulk(Some(b)) if set.iter().any(|m| m.as_bytes() == b.as_slice()));
            if ok(&rp) && ok(&op) { Ok(()) } else { Err(format!("expected one of {set:?} from both")) }
        }
        Cmp::SubsetOf(set) => {
            let members = |p: &Reply| -> Option<Vec<Vec<u8>>> {
                let Reply::Array(Some(v)) = p else { return None };
                let mut out = Vec::new();
                for x in v {
                    match x {
                        Reply::Bulk(Some(b)) if set.iter().any(|m| m.as_bytes() == b.as_slice()) && !out.contains(b) => out.push(b.clone()),
                        _ => return None,
                    }
                }
                Some(out)
            };
            match (members(&rp), members(&op)) {
                (Some(a), Some(b)) if a.len() == b.len() => Ok(()),
                _ => Err(format!("expected the same number of distinct members of {set:?}")),
            }
        }
        Cmp::OwnValues => {
            let norm = |p: &Reply, s: &SideInfo| map_bulks(p, &|b: &[u8]| {
                if b == s.port.to_string().as_bytes() {
                    b"<own port>".to_vec()
                } else if b == s.dir.as_bytes() {
                    b"<own dir>".to_vec()
                } else {
                    b.to_vec()
                }
            });
            if norm(&rp, rs) == norm(&op, os) { Ok(()) } else { Err("different after replacing each side's own port and dir".into()) }
        }
        Cmp::Info => match (rp.bulk_text(), op.bulk_text()) {
            (Some(a), Some(b)) => compare_info(&a, &b, rs, os),
            _ => Err("not both bulk strings".into()),
        },
        Cmp::ClientList => match (rp.bulk_text(), op.bulk_text()) {
            (Some(a), Some(b)) => compare_client_list(&a, &b, rs, os),
            _ => Err("not both bulk strings".into()),
        },
    }
}

fn map_bulks(p: &Reply, f: &dyn Fn(&[u8]) -> Vec<u8>) -> Reply {
    match p {
        Reply::Bulk(Some(b)) => Reply::Bulk(Some(f(b))),
        Reply::Array(Some(v)) => Reply::Array(Some(v.iter().map(|x| map_bulks(x, f)).collect())),
        other => other.clone(),
    }
}

type Sections = Vec<(String, Vec<(String, String)>)>;

fn parse_info(text: &str) -> Result<Sections, String> {
    let mut out: Sections = Vec::new();
    for line in text.split('\n') {
        if line.is_empty() {
            continue;
        }
        let Some(line) = line.strip_suffix('\r') else { return Err(format!("line without \\r\\n: {line:?}")) };
        if line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix("# ") {
            out.push((name.to_string(), Vec::new()));
        } else if let Some((k, v)) = line.split_once(':') {
            match out.last_mut() {
                Some(s) => s.1.push((k.to_string(), v.to_string())),
                None => return Err(format!("field before any section: {line:?}")),
            }
        } else {
            return Err(format!("not a field: {line:?}"));
        }
    }
    Ok(out)
}

/// Fields whose values do not depend on clocks, memory, PIDs, ports or random ids.
const INFO_SAME_VALUE: &[&str] = &[
    "redis_version",
    "redis_mode",
    "arch_bits",
    "role",
    "connected_slaves",
    "maxmemory",
    "maxmemory_policy",
    "cluster_enabled",
    "loading",
    "aof_enabled",
    "rdb_bgsave_in_progress",
    "master_repl_offset",
    "repl_backlog_active",
];

fn compare_info(a: &str, b: &str, rs: &SideInfo, os: &SideInfo) -> Result<(), String> {
    let ra = parse_info(a).map_err(|e| format!("redis INFO unparsable: {e}"))?;
    let ob = parse_info(b).map_err(|e| format!("our INFO unparsable: {e}"))?;
    let mut problems = Vec::new();
    let rnames: Vec<&str> = ra.iter().map(|s| s.0.as_str()).collect();
    let onames: Vec<&str> = ob.iter().map(|s| s.0.as_str()).collect();
    if rnames != onames {
        problems.push(format!("sections: redis {rnames:?}, ours {onames:?}"));
    }
    for (name, rfields) in &ra {
        let Some((_, ofields)) = ob.iter().find(|s| &s.0 == name) else { continue };
        if name == "Keyspace" {
            // dbN:keys=K,expires=E,avg_ttl=T: avg_ttl is an estimate over time.
            let strip = |f: &Vec<(String, String)>| -> Vec<String> {
                f.iter().map(|(k, v)| format!("{k}:{}", v.split(",avg_ttl=").next().unwrap_or(""))).collect()
            };
            if strip(rfields) != strip(ofields) {
                problems.push(format!("Keyspace: redis {:?}, ours {:?}", strip(rfields), strip(ofields)));
            }
            continue;
        }
        let rk: Vec<&str> = rfields.iter().map(|f| f.0.as_str()).collect();
        let ok: Vec<&str> = ofields.iter().map(|f| f.0.as_str()).collect();
        if rk != ok {
            let missing: Vec<&&str> = rk.iter().filter(|k| !ok.contains(k)).collect();
            let extra: Vec<&&str> = ok.iter().filter(|k| !rk.contains(k)).collect();
            // redis-server lists commands in its command dict's order, which depends on a hash
            // seed drawn at random at start-up (two fresh servers print them differently).
            let seeded_order = matches!(name.as_str(), "Commandstats" | "Latencystats");
            if missing.is_empty() && extra.is_empty() && seeded_order {
                // Same set of commands: fine.
            } else if missing.is_empty() && extra.is_empty() {
                problems.push(format!("# {name}: same fields in another order: ours {ok:?}"));
            } else {
                problems.push(format!("# {name}: missing in ours {missing:?}, only in ours {extra:?}"));
            }
        }
        for (k, rv) in rfields {
            let Some((_, ov)) = ofields.iter().find(|f| &f.0 == k) else { continue };
            if INFO_SAME_VALUE.contains(&k.as_str()) && rv != ov {
                problems.push(format!("{k}: redis {rv:?}, ours {ov:?}"));
            }
            if k == "tcp_port" && (rv != &rs.port.to_string() || ov != &os.port.to_string()) {
                problems.push(format!("tcp_port is not the server's own port: redis {rv}, ours {ov}"));
            }
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(problems.join("; ")) }
}

/// CLIENT LIST fields whose values must be equal on both servers.
const CLIENT_SAME_VALUE: &[&str] =
    &["name", "db", "sub", "psub", "ssub", "multi", "flags", "cmd", "user", "redir", "resp", "events", "obl", "oll", "omem"];

fn compare_client_list(a: &str, b: &str, rs: &SideInfo, os: &SideInfo) -> Result<(), String> {
    let lines = |t: &str| -> Vec<Vec<(String, String)>> {
        t.split('\n')
            .filter(|l| !l.is_empty())
            .map(|l| {
                l.split(' ')
                    .map(|f| {
                        let (k, v) = f.split_once('=').unwrap_or((f, ""));
                        (k.to_string(), v.to_string())
                    })
                    .collect()
            })
            .collect()
    };
    if !a.ends_with('\n') || !b.ends_with('\n') {
        return Err("each line must end with \\n".into());
    }
    let (ra, ob) = (lines(a), lines(b));
    if ra.len() != ob.len() {
        return Err(format!("{} clients on redis, {} on ours", ra.len(), ob.len()));
    }
    let mut problems = Vec::new();
    for (i, (rl, ol)) in ra.iter().zip(&ob).enumerate() {
        let rk: Vec<&str> = rl.iter().map(|f| f.0.as_str()).collect();
        let ok: Vec<&str> = ol.iter().map(|f| f.0.as_str()).collect();
        if rk != ok {
            problems.push(format!("line {i}: fields redis {rk:?}, ours {ok:?}"));
            continue;
        }
        for ((k, rv), (_, ov)) in rl.iter().zip(ol) {
            if CLIENT_SAME_VALUE.contains(&k.as_str()) && rv != ov {
                problems.push(format!("line {i}: {k}: redis {rv:?}, ours {ov:?}"));
            }
            if k == "addr" && !(rv.starts_with("127.0.0.1:") && ov.starts_with("127.0.0.1:")) {
                problems.push(format!("line {i}: addr not ip:port: redis {rv:?}, ours {ov:?}"));
            }
            if k == "laddr" && (rv != &format!("127.0.0.1:{}", rs.port) || ov != &format!("127.0.0.1:{}", os.port)) {
                problems.push(format!("line {i}: laddr is not the server's own ip:port: redis {rv:?}, ours {ov:?}"));
            }
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(problems.join("; ")) }
}

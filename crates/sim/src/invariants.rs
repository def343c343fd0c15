//! Replication invariants, checked while a [`World`] runs.
//!
//! A [`Checker`] is called after every [`World::step`] (use [`Checker::step`],
//! [`Checker::run_until`] or [`Checker::run_for`], which do that for you). Each call reads the
//! trace entries added since the last call and the status of the nodes they name (every node
//! once per virtual second: the only untraced change is a replica-less master expiring keys),
//! and compares them with what it saw before. The first broken rule comes back as a
//! [`Violation`] naming the node, the virtual time and the values before and after. Rules
//! (SPEC.md §2, §3, §5), by their [`Violation::rule`] names:
//!
//! * **offsets** (`offset-backwards`, `replid`, `replid2`, `shift`, `full-sync`, `backlog`) —
//!   within one replication ID a node's `master_repl_offset` never decreases.
//!   The ID may change only by a traced, legitimate history change, each checked against its
//!   log line: a restart; a full sync (the node ends at the `+FULLRESYNC <id> <offset>` it was
//!   given, or later); a shift (`REPLICAOF NO ONE` or `+CONTINUE <newid>`: `replid2` is the old
//!   ID, `second_repl_offset` is one past the offset at the shift, and the new ID continues
//!   from there); a new history at an unchanged offset (backlog created for the first replica,
//!   or freed by `repl-backlog-ttl`). When the ID stays, `replid2` and `second_repl_offset`
//!   stay too. The backlog always ends at the offset (`first + histlen - 1 == offset`).
//! * **PSYNC** (`psync-request`, `psync-backlog`, `psync-continue`, `stream-history`,
//!   `stream-bytes`) — a replica asks for `<its replid> <its offset + 1>`. A master accepting a
//!   partial resync sends exactly `offset - requested + 1` bytes of backlog, starting on a
//!   command (`*`), right after `+CONTINUE <its replid>`. From then on everything that master
//!   sends on that connection is its stream, in the history it named: while the connection
//!   is open the master keeps that replid (Redis drops its sub-replicas before any history
//!   change), bytes sent after the `+CONTINUE` line never exceed its offset minus the
//!   starting offset (they may trail it while the node sleeps in `DEBUG SLEEP`, output held in
//!   buffers, and equal it at quiescence), and the replica never applies more than it was
//!   delivered.
//! * **sub-replicas** (`sub-replica-after-history-change`) — when a node's own history
//!   changes (full sync applied, `+CONTINUE` with a new ID, promotion) it sends nothing more
//!   on the connections of its sub-replicas: redis-server frees them first
//!   (`disconnectSlaves`).
//! * **same history, same data** (`same-history-same-data`) — two nodes (or one node at two
//!   times) that reach the same `(replid, offset)` hold the same number of keys in each
//!   database, and, at a sampled subset of offsets (1 in [`Checker::digest_every`]), the same `DEBUG DIGEST`. This is what makes
//!   "a replica that partially resynced continues exactly the master's stream" checkable
//!   without the bytes themselves: the trace only keeps a 60-byte preview of each send.
//! * **linked replicas trail their master** (`replica-trails-master`) — a replica whose link
//!   is up, and which its master lists as online, has the master's replid and an offset no
//!   greater than the master's.
//! * **quiescence** (`quiescence`; [`Checker::quiescent`], [`Checker::settle`]) — once faults
//!   are healed, every node is up, there is exactly one master, every other node reaches it through its
//!   chain of masters, every link is up, and every replica has the master's replid, offset
//!   and digest; partial-resync connections still open delivered all that was sent.
//!
//! What is not checked: the content of backlog bytes beyond their first byte (the trace has
//! previews, not bytes; the dataset comparisons above stand in for it), and the stream of a
//! full sync (its RDB and buffered bytes share sends, so only the resulting offsets and data
//! are compared).

use std::collections::BTreeMap;
use std::fmt;

use replscope_engine::{NodeStatus, Role};

use crate::trace::{Payload, TraceKind};
use crate::world::World;

/// `replid2` when unset.
pub const ZERO_ID: &str = "0000000000000000000000000000000000000000";

/// A broken invariant: where, when, which rule, and the values before and after.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Virtual milliseconds since the world started.
    pub at: u64,
    pub node: String,
    pub rule: &'static str,
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t={}ms node {}: [{}] {}", self.at, self.node, self.rule, self.detail)
    }
}

impl std::error::Error for Violation {}

/// What the checker looked at, for test output.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub checks: u64,
    pub observations: u64,
    pub full_syncs: u64,
    pub partial_resyncs: u64,
    pub shifts: u64,
    pub restarts: u64,
    /// `(replid, offset)` states met a second time, compared by key counts.
    pub states_compared: u64,
    /// ... and by digest.
    pub digests_compared: u64,
    /// Bytes followed on partial-resync connections.
    pub stream_bytes: u64,
}

/// One node's replication state as read after a step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Obs {
    pub at: u64,
    pub replid: String,
    pub replid2: String,
    pub offset: i64,
    pub second_offset: i64,
    /// (first byte offset, histlen).
    pub backlog: Option<(i64, i64)>,
    pub keys: Vec<usize>,
    /// `Some(master)` on a replica.
    pub master: Option<String>,
    pub link_up: bool,
    /// Loading or receiving a full-sync payload.
    pub syncing: bool,
    /// Replicas this node lists as online (their announced names).
    pub online: Vec<String>,
}

impl Obs {
    pub fn from_status(at: u64, s: &NodeStatus) -> Obs {
        let (master, link_up, syncing) = match &s.role {
            Role::Master => (None, false, false),
            Role::Replica(v) => (Some(v.master_host.clone()), v.link_up, v.loading || v.transfer.is_some()),
        };
        Obs {
            at,
            replid: s.replid.clone(),
            replid2: s.replid2.clone(),
            offset: s.master_repl_offset,
            second_offset: s.second_repl_offset,
            backlog: s.backlog.as_ref().map(|b| (b.first_byte_offset, b.histlen)),
            keys: s.keys.clone(),
            master,
            link_up,
            syncing,
            online: s.replicas.iter().filter(|r| r.state == "online").map(|r| r.ip.clone()).collect(),
        }
    }

    fn short(&self) -> String {
        format!(
            "replid {} offset {} (replid2 {} valid to {}) at t={}ms",
            short_id(&self.replid),
            self.offset,
            short_id(&self.replid2),
            self.second_offset,
            self.at
        )
    }
}

fn short_id(id: &str) -> &str {
    &id[..id.len().min(8)]
}

/// History changes a node's log announced since it was last observed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Events {
    /// Started or crashed: no comparison with before.
    pub restarted: bool,
    /// `Full resync from master: <id>:<offset>` not yet applied.
    pub full_resync: Option<(String, i64)>,
    /// A full sync's payload replaced the dataset (`Flushing old data`): the expected
    /// `(replid, offset)` when the `+FULLRESYNC` line was seen.
    pub flushed: Option<Option<(String, i64)>>,
    /// `Setting secondary replication ID to <old>, valid up to offset: <n>. New replication
    /// ID is <new>`: (old, n, new).
    pub shift: Option<(String, i64, String)>,
    /// `Master replication ID changed to <new>` (a `+CONTINUE <new>`).
    pub continued_as: Option<String>,
    /// `Replication backlog created, my new replication IDs are '<new>' …`.
    pub new_history: Option<String>,
    /// `Replication backlog freed …`.
    pub backlog_freed: bool,
    /// `Trying a partial resynchronization (request <id>:<offset>).`
    pub psync_request: Option<(String, i64)>,
    /// `Partial resynchronization request from <name> accepted. Sending <n> bytes of backlog
    /// starting from offset <off>.`: (name, n, off).
    pub accepted: Vec<(String, i64, i64)>,
}

/// The rules between two observations of one node, and on one observation alone.
/// Pure, so it can be tested on made-up states.
pub fn check_transition(prev: Option<&Obs>, cur: &Obs, ev: &Events) -> Result<(), (&'static str, String)> {
    if let Some((first, histlen)) = cur.backlog {
        if first + histlen - 1 != cur.offset {
            return Err((
                "backlog",
                format!("backlog holds [{first}, {}] but master_repl_offset is {}", first + histlen - 1, cur.offset),
            ));
        }
    }
    if let Some((id, off)) = &ev.psync_request {
        if *id != cur.replid || *off != cur.offset + 1 {
            return Err((
                "psync-request",
                format!("asked PSYNC {} {off} but its own state is {}", short_id(id), cur.short()),
            ));
        }
    }
    for (name, n, off) in &ev.accepted {
        if *n != cur.offset - off + 1 {
            return Err((
                "psync-backlog",
                format!(
                    "accepted {name} from offset {off} sending {n} bytes, but its offset is {} (should send {})",
                    cur.offset,
                    cur.offset - off + 1
                ),
            ));
        }
    }
    let Some(prev) = prev else { return Ok(()) };
    if ev.restarted {
        return Ok(());
    }
    if let Some(expected) = &ev.flushed {
        // A full sync: the dataset and the history are the master's at the snapshot.
        if let Some((id, off)) = expected {
            let shifted_after = ev.shift.as_ref().is_some_and(|(old, _, new)| old == id && *new == cur.replid);
            if (cur.replid != *id && !shifted_after) || cur.offset < *off {
                return Err((
                    "full-sync",
                    format!("after +FULLRESYNC {} {off} the node is at {}", short_id(id), cur.short()),
                ));
            }
        }
        return Ok(());
    }
    if cur.replid == prev.replid {
        if cur.offset < prev.offset {
            return Err((
                "offset-backwards",
                format!("offset went backwards within replid {}: {} -> {}", short_id(&cur.replid), prev.short(), cur.short()),
            ));
        }
        if cur.replid2 != prev.replid2 || cur.second_offset != prev.second_offset {
            return Err((
                "replid2",
                format!("replid2/second_repl_offset changed under the same replid: {} -> {}", prev.short(), cur.short()),
            ));
        }
        return Ok(());
    }
    // The ID changed without a restart or a full sync.
    if cur.replid2 == prev.replid && cur.replid2 != ZERO_ID {
        let announced = ev.shift.as_ref().is_some_and(|(old, second, new)| {
            *old == prev.replid && *second == cur.second_offset && *new == cur.replid
        }) || ev.continued_as.as_deref() == Some(cur.replid.as_str());
        if !announced {
            return Err(("shift", format!("replid shifted without a promotion or +CONTINUE: {} -> {}", prev.short(), cur.short())));
        }
        let at = cur.second_offset - 1;
        if at < prev.offset || cur.offset < at {
            return Err((
                "shift",
                format!("the new history does not continue the old offset: {} -> {}", prev.short(), cur.short()),
            ));
        }
        return Ok(());
    }
    let fresh = ev.new_history.as_deref() == Some(cur.replid.as_str()) || ev.backlog_freed;
    if fresh && cur.replid2 == ZERO_ID && cur.second_offset == -1 {
        if cur.offset < prev.offset {
            return Err((
                "offset-backwards",
                format!("a new history started below the old offset: {} -> {}", prev.short(), cur.short()),
            ));
        }
        return Ok(());
    }
    Err(("replid", format!("replid changed without a restart, full sync or shift: {} -> {}", prev.short(), cur.short())))
}

/// What a dataset looked like at one point of a history.
#[derive(Clone, Debug)]
struct Seen {
    keys: Vec<usize>,
    digest: Option<String>,
    node: String,
    at: u64,
}

/// A connection on which a master accepted a partial resync: followed byte by byte.
#[derive(Clone, Debug)]
struct Stream {
    master: String,
    /// The history the `+CONTINUE` line named.
    replid: String,
    replica: String,
    /// The offset before the first byte sent after `+CONTINUE`.
    start: i64,
    /// Length of the `+CONTINUE …\r\n` line.
    head: i64,
    /// Bytes the master sent on it (head included).
    sent: i64,
    /// Bytes delivered to the replica since the `+CONTINUE` send.
    delivered: i64,
}

/// A replication connection, from the `+FULLRESYNC`/`+CONTINUE` its master sent on it.
#[derive(Clone, Debug)]
struct Link {
    master: String,
    replica: String,
    /// The master's history changed since: it should have closed this connection.
    dropped: bool,
}

#[derive(Default)]
struct Track {
    last: Option<Obs>,
    ev: Events,
}

/// Follows a world step by step and reports the first broken invariant.
pub struct Checker {
    pos: usize,
    /// The world's nodes at the last sweep, and its time.
    names: Vec<String>,
    swept_at: u64,
    nodes: BTreeMap<String, Track>,
    /// (replid, offset) → the dataset seen there.
    history: BTreeMap<(String, i64), Seen>,
    streams: BTreeMap<u64, Stream>,
    links: BTreeMap<u64, Link>,
    /// Compare digests at offsets whose hash is 0 modulo this (1: every state; digests are
    /// the expensive part of a check).
    pub digest_every: u64,
    /// Rules not reported (by their names in [`Violation::rule`]), e.g. to look past a known
    /// bug for others.
    pub ignored: Vec<&'static str>,
    pub stats: Stats,
}

impl Default for Checker {
    fn default() -> Self {
        Checker::new()
    }
}

impl Checker {
    pub fn new() -> Checker {
        Checker {
            pos: 0,
            names: Vec::new(),
            swept_at: 0,
            nodes: BTreeMap::new(),
            history: BTreeMap::new(),
            streams: BTreeMap::new(),
            links: BTreeMap::new(),
            digest_every: 64,
            ignored: Vec::new(),
            stats: Stats::default(),
        }
    }

    pub fn with_digest_every(mut self, n: u64) -> Checker {
        self.digest_every = n.max(1);
        self
    }

    /// Stops reporting one rule (the others still hold).
    pub fn ignoring(mut self, rule: &'static str) -> Checker {
        self.ignored.push(rule);
        self
    }

    /// One world step, then a check. `Ok(false)` when nothing was scheduled.
    pub fn step(&mut self, w: &mut World) -> Result<bool, Violation> {
        let more = w.step();
        self.check(w)?;
        Ok(more)
    }

    /// Steps (checking after each) until virtual time `t`. The last step may end a little
    /// after `t`: the world offers no peek at its next event.
    pub fn run_until(&mut self, w: &mut World, t: u64) -> Result<(), Violation> {
        self.check(w)?;
        while w.time() < t {
            if !w.step() {
                w.run_until(t);
            }
            self.check(w)?;
        }
        Ok(())
    }

    pub fn run_for(&mut self, w: &mut World, ms: u64) -> Result<(), Violation> {
        let t = w.time() + ms;
        self.run_until(w, t)
    }

    /// Checks the world as it is now, against what was seen before. Call it after every
    /// step and after every fault or command the test applies: the rules that tie a log line
    /// to the state (a PSYNC request, an accepted partial resync) assume one step since the
    /// last call.
    pub fn check(&mut self, w: &World) -> Result<(), Violation> {
        let mut found = Vec::new();
        self.check_all(w, &mut found);
        match found.into_iter().find(|v| !self.ignored.contains(&v.rule)) {
            Some(v) => Err(v),
            None => Ok(()),
        }
    }

    /// Every rule; the state is brought up to date even when a rule breaks. Nodes the new
    /// trace entries name are read again, and every node once per virtual second (the only
    /// untraced change is a replica-less master expiring keys).
    fn check_all(&mut self, w: &World, found: &mut Vec<Violation>) {
        self.stats.checks += 1;
        let now = w.time();
        let trace = w.trace();
        let mut dirty: Vec<&str> = Vec::new();
        let mut everyone = self.names.is_empty() || now / 1000 != self.swept_at / 1000;
        for e in &trace[self.pos.min(trace.len())..] {
            if let Err(v) = self.read_entry(e.at, &e.kind) {
                found.push(v);
            }
            let name = match &e.kind {
                TraceKind::NodeStarted { .. } | TraceKind::NodeCrashed { .. } => {
                    everyone = true;
                    continue;
                }
                TraceKind::Log { node, .. } | TraceKind::Role { node, .. } | TraceKind::Command { node, .. } => node,
                TraceKind::Sent { from, .. } => from,
                TraceKind::Delivered { to, .. } => to,
                _ => continue,
            };
            if !dirty.contains(&name.as_str()) {
                dirty.push(name);
            }
        }
        self.pos = trace.len();
        if everyone {
            self.names = w.node_names();
            self.swept_at = now;
            self.nodes.retain(|n, _| self.names.contains(n));
        }
        let names: Vec<String> = if everyone { self.names.clone() } else { dirty.iter().map(|n| n.to_string()).collect() };
        for name in &names {
            let track = self.nodes.entry(name.clone()).or_default();
            let Some(status) = w.status(name) else {
                track.last = None;
                track.ev = Events::default();
                continue;
            };
            let obs = Obs::from_status(now, &status);
            self.stats.observations += 1;
            let ev = std::mem::take(&mut track.ev);
            if let Err((rule, detail)) = check_transition(track.last.as_ref(), &obs, &ev) {
                found.push(Violation { at: now, node: name.clone(), rule, detail });
            }
            let changed = track.last.as_ref().is_none_or(|p| p.replid != obs.replid || p.offset != obs.offset || p.keys != obs.keys);
            // An unapplied full sync waits for its payload.
            if ev.full_resync.is_some() && ev.flushed.is_none() {
                track.ev.full_resync = ev.full_resync;
            }
            if changed {
                if let Err(v) = self.same_history_same_data(w, name, &obs) {
                    found.push(v);
                }
            }
            if let Some(t) = self.nodes.get_mut(name) {
                t.last = Some(obs);
            }
        }
        if let Err(v) = self.streams_add_up(now, &names) {
            found.push(v);
        }
        if let Err(v) = self.linked_replicas_trail(now, &names) {
            found.push(v);
        }
    }

    fn read_entry(&mut self, at: u64, kind: &TraceKind) -> Result<(), Violation> {
        match kind {
            TraceKind::NodeStarted { node, .. } | TraceKind::NodeCrashed { node } => {
                self.stats.restarts += matches!(kind, TraceKind::NodeStarted { .. }) as u64;
                let t = self.nodes.entry(node.clone()).or_default();
                t.ev = Events { restarted: true, ..Events::default() };
                self.streams.retain(|_, s| s.master != *node && s.replica != *node);
                self.links.retain(|_, l| l.master != *node && l.replica != *node);
            }
            TraceKind::Log { node, line } => {
                // Redis frees its sub-replicas (disconnectSlaves) the moment its history
                // changes: nothing more may reach them.
                let history_changed = line.starts_with("Master replication ID changed to ")
                    || line.starts_with("Setting secondary replication ID to ")
                    || line == "MASTER <-> REPLICA sync: Flushing old data";
                if history_changed {
                    for l in self.links.values_mut().filter(|l| l.master == *node) {
                        l.dropped = true;
                    }
                }
                self.read_log(node, line);
            }
            TraceKind::Sent { conn, from, to, bytes, payload, preview } => {
                if let Some(l) = self.links.get(conn).filter(|l| l.master == *from && l.dropped) {
                    return Err(Violation {
                        at,
                        node: from.clone(),
                        rule: "sub-replica-after-history-change",
                        detail: format!(
                            "sent {bytes} bytes ({preview}) on conn {conn} to its sub-replica {} after its own history changed; redis-server drops sub-replicas before that",
                            l.replica
                        ),
                    });
                }
                let sync_reply = *payload == Payload::SyncReply;
                if sync_reply {
                    self.links.insert(*conn, Link { master: from.clone(), replica: to.clone(), dropped: false });
                }
                if sync_reply && preview.starts_with("+CONTINUE") {
                    self.continue_sent(at, *conn, from, to, *bytes as i64, preview)?;
                } else if let Some(s) = self.streams.get_mut(conn) {
                    if s.master == *from {
                        s.sent += *bytes as i64;
                        self.stats.stream_bytes += *bytes as u64;
                    }
                }
            }
            TraceKind::Delivered { conn, to, bytes } => {
                if let Some(s) = self.streams.get_mut(conn) {
                    if s.replica == *to {
                        s.delivered += *bytes as i64;
                    }
                }
            }
            TraceKind::Closed { conn, .. } => {
                self.streams.remove(conn);
                self.links.remove(conn);
            }
            _ => {}
        }
        Ok(())
    }

    fn read_log(&mut self, node: &str, line: &str) {
        let t = self.nodes.entry(node.to_string()).or_default();
        let ev = &mut t.ev;
        if let Some(rest) = line.strip_prefix("Full resync from master: ") {
            ev.full_resync = rest.rsplit_once(':').and_then(|(id, off)| Some((id.to_string(), off.parse().ok()?)));
        } else if line == "MASTER <-> REPLICA sync: Flushing old data" {
            ev.flushed = Some(ev.full_resync.take());
            ev.shift = None;
            ev.continued_as = None;
            self.stats.full_syncs += 1;
        } else if let Some(rest) = line.strip_prefix("Setting secondary replication ID to ") {
            // "<old>, valid up to offset: <n>. New replication ID is <new>"
            let parsed = rest.split_once(", valid up to offset: ").and_then(|(old, rest)| {
                let (n, new) = rest.split_once(". New replication ID is ")?;
                Some((old.to_string(), n.parse().ok()?, new.to_string()))
            });
            ev.shift = parsed;
            self.stats.shifts += 1;
        } else if let Some(new) = line.strip_prefix("Master replication ID changed to ") {
            ev.continued_as = Some(new.to_string());
        } else if let Some(rest) = line.strip_prefix("Replication backlog created, my new replication IDs are '") {
            ev.new_history = rest.split('\'').next().map(str::to_string);
        } else if line.starts_with("Replication backlog freed") {
            ev.backlog_freed = true;
        } else if let Some(rest) = line.strip_prefix("Trying a partial resynchronization (request ") {
            let req = rest.strip_suffix(").").and_then(|r| r.rsplit_once(':'));
            ev.psync_request = req.and_then(|(id, off)| Some((id.to_string(), off.parse().ok()?)));
        } else if let Some(rest) = line.strip_prefix("Partial resynchronization request from ") {
            // "<name> accepted. Sending <n> bytes of backlog starting from offset <off>."
            let parsed = rest.split_once(" accepted. Sending ").and_then(|(name, rest)| {
                let (n, off) = rest.split_once(" bytes of backlog starting from offset ")?;
                Some((name.to_string(), n.parse().ok()?, off.trim_end_matches('.').parse().ok()?))
            });
            if let Some(p) = parsed {
                ev.accepted.push(p);
            }
        }
    }

    /// A master's `+CONTINUE` send: its head names the master's replid, the backlog after it
    /// starts on a command, and the connection is followed from here.
    fn continue_sent(&mut self, at: u64, conn: u64, from: &str, to: &str, bytes: i64, preview: &str) -> Result<(), Violation> {
        let fail = |detail: String| Violation { at, node: from.to_string(), rule: "psync-continue", detail };
        let t = self.nodes.entry(from.to_string()).or_default();
        let prefix = format!("{to}:");
        let Some(&(_, n, off)) = t.ev.accepted.iter().rev().find(|(name, _, _)| name.starts_with(&prefix)) else {
            return Err(fail(format!("sent {preview} to {to} without a logged acceptance")));
        };
        // The preview escapes CR LF as four characters; the head is "+CONTINUE[ <id>]\r\n".
        let Some((head_text, after)) = preview.split_once("\\r\\n") else {
            return Err(fail(format!("+CONTINUE line not terminated in the preview: {preview}")));
        };
        let head = head_text.len() as i64 + 2;
        // Head and backlog leave in one write (PSYNC is refused with pending output).
        if bytes != head + n {
            return Err(fail(format!("+CONTINUE send of {bytes} bytes, expected {head} + {n} backlog bytes")));
        }
        if n > 0 && !after.starts_with('*') {
            return Err(fail(format!("the backlog slice from offset {off} does not start with a command: {preview}")));
        }
        self.stats.partial_resyncs += 1;
        self.streams.insert(
            conn,
            Stream {
                master: from.to_string(),
                replid: head_text.trim_start_matches("+CONTINUE").trim().to_string(),
                replica: to.to_string(),
                start: off - 1,
                head,
                sent: bytes,
                delivered: 0,
            },
        );
        Ok(())
    }

    /// Everything a master sent after `+CONTINUE` is its stream from the requested offset;
    /// the replica applies at most what reached it.
    fn streams_add_up(&self, now: u64, read: &[String]) -> Result<(), Violation> {
        for (conn, s) in &self.streams {
            if !read.contains(&s.master) && !read.contains(&s.replica) {
                continue;
            }
            if let Some(m) = self.last(&s.master) {
                if !s.replid.is_empty() && m.replid != s.replid {
                    return Err(Violation {
                        at: now,
                        node: s.master.clone(),
                        rule: "stream-history",
                        detail: format!(
                            "its history changed to {} while conn {conn} still streams replid {} to {}",
                            m.short(),
                            short_id(&s.replid),
                            s.replica
                        ),
                    });
                }
                // Fewer is fine for a while: a node in DEBUG SLEEP holds what it applied in its
                // replicas' output buffers until it wakes, as redis-server does.
                if s.sent - s.head > m.offset - s.start {
                    return Err(Violation {
                        at: now,
                        node: s.master.clone(),
                        rule: "stream-bytes",
                        detail: format!(
                            "conn {conn} to {}: sent {} stream bytes since offset {}, but its offset only moved to {} ({} bytes)",
                            s.replica,
                            s.sent - s.head,
                            s.start,
                            m.offset,
                            m.offset - s.start
                        ),
                    });
                }
            }
            if let Some(r) = self.last(&s.replica) {
                let got = (s.delivered - s.head).max(0);
                if r.master.as_deref() == Some(s.master.as_str()) && r.offset > s.start + got {
                    return Err(Violation {
                        at: now,
                        node: s.replica.clone(),
                        rule: "stream-bytes",
                        detail: format!(
                            "conn {conn} from {}: applied up to offset {} but only {got} bytes after offset {} were delivered",
                            s.master, r.offset, s.start
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// The latest observation of a node (None while down).
    fn last(&self, name: &str) -> Option<&Obs> {
        self.nodes.get(name).and_then(|t| t.last.as_ref())
    }

    /// The same point of the same history holds the same data, whoever reached it.
    fn same_history_same_data(&mut self, w: &World, name: &str, obs: &Obs) -> Result<(), Violation> {
        // A master without a backlog writes without moving its offset; a node mid-sync is
        // still at its old state (kept), so it is comparable.
        if obs.backlog.is_none() && obs.master.is_none() {
            return Ok(());
        }
        let key = (obs.replid.clone(), obs.offset);
        let sample = fnv(obs.replid.as_bytes(), obs.offset).is_multiple_of(self.digest_every);
        match self.history.get(&key) {
            None => {
                let digest = sample.then(|| w.digest(name));
                self.history.insert(key, Seen { keys: obs.keys.clone(), digest, node: name.to_string(), at: obs.at });
            }
            Some(seen) => {
                self.stats.states_compared += 1;
                let fail = |what: &str, here: String, there: String| Violation {
                    at: obs.at,
                    node: name.to_string(),
                    rule: "same-history-same-data",
                    detail: format!(
                        "at replid {} offset {} its {what} is {here}, but {} had {there} at the same point (t={}ms)",
                        short_id(&obs.replid),
                        obs.offset,
                        seen.node,
                        seen.at
                    ),
                };
                if seen.keys != obs.keys {
                    return Err(fail("key count per db", format!("{:?}", obs.keys), format!("{:?}", seen.keys)));
                }
                if let Some(d) = &seen.digest {
                    self.stats.digests_compared += 1;
                    let mine = w.digest(name);
                    if mine != *d {
                        return Err(fail("digest", mine, d.clone()));
                    }
                }
            }
        }
        Ok(())
    }

    /// A replica linked to a master that lists it online shares its replid and trails it.
    /// (A master whose offset moves with an online replica sends to it, so it is never read
    /// stale here.)
    fn linked_replicas_trail(&self, now: u64, read: &[String]) -> Result<(), Violation> {
        for (name, t) in &self.nodes {
            let Some(r) = &t.last else { continue };
            let Some(mname) = &r.master else { continue };
            if !r.link_up || (!read.contains(name) && !read.contains(mname)) {
                continue;
            }
            let Some(m) = self.last(mname) else { continue };
            if !m.online.iter().any(|ip| ip == name) {
                continue;
            }
            if r.replid != m.replid || r.offset > m.offset {
                return Err(Violation {
                    at: now,
                    node: name.clone(),
                    rule: "replica-trails-master",
                    detail: format!("linked to {mname} ({}) but at {}", m.short(), r.short()),
                });
            }
        }
        Ok(())
    }

    /// Whether the world has settled into one healthy replication tree, now. Every node up,
    /// exactly one master, every other node reaching it by its chain of masters with its link
    /// up, the master's replid, offset and digest; open partial-resync streams fully
    /// delivered and applied.
    pub fn quiescent(&self, w: &World) -> Result<(), Violation> {
        let now = w.time();
        let fail = |node: &str, detail: String| Violation { at: now, node: node.to_string(), rule: "quiescence", detail };
        let names = w.node_names();
        let mut st = BTreeMap::new();
        for n in &names {
            let Some(s) = w.status(n) else { return Err(fail(n, "down".into())) };
            st.insert(n.clone(), Obs::from_status(now, &s));
        }
        let masters: Vec<&String> = st.iter().filter(|(_, o)| o.master.is_none()).map(|(n, _)| n).collect();
        let [root] = masters.as_slice() else {
            return Err(fail(&names.join(","), format!("expected exactly one master, found {masters:?}")));
        };
        let root_obs = &st[*root];
        let root_digest = w.digest(root);
        for (n, o) in &st {
            if n == *root {
                continue;
            }
            // Follow the chain to the top.
            let mut at = n.clone();
            let mut hops = 0;
            while let Some(m) = st.get(&at).and_then(|o| o.master.clone()) {
                hops += 1;
                if hops > names.len() || !st.contains_key(&m) {
                    return Err(fail(n, format!("its chain of masters does not reach {root}: stuck at {m}")));
                }
                at = m;
            }
            if at != **root {
                return Err(fail(n, format!("its chain of masters ends at {at}, not {root}")));
            }
            let m = o.master.as_deref().unwrap_or_default();
            if !o.link_up || o.syncing {
                return Err(fail(n, format!("link to {m} is not up")));
            }
            if o.replid != root_obs.replid || o.offset != root_obs.offset {
                return Err(fail(n, format!("at {} but the master {root} is at {}", o.short(), root_obs.short())));
            }
            if !st.get(m).is_some_and(|mo| mo.online.iter().any(|ip| ip == n)) {
                return Err(fail(n, format!("{m} does not list it as an online replica")));
            }
            let d = w.digest(n);
            if d != root_digest {
                return Err(fail(n, format!("digest {d} differs from the master {root}'s {root_digest} (keys {:?} vs {:?})", o.keys, root_obs.keys)));
            }
        }
        for (conn, s) in &self.streams {
            let Some(r) = st.get(&s.replica) else { continue };
            if r.master.as_deref() != Some(s.master.as_str()) {
                continue;
            }
            let m_offset = st.get(&s.master).map(|m| m.offset).unwrap_or(-1);
            if s.delivered != s.sent || r.offset != s.start + s.sent - s.head || m_offset != r.offset {
                return Err(fail(
                    &s.replica,
                    format!(
                        "conn {conn} from {} (at offset {m_offset}): {} bytes sent, {} delivered, applied up to {} from {}",
                        s.master, s.sent, s.delivered, r.offset, s.start
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Runs (checking every step) until [`Checker::quiescent`] holds, looking every 100 ms,
    /// for at most `max_ms`; the last reason it did not hold otherwise.
    pub fn settle(&mut self, w: &mut World, max_ms: u64) -> Result<(), Violation> {
        let end = w.time() + max_ms;
        loop {
            let last = match self.quiescent(w) {
                Ok(()) => return Ok(()),
                Err(v) => v,
            };
            if w.time() >= end {
                return Err(last);
            }
            self.run_for(w, 100)?;
        }
    }
}

/// FNV-1a of an id and an offset: which states get their digests compared.
fn fnv(id: &[u8], offset: i64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.iter().chain(offset.to_le_bytes().iter()) {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    fn obs(replid: &str, offset: i64, replid2: &str, second: i64) -> Obs {
        Obs {
            at: 0,
            replid: replid.into(),
            replid2: replid2.into(),
            offset,
            second_offset: second,
            backlog: Some((1, offset)),
            keys: vec![0],
            master: None,
            link_up: false,
            syncing: false,
            online: vec![],
        }
    }

    #[test]
    fn offsets_only_grow_within_a_replid() {
        let ev = Events::default();
        assert!(check_transition(Some(&obs(A, 10, ZERO_ID, -1)), &obs(A, 12, ZERO_ID, -1), &ev).is_ok());
        let err = check_transition(Some(&obs(A, 10, ZERO_ID, -1)), &obs(A, 9, ZERO_ID, -1), &ev).unwrap_err();
        assert_eq!(err.0, "offset-backwards");
        let restarted = Events { restarted: true, ..Events::default() };
        assert!(check_transition(Some(&obs(A, 10, ZERO_ID, -1)), &obs(A, 9, ZERO_ID, -1), &restarted).is_ok());
    }

    #[test]
    fn a_shift_must_be_announced_and_continue_the_offset() {
        let prev = obs(A, 10, ZERO_ID, -1);
        let shift = Events { shift: Some((A.into(), 11, B.into())), ..Events::default() };
        assert!(check_transition(Some(&prev), &obs(B, 10, A, 11), &shift).is_ok());
        assert!(check_transition(Some(&prev), &obs(B, 15, A, 11), &shift).is_ok());
        assert_eq!(check_transition(Some(&prev), &obs(B, 10, A, 11), &Events::default()).unwrap_err().0, "shift");
        let early = Events { shift: Some((A.into(), 8, B.into())), ..Events::default() };
        assert_eq!(check_transition(Some(&prev), &obs(B, 10, A, 8), &early).unwrap_err().0, "shift");
        assert_eq!(check_transition(Some(&prev), &obs(B, 10, ZERO_ID, -1), &Events::default()).unwrap_err().0, "replid");
    }

    #[test]
    fn a_full_sync_lands_on_the_announced_point() {
        let prev = obs(A, 100, ZERO_ID, -1);
        let ok = Events { flushed: Some(Some((A.into(), 40))), ..Events::default() };
        assert!(check_transition(Some(&prev), &obs(A, 40, ZERO_ID, -1), &ok).is_ok());
        let err = check_transition(Some(&prev), &obs(A, 39, ZERO_ID, -1), &ok).unwrap_err();
        assert_eq!(err.0, "full-sync");
    }

    #[test]
    fn the_backlog_ends_at_the_offset_and_psync_names_the_own_state() {
        let mut o = obs(A, 10, ZERO_ID, -1);
        o.backlog = Some((5, 5));
        assert_eq!(check_transition(None, &o, &Events::default()).unwrap_err().0, "backlog");
        let o = obs(A, 10, ZERO_ID, -1);
        let req = Events { psync_request: Some((A.into(), 12)), ..Events::default() };
        assert_eq!(check_transition(None, &o, &req).unwrap_err().0, "psync-request");
        let acc = Events { accepted: vec![("r1:6379".into(), 3, 8)], ..Events::default() };
        assert!(check_transition(None, &o, &acc).is_ok());
    }
}

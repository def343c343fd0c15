//! The world: nodes, connections, a virtual clock and an event queue.
//!
//! Every node runs the real engine. Bytes a node sends travel on a simulated connection:
//! they leave when the wire is free (bandwidth), arrive after the link's latency, in order,
//! and wait while the link is cut (TCP retransmits) until it heals. Time jumps from one event
//! to the next; nothing here reads a clock or draws randomness except from the seed.

mod load;
mod names;
mod net;
mod queue;

use std::collections::BTreeMap;
use std::sync::Arc;

use replscope_engine::{Config, ConnId, Frame, Millis, Node, NodeStatus, Output};

use crate::link::LinkConfig;
use crate::rng::Rng;
use crate::trace::{TraceEntry, TraceKind};
use crate::trace_log::TraceLog;
use load::Load;
use names::{Names, NodeIx};
use net::{Conn, End};
use queue::{Ev, Queue};

/// Virtual time 0 is this Unix time, so expire times look like real ones.
const EPOCH_MS: u64 = 1_700_000_000_000;
/// Every node listens on this port; nodes are told apart by name (their "host").
pub const PORT: u16 = 6379;

pub type ClientId = u64;

/// How to start a node: its name (also its host name) and redis-server style arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeSpec {
    pub name: String,
    pub args: Vec<String>,
}

impl NodeSpec {
    pub fn new(name: &str) -> NodeSpec {
        NodeSpec { name: name.to_string(), args: Vec::new() }
    }

    pub fn arg(mut self, a: &str) -> NodeSpec {
        self.args.push(a.to_string());
        self
    }
}

/// (master host, link state, replid) last traced; a master has no host and an empty state.
type RoleKey = (Option<String>, &'static str, String);

#[derive(Clone)]
struct SimNode {
    spec: NodeSpec,
    /// None while crashed or shut down.
    node: Option<Node>,
    /// Its last RDB snapshot: survives a crash. Shared by the world's copies (snapshots).
    disk: Option<Arc<Vec<u8>>>,
    /// The timer event currently scheduled for it.
    timer_at: Option<Millis>,
    last_role: Option<RoleKey>,
}

#[derive(Clone)]
struct SimClient {
    node: NodeIx,
    conn: u64,
    inbox: Vec<u8>,
}

/// Cloning a world snapshots it whole (time travel restores such snapshots).
#[derive(Clone)]
pub struct World {
    now: Millis,
    rng: Rng,
    names: Names,
    /// By name index: the node of that name, if the world has one.
    nodes: Vec<Option<SimNode>>,
    conns: BTreeMap<u64, Conn>,
    /// Open connection ends on nodes: (node, its connection handle) → (connection, is it
    /// end `a`). Only open ones: a restarted node numbers its connections from 1 again.
    ends: BTreeMap<(NodeIx, ConnId), (u64, bool)>,
    next_conn: u64,
    /// Directional link settings (from, to); missing means the default.
    links: BTreeMap<(NodeIx, NodeIx), LinkConfig>,
    queue: Queue,
    clients: BTreeMap<ClientId, SimClient>,
    next_client: ClientId,
    trace: TraceLog,
    loads: BTreeMap<u64, Load>,
}

impl World {
    pub fn new(seed: u64) -> World {
        World {
            now: Millis(EPOCH_MS),
            rng: Rng::new(seed),
            names: Names::default(),
            nodes: Vec::new(),
            conns: BTreeMap::new(),
            ends: BTreeMap::new(),
            next_conn: 1,
            links: BTreeMap::new(),
            queue: Queue::default(),
            clients: BTreeMap::new(),
            next_client: 1,
            trace: TraceLog::default(),
            loads: BTreeMap::new(),
        }
    }

    // ---- getters ----

    /// Virtual milliseconds since the world started.
    pub fn time(&self) -> u64 {
        self.now.0 - EPOCH_MS
    }

    /// The trace kept: everything, unless a long run forgot its beginning (`trace_base`).
    pub fn trace(&self) -> &[TraceEntry] {
        self.trace.entries()
    }

    /// How many entries were forgotten from the front of the trace (0 unless the time machine
    /// was told to forget; `trace()[i]` is entry number `trace_base() + i` of the run).
    pub fn trace_base(&self) -> usize {
        self.trace.base()
    }

    /// Entries traced since the start, forgotten ones included.
    pub fn trace_total(&self) -> usize {
        self.trace.total()
    }

    pub(crate) fn forget_trace_before(&mut self, upto: usize) {
        self.trace.forget_before(upto);
    }

    /// A copy of the world without its trace (snapshots share the trace's prefix instead of
    /// copying it: the trace only grows, and a fork keeps everything before it).
    pub(crate) fn snapshot_without_trace(&mut self) -> World {
        let trace = std::mem::take(&mut self.trace);
        let copy = self.clone();
        self.trace = trace;
        copy
    }

    /// A copy to try things on (a console's read-only command) without copying the trace.
    pub fn clone_without_trace(&self) -> World {
        World {
            now: self.now,
            rng: self.rng.clone(),
            names: self.names.clone(),
            nodes: self.nodes.clone(),
            conns: self.conns.clone(),
            ends: self.ends.clone(),
            next_conn: self.next_conn,
            links: self.links.clone(),
            queue: self.queue.clone(),
            clients: self.clients.clone(),
            next_client: self.next_client,
            trace: TraceLog::default(),
            loads: self.loads.clone(),
        }
    }

    /// Hands the trace over (with any future it knows) to the world that replaces this one.
    pub(crate) fn take_trace_log(&mut self) -> TraceLog {
        std::mem::take(&mut self.trace)
    }

    /// Gives a snapshot the live trace rewound to the length the snapshot had.
    pub(crate) fn restore_trace(&mut self, mut log: TraceLog, len: usize) {
        log.rewind(len);
        self.trace = log;
    }

    /// The run leaves the future it knew: those entries will not come back.
    pub(crate) fn drop_trace_future(&mut self) {
        self.trace.drop_future();
    }

    /// A fingerprint of the whole run, equal for equal seeds and inputs.
    pub fn trace_hash(&self) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for e in self.trace.entries() {
            for b in format!("{e:?}").bytes() {
                h ^= b as u64;
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        }
        h
    }

    pub fn node_names(&self) -> Vec<String> {
        self.names.iter().filter(|(_, i)| self.sim_node(*i).is_some()).map(|(n, _)| n.clone()).collect()
    }

    pub fn is_up(&self, name: &str) -> bool {
        self.engine(name).is_some_and(|x| !x.is_stopped())
    }

    pub fn status(&self, name: &str) -> Option<NodeStatus> {
        self.engine(name).map(|n| n.status(self.now))
    }

    /// A node's `INFO <section>` text read in place, without a client or a copy of the world
    /// (see `Node::info`); None if it is down.
    pub fn info_of(&self, name: &str, section: &str) -> Option<String> {
        self.engine(name).filter(|n| !n.is_stopped()).map(|n| n.info(self.now, &[section]))
    }

    /// DEBUG DIGEST of a node's dataset (empty string if it is down).
    pub fn digest(&self, name: &str) -> String {
        self.engine(name).map(|n| n.digest()).unwrap_or_default()
    }

    pub fn link(&self, from: &str, to: &str) -> LinkConfig {
        match (self.names.get(from), self.names.get(to)) {
            (Some(a), Some(b)) => self.link_ix(a, b),
            _ => LinkConfig::default(),
        }
    }

    fn link_ix(&self, from: NodeIx, to: NodeIx) -> LinkConfig {
        self.links.get(&(from, to)).copied().unwrap_or_default()
    }

    fn sim_node(&self, i: NodeIx) -> Option<&SimNode> {
        self.nodes.get(i).and_then(Option::as_ref)
    }

    fn sim_node_mut(&mut self, i: NodeIx) -> Option<&mut SimNode> {
        self.nodes.get_mut(i).and_then(Option::as_mut)
    }

    fn engine(&self, name: &str) -> Option<&Node> {
        self.sim_node(self.names.get(name)?)?.node.as_ref()
    }

    fn engine_mut(&mut self, i: NodeIx) -> Option<&mut Node> {
        self.sim_node_mut(i)?.node.as_mut()
    }

    fn name(&self, i: NodeIx) -> String {
        self.names.name(i).to_string()
    }

    // ---- building the world ----

    /// Starts a node now.
    pub fn add_node(&mut self, spec: NodeSpec) {
        let i = self.names.intern(&spec.name);
        if self.nodes.len() <= i {
            self.nodes.resize(i + 1, None);
        }
        self.nodes[i] = Some(SimNode { spec, node: None, disk: None, timer_at: None, last_role: None });
        self.start_node(i, false);
    }

    fn start_node(&mut self, i: NodeIx, from_disk: bool) {
        let seed = self.rng.next_u64();
        let now = self.now;
        let name = self.name(i);
        let Some(sn) = self.sim_node_mut(i) else { return };
        let mut args = vec!["--port".to_string(), PORT.to_string(), "--enable-debug-command".into(), "yes".into()];
        args.extend(sn.spec.args.iter().cloned());
        let Ok(config) = Config::from_args(&args) else {
            self.trace_kind(TraceKind::Log { node: name, line: "# bad configuration: node not started".into() });
            return;
        };
        let restored = from_disk && sn.disk.is_some();
        let node = match (&sn.disk, from_disk) {
            (Some(rdb), true) => Node::restore(config.clone(), seed, now, rdb).unwrap_or_else(|_| Node::new(config, seed, now)),
            _ => Node::new(config, seed, now),
        };
        sn.node = Some(node);
        sn.timer_at = None;
        self.trace_kind(TraceKind::NodeStarted { node: name, restored });
        self.drain(i);
    }

    /// Sends a command line (redis-cli quoting) from a client.
    pub fn command(&mut self, client: ClientId, line: &str) {
        let Some(c) = self.clients.get(&client) else { return };
        let (node, conn) = (c.node, c.conn);
        let bytes = replscope_engine::encode_line(line.as_bytes()).unwrap_or_default();
        if bytes.is_empty() {
            return;
        }
        self.trace_kind(TraceKind::Command { client, node: self.name(node), line: line.to_string() });
        self.send(conn, true, bytes);
    }

    /// Replies received by a client since the last call, decoded.
    pub fn take_replies(&mut self, client: ClientId) -> Vec<Frame> {
        let Some(c) = self.clients.get_mut(&client) else { return Vec::new() };
        let mut out = Vec::new();
        let mut used = 0;
        while let Ok(Some((f, n))) = Frame::decode(&c.inbox[used..]) {
            out.push(f);
            used += n;
        }
        c.inbox.drain(..used);
        out
    }

    /// Forgets the replies a client received (a load does not read them).
    fn discard_replies(&mut self, client: ClientId) {
        if let Some(c) = self.clients.get_mut(&client) {
            c.inbox.clear();
        }
    }

    // ---- faults and controls ----

    /// Changes the link settings from `a` to `b` (one direction).
    pub fn set_link(&mut self, a: &str, b: &str, cfg: LinkConfig) {
        let (x, y) = (self.names.intern(a), self.names.intern(b));
        self.links.insert((x, y), cfg);
        self.trace_kind(TraceKind::LinkChanged {
            a: a.to_string(),
            b: b.to_string(),
            latency_ms: cfg.latency_ms,
            bytes_per_ms: cfg.bytes_per_ms,
            cut: cfg.cut,
        });
        if !cfg.cut {
            self.release_held(x, y);
        }
    }

    /// Partitions a and b in both directions.
    pub fn cut(&mut self, a: &str, b: &str) {
        for (x, y) in [(a, b), (b, a)] {
            let cfg = LinkConfig { cut: true, ..self.link(x, y) };
            self.set_link(x, y, cfg);
        }
    }

    /// Partitions only the direction a → b.
    pub fn cut_oneway(&mut self, a: &str, b: &str) {
        let cfg = LinkConfig { cut: true, ..self.link(a, b) };
        self.set_link(a, b, cfg);
    }

    pub fn heal(&mut self, a: &str, b: &str) {
        for (x, y) in [(a, b), (b, a)] {
            let cfg = LinkConfig { cut: false, ..self.link(x, y) };
            self.set_link(x, y, cfg);
        }
    }

    /// Resets every connection between a and b: both ends see a close now, in-flight bytes
    /// are lost.
    pub fn reset_connections(&mut self, a: &str, b: &str) {
        let (Some(a), Some(b)) = (self.names.get(a), self.names.get(b)) else { return };
        let ids: Vec<u64> = self
            .conns
            .iter()
            .filter(|(_, c)| c.open && c.between_nodes && {
                let (x, y) = (c.a.node(), c.b.node());
                (x == Some(a) && y == Some(b)) || (x == Some(b) && y == Some(a))
            })
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.abort(id);
        }
    }

    /// The process dies: connections reset, memory lost, its disk kept.
    pub fn crash(&mut self, name: &str) {
        let Some(i) = self.names.get(name) else { return };
        let Some(sn) = self.sim_node_mut(i) else { return };
        if sn.node.take().is_none() {
            return;
        }
        sn.timer_at = None;
        sn.last_role = None;
        self.trace_kind(TraceKind::NodeCrashed { node: name.to_string() });
        let ids: Vec<u64> = self
            .conns
            .iter()
            .filter(|(_, c)| c.open && (c.a.node() == Some(i) || c.b.node() == Some(i)))
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.abort(id);
        }
    }

    /// Starts a crashed node again with its configuration, from its disk if it has one.
    pub fn restart(&mut self, name: &str) {
        if self.is_up(name) {
            return;
        }
        // An unknown name still draws its seed, as it always has (runs stay the same).
        let i = self.names.intern(name);
        self.start_node(i, true);
    }

    /// Restarts a crashed node whose disk was lost as well: it starts with no data.
    pub fn restart_empty(&mut self, name: &str) {
        if self.is_up(name) {
            return;
        }
        let i = self.names.intern(name);
        if let Some(sn) = self.sim_node_mut(i) {
            sn.disk = None;
        }
        self.start_node(i, true);
    }

    /// Blocks a node for `ms` (a real `DEBUG SLEEP`: it serves nothing meanwhile).
    pub fn pause(&mut self, name: &str, ms: u64) {
        let c = self.client(name);
        self.command(c, &format!("DEBUG SLEEP {}.{:03}", ms / 1000, ms % 1000));
    }

    /// Takes a node out of the world (its connections reset).
    pub fn remove_node(&mut self, name: &str) {
        self.crash(name);
        if let Some(slot) = self.names.get(name).and_then(|i| self.nodes.get_mut(i)) {
            *slot = None;
        }
    }

    /// Sends `line` and runs until its reply arrives (at most `max_ms`); the reply frame.
    pub fn query(&mut self, node: &str, line: &str, max_ms: u64) -> Option<Frame> {
        let c = self.client(node);
        self.command(c, line);
        let deadline = self.time() + max_ms;
        loop {
            if let Some(f) = self.take_replies(c).into_iter().next() {
                return Some(f);
            }
            match self.queue.next_at() {
                Some(t) if t.0 <= EPOCH_MS + deadline => {
                    self.step();
                }
                _ => {
                    self.run_until(deadline);
                    return self.take_replies(c).into_iter().next();
                }
            }
        }
    }

    /// INFO of a node as text (empty if it does not answer).
    pub fn info(&mut self, node: &str, section: &str) -> String {
        match self.query(node, &format!("INFO {section}"), 1_000) {
            Some(Frame::Bulk(b)) => String::from_utf8_lossy(&b).into_owned(),
            _ => String::new(),
        }
    }

    // ---- running ----

    /// Processes the next event; false when nothing is scheduled.
    pub fn step(&mut self) -> bool {
        let Some((at, ev)) = self.queue.pop() else { return false };
        self.now = self.now.max(at);
        self.handle(ev);
        true
    }

    /// Runs every event up to virtual time `t` (ms since start), then sets the clock to it.
    pub fn run_until(&mut self, t: u64) {
        let target = Millis(EPOCH_MS + t);
        while self.queue.next_at().is_some_and(|at| at <= target) {
            self.step();
        }
        self.now = self.now.max(target);
    }

    pub fn run_for(&mut self, ms: u64) {
        let t = self.time() + ms;
        self.run_until(t);
    }

    // ---- internals ----

    fn push(&mut self, at: Millis, ev: Ev) {
        let at = at.max(self.now);
        self.queue.push(at, ev);
    }

    fn trace_kind(&mut self, kind: TraceKind) {
        let at = self.time();
        self.trace.push(TraceEntry { at, kind });
    }

    fn handle(&mut self, ev: Ev) {
        match ev {
            Ev::Timer { node } => {
                let now = self.now;
                let Some(sn) = self.sim_node_mut(node) else { return };
                if sn.timer_at != Some(now) {
                    return;
                }
                sn.timer_at = None;
                let Some(n) = sn.node.as_mut() else { return };
                n.handle_timeout(now);
                self.drain(node);
            }
            Ev::Deliver { conn, to_b } => self.deliver(conn, to_b),
            Ev::Closed { conn, to_b } => self.closed(conn, to_b),
            Ev::Arrive { conn } => self.arrive(conn),
            Ev::LoadTick { load } => self.load_tick(load),
            Ev::Established { conn } => self.established(conn),
            Ev::Refused { conn } => self.refused(conn),
        }
    }

    /// Carries out everything a node asked for, then re-arms its timer.
    fn drain(&mut self, i: NodeIx) {
        while let Some(out) = self.engine_mut(i).and_then(|n| n.poll_output()) {
            self.carry_out(i, out);
        }
        self.trace_role(i);
        let now = self.now;
        let Some(sn) = self.sim_node_mut(i) else { return };
        let Some(node) = sn.node.as_ref() else { return };
        if let Some(t) = node.poll_timeout() {
            let t = t.max(now);
            if sn.timer_at.is_none_or(|s| t < s || s < now) {
                sn.timer_at = Some(t);
                self.push(t, Ev::Timer { node: i });
            }
        }
    }

    fn carry_out(&mut self, i: NodeIx, out: Output) {
        match out {
            Output::Send { conn, bytes } => {
                if let Some(&(id, from_a)) = self.ends.get(&(i, conn)) {
                    self.send(id, from_a, bytes);
                }
            }
            Output::Close { conn } => self.close(i, conn),
            Output::Connect { conn, host, .. } => self.connect(i, conn, &host),
            Output::Log { line, .. } => self.trace_kind(TraceKind::Log { node: self.name(i), line }),
            Output::SaveRdb { bytes } => {
                if let Some(sn) = self.sim_node_mut(i) {
                    sn.disk = Some(Arc::new(bytes));
                }
            }
            Output::Shutdown { .. } => {
                self.trace_kind(TraceKind::NodeCrashed { node: self.name(i) });
            }
            _ => {}
        }
    }

    /// Traces a role, replication ID or link-state change, compared without building the
    /// node's status (this runs after every event).
    fn trace_role(&mut self, i: NodeIx) {
        let Some(sn) = self.sim_node(i) else { return };
        let Some(node) = sn.node.as_ref() else { return };
        let (host, link, replid) = node.role_key();
        if sn.last_role.as_ref().is_some_and(|(h, l, r)| h.as_deref() == host && *l == link && r == replid) {
            return;
        }
        let key: RoleKey = (host.map(str::to_string), link, replid.to_string());
        let offset = node.status(self.now).master_repl_offset;
        let role = match &key.0 {
            None => "master".to_string(),
            Some(h) => format!("replica of {h}"),
        };
        let (link, replid) = (key.1.to_string(), key.2.clone());
        if let Some(sn) = self.sim_node_mut(i) {
            sn.last_role = Some(key);
        }
        self.trace_kind(TraceKind::Role { node: self.name(i), role, link, replid, offset });
    }
}

impl End {
    fn node(&self) -> Option<NodeIx> {
        match self {
            End::Node { node, .. } => Some(*node),
            End::Client(_) => None,
        }
    }
}

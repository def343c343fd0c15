//! The world: nodes, connections, a virtual clock and an event queue.
//!
//! Every node runs the real engine. Bytes a node sends travel on a simulated connection:
//! they leave when the wire is free (bandwidth), arrive after the link's latency, in order,
//! and wait while the link is cut (TCP retransmits) until it heals. Time jumps from one event
//! to the next; nothing here reads a clock or draws randomness except from the seed.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::sync::Arc;

use replscope_engine::{Config, ConnId, Frame, Input, Millis, Node, NodeStatus, Output, Role};

use crate::link::LinkConfig;
use crate::rng::Rng;
use crate::trace::{classify, preview, TraceEntry, TraceKind};
use crate::trace_log::TraceLog;

/// Virtual time 0 is this Unix time, so expire times look like real ones.
const EPOCH_MS: u64 = 1_700_000_000_000;
/// Bytes are delivered in pieces of at most this size, so long transfers show progress.
const CHUNK: usize = 16 * 1024;
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

#[derive(Clone)]
struct SimNode {
    spec: NodeSpec,
    /// None while crashed or shut down.
    node: Option<Node>,
    /// Its last RDB snapshot: survives a crash. Shared by the world's copies (snapshots).
    disk: Option<Arc<Vec<u8>>>,
    /// The timer event currently scheduled for it.
    timer_at: Option<Millis>,
    /// (role, replid, link state) last traced.
    last_role: Option<(String, String, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum End {
    Node { name: String, conn: ConnId },
    Client(ClientId),
}

#[derive(Clone)]
struct Conn {
    /// The end that connected.
    a: End,
    /// The end that accepted (a node). Its ConnId is known once accepted.
    b: End,
    /// When each direction's wire is free again (a→b, b→a), in microseconds since the epoch.
    busy: [u64; 2],
    /// Bytes waiting for a cut link to heal, per direction.
    held: [Vec<u8>; 2],
    /// Both ends are nodes (a replication link).
    between_nodes: bool,
    open: bool,
    established: bool,
}

#[derive(Clone, Debug)]
enum Ev {
    /// Bytes arrive at one end (`to_b`: at the acceptor).
    Deliver { conn: u64, to_b: bool, bytes: Vec<u8> },
    /// The peer closed: tell this end.
    Closed { conn: u64, to_b: bool },
    /// A connection attempt reaches its target.
    Arrive { conn: u64 },
    /// The target's accept reaches the connecting side.
    Established { conn: u64 },
    /// Nobody listens at the target.
    Refused { conn: u64 },
    Timer { node: String },
    /// The next write of a load generator.
    LoadTick { load: u64 },
}

/// A write load: `per_second` commands of a mix, on its own client.
#[derive(Clone, Debug)]
struct Load {
    client: ClientId,
    node: String,
    interval_ms: u64,
    keys: u64,
    /// Size of SET values (0: short values).
    value_bytes: usize,
    sent: u64,
    active: bool,
}

#[derive(Clone)]
struct SimClient {
    node: String,
    conn: u64,
    inbox: Vec<u8>,
}

/// Cloning a world snapshots it whole (time travel restores such snapshots).
#[derive(Clone)]
pub struct World {
    now: Millis,
    seq: u64,
    rng: Rng,
    nodes: BTreeMap<String, SimNode>,
    conns: BTreeMap<u64, Conn>,
    next_conn: u64,
    /// Directional link settings (from, to); missing means the default.
    links: BTreeMap<(String, String), LinkConfig>,
    queue: BinaryHeap<Reverse<(Millis, u64)>>,
    events: BTreeMap<u64, Ev>,
    clients: BTreeMap<ClientId, SimClient>,
    next_client: ClientId,
    trace: TraceLog,
    loads: BTreeMap<u64, Load>,
}

impl World {
    pub fn new(seed: u64) -> World {
        World {
            now: Millis(EPOCH_MS),
            seq: 0,
            rng: Rng::new(seed),
            nodes: BTreeMap::new(),
            conns: BTreeMap::new(),
            next_conn: 1,
            links: BTreeMap::new(),
            queue: BinaryHeap::new(),
            events: BTreeMap::new(),
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

    pub fn trace(&self) -> &[TraceEntry] {
        self.trace.entries()
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
            seq: self.seq,
            rng: self.rng.clone(),
            nodes: self.nodes.clone(),
            conns: self.conns.clone(),
            next_conn: self.next_conn,
            links: self.links.clone(),
            queue: self.queue.clone(),
            events: self.events.clone(),
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
        self.nodes.keys().cloned().collect()
    }

    pub fn is_up(&self, name: &str) -> bool {
        self.nodes.get(name).is_some_and(|n| n.node.as_ref().is_some_and(|x| !x.is_stopped()))
    }

    pub fn status(&self, name: &str) -> Option<NodeStatus> {
        self.nodes.get(name)?.node.as_ref().map(|n| n.status(self.now))
    }

    /// DEBUG DIGEST of a node's dataset (empty string if it is down).
    pub fn digest(&self, name: &str) -> String {
        self.nodes.get(name).and_then(|n| n.node.as_ref()).map(|n| n.digest()).unwrap_or_default()
    }

    pub fn link(&self, from: &str, to: &str) -> LinkConfig {
        self.links.get(&(from.to_string(), to.to_string())).copied().unwrap_or_default()
    }

    // ---- building the world ----

    /// Starts a node now.
    pub fn add_node(&mut self, spec: NodeSpec) {
        let name = spec.name.clone();
        self.nodes.insert(name.clone(), SimNode { spec, node: None, disk: None, timer_at: None, last_role: None });
        self.start_node(&name, false);
    }

    fn start_node(&mut self, name: &str, from_disk: bool) {
        let seed = self.rng.next_u64();
        let now = self.now;
        let Some(sn) = self.nodes.get_mut(name) else { return };
        let mut args = vec!["--port".to_string(), PORT.to_string(), "--enable-debug-command".into(), "yes".into()];
        args.extend(sn.spec.args.iter().cloned());
        let Ok(config) = Config::from_args(&args) else {
            self.trace_kind(TraceKind::Log { node: name.to_string(), line: "# bad configuration: node not started".into() });
            return;
        };
        let restored = from_disk && sn.disk.is_some();
        let node = match (&sn.disk, from_disk) {
            (Some(rdb), true) => Node::restore(config.clone(), seed, now, rdb).unwrap_or_else(|_| Node::new(config, seed, now)),
            _ => Node::new(config, seed, now),
        };
        sn.node = Some(node);
        sn.timer_at = None;
        self.trace_kind(TraceKind::NodeStarted { node: name.to_string(), restored });
        self.drain(name);
    }

    /// Opens a client connection to a node (clients sit next to it: no latency).
    pub fn client(&mut self, node: &str) -> ClientId {
        let id = self.next_client;
        self.next_client += 1;
        let conn = self.next_conn;
        self.next_conn += 1;
        let now = self.now;
        let accepted = self
            .nodes
            .get_mut(node)
            .and_then(|n| n.node.as_mut())
            .map(|n| n.accept(now, &format!("client-{id}:{}", 50000 + id), &format!("{node}:{PORT}")));
        let (b, open) = match accepted {
            Some(c) => (End::Node { name: node.to_string(), conn: c }, true),
            None => (End::Node { name: node.to_string(), conn: ConnId(0) }, false),
        };
        self.conns.insert(
            conn,
            Conn { a: End::Client(id), b, busy: [now.0 * 1000, now.0 * 1000], held: [Vec::new(), Vec::new()], between_nodes: false, open, established: open },
        );
        self.clients.insert(id, SimClient { node: node.to_string(), conn, inbox: Vec::new() });
        if open {
            self.drain(node);
        }
        id
    }

    /// Sends a command line (redis-cli quoting) from a client.
    pub fn command(&mut self, client: ClientId, line: &str) {
        let Some(c) = self.clients.get(&client) else { return };
        let (node, conn) = (c.node.clone(), c.conn);
        let args = replscope_engine::split_args(line.as_bytes()).unwrap_or_default();
        if args.is_empty() {
            return;
        }
        self.trace_kind(TraceKind::Command { client, node: node.clone(), line: line.to_string() });
        let bytes = replscope_engine::resp::encode_command(&args);
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

    // ---- faults and controls ----

    /// Changes the link settings from `a` to `b` (one direction).
    pub fn set_link(&mut self, a: &str, b: &str, cfg: LinkConfig) {
        self.links.insert((a.to_string(), b.to_string()), cfg);
        self.trace_kind(TraceKind::LinkChanged {
            a: a.to_string(),
            b: b.to_string(),
            latency_ms: cfg.latency_ms,
            bytes_per_ms: cfg.bytes_per_ms,
            cut: cfg.cut,
        });
        if !cfg.cut {
            self.release_held(a, b);
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
        let ids: Vec<u64> = self
            .conns
            .iter()
            .filter(|(_, c)| c.open && c.between_nodes && {
                let (x, y) = (end_node(&c.a), end_node(&c.b));
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
        let Some(sn) = self.nodes.get_mut(name) else { return };
        if sn.node.take().is_none() {
            return;
        }
        sn.timer_at = None;
        sn.last_role = None;
        self.trace_kind(TraceKind::NodeCrashed { node: name.to_string() });
        let ids: Vec<u64> = self
            .conns
            .iter()
            .filter(|(_, c)| c.open && (end_node(&c.a) == Some(name) || end_node(&c.b) == Some(name)))
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
        self.start_node(name, true);
    }

    /// Restarts a crashed node whose disk was lost as well: it starts with no data.
    pub fn restart_empty(&mut self, name: &str) {
        if self.is_up(name) {
            return;
        }
        if let Some(sn) = self.nodes.get_mut(name) {
            sn.disk = None;
        }
        self.start_node(name, true);
    }

    /// Blocks a node for `ms` (a real `DEBUG SLEEP`: it serves nothing meanwhile).
    pub fn pause(&mut self, name: &str, ms: u64) {
        let c = self.client(name);
        self.command(c, &format!("DEBUG SLEEP {}.{:03}", ms / 1000, ms % 1000));
    }

    /// Takes a node out of the world (its connections reset).
    pub fn remove_node(&mut self, name: &str) {
        self.crash(name);
        self.nodes.remove(name);
    }

    /// Starts a write load of `per_second` writes on `node` over `keys` keys; returns its id.
    pub fn start_load(&mut self, node: &str, per_second: u64, keys: u64) -> u64 {
        self.start_load_sized(node, per_second, keys, 0)
    }

    /// A load whose SETs carry values of `value_bytes` bytes (to fill backlogs quickly).
    pub fn start_load_sized(&mut self, node: &str, per_second: u64, keys: u64, value_bytes: usize) -> u64 {
        let client = self.client(node);
        let id = self.loads.len() as u64 + 1;
        let interval_ms = (1000 / per_second.max(1)).max(1);
        let value_bytes = value_bytes.min(1 << 20);
        self.loads.insert(id, Load { client, node: node.to_string(), interval_ms, keys: keys.max(1), value_bytes, sent: 0, active: true });
        let at = self.now;
        self.push(at, Ev::LoadTick { load: id });
        id
    }

    pub fn stop_load(&mut self, id: u64) {
        if let Some(l) = self.loads.get_mut(&id) {
            l.active = false;
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
            match self.queue.peek() {
                Some(Reverse((t, _))) if t.0 <= EPOCH_MS + deadline => {
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
        let Some(Reverse((at, seq))) = self.queue.pop() else { return false };
        let Some(ev) = self.events.remove(&seq) else { return true };
        self.now = self.now.max(at);
        self.handle(ev);
        true
    }

    /// Runs every event up to virtual time `t` (ms since start), then sets the clock to it.
    pub fn run_until(&mut self, t: u64) {
        let target = Millis(EPOCH_MS + t);
        while let Some(Reverse((at, _))) = self.queue.peek() {
            if *at > target {
                break;
            }
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
        self.seq += 1;
        self.events.insert(self.seq, ev);
        self.queue.push(Reverse((at.max(self.now), self.seq)));
    }

    fn trace_kind(&mut self, kind: TraceKind) {
        self.trace.push(TraceEntry { at: self.time(), kind });
    }

    fn handle(&mut self, ev: Ev) {
        match ev {
            Ev::Timer { node } => {
                let now = self.now;
                let Some(sn) = self.nodes.get_mut(&node) else { return };
                if sn.timer_at != Some(now) {
                    return;
                }
                sn.timer_at = None;
                let Some(n) = sn.node.as_mut() else { return };
                n.handle_timeout(now);
                self.drain(&node);
            }
            Ev::Deliver { conn, to_b, bytes } => self.deliver(conn, to_b, bytes),
            Ev::Closed { conn, to_b } => {
                let Some(c) = self.conns.get_mut(&conn) else { return };
                if !c.open {
                    return;
                }
                c.open = false;
                let end = if to_b { c.b.clone() } else { c.a.clone() };
                self.notify_closed(end);
            }
            Ev::Arrive { conn } => self.arrive(conn),
            Ev::LoadTick { load } => self.load_tick(load),
            Ev::Established { conn } => {
                let Some(c) = self.conns.get(&conn) else { return };
                if !c.open {
                    return;
                }
                let End::Node { name, conn: cid } = c.a.clone() else { return };
                let now = self.now;
                if let Some(n) = self.nodes.get_mut(&name).and_then(|n| n.node.as_mut()) {
                    n.handle_input(now, Input::Connected { conn: cid });
                }
                self.drain(&name);
            }
            Ev::Refused { conn } => {
                let Some(c) = self.conns.get_mut(&conn) else { return };
                c.open = false;
                let a = c.a.clone();
                self.trace_kind(TraceKind::ConnectFailed { conn, reason: "Connection refused".into() });
                if let End::Node { name, conn: cid } = a {
                    let now = self.now;
                    if let Some(n) = self.nodes.get_mut(&name).and_then(|n| n.node.as_mut()) {
                        n.handle_input(now, Input::ConnectFailed { conn: cid, reason: "Connection refused".into() });
                    }
                    self.drain(&name);
                }
            }
        }
    }

    fn deliver(&mut self, conn: u64, to_b: bool, bytes: Vec<u8>) {
        let Some(c) = self.conns.get(&conn) else { return };
        if !c.open {
            return;
        }
        let end = if to_b { c.b.clone() } else { c.a.clone() };
        let now = self.now;
        match end {
            End::Client(id) => {
                if let Some(cl) = self.clients.get_mut(&id) {
                    cl.inbox.extend_from_slice(&bytes);
                }
            }
            End::Node { name, conn: cid } => {
                self.trace_kind(TraceKind::Delivered { conn, to: name.clone(), bytes: bytes.len() });
                if let Some(n) = self.nodes.get_mut(&name).and_then(|n| n.node.as_mut()) {
                    n.handle_input(now, Input::Received { conn: cid, bytes: &bytes });
                }
                self.drain(&name);
            }
        }
    }

    /// A connection attempt reaches its target: accepted, or (target down) refused.
    fn arrive(&mut self, conn: u64) {
        let Some(c) = self.conns.get(&conn) else { return };
        if !c.open {
            return;
        }
        let (End::Node { name: from, .. }, End::Node { name: to, .. }) = (c.a.clone(), c.b.clone()) else { return };
        let now = self.now;
        let accepted = self
            .nodes
            .get_mut(&to)
            .and_then(|n| n.node.as_mut())
            .filter(|n| !n.is_stopped())
            .map(|n| n.accept(now, &format!("{from}:{}", 40000 + conn), &format!("{to}:{PORT}")));
        let Some(tconn) = accepted else {
            // Nothing listens: the RST travels back.
            let back = self.link(&to, &from).latency_ms;
            self.push(now.saturating_add(back), Ev::Refused { conn });
            return;
        };
        if let Some(c) = self.conns.get_mut(&conn) {
            c.b = End::Node { name: to.clone(), conn: tconn };
            c.established = true;
        }
        self.trace_kind(TraceKind::Connected { conn });
        self.drain(&to);
        // The SYN-ACK goes back; then the connecting side knows.
        let back = self.link(&to, &from).latency_ms;
        self.push(now.saturating_add(back), Ev::Established { conn });
    }

    /// Tells an end its connection closed (nodes get Input::Closed or ConnectFailed).
    fn notify_closed(&mut self, end: End) {
        let now = self.now;
        if let End::Node { name, conn } = end {
            if let Some(n) = self.nodes.get_mut(&name).and_then(|n| n.node.as_mut()) {
                n.handle_input(now, Input::Closed { conn });
            }
            self.drain(&name);
        }
    }

    /// Both ends learn now; bytes in flight are gone.
    fn abort(&mut self, id: u64) {
        let Some(c) = self.conns.get_mut(&id) else { return };
        if !c.open {
            return;
        }
        c.open = false;
        let (a, b) = (c.a.clone(), c.b.clone());
        let established = c.established;
        self.trace_kind(TraceKind::Closed { conn: id, by: "reset".into() });
        self.notify_closed(a);
        if established {
            self.notify_closed(b);
        }
    }

    /// Schedules bytes from one end to the other, after bandwidth and latency.
    fn send(&mut self, conn: u64, from_a: bool, bytes: Vec<u8>) {
        let Some(c) = self.conns.get(&conn) else { return };
        if !c.open || bytes.is_empty() {
            return;
        }
        let (from, to) = if from_a { (c.a.clone(), c.b.clone()) } else { (c.b.clone(), c.a.clone()) };
        let dir = if from_a { 0 } else { 1 };
        let cfg = match (&from, &to) {
            (End::Node { name: x, .. }, End::Node { name: y, .. }) => self.link(x, y),
            // Clients sit next to their node.
            _ => LinkConfig { latency_ms: 0, bytes_per_ms: u64::MAX, cut: false },
        };
        if c.between_nodes {
            let (fname, tname) = (end_name(&from), end_name(&to));
            // The master end is the acceptor of a replication link.
            let payload = classify(&bytes, true, !from_a);
            self.trace_kind(TraceKind::Sent { conn, from: fname, to: tname, bytes: bytes.len(), payload, preview: preview(&bytes) });
        } else if let End::Client(id) = &to {
            let node = end_name(&from);
            let reply = preview(&bytes);
            self.trace_kind(TraceKind::Reply { client: *id, node, reply });
        }
        if cfg.cut {
            if let Some(c) = self.conns.get_mut(&conn) {
                c.held[dir].extend_from_slice(&bytes);
            }
            return;
        }
        self.schedule_bytes(conn, dir, cfg, bytes);
    }

    fn schedule_bytes(&mut self, conn: u64, dir: usize, cfg: LinkConfig, bytes: Vec<u8>) {
        let now_us = self.now.0.saturating_mul(1000);
        for chunk in bytes.chunks(CHUNK) {
            let Some(c) = self.conns.get_mut(&conn) else { return };
            let start = c.busy[dir].max(now_us);
            let done = start.saturating_add(cfg.transmit_us(chunk.len()));
            c.busy[dir] = done;
            let arrives = Millis(done.div_ceil(1000)).saturating_add(cfg.latency_ms);
            self.push(arrives, Ev::Deliver { conn, to_b: dir == 0, bytes: chunk.to_vec() });
        }
    }

    /// A healed link lets waiting bytes go, in order.
    fn release_held(&mut self, a: &str, b: &str) {
        let cfg = self.link(a, b);
        let ids: Vec<(u64, usize)> = self
            .conns
            .iter()
            .filter(|(_, c)| c.open)
            .filter_map(|(id, c)| {
                if end_node(&c.a) == Some(a) && end_node(&c.b) == Some(b) && !c.held[0].is_empty() {
                    Some((*id, 0))
                } else if end_node(&c.b) == Some(a) && end_node(&c.a) == Some(b) && !c.held[1].is_empty() {
                    Some((*id, 1))
                } else {
                    None
                }
            })
            .collect();
        for (id, dir) in ids {
            let Some(c) = self.conns.get_mut(&id) else { continue };
            let bytes = std::mem::take(&mut c.held[dir]);
            self.schedule_bytes(id, dir, cfg, bytes);
        }
        // Connection attempts stuck on the cut complete now (SYN retransmission).
        let pending: Vec<u64> = self
            .conns
            .iter()
            .filter(|(_, c)| c.open && !c.established && end_node(&c.a) == Some(a) && end_name(&c.b) == b)
            .map(|(id, _)| *id)
            .collect();
        for id in pending {
            let at = self.now.saturating_add(cfg.latency_ms);
            self.push(at, Ev::Arrive { conn: id });
        }
    }

    /// One write of a load: a seeded mix of the write commands the engine implements.
    fn load_tick(&mut self, id: u64) {
        let Some(l) = self.loads.get(&id).cloned() else { return };
        if !l.active {
            return;
        }
        let r = self.rng.next_u64();
        let key = (r >> 8) % l.keys;
        let line = match r % 8 {
            0 | 1 | 2 if l.value_bytes > 0 => format!("SET key:{key} {}", "v".repeat(l.value_bytes)),
            0 | 1 | 2 => format!("SET key:{key} v{}", l.sent),
            3 => format!("INCR counter:{}", key % 16),
            4 => format!("LPUSH list:{} x{}", key % 8, l.sent),
            5 => format!("HSET hash:{} f{} {}", key % 8, key, l.sent),
            6 => format!("SADD set:{} m{}", key % 8, key),
            _ => format!("EXPIRE key:{key} 60"),
        };
        // A load on a node that is down just pauses; after a restart it reconnects.
        if self.is_up(&l.node) {
            let open = self.clients.get(&l.client).and_then(|c| self.conns.get(&c.conn)).is_some_and(|c| c.open);
            let client = if open { l.client } else { self.client(&l.node) };
            if let Some(l) = self.loads.get_mut(&id) {
                l.client = client;
            }
            self.command(client, &line);
            let _ = self.take_replies(client);
        }
        if let Some(l) = self.loads.get_mut(&id) {
            l.sent += 1;
        }
        let at = self.now.saturating_add(l.interval_ms);
        self.push(at, Ev::LoadTick { load: id });
    }

    /// Carries out everything a node asked for, then re-arms its timer.
    fn drain(&mut self, name: &str) {
        loop {
            let Some(out) = self.nodes.get_mut(name).and_then(|n| n.node.as_mut()).and_then(|n| n.poll_output()) else { break };
            self.carry_out(name, out);
        }
        self.trace_role(name);
        let now = self.now;
        let Some(sn) = self.nodes.get_mut(name) else { return };
        let Some(node) = sn.node.as_ref() else { return };
        if let Some(t) = node.poll_timeout() {
            let t = t.max(now);
            if sn.timer_at.is_none_or(|s| t < s || s < now) {
                sn.timer_at = Some(t);
                let node = name.to_string();
                self.push(t, Ev::Timer { node });
            }
        }
    }

    fn carry_out(&mut self, name: &str, out: Output) {
        let now = self.now;
        match out {
            Output::Send { conn, bytes } => {
                if let Some((id, from_a)) = self.find_conn(name, conn) {
                    self.send(id, from_a, bytes);
                }
            }
            Output::Close { conn } => {
                let Some((id, from_a)) = self.find_conn(name, conn) else { return };
                let Some(c) = self.conns.get(&id) else { return };
                if !c.open {
                    return;
                }
                let established = c.established;
                let dir = if from_a { 0 } else { 1 };
                let (peer_end, busy) = (if from_a { c.b.clone() } else { c.a.clone() }, c.busy[dir]);
                self.trace_kind(TraceKind::Closed { conn: id, by: name.to_string() });
                // The FIN follows the data already on the wire; the peer learns on arrival.
                let latency = match &peer_end {
                    End::Node { name: p, .. } => self.link(name, p).latency_ms,
                    End::Client(_) => 0,
                };
                if established {
                    let free = Millis(busy.div_ceil(1000)).max(now);
                    self.push(free.saturating_add(latency), Ev::Closed { conn: id, to_b: from_a });
                } else if let Some(c) = self.conns.get_mut(&id) {
                    c.open = false;
                }
            }
            Output::Connect { conn, host, .. } => {
                let id = self.next_conn;
                self.next_conn += 1;
                self.conns.insert(
                    id,
                    Conn {
                        a: End::Node { name: name.to_string(), conn },
                        b: End::Node { name: host.clone(), conn: ConnId(0) },
                        busy: [now.0 * 1000, now.0 * 1000],
                        held: [Vec::new(), Vec::new()],
                        between_nodes: true,
                        open: true,
                        established: false,
                    },
                );
                self.trace_kind(TraceKind::Connect { conn: id, from: name.to_string(), to: host.clone() });
                let cfg = self.link(name, &host);
                if !self.nodes.contains_key(&host) {
                    self.push(now.saturating_add(cfg.latency_ms), Ev::Refused { conn: id });
                } else if !cfg.cut {
                    self.push(now.saturating_add(cfg.latency_ms), Ev::Arrive { conn: id });
                }
                // A cut link: the SYN is lost until it heals; the node times out on its own.
            }
            Output::Log { line, .. } => self.trace_kind(TraceKind::Log { node: name.to_string(), line }),
            Output::SaveRdb { bytes } => {
                if let Some(sn) = self.nodes.get_mut(name) {
                    sn.disk = Some(Arc::new(bytes));
                }
            }
            Output::Shutdown { .. } => {
                self.trace_kind(TraceKind::NodeCrashed { node: name.to_string() });
            }
            _ => {}
        }
    }

    /// The connection whose end on node `name` is `conn`, and whether that end is `a`.
    fn find_conn(&self, name: &str, conn: ConnId) -> Option<(u64, bool)> {
        // Only open connections: a restarted node numbers its connections from 1 again.
        self.conns.iter().filter(|(_, c)| c.open).find_map(|(id, c)| {
            if matches!(&c.a, End::Node { name: n, conn: x } if n == name && *x == conn) {
                Some((*id, true))
            } else if c.established && matches!(&c.b, End::Node { name: n, conn: x } if n == name && *x == conn) {
                Some((*id, false))
            } else {
                None
            }
        })
    }

    fn trace_role(&mut self, name: &str) {
        let Some(st) = self.status(name) else { return };
        let (role, link) = match &st.role {
            Role::Master => ("master".to_string(), String::new()),
            Role::Replica(v) => (format!("replica of {}", v.master_host), v.link_state.to_string()),
        };
        let key = (role.clone(), st.replid.clone(), link.clone());
        let Some(sn) = self.nodes.get_mut(name) else { return };
        if sn.last_role.as_ref() == Some(&key) {
            return;
        }
        sn.last_role = Some(key);
        self.trace_kind(TraceKind::Role { node: name.to_string(), role, link, replid: st.replid, offset: st.master_repl_offset });
    }
}

fn end_node(e: &End) -> Option<&str> {
    match e {
        End::Node { name, .. } => Some(name),
        End::Client(_) => None,
    }
}

fn end_name(e: &End) -> String {
    match e {
        End::Node { name, .. } => name.clone(),
        End::Client(id) => format!("client-{id}"),
    }
}

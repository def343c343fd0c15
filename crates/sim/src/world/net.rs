//! Simulated TCP connections: opening, bytes on the wire (bandwidth, latency, cuts), and
//! closing, between a node and a client or between two nodes.

use std::collections::VecDeque;

use replscope_engine::{ConnId, Input, Millis};

use super::names::NodeIx;
use super::queue::Ev;
use super::{ClientId, SimClient, World, PORT};
use crate::link::LinkConfig;
use crate::trace::{classify, preview, TraceKind};

/// Bytes are delivered in pieces of at most this size, so long transfers show progress.
const CHUNK: usize = 16 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum End {
    Node { node: NodeIx, conn: ConnId },
    Client(ClientId),
}

#[derive(Clone)]
pub(super) struct Conn {
    /// The end that connected.
    pub(super) a: End,
    /// The end that accepted (a node). Its ConnId is known once accepted.
    pub(super) b: End,
    /// When each direction's wire is free again (a→b, b→a), in microseconds since the epoch.
    busy: [u64; 2],
    /// Bytes waiting for a cut link to heal, per direction.
    held: [Vec<u8>; 2],
    /// Bytes on the wire per direction, oldest first, with when each piece arrives. Each
    /// piece has one `Ev::Deliver`, which hands over the oldest piece: TCP keeps the order.
    in_flight: [VecDeque<(Millis, Vec<u8>)>; 2],
    /// Both ends are nodes (a replication link).
    pub(super) between_nodes: bool,
    pub(super) open: bool,
    established: bool,
}

impl Conn {
    fn new(a: End, b: End, now: Millis, between_nodes: bool, open: bool, established: bool) -> Conn {
        let t = now.0 * 1000;
        Conn { a, b, busy: [t, t], held: [Vec::new(), Vec::new()], in_flight: Default::default(), between_nodes, open, established }
    }
}

impl World {
    /// Opens a client connection to a node (clients sit next to it: no latency).
    pub fn client(&mut self, node: &str) -> ClientId {
        let id = self.next_client;
        self.next_client += 1;
        let conn = self.next_conn;
        self.next_conn += 1;
        let now = self.now;
        let i = self.names.intern(node);
        let accepted = self.engine_mut(i).map(|n| n.accept(now, &format!("client-{id}:{}", 50000 + id), &format!("{node}:{PORT}")));
        let b = End::Node { node: i, conn: accepted.unwrap_or(ConnId(0)) };
        let open = accepted.is_some();
        self.conns.insert(conn, Conn::new(End::Client(id), b, now, false, open, open));
        if open {
            self.index_end(b, conn, false);
        }
        self.clients.insert(id, SimClient { node: i, conn, inbox: Vec::new() });
        if open {
            self.drain(i);
        }
        id
    }

    /// A node asked to connect to `host`: the SYN leaves now.
    pub(super) fn connect(&mut self, i: NodeIx, conn: ConnId, host: &str) {
        let now = self.now;
        let id = self.next_conn;
        self.next_conn += 1;
        let to = self.names.intern(host);
        let a = End::Node { node: i, conn };
        self.conns.insert(id, Conn::new(a, End::Node { node: to, conn: ConnId(0) }, now, true, true, false));
        self.index_end(a, id, true);
        self.trace_kind(TraceKind::Connect { conn: id, from: self.name(i), to: host.to_string() });
        let cfg = self.link_ix(i, to);
        if self.sim_node(to).is_none() {
            self.push(now.saturating_add(cfg.latency_ms), Ev::Refused { conn: id });
        } else if !cfg.cut {
            self.push(now.saturating_add(cfg.latency_ms), Ev::Arrive { conn: id });
        }
        // A cut link: the SYN is lost until it heals; the node times out on its own.
    }

    /// A connection attempt reaches its target: accepted, or (target down) refused.
    pub(super) fn arrive(&mut self, conn: u64) {
        let Some(c) = self.conns.get(&conn).filter(|c| c.open) else { return };
        let (End::Node { node: from, .. }, End::Node { node: to, .. }) = (c.a, c.b) else { return };
        let now = self.now;
        let peer = format!("{}:{}", self.names.name(from), 40000 + conn);
        let local = format!("{}:{PORT}", self.names.name(to));
        let accepted = self.engine_mut(to).filter(|n| !n.is_stopped()).map(|n| n.accept(now, &peer, &local));
        let back = self.link_ix(to, from).latency_ms;
        let Some(tconn) = accepted else {
            // Nothing listens: the RST travels back.
            self.push(now.saturating_add(back), Ev::Refused { conn });
            return;
        };
        let b = End::Node { node: to, conn: tconn };
        if let Some(c) = self.conns.get_mut(&conn) {
            c.b = b;
            c.established = true;
        }
        self.index_end(b, conn, false);
        self.trace_kind(TraceKind::Connected { conn });
        self.drain(to);
        // The SYN-ACK goes back; then the connecting side knows.
        self.push(now.saturating_add(back), Ev::Established { conn });
    }

    pub(super) fn established(&mut self, conn: u64) {
        let Some(c) = self.conns.get(&conn).filter(|c| c.open) else { return };
        let End::Node { node, conn: cid } = c.a else { return };
        let now = self.now;
        if let Some(n) = self.engine_mut(node) {
            n.handle_input(now, Input::Connected { conn: cid });
        }
        self.drain(node);
    }

    pub(super) fn refused(&mut self, conn: u64) {
        let Some(c) = self.conns.get(&conn) else { return };
        let a = c.a;
        self.shut(conn);
        self.trace_kind(TraceKind::ConnectFailed { conn, reason: "Connection refused".into() });
        if let End::Node { node, conn: cid } = a {
            let now = self.now;
            if let Some(n) = self.engine_mut(node) {
                n.handle_input(now, Input::ConnectFailed { conn: cid, reason: "Connection refused".into() });
            }
            self.drain(node);
        }
    }

    /// The peer's FIN arrives at one end.
    pub(super) fn closed(&mut self, conn: u64, to_b: bool) {
        let Some(c) = self.conns.get(&conn).filter(|c| c.open) else { return };
        let end = if to_b { c.b } else { c.a };
        self.shut(conn);
        self.notify_closed(end);
    }

    pub(super) fn deliver(&mut self, conn: u64, to_b: bool) {
        let Some(c) = self.conns.get_mut(&conn).filter(|c| c.open) else { return };
        let Some((_, bytes)) = c.in_flight[usize::from(!to_b)].pop_front() else { return };
        let end = if to_b { c.b } else { c.a };
        let now = self.now;
        match end {
            End::Client(id) => {
                if let Some(cl) = self.clients.get_mut(&id) {
                    if cl.inbox.is_empty() {
                        cl.inbox = bytes;
                    } else {
                        cl.inbox.extend_from_slice(&bytes);
                    }
                }
            }
            End::Node { node, conn: cid } => {
                self.trace_kind(TraceKind::Delivered { conn, to: self.name(node), bytes: bytes.len() });
                if let Some(n) = self.engine_mut(node) {
                    n.handle_input(now, Input::Received { conn: cid, bytes: &bytes });
                }
                self.drain(node);
            }
        }
    }

    /// Tells an end its connection closed (nodes get Input::Closed).
    fn notify_closed(&mut self, end: End) {
        let now = self.now;
        if let End::Node { node, conn } = end {
            if let Some(n) = self.engine_mut(node) {
                n.handle_input(now, Input::Closed { conn });
            }
            self.drain(node);
        }
    }

    /// Both ends learn now; bytes in flight are gone.
    pub(super) fn abort(&mut self, id: u64) {
        let Some(c) = self.conns.get(&id).filter(|c| c.open) else { return };
        let (a, b, established) = (c.a, c.b, c.established);
        self.shut(id);
        self.trace_kind(TraceKind::Closed { conn: id, by: "reset".into() });
        self.notify_closed(a);
        if established {
            self.notify_closed(b);
        }
    }

    /// Node `i` closes its end `conn`: the FIN follows the data already on the wire.
    pub(super) fn close(&mut self, i: NodeIx, conn: ConnId) {
        let Some(&(id, from_a)) = self.ends.get(&(i, conn)) else { return };
        let Some(c) = self.conns.get(&id).filter(|c| c.open) else { return };
        let established = c.established;
        let dir = usize::from(!from_a);
        let (peer, busy) = (if from_a { c.b } else { c.a }, c.busy[dir]);
        self.trace_kind(TraceKind::Closed { conn: id, by: self.name(i) });
        if established {
            // The peer learns on arrival.
            let latency = match peer {
                End::Node { node: p, .. } => self.link_ix(i, p).latency_ms,
                End::Client(_) => 0,
            };
            let free = Millis(busy.div_ceil(1000)).max(self.now);
            self.push(free.saturating_add(latency), Ev::Closed { conn: id, to_b: from_a });
        } else {
            self.shut(id);
        }
    }

    /// Schedules bytes from one end to the other, after bandwidth and latency.
    pub(super) fn send(&mut self, conn: u64, from_a: bool, bytes: Vec<u8>) {
        let Some(c) = self.conns.get(&conn) else { return };
        if !c.open || bytes.is_empty() {
            return;
        }
        let (from, to) = if from_a { (c.a, c.b) } else { (c.b, c.a) };
        let dir = usize::from(!from_a);
        let between_nodes = c.between_nodes;
        let cfg = match (from, to) {
            (End::Node { node: x, .. }, End::Node { node: y, .. }) => self.link_ix(x, y),
            // Clients sit next to their node.
            _ => LinkConfig { latency_ms: 0, bytes_per_ms: u64::MAX, cut: false },
        };
        if between_nodes {
            let (fname, tname) = (self.end_name(from), self.end_name(to));
            // The master end is the acceptor of a replication link.
            let payload = classify(&bytes, true, !from_a);
            self.trace_kind(TraceKind::Sent { conn, from: fname, to: tname, bytes: bytes.len(), payload, preview: preview(&bytes) });
        } else if let End::Client(id) = to {
            let node = self.end_name(from);
            let reply = preview(&bytes);
            self.trace_kind(TraceKind::Reply { client: id, node, reply });
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
        if bytes.is_empty() {
            return;
        }
        if bytes.len() <= CHUNK {
            // One piece: the buffer itself travels.
            self.schedule_chunk(conn, dir, cfg, now_us, bytes);
            return;
        }
        for chunk in bytes.chunks(CHUNK) {
            self.schedule_chunk(conn, dir, cfg, now_us, chunk.to_vec());
        }
    }

    fn schedule_chunk(&mut self, conn: u64, dir: usize, cfg: LinkConfig, now_us: u64, chunk: Vec<u8>) {
        let Some(c) = self.conns.get_mut(&conn) else { return };
        let start = c.busy[dir].max(now_us);
        let done = start.saturating_add(cfg.transmit_us(chunk.len()));
        c.busy[dir] = done;
        let arrives = Millis(done.div_ceil(1000)).saturating_add(cfg.latency_ms);
        // Writes that reach the peer in the same millisecond are one read for it, as a TCP
        // receiver finds them all in its socket buffer: a pipeline arrives whole, and the
        // node runs it in one go (and writes its replies and stream once, as Redis does).
        if let Some((at, last)) = c.in_flight[dir].back_mut() {
            if *at == arrives && last.len() + chunk.len() <= CHUNK {
                last.extend_from_slice(&chunk);
                return;
            }
        }
        c.in_flight[dir].push_back((arrives, chunk));
        self.push(arrives, Ev::Deliver { conn, to_b: dir == 0 });
    }

    /// A healed link from `a` to `b` lets waiting bytes go, in order.
    pub(super) fn release_held(&mut self, a: NodeIx, b: NodeIx) {
        let cfg = self.link_ix(a, b);
        let ids: Vec<(u64, usize)> = self
            .conns
            .iter()
            .filter(|(_, c)| c.open)
            .filter_map(|(id, c)| {
                if c.a.node() == Some(a) && c.b.node() == Some(b) && !c.held[0].is_empty() {
                    Some((*id, 0))
                } else if c.b.node() == Some(a) && c.a.node() == Some(b) && !c.held[1].is_empty() {
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
            .filter(|(_, c)| c.open && !c.established && c.a.node() == Some(a) && c.b.node() == Some(b))
            .map(|(id, _)| *id)
            .collect();
        for id in pending {
            let at = self.now.saturating_add(cfg.latency_ms);
            self.push(at, Ev::Arrive { conn: id });
        }
    }

    /// Marks a connection closed and forgets its ends.
    fn shut(&mut self, id: u64) {
        let Some(c) = self.conns.get_mut(&id) else { return };
        c.open = false;
        c.in_flight = Default::default();
        let (a, b) = (c.a, c.b);
        for end in [a, b] {
            if let End::Node { node, conn } = end {
                if self.ends.get(&(node, conn)).is_some_and(|(x, _)| *x == id) {
                    self.ends.remove(&(node, conn));
                }
            }
        }
    }

    /// Indexes an open end of connection `id` (the first connection to claim it keeps it, as
    /// a scan in connection order would find).
    fn index_end(&mut self, end: End, id: u64, is_a: bool) {
        if let End::Node { node, conn } = end {
            self.ends.entry((node, conn)).or_insert((id, is_a));
        }
    }

    fn end_name(&self, e: End) -> String {
        match e {
            End::Node { node, .. } => self.name(node),
            End::Client(id) => format!("client-{id}"),
        }
    }
}

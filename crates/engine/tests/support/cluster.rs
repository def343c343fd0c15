//! An in-memory network for several nodes: connections by port, zero latency, cuts.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use replscope_engine::resp::encode_command;
use replscope_engine::{Config, ConnId, Input, Millis, Node, Output};

/// One end of a connection: which node, which conn id on that node.
type End = (u16, ConnId);

pub struct Cluster {
    pub now: Millis,
    pub nodes: BTreeMap<u16, Node>,
    /// Each connection end to its peer end.
    links: BTreeMap<End, End>,
    /// Client connections the test opened: (node, conn) -> bytes received.
    inbox: BTreeMap<End, Vec<u8>>,
    /// Ports that refuse connections (as if the node were down).
    pub down: BTreeSet<u16>,
    pub logs: Vec<(u16, String)>,
    /// When set, bytes between nodes arrive in random-sized pieces (xorshift state).
    pub split: Option<u64>,
    /// Each node's last saved RDB (its disk survives a crash).
    pub disks: BTreeMap<u16, Vec<u8>>,
    /// The arguments each node was started with.
    args: BTreeMap<u16, Vec<String>>,
}

impl Cluster {
    pub fn new() -> Cluster {
        Cluster {
            now: Millis(1_700_000_000_000),
            nodes: BTreeMap::new(),
            links: BTreeMap::new(),
            inbox: BTreeMap::new(),
            down: BTreeSet::new(),
            logs: Vec::new(),
            split: None,
            disks: BTreeMap::new(),
            args: BTreeMap::new(),
        }
    }

    pub fn add(&mut self, port: u16, args: &[&str]) {
        let mut all = vec!["--port".to_string(), port.to_string(), "--enable-debug-command".into(), "yes".into()];
        all.extend(args.iter().map(|s| s.to_string()));
        let config = Config::from_args(&all).expect("config");
        self.nodes.insert(port, Node::new(config, port as u64, self.now));
        self.args.insert(port, all);
        self.pump();
    }

    /// The process dies: connections reset, memory lost, the disk kept.
    pub fn crash(&mut self, port: u16) {
        self.nodes.remove(&port);
        let ends: Vec<(End, End)> = self.links.iter().filter(|(a, _)| a.0 == port).map(|(a, b)| (*a, *b)).collect();
        let now = self.now;
        for (a, b) in ends {
            self.links.remove(&a);
            self.links.remove(&b);
            if let Some(n) = self.nodes.get_mut(&b.0) {
                n.handle_input(now, Input::Closed { conn: b.1 });
            }
        }
        self.inbox.retain(|(p, _), _| *p != port);
        self.pump();
    }

    /// Starts the node again with its original arguments, from its disk if it has one.
    pub fn restart(&mut self, port: u16, seed: u64) {
        let config = Config::from_args(&self.args[&port]).expect("config");
        let node = match self.disks.get(&port) {
            Some(rdb) => Node::restore(config, seed, self.now, rdb).expect("restore"),
            None => Node::new(config, seed, self.now),
        };
        self.nodes.insert(port, node);
        self.pump();
    }

    /// Opens a client connection to `port`.
    pub fn client(&mut self, port: u16) -> End {
        let now = self.now;
        let node = self.nodes.get_mut(&port).expect("node");
        let conn = node.accept(now, "127.0.0.1:55555", &format!("127.0.0.1:{port}"));
        self.inbox.insert((port, conn), Vec::new());
        (port, conn)
    }

    pub fn cmd(&mut self, client: End, line: &str) -> String {
        let args = replscope_engine::split_args(line.as_bytes()).expect("line parses");
        let bytes = encode_command(&args);
        let now = self.now;
        if let Some(node) = self.nodes.get_mut(&client.0) {
            node.handle_input(now, Input::Received { conn: client.1, bytes: &bytes });
        }
        self.pump();
        let got = self.inbox.get_mut(&client).map(std::mem::take).unwrap_or_default();
        String::from_utf8_lossy(&got).into_owned()
    }

    /// What arrived for `client` since the last read (replies that came later, e.g. WAIT).
    pub fn take(&mut self, client: End) -> String {
        let got = self.inbox.get_mut(&client).map(std::mem::take).unwrap_or_default();
        String::from_utf8_lossy(&got).into_owned()
    }

    pub fn info(&mut self, port: u16, field: &str) -> String {
        let c = self.client(port);
        let info = self.cmd(c, "INFO");
        let prefix = format!("{field}:");
        info.split("\r\n")
            .find_map(|l| l.strip_prefix(&prefix))
            .map(|s| s.to_string())
            .unwrap_or_else(|| format!("<no {field}>"))
    }

    pub fn digest(&self, port: u16) -> String {
        self.nodes[&port].digest()
    }

    /// Delivers every output until the network is quiet.
    pub fn pump(&mut self) {
        loop {
            let mut work = Vec::new();
            for (port, node) in self.nodes.iter_mut() {
                while let Some(o) = node.poll_output() {
                    work.push((*port, o));
                }
            }
            if work.is_empty() {
                return;
            }
            for (port, o) in work {
                self.route(port, o);
            }
        }
    }

    fn route(&mut self, port: u16, o: Output) {
        let now = self.now;
        match o {
            Output::Send { conn, bytes } => {
                if let Some(buf) = self.inbox.get_mut(&(port, conn)) {
                    buf.extend(bytes);
                } else if let Some(&(peer, pconn)) = self.links.get(&(port, conn)) {
                    let mut rest: &[u8] = &bytes;
                    while !rest.is_empty() {
                        let n = match self.split.as_mut() {
                            Some(s) => {
                                *s ^= *s << 13;
                                *s ^= *s >> 7;
                                *s ^= *s << 17;
                                1 + (*s % 40) as usize
                            }
                            None => rest.len(),
                        }
                        .min(rest.len());
                        if let Some(node) = self.nodes.get_mut(&peer) {
                            node.handle_input(now, Input::Received { conn: pconn, bytes: &rest[..n] });
                        }
                        rest = &rest[n..];
                    }
                }
            }
            Output::Close { conn } => {
                if let Some((peer, pconn)) = self.links.remove(&(port, conn)) {
                    self.links.remove(&(peer, pconn));
                    if let Some(n) = self.nodes.get_mut(&peer) {
                        n.handle_input(now, Input::Closed { conn: pconn });
                    }
                }
            }
            Output::Connect { conn, port: target, .. } => {
                if self.down.contains(&target) || !self.nodes.contains_key(&target) {
                    if let Some(n) = self.nodes.get_mut(&port) {
                        n.handle_input(now, Input::ConnectFailed { conn, reason: "Connection refused".into() });
                    }
                    return;
                }
                let Some(t) = self.nodes.get_mut(&target) else { return };
                let tconn = t.accept(now, &format!("127.0.0.1:{}", 30000 + port), &format!("127.0.0.1:{target}"));
                self.links.insert((port, conn), (target, tconn));
                self.links.insert((target, tconn), (port, conn));
                if let Some(n) = self.nodes.get_mut(&port) {
                    n.handle_input(now, Input::Connected { conn });
                }
            }
            Output::Log { line, .. } => self.logs.push((port, line)),
            Output::SaveRdb { bytes } => {
                self.disks.insert(port, bytes);
            }
            _ => {}
        }
    }

    /// Breaks every connection between `a` and `b` (both sides see a close).
    pub fn cut(&mut self, a: u16, b: u16) {
        let pairs: Vec<(End, End)> = self
            .links
            .iter()
            .filter(|((p, _), (q, _))| (*p == a && *q == b) || (*p == b && *q == a))
            .map(|(x, y)| (*x, *y))
            .collect();
        let now = self.now;
        for (x, y) in pairs {
            self.links.remove(&x);
            self.links.remove(&y);
            if let Some(n) = self.nodes.get_mut(&x.0) {
                n.handle_input(now, Input::Closed { conn: x.1 });
            }
        }
        self.pump();
    }

    /// Advances time, firing timers in order.
    pub fn advance(&mut self, ms: u64) {
        let target = self.now.saturating_add(ms);
        loop {
            let next = self.nodes.values().filter_map(|n| n.poll_timeout()).min();
            match next {
                Some(t) if t <= target => {
                    self.now = self.now.max(t);
                    let now = self.now;
                    for n in self.nodes.values_mut() {
                        if n.poll_timeout().is_some_and(|x| x <= now) {
                            n.handle_timeout(now);
                        }
                    }
                    self.pump();
                }
                _ => break,
            }
        }
        self.now = target;
        self.pump();
    }

    /// The conn id node `port` uses for its (first) link to another node.
    pub fn master_link_conn(&self, port: u16) -> Option<ConnId> {
        self.links.keys().find(|(p, _)| *p == port).map(|(_, c)| *c)
    }

    pub fn logged(&self, port: u16, needle: &str) -> bool {
        self.logs.iter().any(|(p, l)| *p == port && l.contains(needle))
    }
}

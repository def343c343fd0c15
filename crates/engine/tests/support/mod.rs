//! A tiny in-memory driver for one node: clients, byte I/O and a virtual clock.

#![allow(dead_code)]

pub mod cluster;

use replscope_engine::resp::encode_command;
use replscope_engine::{Config, ConnId, Input, Millis, Node, Output};

pub struct Harness {
    pub node: Node,
    pub now: Millis,
    /// Outputs not yet claimed by a test, in order.
    pub outputs: Vec<Output>,
}

impl Harness {
    pub fn new(args: &[&str]) -> Harness {
        let now = Millis(1_700_000_000_000);
        let config = Config::from_args(args).expect("valid test config");
        let mut h = Harness { node: Node::new(config, 7, now), now, outputs: Vec::new() };
        // A driver runs the node's first cron right away, as redis-server does at start.
        h.advance(0);
        h.outputs.clear();
        h
    }

    pub fn connect(&mut self) -> ConnId {
        self.node.accept(self.now, "127.0.0.1:50000", "127.0.0.1:6379")
    }

    pub fn connect_from(&mut self, peer: &str) -> ConnId {
        self.node.accept(self.now, peer, "127.0.0.1:6379")
    }

    /// One INFO field's value (from INFO everything).
    pub fn info_field(&mut self, conn: ConnId, field: &str) -> String {
        let info = self.cmd(conn, &["INFO"]);
        let prefix = format!("{field}:");
        info.split("\r\n")
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no {field} in INFO"))
            .to_string()
    }

    pub fn drain(&mut self) {
        while let Some(o) = self.node.poll_output() {
            self.outputs.push(o);
        }
    }

    pub fn send_raw(&mut self, conn: ConnId, bytes: &[u8]) {
        self.node.handle_input(self.now, Input::Received { conn, bytes });
        self.drain();
    }

    /// Bytes sent to `conn` since the last call.
    pub fn take_sent(&mut self, conn: ConnId) -> Vec<u8> {
        let mut got = Vec::new();
        self.outputs.retain(|o| match o {
            Output::Send { conn: c, bytes } if *c == conn => {
                got.extend_from_slice(bytes);
                false
            }
            _ => true,
        });
        got
    }

    pub fn closed(&self, conn: ConnId) -> bool {
        self.outputs.iter().any(|o| matches!(o, Output::Close { conn: c } if *c == conn))
    }

    /// Sends one command and returns the reply bytes as text.
    pub fn cmd(&mut self, conn: ConnId, args: &[&str]) -> String {
        self.send_raw(conn, &encode_command(args));
        String::from_utf8_lossy(&self.take_sent(conn)).into_owned()
    }

    /// Moves the clock forward, firing every timer that falls due on the way.
    pub fn advance(&mut self, ms: u64) {
        let target = self.now.saturating_add(ms);
        while let Some(t) = self.node.poll_timeout() {
            if t > target {
                break;
            }
            self.now = self.now.max(t);
            self.node.handle_timeout(self.now);
            self.drain();
        }
        self.now = target;
        self.node.handle_timeout(self.now);
        self.drain();
    }
}

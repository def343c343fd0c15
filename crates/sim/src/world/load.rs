//! Write loads: a client sending a seeded mix of writes at a fixed rate.

use super::names::NodeIx;
use super::queue::Ev;
use super::{ClientId, World};

/// A write load: `per_second` commands of a mix, on its own client.
#[derive(Clone, Debug)]
pub(super) struct Load {
    client: ClientId,
    node: NodeIx,
    interval_ms: u64,
    keys: u64,
    /// Size of SET values (0: short values).
    value_bytes: usize,
    sent: u64,
    active: bool,
}

impl World {
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
        let node = self.names.intern(node);
        self.loads.insert(id, Load { client, node, interval_ms, keys: keys.max(1), value_bytes, sent: 0, active: true });
        let at = self.now;
        self.push(at, Ev::LoadTick { load: id });
        id
    }

    pub fn stop_load(&mut self, id: u64) {
        if let Some(l) = self.loads.get_mut(&id) {
            l.active = false;
        }
    }

    /// One write of a load: a seeded mix of the write commands the engine implements.
    pub(super) fn load_tick(&mut self, id: u64) {
        let Some(l) = self.loads.get(&id) else { return };
        if !l.active {
            return;
        }
        let (node, mut client, interval_ms, sent) = (l.node, l.client, l.interval_ms, l.sent);
        let r = self.rng.next_u64();
        let key = (r >> 8) % l.keys;
        let line = match r % 8 {
            0..=2 if l.value_bytes > 0 => format!("SET key:{key} {}", "v".repeat(l.value_bytes)),
            0..=2 => format!("SET key:{key} v{sent}"),
            3 => format!("INCR counter:{}", key % 16),
            4 => format!("LPUSH list:{} x{sent}", key % 8),
            5 => format!("HSET hash:{} f{key} {sent}", key % 8),
            6 => format!("SADD set:{} m{key}", key % 8),
            _ => format!("EXPIRE key:{key} 60"),
        };
        // A load on a node that is down just pauses; after a restart it reconnects.
        if self.sim_node(node).and_then(|n| n.node.as_ref()).is_some_and(|n| !n.is_stopped()) {
            let open = self.clients.get(&client).and_then(|c| self.conns.get(&c.conn)).is_some_and(|c| c.open);
            if !open {
                let name = self.name(node);
                client = self.client(&name);
            }
            if let Some(l) = self.loads.get_mut(&id) {
                l.client = client;
            }
            self.command(client, &line);
            self.discard_replies(client);
        }
        if let Some(l) = self.loads.get_mut(&id) {
            l.sent += 1;
        }
        let at = self.now.saturating_add(interval_ms);
        self.push(at, Ev::LoadTick { load: id });
    }
}

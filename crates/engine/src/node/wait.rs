//! WAIT and min-replicas-to-write (replication.c `waitCommand`,
//! `processClientsWaitingReplicas`, `refreshGoodSlavesCount`).

use super::Node;
use crate::client::ReplicaState;
use crate::resp::{string2ll, Frame};
use crate::time::Millis;

/// A client blocked in WAIT.
#[derive(Clone, Debug)]
pub struct Waiter {
    pub client: u64,
    /// The offset its writes reached (`woff`).
    pub offset: i64,
    pub replicas: i64,
    /// None: wait forever (timeout 0).
    pub deadline: Option<Millis>,
}

impl Node {
    /// WAIT numreplicas timeout. `None`: the client is now blocked.
    pub(super) fn wait_command(&mut self, now: Millis, id: u64, a: &[Vec<u8>], in_exec: bool) -> Option<Frame> {
        if self.link.is_some() {
            return Some(Frame::err(
                "ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.",
            ));
        }
        let Some(timeout) = string2ll(&a[2]) else {
            return Some(Frame::err("ERR timeout is not an integer or out of range"));
        };
        if timeout < 0 {
            return Some(Frame::err("ERR timeout is negative"));
        }
        let Some(replicas) = string2ll(&a[1]) else { return Some(crate::commands::not_integer()) };
        let woff = self.clients.get(&id).map(|c| c.woff).unwrap_or(0);
        let acked = self.acked_replicas(woff);
        if in_exec || acked >= replicas {
            return Some(Frame::Integer(acked));
        }
        let deadline = (timeout > 0).then(|| now.saturating_add(timeout as u64));
        self.waiters.push(Waiter { client: id, offset: woff, replicas, deadline });
        if let Some(c) = self.clients.get_mut(&id) {
            c.blocked = true;
        }
        // One GETACK per event-loop pass, however many clients wait.
        self.get_ack_pending = true;
        None
    }

    /// Replicas online whose acknowledged offset reached `offset`.
    pub(super) fn acked_replicas(&self, offset: i64) -> i64 {
        self.server
            .replica_order
            .iter()
            .filter_map(|id| self.clients.get(id)?.replica.as_ref())
            .filter(|l| l.state == ReplicaState::Online && l.ack_offset >= offset)
            .count() as i64
    }

    /// `beforeSleep`: the GETACK for new waiters, then answer waiters that are satisfied
    /// (or, when `now` is a cron tick, timed out).
    pub(super) fn serve_waiters(&mut self, now: Millis, cron: bool) {
        if self.get_ack_pending {
            self.get_ack_pending = false;
            self.server.repl.feed_raw_command(&[b"REPLCONF".to_vec(), b"GETACK".to_vec(), b"*".to_vec()]);
            self.distribute_stream();
        }
        let mut woken = Vec::new();
        let waiters = std::mem::take(&mut self.waiters);
        for w in waiters {
            let acked = self.acked_replicas(w.offset);
            let timed_out = cron && w.deadline.is_some_and(|d| d <= now);
            if acked >= w.replicas || timed_out {
                woken.push((w.client, acked));
            } else {
                self.waiters.push(w);
            }
        }
        for (id, acked) in woken {
            if let Some(c) = self.clients.get_mut(&id) {
                c.blocked = false;
                Frame::Integer(acked).encode_into(&mut c.out);
            }
            // Commands it pipelined behind WAIT run now.
            self.process_client(now, id);
        }
    }

    /// `refreshGoodSlavesCount`: online replicas that acked within min-replicas-max-lag.
    pub(super) fn refresh_good_replicas(&mut self, now: Millis) {
        let max_lag = self.server.config.int("min-replicas-max-lag").max(0) as u64;
        let good = self
            .server
            .replica_order
            .iter()
            .filter_map(|id| self.clients.get(id)?.replica.as_ref())
            .filter(|l| l.state == ReplicaState::Online)
            .filter(|l| now.unix_seconds().saturating_sub(l.ack_time.unix_seconds()) <= max_lag)
            .count();
        self.server.good_replicas = good;
    }

    /// NOREPLICAS: a master with too few good replicas refuses writes.
    pub(super) fn too_few_replicas(&self) -> bool {
        let hot = self.server.config.hot();
        let min = hot.min_replicas_to_write;
        self.link.is_none()
            && min > 0
            && hot.min_replicas_max_lag > 0
            && (self.server.good_replicas as i64) < min
    }

    /// A client went away while blocked.
    pub(super) fn forget_waiter(&mut self, id: u64) {
        self.waiters.retain(|w| w.client != id);
    }
}

//! FAILOVER (replication.c `failoverCommand`, `updateFailoverStatus`, `abortFailover`): a
//! coordinated switch where the master pauses writes, waits for a replica to catch up, then
//! becomes that replica's replica with `PSYNC <replid> <offset> FAILOVER`.

use super::{LogLevel, Node};
use crate::client::ReplicaState;
use crate::commands::{eq_ic, syntax_error};
use crate::resp::{string2ll, Frame};
use crate::time::Millis;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum FailoverState {
    #[default]
    None,
    WaitForSync,
    InProgress,
}

impl FailoverState {
    pub fn info_name(self) -> &'static str {
        match self {
            FailoverState::None => "no-failover",
            FailoverState::WaitForSync => "waiting-for-sync",
            FailoverState::InProgress => "failover-in-progress",
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Failover {
    pub state: FailoverState,
    pub target: Option<(String, u16)>,
    pub end_time: Option<Millis>,
    pub force: bool,
}

impl Node {
    pub(super) fn failover_command(&mut self, now: Millis, a: &[Vec<u8>]) -> Frame {
        if a.len() == 2 && eq_ic(&a[1], "abort") {
            if self.failover.state == FailoverState::None {
                return Frame::err("ERR No failover in progress.");
            }
            self.abort_failover(now, "Failover manually aborted");
            return Frame::ok();
        }
        let (mut timeout, mut force, mut target): (i64, bool, Option<(String, i64)>) = (0, false, None);
        let mut j = 1;
        while j < a.len() {
            if eq_ic(&a[j], "timeout") && j + 1 < a.len() && timeout == 0 {
                let Some(t) = string2ll(&a[j + 1]) else { return crate::commands::not_integer() };
                if t <= 0 {
                    return Frame::err("ERR FAILOVER timeout must be greater than 0");
                }
                timeout = t;
                j += 2;
            } else if eq_ic(&a[j], "to") && j + 2 < a.len() && target.is_none() {
                let Some(p) = string2ll(&a[j + 2]) else { return crate::commands::not_integer() };
                target = Some((String::from_utf8_lossy(&a[j + 1]).into_owned(), p));
                j += 3;
            } else if eq_ic(&a[j], "force") && !force {
                force = true;
                j += 1;
            } else {
                return syntax_error();
            }
        }
        if self.failover.state != FailoverState::None {
            return Frame::err("ERR FAILOVER already in progress.");
        }
        if self.link.is_some() {
            return Frame::err("ERR FAILOVER is not valid when server is a replica.");
        }
        if self.server.replica_order.is_empty() {
            return Frame::err("ERR FAILOVER requires connected replicas.");
        }
        if force && (timeout == 0 || target.is_none()) {
            return Frame::err("ERR FAILOVER with force option requires both a timeout and target HOST and IP.");
        }
        let target = match target {
            Some((host, port)) => {
                let Some(id) = self.find_replica(&host, port) else {
                    return Frame::err("ERR FAILOVER target HOST and PORT is not a replica.");
                };
                let online = self.clients.get(&id).and_then(|c| c.replica.as_ref()).is_some_and(|l| l.state == ReplicaState::Online);
                if !online {
                    return Frame::err("ERR FAILOVER target replica is not online.");
                }
                self.log(LogLevel::Notice, format!("FAILOVER requested to {host}:{port}."));
                Some((host, port as u16))
            }
            None => {
                self.log(LogLevel::Notice, "FAILOVER requested to any replica.");
                None
            }
        };
        self.failover = Failover {
            state: FailoverState::WaitForSync,
            target,
            end_time: (timeout > 0).then(|| now.saturating_add(timeout as u64)),
            force,
        };
        Frame::ok()
    }

    fn find_replica(&self, host: &str, port: i64) -> Option<u64> {
        self.server.replica_order.iter().copied().find(|id| {
            self.clients.get(id).is_some_and(|c| c.replica_ip() == host && c.repl_conf.listening_port == port)
        })
    }

    /// `updateFailoverStatus`, at every cron tick while waiting for a replica to catch up.
    pub(super) fn update_failover(&mut self, now: Millis) {
        if self.failover.state != FailoverState::WaitForSync {
            return;
        }
        if self.failover.end_time.is_some_and(|t| t <= now) {
            if self.failover.force {
                if let Some((host, port)) = self.failover.target.clone() {
                    self.log(LogLevel::Notice, format!("FAILOVER to {host}:{port} time out exceeded, failing over."));
                    self.failover.state = FailoverState::InProgress;
                    self.set_master(now, host, port);
                }
            } else {
                self.abort_failover(now, "Replica never caught up before timeout");
            }
            return;
        }
        let offset = self.server.repl.offset;
        let caught_up = |node: &Node, id: u64| {
            node.clients.get(&id).and_then(|c| c.replica.as_ref()).is_some_and(|l| l.ack_offset == offset)
        };
        let found = match self.failover.target.clone() {
            Some((host, port)) => self.find_replica(&host, port as i64).filter(|id| caught_up(self, *id)),
            None => self.server.replica_order.iter().copied().find(|id| caught_up(self, *id)),
        };
        let Some(id) = found else { return };
        let Some(c) = self.clients.get(&id) else { return };
        let (host, port) = (c.replica_ip(), c.repl_conf.listening_port as u16);
        self.failover.target = Some((host.clone(), port));
        self.failover.state = FailoverState::InProgress;
        self.log(LogLevel::Notice, format!("Failover target {host}:{port} is synced, failing over."));
        self.set_master(now, host, port);
    }

    /// `abortFailover`: back to a plain master (with a new replid if we had switched).
    pub(super) fn abort_failover(&mut self, now: Millis, why: &str) {
        match &self.failover.target {
            Some((h, p)) => self.log(LogLevel::Notice, format!("FAILOVER to {h}:{p} aborted: {why}")),
            None => self.log(LogLevel::Notice, format!("FAILOVER to any replica aborted: {why}")),
        }
        if self.failover.state == FailoverState::InProgress {
            self.unset_master(now);
        }
        self.clear_failover(now);
    }

    /// `clearFailoverState`: writes flow again.
    pub(super) fn clear_failover(&mut self, now: Millis) {
        self.failover = Failover::default();
        let paused: Vec<u64> = self.clients.iter().filter(|(_, c)| c.deferred.is_some()).map(|(id, _)| *id).collect();
        for id in paused {
            self.resume_deferred(now, id);
        }
    }

    /// Clients' writes wait while a failover runs (`PAUSE_WRITE`).
    pub(super) fn writes_paused(&self) -> bool {
        self.failover.state != FailoverState::None
    }

    /// The target side: `PSYNC <my replid> <offset> FAILOVER` makes this replica a master first.
    pub(super) fn psync_failover_request(&mut self, now: Millis, id: u64, a: &[Vec<u8>]) -> Option<Frame> {
        if self.link.is_none() {
            return Some(Frame::err("ERR PSYNC FAILOVER can't be sent to a master."));
        }
        if !a[1].eq_ignore_ascii_case(self.server.repl.replid.as_bytes()) {
            return Some(Frame::err("ERR PSYNC FAILOVER replid must match my replid."));
        }
        self.unset_master(now);
        let who = self.clients.get(&id).map(|c| c.list_line(now)).unwrap_or_default();
        self.log(LogLevel::Notice, format!("MASTER MODE enabled (failover request from '{who}')"));
        None
    }
}

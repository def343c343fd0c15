//! A read-only snapshot of a node's replication state for drivers, the simulator and the UI,
//! so they never reach into engine internals.

use super::{replica::LinkState, Node};
use crate::client::ReplicaState;
use crate::time::Millis;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    Master,
    Replica(ReplicaView),
}

/// The replica side: where the link to the master stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicaView {
    pub master_host: String,
    pub master_port: u16,
    /// ROLE's state word: connect, connecting, handshake, sync, connected.
    pub link_state: &'static str,
    pub link_up: bool,
    /// `slave_repl_offset` (-1 with no master client and nothing cached).
    pub applied_offset: i64,
    pub loading: bool,
    /// Full-sync payload progress: (bytes read, total or -1).
    pub transfer: Option<(i64, i64)>,
}

/// One attached replica as its master sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachedReplica {
    pub conn: u64,
    pub ip: String,
    pub port: i64,
    /// wait_bgsave / online.
    pub state: &'static str,
    pub ack_offset: i64,
    pub lag_seconds: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BacklogView {
    pub size: usize,
    pub first_byte_offset: i64,
    pub histlen: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeStatus {
    pub role: Role,
    pub replid: String,
    pub replid2: String,
    pub master_repl_offset: i64,
    pub second_repl_offset: i64,
    pub backlog: Option<BacklogView>,
    pub replicas: Vec<AttachedReplica>,
    pub failover_state: &'static str,
    pub connected_clients: usize,
    /// Keys per database (index = db number).
    pub keys: Vec<usize>,
    pub sync_full: u64,
    pub sync_partial_ok: u64,
    pub sync_partial_err: u64,
    pub stopped: bool,
}

impl Node {
    /// What a role change is made of, borrowed so a driver can compare it after every event
    /// without building a [`NodeStatus`]: the master's host (None on a master), the link
    /// state word (empty on a master) and the replication ID.
    pub fn role_key(&self) -> (Option<&str>, &'static str, &str) {
        let replid = self.server.repl.replid.as_str();
        match &self.link {
            None => (None, "", replid),
            Some(l) => (Some(l.host.as_str()), l.state.role_name(), replid),
        }
    }

    /// Everything a view of the replication needs, read in one go.
    pub fn status(&self, now: Millis) -> NodeStatus {
        let r = &self.server.repl;
        let role = match &self.link {
            None => Role::Master,
            Some(l) => {
                let applied = if l.master_client.is_some() {
                    l.reploff
                } else {
                    l.cached.as_ref().map(|c| c.reploff).unwrap_or(-1)
                };
                Role::Replica(ReplicaView {
                    master_host: l.host.clone(),
                    master_port: l.port,
                    link_state: l.state.role_name(),
                    link_up: l.state == LinkState::Connected,
                    applied_offset: applied,
                    loading: l.loading_until.is_some(),
                    transfer: l.transfer.as_ref().map(|t| (t.data.len() as i64, t.size)),
                })
            }
        };
        let replicas = self
            .server
            .replica_order
            .iter()
            .filter_map(|id| {
                let c = self.clients.get(id)?;
                let l = c.replica.as_ref()?;
                Some(AttachedReplica {
                    conn: *id,
                    ip: c.replica_ip(),
                    port: c.repl_conf.listening_port,
                    state: l.state.info_name(),
                    ack_offset: l.ack_offset,
                    lag_seconds: if l.state == ReplicaState::Online {
                        now.unix_seconds().saturating_sub(l.ack_time.unix_seconds())
                    } else {
                        0
                    },
                })
            })
            .collect();
        NodeStatus {
            role,
            replid: r.replid.clone(),
            replid2: r.replid2.clone(),
            master_repl_offset: r.offset,
            second_repl_offset: r.second_offset,
            backlog: r.backlog.as_ref().map(|b| BacklogView {
                size: b.size(),
                first_byte_offset: b.first_byte_offset(),
                histlen: b.histlen(),
            }),
            replicas,
            failover_state: self.failover.state.info_name(),
            connected_clients: self.server.connected_clients,
            keys: self.server.dbs.iter().map(|d| d.len()).collect(),
            sync_full: self.server.stats.sync_full,
            sync_partial_ok: self.server.stats.sync_partial_ok,
            sync_partial_err: self.server.stats.sync_partial_err,
            stopped: self.stopped,
        }
    }
}

//! The master side of replication (replication.c): REPLCONF, SYNC/PSYNC, full resync through
//! a snapshot while the stream is buffered, partial resync from the backlog, the 1 Hz
//! replication cron (pings, `\n` keepalives, timeouts, backlog TTL, delayed diskless syncs).

use super::{LogLevel, Node};
use crate::client::{ReplicaLink, ReplicaState};
use crate::commands::{eq_ic, int_arg, syntax_error};
use crate::rdb;
use crate::resp::{string2ll, Frame};
use crate::stream::ZERO_ID;
use crate::time::Millis;

/// A snapshot being produced for replicas (Redis's RDB child).
#[derive(Clone, Debug)]
pub struct Bgsave {
    /// Diskless: streamed to the replicas' sockets rather than written to disk.
    pub to_socket: bool,
    pub rdb: Vec<u8>,
    /// When the "child" is done (its end is noticed by the next cron tick).
    pub ends_at: Millis,
}

const OUTPUT_HARD_LIMIT: usize = 256 * 1024 * 1024;
const OUTPUT_SOFT_LIMIT: usize = 64 * 1024 * 1024;
const OUTPUT_SOFT_SECONDS: u64 = 60;

/// How fast the simulated child writes a snapshot, in bytes per millisecond.
const SNAPSHOT_BYTES_PER_MS: usize = 200_000;

impl Node {
    /// REPLCONF: what a replica announces, its ACKs, and GETACK.
    pub(super) fn replconf(&mut self, now: Millis, id: u64, a: &[Vec<u8>]) -> Option<Frame> {
        if a.len() % 2 == 0 {
            return Some(syntax_error());
        }
        let mut conf = self.clients.get(&id)?.repl_conf.clone();
        for pair in a[1..].chunks(2) {
            let (opt, value) = (&pair[0], &pair[1]);
            if eq_ic(opt, "listening-port") {
                match int_arg(value) {
                    Ok(p) => conf.listening_port = p,
                    Err(e) => return Some(e),
                }
            } else if eq_ic(opt, "ip-address") {
                if value.len() > 46 {
                    return Some(Frame::err(format!(
                        "ERR REPLCONF ip-address provided by replica instance is too long: {} bytes",
                        value.len()
                    )));
                }
                conf.announced_ip = Some(String::from_utf8_lossy(value).into_owned());
            } else if eq_ic(opt, "capa") {
                // Unknown capabilities are ignored for forward compatibility.
                if eq_ic(value, "eof") {
                    conf.capa_eof = true;
                } else if eq_ic(value, "psync2") {
                    conf.capa_psync2 = true;
                }
            } else if eq_ic(opt, "ack") {
                self.replica_ack(now, id, value);
                return None;
            } else if eq_ic(opt, "getack") {
                // Only a replica answers GETACK, to its master; a master stays silent.
                return None;
            } else if eq_ic(opt, "rdb-only") || eq_ic(opt, "rdb-filter-only") {
                // Accepted for redis-cli --rdb / --replica; the snapshot is the same.
            } else {
                return Some(Frame::err(format!(
                    "ERR Unrecognized REPLCONF option: {}",
                    String::from_utf8_lossy(opt)
                )));
            }
        }
        self.clients.get_mut(&id)?.repl_conf = conf;
        Some(Frame::ok())
    }

    fn replica_ack(&mut self, now: Millis, id: u64, value: &[u8]) {
        let Some(offset) = string2ll(value) else { return };
        // An ACK can beat the cron to noticing that a diskless transfer ended: check now.
        let waiting = self.clients.get(&id).and_then(|c| c.replica.as_ref()).is_some_and(|l| l.state == ReplicaState::WaitBgsaveEnd);
        if waiting && self.server.bgsave.as_ref().is_some_and(|b| b.to_socket) {
            if let Some(b) = self.server.bgsave.as_mut() {
                b.ends_at = b.ends_at.min(now);
            }
            self.check_bgsave_done(now);
        }
        let Some(link) = self.clients.get_mut(&id).and_then(|c| c.replica.as_mut()) else { return };
        link.ack_offset = link.ack_offset.max(offset);
        link.ack_time = now;
        if link.stream_on_ack && link.state == ReplicaState::Online {
            // Diskless: the first ACK says the replica loaded the payload; start the stream.
            link.stream_on_ack = false;
            let pending = std::mem::take(&mut link.pending);
            if let Some(c) = self.clients.get_mut(&id) {
                c.out.extend_from_slice(&pending);
            }
        }
    }

    /// SYNC and PSYNC (`syncCommand`). The reply goes straight into the client's buffer.
    pub(super) fn sync_command(&mut self, now: Millis, id: u64, a: &[Vec<u8>], psync: bool) -> Option<Frame> {
        let client = self.clients.get(&id)?;
        if client.replica.is_some() {
            return None;
        }
        if !client.out.is_empty() {
            return Some(Frame::err("ERR SYNC and PSYNC are invalid with pending output"));
        }
        let name = client.replica_name();
        self.log(LogLevel::Notice, format!("Replica {name} asks for synchronization"));
        if psync {
            let Some(psync_offset) = string2ll(&a[2]) else {
                self.log(LogLevel::Warning, format!("Replica {name} asks for synchronization but with a wrong offset"));
                return Some(crate::commands::not_integer());
            };
            match self.try_partial_resync(now, id, &a[1], psync_offset) {
                Partial::Accepted => return None,
                Partial::Refused { counts_as_error } => {
                    if counts_as_error {
                        self.server.stats.sync_partial_err += 1;
                    }
                }
            }
        }
        self.server.stats.sync_full += 1;
        let conf = self.clients.get(&id)?.repl_conf.clone();
        let link = ReplicaLink {
            state: ReplicaState::WaitBgsaveStart,
            initial_offset: 0,
            ack_offset: 0,
            ack_time: now,
            pending: Vec::new(),
            stream_on_ack: false,
            pre_psync: !psync,
            waiting_since: now,
            soft_limit_since: None,
        };
        self.clients.get_mut(&id)?.replica = Some(link);
        self.server.replica_order.push(id);
        if self.server.replica_order.len() == 1 && self.server.repl.backlog.is_none() {
            // The first replica ever: a new history starts, so a new replication ID.
            let new_id = self.server.rng.hex40();
            self.server.repl.replid = new_id;
            self.server.repl.replid2 = ZERO_ID.to_string();
            self.server.repl.second_offset = -1;
            let size = self.server.config.int("repl-backlog-size").max(0) as usize;
            self.server.repl.create_backlog(size);
            let line = format!(
                "Replication backlog created, my new replication IDs are '{}' and '{}'",
                self.server.repl.replid, ZERO_ID
            );
            self.log(LogLevel::Notice, line);
        }
        let diskless = self.server.config.bool("repl-diskless-sync") && conf.capa_eof && psync;
        match &self.server.bgsave {
            Some(b) if !b.to_socket => {
                // A disk snapshot is running: share it if another replica waits on it.
                let donor = self.server.replica_order.iter().copied().find(|rid| {
                    *rid != id
                        && self.clients.get(rid).and_then(|c| c.replica.as_ref()).is_some_and(|l| {
                            l.state == ReplicaState::WaitBgsaveEnd
                        })
                });
                if let Some(donor) = donor {
                    let (pending, initial) = {
                        let l = self.clients.get(&donor)?.replica.as_ref()?;
                        (l.pending.clone(), l.initial_offset)
                    };
                    self.log(LogLevel::Notice, "Waiting for end of BGSAVE for SYNC");
                    self.setup_full_resync(id, initial);
                    if let Some(l) = self.clients.get_mut(&id).and_then(|c| c.replica.as_mut()) {
                        l.pending = pending;
                    }
                } else {
                    self.log(LogLevel::Notice, "Can't attach the replica to the current BGSAVE. Waiting for next BGSAVE for SYNC");
                }
            }
            Some(_) => {
                self.log(LogLevel::Notice, "Current BGSAVE has socket target. Waiting for next BGSAVE for SYNC");
            }
            None if diskless && self.server.config.int("repl-diskless-sync-delay") > 0 => {
                self.log(LogLevel::Notice, "Delay next BGSAVE for diskless SYNC");
            }
            None => self.start_bgsave(now),
        }
        None
    }

    /// `masterTryPartialResynchronization`.
    fn try_partial_resync(&mut self, now: Millis, id: u64, replid: &[u8], psync_offset: i64) -> Partial {
        let name = self.clients.get(&id).map(|c| c.replica_name()).unwrap_or_default();
        let r = &self.server.repl;
        let asked = String::from_utf8_lossy(replid).to_string();
        let by_id = asked.eq_ignore_ascii_case(&r.replid);
        let by_id2 = asked.eq_ignore_ascii_case(&r.replid2) && psync_offset <= r.second_offset;
        if !by_id && !by_id2 {
            // An id starting with '?' asks for a full resync on purpose: not an error.
            let forced = asked.starts_with('?');
            let line = if forced {
                format!("Full resync requested by replica {name}")
            } else if asked.eq_ignore_ascii_case(&r.replid2) {
                format!(
                    "Partial resynchronization not accepted: Requested offset for second ID was {psync_offset}, but I can reply up to {}",
                    r.second_offset
                )
            } else {
                format!(
                    "Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '{asked}', my replication IDs are '{}' and '{}')",
                    r.replid, r.replid2
                )
            };
            self.log(LogLevel::Notice, line);
            return Partial::Refused { counts_as_error: !forced };
        }
        let master_offset = r.offset;
        let Some(bytes) = r.backlog.as_ref().and_then(|b| b.from_offset(psync_offset)) else {
            self.log(
                LogLevel::Notice,
                format!("Unable to partial resync with replica {name} for lack of backlog (Replica request was: {psync_offset})."),
            );
            if psync_offset > master_offset {
                self.log(
                    LogLevel::Warning,
                    format!("Warning: replica {name} tried to PSYNC with an offset that is greater than the master replication offset."),
                );
            }
            return Partial::Refused { counts_as_error: true };
        };
        let replid_now = r.replid.clone();
        let Some(c) = self.clients.get_mut(&id) else { return Partial::Refused { counts_as_error: false } };
        let head = if c.repl_conf.capa_psync2 { format!("+CONTINUE {replid_now}\r\n") } else { "+CONTINUE\r\n".into() };
        c.out.extend_from_slice(head.as_bytes());
        c.out.extend_from_slice(&bytes);
        c.replica = Some(ReplicaLink {
            state: ReplicaState::Online,
            initial_offset: psync_offset - 1,
            ack_offset: 0,
            ack_time: now,
            pending: Vec::new(),
            stream_on_ack: false,
            pre_psync: false,
            waiting_since: now,
            soft_limit_since: None,
        });
        self.server.replica_order.push(id);
        self.server.stats.sync_partial_ok += 1;
        self.refresh_good_replicas(now);
        self.log(
            LogLevel::Notice,
            format!(
                "Partial resynchronization request from {name} accepted. Sending {} bytes of backlog starting from offset {psync_offset}.",
                bytes.len()
            ),
        );
        Partial::Accepted
    }

    /// `replicationSetupSlaveForFullResync`: +FULLRESYNC and the buffer starts accumulating.
    fn setup_full_resync(&mut self, id: u64, offset: i64) {
        let replid = self.server.repl.replid.clone();
        let Some(c) = self.clients.get_mut(&id) else { return };
        let Some(link) = c.replica.as_mut() else { return };
        link.state = ReplicaState::WaitBgsaveEnd;
        link.initial_offset = offset;
        link.pending.clear();
        if !link.pre_psync {
            c.out.extend_from_slice(format!("+FULLRESYNC {replid} {offset}\r\n").as_bytes());
        }
        // The next write carries a SELECT, whichever DB it is in.
        self.server.repl.seldb = -1;
    }

    /// `startBgsaveForReplication`: the snapshot point. Every replica waiting to start gets
    /// +FULLRESYNC with the current offset; writes from now on are buffered for them.
    pub(super) fn start_bgsave(&mut self, now: Millis) {
        self.distribute_stream();
        let waiting: Vec<u64> = self.replicas_in(ReplicaState::WaitBgsaveStart);
        if waiting.is_empty() {
            return;
        }
        let all_eof = waiting.iter().all(|id| {
            self.clients.get(id).is_some_and(|c| c.repl_conf.capa_eof && c.replica.as_ref().is_some_and(|l| !l.pre_psync))
        });
        let to_socket = self.server.config.bool("repl-diskless-sync") && all_eof;
        let r = &self.server.repl;
        let header = rdb::Header {
            unix_seconds: now.unix_seconds(),
            used_mem: 0,
            repl: Some(rdb::ReplInfo {
                stream_db: r.seldb.max(0),
                replid: r.replid.clone(),
                offset: r.offset,
            }),
        };
        let snapshot = rdb::dump(&self.server.dbs, &header);
        let offset = r.offset;
        self.log(
            LogLevel::Notice,
            format!("Starting BGSAVE for SYNC with target: {}", if to_socket { "replicas sockets" } else { "disk" }),
        );
        let mark = if to_socket { Some(self.server.rng.hex40()) } else { None };
        for id in waiting {
            self.setup_full_resync(id, offset);
            if let (Some(mark), Some(c)) = (&mark, self.clients.get_mut(&id)) {
                c.out.extend_from_slice(format!("$EOF:{mark}\r\n").as_bytes());
                c.out.extend_from_slice(&snapshot);
                c.out.extend_from_slice(mark.as_bytes());
            }
        }
        let took = (snapshot.len() / SNAPSHOT_BYTES_PER_MS) as u64 + 1;
        self.server.bgsave = Some(Bgsave { to_socket, rdb: snapshot, ends_at: now.saturating_add(took) });
    }

    /// Checked at every cron tick: the snapshot child finished.
    pub(super) fn check_bgsave_done(&mut self, now: Millis) {
        let Some(b) = &self.server.bgsave else { return };
        if b.ends_at > now {
            return;
        }
        let Some(b) = self.server.bgsave.take() else { return };
        self.distribute_stream();
        for id in self.replicas_in(ReplicaState::WaitBgsaveEnd) {
            let Some(c) = self.clients.get_mut(&id) else { continue };
            let name = c.replica_name();
            let Some(link) = c.replica.as_mut() else { continue };
            if b.to_socket {
                link.state = ReplicaState::Online;
                link.stream_on_ack = true;
                link.ack_time = now;
                self.log(
                    LogLevel::Notice,
                    format!("Streamed RDB transfer with replica {name} succeeded (socket). Waiting for REPLCONF ACK from slave to enable streaming"),
                );
            } else {
                // Disk: `$<len>` then the file, with no CRLF after it; then the buffered stream.
                link.state = ReplicaState::Online;
                link.ack_time = now;
                let pending = std::mem::take(&mut link.pending);
                c.out.extend_from_slice(format!("${}\r\n", b.rdb.len()).as_bytes());
                c.out.extend_from_slice(&b.rdb);
                c.out.extend_from_slice(&pending);
                self.log(LogLevel::Notice, format!("Synchronization with replica {name} succeeded"));
            }
        }
        self.refresh_good_replicas(now);
        if !self.server.config.bool("repl-diskless-sync") {
            self.start_bgsave(now);
        }
    }

    /// The 1 Hz part of `replicationCron` that concerns a master.
    pub(super) fn replication_cron_master(&mut self, now: Millis) {
        let loops = self.server.repl_cron_loops;
        let period = self.server.config.int("repl-ping-replica-period").max(1) as u64;
        let is_replica = self.link.is_some();
        // A replica never pings its sub-replicas: it forwards its master's pings. A FAILOVER
        // with a TIMEOUT pauses them too.
        let failover_timed = self.failover.end_time.is_some();
        if loops % period == 0 && !self.server.replica_order.is_empty() && !is_replica && !failover_timed {
            // The master's heartbeat is part of the stream: lower-case, no SELECT.
            self.server.repl.feed_raw_command(&[b"ping".to_vec()]);
            self.distribute_stream();
        }
        let bgsave_to_socket = self.server.bgsave.as_ref().is_some_and(|b| b.to_socket);
        for id in self.server.replica_order.clone() {
            let Some(c) = self.clients.get_mut(&id) else { continue };
            let Some(link) = &c.replica else { continue };
            let presync = link.state == ReplicaState::WaitBgsaveStart
                || (link.state == ReplicaState::WaitBgsaveEnd && !bgsave_to_socket);
            if presync {
                // Outside the stream: keeps the replica's read timeout at bay.
                c.out.push(b'\n');
            }
        }
        let timeout_ms = self.server.config.int("repl-timeout").max(1) as u64 * 1000;
        for id in self.server.replica_order.clone() {
            let Some(c) = self.clients.get_mut(&id) else { continue };
            let Some(link) = &c.replica else { continue };
            if link.state == ReplicaState::Online && !link.stream_on_ack && now.saturating_sub(link.ack_time) > timeout_ms {
                let name = c.replica_name();
                c.close_after_reply = true;
                c.out.clear();
                self.log(LogLevel::Warning, format!("Disconnecting timedout replica (streaming sync): {name}"));
            }
        }
        let ttl = self.server.config.int("repl-backlog-ttl");
        if self.server.replica_order.is_empty()
            && !is_replica
            && ttl > 0
            && self.server.repl.backlog.is_some()
            && now.unix_seconds().saturating_sub(self.server.no_replicas_since.unix_seconds()) > ttl as u64
        {
            self.server.repl.replid = self.server.rng.hex40();
            self.server.repl.replid2 = ZERO_ID.to_string();
            self.server.repl.second_offset = -1;
            self.server.repl.backlog = None;
            self.log(LogLevel::Notice, format!("Replication backlog freed after {ttl} seconds without connected replicas."));
        }
        self.start_pending_fork(now);
        self.refresh_good_replicas(now);
    }

    /// `replicationStartPendingFork`: starts a snapshot for replicas waiting to start one.
    fn start_pending_fork(&mut self, now: Millis) {
        if self.server.bgsave.is_some() {
            return;
        }
        let waiting = self.replicas_in(ReplicaState::WaitBgsaveStart);
        if waiting.is_empty() {
            return;
        }
        let max_idle = waiting
            .iter()
            .filter_map(|id| self.clients.get(id).and_then(|c| c.replica.as_ref()))
            .map(|l| now.unix_seconds().saturating_sub(l.waiting_since.unix_seconds()))
            .max()
            .unwrap_or(0) as i64;
        let max_replicas = self.server.config.int("repl-diskless-sync-max-replicas");
        let diskless = self.server.config.bool("repl-diskless-sync");
        if !diskless
            || (max_replicas > 0 && waiting.len() as i64 >= max_replicas)
            || max_idle >= self.server.config.int("repl-diskless-sync-delay")
        {
            self.start_bgsave(now);
        }
    }

    /// Hands the stream bytes written since the last call to every replica, by state.
    pub(super) fn distribute_stream(&mut self) {
        let bytes = self.server.repl.take_outbox();
        if bytes.is_empty() {
            return;
        }
        let now = self.last_now;
        let mut over_limit = Vec::new();
        for id in &self.server.replica_order {
            let Some(c) = self.clients.get_mut(id) else { continue };
            // Being dropped (e.g. our own history just changed): it must not see new bytes.
            if c.close_after_reply {
                continue;
            }
            let Some(link) = c.replica.as_mut() else { continue };
            let held = link.pending.len() + bytes.len();
            // client-output-buffer-limit replica 256mb 64mb 60 (Redis's default).
            if held > OUTPUT_HARD_LIMIT
                || (held > OUTPUT_SOFT_LIMIT && link.soft_limit_since.is_some_and(|t| now.saturating_sub(t) > OUTPUT_SOFT_SECONDS * 1000))
            {
                over_limit.push(*id);
                continue;
            }
            if held > OUTPUT_SOFT_LIMIT {
                link.soft_limit_since.get_or_insert(now);
            } else {
                link.soft_limit_since = None;
            }
            match link.state {
                // It will get these writes through the snapshot it has not started yet.
                ReplicaState::WaitBgsaveStart => {}
                ReplicaState::WaitBgsaveEnd => link.pending.extend_from_slice(&bytes),
                ReplicaState::Online if link.stream_on_ack => link.pending.extend_from_slice(&bytes),
                ReplicaState::Online => c.out.extend_from_slice(&bytes),
            }
        }
        self.server.repl.return_outbox(bytes);
        for id in over_limit {
            let Some(c) = self.clients.get_mut(&id) else { continue };
            c.close_after_reply = true;
            c.out.clear();
            let line = format!("Client {} scheduled to be closed ASAP for overcoming of output buffer limits.", c.list_line(now));
            self.log(LogLevel::Warning, line);
        }
    }

    /// A replica connection went away.
    pub(super) fn replica_gone(&mut self, now: Millis, id: u64, name: &str) {
        self.server.replica_order.retain(|r| *r != id);
        self.refresh_good_replicas(now);
        self.log(LogLevel::Notice, format!("Connection with replica {name} lost."));
        if self.server.replica_order.is_empty() {
            self.server.no_replicas_since = now;
        }
    }

    pub(super) fn replicas_in(&self, state: ReplicaState) -> Vec<u64> {
        self.server
            .replica_order
            .iter()
            .copied()
            .filter(|id| self.clients.get(id).and_then(|c| c.replica.as_ref()).is_some_and(|l| l.state == state))
            .collect()
    }

    /// INFO's `slave<i>:` lines, in the order replicas were added.
    pub(super) fn replica_info_lines(&self, now: Millis) -> Vec<String> {
        let mut out = Vec::new();
        for (i, id) in self.server.replica_order.iter().enumerate() {
            let Some(c) = self.clients.get(id) else { continue };
            let Some(l) = &c.replica else { continue };
            let lag = if l.state == ReplicaState::Online { now.unix_seconds().saturating_sub(l.ack_time.unix_seconds()) } else { 0 };
            out.push(format!(
                "slave{i}:ip={},port={},state={},offset={},lag={}",
                c.replica_ip(),
                c.repl_conf.listening_port,
                l.state.info_name(),
                l.ack_offset,
                lag
            ));
        }
        out
    }

    /// ROLE on a master.
    pub(super) fn role_master(&self) -> Frame {
        let mut replicas = Vec::new();
        for id in &self.server.replica_order {
            let Some(c) = self.clients.get(id) else { continue };
            let Some(l) = &c.replica else { continue };
            if l.state != ReplicaState::Online {
                continue;
            }
            replicas.push(Frame::Array(vec![
                Frame::bulk(c.replica_ip()),
                Frame::bulk(c.repl_conf.listening_port.to_string()),
                Frame::bulk(l.ack_offset.to_string()),
            ]));
        }
        Frame::Array(vec![Frame::bulk("master"), Frame::Integer(self.server.repl.offset), Frame::Array(replicas)])
    }
}

enum Partial {
    Accepted,
    Refused { counts_as_error: bool },
}

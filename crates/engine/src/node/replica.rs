//! The replica side of replication (replication.c `syncWithMaster`,
//! `slaveTryPartialResynchronization`, `readSyncBulkPayload`, `replicationCron`): the
//! handshake, the transfer and load of a full sync, applying the master's stream one whole
//! command at a time, ACKs, timeouts and reconnection with a cached master.

use super::{ConnId, LogLevel, Node, Output};
use crate::client::Client;
use crate::resp::{encode_command, Frame};
use crate::stream::ZERO_ID;
use crate::time::Millis;

/// `repl_state`, as ROLE and INFO report it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkState {
    /// Must connect (retried by the 1 Hz cron).
    Connect,
    Connecting,
    ReceivePingReply,
    ReceiveAuthReply,
    ReceivePortReply,
    ReceiveIpReply,
    ReceiveCapaReply,
    ReceivePsyncReply,
    Transfer,
    Connected,
}

impl LinkState {
    /// ROLE's fourth element.
    pub fn role_name(self) -> &'static str {
        match self {
            LinkState::Connect => "connect",
            LinkState::Connecting => "connecting",
            LinkState::Transfer => "sync",
            LinkState::Connected => "connected",
            _ => "handshake",
        }
    }
}

/// What PSYNC resumes from after a link loss (`server.cached_master`).
#[derive(Clone, Debug)]
pub struct Cached {
    pub replid: String,
    pub reploff: i64,
    pub read_reploff: i64,
    /// The master client's selected DB: a partial resync goes on in it (no SELECT is resent).
    pub db: usize,
}

/// A full sync payload being received.
#[derive(Clone, Debug, Default)]
pub struct Transfer {
    /// `-1` until the `$` preamble is read; `0` with an `$EOF:` mark.
    pub size: i64,
    pub mark: Option<Vec<u8>>,
    pub data: Vec<u8>,
    pub preamble_read: bool,
}

/// Everything a node keeps while it is a replica.
#[derive(Clone, Debug)]
pub struct MasterLink {
    pub host: String,
    pub port: u16,
    pub state: LinkState,
    pub conn: Option<ConnId>,
    /// Bytes of the link not consumed yet by the handshake or the transfer.
    pub inbuf: Vec<u8>,
    /// Last bytes read during handshake/transfer (`repl_transfer_lastio`).
    pub transfer_lastio: Millis,
    pub transfer: Option<Transfer>,
    /// +FULLRESYNC's id and offset, applied when the payload is loaded.
    pub initial: Option<(String, i64)>,
    pub cached: Option<Cached>,
    /// The live master client (once synced).
    pub master_client: Option<u64>,
    pub reploff: i64,
    pub read_reploff: i64,
    /// Master stream bytes read but not yet applied (what sub-replicas will get), from
    /// `unapplied_from` on: applied bytes are skipped, not moved, until the buffer empties.
    pub unapplied: Vec<u8>,
    pub unapplied_from: usize,
    /// `repl_down_since` (None: never up, or reset by REPLICAOF NO ONE).
    pub down_since: Option<Millis>,
    /// The loaded dataset becomes visible then; clients get -LOADING before.
    pub loading_until: Option<Millis>,
    /// The payload ended with an EOF mark: ACK right after loading.
    pub ack_after_load: bool,
    /// `repl-stream-db` of the loaded RDB: the master client starts in it.
    pub stream_db: usize,
}

/// How fast the simulated replica loads a payload, in bytes per millisecond.
const LOAD_BYTES_PER_MS: usize = 100_000;

impl MasterLink {
    fn clear_unapplied(&mut self) {
        self.unapplied.clear();
        self.unapplied_from = 0;
    }

    pub fn new(host: String, port: u16, cached: Option<Cached>, now: Millis) -> MasterLink {
        MasterLink {
            host,
            port,
            state: LinkState::Connect,
            conn: None,
            inbuf: Vec::new(),
            transfer_lastio: now,
            transfer: None,
            initial: None,
            cached,
            master_client: None,
            reploff: 0,
            read_reploff: 0,
            unapplied: Vec::new(),
            unapplied_from: 0,
            down_since: None,
            loading_until: None,
            ack_after_load: false,
            stream_db: 0,
        }
    }
}

impl Node {
    /// REPLICAOF / SLAVEOF.
    pub(super) fn replicaof(&mut self, now: Millis, id: u64, a: &[Vec<u8>]) -> Frame {
        if a[1].eq_ignore_ascii_case(b"no") && a[2].eq_ignore_ascii_case(b"one") {
            if self.link.is_some() {
                self.unset_master(now);
                let who = self.clients.get(&id).map(|c| c.list_line(now)).unwrap_or_default();
                self.log(LogLevel::Notice, format!("MASTER MODE enabled (user request from '{who}')"));
            }
            return Frame::ok();
        }
        if self.clients.get(&id).is_some_and(|c| c.replica.is_some()) {
            return Frame::err("ERR Command is not valid when client is a replica.");
        }
        let port = match crate::resp::string2ll(&a[2]) {
            Some(p) if (0..=65535).contains(&p) => p as u16,
            _ => return Frame::err("ERR Invalid master port"),
        };
        if self.failover.state != super::failover::FailoverState::None {
            return Frame::err("ERR REPLICAOF not allowed while failing over.");
        }
        let host = String::from_utf8_lossy(&a[1]).into_owned();
        if self.link.as_ref().is_some_and(|l| l.host.eq_ignore_ascii_case(&host) && l.port == port) {
            self.log(
                LogLevel::Notice,
                "REPLICAOF would result into synchronization with the master we are already connected with. No operation performed.",
            );
            return Frame::Simple("OK Already connected to specified master".into());
        }
        self.set_master(now, host, port);
        let who = self.clients.get(&id).map(|c| c.list_line(now)).unwrap_or_default();
        let (h, p) = self.link.as_ref().map(|l| (l.host.clone(), l.port)).unwrap_or_default();
        self.log(LogLevel::Notice, format!("REPLICAOF {h}:{p} enabled (user request from '{who}')"));
        Frame::ok()
    }

    /// `replicationSetMaster`. A master turning replica first caches itself, so its first
    /// PSYNC names its own history (`replicationCacheMasterUsingMyself`).
    pub(super) fn set_master(&mut self, now: Millis, host: String, port: u16) {
        let was_master = self.link.is_none();
        let mut cached = None;
        if let Some(old) = self.link.take() {
            if let Some(conn) = old.conn {
                self.outputs.push_back(Output::Close { conn });
            }
            // Freeing a live master caches it; an interrupted handshake keeps the old cache.
            cached = match old.master_client.and_then(|m| self.remove_client(m)) {
                Some(mc) => Some(Cached {
                    replid: self.server.repl.replid.clone(),
                    reploff: old.reploff,
                    read_reploff: old.reploff,
                    db: mc.db,
                }),
                None => old.cached,
            };
        }
        if was_master {
            let r = &self.server.repl;
            cached = Some(Cached { replid: r.replid.clone(), reploff: r.offset, read_reploff: r.offset, db: 0 });
        }
        self.server.repl.is_replica = true;
        self.link = Some(MasterLink::new(host.clone(), port, cached, now));
        self.log(LogLevel::Notice, format!("Connecting to MASTER {host}:{port}"));
        self.connect_to_master(now);
    }

    /// `replicationUnsetMaster`: REPLICAOF NO ONE.
    pub(super) fn unset_master(&mut self, now: Millis) {
        let Some(link) = self.link.take() else { return };
        if let Some(conn) = link.conn {
            self.outputs.push_back(Output::Close { conn });
        }
        if let Some(mid) = link.master_client {
            self.remove_client(mid);
        }
        self.server.repl.is_replica = false;
        self.shift_replication_id();
        self.disconnect_replicas();
        self.server.repl.seldb = -1;
        self.server.no_replicas_since = now;
    }

    /// `shiftReplicationId`: the old history stays reachable as replid2 up to offset + 1.
    fn shift_replication_id(&mut self) {
        let new_id = self.server.rng.hex40();
        let r = &mut self.server.repl;
        r.replid2 = std::mem::replace(&mut r.replid, new_id);
        r.second_offset = r.offset + 1;
        let line = format!(
            "Setting secondary replication ID to {}, valid up to offset: {}. New replication ID is {}",
            r.replid2, r.second_offset, r.replid
        );
        self.log(LogLevel::Notice, line);
    }

    /// Drops every sub-replica (they reconnect and PSYNC).
    pub(super) fn disconnect_replicas(&mut self) {
        for id in self.server.replica_order.clone() {
            if let Some(c) = self.clients.get_mut(&id) {
                c.close_after_reply = true;
                c.out.clear();
            }
        }
    }

    fn connect_to_master(&mut self, now: Millis) {
        let conn = ConnId(self.server.next_client_id);
        self.server.next_client_id += 1;
        let Some(link) = self.link.as_mut() else { return };
        link.conn = Some(conn);
        link.state = LinkState::Connecting;
        link.transfer_lastio = now;
        link.inbuf.clear();
        let (host, port) = (link.host.clone(), link.port);
        self.outputs.push_back(Output::Connect { conn, host, port });
        self.log(LogLevel::Notice, "MASTER <-> REPLICA sync started");
    }

    pub(super) fn is_master_conn(&self, conn: ConnId) -> bool {
        self.link.as_ref().is_some_and(|l| l.conn == Some(conn) && l.master_client.is_none())
    }

    /// The outbound connection to the master is up: PING.
    pub(super) fn master_connected(&mut self, now: Millis, conn: ConnId) {
        let Some(link) = self.link.as_mut().filter(|l| l.conn == Some(conn)) else { return };
        link.state = LinkState::ReceivePingReply;
        link.transfer_lastio = now;
        self.outputs.push_back(Output::Send { conn, bytes: encode_command(&["PING"]) });
        self.log(LogLevel::Notice, "Non blocking connect for SYNC fired the event.");
    }

    /// The master client is gone on our side (CLIENT KILL TYPE master, a protocol error):
    /// `replicationCacheMaster` unless `cache` is false, then reconnect at once.
    pub(super) fn master_client_dropped(&mut self, now: Millis, cache: bool) {
        let Some(link) = self.link.clone() else { return };
        let Some(mid) = link.master_client else { return };
        let db = self.remove_client(mid).map(|c| c.db).unwrap_or(0);
        self.log(LogLevel::Notice, "Connection with master lost.");
        let cached = if cache {
            self.log(LogLevel::Notice, "Caching the disconnected master state.");
            Some(Cached { replid: self.server.repl.replid.clone(), reploff: link.reploff, read_reploff: link.reploff, db })
        } else {
            None
        };
        if let Some(l) = self.link.as_mut() {
            l.cached = cached;
            l.master_client = None;
            l.conn = None;
            l.down_since = Some(now);
            l.clear_unapplied();
        }
        self.log(LogLevel::Notice, format!("Reconnecting to MASTER {}:{}", link.host, link.port));
        self.connect_to_master(now);
    }

    /// The connection to the master failed or broke.
    pub(super) fn master_conn_closed(&mut self, now: Millis, conn: ConnId, reason: &str) {
        let Some(link) = self.link.clone().filter(|l| l.conn == Some(conn)) else { return };
        if link.master_client.is_some() {
            // A lost link is cached and retried at once, not on the next cron tick.
            self.master_client_dropped(now, true);
            return;
        }
        if !reason.is_empty() {
            self.log(LogLevel::Warning, reason.to_string());
        }
        self.cancel_handshake();
    }

    /// Back to CONNECT; the cron retries within a second.
    fn cancel_handshake(&mut self) {
        let Some(link) = self.link.as_mut() else { return };
        if let Some(conn) = link.conn.take() {
            self.outputs.push_back(Output::Close { conn });
        }
        link.state = LinkState::Connect;
        link.transfer = None;
        link.inbuf.clear();
        link.loading_until = None;
    }

    /// Bytes from the master while handshaking or transferring.
    pub(super) fn master_bytes(&mut self, now: Millis, bytes: &[u8]) {
        let Some(link) = self.link.as_mut() else { return };
        link.inbuf.extend_from_slice(bytes);
        link.transfer_lastio = now;
        loop {
            let Some(state) = self.link.as_ref().map(|l| l.state) else { return };
            let progressed = match state {
                LinkState::Transfer => self.read_transfer(now),
                LinkState::Connected | LinkState::Connect | LinkState::Connecting => false,
                _ => self.read_handshake_line(now),
            };
            if !progressed {
                return;
            }
        }
    }

    /// Takes one `\r\n`- (or `\n`-) terminated line from the link buffer.
    fn take_line(&mut self) -> Option<String> {
        let link = self.link.as_mut()?;
        let nl = link.inbuf.iter().position(|&b| b == b'\n')?;
        let mut line: Vec<u8> = link.inbuf.drain(..=nl).collect();
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Some(String::from_utf8_lossy(&line).into_owned())
    }

    fn send_to_master(&mut self, bytes: Vec<u8>) {
        if let Some(conn) = self.link.as_ref().and_then(|l| l.conn) {
            self.outputs.push_back(Output::Send { conn, bytes });
        }
    }

    fn read_handshake_line(&mut self, now: Millis) -> bool {
        let Some(state) = self.link.as_ref().map(|l| l.state) else { return false };
        let Some(reply) = self.take_line() else { return false };
        match state {
            LinkState::ReceivePingReply => {
                let tolerated = reply.starts_with("-NOAUTH") || reply.starts_with("-NOPERM") || reply.starts_with("-ERR operation not permitted");
                if reply.starts_with('-') && !tolerated {
                    self.handshake_error(format!("Error reply to PING from master: '{reply}'"));
                    return false;
                }
                self.log(LogLevel::Notice, "Master replied to PING, replication can continue...");
                self.send_handshake();
            }
            LinkState::ReceiveAuthReply => {
                if reply.starts_with('-') {
                    self.handshake_error(format!("Unable to AUTH to MASTER: {reply}"));
                    return false;
                }
                self.set_link_state(LinkState::ReceivePortReply);
            }
            LinkState::ReceivePortReply => {
                if reply.starts_with('-') {
                    self.log(LogLevel::Notice, format!("(Non critical) Master does not understand REPLCONF listening-port: {reply}"));
                }
                let next = if self.server.config.text("replica-announce-ip").is_empty() {
                    LinkState::ReceiveCapaReply
                } else {
                    LinkState::ReceiveIpReply
                };
                self.set_link_state(next);
            }
            LinkState::ReceiveIpReply => {
                if reply.starts_with('-') {
                    self.log(LogLevel::Notice, format!("(Non critical) Master does not understand REPLCONF ip-address: {reply}"));
                }
                self.set_link_state(LinkState::ReceiveCapaReply);
            }
            LinkState::ReceiveCapaReply => {
                if reply.starts_with('-') {
                    self.log(LogLevel::Notice, format!("(Non critical) Master does not understand REPLCONF capa: {reply}"));
                }
                self.send_psync();
            }
            LinkState::ReceivePsyncReply => return self.read_psync_reply(now, &reply),
            _ => return false,
        }
        true
    }

    fn set_link_state(&mut self, state: LinkState) {
        if let Some(l) = self.link.as_mut() {
            l.state = state;
        }
    }

    fn handshake_error(&mut self, line: String) {
        self.log(LogLevel::Warning, line);
        self.cancel_handshake();
    }

    /// `cancelReplicationHandshake(1)`: a failed transfer (or a timeout) reconnects at once
    /// rather than on the next cron tick.
    fn transfer_error(&mut self, now: Millis, line: String) {
        self.handshake_error(line);
        let Some((h, p)) = self.link.as_ref().map(|l| (l.host.clone(), l.port)) else { return };
        self.log(LogLevel::Notice, format!("Reconnecting to MASTER {h}:{p} after failure"));
        self.connect_to_master(now);
    }

    /// AUTH, REPLCONF listening-port, [ip-address], capa: written back to back.
    fn send_handshake(&mut self) {
        let auth = self.server.config.text("masterauth").to_string();
        let user = self.server.config.text("masteruser").to_string();
        let mut out = Vec::new();
        if !auth.is_empty() {
            if user.is_empty() {
                out.extend(encode_command(&["AUTH", &auth]));
            } else {
                out.extend(encode_command(&["AUTH", &user, &auth]));
            }
        }
        let announce_port = self.server.config.int("replica-announce-port");
        let port = if announce_port > 0 { announce_port } else { self.server.config.int("port") };
        out.extend(encode_command(&["REPLCONF", "listening-port", &port.to_string()]));
        let ip = self.server.config.text("replica-announce-ip").to_string();
        if !ip.is_empty() {
            out.extend(encode_command(&["REPLCONF", "ip-address", &ip]));
        }
        out.extend(encode_command(&["REPLCONF", "capa", "eof", "capa", "psync2"]));
        self.send_to_master(out);
        self.set_link_state(if auth.is_empty() { LinkState::ReceivePortReply } else { LinkState::ReceiveAuthReply });
    }

    /// `slaveTryPartialResynchronization`, the write half.
    fn send_psync(&mut self) {
        let cached = self.link.as_ref().and_then(|l| l.cached.clone());
        let (id, off) = match &cached {
            Some(c) => {
                let off = (c.reploff + 1).to_string();
                self.log(LogLevel::Notice, format!("Trying a partial resynchronization (request {}:{off}).", c.replid));
                (c.replid.clone(), off)
            }
            None => {
                self.log(LogLevel::Notice, "Partial resynchronization not possible (no cached master)");
                ("?".to_string(), "-1".to_string())
            }
        };
        if self.failover.state == super::failover::FailoverState::InProgress {
            // The target promotes itself when it sees its own replid with FAILOVER.
            self.send_to_master(encode_command(&["PSYNC", &id, &off, "FAILOVER"]));
        } else {
            self.send_to_master(encode_command(&["PSYNC", &id, &off]));
        }
        self.set_link_state(LinkState::ReceivePsyncReply);
    }

    /// `slaveTryPartialResynchronization`, the read half.
    fn read_psync_reply(&mut self, now: Millis, reply: &str) -> bool {
        if reply.is_empty() {
            // `\n` keepalives while the master prepares a delayed diskless sync.
            return true;
        }
        if let Some(rest) = reply.strip_prefix("+FULLRESYNC") {
            let mut parts = rest.split_whitespace();
            let (Some(id), Some(off)) = (parts.next(), parts.next().and_then(|o| o.parse::<i64>().ok())) else {
                self.handshake_error("Master replied with wrong +FULLRESYNC syntax.".into());
                return false;
            };
            self.log(LogLevel::Notice, format!("Full resync from master: {id}:{off}"));
            self.begin_transfer(Some((id.to_string(), off)));
            self.failover_psync_answered(now, true);
            return true;
        }
        if let Some(rest) = reply.strip_prefix("+CONTINUE") {
            self.log(LogLevel::Notice, "Successful partial resynchronization with master.");
            let new_id = rest.trim().to_string();
            self.partial_resync_accepted(now, new_id);
            self.failover_psync_answered(now, true);
            return true;
        }
        if reply.starts_with("-NOMASTERLINK") || reply.starts_with("-LOADING") {
            self.log(LogLevel::Notice, format!("Master is currently unable to PSYNC but should be in the future: {reply}"));
            self.cancel_handshake();
            self.failover_psync_answered(now, false);
            return false;
        }
        if reply.starts_with("-ERR") {
            self.log(LogLevel::Warning, format!("Master does not support PSYNC or is in error state (reply: {reply})"));
        } else {
            self.log(LogLevel::Warning, format!("Unexpected reply to PSYNC from master: {reply}"));
        }
        if self.failover.state == super::failover::FailoverState::InProgress {
            self.failover_psync_answered(now, false);
            return false;
        }
        self.log(LogLevel::Notice, "Retrying with SYNC...");
        self.send_to_master(b"SYNC\r\n".to_vec());
        self.begin_transfer(None);
        true
    }

    /// A FAILOVER in progress ends with the target's answer to our PSYNC.
    fn failover_psync_answered(&mut self, now: Millis, accepted: bool) {
        if self.failover.state != super::failover::FailoverState::InProgress {
            return;
        }
        if accepted {
            self.clear_failover(now);
        } else {
            self.abort_failover(now, "Failover target rejected psync request");
        }
    }

    fn begin_transfer(&mut self, initial: Option<(String, i64)>) {
        // Only +FULLRESYNC forgets the cached master; the SYNC fallback keeps it (7.0), so a
        // later attempt still PSYNCs with it.
        let had_cache = initial.is_some() && self.link.as_mut().and_then(|l| l.cached.take()).is_some();
        if had_cache {
            self.log(LogLevel::Notice, "Discarding previously cached master state.");
        }
        if let Some(l) = self.link.as_mut() {
            l.initial = initial;
            l.state = LinkState::Transfer;
            l.transfer = Some(Transfer { size: -1, ..Default::default() });
        }
    }

    /// `+CONTINUE [id]`: the cached master becomes the live one.
    fn partial_resync_accepted(&mut self, now: Millis, new_id: String) {
        let Some(link) = self.link.as_mut() else { return };
        let cached = link.cached.take();
        let reploff = cached.as_ref().map(|c| c.reploff).unwrap_or(self.server.repl.offset);
        let db = cached.as_ref().map(|c| c.db).unwrap_or(0);
        let old_id = cached.map(|c| c.replid).unwrap_or_else(|| self.server.repl.replid.clone());
        if !new_id.is_empty() && !new_id.eq_ignore_ascii_case(&old_id) {
            // The master's history has a new id (it was promoted): keep ours as replid2.
            let r = &mut self.server.repl;
            r.replid2 = old_id.clone();
            r.second_offset = r.offset + 1;
            r.replid = new_id.clone();
            self.log(LogLevel::Warning, format!("Master replication ID changed to {new_id}"));
            self.disconnect_replicas();
        }
        if self.server.repl.backlog.is_none() {
            let size = self.server.config.int("repl-backlog-size").max(0) as usize;
            self.server.repl.create_backlog(size);
        }
        self.attach_master_client(now, reploff, db);
        self.log(LogLevel::Notice, "MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.");
    }

    /// Reads the preamble and the payload of a full sync; loads it when complete.
    fn read_transfer(&mut self, now: Millis) -> bool {
        let preamble_read = self.link.as_ref().and_then(|l| l.transfer.as_ref()).is_some_and(|t| t.preamble_read);
        if !preamble_read {
            let Some(line) = self.take_line() else { return false };
            if line.is_empty() {
                return true;
            }
            if let Some(err) = line.strip_prefix('-') {
                self.transfer_error(now, format!("MASTER aborted replication with an error: {err}"));
                return false;
            }
            let Some(spec) = line.strip_prefix('$') else {
                self.transfer_error(
                    now,
                    format!(
                        "Bad protocol from MASTER, the first byte is not '$' (we received '{line}'), are you sure the host and port are right?"
                    ),
                );
                return false;
            };
            let Some(t) = self.link.as_mut().and_then(|l| l.transfer.as_mut()) else { return false };
            if let Some(mark) = spec.strip_prefix("EOF:").filter(|m| m.len() == 40) {
                t.mark = Some(mark.as_bytes().to_vec());
                t.size = 0;
                self.log(LogLevel::Notice, "MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to disk");
            } else {
                match spec.parse::<i64>() {
                    Ok(n) if n >= 0 => t.size = n,
                    _ => {
                        self.transfer_error(now, format!("Bad protocol from MASTER, invalid payload length: '{line}'"));
                        return false;
                    }
                }
                self.log(LogLevel::Notice, format!("MASTER <-> REPLICA sync: receiving {spec} bytes from master to disk"));
            }
            if let Some(t) = self.link.as_mut().and_then(|l| l.transfer.as_mut()) {
                t.preamble_read = true;
            }
            return true;
        }
        let Some(link) = self.link.as_mut() else { return false };
        let Some(t) = link.transfer.as_mut() else { return false };
        let complete = match &t.mark {
            Some(mark) => {
                t.data.append(&mut link.inbuf);
                if t.data.len() >= mark.len() && t.data.ends_with(mark) {
                    let keep = t.data.len() - mark.len();
                    t.data.truncate(keep);
                    true
                } else {
                    false
                }
            }
            None => {
                let want = t.size as usize - t.data.len();
                let n = want.min(link.inbuf.len());
                t.data.extend(link.inbuf.drain(..n));
                t.data.len() == t.size as usize
            }
        };
        if complete {
            self.finish_transfer(now);
            return true;
        }
        false
    }

    /// The payload is here: parse it fully, then swap it in (never half a dataset).
    /// `useDisklessLoad`: load straight from the socket (swapdb, or on-empty-db with no keys)
    /// instead of through the RDB file.
    fn uses_diskless_load(&self) -> bool {
        match self.server.config.get("repl-diskless-load") {
            Some("swapdb") => true,
            Some("on-empty-db") => self.server.dbs.iter().all(|d| d.len() == 0),
            _ => false,
        }
    }

    fn finish_transfer(&mut self, now: Millis) {
        let Some(t) = self.link.as_mut().and_then(|l| l.transfer.take()) else { return };
        let eof = t.mark.is_some();
        let loaded = match crate::rdb_load::load(&t.data, self.server.dbs.len()) {
            Ok(l) => l,
            Err(e) => {
                self.transfer_error(
                    now,
                    format!("Failed trying to load the MASTER synchronization DB from {}: {e}", if eof { "socket" } else { "disk" }),
                );
                return;
            }
        };
        let initial = self.link.as_mut().and_then(|l| l.initial.take());
        let stream_db = loaded
            .aux
            .get("repl-stream-db")
            .and_then(|v| std::str::from_utf8(v).ok()?.parse::<usize>().ok())
            .unwrap_or(0);
        let (replid, offset) = match initial {
            Some(x) => x,
            None => {
                // Old-style SYNC: the RDB's aux fields carry the history.
                let id = loaded.aux.get("repl-id").map(|v| String::from_utf8_lossy(v).into_owned());
                let off = loaded.aux.get("repl-offset").and_then(|v| std::str::from_utf8(v).ok()?.parse().ok());
                (id.unwrap_or_else(|| ZERO_ID.to_string()), off.unwrap_or(0))
            }
        };
        // `replicationAttachToNewMaster`: whatever was cached belongs to the old history.
        if let Some(l) = self.link.as_mut() {
            l.cached = None;
        }
        // `readSyncBulkPayload` without diskless load: the payload was written to a temp file
        // that is renamed to the RDB file before loading it. It stays there: a replica
        // restarted from its disk resumes from the master's history.
        if !self.uses_diskless_load() {
            self.outputs.push_back(Output::SaveRdb { bytes: t.data.clone() });
        }
        self.log(LogLevel::Notice, "MASTER <-> REPLICA sync: Flushing old data");
        // The new history replaces ours: sub-replicas must resync, our backlog is void.
        self.disconnect_replicas();
        self.server.dbs = loaded.dbs;
        self.server.repl.seldb = -1;
        while self.server.dbs.len() < self.server.config.int("databases").max(1) as usize {
            self.server.dbs.push(Default::default());
        }
        self.log(LogLevel::Notice, "MASTER <-> REPLICA sync: Loading DB in memory");
        let r = &mut self.server.repl;
        r.replid = replid;
        r.replid2 = ZERO_ID.to_string();
        r.second_offset = -1;
        r.offset = offset;
        r.backlog = None;
        let size = self.server.config.int("repl-backlog-size").max(0) as usize;
        self.server.repl.create_backlog(size);
        let load_ms = (t.data.len() / LOAD_BYTES_PER_MS) as u64;
        if let Some(l) = self.link.as_mut() {
            l.ack_after_load = eof;
            l.stream_db = stream_db;
            l.loading_until = (load_ms > 0).then(|| now.saturating_add(load_ms));
        }
        if load_ms == 0 {
            self.finish_loading(now);
        }
    }

    /// Loading is over: the master client exists from now on.
    pub(super) fn finish_loading(&mut self, now: Millis) {
        let offset = self.server.repl.offset;
        let eof = self.link.as_ref().is_some_and(|l| l.ack_after_load);
        let db = self.link.as_ref().map(|l| l.stream_db).unwrap_or(0);
        if let Some(l) = self.link.as_mut() {
            l.loading_until = None;
            l.down_since = None;
        }
        self.attach_master_client(now, offset, db);
        self.log(LogLevel::Notice, "MASTER <-> REPLICA sync: Finished with success");
        if eof {
            self.send_ack();
        }
    }

    /// `replicationCreateMasterClient`: the link becomes a client whose commands are the
    /// stream. Bytes already read after the payload are its first input.
    fn attach_master_client(&mut self, now: Millis, reploff: i64, db: usize) {
        let Some(link) = self.link.as_mut() else { return };
        let Some(conn) = link.conn else { return };
        link.state = LinkState::Connected;
        link.reploff = reploff;
        link.read_reploff = reploff;
        link.master_client = Some(conn.0);
        link.clear_unapplied();
        let rest = std::mem::take(&mut link.inbuf);
        let addr = format!("{}:{}", link.host, link.port);
        let mut client = Client::new(conn.0, addr, String::new(), now, true);
        client.is_master = true;
        client.db = db;
        self.clients.insert(conn.0, client);
        self.server.connected_clients += 1;
        if !rest.is_empty() {
            self.master_stream_bytes(now, conn, &rest);
        }
    }

    /// Stream bytes from a synced master: read now, applied one whole command at a time.
    pub(super) fn master_stream_bytes(&mut self, now: Millis, conn: ConnId, bytes: &[u8]) {
        if let Some(l) = self.link.as_mut() {
            l.read_reploff += bytes.len() as i64;
            if l.unapplied_from == l.unapplied.len() {
                l.clear_unapplied();
            } else if l.unapplied_from > 64 * 1024 {
                // A command always straddling reads: compact now and then, not per command.
                l.unapplied.drain(..l.unapplied_from);
                l.unapplied_from = 0;
            }
            l.unapplied.extend_from_slice(bytes);
        }
        if let Some(c) = self.clients.get_mut(&conn.0) {
            c.last_interaction = now;
            c.parser.feed(bytes);
        }
        self.process_client(now, conn.0);
    }

    /// After each command of the master client: advance the applied offset (not inside
    /// MULTI) and forward exactly the applied bytes to our backlog and sub-replicas.
    pub(super) fn master_command_applied(&mut self, id: u64) {
        let Some(c) = self.clients.get(&id) else { return };
        if c.multi.is_some() {
            return;
        }
        let buffered = c.parser.buffered() as i64;
        let Some(link) = self.link.as_mut() else { return };
        let new_off = link.read_reploff - buffered;
        let pending = &link.unapplied[link.unapplied_from..];
        let n = (new_off - link.reploff).clamp(0, pending.len() as i64) as usize;
        link.reploff = new_off;
        self.server.repl.append(&pending[..n]);
        link.unapplied_from += n;
        self.distribute_stream();
    }

    /// `replicationSendAck`.
    pub(super) fn send_ack(&mut self) {
        let Some(link) = self.link.as_ref() else { return };
        if link.state != LinkState::Connected {
            return;
        }
        let off = link.reploff.to_string();
        self.send_to_master(encode_command(&["REPLCONF", "ACK", &off]));
    }

    /// The 1 Hz part of `replicationCron` that concerns a replica.
    pub(super) fn replication_cron_replica(&mut self, now: Millis) {
        let Some(link) = self.link.clone() else { return };
        let timeout = self.server.config.int("repl-timeout").max(1) as u64 * 1000;
        let handshaking = !matches!(link.state, LinkState::Connect | LinkState::Transfer | LinkState::Connected);
        if handshaking && now.saturating_sub(link.transfer_lastio) > timeout {
            self.transfer_error(now, "Timeout connecting to the MASTER...".into());
        } else if link.state == LinkState::Transfer && link.loading_until.is_none() && now.saturating_sub(link.transfer_lastio) > timeout {
            self.transfer_error(
                now,
                "Timeout receiving bulk data from MASTER... If the problem persists try to set the 'repl-timeout' parameter in redis.conf to a larger value.".into(),
            );
        } else if link.state == LinkState::Connected {
            let last = link.master_client.and_then(|m| self.clients.get(&m)).map(|c| c.last_interaction).unwrap_or(now);
            if now.saturating_sub(last) > timeout {
                self.log(LogLevel::Warning, "MASTER timeout: no data nor PING received...");
                if let Some(conn) = link.conn {
                    self.outputs.push_back(Output::Close { conn });
                    self.master_conn_closed(now, conn, "");
                }
                return;
            }
        }
        let Some(link) = self.link.clone() else { return };
        if link.state == LinkState::Connect {
            self.log(LogLevel::Notice, format!("Connecting to MASTER {}:{}", link.host, link.port));
            self.connect_to_master(now);
        }
        if link.loading_until.is_some() {
            // A loading replica keeps its master from timing it out.
            self.send_to_master(b"\n".to_vec());
        }
        self.send_ack();
    }

    /// ROLE on a replica.
    pub(super) fn role_replica(&self) -> Frame {
        let Some(l) = &self.link else { return Frame::Null };
        let offset = if l.master_client.is_some() { l.reploff } else { -1 };
        Frame::Array(vec![
            Frame::bulk("slave"),
            Frame::bulk(l.host.clone()),
            Frame::Integer(l.port as i64),
            Frame::bulk(l.state.role_name()),
            Frame::Integer(offset),
        ])
    }

    /// INFO replication's replica-only lines (before `connected_slaves`).
    pub(super) fn replica_info_head(&self, now: Millis) -> Vec<String> {
        let Some(l) = &self.link else { return Vec::new() };
        let mut out = vec![
            "role:slave".to_string(),
            format!("master_host:{}", l.host),
            format!("master_port:{}", l.port),
            format!("master_link_status:{}", if l.state == LinkState::Connected { "up" } else { "down" }),
        ];
        let last_io = l
            .master_client
            .and_then(|m| self.clients.get(&m))
            .map(|c| now.unix_seconds().saturating_sub(c.last_interaction.unix_seconds()) as i64)
            .unwrap_or(-1);
        out.push(format!("master_last_io_seconds_ago:{last_io}"));
        out.push(format!("master_sync_in_progress:{}", (l.state == LinkState::Transfer) as u8));
        let (applied, read) = if l.master_client.is_some() {
            (l.reploff, l.read_reploff)
        } else if let Some(c) = &l.cached {
            (c.reploff, c.read_reploff)
        } else {
            (1, 1)
        };
        out.push(format!("slave_read_repl_offset:{read}"));
        out.push(format!("slave_repl_offset:{applied}"));
        if l.state == LinkState::Transfer {
            let (size, read) = l.transfer.as_ref().map(|t| (t.size, t.data.len() as i64)).unwrap_or((-1, 0));
            let perc = if size != 0 { read as f64 / size as f64 * 100.0 } else { 0.0 };
            out.push(format!("master_sync_total_bytes:{size}"));
            out.push(format!("master_sync_read_bytes:{read}"));
            out.push(format!("master_sync_left_bytes:{}", size - read));
            out.push(format!("master_sync_perc:{perc:.2}"));
            out.push(format!(
                "master_sync_last_io_seconds_ago:{}",
                now.unix_seconds().saturating_sub(l.transfer_lastio.unix_seconds())
            ));
        }
        if l.state != LinkState::Connected {
            let down = l.down_since.map(|d| now.unix_seconds().saturating_sub(d.unix_seconds()) as i64).unwrap_or(-1);
            out.push(format!("master_link_down_since_seconds:{down}"));
        }
        out.push(format!("slave_priority:{}", self.server.config.int("replica-priority")));
        out.push(format!("slave_read_only:{}", self.server.config.bool("replica-read-only") as u8));
        out.push("replica_announced:1".to_string());
        out
    }
}

//! The node: one Redis server as a sans-IO state machine.
//!
//! Bytes and time go in (`accept`, `handle_input`, `handle_timeout`), bytes to send,
//! connections to close and log lines come out (`poll_output`), and `poll_timeout` says when
//! to call `handle_timeout` next. After any `handle_*` call, drain `poll_output` until `None`.

mod evict;
mod failover;
pub(crate) mod master;
pub(crate) mod persistence;
mod replica;
pub mod status;
mod wait;

use std::collections::{BTreeMap, VecDeque};

use crate::client::{Client, Multi};
use crate::commands::{self, arity_ok, Ctx, Lookup, Spec};
use crate::config::Config;
use crate::resp::{Frame, ProtocolError, RequestLimits};
use crate::server::{Server, ShutdownMode};
use crate::time::Millis;

/// A connection handle, chosen by the node (it is also the CLIENT ID).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(pub u64);

#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Debug,
    Verbose,
    Notice,
    Warning,
}

impl LogLevel {
    /// The symbol redis-server writes in its log lines.
    pub fn symbol(self) -> char {
        match self {
            LogLevel::Debug => '.',
            LogLevel::Verbose => '-',
            LogLevel::Notice => '*',
            LogLevel::Warning => '#',
        }
    }
}

/// What happened on a connection the driver owns. More variants will come (outbound
/// connections for replication), so drivers match with a wildcard.
#[derive(Debug)]
#[non_exhaustive]
pub enum Input<'a> {
    Received { conn: ConnId, bytes: &'a [u8] },
    /// The peer closed or the connection broke.
    Closed { conn: ConnId },
    /// An `Output::Connect` succeeded.
    Connected { conn: ConnId },
    /// An `Output::Connect` failed (refused, unreachable, timed out).
    ConnectFailed { conn: ConnId, reason: String },
}

/// What the driver must do. More variants will come (opening connections to a master), so
/// drivers ignore what they do not know with a wildcard arm.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Output {
    Send { conn: ConnId, bytes: Vec<u8> },
    /// Close after everything sent before it.
    Close { conn: ConnId },
    Log { level: LogLevel, line: String },
    /// The node stopped (SHUTDOWN). `save` is whether redis-server would have saved the RDB.
    Shutdown { save: bool },
    /// Open a connection to `host:port` (a replica reaching its master); report the outcome
    /// with `Input::Connected` / `Input::ConnectFailed`, then bytes as usual.
    Connect { conn: ConnId, host: String, port: u16 },
    /// Store this RDB snapshot as the node's `dir/dbfilename` (SAVE, BGSAVE, save rules,
    /// SHUTDOWN). Hand it back to `Node::restore` when the node restarts.
    SaveRdb { bytes: Vec<u8> },
}

/// Cloning a node copies its whole state (the simulator's time travel snapshots it).
#[derive(Clone)]
pub struct Node {
    server: Server,
    clients: BTreeMap<u64, Client>,
    outputs: VecDeque<Output>,
    next_cron: Millis,
    next_repl_cron: Millis,
    /// The time of the latest input, for code paths that are not handed `now`.
    last_now: Millis,
    stopped: bool,
    /// Set while this node is a replica (REPLICAOF host port).
    link: Option<replica::MasterLink>,
    /// Clients blocked in WAIT.
    waiters: Vec<wait::Waiter>,
    /// A WAIT started since the last pass: send REPLCONF GETACK once.
    get_ack_pending: bool,
    failover: failover::Failover,
    /// The command being executed (for INFO commandstats' failed calls).
    running: Option<&'static str>,
    /// The command looked up, until it runs (a refusal counts as a rejected call).
    looked_up: Option<&'static str>,
    /// Commands run by the current top-level command, counted when it ends.
    finished_calls: Vec<&'static str>,
    /// The last command name looked up, as typed, and its spec: streams and pipelines
    /// repeat one command, and a byte compare is cheaper than lower-casing and hashing.
    last_lookup: Option<(Vec<u8>, &'static Spec)>,
    /// Inputs that arrived during a DEBUG SLEEP, replayed in order when it ends.
    deferred_inputs: Vec<OwnedInput>,
}

/// An `Input` kept for later (its bytes copied).
#[derive(Clone, Debug)]
enum OwnedInput {
    Received { conn: ConnId, bytes: Vec<u8> },
    Closed { conn: ConnId },
    Connected { conn: ConnId },
    ConnectFailed { conn: ConnId, reason: String },
}

impl From<Input<'_>> for OwnedInput {
    fn from(i: Input<'_>) -> OwnedInput {
        match i {
            Input::Received { conn, bytes } => OwnedInput::Received { conn, bytes: bytes.to_vec() },
            Input::Closed { conn } => OwnedInput::Closed { conn },
            Input::Connected { conn } => OwnedInput::Connected { conn },
            Input::ConnectFailed { conn, reason } => OwnedInput::ConnectFailed { conn, reason },
        }
    }
}

impl OwnedInput {
    fn replay(self, node: &mut Node, now: Millis) {
        match self {
            OwnedInput::Received { conn, bytes } => node.handle_input(now, Input::Received { conn, bytes: &bytes }),
            OwnedInput::Closed { conn } => node.handle_input(now, Input::Closed { conn }),
            OwnedInput::Connected { conn } => node.handle_input(now, Input::Connected { conn }),
            OwnedInput::ConnectFailed { conn, reason } => node.handle_input(now, Input::ConnectFailed { conn, reason }),
        }
    }
}

impl Node {
    /// A node started at `now` with `config`; every random choice comes from `seed`.
    pub fn new(config: Config, seed: u64, now: Millis) -> Node {
        let mut node = Node::init(config, seed, now);
        node.log(LogLevel::Notice, "Ready to accept connections");
        node
    }

    /// The node before it accepts connections (restoring from an RDB happens in between).
    fn init(config: Config, seed: u64, now: Millis) -> Node {
        let mut node = Node {
            server: Server::new(config, seed, now),
            clients: BTreeMap::new(),
            outputs: VecDeque::new(),
            next_cron: now,
            next_repl_cron: now,
            last_now: now,
            stopped: false,
            link: None,
            waiters: Vec::new(),
            get_ack_pending: false,
            failover: failover::Failover::default(),
            running: None,
            looked_up: None,
            finished_calls: Vec::new(),
            last_lookup: None,
            deferred_inputs: Vec::new(),
        };
        // `--replicaof host port`: no cached master, so the first PSYNC is `? -1`; the
        // replication cron connects.
        let replicaof = node.server.config.text("replicaof").to_string();
        let mut parts = replicaof.split_whitespace();
        if let (Some(host), Some(port)) = (parts.next(), parts.next().and_then(|p| p.parse::<u16>().ok())) {
            node.server.repl.is_replica = true;
            node.link = Some(replica::MasterLink::new(host.to_string(), port, None, now));
        }
        node.log(LogLevel::Warning, "Server initialized");
        node
    }

    /// What INFO server reports as `process_id` and `executable`.
    pub fn set_process_info(&mut self, pid: u32, executable: &str) {
        self.server.process_id = pid;
        self.server.executable = executable.to_string();
    }

    /// A client connected from `peer` to our `local` address. Returns its connection id.
    pub fn accept(&mut self, now: Millis, peer: &str, local: &str) -> ConnId {
        let id = self.server.next_client_id;
        self.server.next_client_id += 1;
        let conn = ConnId(id);
        if self.stopped {
            self.outputs.push_back(Output::Close { conn });
            return conn;
        }
        self.server.stats.total_connections_received += 1;
        if self.server.connected_clients as i64 >= self.server.config.int("maxclients") {
            self.server.stats.rejected_connections += 1;
            self.outputs.push_back(Output::Send { conn, bytes: b"-ERR max number of clients reached\r\n".to_vec() });
            self.outputs.push_back(Output::Close { conn });
            return conn;
        }
        let open = self.server.config.text("requirepass").is_empty();
        self.clients.insert(id, Client::new(id, peer.to_string(), local.to_string(), now, open));
        self.server.connected_clients += 1;
        conn
    }

    pub fn handle_input(&mut self, now: Millis, input: Input) {
        self.last_now = now;
        if self.stopped {
            return;
        }
        if self.server.sleep_until.is_some() {
            // DEBUG SLEEP blocks the whole server: nothing is read until it wakes up.
            self.deferred_inputs.push(OwnedInput::from(input));
            return;
        }
        match input {
            Input::Received { conn, bytes } if self.is_master_conn(conn) => self.master_bytes(now, bytes),
            Input::Received { conn, bytes } if self.link.as_ref().and_then(|l| l.master_client) == Some(conn.0) => {
                self.server.stats.total_net_input_bytes += bytes.len() as u64;
                self.master_stream_bytes(now, conn, bytes);
            }
            Input::Connected { conn } => self.master_connected(now, conn),
            Input::ConnectFailed { conn, reason } => {
                self.master_conn_closed(now, conn, &format!("Error condition on socket for SYNC: {reason}"));
            }
            Input::Closed { conn } if self.link.as_ref().is_some_and(|l| l.conn == Some(conn)) => {
                self.master_conn_closed(now, conn, "Master closed the connection during the handshake");
            }
            Input::Received { conn, bytes } => {
                let limit = self.server.config.hot().client_query_buffer_limit.max(0) as usize;
                let Some(client) = self.clients.get_mut(&conn.0) else { return };
                self.server.stats.total_net_input_bytes += bytes.len() as u64;
                self.server.stats.total_reads_processed += 1;
                client.parser.feed(bytes);
                if client.parser.buffered() > limit {
                    client.parser.clear();
                    client.out.clear();
                    client.close_after_reply = true;
                    let line = format!("Closing client that reached max query buffer length: {}", client.list_line(now));
                    self.log(LogLevel::Warning, line);
                } else {
                    self.process_client(now, conn.0);
                }
            }
            Input::Closed { conn } => {
                self.forget_waiter(conn.0);
                if let Some(c) = self.clients.remove(&conn.0) {
                    self.server.connected_clients -= 1;
                    if c.replica.is_some() {
                        self.replica_gone(now, conn.0, &c.replica_name());
                    }
                }
            }
        }
        self.serve_waiters(now, false);
        self.flush(now);
    }

    /// Timers: the end of a DEBUG SLEEP, the cron (active expiry) at `hz`.
    pub fn handle_timeout(&mut self, now: Millis) {
        self.last_now = now;
        if self.stopped {
            return;
        }
        if self.server.sleep_until.is_some_and(|t| t <= now) {
            self.server.sleep_until = None;
            for input in std::mem::take(&mut self.deferred_inputs) {
                input.replay(self, now);
            }
            // Input that arrived while the node was blocked is served now, in client order.
            let ids: Vec<u64> = self.clients.keys().copied().collect();
            for id in ids {
                self.process_client(now, id);
            }
        }
        // Loading ends on its own timer, not on a cron tick.
        if self.link.as_ref().and_then(|l| l.loading_until).is_some_and(|t| t <= now) {
            self.finish_loading(now);
        }
        let cron_tick = self.server.sleep_until.is_none() && now >= self.next_cron;
        if cron_tick {
            self.cron(now);
        }
        self.serve_waiters(now, cron_tick);
        self.flush(now);
    }

    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When `handle_timeout` should next be called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Millis> {
        if self.stopped {
            return None;
        }
        let loading = self.link.as_ref().and_then(|l| l.loading_until);
        Some(self.server.sleep_until.unwrap_or(self.next_cron).min(loading.unwrap_or(Millis(u64::MAX))))
    }

    // ---- getters for drivers, the simulator and tests ----

    pub fn config(&self) -> &Config {
        &self.server.config
    }

    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// The text `INFO <sections>` would reply, read without a client: for the sections that
    /// do not count clients or commands (replication, keyspace, persistence) it is exactly
    /// the reply; the others miss the asking client's own connection and command.
    pub fn info(&self, now: Millis, sections: &[&str]) -> String {
        let sections: Vec<String> = sections.iter().map(|s| s.to_ascii_lowercase()).collect();
        let head = self.replication_head(now);
        let persistence = self.persistence_info(now);
        let parts = crate::info::NodeParts {
            replication_head: &head,
            persistence_lines: &persistence,
            failover_state: self.failover.state.info_name(),
            used_memory: self.used_memory(),
        };
        crate::info::render_with(&self.server, now, &sections, &parts)
    }

    /// DEBUG DIGEST of the dataset.
    pub fn digest(&self) -> String {
        crate::digest::hex(&crate::digest::dataset(&self.server))
    }

    /// Keys in database `db` (including logically expired ones, as DBSIZE counts them).
    pub fn dbsize(&self, db: usize) -> usize {
        self.server.dbs.get(db).map(|d| d.len()).unwrap_or(0)
    }

    /// The dataset as an RDB file, as SAVE would write it at `now`.
    pub fn rdb_snapshot(&self, now: Millis) -> Vec<u8> {
        let header = crate::rdb::Header { unix_seconds: now.unix_seconds(), used_mem: 0, repl: None };
        crate::rdb::dump(&self.server.dbs, &header)
    }

    pub fn run_id(&self) -> &str {
        &self.server.run_id
    }

    // ---- internals ----

    /// `serverCron` at `hz`: active expiry, snapshot completion, and the 1 Hz replication cron.
    fn cron(&mut self, now: Millis) {
        self.server.active_expire_cycle(now);
        self.distribute_stream();
        self.check_bgsave_done(now);
        self.persistence_cron(now);
        self.update_failover(now);
        if now >= self.next_repl_cron {
            self.replication_cron_replica(now);
            self.replication_cron_master(now);
            self.server.repl_cron_loops += 1;
            self.next_repl_cron = self.next_repl_cron.saturating_add(1000).max(now);
        }
        let hz = self.server.config.int("hz").clamp(1, 500) as u64;
        self.next_cron = now.saturating_add(1000 / hz);
    }

    fn log(&mut self, level: LogLevel, line: impl Into<String>) {
        self.outputs.push_back(Output::Log { level, line: line.into() });
    }

    fn auth_required(&self, client: &Client) -> bool {
        !client.authenticated && self.server.config.hot().requirepass_set
    }

    /// Runs every whole command buffered for client `id`, unless the node is blocked.
    fn process_client(&mut self, now: Millis, id: u64) {
        loop {
            if self.stopped || self.server.sleep_until.is_some() || self.server.shutdown.is_some() {
                return;
            }
            let Some(client) = self.clients.get(&id) else { return };
            if client.close_after_reply || client.blocked {
                return;
            }
            let limits = RequestLimits {
                max_bulk_len: self.server.config.hot().proto_max_bulk_len,
                auth_required: self.auth_required(client),
            };
            let Some(client) = self.clients.get_mut(&id) else { return };
            match client.parser.next_command(limits) {
                Ok(None) => return,
                Ok(Some(args)) => {
                    client.last_interaction = now;
                    let from_master = client.is_master;
                    if !from_master && client.replica.is_none() && self.writes_paused() && is_write(&args) {
                        // FAILOVER pauses writers: the command waits, and so does the client.
                        if let Some(c) = self.clients.get_mut(&id) {
                            c.deferred = Some(args);
                            c.blocked = true;
                        }
                        return;
                    }
                    self.server.executing_master = from_master;
                    let mut args = args;
                    let reply = self.execute(now, id, &mut args);
                    self.server.executing_master = false;
                    // The argument buffers serve the client's next command.
                    if let Some(c) = self.clients.get_mut(&id) {
                        c.parser.recycle(args);
                    }
                    // The command (or EXEC) is over: its writes go to the stream as one unit.
                    self.server.repl.flush_pending();
                    self.distribute_stream();
                    if from_master {
                        self.master_command_applied(id);
                        continue;
                    }
                    let offset = self.server.repl.offset;
                    if let Some(c) = self.clients.get_mut(&id) {
                        c.woff = offset;
                    }
                    if let Some(reply) = reply {
                        // Replica connections never get replies (only the stream).
                        if let Some(c) = self.clients.get_mut(&id).filter(|c| c.replica.is_none()) {
                            reply.encode_into(&mut c.out);
                        }
                    }
                }
                Err(ProtocolError(msg)) => {
                    if !client.is_master {
                        Frame::err(format!("ERR {msg}")).encode_into(&mut client.out);
                    }
                    client.protocol_error = true;
                    client.close_after_reply = true;
                    client.parser.clear();
                    let line = format!("Protocol error ({msg}) from client: {}", client.list_line(now));
                    self.server.stats.total_error_replies += 1;
                    self.log(LogLevel::Verbose, line);
                    return;
                }
            }
        }
    }

    /// `processCommand`: checks, then MULTI queuing or the call. `None`: no reply at all.
    /// `args` is left empty if the command keeps it (MULTI queues it).
    fn execute(&mut self, now: Millis, id: u64, args: &mut Vec<Vec<u8>>) -> Option<Frame> {
        self.running = None;
        self.looked_up = None;
        let reply = self.execute_checked(now, id, args);
        self.running = None;
        self.looked_up = None;
        for name in self.finished_calls.drain(..) {
            self.server.stats.commands.entry(name).or_default().calls += 1;
        }
        reply
    }

    fn execute_checked(&mut self, now: Millis, id: u64, args: &mut Vec<Vec<u8>>) -> Option<Frame> {
        if args[0].eq_ignore_ascii_case(b"quit") {
            if let Some(c) = self.clients.get_mut(&id) {
                c.close_after_reply = true;
            }
            return Some(Frame::ok());
        }
        let spec = match self.lookup_command(args) {
            Lookup::Found(spec) => spec,
            Lookup::Unknown => return Some(self.reject(id, unknown_command(&args))),
            Lookup::UnknownSubcommand => {
                let msg = format!(
                    "ERR unknown subcommand '{}'. Try {} HELP.",
                    c_str(&args[1], 128),
                    String::from_utf8_lossy(&args[0]).to_ascii_uppercase()
                );
                return Some(self.reject(id, Frame::err(msg)));
            }
        };
        self.looked_up = Some(spec.name);
        if !arity_ok(spec, args.len()) {
            return Some(self.reject(id, commands::arity_error(spec.name)));
        }
        if spec.name == "debug" && !self.debug_allowed(id) {
            return Some(self.reject(id, Frame::err(
                "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.",
            )));
        }
        let client = self.clients.get(&id)?;
        if spec.flags & commands::NO_AUTH == 0 && self.auth_required(client) {
            return Some(self.reject(id, Frame::err("NOAUTH Authentication required.")));
        }
        let in_multi = client.multi.is_some();
        let denyoom = spec.flags & commands::DENY_OOM != 0 || (in_multi && !matches!(spec.name, "exec" | "discard"));
        if !client.is_master && self.server.config.hot().maxmemory > 0 && self.perform_evictions(now) && denyoom {
            return Some(self.reject(id, Frame::err("OOM command not allowed when used memory > 'maxmemory'.")));
        }
        let Some(client) = self.clients.get(&id) else { return None };
        if spec.flags & commands::WRITE != 0 && !client.is_master && self.too_few_replicas() {
            return Some(self.reject(id, Frame::err("NOREPLICAS Not enough good replicas to write.")));
        }
        if let Some(err) = self.role_refusal(client, spec) {
            return Some(self.reject(id, err));
        }
        match spec.name {
            "multi" => {
                self.count_command(id, spec);
                let c = self.clients.get_mut(&id)?;
                if c.multi.is_some() {
                    return Some(self.error_reply(Frame::err("ERR MULTI calls can not be nested")));
                }
                c.multi = Some(Multi::default());
                Some(Frame::ok())
            }
            "discard" => {
                self.count_command(id, spec);
                let c = self.clients.get_mut(&id)?;
                match c.multi.take() {
                    Some(_) => Some(Frame::ok()),
                    None => Some(self.error_reply(Frame::err("ERR DISCARD without MULTI"))),
                }
            }
            "exec" => Some(self.exec(now, id, spec)),
            "psync" | "sync" | "shutdown" if in_multi => {
                Some(self.reject(id, Frame::err("ERR Command not allowed inside a transaction")))
            }
            _ if in_multi => {
                if let Some(m) = self.clients.get_mut(&id)?.multi.as_mut() {
                    m.queue.push(std::mem::take(args));
                }
                Some(Frame::Simple("QUEUED".into()))
            }
            "shutdown" => {
                let reply = self.call(now, id, spec, &args);
                // A successful SHUTDOWN never answers: the server is gone.
                if reply.is_error() { Some(reply) } else { None }
            }
            _ => self.dispatch(now, id, spec, &args, false),
        }
    }

    /// Runs one command whose checks passed, at top level or inside EXEC. `None`: no reply.
    fn dispatch(&mut self, now: Millis, id: u64, spec: &'static Spec, args: &[Vec<u8>], in_exec: bool) -> Option<Frame> {
        let reply = match spec.name {
            "replconf" => {
                self.count_command(id, spec);
                let getack = args.get(1).is_some_and(|a| a.eq_ignore_ascii_case(b"getack"));
                if getack && self.clients.get(&id).is_some_and(|c| c.is_master) {
                    // Answered with the offset before this GETACK (it is applied after).
                    self.send_ack();
                    return None;
                }
                self.replconf(now, id, args)
            }
            "psync" | "sync" => {
                self.count_command(id, spec);
                let failover_request = spec.name == "psync" && args.get(3).is_some_and(|a| a.eq_ignore_ascii_case(b"failover"));
                if failover_request {
                    if let Some(err) = self.psync_failover_request(now, id, args) {
                        return Some(self.error_reply(err));
                    }
                }
                if self.writes_paused() {
                    Some(Frame::err("NOMASTERLINK Can't SYNC while failing over"))
                } else if self.link.as_ref().is_some_and(|l| l.state != replica::LinkState::Connected) {
                    Some(Frame::err("NOMASTERLINK Can't SYNC while not connected with my master"))
                } else {
                    self.sync_command(now, id, args, spec.name == "psync")
                }
            }
            "failover" => {
                self.count_command(id, spec);
                Some(self.failover_command(now, args))
            }
            "role" => {
                self.count_command(id, spec);
                Some(if self.link.is_some() { self.role_replica() } else { self.role_master() })
            }
            "wait" => {
                self.count_command(id, spec);
                self.wait_command(now, id, args, in_exec)
            }
            "replicaof" | "slaveof" => {
                self.count_command(id, spec);
                Some(self.replicaof(now, id, args))
            }
            "save" => {
                self.count_command(id, spec);
                Some(self.save_command(now))
            }
            "bgsave" => {
                self.count_command(id, spec);
                Some(self.bgsave_command(now, args))
            }
            "lastsave" => {
                self.count_command(id, spec);
                Some(Frame::Integer(self.server.save.last_save.unix_seconds() as i64))
            }
            "shutdown" if in_exec => {
                Some(Frame::err("ERR SHUTDOWN without NOW or ABORT isn't allowed for DENY BLOCKING client"))
            }
            _ => return Some(self.call(now, id, spec, args)),
        };
        reply.map(|r| if r.is_error() { self.error_reply(r) } else { r })
    }

    fn exec(&mut self, now: Millis, id: u64, spec: &'static Spec) -> Frame {
        self.count_command(id, spec);
        let Some(multi) = self.clients.get_mut(&id).and_then(|c| c.multi.take()) else {
            return self.error_reply(Frame::err("ERR EXEC without MULTI"));
        };
        if multi.dirty {
            return self.error_reply(Frame::err("EXECABORT Transaction discarded because of previous errors."));
        }
        let mut replies = Vec::with_capacity(multi.queue.len());
        for args in multi.queue {
            let reply = match commands::lookup(&args) {
                Lookup::Found(spec) => self.dispatch(now, id, spec, &args, true).unwrap_or(Frame::Null),
                _ => self.error_reply(unknown_command(&args)),
            };
            replies.push(reply);
        }
        Frame::Array(replies)
    }

    /// INFO replication's lines before `master_failover_state`: role, link, replicas.
    fn replication_head(&self, now: Millis) -> Vec<String> {
        let mut head = if self.link.is_some() { self.replica_info_head(now) } else { vec!["role:master".to_string()] };
        head.push(format!("connected_slaves:{}", self.server.replica_order.len()));
        let c = &self.server.config;
        if c.int("min-replicas-to-write") > 0 && c.int("min-replicas-max-lag") > 0 {
            head.push(format!("min_slaves_good_slaves:{}", self.server.good_replicas));
        }
        head.extend(self.replica_info_lines(now));
        head
    }

    /// `commands::lookup`, remembering the last command without subcommands.
    fn lookup_command(&mut self, args: &[Vec<u8>]) -> Lookup {
        if let Some((name, spec)) = &self.last_lookup {
            if *name == args[0] {
                return Lookup::Found(spec);
            }
        }
        let found = commands::lookup(args);
        if let Lookup::Found(spec) = found {
            if spec.subcommands.is_empty() && !spec.name.contains('|') {
                self.last_lookup = Some((args[0].clone(), spec));
            }
        }
        found
    }

    /// `call()`: runs the handler with the client's context.
    fn call(&mut self, now: Millis, id: u64, spec: &'static Spec, args: &[Vec<u8>]) -> Frame {
        self.count_command(id, spec);
        let db = self.clients.get(&id).map(|c| c.db).unwrap_or(0);
        if spec.name == "info" {
            self.server.failover_state = self.failover.state.info_name();
            self.server.persistence_lines = self.persistence_info(now);
            self.server.used_memory = self.used_memory();
            self.server.replication_head = self.replication_head(now);
        }
        let mut ctx = Ctx { now, server: &mut self.server, clients: &mut self.clients, me: id, db };
        let result = (spec.run)(&mut ctx, args);
        let db = ctx.db;
        if let Some(c) = self.clients.get_mut(&id) {
            c.db = db;
        }
        self.drain_server_log();
        match result {
            Ok(f) if f.is_error() => self.error_reply(f),
            Ok(f) => f,
            Err(f) => self.error_reply(f),
        }
    }

    fn count_command(&mut self, id: u64, spec: &Spec) {
        self.server.stats.total_commands_processed += 1;
        // Counted once the command is over, as `call()` does (a running INFO excludes itself).
        self.finished_calls.push(spec.name);
        self.running = Some(spec.name);
        if let Some(c) = self.clients.get_mut(&id) {
            c.last_cmd = spec.name;
        }
    }

    fn error_reply(&mut self, f: Frame) -> Frame {
        let stats = &mut self.server.stats;
        stats.total_error_replies += 1;
        if let Frame::Error(msg) = &f {
            let prefix = msg.split(' ').next().unwrap_or("ERR").to_string();
            *stats.errors.entry(prefix).or_default() += 1;
        }
        if let Some(name) = self.running {
            stats.commands.entry(name).or_default().failed += 1;
        }
        f
    }

    /// `rejectCommand`: an error before the call, which also dooms an open MULTI.
    fn reject(&mut self, id: u64, f: Frame) -> Frame {
        if let Some(m) = self.clients.get_mut(&id).and_then(|c| c.multi.as_mut()) {
            m.dirty = true;
        }
        let looked_up = self.looked_up.take();
        if let Some(name) = looked_up {
            self.server.stats.commands.entry(name).or_default().rejected += 1;
        }
        self.running = None;
        if looked_up == Some("exec") {
            // `execCommandAbort`: a refused EXEC ends the transaction and says why.
            if let Some(c) = self.clients.get_mut(&id) {
                c.multi = None;
            }
            let why = match &f {
                Frame::Error(m) => m.clone(),
                _ => String::new(),
            };
            return self.error_reply(Frame::err(format!("EXECABORT Transaction discarded because of: {why}")));
        }
        self.error_reply(f)
    }

    /// Checks that depend on being a replica (processCommand's order: READONLY, MASTERDOWN,
    /// LOADING). The master's own commands are always obeyed.
    fn role_refusal(&self, client: &Client, spec: &Spec) -> Option<Frame> {
        let link = self.link.as_ref()?;
        if client.is_master {
            return None;
        }
        if self.server.config.hot().replica_read_only && spec.flags & commands::WRITE != 0 {
            return Some(Frame::err("READONLY You can't write against a read only replica."));
        }
        if link.state != replica::LinkState::Connected
            && !self.server.config.hot().replica_serve_stale_data
            && spec.flags & commands::STALE_OK == 0
        {
            return Some(Frame::err(
                "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
            ));
        }
        if link.loading_until.is_some() && spec.flags & commands::LOADING_OK == 0 {
            return Some(Frame::err("LOADING Redis is loading the dataset in memory"));
        }
        None
    }

    /// A client held back by a write pause runs its command, then whatever followed it.
    fn resume_deferred(&mut self, now: Millis, id: u64) {
        let Some(args) = self.clients.get_mut(&id).and_then(|c| {
            c.blocked = false;
            c.deferred.take()
        }) else {
            return;
        };
        let mut args = args;
        let reply = self.execute(now, id, &mut args);
        self.server.repl.flush_pending();
        self.distribute_stream();
        let offset = self.server.repl.offset;
        if let Some(c) = self.clients.get_mut(&id) {
            c.woff = offset;
            if let Some(r) = reply {
                r.encode_into(&mut c.out);
            }
        }
        self.process_client(now, id);
    }

    /// An estimate of `used_memory`: redis-server's start-up footprint, the dataset, the
    /// backlog and the replicas' pending buffers.
    pub fn used_memory(&self) -> u64 {
        const STARTUP: u64 = 876_192;
        let data: usize = self.server.dbs.iter().map(|d| d.approx_bytes()).sum();
        let backlog = self.server.repl.backlog.as_ref().map(|b| b.histlen().max(0) as usize).unwrap_or(0);
        let pending: usize = self.clients.values().filter_map(|c| c.replica.as_ref()).map(|l| l.pending.len()).sum();
        STARTUP + (data + backlog + pending) as u64
    }

    /// Removes a client and keeps the counters right.
    fn remove_client(&mut self, id: u64) -> Option<Client> {
        let c = self.clients.remove(&id)?;
        self.server.connected_clients -= 1;
        Some(c)
    }

    fn debug_allowed(&self, id: u64) -> bool {
        match self.server.config.text("enable-debug-command") {
            "yes" => true,
            "local" => self.clients.get(&id).is_some_and(|c| {
                c.addr.starts_with("127.") || c.addr.starts_with("[::1]") || c.addr.starts_with("::1")
            }),
            _ => false,
        }
    }

    fn drain_server_log(&mut self) {
        for (level, line) in std::mem::take(&mut self.server.log) {
            self.log(level, line);
        }
    }

    /// Hands finished replies to the driver, closes what must close, and stops on SHUTDOWN.
    fn flush(&mut self, now: Millis) {
        if self.server.sleep_until.is_some() {
            return;
        }
        let mut closed = Vec::new();
        for (id, c) in self.clients.iter_mut() {
            if !c.out.is_empty() {
                self.server.stats.total_net_output_bytes += c.out.len() as u64;
                self.server.stats.total_writes_processed += 1;
                self.outputs.push_back(Output::Send { conn: ConnId(*id), bytes: std::mem::take(&mut c.out) });
            }
            if c.close_after_reply {
                closed.push(*id);
            }
        }
        for id in closed {
            self.outputs.push_back(Output::Close { conn: ConnId(id) });
            if self.clients.get(&id).is_some_and(|c| c.is_master) {
                // Killed or broken by a protocol error: a protocol error is not cached.
                let cache = !self.clients.get(&id).is_some_and(|c| c.protocol_error);
                self.master_client_dropped(now, cache);
                continue;
            }
            if let Some(c) = self.remove_client(id) {
                if c.replica.is_some() {
                    self.replica_gone(now, id, &c.replica_name());
                }
            }
        }
        if let Some(mode) = self.server.shutdown {
            self.stop(mode);
        }
    }

    fn stop(&mut self, mode: ShutdownMode) {
        let save = match mode {
            ShutdownMode::Save => true,
            ShutdownMode::NoSave => false,
            ShutdownMode::Default => !self.server.config.text("save").is_empty(),
        };
        self.log(LogLevel::Warning, "User requested shutdown...");
        if save {
            self.log(LogLevel::Notice, "Saving the final RDB snapshot before exiting.");
            self.final_save(self.last_now);
        }
        self.log(LogLevel::Warning, "Redis is now ready to exit, bye bye...");
        for id in std::mem::take(&mut self.clients).into_keys() {
            self.outputs.push_back(Output::Close { conn: ConnId(id) });
        }
        self.server.connected_clients = 0;
        self.outputs.push_back(Output::Shutdown { save });
        self.stopped = true;
    }
}

/// Whether a command line names a write command (what a write pause holds back).
fn is_write(args: &[Vec<u8>]) -> bool {
    matches!(commands::lookup(args), Lookup::Found(spec) if spec.flags & commands::WRITE != 0)
}

/// `%.*s` of a C string: stops at the first NUL and at `max` bytes.
fn c_str(arg: &[u8], max: usize) -> String {
    let end = arg.iter().position(|&b| b == 0).unwrap_or(arg.len()).min(max);
    String::from_utf8_lossy(&arg[..end]).into_owned()
}

/// redis-server's unknown-command error, argument preview included, newlines blanked.
fn unknown_command(args: &[Vec<u8>]) -> Frame {
    let mut preview = String::new();
    for a in &args[1..] {
        if preview.len() >= 128 {
            break;
        }
        let room = 128 - preview.len();
        preview.push_str(&format!("'{}' ", c_str(a, room)));
    }
    let msg = format!("ERR unknown command '{}', with args beginning with: {}", c_str(&args[0], 128), preview);
    Frame::err(msg.replace(['\r', '\n'], " "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send(node: &mut Node, now: Millis, conn: ConnId, line: &str) {
        let args = crate::split_args(line.as_bytes()).unwrap();
        node.handle_input(now, Input::Received { conn, bytes: &crate::resp::encode_command(&args) });
        while node.poll_output().is_some() {}
    }

    /// The workload of exp2 (SPEC §17.1), offsets measured on redis-server 7.0.15.
    #[test]
    fn stream_offsets_match_the_measured_exp2_workload() {
        let now = Millis(1_795_547_650_329);
        let mut node = Node::new(Config::default(), 3, now);
        node.server.repl.create_backlog(1 << 20);
        let c = node.accept(now, "127.0.0.1:1", "127.0.0.1:6379");
        let steps: &[(&[&str], i64)] = &[
            (&["SET k1 v1"], 52),
            (&["INCR counter"], 79),
            (&["EXPIRE k1 100"], 126),
            (&["SET k2 v2 EX 100"], 185),
            (&["SELECT 3", "SET k3 v3"], 237),
            (&["SET k4 v4"], 266),
            (&["SELECT 0", "DEL k2"], 310),
            (&["DEL nonexistent"], 310),
            (&["SET k1 v1"], 339),
            (&["MULTI", "SET a 1", "INCR b", "EXEC"], 416),
        ];
        for (lines, offset) in steps {
            for line in *lines {
                send(&mut node, now, c, line);
            }
            assert_eq!(node.server.repl.offset, *offset, "after {lines:?}");
        }
        let b = node.server.repl.backlog.as_ref().unwrap();
        let stream = b.from_offset(1).unwrap();
        let text = String::from_utf8_lossy(&stream);
        assert!(text.starts_with("*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$2\r\nk1\r\n$2\r\nv1\r\n"));
        assert!(text.contains("*3\r\n$9\r\nPEXPIREAT\r\n$2\r\nk1\r\n$13\r\n1795547750329\r\n"), "{text}");
        assert!(text.contains("*5\r\n$3\r\nSET\r\n$2\r\nk2\r\n$2\r\nv2\r\n$4\r\nPXAT\r\n$13\r\n1795547750329\r\n"));
    }

    /// SPEC §5.2 / exp7: how commands are rewritten for replicas.
    #[test]
    fn commands_are_rewritten_like_redis_7_0() {
        let now = Millis(1_700_000_000_000);
        let mut node = Node::new(Config::from_args(&["--enable-debug-command", "yes"]).unwrap(), 3, now);
        let c = node.accept(now, "127.0.0.1:1", "127.0.0.1:6379");
        send(&mut node, now, c, "SADD st a b c d");
        send(&mut node, now, c, "SET lazy 1 PX 1");
        node.server.repl.create_backlog(1 << 20);
        node.server.repl.seldb = 0;
        let cases: &[(&str, &str)] = &[
            ("SETEX k 100 v", "SET k v PXAT 1700000100002"),
            ("SET k v EXAT 4102444800", "SET k v PXAT 4102444800000"),
            ("PEXPIRE k 5000", "PEXPIREAT k 1700000005002"),
            ("EXPIREAT k 4102444800", "PEXPIREAT k 4102444800000"),
            ("PERSIST k", "PERSIST k"),
            ("PERSIST k", ""),
            ("GETEX k EX 100", "PEXPIREAT k 1700000100002"),
            ("GETEX k PERSIST", "PERSIST k"),
            ("GETDEL k", "DEL k"),
            ("SET k v KEEPTTL", "SET k v KEEPTTL"),
            ("set k v get", "set k v"),
            ("set k w nx get", ""),
            ("INCRBYFLOAT fl 0.5", "SET fl 0.5 KEEPTTL"),
            ("GETSET fl 1", "SET fl 1"),
            ("incrby i 0", "incrby i 0"),
            ("EXPIRE i -1", "DEL i"),
            ("expire nokey 10", ""),
            ("del nokey", ""),
            ("rename fl fl", ""),
            ("lpop nolist 0", ""),
            ("MULTI", ""),
            ("GET k", ""),
            ("EXEC", ""),
            ("MULTI", ""),
            ("SET m1 1", ""),
            ("EXEC", "SET m1 1"),
            ("SPOP st 4", "DEL st"),
            ("DEBUG SET-ACTIVE-EXPIRE 0", ""),
            ("GET lazy", "DEL lazy"),
            ("flushdb", "flushdb"),
        ];
        for (cmd, expected) in cases {
            let before = node.server.repl.offset;
            send(&mut node, now.saturating_add(2), c, cmd);
            let b = node.server.repl.backlog.as_ref().unwrap();
            let got = b.from_offset(before + 1).unwrap();
            let want = if expected.is_empty() {
                Vec::new()
            } else {
                crate::resp::encode_command(&crate::split_args(expected.as_bytes()).unwrap())
            };
            assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&want), "{cmd}");
        }
    }

    #[test]
    fn lazy_expiry_inside_a_write_is_wrapped_with_it() {
        let now = Millis(1_700_000_000_000);
        let mut node = Node::new(Config::from_args(&["--enable-debug-command", "yes"]).unwrap(), 3, now);
        let c = node.accept(now, "127.0.0.1:1", "127.0.0.1:6379");
        send(&mut node, now, c, "DEBUG SET-ACTIVE-EXPIRE 0");
        send(&mut node, now, c, "SET j v PX 20");
        node.server.repl.create_backlog(1 << 20);
        node.server.repl.seldb = 0;
        send(&mut node, now.saturating_add(50), c, "incr j");
        let b = node.server.repl.backlog.as_ref().unwrap();
        let got = b.from_offset(1).unwrap();
        let mut want = crate::resp::encode_command(&["MULTI"]);
        want.extend(crate::resp::encode_command(&["DEL", "j"]));
        want.extend(crate::resp::encode_command(&["incr", "j"]));
        want.extend(crate::resp::encode_command(&["EXEC"]));
        assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&want), "measured on 7.0.15 with redis-cli --replica");
    }
}

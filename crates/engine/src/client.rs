//! One connected client: its parser, selected DB, auth state, transaction queue and name.

use crate::resp::RequestParser;
use crate::time::Millis;

/// What a connection announced with REPLCONF before (or after) it PSYNCs.
#[derive(Clone, Debug, Default)]
pub struct ReplConf {
    pub listening_port: i64,
    pub announced_ip: Option<String>,
    pub capa_eof: bool,
    pub capa_psync2: bool,
}

/// Where a replica connection is in its synchronisation (INFO `state=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplicaState {
    /// Waiting for a snapshot to start (not fed: it will get the data through the snapshot).
    WaitBgsaveStart,
    /// The snapshot is being produced: the stream accumulates in its buffer.
    WaitBgsaveEnd,
    Online,
}

impl ReplicaState {
    pub fn info_name(self) -> &'static str {
        match self {
            ReplicaState::WaitBgsaveStart | ReplicaState::WaitBgsaveEnd => "wait_bgsave",
            ReplicaState::Online => "online",
        }
    }
}

/// The master-side view of one attached replica.
#[derive(Clone, Debug)]
pub struct ReplicaLink {
    pub state: ReplicaState,
    /// Offset the replica's stream starts after (`psync_initoff`).
    pub initial_offset: i64,
    pub ack_offset: i64,
    pub ack_time: Millis,
    /// Stream bytes held back until the snapshot is delivered (or the first ACK arrives).
    pub pending: Vec<u8>,
    /// Diskless: the stream starts at the first REPLCONF ACK.
    pub stream_on_ack: bool,
    /// Old SYNC: no +FULLRESYNC line, and never diskless.
    pub pre_psync: bool,
    /// When it started waiting (diskless delay) and when the buffer went over the soft limit.
    pub waiting_since: Millis,
    pub soft_limit_since: Option<Millis>,
}

#[derive(Clone, Debug, Default)]
pub struct Multi {
    pub queue: Vec<Vec<Vec<u8>>>,
    /// A command was refused while queuing: EXEC answers EXECABORT.
    pub dirty: bool,
}

#[derive(Clone, Debug)]
pub struct Client {
    pub id: u64,
    pub addr: String,
    pub laddr: String,
    pub name: Vec<u8>,
    pub db: usize,
    pub authenticated: bool,
    pub multi: Option<Multi>,
    pub parser: RequestParser,
    pub created: Millis,
    pub last_interaction: Millis,
    /// Full name of the last command run (`client|list`), for CLIENT LIST's `cmd=`.
    pub last_cmd: &'static str,
    /// Replies not yet handed to the driver.
    pub out: Vec<u8>,
    /// Close once `out` is flushed (QUIT, protocol errors, CLIENT KILL).
    pub close_after_reply: bool,
    pub repl_conf: ReplConf,
    /// Set once the connection PSYNCs or SYNCs: it is a replica from then on.
    pub replica: Option<ReplicaLink>,
    /// This connection is our master: its commands are the replication stream.
    pub is_master: bool,
    /// Closed because its bytes were not RESP.
    pub protocol_error: bool,
    /// `master_repl_offset` right after this client's last command (what WAIT waits for).
    pub woff: i64,
    /// Blocked in WAIT or by a write pause: its input waits.
    pub blocked: bool,
    /// The write command a FAILOVER pause is holding back.
    pub deferred: Option<Vec<Vec<u8>>>,
}

impl Client {
    pub fn new(id: u64, addr: String, laddr: String, now: Millis, authenticated: bool) -> Client {
        Client {
            id,
            addr,
            laddr,
            name: Vec::new(),
            db: 0,
            authenticated,
            multi: None,
            parser: RequestParser::new(),
            created: now,
            last_interaction: now,
            last_cmd: "NULL",
            out: Vec::new(),
            close_after_reply: false,
            repl_conf: ReplConf::default(),
            replica: None,
            is_master: false,
            protocol_error: false,
            woff: 0,
            blocked: false,
            deferred: None,
        }
    }

    /// `ip:port` Redis names a replica by in its logs (announced ip, listening port).
    pub fn replica_name(&self) -> String {
        format!("{}:{}", self.replica_ip(), self.repl_conf.listening_port)
    }

    /// The address a replica is reported at: its announced ip, else the peer's.
    pub fn replica_ip(&self) -> String {
        match &self.repl_conf.announced_ip {
            Some(ip) => ip.clone(),
            None => self.addr.rsplit_once(':').map(|(ip, _)| ip.to_string()).unwrap_or_default(),
        }
    }

    /// One CLIENT LIST line in redis-server 7.0's field order.
    pub fn list_line(&self, now: Millis) -> String {
        let age = now.saturating_sub(self.created) / 1000;
        let idle = now.saturating_sub(self.last_interaction) / 1000;
        let (multi, flags) = match (&self.multi, &self.replica) {
            _ if self.is_master => (-1, "M"),
            (_, Some(_)) => (-1, "S"),
            (Some(m), None) => (m.queue.len() as i64, "x"),
            (None, None) => (-1, "N"),
        };
        let qbuf = self.parser.buffered();
        format!(
            "id={} addr={} laddr={} fd=8 name={} age={} idle={} flags={} db={} sub=0 psub=0 ssub=0 multi={} qbuf={} qbuf-free={} argv-mem=0 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 omem=0 tot-mem=22298 events=r cmd={} user=default redir=-1 resp=2",
            self.id,
            self.addr,
            self.laddr,
            String::from_utf8_lossy(&self.name),
            age,
            idle,
            flags,
            self.db,
            multi,
            qbuf,
            20474usize.saturating_sub(qbuf),
            self.last_cmd,
        )
    }
}

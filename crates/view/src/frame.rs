//! One frame of the visualizer: everything the page draws at one virtual time, as plain data.
//!
//! Built from the simulator's public state and trace only (see `run.rs`), so the UI never
//! reaches into an engine. Components render these structs and nothing else.

use replscope_sim::Payload;

/// A node as drawn in the topology.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeView {
    pub name: String,
    pub state: NodeState,
    /// "master" or "replica" (empty while down).
    pub role: String,
    /// The node it replicates from (configured master), if a replica.
    pub master: Option<String>,
    /// ROLE's link word for a replica: connect, connecting, handshake, sync, connected.
    pub link_state: String,
    pub link_up: bool,
    /// First 8 characters of the replication ID.
    pub replid_short: String,
    pub replid: String,
    pub replid2: String,
    pub master_repl_offset: i64,
    /// `slave_repl_offset` on a replica.
    pub slave_repl_offset: Option<i64>,
    pub keys: usize,
    /// Writes the node's RDB to disk (`save` configured or `appendonly`): a restart keeps data.
    pub persistence: bool,
    /// A full sync in progress on this replica: bytes of the payload read, and the total (-1
    /// while streaming diskless with an unknown size); or loading.
    pub sync: Option<SyncPhase>,
    /// Replicas as this node (a master) sees them.
    pub replicas: Vec<ReplicaSeen>,
    /// Position in the topology, in layout units (see `layout.rs`).
    pub x: f64,
    pub y: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeState {
    Up,
    /// In DEBUG SLEEP: alive but not answering.
    Paused,
    Down,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SyncPhase {
    /// The replica waits for the master's snapshot (the master is writing its RDB).
    Waiting,
    /// The payload is arriving.
    Transfer { read: i64, total: i64 },
    /// The payload is in; the replica loads it.
    Loading,
}

/// One attached replica as its master sees it (INFO's `slaveN` line).
#[derive(Clone, Debug, PartialEq)]
pub struct ReplicaSeen {
    pub name: String,
    /// wait_bgsave / online.
    pub state: String,
    pub ack_offset: i64,
    pub lag_seconds: u64,
}

/// A replication edge: replica → its master, with the link settings between them.
#[derive(Clone, Debug, PartialEq)]
pub struct EdgeView {
    pub replica: String,
    pub master: String,
    pub up: bool,
    /// Either direction cut.
    pub cut: bool,
    pub latency_ms: u64,
    pub bytes_per_ms: u64,
}

/// Bytes on their way along a link.
#[derive(Clone, Debug, PartialEq)]
pub struct MessageView {
    /// Index of its `Sent` entry in the trace: stable across frames (a key for the UI).
    pub id: usize,
    pub conn: u64,
    pub from: String,
    pub to: String,
    pub payload: Payload,
    pub bytes: usize,
    /// Bytes of it the receiver has got so far.
    pub delivered: usize,
    /// 0.0 at the sender, 1.0 at the receiver: how far the head of the message has travelled.
    pub progress: f64,
    /// Held by a cut link (TCP retransmitting).
    pub held: bool,
    pub sent_at: u64,
    /// The first bytes, escaped (`\r\n` shown as such).
    pub preview: String,
}

/// A node's replication backlog as a strip: the window of history it can still serve.
#[derive(Clone, Debug, PartialEq)]
pub struct BacklogView {
    pub node: String,
    /// repl-backlog-size.
    pub size: usize,
    pub first_byte_offset: i64,
    /// The last byte held (master_repl_offset).
    pub last_offset: i64,
    pub histlen: i64,
    /// Each attached replica's acknowledged offset.
    pub acks: Vec<(String, i64)>,
}

/// A PSYNC decision by a master, spelled out.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub at: u64,
    pub master: String,
    pub replica: String,
    pub partial: bool,
    /// "asked for 10,240, backlog holds 16,384–32,767: full resync".
    pub text: String,
}

/// The narration of a preset: the step just played and where it stands.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Narration {
    pub title: String,
    pub description: String,
    /// Index of the last played step with narration (None before the first).
    pub current: Option<usize>,
    pub text: String,
    /// Narrated steps: (time, text).
    pub steps: Vec<(u64, String)>,
}

/// Everything drawn at one moment.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Frame {
    pub time_ms: u64,
    /// The furthest time this history has been computed to (the timeline's end).
    pub frontier_ms: u64,
    /// The earliest moment kept (a long run forgets its beginning).
    pub earliest_ms: u64,
    pub nodes: Vec<NodeView>,
    pub edges: Vec<EdgeView>,
    pub messages: Vec<MessageView>,
    pub backlogs: Vec<BacklogView>,
    pub decisions: Vec<Decision>,
    pub narration: Narration,
}

impl Frame {
    pub fn node(&self, name: &str) -> Option<&NodeView> {
        self.nodes.iter().find(|n| n.name == name)
    }
}

//! The trace: everything that happened, in order, for the UI to animate and tests to check.

use serde::Serialize;

/// What a chunk of bytes on a link is, read from the bytes themselves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Payload {
    /// PING, REPLCONF listening-port/capa, AUTH, PSYNC/SYNC and their replies.
    Handshake,
    /// +FULLRESYNC / +CONTINUE.
    SyncReply,
    /// Part of an RDB payload (`$len` or `$EOF:` transfer).
    RdbChunk,
    /// A `\n` keepalive.
    Keepalive,
    /// The master's periodic `ping` in the stream.
    Ping,
    /// REPLCONF ACK from a replica.
    Ack,
    /// REPLCONF GETACK from a master.
    GetAck,
    /// Replicated writes.
    Stream,
    /// A client's command or a reply to it.
    Client,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TraceKind {
    NodeStarted { node: String, restored: bool },
    NodeCrashed { node: String },
    Connect { conn: u64, from: String, to: String },
    Connected { conn: u64 },
    ConnectFailed { conn: u64, reason: String },
    Closed { conn: u64, by: String },
    Sent { conn: u64, from: String, to: String, bytes: usize, payload: Payload, preview: String },
    Delivered { conn: u64, to: String, bytes: usize },
    Log { node: String, line: String },
    Command { client: u64, node: String, line: String },
    Reply { client: u64, node: String, reply: String },
    /// A role, replication ID or link-state change (`link` is empty on a master).
    Role { node: String, role: String, link: String, replid: String, offset: i64 },
    LinkChanged { a: String, b: String, latency_ms: u64, bytes_per_ms: u64, cut: bool },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TraceEntry {
    /// Virtual milliseconds since the world started.
    pub at: u64,
    #[serde(flatten)]
    pub kind: TraceKind,
}

/// Names the bytes a node sent, by their first bytes and the connection's role.
pub fn classify(bytes: &[u8], replication_link: bool, from_master: bool) -> Payload {
    if !replication_link {
        return Payload::Client;
    }
    let starts = |p: &[u8]| bytes.starts_with(p);
    if bytes.iter().all(|&b| b == b'\n') {
        return Payload::Keepalive;
    }
    // Keepalive newlines can ride in front of the reply in the same write.
    let reply = &bytes[bytes.iter().take_while(|&&b| b == b'\n').count()..];
    if reply.starts_with(b"+FULLRESYNC") || reply.starts_with(b"+CONTINUE") {
        return Payload::SyncReply;
    }
    if starts(b"*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK") {
        return Payload::Ack;
    }
    if starts(b"*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK") {
        return Payload::GetAck;
    }
    if starts(b"*1\r\n$4\r\nping\r\n") {
        return Payload::Ping;
    }
    if from_master {
        if starts(b"$") || !starts(b"*") && !starts(b"+") && !starts(b"-") {
            return Payload::RdbChunk;
        }
        if starts(b"+") || starts(b"-") {
            return Payload::Handshake;
        }
        return Payload::Stream;
    }
    Payload::Handshake
}

/// A short printable preview of bytes for the UI (first 60 bytes, escaped).
pub fn preview(bytes: &[u8]) -> String {
    let mut s = String::new();
    for &b in bytes.iter().take(60) {
        match b {
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    if bytes.len() > 60 {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod classify_tests {
    use super::*;

    #[test]
    fn a_sync_reply_behind_keepalive_newlines_is_still_a_sync_reply() {
        assert_eq!(classify(b"\n+FULLRESYNC abc 1\r\n", true, true), Payload::SyncReply);
        assert_eq!(classify(b"\n\n+CONTINUE abc\r\n", true, true), Payload::SyncReply);
        assert_eq!(classify(b"\n", true, true), Payload::Keepalive);
        assert_eq!(classify(b"$10\r\nREDIS0010", true, true), Payload::RdbChunk);
    }
}

//! The replication stream of a master: replication IDs, `master_repl_offset`, the backlog and
//! how each command's writes become stream bytes (replication.c `replicationFeedSlaves`,
//! server.c `propagatePendingCommands`).
//!
//! Commands queue what they propagate during their execution; when the top-level command (or
//! EXEC) ends, the queue is written out: wrapped in MULTI/EXEC when it holds more than one
//! write (a lazy-expiry DEL counts), each preceded by SELECT when its DB differs from the last
//! one the stream selected. With no backlog nothing is written and the offset does not move,
//! exactly as in Redis 7.0.

use crate::backlog::Backlog;
use crate::resp::{encode_command, encode_command_into};

pub const ZERO_ID: &str = "0000000000000000000000000000000000000000";

#[derive(Clone, Debug)]
pub struct ReplState {
    pub replid: String,
    pub replid2: String,
    /// `master_repl_offset`.
    pub offset: i64,
    /// `second_repl_offset`: replid2 is valid for PSYNC offsets up to this one (-1: unset).
    pub second_offset: i64,
    pub backlog: Option<Backlog>,
    /// `slaveseldb`: the DB the stream last selected (-1 forces a SELECT).
    pub seldb: i64,
    /// Writes of the command being executed: their DB and where their RESP encoding lies in
    /// `pending_bytes` (encoded once, when queued).
    pending: Vec<(usize, std::ops::Range<usize>)>,
    pending_bytes: Vec<u8>,
    /// Stream bytes written since the node last handed them to its replicas.
    outbox: Vec<u8>,
    /// A replica never writes its own stream: it forwards its master's.
    pub is_replica: bool,
}

impl ReplState {
    pub fn new(replid: String) -> ReplState {
        ReplState {
            replid,
            replid2: ZERO_ID.to_string(),
            offset: 0,
            second_offset: -1,
            backlog: None,
            seldb: -1,
            pending: Vec::new(),
            pending_bytes: Vec::new(),
            outbox: Vec::new(),
            is_replica: false,
        }
    }

    /// Queues one write of the running command.
    pub fn propagate<A: AsRef<[u8]>>(&mut self, db: usize, args: &[A]) {
        if !self.is_replica {
            let start = self.pending_bytes.len();
            encode_command_into(&mut self.pending_bytes, args);
            self.pending.push((db, start..self.pending_bytes.len()));
        }
    }

    /// Ends the running command: writes its queued writes to the stream.
    pub fn flush_pending(&mut self) {
        let Some((first_db, _)) = self.pending.first() else { return };
        let first_db = *first_db;
        let ops = std::mem::take(&mut self.pending);
        let bytes = std::mem::take(&mut self.pending_bytes);
        let wrap = ops.len() > 1;
        if wrap {
            // MULTI carries the first write's DB, so its SELECT comes before MULTI.
            self.feed(Some(first_db), &encode_command(&[b"MULTI"]));
        }
        let last_db = ops.last().map(|(db, _)| *db);
        for (db, range) in &ops {
            self.feed(Some(*db), &bytes[range.clone()]);
        }
        if wrap {
            self.feed(last_db, &encode_command(&[b"EXEC"]));
        }
        // Keep both buffers' capacity for the next command.
        self.pending = ops;
        self.pending.clear();
        self.pending_bytes = bytes;
        self.pending_bytes.clear();
    }

    /// Appends one encoded command to the stream (with a SELECT first if `db` differs).
    fn feed(&mut self, db: Option<usize>, command: &[u8]) {
        if self.backlog.is_none() {
            return;
        }
        if let Some(db) = db {
            if db as i64 != self.seldb {
                let select = encode_command(&[b"SELECT".to_vec(), db.to_string().into_bytes()]);
                self.append(&select);
                self.seldb = db as i64;
            }
        }
        self.append(command);
    }

    /// Raw stream bytes: into the backlog, advancing the offset.
    pub fn append(&mut self, bytes: &[u8]) {
        let Some(backlog) = self.backlog.as_mut() else { return };
        backlog.append(bytes, None);
        self.offset += bytes.len() as i64;
        self.outbox.extend_from_slice(bytes);
    }

    /// A command written as is, with no SELECT (the master's periodic `ping`).
    pub fn feed_raw_command(&mut self, args: &[Vec<u8>]) {
        self.feed(None, &encode_command(args));
    }

    /// The bytes written since the last call, for the replicas' buffers (hand the buffer back
    /// with `return_outbox` to reuse it).
    pub fn take_outbox(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.outbox)
    }

    /// Gives back the buffer `take_outbox` returned, emptied, unless new bytes came meanwhile.
    pub fn return_outbox(&mut self, mut buf: Vec<u8>) {
        if self.outbox.is_empty() {
            buf.clear();
            self.outbox = buf;
        }
    }

    /// Creates the backlog at the current offset (replication will do this when the first
    /// replica needs a full sync).
    pub fn create_backlog(&mut self, size: usize) {
        self.backlog = Some(Backlog::new(size, self.offset));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<Vec<u8>> {
        a.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    fn stream(r: &ReplState) -> String {
        let b = r.backlog.as_ref().unwrap();
        String::from_utf8(b.from_offset(b.first_byte_offset()).unwrap()).unwrap()
    }

    #[test]
    fn no_backlog_means_no_offset_movement() {
        let mut r = ReplState::new("x".into());
        r.propagate(0, &args(&["SET", "a", "1"]));
        r.flush_pending();
        assert_eq!(r.offset, 0);
    }

    #[test]
    fn select_is_emitted_on_db_change_and_multi_wraps_several_writes() {
        let mut r = ReplState::new("x".into());
        r.create_backlog(1 << 20);
        r.propagate(0, &args(&["SET", "a", "1"]));
        r.flush_pending();
        assert_eq!(r.offset, 50, "SELECT 0 (23) + SET a 1 (27), as exp1 measured");
        r.propagate(2, &args(&["SET", "m3", "3"]));
        r.propagate(0, &args(&["SET", "m4", "4"]));
        r.flush_pending();
        let s = stream(&r);
        let tail = &s[50..];
        assert_eq!(
            tail,
            "*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$2\r\nm3\r\n$1\r\n3\r\n\
             *2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$2\r\nm4\r\n$1\r\n4\r\n*1\r\n$4\r\nEXEC\r\n"
        );
    }
}

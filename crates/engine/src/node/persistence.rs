//! Persistence: SAVE, BGSAVE, LASTSAVE, the `save` rules, the snapshot SHUTDOWN writes, and a
//! node restarting from its RDB file (rdb.c, server.c `loadDataFromDisk`).
//!
//! The engine never touches a disk: a snapshot leaves as `Output::SaveRdb` and the driver keeps
//! the bytes (a file for `replscope-node`, a simulated disk in the simulator); a restart hands
//! them back to `Node::restore`.

use super::{replica, LogLevel, Node, Output};
use crate::config::Config;
use crate::rdb;
use crate::resp::Frame;
use crate::stream::ZERO_ID;
use crate::time::Millis;

/// A BGSAVE that is not for replication ("the RDB child").
#[derive(Clone, Debug)]
pub struct BackgroundSave {
    pub rdb: Vec<u8>,
    pub started: Millis,
    pub ends_at: Millis,
}

/// Persistence counters INFO reports.
#[derive(Clone, Debug, Default)]
pub struct SaveState {
    /// `server.dirty`: writes since the last successful save.
    pub dirty: u64,
    pub last_save: Millis,
    pub saves: u64,
    pub last_bgsave_secs: i64,
    pub background: Option<BackgroundSave>,
    pub loaded_keys: u64,
    pub loaded_expired: u64,
}

impl Node {
    /// A node restarting with the RDB file it saved before (persistence on). A master keeps
    /// the file's history as replid2 so its replicas can continue partially; a replica
    /// (started with `--replicaof`) resumes as a cached master from the file's offset.
    pub fn restore(config: Config, seed: u64, now: Millis, rdb_bytes: &[u8]) -> Result<Node, String> {
        let mut node = Node::init(config, seed, now);
        let loaded = crate::rdb_load::load(rdb_bytes, node.server.dbs.len()).map_err(|e| e.to_string())?;
        let repl_id = loaded.aux.get("repl-id").map(|v| String::from_utf8_lossy(v).into_owned());
        let repl_offset: Option<i64> = loaded.aux.get("repl-offset").and_then(|v| std::str::from_utf8(v).ok()?.parse().ok());
        let stream_db: Option<usize> = loaded.aux.get("repl-stream-db").and_then(|v| std::str::from_utf8(v).ok()?.parse().ok());
        node.server.dbs = loaded.dbs;
        while node.server.dbs.len() < node.server.config.int("databases").max(1) as usize {
            node.server.dbs.push(Default::default());
        }
        let keys: usize = node.server.dbs.iter().map(|d| d.len()).sum();
        node.server.save.loaded_keys = keys as u64;
        node.server.save.last_save = now;
        node.log(LogLevel::Notice, format!("Loading RDB produced by version {}", crate::REDIS_VERSION));
        node.log(LogLevel::Notice, "Done loading RDB, keys loaded: ".to_string() + &keys.to_string() + ", keys expired: 0.");
        node.log(LogLevel::Notice, "DB loaded from disk: 0.000 seconds");
        if let (Some(id), Some(off), Some(db)) = (repl_id, repl_offset, stream_db) {
            if id.len() == 40 && id != ZERO_ID {
                if let Some(link) = node.link.as_mut() {
                    // A replica continues from where its file left it.
                    node.server.repl.replid = id.clone();
                    node.server.repl.offset = off;
                    link.cached = Some(replica::Cached { replid: id, reploff: off, read_reploff: off, db });
                } else {
                    // A master: the file's history stays reachable as replid2.
                    let size = node.server.config.int("repl-backlog-size").max(0) as usize;
                    node.server.repl.offset = off;
                    node.server.repl.replid2 = id;
                    node.server.repl.second_offset = off + 1;
                    node.server.repl.create_backlog(size);
                    node.server.no_replicas_since = now;
                }
            }
        }
        node.delete_expired_after_load(now);
        node.log(LogLevel::Notice, "Ready to accept connections");
        Ok(node)
    }

    /// A master drops the keys that expired while it was down (and its stream says so).
    fn delete_expired_after_load(&mut self, now: Millis) {
        if self.link.is_some() {
            return;
        }
        let mut expired = 0;
        for db in 0..self.server.dbs.len() {
            for key in self.server.dbs[db].expired_keys(now.as_u64(), usize::MAX) {
                self.server.dbs[db].remove(&key);
                self.server.repl.propagate(db, &[&b"DEL"[..], &key]);
                self.server.repl.flush_pending();
                expired += 1;
            }
        }
        self.server.save.loaded_expired = expired;
    }

    fn snapshot(&self, now: Millis) -> Vec<u8> {
        let r = &self.server.repl;
        // `rdbPopulateSaveInfo`: a replica records its master client's DB, a master the
        // DB its stream last selected.
        let stream_db = match self.link.as_ref().and_then(|l| l.master_client).and_then(|m| self.clients.get(&m)) {
            Some(master) => master.db as i64,
            None => r.seldb.max(0),
        };
        let repl = (r.backlog.is_some() || self.link.is_some()).then(|| rdb::ReplInfo {
            stream_db,
            replid: r.replid.clone(),
            offset: r.offset,
        });
        rdb::dump(&self.server.dbs, &rdb::Header { unix_seconds: now.unix_seconds(), used_mem: 0, repl })
    }

    /// SAVE: a blocking snapshot.
    pub(super) fn save_command(&mut self, now: Millis) -> Frame {
        if self.server.save.background.is_some() {
            return Frame::err("ERR Background save already in progress");
        }
        let bytes = self.snapshot(now);
        self.saved(now, bytes);
        self.log(LogLevel::Notice, "DB saved on disk");
        Frame::ok()
    }

    /// BGSAVE [SCHEDULE].
    pub(super) fn bgsave_command(&mut self, now: Millis, a: &[Vec<u8>]) -> Frame {
        if a.len() > 2 || (a.len() == 2 && !a[1].eq_ignore_ascii_case(b"schedule")) {
            return crate::commands::syntax_error();
        }
        if self.server.save.background.is_some() {
            return Frame::err("ERR Background save already in progress");
        }
        self.start_background_save(now);
        Frame::Simple("Background saving started".into())
    }

    fn start_background_save(&mut self, now: Millis) {
        let bytes = self.snapshot(now);
        let took = (bytes.len() / 200_000) as u64 + 1;
        self.server.save.background = Some(BackgroundSave { rdb: bytes, started: now, ends_at: now.saturating_add(took) });
        self.log(LogLevel::Notice, "Background saving started");
    }

    /// Cron: finish a background save, or start one when a `save` rule matches.
    pub(super) fn persistence_cron(&mut self, now: Millis) {
        if let Some(b) = &self.server.save.background {
            if b.ends_at <= now {
                if let Some(b) = self.server.save.background.take() {
                    self.server.save.last_bgsave_secs = now.saturating_sub(b.started) as i64 / 1000;
                    self.saved(now, b.rdb);
                    self.log(LogLevel::Notice, "Background saving terminated with success");
                }
            }
            return;
        }
        let rules: Vec<u64> = self.server.config.text("save").split_whitespace().filter_map(|n| n.parse().ok()).collect();
        let since = now.unix_seconds().saturating_sub(self.server.save.last_save.unix_seconds());
        for pair in rules.chunks(2) {
            let [seconds, changes] = [pair[0], *pair.get(1).unwrap_or(&u64::MAX)];
            if self.server.save.dirty >= changes && since > seconds {
                self.log(LogLevel::Notice, format!("{changes} changes in {seconds} seconds. Saving..."));
                self.start_background_save(now);
                return;
            }
        }
    }

    fn saved(&mut self, now: Millis, bytes: Vec<u8>) {
        self.server.save.dirty = 0;
        self.server.save.last_save = now;
        self.server.save.saves += 1;
        self.outputs.push_back(Output::SaveRdb { bytes });
    }

    /// SHUTDOWN with saving: the final snapshot leaves before the node stops.
    pub(super) fn final_save(&mut self, now: Millis) {
        self.server.save.background = None;
        let bytes = self.snapshot(now);
        self.saved(now, bytes);
        self.log(LogLevel::Notice, "DB saved on disk");
    }

    /// INFO persistence, in 7.0's field order.
    pub(super) fn persistence_info(&self, now: Millis) -> Vec<String> {
        let s = &self.server.save;
        let loading = self.link.as_ref().is_some_and(|l| l.loading_until.is_some());
        let current = s.background.as_ref().map(|b| now.saturating_sub(b.started) as i64 / 1000).unwrap_or(-1);
        vec![
            format!("loading:{}", loading as u8),
            "async_loading:0".into(),
            "current_cow_peak:0".into(),
            "current_cow_size:0".into(),
            "current_cow_size_age:0".into(),
            "current_fork_perc:0.00".into(),
            "current_save_keys_processed:0".into(),
            "current_save_keys_total:0".into(),
            format!("rdb_changes_since_last_save:{}", s.dirty),
            format!("rdb_bgsave_in_progress:{}", s.background.is_some() as u8),
            format!("rdb_last_save_time:{}", s.last_save.unix_seconds()),
            "rdb_last_bgsave_status:ok".into(),
            format!("rdb_last_bgsave_time_sec:{}", if s.saves > 0 { s.last_bgsave_secs } else { -1 }),
            format!("rdb_current_bgsave_time_sec:{current}"),
            format!("rdb_saves:{}", s.saves),
            "rdb_last_cow_size:0".into(),
            format!("rdb_last_load_keys_expired:{}", s.loaded_expired),
            format!("rdb_last_load_keys_loaded:{}", s.loaded_keys),
            format!("aof_enabled:{}", self.server.config.bool("appendonly") as u8),
            "aof_rewrite_in_progress:0".into(),
            "aof_rewrite_scheduled:0".into(),
            "aof_last_rewrite_time_sec:-1".into(),
            "aof_current_rewrite_time_sec:-1".into(),
            "aof_last_bgrewrite_status:ok".into(),
            "aof_rewrites:0".into(),
            "aof_rewrites_consecutive_failures:0".into(),
            "aof_last_write_status:ok".into(),
            "aof_last_cow_size:0".into(),
            "module_fork_in_progress:0".into(),
            "module_fork_last_cow_size:0".into(),
        ]
    }
}

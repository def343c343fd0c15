//! Node-wide state shared by every command: databases, configuration, counters, RNG.

use crate::config::Config;
use crate::keyspace::{Db, Entry};
use crate::rng::Rng;
use crate::stream::ReplState;
use crate::time::Millis;

/// Counters INFO reports (only the ones the engine can honestly keep).
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub total_connections_received: u64,
    pub total_commands_processed: u64,
    pub total_net_input_bytes: u64,
    pub total_net_output_bytes: u64,
    pub rejected_connections: u64,
    pub sync_full: u64,
    pub sync_partial_ok: u64,
    pub sync_partial_err: u64,
    pub expired_keys: u64,
    pub evicted_keys: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub total_error_replies: u64,
    pub total_reads_processed: u64,
    pub total_writes_processed: u64,
    /// INFO commandstats: calls, rejected and failed calls per command.
    pub commands: std::collections::BTreeMap<&'static str, CommandStat>,
    /// INFO errorstats: error replies by their first word.
    pub errors: std::collections::BTreeMap<String, u64>,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct CommandStat {
    pub calls: u64,
    pub rejected: u64,
    pub failed: u64,
}

/// How a SHUTDOWN asked the node to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShutdownMode {
    Save,
    NoSave,
    Default,
}

#[derive(Clone, Debug)]
pub struct Server {
    pub config: Config,
    pub dbs: Vec<Db>,
    pub stats: Stats,
    pub rng: Rng,
    pub run_id: String,
    /// Replication IDs, offset, backlog and the stream writer.
    pub repl: ReplState,
    pub started: Millis,
    /// DEBUG SET-ACTIVE-EXPIRE.
    pub active_expire: bool,
    /// Set by SHUTDOWN; the node stops once the reply queue is flushed.
    pub shutdown: Option<ShutdownMode>,
    /// DEBUG SLEEP: the whole node is blocked until then, as redis-server's event loop is.
    pub sleep_until: Option<Millis>,
    pub connected_clients: usize,
    pub next_client_id: u64,
    /// Log lines produced by commands, drained into `Output::Log` by the node.
    pub log: Vec<(crate::LogLevel, String)>,
    /// What INFO server reports about the process hosting the engine.
    pub process_id: u32,
    pub executable: String,
    /// The snapshot being produced for replicas, if any.
    pub bgsave: Option<crate::node::master::Bgsave>,
    /// Replica connections in the order they attached (INFO lists them so).
    pub replica_order: Vec<u64>,
    pub no_replicas_since: Millis,
    /// Ticks of the 1 Hz replication cron since start (pings fall on its grid).
    pub repl_cron_loops: u64,
    /// INFO replication's role-specific lines (role, master link, slave<i>), refreshed by the
    /// node right before INFO runs.
    pub replication_head: Vec<String>,
    /// The command running was sent by our master (it sees keys as the master does).
    pub executing_master: bool,
    /// Replicas online and acking within min-replicas-max-lag (`repl_good_slaves_count`).
    pub good_replicas: usize,
    pub save: crate::node::persistence::SaveState,
    /// INFO persistence's lines, refreshed by the node right before INFO runs.
    pub persistence_lines: Vec<String>,
    /// INFO's `master_failover_state`, refreshed by the node right before INFO runs.
    pub failover_state: &'static str,
    /// INFO memory's `used_memory`, refreshed by the node right before INFO runs.
    pub used_memory: u64,
}

impl Server {
    pub fn new(config: Config, seed: u64, now: Millis) -> Server {
        let mut rng = Rng::new(seed);
        let run_id = rng.hex40();
        let replid = rng.hex40();
        let dbs = (0..config.int("databases").clamp(1, 1024)).map(|_| Db::default()).collect();
        Server {
            config,
            dbs,
            stats: Stats::default(),
            rng,
            run_id,
            repl: ReplState::new(replid),
            started: now,
            active_expire: true,
            shutdown: None,
            sleep_until: None,
            connected_clients: 0,
            next_client_id: 1,
            log: Vec::new(),
            process_id: 0,
            executable: String::new(),
            bgsave: None,
            replica_order: Vec::new(),
            no_replicas_since: now,
            repl_cron_loops: 0,
            replication_head: Vec::new(),
            executing_master: false,
            good_replicas: 0,
            save: crate::node::persistence::SaveState { last_save: now, ..Default::default() },
            persistence_lines: Vec::new(),
            failover_state: "no-failover",
            used_memory: 0,
        }
    }

    pub fn db(&self, db: usize) -> &Db {
        &self.dbs[db.min(self.dbs.len() - 1)]
    }

    pub fn db_mut(&mut self, db: usize) -> &mut Db {
        let last = self.dbs.len() - 1;
        &mut self.dbs[db.min(last)]
    }

    /// `expireIfNeeded`: true if `key` must be treated as missing. A master deletes it (and
    /// replicas get a DEL); a replica only hides it from its clients, keeping it until the
    /// master's DEL arrives, and shows it to the master's own commands.
    pub fn expire_if_needed(&mut self, db: usize, key: &[u8], now: Millis) -> bool {
        if !self.db(db).is_expired(key, now.as_u64()) {
            return false;
        }
        if self.repl.is_replica {
            return !self.executing_master;
        }
        self.db_mut(db).remove(key);
        self.stats.expired_keys += 1;
        self.save.dirty += 1;
        // Lazy expiry is a write of the running command: replicas get a DEL.
        self.repl.propagate(db, &[&b"DEL"[..], key]);
        true
    }

    /// A read lookup: expires first, counts keyspace hits and misses.
    pub fn lookup_read(&mut self, db: usize, key: &[u8], now: Millis) -> Option<&Entry> {
        if self.expire_if_needed(db, key, now) {
            self.stats.keyspace_misses += 1;
            return None;
        }
        self.db_mut(db).touch(key, now.as_u64());
        if self.db(db).contains(key) {
            self.stats.keyspace_hits += 1;
        } else {
            self.stats.keyspace_misses += 1;
        }
        self.db(db).get(key)
    }

    /// A write lookup: expires first, no hit/miss accounting.
    pub fn lookup_write(&mut self, db: usize, key: &[u8], now: Millis) -> Option<&mut Entry> {
        if self.expire_if_needed(db, key, now) {
            return None;
        }
        // One lookup for the touch and the entry: every write comes through here.
        let e = self.db_mut(db).get_mut(key)?;
        e.lru = now.as_u64();
        Some(e)
    }

    /// The active expire cycle: removes keys whose TTL passed, a bounded number per call.
    pub fn active_expire_cycle(&mut self, now: Millis) -> usize {
        // Replicas never expire keys themselves: they wait for their master's DELs.
        if !self.active_expire || self.repl.is_replica {
            return 0;
        }
        const PER_DB_LIMIT: usize = 200;
        let mut removed = 0;
        for db in 0..self.dbs.len() {
            for key in self.dbs[db].expired_keys(now.as_u64(), PER_DB_LIMIT) {
                self.dbs[db].remove(&key);
                self.stats.expired_keys += 1;
                self.repl.propagate(db, &[&b"DEL"[..], &key]);
                self.repl.flush_pending();
                removed += 1;
            }
        }
        removed
    }
}

//! `maxmemory` (evict.c `performEvictions`): before each command, while the estimated
//! `used_memory` is over the limit, evict keys chosen by `maxmemory-policy` and tell the
//! replicas with a DEL; with nothing left to evict, commands that would grow memory get -OOM.
//!
//! Candidates are sampled as Redis samples them (`maxmemory-samples` keys per database, best
//! one wins) but without Redis's cross-call eviction pool; LFU policies rank by recency, as
//! the engine keeps no access-frequency counter.

use super::{LogLevel, Node};
use crate::time::Millis;

impl Node {
    /// True when memory is over the limit and nothing could be evicted (EVICT_FAIL).
    pub(super) fn perform_evictions(&mut self, now: Millis) -> bool {
        let max = self.server.config.int("maxmemory").max(0) as u64;
        // Replicas ignore maxmemory (replica-ignore-maxmemory yes): their master decides.
        if max == 0 || self.link.is_some() {
            return false;
        }
        let policy = self.server.config.text("maxmemory-policy").to_string();
        let mut evicted = 0;
        while self.used_memory() > max {
            let Some((db, key)) = self.eviction_candidate(&policy, now) else {
                if evicted > 0 {
                    self.log(LogLevel::Verbose, format!("Evicted {evicted} keys, still over maxmemory"));
                }
                return true;
            };
            self.server.dbs[db].remove(&key);
            self.server.stats.evicted_keys += 1;
            self.server.save.dirty += 1;
            self.server.repl.propagate(db, &[&b"DEL"[..], &key]);
            self.server.repl.flush_pending();
            evicted += 1;
        }
        self.distribute_stream();
        false
    }

    fn eviction_candidate(&mut self, policy: &str, now: Millis) -> Option<(usize, Vec<u8>)> {
        let samples = self.server.config.int("maxmemory-samples").clamp(1, 64) as usize;
        let volatile = policy.starts_with("volatile");
        let random = policy.ends_with("random");
        if policy == "noeviction" {
            return None;
        }
        let mut best: Option<(u64, usize, Vec<u8>)> = None;
        for db in 0..self.server.dbs.len() {
            let pool = if volatile { self.server.dbs[db].expires_len() } else { self.server.dbs[db].len() };
            if pool == 0 {
                continue;
            }
            let tries = if random { 1 } else { samples.min(pool) };
            for _ in 0..tries {
                let n = self.server.rng.below(pool);
                let d = &self.server.dbs[db];
                let Some(key) = (if volatile { d.nth_volatile(n) } else { d.nth_key(n) }).map(<[u8]>::to_vec) else { continue };
                let Some(entry) = d.get(&key) else { continue };
                // Higher score evicts first: idle time for LRU/LFU, nearness of expiry for TTL.
                let score = if policy == "volatile-ttl" {
                    u64::MAX - entry.expire_at.unwrap_or(u64::MAX)
                } else if random {
                    0
                } else {
                    now.as_u64().saturating_sub(entry.lru)
                };
                if best.as_ref().is_none_or(|(s, _, _)| score > *s) {
                    best = Some((score, db, key));
                }
            }
            if random && best.is_some() {
                break;
            }
        }
        best.map(|(_, db, key)| (db, key))
    }
}

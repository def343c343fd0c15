//! The keyspace: 16 databases of typed values with absolute-millisecond expiry.
//!
//! Iteration (KEYS, SCAN, RANDOMKEY) walks keys in the order of a fixed 64-bit hash, so it
//! looks as unordered as Redis's dict but is the same on every platform and every run, and
//! a SCAN cursor is simply "the next hash to visit".

use std::collections::{BTreeSet, VecDeque};

use rustc_hash::FxHashMap;

use indexmap::{IndexMap, IndexSet};

use crate::small_bytes::SmallBytes;

/// A key of the keyspace (stored inline when short).
type Key = SmallBytes;
use crate::resp::string2ll;

/// `set-max-intset-entries`: beyond this a set of integers stops being an (ordered) intset.
pub const SET_MAX_INTSET_ENTRIES: usize = 512;

#[derive(Clone, Debug, PartialEq)]
/// The big containers are boxed: a value sits in the keyspace's hash slot, and a small slot
/// (one key, one pointer-sized value) keeps every lookup to fewer cache lines.
pub enum Value {
    Str(SmallBytes),
    List(Box<VecDeque<SmallBytes>>),
    /// Insertion order, as a listpack-encoded hash keeps it.
    Hash(Box<IndexMap<SmallBytes, SmallBytes>>),
    Set(Box<SetValue>),
}

impl Value {
    /// The name TYPE prints.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
        }
    }

    /// A rough allocation size, in the spirit of redis-server's (object header, sds headers,
    /// per-element overhead); only used for `used_memory` and eviction.
    pub fn approx_bytes(&self) -> usize {
        match self {
            Value::Str(s) => 16 + s.len() + 3,
            Value::List(l) => 32 + l.iter().map(|e| e.len() + 11).sum::<usize>(),
            Value::Hash(h) => 32 + h.iter().map(|(k, v)| k.len() + v.len() + 24).sum::<usize>(),
            Value::Set(s) => 32 + s.members.iter().map(|m| m.len() + 24).sum::<usize>(),
        }
    }
}

/// A set remembers whether Redis would still hold it as an intset: intsets iterate in
/// ascending integer order, hashtable sets in an order of their own.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct SetValue {
    members: IndexSet<SmallBytes>,
    intset: bool,
}

impl SetValue {
    pub fn new() -> SetValue {
        SetValue { members: IndexSet::new(), intset: true }
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    pub fn contains(&self, m: &[u8]) -> bool {
        self.members.contains(m)
    }

    /// Adds a member; true if it was new. Converts away from intset as Redis does.
    pub fn insert(&mut self, m: Vec<u8>) -> bool {
        if self.intset && string2ll(&m).is_none() {
            self.intset = false;
        }
        let added = self.members.insert(m.into());
        if self.intset && self.members.len() > SET_MAX_INTSET_ENTRIES {
            self.intset = false;
        }
        added
    }

    pub fn remove(&mut self, m: &[u8]) -> bool {
        self.members.swap_remove(m)
    }

    pub fn member_at(&self, i: usize) -> Option<&[u8]> {
        self.members.get_index(i).map(|m| m.as_bytes())
    }

    /// Members in the order SMEMBERS returns them.
    pub fn members(&self) -> Vec<&[u8]> {
        let mut out: Vec<&[u8]> = self.members.iter().map(|m| m.as_bytes()).collect();
        if self.intset {
            out.sort_by_key(|m| string2ll(m).unwrap_or(0));
        }
        out
    }

    #[cfg(test)]
    pub fn is_intset(&self) -> bool {
        self.intset
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub value: Value,
    /// Absolute Unix time in milliseconds after which the key is logically gone.
    pub expire_at: Option<u64>,
    /// Last access time in milliseconds (the LRU clock eviction samples).
    pub lru: u64,
}

#[derive(Clone, Debug, Default)]
pub struct Db {
    /// Fx hashing: every command looks keys up here, and SipHash's DoS resistance buys
    /// nothing in a simulation (iteration order comes from `order`, not from this map).
    entries: FxHashMap<Key, Entry>,
    /// (order hash, key): the iteration order.
    order: BTreeSet<(u64, Key)>,
    /// (expire time, key): volatile keys, soonest first, for the active expire cycle.
    expires: BTreeSet<(u64, Key)>,
}

impl Db {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn expires_len(&self) -> usize {
        self.expires.len()
    }

    /// Estimated memory of every key and value (dict entry, key, value).
    pub fn approx_bytes(&self) -> usize {
        self.entries.iter().map(|(k, e)| 24 + k.as_bytes().len() + 9 + e.value.approx_bytes()).sum()
    }

    /// The entry, whether or not it is logically expired (callers expire first).
    pub fn get(&self, key: &[u8]) -> Option<&Entry> {
        self.entries.get(key)
    }

    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut Entry> {
        self.entries.get_mut(key)
    }

    pub fn contains(&self, key: &[u8]) -> bool {
        self.entries.contains_key(key)
    }

    pub fn is_expired(&self, key: &[u8], now_ms: u64) -> bool {
        matches!(self.entries.get(key), Some(Entry { expire_at: Some(at), .. }) if *at < now_ms)
    }

    /// Stores `value` under `key`. `keep_ttl` keeps an existing expire (SET KEEPTTL, APPEND...).
    pub fn set(&mut self, key: &[u8], value: Value, keep_ttl: bool) {
        if let Some(e) = self.entries.get_mut(key) {
            e.value = value;
            if !keep_ttl {
                if let Some(at) = e.expire_at.take() {
                    self.expires.remove(&(at, Key::new(key)));
                }
            }
            return;
        }
        self.order.insert((order_hash(key), Key::new(key)));
        self.entries.insert(Key::new(key), Entry { value, expire_at: None, lru: 0 });
    }

    /// Overwrites `key` if it holds a string and has no TTL, touching it; false (nothing done)
    /// otherwise. SET's fast path: a key without a TTL cannot be expired.
    pub fn overwrite_persistent_string(&mut self, key: &[u8], val: &[u8], now_ms: u64) -> bool {
        match self.entries.get_mut(key) {
            Some(Entry { value: Value::Str(old), expire_at: None, lru }) => {
                *lru = now_ms;
                old.set(val);
                true
            }
            _ => false,
        }
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let e = self.entries.remove(key)?;
        self.order.remove(&(order_hash(key), Key::new(key)));
        if let Some(at) = e.expire_at {
            self.expires.remove(&(at, Key::new(key)));
        }
        Some(e)
    }

    /// Sets an absolute expire on an existing key; false if the key does not exist.
    pub fn set_expire(&mut self, key: &[u8], at: u64) -> bool {
        let Some(e) = self.entries.get_mut(key) else { return false };
        if let Some(old) = e.expire_at.replace(at) {
            self.expires.remove(&(old, Key::new(key)));
        }
        self.expires.insert((at, Key::new(key)));
        true
    }

    /// Removes the expire; true if there was one.
    pub fn persist(&mut self, key: &[u8]) -> bool {
        let Some(e) = self.entries.get_mut(key) else { return false };
        match e.expire_at.take() {
            Some(at) => {
                self.expires.remove(&(at, Key::new(key)));
                true
            }
            None => false,
        }
    }

    pub fn clear(&mut self) {
        self.entries.clear();
        self.order.clear();
        self.expires.clear();
    }

    /// Keys in iteration order (including logically expired ones).
    pub fn keys(&self) -> impl Iterator<Item = &[u8]> {
        self.order.iter().map(|(_, k)| k.as_bytes())
    }

    /// Keys and entries in iteration order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &Entry)> {
        self.order.iter().filter_map(|(_, k)| self.entries.get(k.as_bytes()).map(|e| (k.as_bytes(), e)))
    }

    /// One SCAN step: up to `count` keys from `cursor` on, and the cursor to continue from
    /// (0 when the walk is complete). Keys present for the whole walk are returned at least once.
    pub fn scan(&self, cursor: u64, count: usize) -> (u64, Vec<&[u8]>) {
        let mut out = Vec::new();
        let mut range = self.order.range((cursor, Key::new(b""))..);
        for (_, k) in range.by_ref().take(count.max(1)) {
            out.push(k.as_bytes());
        }
        let next = range.next().map(|(h, _)| *h).unwrap_or(0);
        (next, out)
    }

    /// Records an access (for LRU eviction).
    pub fn touch(&mut self, key: &[u8], now_ms: u64) {
        if let Some(e) = self.entries.get_mut(key) {
            e.lru = now_ms;
        }
    }

    /// The `n`-th volatile key (soonest expiry first).
    pub fn nth_volatile(&self, n: usize) -> Option<&[u8]> {
        self.expires.iter().nth(n).map(|(_, k)| k.as_bytes())
    }

    /// The `n`-th key in iteration order (RANDOMKEY picks `n` from the seeded RNG).
    pub fn nth_key(&self, n: usize) -> Option<&[u8]> {
        self.order.iter().nth(n).map(|(_, k)| k.as_bytes())
    }

    /// Up to `limit` keys whose expire time is before `now_ms`, soonest first.
    pub fn expired_keys(&self, now_ms: u64, limit: usize) -> Vec<Vec<u8>> {
        self.expires
            .iter()
            .take_while(|(at, _)| *at < now_ms)
            .take(limit)
            .map(|(_, k)| k.to_vec())
            .collect()
    }

    /// Sum of remaining TTLs of volatile keys, for INFO keyspace's `avg_ttl`.
    pub fn ttl_sum_and_count(&self, now_ms: u64) -> (u64, u64) {
        let mut sum = 0u64;
        let mut n = 0u64;
        for (at, _) in &self.expires {
            if *at > now_ms {
                sum = sum.saturating_add(at - now_ms);
                n += 1;
            }
        }
        (sum, n)
    }
}

/// FNV-1a with a SplitMix finalizer: fixed on every platform, never 0 (0 ends a SCAN).
fn order_hash(key: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in key {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    h ^= h >> 31;
    h.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::Str(SmallBytes::new(v.as_bytes()))
    }

    #[test]
    fn set_get_remove_and_ttl_bookkeeping() {
        let mut db = Db::default();
        db.set(b"a", s("1"), false);
        assert!(db.set_expire(b"a", 100));
        assert_eq!(db.expires_len(), 1);
        db.set(b"a", s("2"), true);
        assert_eq!(db.get(b"a").unwrap().expire_at, Some(100));
        db.set(b"a", s("3"), false);
        assert_eq!(db.get(b"a").unwrap().expire_at, None);
        assert_eq!(db.expires_len(), 0);
        assert!(!db.set_expire(b"missing", 5));
        db.set_expire(b"a", 50);
        assert!(db.is_expired(b"a", 51));
        assert!(!db.is_expired(b"a", 50));
        assert_eq!(db.expired_keys(51, 10), vec![b"a".to_vec()]);
        assert!(db.remove(b"a").is_some());
        assert_eq!((db.len(), db.expires_len()), (0, 0));
    }

    #[test]
    fn scan_visits_every_key_once_without_changes() {
        let mut db = Db::default();
        for i in 0..1000 {
            db.set(format!("key:{i}").as_bytes(), s("v"), false);
        }
        let mut seen = BTreeSet::new();
        let mut cursor = 0;
        loop {
            let (next, keys) = db.scan(cursor, 7);
            for k in keys {
                assert!(seen.insert(k.to_vec()), "duplicate {k:?}");
            }
            if next == 0 {
                break;
            }
            cursor = next;
        }
        assert_eq!(seen.len(), 1000);
    }

    #[test]
    fn scan_survives_deletions_between_calls() {
        let mut db = Db::default();
        for i in 0..100 {
            db.set(format!("k{i}").as_bytes(), s("v"), false);
        }
        let (cursor, first) = db.scan(0, 10);
        let first: Vec<Vec<u8>> = first.into_iter().map(<[u8]>::to_vec).collect();
        for k in &first {
            db.remove(k);
        }
        let mut rest = 0;
        let mut c = cursor;
        loop {
            let (next, keys) = db.scan(c, 10);
            rest += keys.len();
            if next == 0 {
                break;
            }
            c = next;
        }
        assert_eq!(rest, 90);
    }

    #[test]
    fn sets_iterate_like_intsets_until_converted() {
        let mut set = SetValue::new();
        for m in ["10", "-2", "3"] {
            set.insert(m.as_bytes().to_vec());
        }
        let order: Vec<&[u8]> = set.members();
        assert_eq!(order, [&b"-2"[..], b"3", b"10"]);
        set.insert(b"x".to_vec());
        assert!(!set.is_intset());
        set.remove(b"x");
        assert!(!set.is_intset(), "conversion is one-way");
        let mut big = SetValue::new();
        for i in 0..=SET_MAX_INTSET_ENTRIES {
            big.insert(i.to_string().into_bytes());
        }
        assert!(!big.is_intset());
    }
}

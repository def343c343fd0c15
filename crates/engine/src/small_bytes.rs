//! Short byte strings stored inline: the keyspace's keys and string values. Nearly all are
//! short, so a key's slot in the hash table holds the key and its value with no heap block
//! behind them: a lookup reads one place (every command starts with one, on a table far
//! larger than the CPU's caches), overwriting a short value allocates nothing, and copying
//! a dataset (a time-travel snapshot) is a copy of the table, not of a hundred thousand
//! small allocations.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

const INLINE: usize = 22;

#[derive(Clone)]
pub enum SmallBytes {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<[u8]>),
}

impl SmallBytes {
    pub(crate) fn new(b: &[u8]) -> SmallBytes {
        if b.len() <= INLINE {
            let mut bytes = [0u8; INLINE];
            bytes[..b.len()].copy_from_slice(b);
            SmallBytes::Inline { len: b.len() as u8, bytes }
        } else {
            SmallBytes::Heap(b.into())
        }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            SmallBytes::Inline { len, bytes } => &bytes[..*len as usize],
            SmallBytes::Heap(b) => b,
        }
    }

    /// Replaces the contents, in place when the new bytes fit where the old ones were.
    pub(crate) fn set(&mut self, b: &[u8]) {
        match self {
            SmallBytes::Heap(h) if h.len() == b.len() => h.copy_from_slice(b),
            _ => *self = SmallBytes::new(b),
        }
    }
}

impl From<Vec<u8>> for SmallBytes {
    fn from(v: Vec<u8>) -> SmallBytes {
        if v.len() <= INLINE {
            SmallBytes::new(&v)
        } else {
            SmallBytes::Heap(v.into_boxed_slice())
        }
    }
}

impl From<&[u8]> for SmallBytes {
    fn from(b: &[u8]) -> SmallBytes {
        SmallBytes::new(b)
    }
}

impl Deref for SmallBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Borrow<[u8]> for SmallBytes {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

// Hash and equality are those of the bytes, as `Borrow` requires (lookups pass `&[u8]`).
impl Hash for SmallBytes {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl PartialEq for SmallBytes {
    fn eq(&self, other: &SmallBytes) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for SmallBytes {}

impl PartialOrd for SmallBytes {
    fn partial_cmp(&self, other: &SmallBytes) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SmallBytes {
    fn cmp(&self, other: &SmallBytes) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl std::fmt::Debug for SmallBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn short_and_long_keys_find_their_entries_by_bytes() {
        let long = vec![b'x'; 100];
        let mut m: HashMap<SmallBytes, u32> = HashMap::new();
        m.insert(SmallBytes::new(b"k"), 1);
        m.insert(SmallBytes::new(b""), 2);
        m.insert(SmallBytes::new(&long), 3);
        m.insert(SmallBytes::new(&[b'y'; INLINE]), 4);
        assert!(matches!(SmallBytes::new(&[b'y'; INLINE]), SmallBytes::Inline { .. }));
        assert!(matches!(SmallBytes::new(&[b'y'; INLINE + 1]), SmallBytes::Heap(_)));
        assert_eq!(m.get(&b"k"[..]), Some(&1));
        assert_eq!(m.get(&b""[..]), Some(&2));
        assert_eq!(m.get(&long[..]), Some(&3));
        assert_eq!(m.get(&[b'y'; INLINE][..]), Some(&4));
        assert_eq!(m.get(&b"k\0"[..]), None, "a trailing NUL is another key");
        assert_eq!(m.get(&[b'y'; INLINE + 1][..]), None);
    }

    #[test]
    fn set_replaces_across_the_inline_limit() {
        let mut s = SmallBytes::from(b"short".to_vec());
        for v in [&[b'a'; 40][..], &[b'b'; 40][..], b"tiny", &[b'c'; INLINE][..], &[b'd'; INLINE + 1][..], b""] {
            s.set(v);
            assert_eq!(&*s, v);
        }
        assert_eq!(SmallBytes::from(vec![7u8; 30]).to_vec(), vec![7u8; 30]);
    }
}

//! The keyspace's own key type. Short keys (nearly all) live inside the hash table's slot,
//! so looking one up reads the slot alone instead of the slot and then a heap block: every
//! command starts with such a lookup, on a table far larger than the CPU's caches.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};

const INLINE: usize = 22;

#[derive(Clone)]
pub(crate) enum Key {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<[u8]>),
}

impl Key {
    pub(crate) fn new(key: &[u8]) -> Key {
        if key.len() <= INLINE {
            let mut bytes = [0u8; INLINE];
            bytes[..key.len()].copy_from_slice(key);
            Key::Inline { len: key.len() as u8, bytes }
        } else {
            Key::Heap(key.into())
        }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Key::Inline { len, bytes } => &bytes[..*len as usize],
            Key::Heap(b) => b,
        }
    }
}

impl Borrow<[u8]> for Key {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

// Hash and equality are those of the bytes, as `Borrow` requires (lookups pass `&[u8]`).
impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Key {}

impl std::fmt::Debug for Key {
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
        let mut m: HashMap<Key, u32> = HashMap::new();
        m.insert(Key::new(b"k"), 1);
        m.insert(Key::new(b""), 2);
        m.insert(Key::new(&long), 3);
        m.insert(Key::new(&[b'y'; INLINE]), 4);
        assert!(matches!(Key::new(&[b'y'; INLINE]), Key::Inline { .. }));
        assert!(matches!(Key::new(&[b'y'; INLINE + 1]), Key::Heap(_)));
        assert_eq!(m.get(&b"k"[..]), Some(&1));
        assert_eq!(m.get(&b""[..]), Some(&2));
        assert_eq!(m.get(&long[..]), Some(&3));
        assert_eq!(m.get(&[b'y'; INLINE][..]), Some(&4));
        assert_eq!(m.get(&b"k\0"[..]), None, "a trailing NUL is another key");
        assert_eq!(m.get(&[b'y'; INLINE + 1][..]), None);
    }
}

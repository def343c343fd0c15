//! The world's trace as stored: the entries so far, plus (after a time-travel jump back) the
//! entries of the future already lived, kept so that jumping forward again needs no copy.
//!
//! Stepping is deterministic, so re-living the future writes the very entries kept: each new
//! entry simply takes its slot.

use crate::trace::TraceEntry;

#[derive(Default)]
pub(crate) struct TraceLog {
    entries: Vec<TraceEntry>,
    /// How many entries are the present's; those after it are the future seen earlier.
    len: usize,
}

impl TraceLog {
    pub(crate) fn entries(&self) -> &[TraceEntry] {
        &self.entries[..self.len]
    }

    pub(crate) fn push(&mut self, e: TraceEntry) {
        match self.entries.get_mut(self.len) {
            Some(slot) => *slot = e,
            None => self.entries.push(e),
        }
        self.len += 1;
    }

    /// Rewinds to the first `len` entries, keeping the rest as the known future.
    pub(crate) fn rewind(&mut self, len: usize) {
        self.len = len.min(self.entries.len());
    }

    /// Forgets the known future (the run took another path).
    pub(crate) fn drop_future(&mut self) {
        self.entries.truncate(self.len);
    }
}

/// A copy holds the present only.
impl Clone for TraceLog {
    fn clone(&self) -> TraceLog {
        TraceLog { entries: self.entries().to_vec(), len: self.len }
    }
}

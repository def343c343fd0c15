//! The world's trace as stored: the entries so far, plus (after a time-travel jump back) the
//! entries of the future already lived, kept so that jumping forward again needs no copy.
//!
//! Stepping is deterministic, so re-living the future writes the very entries kept: each new
//! entry simply takes its slot.

use crate::trace::TraceEntry;

#[derive(Default)]
pub(crate) struct TraceLog {
    entries: Vec<TraceEntry>,
    /// How many entries are the present's (counted from the very first, forgotten ones
    /// included); those after it are the future seen earlier.
    len: usize,
    /// Entries forgotten from the front (a long run in the browser keeps a window).
    base: usize,
    /// Forgotten entries not freed yet. Freeing the oldest half of a long run's trace at once
    /// (200,000 entries, three strings each) stalled one animation frame for ~10 ms in the
    /// browser; instead each new entry frees a few of them. Its buffer is kept for the next
    /// forgetting (at most the trace budget's half: tens of MB in a long browser run).
    graveyard: Vec<TraceEntry>,
}

/// Forgotten entries freed per entry pushed: a forgotten half is gone well before the next
/// forgetting (which waits for as many new entries as were forgotten).
const FREED_PER_PUSH: usize = 4;

impl TraceLog {
    /// The entries kept, the present's only.
    pub(crate) fn entries(&self) -> &[TraceEntry] {
        &self.entries[..self.len - self.base]
    }

    /// How many entries were forgotten from the front.
    pub(crate) fn base(&self) -> usize {
        self.base
    }

    /// Entries so far, forgotten ones included.
    pub(crate) fn total(&self) -> usize {
        self.len
    }

    pub(crate) fn push(&mut self, e: TraceEntry) {
        if !self.graveyard.is_empty() {
            let keep = self.graveyard.len().saturating_sub(FREED_PER_PUSH);
            self.graveyard.truncate(keep);
        }
        match self.entries.get_mut(self.len - self.base) {
            Some(slot) => *slot = e,
            None => self.entries.push(e),
        }
        self.len += 1;
    }

    /// Rewinds to the first `len` entries (counted from the very first), keeping the rest as
    /// the known future.
    pub(crate) fn rewind(&mut self, len: usize) {
        self.len = len.clamp(self.base, self.base + self.entries.len());
    }

    /// Forgets the known future (the run took another path).
    pub(crate) fn drop_future(&mut self) {
        self.entries.truncate(self.len - self.base);
    }

    /// Forgets the entries before the `upto`-th (counted from the very first).
    pub(crate) fn forget_before(&mut self, upto: usize) {
        let n = upto.saturating_sub(self.base).min(self.len - self.base);
        if n == 0 {
            return;
        }
        // Moved, not dropped: `push` frees them. The graveyard keeps its buffer between
        // forgettings, so only the first one allocates.
        self.graveyard.extend(self.entries.drain(..n));
        self.base += n;
    }
}

/// A copy holds the present only.
impl Clone for TraceLog {
    fn clone(&self) -> TraceLog {
        TraceLog { entries: self.entries().to_vec(), len: self.len, base: self.base, graveyard: Vec::new() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::TraceKind;

    fn e(at: u64) -> TraceEntry {
        TraceEntry { at, kind: TraceKind::NodeCrashed { node: "n".into() } }
    }

    /// A log of `n` entries, at 0 to n - 1.
    fn log_of(n: u64) -> TraceLog {
        let mut t = TraceLog::default();
        for i in 0..n {
            t.push(e(i));
        }
        t
    }

    #[test]
    fn forgetting_the_front_keeps_counting_from_the_first_entry() {
        let mut t = log_of(10);
        t.forget_before(4);
        assert_eq!((t.base(), t.total(), t.entries().len()), (4, 10, 6));
        assert_eq!(t.entries()[0].at, 4);
        t.rewind(7);
        assert_eq!(t.entries().len(), 3);
        t.rewind(2);
        assert_eq!(t.total(), 4, "the forgotten past cannot be rewound to");
        t.rewind(10);
        t.push(e(10));
        assert_eq!((t.total(), t.entries().last().unwrap().at), (11, 10));
        t.rewind(8);
        t.drop_future();
        t.rewind(11);
        assert_eq!(t.total(), 8);
        t.forget_before(100);
        assert_eq!((t.base(), t.entries().len()), (8, 0));
    }

    #[test]
    fn forgotten_entries_are_freed_a_few_per_new_entry() {
        let mut t = log_of(20);
        t.forget_before(10);
        assert_eq!(t.graveyard.len(), 10);
        assert_eq!(t.entries()[0].at, 10, "the kept entries are not disturbed");
        t.push(e(20));
        assert_eq!(t.graveyard.len(), 10 - FREED_PER_PUSH);
        t.forget_before(12);
        assert_eq!(t.graveyard.len(), 10 - FREED_PER_PUSH + 2, "a second forgetting adds to the first");
        for i in 21..30 {
            t.push(e(i));
        }
        assert!(t.graveyard.is_empty(), "all freed");
        assert_eq!((t.base(), t.total(), t.entries()[0].at, t.entries().len()), (12, 30, 12, 18));
    }
}

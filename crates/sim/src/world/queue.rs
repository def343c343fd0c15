//! The event queue: earliest time first, and equal times in the order they were scheduled.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use replscope_engine::Millis;

use super::names::NodeIx;

#[derive(Clone, Debug)]
pub(super) enum Ev {
    /// The oldest bytes in flight arrive at one end (`to_b`: at the acceptor).
    Deliver { conn: u64, to_b: bool },
    /// The peer closed: tell this end.
    Closed { conn: u64, to_b: bool },
    /// A connection attempt reaches its target.
    Arrive { conn: u64 },
    /// The target's accept reaches the connecting side.
    Established { conn: u64 },
    /// Nobody listens at the target.
    Refused { conn: u64 },
    Timer { node: NodeIx },
    /// The next write of a load generator.
    LoadTick { load: u64 },
}

/// An event and when it happens; `seq` keeps equal-time events FIFO.
#[derive(Clone, Debug)]
struct Scheduled {
    at: Millis,
    seq: u64,
    ev: Ev,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl Eq for Scheduled {}

impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// The event rides in the heap itself: no side table to look it up in.
#[derive(Clone, Debug, Default)]
pub(super) struct Queue {
    heap: BinaryHeap<Reverse<Scheduled>>,
    seq: u64,
}

impl Queue {
    pub(super) fn push(&mut self, at: Millis, ev: Ev) {
        self.seq += 1;
        self.heap.push(Reverse(Scheduled { at, seq: self.seq, ev }));
    }

    pub(super) fn pop(&mut self) -> Option<(Millis, Ev)> {
        self.heap.pop().map(|Reverse(s)| (s.at, s.ev))
    }

    /// When the next event happens.
    pub(super) fn next_at(&self) -> Option<Millis> {
        self.heap.peek().map(|Reverse(s)| s.at)
    }
}

//! Time travel: jump to any time of a run, and fork it.
//!
//! A run is its scenario (topology, seed) plus its steps, and stepping is deterministic, so
//! any moment can be rebuilt. Snapshots of the whole world every `every_ms` of virtual time
//! make a jump cost at most one snapshot copy and `every_ms` of replay. An intervention in the
//! past discards the future (steps and snapshots after it) and continues from there.

use crate::runner::Player;
use crate::scenario::{Scenario, Step};
use crate::world::World;

pub struct TimeMachine {
    /// The canonical steps: played ones and those to come.
    steps: Vec<Step>,
    every_ms: u64,
    /// (virtual time, player at that time without its trace, that trace's length), in time
    /// order. Every snapshot's trace is a prefix of the one the current world holds (which,
    /// after a jump back, still keeps the future it has seen).
    snapshots: Vec<(u64, Player, usize)>,
    /// Snapshots forgotten but not freed yet: a whole world each, freed one per `seek` so that
    /// forgetting the first half of a long run does not stall a frame.
    retired: Vec<Player>,
    current: Player,
}

impl TimeMachine {
    pub fn new(scenario: &Scenario, every_ms: u64) -> TimeMachine {
        let mut current = Player::new(scenario);
        let (first, len) = current.snapshot();
        TimeMachine { steps: scenario.steps.clone(), every_ms: every_ms.max(1), snapshots: vec![(0, first, len)], retired: Vec::new(), current }
    }

    pub fn world(&self) -> &World {
        self.current.world()
    }

    pub fn player(&self) -> &Player {
        &self.current
    }

    pub fn time(&self) -> u64 {
        self.current.world().time()
    }

    /// Runs forward to `t`, snapshotting on the way.
    fn forward_to(&mut self, t: u64) {
        loop {
            let last = self.snapshots.last().map(|(at, _, _)| *at).unwrap_or(0);
            let next_snap = last + self.every_ms;
            if next_snap > t {
                break;
            }
            if next_snap > self.time() {
                self.current.advance_to(next_snap);
            }
            let (snap, len) = self.current.snapshot();
            self.snapshots.push((next_snap, snap, len));
        }
        self.current.advance_to(t);
    }

    /// Moves to virtual time `t`, forwards or backwards, from the nearest snapshot.
    pub fn seek(&mut self, t: u64) {
        drop(self.retired.pop());
        let t = t.max(self.earliest());
        let i = self.snapshots.iter().rposition(|(at, _, _)| *at <= t).unwrap_or(0);
        let snap_at = self.snapshots[i].0;
        if t < self.time() || snap_at > self.time() {
            let (_, snap, len) = &self.snapshots[i];
            // The trace moves over, rewound: no entry is copied.
            let log = self.current.world_mut().take_trace_log();
            let mut p = snap.clone();
            p.world_mut().restore_trace(log, *len);
            p.set_steps(self.steps.clone());
            self.current = p;
        }
        self.forward_to(t);
    }

    /// The earliest time a jump can reach (0 unless `forget_before` dropped the beginning).
    pub fn earliest(&self) -> u64 {
        self.snapshots.first().map(|(at, _, _)| *at).unwrap_or(0)
    }

    /// Forgets the run before the last snapshot at or before `t` (at most the present): its
    /// snapshots and its trace entries. A long run in the browser keeps a bounded window;
    /// jumps before the new beginning land on it.
    pub fn forget_before(&mut self, t: u64) {
        let t = t.min(self.time());
        let Some(i) = self.snapshots.iter().rposition(|(at, _, _)| *at <= t) else { return };
        if i == 0 {
            return;
        }
        self.retired.extend(self.snapshots.drain(..i).map(|(_, p, _)| p));
        let upto = self.snapshots[0].2;
        self.current.world_mut().forget_trace_before(upto);
    }

    /// Applies `step` now. If now is in the past of the run, the future is discarded first.
    pub fn intervene(&mut self, step: Step) {
        let now = self.time();
        self.snapshots.retain(|(at, _, _)| *at <= now);
        // The discarded future's trace goes too.
        self.current.world_mut().drop_trace_future();
        self.current.fork(step);
        self.steps = self.current.steps().to_vec();
    }
}

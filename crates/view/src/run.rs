//! A run as the visualizer drives it: play forward, jump anywhere, intervene (which forks the
//! run), and build the frame to draw. Owns the simulator's time machine and the trace
//! followers; reads the world only through its public state and trace.

use std::collections::BTreeMap;

use replscope_engine::{Frame as Reply, NodeStatus, Role};
use replscope_sim::scenario::{Action, Scenario, Step};
use replscope_sim::timetravel::TimeMachine;
use replscope_sim::{TraceKind, World};

use crate::decisions::Decisions;
use crate::flights::Flights;
use crate::frame::{BacklogView, EdgeView, Frame, Narration, NodeState, NodeView, ReplicaSeen, SyncPhase};
use crate::history::{Fault, History};
use crate::layout::layout;
use crate::plan;

/// Virtual ms between snapshots of the time machine (a jump replays at most this much).
const SNAPSHOT_EVERY_MS: u64 = 2_000;
/// Virtual ms between two samples of the offsets chart.
pub const SAMPLE_EVERY_MS: u64 = 100;
/// Messages drawn at most (the most recent ones).
const MAX_MESSAGES: usize = 150;
/// Trace entries kept before the oldest half of the run is forgotten (about 100 MB).
const MAX_TRACE_ENTRIES: usize = 400_000;
/// A forward jump longer than this rebuilds the followers instead of reading every entry.
const FOLLOW_LIMIT_MS: u64 = 30_000;

pub struct Run {
    scenario: Scenario,
    tm: TimeMachine,
    flights: Flights,
    decisions: Decisions,
    history: History,
    /// The furthest time this history has been computed to.
    frontier: u64,
    /// Each node's master as the trace's role entries last said (a crashed replica stays
    /// drawn under it), and how far the trace has been read for them.
    masters: BTreeMap<String, String>,
    masters_cursor: usize,
    /// Trace entries kept before the oldest half of the run is forgotten.
    trace_budget: usize,
}

impl Run {
    pub fn new(scenario: Scenario) -> Run {
        let tm = TimeMachine::new(&scenario, SNAPSHOT_EVERY_MS);
        let mut run = Run {
            scenario,
            tm,
            flights: Flights::default(),
            decisions: Decisions::default(),
            history: History::default(),
            frontier: 0,
            masters: BTreeMap::new(),
            masters_cursor: 0,
            trace_budget: MAX_TRACE_ENTRIES,
        };
        run.follow();
        run.sample();
        run
    }

    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    pub fn world(&self) -> &World {
        self.tm.world()
    }

    pub fn time(&self) -> u64 {
        self.tm.time()
    }

    pub fn frontier(&self) -> u64 {
        self.frontier
    }

    pub fn history(&self) -> &History {
        &self.history
    }

    /// The scenario that replays this run exactly: the original with every step taken,
    /// interventions included (what a share link or an export carries).
    pub fn replayable(&self) -> Scenario {
        Scenario { steps: self.steps().to_vec(), ..self.scenario.clone() }
    }

    /// The steps of this run, played and planned (interventions included).
    pub fn steps(&self) -> &[Step] {
        self.tm.player().steps()
    }

    /// The timeline lines of the scenario player (narration, commands, checks).
    pub fn timeline(&self) -> &[replscope_sim::runner::Line] {
        &self.tm.player().timeline
    }

    /// Plays `ms` of virtual time forward, sampling the chart as the frontier moves.
    pub fn advance(&mut self, ms: u64) {
        let target = self.time().saturating_add(ms);
        while self.time() < target {
            let next = ((self.time() / SAMPLE_EVERY_MS) + 1) * SAMPLE_EVERY_MS;
            self.tm.seek(next.min(target));
            self.follow();
            if self.time() > self.frontier {
                self.frontier = self.time();
            }
            self.sample();
        }
        self.bound_memory();
    }

    /// A long or busy run forgets its oldest half once the trace kept passes the budget, so
    /// a tab left playing never runs out of memory (the timeline then starts later).
    fn bound_memory(&mut self) {
        if self.world().trace().len() <= self.trace_budget {
            return;
        }
        let (earliest, now) = (self.tm.earliest(), self.time());
        let base = self.world().trace_base();
        self.tm.forget_before(earliest + (now - earliest) / 2);
        let kept = self.tm.earliest();
        self.history.forget_before(kept);
        // The followers stay (rebuilding the messages in flight from the trace kept cost ~70 ms
        // at 12 nodes under load, a visible hitch every few seconds): the messages count in
        // entry numbers of the run, the role reader's place moves back with the trace. Only
        // the decisions, which are few, are re-read.
        let forgotten = self.world().trace_base() - base;
        self.masters_cursor = self.masters_cursor.saturating_sub(forgotten);
        let w = self.tm.world();
        let mut d = Decisions::starting_at(0);
        d.follow(w.trace(), &|n| w.status(n));
        self.decisions = d;
    }

    /// Sets how many trace entries are kept before the oldest half is forgotten.
    pub fn set_trace_budget(&mut self, entries: usize) {
        self.trace_budget = entries.max(1_000);
    }

    /// The earliest moment the timeline can reach.
    pub fn earliest(&self) -> u64 {
        self.tm.earliest()
    }

    /// Plays until the trace records something new (at most `max_ms` ahead); the new time.
    pub fn step_event(&mut self, max_ms: u64) -> u64 {
        let len = self.world().trace().len();
        let until = self.time().saturating_add(max_ms);
        while self.world().trace().len() == len && self.time() < until {
            self.advance(1);
        }
        self.time()
    }

    /// Jumps to time `t` (clamped to what has been computed: the future is played, not jumped).
    pub fn seek(&mut self, t: u64) {
        let t = t.min(self.frontier);
        let before = self.time();
        self.tm.seek(t);
        if t < before || t - before > FOLLOW_LIMIT_MS {
            self.rebuild_followers();
        } else {
            self.follow();
        }
    }

    /// An intervention now: the computed future is discarded and the run continues from here.
    /// Returns the reply if the action was a command.
    pub fn act(&mut self, action: Action) -> Result<Option<Reply>, String> {
        plan::check(self.world(), &action)?;
        let now = self.time();
        self.tm.intervene(Step { at: now, say: None, action: action.clone() });
        self.frontier = self.time();
        self.history.truncate_after(now);
        // The followers' cursors may point past the (shorter) new trace.
        self.rebuild_followers();
        self.sample();
        Ok(match action {
            Action::Command { .. } => self.tm.player().last_reply.clone(),
            _ => None,
        })
    }

    /// A node's `INFO <section>` as the engine renders it, read in place (cheap: no copy).
    pub fn info(&self, node: &str, section: &str) -> Option<String> {
        self.world().info_of(node, section)
    }

    /// Runs a read-only command on a copy of the world, leaving the run untouched (looking at
    /// a node must not fork the story).
    pub fn peek(&self, node: &str, line: &str) -> Option<Reply> {
        let mut copy = self.world().clone_without_trace();
        copy.query(node, line, 2_000)
    }

    fn follow(&mut self) {
        let trace = self.tm.world().trace();
        let base = self.tm.world().trace_base();
        if self.flights.cursor() > base + trace.len() {
            self.rebuild_followers();
            return;
        }
        let now = self.time();
        self.flights.follow(trace, base, now);
        let w = self.tm.world();
        self.decisions.follow(trace, &|n| w.status(n));
        self.follow_masters();
    }

    /// Reads role entries: "replica of X" or "master".
    fn follow_masters(&mut self) {
        let trace = self.tm.world().trace();
        for e in trace.iter().skip(self.masters_cursor) {
            if let TraceKind::Role { node, role, .. } = &e.kind {
                match role.strip_prefix("replica of ") {
                    Some(m) => self.masters.insert(node.clone(), m.to_string()),
                    None => self.masters.remove(node),
                };
            }
        }
        self.masters_cursor = trace.len();
    }

    fn rebuild_followers(&mut self) {
        let now = self.time();
        let trace = self.tm.world().trace();
        self.flights = Flights::rebuild(trace, self.tm.world().trace_base(), now);
        // Decisions are few: re-read them all (their backlog windows become today's, which is
        // why the live ones are kept when only moving forward).
        let w = self.tm.world();
        let mut d = Decisions::starting_at(0);
        d.follow(trace, &|n| w.status(n));
        self.decisions = d;
        // Role entries say who replicates from whom; a node with none left in the trace kept
        // has not changed since: its status says (a node down keeps what was known).
        for n in self.tm.world().node_names() {
            match self.tm.world().status(&n).map(|s| s.role) {
                Some(Role::Replica(v)) => {
                    self.masters.insert(n, v.master_host);
                }
                Some(Role::Master) => {
                    self.masters.remove(&n);
                }
                None => {}
            }
        }
        self.masters_cursor = 0;
        self.follow_masters();
    }

    fn sample(&mut self) {
        let now = self.time();
        let faults = self.faults_since(self.history.faults().last().map(|f| f.at + 1).unwrap_or(0), now);
        for f in faults {
            self.history.push_fault(f);
        }
        if self.history.last_time().is_some_and(|t| t >= now) {
            return;
        }
        let w = self.tm.world();
        let offsets = w
            .node_names()
            .into_iter()
            .map(|n| {
                let off = w.status(&n).filter(|s| !s.stopped).map(|s| shown_offset(&s));
                (n, off)
            })
            .collect();
        self.history.push(now, offsets);
    }

    /// Steps between `from` and `to` that a chart should mark.
    fn faults_since(&self, from: u64, to: u64) -> Vec<Fault> {
        self.steps()
            .iter()
            .filter(|s| s.at >= from && s.at <= to)
            .filter_map(|s| plan::fault_label(&s.action).map(|label| Fault { at: s.at, label }))
            .collect()
    }

    /// Everything to draw now. `linger_ms`: how long landed messages stay visible. Every
    /// message is drawn (up to the most recent 150); see `frame_spaced` for thinning.
    pub fn frame(&mut self, linger_ms: u64) -> Frame {
        self.frame_spaced(linger_ms, 0)
    }

    /// A frame whose stream (and client) messages are thinned to one per `spacing_ms` of send
    /// time per link (see `Flights::at`): under load the wire carries a message every
    /// millisecond, far more than can be drawn or followed by eye.
    pub fn frame_spaced(&mut self, linger_ms: u64, spacing_ms: u64) -> Frame {
        let now = self.time();
        let w = self.tm.world();
        let names = w.node_names();
        let statuses: Vec<(String, Option<NodeStatus>)> = names.iter().map(|n| (n.clone(), w.status(n).filter(|s| !s.stopped))).collect();
        let tree: Vec<(String, Option<String>)> = names.iter().map(|n| (n.clone(), self.masters.get(n).cloned())).collect();
        let places = layout(&tree);
        let steps = self.tm.player().steps();
        let mut nodes = Vec::new();
        let mut edges = Vec::new();
        let mut backlogs = Vec::new();
        for (name, st) in &statuses {
            let place = places.places.get(name).copied().unwrap_or(crate::layout::Place { x: 0.0, y: 0.0 });
            let master = self.masters.get(name).cloned();
            let persistence = plan::persistence(&self.scenario, steps, name, now);
            let mut v = NodeView {
                name: name.clone(),
                state: NodeState::Down,
                role: String::new(),
                master: master.clone(),
                link_state: String::new(),
                link_up: false,
                replid_short: String::new(),
                replid: String::new(),
                replid2: String::new(),
                master_repl_offset: 0,
                slave_repl_offset: None,
                keys: 0,
                persistence,
                sync: None,
                replicas: Vec::new(),
                x: place.x,
                y: place.y,
            };
            if let Some(s) = st {
                v.state = if plan::paused(steps, name, now) { NodeState::Paused } else { NodeState::Up };
                v.replid_short = crate::fmt::short_id(&s.replid);
                v.replid = s.replid.clone();
                v.replid2 = s.replid2.clone();
                v.master_repl_offset = s.master_repl_offset;
                v.keys = s.keys.iter().sum();
                v.replicas = s
                    .replicas
                    .iter()
                    .map(|r| ReplicaSeen { name: r.ip.clone(), state: r.state.to_string(), ack_offset: r.ack_offset, lag_seconds: r.lag_seconds })
                    .collect();
                match &s.role {
                    Role::Master => v.role = "master".into(),
                    Role::Replica(r) => {
                        v.role = "replica".into();
                        v.link_state = r.link_state.to_string();
                        v.link_up = r.link_up;
                        v.slave_repl_offset = Some(r.applied_offset);
                        v.sync = if r.loading {
                            Some(SyncPhase::Loading)
                        } else if let Some((read, total)) = r.transfer {
                            Some(SyncPhase::Transfer { read, total })
                        } else if r.link_state == "sync" {
                            Some(SyncPhase::Waiting)
                        } else {
                            None
                        };
                    }
                }
                if let Some(b) = &s.backlog {
                    backlogs.push(BacklogView {
                        node: name.clone(),
                        size: b.size,
                        first_byte_offset: b.first_byte_offset,
                        last_offset: b.first_byte_offset + b.histlen - 1,
                        histlen: b.histlen,
                        acks: s.replicas.iter().filter(|r| r.state == "online").map(|r| (r.ip.clone(), r.ack_offset)).collect(),
                    });
                }
            }
            if let Some(m) = &master {
                if names.contains(m) {
                    let there = w.link(name, m);
                    let back = w.link(m, name);
                    edges.push(EdgeView {
                        replica: name.clone(),
                        master: m.clone(),
                        up: v.link_up,
                        cut: there.cut || back.cut,
                        latency_ms: there.latency_ms,
                        bytes_per_ms: there.bytes_per_ms,
                    });
                }
            }
            nodes.push(v);
        }
        let messages = self.flights.at(now, linger_ms, MAX_MESSAGES, spacing_ms, &|a, b| w.link(a, b));
        Frame {
            time_ms: now,
            frontier_ms: self.frontier,
            earliest_ms: self.tm.earliest(),
            nodes,
            edges,
            messages,
            backlogs,
            decisions: self.decisions.list().iter().filter(|d| d.at <= now).cloned().collect(),
            narration: self.narration(now),
        }
    }

    fn narration(&self, now: u64) -> Narration {
        let steps: Vec<(u64, String)> = self.steps().iter().filter_map(|s| s.say.clone().map(|say| (s.at, say))).collect();
        let current = steps.iter().rposition(|(at, _)| *at <= now);
        Narration {
            title: self.scenario.title.clone(),
            description: self.scenario.description.clone(),
            current,
            text: current.map(|i| steps[i].1.clone()).unwrap_or_default(),
            steps,
        }
    }
}

/// The offset a chart plots: a master's replication offset, a replica's applied offset.
fn shown_offset(s: &NodeStatus) -> i64 {
    match &s.role {
        Role::Master => s.master_repl_offset,
        Role::Replica(r) => r.applied_offset.max(0),
    }
}

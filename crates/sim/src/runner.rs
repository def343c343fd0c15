//! Plays a scenario in a world: builds the topology, applies each step at its time, runs the
//! checks, and keeps a readable timeline.

use replscope_engine::Frame;

use crate::link::LinkConfig;
use crate::scenario::{Action, Expect, NodeDef, Scenario};
use crate::trace::TraceKind;
use crate::world::{NodeSpec, World, PORT};

/// One line of the timeline: when, and what happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub at: u64,
    pub text: String,
}

pub struct Outcome {
    pub world: World,
    pub timeline: Vec<Line>,
    /// Failed expectations, each saying what was expected and what was found.
    pub failures: Vec<String>,
    pub checks: usize,
}

/// A node definition as the world starts it.
pub fn node_spec(def: &NodeDef) -> NodeSpec {
    let mut spec = NodeSpec::new(&def.name);
    for a in &def.args {
        spec = spec.arg(a);
    }
    if let Some(m) = &def.replicaof {
        spec = spec.arg("--replicaof").arg(m).arg(&PORT.to_string());
    }
    spec
}

/// The world at time 0: nodes started, links configured.
pub fn build(s: &Scenario) -> World {
    let mut w = World::new(s.seed);
    for l in &s.links {
        let cfg = |w: &World, a: &str, b: &str| {
            let cur = w.link(a, b);
            LinkConfig { latency_ms: l.latency_ms.unwrap_or(cur.latency_ms), bytes_per_ms: l.bytes_per_ms.unwrap_or(cur.bytes_per_ms), cut: false }
        };
        let ab = cfg(&w, &l.a, &l.b);
        w.set_link(&l.a, &l.b, ab);
        if l.both {
            let ba = cfg(&w, &l.b, &l.a);
            w.set_link(&l.b, &l.a, ba);
        }
    }
    for n in &s.nodes {
        w.add_node(node_spec(n));
    }
    w
}

/// Runs the whole scenario.
pub fn run(s: &Scenario) -> Outcome {
    let mut p = Player::new(s);
    while p.next_step().is_some() {}
    p.finish()
}

/// Plays a scenario step by step (the UI narrates each one).
#[derive(Clone)]
pub struct Player {
    scenario: Scenario,
    world: World,
    next: usize,
    seen: usize,
    tracked: Vec<String>,
    loads: Vec<u64>,
    pub timeline: Vec<Line>,
    pub failures: Vec<String>,
    pub checks: usize,
    /// The reply to the last `command` step (a console shows it in full).
    pub last_reply: Option<Frame>,
}

impl Player {
    pub fn new(s: &Scenario) -> Player {
        let world = build(s);
        let mut p = Player {
            scenario: s.clone(),
            world,
            next: 0,
            seen: 0,
            tracked: Vec::new(),
            loads: Vec::new(),
            timeline: Vec::new(),
            failures: Vec::new(),
            checks: 0,
            last_reply: None,
        };
        p.collect();
        p
    }

    pub fn world(&self) -> &World {
        &self.world
    }

    pub fn world_mut(&mut self) -> &mut World {
        &mut self.world
    }

    /// Index of the next step to play, and how many there are.
    pub fn progress(&self) -> (usize, usize) {
        (self.next, self.scenario.steps.len())
    }

    /// Runs up to the next step and plays it; its narration, or None when all are played.
    pub fn next_step(&mut self) -> Option<Option<String>> {
        let step = self.scenario.steps.get(self.next)?.clone();
        self.next += 1;
        self.world.run_until(step.at.max(self.world.time()));
        self.collect();
        if let Some(say) = &step.say {
            self.line(format!("» {say}"));
        }
        self.apply(&step.action);
        self.collect();
        Some(step.say)
    }

    /// A copy for a snapshot, without the world's trace (see `World::snapshot_without_trace`);
    /// returns it with the trace length it must be given back.
    pub fn snapshot(&mut self) -> (Player, usize) {
        let len = self.world.trace_total();
        let world = self.world.snapshot_without_trace();
        let copy = Player { world, ..self.clone_without_world() };
        (copy, len)
    }

    fn clone_without_world(&self) -> Player {
        Player {
            scenario: self.scenario.clone(),
            world: World::new(0),
            next: self.next,
            seen: self.seen,
            tracked: self.tracked.clone(),
            loads: self.loads.clone(),
            timeline: self.timeline.clone(),
            failures: self.failures.clone(),
            checks: self.checks,
            last_reply: self.last_reply.clone(),
        }
    }

    /// Plays every step due by virtual time `t`, then runs the world to `t`.
    pub fn advance_to(&mut self, t: u64) {
        while self.scenario.steps.get(self.next).is_some_and(|s| s.at <= t) {
            self.next_step();
        }
        if t > self.world.time() {
            self.world.run_until(t);
            self.collect();
        }
    }

    /// An intervention now: the steps not played yet are the future, and the future is gone.
    pub fn fork(&mut self, mut step: crate::scenario::Step) {
        self.scenario.steps.truncate(self.next);
        step.at = self.world.time();
        self.scenario.steps.push(step);
        self.next_step();
    }

    /// The steps this player follows (played and to come).
    pub fn steps(&self) -> &[crate::scenario::Step] {
        &self.scenario.steps
    }

    /// Replaces the steps not played yet (a snapshot taken before a fork learns the new
    /// future).
    pub fn set_steps(&mut self, steps: Vec<crate::scenario::Step>) {
        self.scenario.steps = steps;
    }

    /// Runs the tail after the last step and hands back the outcome.
    pub fn finish(mut self) -> Outcome {
        while self.next_step().is_some() {}
        let tail = self.scenario.tail_ms;
        self.world.run_for(tail);
        self.collect();
        Outcome { world: self.world, timeline: self.timeline, failures: self.failures, checks: self.checks }
    }

    fn line(&mut self, text: String) {
        let at = self.world.time();
        self.timeline.push(Line { at, text });
    }

    fn apply(&mut self, action: &Action) {
        let w = &mut self.world;
        match action {
            Action::Note => {}
            Action::Command { node, line, track } => {
                let reply = w.query(node, line, 2_000);
                let shown = reply.as_ref().map(show).unwrap_or_else(|| "(no reply)".into());
                if let (Some(key), Some(Frame::Simple(_) | Frame::Integer(_) | Frame::Bulk(_))) = (track, &reply) {
                    self.tracked.push(key.clone());
                }
                self.line(format!("{node}> {line}  →  {shown}"));
                self.last_reply = reply;
            }
            Action::Cut { a, b, oneway } => {
                if *oneway {
                    w.cut_oneway(a, b);
                    self.line(format!("link {a} → {b} cut"));
                } else {
                    w.cut(a, b);
                    self.line(format!("link {a} ↔ {b} cut"));
                }
            }
            Action::Heal { a, b } => {
                w.heal(a, b);
                self.line(format!("link {a} ↔ {b} healed"));
            }
            Action::Reset { a, b } => {
                w.reset_connections(a, b);
                self.line(format!("connections {a} ↔ {b} reset"));
            }
            Action::Crash { node } => {
                w.crash(node);
                self.line(format!("{node} crashed"));
            }
            Action::Restart { node, empty } => {
                if *empty {
                    w.restart_empty(node);
                    self.line(format!("{node} restarted with an empty disk"));
                } else {
                    w.restart(node);
                    self.line(format!("{node} restarted"));
                }
            }
            Action::Pause { node, ms } => {
                w.pause(node, *ms);
                self.line(format!("{node} paused for {ms} ms"));
            }
            Action::AddNode { node } => {
                w.add_node(node_spec(node));
                self.line(format!("{} added", node.name));
            }
            Action::RemoveNode { node } => {
                w.remove_node(node);
                self.line(format!("{node} removed"));
            }
            Action::Load { node, per_second, keys, value_bytes } => {
                let id = w.start_load_sized(node, *per_second, *keys, *value_bytes);
                self.loads.push(id);
                self.line(format!("write load on {node}: {per_second}/s"));
            }
            Action::StopLoad => {
                for id in std::mem::take(&mut self.loads) {
                    w.stop_load(id);
                }
                self.line("write load stopped".into());
            }
            Action::Link { a, b, latency_ms, bytes_per_ms } => {
                for (x, y) in [(a, b), (b, a)] {
                    let cur = w.link(x, y);
                    let cfg = LinkConfig { latency_ms: latency_ms.unwrap_or(cur.latency_ms), bytes_per_ms: bytes_per_ms.unwrap_or(cur.bytes_per_ms), ..cur };
                    w.set_link(x, y, cfg);
                }
                self.line(format!("link {a} ↔ {b}: latency {latency_ms:?} ms, bandwidth {bytes_per_ms:?} B/ms"));
            }
            Action::Expect(e) => self.check(e),
        }
    }

    fn check(&mut self, e: &Expect) {
        self.checks += 1;
        let result: Result<String, String> = match e {
            Expect::Info { node, field, equals } => {
                let info = self.world.info(node, "");
                let got = info.split("\r\n").find_map(|l| l.strip_prefix(&format!("{field}:"))).map(str::to_string);
                match got {
                    Some(v) if &v == equals => Ok(format!("{node} {field} = {v}")),
                    Some(v) => Err(format!("{node}: expected {field} = {equals}, found {v}")),
                    None => Err(format!("{node}: INFO has no field {field}")),
                }
            }
            Expect::SameData { nodes } => {
                let digests: Vec<String> = nodes.iter().map(|n| self.world.digest(n)).collect();
                if digests.windows(2).all(|d| d[0] == d[1]) && digests.first().is_some_and(|d| !d.is_empty()) {
                    Ok(format!("{} hold the same data", nodes.join(", ")))
                } else {
                    Err(format!("datasets differ: {}", nodes.iter().zip(&digests).map(|(n, d)| format!("{n}={}", &d[..d.len().min(8)])).collect::<Vec<_>>().join(" ")))
                }
            }
            Expect::SameOffset { nodes } => {
                let seen: Vec<(String, i64)> = nodes
                    .iter()
                    .map(|n| self.world.status(n).map(|s| (s.replid, s.master_repl_offset)).unwrap_or_default())
                    .collect();
                let shown = nodes.iter().zip(&seen).map(|(n, (id, off))| format!("{n}={}…:{off}", &id[..id.len().min(8)])).collect::<Vec<_>>().join(" ");
                if seen.windows(2).all(|p| p[0] == p[1]) {
                    Ok(format!("same replid and offset: {shown}"))
                } else {
                    Err(format!("replid/offset differ: {shown}"))
                }
            }
            Expect::Syncs { node, full, partial_ok, partial_err } => match self.world.status(node) {
                None => Err(format!("{node} is down")),
                Some(s) => {
                    let got = (s.sync_full, s.sync_partial_ok, s.sync_partial_err);
                    let ok = full.is_none_or(|f| f == got.0) && partial_ok.is_none_or(|p| p == got.1) && partial_err.is_none_or(|p| p == got.2);
                    let text = format!("{node}: sync_full={} sync_partial_ok={} sync_partial_err={}", got.0, got.1, got.2);
                    if ok { Ok(text) } else { Err(format!("{text}, expected full={full:?} partial_ok={partial_ok:?} partial_err={partial_err:?}")) }
                }
            },
            Expect::Keys { node, count } => match self.world.status(node) {
                Some(s) if s.keys.first().copied().unwrap_or(0) == *count => Ok(format!("{node} has {count} keys")),
                Some(s) => Err(format!("{node}: expected {count} keys, found {}", s.keys.first().copied().unwrap_or(0))),
                None => Err(format!("{node} is down")),
            },
            Expect::LostWrites { node, count } => {
                let mut lost = Vec::new();
                for key in self.tracked.clone() {
                    if self.world.query(node, &format!("EXISTS {key}"), 1_000) == Some(Frame::Integer(0)) {
                        lost.push(key);
                    }
                }
                let text = format!("{} acknowledged write(s) lost on {node}: {}", lost.len(), if lost.is_empty() { "none".into() } else { lost.join(", ") });
                if lost.len() == *count { Ok(text) } else { Err(format!("{text} (expected {count})")) }
            }
        };
        match result {
            Ok(t) => self.line(format!("✓ {t}")),
            Err(t) => {
                self.line(format!("✗ {t}"));
                self.failures.push(t);
            }
        }
    }

    /// Adds the notable trace events since the last call to the timeline.
    fn collect(&mut self) {
        let trace = self.world.trace();
        let start = self.seen.saturating_sub(self.world.trace_base());
        let new = &trace[start.min(trace.len())..];
        self.seen += new.len();
        for e in new {
            let text = match &e.kind {
                TraceKind::Role { node, role, link, replid, offset } => {
                    let link = if link.is_empty() { String::new() } else { format!(" ({link})") };
                    format!("{node}: {role}{link}, replid {}…, offset {offset}", &replid[..8.min(replid.len())])
                }
                TraceKind::Log { node, line } if notable(line) => format!("{node}: {line}"),
                TraceKind::NodeStarted { node, restored } => format!("{node} started{}", if *restored { " from its RDB" } else { "" }),
                _ => continue,
            };
            self.timeline.push(Line { at: e.at, text });
        }
    }
}

/// Log lines worth a timeline entry.
fn notable(line: &str) -> bool {
    [
        "Full resync",
        "Partial resynchronization request",
        "Successful partial",
        "MASTER MODE",
        "Connection with master lost",
        "Finished with success",
        "Synchronization with replica",
        "Master replication ID changed",
        "Replication backlog created",
        "Unable to partial resync",
        "not accepted",
        "Setting secondary replication ID",
        "Streamed RDB transfer",
        "Timeout",
        "Unable to AUTH",
    ]
    .iter()
    .any(|n| line.contains(n))
}

/// A reply as redis-cli would summarise it on one line.
fn show(f: &Frame) -> String {
    match f {
        Frame::Simple(s) => s.to_string(),
        Frame::Error(e) => format!("(error) {e}"),
        Frame::Integer(n) => format!("(integer) {n}"),
        Frame::Bulk(b) => format!("\"{}\"", String::from_utf8_lossy(b)),
        Frame::Null | Frame::NullArray => "(nil)".into(),
        Frame::Array(items) => format!("[{}]", items.iter().map(show).collect::<Vec<_>>().join(", ")),
    }
}

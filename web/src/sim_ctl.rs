//! The driver: owns the `Run` (never in a signal), moves virtual time with the animation
//! frames, and publishes one coarse `Frame` per animation frame for the components.

use std::cell::Cell;
use std::rc::Rc;

use leptos::prelude::*;
use replscope_engine::Frame as Reply;
use replscope_sim::scenario::{Action, Scenario};
use replscope_sim::presets;
use replscope_view::chart::{geometry, ChartGeometry};

use crate::components::chart::{tick_value, TickPhase};
use replscope_view::frame::{BacklogView, Decision, EdgeView, MessageView, Narration, NodeState, NodeView};
use replscope_view::{Frame, Run};

/// Virtual ms of the chart's window.
pub const CHART_WINDOW_MS: u64 = 30_000;
/// Chart box, in SVG units.
pub const CHART_W: f64 = 600.0;
pub const CHART_H: f64 = 160.0;
/// Wall ms between two layouts of the chart while playing.
const CHART_EVERY_MS: f64 = 200.0;
/// Wall ms a landed message stays visible (it fades at the receiver).
const LINGER_WALL_MS: f64 = 250.0;
/// Wall ms between two drawn stream messages on one link: under load the wire carries one
/// every virtual millisecond, which no eye can follow (and 150 new dots a frame cost ~20 ms).
const SPACING_WALL_MS: f64 = 100.0;
/// The longest wall-clock gap one animation frame may cover (a background tab returns).
const MAX_FRAME_GAP_MS: f64 = 100.0;
/// Speeds offered, from slow motion to fast forward.
pub const SPEEDS: &[f64] = &[0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 25.0, 100.0];
pub const DEFAULT_SPEED: f64 = 0.5;

/// Copy handle to the driver and the signals it publishes.
#[derive(Clone, Copy)]
pub struct SimCtl {
    run: StoredValue<Run, LocalStorage>,
    /// Fractions of a virtual ms carried between frames at slow speeds.
    carry: StoredValue<f64>,
    /// Wall-clock ms when the chart was last laid out (it is redrawn a few times a second,
    /// not every frame: its lines are the costliest thing on the page to rebuild).
    chart_at: StoredValue<f64>,
    /// The whole frame, set every animation frame: for reading on demand (untracked). A
    /// component tracks the narrower signals below instead, each set only when its part
    /// changed, so that a panel re-runs only when what it shows moves.
    pub frame: RwSignal<Frame>,
    pub time: RwSignal<u64>,
    pub frontier: RwSignal<u64>,
    pub earliest: RwSignal<u64>,
    pub nodes: RwSignal<Vec<NodeView>>,
    /// What of the nodes changes only with the cluster's shape (see `NodeShape`): most panels
    /// track this, not `nodes`, whose offsets move every frame under load.
    pub shape: RwSignal<Vec<NodeShape>>,
    pub edges: RwSignal<Vec<EdgeView>>,
    pub messages: RwSignal<Vec<MessageView>>,
    pub backlogs: RwSignal<Vec<BacklogView>>,
    pub decisions: RwSignal<Vec<Decision>>,
    pub narration: RwSignal<Narration>,
    pub chart: RwSignal<ChartGeometry>,
    pub playing: RwSignal<bool>,
    pub speed: RwSignal<f64>,
    /// The preset shown (empty for a scenario from elsewhere).
    pub preset: RwSignal<String>,
    /// The node whose panel is open.
    pub selected: RwSignal<Option<String>>,
    /// A message clicked for its bytes.
    pub inspected: RwSignal<Option<MessageView>>,
    /// The last refused intervention, shown inline.
    pub error: RwSignal<Option<String>>,
    /// Counts interventions, so panels showing a copy of a node (INFO) know to refresh.
    pub revision: RwSignal<u64>,
    /// The coarse ticks (see `coarse_tick`), one per `TickPhase`: signals set only when they
    /// move. As memos over `time` they marked every panel behind them for checking on every
    /// frame, which Leptos pays for in bookkeeping even when nothing re-runs.
    pub ticks: [RwSignal<(u64, u64)>; 3],
}

/// A node as most panels need it: who it is, what it does, where it is drawn. It changes
/// when the cluster does (a role, a crash, a new replica, a sync starting), not with offsets.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeShape {
    pub name: String,
    pub state: NodeState,
    pub role: String,
    pub master: Option<String>,
    pub persistence: bool,
    /// A full sync in progress on this replica.
    pub syncing: bool,
    pub x: f64,
    pub y: f64,
}

impl NodeShape {
    fn of(n: &NodeView) -> NodeShape {
        NodeShape {
            name: n.name.clone(),
            state: n.state,
            role: n.role.clone(),
            master: n.master.clone(),
            persistence: n.persistence,
            syncing: n.sync.is_some(),
            x: n.x,
            y: n.y,
        }
    }

    /// Whether `n` still has this shape (compared in place: no copy per frame).
    fn describes(&self, n: &NodeView) -> bool {
        self.name == n.name
            && self.state == n.state
            && self.role == n.role
            && self.master == n.master
            && self.persistence == n.persistence
            && self.syncing == n.sync.is_some()
            && self.x == n.x
            && self.y == n.y
    }
}

impl SimCtl {
    pub fn new(scenario: Scenario) -> SimCtl {
        let preset = scenario.name.clone();
        let mut run = Run::new(scenario);
        let frame = run.frame(0);
        let time = frame.time_ms;
        let ctl = SimCtl {
            run: StoredValue::new_local(run),
            carry: StoredValue::new(0.0),
            chart_at: StoredValue::new(f64::NEG_INFINITY),
            time: RwSignal::new(frame.time_ms),
            frontier: RwSignal::new(frame.frontier_ms),
            earliest: RwSignal::new(frame.earliest_ms),
            nodes: RwSignal::new(frame.nodes.clone()),
            shape: RwSignal::new(frame.nodes.iter().map(NodeShape::of).collect()),
            edges: RwSignal::new(frame.edges.clone()),
            messages: RwSignal::new(frame.messages.clone()),
            backlogs: RwSignal::new(frame.backlogs.clone()),
            decisions: RwSignal::new(frame.decisions.clone()),
            narration: RwSignal::new(frame.narration.clone()),
            frame: RwSignal::new(frame),
            chart: RwSignal::new(ChartGeometry::default()),
            playing: RwSignal::new(true),
            speed: RwSignal::new(DEFAULT_SPEED),
            preset: RwSignal::new(preset),
            selected: RwSignal::new(None),
            inspected: RwSignal::new(None),
            error: RwSignal::new(None),
            revision: RwSignal::new(0),
            ticks: TickPhase::ALL.map(|p| RwSignal::new(tick_value(time, 0, true, DEFAULT_SPEED, p))),
        };
        ctl.publish();
        ctl
    }

    /// Starts the animation loop (once).
    pub fn start(self) {
        // One effect follows time (and play, speed, interventions) and moves the ticks.
        Effect::new(move |_| {
            let (t, rev, playing, speed) = (self.time.get(), self.revision.get(), self.playing.get(), self.speed.get());
            for phase in TickPhase::ALL {
                set_changed(self.ticks[phase.index()], &tick_value(t, rev, playing, speed, phase));
            }
        });
        let last = Rc::new(Cell::new(None::<f64>));
        animate(self, last);
    }

    fn linger_ms(&self) -> u64 {
        (LINGER_WALL_MS * self.speed.get_untracked()).max(1.0) as u64
    }

    fn spacing_ms(&self) -> u64 {
        (SPACING_WALL_MS * self.speed.get_untracked()) as u64
    }

    /// One animation frame: `wall_ms` of real time passed.
    pub fn tick(&self, wall_ms: f64) {
        if !self.playing.get_untracked() {
            return;
        }
        let wall = wall_ms.clamp(0.0, MAX_FRAME_GAP_MS);
        let virt = wall * self.speed.get_untracked() + self.carry.get_value();
        let whole = virt.floor();
        self.carry.set_value(virt - whole);
        if whole >= 1.0 {
            self.run.update_value(|r| r.advance(whole as u64));
            self.publish_frame(false);
        }
    }

    /// Rebuilds the frame and the chart from the run (after anything but plain playing).
    pub fn publish(&self) {
        self.publish_frame(true);
    }

    fn publish_frame(&self, chart_now: bool) {
        let linger = self.linger_ms();
        let spacing = self.spacing_ms();
        let wall = now_ms();
        let chart_due = chart_now || wall - self.chart_at.get_value() >= CHART_EVERY_MS;
        let Some((frame, chart)) = self.run.try_update_value(|r| {
            let f = r.frame_spaced(linger, spacing);
            let c = chart_due.then(|| {
                let h = r.history();
                geometry(h.until(f.time_ms), h.faults(), f.time_ms, CHART_WINDOW_MS, CHART_W, CHART_H)
            });
            (f, c)
        }) else {
            return;
        };
        self.set_parts(&frame);
        self.frame.set(frame);
        if let Some(c) = chart {
            self.chart_at.set_value(wall);
            self.chart.set(c);
        }
    }

    /// Sets each narrow signal whose part of the frame changed.
    fn set_parts(&self, f: &Frame) {
        set_changed(self.time, &f.time_ms);
        set_changed(self.frontier, &f.frontier_ms);
        set_changed(self.earliest, &f.earliest_ms);
        set_changed(self.nodes, &f.nodes);
        if self.shape.with_untracked(|s| s.len() != f.nodes.len() || s.iter().zip(&f.nodes).any(|(s, n)| !s.describes(n))) {
            self.shape.set(f.nodes.iter().map(NodeShape::of).collect());
        }
        set_changed(self.edges, &f.edges);
        set_changed(self.messages, &f.messages);
        set_changed(self.backlogs, &f.backlogs);
        set_changed(self.decisions, &f.decisions);
        set_changed(self.narration, &f.narration);
    }

    pub fn toggle_play(&self) {
        self.playing.update(|p| *p = !*p);
    }

    /// Pauses and plays up to the next event in the trace.
    pub fn step(&self) {
        self.playing.set(false);
        self.run.update_value(|r| {
            r.step_event(60_000);
        });
        self.publish();
    }

    /// Jumps to virtual time `t` (within what has been computed).
    pub fn seek(&self, t: u64) {
        self.run.update_value(|r| r.seek(t));
        self.publish();
    }

    /// Plays the run up to virtual time `t` (a share link's moment).
    pub fn open_at(&self, t: u64) {
        self.run.update_value(|r| {
            let now = r.time();
            if t > now {
                r.advance(t - now);
            }
        });
        self.publish();
    }

    /// Moves by `delta` virtual ms (negative goes back).
    pub fn nudge(&self, delta: i64) {
        let now = self.frame.with_untracked(|f| f.time_ms) as i64;
        let t = (now + delta).max(0) as u64;
        let frontier = self.frame.with_untracked(|f| f.frontier_ms);
        if t > frontier {
            self.run.update_value(|r| r.advance(t - r.time()));
            self.publish();
        } else {
            self.seek(t);
        }
    }

    /// An intervention now (it forks the run if now is in the past). Errors are shown inline.
    pub fn act(&self, action: Action) -> Result<Option<Reply>, String> {
        let result = self.run.try_update_value(|r| r.act(action)).unwrap_or_else(|| Err("the run is gone".into()));
        match &result {
            Ok(_) => self.error.set(None),
            Err(e) => self.error.set(Some(e.clone())),
        }
        self.revision.update(|n| *n += 1);
        self.publish();
        result
    }

    /// A read-only command on a copy of the world.
    pub fn peek(&self, node: &str, line: &str) -> Option<Reply> {
        self.run.try_with_value(|r| r.peek(node, line)).flatten()
    }

    /// Loads another scenario (a preset by name, or a parsed one).
    pub fn load(&self, scenario: Scenario) {
        self.preset.set(scenario.name.clone());
        self.run.set_value(Run::new(scenario));
        self.carry.set_value(0.0);
        self.selected.set(None);
        self.inspected.set(None);
        self.error.set(None);
        self.revision.update(|n| *n += 1);
        self.playing.set(true);
        self.publish();
    }

    pub fn load_preset(&self, name: &str) {
        match presets::get(name) {
            Some(s) => self.load(s),
            None => self.error.set(Some(format!("ERR no preset named '{name}'"))),
        }
    }

    /// Reads the run (for panels that need more than the frame: timeline, steps).
    pub fn with_run<T>(&self, f: impl FnOnce(&Run) -> T) -> Option<T> {
        self.run.try_with_value(f)
    }
}

/// Sets `s` to `v` only if it differs (a set always notifies, even with an equal value).
fn set_changed<T: PartialEq + Clone + Send + Sync + 'static>(s: RwSignal<T>, v: &T) {
    if s.with_untracked(|old| old != v) {
        s.set(v.clone());
    }
}

fn now_ms() -> f64 {
    window().performance().map(|p| p.now()).unwrap_or(0.0)
}

fn animate(ctl: SimCtl, last: Rc<Cell<Option<f64>>>) {
    request_animation_frame(move || {
        let now = window().performance().map(|p| p.now()).unwrap_or(0.0);
        if let Some(prev) = last.get() {
            ctl.tick(now - prev);
        }
        last.set(Some(now));
        animate(ctl, last);
    });
}

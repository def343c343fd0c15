//! Scenario files: a topology, per-node configuration, a seed and timed steps (commands,
//! faults, load), with narration for the UI and expectations, so a scenario is also a test.
//! They come as TOML or JSON; a bad file says what is wrong and where.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// How long to run after the last step, in virtual ms.
    #[serde(default = "default_tail")]
    pub tail_ms: u64,
    pub nodes: Vec<NodeDef>,
    #[serde(default)]
    pub links: Vec<LinkDef>,
    #[serde(default)]
    pub steps: Vec<Step>,
}

fn default_seed() -> u64 {
    1
}

fn default_tail() -> u64 {
    2_000
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeDef {
    pub name: String,
    /// redis-server style arguments (`--save ""` is `["--save", ""]`).
    #[serde(default)]
    pub args: Vec<String>,
    /// Shorthand for `--replicaof <name> 6379`.
    #[serde(default)]
    pub replicaof: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkDef {
    pub a: String,
    pub b: String,
    #[serde(default)]
    pub latency_ms: Option<u64>,
    #[serde(default)]
    pub bytes_per_ms: Option<u64>,
    /// Apply to both directions (default) or only a → b.
    #[serde(default = "yes")]
    pub both: bool,
}

fn yes() -> bool {
    true
}

// Written as `at`, `say` and the action's fields side by side (`do = "crash"`, `node = ...`).
// Deserialize is written by hand (see `raw` below): serde's derive for a flattened,
// internally tagged enum buffers every step and cost about 50 KB of wasm; the fields each
// action accepts are still checked (an unknown or misplaced field is an error).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Step {
    /// Virtual time of the step, in ms from the start.
    pub at: u64,
    /// Narration shown while the step plays.
    #[serde(default)]
    pub say: Option<String>,
    #[serde(flatten)]
    pub action: Action,
}

/// Read through `raw::RawStep` (which applies the defaults and the fields each takes).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "do", rename_all = "snake_case")]
pub enum Action {
    /// Nothing but narration.
    Note,
    /// A client command on a node (redis-cli quoting). `label` names its reply in the
    /// timeline; `track` remembers the key as an acknowledged write (for lost-write checks).
    Command {
        node: String,
        line: String,
        #[serde(default)]
        track: Option<String>,
    },
    Cut { a: String, b: String, #[serde(default)] oneway: bool },
    Heal { a: String, b: String },
    Reset { a: String, b: String },
    Crash { node: String },
    /// Starts a crashed node again; `empty`: its disk was lost too (it starts with no data).
    Restart { node: String, #[serde(default)] empty: bool },
    Pause { node: String, ms: u64 },
    AddNode { node: NodeDef },
    RemoveNode { node: String },
    Load {
        node: String,
        per_second: u64,
        #[serde(default = "default_keys")]
        keys: u64,
        #[serde(default)]
        value_bytes: usize,
    },
    StopLoad,
    Link { a: String, b: String, #[serde(default)] latency_ms: Option<u64>, #[serde(default)] bytes_per_ms: Option<u64> },
    Expect(Expect),
}

fn default_keys() -> u64 {
    1_000
}

/// A check, run when its step comes.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "check", rename_all = "snake_case")]
pub enum Expect {
    /// An INFO field equals a value (`INFO replication` of `node`).
    Info { node: String, field: String, equals: String },
    /// All these nodes hold the same dataset (DEBUG DIGEST).
    SameData { nodes: Vec<String> },
    /// All these nodes have the same replication ID and master_repl_offset.
    SameOffset { nodes: Vec<String> },
    /// Sync counters on a node serving syncs.
    Syncs {
        node: String,
        #[serde(default)]
        full: Option<u64>,
        #[serde(default)]
        partial_ok: Option<u64>,
        #[serde(default)]
        partial_err: Option<u64>,
    },
    /// Number of keys in db 0.
    Keys { node: String, count: usize },
    /// Writes acknowledged earlier (tracked commands) that `node` does not have: asserts
    /// exactly this many are lost and names them.
    LostWrites { node: String, count: usize },
}

/// A scenario that failed to load: the message says what and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError(pub String);

impl std::fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Largest scenario file accepted (a URL or an upload can be hostile).
pub const MAX_SCENARIO_BYTES: usize = 256 * 1024;
const MAX_NODES: usize = 32;
const MAX_STEPS: usize = 10_000;
const MAX_TIME_MS: u64 = 24 * 3600 * 1000;

impl Scenario {
    /// Parses TOML or JSON (by content: JSON starts with `{`), then validates. Without the
    /// `toml` feature (the browser), only JSON.
    pub fn parse(text: &str) -> Result<Scenario, ScenarioError> {
        if text.len() > MAX_SCENARIO_BYTES {
            return Err(ScenarioError(format!("scenario too large: {} bytes (at most {MAX_SCENARIO_BYTES})", text.len())));
        }
        let s: Scenario = if text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|e| ScenarioError(format!("bad JSON scenario at line {}, column {}: {e}", e.line(), e.column())))?
        } else {
            parse_toml(text)?
        };
        s.validate()?;
        Ok(s)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Checks what serde cannot: names exist, times are ordered and bounded, sizes are sane.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        let err = |m: String| Err(ScenarioError(m));
        if self.nodes.is_empty() {
            return err("the scenario has no nodes".into());
        }
        if self.nodes.len() > MAX_NODES {
            return err(format!("too many nodes: {} (at most {MAX_NODES})", self.nodes.len()));
        }
        if self.steps.len() > MAX_STEPS {
            return err(format!("too many steps: {} (at most {MAX_STEPS})", self.steps.len()));
        }
        let mut names = BTreeSet::new();
        for n in &self.nodes {
            check_name(&n.name, "node")?;
            if !names.insert(n.name.clone()) {
                return err(format!("node '{}' is defined twice", n.name));
            }
        }
        for n in &self.nodes {
            if let Some(m) = &n.replicaof {
                if !names.contains(m) {
                    return err(format!("node '{}': replicaof names an unknown node '{m}'", n.name));
                }
            }
        }
        for l in &self.links {
            for x in [&l.a, &l.b] {
                if !names.contains(x) {
                    return err(format!("link {}-{}: unknown node '{x}'", l.a, l.b));
                }
            }
        }
        let mut last = 0;
        for (i, step) in self.steps.iter().enumerate() {
            let at = |m: String| ScenarioError(format!("step {} (at {} ms): {m}", i + 1, step.at));
            if step.at < last {
                return Err(at(format!("steps must be in time order (the previous one is at {last} ms)")));
            }
            if step.at > MAX_TIME_MS {
                return Err(at("later than 24 h of virtual time".into()));
            }
            last = step.at;
            if let Action::AddNode { node } = &step.action {
                check_name(&node.name, "node").map_err(|e| at(e.0))?;
                if !names.insert(node.name.clone()) {
                    return Err(at(format!("node '{}' already exists", node.name)));
                }
            }
            for n in step.action.nodes() {
                if !names.contains(n) {
                    return Err(at(format!("unknown node '{n}'")));
                }
            }
            if let Action::Load { per_second, .. } = &step.action {
                if *per_second == 0 || *per_second > 100_000 {
                    return Err(at(format!("load of {per_second} writes/s (1 to 100000)")));
                }
            }
        }
        Ok(())
    }
}

impl Action {
    /// Node names an action refers to.
    fn nodes(&self) -> Vec<&String> {
        match self {
            Action::Command { node, .. }
            | Action::Crash { node }
            | Action::Restart { node, .. }
            | Action::Pause { node, .. }
            | Action::RemoveNode { node }
            | Action::Load { node, .. } => vec![node],
            Action::Cut { a, b, .. } | Action::Heal { a, b } | Action::Reset { a, b } | Action::Link { a, b, .. } => vec![a, b],
            Action::AddNode { node } => node.replicaof.iter().collect(),
            Action::Expect(e) => match e {
                Expect::Info { node, .. } | Expect::Syncs { node, .. } | Expect::Keys { node, .. } | Expect::LostWrites { node, .. } => vec![node],
                Expect::SameData { nodes } | Expect::SameOffset { nodes } => nodes.iter().collect(),
            },
            Action::Note | Action::StopLoad => vec![],
        }
    }
}

#[cfg(feature = "toml")]
fn parse_toml(text: &str) -> Result<Scenario, ScenarioError> {
    toml::from_str(text).map_err(|e| ScenarioError(format!("bad TOML scenario: {e}")))
}

/// Shown where scenarios are read as JSON only (the browser).
pub const JSON_ONLY: &str = "this page reads JSON scenario files (they start with `{`); to load a TOML scenario, convert it first with `replscope convert FILE > FILE.json`";

#[cfg(not(feature = "toml"))]
fn parse_toml(_text: &str) -> Result<Scenario, ScenarioError> {
    Err(ScenarioError(JSON_ONLY.into()))
}

fn check_name(name: &str, what: &str) -> Result<(), ScenarioError> {
    let ok = !name.is_empty() && name.len() <= 32 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(ScenarioError(format!("{what} name '{}' must be 1-32 letters, digits, '-' or '_'", name.chars().take(40).collect::<String>())))
    }
}

impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Step, D::Error> {
        raw::RawStep::deserialize(d)?.into_step().map_err(serde::de::Error::custom)
    }
}

/// A step as written: every field any action takes, each optional; `into_step` then checks
/// that the action has what it needs and nothing it does not take.
mod raw {
    use serde::Deserialize;

    use super::{default_keys, Action, Expect, NodeDef, Step};

    #[derive(Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Do {
        Note,
        Command,
        Cut,
        Heal,
        Reset,
        Crash,
        Restart,
        Pause,
        AddNode,
        RemoveNode,
        Load,
        StopLoad,
        Link,
        Expect,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Check {
        Info,
        SameData,
        SameOffset,
        Syncs,
        Keys,
        LostWrites,
    }

    /// `node`: a node's name, or a whole node for `add_node`.
    enum NodeField {
        Name(String),
        Def(NodeDef),
    }

    impl<'de> Deserialize<'de> for NodeField {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<NodeField, D::Error> {
            struct V;
            impl<'de> serde::de::Visitor<'de> for V {
                type Value = NodeField;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a node name, or a node (a table with `name`) for add_node")
                }
                fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<NodeField, E> {
                    Ok(NodeField::Name(v.to_owned()))
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<NodeField, A::Error> {
                    NodeDef::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(NodeField::Def)
                }
            }
            d.deserialize_any(V)
        }
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct RawStep {
        at: u64,
        #[serde(default)]
        say: Option<String>,
        #[serde(rename = "do")]
        action: Do,
        check: Option<Check>,
        node: Option<NodeField>,
        line: Option<String>,
        track: Option<String>,
        a: Option<String>,
        b: Option<String>,
        oneway: Option<bool>,
        empty: Option<bool>,
        ms: Option<u64>,
        per_second: Option<u64>,
        keys: Option<u64>,
        value_bytes: Option<usize>,
        latency_ms: Option<u64>,
        bytes_per_ms: Option<u64>,
        nodes: Option<Vec<String>>,
        field: Option<String>,
        equals: Option<String>,
        full: Option<u64>,
        partial_ok: Option<u64>,
        partial_err: Option<u64>,
        count: Option<usize>,
    }

    fn missing(name: &str) -> String {
        format!("missing field `{name}`")
    }

    fn take<T>(slot: &mut Option<T>, name: &str) -> Result<T, String> {
        slot.take().ok_or_else(|| missing(name))
    }

    /// The `nodes` a comparison check compares: at least one.
    fn node_list(r: &mut RawStep) -> Result<Vec<String>, String> {
        let nodes = take(&mut r.nodes, "nodes")?;
        if nodes.is_empty() {
            return Err("`nodes` must name at least one node".into());
        }
        Ok(nodes)
    }

    impl RawStep {
        pub(super) fn into_step(mut self) -> Result<Step, String> {
            let r = &mut self;
            let name = |r: &mut RawStep| -> Result<String, String> {
                match r.node.take() {
                    Some(NodeField::Name(n)) => Ok(n),
                    Some(NodeField::Def(_)) => Err("`node` must be a node name here".into()),
                    None => Err(missing("node")),
                }
            };
            let action = match r.action {
                Do::Note => Action::Note,
                Do::Command => Action::Command { node: name(r)?, line: take(&mut r.line, "line")?, track: r.track.take() },
                Do::Cut => Action::Cut { a: take(&mut r.a, "a")?, b: take(&mut r.b, "b")?, oneway: r.oneway.take().unwrap_or(false) },
                Do::Heal => Action::Heal { a: take(&mut r.a, "a")?, b: take(&mut r.b, "b")? },
                Do::Reset => Action::Reset { a: take(&mut r.a, "a")?, b: take(&mut r.b, "b")? },
                Do::Crash => Action::Crash { node: name(r)? },
                Do::Restart => Action::Restart { node: name(r)?, empty: r.empty.take().unwrap_or(false) },
                Do::Pause => Action::Pause { node: name(r)?, ms: take(&mut r.ms, "ms")? },
                Do::AddNode => match r.node.take() {
                    Some(NodeField::Def(node)) => Action::AddNode { node },
                    Some(NodeField::Name(_)) => return Err("add_node: `node` must be a node (a table with `name`), not a name".into()),
                    None => return Err(missing("node")),
                },
                Do::RemoveNode => Action::RemoveNode { node: name(r)? },
                Do::Load => Action::Load {
                    node: name(r)?,
                    per_second: take(&mut r.per_second, "per_second")?,
                    keys: r.keys.take().unwrap_or_else(default_keys),
                    value_bytes: r.value_bytes.take().unwrap_or(0),
                },
                Do::StopLoad => Action::StopLoad,
                Do::Link => Action::Link { a: take(&mut r.a, "a")?, b: take(&mut r.b, "b")?, latency_ms: r.latency_ms.take(), bytes_per_ms: r.bytes_per_ms.take() },
                Do::Expect => Action::Expect(match take(&mut r.check, "check")? {
                    Check::Info => Expect::Info { node: name(r)?, field: take(&mut r.field, "field")?, equals: take(&mut r.equals, "equals")? },
                    Check::SameData => Expect::SameData { nodes: node_list(r)? },
                    Check::SameOffset => Expect::SameOffset { nodes: node_list(r)? },
                    Check::Syncs => Expect::Syncs { node: name(r)?, full: r.full.take(), partial_ok: r.partial_ok.take(), partial_err: r.partial_err.take() },
                    Check::Keys => Expect::Keys { node: name(r)?, count: take(&mut r.count, "count")? },
                    Check::LostWrites => Expect::LostWrites { node: name(r)?, count: take(&mut r.count, "count")? },
                }),
            };
            // Whatever is left was not taken by this action: serde's `deny_unknown_fields`.
            let left = [
                ("check", r.check.is_some()),
                ("node", r.node.is_some()),
                ("line", r.line.is_some()),
                ("track", r.track.is_some()),
                ("a", r.a.is_some()),
                ("b", r.b.is_some()),
                ("oneway", r.oneway.is_some()),
                ("empty", r.empty.is_some()),
                ("ms", r.ms.is_some()),
                ("per_second", r.per_second.is_some()),
                ("keys", r.keys.is_some()),
                ("value_bytes", r.value_bytes.is_some()),
                ("latency_ms", r.latency_ms.is_some()),
                ("bytes_per_ms", r.bytes_per_ms.is_some()),
                ("nodes", r.nodes.is_some()),
                ("field", r.field.is_some()),
                ("equals", r.equals.is_some()),
                ("full", r.full.is_some()),
                ("partial_ok", r.partial_ok.is_some()),
                ("partial_err", r.partial_err.is_some()),
                ("count", r.count.is_some()),
            ];
            if let Some((field, _)) = left.iter().find(|(_, set)| *set) {
                return Err(format!("unknown field `{field}` for this step's action"));
            }
            Ok(Step { at: self.at, say: self.say, action })
        }
    }
}

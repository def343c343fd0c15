//! # replscope-sim
//!
//! Many engine nodes in one process, with no IO and no clock of its own: a virtual clock that
//! jumps from event to event, one seed for every random choice, and simulated TCP links with
//! latency, bandwidth, cuts and resets. The same seed and the same inputs give the same run,
//! natively and in the browser.
//!
//! ```
//! use replscope_sim::{World, NodeSpec};
//!
//! let mut w = World::new(7);
//! w.add_node(NodeSpec::new("m"));
//! w.add_node(NodeSpec::new("r1").arg("--replicaof").arg("m").arg("6379"));
//! // The master's default diskless sync waits repl-diskless-sync-delay (5 s) first.
//! w.run_for(7_000);
//! let c = w.client("m");
//! w.command(c, "SET greeting hello");
//! w.run_for(100);
//! assert_eq!(w.digest("m"), w.digest("r1"));
//! ```

pub mod determinism;
pub mod invariants;
mod link;
pub mod presets;
mod rng;
pub mod runner;
pub mod scenario;
pub mod timetravel;
mod trace;
mod trace_log;
mod world;

pub use invariants::{Checker, Violation};
pub use link::LinkConfig;
pub use trace::{Payload, TraceEntry, TraceKind};
pub use scenario::{Scenario, ScenarioError};
pub use world::{ClientId, NodeSpec, World, PORT};

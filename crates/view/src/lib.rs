//! # replscope-view
//!
//! What the visualizer draws, computed from the simulator: a `Run` (play, jump, intervene)
//! and the `Frame` it builds at any moment: nodes laid out as a tree, links, bytes in flight,
//! backlogs with each replica's acknowledged offset, PSYNC decisions spelled out, narration,
//! and the offsets chart's history. Plain Rust with native tests; the Leptos app only renders.

pub mod chart;
pub mod decisions;
pub mod flights;
pub mod fmt;
pub mod geometry;
pub mod frame;
pub mod history;
pub mod layout;
pub mod plan;
pub mod run;
pub mod strip;
pub mod share;
pub mod svg_export;

pub use frame::Frame;
pub use run::Run;

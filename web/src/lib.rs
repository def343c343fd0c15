//! ReplScope in the browser: one engine node, driven by wall-clock time, with a redis-cli
//! console and a panel of live facts.
//!
//! * `session`, `history`, `transcript`, `timefmt`: plain Rust with native tests.
//! * `app` and `components`: the Leptos UI over them.

pub mod app;
pub mod components;
pub mod history;
pub mod session;
pub mod timefmt;
pub mod transcript;

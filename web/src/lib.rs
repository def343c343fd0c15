//! ReplScope in the browser: the simulator running real engine nodes, animated.
//!
//! * `sim_ctl`: drives the run with animation frames and publishes a frame per tick.
//! * `history`, `transcript`: plain Rust with native tests (the consoles).
//! * `app` and `components`: the Leptos UI; what to draw comes from `replscope-view`.

pub mod app;
pub mod browser;
pub mod components;
pub mod focus;
pub mod history;
pub mod keys;
pub mod panic_banner;
pub mod sim_ctl;
pub mod transcript;

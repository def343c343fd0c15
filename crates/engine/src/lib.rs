//! # replscope-engine
//!
//! A faithful, sans-IO reimplementation of a Redis 7.0 node. It contains no sockets, threads,
//! clocks or browser calls: the caller feeds it bytes and the current time and carries out what
//! it asks for. The same engine runs behind TCP (`replscope-node`), inside the deterministic
//! simulator, and in the browser.
//!
//! ## The driving loop
//!
//! ```
//! use replscope_engine::{Config, Input, Millis, Node, Output};
//!
//! let mut now = Millis(1_700_000_000_000);
//! let mut node = Node::new(Config::default(), 42, now);
//! let conn = node.accept(now, "127.0.0.1:50000", "127.0.0.1:6379");
//! node.handle_input(now, Input::Received { conn, bytes: b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n" });
//! // After every handle_* call, drain the outputs...
//! let mut sent = Vec::new();
//! while let Some(out) = node.poll_output() {
//!     if let Output::Send { bytes, .. } = out {
//!         sent.extend(bytes);
//!     }
//! }
//! assert_eq!(sent, b"+OK\r\n");
//! // ...then sleep until poll_timeout() (or the next input) and call handle_timeout.
//! if let Some(t) = node.poll_timeout() {
//!     now = now.max(t);
//!     node.handle_timeout(now);
//! }
//! ```
//!
//! Getters (`config`, `digest`, `dbsize`...) never change state; `handle_*` methods do;
//! `poll_*` methods hand out what the node wants done.

mod backlog;
mod client;
mod commands;
pub mod config;
mod digest;
mod glob;
mod info;
mod keyspace;
mod small_bytes;
mod ldouble;
mod node;
pub mod rdb;
pub mod rdb_load;
pub mod resp;
mod rng;
mod server;
mod split_args;
mod stream;
mod time;

pub use config::{Config, ConfigError};
pub use node::status::{AttachedReplica, BacklogView, NodeStatus, ReplicaView, Role};
pub use node::{ConnId, Input, LogLevel, Node, Output};
pub use resp::Frame;
pub use split_args::{encode_line, split_args};
pub use time::Millis;

/// The redis-server version whose behaviour the engine reproduces.
pub const REDIS_VERSION: &str = "7.0.15";

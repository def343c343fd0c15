//! # replscope-console
//!
//! redis-cli 7.0's interactive behaviour, in pure Rust, over an engine [`Node`]:
//!
//! * [`parse_line`]: a typed line into arguments (`sdssplitargs`), `Invalid argument(s)` on
//!   unbalanced quotes; [`take_repeat`] for the `N COMMAND` repeat prefix.
//! * [`format_reply`]: a reply as redis-cli prints it on a terminal (`cliFormatReplyTTY`),
//!   and [`format_reply_raw`] for the commands redis-cli always prints raw (INFO, CLIENT LIST).
//! * [`Console`]: one client connection with redis-cli's prompt, reconnects, waiting for
//!   blocked replies, Ctrl-C, and replica output mode (`SYNC`, printed as CSV with
//!   [`format_reply_csv`]).
//!
//! ## Driving a console
//!
//! ```
//! use replscope_console::{Console, Submitted};
//! use replscope_engine::{Config, Millis, Node};
//!
//! let now = Millis(1_700_000_000_000);
//! let mut node = Node::new(Config::from_args(&["--enable-debug-command", "local"]).unwrap(), 1, now);
//! let mut console = Console::new();
//! console.connect(&mut node, now).unwrap();
//! assert_eq!(console.submit(&mut node, now, "SET greeting hello"), Submitted::Done("OK\n".into()));
//! // A blocked node answers later: call tick() when node.poll_timeout() is due.
//! assert_eq!(console.submit(&mut node, now, "DEBUG SLEEP 0.2"), Submitted::Pending(String::new()));
//! let due = node.poll_timeout().unwrap();
//! assert_eq!(console.tick(&mut node, due), Some("OK\n".into()));
//! assert!(!console.is_pending());
//! ```
//!
//! The console drains the node's outputs itself; the ones for other connections and the
//! log lines wait in [`Console::take_other_outputs`].
//!
//! [`Node`]: replscope_engine::Node

mod console;
mod format;
mod parse;

pub use console::{Console, Submitted, HOST, MAX_REPEAT, PORT};
pub use format::{format_reply, format_reply_csv, format_reply_raw, repr};
pub use parse::{parse_line, take_repeat, Typed, INVALID_ARGUMENTS, INVALID_REPEAT};

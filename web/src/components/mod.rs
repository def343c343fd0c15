//! One component per file.

mod console;
mod facts;
mod footer;
mod header;
mod server_log;

pub use console::ConsolePanel;
pub use facts::NodeFacts;
pub use footer::SiteFooter;
pub use header::SiteHeader;
pub use server_log::ServerLog;

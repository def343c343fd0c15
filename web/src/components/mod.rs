//! One component per file.

mod controls;
mod footer;
mod header;
mod help;
mod topology;

pub use controls::Controls;
pub use footer::SiteFooter;
pub use header::SiteHeader;
pub use help::HelpOverlay;
pub use topology::Topology;

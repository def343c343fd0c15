//! One component per file.

mod controls;
mod footer;
mod header;
mod help;
mod topology;
mod cluster_actions;
mod link_controls;
mod node_actions;
mod node_console;
pub mod node_panel;

pub use controls::Controls;
pub use footer::SiteFooter;
pub use header::SiteHeader;
pub use help::HelpOverlay;
pub use topology::Topology;
pub use cluster_actions::ClusterActions;
pub use link_controls::LinkControls;
pub use node_actions::NodeActions;
pub use node_console::NodeConsole;
pub use node_panel::NodePanel;

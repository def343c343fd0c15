//! One component per file.

mod backlog;
pub(crate) mod chart;
mod controls;
mod dot_layer;
mod footer;
mod header;
mod notices;
mod share_bar;
mod help;
mod inspector;
mod narration;
mod sync_log;
mod topology;
mod cluster_actions;
mod link_controls;
mod node_actions;
mod node_console;
pub mod node_panel;

pub use backlog::Backlogs;
pub use chart::OffsetChart;
pub use controls::Controls;
pub use footer::SiteFooter;
pub use header::SiteHeader;
pub use notices::Notices;
pub use share_bar::ShareBar;
pub use help::HelpOverlay;
pub use inspector::Inspector;
pub use narration::Narration;
pub use sync_log::SyncLog;
pub use topology::Topology;
pub use cluster_actions::ClusterActions;
pub use link_controls::LinkControls;
pub use node_actions::NodeActions;
pub use node_console::NodeConsole;
pub use node_panel::NodePanel;

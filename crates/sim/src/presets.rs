//! Built-in scenarios covering the seed article's cases, each narrated step by step and
//! carrying its own expectations.

use crate::scenario::Scenario;

/// (name, TOML source), in the order a newcomer should see them.
pub static PRESETS: &[(&str, &str)] = &[
    ("default", include_str!("../presets/default.toml")),
    ("first-sync", include_str!("../presets/first-sync.toml")),
    ("steady-stream", include_str!("../presets/steady-stream.toml")),
    ("partial-resync", include_str!("../presets/partial-resync.toml")),
    ("backlog-overrun", include_str!("../presets/backlog-overrun.toml")),
    ("several-replicas", include_str!("../presets/several-replicas.toml")),
    ("cascade", include_str!("../presets/cascade.toml")),
    ("persistence-off-wipe", include_str!("../presets/persistence-off-wipe.toml")),
    ("failover", include_str!("../presets/failover.toml")),
    ("replica-down", include_str!("../presets/replica-down.toml")),
    ("wait-min-replicas", include_str!("../presets/wait-min-replicas.toml")),
    ("lost-writes", include_str!("../presets/lost-writes.toml")),
];

pub fn names() -> impl Iterator<Item = &'static str> {
    PRESETS.iter().map(|(n, _)| *n)
}

/// A preset by name, parsed.
pub fn get(name: &str) -> Option<Scenario> {
    let (_, src) = PRESETS.iter().find(|(n, _)| *n == name)?;
    Scenario::parse(src).ok()
}

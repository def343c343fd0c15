//! Built-in scenarios covering the seed article's cases, each narrated step by step and
//! carrying its own expectations.

use crate::scenario::Scenario;

/// The JSON that build.rs makes of `presets/NAME.toml`.
macro_rules! preset {
    ($name:literal) => {
        ($name, include_str!(concat!(env!("OUT_DIR"), "/presets/", $name, ".json")))
    };
}

/// (name, JSON source converted at build time from `presets/NAME.toml`), in the order a
/// newcomer should see them.
pub static PRESETS: &[(&str, &str)] = &[
    preset!("default"),
    preset!("first-sync"),
    preset!("steady-stream"),
    preset!("partial-resync"),
    preset!("backlog-overrun"),
    preset!("several-replicas"),
    preset!("cascade"),
    preset!("persistence-off-wipe"),
    preset!("failover"),
    preset!("replica-down"),
    preset!("wait-min-replicas"),
    preset!("lost-writes"),
];

pub fn names() -> impl Iterator<Item = &'static str> {
    PRESETS.iter().map(|(n, _)| *n)
}

/// A preset by name, parsed.
pub fn get(name: &str) -> Option<Scenario> {
    let (_, src) = PRESETS.iter().find(|(n, _)| *n == name)?;
    Scenario::parse(src).ok()
}

#[cfg(all(test, feature = "toml"))]
mod tests {
    /// The build-time conversion keeps every preset exactly as its TOML source reads.
    #[test]
    fn the_json_presets_equal_their_toml_sources() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("presets");
        let mut files = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().and_then(|e| e.to_str()) != Some("toml") {
                continue;
            }
            files += 1;
            let name = path.file_stem().unwrap().to_str().unwrap();
            let toml = crate::Scenario::parse(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let json = super::get(name).unwrap_or_else(|| panic!("{name} is listed in PRESETS and parses"));
            assert_eq!(json, toml, "{name}");
        }
        assert_eq!(files, super::PRESETS.len(), "every presets/*.toml file is listed in PRESETS");
    }
}

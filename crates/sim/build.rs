//! Converts the built-in scenarios (presets/*.toml, the source people edit) to compact JSON
//! at build time, so the library reads them with serde_json alone and the browser bundle
//! needs no TOML parser (see the `toml` feature).

use std::{env, fs, path::Path};

fn main() {
    let out = Path::new(&env::var("OUT_DIR").unwrap()).join("presets");
    fs::create_dir_all(&out).unwrap();
    println!("cargo:rerun-if-changed=presets");
    let mut entries: Vec<_> = fs::read_dir("presets").unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        println!("cargo:rerun-if-changed={}", path.display());
        let text = fs::read_to_string(&path).unwrap();
        let value: toml::Value = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let json = serde_json::to_string(&value).unwrap();
        fs::write(out.join(path.with_extension("json").file_name().unwrap()), json).unwrap();
    }
}

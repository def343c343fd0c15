//! The `replscope` binary: listing presets, running scenarios, exit codes.

use std::process::Command;

fn replscope(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_replscope")).args(args).output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn temp_file(name: &str, text: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("replscope-cli-{}-{name}", std::process::id()));
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn presets_are_listed_one_per_line() {
    let (code, out, _) = replscope(&["presets"]);
    assert_eq!(code, 0);
    let names: Vec<&str> = out.lines().collect();
    assert!(names.contains(&"first-sync") && names.contains(&"lost-writes"), "{out}");
    assert_eq!(names.len(), replscope_sim::presets::names().count());
}

#[test]
fn a_preset_prints_its_timeline_and_every_nodes_info() {
    let (code, out, err) = replscope(&["run", "--preset", "cascade"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("-- r2: INFO replication\n# Replication\nrole:slave\nmaster_host:r1\n"), "{out}");
    assert!(out.contains("✓ same replid and offset"));
    assert!(out.trim_end().ends_with("passed, 0 failed"));
}

#[test]
fn a_failed_expectation_exits_non_zero() {
    let file = temp_file(
        "fail.toml",
        "name = \"f\"\n[[nodes]]\nname = \"m\"\n[[steps]]\nat = 10\ndo = \"expect\"\ncheck = \"keys\"\nnode = \"m\"\ncount = 5\n",
    );
    let (code, out, err) = replscope(&["run", file.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(out.contains("✗ m: expected 5 keys, found 0"), "{out}");
    assert!(err.contains("FAILED: m: expected 5 keys, found 0"));
}

#[test]
fn bad_input_is_explained() {
    let file = temp_file("bad.json", "{\"name\": \"x\", \"nodes\": [ ");
    let (code, _, err) = replscope(&["run", file.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("bad JSON scenario at line 1"), "{err}");
    let (code, _, err) = replscope(&["run", "--preset", "nope"]);
    assert_eq!(code, 2);
    assert!(err.contains("no preset named 'nope'"));
    let (code, _, err) = replscope(&["frobnicate"]);
    assert_eq!(code, 2);
    assert!(err.starts_with("usage: replscope"));
}

#[test]
fn convert_turns_a_toml_scenario_into_the_json_the_browser_reads() {
    let toml = "name = \"c\"\nseed = 7\n[[nodes]]\nname = \"m\"\n[[steps]]\nat = 10\ndo = \"command\"\nnode = \"m\"\nline = \"SET k v\"\n";
    let file = temp_file("convert.toml", toml);
    let (code, out, err) = replscope(&["convert", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.trim_start().starts_with('{'), "{out}");
    assert_eq!(replscope_sim::Scenario::parse(&out).unwrap(), replscope_sim::Scenario::parse(toml).unwrap());
    let (code, _, err) = replscope(&["convert", "/nonexistent/x.toml"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read"), "{err}");
}

//! Every preset runs to its end and meets its own expectations; bad scenario files say what
//! is wrong and where.

use replscope_sim::{presets, runner, Scenario};

#[test]
fn every_preset_meets_its_expectations() {
    let mut failures = Vec::new();
    for name in presets::names() {
        let s = presets::get(name).unwrap_or_else(|| panic!("preset {name} parses"));
        assert_eq!(s.name, name);
        assert!(s.steps.iter().any(|st| st.say.is_some()), "{name} is narrated");
        let out = runner::run(&s);
        assert!(out.checks > 0, "{name} checks something");
        for f in out.failures {
            failures.push(format!("{name}: {f}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn presets_are_deterministic() {
    for name in ["failover", "backlog-overrun"] {
        let s = presets::get(name).unwrap();
        let a = runner::run(&s).world.trace_hash();
        let b = runner::run(&s).world.trace_hash();
        assert_eq!(a, b, "{name}");
    }
}

#[test]
fn lost_writes_are_named() {
    let out = runner::run(&presets::get("lost-writes").unwrap());
    assert!(out.timeline.iter().any(|l| l.text.contains("order:2, order:3")), "{:?}", out.timeline);
}

#[test]
fn bad_files_say_what_and_where() {
    let cases: &[(&str, &str)] = &[
        ("", "missing field `name`"),
        ("name = \"x\"\nnodes = []\n", "the scenario has no nodes"),
        ("name = \"x\"\n[[nodes]]\nname = \"a\"\n[[nodes]]\nname = \"a\"\n", "node 'a' is defined twice"),
        ("name = \"x\"\n[[nodes]]\nname = \"a\"\nreplicaof = \"zz\"\n", "unknown node 'zz'"),
        ("name = \"x\"\n[[nodes]]\nname = \"a\"\n[[steps]]\nat = 5\ndo = \"crash\"\nnode = \"b\"\n", "step 1 (at 5 ms): unknown node 'b'"),
        ("name = \"x\"\n[[nodes]]\nname = \"a\"\n[[steps]]\nat = 5\ndo = \"explode\"\n", "explode"),
        // Each action takes its own fields, and needs them.
        ("name = \"x\"\n[[nodes]]\nname = \"a\"\n[[steps]]\nat = 5\ndo = \"crash\"\nnode = \"a\"\nline = \"GET k\"\n", "unknown field `line`"),
        ("name = \"x\"\n[[nodes]]\nname = \"a\"\n[[steps]]\nat = 5\ndo = \"command\"\nnode = \"a\"\n", "missing field `line`"),
        ("name = \"x\"\n[[nodes]]\nname = \"a\"\n[[steps]]\nat = 5\ndo = \"note\"\ncheck = \"keys\"\n", "unknown field `check`"),
        ("name = \"x\"\n[[nodes]]\nname = \"a\"\n[[steps]]\nat = 5\ndo = \"note\"\nwhat = 1\n", "unknown field `what`"),
        ("{\"name\": \"x\", \"nodes\": [{\"name\": \"a\"}], \"steps\": [{\"at\": 5, \"do\": \"add_node\", \"node\": \"b\"}]}", "must be a node"),
        ("{\"name\": \"x\", \"nodes\": [{\"name\": \"a\"}], \"steps\": [{\"at\": 5, \"do\": \"crash\", \"node\": {\"name\": \"a\"}}]}", "must be a node name"),
        ("{\"name\": \"x\", \"nodes\": [{\"name\": \"a\"}], \"steps\": [{\"at\": 5, \"do\": \"expect\", \"check\": \"keys\", \"node\": \"a\"}]}", "missing field `count`"),
        // A comparison of no nodes used to reach an index in the runner and panic.
        ("{\"name\": \"x\", \"nodes\": [{\"name\": \"a\"}], \"steps\": [{\"at\": 5, \"do\": \"expect\", \"check\": \"same_data\", \"nodes\": []}]}", "`nodes` must name at least one node"),
        ("{\"name\": \"x\", \"nodes\": [{\"name\": \"a\"}], \"steps\": [{\"at\": 5, \"do\": \"expect\", \"check\": \"same_offset\", \"nodes\": []}]}", "`nodes` must name at least one node"),
        ("name = \"x\"\n[[nodes]]\nname = \"a b\"\n", "must be 1-32 letters"),
        ("{\"name\": \"x\", \"nodes\": [ {\"name\": 1} ]}", "line 1"),
        ("name = \"x\"\n[[nodes]]\nname = \"a\"\n[[steps]]\nat = 9\ndo = \"note\"\n[[steps]]\nat = 2\ndo = \"note\"\n", "time order"),
    ];
    for (text, needle) in cases {
        let err = Scenario::parse(text).expect_err(text).0;
        assert!(err.contains(needle), "{text:?}: {err}");
    }
    let huge = "#".repeat(300 * 1024);
    assert!(Scenario::parse(&huge).unwrap_err().0.contains("too large"));
}

#[test]
fn a_scenario_round_trips_through_json() {
    let s = presets::get("cascade").unwrap();
    let back = Scenario::parse(&s.to_json()).unwrap();
    assert_eq!(back, s);
}

//! What the run's steps say about the present: whether a node is paused or persists its
//! data, what a chart should mark, and whether an intervention makes sense at all. The
//! simulator does not expose these, and the UI must not peek into engines for them.

use replscope_sim::scenario::{Action, Scenario, Step};
use replscope_sim::World;

/// Is `node` inside a `pause` step at `now`?
pub fn paused(steps: &[Step], node: &str, now: u64) -> bool {
    steps.iter().any(|s| matches!(&s.action, Action::Pause { node: n, ms } if n == node && s.at <= now && now < s.at + ms))
}

/// Does `node` save its dataset to disk at `now`? From its arguments (`--save ""` turns RDB
/// snapshots off; `--appendonly yes` turns persistence on), then any `CONFIG SET save` since.
pub fn persistence(scenario: &Scenario, steps: &[Step], node: &str, now: u64) -> bool {
    let added = steps.iter().find_map(|s| match &s.action {
        Action::AddNode { node: def } if def.name == node => Some(def.args.clone()),
        _ => None,
    });
    let args = scenario.nodes.iter().find(|n| n.name == node).map(|n| n.args.clone()).or(added).unwrap_or_default();
    let mut on = from_args(&args);
    for s in steps.iter().filter(|s| s.at <= now) {
        if let Action::Command { node: n, line, .. } = &s.action {
            if n == node {
                if let Some(v) = config_set_save(line) {
                    on = !v.is_empty();
                }
            }
        }
    }
    on
}

fn from_args(args: &[String]) -> bool {
    let mut save = true;
    let mut aof = false;
    for w in args.windows(2) {
        if w[0].eq_ignore_ascii_case("--save") {
            save = !w[1].trim().is_empty();
        }
        if w[0].eq_ignore_ascii_case("--appendonly") {
            aof = w[1].eq_ignore_ascii_case("yes");
        }
    }
    save || aof
}

/// The value of `CONFIG SET save <value>`, if that is what `line` is.
fn config_set_save(line: &str) -> Option<String> {
    // Called for every command step on every frame: skip parsing lines that cannot match.
    if !line.as_bytes().windows(4).any(|w| w.eq_ignore_ascii_case(b"save")) {
        return None;
    }
    let args = replscope_engine::split_args(line.as_bytes())?;
    let words: Vec<String> = args.iter().map(|a| String::from_utf8_lossy(a).to_string()).collect();
    match words.as_slice() {
        [c, s, k, v] if c.eq_ignore_ascii_case("config") && s.eq_ignore_ascii_case("set") && k.eq_ignore_ascii_case("save") => Some(v.clone()),
        _ => None,
    }
}

/// A short label for the chart if the step is a fault or a topology change.
pub fn fault_label(a: &Action) -> Option<String> {
    Some(match a {
        Action::Crash { node } => format!("{node} crashed"),
        Action::Restart { node, empty: false } => format!("{node} restarted"),
        Action::Restart { node, empty: true } => format!("{node} restarted empty"),
        Action::Pause { node, ms } => format!("{node} paused {ms} ms"),
        Action::Cut { a, b, .. } => format!("{a}–{b} cut"),
        Action::Heal { a, b } => format!("{a}–{b} healed"),
        Action::Reset { a, b } => format!("{a}–{b} reset"),
        Action::RemoveNode { node } => format!("{node} removed"),
        Action::AddNode { node } => format!("{} added", node.name),
        Action::Command { node, line, .. } => {
            let upper = line.trim_start().to_ascii_uppercase();
            if ["REPLICAOF", "SLAVEOF", "FAILOVER"].iter().any(|c| upper.starts_with(c)) {
                format!("{node}: {line}")
            } else {
                return None;
            }
        }
        _ => return None,
    })
}

/// Refuses an intervention that names nodes this world does not have (or would clash).
pub fn check(world: &World, action: &Action) -> Result<(), String> {
    let names = world.node_names();
    let known = |n: &String| -> Result<(), String> {
        if names.contains(n) { Ok(()) } else { Err(format!("ERR no such node '{n}'")) }
    };
    match action {
        Action::Command { node, line, .. } => {
            known(node)?;
            replscope_engine::split_args(line.as_bytes()).ok_or_else(|| "ERR Invalid argument(s)".to_string())?;
        }
        Action::Crash { node } | Action::Restart { node, .. } | Action::Pause { node, .. } | Action::RemoveNode { node } | Action::Load { node, .. } => known(node)?,
        Action::Cut { a, b, .. } | Action::Heal { a, b } | Action::Reset { a, b } | Action::Link { a, b, .. } => {
            known(a)?;
            known(b)?;
            if a == b {
                return Err("ERR a link joins two different nodes".into());
            }
        }
        Action::AddNode { node } => {
            if names.contains(&node.name) {
                return Err(format!("ERR node '{}' already exists", node.name));
            }
            if names.len() >= 32 {
                return Err("ERR at most 32 nodes".into());
            }
            let ok = !node.name.is_empty() && node.name.len() <= 32 && node.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !ok {
                return Err("ERR node names are 1-32 letters, digits, '-' or '_'".into());
            }
            if let Some(m) = &node.replicaof {
                known(m)?;
            }
        }
        Action::Note | Action::StopLoad | Action::Expect(_) => {}
    }
    if let Action::Load { per_second, .. } = action {
        if *per_second == 0 || *per_second > 100_000 {
            return Err("ERR a write load is 1 to 100000 writes/s".into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use replscope_sim::scenario::NodeDef;

    fn step(at: u64, action: Action) -> Step {
        Step { at, say: None, action }
    }

    fn scenario(args: &[&str]) -> Scenario {
        Scenario {
            name: "t".into(),
            title: String::new(),
            description: String::new(),
            seed: 1,
            tail_ms: 0,
            nodes: vec![NodeDef { name: "m".into(), args: args.iter().map(|s| s.to_string()).collect(), replicaof: None }],
            links: vec![],
            steps: vec![],
        }
    }

    #[test]
    fn pauses_last_their_length() {
        let steps = vec![step(1_000, Action::Pause { node: "m".into(), ms: 500 })];
        assert!(!paused(&steps, "m", 999));
        assert!(paused(&steps, "m", 1_000));
        assert!(paused(&steps, "m", 1_499));
        assert!(!paused(&steps, "m", 1_500));
        assert!(!paused(&steps, "r", 1_200));
    }

    #[test]
    fn persistence_follows_arguments_then_config_set() {
        assert!(persistence(&scenario(&[]), &[], "m", 0), "redis saves by default");
        assert!(!persistence(&scenario(&["--save", ""]), &[], "m", 0));
        assert!(persistence(&scenario(&["--save", "", "--appendonly", "yes"]), &[], "m", 0));
        let steps = vec![step(10, Action::Command { node: "m".into(), line: "CONFIG SET save \"\"".into(), track: None })];
        let s = scenario(&[]);
        assert!(persistence(&s, &steps, "m", 9));
        assert!(!persistence(&s, &steps, "m", 10));
    }

    #[test]
    fn faults_get_labels_and_reads_do_not() {
        assert_eq!(fault_label(&Action::Crash { node: "m".into() }).as_deref(), Some("m crashed"));
        assert_eq!(fault_label(&Action::Command { node: "r".into(), line: "replicaof no one".into(), track: None }).as_deref(), Some("r: replicaof no one"));
        assert_eq!(fault_label(&Action::Command { node: "r".into(), line: "GET a".into(), track: None }), None);
    }

    #[test]
    fn interventions_naming_unknown_nodes_are_refused() {
        let mut w = World::new(1);
        w.add_node(replscope_sim::NodeSpec::new("m"));
        assert_eq!(check(&w, &Action::Crash { node: "x".into() }), Err("ERR no such node 'x'".into()));
        assert!(check(&w, &Action::Crash { node: "m".into() }).is_ok());
        assert!(check(&w, &Action::Cut { a: "m".into(), b: "m".into(), oneway: false }).is_err());
        let add = |name: &str| Action::AddNode { node: NodeDef { name: name.into(), args: vec![], replicaof: Some("m".into()) } };
        assert!(check(&w, &add("m")).is_err());
        assert!(check(&w, &add("<img>")).is_err());
        assert!(check(&w, &add("r9")).is_ok());
        assert!(check(&w, &Action::Command { node: "m".into(), line: "SET \"a".into(), track: None }).is_err());
    }
}

/// Commands that only look (a console runs them on a copy of the world, so looking at a node
/// never forks the run). Everything else is an intervention.
pub fn is_read_only(line: &str) -> bool {
    const LOOKS: &[&str] = &[
        "GET", "MGET", "STRLEN", "GETRANGE", "EXISTS", "TYPE", "TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME", "KEYS", "SCAN", "DBSIZE",
        "RANDOMKEY", "LRANGE", "LLEN", "LINDEX", "LPOS", "HGET", "HMGET", "HGETALL", "HKEYS", "HVALS", "HLEN", "HEXISTS", "HSTRLEN",
        "HSCAN", "HRANDFIELD", "SMEMBERS", "SISMEMBER", "SMISMEMBER", "SCARD", "SSCAN", "SRANDMEMBER", "SINTER", "SUNION", "SDIFF",
        "SINTERCARD", "INFO", "ROLE", "PING", "ECHO", "TIME", "LASTSAVE", "COMMAND", "OBJECT", "MEMORY", "DUMP", "LOLWUT",
    ];
    let Some(args) = replscope_engine::split_args(line.as_bytes()) else { return false };
    let Some(first) = args.first() else { return false };
    let cmd = String::from_utf8_lossy(first).to_ascii_uppercase();
    if LOOKS.contains(&cmd.as_str()) {
        return true;
    }
    let sub = args.get(1).map(|a| String::from_utf8_lossy(a).to_ascii_uppercase()).unwrap_or_default();
    matches!((cmd.as_str(), sub.as_str()), ("CONFIG", "GET") | ("CLIENT", "LIST" | "INFO" | "GETNAME" | "ID") | ("DEBUG", "DIGEST" | "DIGEST-VALUE"))
}

#[cfg(test)]
mod read_only_tests {
    use super::is_read_only;

    #[test]
    fn looking_is_read_only_and_changing_is_not() {
        for l in ["get a", "INFO replication", "config get save", "DEBUG DIGEST", "role"] {
            assert!(is_read_only(l), "{l}");
        }
        for l in ["SET a 1", "CONFIG SET save \"\"", "REPLICAOF NO ONE", "DEBUG SLEEP 1", "WAIT 1 0", "", "GET \"a"] {
            assert!(!is_read_only(l), "{l}");
        }
    }
}

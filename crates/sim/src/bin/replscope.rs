//! `replscope`: list and run scenarios natively.
//!
//! ```text
//! replscope presets                 # preset names, one per line
//! replscope run FILE                # a TOML or JSON scenario
//! replscope run --preset NAME
//! replscope convert FILE            # a TOML or JSON scenario as JSON (what the browser reads)
//! ```
//! Prints the timeline and each node's `INFO replication`, checks the expectations and exits
//! with status 1 when one fails (2 for a bad command line or file).

use std::process::ExitCode;

use replscope_sim::{presets, runner, Scenario};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(|s| s.as_str()).collect::<Vec<_>>().as_slice() {
        ["presets"] => {
            for name in presets::names() {
                println!("{name}");
            }
            ExitCode::SUCCESS
        }
        ["run", "--preset", name] => match presets::get(name) {
            Some(s) => run(&s),
            None => {
                eprintln!("replscope: no preset named '{name}' (see `replscope presets`)");
                ExitCode::from(2)
            }
        },
        ["run", file] => match load(file) {
            Ok(s) => run(&s),
            Err(code) => code,
        },
        ["convert", file] => match load(file) {
            Ok(s) => {
                println!("{}", s.to_json());
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        _ => {
            eprintln!("usage: replscope presets | replscope run FILE | replscope run --preset NAME | replscope convert FILE");
            ExitCode::from(2)
        }
    }
}

/// A scenario file, read and checked; on failure the message is printed and the exit code
/// returned.
fn load(file: &str) -> Result<Scenario, ExitCode> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        eprintln!("replscope: cannot read {file}: {e}");
        ExitCode::from(2)
    })?;
    Scenario::parse(&text).map_err(|e| {
        eprintln!("replscope: {file}: {e}");
        ExitCode::from(2)
    })
}

fn run(s: &Scenario) -> ExitCode {
    let title = if s.title.is_empty() { s.name.clone() } else { format!("{} — {}", s.name, s.title) };
    println!("== {title}");
    if !s.description.is_empty() {
        println!("{}", s.description);
    }
    println!();
    let mut out = runner::run(s);
    for line in &out.timeline {
        println!("{:>8.3}s  {}", line.at as f64 / 1000.0, line.text);
    }
    println!();
    for node in out.world.node_names() {
        let info = out.world.info(&node, "replication");
        println!("-- {node}: INFO replication");
        if info.is_empty() {
            println!("(down)");
        } else {
            print!("{}", info.replace("\r\n", "\n"));
        }
        println!();
    }
    let passed = out.checks - out.failures.len();
    println!("{passed} passed, {} failed", out.failures.len());
    if out.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        for f in &out.failures {
            eprintln!("FAILED: {f}");
        }
        ExitCode::from(1)
    }
}

//! `replscope-node`: one ReplScope engine node served over TCP, started like redis-server:
//!
//! ```text
//! replscope-node --port 7001 --save "" --appendonly no --requirepass secret
//! redis-cli -p 7001 -a secret ping
//! ```

mod cli;
mod log;
mod server;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("-v" | "--version") => {
            println!(
                "replscope-node v={} redis_version={} bits={}",
                env!("CARGO_PKG_VERSION"),
                replscope_engine::REDIS_VERSION,
                usize::BITS
            );
            return ExitCode::SUCCESS;
        }
        Some("-h" | "--help") => {
            println!("Usage: replscope-node [--name value ...]");
            println!("       replscope-node -v or --version");
            println!("       replscope-node -h or --help");
            println!();
            println!("Options are redis.conf directives, as redis-server takes them on its command line:");
            println!("       replscope-node --port 7001 --save \"\" --appendonly no");
            println!("       replscope-node --port 7002 --replicaof 127.0.0.1 7001 --loglevel verbose");
            println!("Listens on 127.0.0.1 unless --bind is given.");
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    let cwd = match std::env::current_dir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("Can't read the working directory: {e}");
            return ExitCode::FAILURE;
        }
    };
    let startup = match cli::parse(&args, &cwd) {
        Ok(s) => s,
        Err(cli::Fatal(message)) => {
            eprintln!("{message}");
            return ExitCode::FAILURE;
        }
    };
    let pid = std::process::id();
    let logger = log::Logger::new(pid, startup.logfile.clone());
    if let Err(e) = logger.check() {
        let path = startup.logfile.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
        eprintln!("Can't open the log file: {path}: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::from(server::run(startup, logger, pid) as u8)
}

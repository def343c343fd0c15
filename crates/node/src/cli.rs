//! redis-server's command-line form: `replscope-node --port 7001 --save "" ...`.
//!
//! The engine's `Config::from_args` checks every directive; this module adds what a process
//! needs on top: the FATAL message redis-server prints for a bad directive, `--dir` resolved
//! to an absolute path (without changing the working directory), the default `bind`
//! narrowed to 127.0.0.1, and the log file path.

use std::path::{Path, PathBuf};

use replscope_engine::{Config, ConfigError, REDIS_VERSION};

/// What `main` needs to start serving.
#[derive(Debug)]
pub struct Startup {
    pub config: Config,
    /// (address, optional): a `-` prefix in `bind` means "ignore if unavailable".
    pub binds: Vec<(String, bool)>,
    pub port: u16,
    pub logfile: Option<PathBuf>,
}

/// A start-up failure: print `message` to stderr and exit 1.
#[derive(Debug, PartialEq, Eq)]
pub struct Fatal(pub String);

/// One `--name value...` directive as typed.
struct Directive {
    name: String,
    values: Vec<String>,
}

impl Directive {
    /// The line redis-server quotes in its FATAL message: `name "v1" "v2"`.
    fn line(&self) -> String {
        let mut s = self.name.clone();
        for v in &self.values {
            s.push_str(" \"");
            for c in v.chars() {
                match c {
                    '"' | '\\' => {
                        s.push('\\');
                        s.push(c);
                    }
                    '\n' => s.push_str("\\n"),
                    '\r' => s.push_str("\\r"),
                    '\t' => s.push_str("\\t"),
                    c if (c as u32) < 0x20 || c as u32 == 0x7f => s.push_str(&format!("\\x{:02x}", c as u32)),
                    c => s.push(c),
                }
            }
            s.push('"');
        }
        s
    }

    fn args(&self) -> Vec<String> {
        let mut v = vec![format!("--{}", self.name)];
        v.extend(self.values.iter().cloned());
        v
    }
}

/// redis-server's FATAL CONFIG FILE ERROR text. The command line becomes config lines after a
/// leading empty one, hence `index + 2`.
fn fatal_at(index: usize, d: &Directive, reason: &str) -> Fatal {
    Fatal(format!(
        "\n*** FATAL CONFIG FILE ERROR (Redis {REDIS_VERSION}) ***\nReading the configuration file, at line {}\n>>> '{}'\n{}",
        index + 2,
        d.line(),
        reason
    ))
}

fn directives(args: &[String]) -> Result<Vec<Directive>, Fatal> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let Some(name) = args[i].strip_prefix("--") else {
            let d = Directive { name: args[i].clone(), values: vec![] };
            let reason = if i == 0 {
                "replscope-node reads no configuration file: pass every directive on the command line as --name value"
            } else {
                "Bad directive or wrong number of arguments"
            };
            return Err(fatal_at(out.len(), &d, reason));
        };
        let mut j = i + 1;
        while j < args.len() && !args[j].starts_with("--") {
            j += 1;
        }
        out.push(Directive { name: name.to_string(), values: args[i + 1..j].to_vec() });
        i = j;
    }
    Ok(out)
}

fn reason(err: &ConfigError, d: &Directive) -> String {
    match err {
        ConfigError::Unknown(_) if d.values.is_empty() && Config::canonical(&d.name).is_some() => {
            "wrong number of arguments".to_string()
        }
        ConfigError::Unknown(_) => "Bad directive or wrong number of arguments".to_string(),
        ConfigError::Invalid { reason, .. } => reason.clone(),
    }
}

/// `io::Error`'s text without Rust's " (os error N)" suffix, as strerror() prints it.
fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Parses the arguments after the program name. `cwd` stands in for the working directory
/// (the default `dir`, and the base of a relative `--dir`).
pub fn parse(args: &[String], cwd: &Path) -> Result<Startup, Fatal> {
    let list = directives(args)?;
    // Check each directive alone first, so the message can point at the bad one.
    for (i, d) in list.iter().enumerate() {
        if let Err(e) = Config::from_args(&d.args()) {
            return Err(fatal_at(i, d, &reason(&e, d)));
        }
    }
    let mut all: Vec<String> = list.iter().flat_map(|d| d.args()).collect();
    let has = |name: &str| list.iter().any(|d| Config::canonical(&d.name) == Some(name));
    // The engine's default bind is redis-server's `* -::*`; a local tool listens on loopback
    // unless told otherwise.
    if !has("bind") {
        all.push("--bind".into());
        all.push("127.0.0.1".into());
    }
    let mut config = Config::from_args(&all).map_err(|e| Fatal(format!("\n*** FATAL CONFIG FILE ERROR (Redis {REDIS_VERSION}) ***\n{e}")))?;

    // `dir`: redis-server chdir()s into it while reading the config and CONFIG GET dir then
    // shows getcwd(). We keep our working directory and store the absolute path instead.
    let dir = match list.iter().enumerate().rev().find(|(_, d)| Config::canonical(&d.name) == Some("dir")) {
        Some((i, d)) => {
            let raw = Path::new(config.text("dir"));
            let joined = if raw.is_absolute() { raw.to_path_buf() } else { cwd.join(raw) };
            let abs = std::fs::canonicalize(&joined).map_err(|e| fatal_at(i, d, &strerror(&e)))?;
            if !abs.is_dir() {
                return Err(fatal_at(i, d, "Not a directory"));
            }
            abs
        }
        None => cwd.to_path_buf(),
    };
    let dir_text = dir.to_string_lossy().into_owned();
    config.set("dir", &dir_text).map_err(|e| Fatal(format!("dir: {e}")))?;

    // A relative log file is relative to `dir`: redis-server opens it after the chdir.
    let logfile = match config.text("logfile") {
        "" => None,
        f if Path::new(f).is_absolute() => Some(PathBuf::from(f)),
        f => Some(dir.join(f)),
    };

    let port = config.int("port");
    let port = u16::try_from(port).map_err(|_| Fatal(format!("invalid port {port}")))?;
    let binds = config
        .text("bind")
        .split_whitespace()
        .map(|a| match a.strip_prefix('-') {
            Some(rest) => (rest.to_string(), true),
            None => (a.to_string(), false),
        })
        .collect();
    Ok(Startup { config, binds, port, logfile })
}

/// `*` and `::*` are redis-server's "every IPv4 / IPv6 address".
pub fn bind_ip(addr: &str) -> &str {
    match addr {
        "*" => "0.0.0.0",
        "::*" => "::",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn defaults_to_loopback_and_cwd() {
        let s = parse(&args(&["--port", "7001", "--save", ""]), Path::new("/")).unwrap();
        assert_eq!(s.port, 7001);
        assert_eq!(s.binds, vec![("127.0.0.1".to_string(), false)]);
        assert_eq!(s.config.text("bind"), "127.0.0.1");
        assert_eq!(s.config.text("dir"), "/");
        assert_eq!(s.config.text("save"), "");
        assert!(s.logfile.is_none());
    }

    #[test]
    fn explicit_bind_is_kept() {
        let s = parse(&args(&["--bind", "* -::*"]), Path::new("/")).unwrap();
        assert_eq!(s.binds, vec![("*".to_string(), false), ("::*".to_string(), true)]);
        assert_eq!(bind_ip("*"), "0.0.0.0");
    }

    #[test]
    fn relative_dir_becomes_absolute() {
        let tmp = std::env::temp_dir().canonicalize().unwrap();
        let s = parse(&args(&["--dir", ".", "--logfile", "n.log"]), &tmp).unwrap();
        assert_eq!(Path::new(s.config.text("dir")), tmp);
        assert_eq!(s.logfile, Some(tmp.join("n.log")));
    }

    #[test]
    fn fatal_messages_in_redis_style() {
        let e = parse(&args(&["--port", "7001", "--save", "", "--nope", "1", "a"]), Path::new("/")).unwrap_err();
        assert_eq!(
            e.0,
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 4\n>>> 'nope \"1\" \"a\"'\nBad directive or wrong number of arguments"
        );
        let e = parse(&args(&["--port", "abc"]), Path::new("/")).unwrap_err();
        assert!(e.0.ends_with(">>> 'port \"abc\"'\nargument couldn't be parsed into an integer"), "{}", e.0);
        let e = parse(&args(&["--loglevel"]), Path::new("/")).unwrap_err();
        assert!(e.0.ends_with("wrong number of arguments"), "{}", e.0);
        let e = parse(&args(&["--dir", "/nonexistent-replscope"]), Path::new("/")).unwrap_err();
        assert!(e.0.ends_with(">>> 'dir \"/nonexistent-replscope\"'\nNo such file or directory"), "{}", e.0);
        let e = parse(&args(&["redis.conf"]), Path::new("/")).unwrap_err();
        assert!(e.0.contains("reads no configuration file"), "{}", e.0);
    }
}

//! Log lines in redis-server's format: `pid:R DD Mon YYYY HH:MM:SS.mmm L message`, where `R`
//! is the role (`C` while the configuration loads, `M` for the running master) and `L` the
//! level symbol (`.` debug, `-` verbose, `*` notice, `#` warning). Written to stdout, or
//! appended to `--logfile` (opened for every line, as redis-server does, so the file can be
//! rotated underneath us).

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;

use replscope_engine::LogLevel;

pub struct Logger {
    pid: u32,
    file: Option<PathBuf>,
}

impl Logger {
    pub fn new(pid: u32, file: Option<PathBuf>) -> Logger {
        Logger { pid, file }
    }

    /// Fails like redis-server's start-up check when the log file cannot be opened.
    pub fn check(&self) -> std::io::Result<()> {
        if let Some(path) = &self.file {
            OpenOptions::new().create(true).append(true).open(path)?;
        }
        Ok(())
    }

    /// Writes `line` if `level` reaches `threshold` (the `loglevel` directive's name).
    pub fn log(&self, role: char, level: LogLevel, threshold: &str, line: &str) {
        if level < parse_level(threshold) {
            return;
        }
        self.write_raw(&format!("{}:{} {} {} {}\n", self.pid, role, timestamp(), level.symbol(), line));
    }

    /// A line that is not in the standard shape (the signal handler's, for instance).
    pub fn write_raw(&self, text: &str) {
        match &self.file {
            Some(path) => {
                if let Ok(mut f) = OpenOptions::new().create(true).append(true).open(path) {
                    let _ = f.write_all(text.as_bytes());
                }
            }
            None => {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(text.as_bytes());
                let _ = out.flush();
            }
        }
    }
}

pub fn parse_level(name: &str) -> LogLevel {
    match name {
        "debug" => LogLevel::Debug,
        "verbose" => LogLevel::Verbose,
        "warning" => LogLevel::Warning,
        _ => LogLevel::Notice,
    }
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// `strftime("%d %b %Y %H:%M:%S.")` plus milliseconds, in local time like redis-server.
pub fn timestamp() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = now.as_secs() as libc::time_t;
    // SAFETY: localtime_r only writes into the `tm` we own; a zeroed `tm` is a valid value.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&secs, &mut tm).is_null() };
    if !ok {
        return format!("{}.{:03}", now.as_secs(), now.subsec_millis());
    }
    format!(
        "{:02} {} {} {:02}:{:02}:{:02}.{:03}",
        tm.tm_mday,
        MONTHS[tm.tm_mon.clamp(0, 11) as usize],
        tm.tm_year + 1900,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        now.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_has_redis_shape() {
        let ts = timestamp();
        // "24 Nov 2026 19:57:00.123"
        let parts: Vec<&str> = ts.split(' ').collect();
        assert_eq!(parts.len(), 4, "{ts}");
        assert_eq!(parts[0].len(), 2);
        assert!(MONTHS.contains(&parts[1]));
        assert_eq!(parts[2].len(), 4);
        assert_eq!(parts[3].len(), "19:57:00.123".len());
    }

    #[test]
    fn levels_filter() {
        assert_eq!(parse_level("warning"), LogLevel::Warning);
        assert!(LogLevel::Verbose < parse_level("notice"));
    }
}

//! Command history as redis-cli's linenoise keeps it: ArrowUp walks back, ArrowDown walks
//! forward to the line being edited, duplicates of the previous entry and secrets are not
//! recorded.

use replscope_console::{parse_line, take_repeat};

/// At most this many entries (linenoise's default history length is 100; redis-cli keeps
/// more in its file, the browser keeps a session's worth).
pub const MAX_HISTORY: usize = 500;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct History {
    entries: Vec<String>,
    /// Position while browsing: `entries.len()` means "the line being edited".
    cursor: usize,
    /// What was typed before browsing started, restored by walking past the newest entry.
    draft: String,
}

impl History {
    pub fn new() -> History {
        History::default()
    }

    pub fn entries(&self) -> &[String] {
        &self.entries
    }

    /// Records a submitted line and resets browsing.
    pub fn push(&mut self, line: &str) {
        self.cursor = self.entries.len();
        self.draft.clear();
        if line.trim().is_empty() || is_secret(line) {
            return;
        }
        if self.entries.last().map(String::as_str) != Some(line) {
            self.entries.push(line.to_string());
            if self.entries.len() > MAX_HISTORY {
                self.entries.remove(0);
            }
        }
        self.cursor = self.entries.len();
    }

    /// ArrowUp with `current` in the input: the previous entry, if any.
    pub fn up(&mut self, current: &str) -> Option<String> {
        if self.cursor == 0 || self.entries.is_empty() {
            return None;
        }
        if self.cursor >= self.entries.len() {
            self.cursor = self.entries.len();
            self.draft = current.to_string();
        }
        self.cursor -= 1;
        self.entries.get(self.cursor).cloned()
    }

    /// ArrowDown: the next entry, or the draft after the newest one.
    pub fn down(&mut self) -> Option<String> {
        if self.cursor >= self.entries.len() {
            return None;
        }
        self.cursor += 1;
        match self.entries.get(self.cursor) {
            Some(e) => Some(e.clone()),
            None => Some(std::mem::take(&mut self.draft)),
        }
    }
}

/// redis-cli does not record AUTH and ACL SETUSER lines (they carry passwords).
fn is_secret(line: &str) -> bool {
    let Ok(args) = parse_line(line) else { return false };
    let Ok(typed) = take_repeat(args) else { return false };
    let arg = |i: usize, name: &str| typed.args.get(i).is_some_and(|a| a.eq_ignore_ascii_case(name.as_bytes()));
    arg(0, "auth") || (arg(0, "acl") && arg(1, "setuser"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_back_and_forth_keeping_the_draft() {
        let mut h = History::new();
        assert_eq!(h.up("x"), None);
        h.push("SET a 1");
        h.push("GET a");
        assert_eq!(h.up("typing"), Some("GET a".into()));
        assert_eq!(h.up("GET a"), Some("SET a 1".into()));
        assert_eq!(h.up("SET a 1"), None);
        assert_eq!(h.down(), Some("GET a".into()));
        assert_eq!(h.down(), Some("typing".into()));
        assert_eq!(h.down(), None);
    }

    #[test]
    fn skips_blanks_duplicates_and_secrets() {
        let mut h = History::new();
        h.push("PING");
        h.push("PING");
        h.push("   ");
        h.push("AUTH secret");
        h.push("auth user pw");
        h.push("ACL SETUSER bob on >pw");
        h.push("3 AUTH x");
        h.push("GET \"unbalanced");
        assert_eq!(h.entries(), ["PING", "GET \"unbalanced"]);
    }

    #[test]
    fn is_bounded() {
        let mut h = History::new();
        for i in 0..(MAX_HISTORY + 10) {
            h.push(&format!("SET k {i}"));
        }
        assert_eq!(h.entries().len(), MAX_HISTORY);
        assert_eq!(h.entries()[0], "SET k 10");
    }
}

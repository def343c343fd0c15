//! What the console panel shows: typed commands with their prompt, and redis-cli's output.
//! Plain data, so it can sit in a signal and be tested natively.

/// At most this many entries are kept; older ones scroll away as in a terminal.
pub const MAX_ENTRIES: usize = 1000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// `127.0.0.1:6379> SET greeting hello`
    Command { prompt: String, line: String },
    /// redis-cli's output for one command, split into lines (no trailing newline).
    Output { lines: Vec<String> },
    /// A message from the page itself (not from redis-cli), e.g. "New node started".
    Note { text: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub id: u64,
    pub kind: EntryKind,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Transcript {
    entries: Vec<Entry>,
    next_id: u64,
}

impl Transcript {
    pub fn new() -> Transcript {
        Transcript::default()
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn push_command(&mut self, prompt: &str, line: &str) {
        self.push(EntryKind::Command { prompt: prompt.to_string(), line: line.to_string() });
    }

    /// redis-cli's output text; nothing is shown for empty output (SHUTDOWN, a blank line).
    pub fn push_output(&mut self, text: &str) {
        let lines = output_lines(text);
        if !lines.is_empty() {
            self.push(EntryKind::Output { lines });
        }
    }

    pub fn push_note(&mut self, text: &str) {
        self.push(EntryKind::Note { text: text.to_string() });
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }

    fn push(&mut self, kind: EntryKind) {
        self.next_id += 1;
        self.entries.push(Entry { id: self.next_id, kind });
        if self.entries.len() > MAX_ENTRIES {
            let extra = self.entries.len() - MAX_ENTRIES;
            self.entries.drain(..extra);
        }
    }
}

/// Terminal text into display lines: CRLF (INFO's line ends) becomes a plain line break and
/// the final newline does not make an empty last line.
pub fn output_lines(text: &str) -> Vec<String> {
    let text = text.strip_suffix('\n').unwrap_or(text);
    if text.is_empty() {
        return Vec::new();
    }
    text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l).to_string()).collect()
}

/// A CSS class for one output line, by what redis-cli printed on it.
pub fn line_class(line: &str) -> &'static str {
    // Skip array indexes ("  1) 2) ") to find the value on the line.
    let mut rest = line.trim_start();
    loop {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && rest[digits..].starts_with(") ") {
            rest = rest[digits + 2..].trim_start();
        } else {
            break;
        }
    }
    if rest.starts_with("(error) ")
        || line.starts_with("Invalid argument(s)")
        || line.starts_with("Invalid redis-cli repeat")
        || line.starts_with("Could not connect to Redis")
        || line.starts_with("Error: ")
        || line.starts_with("SELECT ") && line.contains(" failed: ")
    {
        "line-error"
    } else if rest == "(nil)" || rest.starts_with("(empty ") {
        "line-nil"
    } else if rest.starts_with("(integer) ") {
        "line-int"
    } else if rest.starts_with('"') {
        "line-str"
    } else {
        "line-plain"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_split_into_lines() {
        assert_eq!(output_lines("OK\n"), ["OK"]);
        assert_eq!(output_lines("1) \"a\"\n2) \"b\"\n"), ["1) \"a\"", "2) \"b\""]);
        // INFO is printed raw: CRLF line ends, the last one ends the output.
        assert_eq!(output_lines("# Keyspace\r\ndb0:keys=1\r\n"), ["# Keyspace", "db0:keys=1"]);
        assert_eq!(output_lines("a\n\nb\n"), ["a", "", "b"]);
        assert!(output_lines("").is_empty());
        assert!(output_lines("\n").is_empty());
    }

    #[test]
    fn classes() {
        assert_eq!(line_class("(error) ERR unknown command 'x'"), "line-error");
        assert_eq!(line_class(" 2) (error) ERR x"), "line-error");
        assert_eq!(line_class("Invalid argument(s)"), "line-error");
        assert_eq!(line_class("(nil)"), "line-nil");
        assert_eq!(line_class("(empty array)"), "line-nil");
        assert_eq!(line_class("1) 2) (integer) 3"), "line-int");
        assert_eq!(line_class("\"hello\""), "line-str");
        assert_eq!(line_class("OK"), "line-plain");
        assert_eq!(line_class("10) \"(error) not really\""), "line-str");
    }

    #[test]
    fn bounded_and_clearable() {
        let mut t = Transcript::new();
        for i in 0..(MAX_ENTRIES + 5) {
            t.push_note(&i.to_string());
        }
        assert_eq!(t.entries().len(), MAX_ENTRIES);
        assert_eq!(t.entries()[0].id, 6);
        t.push_output("");
        assert_eq!(t.entries().len(), MAX_ENTRIES);
        t.clear();
        assert!(t.entries().is_empty());
        t.push_command("127.0.0.1:6379> ", "PING");
        assert_eq!(t.entries()[0].id as usize, MAX_ENTRIES + 6);
    }
}

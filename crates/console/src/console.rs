//! A redis-cli session over one client connection to an engine [`Node`].
//!
//! The console borrows the node on every call, so the node can live wherever the driver
//! keeps it. The console drains the node's outputs: what belongs to its own connection is
//! read as replies, everything else (log lines, other connections' bytes, `Shutdown`) is kept
//! for the driver in [`Console::take_other_outputs`].

use std::collections::VecDeque;

use replscope_engine::resp::encode_command;
use replscope_engine::{ConnId, Frame, Input, Millis, Node, Output};

use crate::format::{format_reply, format_reply_csv, format_reply_raw};
use crate::parse::{parse_line, take_repeat};

/// Where redis-cli connects by default; the console's node listens "there".
pub const HOST: &str = "127.0.0.1";
pub const PORT: u16 = 6379;

/// A browser tab cannot be stopped with Ctrl-C, so `N CMD` runs at most this many times.
pub const MAX_REPEAT: u64 = 10_000;

/// The result of typing a line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Submitted {
    /// Finished: exactly what redis-cli prints (possibly nothing). Lines end with `\n`.
    Done(String),
    /// Still running: the node has not answered yet (it is blocked by DEBUG SLEEP), or
    /// redis-cli went into replica output mode (SYNC). Holds what was printed so far; call
    /// [`Console::tick`] at the node's `poll_timeout()` for the rest, and
    /// [`Console::interrupt`] for Ctrl-C.
    Pending(String),
    /// redis-cli's `clear`: clear the screen.
    Clear,
    /// A command is still waiting for its reply; the line was not taken.
    Busy,
}

/// redis-cli's `slaveMode()`: after SYNC it reads the bulk header itself, discards the
/// snapshot, then prints every command of the replication stream as CSV.
#[derive(Clone, Debug)]
enum ReplicaMode {
    /// Reading `$<len>` or `$EOF:<mark>`; newlines before it are the master's keepalives.
    Header { line: Vec<u8> },
    /// Discarding a snapshot of known length.
    Discard { left: u64 },
    /// Discarding a diskless snapshot until its 40-byte end mark.
    DiscardToMark { mark: Vec<u8>, tail: Vec<u8>, seen: u64 },
    /// Printing the stream.
    Stream,
}

const EOF_MARK_SIZE: usize = 40;

#[derive(Clone, Debug)]
struct Request {
    args: Vec<Vec<u8>>,
    /// Typed by the user (printed, tracked for the prompt) or sent by the console itself
    /// (the SELECT that restores the database after a reconnect).
    typed: bool,
}

/// One redis-cli session. See the crate docs for the driving loop.
#[derive(Debug)]
pub struct Console {
    conn: Option<ConnId>,
    /// The server closed the connection after its last reply. redis-cli only finds out
    /// when it sends the next command (`Error: Server closed the connection`).
    closed_by_server: bool,
    next_port: u32,
    inbox: Vec<u8>,
    queue: VecDeque<Request>,
    in_flight: Option<Request>,
    replica: Option<ReplicaMode>,
    /// What the current submission has printed so far.
    text: String,
    pending: bool,
    dbnum: i64,
    input_dbnum: i64,
    pre_multi_dbnum: i64,
    in_multi: bool,
    others: Vec<Output>,
}

impl Default for Console {
    fn default() -> Self {
        Console::new()
    }
}

impl Console {
    /// A console that is not connected yet (see [`Console::connect`]); the first command
    /// connects anyway.
    pub fn new() -> Console {
        Console {
            conn: None,
            closed_by_server: false,
            next_port: 50_000,
            inbox: Vec::new(),
            queue: VecDeque::new(),
            in_flight: None,
            replica: None,
            text: String::new(),
            pending: false,
            dbnum: 0,
            input_dbnum: 0,
            pre_multi_dbnum: 0,
            in_multi: false,
            others: Vec::new(),
        }
    }

    /// Connects as redis-cli does when it starts. On failure returns the line redis-cli
    /// prints; the prompt then reads `not connected> `.
    pub fn connect(&mut self, node: &mut Node, now: Millis) -> Result<(), String> {
        if self.conn.is_some() {
            return Ok(());
        }
        self.closed_by_server = false;
        let port = self.next_port;
        self.next_port = if self.next_port >= 65_535 { 50_000 } else { self.next_port + 1 };
        let conn = node.accept(now, &format!("{HOST}:{port}"), &format!("{HOST}:{PORT}"));
        self.conn = Some(conn);
        self.inbox.clear();
        self.drain(node);
        if self.conn.is_none() {
            self.closed_by_server = false;
            return Err(format!("Could not connect to Redis at {HOST}:{PORT}: Connection refused"));
        }
        // cliConnect: a fresh connection starts outside MULTI in db 0, then re-selects the
        // database the user had chosen.
        self.in_multi = false;
        self.dbnum = 0;
        if self.input_dbnum != 0 {
            self.queue.push_back(Request {
                args: vec![b"SELECT".to_vec(), self.input_dbnum.to_string().into_bytes()],
                typed: false,
            });
        }
        Ok(())
    }

    /// redis-cli's prompt: `127.0.0.1:6379[db](TX)> ` or `not connected> `.
    pub fn prompt(&self) -> String {
        if self.conn.is_none() && !self.closed_by_server {
            return "not connected> ".to_string();
        }
        let mut p = format!("{HOST}:{PORT}");
        if self.dbnum != 0 {
            p.push_str(&format!("[{}]", self.dbnum));
        }
        if self.in_multi {
            p.push_str("(TX)");
        }
        p.push_str("> ");
        p
    }

    /// Whether the console holds an open connection (false as soon as the server closed
    /// it, even before redis-cli would notice).
    pub fn is_connected(&self) -> bool {
        self.conn.is_some()
    }

    /// The console's connection (its CLIENT ID), if connected.
    pub fn conn(&self) -> Option<ConnId> {
        self.conn
    }

    /// A typed command is still running (waiting for its reply, or in replica mode).
    pub fn is_pending(&self) -> bool {
        self.pending
    }

    /// redis-cli is in replica output mode (after SYNC), printing the master's stream.
    pub fn in_replica_mode(&self) -> bool {
        self.replica.is_some()
    }

    /// Outputs of the node that were not for this console: log lines, `Shutdown`, other
    /// connections' traffic. The driver shows or routes them.
    pub fn take_other_outputs(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.others)
    }

    /// Types `line` at time `now`, as redis-cli's REPL reads it.
    pub fn submit(&mut self, node: &mut Node, now: Millis, line: &str) -> Submitted {
        if self.pending {
            return Submitted::Busy;
        }
        let args = match parse_line(line) {
            Ok(args) => args,
            Err(msg) => return Submitted::Done(format!("{msg}\n")),
        };
        if args.is_empty() {
            return Submitted::Done(String::new());
        }
        if args.len() == 1 && args[0].eq_ignore_ascii_case(b"clear") {
            return Submitted::Clear;
        }
        if args[0].eq_ignore_ascii_case(b"exit") {
            // redis-cli exits without a word; here the session ends and the next command
            // starts a new one, as running redis-cli again would.
            self.end_session(node, now);
            return Submitted::Done(String::new());
        }
        let typed = match take_repeat(args) {
            Ok(t) => t,
            Err(msg) => return Submitted::Done(format!("{msg}\n")),
        };
        self.text.clear();
        if self.closed_by_server {
            // The command is written to a socket the server already closed: the read
            // finds EOF, and redis-cli drops the connection.
            self.closed_by_server = false;
            self.in_multi = false;
            return Submitted::Done("Error: Server closed the connection\n".to_string());
        }
        if self.conn.is_none() {
            self.queue.clear();
            if let Err(msg) = self.connect(node, now) {
                return Submitted::Done(format!("{msg}\n"));
            }
        }
        let repeat = typed.repeat.min(MAX_REPEAT);
        if typed.repeat > MAX_REPEAT {
            self.text.push_str(&format!("(repeat count capped at {MAX_REPEAT} in the browser)\n"));
        }
        for _ in 0..repeat {
            self.queue.push_back(Request { args: typed.args.clone(), typed: true });
        }
        self.pending = true;
        self.pump(node, now);
        self.result()
    }

    /// Lets time pass: runs the node's timers if they are due at `now` (the end of a
    /// DEBUG SLEEP, the active expire cycle, replication pings) and returns what a running
    /// command printed meanwhile, if anything. [`Console::is_pending`] says whether it is
    /// still running.
    pub fn tick(&mut self, node: &mut Node, now: Millis) -> Option<String> {
        if node.poll_timeout().is_some_and(|t| t <= now) {
            node.handle_timeout(now);
        }
        if !self.pending {
            // Nothing is running, but the node may have closed our connection meanwhile.
            self.drain(node);
            self.inbox.clear();
            return None;
        }
        self.pump(node, now);
        let text = std::mem::take(&mut self.text);
        if text.is_empty() && self.pending {
            None
        } else {
            Some(text)
        }
    }

    /// Ctrl-C: redis-cli dies, and with it its connection (the server goes on, still
    /// blocked if it was). The next command starts a new session. Returns whether a
    /// command was running.
    pub fn interrupt(&mut self, node: &mut Node, now: Millis) -> bool {
        let was = self.pending;
        self.end_session(node, now);
        self.pending = false;
        self.text.clear();
        was
    }

    fn result(&mut self) -> Submitted {
        let text = std::mem::take(&mut self.text);
        if self.pending {
            Submitted::Pending(text)
        } else {
            Submitted::Done(text)
        }
    }

    /// Sends queued requests one at a time (redis-cli waits for each reply) and reads replies.
    fn pump(&mut self, node: &mut Node, now: Millis) {
        loop {
            self.drain(node);
            if self.replica.is_some() {
                self.pump_replica(node, now);
                return;
            }
            if let Some(req) = self.in_flight.take() {
                match Frame::decode(&self.inbox) {
                    Ok(Some((frame, used))) => {
                        self.inbox.drain(..used);
                        self.on_reply(&req, &frame);
                        if req.typed && req.args.first().is_some_and(|a| a.eq_ignore_ascii_case(b"quit")) {
                            // redis-cli prints QUIT's reply and exits.
                            self.end_session(node, now);
                            self.pending = false;
                            return;
                        }
                        continue;
                    }
                    Ok(None) if self.conn.is_none() => {
                        // The server closed the connection before answering.
                        let shutdown = req.args.first().is_some_and(|a| a.eq_ignore_ascii_case(b"shutdown"));
                        if !shutdown {
                            self.text.push_str("Error: Server closed the connection\n");
                        }
                        self.closed_by_server = false;
                        self.abort();
                        return;
                    }
                    Ok(None) => {
                        self.in_flight = Some(req);
                        return;
                    }
                    Err(msg) => {
                        self.text.push_str(&format!("Error: {msg}\n"));
                        if let Some(conn) = self.conn.take() {
                            node.handle_input(now, Input::Closed { conn });
                        }
                        self.drain(node);
                        self.closed_by_server = false;
                        self.abort();
                        return;
                    }
                }
            }
            // Nothing in flight: replies nobody asked for are dropped so they cannot be
            // mistaken for the answer to the next command.
            self.inbox.clear();
            let Some(req) = self.queue.pop_front() else {
                self.pending = false;
                return;
            };
            let Some(conn) = self.conn else {
                self.abort();
                return;
            };
            let mut bytes = encode_command(&req.args);
            if req.typed && is_sync(&req.args) {
                // cliSendCommand buffers the typed command, then slaveMode() writes its own
                // "SYNC\r\n" and both go out together; the rest of a repeat never runs.
                self.text.push_str("Entering replica output mode...  (press Ctrl-C to quit)\n");
                bytes.extend_from_slice(b"SYNC\r\n");
                self.queue.clear();
                self.replica = Some(ReplicaMode::Header { line: Vec::new() });
                node.handle_input(now, Input::Received { conn, bytes: &bytes });
                continue;
            }
            node.handle_input(now, Input::Received { conn, bytes: &bytes });
            self.in_flight = Some(req);
        }
    }

    /// Replica output mode: consumes the inbox according to `slaveMode()`'s steps.
    fn pump_replica(&mut self, node: &mut Node, now: Millis) {
        loop {
            let Some(mode) = self.replica.take() else { return };
            let next = match mode {
                ReplicaMode::Header { mut line } => {
                    let mut used = 0;
                    let mut done = false;
                    for &b in &self.inbox {
                        used += 1;
                        if b == b'\n' && !line.is_empty() {
                            done = true;
                            break;
                        }
                        if b != b'\n' {
                            line.push(b);
                        }
                    }
                    self.inbox.drain(..used);
                    if !done {
                        if self.conn.is_none() {
                            return self.replica_failed(node, now, "Error reading bulk length while SYNCing");
                        }
                        self.replica = Some(ReplicaMode::Header { line });
                        return;
                    }
                    if line.first() == Some(&b'-') {
                        let msg = String::from_utf8_lossy(&line).trim_end_matches('\r').to_string();
                        return self.replica_failed(node, now, &format!("SYNC with master failed: {msg}"));
                    }
                    let body = &line[1..];
                    if body.starts_with(b"EOF:") && body.len() - 4 >= EOF_MARK_SIZE {
                        self.text.push_str(
                            "SYNC with master, discarding bytes of bulk transfer until EOF marker...\n",
                        );
                        let mark = body[4..4 + EOF_MARK_SIZE].to_vec();
                        ReplicaMode::DiscardToMark { mark, tail: Vec::new(), seen: 0 }
                    } else {
                        match strtoull(body) {
                            0 => {
                                // redis-cli then waits for an all-zero end mark.
                                self.text.push_str(
                                    "SYNC with master, discarding bytes of bulk transfer until EOF marker...\n",
                                );
                                ReplicaMode::DiscardToMark { mark: vec![0; EOF_MARK_SIZE], tail: Vec::new(), seen: 0 }
                            }
                            n => {
                                self.text.push_str(&format!(
                                    "SYNC with master, discarding {n} bytes of bulk transfer...\n"
                                ));
                                ReplicaMode::Discard { left: n }
                            }
                        }
                    }
                }
                ReplicaMode::Discard { left } => {
                    let n = (self.inbox.len() as u64).min(left);
                    self.inbox.drain(..n as usize);
                    let left = left - n;
                    if left > 0 {
                        if self.conn.is_none() {
                            return self.replica_failed(node, now, "Error reading RDB payload while SYNCing");
                        }
                        self.replica = Some(ReplicaMode::Discard { left });
                        return;
                    }
                    self.text.push_str("SYNC done. Logging commands from master.\n");
                    ReplicaMode::Stream
                }
                ReplicaMode::DiscardToMark { mark, mut tail, mut seen } => {
                    let mut used = 0;
                    let mut found = false;
                    for &b in &self.inbox {
                        used += 1;
                        seen += 1;
                        tail.push(b);
                        if tail.len() > EOF_MARK_SIZE {
                            tail.remove(0);
                        }
                        if tail == mark {
                            found = true;
                            break;
                        }
                    }
                    self.inbox.drain(..used);
                    if !found {
                        if self.conn.is_none() {
                            return self.replica_failed(node, now, "Error reading RDB payload while SYNCing");
                        }
                        self.replica = Some(ReplicaMode::DiscardToMark { mark, tail, seen });
                        return;
                    }
                    self.text.push_str(&format!("SYNC done after {seen} bytes. Logging commands from master.\n"));
                    ReplicaMode::Stream
                }
                ReplicaMode::Stream => {
                    loop {
                        match Frame::decode(&self.inbox) {
                            Ok(Some((frame, used))) => {
                                self.inbox.drain(..used);
                                self.text.push_str(&format_reply_csv(&frame));
                                self.text.push('\n');
                            }
                            Ok(None) => break,
                            Err(msg) => return self.replica_failed(node, now, &format!("Error: {msg}")),
                        }
                    }
                    if self.conn.is_none() {
                        // cliReadReply sees EOF: back at the prompt, not connected.
                        self.text.push_str("Error: Server closed the connection\n");
                        self.replica = None;
                        self.closed_by_server = false;
                        self.abort();
                        return;
                    }
                    self.replica = Some(ReplicaMode::Stream);
                    return;
                }
            };
            self.replica = Some(next);
        }
    }

    /// redis-cli prints the message and exits(1): the session is over.
    fn replica_failed(&mut self, node: &mut Node, now: Millis, msg: &str) {
        self.text.push_str(msg);
        self.text.push('\n');
        self.end_session(node, now);
        self.pending = false;
    }

    /// The end of a redis-cli process: the connection goes, and so do the chosen database
    /// and any transaction. The next command connects afresh.
    fn end_session(&mut self, node: &mut Node, now: Millis) {
        if let Some(conn) = self.conn.take() {
            node.handle_input(now, Input::Closed { conn });
            self.drain(node);
        }
        self.closed_by_server = false;
        self.queue.clear();
        self.in_flight = None;
        self.replica = None;
        self.inbox.clear();
        self.dbnum = 0;
        self.input_dbnum = 0;
        self.pre_multi_dbnum = 0;
        self.in_multi = false;
    }

    fn abort(&mut self) {
        self.queue.clear();
        self.in_flight = None;
        self.replica = None;
        self.inbox.clear();
        self.pending = false;
        if self.conn.is_none() {
            self.in_multi = false;
        }
    }

    /// Moves the node's outputs: our bytes to the inbox, our close to `conn = None`.
    fn drain(&mut self, node: &mut Node) {
        while let Some(out) = node.poll_output() {
            match out {
                Output::Send { conn, bytes } if Some(conn) == self.conn => self.inbox.extend(bytes),
                Output::Close { conn } if Some(conn) == self.conn => {
                    self.conn = None;
                    self.closed_by_server = true;
                }
                other => self.others.push(other),
            }
        }
    }

    fn on_reply(&mut self, req: &Request, frame: &Frame) {
        if !req.typed {
            // cliSelect after a reconnect.
            match frame {
                Frame::Error(e) => self.text.push_str(&format!("SELECT {} failed: {e}\n", self.input_dbnum)),
                _ => self.dbnum = self.input_dbnum,
            }
            return;
        }
        let raw = prints_raw(&req.args);
        if raw {
            self.text.push_str(&String::from_utf8_lossy(&format_reply_raw(frame)));
        } else {
            self.text.push_str(&format_reply(frame));
        }
        self.track_state(&req.args, frame);
    }

    /// cliSendCommand's bookkeeping for the prompt: SELECT, MULTI, EXEC, DISCARD, RESET.
    fn track_state(&mut self, args: &[Vec<u8>], frame: &Frame) {
        let Some(cmd) = args.first() else { return };
        let is = |name: &str| cmd.eq_ignore_ascii_case(name.as_bytes());
        let error = frame.is_error();
        if is("select") && args.len() == 2 && !error {
            self.dbnum = atoi(&args[1]);
            self.input_dbnum = self.dbnum;
        } else if is("multi") && args.len() == 1 && !error {
            self.in_multi = true;
            self.pre_multi_dbnum = self.dbnum;
        } else if is("exec") && args.len() == 1 && self.in_multi {
            self.in_multi = false;
            if error || matches!(frame, Frame::Null | Frame::NullArray) {
                self.dbnum = self.pre_multi_dbnum;
                self.input_dbnum = self.dbnum;
            }
        } else if is("discard") && args.len() == 1 && !error {
            self.in_multi = false;
            self.dbnum = self.pre_multi_dbnum;
            self.input_dbnum = self.dbnum;
        } else if is("reset") && args.len() == 1 && !error {
            self.in_multi = false;
            self.dbnum = 0;
            self.input_dbnum = 0;
        }
    }
}

/// SYNC and PSYNC put redis-cli in replica output mode.
fn is_sync(args: &[Vec<u8>]) -> bool {
    args.first().is_some_and(|a| a.eq_ignore_ascii_case(b"sync") || a.eq_ignore_ascii_case(b"psync"))
}

/// `strtoull(s, NULL, 10)`: leading blanks, an optional sign, digits; 0 if none.
fn strtoull(s: &[u8]) -> u64 {
    let mut it = s.iter().copied().skip_while(|b| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')).peekable();
    let negative = match it.peek() {
        Some(b'-') => {
            it.next();
            true
        }
        Some(b'+') => {
            it.next();
            false
        }
        _ => false,
    };
    let mut v: u64 = 0;
    for b in it.take_while(u8::is_ascii_digit) {
        v = v.saturating_mul(10).saturating_add((b - b'0') as u64);
    }
    if negative {
        v.wrapping_neg()
    } else {
        v
    }
}

/// Commands whose replies redis-cli prints raw even on a terminal (cliSendCommand).
fn prints_raw(args: &[Vec<u8>]) -> bool {
    let arg = |i: usize, name: &str| args.get(i).is_some_and(|a| a.eq_ignore_ascii_case(name.as_bytes()));
    let n = args.len();
    arg(0, "info")
        || arg(0, "lolwut")
        || (n >= 2 && arg(0, "debug") && (arg(1, "htstats") || arg(1, "htstats-key")))
        || (n >= 2 && arg(0, "memory") && (arg(1, "malloc-stats") || arg(1, "doctor")))
        || (n == 2 && arg(0, "cluster") && (arg(1, "nodes") || arg(1, "info")))
        || (n >= 2 && arg(0, "client") && (arg(1, "list") || arg(1, "info")))
        || (n == 3 && arg(0, "latency") && arg(1, "graph"))
        || (n == 2 && arg(0, "latency") && arg(1, "doctor"))
        || (n >= 2 && arg(0, "proxy") && arg(1, "info"))
}

/// C's `atoi` on an argument: optional blanks and sign, then digits; anything else is 0.
fn atoi(arg: &[u8]) -> i64 {
    let s = arg.iter().skip_while(|b| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'));
    let mut neg = false;
    let mut v: i64 = 0;
    for (i, &b) in s.enumerate() {
        match b {
            b'-' | b'+' if i == 0 => neg = b == b'-',
            b'0'..=b'9' => v = v.saturating_mul(10).saturating_add((b - b'0') as i64),
            _ => break,
        }
    }
    // atoi returns an int.
    let v = if neg { -v } else { v };
    v as i32 as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use replscope_engine::Config;

    const T0: Millis = Millis(1_700_000_000_000);

    fn node() -> Node {
        let config = Config::from_args(&["--enable-debug-command", "local"]).unwrap();
        Node::new(config, 7, T0)
    }

    fn setup() -> (Node, Console) {
        let mut n = node();
        let mut c = Console::new();
        c.connect(&mut n, T0).unwrap();
        (n, c)
    }

    fn run(c: &mut Console, n: &mut Node, line: &str) -> String {
        match c.submit(n, T0, line) {
            Submitted::Done(s) => s,
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn set_get_and_errors() {
        let (mut n, mut c) = setup();
        assert_eq!(c.prompt(), "127.0.0.1:6379> ");
        assert_eq!(run(&mut c, &mut n, "SET greeting hello"), "OK\n");
        assert_eq!(run(&mut c, &mut n, "GET greeting"), "\"hello\"\n");
        assert_eq!(run(&mut c, &mut n, "GET nothing"), "(nil)\n");
        assert_eq!(run(&mut c, &mut n, "INCR n"), "(integer) 1\n");
        assert_eq!(run(&mut c, &mut n, "INCR greeting"), "(error) ERR value is not an integer or out of range\n");
        assert_eq!(
            run(&mut c, &mut n, "FOO bar"),
            "(error) ERR unknown command 'FOO', with args beginning with: 'bar' \n"
        );
        assert_eq!(run(&mut c, &mut n, "SET k \"a\\nb\\x01\""), "OK\n");
        assert_eq!(run(&mut c, &mut n, "GET k"), "\"a\\nb\\x01\"\n");
        assert_eq!(run(&mut c, &mut n, "SET \"unbalanced"), "Invalid argument(s)\n");
        assert_eq!(run(&mut c, &mut n, "   "), "");
        assert_eq!(run(&mut c, &mut n, "0 PING"), "Invalid redis-cli repeat command option value.\n");
        assert_eq!(run(&mut c, &mut n, "3 INCR r"), "(integer) 1\n(integer) 2\n(integer) 3\n");
        assert_eq!(c.submit(&mut n, T0, "clear"), Submitted::Clear);
    }

    #[test]
    fn arrays_and_transactions() {
        let (mut n, mut c) = setup();
        run(&mut c, &mut n, "RPUSH l a b c");
        assert_eq!(run(&mut c, &mut n, "LRANGE l 0 -1"), "1) \"a\"\n2) \"b\"\n3) \"c\"\n");
        assert_eq!(run(&mut c, &mut n, "LRANGE nope 0 -1"), "(empty array)\n");
        assert_eq!(run(&mut c, &mut n, "MULTI"), "OK\n");
        assert_eq!(c.prompt(), "127.0.0.1:6379(TX)> ");
        assert_eq!(run(&mut c, &mut n, "INCR x"), "QUEUED\n");
        assert_eq!(run(&mut c, &mut n, "LRANGE l 0 1"), "QUEUED\n");
        assert_eq!(run(&mut c, &mut n, "GET missing"), "QUEUED\n");
        assert_eq!(run(&mut c, &mut n, "EXEC"), "1) (integer) 1\n2) 1) \"a\"\n   2) \"b\"\n3) (nil)\n");
        assert_eq!(c.prompt(), "127.0.0.1:6379> ");
        assert_eq!(run(&mut c, &mut n, "EXEC"), "(error) ERR EXEC without MULTI\n");
        let digest = run(&mut c, &mut n, "DEBUG DIGEST");
        // DEBUG DIGEST answers with a status reply: printed unquoted.
        assert_eq!(digest, format!("{}\n", n.digest()));
    }

    #[test]
    fn select_changes_the_prompt_and_multi_can_undo_it() {
        let (mut n, mut c) = setup();
        assert_eq!(run(&mut c, &mut n, "SELECT 2"), "OK\n");
        assert_eq!(c.prompt(), "127.0.0.1:6379[2]> ");
        assert_eq!(run(&mut c, &mut n, "SELECT 99"), "(error) ERR DB index is out of range\n");
        assert_eq!(c.prompt(), "127.0.0.1:6379[2]> ");
        run(&mut c, &mut n, "MULTI");
        run(&mut c, &mut n, "SELECT 3");
        assert_eq!(c.prompt(), "127.0.0.1:6379[3](TX)> ");
        assert_eq!(run(&mut c, &mut n, "DISCARD"), "OK\n");
        assert_eq!(c.prompt(), "127.0.0.1:6379[2]> ");
    }

    #[test]
    fn raw_commands_print_raw() {
        let (mut n, mut c) = setup();
        let info = run(&mut c, &mut n, "INFO keyspace");
        assert!(info.starts_with("# Keyspace\r\n"), "{info:?}");
        assert!(!info.starts_with('"'));
        let list = run(&mut c, &mut n, "CLIENT LIST");
        assert!(list.starts_with("id="), "{list:?}");
    }

    #[test]
    fn debug_sleep_is_pending_until_the_timer() {
        let (mut n, mut c) = setup();
        assert_eq!(c.submit(&mut n, T0, "DEBUG SLEEP 0.5"), Submitted::Pending(String::new()));
        assert!(c.is_pending());
        assert_eq!(c.submit(&mut n, T0, "PING"), Submitted::Busy);
        let due = n.poll_timeout().expect("a sleeping node has a timer");
        assert_eq!(due, Millis(T0.0 + 500));
        // Too early: nothing yet.
        assert_eq!(c.tick(&mut n, Millis(T0.0 + 499)), None);
        assert!(c.is_pending());
        assert_eq!(c.tick(&mut n, due), Some("OK\n".to_string()));
        assert!(!c.is_pending());
        assert_eq!(c.tick(&mut n, Millis(due.0 + 1000)), None);
        assert_eq!(c.submit(&mut n, due, "PING"), Submitted::Done("PONG\n".into()));
        // A repeated sleep stays pending across both sleeps.
        assert_eq!(c.submit(&mut n, due, "2 DEBUG SLEEP 0.1"), Submitted::Pending(String::new()));
        // Each reply is printed as it comes, as redis-cli does.
        assert_eq!(c.tick(&mut n, Millis(due.0 + 100)), Some("OK\n".to_string()));
        assert!(c.is_pending());
        assert_eq!(c.tick(&mut n, Millis(due.0 + 200)), Some("OK\n".to_string()));
        assert!(!c.is_pending());
    }

    #[test]
    fn ctrl_c_ends_the_session_but_the_server_stays_blocked() {
        let (mut n, mut c) = setup();
        run(&mut c, &mut n, "SELECT 4");
        assert_eq!(c.submit(&mut n, T0, "DEBUG SLEEP 1"), Submitted::Pending(String::new()));
        assert!(c.interrupt(&mut n, T0));
        assert!(!c.is_pending());
        assert_eq!(c.prompt(), "not connected> ");
        // A new redis-cli connects, but the server answers only when the sleep is over.
        assert_eq!(c.submit(&mut n, T0, "PING"), Submitted::Pending(String::new()));
        assert_eq!(c.tick(&mut n, Millis(T0.0 + 1000)), Some("PONG\n".to_string()));
        assert_eq!(c.prompt(), "127.0.0.1:6379> ", "a new session starts in db 0");
        assert!(!c.interrupt(&mut n, T0));
    }

    /// Runs the node's timers until `until`, collecting what the console prints.
    fn drive(c: &mut Console, n: &mut Node, from: Millis, until: Millis) -> (String, Millis) {
        let mut out = String::new();
        let mut now = from;
        while let Some(due) = n.poll_timeout() {
            if due > until {
                break;
            }
            now = now.max(due);
            if let Some(t) = c.tick(n, now) {
                out.push_str(&t);
            }
        }
        (out, now)
    }

    #[test]
    fn sync_enters_replica_output_mode() {
        let (mut n, mut c) = setup();
        run(&mut c, &mut n, "SET before 1");
        let Submitted::Pending(first) = c.submit(&mut n, T0, "SYNC") else { panic!("SYNC keeps running") };
        assert_eq!(first.lines().next(), Some("Entering replica output mode...  (press Ctrl-C to quit)"));
        let (more, now) = drive(&mut c, &mut n, T0, Millis(T0.0 + 5_000));
        let text = first + &more;
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[1].starts_with("SYNC with master, discarding "), "{text}");
        assert_eq!(lines[2], "SYNC done. Logging commands from master.", "{text}");
        assert!(c.is_pending());
        assert_eq!(c.submit(&mut n, now, "PING"), Submitted::Busy);
        // Another client writes: the console prints the replication stream as CSV.
        let other = n.accept(now, "127.0.0.1:40000", "127.0.0.1:6379");
        n.handle_input(now, Input::Received { conn: other, bytes: &encode_command(&["SET", "k", "v x"]) });
        let printed = c.tick(&mut n, now).unwrap_or_default();
        assert_eq!(printed, "\"SELECT\",\"0\"\n\"SET\",\"k\",\"v x\"\n");
        // Ctrl-C leaves replica mode; the next command is a new session.
        assert!(c.interrupt(&mut n, now));
        assert_eq!(c.submit(&mut n, now, "GET k"), Submitted::Done("\"v x\"\n".into()));
    }

    #[test]
    fn sync_error_ends_the_session() {
        let (mut n, mut c) = setup();
        run(&mut c, &mut n, "CONFIG SET requirepass secret");
        run(&mut c, &mut n, "exit");
        // A new, unauthenticated session: SYNC is refused with an error line, which
        // redis-cli reports before it exits.
        let text = match c.submit(&mut n, T0, "SYNC") {
            Submitted::Done(t) | Submitted::Pending(t) => t,
            other => panic!("{other:?}"),
        };
        assert!(text.starts_with("Entering replica output mode...  (press Ctrl-C to quit)\n"), "{text}");
        assert!(text.ends_with("SYNC with master failed: -NOAUTH Authentication required.\n"), "{text}");
        assert!(!c.is_pending());
        assert_eq!(c.prompt(), "not connected> ");
    }

    #[test]
    fn quit_prints_ok_and_ends_the_session() {
        let (mut n, mut c) = setup();
        run(&mut c, &mut n, "SELECT 1");
        run(&mut c, &mut n, "SET k v");
        let first = c.conn();
        // redis-cli 7.0 sends QUIT, prints the reply and exits.
        assert_eq!(run(&mut c, &mut n, "QUIT"), "OK\n");
        assert!(!c.is_connected());
        assert_eq!(c.prompt(), "not connected> ");
        // The next command is a new redis-cli: a new connection, back in db 0.
        assert_eq!(run(&mut c, &mut n, "GET k"), "(nil)\n");
        assert_ne!(c.conn(), first);
        assert_eq!(c.prompt(), "127.0.0.1:6379> ");
        assert_eq!(run(&mut c, &mut n, "SELECT 1"), "OK\n");
        assert_eq!(run(&mut c, &mut n, "GET k"), "\"v\"\n");
    }

    #[test]
    fn exit_ends_the_session_silently() {
        let (mut n, mut c) = setup();
        run(&mut c, &mut n, "MULTI");
        assert_eq!(run(&mut c, &mut n, "exit"), "");
        assert_eq!(c.prompt(), "not connected> ");
        assert_eq!(run(&mut c, &mut n, "PING"), "PONG\n", "a new session, not inside MULTI");
        assert_eq!(c.prompt(), "127.0.0.1:6379> ");
        // Only the new connection is left on the server.
        assert_eq!(run(&mut c, &mut n, "CLIENT LIST").lines().count(), 1);
    }

    #[test]
    fn shutdown_prints_nothing_and_then_cannot_connect() {
        let (mut n, mut c) = setup();
        run(&mut c, &mut n, "SET k v");
        assert_eq!(run(&mut c, &mut n, "SHUTDOWN NOSAVE"), "");
        assert!(n.is_stopped());
        assert_eq!(c.prompt(), "not connected> ");
        assert!(c.take_other_outputs().iter().any(|o| matches!(o, Output::Shutdown { save: false })));
        assert_eq!(
            run(&mut c, &mut n, "PING"),
            "Could not connect to Redis at 127.0.0.1:6379: Connection refused\n"
        );
        assert_eq!(c.prompt(), "not connected> ");
        // A fresh node: the console connects again.
        let mut n = node();
        assert_eq!(run(&mut c, &mut n, "PING"), "PONG\n");
    }

    #[test]
    fn a_closed_connection_is_noticed_on_the_next_command() {
        let (mut n, mut c) = setup();
        run(&mut c, &mut n, "SELECT 2");
        let me = c.conn().unwrap().0;
        assert_eq!(run(&mut c, &mut n, &format!("CLIENT KILL ID {me}")), "(integer) 0\n", "SKIPME yes by default");
        assert_eq!(run(&mut c, &mut n, &format!("CLIENT KILL ID {me} SKIPME no")), "(integer) 1\n");
        // As in redis-cli: the prompt does not know yet...
        assert_eq!(c.prompt(), "127.0.0.1:6379[2]> ");
        // ...the next command finds the connection closed (and is not run)...
        assert_eq!(run(&mut c, &mut n, "SET lost 1"), "Error: Server closed the connection\n");
        assert_eq!(c.prompt(), "not connected> ");
        // ...and the one after reconnects to the same database.
        assert_eq!(run(&mut c, &mut n, "EXISTS lost"), "(integer) 0\n");
        assert_eq!(c.prompt(), "127.0.0.1:6379[2]> ");
    }

    #[test]
    fn protocol_error_from_a_huge_argument_does_not_panic() {
        let (mut n, mut c) = setup();
        assert_eq!(run(&mut c, &mut n, "CONFIG SET proto-max-bulk-len 1mb"), "OK\n");
        let line = format!("SET k {}", "x".repeat(2 * 1024 * 1024));
        let out = run(&mut c, &mut n, &line);
        assert_eq!(out, "(error) ERR Protocol error: invalid bulk length\n");
        assert_eq!(run(&mut c, &mut n, "PING"), "Error: Server closed the connection\n");
        assert_eq!(c.prompt(), "not connected> ");
        assert_eq!(run(&mut c, &mut n, "PING"), "PONG\n");
    }

    #[test]
    fn odd_input_never_panics() {
        let (mut n, mut c) = setup();
        for line in [
            "", "\"", "'", "\\", "\"\\x\"", "\u{0}", "é", "💥 boom", "SET", "GET", "MULTI", "EXEC", "EXEC",
            "DISCARD", "SELECT x", "SELECT -1", "SELECT 99999999999999999999", "99999999999999999999 PING",
            "2 QUIT", "DEBUG SLEEP -1", "DEBUG SLEEP abc", "SHUTDOWN ABORT", "AUTH x", "CLIENT KILL ID 1",
        ] {
            let _ = c.submit(&mut n, T0, line);
            let _ = c.tick(&mut n, T0);
            let _ = c.prompt();
        }
        assert_eq!(atoi(b"12abc"), 12);
        assert_eq!(atoi(b" -3"), -3);
        assert_eq!(atoi(b"x"), 0);
    }

    #[test]
    fn other_outputs_are_kept_for_the_driver() {
        let mut n = node();
        let mut c = Console::new();
        c.connect(&mut n, T0).unwrap();
        let logs = c.take_other_outputs();
        assert!(logs.iter().any(|o| matches!(o, Output::Log { line, .. } if line == "Ready to accept connections")));
    }
}

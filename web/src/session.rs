//! The browser's node and its redis-cli console, with no browser calls in it: the UI passes
//! the time in and renders what comes out, and native unit tests drive it the same way.

use replscope_console::{Console, Submitted};
use replscope_engine::{Config, Input, LogLevel, Millis, Node, Output, REDIS_VERSION};

/// One line of the server's log, as the side panel shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    pub id: u64,
    pub at: Millis,
    pub symbol: char,
    pub warning: bool,
    pub text: String,
}

/// Live facts about the node, read only through its public getters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    pub running: bool,
    /// The `databases` directive.
    pub databases: String,
    /// "master", or "replica of host:port (link state)", from the node's status.
    pub role: String,
    pub replid: String,
    pub repl_offset: i64,
    pub run_id: String,
    pub port: String,
    pub hz: String,
    pub keys_total: usize,
    /// `db0:keys=…` style breakdown of the non-empty databases.
    pub keyspace: Vec<(usize, usize)>,
    pub digest: String,
    pub maxmemory_policy: String,
    pub started: Millis,
    pub connected: bool,
    pub client_id: Option<u64>,
    pub version: &'static str,
}

pub struct Session {
    node: Node,
    console: Console,
    started: Millis,
    next_log_id: u64,
    logs: Vec<LogLine>,
}

/// The browser node is redis-server with the DEBUG command allowed from local
/// connections, so DEBUG SLEEP and DEBUG DIGEST work from the console.
fn node_config() -> Config {
    Config::from_args(&["--enable-debug-command", "local"]).unwrap_or_default()
}

impl Session {
    pub fn new(now: Millis, seed: u64) -> Session {
        let mut s = Session {
            node: Node::new(node_config(), seed, now),
            console: Console::new(),
            started: now,
            next_log_id: 0,
            logs: Vec::new(),
        };
        let _ = s.console.connect(&mut s.node, now);
        s.collect_logs(now);
        s
    }

    /// A fresh node (after SHUTDOWN, or on request). The console reconnects on its next
    /// command, as redis-cli does once the server is back.
    pub fn restart(&mut self, now: Millis, seed: u64) {
        self.node = Node::new(node_config(), seed, now);
        self.started = now;
        let _ = self.console.connect(&mut self.node, now);
        self.collect_logs(now);
    }

    pub fn submit(&mut self, now: Millis, line: &str) -> Submitted {
        let out = self.console.submit(&mut self.node, now, line);
        self.collect_logs(now);
        out
    }

    /// Runs due timers; returns what a running command printed meanwhile.
    pub fn tick(&mut self, now: Millis) -> Option<String> {
        let out = self.console.tick(&mut self.node, now);
        self.collect_logs(now);
        out
    }

    /// Ctrl-C: redis-cli stops (and its connection with it). Whether something was running.
    pub fn interrupt(&mut self, now: Millis) -> bool {
        let was = self.console.interrupt(&mut self.node, now);
        self.collect_logs(now);
        was
    }

    pub fn in_replica_mode(&self) -> bool {
        self.console.in_replica_mode()
    }

    pub fn next_timeout(&self) -> Option<Millis> {
        self.node.poll_timeout()
    }

    pub fn prompt(&self) -> String {
        self.console.prompt()
    }

    pub fn is_pending(&self) -> bool {
        self.console.is_pending()
    }

    /// Log lines produced since the last call.
    pub fn take_logs(&mut self) -> Vec<LogLine> {
        std::mem::take(&mut self.logs)
    }

    /// Keys in every database: cheap enough to read on every timer tick.
    pub fn keys_total(&self) -> usize {
        (0..self.databases()).map(|db| self.node.dbsize(db)).sum()
    }

    pub fn facts(&self) -> Facts {
        let config = self.node.config();
        let get = |name: &str| config.get(name).unwrap_or("").to_string();
        let keyspace: Vec<(usize, usize)> =
            (0..self.databases()).map(|db| (db, self.node.dbsize(db))).filter(|&(_, n)| n > 0).collect();
        let status = self.node.status(self.started);
        let role = match &status.role {
            replscope_engine::Role::Master => "master".to_string(),
            replscope_engine::Role::Replica(v) => format!("replica of {}:{} ({})", v.master_host, v.master_port, v.link_state),
        };
        Facts {
            running: !self.node.is_stopped(),
            databases: get("databases"),
            role,
            replid: status.replid,
            repl_offset: status.master_repl_offset,
            run_id: self.node.run_id().to_string(),
            port: get("port"),
            hz: get("hz"),
            keys_total: keyspace.iter().map(|&(_, n)| n).sum(),
            keyspace,
            digest: self.node.digest(),
            maxmemory_policy: get("maxmemory-policy"),
            started: self.started,
            connected: self.console.is_connected(),
            client_id: self.console.conn().map(|c| c.0),
            version: REDIS_VERSION,
        }
    }

    fn databases(&self) -> usize {
        // Bounded: a hostile `databases` value must not make the UI loop for long.
        (self.node.config().int("databases").clamp(1, 1024)) as usize
    }

    /// Keeps the log lines and answers what the node asks of the network. The page has no
    /// other server, so a connection the node opens (REPLICAOF) is refused, as it would be
    /// on a machine where nothing listens there; the node retries on its own timer.
    fn collect_logs(&mut self, now: Millis) {
        for out in self.console.take_other_outputs() {
            match out {
                Output::Log { level, line } => {
                    self.next_log_id += 1;
                    self.logs.push(LogLine {
                        id: self.next_log_id,
                        at: Millis(0),
                        symbol: level.symbol(),
                        warning: level == LogLevel::Warning,
                        text: line,
                    });
                }
                Output::Connect { conn, .. } => {
                    self.node.handle_input(now, Input::ConnectFailed { conn, reason: "Connection refused".into() });
                }
                _ => {}
            }
        }
    }

    /// Stamps the log lines collected since the last call with the time they were seen.
    pub fn take_logs_at(&mut self, now: Millis) -> Vec<LogLine> {
        let mut logs = self.take_logs();
        for l in &mut logs {
            l.at = now;
        }
        logs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Millis = Millis(1_700_000_000_000);

    #[test]
    fn commands_facts_and_logs() {
        let mut s = Session::new(T0, 3);
        let logs = s.take_logs_at(T0);
        assert!(logs.iter().any(|l| l.text == "Ready to accept connections" && l.symbol == '*'));
        assert_eq!(s.submit(T0, "SET greeting hello"), Submitted::Done("OK\n".into()));
        assert_eq!(s.submit(T0, "SELECT 3"), Submitted::Done("OK\n".into()));
        assert_eq!(s.submit(T0, "SET a 1"), Submitted::Done("OK\n".into()));
        let f = s.facts();
        assert!(f.running && f.connected);
        assert_eq!(f.databases, "16");
        assert_eq!(f.run_id.len(), 40);
        assert_eq!(f.keys_total, 2);
        assert_eq!(f.keyspace, vec![(0, 1), (3, 1)]);
        assert_eq!(f.port, "6379");
        assert_eq!(s.prompt(), "127.0.0.1:6379[3]> ");
    }

    #[test]
    fn expiry_runs_on_the_timer_and_sleep_resolves() {
        let mut s = Session::new(T0, 3);
        s.submit(T0, "SET k v PX 150");
        assert_eq!(s.keys_total(), 1);
        let mut now = T0;
        for _ in 0..10 {
            now = s.next_timeout().unwrap().max(now);
            s.tick(now);
        }
        assert!(now.0 > T0.0 + 150);
        assert_eq!(s.keys_total(), 0, "the active expire cycle removed the key");
        assert_eq!(s.submit(now, "DEBUG SLEEP 1"), Submitted::Pending(String::new()));
        assert!(s.is_pending());
        let due = s.next_timeout().unwrap();
        assert_eq!(due, Millis(now.0 + 1000));
        assert_eq!(s.tick(due), Some("OK\n".into()));
        assert!(!s.is_pending());
    }

    #[test]
    fn sync_streams_until_interrupted() {
        let mut s = Session::new(T0, 3);
        let Submitted::Pending(text) = s.submit(T0, "SYNC") else { panic!("SYNC keeps running") };
        assert!(text.starts_with("Entering replica output mode"));
        assert!(s.in_replica_mode());
        let mut now = T0;
        let mut out = String::new();
        while !out.contains("SYNC done.") && now.0 < T0.0 + 10_000 {
            now = s.next_timeout().unwrap().max(now);
            out.push_str(&s.tick(now).unwrap_or_default());
        }
        assert!(out.contains("SYNC done. Logging commands from master."), "{out}");
        assert!(s.interrupt(now));
        assert!(!s.is_pending() && !s.in_replica_mode());
        assert_eq!(s.submit(now, "PING"), Submitted::Done("PONG\n".into()));
    }

    #[test]
    fn replicaof_is_refused_by_the_empty_network() {
        let mut s = Session::new(T0, 3);
        assert_eq!(s.submit(T0, "REPLICAOF 127.0.0.1 7000"), Submitted::Done("OK\n".into()));
        let mut now = T0;
        for _ in 0..30 {
            now = s.next_timeout().unwrap().max(now);
            s.tick(now);
        }
        let logs = s.take_logs_at(now);
        assert!(logs.iter().any(|l| l.text == "Connecting to MASTER 127.0.0.1:7000"), "{logs:?}");
        assert!(logs.iter().any(|l| l.text.contains("Connection refused")), "{logs:?}");
        assert_eq!(s.submit(now, "REPLICAOF NO ONE"), Submitted::Done("OK\n".into()));
        assert_eq!(s.submit(now, "SET k v"), Submitted::Done("OK\n".into()));
    }

    #[test]
    fn shutdown_then_restart() {
        let mut s = Session::new(T0, 3);
        assert_eq!(s.submit(T0, "SHUTDOWN NOSAVE"), Submitted::Done(String::new()));
        assert!(!s.facts().running);
        assert!(s.take_logs_at(T0).iter().any(|l| l.warning && l.text.contains("ready to exit")));
        assert_eq!(s.prompt(), "not connected> ");
        s.restart(T0, 4);
        assert!(s.facts().running);
        assert_eq!(s.submit(T0, "DBSIZE"), Submitted::Done("(integer) 0\n".into()));
    }
}

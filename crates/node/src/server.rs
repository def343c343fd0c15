//! The TCP driver: one engine thread owns the `Node`; everything else talks to it through a
//! channel.
//!
//! * one acceptor thread per listening socket sends `Accepted`;
//! * per connection, a reader thread sends `Data`/`Eof`, and a writer thread receives the
//!   bytes the engine wants sent over an unbounded channel, so a slow client never blocks the
//!   engine thread (it only grows that client's queue);
//! * a signal thread (signal-hook) sends `Signal` for SIGTERM and SIGINT;
//! * an outbound connection the engine asks for (`Output::Connect`, a replica reaching its
//!   master) is opened on a connector thread, which reports `Connected` or `ConnectFailed`;
//!   from then on it is served like an accepted one.
//!
//! The engine thread waits for the next event or the engine's `poll_timeout`, whichever comes
//! first, and passes wall-clock milliseconds as `now`.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use replscope_engine::{ConnId, Input, LogLevel, Millis, Node, Output};

use crate::cli::{bind_ip, Startup};
use crate::log::Logger;

enum Event {
    Accepted(TcpStream),
    Connected(ConnId, TcpStream),
    ConnectFailed(ConnId, String),
    Data(ConnId, Vec<u8>),
    Eof(ConnId),
    Signal(i32),
}

enum WriterMsg {
    Data(Vec<u8>),
    Close,
}

struct Conn {
    writer: Sender<WriterMsg>,
    writer_thread: JoinHandle<()>,
}

/// How long queued replies may keep the process alive after a shutdown.
const FLUSH_GRACE: Duration = Duration::from_millis(500);

/// Wall-clock milliseconds, never going backwards within this process.
struct Clock {
    last: u64,
}

impl Clock {
    fn now(&mut self) -> Millis {
        let ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
        self.last = self.last.max(ms);
        Millis(self.last)
    }
}

/// Binds every `bind` address; `Err` carries the exit code after logging like redis-server.
fn listen(s: &Startup, logger: &Logger) -> Result<Vec<TcpListener>, i32> {
    let threshold = s.config.text("loglevel").to_string();
    if s.port == 0 {
        logger.log('M', LogLevel::Warning, &threshold, "Configured to not listen anywhere, exiting.");
        return Err(1);
    }
    let mut listeners = Vec::new();
    for (addr, optional) in &s.binds {
        let ip: IpAddr = match bind_ip(addr).parse() {
            Ok(ip) => ip,
            Err(_) => {
                if *optional {
                    continue;
                }
                let line = format!("Warning: Could not create server TCP listening socket {addr}:{}: Invalid address", s.port);
                logger.log('M', LogLevel::Warning, &threshold, &line);
                logger.log('M', LogLevel::Warning, &threshold, &format!("Failed listening on port {} (TCP), aborting.", s.port));
                return Err(1);
            }
        };
        match TcpListener::bind(SocketAddr::new(ip, s.port)) {
            Ok(l) => listeners.push(l),
            Err(_) if *optional => {}
            Err(e) => {
                let line = format!("Warning: Could not create server TCP listening socket {addr}:{}: bind: {}", s.port, strerror(&e));
                logger.log('M', LogLevel::Warning, &threshold, &line);
                logger.log('M', LogLevel::Warning, &threshold, &format!("Failed listening on port {} (TCP), aborting.", s.port));
                return Err(1);
            }
        }
    }
    if listeners.is_empty() {
        logger.log('M', LogLevel::Warning, &threshold, &format!("Failed listening on port {} (TCP), aborting.", s.port));
        return Err(1);
    }
    Ok(listeners)
}

fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    s.find(" (os error").map(|i| s[..i].to_string()).unwrap_or(s)
}

/// Runs the node until SHUTDOWN or a signal; returns the process exit code.
pub fn run(startup: Startup, logger: Logger, pid: u32) -> i32 {
    let threshold = startup.config.text("loglevel").to_string();
    logger.log('C', LogLevel::Warning, &threshold, "oO0OoO0OoO0Oo ReplScope node is starting oO0OoO0OoO0Oo");
    logger.log(
        'C',
        LogLevel::Warning,
        &threshold,
        &format!(
            "replscope-node {} (Redis version={} engine), bits={}, pid={pid}, just started",
            env!("CARGO_PKG_VERSION"),
            replscope_engine::REDIS_VERSION,
            usize::BITS
        ),
    );
    logger.log('C', LogLevel::Warning, &threshold, "Configuration loaded");

    let listeners = match listen(&startup, &logger) {
        Ok(l) => l,
        Err(code) => return code,
    };
    logger.log('M', LogLevel::Notice, &threshold, &format!("Running mode=standalone, port={}.", startup.port));

    let (tx, rx) = mpsc::sync_channel::<Event>(1024);
    for listener in listeners {
        let tx = tx.clone();
        thread::Builder::new()
            .name("accept".into())
            .spawn(move || accept_loop(listener, tx))
            .expect("spawn acceptor thread");
    }
    match signal_hook::iterator::Signals::new([signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT]) {
        Ok(mut signals) => {
            let tx = tx.clone();
            thread::Builder::new()
                .name("signals".into())
                .spawn(move || {
                    for sig in signals.forever() {
                        if tx.send(Event::Signal(sig)).is_err() {
                            break;
                        }
                    }
                })
                .expect("spawn signal thread");
        }
        Err(e) => logger.log('M', LogLevel::Warning, &threshold, &format!("Can't install signal handlers: {e}")),
    }

    let mut clock = Clock { last: 0 };
    let seed = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0) ^ ((pid as u64) << 32);
    // Like redis-server's loadDataFromDisk: an existing dir/dbfilename is loaded at start.
    let rdb_path = std::path::Path::new(startup.config.text("dir")).join(startup.config.text("dbfilename"));
    let mut node = match std::fs::read(&rdb_path) {
        Ok(bytes) => match Node::restore(startup.config, seed, clock.now(), &bytes) {
            Ok(node) => node,
            Err(e) => {
                logger.log('M', LogLevel::Warning, &threshold, &format!("Fatal error loading the DB: {e}. Exiting."));
                return 1;
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Node::new(startup.config, seed, clock.now()),
        Err(e) => {
            logger.log('M', LogLevel::Warning, &threshold, &format!("Fatal error loading the DB: {}. Exiting.", strerror(&e)));
            return 1;
        }
    };
    let exe = std::env::current_exe().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
    node.set_process_info(pid, &exe);
    let mut engine = Engine { node, logger, conns: HashMap::new(), events: tx, clock, closing: Vec::new(), connecting: HashSet::new(), save_failed: false };
    engine.drain();
    engine.run(rx)
}

fn accept_loop(listener: TcpListener, tx: SyncSender<Event>) {
    for stream in listener.incoming() {
        match stream {
            Ok(s) => {
                if tx.send(Event::Accepted(s)).is_err() {
                    return;
                }
            }
            // Out of descriptors and the like: back off instead of spinning.
            Err(_) => thread::sleep(Duration::from_millis(10)),
        }
    }
}

struct Engine {
    node: Node,
    logger: Logger,
    conns: HashMap<ConnId, Conn>,
    /// Handed to reader threads.
    events: SyncSender<Event>,
    clock: Clock,
    /// Writer threads of connections being closed, still flushing.
    closing: Vec<JoinHandle<()>>,
    /// Outbound connections being opened.
    connecting: HashSet<ConnId>,
    /// A snapshot could not be written (SHUTDOWN then exits 1).
    save_failed: bool,
}

impl Engine {
    fn log(&self, level: LogLevel, line: &str) {
        self.logger.log(self.role(), level, self.node.config().text("loglevel"), line);
    }

    /// redis-server's role character: `S` for a replica (also after a runtime REPLICAOF),
    /// `M` otherwise.
    fn role(&self) -> char {
        match self.node.status(Millis(self.clock.last)).role {
            replscope_engine::Role::Master => 'M',
            _ => 'S',
        }
    }

    fn run(&mut self, rx: Receiver<Event>) -> i32 {
        loop {
            let now = self.clock.now();
            let event = match self.node.poll_timeout() {
                Some(t) if t <= now => None,
                Some(t) => match rx.recv_timeout(Duration::from_millis(t.0 - now.0)) {
                    Ok(e) => Some(e),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => return 1,
                },
                None => match rx.recv() {
                    Ok(e) => Some(e),
                    Err(_) => return 1,
                },
            };
            if let Some(event) = event {
                if let Some(code) = self.handle(event) {
                    return code;
                }
            }
            let now = self.clock.now();
            if self.node.poll_timeout().is_some_and(|t| t <= now) {
                self.node.handle_timeout(now);
            }
            if let Some(code) = self.drain() {
                return code;
            }
        }
    }

    fn handle(&mut self, event: Event) -> Option<i32> {
        let now = self.clock.now();
        match event {
            Event::Accepted(stream) => self.accept(now, stream),
            Event::Connected(conn, stream) => {
                // A connection the engine closed (gave up on) meanwhile is just dropped.
                if self.connecting.remove(&conn) {
                    let _ = stream.set_nodelay(true);
                    if self.register(conn, stream) {
                        self.node.handle_input(now, Input::Connected { conn });
                    } else {
                        self.node.handle_input(now, Input::ConnectFailed { conn, reason: "cannot set up the connection".into() });
                    }
                }
            }
            Event::ConnectFailed(conn, reason) => {
                if self.connecting.remove(&conn) {
                    self.node.handle_input(now, Input::ConnectFailed { conn, reason });
                }
            }
            Event::Data(conn, bytes) => self.node.handle_input(now, Input::Received { conn, bytes: &bytes }),
            Event::Eof(conn) => {
                self.node.handle_input(now, Input::Closed { conn });
                if let Some(c) = self.conns.remove(&conn) {
                    let _ = c.writer.send(WriterMsg::Close);
                }
            }
            Event::Signal(sig) => return Some(self.signal_shutdown(sig)),
        }
        self.drain()
    }

    fn accept(&mut self, now: Millis, stream: TcpStream) {
        let (Ok(peer), Ok(local)) = (stream.peer_addr(), stream.local_addr()) else { return };
        let _ = stream.set_nodelay(true);
        self.log(LogLevel::Verbose, &format!("Accepted {peer}"));
        let conn = self.node.accept(now, &peer.to_string(), &local.to_string());
        if !self.register(conn, stream) {
            self.node.handle_input(now, Input::Closed { conn });
        }
    }

    /// Starts the reader and writer threads of a connection. `false` if the socket could not
    /// be shared between them.
    fn register(&mut self, conn: ConnId, stream: TcpStream) -> bool {
        let Ok(read_half) = stream.try_clone() else { return false };
        let (wtx, wrx) = mpsc::channel::<WriterMsg>();
        let writer_thread = thread::Builder::new()
            .name(format!("write-{}", conn.0))
            .spawn(move || write_loop(stream, wrx))
            .expect("spawn writer thread");
        let events = self.events.clone();
        thread::Builder::new()
            .name(format!("read-{}", conn.0))
            .spawn(move || read_loop(read_half, conn, events))
            .expect("spawn reader thread");
        self.conns.insert(conn, Conn { writer: wtx, writer_thread });
        true
    }

    /// `Output::Connect`: resolve and connect on a thread of its own, so the engine thread
    /// never waits for a slow or unreachable host. The engine keeps its own timeouts; ours
    /// only bounds the connector thread's life.
    fn connect(&mut self, conn: ConnId, host: String, port: u16) {
        self.connecting.insert(conn);
        let events = self.events.clone();
        let limit = Duration::from_secs(self.node.config().int("repl-timeout").clamp(1, 3600) as u64);
        thread::Builder::new()
            .name(format!("connect-{}", conn.0))
            .spawn(move || {
                let event = match connect_to(&host, port, limit) {
                    Ok(stream) => Event::Connected(conn, stream),
                    Err(e) => Event::ConnectFailed(conn, strerror(&e)),
                };
                let _ = events.send(event);
            })
            .expect("spawn connector thread");
    }

    /// Carries out everything the node asked for. `Some(code)`: the node stopped.
    fn drain(&mut self) -> Option<i32> {
        while let Some(out) = self.node.poll_output() {
            match out {
                Output::Send { conn, bytes } => {
                    if let Some(c) = self.conns.get(&conn) {
                        let _ = c.writer.send(WriterMsg::Data(bytes));
                    }
                }
                Output::Connect { conn, host, port } => self.connect(conn, host, port),
                Output::Close { conn } => {
                    self.connecting.remove(&conn);
                    if let Some(c) = self.conns.remove(&conn) {
                        let _ = c.writer.send(WriterMsg::Close);
                        // Kept so shutdown can wait for it to flush.
                        self.closing(c);
                    }
                }
                Output::Log { level, line } => self.log(level, &line),
                Output::SaveRdb { bytes } => {
                    match self.write_rdb(&bytes) {
                        Ok(()) => self.save_failed = false,
                        Err(e) => {
                            self.log(LogLevel::Warning, &e);
                            self.save_failed = true;
                        }
                    }
                }
                // The final snapshot, if any, came just before as SaveRdb.
                Output::Shutdown { .. } => {
                    let code = if std::mem::take(&mut self.save_failed) { 1 } else { 0 };
                    // Anything still queued for a client (closed above) gets a moment to leave.
                    self.wait_writers();
                    return Some(code);
                }
                // Variants added later (outbound connections for replication) are not served
                // by this driver yet; say so instead of dropping them silently.
                other => self.log(LogLevel::Warning, &format!("replscope-node cannot carry out {other:?} yet")),
            }
        }
        None
    }

    fn closing(&mut self, c: Conn) {
        self.closing.retain(|t| !t.is_finished());
        self.closing.push(c.writer_thread);
    }

    fn wait_writers(&mut self) {
        for (_, c) in std::mem::take(&mut self.conns) {
            let _ = c.writer.send(WriterMsg::Close);
            self.closing.push(c.writer_thread);
        }
        let deadline = Instant::now() + FLUSH_GRACE;
        for t in std::mem::take(&mut self.closing) {
            while !t.is_finished() && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(2));
            }
        }
    }

    /// Writes an RDB snapshot to `dir/dbfilename` the way `rdbSave` does: into
    /// `temp-<pid>.rdb`, fsync, then rename over the target.
    fn write_rdb(&self, bytes: &[u8]) -> Result<(), String> {
        let dir = std::path::PathBuf::from(self.node.config().text("dir"));
        let target = dir.join(self.node.config().text("dbfilename"));
        let temp = dir.join(format!("temp-{}.rdb", std::process::id()));
        let result = (|| -> std::io::Result<()> {
            let mut f = std::fs::File::create(&temp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
            std::fs::rename(&temp, &target)
        })();
        result.map_err(|e| {
            let _ = std::fs::remove_file(&temp);
            format!("Failed saving the DB to {} (in server root dir {}): {}", target.display(), dir.display(), strerror(&e))
        })
    }

    /// SIGTERM / SIGINT: redis-server's `prepareForShutdown` path, then exit 0.
    fn signal_shutdown(&mut self, sig: i32) -> i32 {
        let name = if sig == signal_hook::consts::SIGINT { "SIGINT" } else { "SIGTERM" };
        let unix = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let level = self.node.config().text("loglevel").to_string();
        if LogLevel::Warning >= crate::log::parse_level(&level) {
            self.logger.write_raw(&format!(
                "{}:signal-handler ({unix}) Received {name} scheduling shutdown...\n",
                std::process::id()
            ));
        }
        self.log(LogLevel::Warning, "User requested shutdown...");
        let mut code = 0;
        if !self.node.config().text("save").is_empty() {
            self.log(LogLevel::Notice, "Saving the final RDB snapshot before exiting.");
            let bytes = self.node.rdb_snapshot(self.clock.now());
            match self.write_rdb(&bytes) {
                Ok(()) => self.log(LogLevel::Notice, "DB saved on disk"),
                Err(e) => {
                    self.log(LogLevel::Warning, &e);
                    self.log(LogLevel::Warning, "Error trying to save the DB, can't exit.");
                    code = 1;
                }
            }
        }
        self.log(LogLevel::Warning, "Redis is now ready to exit, bye bye...");
        self.wait_writers();
        code
    }
}

/// Tries every address `host` resolves to, like redis-server's anetTcpGenericConnect.
fn connect_to(host: &str, port: u16, limit: Duration) -> std::io::Result<TcpStream> {
    let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "Name or service not known");
    for addr in (host, port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, limit) {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn read_loop(mut stream: TcpStream, conn: ConnId, events: SyncSender<Event>) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if events.send(Event::Data(conn, buf[..n].to_vec())).is_err() {
                    return;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    let _ = events.send(Event::Eof(conn));
}

fn write_loop(mut stream: TcpStream, rx: Receiver<WriterMsg>) {
    let mut broken = false;
    for msg in rx {
        match msg {
            WriterMsg::Data(bytes) => {
                if !broken && stream.write_all(&bytes).is_err() {
                    // Let the reader see the end too; the engine hears of it through `Eof`.
                    broken = true;
                    let _ = stream.shutdown(Shutdown::Both);
                }
            }
            WriterMsg::Close => break,
        }
    }
    let _ = stream.flush();
    // FIN to the peer, and wake the reader thread so the descriptor is released.
    let _ = stream.shutdown(Shutdown::Both);
}

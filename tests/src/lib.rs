//! Helpers shared by the cross-crate tests: start a real `redis-server` and our
//! `replscope-node` on free loopback ports, talk raw RESP to them, and compare replies.
//!
//! * [`Server`] owns a child process and its temporary directory; dropping it (also while a
//!   test panics) kills the process by PID and removes the directory.
//! * [`Client`] is a raw TCP client: it sends bytes and cuts the byte stream into whole RESP
//!   replies, so replies can be compared byte for byte.
//! * [`diff::Diff`] runs one script against two servers in lockstep and collects mismatches.

pub mod diff;
pub mod pairs;

use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Where `redis-server` is, or a panic that says how to get it: the differential tests must
/// never pass without the real server to compare with.
pub fn redis_server_path() -> PathBuf {
    find_on_path("redis-server").unwrap_or_else(|| {
        panic!(
            "redis-server is not installed (not found on PATH). The differential tests compare \
             replscope-node with a real redis-server 7.0 and cannot run without it: \
             run `bash scripts/setup.sh` (or `apt-get install redis-server`)."
        )
    })
}

pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

/// The `replscope-node` binary of this workspace, built on first use.
///
/// Cargo only hands `CARGO_BIN_EXE_*` to tests of the package that owns the binary, so we
/// build it ourselves (a no-op when it is up to date) into the same target directory and
/// profile as this test executable: `target/<profile>/deps/<test>` → `target/<profile>/`.
pub fn node_binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().expect("current_exe");
        let profile_dir = exe.parent().and_then(Path::parent).expect("test executable is in target/<profile>/deps");
        let target_dir = profile_dir.parent().expect("target dir");
        let profile = profile_dir.file_name().and_then(|s| s.to_str()).unwrap_or("debug");
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root");
        let cargo = std::env::var("CARGO").ok().or(option_env!("CARGO").map(String::from)).unwrap_or_else(|| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(workspace)
            .args(["build", "--quiet", "-p", "replscope-node", "--bin", "replscope-node"])
            .env("CARGO_TARGET_DIR", target_dir);
        match profile {
            "debug" => {}
            "release" => {
                cmd.arg("--release");
            }
            other => {
                cmd.args(["--profile", other]);
            }
        }
        let status = cmd.status().expect("run cargo build -p replscope-node");
        assert!(status.success(), "cargo build -p replscope-node failed: {status}");
        let bin = profile_dir.join("replscope-node");
        assert!(bin.is_file(), "{} was not built", bin.display());
        bin
    })
    .clone()
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().unwrap().port()
}

/// A directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let name = format!("replscope-{tag}-{}-{}-{nanos}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path.canonicalize().expect("canonicalize temp dir"))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    Redis,
    Node,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Redis => "redis-server",
            Kind::Node => "replscope-node",
        }
    }
}

/// A running server process. Dropping it kills the process (by PID) and removes its dir.
pub struct Server {
    pub kind: Kind,
    pub port: u16,
    child: Option<Child>,
    log: PathBuf,
    // Declared last: removed after the process is gone (`None` once handed out by `into_dir`).
    dir: Option<TempDir>,
}

impl Server {
    /// The arguments both servers of a differential pair get, apart from port and dir.
    pub fn base_args(port: u16, dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = ["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        v.extend(["--enable-debug-command", "yes", "--dir"].iter().map(|s| s.to_string()));
        v.push(dir.to_string_lossy().into_owned());
        v
    }

    /// Starts `kind` with the standard arguments plus `extra`, and waits until it accepts
    /// connections.
    pub fn start(kind: Kind, extra: &[&str]) -> Server {
        let port = free_port();
        let dir = TempDir::new(kind.name());
        let mut args = Server::base_args(port, dir.path());
        args.extend(extra.iter().map(|s| s.to_string()));
        Server::spawn(kind, port, dir, &args)
    }

    /// Starts `kind` with exactly `args` (which must include `--port port`).
    pub fn spawn(kind: Kind, port: u16, dir: TempDir, args: &[String]) -> Server {
        Server::try_spawn(kind, port, dir, args).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Like `spawn`, but a server that fails to start is an `Err` with its output.
    pub fn try_spawn(kind: Kind, port: u16, dir: TempDir, args: &[String]) -> Result<Server, String> {
        let program = match kind {
            Kind::Redis => redis_server_path(),
            Kind::Node => node_binary(),
        };
        let log = dir.path().join("server.log");
        let out = File::create(&log).expect("create server log");
        let err = out.try_clone().expect("clone log handle");
        let child = Command::new(&program)
            .args(args)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let mut server = Server { kind, port, child: Some(child), log, dir: Some(dir) };
        server.wait_ready()?;
        Ok(server)
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                return Err(format!("{} exited during start-up ({status}); its output:\n{}", self.kind.name(), self.log_text()));
            }
            if Instant::now() > deadline {
                return Err(format!("{} did not accept connections on port {} within 15 s; its output:\n{}", self.kind.name(), self.port, self.log_text()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    pub fn dir(&self) -> &Path {
        self.dir.as_ref().expect("directory").path()
    }

    /// Stops the process (killing it if it still runs) and keeps its directory, e.g. to
    /// start another server on the same files.
    pub fn into_dir(mut self) -> TempDir {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.dir.take().expect("directory")
    }

    /// Everything the process printed so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn connect(&self) -> Client {
        Client::connect(self.port)
    }

    /// Waits up to `timeout` for the process to exit on its own.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        let child = self.child.as_mut()?;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends `signal` (e.g. `libc::SIGTERM`) to the process.
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on the PID of our own child process.
        let rc = unsafe { libc::kill(self.pid() as libc::pid_t, signal) };
        assert_eq!(rc, 0, "kill({}, {signal}) failed", self.pid());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if child.try_wait().ok().flatten().is_none() {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
        if std::thread::panicking() {
            let text = self.log_text();
            let tail: Vec<&str> = text.lines().rev().take(15).collect();
            eprintln!("--- last lines of {} (port {}) output ---", self.kind.name(), self.port);
            for line in tail.iter().rev() {
                eprintln!("{line}");
            }
        }
    }
}

/// Why a read did not produce what was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// The peer closed; what had arrived is kept.
    Closed(Vec<u8>),
    TimedOut(Vec<u8>),
}

/// A raw RESP client.
pub struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
    pub timeout: Duration,
}

impl Client {
    pub fn connect(port: u16) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap_or_else(|e| panic!("connect to 127.0.0.1:{port}: {e}"));
        stream.set_nodelay(true).ok();
        Client { stream, buf: Vec::new(), timeout: Duration::from_secs(3) }
    }

    /// Our side of the connection as the server sees it: `ip:port`.
    pub fn local_addr(&self) -> String {
        self.stream.local_addr().map(|a| a.to_string()).unwrap_or_default()
    }

    pub fn send(&mut self, bytes: &[u8]) {
        // A server that already closed makes this fail; the following read reports it.
        let _ = self.stream.write_all(bytes);
    }

    /// Sends a command as a RESP array of bulk strings and reads one reply.
    pub fn call(&mut self, args: &[&str]) -> Result<Vec<u8>, ReadError> {
        self.send(&encode(args));
        self.read_replies(1).map(|mut v| v.remove(0))
    }

    fn fill(&mut self, deadline: Instant) -> Result<(), ReadError> {
        let now = Instant::now();
        if now >= deadline {
            return Err(ReadError::TimedOut(std::mem::take(&mut self.buf)));
        }
        self.stream.set_read_timeout(Some(deadline - now)).ok();
        let mut chunk = [0u8; 16384];
        match self.stream.read(&mut chunk) {
            Ok(0) => Err(ReadError::Closed(std::mem::take(&mut self.buf))),
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(())
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                Err(ReadError::TimedOut(std::mem::take(&mut self.buf)))
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => Ok(()),
            Err(_) => Err(ReadError::Closed(std::mem::take(&mut self.buf))),
        }
    }

    /// Reads exactly `n` whole replies (each as its raw bytes).
    pub fn read_replies(&mut self, n: usize) -> Result<Vec<Vec<u8>>, ReadError> {
        let deadline = Instant::now() + self.timeout;
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            match reply_len(&self.buf) {
                Some(len) => out.push(self.buf.drain(..len).collect()),
                None => {
                    if let Err(e) = self.fill(deadline) {
                        // Keep the whole replies too, so a report shows everything received.
                        let mut got: Vec<u8> = out.concat();
                        match e {
                            ReadError::Closed(rest) => {
                                got.extend(rest);
                                return Err(ReadError::Closed(got));
                            }
                            ReadError::TimedOut(rest) => {
                                got.extend(rest);
                                return Err(ReadError::TimedOut(got));
                            }
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// Bytes already received beyond the replies read so far (taken out of the buffer).
    pub fn take_pending(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    /// Reads until the server closes the connection (or `timeout`). `(bytes, closed)`.
    pub fn read_until_close(&mut self, timeout: Duration) -> (Vec<u8>, bool) {
        let deadline = Instant::now() + timeout;
        loop {
            match self.fill(deadline) {
                Ok(()) => {}
                Err(ReadError::Closed(b)) => return (b, true),
                Err(ReadError::TimedOut(b)) => return (b, false),
            }
        }
    }

    pub fn shutdown(&self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    /// Drops the newline keepalives a master sends to a replica waiting for its RDB;
    /// returns how many there were.
    pub fn skip_newlines(&mut self) -> Result<usize, ReadError> {
        let deadline = Instant::now() + self.timeout;
        let mut n = 0;
        loop {
            let lead = self.buf.iter().take_while(|&&b| b == b'\n').count();
            n += lead;
            self.buf.drain(..lead);
            if !self.buf.is_empty() {
                return Ok(n);
            }
            self.fill(deadline)?;
        }
    }

    /// Reads through the next `\r\n`; returns the line without it.
    pub fn read_line(&mut self) -> Result<Vec<u8>, ReadError> {
        let deadline = Instant::now() + self.timeout;
        loop {
            if let Some(p) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = self.buf[..p].to_vec();
                self.buf.drain(..p + 2);
                return Ok(line);
            }
            self.fill(deadline)?;
        }
    }

    /// Reads exactly `n` bytes.
    pub fn read_exact(&mut self, n: usize) -> Result<Vec<u8>, ReadError> {
        let deadline = Instant::now() + self.timeout;
        while self.buf.len() < n {
            self.fill(deadline)?;
        }
        Ok(self.buf.drain(..n).collect())
    }

    /// Reads up to and including `marker`; returns what came before it.
    pub fn read_until(&mut self, marker: &[u8]) -> Result<Vec<u8>, ReadError> {
        let deadline = Instant::now() + self.timeout;
        loop {
            if let Some(p) = self.buf.windows(marker.len()).position(|w| w == marker) {
                let data = self.buf[..p].to_vec();
                self.buf.drain(..p + marker.len());
                return Ok(data);
            }
            self.fill(deadline)?;
        }
    }

    /// Everything that arrives until the connection has been quiet for `idle`.
    pub fn read_idle(&mut self, idle: Duration) -> Vec<u8> {
        loop {
            match self.fill(Instant::now() + idle) {
                Ok(()) => {}
                Err(ReadError::Closed(b)) | Err(ReadError::TimedOut(b)) => return b,
            }
        }
    }
}

/// Loads an RDB file into a fresh redis-server and returns its `DEBUG DIGEST` reply, or why
/// redis-server would not load it.
pub fn rdb_digest(rdb: &[u8]) -> Result<Vec<u8>, String> {
    let port = free_port();
    let dir = TempDir::new("rdb-check");
    std::fs::write(dir.path().join("load.rdb"), rdb).map_err(|e| e.to_string())?;
    let mut args = Server::base_args(port, dir.path());
    args.extend(["--dbfilename".to_string(), "load.rdb".to_string()]);
    let server = Server::try_spawn(Kind::Redis, port, dir, &args)?;
    let mut c = server.connect();
    c.call(&["DEBUG", "DIGEST"]).map_err(|e| format!("{e:?}"))
}

/// A command as a RESP array of bulk strings.
pub fn encode<S: AsRef<[u8]>>(args: &[S]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        let a = a.as_ref();
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The length of the first whole RESP2 reply in `buf`, if it has fully arrived.
pub fn reply_len(buf: &[u8]) -> Option<usize> {
    fn line_end(buf: &[u8], from: usize) -> Option<usize> {
        buf.get(from..)?.windows(2).position(|w| w == b"\r\n").map(|p| from + p)
    }
    fn value(buf: &[u8], at: usize) -> Option<usize> {
        let kind = *buf.get(at)?;
        let end = line_end(buf, at + 1)?;
        let after = end + 2;
        match kind {
            b'+' | b'-' | b':' => Some(after),
            b'$' => {
                let n: i64 = std::str::from_utf8(&buf[at + 1..end]).ok()?.parse().ok()?;
                if n < 0 {
                    return Some(after);
                }
                let total = after + n as usize + 2;
                (buf.len() >= total).then_some(total)
            }
            b'*' => {
                let n: i64 = std::str::from_utf8(&buf[at + 1..end]).ok()?.parse().ok()?;
                let mut pos = after;
                for _ in 0..n.max(0) {
                    pos = value(buf, pos)?;
                }
                Some(pos)
            }
            // Not RESP2: take the line as it is so the mismatch shows it.
            _ => Some(after),
        }
    }
    value(buf, 0)
}

/// Bytes as a readable Rust-style escaped string.
pub fn escape(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

/// A parsed RESP2 reply, for the comparisons that need structure.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reply {
    Simple(Vec<u8>),
    Error(Vec<u8>),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

impl Reply {
    pub fn parse(buf: &[u8]) -> Option<Reply> {
        fn parse_at(buf: &[u8], at: usize) -> Option<(Reply, usize)> {
            let kind = *buf.get(at)?;
            let end = at + 1 + buf.get(at + 1..)?.windows(2).position(|w| w == b"\r\n")?;
            let line = &buf[at + 1..end];
            let after = end + 2;
            let num = || -> Option<i64> { std::str::from_utf8(line).ok()?.parse().ok() };
            match kind {
                b'+' => Some((Reply::Simple(line.to_vec()), after)),
                b'-' => Some((Reply::Error(line.to_vec()), after)),
                b':' => Some((Reply::Int(num()?), after)),
                b'$' => {
                    let n = num()?;
                    if n < 0 {
                        return Some((Reply::Bulk(None), after));
                    }
                    let data = buf.get(after..after + n as usize)?.to_vec();
                    Some((Reply::Bulk(Some(data)), after + n as usize + 2))
                }
                b'*' => {
                    let n = num()?;
                    if n < 0 {
                        return Some((Reply::Array(None), after));
                    }
                    let mut items = Vec::new();
                    let mut pos = after;
                    for _ in 0..n {
                        let (item, next) = parse_at(buf, pos)?;
                        items.push(item);
                        pos = next;
                    }
                    Some((Reply::Array(Some(items)), pos))
                }
                _ => None,
            }
        }
        match parse_at(buf, 0) {
            Some((r, len)) if len == buf.len() => Some(r),
            _ => None,
        }
    }

    pub fn bulk_text(&self) -> Option<String> {
        match self {
            Reply::Bulk(Some(b)) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_boundaries() {
        assert_eq!(reply_len(b"+OK\r\n+PONG\r\n"), Some(5));
        assert_eq!(reply_len(b"$3\r\nabc\r\n"), Some(9));
        assert_eq!(reply_len(b"$3\r\nab"), None);
        assert_eq!(reply_len(b"$-1\r\n"), Some(5));
        assert_eq!(reply_len(b"*2\r\n:1\r\n$1\r\nx\r\n:9\r\n"), Some(15));
        assert_eq!(reply_len(b"*2\r\n:1\r\n"), None);
        assert_eq!(reply_len(b"*-1\r\n"), Some(5));
        assert_eq!(reply_len(b"*0\r\n"), Some(4));
        assert_eq!(reply_len(b"-ERR x"), None);
    }

    #[test]
    fn parse_replies() {
        assert_eq!(Reply::parse(b"*2\r\n$1\r\na\r\n$-1\r\n"), Some(Reply::Array(Some(vec![Reply::Bulk(Some(b"a".to_vec())), Reply::Bulk(None)]))));
        assert_eq!(Reply::parse(b":12\r\n"), Some(Reply::Int(12)));
        assert_eq!(Reply::parse(b":12\r\nextra"), None);
    }

    #[test]
    fn encodes_commands() {
        assert_eq!(encode(&["SET", "k", ""]), b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n".to_vec());
    }
}

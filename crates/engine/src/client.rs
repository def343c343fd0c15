//! One connected client: its parser, selected DB, auth state, transaction queue and name.

use crate::resp::RequestParser;
use crate::time::Millis;

#[derive(Clone, Debug, Default)]
pub struct Multi {
    pub queue: Vec<Vec<Vec<u8>>>,
    /// A command was refused while queuing: EXEC answers EXECABORT.
    pub dirty: bool,
}

#[derive(Debug)]
pub struct Client {
    pub id: u64,
    pub addr: String,
    pub laddr: String,
    pub name: Vec<u8>,
    pub db: usize,
    pub authenticated: bool,
    pub multi: Option<Multi>,
    pub parser: RequestParser,
    pub created: Millis,
    pub last_interaction: Millis,
    /// Full name of the last command run (`client|list`), for CLIENT LIST's `cmd=`.
    pub last_cmd: String,
    /// Replies not yet handed to the driver.
    pub out: Vec<u8>,
    /// Close once `out` is flushed (QUIT, protocol errors, CLIENT KILL).
    pub close_after_reply: bool,
}

impl Client {
    pub fn new(id: u64, addr: String, laddr: String, now: Millis, authenticated: bool) -> Client {
        Client {
            id,
            addr,
            laddr,
            name: Vec::new(),
            db: 0,
            authenticated,
            multi: None,
            parser: RequestParser::new(),
            created: now,
            last_interaction: now,
            last_cmd: "NULL".into(),
            out: Vec::new(),
            close_after_reply: false,
        }
    }

    /// One CLIENT LIST line in redis-server 7.0's field order.
    pub fn list_line(&self, now: Millis) -> String {
        let age = now.saturating_sub(self.created) / 1000;
        let idle = now.saturating_sub(self.last_interaction) / 1000;
        let (multi, flags) = match &self.multi {
            Some(m) => (m.queue.len() as i64, "x"),
            None => (-1, "N"),
        };
        let qbuf = self.parser.buffered();
        format!(
            "id={} addr={} laddr={} fd=8 name={} age={} idle={} flags={} db={} sub=0 psub=0 ssub=0 multi={} qbuf={} qbuf-free={} argv-mem=0 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 omem=0 tot-mem=22298 events=r cmd={} user=default redir=-1 resp=2",
            self.id,
            self.addr,
            self.laddr,
            String::from_utf8_lossy(&self.name),
            age,
            idle,
            flags,
            self.db,
            multi,
            qbuf,
            20474usize.saturating_sub(qbuf),
            self.last_cmd,
        )
    }
}

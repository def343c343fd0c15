//! PSYNC decisions spelled out: what the replica asked for, what the master could serve, and
//! the verdict. The verdict comes from the master's own log line (the engine logs what
//! redis-server 7.0 logs); the request from the replica's "Trying a partial
//! resynchronization" line; the master's backlog window and IDs from its status as the line
//! is read.

use std::collections::BTreeMap;

use replscope_engine::NodeStatus;
use replscope_sim::{TraceEntry, TraceKind};

use crate::fmt::{offset_range, short_id, thousands};
use crate::frame::Decision;

/// Decisions kept (the most recent ones).
const KEEP: usize = 50;

#[derive(Clone, Debug, Default)]
pub struct Decisions {
    cursor: usize,
    /// Each replica's last PSYNC request: (replid, offset).
    requests: BTreeMap<String, (String, i64)>,
    list: Vec<Decision>,
}

impl Decisions {
    pub fn starting_at(cursor: usize) -> Decisions {
        Decisions { cursor, ..Decisions::default() }
    }

    pub fn list(&self) -> &[Decision] {
        &self.list
    }

    /// Reads new trace entries; `status` gives a node's state now.
    pub fn follow(&mut self, trace: &[TraceEntry], status: &dyn Fn(&str) -> Option<NodeStatus>) {
        for e in trace.iter().skip(self.cursor) {
            let TraceKind::Log { node, line } = &e.kind else { continue };
            if let Some(req) = line.strip_prefix("Trying a partial resynchronization (request ") {
                if let Some((id, off)) = req.trim_end_matches(").").rsplit_once(':') {
                    self.requests.insert(node.clone(), (id.to_string(), off.parse().unwrap_or(-1)));
                }
                continue;
            }
            let Some((replica, verdict)) = verdict(line) else { continue };
            let st = status(node);
            let asked = self.requests.get(&replica).cloned();
            let text = explain(&replica, &verdict, asked.as_ref(), st.as_ref());
            let partial = matches!(verdict, Verdict::Accepted { .. });
            self.list.push(Decision { at: e.at, master: node.clone(), replica, partial, text });
        }
        self.cursor = self.cursor.max(trace.len());
        if self.list.len() > KEEP {
            self.list.drain(..self.list.len() - KEEP);
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Verdict {
    Accepted { bytes: i64, from: i64 },
    /// PSYNC ? -1: the replica has no history to continue.
    Requested,
    LackOfBacklog { asked: i64 },
    SecondIdTooFar { asked: i64, up_to: i64 },
    IdMismatch { asked: String },
}

/// The replica (by node name) and the verdict, from a master's log line.
fn verdict(line: &str) -> Option<(String, Verdict)> {
    let name = |s: &str| s.rsplit_once(':').map(|(h, _)| h.to_string()).unwrap_or_else(|| s.to_string());
    if let Some(rest) = line.strip_prefix("Partial resynchronization request from ") {
        let (who, rest) = rest.split_once(" accepted. Sending ")?;
        let (bytes, rest) = rest.split_once(" bytes of backlog starting from offset ")?;
        return Some((name(who), Verdict::Accepted { bytes: bytes.parse().ok()?, from: rest.trim_end_matches('.').parse().ok()? }));
    }
    if let Some(who) = line.strip_prefix("Full resync requested by replica ") {
        return Some((name(who), Verdict::Requested));
    }
    if let Some(rest) = line.strip_prefix("Unable to partial resync with replica ") {
        let (who, rest) = rest.split_once(" for lack of backlog (Replica request was: ")?;
        return Some((name(who), Verdict::LackOfBacklog { asked: rest.trim_end_matches(").").parse().ok()? }));
    }
    if let Some(rest) = line.strip_prefix("Partial resynchronization not accepted: Requested offset for second ID was ") {
        let (asked, up_to) = rest.split_once(", but I can reply up to ")?;
        // This line does not name the replica; the UI pairs it with the request it answers.
        return Some((String::new(), Verdict::SecondIdTooFar { asked: asked.parse().ok()?, up_to: up_to.parse().ok()? }));
    }
    if let Some(rest) = line.strip_prefix("Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '") {
        let (asked, _) = rest.split_once('\'')?;
        return Some((String::new(), Verdict::IdMismatch { asked: asked.to_string() }));
    }
    None
}

/// The sentence for one decision.
fn explain(replica: &str, v: &Verdict, asked: Option<&(String, i64)>, master: Option<&NodeStatus>) -> String {
    let who = if replica.is_empty() { "a replica".to_string() } else { replica.to_string() };
    let window = master.and_then(|m| m.backlog.as_ref().map(|b| offset_range(b.first_byte_offset, b.first_byte_offset + b.histlen - 1)));
    let holds = match (&window, master.and_then(|m| m.backlog.as_ref()).map(|b| b.histlen)) {
        (Some(_), Some(0)) | (None, _) => "the backlog is empty".to_string(),
        (Some(w), _) => format!("the backlog holds {w}"),
    };
    match v {
        Verdict::Accepted { bytes, from } => {
            let via_id2 = match (asked, master) {
                (Some((id, _)), Some(m)) => !m.replid2.starts_with("0000") && id.eq_ignore_ascii_case(&m.replid2) && !id.eq_ignore_ascii_case(&m.replid),
                _ => false,
            };
            if via_id2 {
                let up_to = master.map(|m| m.second_repl_offset).unwrap_or(0);
                format!(
                    "{who} asked for {}: its replid {} matches this master's replid2 up to {}: partial resync, {} bytes from the backlog",
                    thousands(*from),
                    short_id(&asked.map(|a| a.0.clone()).unwrap_or_default()),
                    thousands(up_to),
                    thousands(*bytes)
                )
            } else {
                format!("{who} asked for {}, {holds}: partial resync, {} bytes from the backlog", thousands(*from), thousands(*bytes))
            }
        }
        Verdict::Requested => format!("{who} has no history to continue (PSYNC ? -1): full resync"),
        Verdict::LackOfBacklog { asked } => format!("{who} asked for {}, {holds}: full resync", thousands(*asked)),
        Verdict::SecondIdTooFar { asked, up_to } => {
            format!("{who} asked for {} of the previous history (replid2), which this master followed only up to {}: full resync", thousands(*asked), thousands(*up_to))
        }
        Verdict::IdMismatch { asked } => {
            let ids = master.map(|m| format!("{} and {}", short_id(&m.replid), short_id(&m.replid2))).unwrap_or_default();
            format!("{who} asked to continue history {}, this master knows {ids}: full resync", short_id(asked))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use replscope_engine::{BacklogView, Role};

    fn master(first: i64, histlen: i64, replid2: &str, second: i64) -> NodeStatus {
        NodeStatus {
            role: Role::Master,
            replid: "a".repeat(40),
            replid2: replid2.to_string(),
            master_repl_offset: first + histlen - 1,
            second_repl_offset: second,
            backlog: Some(BacklogView { size: 1 << 20, first_byte_offset: first, histlen }),
            replicas: vec![],
            failover_state: "no-failover",
            connected_clients: 0,
            keys: vec![],
            sync_full: 0,
            sync_partial_ok: 0,
            sync_partial_err: 0,
            stopped: false,
        }
    }

    fn log(node: &str, line: &str) -> TraceEntry {
        TraceEntry { at: 5, kind: TraceKind::Log { node: node.into(), line: line.into() } }
    }

    fn decide(lines: &[TraceEntry], st: NodeStatus) -> Vec<Decision> {
        let mut d = Decisions::default();
        d.follow(lines, &|_| Some(st.clone()));
        d.list().to_vec()
    }

    #[test]
    fn lack_of_backlog_spells_out_the_window() {
        let d = decide(
            &[log("m", "Unable to partial resync with replica r1:6379 for lack of backlog (Replica request was: 10240).")],
            master(16_384, 16_384, &"0".repeat(40), -1),
        );
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].replica, "r1");
        assert!(!d[0].partial);
        assert_eq!(d[0].text, "r1 asked for 10,240, the backlog holds 16,384–32,767: full resync");
    }

    #[test]
    fn an_accepted_request_via_replid2_says_so() {
        let id2 = "b".repeat(40);
        let d = decide(
            &[
                log("r2", &format!("Trying a partial resynchronization (request {id2}:5001).")),
                log("m", "Partial resynchronization request from r2:6379 accepted. Sending 0 bytes of backlog starting from offset 5001."),
            ],
            master(1, 5_000, &id2, 5_121),
        );
        assert!(d[0].partial);
        assert_eq!(d[0].text, "r2 asked for 5,001: its replid bbbbbbbb matches this master's replid2 up to 5,121: partial resync, 0 bytes from the backlog");
    }

    #[test]
    fn an_accepted_request_on_the_current_history() {
        let d = decide(
            &[log("m", "Partial resynchronization request from r1:6379 accepted. Sending 120 bytes of backlog starting from offset 881.")],
            master(1, 1_000, &"0".repeat(40), -1),
        );
        assert_eq!(d[0].text, "r1 asked for 881, the backlog holds 1–1,000: partial resync, 120 bytes from the backlog");
    }

    #[test]
    fn forced_and_mismatched_requests() {
        let st = master(1, 10, &"0".repeat(40), -1);
        let d = decide(&[log("m", "Full resync requested by replica r1:6379")], st.clone());
        assert_eq!(d[0].text, "r1 has no history to continue (PSYNC ? -1): full resync");
        let line = format!("Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '{}', my replication IDs are 'x' and 'y')", "c".repeat(40));
        let d = decide(&[log("m", &line)], st);
        assert_eq!(d[0].text, "a replica asked to continue history cccccccc, this master knows aaaaaaaa and 00000000: full resync");
    }

    #[test]
    fn other_lines_are_not_decisions() {
        assert!(decide(&[log("m", "Synchronization with replica r1:6379 succeeded")], master(1, 1, "", 0)).is_empty());
    }
}

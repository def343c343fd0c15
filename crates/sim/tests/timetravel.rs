//! Jumping back and forth in a run gives the same state; an intervention in the past forks.

use replscope_sim::scenario::{Action, Step};
use replscope_sim::timetravel::TimeMachine;
use replscope_sim::{presets, World};

fn fingerprint(w: &World) -> Vec<String> {
    let mut out = vec![format!("t={} trace={}", w.time(), w.trace().len())];
    for n in w.node_names() {
        let s = w.status(&n).map(|s| format!("{:?} {} {}", s.role, s.replid, s.master_repl_offset)).unwrap_or_else(|| "down".into());
        out.push(format!("{n}: {} {}", w.digest(&n), s));
    }
    out
}

#[test]
fn seeking_back_and_forth_reproduces_the_same_moment() {
    let s = presets::get("failover").unwrap();
    let mut tm = TimeMachine::new(&s, 500);
    tm.seek(2_700);
    let at_2700 = fingerprint(tm.world());
    tm.seek(6_000);
    let at_6000 = fingerprint(tm.world());
    tm.seek(2_700);
    assert_eq!(fingerprint(tm.world()), at_2700);
    tm.seek(1_234);
    tm.seek(6_000);
    assert_eq!(fingerprint(tm.world()), at_6000);
    // Straight through, without jumps, gives the same moment too.
    let mut straight = TimeMachine::new(&s, 100_000);
    straight.seek(2_700);
    assert_eq!(fingerprint(straight.world()), at_2700);
}

#[test]
fn an_intervention_in_the_past_discards_the_future() {
    let s = presets::get("failover").unwrap();
    let mut tm = TimeMachine::new(&s, 500);
    tm.seek(6_000);
    assert!(tm.player().timeline.iter().any(|l| l.text.contains("MASTER MODE")), "the original run promotes r1");
    tm.seek(2_200);
    tm.intervene(Step { at: 0, say: Some("restart instead".into()), action: Action::Restart { node: "master".into(), empty: false } });
    tm.seek(6_000);
    let w = tm.world();
    assert!(w.is_up("master"));
    assert!(!tm.player().timeline.iter().any(|l| l.text.contains("MASTER MODE")), "the promotion is gone");
    assert_eq!(w.digest("master"), w.digest("r1"), "r1 follows the restarted master again");
    // Going back before the fork and forward again keeps the new future.
    tm.seek(1_000);
    tm.seek(6_000);
    assert!(tm.world().is_up("master"));
}

#[test]
fn jumping_between_snapshots_in_any_order_keeps_the_trace() {
    let s = presets::get("backlog-overrun").unwrap();
    let mut tm = TimeMachine::new(&s, 300);
    let mut reference = TimeMachine::new(&s, 1_000_000);
    for t in [5_000u64, 700, 4_100, 100, 3_300, 6_000, 2_000] {
        tm.seek(t);
        reference.seek(0);
        reference.seek(t);
        assert_eq!(tm.world().trace(), reference.world().trace(), "at {t}");
        assert_eq!(fingerprint(tm.world()), fingerprint(reference.world()), "at {t}");
    }
}

#[test]
fn a_fork_after_jumping_back_keeps_no_entry_of_the_discarded_future() {
    let s = presets::get("failover").unwrap();
    let restart = || Step { at: 0, say: None, action: Action::Restart { node: "master".into(), empty: false } };
    let mut tm = TimeMachine::new(&s, 500);
    tm.seek(6_000);
    tm.seek(2_200);
    tm.intervene(restart());
    tm.seek(6_000);
    let mut straight = TimeMachine::new(&s, 1_000_000);
    straight.seek(2_200);
    straight.intervene(restart());
    straight.seek(6_000);
    assert_eq!(tm.world().trace(), straight.world().trace());
    tm.seek(1_000);
    assert!(tm.world().trace().iter().all(|e| e.at <= 1_000), "a jump back shows no entry after its time");
}

#[test]
fn forgetting_the_beginning_keeps_a_window_that_jumps_exactly() {
    let s = presets::get("failover").unwrap();
    let mut tm = TimeMachine::new(&s, 500);
    tm.seek(6_000);
    let at_6000 = fingerprint(tm.world());
    let total = tm.world().trace_total();
    tm.seek(4_200);
    let at_4200 = fingerprint(tm.world());
    tm.seek(6_000);
    tm.forget_before(3_000);
    assert_eq!(tm.earliest(), 3_000);
    assert!(tm.world().trace_base() > 0);
    assert_eq!(tm.world().trace_total(), total);
    assert_eq!(tm.world().trace().len(), total - tm.world().trace_base());
    // Jumps inside the window land exactly where they did; before it, on its first moment.
    tm.seek(4_200);
    assert_eq!(fingerprint(tm.world())[1..], at_4200[1..]);
    tm.seek(6_000);
    assert_eq!(fingerprint(tm.world())[1..], at_6000[1..]);
    tm.seek(100);
    assert_eq!(tm.time(), 3_000);
    // The run goes on, and forks, as before.
    tm.seek(7_000);
    tm.intervene(Step { at: 7_000, say: None, action: Action::Crash { node: "r2".into() } });
    tm.seek(8_000);
    assert!(tm.world().status("r2").is_none());
}

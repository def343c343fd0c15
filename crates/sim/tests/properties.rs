use replscope_sim::{NodeSpec, World};
use std::time::Instant;

#[test]
fn timing() {
    let t0 = Instant::now();
    let mut w = World::new(1);
    w.add_node(NodeSpec::new("m"));
    for r in ["r1", "r2", "r3"] {
        w.add_node(NodeSpec::new(r).arg("--replicaof").arg("m").arg("6379"));
    }
    w.add_node(NodeSpec::new("r4").arg("--replicaof").arg("r1").arg("6379"));
    let load = w.start_load("m", 100, 100);
    let mut steps = 0u64;
    let mut st = 0u64;
    while w.time() < 60_000 {
        w.step();
        steps += 1;
        if std::env::var("ST").is_ok() { for n in ["m", "r1", "r2", "r3", "r4"] {
            if w.status(n).is_some() { st += 1; }
        }}
    }
    let t1 = t0.elapsed();
    w.stop_load(load);
    while w.time() < 180_000 { w.step(); steps += 1; }
    let t2 = t0.elapsed();
    let mut d = 0;
    let t3 = Instant::now();
    for _ in 0..100 { d += w.digest("m").len(); }
    println!("steps {steps} load phase {t1:?} total {t2:?} statuses {st} 100 digests {:?} keys {:?} trace {}", t3.elapsed(), w.status("m").unwrap().keys[0], w.trace().len());
    assert_eq!(w.digest("m"), w.digest("r4"));
}

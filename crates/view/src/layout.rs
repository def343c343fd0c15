//! Where nodes go: a tree with masters on top and each replica under the node it replicates
//! from, so cascades read top to bottom.
//!
//! Units: one horizontal slot per leaf, one row per level. A node's x is the middle of its
//! subtree's leaves; several trees (several masters after a split) sit side by side in the
//! order their roots are given.

use std::collections::{BTreeMap, BTreeSet};

/// Position of a node in layout units.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Place {
    pub x: f64,
    pub y: f64,
}

/// The laid-out tree: places by name, and the extent (slots wide, rows deep).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Layout {
    pub places: BTreeMap<String, Place>,
    pub width: f64,
    pub depth: f64,
}

/// Lays out `nodes` given as (name, the node it replicates from). Masters unknown to the list,
/// missing masters and replication loops (A → B → A is a legal, if useless, configuration)
/// all make a root, so every node gets a place.
pub fn layout(nodes: &[(String, Option<String>)]) -> Layout {
    let names: BTreeSet<&str> = nodes.iter().map(|(n, _)| n.as_str()).collect();
    let parent_of = |n: &str| -> Option<&str> {
        nodes.iter().find(|(x, _)| x == n).and_then(|(_, m)| m.as_deref()).filter(|m| names.contains(m) && *m != n)
    };
    // A node is a root if walking up its masters never reaches a root-less loop through it.
    let mut roots: Vec<&str> = Vec::new();
    for (n, _) in nodes {
        if parent_of(n).is_none() {
            roots.push(n);
        }
    }
    let mut placed: BTreeSet<&str> = BTreeSet::new();
    let mut out = Layout::default();
    let mut next_slot = 0.0;
    let children = |p: &str| -> Vec<&str> {
        nodes.iter().filter(|(_, m)| m.as_deref() == Some(p)).map(|(n, _)| n.as_str()).filter(|n| *n != p).collect()
    };
    let mut queue: Vec<&str> = roots.clone();
    // Loops have no root: break each at its first node in input order.
    loop {
        for r in std::mem::take(&mut queue) {
            if placed.contains(r) {
                continue;
            }
            place(r, 0.0, &children, &mut placed, &mut out, &mut next_slot);
        }
        match nodes.iter().map(|(n, _)| n.as_str()).find(|n| !placed.contains(n)) {
            Some(n) => queue.push(n),
            None => break,
        }
    }
    out.width = next_slot;
    out
}

fn place<'a>(
    n: &'a str,
    depth: f64,
    children: &dyn Fn(&'a str) -> Vec<&'a str>,
    placed: &mut BTreeSet<&'a str>,
    out: &mut Layout,
    next_slot: &mut f64,
) -> f64 {
    placed.insert(n);
    let kids: Vec<&str> = children(n).into_iter().filter(|k| !placed.contains(k)).collect();
    let mut xs = Vec::new();
    for k in kids {
        if !placed.contains(k) {
            xs.push(place(k, depth + 1.0, children, placed, out, next_slot));
        }
    }
    let x = if xs.is_empty() {
        let x = *next_slot + 0.5;
        *next_slot += 1.0;
        x
    } else {
        (xs[0] + xs[xs.len() - 1]) / 2.0
    };
    out.places.insert(n.to_string(), Place { x, y: depth + 0.5 });
    out.depth = out.depth.max(depth + 1.0);
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(spec: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
        spec.iter().map(|(n, m)| (n.to_string(), m.map(str::to_string))).collect()
    }

    #[test]
    fn a_master_sits_above_the_middle_of_its_replicas() {
        let l = layout(&nodes(&[("m", None), ("r1", Some("m")), ("r2", Some("m"))]));
        assert_eq!(l.places["r1"], Place { x: 0.5, y: 1.5 });
        assert_eq!(l.places["r2"], Place { x: 1.5, y: 1.5 });
        assert_eq!(l.places["m"], Place { x: 1.0, y: 0.5 });
        assert_eq!((l.width, l.depth), (2.0, 2.0));
    }

    #[test]
    fn a_cascade_goes_down_a_level_per_hop() {
        let l = layout(&nodes(&[("m", None), ("r1", Some("m")), ("r2", Some("r1"))]));
        assert_eq!(l.places["r2"].y, 2.5);
        assert_eq!(l.places["r1"].x, l.places["r2"].x);
        assert_eq!(l.depth, 3.0);
    }

    #[test]
    fn two_masters_sit_side_by_side_in_input_order() {
        let l = layout(&nodes(&[("a", None), ("b", None), ("ra", Some("a"))]));
        assert!(l.places["a"].x < l.places["b"].x);
        assert_eq!(l.places["ra"].x, l.places["a"].x);
    }

    #[test]
    fn loops_and_unknown_masters_still_get_places() {
        let l = layout(&nodes(&[("a", Some("b")), ("b", Some("a")), ("c", Some("gone")), ("d", Some("d"))]));
        assert_eq!(l.places.len(), 4);
        // The loop is broken at its first node: a is a root and b hangs under it.
        assert_eq!(l.places["a"].y, 0.5);
        assert_eq!(l.places["b"].y, 1.5);
        assert_eq!(l.places["c"].y, 0.5);
        assert_eq!(l.places["d"].y, 0.5);
    }

    #[test]
    fn nothing_to_lay_out_is_empty() {
        assert_eq!(layout(&[]), Layout::default());
    }
}

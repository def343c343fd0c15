//! Where things go on the topology drawing, in SVG user units: node boxes from layout places,
//! edges between box borders, and a message's position along its edge. Traffic keeps to its
//! own lane (down on one side, up on the other) so both directions stay readable.

/// Width and height of a layout slot and of a node box.
pub const SLOT_W: f64 = 240.0;
pub const SLOT_H: f64 = 170.0;
pub const BOX_W: f64 = 204.0;
pub const BOX_H: f64 = 92.0;
/// Distance between the two lanes of an edge.
const LANE: f64 = 14.0;

/// Centre of a node box for a layout place.
pub fn centre(x: f64, y: f64) -> (f64, f64) {
    (x * SLOT_W, y * SLOT_H)
}

/// The drawing's size for a layout `width` × `depth` (never smaller than one slot).
pub fn canvas(width: f64, depth: f64) -> (f64, f64) {
    (width.max(1.0) * SLOT_W, depth.max(1.0) * SLOT_H)
}

/// The segment a message travels from box `a` to box `b` (centres), cut at the box borders
/// and shifted to the sender's lane.
pub fn lane(a: (f64, f64), b: (f64, f64)) -> ((f64, f64), (f64, f64)) {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len = (dx * dx + dy * dy).sqrt();
    if len < 1e-9 {
        return (a, b);
    }
    let (ux, uy) = (dx / len, dy / len);
    // Leave each box where the line crosses its border.
    let exit = border_distance(ux, uy);
    let start = (a.0 + ux * exit, a.1 + uy * exit);
    let end = (b.0 - ux * exit, b.1 - uy * exit);
    // Right-hand lane of the direction of travel.
    let (nx, ny) = (-uy * LANE / 2.0, ux * LANE / 2.0);
    ((start.0 + nx, start.1 + ny), (end.0 + nx, end.1 + ny))
}

/// How far from a box's centre a line in direction (ux, uy) leaves it.
fn border_distance(ux: f64, uy: f64) -> f64 {
    let tx = if ux.abs() > 1e-9 { (BOX_W / 2.0) / ux.abs() } else { f64::INFINITY };
    let ty = if uy.abs() > 1e-9 { (BOX_H / 2.0) / uy.abs() } else { f64::INFINITY };
    tx.min(ty)
}

/// A point `t` (0 to 1) of the way along a segment.
pub fn along(seg: ((f64, f64), (f64, f64)), t: f64) -> (f64, f64) {
    let t = t.clamp(0.0, 1.0);
    (seg.0 .0 + (seg.1 .0 - seg.0 .0) * t, seg.0 .1 + (seg.1 .1 - seg.0 .1) * t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vertical_edge_leaves_the_boxes_at_their_borders_and_lanes_differ_by_direction() {
        let m = centre(1.0, 0.5);
        let r = centre(1.0, 1.5);
        let down = lane(m, r);
        let up = lane(r, m);
        assert_eq!(down.0 .1, m.1 + BOX_H / 2.0);
        assert_eq!(down.1 .1, r.1 - BOX_H / 2.0);
        assert_eq!(down.0 .0, m.0 - LANE / 2.0, "travelling down keeps to one side");
        assert_eq!(up.0 .0, m.0 + LANE / 2.0, "travelling up keeps to the other");
        assert_eq!(along(down, 0.5), (m.0 - LANE / 2.0, (m.1 + r.1) / 2.0));
        assert_eq!(along(down, 2.0), down.1);
    }

    #[test]
    fn a_horizontal_edge_leaves_through_the_sides_and_a_point_stays_put() {
        let seg = lane((0.0, 0.0), (400.0, 0.0));
        assert_eq!(seg.0 .0, BOX_W / 2.0);
        assert_eq!(seg.1 .0, 400.0 - BOX_W / 2.0);
        assert_eq!(lane((5.0, 5.0), (5.0, 5.0)), ((5.0, 5.0), (5.0, 5.0)));
        assert_eq!(canvas(0.0, 0.0), (SLOT_W, SLOT_H));
    }
}

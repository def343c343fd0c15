//! Keyboard shortcuts for the whole page, and the list the help overlay shows.

/// What a key does, if anything. Typing in a field is left alone by the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shortcut {
    PlayPause,
    Step,
    Back,
    BackFar,
    ForwardFar,
    Faster,
    Slower,
    Help,
    Close,
}

/// (keys, what they do), for the help overlay.
pub const SHORTCUTS: &[(&str, &str)] = &[
    ("Space", "play / pause"),
    ("→", "step to the next event"),
    ("←", "back 1 second"),
    ("Shift + ← / →", "back / forward 10 seconds"),
    ("+ / −", "faster / slower"),
    ("?", "show this help"),
    ("Esc", "close a dialog"),
];

pub fn shortcut(key: &str, shift: bool) -> Option<Shortcut> {
    Some(match (key, shift) {
        (" " | "Spacebar", _) => Shortcut::PlayPause,
        ("ArrowRight", false) => Shortcut::Step,
        ("ArrowRight", true) => Shortcut::ForwardFar,
        ("ArrowLeft", false) => Shortcut::Back,
        ("ArrowLeft", true) => Shortcut::BackFar,
        ("+" | "=", _) => Shortcut::Faster,
        ("-" | "_", _) => Shortcut::Slower,
        ("?", _) => Shortcut::Help,
        ("Escape", _) => Shortcut::Close,
        _ => return None,
    })
}

/// The next speed up or down the list (stays at the ends).
pub fn next_speed(speeds: &[f64], current: f64, faster: bool) -> f64 {
    let i = speeds.iter().position(|s| (*s - current).abs() < 1e-9).unwrap_or(0);
    let j = if faster { (i + 1).min(speeds.len().saturating_sub(1)) } else { i.saturating_sub(1) };
    speeds.get(j).copied().unwrap_or(current)
}

/// Keys typed into these elements belong to them, not to the page.
pub fn is_typing_target(tag: &str, input_type: &str) -> bool {
    match tag.to_ascii_uppercase().as_str() {
        "TEXTAREA" | "SELECT" => true,
        "INPUT" => !matches!(input_type, "range" | "button" | "checkbox" | "radio"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_to_shortcuts() {
        assert_eq!(shortcut(" ", false), Some(Shortcut::PlayPause));
        assert_eq!(shortcut("ArrowRight", false), Some(Shortcut::Step));
        assert_eq!(shortcut("ArrowLeft", true), Some(Shortcut::BackFar));
        assert_eq!(shortcut("?", true), Some(Shortcut::Help));
        assert_eq!(shortcut("a", false), None);
    }

    #[test]
    fn speeds_step_within_the_list() {
        let s = [0.1, 1.0, 10.0];
        assert_eq!(next_speed(&s, 1.0, true), 10.0);
        assert_eq!(next_speed(&s, 10.0, true), 10.0);
        assert_eq!(next_speed(&s, 0.1, false), 0.1);
        assert_eq!(next_speed(&s, 3.0, false), 0.1, "an unknown speed restarts from the slowest");
    }

    #[test]
    fn fields_keep_their_keys() {
        assert!(is_typing_target("input", "text"));
        assert!(is_typing_target("SELECT", ""));
        assert!(!is_typing_target("INPUT", "range"));
        assert!(!is_typing_target("BUTTON", ""));
    }
}

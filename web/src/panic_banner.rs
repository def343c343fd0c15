//! A panic in wasm stops the app for good, so the page says so and offers a reload instead of
//! freezing silently. Built with plain DOM calls: the reactive system may be what broke.

use wasm_bindgen::JsCast;

/// Installs the hook: log to the console (with the Rust message), then show the banner.
pub fn install() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        show(&info.to_string());
    }));
}

fn show(message: &str) {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else { return };
    let Some(body) = doc.body() else { return };
    if doc.get_element_by_id("panic-banner").is_some() {
        return;
    }
    let Ok(banner) = doc.create_element("div") else { return };
    banner.set_id("panic-banner");
    banner.set_class_name("panic-banner");
    let _ = banner.set_attribute("role", "alert");
    let _ = banner.set_attribute("data-testid", "panic-banner");
    if let Ok(text) = doc.create_element("p") {
        // Text, never HTML: the message may quote user input.
        text.set_text_content(Some(&format!("ReplScope stopped after an internal error and cannot continue: {message}")));
        let _ = banner.append_child(&text);
    }
    if let Ok(button) = doc.create_element("button") {
        button.set_text_content(Some("Reload the page"));
        button.set_class_name("primary");
        let _ = button.set_attribute("onclick", "location.reload()");
        let _ = banner.append_child(&button);
    }
    let _ = body.insert_before(&banner, body.first_child().as_ref());
    if let Some(b) = banner.dyn_ref::<web_sys::HtmlElement>() {
        let _ = b.focus();
    }
}

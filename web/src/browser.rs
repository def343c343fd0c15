//! Small bridges to the browser: downloads, reading a chosen file, the clipboard, the URL,
//! and turning an SVG into a PNG. Each returns an error in words instead of throwing.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

fn js_err(what: &str, e: JsValue) -> String {
    format!("{what}: {}", e.as_string().or_else(|| js_sys::JSON::stringify(&e).ok().and_then(|s| s.as_string())).unwrap_or_default())
}

/// The page's `location.search` and `location.hash`.
pub fn location() -> (String, String) {
    let loc = web_sys::window().map(|w| w.location());
    let search = loc.as_ref().and_then(|l| l.search().ok()).unwrap_or_default();
    let hash = loc.as_ref().and_then(|l| l.hash().ok()).unwrap_or_default();
    (search, hash)
}

/// The page's address without query and fragment (works from any subpath).
pub fn base_url() -> String {
    let Some(loc) = web_sys::window().map(|w| w.location()) else { return String::new() };
    let href = loc.href().unwrap_or_default();
    href.split(['?', '#']).next().unwrap_or_default().to_string()
}

/// Offers `bytes` as a file download.
pub fn download(name: &str, mime: &str, bytes: &[u8]) -> Result<(), String> {
    let array = js_sys::Uint8Array::from(bytes);
    let parts = js_sys::Array::of1(&array);
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type(mime);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &opts).map_err(|e| js_err("cannot make the file", e))?;
    download_blob(name, &blob)
}

fn download_blob(name: &str, blob: &web_sys::Blob) -> Result<(), String> {
    let url = web_sys::Url::create_object_url_with_blob(blob).map_err(|e| js_err("cannot make a download link", e))?;
    let doc = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
    let a: web_sys::HtmlAnchorElement = doc.create_element("a").map_err(|e| js_err("cannot make a link", e))?.unchecked_into();
    a.set_href(&url);
    a.set_download(name);
    a.click();
    let _ = web_sys::Url::revoke_object_url(&url);
    Ok(())
}

/// The text of a file the user picked (size checked first: a file can be anything).
pub async fn read_file(file: web_sys::File, max_bytes: usize) -> Result<String, String> {
    let size = file.size() as usize;
    if size > max_bytes {
        return Err(format!("the file is {size} bytes, at most {max_bytes} are accepted"));
    }
    let text = JsFuture::from(file.text()).await.map_err(|e| js_err("cannot read the file", e))?;
    text.as_string().ok_or_else(|| "the file is not text".to_string())
}

/// Puts `text` on the clipboard.
pub async fn copy(text: &str) -> Result<(), String> {
    let nav = web_sys::window().map(|w| w.navigator()).ok_or("no window")?;
    JsFuture::from(nav.clipboard().write_text(text)).await.map_err(|e| js_err("the clipboard refused", e))?;
    Ok(())
}

/// Draws an SVG document onto a canvas (at `scale`) and downloads it as a PNG.
pub async fn download_png(name: &str, svg: &str, width: f64, height: f64, scale: f64) -> Result<(), String> {
    let doc = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
    let img: web_sys::HtmlImageElement = doc.create_element("img").map_err(|e| js_err("cannot make an image", e))?.unchecked_into();
    let data = format!("data:image/svg+xml;charset=utf-8,{}", String::from(js_sys::encode_uri_component(svg)));
    img.set_src(&data);
    JsFuture::from(img.decode()).await.map_err(|e| js_err("the SVG did not decode", e))?;
    let canvas: web_sys::HtmlCanvasElement = doc.create_element("canvas").map_err(|e| js_err("cannot make a canvas", e))?.unchecked_into();
    canvas.set_width((width * scale) as u32);
    canvas.set_height((height * scale) as u32);
    let ctx: web_sys::CanvasRenderingContext2d = canvas
        .get_context("2d")
        .map_err(|e| js_err("no 2d canvas", e))?
        .ok_or("no 2d canvas")?
        .unchecked_into();
    ctx.scale(scale, scale).map_err(|e| js_err("canvas scale", e))?;
    ctx.draw_image_with_html_image_element(&img, 0.0, 0.0).map_err(|e| js_err("canvas draw", e))?;
    let url = canvas.to_data_url_with_type("image/png").map_err(|e| js_err("canvas export", e))?;
    let a: web_sys::HtmlAnchorElement = doc.create_element("a").map_err(|e| js_err("cannot make a link", e))?.unchecked_into();
    a.set_href(&url);
    a.set_download(name);
    a.click();
    Ok(())
}

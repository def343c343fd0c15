fn main() {
    replscope_web::panic_banner::install();
    leptos::mount::mount_to_body(replscope_web::app::App);
}

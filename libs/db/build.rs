// `sqlx::migrate!` embeds `migrations/` at compile time but cannot ask cargo to watch the
// directory on stable Rust: without this, a new migration is not in the next build.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}

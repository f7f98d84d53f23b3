//! Rebuilds the server when a migration is added or changed: `sqlx::migrate!`
//! reads `migrations/` at compile time, and cargo cannot see that by itself.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}

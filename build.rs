fn main() {
    // `sqlx::migrate!` and `rust_i18n::i18n!` embed these folders at compile time; cargo does
    // not see their files unless told, so adding a migration or editing a text would not rebuild.
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=locales");
}

// Embedded migrations are read at compile time: rebuild when any of them changes.
//
// The tests' PostgreSQL variants are compiled to run when MLAT_TEST_POSTGRES_URL
// is set at build time (`cfg(mlat_postgres_tests)`), and are listed as ignored,
// with the reason, when it is not: a variant never reports a pass it did not run.
//
// The browser test likewise runs when MLAT_TEST_CHROMEDRIVER names Debian's
// chromedriver (`cfg(mlat_browser_tests)`).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo::rustc-check-cfg=cfg(mlat_postgres_tests)");
    println!("cargo::rustc-check-cfg=cfg(mlat_browser_tests)");
    println!("cargo:rerun-if-env-changed=MLAT_TEST_CHROMEDRIVER");
    if std::env::var("MLAT_TEST_CHROMEDRIVER").is_ok_and(|path| !path.is_empty()) {
        println!("cargo::rustc-cfg=mlat_browser_tests");
    }
    println!("cargo:rerun-if-env-changed=MLAT_TEST_POSTGRES_URL");
    if std::env::var("MLAT_TEST_POSTGRES_URL").is_ok_and(|url| !url.is_empty()) {
        println!("cargo::rustc-cfg=mlat_postgres_tests");
    }
}

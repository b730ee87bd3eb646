//! Tests that need a tool the machine may lack (a C compiler, qemu-riscv64,
//! Debian's packages) skip with a printed reason on a plain machine, and
//! fail in CI, which installs everything.

use std::io::Write as _;

/// Whether this is a CI run (`CI` set to anything but "", "0" or "false").
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// Reports that `what` cannot run because of `why`: a panic in CI, a line on
/// stderr elsewhere (straight to stderr, because libtest swallows the
/// `eprintln!` of a passing test).
pub fn skip(what: &str, why: &str) {
    assert!(!in_ci(), "{why}; CI must run {what}");
    let _ = writeln!(std::io::stderr(), "skipping {what}: {why}");
}

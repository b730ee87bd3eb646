//! The host's tools for the tests that build C: the native reference
//! builds of the guest programs and the probes, and their riscv64 builds.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The C flags of a native build of a guest program.
const NATIVE_FLAGS: &[&str] = &["-std=gnu11", "-Wall", "-Wextra", "-pthread"];

/// Whether `tool --version` runs.
pub fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Compiles `src` to `out` with `cc -O2 ARGS`, or panics with the
/// compiler's messages.
pub fn compile(cc: &str, args: &[&str], src: &Path, out: &Path) {
    let result = Command::new(cc)
        .arg("-O2")
        .args(args)
        .arg("-o")
        .arg(out)
        .arg(src)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cc}: {e}"));
    assert!(
        result.status.success(),
        "{cc} {}: {}",
        src.display(),
        String::from_utf8_lossy(&result.stderr)
    );
}

/// Builds guest program `userland/src/NAME.c` for the host, as
/// `DIR/NAME.native`: the reference its riscv64 build is compared with.
/// None, with a printed skip of `what`, when the host has no `cc`.
pub fn native_build(name: &str, dir: &Path, what: &str) -> Option<PathBuf> {
    if !have("cc") {
        crate::skip(what, "cc not found (Debian: apt-get install gcc)");
        return None;
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../userland/src")
        .join(format!("{name}.c"));
    std::fs::create_dir_all(dir).unwrap();
    let out = dir.join(format!("{name}.native"));
    // Built under a name of its own, then renamed into place: tests running
    // at once build the same program while others run it, and a file still
    // being written cannot be executed (ETXTBSY).
    let thread = format!("{:?}", std::thread::current().id());
    let tmp = dir.join(format!("{name}.native.{}.{thread}", std::process::id()));
    compile("cc", NATIVE_FLAGS, &src, &tmp);
    std::fs::rename(&tmp, &out).unwrap();
    Some(out)
}

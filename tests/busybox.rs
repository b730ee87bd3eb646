//! Debian's busybox running a shell script, judged by Linux.
//!
//! `tests/busybox/suite.sh` exercises pipes, redirection, background jobs,
//! wait, kill, trap, find, sort, sed, awk, and ps and ls over /proc. It runs
//! twice: under Debian's amd64 busybox-static natively (the reference) and
//! under Debian's riscv64 busybox-static in cleave, the same version from the
//! same archive; the outputs must be the same bytes.
//!
//! The packages are not committed: `scripts/debian-fetch` downloads them
//! (`.ci/run` does, into `target/debian`). Without them the test is skipped
//! with the reason, except in CI, where it fails.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(300);

fn debian_dir() -> PathBuf {
    std::env::var_os("CLEAVE_DEBIAN_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("target/debian"),
        PathBuf::from,
    )
}

/// `usr/bin` of the unpacked busybox-static for `arch`, with a symlink per
/// applet so that the script's commands are found on PATH.
fn busybox_bin(arch: &str, applets: &[String]) -> PathBuf {
    let bin = debian_dir().join(format!("busybox-{arch}/root/usr/bin"));
    for applet in applets {
        let link = bin.join(applet);
        if link.symlink_metadata().is_err() {
            std::os::unix::fs::symlink("busybox", &link).unwrap();
        }
    }
    bin
}

/// Runs `command` in a process group of its own, killed after TIMEOUT;
/// returns its stdout and stderr merged, as the script's readers see them.
fn run(mut command: Command, tag: &str) -> String {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("busybox-{tag}.out"));
    let file = std::fs::File::create(&out).unwrap();
    let mut child = command
        .env_clear()
        .stdin(Stdio::null())
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .process_group(0)
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > TIMEOUT {
            testkit::kill_group(child.id());
            panic!("{tag}: no exit after {TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    std::fs::read_to_string(out).unwrap()
}

#[test]
fn busybox_suite_matches_native_linux() {
    let native = debian_dir().join("busybox-amd64/root/usr/bin/busybox");
    let guest = debian_dir().join("busybox-riscv64/root/usr/bin/busybox");
    if !native.exists() || !guest.exists() || !cfg!(target_arch = "x86_64") {
        let why = format!(
            "needs Debian's busybox-static for amd64 and riscv64 in {} on an x86-64 host \
             (scripts/debian-fetch, as .ci/run does)",
            debian_dir().display()
        );
        return testkit::skip("the busybox suite", &why);
    }
    let list = Command::new(&native).arg("--list").output().unwrap();
    let applets: Vec<String> = String::from_utf8(list.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let script = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/busybox/suite.sh"),
    )
    .unwrap();

    let bin = busybox_bin("amd64", &applets);
    let mut command = Command::new(bin.join("busybox"));
    command.env("PATH", &bin).args(["sh", "-c", &script]);
    let expected = run(command, "native");

    let bin = busybox_bin("riscv64", &applets);
    let mut command = Command::new(env!("CARGO_BIN_EXE_cleave"));
    command
        .args(["run", "--clear-env", "--env"])
        .arg(format!("PATH={}", bin.display()))
        .arg(bin.join("busybox"))
        .args(["sh", "-c", &script]);
    let actual = run(command, "cleave");

    assert!(
        expected.ends_with("== done\n"),
        "the native run did not finish:\n{expected}"
    );
    if actual != expected {
        let mut report = String::new();
        for (n, (e, a)) in expected.lines().zip(actual.lines()).enumerate() {
            if e != a {
                report += &format!("line {}: Linux {e:?}, cleave {a:?}\n", n + 1);
            }
        }
        panic!(
            "cleave's output differs from Linux's:\n{report}--- Linux\n{expected}--- cleave\n{actual}"
        );
    }
}

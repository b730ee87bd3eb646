//! Debian's own riscv64 programs under cleave, judged by Linux: each script
//! runs natively (the reference) and in cleave, and the outputs must be the
//! same bytes.
//!
//! - `tests/debian/busybox.sh` exercises pipes, redirection, background
//!   jobs, wait, kill, trap, find, sort, sed, awk, and ps and ls over /proc:
//!   Debian's amd64 busybox-static natively, its riscv64 build in cleave,
//!   the same version from the same archive.
//! - `tests/debian/bash.sh`: Debian's riscv64 bash, dynamically linked,
//!   with a Debian root as the guest's `/` (`--root`), against the host's
//!   bash: subshells, pipelines, jobs, process substitution, traps, exec.
//! - `tests/debian/python.py`: Debian's python3 the same way against the
//!   host's python3: fork, exec, posix_spawn, signals and threads.
//! - `tests/debian/multiprocessing.py`: its process pools, a Manager and
//!   ProcessPoolExecutor, which talk over AF_UNIX sockets.
//!
//! The packages are not committed: `scripts/debian-fetch` downloads them
//! (`.ci/run` does, into `target/debian`). Without them a test is skipped
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

/// Runs `command` (whose environment the caller sets) in a process group of
/// its own, killed after TIMEOUT;
/// returns its stdout and stderr merged, as the script's readers see them.
fn run(mut command: Command, tag: &str) -> String {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("busybox-{tag}.out"));
    let file = std::fs::File::create(&out).unwrap();
    let mut child = command
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
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/debian/busybox.sh"),
    )
    .unwrap();

    let bin = busybox_bin("amd64", &applets);
    let mut command = Command::new(bin.join("busybox"));
    command
        .env_clear()
        .env("PATH", &bin)
        .args(["sh", "-c", &script]);
    let expected = run(command, "native");

    let bin = busybox_bin("riscv64", &applets);
    let mut command = Command::new(env!("CARGO_BIN_EXE_cleave"));
    command
        .env_clear()
        .args(["run", "--clear-env", "--env"])
        .arg(format!("PATH={}", bin.display()))
        .arg(bin.join("busybox"))
        .args(["sh", "-c", &script]);
    let actual = run(command, "cleave");

    same_output(&expected, &actual);
}

/// Panics with the differing lines unless cleave printed what Linux did;
/// the script must have finished natively.
fn same_output(expected: &str, actual: &str) {
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

/// Where the test's PATH finds `program` on the host.
fn host_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// The unpacked Debian system `.ci/run` fetches for bash and python3, and
/// the host's `program`; None (a skip) without either.
fn debian_system(what: &str, program: &str) -> Option<(PathBuf, PathBuf)> {
    let root = debian_dir().join("system-riscv64/root");
    let host = host_program(program);
    if !root.join("usr/bin/python3.13").exists() || host.is_none() {
        let why = format!(
            "needs Debian's bash and python3 for riscv64 in {} (scripts/debian-fetch, \
             as .ci/run does) and the host's {program}",
            root.display()
        );
        testkit::skip(what, &why);
        return None;
    }
    Some((root, host?))
}

/// `interpreter -c script` natively, and as `guest` in cleave with `root`
/// as `/`, in the same environment.
fn compare_on_debian(root: &Path, interpreter: &Path, guest: &str, script: &str) {
    // Each script's runs write files of their own: tests run at once.
    let name = Path::new(script)
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let script =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(script)).unwrap();
    let env = [("PATH", "/usr/bin:/bin"), ("LC_ALL", "C"), ("HOME", "/")];
    let mut command = Command::new(interpreter);
    command.env_clear().envs(env).args(["-c", &script]);
    let tag = format!(
        "{}-{name}",
        interpreter.file_name().unwrap().to_string_lossy()
    );
    let expected = run(command, &format!("{tag}-native"));
    let mut command = Command::new(env!("CARGO_BIN_EXE_cleave"));
    command.env_clear().args(["run", "--clear-env"]);
    for (key, value) in env {
        command.arg("--env").arg(format!("{key}={value}"));
    }
    command.arg("--root").arg(root).args([guest, "-c", &script]);
    let actual = run(command, &format!("{tag}-cleave"));
    same_output(&expected, &actual);
}

#[test]
fn debian_bash_matches_native_linux() {
    if let Some((root, bash)) = debian_system("the Debian bash test", "bash") {
        compare_on_debian(&root, &bash, "/usr/bin/bash", "tests/debian/bash.sh");
    }
}

#[test]
fn debian_python_matches_native_linux() {
    if let Some((root, python)) = debian_system("the Debian python3 test", "python3") {
        let script = "tests/debian/python.py";
        compare_on_debian(&root, &python, "/usr/bin/python3.13", script);
    }
}

#[test]
fn debian_python_multiprocessing_matches_native_linux() {
    let Some((root, python)) = debian_system("the Debian multiprocessing test", "python3") else {
        return;
    };
    if !root.join("usr/lib/python3.13/multiprocessing").exists() {
        let why = "needs libpython3.13-stdlib in target/debian/system-riscv64 (as .ci/run fetches)";
        testkit::skip("the Debian multiprocessing test", why);
        return;
    }
    let script = "tests/debian/multiprocessing.py";
    compare_on_debian(&root, &python, "/usr/bin/python3.13", script);
}

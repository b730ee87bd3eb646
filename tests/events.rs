//! Event descriptors beyond what tests/guest.rs compares: the timing
//! cases of `eventtest` (timerfds, epoll waits, signalfds) in virtual time
//! (`--deterministic`), where every timer fires from the run loop's
//! deadlines without the host's clock, and epoll on the guest's stdin as a
//! host pipe written while the guest waits. Each output is compared with
//! the same source run natively, byte for byte.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn work_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("events")
}

fn guest() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("userland/bin/eventtest")
}

/// Runs `cmd` with "hello" written to its stdin after `delay`, then
/// closed (or with no stdin when `delay` is None).
fn run(mut cmd: Command, delay: Option<Duration>) -> Output {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdin(if delay.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = cmd.spawn().expect("spawn");
    if let (Some(delay), Some(mut stdin)) = (delay, child.stdin.take()) {
        std::thread::sleep(delay);
        stdin.write_all(b"hello").unwrap();
    }
    child.wait_with_output().unwrap()
}

/// The case's stdout and exit status, natively and under `cleave run
/// EXTRA...`: they must agree.
fn compare(native: &Path, case: &str, extra: &[&str], delay: Option<Duration>) -> String {
    let mut cmd = Command::new(native);
    cmd.arg(case);
    let expected = run(cmd, delay);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cleave"));
    cmd.arg("run").args(extra).arg(guest()).arg(case);
    let got = run(cmd, delay);
    let text = |o: &Output| String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(
        (text(&got), got.status.code()),
        (text(&expected), expected.status.code()),
        "eventtest {case} {extra:?} differs from Linux; cleave's stderr:\n{}",
        String::from_utf8_lossy(&got.stderr)
    );
    text(&got)
}

#[test]
fn timing_cases_match_linux_in_virtual_time() {
    let Some(native) = testkit::tools::native_build("eventtest", &work_dir(), "the event tests")
    else {
        return;
    };
    for case in [
        "epoll_wait_errors",
        "epoll_fork",
        "epoll_nested",
        "epoll_signals",
        "timerfd_oneshot",
        "timerfd_interval",
        "timerfd_abstime",
        "timerfd_epoll",
        "signalfd_wait",
    ] {
        compare(&native, case, &["--deterministic"], None);
    }
}

#[test]
fn virtual_time_runs_are_byte_identical() {
    let args = ["run", "--deterministic", "--strace"];
    let trace = || {
        let out = Command::new(env!("CARGO_BIN_EXE_cleave"))
            .args(args)
            .arg(guest())
            .arg("timerfd_epoll")
            .output()
            .unwrap();
        assert!(out.status.success());
        (out.stdout, out.stderr)
    };
    assert_eq!(trace(), trace());
}

#[test]
fn epoll_waits_on_a_host_pipe() {
    let Some(native) = testkit::tools::native_build("eventtest", &work_dir(), "the event tests")
    else {
        return;
    };
    let delay = Some(Duration::from_millis(200));
    for extra in [&[][..], &["--deterministic"]] {
        let out = compare(&native, "epoll_stdin", extra, delay);
        assert!(out.contains("read: hello"), "{out}");
    }
}

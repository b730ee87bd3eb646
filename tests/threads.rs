//! Threads and futexes judged by Linux: `userland/src/threads.c`.
//!
//! Each case (`threads CASE`) runs twice: the same source compiled for the
//! host with `cc -pthread` and run natively, and the committed riscv64
//! binary `userland/bin/threads` under `cleave run`. Stdout and the exit
//! status must be identical. The cases print only deterministic facts
//! (counts, errno names, values), never tids or times.
//!
//! Covered: 64 threads on a mutex with pthread_join, condition variables
//! (broadcast, timed wait), detached threads, a barrier, an rwlock, robust
//! mutexes whose owner dies (EOWNERDEAD, ENOTRECOVERABLE, a sleeper woken by
//! the owner's death), raw futex calls (errors, timeouts on both clocks,
//! requeue, bitsets, WAKE_OP arithmetic), shared futexes across fork, the
//! sched_* queries, and exit_group from a thread that is not main.
//!
//! Without `cc` the test is skipped, unless CI is set: in CI a missing tool
//! is a failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A case takes milliseconds; a hang must not hang the suite.
const TIMEOUT: Duration = Duration::from_secs(60);

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `threads.c` built for the host, once; None (a printed skip) without cc.
fn native() -> Option<&'static Path> {
    static BUILT: OnceLock<Option<PathBuf>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("threads");
            testkit::tools::native_build("threads", &dir, "the thread tests")
        })
        .as_deref()
}

/// Runs `program args` with no stdin and a fixed environment; kills it after
/// TIMEOUT.
fn run(program: &Path, args: &[&str]) -> Output {
    let mut child = Command::new(program)
        .args(args)
        .env_clear()
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            panic!(
                "{} {args:?}: still running after {TIMEOUT:?}",
                program.display()
            );
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    child.wait_with_output().unwrap()
}

fn check(case: &str) {
    let Some(native) = native() else {
        return;
    };
    let expected = run(native, &[case]);
    let guest = root().join("userland/bin/threads");
    let got = run(
        Path::new(env!("CARGO_BIN_EXE_cleave")),
        &["run", guest.to_str().unwrap(), case],
    );
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    assert_eq!(
        (text(&expected.stdout), expected.status.code()),
        (text(&got.stdout), got.status.code()),
        "threads {case}: Linux (left) and cleave (right) differ; cleave's stderr:\n{}",
        text(&got.stderr)
    );
}

/// One test per case of `threads.c`.
macro_rules! cases {
    ($($name:ident),*) => {
        $(#[test] fn $name() { check(stringify!($name)) })*
    };
}

cases!(mutex, cond, detach, barrier, rwlock, robust, futex, shared, sched, exitgroup);

//! Guest programs judged by Linux: process, thread and memory semantics.
//!
//! Each case is one run of a multi-case guest program (`proctest CASE`,
//! `mmtest CASE`, `fstest CASE`, `sigtest CASE`, `polltest CASE`,
//! `schedtest CASE`, `limits CASE`, `acct CASE`, `lifecycle CASE`,
//! `fileops CASE`, `ipctest CASE`, `procmm CASE`, `sockettest CASE`,
//! `fifotest CASE`, `eventtest CASE` from `userland/src/`). The same C
//! source is compiled for the host with `cc` at test time and run
//! natively: Linux's stdout and exit status are the expected ones. The
//! committed riscv64 binary in `userland/bin/` runs under `cleave run` and
//! must print the same bytes and exit the same way. The programs print only deterministic facts
//! (relations, values, errno names, decoded wait statuses), never pids or
//! addresses, so the two outputs can be compared byte for byte.
//!
//! [`ACTIVE`] lists the cases cleave gets right: any difference fails.
//! [`PENDING`] lists the cases that still differ, each with what it waits
//! for; they run too, their difference is reported, and a pending case that
//! starts matching Linux fails the test, so that it is moved to [`ACTIVE`]
//! and the list stays true.
//!
//! Without `cc` the test is skipped, unless CI is set: in CI a missing tool
//! is a failure. `GUEST_CASE=proctest/fork_cow` (or any substring) runs only
//! the matching cases.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The cases cleave must get right, as "program/case".
const ACTIVE: &[&str] = &[
    "proctest/fork_basic",
    "proctest/fork_cow",
    "proctest/fork_many",
    "proctest/vfork_order",
    "proctest/vfork_exec",
    "proctest/clone_vm",
    "proctest/clone_fs",
    "proctest/clone_sighand",
    "proctest/clone_thread",
    "proctest/clone_parent",
    "proctest/clone_settid_fork",
    "proctest/clone_errors",
    "proctest/clone_files",
    "proctest/exec_basic",
    "proctest/exec_signals",
    "proctest/exec_fail",
    "proctest/exec_cloexec",
    "proctest/exec_fail_files",
    "proctest/exit_codes",
    "proctest/zombie",
    "proctest/wnohang",
    "proctest/waitid_wnowait",
    "proctest/wait_pgrp",
    "proctest/reparent_init",
    "proctest/reparent_subreaper",
    "proctest/threads64",
    "proctest/exit_group_from_thread",
    "proctest/posix_spawn",
    "proctest/system",
    "proctest/signal_deaths",
    "proctest/signal_deaths_pipe",
    "proctest/kill_blocked",
    "proctest/exec_from_thread",
    "proctest/vfork_killed",
    "sigtest/siginfo",
    "sigtest/faults",
    "sigtest/mask_pending",
    "sigtest/nested",
    "sigtest/nodefer_resethand",
    "sigtest/restart",
    "sigtest/ucontext",
    "sigtest/altstack",
    "sigtest/tgkill",
    "sigtest/abort",
    "sigtest/pgrp",
    "sigtest/sigsuspend",
    "sigtest/sigchld",
    "sigtest/stop_cont",
    "sigtest/alarm",
    "proctest/fork_bomb_nproc",
    "fstest/paths",
    "fstest/fork_offset",
    "fstest/dup_fcntl",
    "fstest/exec_cloexec",
    "fstest/pipe",
    "fstest/text_busy",
    "fstest/meta",
    "fstest/devices",
    "mmtest/map_fixed",
    "mmtest/map_errors",
    "mmtest/munmap_split",
    "mmtest/mprotect_split",
    "mmtest/mremap",
    "mmtest/brk",
    "mmtest/madvise",
    "mmtest/zero_page",
    "mmtest/fork_shared",
    "mmtest/faults",
    "mmtest/rlimit_as",
    "maptest/private_read",
    "maptest/private_write",
    "maptest/shared_write",
    "maptest/shared_fork",
    "maptest/sigbus",
    "maptest/errors",
    "maptest/split",
    "maptest/host_file",
    "maptest/exec_tmp",
    "maptest/dev_zero",
    "polltest/pipe",
    "polltest/files",
    "polltest/nval",
    "polltest/timeout",
    "polltest/select",
    "polltest/sigmask",
    "polltest/eventfd",
    "polltest/pidfd",
    "polltest/clone_pidfd",
    "polltest/timer",
    "polltest/timer_thread_id",
    "polltest/timer_thread",
    "polltest/timer_cpu",
    "polltest/orphan_pgrp",
    "fsprobe/stat_self",
    "fsprobe/status_self",
    "fsprobe/cmdline",
    "fsprobe/fds",
    "fsprobe/maps_exe",
    "fsprobe/pids",
    "fsprobe/tasks",
    "fsprobe/system_files",
    "fsprobe/statfs",
    "fsprobe/mount_tmpfs",
    "fsprobe/chroot",
    "fsprobe/terminals",
    "schedtest/wnohang_poll",
    "schedtest/nonblock_read",
    "schedtest/getpid_loop",
    "schedtest/yield_pingpong",
    "schedtest/sleep_beside_busy",
    "limits/pipe_one_fd",
    "limits/trunc_readonly",
    "limits/shebang",
    "limits/sparse",
    "limits/pipe_user_pages",
    "limits/pipe_size",
    "acct/rusage_self",
    "acct/rusage_children",
    "acct/nice_values",
    "acct/nice_weights",
    "acct/sched_calls",
    "acct/itimers",
    "acct/rlimit_cpu",
    "acct/rlimit_fsize",
    "lifecycle/pdeathsig",
    "lifecycle/pdeath_delivery",
    "lifecycle/resethand",
    "lifecycle/exec_checks",
    "lifecycle/timerslack",
    "fileops/kinds",
    "fileops/special",
    "ipctest/shm_basic",
    "ipctest/shm_errors",
    "ipctest/shm_rmid_attached",
    "ipctest/shm_exec",
    "ipctest/shm_perms",
    "ipctest/shm_info",
    "ipctest/sem_basic",
    "ipctest/sem_block",
    "ipctest/sem_undo",
    "ipctest/sem_intr",
    "ipctest/msg_basic",
    "ipctest/msg_block",
    "ipctest/ipc_perms",
    "ipctest/proc_sysvipc",
    "ipctest/proc_limits",
    "ipctest/posix_shm",
    "procmm/pagemap",
    "procmm/smaps",
    "procmm/io",
    "procmm/limits",
    "sockettest/pair_stream",
    "sockettest/pair_dgram",
    "sockettest/pair_seqpacket",
    "sockettest/path",
    "sockettest/abstract",
    "sockettest/dgram_addr",
    "sockettest/rights",
    "sockettest/creds",
    "sockettest/options",
    "sockettest/errors",
    "sockettest/blocking",
    "sockettest/poll_select",
    "sockettest/fork_server",
    "sockettest/fork_pass",
    "sockettest/mmsg",
    "fifotest/mknod_types",
    "fifotest/open_nonblock",
    "fifotest/open_blocking",
    "fifotest/open_interrupted",
    "eventtest/epoll_ctl",
    "eventtest/epoll_wait_errors",
    "eventtest/epoll_level",
    "eventtest/epoll_edge",
    "eventtest/epoll_files",
    "eventtest/epoll_fork",
    "eventtest/epoll_nested",
    "eventtest/epoll_signals",
    "eventtest/epoll_stdin",
    "eventtest/timerfd_errors",
    "eventtest/timerfd_oneshot",
    "eventtest/timerfd_interval",
    "eventtest/timerfd_abstime",
    "eventtest/timerfd_epoll",
    "eventtest/signalfd_basic",
    "eventtest/signalfd_wait",
    "eventtest/memfd",
    "eventtest/memfd_seals",
];

/// The cases that still differ, as ("program/case", what they need).
const PENDING: &[(&str, &str)] = &[];

/// Generous: a case runs in well under a second; a hang must not hang the
/// suite.
const TIMEOUT: Duration = Duration::from_secs(30);

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn work_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("guest");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Whether the host has a C compiler; the first call without one prints
/// the skip (a failure in CI).
fn host_cc() -> bool {
    static FOUND: OnceLock<bool> = OnceLock::new();
    *FOUND.get_or_init(|| {
        let ok = testkit::tools::have("cc");
        if !ok {
            let why = "cc not found (Debian: apt-get install gcc)";
            testkit::skip("the guest tests", why);
        }
        ok
    })
}

/// Compiles `userland/src/NAME.c` for the host, once per test binary.
fn native(name: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let mut built = BUILT.get_or_init(Default::default).lock().unwrap();
    if let Some(path) = built.get(name) {
        return path.clone();
    }
    let out = testkit::tools::native_build(name, &work_dir(), "the guest tests")
        .expect("cc, which host_cc found");
    built.insert(name.to_string(), out.clone());
    out
}

/// One run's result: stdout, how it ended (as a shell's `$?`: a death by
/// signal S is 128 + S, which is how `cleave run` reports one) and stderr.
struct Run {
    stdout: Vec<u8>,
    status: Result<i32, String>,
    stderr: Vec<u8>,
    elapsed: Duration,
}

fn shell_code(status: ExitStatus) -> i32 {
    match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(sig)) => 128 + sig,
        _ => -1,
    }
}

/// Runs `program args` with no stdin and a fixed environment, its output to
/// files (a descendant that outlives it cannot hold a pipe open), in a
/// process group of its own that is killed after TIMEOUT.
fn run(program: &Path, args: &[&str], tag: &str) -> Run {
    let dir = work_dir();
    let out_path = dir.join(format!("{tag}.out"));
    let err_path = dir.join(format!("{tag}.err"));
    let started = Instant::now();
    let mut child = Command::new(program)
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("LC_ALL", "C")
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
    let status = loop {
        match child.try_wait().unwrap() {
            Some(status) => break Ok(shell_code(status)),
            None if started.elapsed() > TIMEOUT => {
                testkit::kill_group(child.id());
                let _ = child.wait();
                break Err(format!("still running after {TIMEOUT:?}; killed"));
            }
            None => std::thread::sleep(Duration::from_millis(2)),
        }
    };
    Run {
        stdout: std::fs::read(&out_path).unwrap(),
        stderr: std::fs::read(&err_path).unwrap(),
        status,
        elapsed: started.elapsed(),
    }
}

/// Runs one case natively and under cleave; None when they agree, else a
/// report of the difference.
fn check(program: &str, case: &str) -> (Option<String>, Duration) {
    let host = native(program);
    let guest = root().join("userland/bin").join(program);
    let expected = run(&host, &[case], &format!("{program}-{case}-native"));
    let guest_str = guest.to_str().unwrap();
    let got = run(
        Path::new(env!("CARGO_BIN_EXE_cleave")),
        &["run", guest_str, case],
        &format!("{program}-{case}-cleave"),
    );
    if expected.status.is_err() {
        panic!(
            "{program} {case}: the native run is the reference and must end: {:?}",
            expected.status
        );
    }
    if expected.stdout == got.stdout && expected.status == got.status {
        return (None, got.elapsed);
    }
    let mut report = String::new();
    let show = |s: &Result<i32, String>| match s {
        Ok(code) => format!("exit status {code}"),
        Err(e) => e.clone(),
    };
    writeln!(
        report,
        "  linux: {}; cleave: {}",
        show(&expected.status),
        show(&got.status)
    )
    .unwrap();
    let want = String::from_utf8_lossy(&expected.stdout);
    let have = String::from_utf8_lossy(&got.stdout);
    let want: Vec<&str> = want.lines().collect();
    let have: Vec<&str> = have.lines().collect();
    for i in 0..want.len().max(have.len()) {
        let (w, h) = (want.get(i), have.get(i));
        if w == h {
            writeln!(report, "    {}", w.unwrap()).unwrap();
        } else {
            if let Some(w) = w {
                writeln!(report, "  - {w}").unwrap();
            }
            if let Some(h) = h {
                writeln!(report, "  + {h}").unwrap();
            }
        }
    }
    let stderr = String::from_utf8_lossy(&got.stderr);
    for line in stderr.lines().take(5) {
        writeln!(report, "  cleave stderr: {line}").unwrap();
    }
    (Some(report), got.elapsed)
}

/// Whether a case ("program/case") is selected by GUEST_CASE.
fn selected(id: &str) -> bool {
    match std::env::var("GUEST_CASE") {
        Ok(filter) if !filter.is_empty() => id.contains(&filter),
        _ => true,
    }
}

/// Checks the cases ("program/case") on a few threads; returns each case's
/// result in order.
fn check_all(cases: &[&str]) -> Vec<(Option<String>, Duration)> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8));
    let next = Mutex::new(0usize);
    let results = Mutex::new(vec![None; cases.len()]);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = {
                    let mut n = next.lock().unwrap();
                    *n += 1;
                    *n - 1
                };
                let Some(id) = cases.get(i) else {
                    break;
                };
                let (program, case) = id.split_once('/').expect("program/case");
                let result = check(program, case);
                results.lock().unwrap()[i] = Some(result);
            });
        }
    });
    results
        .into_inner()
        .unwrap()
        .into_iter()
        .map(Option::unwrap)
        .collect()
}

#[test]
fn cases_match_linux() {
    if !host_cc() {
        return;
    }
    let cases: Vec<&str> = ACTIVE.iter().copied().filter(|id| selected(id)).collect();
    let results = check_all(&cases);
    let mut failures = String::new();
    for (id, (diff, elapsed)) in cases.iter().zip(&results) {
        match diff {
            None => {
                let _ = writeln!(std::io::stderr(), "guest case {id}: ok ({elapsed:.2?})");
            }
            Some(diff) => writeln!(failures, "{id} differs from Linux:\n{diff}").unwrap(),
        }
    }
    assert!(failures.is_empty(), "{failures}");
}

#[test]
fn pending_cases_still_differ() {
    if !host_cc() {
        return;
    }
    let pending: Vec<(&str, &str)> = PENDING
        .iter()
        .copied()
        .filter(|(id, _)| selected(id))
        .collect();
    let cases: Vec<&str> = pending.iter().map(|&(id, _)| id).collect();
    let results = check_all(&cases);
    let mut now_pass = Vec::new();
    for (&(id, needs), (diff, _)) in pending.iter().zip(&results) {
        match diff {
            Some(diff) => {
                let _ = writeln!(
                    std::io::stderr(),
                    "pending case {id}: differs (needs {needs})\n{diff}"
                );
            }
            None => now_pass.push(id),
        }
    }
    assert!(
        now_pass.is_empty(),
        "pending cases now match Linux; move them to ACTIVE in tests/guest.rs: {}",
        now_pass.join(", ")
    );
}

/// The lists name every case the programs have, each once.
#[test]
fn lists_cover_every_case() {
    if !host_cc() {
        return;
    }
    let mut listed: Vec<&str> = ACTIVE
        .iter()
        .copied()
        .chain(PENDING.iter().map(|&(id, _)| id))
        .collect();
    listed.sort_unstable();
    let before = listed.len();
    listed.dedup();
    assert_eq!(before, listed.len(), "a case is listed twice");
    let mut all = Vec::new();
    for program in [
        "proctest",
        "mmtest",
        "fstest",
        "sigtest",
        "maptest",
        "polltest",
        "fsprobe",
        "schedtest",
        "limits",
        "acct",
        "lifecycle",
        "fileops",
        "ipctest",
        "procmm",
        "sockettest",
        "fifotest",
        "eventtest",
    ] {
        let out = run(&native(program), &["list"], &format!("{program}-list"));
        for case in String::from_utf8(out.stdout).unwrap().lines() {
            all.push(format!("{program}/{case}"));
        }
    }
    all.sort_unstable();
    assert_eq!(listed, all, "ACTIVE and PENDING must list every case");
}

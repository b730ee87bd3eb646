//! /proc/sys as root writes it in a booted guest: each setting takes
//! effect at once (the next pid, uname, fork's limit), a value out of
//! Linux's range or not a number is refused and leaves the setting, and a
//! file's mode binds root too (ostype is read-only, drop_caches
//! write-only), as Linux's proc_sys_permission makes it. The IPC limits
//! are checked where they are obeyed: `ipc::*` unit tests and ipctest.

use std::io::Write;
use std::process::{Command, Stdio};

/// Boots cleave deterministically with `script` as the console's input;
/// returns stdout and stderr.
fn boot(script: &str) -> (String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cleave"))
        .arg("--deterministic")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cleave runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn root_writes_settings_that_take_effect() {
    let (out, err) = boot(
        "echo 400 > /proc/sys/kernel/pid_max\n\
         echo 200 > /proc/sys/kernel/pid_max\n\
         cat /proc/sys/kernel/pid_max\n\
         echo 397 > /proc/sys/kernel/ns_last_pid\n\
         sh -c 'echo $$'\n\
         sh -c 'echo $$'\n\
         echo guest > /proc/sys/kernel/hostname\n\
         uname -n\n\
         echo 1 > /proc/sys/kernel/tainted\n\
         echo 0x10 > /proc/sys/kernel/tainted\n\
         cat /proc/sys/kernel/tainted\n\
         echo 1x > /proc/sys/kernel/shmmni\n\
         cat /proc/sys/kernel/shmmni\n\
         echo '250 32000 32 128' > /proc/sys/kernel/sem\n\
         cat /proc/sys/kernel/sem\n\
         echo 3 > /proc/sys/vm/drop_caches\n\
         echo Linux > /proc/sys/kernel/ostype\n\
         cat /proc/sys/vm/drop_caches\n\
         true\n",
    );
    // 200 is below RESERVED_PIDS + 1: refused. The next pid after 397 is
    // 398; past pid_max, pids start again at 300.
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "400", "{out}");
    assert_eq!(lines[1], "398", "{out}");
    let wrapped: u32 = lines[2].parse().unwrap();
    assert!((300..398).contains(&wrapped), "{out}");
    assert_eq!(
        &lines[3..],
        ["guest", "17", "4096", "250\t32000\t32\t128"],
        "{out}"
    );
    assert!(
        err.contains("/proc/sys/kernel/ostype: Permission denied"),
        "{err}"
    );
    assert!(
        err.contains("/proc/sys/vm/drop_caches: Permission denied"),
        "{err}"
    );
}

#[test]
fn threads_max_is_within_linux_range() {
    let (out, err) = boot(
        "cat /proc/sys/kernel/threads-max\n\
         echo 19 > /proc/sys/kernel/threads-max\n\
         cat /proc/sys/kernel/threads-max\n\
         echo 20 > /proc/sys/kernel/threads-max\n\
         cat /proc/sys/kernel/threads-max\n",
    );
    // Linux's MIN_THREADS is 20.
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}\n{err}");
    assert_eq!(lines[0], lines[1], "{out}");
    assert_eq!(lines[2], "20", "{out}");
}

/// kernel.core_pattern names the core file, %-specifiers expanded, and a
/// pipe writes none. The guest writes the setting as root: `cleave run`
/// runs it as the host's user, so the test needs a root host.
#[test]
fn core_pattern_names_the_core_file() {
    let procmm = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("userland/bin/procmm");
    let out = Command::new(env!("CARGO_BIN_EXE_cleave"))
        .args(["run", procmm.to_str().unwrap(), "core_pattern"])
        .output()
        .expect("cleave runs");
    let text = String::from_utf8_lossy(&out.stdout);
    if text == "not root\n" {
        testkit::skip("core_pattern", "the host user is not root");
        return;
    }
    assert_eq!(
        text,
        "dump.%e.%s.%%: dumped yes, dump.procmm.6.% exists\n\
         sub/%p-core: dumped yes, sub/PID-core exists\n\
         |/bin/false: dumped no, dump.procmm.6.% absent\n\
         core_pattern now: |/bin/false\n"
            .replace("PID", &pid_of(&text)),
        "{out:?}"
    );
}

/// The pid in the second line's file name.
fn pid_of(text: &str) -> String {
    text.lines()
        .nth(1)
        .and_then(|l| l.rsplit("sub/").next())
        .map(|rest| rest.split('-').next().unwrap_or("").to_string())
        .unwrap_or_default()
}

//! Process semantics against Linux: tests/process/probe.c (fork and
//! copy-on-write, vfork, exec and its failures, wait statuses, waitid,
//! clone and clone3 validation, process groups, subreapers, nanosleep,
//! posix_spawn) is compiled natively and for riscv64, and both runs must
//! print the same lines. Needs `cc` and `riscv64-linux-gnu-gcc`: without
//! them the test says so and passes, unless CI is set.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::tools::{compile, have};

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("cleave-process-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn probe_matches_native_linux() {
    if !have("cc") || !have("riscv64-linux-gnu-gcc") {
        return testkit::skip(
            "the process probe",
            "cc or riscv64-linux-gnu-gcc not installed",
        );
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/process/probe.c");
    let d = dir();
    let (native, guest) = (d.join("probe.native"), d.join("probe.rv"));
    compile("cc", &[], &src, &native);
    compile("riscv64-linux-gnu-gcc", &["-static"], &src, &guest);
    let expected = Command::new(&native).output().unwrap();
    let got = Command::new(env!("CARGO_BIN_EXE_cleave"))
        .arg("run")
        .arg(&guest)
        .output()
        .unwrap();
    let (expected, got) = (
        String::from_utf8_lossy(&expected.stdout).into_owned(),
        String::from_utf8_lossy(&got.stdout).into_owned(),
    );
    let differences: Vec<String> = got
        .lines()
        .zip(expected.lines())
        .filter(|(g, e)| g != e)
        .map(|(g, e)| format!("cleave {g:?}, Linux {e:?}"))
        .collect();
    assert_eq!(got, expected, "differences: {differences:#?}");
}

/// A program whose only thread waits for a child that never comes is
/// reported as a deadlock, not left hanging.
#[test]
fn deadlock_is_reported() {
    if !have("riscv64-linux-gnu-gcc") {
        return testkit::skip("the deadlock test", "riscv64-linux-gnu-gcc not installed");
    }
    let d = dir();
    let src = d.join("deadlock.c");
    // The child sleeps on a futex nobody wakes; the parent waits for it.
    std::fs::write(
        &src,
        "#include <unistd.h>\n#include <sys/wait.h>\n#include <sys/syscall.h>\n\
         #include <linux/futex.h>\nint main(void){static int w;pid_t p=fork();\
         if(p==0){syscall(SYS_futex,&w,FUTEX_WAIT,0,0);return 1;}\n\
         waitpid(p,0,0);return 0;}\n",
    )
    .unwrap();
    let bin = d.join("deadlock.rv");
    compile("riscv64-linux-gnu-gcc", &["-static"], &src, &bin);
    let out = Command::new(env!("CARGO_BIN_EXE_cleave"))
        .arg("run")
        .arg(&bin)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cleave: deadlock"), "{stderr}");
    assert_ne!(out.status.code(), Some(0));
}

/// A process killed by SIGABRT with RLIMIT_CORE unlimited leaves an ELF
/// core file naming it and holding its memory, its auxiliary vector, its
/// file mappings and its command line, notes in Linux's order
/// (tests/process/coredump.c reads it back). Natively too, where the host's
/// core_pattern is "core".
#[test]
fn core_dump_is_an_elf_core_file() {
    if !have("cc") || !have("riscv64-linux-gnu-gcc") {
        return testkit::skip(
            "the core dump test",
            "cc or riscv64-linux-gnu-gcc not installed",
        );
    }
    let expected = "killed by SIGABRT: yes, core dumped: yes\n\
                    ELF core for this machine: yes\n\
                    NT_PRSTATUS names the child and SIGABRT: yes\n\
                    the child's memory is in a PT_LOAD: yes\n\
                    notes in Linux's order: yes\n\
                    NT_AUXV has exec's AT_ENTRY and AT_PHDR: yes\n\
                    NT_FILE maps main to this program, no [vdso]: yes\n\
                    NT_PRPSINFO holds the command line: yes\n";
    // Arguments for NT_PRPSINFO's pr_psargs, one with a space in it.
    let args = ["one", "two three"];
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/process/coredump.c");
    let d = dir();
    let (native, guest) = (d.join("coredump.native"), d.join("coredump.rv"));
    compile("riscv64-linux-gnu-gcc", &["-static"], &src, &guest);
    let got = Command::new(env!("CARGO_BIN_EXE_cleave"))
        .arg("run")
        .arg(&guest)
        .args(args)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&got.stdout), expected);
    let pattern = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap_or_default();
    if pattern.trim() == "core" {
        compile("cc", &[], &src, &native);
        let linux = Command::new(&native).args(args).output().unwrap();
        assert_eq!(String::from_utf8_lossy(&linux.stdout), expected);
    }
}

/// A dynamically linked program runs: exec maps its PT_INTERP interpreter,
/// which maps libc with mmap. The cross toolchain's loader and libc are host
/// files, visible in the guest at their own paths. A missing interpreter is
/// ENOENT (exit 127), one that is no ELF file ELIBBAD (exit 126).
#[test]
fn dynamic_programs_start_in_their_interpreter() {
    const LIB: &str = "/usr/riscv64-linux-gnu/lib";
    if !have("riscv64-linux-gnu-gcc") || !Path::new(LIB).join("libc.so.6").exists() {
        return testkit::skip(
            "the dynamic program test",
            "riscv64-linux-gnu-gcc and its libc (libc6-dev-riscv64-cross) not installed",
        );
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/process/dynamic.c");
    let d = dir();
    let fake = d.join("fake-ld.so");
    std::fs::write(&fake, "not an ELF file").unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let cases = [
        (format!("{LIB}/ld-linux-riscv64-lp64d.so.1"), 3),
        ("/nonexistent/ld.so".to_owned(), 127),
        (fake.display().to_string(), 126),
    ];
    for (i, (interp, code)) in cases.iter().enumerate() {
        let bin = d.join(format!("dynamic{i}.rv"));
        let linker = format!("-Wl,--dynamic-linker={interp},-rpath,{LIB}");
        compile("riscv64-linux-gnu-gcc", &[&linker], &src, &bin);
        let out = Command::new(env!("CARGO_BIN_EXE_cleave"))
            .args(["run", "--env", "HOME=/"])
            .arg(&bin)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(*code), "interpreter {interp}");
        if *code == 3 {
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                "hello from a dynamic program, with env\n"
            );
        }
    }
}

/// A fork bomb as root (no RLIMIT_NPROC applies, as on Linux) under a
/// small --mem (tests/process/forkbomb.c, which runs only under cleave):
/// forks fail with EAGAIN or ENOMEM once the kernel's thread limit or the
/// guest's memory runs out, nothing panics, the watchdog's one-second
/// sleep ends beside the bomb, and its SIGKILL to the bomb's process group
/// leaves none of it. The figures (how long the sleep and the kill took)
/// are on stderr, shown with --nocapture.
#[test]
fn fork_bomb_is_killed_by_a_watchdog() {
    if !have("riscv64-linux-gnu-gcc") {
        return testkit::skip("the fork bomb test", "riscv64-linux-gnu-gcc not installed");
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/process/forkbomb.c");
    let d = dir();
    let bin = d.join("forkbomb.rv");
    compile("riscv64-linux-gnu-gcc", &["-static"], &src, &bin);
    let mut child = Command::new(env!("CARGO_BIN_EXE_cleave"))
        .args(["run", "--mem", "64M"])
        .arg(&bin)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    // Generous: the bomb stops itself after a second.
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > std::time::Duration::from_secs(120) {
            testkit::kill_group(child.id());
            panic!("the fork bomb was still running after 120 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprint!("{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "watchdog: starting the bomb\n\
         watchdog: the sleep ended\n\
         watchdog: the bomb's first process was killed by SIGKILL: yes\n\
         watchdog: every bomb process is gone: yes\n\
         bomb: forks succeeded, then failed with EAGAIN or ENOMEM: yes\n",
        "{stderr}"
    );
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

/// clone failing at each step that can fail (RLIMIT_NPROC's EAGAIN;
/// CLONE_PIDFD's EMFILE once the address space is copied; ENOMEM at every
/// point of copying it, under a small --mem) gives back every frame it
/// took and leaves no fd behind (tests/process/clonefail.c, which runs
/// only under cleave, compares /proc/meminfo's exact MemFree). The debug
/// build's shutdown check finds any frame still held at the end.
#[test]
fn failed_clones_leak_nothing() {
    if !have("riscv64-linux-gnu-gcc") {
        return testkit::skip(
            "the clone failure test",
            "riscv64-linux-gnu-gcc not installed",
        );
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/process/clonefail.c");
    let d = dir();
    let bin = d.join("clonefail.rv");
    compile("riscv64-linux-gnu-gcc", &["-static"], &src, &bin);
    let out = Command::new(env!("CARGO_BIN_EXE_cleave"))
        .args(["run", "--mem", "16M"])
        .arg(&bin)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprint!("{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "nproc: fork failed with EAGAIN: yes\n\
         nproc: every frame is back: yes\n\
         pidfd: clone failed with EMFILE, no fd installed: yes\n\
         pidfd: every frame is back: yes\n\
         enomem: forks failed with ENOMEM, then one succeeded: yes\n\
         enomem: every frame is back: yes\n",
        "{stderr}"
    );
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

//! `cleave` without a command: the embedded initramfs boots, init runs
//! /etc/rc and the shell, and the shell reads commands from stdin (a pipe
//! here, so there is no prompt). Only the committed binaries and the
//! embedded archive are used, so these run on any machine.
//!
//! Covered: the shell's words, variables, pipelines, redirections, lists,
//! background jobs with jobs and wait, $$ and $!, a job running while the
//! shell waits for input; the shell's status
//! becoming cleave's; the tools; every demo, whose output must hold the
//! facts it is there to show; byte-identical output under --deterministic;
//! --initrd with another archive and with bad files.

use std::io::{Read, Write as _};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A boot takes milliseconds; a hang must not hang the suite.
const TIMEOUT: Duration = Duration::from_secs(120);

/// Runs cleave with `args`, `input` on its stdin.
fn cleave(args: &[&str], input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cleave"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cleave runs");
    // One thread per pipe: the shell may not read all its input (exit 3),
    // and strace can fill stderr while stdout is quiet.
    let mut stdin = child.stdin.take().unwrap();
    let input = input.as_bytes().to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            pipe.read_to_end(&mut bytes).unwrap();
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            panic!("cleave {args:?} did not finish in {TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let _ = writer.join();
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// Boots deterministically with `script` on stdin; returns stdout after
/// checking the status.
fn shell(script: &str, status: i32) -> String {
    let out = cleave(&["--deterministic"], script);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(status),
        "script {script:?}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    stdout
}

#[test]
fn an_empty_stdin_boots_and_powers_off() {
    let out = cleave(&[], "");
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty(), "{:?}", out.stdout);
    assert!(
        out.stderr.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn words_variables_pipelines_and_redirections() {
    let script = r#"
echo a b | cat
echo one | cat | cat | cat
echo x > /tmp/f; echo y >> /tmp/f; cat < /tmp/f
ls /nonexistent 2> /tmp/err; cat /tmp/err
ls /nonexistent 2>&1 | cat
A=1; echo "a=$A ${A}b" '$A' \$A "q\"q"
export B=2; X=3 env
false; echo $?
true && echo and || echo or
false && echo and || echo or
nosuch 2>&1; echo $?
cd /tmp; echo $PWD; ls
echo -n no newline; echo
sh -c 'echo $0 $1 $#' zero one
echo 'echo script $0 $1; exit 4' > /tmp/s; sh /tmp/s arg; echo $?
"#;
    let expected = "a b\n\
        one\n\
        x\ny\n\
        ls: cannot access '/nonexistent': No such file or directory\n\
        ls: cannot access '/nonexistent': No such file or directory\n\
        a=1 1b $A $A q\"q\n\
        HOME=/\nTERM=linux\nPATH=/bin:/sbin\nB=2\nX=3\n\
        1\n\
        and\n\
        or\n\
        sh: nosuch: not found\n127\n\
        /tmp\nerr\nf\n\
        no newline\n\
        zero one 1\n\
        script /tmp/s arg\n4\n";
    assert_eq!(shell(script, 0), expected);
}

#[test]
fn background_jobs_pids_and_wait() {
    let out = shell(
        "echo $$\n\
         sleep 0.5 & echo $!\n\
         jobs\n\
         wait $!; echo waited $?\n\
         sh -c 'exit 5' & wait $!; echo status $?\n\
         sleep 0.1 & sleep 0.1 & wait; echo all done\n\
         sh -c 'echo $$'\n",
        0,
    );
    let lines: Vec<&str> = out.lines().collect();
    let shell_pid: u32 = lines[0].parse().unwrap();
    let bg_pid: u32 = lines[1].parse().unwrap();
    // The shell forked the job, so it is a newer process.
    assert!(bg_pid > shell_pid, "{out}");
    assert_eq!(lines[2], "[1]   Running                 sleep 0.5 &");
    assert_eq!(&lines[3..6], ["waited 0", "status 5", "all done"]);
    // A child shell has a PID of its own.
    let child_pid: u32 = lines[6].parse().unwrap();
    assert!(child_pid > bg_pid, "{out}");
}

/// While the shell waits for a line that has not come, a background job
/// runs on and ends: a console read blocks the reading guest, never the
/// host thread that runs them all. (Under --deterministic the job's sleep
/// ends as soon as everything waits, so the pause is for the shell only.)
#[test]
fn a_job_runs_while_the_shell_waits_for_input() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cleave"))
        .arg("--deterministic")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("cleave runs");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"sleep 5 &\n").unwrap();
    std::thread::sleep(Duration::from_secs(1));
    stdin.write_all(b"jobs\nexit\n").unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "[1]   Done                    sleep 5 &\n"
    );
}

#[test]
fn the_shells_status_is_cleaves() {
    shell("exit 3\necho not reached\n", 3);
    shell("false\n", 1);
    shell("true\n", 0);
    // exec: the shell's process runs the command, whose status ends the boot.
    shell("exec sh -c 'exit 6'\necho not reached\n", 6);
    // A shell killed by SIGKILL: 128 + 9, as a host shell reports it.
    shell("kill -9 $$\n", 137);
}

#[test]
fn init_gets_only_the_signals_it_handles() {
    let out = shell(
        "kill -TERM 1; kill -KILL 1; kill -STOP 1; echo init lives\n",
        0,
    );
    assert_eq!(out, "init lives\n");
}

#[test]
fn the_tools() {
    let out = shell(
        "ls -l / | cat\nls /bin | cat\nuname -a\ntest -d /tmp && echo dir\n[ 1 -lt 2 ] && echo lt\n\
         mkdir /tmp/d; echo z > /tmp/d/z; rm /tmp/d/z; ls /tmp/d; echo empty\nhelp\n",
        0,
    );
    for line in [
        "drwxr-xr-x  2 0    0        4096 Jan  1  1970 bin",
        "dr-xr-xr-x  2 0    0        4096 Jan  1  1970 proc",
        "drwxrwxrwt  2 0    0        4096 Jan  1  1970 tmp",
        "sh",
        "pstree",
        "dir",
        "lt",
        "empty",
    ] {
        assert!(
            out.lines().any(|l| l == line),
            "no line {line:?} in:\n{out}"
        );
    }
    assert!(out.contains(" riscv64 GNU/Linux\n"), "{out}");
    for demo in [
        "fork", "cow", "shm", "vfork", "execve", "clone", "threads", "orphan", "zombie", "spawn",
    ] {
        assert!(
            out.lines().any(|l| l.starts_with(&format!("  {demo:<8} "))),
            "help lacks {demo}:\n{out}"
        );
    }
}

/// ps reads /proc: a process list once /proc is there, one line saying so
/// while it is not.
#[test]
fn ps_without_proc_says_so() {
    let out = cleave(&[], "ps\n");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stdout.is_empty() {
        assert_eq!(
            stderr,
            "ps: /proc is not mounted, so there is no process list to read\n"
        );
    } else {
        assert!(
            stdout.starts_with("    PID    PPID STAT COMMAND\n"),
            "{stdout}"
        );
    }
}

/// Each demo prints the facts of its idea; under --deterministic the PIDs
/// are known: init is 1, /etc/rc's shell 2, its test 3, the console shell
/// 4, the demo 5.
#[test]
fn the_demos_show_their_facts() {
    let cases: &[(&str, &[&str])] = &[
        (
            "fork",
            &[
                "child:  fork() returned 0 to me. My PID is 6, my parent is 5",
                "parent: fork() returned 6 to me, the child's PID. My PID is still 5",
                "parent: after wait(), my x is still 42 at ",
            ],
        ),
        (
            "cow",
            &[
                "child:  page 0 holds 'p': the parent's page, shared read-only",
                // /proc/self/pagemap: one frame until the write.
                "child:  page 0 is in frame 0x",
                ": the parent's frame, shared",
                "child:  page 0 after my write is in frame 0x",
                ": a new frame, my own copy",
                "parent: my pages still hold 'p': the child wrote to copies",
                ": the frame it was in before fork",
            ],
        ),
        (
            "shm",
            &[
                "child:  the segment is in frame 0x",
                ": the parent's frame, shared",
                ": still the parent's frame: no copy-on-write here",
                "parent: the segment holds \"hello from the child\": the child's write is in my memory",
                "parent: shmctl(IPC_STAT): 1 attach(es) left, mine: the child's went with its exit",
            ],
        ),
        (
            "vfork",
            &["parent: resumed after the child's _exit; x = 2: the child's write is in my memory"],
        ),
        (
            "execve",
            &[
                "after:  PID 5, parent 4: the same process",
                "after:  marker = 0: the old program's memory is gone, this is a new image",
                "after:  fd 3 still open: open files are kept across exec",
                "after:  fd 4 closed: exec closes O_CLOEXEC files",
            ],
        ),
        (
            "clone",
            &[
                "CLONE_VM      memory: without it, the child's write to a variable is not seen here; with it, it is seen (one memory)",
                "CLONE_FS      cwd, root, umask: the child's chdir(\"/tmp\") leaves my cwd at / without it; with it my cwd is /tmp",
                "CLONE_FILES   open files: the fd 3 the child opened does not exist here without it; with it, it exists here too",
                "CLONE_SIGHAND signal handlers: the child's SIGUSR1 handler is not installed here without it; with it, it is installed here too",
                "(a thread)",
            ],
        ),
        (
            "threads",
            &[
                "main thread: PID 5, TID 5",
                "thread 3:    PID 5, TID 8",
                "each thread added 1000 to one counter under a mutex: counter = 3000 (one memory)",
            ],
        ),
        (
            "orphan",
            &[
                "child  (PID 7): my parent is 6",
                "parent (PID 6): exiting without waiting for my child 7",
                "child  (PID 7): my parent is now 1: init adopted me",
            ],
        ),
        (
            "zombie",
            &[
                "parent: kill(6, 0) succeeds: its PID stays taken until the parent waits",
                "parent: waitpid(6) returns its status: exited with 7; the zombie is gone",
                "parent: kill(6, 0) now fails: No such process",
            ],
        ),
        (
            "spawn 2",
            &["fork + execve + wait: ", "vfork + execve + wait: ", "posix_spawn + wait: "],
        ),
    ];
    for (demo, facts) in cases {
        let out = shell(&format!("{demo}\n"), 0);
        for fact in *facts {
            assert!(out.contains(fact), "{demo}: no {fact:?} in:\n{out}");
        }
    }
}

/// The same boot twice, the same bytes: forks, threads, orphans, zombies.
#[test]
fn deterministic_boots_are_byte_identical() {
    let script = "fork; threads; clone; orphan; zombie; sleep 0.1 & jobs; wait\n";
    let a = cleave(&["--deterministic", "--strace"], script);
    let b = cleave(&["--deterministic", "--strace"], script);
    assert!(a.status.success());
    assert!(a.stdout == b.stdout, "stdout differs");
    assert!(a.stderr == b.stderr, "strace differs");
}

/// 64 threads on one mutex under `cleave run --deterministic`: the same
/// system calls in the same order on every run.
#[test]
fn deterministic_threads_are_byte_identical() {
    let threads = Path::new(env!("CARGO_MANIFEST_DIR")).join("userland/bin/threads");
    let threads = threads.to_str().unwrap();
    let args = ["run", "--deterministic", "--strace", threads, "mutex"];
    let a = cleave(&args, "");
    let b = cleave(&args, "");
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert!(a.stdout == b.stdout, "stdout differs");
    assert!(a.stderr == b.stderr, "strace differs");
}

/// A newc archive of (name, mode, data) entries, as userland/build.sh
/// writes them.
fn cpio(entries: &[(&str, u32, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let pad = |out: &mut Vec<u8>| out.resize(out.len().div_ceil(4) * 4, 0);
    for (ino, &(name, mode, data)) in entries
        .iter()
        .chain([&("TRAILER!!!", 0, &b""[..])])
        .enumerate()
    {
        out.extend_from_slice(b"070701");
        let fields = [ino as u32 + 1, mode, 0, 0, 1, 0, data.len() as u32];
        for f in fields
            .into_iter()
            .chain([0, 0, 0, 0, name.len() as u32 + 1, 0])
        {
            out.extend_from_slice(format!("{f:08X}").as_bytes());
        }
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        pad(&mut out);
        out.extend_from_slice(data);
        pad(&mut out);
    }
    out
}

#[test]
fn initrd_boots_another_archive() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let init = std::fs::read(root.join("userland/bin/init")).unwrap();
    let sh = std::fs::read(root.join("userland/bin/box")).unwrap();
    let archive = cpio(&[
        ("bin", 0o40755, b""),
        ("bin/sh", 0o100755, &sh),
        ("bin/echo", 0o120777, b"sh"),
        ("sbin", 0o40755, b""),
        ("sbin/init", 0o100755, &init),
    ]);
    let path = std::env::temp_dir().join(format!("cleave-boot-{}.cpio", std::process::id()));
    std::fs::write(&path, archive).unwrap();
    let out = cleave(
        &["--initrd", path.to_str().unwrap()],
        "echo custom; exit 4\n",
    );
    std::fs::remove_file(&path).unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "custom\n");
}

#[test]
fn bad_initrd_is_one_line_and_status_2() {
    let dir = std::env::temp_dir().join(format!("cleave-boot-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = dir.join("text");
    std::fs::write(&text, "x".repeat(200)).unwrap();
    let gz = dir.join("gz");
    std::fs::write(&gz, [0x1f, 0x8b, 8, 0, 0, 0]).unwrap();
    let no_init = dir.join("no-init");
    std::fs::write(&no_init, cpio(&[("bin", 0o40755, b"")])).unwrap();
    let missing = dir.join("missing");
    for (file, reason) in [
        (&missing, "No such file or directory"),
        (&dir, "Is a directory"),
        (&text, "not a cpio archive in the newc format"),
        (&gz, "a compressed archive"),
        (&no_init, "no /sbin/init to boot"),
    ] {
        let file = file.to_str().unwrap();
        let out = cleave(&["--initrd", file], "");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{file}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{file}: {stderr:?}");
        assert!(
            stderr.starts_with(&format!("cleave: {file}: ")) && stderr.contains(reason),
            "{stderr:?} lacks {reason:?}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

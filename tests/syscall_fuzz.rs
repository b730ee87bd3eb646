//! Random system calls with random arguments must never take the kernel
//! down: no Rust panic, no abort, no hang, whatever a guest passes. Each
//! program is straight-line code of a few hundred calls, numbers drawn from
//! the table, arguments from a palette of edge values, pointers (good,
//! unmapped, straddling the end of the mapping, kernel-half) and paths.
//!
//! Every call in the table is fair game, the ones that touch files
//! included: the guest's `/` is a read-only host directory and `/w` a
//! writable one, so the fuzzer also attacks confinement; after each program
//! the read-only tree must be exactly as it was. A third of the programs
//! first lower RLIMIT_NOFILE, and fd-making calls are drawn more often, so
//! the fd table fills up (System V IPC's get calls too, so that the small
//! ids of the first objects name something); file sizes and offsets come from the palette's
//! edges (powers of two up to 2^63). Socket calls are drawn more often
//! too, half of them making real AF_UNIX sockets, and the palette holds
//! socket addresses. Each program gets host standard
//! streams of one kind: /dev/null, a file, a pipe, a socket, a terminal,
//! or a pipe's write end as stdin.
//!
//! A run stops on its own (exit, a signal, or the kernel's "every thread is
//! blocked"), unless the guest waits for the host (say a read of a
//! terminal nobody types on), which Linux would do forever too: that is
//! told apart from a hang by where cleave sleeps, which must be the poll
//! of its idle loop, never a blocking host read or write. A guest that
//! stops its own group on a terminal stops cleave too, as job control
//! wants; the test continues it, as a shell's `fg` would.
//!
//! Runs under `--deterministic`, so sleeps cost no host time and a seed
//! reproduces: SYSCALL_FUZZ_SEED=N SYSCALL_FUZZ_PROGRAMS=1 reruns one
//! (SYSCALL_FUZZ_KEEP=1 keeps its trace). The default makes about a
//! million calls.

use kernel::syscall::nr;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use testkit::elf;
use testkit::encode::{addi, auipc, ld};
use testkit::Rng;

const BASE: u64 = 0x10000;
/// Zeroed scratch space at the end of the image for pointer arguments,
/// starting with the path strings.
const SCRATCH: usize = 64 << 10;
const CALLS: usize = 300;
const PROGRAMS: u64 = 3400;
const ECALL: u32 = 0x0000_0073;
const S1: u32 = 9;
const A0: u32 = 10;
const A7: u32 = 17;
const WORDS: usize = 7;

/// The three calls that end a program at once (exit, exit_group, and
/// rt_sigreturn outside a handler) would cut most programs short.
const EXCLUDED: &[&str] = &["exit", "exit_group", "rt_sigreturn"];

/// Calls that make descriptors or System V IPC objects (and attach and
/// fill them), drawn more often so that tables fill.
const FD_MAKERS: &[&str] = &[
    "dup",
    "dup3",
    "pipe2",
    "openat",
    "eventfd2",
    "pidfd_open",
    "fcntl",
    "shmget",
    "shmat",
    "semget",
    "msgget",
    "msgsnd",
    "socket",
    "socketpair",
    "accept4",
    "epoll_create1",
    "timerfd_create",
    "signalfd4",
    "memfd_create",
];

/// What the guest's paths point at: its root's entries, the writable
/// mount, the kernel's own directories, magic links, and bad names.
const PATHS: &[&str] = &[
    "/w/f",
    "/w/d",
    "/w/d/g",
    "/w",
    "/w/new",
    "/w/../data",
    "/data",
    "/d",
    "/d/inner",
    "/",
    ".",
    "..",
    "/tmp/t",
    "/tmp",
    "/proc/self/fd/0",
    "/proc/self/fd/1",
    "/proc/self/exe",
    "/proc/self/root",
    "/proc/1/cwd/data",
    "/dev/null",
    "/dev/tty",
    "/w/f/",
    "",
    // sockaddr_un's (AF_UNIX, then the name) for bind, connect and
    // sendto: a path in the writable mount, one in tmpfs, an abstract name.
    "\u{1}\0/w/s",
    "\u{1}\0/tmp/s",
    "\u{1}\0\0abstract",
];

const RLIMIT_NOFILE: u64 = 7;

/// The kernel's own table: every number with a handler whose name passes
/// `keep`.
fn calls(keep: impl Fn(&str) -> bool) -> Vec<u64> {
    (0..kernel::syscall::nr::COUNT as u64)
        .filter(|&nr| kernel::syscall::is_implemented(nr))
        .filter(|&nr| keep(kernel::syscall::nr::NAMES[nr as usize].unwrap_or("")))
        .collect()
}

/// Where each path string sits in scratch, and the bytes to put there:
/// the palette, then a 300-byte component (ENAMETOOLONG), each NUL-ended.
fn path_strings(scratch: u64) -> (Vec<u64>, Vec<u8>) {
    let long = format!("/w/{}", "n".repeat(300));
    let mut bytes = Vec::new();
    let mut addrs = Vec::new();
    for p in PATHS.iter().copied().chain([long.as_str()]) {
        addrs.push(scratch + bytes.len() as u64);
        bytes.extend_from_slice(p.as_bytes());
        bytes.push(0);
    }
    (addrs, bytes)
}

fn argument(rng: &mut Rng, scratch: u64, end: u64, paths: &[u64]) -> u64 {
    match rng.below(14) {
        0 => 0,
        1 => 1,
        2 => u64::MAX,
        3 => rng.below(64),
        4 => rng.next(),
        5 => rng.next() & 0xffff_ffff,
        6 | 7 => scratch + 1024 + (rng.below(SCRATCH as u64 - 1024 - 64) & !7),
        8 => end - rng.below(16),
        9 => 0x1000,
        10 => 0xffff_ffff_ffff_f000,
        11 | 12 => *rng.pick(paths),
        // Sizes and offsets: a power of two, or one either side of it.
        _ => (1u64 << rng.below(64))
            .wrapping_add(rng.below(3))
            .wrapping_sub(1),
    }
}

/// A program making `CALLS` random calls through a table of arguments that
/// s1 walks, seven words (a0..a5, a7) per call; one seed in three first
/// sets RLIMIT_NOFILE to a few descriptors.
fn program(rng: &mut Rng, numbers: &[u64], fd_makers: &[u64]) -> Vec<u8> {
    let calls = CALLS + 1;
    let prologue = 2;
    let code_words = prologue + calls * (WORDS + 2) + 3;
    let table_offset = elf::HEADERS as usize + code_words * 4;
    let table_len = calls * WORDS * 8;
    let image_len = code_words * 4 + table_len + SCRATCH;
    let scratch = BASE + (table_offset + table_len) as u64;
    let end = BASE + elf::HEADERS + image_len as u64;
    let (paths, strings) = path_strings(scratch);
    let rlimit_at = scratch + strings.len().next_multiple_of(8) as u64;

    // s1 = the table, pc-relative: auipc takes the upper bits, addi the
    // sign-extended lower twelve.
    let offset = (table_offset - elf::HEADERS as usize) as i32;
    let hi = (offset + 0x800) >> 12;
    let mut code = vec![auipc(S1, hi), addi(S1, S1, offset - (hi << 12))];
    let mut table = Vec::with_capacity(table_len);
    for call in 0..calls {
        for (i, reg) in (A0..A0 + 6).chain([A7]).enumerate() {
            code.push(ld(reg, S1, (i * 8) as i32));
        }
        code.push(ECALL);
        code.push(addi(S1, S1, (WORDS * 8) as i32));
        let (args, nr) = if call == 0 {
            // prlimit64(0, RLIMIT_NOFILE, &limit, NULL), or a getpid.
            let nr = if rng.below(3) == 0 { 261 } else { 172 };
            ([0, RLIMIT_NOFILE, rlimit_at, 0, 0, 0], nr)
        } else {
            let mut args = std::array::from_fn(|_| argument(rng, scratch, end, &paths));
            let from = if rng.chance(15) { fd_makers } else { numbers };
            let nr = *rng.pick(from);
            // Half the sockets asked for are AF_UNIX ones that exist, so
            // that the calls on sockets meet real ones.
            if [nr::SOCKET, nr::SOCKETPAIR].contains(&nr) && rng.chance(50) {
                args[0] = 1;
                args[1] = *rng.pick(&[1, 2, 5, 1 | 0o4000, 5 | 0o2000000]);
                args[2] = 0;
            }
            (args, nr)
        };
        for arg in args {
            table.extend_from_slice(&arg.to_le_bytes());
        }
        table.extend_from_slice(&nr.to_le_bytes());
    }
    code.extend([addi(A0, 0, 0), addi(A7, 0, 94), ECALL]); // exit_group(0)
    assert_eq!(code.len(), code_words);

    let mut image: Vec<u8> = code.iter().flat_map(|w| w.to_le_bytes()).collect();
    image.extend_from_slice(&table);
    image.extend_from_slice(&strings);
    image.resize(image.len().next_multiple_of(8), 0);
    let fds = 3 + rng.below(24);
    image.extend_from_slice(&fds.to_le_bytes());
    image.extend_from_slice(&fds.to_le_bytes());
    image.resize(image_len, 0);
    elf::executable(BASE, BASE + elf::HEADERS, &image)
}

/// The kinds of host standard streams a program runs with.
#[derive(Clone, Copy, Debug)]
enum Streams {
    Null,
    File,
    Pipe,
    Socket,
    Terminal,
    /// stdin is the write end of a pipe (read is EBADF), stdout its read
    /// end's twin: a pipe.
    WriteEndAsStdin,
}

const STREAMS: [Streams; 6] = [
    Streams::Null,
    Streams::File,
    Streams::Pipe,
    Streams::Socket,
    Streams::Terminal,
    Streams::WriteEndAsStdin,
];

/// A drain that reads whatever the guest writes until it closes.
fn drain(mut from: impl Read + Send + 'static) {
    std::thread::spawn(move || {
        let mut buf = [0; 4096];
        while from.read(&mut buf).is_ok_and(|n| n > 0) {}
    });
}

/// Starts `cmd` with streams of `kind`; the trace goes to `stderr`, a file.
fn spawn(mut cmd: Command, kind: Streams, stderr: std::fs::File) -> Child {
    let input = b"some input\nand a second line\n";
    cmd.stderr(stderr);
    match kind {
        Streams::Null => {
            cmd.stdin(Stdio::null()).stdout(Stdio::null());
        }
        Streams::File => {
            let file = tempfile_with(input);
            let out = tempfile_with(b"");
            cmd.stdin(file).stdout(out);
        }
        Streams::Pipe => {
            let (reader, mut writer) = std::io::pipe().unwrap();
            writer.write_all(input).unwrap();
            drop(writer);
            let (out_reader, out_writer) = std::io::pipe().unwrap();
            drain(out_reader);
            cmd.stdin(reader).stdout(out_writer);
        }
        Streams::Socket => {
            let (ours, theirs) = UnixStream::pair().unwrap();
            (&ours).write_all(input).unwrap();
            ours.shutdown(std::net::Shutdown::Write).unwrap();
            drain(ours);
            let out = theirs.try_clone().unwrap();
            cmd.stdin(std::os::fd::OwnedFd::from(theirs))
                .stdout(std::os::fd::OwnedFd::from(out));
        }
        Streams::Terminal => {
            use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
            let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).unwrap();
            grantpt(&master).unwrap();
            unlockpt(&master).unwrap();
            let name = ptsname(&master, Vec::new()).unwrap();
            let slave = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(name.to_str().unwrap())
                .unwrap();
            let mut master = std::fs::File::from(master);
            master.write_all(input).unwrap();
            drain(master);
            cmd.stdin(slave.try_clone().unwrap()).stdout(slave);
        }
        Streams::WriteEndAsStdin => {
            let (reader, writer) = std::io::pipe().unwrap();
            drain(reader);
            let out = writer.try_clone().unwrap();
            cmd.stdin(writer).stdout(out);
        }
    }
    cmd.spawn().unwrap()
}

/// An unlinked host file holding `bytes`, at offset 0.
fn tempfile_with(bytes: &[u8]) -> std::fs::File {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("cleave-fuzz-stream-{}-{n}", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    file.write_all(bytes).unwrap();
    use std::io::Seek;
    file.rewind().unwrap();
    file
}

/// A tree's paths with what can change about them: type, mode, size,
/// mtime, contents. Symlinks are not followed.
fn fingerprint(root: &Path) -> BTreeMap<PathBuf, (u32, u64, i64, Vec<u8>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(path) = stack.pop() {
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let contents = if meta.is_file() {
            std::fs::read(&path).unwrap()
        } else if meta.is_symlink() {
            std::fs::read_link(&path)
                .unwrap()
                .into_os_string()
                .into_encoded_bytes()
        } else {
            Vec::new()
        };
        if meta.is_dir() {
            for entry in std::fs::read_dir(&path).unwrap() {
                stack.push(entry.unwrap().path());
            }
        }
        let key = path.strip_prefix(root).unwrap().to_path_buf();
        out.insert(key, (meta.mode(), meta.size(), meta.mtime(), contents));
    }
    out
}

/// The state and system call of the host process `pid`'s main thread:
/// ('S', the call number it sleeps in) or ('R', ...).
fn host_state(pid: u32) -> Option<(char, Option<u64>)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let state = stat.rsplit_once(") ")?.1.chars().next()?;
    let call = std::fs::read_to_string(format!("/proc/{pid}/syscall")).ok();
    let nr = call.and_then(|c| c.split_whitespace().next()?.parse().ok());
    Some((state, nr))
}

/// x86-64's poll, select, ppoll, pselect6, epoll_wait, epoll_pwait and
/// epoll_pwait2: where an idle kernel may wait for the host.
const IDLE_CALLS: &[u64] = &[7, 23, 271, 270, 232, 281, 441];

/// How a run ended.
enum Outcome {
    Exited,
    /// Waiting in the idle loop for host input that never comes.
    WaitingForHost,
}

fn run_one(seed: u64, path: &Path, root: &Path, writable: &Path, stderr: &Path) -> Outcome {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cleave"));
    cmd.args(["run", "--strace", "--deterministic", "--seed"])
        .arg(seed.to_string())
        .args(["--mem", "256M", "--clear-env", "--root"])
        .arg(root)
        .arg("--mount")
        .arg(format!("{}:/w:rw", writable.display()))
        .arg(Path::new("/p").join(path.file_name().unwrap()));
    let kind = STREAMS[(seed % STREAMS.len() as u64) as usize];
    // A file, not a pipe: the trace is larger than a pipe holds.
    let mut child = spawn(cmd, kind, std::fs::File::create(stderr).unwrap());
    let started = Instant::now();
    let mut idle_since: Option<Instant> = None;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let trace = String::from_utf8_lossy(&std::fs::read(stderr).unwrap()).into_owned();
            // cleave exits with the guest's status, 128 + N for a guest
            // killed by signal N; a panic is 101, and an abort (a failed
            // allocation, say) kills cleave itself with SIGABRT.
            assert!(
                !trace.contains("panicked") && status.code() != Some(101),
                "seed {seed} ({kind:?}): the kernel panicked ({status}):\n{}",
                tail(&trace)
            );
            assert!(
                status.code().is_some(),
                "seed {seed} ({kind:?}): cleave was killed, it did not exit ({status}):\n{}",
                tail(&trace)
            );
            return Outcome::Exited;
        }
        match host_state(child.id()) {
            // The guest stopped its own process group on a terminal, and
            // cleave stopped with it, as a program under a host shell's
            // job control does: continue it, as the shell's `fg` would.
            Some(('T', _)) => {
                let pid = child.id().to_string();
                Command::new("kill").args(["-CONT", &pid]).status().unwrap();
            }
            Some(('S', Some(nr))) if IDLE_CALLS.contains(&nr) => {
                let since = *idle_since.get_or_insert_with(Instant::now);
                if since.elapsed() > Duration::from_millis(500) {
                    child.kill().unwrap();
                    child.wait().unwrap();
                    return Outcome::WaitingForHost;
                }
            }
            Some(('S', Some(nr))) if started.elapsed() > Duration::from_secs(5) => {
                child.kill().unwrap();
                panic!("seed {seed} ({kind:?}): cleave blocked in host system call {nr}");
            }
            _ => idle_since = None,
        }
        if started.elapsed() > Duration::from_secs(30) {
            child.kill().unwrap();
            panic!("seed {seed} ({kind:?}): cleave still running after 30 s");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn tail(trace: &str) -> String {
    let lines: Vec<&str> = trace.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// A read-only root holding the program (in /p), a file and a directory; a
/// writable mount with a file and a directory.
fn make_trees(dir: &Path) -> (PathBuf, PathBuf) {
    let root = dir.join("root");
    let writable = dir.join("w");
    std::fs::create_dir_all(root.join("d/inner")).unwrap();
    std::fs::create_dir_all(root.join("p")).unwrap();
    std::fs::write(root.join("data"), "read-only data\n").unwrap();
    let _ = std::fs::remove_dir_all(&writable);
    std::fs::create_dir_all(writable.join("d")).unwrap();
    std::fs::write(writable.join("f"), "writable file\n").unwrap();
    (root, writable)
}

#[test]
fn random_system_calls_never_break_the_kernel() {
    let var =
        |name: &str, default: u64| std::env::var(name).map_or(default, |v| v.parse().unwrap());
    let programs = var("SYSCALL_FUZZ_PROGRAMS", PROGRAMS);
    let first = var("SYSCALL_FUZZ_SEED", 0);
    let numbers = calls(|name| !EXCLUDED.contains(&name));
    let fd_makers = calls(|name| FD_MAKERS.contains(&name));
    let dir = std::env::temp_dir().join(format!("cleave-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (root, writable) = make_trees(&dir);
    let stderr = dir.join("stderr");
    let (mut calls_made, mut waiting) = (0, 0);
    for seed in first..first + programs {
        let mut rng = Rng::new(seed);
        let name = format!("fuzz-{seed}");
        let path = root.join("p").join(&name);
        std::fs::write(&path, program(&mut rng, &numbers, &fd_makers)).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        let before = fingerprint(&root);
        if let Outcome::WaitingForHost = run_one(seed, &path, &root, &writable, &stderr) {
            waiting += 1;
        }
        assert!(
            fingerprint(&root) == before,
            "seed {seed}: the read-only root changed"
        );
        // The trace proves the program ran: one line per call made.
        let trace = String::from_utf8_lossy(&std::fs::read(&stderr).unwrap()).into_owned();
        let made = trace.lines().filter(|l| l.starts_with("[tid ")).count();
        assert!(
            made > 0,
            "seed {seed}: no system call ran:\n{}",
            tail(&trace)
        );
        calls_made += made;
        std::fs::remove_file(&path).unwrap();
        if seed % 64 == 63 {
            make_trees(&dir);
        }
    }
    // Some programs kill or unmap themselves early; most calls must run.
    println!("{calls_made} calls in {programs} programs, {waiting} left waiting for host input");
    assert!(
        calls_made as u64 > programs * CALLS as u64 / 3,
        "only {calls_made} calls ran"
    );
    if std::env::var_os("SYSCALL_FUZZ_KEEP").is_none() {
        std::fs::remove_dir_all(&dir).ok();
    }
}

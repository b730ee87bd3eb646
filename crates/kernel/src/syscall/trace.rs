//! `--strace`: one line per system call in strace's style,
//! `[tid 1] write(1, "hello\n", 6) = 6`.
//!
//! Input arguments are formatted before the call (execve replaces the
//! memory they live in), output buffers after it, when their length is
//! known.

use super::nr;
use crate::errno::Errno;
use crate::task::rlimit;
use crate::task::signal::Signal;
use crate::task::Kernel;
use std::fmt::Write as _;

/// How strace shows one argument.
#[derive(Clone, Copy)]
pub(super) enum Arg {
    /// Signed decimal (ints, offsets).
    Int,
    /// Unsigned decimal (sizes).
    Size,
    Hex,
    /// NULL or an address.
    Ptr,
    /// A directory fd: AT_FDCWD by name.
    DirFd,
    /// A NUL-terminated string.
    Str,
    /// A buffer the kernel reads, its length in argument n.
    InBuf(usize),
    /// A buffer the kernel fills; its length is the return value.
    OutBuf,
    /// An iovec array the kernel reads, the count in argument n.
    InIov(usize),
    Prot,
    MapFlags,
    /// Flag bits named by a table, or "0".
    Flags(&'static [(u64, &'static str)]),
    /// An ioctl request.
    Ioctl,
    Signal,
    ClockId,
    Resource,
    SigHow,
}

/// How strace shows the result.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Ret {
    Int,
    Hex,
    /// The call does not return (exit, exit_group): "= ?".
    None,
}

pub(super) fn signature(nr: u64) -> Option<(&'static [Arg], Ret)> {
    use Arg::*;
    let int = Ret::Int;
    Some(match nr {
        nr::READ => (&[Int, OutBuf, Size], int),
        nr::WRITE => (&[Int, InBuf(2), Size], int),
        nr::READV => (&[Int, Ptr, Int], int),
        nr::WRITEV => (&[Int, InIov(2), Int], int),
        nr::CLOSE => (&[Int], int),
        nr::LSEEK => (&[Int, Int, Int], int),
        nr::IOCTL => (&[Int, Ioctl, Ptr], int),
        nr::FSTAT => (&[Int, Ptr], int),
        nr::NEWFSTATAT => (&[DirFd, Str, Ptr, Flags(AT_FLAGS)], int),
        nr::READLINKAT => (&[DirFd, Str, OutBuf, Size], int),
        nr::OPENAT => (&[DirFd, Str, Flags(O_FLAGS), Hex], int),
        nr::PREAD64 => (&[Int, OutBuf, Size, Int], int),
        nr::PWRITE64 => (&[Int, InBuf(2), Size, Int], int),
        nr::PIPE2 => (&[Ptr, Flags(O_FLAGS)], int),
        nr::DUP | nr::FCHDIR | nr::FSYNC | nr::FDATASYNC => (&[Int], int),
        nr::CLOSE_RANGE => (&[Int, Int, Hex], int),
        nr::FCHOWN => (&[Int, Int, Int], int),
        nr::FCHOWNAT => (&[DirFd, Str, Int, Int, Flags(AT_FLAGS)], int),
        nr::UTIMENSAT => (&[DirFd, Str, Ptr, Flags(AT_FLAGS)], int),
        nr::DUP3 => (&[Int, Int, Flags(O_FLAGS)], int),
        nr::FCNTL => (&[Int, Int, Hex], int),
        nr::GETDENTS64 => (&[Int, Ptr, Size], int),
        nr::MKDIRAT => (&[DirFd, Str, Hex], int),
        nr::MKNODAT => (&[DirFd, Str, Hex, Hex], int),
        nr::UNLINKAT => (&[DirFd, Str, Hex], int),
        nr::RENAMEAT2 => (&[DirFd, Str, DirFd, Str, Hex], int),
        nr::LINKAT => (&[DirFd, Str, DirFd, Str, Flags(AT_FLAGS)], int),
        nr::SYMLINKAT => (&[Str, DirFd, Str], int),
        nr::FACCESSAT => (&[DirFd, Str, Int], int),
        nr::FACCESSAT2 => (&[DirFd, Str, Int, Flags(AT_FLAGS)], int),
        nr::FCHMOD => (&[Int, Hex], int),
        nr::FCHMODAT => (&[DirFd, Str, Hex], int),
        nr::TRUNCATE => (&[Str, Int], int),
        nr::FTRUNCATE => (&[Int, Int], int),
        nr::CHDIR => (&[Str], int),
        nr::CHROOT => (&[Str], int),
        nr::MOUNT => (&[Str, Str, Str, Hex, Ptr], int),
        nr::UMOUNT2 => (&[Str, Hex], int),
        nr::STATFS => (&[Str, Ptr], int),
        nr::FSTATFS => (&[Int, Ptr], int),
        nr::SYSINFO => (&[Ptr], int),
        nr::STATX => (&[DirFd, Str, Flags(AT_FLAGS), Hex, Ptr], int),
        nr::EXIT | nr::EXIT_GROUP => (&[Int], Ret::None),
        nr::SOCKET => (&[Int, Hex, Int], int),
        nr::SOCKETPAIR => (&[Int, Hex, Int, Ptr], int),
        nr::BIND | nr::CONNECT => (&[Int, Ptr, Int], int),
        nr::LISTEN | nr::SHUTDOWN => (&[Int, Int], int),
        nr::ACCEPT | nr::GETSOCKNAME | nr::GETPEERNAME => (&[Int, Ptr, Ptr], int),
        nr::ACCEPT4 => (&[Int, Ptr, Ptr, Hex], int),
        nr::SENDTO => (&[Int, InBuf(2), Size, Hex, Ptr, Int], int),
        nr::RECVFROM => (&[Int, OutBuf, Size, Hex, Ptr, Ptr], int),
        nr::SETSOCKOPT | nr::GETSOCKOPT => (&[Int, Int, Int, Ptr, Ptr], int),
        nr::SENDMSG | nr::RECVMSG => (&[Int, Ptr, Hex], int),
        nr::SENDMMSG => (&[Int, Ptr, Int, Hex], int),
        nr::RECVMMSG => (&[Int, Ptr, Int, Hex, Ptr], int),
        nr::BRK => (&[Ptr], Ret::Hex),
        nr::MMAP => (&[Ptr, Size, Prot, MapFlags, Int, Int], Ret::Hex),
        nr::MUNMAP => (&[Ptr, Size], int),
        nr::MPROTECT => (&[Ptr, Size, Prot], int),
        nr::MREMAP => (&[Ptr, Size, Size, Flags(MREMAP_FLAGS), Ptr], Ret::Hex),
        nr::MADVISE => (&[Ptr, Size, Int], int),
        nr::MSYNC => (&[Ptr, Size, Flags(MS_FLAGS)], int),
        nr::SET_TID_ADDRESS => (&[Ptr], int),
        nr::SET_ROBUST_LIST => (&[Ptr, Size], int),
        nr::GET_ROBUST_LIST => (&[Int, Ptr, Ptr], int),
        nr::FUTEX => (&[Ptr, Hex, Int, Ptr, Ptr, Hex], int),
        nr::GETCPU => (&[Ptr, Ptr, Ptr], int),
        nr::SCHED_GETAFFINITY | nr::SCHED_SETAFFINITY => (&[Int, Size, Ptr], int),
        nr::SCHED_GETSCHEDULER => (&[Int], int),
        nr::SCHED_SETSCHEDULER => (&[Int, Int, Ptr], int),
        nr::SCHED_SETPARAM | nr::SCHED_RR_GET_INTERVAL => (&[Int, Ptr], int),
        nr::GETRUSAGE => (&[Int, Ptr], int),
        nr::TIMES => (&[Ptr], int),
        nr::GETPRIORITY => (&[Int, Int], int),
        nr::SETPRIORITY => (&[Int, Int, Int], int),
        nr::SCHED_GET_PRIORITY_MAX | nr::SCHED_GET_PRIORITY_MIN => (&[Int], int),
        nr::SCHED_GETPARAM => (&[Int, Ptr], int),
        nr::RSEQ => (&[Ptr, Size, Hex, Hex], int),
        nr::PRLIMIT64 => (&[Int, Resource, Ptr, Ptr], int),
        nr::GETRLIMIT | nr::SETRLIMIT => (&[Resource, Ptr], int),
        nr::GETRANDOM => (&[Ptr, Size, Flags(GRND_FLAGS)], int),
        nr::UNAME => (&[Ptr], int),
        nr::CLOCK_GETTIME | nr::CLOCK_GETRES => (&[ClockId, Ptr], int),
        nr::CLOCK_NANOSLEEP => (&[ClockId, Hex, Ptr, Ptr], int),
        nr::NANOSLEEP => (&[Ptr, Ptr], int),
        nr::GETTIMEOFDAY => (&[Ptr, Ptr], int),
        nr::GETPID
        | nr::GETTID
        | nr::GETPPID
        | nr::GETUID
        | nr::GETEUID
        | nr::GETGID
        | nr::GETEGID
        | nr::SCHED_YIELD => (&[], int),
        nr::RT_SIGACTION => (&[Signal, Ptr, Ptr, Size], int),
        nr::RT_SIGPROCMASK => (&[SigHow, Ptr, Ptr, Size], int),
        nr::RT_SIGRETURN => (&[], int),
        nr::RT_SIGPENDING | nr::RT_SIGSUSPEND => (&[Ptr, Size], int),
        nr::RT_SIGTIMEDWAIT => (&[Ptr, Ptr, Ptr, Size], int),
        nr::RT_SIGQUEUEINFO => (&[Int, Signal, Ptr], int),
        nr::RT_TGSIGQUEUEINFO => (&[Int, Int, Signal, Ptr], int),
        nr::SIGALTSTACK => (&[Ptr, Ptr], int),
        nr::KILL | nr::TKILL => (&[Int, Signal], int),
        nr::TGKILL => (&[Int, Int, Signal], int),
        nr::SETITIMER => (&[Int, Ptr, Ptr], int),
        nr::GETITIMER => (&[Int, Ptr], int),
        nr::RISCV_FLUSH_ICACHE => (&[Ptr, Ptr, Hex], int),
        nr::CLONE => (&[Hex, Ptr, Ptr, Ptr, Ptr], int),
        nr::CLONE3 => (&[Ptr, Size], int),
        nr::EXECVE => (&[Str, Ptr, Ptr], int),
        nr::EXECVEAT => (&[DirFd, Str, Ptr, Ptr, Hex], int),
        nr::WAIT4 => (&[Int, Ptr, Hex, Ptr], int),
        nr::WAITID => (&[Int, Int, Ptr, Hex, Ptr], int),
        nr::SETPGID => (&[Int, Int], int),
        nr::GETPGID | nr::GETSID => (&[Int], int),
        nr::SETSID => (&[], int),
        nr::PRCTL => (&[Int, Hex, Hex, Hex, Hex], int),
        nr::UMASK => (&[Hex], Ret::Hex),
        nr::GETCWD => (&[Ptr, Size], int),
        nr::GETRESUID | nr::GETRESGID => (&[Ptr, Ptr, Ptr], int),
        nr::SETUID | nr::SETGID | nr::SETFSUID | nr::SETFSGID => (&[Int], int),
        nr::SETREUID | nr::SETREGID => (&[Int, Int], int),
        nr::SETRESUID | nr::SETRESGID => (&[Int, Int, Int], int),
        nr::GETGROUPS | nr::SETGROUPS => (&[Int, Ptr], int),
        nr::PPOLL => (&[Ptr, Int, Ptr, Ptr, Size], int),
        nr::PSELECT6 => (&[Int, Ptr, Ptr, Ptr, Ptr, Ptr], int),
        nr::EVENTFD2 => (&[Int, Hex], int),
        nr::PIDFD_OPEN => (&[Int, Hex], int),
        nr::PIDFD_SEND_SIGNAL => (&[Int, Signal, Ptr, Hex], int),
        nr::TIMER_CREATE => (&[ClockId, Ptr, Ptr], int),
        nr::TIMER_SETTIME => (&[Int, Hex, Ptr, Ptr], int),
        nr::TIMER_GETTIME => (&[Int, Ptr], int),
        nr::TIMER_GETOVERRUN | nr::TIMER_DELETE => (&[Int], int),
        nr::EPOLL_CREATE1 => (&[Flags(O_FLAGS)], int),
        nr::EPOLL_CTL => (&[Int, Int, Int, Ptr], int),
        nr::EPOLL_PWAIT => (&[Int, Ptr, Int, Int, Ptr, Size], int),
        nr::EPOLL_PWAIT2 => (&[Int, Ptr, Int, Ptr, Ptr, Size], int),
        nr::TIMERFD_CREATE => (&[ClockId, Flags(O_FLAGS)], int),
        nr::TIMERFD_SETTIME => (&[Int, Hex, Ptr, Ptr], int),
        nr::TIMERFD_GETTIME => (&[Int, Ptr], int),
        nr::SIGNALFD4 => (&[Int, Ptr, Size, Flags(O_FLAGS)], int),
        nr::MEMFD_CREATE => (&[Str, Hex], int),
        nr::SHMGET => (&[Int, Size, Hex], int),
        nr::SHMAT => (&[Int, Ptr, Hex], Ret::Hex),
        nr::SHMDT => (&[Ptr], int),
        nr::SHMCTL | nr::MSGCTL => (&[Int, Int, Ptr], int),
        nr::SEMGET => (&[Int, Int, Hex], int),
        nr::SEMOP => (&[Int, Ptr, Size], int),
        nr::SEMTIMEDOP => (&[Int, Ptr, Size, Ptr], int),
        nr::SEMCTL => (&[Int, Int, Int, Hex], int),
        nr::MSGGET => (&[Int, Hex], int),
        nr::MSGSND => (&[Int, Ptr, Size, Hex], int),
        nr::MSGRCV => (&[Int, Ptr, Size, Int, Hex], int),
        _ => return None,
    })
}

/// A call being traced: the line so far, and what must wait for the result.
pub struct Pending {
    line: String,
    /// Output arguments: (position in `line`, argument index).
    outputs: Vec<(usize, usize)>,
    ret: Ret,
}

/// Formats the call's name and input arguments.
pub fn enter(k: &mut Kernel, nr: u64, args: &[u64; 6]) -> Pending {
    let tid = k.current_tid();
    let name = nr::NAMES.get(nr as usize).copied().flatten();
    let mut line = match name {
        Some(name) => format!("[tid {tid}] {name}("),
        None => format!("[tid {tid}] syscall_{nr:#x}("),
    };
    let mut outputs = Vec::new();
    let (kinds, ret): (&[Arg], Ret) = match signature(nr) {
        Some(sig) => sig,
        None => (&[Arg::Hex; 6], Ret::Int),
    };
    for (i, kind) in kinds.iter().enumerate() {
        if i > 0 {
            line.push_str(", ");
        }
        let value = args[i];
        match *kind {
            Arg::OutBuf => outputs.push((line.len(), i)),
            kind => format_arg(k, &mut line, kind, value, args),
        }
    }
    if ret == Ret::None {
        line.push_str(") = ?");
    }
    Pending { line, outputs, ret }
}

/// Completes the line with output buffers and the result.
pub fn exit(
    k: &mut Kernel,
    mut pending: Pending,
    args: &[u64; 6],
    result: Result<u64, Errno>,
) -> String {
    for &(pos, i) in pending.outputs.iter().rev() {
        let text = match result {
            Ok(len) => quoted(&k.peek_user(args[i], len as usize)),
            Err(_) => pointer(args[i]),
        };
        pending.line.insert_str(pos, &text);
    }
    if pending.ret == Ret::None {
        return pending.line;
    }
    pending.line.push_str(") = ");
    match result {
        Ok(v) if pending.ret == Ret::Hex => write!(pending.line, "{v:#x}"),
        Ok(v) => write!(pending.line, "{}", v as i64),
        Err(e) => write!(pending.line, "-1 {} ({})", e.name(), describe(e)),
    }
    .unwrap();
    pending.line
}

/// The line of a call that blocked: it runs again, and is traced again,
/// when woken (see `task::block`).
pub fn blocked(pending: Pending) -> String {
    format!("{}) <blocked>", pending.line)
}

fn format_arg(k: &mut Kernel, out: &mut String, kind: Arg, value: u64, args: &[u64; 6]) {
    match kind {
        Arg::Int => write!(out, "{}", value as i32),
        Arg::Size => write!(out, "{value}"),
        Arg::Hex => write!(out, "{value:#x}"),
        Arg::Ptr | Arg::OutBuf => write!(out, "{}", pointer(value)),
        Arg::DirFd if value as i32 == super::AT_FDCWD => write!(out, "AT_FDCWD"),
        Arg::DirFd => write!(out, "{}", value as i32),
        Arg::Str => match k.peek_user_cstr(value) {
            Some(s) => write!(out, "{}", quoted(&s)),
            None => write!(out, "{}", pointer(value)),
        },
        Arg::InBuf(len) => {
            let bytes = k.peek_user(value, args[len].min(STRING_LIMIT as u64 + 1) as usize);
            write!(out, "{}", quoted_limited(&bytes, args[len] as usize))
        }
        Arg::InIov(count) => write!(out, "{}", iovecs(k, value, args[count])),
        Arg::Prot => write!(out, "{}", flags(value, PROT_FLAGS, "PROT_NONE")),
        Arg::MapFlags => write!(out, "{}", map_flags(value)),
        Arg::Flags(names) => write!(out, "{}", flags(value, names, "0")),
        Arg::Ioctl => match value & 0xffff_ffff {
            0x5401 => write!(out, "TCGETS"),
            0x5413 => write!(out, "TIOCGWINSZ"),
            request => write!(out, "{request:#x}"),
        },
        Arg::Signal => match Signal::from_guest(value) {
            Ok(sig) => write!(out, "{}", sig.name()),
            Err(_) => write!(out, "{}", value as i32),
        },
        Arg::ClockId => match CLOCKS.get(value as usize) {
            Some(name) if !name.is_empty() => write!(out, "{name}"),
            _ => write!(out, "{}", value as i32),
        },
        Arg::Resource => match rlimit::NAMES.get(value as usize) {
            Some(name) => write!(out, "{name}"),
            None => write!(out, "{value:#x} /* RLIMIT_??? */"),
        },
        Arg::SigHow => match value {
            0 => write!(out, "SIG_BLOCK"),
            1 => write!(out, "SIG_UNBLOCK"),
            2 => write!(out, "SIG_SETMASK"),
            _ => write!(out, "{value:#x} /* SIG_??? */"),
        },
    }
    .unwrap();
}

/// strace shows this many bytes of a string before "...".
const STRING_LIMIT: usize = 32;

fn pointer(value: u64) -> String {
    if value == 0 {
        "NULL".into()
    } else {
        format!("{value:#x}")
    }
}

fn quoted(bytes: &[u8]) -> String {
    quoted_limited(bytes, bytes.len())
}

/// `bytes` as a C string literal the way strace escapes it, cut at
/// STRING_LIMIT with "..." when the full length `len` is longer.
fn quoted_limited(bytes: &[u8], len: usize) -> String {
    let shown = &bytes[..bytes.len().min(STRING_LIMIT)];
    let mut s = String::from("\"");
    for (i, &b) in shown.iter().enumerate() {
        match b {
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            b'\r' => s.push_str("\\r"),
            b'\x0b' => s.push_str("\\v"),
            b'\x0c' => s.push_str("\\f"),
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(b as char),
            _ => {
                // Octal, padded when a digit follows so it stays unambiguous.
                let next_is_digit = shown.get(i + 1).is_some_and(|c| (b'0'..=b'7').contains(c));
                if next_is_digit {
                    write!(s, "\\{b:03o}").unwrap();
                } else {
                    write!(s, "\\{b:o}").unwrap();
                }
            }
        }
    }
    s.push('"');
    if len > shown.len() {
        s.push_str("...");
    }
    s
}

fn iovecs(k: &mut Kernel, addr: u64, count: u64) -> String {
    let raw = k.peek_user(addr, 16 * count.min(8) as usize);
    let mut parts = Vec::new();
    for iov in raw.chunks_exact(16) {
        let base = u64::from_le_bytes(iov[..8].try_into().unwrap());
        let len = u64::from_le_bytes(iov[8..].try_into().unwrap());
        let data = k.peek_user(base, len.min(STRING_LIMIT as u64 + 1) as usize);
        parts.push(format!(
            "{{iov_base={}, iov_len={len}}}",
            quoted_limited(&data, len as usize)
        ));
    }
    if raw.len() < 16 * count.min(8) as usize {
        return pointer(addr);
    }
    if count > 8 {
        parts.push("...".into());
    }
    format!("[{}]", parts.join(", "))
}

const PROT_FLAGS: &[(u64, &str)] = &[(1, "PROT_READ"), (2, "PROT_WRITE"), (4, "PROT_EXEC")];

const O_FLAGS: &[(u64, &str)] = &[
    (0o1, "O_WRONLY"),
    (0o2, "O_RDWR"),
    (0o100, "O_CREAT"),
    (0o200, "O_EXCL"),
    (0o400, "O_NOCTTY"),
    (0o1000, "O_TRUNC"),
    (0o2000, "O_APPEND"),
    (0o4000, "O_NONBLOCK"),
    (0o200000, "O_DIRECTORY"),
    (0o400000, "O_NOFOLLOW"),
    (0o2000000, "O_CLOEXEC"),
    (0o10000000, "O_PATH"),
];

const AT_FLAGS: &[(u64, &str)] = &[
    (0x100, "AT_SYMLINK_NOFOLLOW"),
    (0x800, "AT_NO_AUTOMOUNT"),
    (0x1000, "AT_EMPTY_PATH"),
];

const MREMAP_FLAGS: &[(u64, &str)] = &[
    (1, "MREMAP_MAYMOVE"),
    (2, "MREMAP_FIXED"),
    (4, "MREMAP_DONTUNMAP"),
];

const MS_FLAGS: &[(u64, &str)] = &[(1, "MS_ASYNC"), (2, "MS_INVALIDATE"), (4, "MS_SYNC")];

const GRND_FLAGS: &[(u64, &str)] = &[
    (1, "GRND_NONBLOCK"),
    (2, "GRND_RANDOM"),
    (4, "GRND_INSECURE"),
];

const MAP_FLAGS: &[(u64, &str)] = &[
    (0x10, "MAP_FIXED"),
    (0x20, "MAP_ANONYMOUS"),
    (0x100, "MAP_GROWSDOWN"),
    (0x800, "MAP_DENYWRITE"),
    (0x1000, "MAP_EXECUTABLE"),
    (0x2000, "MAP_LOCKED"),
    (0x4000, "MAP_NORESERVE"),
    (0x8000, "MAP_POPULATE"),
    (0x10000, "MAP_NONBLOCK"),
    (0x20000, "MAP_STACK"),
    (0x40000, "MAP_HUGETLB"),
    (0x80000, "MAP_SYNC"),
    (0x100000, "MAP_FIXED_NOREPLACE"),
];

fn map_flags(value: u64) -> String {
    let kind = match value & 0xf {
        1 => "MAP_SHARED",
        2 => "MAP_PRIVATE",
        3 => "MAP_SHARED_VALIDATE",
        _ => return format!("{value:#x}"),
    };
    let rest = value & !0xf;
    if rest == 0 {
        kind.into()
    } else {
        format!("{kind}|{}", flags(rest, MAP_FLAGS, "0"))
    }
}

/// `A|B|0x40` for the bits of `value`, or `none` when it is zero.
fn flags(value: u64, names: &[(u64, &str)], none: &str) -> String {
    if value == 0 {
        return none.into();
    }
    let mut parts = Vec::new();
    let mut left = value;
    for &(bit, name) in names {
        if left & bit != 0 {
            parts.push(name.to_string());
            left &= !bit;
        }
    }
    if left != 0 {
        parts.push(format!("{left:#x}"));
    }
    parts.join("|")
}

const CLOCKS: [&str; 12] = [
    "CLOCK_REALTIME",
    "CLOCK_MONOTONIC",
    "CLOCK_PROCESS_CPUTIME_ID",
    "CLOCK_THREAD_CPUTIME_ID",
    "CLOCK_MONOTONIC_RAW",
    "CLOCK_REALTIME_COARSE",
    "CLOCK_MONOTONIC_COARSE",
    "CLOCK_BOOTTIME",
    "CLOCK_REALTIME_ALARM",
    "CLOCK_BOOTTIME_ALARM",
    "",
    "CLOCK_TAI",
];

/// What strerror says, for the errnos a trace shows.
pub fn describe(e: Errno) -> &'static str {
    match e {
        Errno::EPERM => "Operation not permitted",
        Errno::ENOENT => "No such file or directory",
        Errno::ESRCH => "No such process",
        Errno::EINTR => "Interrupted system call",
        Errno::EIO => "Input/output error",
        Errno::ENXIO => "No such device or address",
        Errno::E2BIG => "Argument list too long",
        Errno::ENOEXEC => "Exec format error",
        Errno::EBADF => "Bad file descriptor",
        Errno::ECHILD => "No child processes",
        Errno::EAGAIN => "Resource temporarily unavailable",
        Errno::ENOMEM => "Cannot allocate memory",
        Errno::EACCES => "Permission denied",
        Errno::EFAULT => "Bad address",
        Errno::EBUSY => "Device or resource busy",
        Errno::EEXIST => "File exists",
        Errno::EXDEV => "Invalid cross-device link",
        Errno::ENODEV => "No such device",
        Errno::ENOTDIR => "Not a directory",
        Errno::EISDIR => "Is a directory",
        Errno::EINVAL => "Invalid argument",
        Errno::ENFILE => "Too many open files in system",
        Errno::EMFILE => "Too many open files",
        Errno::ENOTTY => "Inappropriate ioctl for device",
        Errno::ETXTBSY => "Text file busy",
        Errno::EFBIG => "File too large",
        Errno::ENOSPC => "No space left on device",
        Errno::ESPIPE => "Illegal seek",
        Errno::EROFS => "Read-only file system",
        Errno::EMLINK => "Too many links",
        Errno::EPIPE => "Broken pipe",
        Errno::EDOM => "Numerical argument out of domain",
        Errno::ERANGE => "Numerical result out of range",
        Errno::EDEADLK => "Resource deadlock avoided",
        Errno::ENAMETOOLONG => "File name too long",
        Errno::ENOSYS => "Function not implemented",
        Errno::ENOTEMPTY => "Directory not empty",
        Errno::ELOOP => "Too many levels of symbolic links",
        Errno::EOVERFLOW => "Value too large for defined data type",
        Errno::ENOTSOCK => "Socket operation on non-socket",
        Errno::EOPNOTSUPP => "Operation not supported",
        Errno::ETIMEDOUT => "Connection timed out",
        _ => "Unknown error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_escape_like_strace() {
        assert_eq!(quoted(b"hello\n"), r#""hello\n""#);
        assert_eq!(quoted(b"a\0b\x1b1"), r#""a\0b\0331""#);
        assert_eq!(quoted(b"\"\\"), r#""\"\\""#);
        let long = vec![b'x'; 40];
        assert_eq!(
            quoted_limited(&long, 40),
            format!("\"{}\"...", "x".repeat(32))
        );
    }

    #[test]
    fn flag_sets() {
        assert_eq!(flags(3, PROT_FLAGS, "PROT_NONE"), "PROT_READ|PROT_WRITE");
        assert_eq!(flags(0, PROT_FLAGS, "PROT_NONE"), "PROT_NONE");
        assert_eq!(map_flags(0x22), "MAP_PRIVATE|MAP_ANONYMOUS");
        assert_eq!(map_flags(0x20022), "MAP_PRIVATE|MAP_ANONYMOUS|MAP_STACK");
    }
}

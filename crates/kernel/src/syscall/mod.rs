//! The system-call table: riscv64's asm-generic numbers, a7 = number,
//! a0..a5 = arguments, a0 = result or -errno. A number without a handler
//! is ENOSYS, as Linux's `sys_ni_syscall`.

mod cred;
mod epoll;
pub(crate) mod fs;
mod futex;
mod ipc;
mod mem;
mod memfd;
pub mod nr;
mod poll;
mod process;
mod resource;
mod sched;
mod signal;
mod signalfd;
mod socket;
mod time;
mod timerfd;
pub mod trace;

use crate::errno::{Errno, KResult};
use crate::task::Kernel;

/// A handler gets the six argument registers and returns a0's value.
type Handler = fn(&mut Kernel, &[u64; 6]) -> KResult<u64>;

/// The dirfd meaning "relative to the working directory".
pub const AT_FDCWD: i32 = -100;

static TABLE: [Option<Handler>; nr::COUNT] = {
    let mut t: [Option<Handler>; nr::COUNT] = [None; nr::COUNT];
    macro_rules! table {
        ($($nr:ident => $handler:path,)*) => { $(t[nr::$nr as usize] = Some($handler);)* };
    }
    table! {
        IOCTL => fs::ioctl,
        CLOSE => fs::close,
        LSEEK => fs::lseek,
        READ => fs::read,
        WRITE => fs::write,
        READV => fs::readv,
        WRITEV => fs::writev,
        READLINKAT => fs::readlinkat,
        NEWFSTATAT => fs::newfstatat,
        FSTAT => fs::fstat,
        STATX => fs::statx,
        OPENAT => fs::openat,
        PREAD64 => fs::pread64,
        PWRITE64 => fs::pwrite64,
        PIPE2 => fs::pipe2,
        DUP => fs::dup,
        DUP3 => fs::dup3,
        FCNTL => fs::fcntl,
        GETDENTS64 => fs::getdents64,
        MKDIRAT => fs::mkdirat,
        MKNODAT => fs::mknodat,
        UNLINKAT => fs::unlinkat,
        RENAMEAT2 => fs::renameat2,
        LINKAT => fs::linkat,
        SYMLINKAT => fs::symlinkat,
        FACCESSAT => fs::faccessat,
        FACCESSAT2 => fs::faccessat2,
        FCHMOD => fs::fchmod,
        FCHMODAT => fs::fchmodat,
        TRUNCATE => fs::truncate,
        FTRUNCATE => fs::ftruncate,
        CHDIR => fs::chdir,
        FCHDIR => fs::fchdir,
        CLOSE_RANGE => fs::close_range,
        FSYNC => fs::fsync,
        FCHOWN => fs::fchown,
        FCHOWNAT => fs::fchownat,
        UTIMENSAT => fs::utimensat,
        FDATASYNC => fs::fdatasync,
        MOUNT => fs::mount,
        UMOUNT2 => fs::umount2,
        CHROOT => fs::chroot,
        STATFS => fs::statfs,
        FSTATFS => fs::fstatfs,
        SYSINFO => fs::sysinfo,
        EXIT => process::exit,
        EXIT_GROUP => process::exit_group,
        SET_TID_ADDRESS => process::set_tid_address,
        SET_ROBUST_LIST => process::set_robust_list,
        GET_ROBUST_LIST => futex::get_robust_list,
        FUTEX => futex::futex,
        NANOSLEEP => time::nanosleep,
        CLOCK_GETTIME => time::clock_gettime,
        CLOCK_GETRES => time::clock_getres,
        CLOCK_NANOSLEEP => time::clock_nanosleep,
        SCHED_YIELD => process::sched_yield,
        SCHED_GETSCHEDULER => sched::sched_getscheduler,
        SCHED_SETSCHEDULER => sched::sched_setscheduler,
        SCHED_SETPARAM => sched::sched_setparam,
        SCHED_RR_GET_INTERVAL => sched::sched_rr_get_interval,
        GETRUSAGE => resource::getrusage,
        TIMES => resource::times,
        GETPRIORITY => resource::getpriority,
        SETPRIORITY => resource::setpriority,
        SCHED_GETPARAM => sched::sched_getparam,
        SCHED_SETAFFINITY => sched::sched_setaffinity,
        SCHED_GETAFFINITY => sched::sched_getaffinity,
        SCHED_GET_PRIORITY_MAX => sched::sched_get_priority_max,
        SCHED_GET_PRIORITY_MIN => sched::sched_get_priority_min,
        GETCPU => sched::getcpu,
        RT_SIGACTION => signal::rt_sigaction,
        RT_SIGPROCMASK => signal::rt_sigprocmask,
        RT_SIGRETURN => signal::rt_sigreturn,
        RT_SIGPENDING => signal::rt_sigpending,
        RT_SIGSUSPEND => signal::rt_sigsuspend,
        RT_SIGTIMEDWAIT => signal::rt_sigtimedwait,
        RT_SIGQUEUEINFO => signal::rt_sigqueueinfo,
        RT_TGSIGQUEUEINFO => signal::rt_tgsigqueueinfo,
        SIGALTSTACK => signal::sigaltstack,
        KILL => signal::kill,
        TKILL => signal::tkill,
        TGKILL => signal::tgkill,
        SETITIMER => signal::setitimer,
        GETITIMER => signal::getitimer,
        UNAME => process::uname,
        GETRLIMIT => process::getrlimit,
        SETRLIMIT => process::setrlimit,
        GETTIMEOFDAY => time::gettimeofday,
        GETPID => process::getpid,
        GETPPID => process::getppid,
        GETUID => cred::getuid,
        GETEUID => cred::geteuid,
        GETGID => cred::getgid,
        GETEGID => cred::getegid,
        GETTID => process::gettid,
        BRK => mem::brk,
        MUNMAP => mem::munmap,
        MREMAP => mem::mremap,
        MMAP => mem::mmap,
        MPROTECT => mem::mprotect,
        MSYNC => mem::msync,
        MADVISE => mem::madvise,
        RISCV_FLUSH_ICACHE => process::riscv_flush_icache,
        PRLIMIT64 => process::prlimit64,
        GETRANDOM => process::getrandom,
        CLONE => process::clone,
        CLONE3 => process::clone3,
        EXECVE => process::execve,
        EXECVEAT => process::execveat,
        WAIT4 => process::wait4,
        WAITID => process::waitid,
        SETPGID => process::setpgid,
        GETPGID => process::getpgid,
        GETSID => process::getsid,
        SETSID => process::setsid,
        PRCTL => process::prctl,
        UMASK => process::umask,
        GETCWD => process::getcwd,
        GETRESUID => cred::getresuid,
        GETRESGID => cred::getresgid,
        SETUID => cred::setuid,
        SETGID => cred::setgid,
        SETREUID => cred::setreuid,
        SETREGID => cred::setregid,
        SETRESUID => cred::setresuid,
        SETRESGID => cred::setresgid,
        SETFSUID => cred::setfsuid,
        SETFSGID => cred::setfsgid,
        GETGROUPS => cred::getgroups,
        SETGROUPS => cred::setgroups,
        PPOLL => poll::ppoll,
        PSELECT6 => poll::pselect6,
        EVENTFD2 => poll::eventfd2,
        PIDFD_OPEN => process::pidfd_open,
        PIDFD_SEND_SIGNAL => signal::pidfd_send_signal,
        TIMER_CREATE => time::timer_create,
        TIMER_SETTIME => time::timer_settime,
        TIMER_GETTIME => time::timer_gettime,
        TIMER_GETOVERRUN => time::timer_getoverrun,
        TIMER_DELETE => time::timer_delete,
        SOCKET => socket::socket,
        SOCKETPAIR => socket::socketpair,
        BIND => socket::bind,
        LISTEN => socket::listen,
        ACCEPT => socket::accept,
        ACCEPT4 => socket::accept4,
        CONNECT => socket::connect,
        GETSOCKNAME => socket::getsockname,
        GETPEERNAME => socket::getpeername,
        SENDTO => socket::sendto,
        RECVFROM => socket::recvfrom,
        SETSOCKOPT => socket::setsockopt,
        GETSOCKOPT => socket::getsockopt,
        SHUTDOWN => socket::shutdown,
        SENDMSG => socket::sendmsg,
        RECVMSG => socket::recvmsg,
        SENDMMSG => socket::sendmmsg,
        RECVMMSG => socket::recvmmsg,
        EPOLL_CREATE1 => epoll::epoll_create1,
        EPOLL_CTL => epoll::epoll_ctl,
        EPOLL_PWAIT => epoll::epoll_pwait,
        EPOLL_PWAIT2 => epoll::epoll_pwait2,
        TIMERFD_CREATE => timerfd::timerfd_create,
        TIMERFD_SETTIME => timerfd::timerfd_settime,
        TIMERFD_GETTIME => timerfd::timerfd_gettime,
        SIGNALFD4 => signalfd::signalfd4,
        MEMFD_CREATE => memfd::memfd_create,
        SHMGET => ipc::shmget,
        SHMAT => ipc::shmat,
        SHMDT => ipc::shmdt,
        SHMCTL => ipc::shmctl,
        SEMGET => ipc::semget,
        SEMOP => ipc::semop,
        SEMTIMEDOP => ipc::semtimedop,
        SEMCTL => ipc::semctl,
        MSGGET => ipc::msgget,
        MSGSND => ipc::msgsnd,
        MSGRCV => ipc::msgrcv,
        MSGCTL => ipc::msgctl,
    }
    t
};

/// Runs system call `nr` for the current task.
pub fn dispatch(k: &mut Kernel, nr: u64, args: &[u64; 6]) -> KResult<u64> {
    let result = match TABLE.get(nr as usize).copied().flatten() {
        Some(handler) => handler(k, args),
        None => Err(Errno::ENOSYS),
    };
    account_io(k, nr, &result);
    result
}

/// /proc/PID/io: the bytes a read or write call moved, and the call.
fn account_io(k: &mut Kernel, nr: u64, result: &KResult<u64>) {
    let Ok(n) = *result else { return };
    let read = match nr {
        nr::READ | nr::READV | nr::PREAD64 | nr::PREADV | nr::PREADV2 => true,
        nr::WRITE | nr::WRITEV | nr::PWRITE64 | nr::PWRITEV | nr::PWRITEV2 => false,
        _ => return,
    };
    let group = k.group();
    let io = &mut group.borrow_mut().io;
    if read {
        io.rchar += n;
        io.syscr += 1;
    } else {
        io.wchar += n;
        io.syscw += 1;
    }
}

/// Whether `nr` has a handler (for documentation and its test).
pub fn is_implemented(nr: u64) -> bool {
    TABLE.get(nr as usize).is_some_and(Option::is_some)
}

/// Linux's MAX_RW_COUNT: one read or write moves at most this much.
const MAX_RW_COUNT: u64 = 0x7fff_f000;

/// An `int` argument: the low 32 bits, sign-extended, as the C prototype
/// makes the kernel see it.
fn int(arg: u64) -> i32 {
    arg as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_riscv64s() {
        let expected = [
            (nr::READ, 63),
            (nr::WRITE, 64),
            (nr::EXIT, 93),
            (nr::EXIT_GROUP, 94),
            (nr::BRK, 214),
            (nr::MMAP, 222),
            (nr::CLONE, 220),
            (nr::EXECVE, 221),
            (nr::WAIT4, 260),
            (nr::RISCV_FLUSH_ICACHE, 259),
            (nr::CLONE3, 435),
            (nr::MSEAL, 462),
        ];
        for (nr, value) in expected {
            assert_eq!(nr, value, "{:?}", nr::NAMES[value as usize]);
        }
        assert_eq!(nr::NAMES[nr::NEWFSTATAT as usize], Some("newfstatat"));
    }

    #[test]
    fn every_handler_has_a_name_and_a_trace_format() {
        for nr in 0..nr::COUNT as u64 {
            if is_implemented(nr) {
                assert!(nr::NAMES[nr as usize].is_some(), "{nr}");
                assert!(trace::signature(nr).is_some(), "{nr}");
            }
        }
        assert!(!is_implemented(nr::RSEQ) && !is_implemented(nr::COUNT as u64));
    }
}

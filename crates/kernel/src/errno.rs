//! Linux errno values (asm-generic, as riscv64 uses them).

/// A guest-visible error: system calls return `-errno` in a0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Errno(pub i32);

pub type KResult<T> = Result<T, Errno>;

macro_rules! errnos {
    ($($name:ident = $value:expr),* $(,)?) => {
        impl Errno { $(pub const $name: Errno = Errno($value);)* }
        impl Errno {
            /// The symbolic name, for traces.
            pub fn name(self) -> &'static str {
                match self.0 { $($value => stringify!($name),)* _ => "E?" }
            }
        }
    };
}

errnos! {
    EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EIO = 5, ENXIO = 6, E2BIG = 7,
    ENOEXEC = 8, EBADF = 9, ECHILD = 10, EAGAIN = 11, ENOMEM = 12, EACCES = 13,
    EFAULT = 14, ENOTBLK = 15, EBUSY = 16, EEXIST = 17, EXDEV = 18, ENODEV = 19,
    ENOTDIR = 20, EISDIR = 21, EINVAL = 22, ENFILE = 23, EMFILE = 24, ENOTTY = 25,
    ETXTBSY = 26, EFBIG = 27, ENOSPC = 28, ESPIPE = 29, EROFS = 30, EMLINK = 31,
    EPIPE = 32, EDOM = 33, ERANGE = 34, EDEADLK = 35, ENAMETOOLONG = 36, ENOLCK = 37,
    ENOSYS = 38, ENOTEMPTY = 39, ELOOP = 40, ENOMSG = 42, EIDRM = 43, ENOSTR = 60,
    ENODATA = 61, ETIME = 62, EOVERFLOW = 75, EBADFD = 77, ELIBBAD = 80, EILSEQ = 84, ERESTART = 85,
    ENOTSOCK = 88, EDESTADDRREQ = 89, EMSGSIZE = 90, EPROTOTYPE = 91, ENOPROTOOPT = 92,
    EPROTONOSUPPORT = 93, ESOCKTNOSUPPORT = 94, EOPNOTSUPP = 95, EAFNOSUPPORT = 97, EADDRINUSE = 98,
    EADDRNOTAVAIL = 99, ENETUNREACH = 101, ECONNABORTED = 103, ECONNRESET = 104, ENOBUFS = 105,
    EISCONN = 106, ENOTCONN = 107, ETIMEDOUT = 110, ECONNREFUSED = 111,
    EALREADY = 114, EINPROGRESS = 115, ESTALE = 116, EDQUOT = 122, ECANCELED = 125,
    EOWNERDEAD = 130, ENOTRECOVERABLE = 131,
}

/// A host errno as the guest's. The host is Linux, whose errno values are
/// the asm-generic ones on every architecture cleave builds for (x86-64,
/// aarch64, riscv64), the same numbers the guest uses.
impl From<rustix::io::Errno> for Errno {
    fn from(e: rustix::io::Errno) -> Errno {
        Errno(e.raw_os_error())
    }
}

/// A host I/O error likewise; EIO when it carries no errno.
impl From<&std::io::Error> for Errno {
    fn from(e: &std::io::Error) -> Errno {
        Errno(e.raw_os_error().unwrap_or(Errno::EIO.0))
    }
}

/// The restart errnos (Linux's include/linux/errno.h): what a call that
/// blocked returns, saying how a signal that interrupts it ends it (see
/// `task/block.rs`). Internal: the guest never sees them.
impl Errno {
    /// Runs again after a handler with SA_RESTART; EINTR after one
    /// without.
    pub const ERESTARTSYS: Errno = Errno(512);
    /// EINTR after any handler (runs again only when no handler ran).
    pub const ERESTARTNOHAND: Errno = Errno(514);
    /// As ERESTARTNOHAND, with the call's restart block: the time left
    /// written back (`Kernel::write_time_left`).
    pub const ERESTART_RESTARTBLOCK: Errno = Errno(516);

    /// Whether this is a restart errno: the call blocked.
    pub fn is_restart(self) -> bool {
        matches!(
            self,
            Errno::ERESTARTSYS | Errno::ERESTARTNOHAND | Errno::ERESTART_RESTARTBLOCK
        )
    }
}

impl Errno {
    /// The value a system call leaves in a0.
    pub fn as_return(self) -> u64 {
        (-(self.0 as i64)) as u64
    }
}

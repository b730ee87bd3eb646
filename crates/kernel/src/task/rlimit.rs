//! Resource limits: Linux's per-process `rlim` table with its boot-time
//! defaults (include/asm-generic/resource.h).

use crate::errno::{Errno, KResult};

pub const RLIM_INFINITY: u64 = u64::MAX;

pub const RLIMIT_CPU: usize = 0;
pub const RLIMIT_FSIZE: usize = 1;
pub const RLIMIT_DATA: usize = 2;
pub const RLIMIT_STACK: usize = 3;
pub const RLIMIT_CORE: usize = 4;
pub const RLIMIT_RSS: usize = 5;
pub const RLIMIT_NPROC: usize = 6;
pub const RLIMIT_NOFILE: usize = 7;
pub const RLIMIT_MEMLOCK: usize = 8;
pub const RLIMIT_AS: usize = 9;
pub const RLIMIT_LOCKS: usize = 10;
pub const RLIMIT_SIGPENDING: usize = 11;
pub const RLIMIT_MSGQUEUE: usize = 12;
pub const RLIMIT_NICE: usize = 13;
pub const RLIMIT_RTPRIO: usize = 14;
pub const RLIMIT_RTTIME: usize = 15;
pub const RLIM_NLIMITS: usize = 16;

pub const NAMES: [&str; RLIM_NLIMITS] = [
    "RLIMIT_CPU",
    "RLIMIT_FSIZE",
    "RLIMIT_DATA",
    "RLIMIT_STACK",
    "RLIMIT_CORE",
    "RLIMIT_RSS",
    "RLIMIT_NPROC",
    "RLIMIT_NOFILE",
    "RLIMIT_MEMLOCK",
    "RLIMIT_AS",
    "RLIMIT_LOCKS",
    "RLIMIT_SIGPENDING",
    "RLIMIT_MSGQUEUE",
    "RLIMIT_NICE",
    "RLIMIT_RTPRIO",
    "RLIMIT_RTTIME",
];

/// fs.nr_open: the ceiling for RLIMIT_NOFILE.
pub const NR_OPEN: u64 = 1 << 20;

/// struct rlimit / struct rlimit64: two u64s on riscv64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rlimit {
    pub cur: u64,
    pub max: u64,
}

impl Rlimit {
    pub const SIZE: usize = 16;

    const fn new(cur: u64, max: u64) -> Rlimit {
        Rlimit { cur, max }
    }

    pub fn from_bytes(b: &[u8; Self::SIZE]) -> Rlimit {
        Rlimit {
            cur: u64::from_le_bytes(b[..8].try_into().unwrap()),
            max: u64::from_le_bytes(b[8..].try_into().unwrap()),
        }
    }

    pub fn to_bytes(self) -> [u8; Self::SIZE] {
        let mut b = [0; Self::SIZE];
        b[..8].copy_from_slice(&self.cur.to_le_bytes());
        b[8..].copy_from_slice(&self.max.to_le_bytes());
        b
    }
}

/// Linux's max_threads (/proc/sys/kernel/threads-max): one thread per 32
/// pages of RAM, a 16 KiB kernel stack in an eighth of it, and at least 20.
/// fork fails with EAGAIN beyond it, root's too.
pub fn max_threads(ram_pages: u64) -> u64 {
    (ram_pages / 32).max(20)
}

/// A process's limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rlimits([Rlimit; RLIM_NLIMITS]);

impl Rlimits {
    /// The limits init starts with. Like Linux, the process and pending
    /// signal limits scale with memory: half of [`max_threads`].
    pub fn boot_defaults(ram_pages: u64) -> Rlimits {
        const INF: u64 = RLIM_INFINITY;
        let threads = max_threads(ram_pages) / 2;
        Rlimits([
            Rlimit::new(INF, INF),         // CPU
            Rlimit::new(INF, INF),         // FSIZE
            Rlimit::new(INF, INF),         // DATA
            Rlimit::new(8 << 20, INF),     // STACK: _STK_LIM
            Rlimit::new(0, INF),           // CORE
            Rlimit::new(INF, INF),         // RSS
            Rlimit::new(threads, threads), // NPROC
            Rlimit::new(1024, 4096),       // NOFILE: INR_OPEN_CUR, INR_OPEN_MAX
            Rlimit::new(8 << 20, 8 << 20), // MEMLOCK: MLOCK_LIMIT
            Rlimit::new(INF, INF),         // AS
            Rlimit::new(INF, INF),         // LOCKS
            Rlimit::new(threads, threads), // SIGPENDING
            Rlimit::new(819_200, 819_200), // MSGQUEUE: MQ_BYTES_MAX
            Rlimit::new(0, 0),             // NICE
            Rlimit::new(0, 0),             // RTPRIO
            Rlimit::new(INF, INF),         // RTTIME
        ])
    }

    pub fn get(&self, resource: usize) -> Rlimit {
        self.0[resource]
    }

    /// Linux's `do_prlimit` checks: cur <= max, raising max needs
    /// CAP_SYS_RESOURCE (which only root has here), NOFILE stays under
    /// nr_open.
    pub fn set(&mut self, resource: usize, new: Rlimit, privileged: bool) -> KResult<()> {
        if new.cur > new.max {
            return Err(Errno::EINVAL);
        }
        if resource == RLIMIT_NOFILE && new.max > NR_OPEN {
            return Err(Errno::EPERM);
        }
        if new.max > self.0[resource].max && !privileged {
            return Err(Errno::EPERM);
        }
        self.0[resource] = new;
        Ok(())
    }
}

impl Rlimits {
    /// RLIMIT_CPU's soft limit a second further: Linux raises it after
    /// each SIGXCPU, so that the next comes a second of CPU time later.
    pub fn next_cpu_second(&mut self) {
        let cpu = &mut self.0[RLIMIT_CPU];
        cpu.cur = cpu.cur.saturating_add(1);
    }
}

impl super::Kernel {
    /// The current process's limit for `resource` (Linux's rlimit()).
    pub fn rlimit(&self, resource: usize) -> Rlimit {
        self.current().group.borrow().rlimits.get(resource)
    }

    /// RLIMIT_FSIZE on a truncate of a regular file of `size` bytes to
    /// `len` (Linux's inode_newsize_ok): growing it past the limit is
    /// EFBIG with SIGXFSZ.
    pub fn fsize_truncate_limit(&mut self, size: u64, len: u64) -> KResult<()> {
        let limit = self.rlimit(RLIMIT_FSIZE).cur;
        if len > size && limit != RLIM_INFINITY && len > limit {
            self.raise_sigxfsz();
            return Err(Errno::EFBIG);
        }
        Ok(())
    }

    /// SIGXFSZ to the current thread, as Linux's send_sig from the writer
    /// (a write's limit is checked by the file: `fs::file::Io::write_limit`).
    pub fn raise_sigxfsz(&mut self) {
        let (pid, uid) = (self.current().group.borrow().tgid, self.cred().uid);
        let info = super::signal::SigInfo::user(
            super::signal::Signal::SIGXFSZ,
            super::signal::SI_USER,
            pid,
            uid,
        );
        let tid = self.current_tid();
        self.send_signal(super::sigdeliver::SigTarget::Thread(tid), info);
    }

    /// RLIMIT_NOFILE's soft limit: new descriptors must be below it
    /// (EMFILE from open, EBADF or EINVAL for dup2, dup3 and F_DUPFD
    /// targets at or above it). At most [`NR_OPEN`].
    pub fn nofile_limit(&self) -> u64 {
        self.rlimit(RLIMIT_NOFILE).cur
    }
}

/// A resource number from the guest, or EINVAL.
pub fn resource_from_guest(resource: u64) -> KResult<usize> {
    if resource < RLIM_NLIMITS as u64 {
        Ok(resource as usize)
    } else {
        Err(Errno::EINVAL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_defaults_and_checks() {
        let mut r = Rlimits::boot_defaults(524_288);
        assert_eq!(r.get(RLIMIT_STACK), Rlimit::new(8 << 20, RLIM_INFINITY));
        assert_eq!(r.get(RLIMIT_NOFILE), Rlimit::new(1024, 4096));
        assert_eq!(r.get(RLIMIT_NPROC).cur, 8192);
        assert_eq!(
            r.set(RLIMIT_NOFILE, Rlimit::new(10, 5), false),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            r.set(RLIMIT_NOFILE, Rlimit::new(10, 8192), false),
            Err(Errno::EPERM)
        );
        assert_eq!(r.set(RLIMIT_NOFILE, Rlimit::new(10, 2048), false), Ok(()));
        assert_eq!(
            r.set(RLIMIT_NOFILE, Rlimit::new(10, 4096), false),
            Err(Errno::EPERM)
        );
        assert_eq!(r.set(RLIMIT_NOFILE, Rlimit::new(10, 4096), true), Ok(()));
        assert_eq!(
            r.set(RLIMIT_NOFILE, Rlimit::new(10, NR_OPEN + 1), true),
            Err(Errno::EPERM)
        );
    }
}

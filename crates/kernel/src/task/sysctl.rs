//! The kernel's settings that /proc/sys shows and root may change
//! (Linux's sysctls; `fs/proc/sys.rs` reads and writes them), and the pid
//! allocation kernel.pid_max and kernel.ns_last_pid steer.

use super::{Kernel, Tid};

/// The release uname and kernel.osrelease report.
pub const OSRELEASE: &str = "6.1.0-cleave";
/// Linux's RESERVED_PIDS: where pids start again after pid_max.
pub const RESERVED_PIDS: Tid = 300;
/// Linux's PID_MAX_LIMIT on 64-bit.
pub const PID_MAX_LIMIT: Tid = 4 * 1024 * 1024;

pub struct Sysctl {
    /// kernel.pid_max: pids are below it.
    pub pid_max: Tid,
    /// kernel.threads-max: fork fails with EAGAIN beyond it.
    pub threads_max: u64,
    /// kernel.hostname: uname's nodename.
    pub hostname: Vec<u8>,
    /// kernel.core_pattern (see `entry/coredump.rs`).
    pub core_pattern: Vec<u8>,
    /// kernel.tainted: writes add flags, never clear them.
    pub tainted: u64,
}

impl Sysctl {
    /// Linux's defaults for a machine of `mem_bytes` of RAM.
    pub fn new(mem_bytes: usize) -> Sysctl {
        let pages = mem_bytes as u64 / crate::mm::PAGE_SIZE;
        Sysctl {
            pid_max: 32768,
            threads_max: super::rlimit::max_threads(pages),
            hostname: b"cleave".to_vec(),
            core_pattern: b"core".to_vec(),
            tainted: 0,
        }
    }
}

impl Kernel {
    /// Whether `pid` names something: a thread, a process (zombies too),
    /// or a process group or session still in use (Linux keeps a `struct
    /// pid` while any of them refers to it).
    fn pid_in_use(&self, pid: Tid) -> bool {
        self.tasks.contains_key(&pid)
            || self.groups.contains_key(&pid)
            || self.groups.values().any(|g| {
                let g = g.borrow();
                g.pgid == pid || g.sid == pid
            })
    }

    /// The first free pid from `from` on, below pid_max, wrapping to
    /// RESERVED_PIDS as Linux's alloc_pid does. With every pid taken,
    /// the one past the highest in use.
    pub(super) fn next_free_pid(&self, from: Tid) -> Tid {
        let max = self.sysctl.pid_max;
        let wrapped = RESERVED_PIDS.min(max);
        (from..max)
            .chain(wrapped..from.min(max))
            .find(|&p| p > 0 && !self.pid_in_use(p))
            .unwrap_or_else(|| self.groups.keys().max().map_or(1, |&p| p + 1))
    }

    /// kernel.ns_last_pid: the last pid handed out.
    pub fn last_pid(&self) -> Tid {
        self.next_tid.saturating_sub(1)
    }

    /// Writing kernel.ns_last_pid: the next pid is the first free one
    /// after `pid` (how CRIU picks a process's pid).
    pub fn set_last_pid(&mut self, pid: Tid) {
        self.next_tid = self.next_free_pid(pid + 1);
    }

    /// Writing kernel.pid_max: a next pid at or past it wraps.
    pub fn set_pid_max(&mut self, max: Tid) {
        self.sysctl.pid_max = max;
        if self.next_tid >= max {
            self.next_tid = self.next_free_pid(RESERVED_PIDS);
        }
    }
}

//! What a blocked thread waits for (Linux's wait queues, by key): the
//! bottom of the kernel, below files, memory and tasks, so that a file
//! can say what its caller must wait for without knowing how threads
//! block (`task::block` does the blocking and the waking).

use std::time::Duration;

/// A thread id; a process id is its thread group leader's tid.
pub type Tid = u32;

/// What a blocked thread waits for. Wakers select threads by reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WaitReason {
    /// wait4/waitid: a child of thread group `tgid` changed state.
    Child { tgid: Tid },
    /// vfork's parent: the child `child` has not yet exec'd or exited. Its
    /// clone call completes with the child's tid when it does.
    Vfork { child: Tid },
    /// A futex word. The futex module keeps its own queues (for FIFO order
    /// and requeue) and wakes by tid; the key here is for reports and for
    /// selecting by reason. `space` identifies the address space (private
    /// futex) or the shared object, `addr` the word.
    Futex { space: usize, addr: u64 },
    /// A pipe's reader or writer: woken whenever the pipe changes.
    Pipe { id: u64 },
    /// An open of FIFO `id` (its inode) for reading, or for writing
    /// (`write`), with open flags `flags`: waiting for its peer, whose
    /// open completes it (`syscall/fs/open.rs`).
    FifoOpen { id: u64, write: bool, flags: u32 },
    /// An eventfd's reader or writer: woken whenever its counter changes.
    Eventfd { id: u64 },
    /// A socket's reader, writer, connecter or accepter: woken whenever
    /// the socket changes.
    Socket { id: u64 },
    /// semop on System V semaphore set `id`: waiting for semaphore `num`
    /// to grow, or, when `zero`, to be zero (GETNCNT and GETZCNT count
    /// these). Any change to the set restarts it.
    Sem { id: i32, num: u16, zero: bool },
    /// msgsnd or msgrcv on System V message queue `id`: any change to the
    /// queue restarts it.
    Msg { id: i32 },
    /// poll, ppoll, pselect6 and epoll_wait: woken by any of its files
    /// (the call re-scans them all); also a read that waits for one file
    /// (a timerfd, a signalfd).
    Poll(Vec<PollKey>),
    /// nanosleep and clock_nanosleep: only the deadline wakes it.
    Sleep,
    /// sched_yield-like waits and anything else, by name.
    Other(&'static str),
}

/// One thing a poller waits on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PollKey {
    /// A pipe, an eventfd, a socket, an epoll or a timerfd, by the id its
    /// changes are announced with (`fs::pipe::note_wake`).
    File(u64),
    /// A pidfd: process `tgid` ending or being reaped.
    Exit(Tid),
    /// A signalfd: a signal queued for process `tgid` or one of its
    /// threads.
    Signal(Tid),
    /// A host standard stream: re-checked by the run loop (see
    /// `Kernel::check_console`).
    Console,
}

impl WaitReason {
    /// Whether a change of pipe, eventfd or socket `id` wakes this wait.
    pub fn woken_by_file(&self, id: u64) -> bool {
        match self {
            WaitReason::Pipe { id: p }
            | WaitReason::Eventfd { id: p }
            | WaitReason::Socket { id: p } => *p == id,
            WaitReason::Poll(keys) => keys.contains(&PollKey::File(id)),
            _ => false,
        }
    }

    pub fn polls(&self, key: PollKey) -> bool {
        matches!(self, WaitReason::Poll(keys) if keys.contains(&key))
    }
}

/// `n` intervals after `from`: a periodic timer's later expiries (POSIX
/// timers, timerfds).
pub fn after(from: Duration, interval: Duration, n: u64) -> Duration {
    let nanos = from.as_nanos() + interval.as_nanos() * u128::from(n);
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// Expiries within (fired, now] after the one at `fired`, for `interval`.
pub fn missed(fired: Duration, now: Duration, interval: Duration) -> u64 {
    if now < fired || interval.is_zero() {
        return 0;
    }
    ((now - fired).as_nanos() / interval.as_nanos()) as u64
}

//! Futexes: the kernel half of every glibc lock, condition variable,
//! barrier, rwlock, semaphore and pthread_join.
//!
//! A futex is a 32-bit word in guest memory. FUTEX_WAIT checks that the
//! word still holds the value the caller saw and puts the caller to sleep
//! on it; FUTEX_WAKE wakes sleepers. Nothing about the word is kept here
//! except the queue of its waiters, so a futex costs nothing while nobody
//! sleeps on it.
//!
//! # Keys
//!
//! Waiters and wakers meet on a [`FutexKey`], computed as Linux's
//! `get_futex_key` does:
//!
//! - FUTEX_PRIVATE_FLAG: (address space, virtual address). No page is
//!   touched: an unmapped private futex can still be woken (and wakes no
//!   one), as on Linux.
//! - Without it, on a private mapping (anonymous memory, a thread's stack, a
//!   copy-on-write page after fork): (address space, virtual address) again,
//!   marked shared, because Linux keys anonymous pages by mm too. A COW
//!   break changes the frame under the word but not the key, so a waiter
//!   and a waker agree whichever of them broke it.
//! - Without it, on a MAP_SHARED mapping: the physical address of the word.
//!   Every mapping of a memory object maps the object's own frame (the
//!   object holds it), so two processes sharing the page, through mmap or
//!   through fork, compute the same key: Linux's (inode, page offset).
//!
//! Private and shared operations on the same word use different keys, as
//! Linux's FUT_OFF_MMSHARED bit makes them differ.
//!
//! # Sleeping
//!
//! The [`FutexTable`] keeps one FIFO queue per key; wake order is arrival
//! order, and requeue appends to the target's queue. The waiting thread
//! itself sleeps through the blocking framework (see `block`) on
//! [`WaitReason::Futex`]. A wake completes the waiter's call with 0
//! ([`Kernel::wake_complete`]): re-running FUTEX_WAIT would find the word
//! unchanged (FUTEX_WAKE need not change it) and sleep again, losing the
//! wakeup. Only a timeout restarts the call, which then returns ETIMEDOUT.
//!
//! A queued thread whose wait ended some other way (killed, interrupted by
//! a signal) may leave a stale entry; exit removes its own
//! ([`futex_exit_release`]), and wakers skip and drop any entry whose thread
//! is not blocked on a futex any more, so a stale entry is never counted
//! nor woken.
//!
//! # Robust lists and clear_child_tid
//!
//! When a thread exits (or execs), [`futex_exit_release`] walks its robust
//! list (`exit_robust_list`): every robust mutex the thread still owns gets
//! FUTEX_OWNER_DIED and one waiter is woken, which then sees EOWNERDEAD.
//! Then the thread's clear_child_tid word is zeroed and woken: that is the
//! wakeup pthread_join waits for.
//!
//! PI futexes (FUTEX_LOCK_PI and friends) are not supported: ENOSYS.

mod robust;
mod wakeop;

pub use wakeop::*;

use super::{Kernel, Tid};
use crate::errno::{Errno, KResult};
use crate::mm::{Mm, Phys, TASK_SIZE};
use crate::wait::WaitReason;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::rc::Rc;

// Operations (the low bits of futex's `op`), asm-generic values.
pub const FUTEX_WAIT: u32 = 0;
pub const FUTEX_WAKE: u32 = 1;
pub const FUTEX_FD: u32 = 2;
pub const FUTEX_REQUEUE: u32 = 3;
pub const FUTEX_CMP_REQUEUE: u32 = 4;
pub const FUTEX_WAKE_OP: u32 = 5;
pub const FUTEX_LOCK_PI: u32 = 6;
pub const FUTEX_UNLOCK_PI: u32 = 7;
pub const FUTEX_TRYLOCK_PI: u32 = 8;
pub const FUTEX_WAIT_BITSET: u32 = 9;
pub const FUTEX_WAKE_BITSET: u32 = 10;
pub const FUTEX_WAIT_REQUEUE_PI: u32 = 11;
pub const FUTEX_CMP_REQUEUE_PI: u32 = 12;
pub const FUTEX_LOCK_PI2: u32 = 13;

pub const FUTEX_PRIVATE_FLAG: u32 = 128;
pub const FUTEX_CLOCK_REALTIME: u32 = 256;
/// What is left of `op` once the flags are removed: the command.
pub const FUTEX_CMD_MASK: u32 = !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);

/// The bitset of FUTEX_WAIT and FUTEX_WAKE: matches every waiter.
pub const FUTEX_BITSET_MATCH_ANY: u32 = u32::MAX;

// The robust-mutex protocol's bits in a futex word.
pub const FUTEX_WAITERS: u32 = 0x8000_0000;
pub const FUTEX_OWNER_DIED: u32 = 0x4000_0000;
pub const FUTEX_TID_MASK: u32 = 0x3fff_ffff;

/// How many robust-list entries exit walks at most: a guard against a
/// circular or corrupted list.
pub const ROBUST_LIST_LIMIT: usize = 2048;

/// sizeof(struct robust_list_head) on riscv64: next, futex_offset,
/// list_op_pending.
pub const ROBUST_LIST_HEAD_SIZE: u64 = 24;

/// Where waiters and wakers of one futex word meet (see the module comment).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FutexKey {
    /// FUTEX_PRIVATE_FLAG: this word of this address space.
    Private { mm: usize, addr: u64 },
    /// A shared operation on a private mapping: keyed by address space too,
    /// but distinct from the private key of the same word.
    MmShared { mm: usize, addr: u64 },
    /// A shared operation on a MAP_SHARED mapping: the word's physical
    /// address, the same in every address space that maps the page.
    Shared { pa: u64 },
}

impl FutexKey {
    /// The reason a waiter on this key is blocked on, for reports.
    pub fn wait_reason(&self) -> WaitReason {
        match *self {
            FutexKey::Private { mm, addr } | FutexKey::MmShared { mm, addr } => {
                WaitReason::Futex { space: mm, addr }
            }
            FutexKey::Shared { pa } => WaitReason::Futex { space: 0, addr: pa },
        }
    }
}

/// An identity for an address space: the `Rc`'s address. Stable while the
/// space lives, and a key made from it only matters while a waiter (whose
/// task holds the `Rc`) sleeps on it.
pub fn mm_identity(mm: &Rc<RefCell<Mm>>) -> usize {
    Rc::as_ptr(mm) as usize
}

/// Whether the key computation may only read the word (Linux's FUTEX_READ)
/// or must be able to write it (FUTEX_WRITE: WAKE_OP's second word).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyAccess {
    Read,
    Write,
}

/// Linux's `get_futex_key` for the 32-bit word at `addr` in `mm`:
/// EINVAL when unaligned, EFAULT outside user space, and for a shared
/// futex EFAULT when the page cannot be faulted in.
pub fn get_futex_key(
    phys: &mut Phys,
    mm: &Rc<RefCell<Mm>>,
    addr: u64,
    private: bool,
    access: KeyAccess,
) -> KResult<FutexKey> {
    if !addr.is_multiple_of(4) {
        return Err(Errno::EINVAL);
    }
    if addr.checked_add(4).is_none_or(|end| end > TASK_SIZE) {
        return Err(Errno::EFAULT);
    }
    let id = mm_identity(mm);
    if private {
        return Ok(FutexKey::Private { mm: id, addr });
    }
    let mut mm = mm.borrow_mut();
    let rw = match access {
        KeyAccess::Read => rv::Access::Load,
        KeyAccess::Write => rv::Access::Store,
    };
    // Fault the page in as the guest would, which also proves the VMA
    // exists.
    let pa = mm.translate(phys, addr, rw)?;
    let shared = mm.find_vma(addr).is_some_and(|vma| vma.shared);
    Ok(if shared {
        FutexKey::Shared { pa }
    } else {
        FutexKey::MmShared { mm: id, addr }
    })
}

/// One sleeping thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Waiter {
    pub tid: Tid,
    /// FUTEX_WAIT_BITSET's mask: FUTEX_WAKE_BITSET wakes it only if the
    /// masks intersect.
    pub bitset: u32,
}

/// The futex wait queues: one FIFO queue per key, and where each queued
/// thread is.
#[derive(Default)]
pub struct FutexTable {
    queues: BTreeMap<FutexKey, VecDeque<Waiter>>,
    queued: HashMap<Tid, FutexKey>,
}

impl FutexTable {
    /// Appends `waiter` to the queue of `key` (Linux's futex_queue). A
    /// thread is on at most one queue: an older entry is dropped.
    pub fn queue(&mut self, key: FutexKey, waiter: Waiter) {
        self.unqueue(waiter.tid);
        self.queues.entry(key).or_default().push_back(waiter);
        self.queued.insert(waiter.tid, key);
    }

    /// Removes `tid` from whatever queue holds it; returns whether one did
    /// (Linux's futex_unqueue).
    pub fn unqueue(&mut self, tid: Tid) -> bool {
        let Some(key) = self.queued.remove(&tid) else {
            return false;
        };
        let queue = self
            .queues
            .get_mut(&key)
            .expect("queued thread's queue exists");
        queue.retain(|w| w.tid != tid);
        if queue.is_empty() {
            self.queues.remove(&key);
        }
        true
    }

    /// The key `tid` waits on, if it is queued.
    pub fn key_of(&self, tid: Tid) -> Option<FutexKey> {
        self.queued.get(&tid).copied()
    }

    /// The threads queued on `key`, first to be woken first.
    pub fn waiters(&self, key: &FutexKey) -> Vec<Tid> {
        self.queues
            .get(key)
            .map_or_else(Vec::new, |q| q.iter().map(|w| w.tid).collect())
    }

    /// Removes and returns, in FIFO order, the waiters on `key` whose
    /// bitset intersects `bitset`: at least one if any match, then until
    /// `nr` are taken. That "at least one" is Linux's `++ret >= nr_wake`
    /// test, which wakes one waiter even for nr_wake <= 0.
    pub fn wake(&mut self, key: &FutexKey, bitset: u32, nr: i32) -> Vec<Tid> {
        let mut woken = Vec::new();
        let Some(queue) = self.queues.get_mut(key) else {
            return woken;
        };
        let mut i = 0;
        while i < queue.len() {
            if queue[i].bitset & bitset == 0 {
                i += 1;
                continue;
            }
            let w = queue.remove(i).expect("index in range");
            self.queued.remove(&w.tid);
            woken.push(w.tid);
            if woken.len() as i64 >= i64::from(nr) {
                break;
            }
        }
        if queue.is_empty() {
            self.queues.remove(key);
        }
        woken
    }

    /// FUTEX_REQUEUE's queue work: removes the first `nr_wake` waiters of
    /// `from` (returned, to be woken), then moves the next `nr_requeue` to
    /// the end of `to`'s queue, keeping their order and bitsets. Returns
    /// the woken and the number moved. Both counts must be non-negative
    /// (the caller has returned EINVAL otherwise). Requeueing a futex onto
    /// itself moves nobody but counts them, as on Linux.
    pub fn requeue(
        &mut self,
        from: &FutexKey,
        to: &FutexKey,
        nr_wake: usize,
        nr_requeue: usize,
    ) -> (Vec<Tid>, usize) {
        let Some(mut queue) = self.queues.remove(from) else {
            return (Vec::new(), 0);
        };
        let n = nr_wake.min(queue.len());
        let woken: Vec<Tid> = queue.drain(..n).map(|w| w.tid).collect();
        for tid in &woken {
            self.queued.remove(tid);
        }
        let moved = nr_requeue.min(queue.len());
        if from == to {
            if !queue.is_empty() {
                self.queues.insert(*from, queue);
            }
            return (woken, moved);
        }
        let target = self.queues.entry(*to).or_default();
        for w in queue.drain(..moved) {
            self.queued.insert(w.tid, *to);
            target.push_back(w);
        }
        if !queue.is_empty() {
            self.queues.insert(*from, queue);
        }
        (woken, moved)
    }

    /// Whether nothing waits anywhere (for tests and leak checks).
    pub fn is_empty(&self) -> bool {
        self.queues.is_empty() && self.queued.is_empty()
    }
}

impl Kernel {
    /// Drops entries of `key`'s queue whose thread no longer sleeps in a
    /// futex wait (killed, interrupted, timed out but not yet run), so the
    /// queue operations that follow count and wake only real sleepers.
    fn futex_purge_stale(&mut self, key: &FutexKey) {
        for tid in self.futex.waiters(key) {
            if !matches!(self.blocked_on(tid), Some(WaitReason::Futex { .. })) {
                self.futex.unqueue(tid);
            }
        }
    }

    /// Finishes the futex waits of `tids` with 0.
    fn futex_complete(&mut self, tids: &[Tid]) {
        for &tid in tids {
            self.wake_complete(tid, Ok(0));
        }
    }

    /// Linux's futex_wake: wakes up to `nr` waiters on `key` whose bitset
    /// intersects `bitset` (at least one if any); returns how many.
    pub fn futex_wake(&mut self, key: &FutexKey, bitset: u32, nr: i32) -> usize {
        self.futex_purge_stale(key);
        let woken = self.futex.wake(key, bitset, nr);
        self.futex_complete(&woken);
        woken.len()
    }

    /// Linux's futex_requeue (the non-PI part): wakes `nr_wake` waiters of
    /// `from` and moves up to `nr_requeue` more to `to`; returns woken plus
    /// moved, as Linux does for both FUTEX_REQUEUE and FUTEX_CMP_REQUEUE.
    pub fn futex_requeue(
        &mut self,
        from: &FutexKey,
        to: &FutexKey,
        nr_wake: usize,
        nr_requeue: usize,
    ) -> usize {
        self.futex_purge_stale(from);
        let (woken, moved) = self.futex.requeue(from, to, nr_wake, nr_requeue);
        self.futex_complete(&woken);
        // A moved waiter now sleeps on `to`; its reason is only a report.
        for tid in self.futex.waiters(to) {
            if let Some(task) = self.tasks.get_mut(&tid) {
                if let super::block::TaskState::Blocked(b) = &mut task.state {
                    b.reason = to.wait_reason();
                }
            }
        }
        woken.len() + moved
    }

    /// Queues the current thread on `key` and blocks it until a wake or
    /// `deadline` (CLOCK_MONOTONIC). The caller returns the result as its
    /// error.
    pub fn futex_wait_queue(
        &mut self,
        key: FutexKey,
        bitset: u32,
        deadline: Option<std::time::Duration>,
    ) -> Errno {
        let tid = self.current_tid();
        self.futex.queue(key, Waiter { tid, bitset });
        self.block(key.wait_reason(), deadline);
        // A handler ends the wait with EINTR (never restarted).
        Errno::ERESTARTNOHAND
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(addr: u64) -> FutexKey {
        FutexKey::Private { mm: 1, addr }
    }

    fn any(tid: Tid) -> Waiter {
        Waiter {
            tid,
            bitset: FUTEX_BITSET_MATCH_ANY,
        }
    }

    #[test]
    fn wake_is_fifo_and_counts() {
        let mut t = FutexTable::default();
        for tid in [5, 3, 9, 7] {
            t.queue(key(0x1000), any(tid));
        }
        t.queue(key(0x2000), any(11));
        assert_eq!(t.wake(&key(0x1000), FUTEX_BITSET_MATCH_ANY, 2), [5, 3]);
        assert_eq!(t.waiters(&key(0x1000)), [9, 7]);
        assert_eq!(
            t.wake(&key(0x1000), FUTEX_BITSET_MATCH_ANY, i32::MAX),
            [9, 7]
        );
        assert_eq!(t.wake(&key(0x1000), FUTEX_BITSET_MATCH_ANY, 1), []);
        assert_eq!(t.key_of(11), Some(key(0x2000)));
        assert_eq!(t.key_of(5), None);
    }

    #[test]
    fn wake_with_nr_zero_or_negative_wakes_one() {
        let mut t = FutexTable::default();
        for tid in 1..=3 {
            t.queue(key(0), any(tid));
        }
        assert_eq!(t.wake(&key(0), FUTEX_BITSET_MATCH_ANY, 0), [1]);
        assert_eq!(t.wake(&key(0), FUTEX_BITSET_MATCH_ANY, -5), [2]);
    }

    #[test]
    fn bitsets_select_waiters() {
        let mut t = FutexTable::default();
        t.queue(
            key(0),
            Waiter {
                tid: 1,
                bitset: 0b01,
            },
        );
        t.queue(
            key(0),
            Waiter {
                tid: 2,
                bitset: 0b10,
            },
        );
        t.queue(
            key(0),
            Waiter {
                tid: 3,
                bitset: 0b11,
            },
        );
        assert_eq!(t.wake(&key(0), 0b10, i32::MAX), [2, 3]);
        assert_eq!(t.wake(&key(0), 0b10, i32::MAX), []);
        assert_eq!(t.waiters(&key(0)), [1]);
    }

    #[test]
    fn queue_replaces_an_older_entry_and_unqueue_cleans_up() {
        let mut t = FutexTable::default();
        t.queue(key(0), any(1));
        t.queue(key(4), any(1));
        assert_eq!(t.waiters(&key(0)), []);
        assert_eq!(t.key_of(1), Some(key(4)));
        assert!(t.unqueue(1));
        assert!(!t.unqueue(1));
        assert!(t.is_empty());
    }

    #[test]
    fn requeue_wakes_then_moves_in_order() {
        let mut t = FutexTable::default();
        for tid in 1..=5 {
            t.queue(key(0), any(tid));
        }
        t.queue(key(8), any(9));
        let (woken, moved) = t.requeue(&key(0), &key(8), 1, 2);
        assert_eq!((woken, moved), (vec![1], 2));
        assert_eq!(t.waiters(&key(0)), [4, 5]);
        assert_eq!(t.waiters(&key(8)), [9, 2, 3]);
        assert_eq!(t.key_of(2), Some(key(8)));
        // Everything left, more than asked for is fine.
        let (woken, moved) = t.requeue(&key(0), &key(8), 0, 100);
        assert_eq!((woken, moved), (vec![], 2));
        assert_eq!(t.waiters(&key(8)), [9, 2, 3, 4, 5]);
        assert_eq!(
            t.wake(&key(8), FUTEX_BITSET_MATCH_ANY, i32::MAX),
            [9, 2, 3, 4, 5]
        );
        assert!(t.is_empty());
    }

    #[test]
    fn requeue_onto_itself_counts_but_keeps_order() {
        let mut t = FutexTable::default();
        for tid in 1..=4 {
            t.queue(key(0), any(tid));
        }
        let (woken, moved) = t.requeue(&key(0), &key(0), 1, 10);
        assert_eq!((woken, moved), (vec![1], 3));
        assert_eq!(t.waiters(&key(0)), [2, 3, 4]);
    }

    #[test]
    fn requeue_of_an_empty_futex_is_zero() {
        let mut t = FutexTable::default();
        assert_eq!(t.requeue(&key(0), &key(4), 1, 1), (vec![], 0));
        assert!(t.is_empty());
    }

    #[test]
    fn private_and_shared_keys_of_one_word_differ() {
        let a = FutexKey::Private {
            mm: 1,
            addr: 0x1000,
        };
        let b = FutexKey::MmShared {
            mm: 1,
            addr: 0x1000,
        };
        assert_ne!(a, b);
        let mut t = FutexTable::default();
        t.queue(a, any(1));
        assert_eq!(t.wake(&b, FUTEX_BITSET_MATCH_ANY, 1), []);
    }

    /// Keys computed on real address spaces: a parent and its fork child,
    /// with a private and a shared anonymous page each.
    #[test]
    fn keys_follow_the_mapping_not_the_frame() {
        use crate::mm::{MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE};
        let mut phys = Phys::new(16 << 20);
        let rw = PROT_READ | PROT_WRITE;
        let mut parent = Mm::new(&mut phys).unwrap();
        let private = parent
            .mmap(&mut phys, 0, 4096, rw, MAP_PRIVATE | MAP_ANONYMOUS, 0)
            .unwrap();
        let shared = parent
            .mmap(&mut phys, 0, 4096, rw, MAP_SHARED | MAP_ANONYMOUS, 0)
            .unwrap();
        parent.write_user_u32(&mut phys, private + 8, 1).unwrap();
        let child = Rc::new(RefCell::new(parent.fork(&mut phys).unwrap()));
        let parent = Rc::new(RefCell::new(parent));
        let key = |phys: &mut Phys, mm: &Rc<RefCell<Mm>>, addr, private, access| {
            get_futex_key(phys, mm, addr, private, access)
        };
        use KeyAccess::{Read, Write};

        // A private page is keyed by address space: the same address in
        // parent and child is two futexes, before and after the child's
        // write breaks copy-on-write, and the break changes nothing.
        let before = key(&mut phys, &child, private + 8, false, Read).unwrap();
        assert_eq!(
            before,
            FutexKey::MmShared {
                mm: mm_identity(&child),
                addr: private + 8
            }
        );
        child
            .borrow_mut()
            .write_user_u32(&mut phys, private + 8, 2)
            .unwrap();
        assert_eq!(
            key(&mut phys, &child, private + 8, false, Write),
            Ok(before)
        );
        assert_ne!(
            key(&mut phys, &parent, private + 8, false, Read),
            Ok(before)
        );

        // A shared page is one futex in both.
        let in_parent = key(&mut phys, &parent, shared + 12, false, Read).unwrap();
        assert!(matches!(in_parent, FutexKey::Shared { pa } if pa % 4096 == 12));
        assert_eq!(
            key(&mut phys, &child, shared + 12, false, Write),
            Ok(in_parent)
        );
        // ...unless the operation is private, which never looks at pages.
        assert_eq!(
            key(&mut phys, &child, shared + 12, true, Read),
            Ok(FutexKey::Private {
                mm: mm_identity(&child),
                addr: shared + 12
            })
        );

        // Linux's errors: alignment first, then the address.
        assert_eq!(
            key(&mut phys, &parent, shared + 2, false, Read),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            key(&mut phys, &parent, TASK_SIZE - 2, true, Read),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            key(&mut phys, &parent, TASK_SIZE, true, Read),
            Err(Errno::EFAULT)
        );
        // An unmapped private futex has a key; a shared one cannot.
        assert!(key(&mut phys, &parent, 0x1000, true, Read).is_ok());
        assert_eq!(
            key(&mut phys, &parent, 0x1000, false, Read),
            Err(Errno::EFAULT)
        );

        drop((parent, child));
        phys.reap();
        assert_eq!(phys.free_frames(), phys.total_frames());
    }
}

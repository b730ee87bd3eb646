//! What a thread leaves the futex world with at exit and exec: its robust
//! mutexes marked FUTEX_OWNER_DIED with a waiter woken (Linux's
//! exit_robust_list), and its clear_child_tid word zeroed and woken.

use super::*;

impl Kernel {
    /// What a thread leaves the futex world with, at exit and at exec
    /// (Linux's futex_exit_release/futex_exec_release plus mm_release's
    /// clear_child_tid): its queue entry goes, every robust mutex it holds
    /// is marked FUTEX_OWNER_DIED with a waiter woken, and its
    /// clear_child_tid word is zeroed and woken, which is what pthread_join
    /// waits for. Must run while `tid`'s task still exists, with its
    /// address space.
    pub fn futex_exit_release(&mut self, tid: Tid) {
        self.futex.unqueue(tid);
        let Some(task) = self.tasks.get_mut(&tid) else {
            return;
        };
        let mm = task.mm.clone();
        let robust_list = std::mem::take(&mut task.robust_list);
        let clear_child_tid = std::mem::take(&mut task.clear_child_tid);
        if robust_list != 0 {
            self.exit_robust_list(&mm, tid, robust_list);
        }
        // Linux skips this when nobody else uses the address space (the
        // `mm_users > 1` test): nobody could see the write or be woken. The
        // count here is the dying task's `Rc` plus the one just cloned.
        if clear_child_tid != 0 && Rc::strong_count(&mm) > 2 {
            let written = mm
                .borrow_mut()
                .write_user_u32(&mut self.phys, clear_child_tid, 0);
            if written.is_ok() {
                if let Ok(key) =
                    get_futex_key(&mut self.phys, &mm, clear_child_tid, false, KeyAccess::Read)
                {
                    self.futex_wake(&key, FUTEX_BITSET_MATCH_ANY, 1);
                }
            }
        }
    }

    /// Reads one robust-list pointer: the entry address and the PI flag in
    /// bit 0 (Linux's fetch_robust_entry).
    fn fetch_robust_entry(&mut self, mm: &Rc<RefCell<Mm>>, addr: u64) -> Option<(u64, bool)> {
        let v = mm.borrow_mut().read_user_u64(&mut self.phys, addr).ok()?;
        Some((v & !1, v & 1 != 0))
    }

    /// Linux's exit_robust_list: walks the list registered with
    /// set_robust_list at `head`, handling each futex the dying `tid`
    /// still holds, then the lock operation it was in the middle of. A
    /// fault anywhere stops the walk silently.
    fn exit_robust_list(&mut self, mm: &Rc<RefCell<Mm>>, tid: Tid, head: u64) {
        // struct robust_list_head { next; long futex_offset; list_op_pending }
        let Some((mut entry, mut pi)) = self.fetch_robust_entry(mm, head) else {
            return;
        };
        let Ok(futex_offset) = mm.borrow_mut().read_user_u64(&mut self.phys, head + 8) else {
            return;
        };
        let Some((pending, pending_pi)) = self.fetch_robust_entry(mm, head + 16) else {
            return;
        };
        let mut limit = ROBUST_LIST_LIMIT;
        while entry != head {
            // Fetch the next entry first: handling this one may wake a
            // thread that unlinks it.
            let next = self.fetch_robust_entry(mm, entry);
            // A pending lock may already be on the list: handle it once.
            if entry != pending
                && self
                    .handle_futex_death(mm, tid, entry.wrapping_add(futex_offset), pi, false)
                    .is_err()
            {
                return;
            }
            let Some((next, next_pi)) = next else {
                return;
            };
            (entry, pi) = (next, next_pi);
            limit -= 1;
            if limit == 0 {
                break;
            }
        }
        if pending != 0 {
            let _ = self.handle_futex_death(
                mm,
                tid,
                pending.wrapping_add(futex_offset),
                pending_pi,
                true,
            );
        }
    }

    /// Linux's handle_futex_death for the robust futex at `addr`: if the
    /// dying `tid` owns it, set FUTEX_OWNER_DIED (keeping FUTEX_WAITERS)
    /// and wake one waiter if there were any. For a lock operation that was
    /// pending with the owner field still 0, only wake one waiter: it may
    /// have been woken by an unlock and died before taking the lock.
    /// Err means the word could not be accessed: the walk stops.
    fn handle_futex_death(
        &mut self,
        mm: &Rc<RefCell<Mm>>,
        tid: Tid,
        addr: u64,
        pi: bool,
        pending_op: bool,
    ) -> Result<(), ()> {
        if !addr.is_multiple_of(4) {
            return Err(());
        }
        let uval = mm
            .borrow_mut()
            .read_user_u32(&mut self.phys, addr)
            .map_err(drop)?;
        let owner = uval & FUTEX_TID_MASK;
        let wake = |k: &mut Kernel| {
            // The kernel's robust wakeups are always shared, whatever the
            // mutex: glibc waits on robust mutexes without the private flag.
            if let Ok(key) = get_futex_key(&mut k.phys, mm, addr, false, KeyAccess::Read) {
                k.futex_wake(&key, FUTEX_BITSET_MATCH_ANY, 1);
            }
        };
        if pending_op && !pi && owner == 0 {
            wake(self);
            return Ok(());
        }
        if owner != tid {
            return Ok(());
        }
        // Nothing runs between this read and write: the compare-and-swap
        // Linux needs here cannot fail in a one-hart kernel.
        let mval = (uval & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
        mm.borrow_mut()
            .write_user_u32(&mut self.phys, addr, mval)
            .map_err(drop)?;
        // PI futexes would be handed over by the PI code, which does not
        // exist here.
        if !pi && uval & FUTEX_WAITERS != 0 {
            wake(self);
        }
        Ok(())
    }

    /// The robust-list head of thread `tid` (get_robust_list), or ESRCH.
    pub fn robust_list_of(&self, tid: Tid) -> KResult<u64> {
        self.tasks
            .get(&tid)
            .map(|t| t.robust_list)
            .ok_or(Errno::ESRCH)
    }
}

//! What System V IPC (`crate::ipc`) needs of tasks: who is calling, waking
//! the sleepers of a semaphore set or message queue, and the semaphore
//! adjustments a process's exit applies.

use super::{Kernel, ThreadGroup, Tid};
use crate::errno::Errno;
use crate::ipc::Caller;
use crate::wait::WaitReason;
use std::cell::RefCell;
use std::rc::Rc;

/// Which IPC object a sleeper waits on.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum IpcWaiters {
    Sem(i32),
    Msg(i32),
}

impl IpcWaiters {
    fn matches(self, r: &WaitReason) -> bool {
        match (self, r) {
            (IpcWaiters::Sem(id), WaitReason::Sem { id: w, .. }) => *w == id,
            (IpcWaiters::Msg(id), WaitReason::Msg { id: w }) => *w == id,
            _ => false,
        }
    }
}

impl Kernel {
    /// The current process as an IPC [`Caller`].
    pub fn ipc_caller(&self) -> Caller {
        let g = self.current().group.borrow();
        let c = &g.cred;
        Caller {
            euid: c.euid,
            egid: c.egid,
            fsgid: c.fsgid,
            groups: c.groups.clone(),
            privileged: c.privileged(),
            tgid: g.tgid,
            now: self.clock.realtime(&self.hart).as_secs() as i64,
        }
    }

    /// The object changed: its sleepers try again.
    pub fn wake_ipc(&mut self, who: IpcWaiters) {
        self.wake_restart(|r| who.matches(r));
    }

    /// The object was removed: its sleepers fail with EIDRM.
    pub fn wake_ipc_removed(&mut self, who: IpcWaiters) {
        let tids: Vec<Tid> = self
            .sleepers
            .iter()
            .copied()
            .filter(|&t| self.blocked_on(t).is_some_and(|r| who.matches(r)))
            .collect();
        for tid in tids {
            self.wake_complete(tid, Err(Errno::EIDRM));
        }
    }

    /// Threads asleep in semop on set `id`, waiting for semaphore `num` to
    /// grow (to be zero, when `zero`): GETNCNT and GETZCNT.
    pub fn sem_waiters(&self, id: i32, num: u16, zero: bool) -> u64 {
        let want = WaitReason::Sem { id, num, zero };
        self.sleepers
            .iter()
            .filter(|&&t| self.blocked_on(t) == Some(&want))
            .count() as u64
    }

    /// Linux's exit_sem, with the process's last thread: its SEM_UNDO
    /// adjustments are applied and the sets' sleepers woken.
    pub(super) fn exit_sem(&mut self, group: &Rc<RefCell<ThreadGroup>>) {
        let tgid = group.borrow().tgid;
        for id in self.ipc.sem.exit(tgid) {
            self.wake_ipc(IpcWaiters::Sem(id));
        }
    }
}

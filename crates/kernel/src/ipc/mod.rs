//! System V IPC (Linux's ipc/): shared memory segments ([`shm`]),
//! semaphore sets ([`sem`]) and message queues ([`msg`]), the oldest ways
//! unrelated processes share memory and synchronise.
//!
//! Each kind lives in an [`Ids`] table, as Linux's `ipc_ids`: an object has
//! a key (IPC_PRIVATE: none), an index in the table and a sequence number,
//! and its id is `seq << 15 | index`, so that an id of a removed object is
//! not taken for a later one in the same slot. get (`shmget`, `semget`,
//! `msgget`) finds or makes an object by key ([`Ids::get`], Linux's
//! ipcget); every other call names it by id and is checked against the
//! object's permissions ([`IpcPerm::allows`], Linux's ipcperms) and, for
//! IPC_SET and IPC_RMID, its owner ([`IpcPerm::owned_by`]).
//!
//! Layering: below tasks, as fs/ is. A call that must wait returns what
//! to wait for and the system-call layer (`syscall/ipc.rs`) blocks; who is
//! calling comes in as a [`Caller`].

pub mod msg;
pub mod sem;
pub mod shm;

use crate::errno::{Errno, KResult};
use std::collections::BTreeMap;

pub const IPC_PRIVATE: i32 = 0;
// get flags
pub const IPC_CREAT: i32 = 0o1000;
pub const IPC_EXCL: i32 = 0o2000;
pub const IPC_NOWAIT: i32 = 0o4000;
// ctl commands
pub const IPC_RMID: i32 = 0;
pub const IPC_SET: i32 = 1;
pub const IPC_STAT: i32 = 2;
pub const IPC_INFO: i32 = 3;

/// Linux's IPCMNI: an id's index is below this, its sequence above.
const IPCMNI_SHIFT: u32 = 15;
const IPCMNI: usize = 1 << IPCMNI_SHIFT;
/// Linux's IPCID_SEQ_MAX: where the sequence number wraps.
const SEQ_MAX: u32 = (i32::MAX >> IPCMNI_SHIFT) as u32;

/// The mode bits a caller may set (S_IRWXUGO).
const S_IRWXUGO: u32 = 0o777;
/// Read and write, in each class (S_IRUGO, S_IWUGO).
pub const S_IRUGO: u32 = 0o444;
pub const S_IWUGO: u32 = 0o222;

/// Who is calling: the part of the credentials IPC looks at.
pub struct Caller {
    pub euid: u32,
    pub egid: u32,
    pub fsgid: u32,
    pub groups: Vec<u32>,
    /// CAP_IPC_OWNER, CAP_SYS_ADMIN, CAP_IPC_LOCK, CAP_SYS_RESOURCE: root.
    pub privileged: bool,
    /// The calling process (shm_lpid, sempid, msg_lspid...).
    pub tgid: u32,
    /// CLOCK_REALTIME seconds (the *_time fields).
    pub now: i64,
}

impl Caller {
    /// Linux's in_group_p.
    fn in_group(&self, gid: u32) -> bool {
        self.fsgid == gid || self.groups.contains(&gid)
    }
}

/// Linux's kern_ipc_perm: who owns an object and who may use it.
#[derive(Clone, Debug)]
pub struct IpcPerm {
    pub key: i32,
    pub uid: u32,
    pub gid: u32,
    pub cuid: u32,
    pub cgid: u32,
    /// The permission bits, and SHM_DEST / SHM_LOCKED for segments.
    pub mode: u32,
    pub seq: u32,
    /// The object's id.
    pub id: i32,
}

impl IpcPerm {
    /// Linux's ipcperms: whether `flag`'s rwx bits (in any class) are
    /// granted to the caller, by owner, group or other bits; CAP_IPC_OWNER
    /// overrides.
    pub fn allows(&self, who: &Caller, flag: u32) -> bool {
        let requested = (flag >> 6) | (flag >> 3) | flag;
        let mut granted = self.mode;
        if who.euid == self.cuid || who.euid == self.uid {
            granted >>= 6;
        } else if who.in_group(self.cgid) || who.in_group(self.gid) {
            granted >>= 3;
        }
        requested & !granted & 0o7 == 0 || who.privileged
    }

    /// Linux's ipcctl_obtain_check: IPC_SET and IPC_RMID are the owner's,
    /// the creator's or CAP_SYS_ADMIN's.
    pub fn owned_by(&self, who: &Caller) -> bool {
        who.euid == self.uid || who.euid == self.cuid || who.privileged
    }

    /// IPC_SET's changes: owner, group and the permission bits; an id of
    /// -1 is no id (EINVAL).
    pub fn set(&mut self, uid: u32, gid: u32, mode: u32) -> KResult<()> {
        if uid == u32::MAX || gid == u32::MAX {
            return Err(Errno::EINVAL);
        }
        self.uid = uid;
        self.gid = gid;
        self.mode = (self.mode & !S_IRWXUGO) | (mode & S_IRWXUGO);
        Ok(())
    }

    /// struct ipc64_perm (asm-generic, 48 bytes).
    pub fn encode(&self, out: &mut [u8]) {
        put32(out, 0, self.key as u32);
        put32(out, 4, self.uid);
        put32(out, 8, self.gid);
        put32(out, 12, self.cuid);
        put32(out, 16, self.cgid);
        put32(out, 20, self.mode);
        out[24..26].copy_from_slice(&(self.seq as u16).to_le_bytes());
    }
}

/// IPC_SET's struct ipc64_perm: (uid, gid, mode).
pub fn decode_perm(b: &[u8]) -> (u32, u32, u32) {
    (get32(b, 4), get32(b, 8), get32(b, 20))
}

pub fn put32(out: &mut [u8], at: usize, v: u32) {
    out[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

pub fn put64(out: &mut [u8], at: usize, v: u64) {
    out[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

pub fn get32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

pub fn get64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// What an object in an [`Ids`] table has.
pub trait IpcObject {
    fn perm(&self) -> &IpcPerm;
    fn perm_mut(&mut self) -> &mut IpcPerm;
}

/// One kind's objects (Linux's ipc_ids), by index.
pub struct Ids<T> {
    objects: BTreeMap<usize, T>,
    /// Where the search for a free index starts (idr_alloc_cyclic).
    next: usize,
    seq: u32,
}

impl<T> Default for Ids<T> {
    fn default() -> Self {
        Ids {
            objects: BTreeMap::new(),
            next: 0,
            seq: 0,
        }
    }
}

/// What get (shmget, semget, msgget) asks for.
pub struct GetRequest {
    pub key: i32,
    pub flags: i32,
}

impl<T: IpcObject> Ids<T> {
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.objects.values()
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.objects.values_mut()
    }

    /// The highest index in use (IPC_INFO's and *_INFO's result), 0 for
    /// none.
    pub fn max_index(&self) -> i32 {
        self.objects.keys().next_back().map_or(0, |&i| i as i32)
    }

    /// Linux's ipc_obtain_object_check: the object `id` names, or EINVAL.
    pub fn get(&self, id: i32) -> KResult<&T> {
        let o = self.by_index(id)?;
        if o.perm().id != id {
            return Err(Errno::EINVAL);
        }
        Ok(o)
    }

    pub fn get_mut(&mut self, id: i32) -> KResult<&mut T> {
        self.get(id)?;
        Ok(self
            .objects
            .get_mut(&(id as usize & (IPCMNI - 1)))
            .expect("found"))
    }

    /// The object in the slot `id` names, whatever its sequence number
    /// (Linux's ipc_obtain_object_idr; *_STAT pass an index).
    pub fn by_index(&self, id: i32) -> KResult<&T> {
        if id < 0 {
            return Err(Errno::EINVAL);
        }
        self.objects
            .get(&(id as usize & (IPCMNI - 1)))
            .ok_or(Errno::EINVAL)
    }

    fn by_key(&self, key: i32) -> Option<&T> {
        self.objects
            .values()
            .find(|o| key != IPC_PRIVATE && o.perm().key == key)
    }

    /// Linux's ipcget: the id of the object `req.key` names, made by
    /// `make` when there is none and IPC_CREAT asks (or the key is
    /// IPC_PRIVATE). `check` is the kind's more_checks on an existing one
    /// (a larger size, more semaphores: EINVAL). `limit` is the most
    /// objects of the kind (shmmni, semmni, msgmni: ENOSPC).
    pub fn get_or_make(
        &mut self,
        who: &Caller,
        req: &GetRequest,
        limit: usize,
        check: impl FnOnce(&T) -> KResult<()>,
        make: impl FnOnce(IpcPerm) -> KResult<T>,
    ) -> KResult<i32> {
        if req.key != IPC_PRIVATE {
            if let Some(o) = self.by_key(req.key) {
                if req.flags & IPC_CREAT != 0 && req.flags & IPC_EXCL != 0 {
                    return Err(Errno::EEXIST);
                }
                check(o)?;
                if !o.perm().allows(who, req.flags as u32 & S_IRWXUGO) {
                    return Err(Errno::EACCES);
                }
                return Ok(o.perm().id);
            }
            if req.flags & IPC_CREAT == 0 {
                return Err(Errno::ENOENT);
            }
        }
        self.add(who, req, limit, make)
    }

    /// Linux's ipc_addid: a new object in the next free slot.
    fn add(
        &mut self,
        who: &Caller,
        req: &GetRequest,
        limit: usize,
        make: impl FnOnce(IpcPerm) -> KResult<T>,
    ) -> KResult<i32> {
        if self.objects.len() >= limit.min(IPCMNI) {
            return Err(Errno::ENOSPC);
        }
        let free = |from: usize| (from..IPCMNI).find(|i| !self.objects.contains_key(i));
        let index = free(self.next).or_else(|| free(0)).ok_or(Errno::ENOSPC)?;
        let seq = self.seq;
        let perm = IpcPerm {
            key: req.key,
            uid: who.euid,
            gid: who.egid,
            cuid: who.euid,
            cgid: who.egid,
            mode: req.flags as u32 & S_IRWXUGO,
            seq,
            id: ((seq << IPCMNI_SHIFT) as usize | index) as i32,
        };
        let id = perm.id;
        let object = make(perm)?;
        self.seq = if seq + 1 > SEQ_MAX { 0 } else { seq + 1 };
        self.next = index + 1;
        self.objects.insert(index, object);
        Ok(id)
    }

    /// Removes object `id` (which exists).
    pub fn remove(&mut self, id: i32) -> Option<T> {
        self.objects.remove(&(id as usize & (IPCMNI - 1)))
    }

    /// Keeps only the objects `keep` accepts.
    pub fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        self.objects.retain(|_, o| keep(o));
    }
}

/// The IPC namespace: every object and the limits /proc/sys/kernel sets.
#[derive(Default)]
pub struct Ipc {
    pub shm: shm::Shm,
    pub sem: sem::Sems,
    pub msg: msg::Msgs,
}

#[cfg(test)]
mod tests {
    use super::sem::{SemBuf, Semop, SEM_UNDO};
    use super::*;
    use crate::mm::{Mm, Phys};

    fn root(tgid: u32) -> Caller {
        Caller {
            euid: 0,
            egid: 0,
            fsgid: 0,
            groups: Vec::new(),
            privileged: true,
            tgid,
            now: 1,
        }
    }

    #[test]
    fn ids_carry_a_sequence_so_a_reused_slot_is_another_id() {
        let mut phys = Phys::new(64 * 4096);
        let mut ipc = Ipc::default();
        let who = root(1);
        let a = ipc.msg.get(&who, IPC_PRIVATE, 0o600).unwrap();
        ipc.msg.ctl(&who, a, IPC_RMID, None).unwrap();
        let b = ipc.msg.get(&who, IPC_PRIVATE, 0o600).unwrap();
        assert_ne!(a, b);
        assert_eq!(b >> 15, (a >> 15) + 1);
        assert!(ipc.msg.ctl(&who, a, IPC_STAT, None).is_err());
        // The limits /proc/sys sets are what the calls obey.
        ipc.msg.msgmax = 10;
        assert_eq!(ipc.msg.check_send(b, 1, 11), Err(Errno::EINVAL));
        assert_eq!(
            ipc.msg.send(&mut phys, &who, b, 1, b"0123456789", 0),
            Ok(Ok(()))
        );
        ipc.msg.msgmni = 1;
        assert_eq!(ipc.msg.get(&who, IPC_PRIVATE, 0), Err(Errno::ENOSPC));
        ipc.shm.shmmax = 4096;
        assert_eq!(
            ipc.shm.get(&phys, &who, IPC_PRIVATE, 4097, 0),
            Err(Errno::EINVAL)
        );
        ipc.shm.shmall = 1;
        ipc.shm.get(&phys, &who, IPC_PRIVATE, 4096, 0).unwrap();
        assert_eq!(
            ipc.shm.get(&phys, &who, IPC_PRIVATE, 1, 0),
            Err(Errno::ENOSPC)
        );
        ipc.sem.semmsl = 2;
        assert_eq!(
            ipc.sem.get(&mut phys, &who, IPC_PRIVATE, 3, 0),
            Err(Errno::EINVAL)
        );
        drop(ipc);
        phys.reap();
        assert_eq!(phys.used_frames(), 0);
    }

    #[test]
    fn a_removed_segment_lives_until_its_last_attach_goes() {
        let mut phys = Phys::new(64 * 4096);
        let mut mm = Mm::new(&mut phys).unwrap();
        let mut shm = shm::Shm::default();
        let who = root(1);
        let id = shm.get(&phys, &who, 7, 8192, IPC_CREAT | 0o600).unwrap();
        let at = shm.attach(&mut phys, &mut mm, &who, id, 0, 0).unwrap();
        mm.write_user(&mut phys, at, b"x").unwrap();
        let nattch = |shm: &mut shm::Shm| match shm.ctl(&who, id, IPC_STAT, None, 0).unwrap() {
            shm::CtlResult::Struct(_, b) => get64(&b, 88),
            shm::CtlResult::Value(_) => unreachable!(),
        };
        assert_eq!(nattch(&mut shm), 1);
        shm.ctl(&who, id, IPC_RMID, None, 0).unwrap();
        // Still there, marked, without its key; the frame is still held.
        assert_eq!(nattch(&mut shm), 1);
        assert_eq!(shm.get(&phys, &who, 7, 1, 0), Err(Errno::ENOENT));
        assert!(phys.used_frames() > 0);
        shm.detach(&mut phys, &mut mm, &who, at).unwrap();
        assert!(shm.ctl(&who, id, IPC_STAT, None, 0).is_err());
        mm.release(&mut phys);
        assert_eq!(phys.used_frames(), 0);
    }

    #[test]
    fn semop_is_all_or_nothing_and_undo_reverts_at_exit() {
        let mut phys = Phys::new(64 * 4096);
        let mut sems = sem::Sems::default();
        let (a, b) = (root(10), root(11));
        let id = sems.get(&mut phys, &a, IPC_PRIVATE, 2, 0o600).unwrap();
        let op = |num, op, flg| SemBuf { num, op, flg };
        // The second operation cannot go: neither is done.
        assert_eq!(
            sems.semop(&a, id, &[op(0, 1, 0), op(1, -1, 0)]),
            Ok(Semop::Block {
                num: 1,
                zero: false
            })
        );
        assert_eq!(
            sems.semop(&a, id, &[op(0, 2, SEM_UNDO), op(1, 3, 0)]),
            Ok(Semop::Done { altered: true })
        );
        assert_eq!(
            sems.semop(&b, id, &[op(0, -1, SEM_UNDO)]),
            Ok(Semop::Done { altered: true })
        );
        let val = |sems: &mut sem::Sems, num| match sems
            .ctl(&a, id, num, sem::GETVAL, 0, None, 0)
            .unwrap()
        {
            sem::SemctlResult::Value(v) => v,
            sem::SemctlResult::Out(..) => unreachable!(),
        };
        assert_eq!(val(&mut sems, 0), 1);
        // a's exit takes its 2 back, clamped at zero; b's gives 1 back.
        assert_eq!(sems.exit(10), vec![id]);
        assert_eq!(val(&mut sems, 0), 0);
        sems.exit(11);
        assert_eq!(val(&mut sems, 0), 1);
        assert_eq!(val(&mut sems, 1), 3);
    }
}

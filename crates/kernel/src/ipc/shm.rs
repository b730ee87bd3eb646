//! System V shared memory (Linux's ipc/shm.c): segments that processes
//! attach to their address spaces, the oldest way to share memory after
//! fork (fork copies private memory; an attached segment is the same
//! frames in parent and child).
//!
//! A segment's pages are a memory object (`mm::MemObject`) like a tmpfs
//! file's: frames of guest RAM, given on first touch and charged with
//! tmpfs's. An attach is an ordinary shared mapping of the object
//! ([`Mm::shmat`]), so fork, exec and exit treat it as any MAP_SHARED
//! mapping: the child shares it, exec and exit drop it. The number of
//! attaches is the number of mappings holding the object (each VMA holds
//! one reference; Linux's shm_nattch counts VMAs too, through vm_open and
//! vm_close). IPC_RMID of an attached segment only marks it (SHM_DEST):
//! the table then holds it weakly, so it goes with its last mapping,
//! wherever that is dropped, and its slot is forgotten the next time the
//! table is looked at.

use super::*;
use crate::mm::{MemObject, Mm, Phys, PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE};
use std::cell::RefCell;
use std::fmt::Write;
use std::rc::{Rc, Weak};

pub const SHM_DEST: u32 = 0o1000;
pub const SHM_LOCKED: u32 = 0o2000;
// shmat flags
pub const SHM_RDONLY: i32 = 0o10000;
pub const SHM_RND: i32 = 0o20000;
pub const SHM_REMAP: i32 = 0o40000;
pub const SHM_EXEC: i32 = 0o100000;
// shmctl commands
pub const SHM_LOCK: i32 = 11;
pub const SHM_UNLOCK: i32 = 12;
pub const SHM_STAT: i32 = 13;
pub const SHM_INFO: i32 = 14;
pub const SHM_STAT_ANY: i32 = 15;
/// riscv64's SHMLBA: attach addresses are page-aligned.
const SHMLBA: u64 = PAGE_SIZE;
/// struct shmid64_ds (asm-generic, 64-bit).
pub const SHMID_DS_SIZE: usize = 112;

/// The segment's pages: held while it exists, weakly once removed.
enum Pages {
    Live(Rc<RefCell<MemObject>>),
    Removed(Weak<RefCell<MemObject>>),
}

pub struct Segment {
    perm: IpcPerm,
    /// Bytes asked for (shm_segsz).
    size: u64,
    pages: Pages,
    atime: i64,
    dtime: i64,
    ctime: i64,
    cpid: u32,
    lpid: u32,
}

impl IpcObject for Segment {
    fn perm(&self) -> &IpcPerm {
        &self.perm
    }
    fn perm_mut(&mut self) -> &mut IpcPerm {
        &mut self.perm
    }
}

impl Segment {
    fn object(&self) -> Option<Rc<RefCell<MemObject>>> {
        match &self.pages {
            Pages::Live(obj) => Some(obj.clone()),
            Pages::Removed(weak) => weak.upgrade(),
        }
    }

    /// Attaches: the mappings holding the object.
    fn nattch(&self) -> u64 {
        match &self.pages {
            Pages::Live(obj) => Rc::strong_count(obj) as u64 - 1,
            Pages::Removed(weak) => weak.strong_count() as u64,
        }
    }

    fn pages(&self) -> u64 {
        self.size.div_ceil(PAGE_SIZE)
    }

    /// Frames the segment holds (shm_rss).
    fn rss(&self) -> u64 {
        self.object().map_or(0, |o| o.borrow().frames() as u64)
    }

    /// struct shmid64_ds.
    fn encode(&self) -> [u8; SHMID_DS_SIZE] {
        let mut b = [0; SHMID_DS_SIZE];
        self.perm.encode(&mut b);
        put64(&mut b, 48, self.size);
        put64(&mut b, 56, self.atime as u64);
        put64(&mut b, 64, self.dtime as u64);
        put64(&mut b, 72, self.ctime as u64);
        put32(&mut b, 80, self.cpid);
        put32(&mut b, 84, self.lpid);
        put64(&mut b, 88, self.nattch());
        b
    }
}

/// The segments and their limits (kernel.shmmax, shmall, shmmni).
pub struct Shm {
    ids: Ids<Segment>,
    pub shmmax: u64,
    /// The most pages all segments may have together.
    pub shmall: u64,
    pub shmmni: u64,
}

impl Default for Shm {
    fn default() -> Shm {
        // Linux's SHMMAX and SHMALL: ULONG_MAX - 2^24; SHMMNI 4096.
        Shm {
            ids: Ids::default(),
            shmmax: u64::MAX - (1 << 24),
            shmall: u64::MAX - (1 << 24),
            shmmni: 4096,
        }
    }
}

/// What shmctl returns: a value, or a struct to copy out with it.
pub enum CtlResult {
    Value(u64),
    Struct(u64, Vec<u8>),
}

impl Shm {
    /// Forgets removed segments nothing maps any more: their frames went
    /// with their last mapping.
    fn prune(&mut self) {
        self.ids.retain(|s| match &s.pages {
            Pages::Live(_) => true,
            Pages::Removed(weak) => weak.strong_count() > 0,
        });
    }

    /// Pages of all segments (shm_tot).
    fn total_pages(&self) -> u64 {
        self.ids.iter().map(Segment::pages).sum()
    }

    /// shmget(key, size, flags): Linux's newseg and shm_more_checks.
    pub fn get(
        &mut self,
        phys: &Phys,
        who: &Caller,
        key: i32,
        size: u64,
        flags: i32,
    ) -> KResult<i32> {
        self.prune();
        let (shmmax, shmall, total) = (self.shmmax, self.shmall, self.total_pages());
        let req = GetRequest { key, flags };
        self.ids.get_or_make(
            who,
            &req,
            self.shmmni as usize,
            |s| {
                if s.size < size {
                    return Err(Errno::EINVAL);
                }
                Ok(())
            },
            |perm| {
                if size < 1 || size > shmmax {
                    return Err(Errno::EINVAL);
                }
                let pages = size.div_ceil(PAGE_SIZE);
                if total.checked_add(pages).is_none_or(|t| t > shmall) {
                    return Err(Errno::ENOSPC);
                }
                Ok(Segment {
                    pages: Pages::Live(phys.cache.sysv_segment(pages, perm.key)),
                    perm,
                    size,
                    atime: 0,
                    dtime: 0,
                    ctime: who.now,
                    cpid: who.tgid,
                    lpid: 0,
                })
            },
        )
    }

    /// shmat(shmid, addr, flags) into `mm`: Linux's do_shmat.
    pub fn attach(
        &mut self,
        phys: &mut Phys,
        mm: &mut Mm,
        who: &Caller,
        shmid: i32,
        addr: u64,
        flags: i32,
    ) -> KResult<u64> {
        self.prune();
        if shmid < 0 {
            return Err(Errno::EINVAL);
        }
        let mut addr = addr;
        if addr != 0 {
            if !addr.is_multiple_of(SHMLBA) {
                if flags & SHM_RND == 0 {
                    return Err(Errno::EINVAL);
                }
                addr &= !(SHMLBA - 1);
                if addr == 0 && flags & SHM_REMAP != 0 {
                    return Err(Errno::EINVAL);
                }
            }
        } else if flags & SHM_REMAP != 0 {
            return Err(Errno::EINVAL);
        }
        let (mut prot, mut acc) = if flags & SHM_RDONLY != 0 {
            (PROT_READ, S_IRUGO)
        } else {
            (PROT_READ | PROT_WRITE, S_IRUGO | S_IWUGO)
        };
        if flags & SHM_EXEC != 0 {
            prot |= PROT_EXEC;
            acc |= 0o111;
        }
        let seg = self.ids.get_mut(shmid)?;
        if !seg.perm.allows(who, acc) {
            return Err(Errno::EACCES);
        }
        let obj = seg.object().ok_or(Errno::EIDRM)?;
        let at = mm.shmat(phys, &obj, addr, seg.size, prot, flags & SHM_REMAP != 0)?;
        seg.atime = who.now;
        seg.lpid = who.tgid;
        Ok(at)
    }

    /// shmdt(addr) from `mm`.
    pub fn detach(&mut self, phys: &mut Phys, mm: &mut Mm, who: &Caller, addr: u64) -> KResult<()> {
        let obj = mm.shmdt(phys, addr)?;
        if let Some(seg) = self
            .ids
            .iter_mut()
            .find(|s| s.object().is_some_and(|o| Rc::ptr_eq(&o, &obj)))
        {
            seg.dtime = who.now;
            seg.lpid = who.tgid;
        }
        drop(obj);
        self.prune();
        phys.reap();
        Ok(())
    }

    /// shmctl(shmid, cmd, buf): `buf` is IPC_SET's struct, read already.
    pub fn ctl(
        &mut self,
        who: &Caller,
        shmid: i32,
        cmd: i32,
        buf: Option<&[u8]>,
        memlock_limit: u64,
    ) -> KResult<CtlResult> {
        self.prune();
        if cmd < 0 || shmid < 0 {
            return Err(Errno::EINVAL);
        }
        match cmd {
            IPC_INFO => {
                // struct shminfo64: shmmax, shmmin, shmmni, shmseg, shmall.
                let mut b = vec![0; 72];
                put64(&mut b, 0, self.shmmax);
                put64(&mut b, 8, 1);
                put64(&mut b, 16, self.shmmni);
                put64(&mut b, 24, 4096);
                put64(&mut b, 32, self.shmall);
                Ok(CtlResult::Struct(self.ids.max_index() as u64, b))
            }
            SHM_INFO => {
                // struct shm_info: used_ids, shm_tot, shm_rss, shm_swp...
                let mut b = vec![0; 48];
                put32(&mut b, 0, self.ids.len() as u32);
                put64(&mut b, 8, self.total_pages());
                put64(&mut b, 16, self.ids.iter().map(Segment::rss).sum());
                Ok(CtlResult::Struct(self.ids.max_index() as u64, b))
            }
            IPC_STAT | SHM_STAT | SHM_STAT_ANY => {
                let seg = if cmd == IPC_STAT {
                    self.ids.get(shmid)?
                } else {
                    self.ids.by_index(shmid)?
                };
                if cmd != SHM_STAT_ANY && !seg.perm.allows(who, S_IRUGO) {
                    return Err(Errno::EACCES);
                }
                let ret = if cmd == IPC_STAT { 0 } else { seg.perm.id };
                Ok(CtlResult::Struct(ret as u64, seg.encode().to_vec()))
            }
            IPC_SET | IPC_RMID => {
                let seg = self.ids.get_mut(shmid)?;
                if !seg.perm.owned_by(who) {
                    return Err(Errno::EPERM);
                }
                if cmd == IPC_SET {
                    let (uid, gid, mode) = decode_perm(buf.expect("IPC_SET reads its buffer"));
                    seg.perm.set(uid, gid, mode)?;
                    seg.ctime = who.now;
                } else if let Pages::Live(obj) = &seg.pages {
                    // Linux's do_shm_rmid: destroyed now if nothing is
                    // attached, else when the last attach goes.
                    if Rc::strong_count(obj) == 1 {
                        self.ids.remove(shmid);
                    } else {
                        seg.pages = Pages::Removed(Rc::downgrade(obj));
                        seg.perm.mode |= SHM_DEST;
                        seg.perm.key = IPC_PRIVATE;
                    }
                }
                Ok(CtlResult::Value(0))
            }
            SHM_LOCK | SHM_UNLOCK => {
                let seg = self.ids.get_mut(shmid)?;
                if !who.privileged {
                    if who.euid != seg.perm.uid && who.euid != seg.perm.cuid {
                        return Err(Errno::EPERM);
                    }
                    if cmd == SHM_LOCK && memlock_limit == 0 {
                        return Err(Errno::EPERM);
                    }
                }
                // Nothing here is ever swapped: the flag is what it changes.
                if cmd == SHM_LOCK {
                    seg.perm.mode |= SHM_LOCKED;
                } else {
                    seg.perm.mode &= !SHM_LOCKED;
                }
                Ok(CtlResult::Value(0))
            }
            _ => Err(Errno::EINVAL),
        }
    }

    /// /proc/sysvipc/shm (Linux's sysvipc_shm_proc_show).
    pub fn proc_text(&mut self) -> String {
        self.prune();
        let mut out = String::from(
            "       key      shmid perms                  size  cpid  lpid nattch   uid   gid  \
             cuid  cgid      atime      dtime      ctime                   rss                  swap\n",
        );
        for s in self.ids.iter() {
            let p = &s.perm;
            let _ = writeln!(
                out,
                "{:10} {:10}  {:4o} {:21} {:5} {:5}  {:5} {:5} {:5} {:5} {:5} {:10} {:10} {:10} {:21} {:21}",
                p.key,
                p.id,
                p.mode,
                s.size,
                s.cpid,
                s.lpid,
                s.nattch(),
                p.uid,
                p.gid,
                p.cuid,
                p.cgid,
                s.atime,
                s.dtime,
                s.ctime,
                s.rss() * PAGE_SIZE,
                0
            );
        }
        out
    }
}

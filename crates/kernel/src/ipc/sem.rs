//! System V semaphores (Linux's ipc/sem.c): sets of counters that semop
//! changes atomically, all operations of a call or none, waiting while
//! one would take a counter below zero (or, for an operation of 0, until
//! it is zero).
//!
//! A call that cannot go ahead says which operation blocks it
//! ([`Semop::Block`]); the system-call layer puts the caller to sleep on
//! that (GETNCNT and GETZCNT count sleepers by it, as Linux counts each
//! waiter once, on the semaphore it waits for) and any change to the set
//! restarts every sleeper of the set, which tries its whole operation
//! again. SEM_UNDO operations record their opposite per process
//! (`semadj`), and the process's exit applies them ([`Sems::exit`]).

use super::*;
use crate::mm::{KernelPage, Phys, PAGE_SIZE};
use std::fmt::Write;

// semctl commands
pub const GETPID: i32 = 11;
pub const GETVAL: i32 = 12;
pub const GETALL: i32 = 13;
pub const GETNCNT: i32 = 14;
pub const GETZCNT: i32 = 15;
pub const SETVAL: i32 = 16;
pub const SETALL: i32 = 17;
pub const SEM_STAT: i32 = 18;
pub const SEM_INFO: i32 = 19;
pub const SEM_STAT_ANY: i32 = 20;
pub const SEM_UNDO: i16 = 0x1000;
/// The largest value of a semaphore (and of an adjustment).
pub const SEMVMX: i32 = 32767;
/// struct semid64_ds (asm-generic, 64-bit).
pub const SEMID_DS_SIZE: usize = 88;
/// What one semaphore costs, charged to guest RAM (see [`SemSet`]).
const SEM_BYTES: u64 = 16;

#[derive(Clone, Copy, Default)]
struct Sem {
    val: i32,
    /// The process that last changed it (GETPID).
    pid: u32,
    /// When a semop last completed on it (the set's otime is the latest).
    otime: i64,
}

pub struct SemSet {
    perm: IpcPerm,
    sems: Vec<Sem>,
    ctime: i64,
    /// Per process (tgid) that did SEM_UNDO operations on the set: the
    /// adjustment its exit applies to each semaphore.
    undo: BTreeMap<u32, Vec<i32>>,
    /// The set's memory, held in guest RAM so that --mem bounds what
    /// semaphores can take, as it bounds everything else a guest makes.
    _charge: Vec<KernelPage>,
}

impl IpcObject for SemSet {
    fn perm(&self) -> &IpcPerm {
        &self.perm
    }
    fn perm_mut(&mut self) -> &mut IpcPerm {
        &mut self.perm
    }
}

impl SemSet {
    fn otime(&self) -> i64 {
        self.sems.iter().map(|s| s.otime).max().unwrap_or(0)
    }

    fn encode(&self) -> [u8; SEMID_DS_SIZE] {
        let mut b = [0; SEMID_DS_SIZE];
        self.perm.encode(&mut b);
        put64(&mut b, 48, self.otime() as u64);
        put64(&mut b, 56, self.ctime as u64);
        put64(&mut b, 64, self.sems.len() as u64);
        b
    }

    /// SETVAL and SETALL forget every process's adjustment of `num`.
    fn clear_undo(&mut self, num: usize) {
        for adj in self.undo.values_mut() {
            adj[num] = 0;
        }
    }
}

/// One operation of a semop: struct sembuf.
#[derive(Clone, Copy, Debug)]
pub struct SemBuf {
    pub num: u16,
    pub op: i16,
    pub flg: i16,
}

/// What a semop did.
#[derive(Debug, PartialEq, Eq)]
pub enum Semop {
    /// Every operation was done: the set changed (wake its sleepers).
    Done { altered: bool },
    /// Operation on semaphore `num` cannot go ahead: wait for it to grow,
    /// or, when `zero`, to be zero.
    Block { num: u16, zero: bool },
}

/// The sets and their limits (kernel.sem: semmsl, semmns, semopm, semmni).
pub struct Sems {
    ids: Ids<SemSet>,
    pub semmsl: i32,
    pub semmns: i32,
    pub semopm: i32,
    pub semmni: i32,
}

impl Default for Sems {
    fn default() -> Sems {
        Sems {
            ids: Ids::default(),
            semmsl: 32000,
            semmns: 1_024_000_000,
            semopm: 500,
            semmni: 32000,
        }
    }
}

/// What semctl returns: a value, or bytes to copy out with it.
pub enum SemctlResult {
    Value(u64),
    Out(u64, Vec<u8>),
}

impl Sems {
    fn used_sems(&self) -> u64 {
        self.ids.iter().map(|s| s.sems.len() as u64).sum()
    }

    /// semget(key, nsems, flags): Linux's newary and sem_more_checks.
    pub fn get(
        &mut self,
        phys: &mut Phys,
        who: &Caller,
        key: i32,
        nsems: i32,
        flags: i32,
    ) -> KResult<i32> {
        if nsems < 0 || nsems > self.semmsl {
            return Err(Errno::EINVAL);
        }
        let (used, semmns) = (self.used_sems(), self.semmns as u64);
        let req = GetRequest { key, flags };
        self.ids.get_or_make(
            who,
            &req,
            self.semmni.max(0) as usize,
            |s| {
                if nsems as usize > s.sems.len() {
                    return Err(Errno::EINVAL);
                }
                Ok(())
            },
            |perm| {
                if nsems == 0 {
                    return Err(Errno::EINVAL);
                }
                if used + nsems as u64 > semmns {
                    return Err(Errno::ENOSPC);
                }
                let pages = (nsems as u64 * SEM_BYTES).div_ceil(PAGE_SIZE);
                let charge = (0..pages)
                    .map(|_| phys.kernel_page())
                    .collect::<KResult<Vec<_>>>()
                    .map_err(|_| Errno::ENOMEM)?;
                Ok(SemSet {
                    perm,
                    sems: vec![Sem::default(); nsems as usize],
                    ctime: who.now,
                    undo: BTreeMap::new(),
                    _charge: charge,
                })
            },
        )
    }

    /// The id's set exists (semop checks it before it reads more).
    pub fn exists(&self, id: i32) -> KResult<()> {
        self.ids.get(id).map(|_| ())
    }

    /// semop's operations on set `id` (nsops, E2BIG and the copy are the
    /// caller's): Linux's do_semtimedop and perform_atomic_semop_slow.
    pub fn semop(&mut self, who: &Caller, id: i32, sops: &[SemBuf]) -> KResult<Semop> {
        let max = sops.iter().map(|s| s.num).max().unwrap_or(0);
        let undo = sops.iter().any(|s| s.flg & SEM_UNDO != 0);
        let alter = sops.iter().any(|s| s.op != 0);
        let set = self.ids.get_mut(id)?;
        if max as usize >= set.sems.len() {
            return Err(Errno::EFBIG);
        }
        let acc = if alter { S_IWUGO } else { S_IRUGO };
        if !set.perm.allows(who, acc) {
            return Err(Errno::EACCES);
        }
        let n = set.sems.len();
        let mut vals: Vec<i32> = set.sems.iter().map(|s| s.val).collect();
        let mut adj = set
            .undo
            .get(&who.tgid)
            .cloned()
            .unwrap_or_else(|| vec![0; n]);
        for sop in sops {
            let num = sop.num as usize;
            let cur = vals[num];
            let op = i32::from(sop.op);
            if (op == 0 && cur != 0) || cur + op < 0 {
                if sop.flg & IPC_NOWAIT as i16 != 0 {
                    return Err(Errno::EAGAIN);
                }
                return Ok(Semop::Block {
                    num: sop.num,
                    zero: op == 0,
                });
            }
            if cur + op > SEMVMX {
                return Err(Errno::ERANGE);
            }
            if sop.flg & SEM_UNDO != 0 {
                let undo = adj[num] - op;
                if !(-SEMVMX - 1..=SEMVMX).contains(&undo) {
                    return Err(Errno::ERANGE);
                }
                adj[num] = undo;
            }
            vals[num] = cur + op;
        }
        for (sem, val) in set.sems.iter_mut().zip(vals) {
            sem.val = val;
        }
        for sop in sops {
            set.sems[sop.num as usize].pid = who.tgid;
        }
        set.sems[sops[0].num as usize].otime = who.now;
        if undo {
            set.undo.insert(who.tgid, adj);
        }
        Ok(Semop::Done { altered: alter })
    }

    /// SETALL's first half: the set's size, once the set is found and the
    /// caller may write it. The caller then reads that many values.
    pub fn setall_len(&self, who: &Caller, id: i32) -> KResult<usize> {
        let set = self.ids.get(id)?;
        if !set.perm.allows(who, S_IWUGO) {
            return Err(Errno::EACCES);
        }
        Ok(set.sems.len())
    }

    /// semctl(id, num, cmd, arg). Read from guest memory already: IPC_SET's
    /// struct and SETALL's values (`input`); counted already: the sleepers
    /// GETNCNT or GETZCNT ask for (`waiting`).
    #[allow(clippy::too_many_arguments)]
    pub fn ctl(
        &mut self,
        who: &Caller,
        id: i32,
        num: i32,
        cmd: i32,
        arg: u64,
        input: Option<&[u8]>,
        waiting: u64,
    ) -> KResult<SemctlResult> {
        if id < 0 {
            return Err(Errno::EINVAL);
        }
        match cmd {
            IPC_INFO | SEM_INFO => {
                // struct seminfo: ten ints.
                let info = [
                    self.semmns,
                    self.semmni,
                    self.semmns,
                    self.semmns,
                    self.semmsl,
                    self.semopm,
                    self.semopm,
                    if cmd == IPC_INFO {
                        20
                    } else {
                        self.ids.len() as i32
                    },
                    SEMVMX,
                    if cmd == IPC_INFO {
                        SEMVMX
                    } else {
                        self.used_sems() as i32
                    },
                ];
                let b: Vec<u8> = info.iter().flat_map(|v| v.to_le_bytes()).collect();
                Ok(SemctlResult::Out(self.ids.max_index() as u64, b))
            }
            IPC_STAT | SEM_STAT | SEM_STAT_ANY => {
                let set = if cmd == IPC_STAT {
                    self.ids.get(id)?
                } else {
                    self.ids.by_index(id)?
                };
                if cmd != SEM_STAT_ANY && !set.perm.allows(who, S_IRUGO) {
                    return Err(Errno::EACCES);
                }
                let ret = if cmd == IPC_STAT { 0 } else { set.perm.id };
                Ok(SemctlResult::Out(ret as u64, set.encode().to_vec()))
            }
            SETVAL => {
                let val = arg as i32;
                if !(0..=SEMVMX).contains(&val) {
                    return Err(Errno::ERANGE);
                }
                let set = self.ids.get_mut(id)?;
                if num < 0 || num as usize >= set.sems.len() {
                    return Err(Errno::EINVAL);
                }
                if !set.perm.allows(who, S_IWUGO) {
                    return Err(Errno::EACCES);
                }
                let sem = &mut set.sems[num as usize];
                sem.val = val;
                sem.pid = who.tgid;
                set.clear_undo(num as usize);
                set.ctime = who.now;
                Ok(SemctlResult::Value(0))
            }
            GETALL | SETALL | GETVAL | GETPID | GETNCNT | GETZCNT => {
                let set = self.ids.get_mut(id)?;
                let acc = if cmd == SETALL { S_IWUGO } else { S_IRUGO };
                if !set.perm.allows(who, acc) {
                    return Err(Errno::EACCES);
                }
                let n = set.sems.len();
                if cmd == GETALL {
                    let b: Vec<u8> = set
                        .sems
                        .iter()
                        .flat_map(|s| (s.val as u16).to_le_bytes())
                        .collect();
                    return Ok(SemctlResult::Out(0, b));
                }
                if cmd == SETALL {
                    let b = input.expect("SETALL reads its values");
                    let vals: Vec<i32> = b
                        .chunks(2)
                        .map(|c| i32::from(u16::from_le_bytes([c[0], c[1]])))
                        .collect();
                    if vals.iter().any(|&v| v > SEMVMX) {
                        return Err(Errno::ERANGE);
                    }
                    for (i, v) in vals.into_iter().enumerate() {
                        set.sems[i].val = v;
                        set.sems[i].pid = who.tgid;
                        set.clear_undo(i);
                    }
                    set.ctime = who.now;
                    return Ok(SemctlResult::Value(0));
                }
                if num < 0 || num as usize >= n {
                    return Err(Errno::EINVAL);
                }
                let sem = set.sems[num as usize];
                Ok(SemctlResult::Value(match cmd {
                    GETVAL => sem.val as u64,
                    GETPID => u64::from(sem.pid),
                    _ => waiting,
                }))
            }
            IPC_SET | IPC_RMID => {
                let set = self.ids.get_mut(id)?;
                if !set.perm.owned_by(who) {
                    return Err(Errno::EPERM);
                }
                if cmd == IPC_SET {
                    let (uid, gid, mode) = decode_perm(input.expect("IPC_SET reads its buffer"));
                    set.perm.set(uid, gid, mode)?;
                    set.ctime = who.now;
                } else {
                    self.ids.remove(id);
                }
                Ok(SemctlResult::Value(0))
            }
            _ => Err(Errno::EINVAL),
        }
    }

    /// Linux's exit_sem: the adjustments process `tgid` recorded are
    /// applied (each value kept within 0..=SEMVMX) and forgotten. Returns
    /// the sets that changed.
    pub fn exit(&mut self, tgid: u32) -> Vec<i32> {
        let mut changed = Vec::new();
        for set in self.ids.iter_mut() {
            let Some(adj) = set.undo.remove(&tgid) else {
                continue;
            };
            for (sem, a) in set.sems.iter_mut().zip(adj) {
                if a != 0 {
                    sem.val = (sem.val + a).clamp(0, SEMVMX);
                    sem.pid = tgid;
                }
            }
            changed.push(set.perm.id);
        }
        changed
    }

    /// /proc/sysvipc/sem (Linux's sysvipc_sem_proc_show).
    pub fn proc_text(&self) -> String {
        let mut out = String::from(
            "       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n",
        );
        for s in self.ids.iter() {
            let p = &s.perm;
            let _ = writeln!(
                out,
                "{:10} {:10}  {:4o} {:10} {:5} {:5} {:5} {:5} {:10} {:10}",
                p.key,
                p.id,
                p.mode,
                s.sems.len(),
                p.uid,
                p.gid,
                p.cuid,
                p.cgid,
                s.otime(),
                s.ctime
            );
        }
        out
    }
}

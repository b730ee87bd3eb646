//! System V message queues (Linux's ipc/msg.c): queues of typed
//! messages, received in order, by type, or by "lowest type up to".
//!
//! A message's text is kept in guest RAM (`KernelPage`s, as pipe buffers
//! are), so --mem bounds what queues hold. A send to a full queue and a
//! receive that finds nothing wait ([`Wait`]): the system-call layer puts
//! the caller to sleep on the queue, and every change to it restarts its
//! sleepers, which try again.

use super::*;
use crate::mm::{KernelPage, Phys, PAGE_SIZE};
use std::collections::VecDeque;
use std::fmt::Write;

pub const MSG_NOERROR: i32 = 0o10000;
pub const MSG_EXCEPT: i32 = 0o20000;
pub const MSG_COPY: i32 = 0o40000;
pub const MSG_STAT: i32 = 11;
pub const MSG_INFO: i32 = 12;
pub const MSG_STAT_ANY: i32 = 13;
/// struct msqid64_ds (asm-generic, 64-bit).
pub const MSQID_DS_SIZE: usize = 120;

struct Message {
    mtype: i64,
    len: usize,
    pages: Vec<KernelPage>,
}

impl Message {
    fn new(phys: &mut Phys, mtype: i64, text: &[u8]) -> KResult<Message> {
        let mut pages = Vec::new();
        for chunk in text.chunks(PAGE_SIZE as usize) {
            let page = phys.kernel_page()?;
            phys.mem.frame_mut(page.pfn())[..chunk.len()].copy_from_slice(chunk);
            pages.push(page);
        }
        Ok(Message {
            mtype,
            len: text.len(),
            pages,
        })
    }

    /// The first `len` bytes of the text.
    fn text(&self, phys: &Phys, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len);
        for page in &self.pages {
            let n = (len - out.len()).min(PAGE_SIZE as usize);
            out.extend_from_slice(&phys.mem.frame(page.pfn())[..n]);
            if out.len() == len {
                break;
            }
        }
        out
    }
}

pub struct Queue {
    perm: IpcPerm,
    messages: VecDeque<Message>,
    cbytes: u64,
    qbytes: u64,
    stime: i64,
    rtime: i64,
    ctime: i64,
    lspid: u32,
    lrpid: u32,
}

impl IpcObject for Queue {
    fn perm(&self) -> &IpcPerm {
        &self.perm
    }
    fn perm_mut(&mut self) -> &mut IpcPerm {
        &mut self.perm
    }
}

impl Queue {
    fn encode(&self) -> [u8; MSQID_DS_SIZE] {
        let mut b = [0; MSQID_DS_SIZE];
        self.perm.encode(&mut b);
        put64(&mut b, 48, self.stime as u64);
        put64(&mut b, 56, self.rtime as u64);
        put64(&mut b, 64, self.ctime as u64);
        put64(&mut b, 72, self.cbytes);
        put64(&mut b, 80, self.messages.len() as u64);
        put64(&mut b, 88, self.qbytes);
        put32(&mut b, 96, self.lspid);
        put32(&mut b, 100, self.lrpid);
        b
    }
}

/// A call that must wait for the queue to change.
#[derive(Debug, PartialEq, Eq)]
pub struct Wait;

/// The queues and their limits (kernel.msgmax, msgmnb, msgmni).
pub struct Msgs {
    ids: Ids<Queue>,
    pub msgmax: i32,
    pub msgmnb: i32,
    pub msgmni: i32,
}

impl Default for Msgs {
    fn default() -> Msgs {
        Msgs {
            ids: Ids::default(),
            msgmax: 8192,
            msgmnb: 16384,
            msgmni: 32000,
        }
    }
}

/// What msgctl returns: a value, or a struct to copy out with it.
pub enum MsgctlResult {
    Value(u64),
    Struct(u64, Vec<u8>),
}

/// How msgrcv picks a message (Linux's convert_mode).
#[derive(Clone, Copy)]
enum Search {
    Any,
    Equal(i64),
    NotEqual(i64),
    LessEqual(i64),
    /// MSG_COPY: the message at this position, left in the queue.
    Number(i64),
}

impl Msgs {
    /// msgget(key, flags).
    pub fn get(&mut self, who: &Caller, key: i32, flags: i32) -> KResult<i32> {
        let qbytes = self.msgmnb as u64;
        let req = GetRequest { key, flags };
        self.ids.get_or_make(
            who,
            &req,
            self.msgmni.max(0) as usize,
            |_| Ok(()),
            |perm| {
                Ok(Queue {
                    perm,
                    messages: VecDeque::new(),
                    cbytes: 0,
                    qbytes,
                    stime: 0,
                    rtime: 0,
                    ctime: who.now,
                    lspid: 0,
                    lrpid: 0,
                })
            },
        )
    }

    /// The checks msgsnd makes before it looks at the queue: the size
    /// against msgmax, the id, the type.
    pub fn check_send(&self, id: i32, mtype: i64, len: i64) -> KResult<()> {
        if len > i64::from(self.msgmax) || len < 0 || id < 0 || mtype < 1 {
            return Err(Errno::EINVAL);
        }
        Ok(())
    }

    /// msgsnd of `text` with type `mtype` to queue `id` (checked by
    /// [`Msgs::check_send`]): Linux's do_msgsnd.
    pub fn send(
        &mut self,
        phys: &mut Phys,
        who: &Caller,
        id: i32,
        mtype: i64,
        text: &[u8],
        flags: i32,
    ) -> KResult<Result<(), Wait>> {
        let q = self.ids.get_mut(id)?;
        if !q.perm.allows(who, S_IWUGO) {
            return Err(Errno::EACCES);
        }
        let len = text.len() as u64;
        let fits = q.cbytes + len <= q.qbytes && (q.messages.len() as u64) < q.qbytes;
        if !fits {
            if flags & IPC_NOWAIT != 0 {
                return Err(Errno::EAGAIN);
            }
            return Ok(Err(Wait));
        }
        q.messages.push_back(Message::new(phys, mtype, text)?);
        q.cbytes += len;
        q.lspid = who.tgid;
        q.stime = who.now;
        Ok(Ok(()))
    }

    /// msgrcv from queue `id` of at most `bufsz` bytes: Linux's
    /// do_msgrcv. Returns the message's type and text (cut to `bufsz`
    /// with MSG_NOERROR).
    pub fn receive(
        &mut self,
        phys: &Phys,
        who: &Caller,
        id: i32,
        bufsz: i64,
        msgtyp: i64,
        flags: i32,
    ) -> KResult<Result<(i64, Vec<u8>), Wait>> {
        if id < 0 || bufsz < 0 {
            return Err(Errno::EINVAL);
        }
        let copy = flags & MSG_COPY != 0;
        if copy && (flags & MSG_EXCEPT != 0 || flags & IPC_NOWAIT == 0) {
            return Err(Errno::EINVAL);
        }
        let search = if copy {
            Search::Number(msgtyp)
        } else if msgtyp == 0 {
            Search::Any
        } else if msgtyp < 0 {
            Search::LessEqual(if msgtyp == i64::MIN {
                i64::MAX
            } else {
                -msgtyp
            })
        } else if flags & MSG_EXCEPT != 0 {
            Search::NotEqual(msgtyp)
        } else {
            Search::Equal(msgtyp)
        };
        let bufsz = if copy {
            bufsz.min(i64::from(self.msgmax))
        } else {
            bufsz
        };
        let q = self.ids.get_mut(id)?;
        if !q.perm.allows(who, S_IRUGO) {
            return Err(Errno::EACCES);
        }
        let found = match search {
            Search::Any => (!q.messages.is_empty()).then_some(0),
            Search::Equal(t) => q.messages.iter().position(|m| m.mtype == t),
            Search::NotEqual(t) => q.messages.iter().position(|m| m.mtype != t),
            // The first message of the lowest type up to `t`.
            Search::LessEqual(t) => q
                .messages
                .iter()
                .enumerate()
                .filter(|(_, m)| m.mtype <= t)
                .min_by_key(|&(i, m)| (m.mtype, i))
                .map(|(i, _)| i),
            Search::Number(n) => (n >= 0 && (n as usize) < q.messages.len()).then_some(n as usize),
        };
        let Some(at) = found else {
            if flags & IPC_NOWAIT != 0 {
                return Err(Errno::ENOMSG);
            }
            return Ok(Err(Wait));
        };
        let m = &q.messages[at];
        if (bufsz as u64) < m.len as u64 && flags & MSG_NOERROR == 0 {
            return Err(Errno::E2BIG);
        }
        let len = m.len.min(bufsz as usize);
        let out = (m.mtype, m.text(phys, len));
        if !copy {
            let m = q.messages.remove(at).expect("found");
            q.cbytes -= m.len as u64;
            q.rtime = who.now;
            q.lrpid = who.tgid;
        }
        Ok(Ok(out))
    }

    /// msgctl(id, cmd, buf); IPC_SET's struct is read already.
    pub fn ctl(
        &mut self,
        who: &Caller,
        id: i32,
        cmd: i32,
        buf: Option<&[u8]>,
    ) -> KResult<MsgctlResult> {
        if id < 0 || cmd < 0 {
            return Err(Errno::EINVAL);
        }
        match cmd {
            IPC_INFO | MSG_INFO => {
                // struct msginfo: msgpool, msgmap, msgmax, msgmnb, msgmni,
                // msgssz, msgtql (ints), msgseg (unsigned short).
                let (mni, mnb) = (self.msgmni, self.msgmnb);
                let (pool, map, tql) = if cmd == IPC_INFO {
                    // MSGPOOL, MSGMAP, MSGTQL
                    ((mni as i64 * mnb as i64 / 1024) as i32, mnb, mnb)
                } else {
                    let msgs: usize = self.ids.iter().map(|q| q.messages.len()).sum();
                    let bytes: u64 = self.ids.iter().map(|q| q.cbytes).sum();
                    (self.ids.len() as i32, msgs as i32, bytes as i32)
                };
                let mut b = vec![0; 32];
                for (i, v) in [pool, map, self.msgmax, mnb, mni, 16, tql]
                    .into_iter()
                    .enumerate()
                {
                    put32(&mut b, i * 4, v as u32);
                }
                b[28..30].copy_from_slice(&0xffffu16.to_le_bytes());
                Ok(MsgctlResult::Struct(self.ids.max_index() as u64, b))
            }
            IPC_STAT | MSG_STAT | MSG_STAT_ANY => {
                let q = if cmd == IPC_STAT {
                    self.ids.get(id)?
                } else {
                    self.ids.by_index(id)?
                };
                if cmd != MSG_STAT_ANY && !q.perm.allows(who, S_IRUGO) {
                    return Err(Errno::EACCES);
                }
                let ret = if cmd == IPC_STAT { 0 } else { q.perm.id };
                Ok(MsgctlResult::Struct(ret as u64, q.encode().to_vec()))
            }
            IPC_SET | IPC_RMID => {
                let mnb = self.msgmnb as u64;
                let q = self.ids.get_mut(id)?;
                if !q.perm.owned_by(who) {
                    return Err(Errno::EPERM);
                }
                if cmd == IPC_SET {
                    let b = buf.expect("IPC_SET reads its buffer");
                    let qbytes = get64(b, 88);
                    if qbytes > mnb && !who.privileged {
                        return Err(Errno::EPERM);
                    }
                    let (uid, gid, mode) = decode_perm(b);
                    q.perm.set(uid, gid, mode)?;
                    q.qbytes = qbytes;
                    q.ctime = who.now;
                } else {
                    self.ids.remove(id);
                }
                Ok(MsgctlResult::Value(0))
            }
            _ => Err(Errno::EINVAL),
        }
    }

    /// /proc/sysvipc/msg (Linux's sysvipc_msg_proc_show).
    pub fn proc_text(&self) -> String {
        let mut out = String::from(
            "       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      stime      rtime      ctime\n",
        );
        for q in self.ids.iter() {
            let p = &q.perm;
            let _ = writeln!(
                out,
                "{:10} {:10}  {:4o}  {:10} {:10} {:5} {:5} {:5} {:5} {:5} {:5} {:10} {:10} {:10}",
                p.key,
                p.id,
                p.mode,
                q.cbytes,
                q.messages.len(),
                q.lspid,
                q.lrpid,
                p.uid,
                p.gid,
                p.cuid,
                p.cgid,
                q.stime,
                q.rtime,
                q.ctime
            );
        }
        out
    }
}

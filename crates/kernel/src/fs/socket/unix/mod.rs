//! AF_UNIX sockets (Linux's net/unix/af_unix.c and garbage.c): stream,
//! datagram and seqpacket sockets between processes of this kernel.
//!
//! A socket has a receive queue of messages; a sender puts its message
//! straight into the receiver's queue. A stream reader reads across
//! messages (stopping after one that carries files, or where the
//! credentials change under SO_PASSCRED), a datagram or seqpacket reader
//! takes one message at a time. Connected sockets know each other by
//! `Weak`: a socket lives as long as its open file (or a listener's
//! backlog, or a message passing it), and when it goes its peer sees the
//! connection end (Linux's unix_release_sock).
//!
//! Names: a path is a socket node in the file system (`Data::Socket`,
//! made and looked up through [`SocketEnv`]); an abstract name (a leading
//! NUL) lives in [`UnixNet`] while its socket does.
//!
//! Buffers are bounded as Linux bounds them: every message is charged to
//! its sender (its bytes plus a fixed overhead, as an skb's truesize)
//! until the receiver has read it, and a sender waits while its charge is
//! at SO_SNDBUF; a datagram socket's queue holds at most
//! [`MAX_DGRAM_QLEN`] messages from senders it is not connected to. On
//! top of that the whole kernel's queued bytes are bounded
//! ([`QUEUED_MAX`], ENOBUFS past it), so no guest can make the host hold
//! more, whatever the number of sockets.
//!
//! SCM_RIGHTS: a message holds the open files it passes (one reference
//! each, as dup does) until they are received or the message is dropped;
//! the cycles that makes are broken by the garbage collector
//! (`garbage.rs`).
//!
//! A little over 800 lines: the three socket types share connect, accept
//! and the address rules, which read best together; the queues and the
//! collector are apart.

mod garbage;
mod queue;

use super::{RecvMsg, SendMsg, SockOpts, Socket, SocketEnv, Ucred};
use super::{AF_UNIX, MSG_PEEK, MSG_TRUNC, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_STREAM};
use crate::errno::{Errno, KResult};
use crate::fs::file::{OpError, OpResult, POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDNORM};
use crate::fs::file::{POLLRDHUP, POLLWRBAND, POLLWRNORM};
use crate::fs::pipe::note_wake;
use crate::fs::OpenFile;
use crate::wait::WaitReason;
use garbage::Passed;
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::rc::{Rc, Weak};

/// sk_shutdown's bits.
const RCV_SHUTDOWN: u8 = 1;
const SEND_SHUTDOWN: u8 = 2;
const SHUTDOWN_MASK: u8 = 3;

/// sizeof(struct sockaddr_un).
const SOCKADDR_UN_LEN: usize = 110;
/// net.core.somaxconn: the longest listen backlog.
const SOMAXCONN: usize = 4096;
/// net.unix.max_dgram_qlen.
pub const MAX_DGRAM_QLEN: usize = 10;
/// What each message costs its sender beyond its bytes (an skb's
/// overhead in Linux's truesize).
const MSG_OVERHEAD: usize = 512;
/// The most bytes of one stream message (Linux splits a send in skbs of
/// about this size).
const STREAM_CHUNK: usize = 32 * 1024;
/// The most bytes all sockets of the kernel may hold queued.
pub const QUEUED_MAX: usize = 64 << 20;
/// Linux's SCM_MAX_FD: the most files one message passes.
pub const SCM_MAX_FD: usize = 253;

/// The AF_UNIX state of one kernel (Linux's per-namespace tables): the
/// abstract names, the sockets in flight, the bytes queued.
#[derive(Default)]
pub struct UnixNet {
    /// Abstract names (with their leading NUL) and who holds them.
    names: RefCell<HashMap<Vec<u8>, Weak<UnixSock>>>,
    /// Open files of sockets passed in messages not yet received (what
    /// the collector looks at).
    inflight: RefCell<Vec<Weak<OpenFile>>>,
    collecting: Cell<bool>,
    queued: Cell<usize>,
    next_auto: Cell<u32>,
}

/// The bytes charged to one sender, and the id its waiters wait on.
struct Wmem {
    id: u64,
    bytes: Cell<usize>,
}

/// A message's charge, given back to its sender when it is dropped.
struct Charge {
    owner: Rc<Wmem>,
    net: Weak<UnixNet>,
    bytes: usize,
}

impl Drop for Charge {
    fn drop(&mut self) {
        let w = &self.owner;
        w.bytes.set(w.bytes.get() - self.bytes);
        if let Some(net) = self.net.upgrade() {
            net.queued.set(net.queued.get() - self.bytes);
        }
        note_wake(w.id);
    }
}

/// The AF_UNIX socket of an open file, if it is one.
fn unix_of(file: &OpenFile) -> Option<&UnixSock> {
    super::SocketFile::of(file)?
        .as_any()
        .downcast_ref::<UnixSock>()
}

struct Msg {
    data: Vec<u8>,
    /// Bytes of a stream message already read.
    read: usize,
    fds: Vec<Passed>,
    cred: Ucred,
    /// The sender's name (a datagram's source address).
    from: Option<Vec<u8>>,
    _charge: Charge,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Conn {
    Unconnected,
    Listening,
    Connected,
}

struct State {
    /// The name getsockname shows (after the family): a path with its
    /// NUL, or an abstract name with its leading NUL.
    addr: Option<Vec<u8>>,
    conn: Conn,
    /// The connected peer (a datagram socket's default destination);
    /// None if it never had one.
    peer: Option<Weak<UnixSock>>,
    /// SO_PEERCRED: the peer's at connect time, or a listener's own.
    peer_cred: Option<Ucred>,
    recvq: VecDeque<Msg>,
    /// A listener's connections not yet accepted.
    backlog: VecDeque<Rc<UnixSock>>,
    max_backlog: usize,
    shutdown: u8,
    error: Option<Errno>,
    /// Made by connect, not yet accepted.
    embryo: bool,
}

pub struct UnixSock {
    id: u64,
    kind: i32,
    net: Weak<UnixNet>,
    me: Weak<UnixSock>,
    opts: RefCell<SockOpts>,
    wmem: Rc<Wmem>,
    /// Who last used it: a write(2), which has no caller to ask, sends
    /// with these.
    cred: Cell<Ucred>,
    /// How many messages in flight hold it.
    inflight: Cell<usize>,
    st: RefCell<State>,
}

/// A parsed sockaddr_un.
enum Name {
    /// Only the family: bind autobinds.
    Unnamed,
    Path(Vec<u8>),
    /// With its leading NUL.
    Abstract(Vec<u8>),
}

/// Linux's unix_validate_addr and unix_mkname: EINVAL for a short or
/// long address or another family; a path ends at its first NUL.
fn parse(addr: &[u8]) -> KResult<Name> {
    if addr.len() < 2 || addr.len() > SOCKADDR_UN_LEN {
        return Err(Errno::EINVAL);
    }
    if i32::from(u16::from_le_bytes([addr[0], addr[1]])) != AF_UNIX {
        return Err(Errno::EINVAL);
    }
    let name = &addr[2..];
    Ok(match name.first() {
        None => Name::Unnamed,
        Some(0) => Name::Abstract(name.to_vec()),
        Some(_) => {
            let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
            Name::Path(name[..end].to_vec())
        }
    })
}

/// A sockaddr_un of `name` (getsockname's form).
fn sockaddr(name: Option<&[u8]>) -> Vec<u8> {
    let mut out = (AF_UNIX as u16).to_le_bytes().to_vec();
    out.extend_from_slice(name.unwrap_or_default());
    out
}

fn block(id: u64) -> OpError {
    OpError::Block(WaitReason::Socket { id })
}

impl UnixSock {
    /// A new unconnected socket of type `kind`, made by `cred`.
    pub fn new(net: &Rc<UnixNet>, id: u64, kind: i32, cred: Ucred) -> Rc<UnixSock> {
        Rc::new_cyclic(|me| UnixSock {
            id,
            kind,
            net: Rc::downgrade(net),
            me: me.clone(),
            opts: RefCell::default(),
            wmem: Rc::new(Wmem {
                id,
                bytes: Cell::new(0),
            }),
            cred: Cell::new(cred),
            inflight: Cell::new(0),
            st: RefCell::new(State {
                addr: None,
                conn: Conn::Unconnected,
                peer: None,
                peer_cred: None,
                recvq: VecDeque::new(),
                backlog: VecDeque::new(),
                max_backlog: 0,
                shutdown: 0,
                error: None,
                embryo: false,
            }),
        })
    }

    /// socketpair: two sockets connected to each other.
    pub fn pair(net: &Rc<UnixNet>, ids: (u64, u64), kind: i32, cred: Ucred) -> [Rc<UnixSock>; 2] {
        let a = UnixSock::new(net, ids.0, kind, cred);
        let b = UnixSock::new(net, ids.1, kind, cred);
        for (x, y) in [(&a, &b), (&b, &a)] {
            let mut st = x.st.borrow_mut();
            st.conn = Conn::Connected;
            st.peer = Some(Rc::downgrade(y));
            st.peer_cred = Some(cred);
        }
        [a, b]
    }

    fn connection_oriented(&self) -> bool {
        self.kind != SOCK_DGRAM
    }

    /// The caller's credentials, remembered for a later write(2).
    fn sender(&self, env: &dyn SocketEnv) -> Ucred {
        if let Some(c) = env.cred() {
            self.cred.set(c);
        }
        self.cred.get()
    }

    /// The socket named `addr`: ECONNREFUSED for a name nobody holds.
    fn lookup(&self, env: &mut dyn SocketEnv, addr: &[u8]) -> KResult<Rc<UnixSock>> {
        let net = self.net.upgrade().ok_or(Errno::ECONNREFUSED)?;
        let found = match parse(addr)? {
            Name::Unnamed => return Err(Errno::EINVAL),
            Name::Path(path) => env.lookup_path(&path)?,
            Name::Abstract(name) => net.names.borrow().get(&name).and_then(Weak::upgrade),
        };
        let other = found.ok_or(Errno::ECONNREFUSED)?;
        if other.kind != self.kind {
            return Err(Errno::EPROTOTYPE);
        }
        Ok(other)
    }

    /// Linux's unix_autobind: an abstract name of five hex digits.
    fn autobind(&self) -> KResult<()> {
        let net = self.net.upgrade().ok_or(Errno::ENOMEM)?;
        if self.st.borrow().addr.is_some() {
            return Ok(());
        }
        let mut names = net.names.borrow_mut();
        for _ in 0..=0xfffff {
            let n = net.next_auto.get();
            net.next_auto.set((n + 1) & 0xfffff);
            let name = format!("\0{n:05x}").into_bytes();
            if names.get(&name).is_none_or(|w| w.strong_count() == 0) {
                names.insert(name.clone(), self.me.clone());
                self.st.borrow_mut().addr = Some(name);
                return Ok(());
            }
        }
        Err(Errno::ENOSPC)
    }

    /// Charges `bytes` to this socket as sender: ENOBUFS when the
    /// kernel's sockets hold all they may.
    fn charge(&self, bytes: usize) -> KResult<Charge> {
        let net = self.net.upgrade().ok_or(Errno::ENOBUFS)?;
        let bytes = bytes + MSG_OVERHEAD;
        if net.queued.get() + bytes > QUEUED_MAX {
            return Err(Errno::ENOBUFS);
        }
        net.queued.set(net.queued.get() + bytes);
        self.wmem.bytes.set(self.wmem.bytes.get() + bytes);
        Ok(Charge {
            owner: self.wmem.clone(),
            net: self.net.clone(),
            bytes,
        })
    }

    /// Whether this sender has room (Linux waits while sk_wmem_alloc is
    /// at sk_sndbuf).
    fn has_room(&self) -> bool {
        self.wmem.bytes.get() < self.opts.borrow().sndbuf
    }

    fn passed(&self, fds: Vec<Rc<OpenFile>>) -> Vec<Passed> {
        match self.net.upgrade() {
            Some(net) => fds.into_iter().map(|f| Passed::new(f, &net)).collect(),
            None => Vec::new(),
        }
    }

    fn message_cred(&self, env: &dyn SocketEnv, msg: &SendMsg) -> KResult<Ucred> {
        let own = self.sender(env);
        match msg.cred {
            Some(c) if c != own && !env.may_send_cred(&c) => Err(Errno::EPERM),
            Some(c) => Ok(c),
            None => Ok(own),
        }
    }
}

impl Socket for UnixSock {
    fn id(&self) -> u64 {
        self.id
    }

    fn family(&self) -> i32 {
        AF_UNIX
    }

    fn kind(&self) -> i32 {
        self.kind
    }

    fn opts(&self) -> &RefCell<SockOpts> {
        &self.opts
    }

    /// unix_bind: a path becomes a socket node, an abstract name is
    /// taken while the socket lives, the family alone autobinds.
    fn bind(&self, env: &mut dyn SocketEnv, addr: &[u8]) -> KResult<()> {
        let name = parse(addr)?;
        if let Name::Unnamed = name {
            return self.autobind();
        }
        if self.st.borrow().addr.is_some() {
            // Linux makes a path's node before it looks whether the
            // socket has a name: a path that exists is EADDRINUSE first.
            if let Name::Path(path) = &name {
                if env.lookup_path(path).is_ok() {
                    return Err(Errno::EADDRINUSE);
                }
            }
            return Err(Errno::EINVAL);
        }
        let stored = match name {
            Name::Unnamed => unreachable!("autobound above"),
            Name::Path(path) => {
                env.bind_path(&path, self.me.clone())?;
                let mut stored = path;
                stored.push(0);
                stored
            }
            Name::Abstract(name) => {
                let net = self.net.upgrade().ok_or(Errno::ENOMEM)?;
                let mut names = net.names.borrow_mut();
                if names.get(&name).is_some_and(|w| w.strong_count() > 0) {
                    return Err(Errno::EADDRINUSE);
                }
                names.insert(name.clone(), self.me.clone());
                name
            }
        };
        self.st.borrow_mut().addr = Some(stored);
        Ok(())
    }

    fn listen(&self, env: &mut dyn SocketEnv, backlog: i32) -> KResult<()> {
        if self.kind == SOCK_DGRAM {
            return Err(Errno::EOPNOTSUPP);
        }
        let mut st = self.st.borrow_mut();
        if st.addr.is_none() || st.conn == Conn::Connected {
            return Err(Errno::EINVAL);
        }
        // A negative backlog is a large unsigned one, as in Linux.
        st.max_backlog = (backlog as u32 as usize).min(SOMAXCONN);
        if st.conn != Conn::Listening {
            st.conn = Conn::Listening;
            st.peer_cred = env.peer_cred();
        }
        note_wake(self.id);
        Ok(())
    }

    fn connect(&self, env: &mut dyn SocketEnv, addr: &[u8], nonblock: bool) -> OpResult<()> {
        if self.kind == SOCK_DGRAM {
            if addr.len() >= 2 && u16::from_le_bytes([addr[0], addr[1]]) == 0 {
                // AF_UNSPEC: dissolve the association.
                self.st.borrow_mut().peer = None;
                return Ok(());
            }
            let target = self.lookup(env, addr)?;
            if self.opts.borrow().passcred {
                self.autobind()?;
            }
            let back = {
                let t = target.st.borrow();
                t.peer.as_ref().is_none_or(|p| p.ptr_eq(&self.me))
            };
            if !back {
                return Err(Errno::EPERM.into());
            }
            self.sender(env);
            // The target may be this socket itself: its state is read
            // before this one's is changed.
            let cred = target.st.borrow().peer_cred.or(Some(target.cred.get()));
            let mut st = self.st.borrow_mut();
            st.peer = Some(Rc::downgrade(&target));
            st.peer_cred = cred;
            return Ok(());
        }
        parse(addr)?;
        match self.st.borrow().conn {
            Conn::Connected => return Err(Errno::EISCONN.into()),
            Conn::Listening => return Err(Errno::EINVAL.into()),
            Conn::Unconnected => {}
        }
        let other = self.lookup(env, addr)?;
        {
            let o = other.st.borrow();
            if o.conn != Conn::Listening || o.shutdown & RCV_SHUTDOWN != 0 {
                return Err(Errno::ECONNREFUSED.into());
            }
            if o.backlog.len() > o.max_backlog {
                return Err(if nonblock {
                    Errno::EAGAIN.into()
                } else {
                    block(other.id)
                });
            }
        }
        if self.opts.borrow().passcred {
            self.autobind()?;
        }
        let net = self.net.upgrade().ok_or(Errno::ECONNREFUSED)?;
        let cred = env.peer_cred().unwrap_or(self.cred.get());
        self.sender(env);
        let embryo = UnixSock::new(&net, env.new_id(), self.kind, self.cred.get());
        let (listener_addr, listener_cred) = {
            let o = other.st.borrow();
            (o.addr.clone(), o.peer_cred)
        };
        embryo.opts.borrow_mut().passcred = other.opts.borrow().passcred;
        {
            let mut e = embryo.st.borrow_mut();
            e.addr = listener_addr;
            e.conn = Conn::Connected;
            e.peer = Some(self.me.clone());
            e.peer_cred = Some(cred);
            e.embryo = true;
        }
        {
            let mut st = self.st.borrow_mut();
            st.conn = Conn::Connected;
            st.peer = Some(Rc::downgrade(&embryo));
            st.peer_cred = listener_cred;
        }
        other.st.borrow_mut().backlog.push_back(embryo);
        note_wake(other.id);
        Ok(())
    }

    fn accept(&self, nonblock: bool) -> OpResult<Rc<dyn Socket>> {
        if self.kind == SOCK_DGRAM {
            return Err(Errno::EOPNOTSUPP.into());
        }
        let mut st = self.st.borrow_mut();
        if st.conn != Conn::Listening {
            return Err(Errno::EINVAL.into());
        }
        let Some(sock) = st.backlog.pop_front() else {
            return Err(if nonblock {
                Errno::EAGAIN.into()
            } else {
                block(self.id)
            });
        };
        drop(st);
        sock.st.borrow_mut().embryo = false;
        // A connect waiting for room in the backlog may go on.
        note_wake(self.id);
        Ok(sock)
    }

    fn sendmsg(&self, env: &mut dyn SocketEnv, msg: SendMsg, nonblock: bool) -> OpResult<usize> {
        let passes = !msg.fds.is_empty();
        let r = if self.kind == SOCK_STREAM {
            self.send_stream(env, msg, nonblock)
        } else {
            self.send_dgram(env, msg, nonblock)
        };
        if passes {
            if let Some(net) = self.net.upgrade() {
                net.collect();
            }
        }
        r
    }

    fn recvmsg(&self, len: usize, flags: u32, nonblock: bool) -> OpResult<RecvMsg> {
        if self.kind == SOCK_STREAM {
            self.recv_stream(len, flags, nonblock)
        } else {
            self.recv_dgram(len, flags, nonblock)
        }
    }

    /// unix_shutdown: this side's directions, and the peer's opposite
    /// ones on a connection.
    fn shutdown(&self, how: i32) -> KResult<()> {
        if !(0..=2).contains(&how) {
            return Err(Errno::EINVAL);
        }
        let mode = (how + 1) as u8;
        let peer = {
            let mut st = self.st.borrow_mut();
            st.shutdown |= mode;
            st.peer.as_ref().and_then(Weak::upgrade)
        };
        note_wake(self.id);
        if let (true, Some(peer)) = (self.connection_oriented(), peer) {
            let mut peer_mode = 0;
            if mode & RCV_SHUTDOWN != 0 {
                peer_mode |= SEND_SHUTDOWN;
            }
            if mode & SEND_SHUTDOWN != 0 {
                peer_mode |= RCV_SHUTDOWN;
            }
            peer.st.borrow_mut().shutdown |= peer_mode;
            note_wake(peer.id);
        }
        Ok(())
    }

    fn sockname(&self) -> Vec<u8> {
        sockaddr(self.st.borrow().addr.as_deref())
    }

    fn peername(&self) -> KResult<Vec<u8>> {
        let peer = {
            let st = self.st.borrow();
            if st.conn == Conn::Listening {
                return Err(Errno::ENOTCONN);
            }
            st.peer.as_ref().and_then(Weak::upgrade)
        };
        match peer {
            Some(p) => Ok(p.sockname()),
            // A connection whose peer has gone still names nobody.
            None if self.st.borrow().conn == Conn::Connected => Ok(sockaddr(None)),
            None => Err(Errno::ENOTCONN),
        }
    }

    /// unix_poll and unix_dgram_poll.
    fn poll(&self) -> u16 {
        let Ok(st) = self.st.try_borrow() else {
            return 0;
        };
        let mut mask = 0;
        if st.error.is_some() {
            mask |= POLLERR;
        }
        if st.shutdown == SHUTDOWN_MASK {
            mask |= POLLHUP;
        }
        if st.shutdown & RCV_SHUTDOWN != 0 {
            mask |= POLLRDHUP | POLLIN | POLLRDNORM;
        }
        if !st.recvq.is_empty() || !st.backlog.is_empty() {
            mask |= POLLIN | POLLRDNORM;
        }
        if self.connection_oriented() && st.conn == Conn::Unconnected {
            mask |= POLLHUP;
        }
        if st.conn == Conn::Listening {
            return mask;
        }
        let mut writable = self.wmem.bytes.get() * 4 <= self.opts.borrow().sndbuf;
        if self.kind == SOCK_DGRAM {
            if let Some(other) = st.peer.as_ref().and_then(Weak::upgrade) {
                if let Ok(o) = other.st.try_borrow() {
                    let back = o.peer.as_ref().is_some_and(|p| p.ptr_eq(&self.me));
                    writable &= back || o.recvq.len() <= MAX_DGRAM_QLEN;
                }
            }
        }
        if writable {
            mask |= POLLOUT | POLLWRNORM | POLLWRBAND;
        }
        mask
    }

    /// unix_inq_len: a stream's or seqpacket's queued bytes, a datagram
    /// socket's next message.
    fn inq(&self) -> KResult<usize> {
        let st = self.st.borrow();
        if st.conn == Conn::Listening {
            return Err(Errno::EINVAL);
        }
        Ok(if self.kind == SOCK_DGRAM {
            st.recvq.front().map_or(0, |m| m.data.len())
        } else {
            st.recvq.iter().map(|m| m.data.len() - m.read).sum()
        })
    }

    fn listening(&self) -> bool {
        self.st.borrow().conn == Conn::Listening
    }

    fn peer_cred(&self) -> Option<Ucred> {
        self.st.borrow().peer_cred
    }

    fn take_error(&self) -> Option<Errno> {
        self.st.borrow_mut().error.take()
    }

    fn sigpipe(&self) -> bool {
        self.kind == SOCK_STREAM
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// unix_release_sock: the name goes, the peer of a connection sees it
/// end (ECONNRESET if data was left unread or it was never accepted),
/// and what the queues held is dropped.
impl Drop for UnixSock {
    fn drop(&mut self) {
        let net = self.net.upgrade();
        let st = self.st.get_mut();
        if let (Some(net), Some(addr)) = (&net, &st.addr) {
            let mut names = net.names.borrow_mut();
            if names.get(addr).is_some_and(|w| w.strong_count() == 0) {
                names.remove(addr);
            }
        }
        if self.kind != SOCK_DGRAM {
            if let Some(peer) = st.peer.as_ref().and_then(Weak::upgrade) {
                if let Ok(mut p) = peer.st.try_borrow_mut() {
                    p.shutdown = SHUTDOWN_MASK;
                    if !st.recvq.is_empty() || st.embryo {
                        p.error = Some(Errno::ECONNRESET);
                    }
                }
                note_wake(peer.id);
            }
        }
        let queue = std::mem::take(&mut st.recvq);
        let backlog = std::mem::take(&mut st.backlog);
        drop(queue);
        drop(backlog);
        if let Some(net) = net {
            net.collect();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::file::O_RDWR;
    use crate::fs::socket::SocketFile;

    /// A caller with no file system, for sockets made here.
    struct TestEnv(u64);

    impl SocketEnv for TestEnv {
        fn cred(&self) -> Option<Ucred> {
            Some(Ucred::default())
        }
        fn peer_cred(&self) -> Option<Ucred> {
            Some(Ucred::default())
        }
        fn bind_path(&mut self, _: &[u8], _: Weak<UnixSock>) -> KResult<()> {
            Err(Errno::ENOENT)
        }
        fn lookup_path(&mut self, _: &[u8]) -> KResult<Option<Rc<UnixSock>>> {
            Err(Errno::ENOENT)
        }
        fn new_id(&mut self) -> u64 {
            self.0 += 1;
            self.0
        }
        fn may_send_cred(&self, _: &Ucred) -> bool {
            true
        }
    }

    fn pair(net: &Rc<UnixNet>, env: &mut TestEnv, kind: i32) -> [Rc<UnixSock>; 2] {
        let ids = (env.new_id(), env.new_id());
        UnixSock::pair(net, ids, kind, Ucred::default())
    }

    fn send(
        sock: &UnixSock,
        env: &mut TestEnv,
        data: &[u8],
        fds: Vec<Rc<OpenFile>>,
    ) -> OpResult<usize> {
        let msg = SendMsg {
            data,
            addr: None,
            fds,
            cred: None,
        };
        sock.sendmsg(env, msg, true)
    }

    fn file(sock: Rc<UnixSock>) -> Rc<OpenFile> {
        Rc::new(OpenFile::new(Box::new(SocketFile { sock }), O_RDWR))
    }

    #[test]
    fn a_sender_holds_at_most_its_send_buffer() {
        let net = Rc::new(UnixNet::default());
        let env = &mut TestEnv(0);
        let [a, _b] = pair(&net, env, SOCK_STREAM);
        let data = vec![7; 1 << 20];
        let mut sent = 0;
        while let Ok(n) = send(&a, env, &data, Vec::new()) {
            sent += n;
        }
        assert!(matches!(
            send(&a, env, &data, Vec::new()),
            Err(OpError::Errno(Errno::EAGAIN))
        ));
        let sndbuf = a.opts.borrow().sndbuf;
        assert!(
            sent >= sndbuf / 2 && sent <= sndbuf + STREAM_CHUNK,
            "{sent}"
        );
        assert_eq!(net.queued.get(), a.wmem.bytes.get());
    }

    #[test]
    fn all_sockets_together_hold_at_most_queued_max() {
        let net = Rc::new(UnixNet::default());
        let env = &mut TestEnv(0);
        let data = vec![1; STREAM_CHUNK];
        let mut pairs = Vec::new();
        let full = loop {
            let [a, b] = pair(&net, env, SOCK_STREAM);
            let r = loop {
                match send(&a, env, &data, Vec::new()) {
                    Ok(_) => {}
                    Err(e) => break e,
                }
            };
            pairs.push((a, b));
            if let OpError::Errno(Errno::ENOBUFS) = r {
                break pairs.len();
            }
            assert!(pairs.len() < 1000, "never ENOBUFS");
        };
        assert!(net.queued.get() <= QUEUED_MAX);
        assert!(full * WMEM_DEFAULT_MIN <= QUEUED_MAX, "{full}");
        drop(pairs);
        assert_eq!(net.queued.get(), 0);
    }
    const WMEM_DEFAULT_MIN: usize = crate::fs::socket::WMEM_DEFAULT / 2;

    #[test]
    fn a_socket_in_its_own_queue_is_collected() {
        let net = Rc::new(UnixNet::default());
        let env = &mut TestEnv(0);
        let [a, b] = pair(&net, env, SOCK_STREAM);
        let (fa, fb) = (file(a), file(b));
        let b_sock = SocketFile::of(&fb).unwrap().clone();
        let watch = Rc::downgrade(&fb);
        // b passed over a lands in b's own queue.
        let a_sock = SocketFile::of(&fa).unwrap().clone();
        assert_eq!(
            a_sock
                .sendmsg(
                    env,
                    SendMsg {
                        data: b"x",
                        addr: None,
                        fds: vec![fb.clone()],
                        cred: None
                    },
                    true
                )
                .ok(),
            Some(1)
        );
        drop((fb, b_sock, a_sock));
        assert!(watch.upgrade().is_some(), "held by its own queue");
        // a's going runs the collector.
        drop(fa);
        assert!(watch.upgrade().is_none(), "collected");
        assert_eq!(net.queued.get(), 0);
    }

    #[test]
    fn files_in_flight_to_an_open_socket_stay() {
        let net = Rc::new(UnixNet::default());
        let env = &mut TestEnv(0);
        let [a, b] = pair(&net, env, SOCK_STREAM);
        let [c, _d] = pair(&net, env, SOCK_STREAM);
        let fc = file(c);
        let watch = Rc::downgrade(&fc);
        assert_eq!(send(&a, env, b"x", vec![fc]).ok(), Some(1));
        net.collect();
        assert!(
            watch.upgrade().is_some(),
            "b is open: what it holds is reachable"
        );
        let got = b.recvmsg(8, 0, true).ok().unwrap();
        assert_eq!(got.fds.len(), 1);
        drop(got);
        assert!(watch.upgrade().is_none());
    }
}

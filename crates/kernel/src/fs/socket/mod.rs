//! Sockets (Linux's net/socket.c and net/core/sock.c): the part every
//! address family shares.
//!
//! A socket is an open file whose object is a [`SocketFile`], the one
//! `FileOps` kind for every family (Linux's socket_file_ops): read and
//! write are recv and send without flags, poll is the family's. Behind it
//! sits the family's [`Socket`] (Linux's proto_ops): bind, connect,
//! listen, accept, sendmsg, recvmsg, shutdown, names and readiness.
//! AF_UNIX is `unix.rs`; another family is another implementation of the
//! trait, and the system calls (`syscall/socket.rs`) stay as they are.
//!
//! The SOL_SOCKET options are the same for every family and live here
//! ([`SockOpts`], [`getsockopt`], [`setsockopt`]), as in Linux's
//! sock_setsockopt; the family answers the ones that depend on its state
//! (SO_ERROR, SO_ACCEPTCONN, SO_PEERCRED) and any other level.
//!
//! Like every file object, a socket never blocks: an operation that must
//! wait returns `OpError::Block` and the system-call layer blocks, with
//! SO_RCVTIMEO or SO_SNDTIMEO as its deadline.

pub mod unix;

use super::file::{fionread, FileOps, Io, OpResult, Processes, Readiness, FIONREAD};
use super::stat::Stat;
use super::Vfs;
use crate::errno::{Errno, KResult};
use std::any::Any;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

/// statfs's f_type of a socket (sockfs).
const SOCKFS_MAGIC: u64 = 0x534f_434b;

pub const AF_UNSPEC: i32 = 0;
pub const AF_UNIX: i32 = 1;

pub const SOCK_STREAM: i32 = 1;
pub const SOCK_DGRAM: i32 = 2;
pub const SOCK_RAW: i32 = 3;
pub const SOCK_SEQPACKET: i32 = 5;
/// The largest socket type number (Linux's SOCK_MAX - 1 is SOCK_PACKET).
pub const SOCK_TYPE_MAX: i32 = 10;

pub const MSG_OOB: u32 = 0x1;
pub const MSG_PEEK: u32 = 0x2;
pub const MSG_CTRUNC: u32 = 0x8;
pub const MSG_TRUNC: u32 = 0x20;
pub const MSG_DONTWAIT: u32 = 0x40;
pub const MSG_WAITALL: u32 = 0x100;
pub const MSG_NOSIGNAL: u32 = 0x4000;
pub const MSG_WAITFORONE: u32 = 0x10000;
pub const MSG_CMSG_CLOEXEC: u32 = 0x4000_0000;

pub const SOL_SOCKET: i32 = 1;
pub const SCM_RIGHTS: i32 = 1;
pub const SCM_CREDENTIALS: i32 = 2;

const SO_DEBUG: i32 = 1;
const SO_REUSEADDR: i32 = 2;
const SO_TYPE: i32 = 3;
const SO_ERROR: i32 = 4;
const SO_DONTROUTE: i32 = 5;
const SO_BROADCAST: i32 = 6;
const SO_SNDBUF: i32 = 7;
const SO_RCVBUF: i32 = 8;
const SO_KEEPALIVE: i32 = 9;
const SO_OOBINLINE: i32 = 10;
const SO_PRIORITY: i32 = 12;
const SO_LINGER: i32 = 13;
const SO_REUSEPORT: i32 = 15;
pub const SO_PASSCRED: i32 = 16;
const SO_PEERCRED: i32 = 17;
const SO_RCVLOWAT: i32 = 18;
const SO_SNDLOWAT: i32 = 19;
const SO_RCVTIMEO: i32 = 20;
const SO_SNDTIMEO: i32 = 21;
const SO_ACCEPTCONN: i32 = 30;
const SO_SNDBUFFORCE: i32 = 32;
const SO_RCVBUFFORCE: i32 = 33;
const SO_PROTOCOL: i32 = 38;
const SO_DOMAIN: i32 = 39;
const SO_RCVTIMEO_NEW: i32 = 66;
const SO_SNDTIMEO_NEW: i32 = 67;

/// net.core.wmem_default and rmem_default: a new socket's buffers.
pub const WMEM_DEFAULT: usize = 212_992;
/// net.core.wmem_max and rmem_max: the most SO_SNDBUF and SO_RCVBUF set
/// (before Linux doubles the value).
const WMEM_MAX: usize = 212_992;
/// The most SO_SNDBUFFORCE sets: a socket's buffer is host memory, so
/// privilege does not lift the bound (Linux's is INT_MAX).
const FORCE_MAX: usize = 1 << 20;
/// Linux's SOCK_MIN_SNDBUF and SOCK_MIN_RCVBUF on 64-bit.
const SOCK_MIN_SNDBUF: usize = 4608;
const SOCK_MIN_RCVBUF: usize = 2304;

/// A process's credentials as sockets pass them (struct ucred).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ucred {
    pub pid: u32,
    pub uid: u32,
    pub gid: u32,
}

impl Ucred {
    pub fn bytes(&self) -> [u8; 12] {
        let mut b = [0; 12];
        b[..4].copy_from_slice(&self.pid.to_le_bytes());
        b[4..8].copy_from_slice(&self.uid.to_le_bytes());
        b[8..].copy_from_slice(&self.gid.to_le_bytes());
        b
    }
}

/// What a socket needs of the rest of the kernel during one call: who
/// calls, and the file system for AF_UNIX path names. The system-call
/// layer implements it (files sit below tasks).
pub trait SocketEnv {
    /// The caller's process id and real ids (SCM_CREDENTIALS's default);
    /// None when the call has no caller to say (a write(2)).
    fn cred(&self) -> Option<Ucred>;
    /// The caller's process id and effective ids (SO_PEERCRED's).
    fn peer_cred(&self) -> Option<Ucred>;
    /// Makes a socket node at `path` for `sock` (mknod with S_IFSOCK):
    /// EADDRINUSE when the name exists, else the path's errno.
    fn bind_path(&mut self, path: &[u8], sock: std::rc::Weak<unix::UnixSock>) -> KResult<()>;
    /// The socket bound at `path`: the path's errno, Ok(None) for a node
    /// that is not a live socket (ECONNREFUSED to the caller).
    fn lookup_path(&mut self, path: &[u8]) -> KResult<Option<Rc<unix::UnixSock>>>;
    /// A new kernel-wide unique id (an inode number) for a new socket.
    fn new_id(&mut self) -> u64;
    /// Whether credentials a sender names are its own to send (Linux's
    /// scm_check_creds): its pid, ids among its real, effective and
    /// saved ones, or privilege.
    fn may_send_cred(&self, cred: &Ucred) -> bool;
}

/// A message to send: its bytes, the destination (sendto's), the files
/// (SCM_RIGHTS) and credentials (SCM_CREDENTIALS) it carries.
pub struct SendMsg<'a> {
    pub data: &'a [u8],
    pub addr: Option<&'a [u8]>,
    pub fds: Vec<Rc<super::OpenFile>>,
    pub cred: Option<Ucred>,
}

/// What a receive took: the bytes, the length reported (the whole
/// datagram's with MSG_TRUNC), the sender's address, what came with it,
/// and msg_flags.
#[derive(Default)]
pub struct RecvMsg {
    pub data: Vec<u8>,
    pub len: usize,
    pub addr: Option<Vec<u8>>,
    pub fds: Vec<Rc<super::OpenFile>>,
    pub cred: Option<Ucred>,
    pub flags: u32,
}

/// A family's socket (Linux's proto_ops). Every method may assume its
/// arguments were decoded; the errnos are the family's.
pub trait Socket {
    /// Kernel-wide unique: the inode number (`socket:[N]`) and what its
    /// changes are announced with (`pipe::note_wake`).
    fn id(&self) -> u64;
    fn family(&self) -> i32;
    /// SOCK_STREAM, SOCK_DGRAM or SOCK_SEQPACKET.
    fn kind(&self) -> i32;
    fn protocol(&self) -> i32 {
        0
    }
    /// The SOL_SOCKET options.
    fn opts(&self) -> &RefCell<SockOpts>;

    fn bind(&self, env: &mut dyn SocketEnv, addr: &[u8]) -> KResult<()>;
    fn listen(&self, env: &mut dyn SocketEnv, backlog: i32) -> KResult<()>;
    fn connect(&self, env: &mut dyn SocketEnv, addr: &[u8], nonblock: bool) -> OpResult<()>;
    /// The next connection, as a new socket.
    fn accept(&self, nonblock: bool) -> OpResult<Rc<dyn Socket>>;
    /// Sends what it can of `msg` now: how much (a stream may take part),
    /// or Block when it can take nothing.
    fn sendmsg(&self, env: &mut dyn SocketEnv, msg: SendMsg, nonblock: bool) -> OpResult<usize>;
    /// Receives up to `len` bytes (MSG_PEEK, MSG_TRUNC in `flags`).
    fn recvmsg(&self, len: usize, flags: u32, nonblock: bool) -> OpResult<RecvMsg>;
    fn shutdown(&self, how: i32) -> KResult<()>;
    /// getsockname's address.
    fn sockname(&self) -> Vec<u8>;
    /// getpeername's address, or ENOTCONN.
    fn peername(&self) -> KResult<Vec<u8>>;
    fn poll(&self) -> u16;
    /// SIOCINQ (FIONREAD): the bytes a read would find (a datagram
    /// socket's next message), or the family's errno (EINVAL listening).
    fn inq(&self) -> KResult<usize>;

    fn listening(&self) -> bool;
    /// The peer's credentials at connect time (SO_PEERCRED).
    fn peer_cred(&self) -> Option<Ucred>;
    /// The pending error, cleared (SO_ERROR).
    fn take_error(&self) -> Option<Errno>;
    /// An option of a level other than SOL_SOCKET.
    fn getsockopt_level(&self, _level: i32, _name: i32) -> KResult<Vec<u8>> {
        Err(Errno::EOPNOTSUPP)
    }
    fn setsockopt_level(&self, _level: i32, _name: i32, _val: &[u8]) -> KResult<()> {
        Err(Errno::EOPNOTSUPP)
    }
    /// Whether EPIPE from a send raises SIGPIPE (connection-oriented
    /// sockets: Linux's stream sendmsg does).
    fn sigpipe(&self) -> bool {
        self.kind() == SOCK_STREAM
    }
    fn as_any(&self) -> &dyn Any;
}

/// The SOL_SOCKET options a program sets (struct sock's fields).
pub struct SockOpts {
    pub reuseaddr: bool,
    pub reuseport: bool,
    pub keepalive: bool,
    pub broadcast: bool,
    pub dontroute: bool,
    pub oobinline: bool,
    pub debug: bool,
    pub passcred: bool,
    /// Bytes this socket may have queued and not yet read by the peer.
    pub sndbuf: usize,
    pub rcvbuf: usize,
    pub priority: i32,
    pub rcvlowat: i32,
    /// l_onoff and l_linger.
    pub linger: (i32, i32),
    /// None: wait for ever.
    pub rcvtimeo: Option<Duration>,
    pub sndtimeo: Option<Duration>,
}

impl Default for SockOpts {
    fn default() -> SockOpts {
        SockOpts {
            reuseaddr: false,
            reuseport: false,
            keepalive: false,
            broadcast: false,
            dontroute: false,
            oobinline: false,
            debug: false,
            passcred: false,
            sndbuf: WMEM_DEFAULT,
            rcvbuf: WMEM_DEFAULT,
            priority: 0,
            rcvlowat: 1,
            linger: (0, 0),
            rcvtimeo: None,
            sndtimeo: None,
        }
    }
}

fn int_bytes(v: i32) -> Vec<u8> {
    v.to_le_bytes().to_vec()
}

/// A struct timeval (riscv64: two 64-bit words) for a timeout.
fn timeval_bytes(t: Option<Duration>) -> Vec<u8> {
    let t = t.unwrap_or_default();
    let mut b = (t.as_secs() as i64).to_le_bytes().to_vec();
    b.extend_from_slice(&i64::from(t.subsec_micros()).to_le_bytes());
    b
}

/// A struct timeval set as a timeout (Linux's sock_set_timeout): EDOM
/// for microseconds out of range; zero is for ever, a negative time is
/// "at once" (Linux makes it the smallest wait).
fn timeval_timeout(val: &[u8]) -> KResult<Option<Duration>> {
    if val.len() < 16 {
        return Err(Errno::EINVAL);
    }
    let sec = i64::from_le_bytes(val[..8].try_into().expect("8 bytes"));
    let usec = i64::from_le_bytes(val[8..16].try_into().expect("8 bytes"));
    if !(0..1_000_000).contains(&usec) {
        return Err(Errno::EDOM);
    }
    if sec < 0 {
        return Ok(Some(Duration::from_nanos(1)));
    }
    if sec == 0 && usec == 0 {
        return Ok(None);
    }
    Ok(Some(
        Duration::from_secs(sec as u64) + Duration::from_micros(usec as u64),
    ))
}

/// getsockopt(2): the option's value (the caller copies as much as the
/// guest's length allows).
pub fn getsockopt(sock: &dyn Socket, level: i32, name: i32) -> KResult<Vec<u8>> {
    if level != SOL_SOCKET {
        return sock.getsockopt_level(level, name);
    }
    let o = sock.opts().borrow();
    Ok(match name {
        SO_DEBUG => int_bytes(o.debug.into()),
        SO_REUSEADDR => int_bytes(o.reuseaddr.into()),
        SO_REUSEPORT => int_bytes(o.reuseport.into()),
        SO_KEEPALIVE => int_bytes(o.keepalive.into()),
        SO_BROADCAST => int_bytes(o.broadcast.into()),
        SO_DONTROUTE => int_bytes(o.dontroute.into()),
        SO_OOBINLINE => int_bytes(o.oobinline.into()),
        SO_PASSCRED => int_bytes(o.passcred.into()),
        SO_TYPE => int_bytes(sock.kind()),
        SO_DOMAIN => int_bytes(sock.family()),
        SO_PROTOCOL => int_bytes(sock.protocol()),
        SO_ACCEPTCONN => int_bytes(sock.listening().into()),
        SO_ERROR => int_bytes(sock.take_error().map_or(0, |e| e.0)),
        SO_SNDBUF => int_bytes(o.sndbuf as i32),
        SO_RCVBUF => int_bytes(o.rcvbuf as i32),
        SO_PRIORITY => int_bytes(o.priority),
        SO_RCVLOWAT => int_bytes(o.rcvlowat),
        SO_SNDLOWAT => int_bytes(1),
        SO_LINGER => {
            let mut b = int_bytes(o.linger.0);
            b.extend_from_slice(&o.linger.1.to_le_bytes());
            b
        }
        SO_RCVTIMEO | SO_RCVTIMEO_NEW => timeval_bytes(o.rcvtimeo),
        SO_SNDTIMEO | SO_SNDTIMEO_NEW => timeval_bytes(o.sndtimeo),
        SO_PEERCRED => {
            // No peer: Linux reports pid 0 and the overflow ids.
            let none = Ucred {
                pid: 0,
                uid: 65534,
                gid: 65534,
            };
            sock.peer_cred().unwrap_or(none).bytes().to_vec()
        }
        _ => return Err(Errno::ENOPROTOOPT),
    })
}

/// setsockopt(2). `privileged`: CAP_NET_ADMIN, for the *FORCE options.
pub fn setsockopt(
    sock: &dyn Socket,
    level: i32,
    name: i32,
    val: &[u8],
    privileged: bool,
) -> KResult<()> {
    if level != SOL_SOCKET {
        return sock.setsockopt_level(level, name, val);
    }
    let mut o = sock.opts().borrow_mut();
    match name {
        SO_LINGER => {
            if val.len() < 8 {
                return Err(Errno::EINVAL);
            }
            let word = |i: usize| i32::from_le_bytes(val[i..i + 4].try_into().expect("4 bytes"));
            o.linger = (i32::from(word(0) != 0), word(4));
            return Ok(());
        }
        SO_RCVTIMEO | SO_RCVTIMEO_NEW => {
            o.rcvtimeo = timeval_timeout(val)?;
            return Ok(());
        }
        SO_SNDTIMEO | SO_SNDTIMEO_NEW => {
            o.sndtimeo = timeval_timeout(val)?;
            return Ok(());
        }
        _ => {}
    }
    if val.len() < 4 {
        return Err(Errno::EINVAL);
    }
    let v = i32::from_le_bytes(val[..4].try_into().expect("4 bytes"));
    let on = v != 0;
    // Linux doubles a buffer size to leave room for its bookkeeping, and
    // reports the doubled value.
    let buf = |max: usize, min: usize| ((v.max(0) as usize).min(max) * 2).max(min);
    match name {
        SO_DEBUG => o.debug = on,
        SO_REUSEADDR => o.reuseaddr = on,
        SO_REUSEPORT => o.reuseport = on,
        SO_KEEPALIVE => o.keepalive = on,
        SO_BROADCAST => o.broadcast = on,
        SO_DONTROUTE => o.dontroute = on,
        SO_OOBINLINE => o.oobinline = on,
        SO_PASSCRED => o.passcred = on,
        SO_PRIORITY if (0..=6).contains(&v) || privileged => o.priority = v,
        SO_PRIORITY => return Err(Errno::EPERM),
        SO_RCVLOWAT => o.rcvlowat = v.max(1),
        SO_SNDBUF => o.sndbuf = buf(WMEM_MAX, SOCK_MIN_SNDBUF),
        SO_RCVBUF => o.rcvbuf = buf(WMEM_MAX, SOCK_MIN_RCVBUF),
        SO_SNDBUFFORCE | SO_RCVBUFFORCE if !privileged => return Err(Errno::EPERM),
        // Even with privilege, bounded: a socket's buffer is host memory.
        SO_SNDBUFFORCE => o.sndbuf = buf(FORCE_MAX, SOCK_MIN_SNDBUF),
        SO_RCVBUFFORCE => o.rcvbuf = buf(FORCE_MAX, SOCK_MIN_RCVBUF),
        SO_TYPE | SO_DOMAIN | SO_PROTOCOL | SO_ACCEPTCONN | SO_ERROR | SO_PEERCRED
        | SO_SNDLOWAT => return Err(Errno::ENOPROTOOPT),
        _ => return Err(Errno::ENOPROTOOPT),
    }
    Ok(())
}

/// An open socket (Linux's socket_file_ops over a struct socket).
pub struct SocketFile {
    pub sock: Rc<dyn Socket>,
}

impl SocketFile {
    /// The socket behind an open file, if it is one.
    pub fn of(file: &super::OpenFile) -> Option<&Rc<dyn Socket>> {
        file.downcast::<SocketFile>().map(|s| &s.sock)
    }
}

/// A read or write with no environment: what a write(2) says of its
/// sender (the credentials the socket last saw, see `unix.rs`).
struct NoEnv;

impl SocketEnv for NoEnv {
    fn cred(&self) -> Option<Ucred> {
        None
    }
    fn peer_cred(&self) -> Option<Ucred> {
        None
    }
    fn bind_path(&mut self, _: &[u8], _: std::rc::Weak<unix::UnixSock>) -> KResult<()> {
        Err(Errno::EINVAL)
    }
    fn lookup_path(&mut self, _: &[u8]) -> KResult<Option<Rc<unix::UnixSock>>> {
        Err(Errno::EINVAL)
    }
    fn new_id(&mut self) -> u64 {
        0
    }
    fn may_send_cred(&self, _: &Ucred) -> bool {
        false
    }
}

impl FileOps for SocketFile {
    fn name(&self) -> String {
        format!("socket:[{}]", self.sock.id())
    }

    /// recv(2) without flags.
    fn read(&self, nonblock: bool, len: usize) -> OpResult<Vec<u8>> {
        self.sock.recvmsg(len, 0, nonblock).map(|m| m.data)
    }

    /// send(2) without flags: what fits now (a blocking write that finds
    /// room for part of its bytes returns that part).
    fn write(&self, nonblock: bool, data: &[u8]) -> OpResult<usize> {
        let msg = SendMsg {
            data,
            addr: None,
            fds: Vec::new(),
            cred: None,
        };
        self.sock.sendmsg(&mut NoEnv, msg, nonblock)
    }

    fn write_raises_sigpipe(&self) -> bool {
        self.sock.sigpipe()
    }

    /// FIONREAD is SIOCINQ; the other socket ioctls are not there yet.
    fn ioctl(&self, io: &mut Io, cmd: u32, arg: u64) -> OpResult<u64> {
        match cmd {
            FIONREAD => fionread(io, arg, self.sock.inq()? as u64),
            _ => Err(Errno::ENOTTY.into()),
        }
    }

    fn poll(&self, _events: u16, _procs: &dyn Processes) -> Readiness {
        Readiness {
            mask: self.sock.poll(),
            key: Some(crate::wait::PollKey::File(self.sock.id())),
        }
    }

    /// sockfs's inode: S_IFSOCK, mode 0777.
    fn stat(&self, _vfs: &Vfs) -> KResult<Stat> {
        Ok(Stat::kernel_inode(
            0x8,
            self.sock.id(),
            super::S_IFSOCK | 0o777,
        ))
    }

    fn magic(&self) -> u64 {
        SOCKFS_MAGIC
    }

    /// A socket has no position: pread and pwrite are ESPIPE.
    fn positioned(&self) -> bool {
        false
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

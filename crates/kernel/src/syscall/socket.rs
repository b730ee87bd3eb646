//! Socket system calls (Linux's net/socket.c): socket, socketpair, bind,
//! listen, connect, accept4, the send and receive calls, shutdown, names
//! and options. They decode the guest's arguments (addresses, msghdrs,
//! iovecs, control messages), find the socket behind the fd (ENOTSOCK
//! for another file) and call it (`fs/socket/`); the family does the
//! rest.
//!
//! Blocking: a socket returns what it waits for; the call blocks, with
//! SO_RCVTIMEO or SO_SNDTIMEO as its deadline (EAGAIN when it passes,
//! and EINTR after a handler whatever SA_RESTART says, as Linux's
//! sock_intr_errno; without a timeout the call restarts under
//! SA_RESTART). A stream send or a MSG_WAITALL receive that blocks
//! partway keeps what it has done in its restart word and goes on from
//! there.
//!
//! A little over 800 lines: the eighteen socket calls and the decoding of
//! what they share (addresses, msghdr, control messages), in one place so
//! every family gets the same decoding.

use super::fs::{fd_install, file, lookup_at, parent_at, permitted, raise_sigpipe};
use super::{int, AT_FDCWD};
use crate::errno::{Errno, KResult};
use crate::fs::file::{OpError, OpResult, OpenFile, O_CLOEXEC, O_NONBLOCK, O_RDWR};
use crate::fs::socket::unix::{UnixSock, SCM_MAX_FD};
use crate::fs::socket::{self, RecvMsg, SendMsg, Socket, SocketEnv, SocketFile, Ucred};
use crate::fs::socket::{AF_UNIX, MSG_CMSG_CLOEXEC, MSG_CTRUNC, MSG_DONTWAIT, MSG_NOSIGNAL};
use crate::fs::socket::{MSG_PEEK, MSG_WAITALL, MSG_WAITFORONE, SCM_CREDENTIALS, SCM_RIGHTS};
use crate::fs::socket::{SOCK_DGRAM, SOCK_RAW, SOCK_SEQPACKET, SOCK_STREAM, SOCK_TYPE_MAX};
use crate::fs::socket::{SOL_SOCKET, WMEM_DEFAULT};
use crate::fs::{Data, S_IFSOCK};
use crate::task::Kernel;
use crate::wait::WaitReason;
use std::rc::{Rc, Weak};
use std::time::Duration;

/// Linux's NPROTO: families are below it.
const NPROTO: i32 = 46;
/// sizeof(struct sockaddr_storage): the longest address a call takes.
const SOCKADDR_MAX: u64 = 128;
/// SOCK_TYPE_MASK: the type's bits; the rest are flags.
const SOCK_TYPE_MASK: i32 = 0xf;
/// net.core.optmem_max: the most control data a send takes.
const OPTMEM_MAX: u64 = 131_072;
/// UIO_MAXIOV, also the most messages sendmmsg and recvmmsg take.
const UIO_MAXIOV: u64 = 1024;
/// sizeof(struct cmsghdr) on 64-bit.
const CMSG_HDR: usize = 16;
/// sizeof(struct msghdr) and sizeof(struct mmsghdr) on riscv64.
const MSGHDR_SIZE: u64 = 56;
const MMSGHDR_SIZE: u64 = 64;
/// The most bytes a send or receive moves between guest memory and a
/// socket per step: more than any datagram may hold (SO_SNDBUF's bound).
const WINDOW: usize = 4 << 20;

fn cmsg_align(len: usize) -> usize {
    (len + 7) & !7
}

/// What sockets ask of the kernel during one call.
struct Env<'a>(&'a mut Kernel);

impl SocketEnv for Env<'_> {
    fn cred(&self) -> Option<Ucred> {
        let c = self.0.cred();
        Some(Ucred {
            pid: self.0.current().group.borrow().tgid,
            uid: c.uid,
            gid: c.gid,
        })
    }

    fn peer_cred(&self) -> Option<Ucred> {
        let c = self.0.cred();
        Some(Ucred {
            pid: self.0.current().group.borrow().tgid,
            uid: c.euid,
            gid: c.egid,
        })
    }

    /// unix_bind's mknod: S_IFSOCK with the socket inode's 0777 less the
    /// umask, in a directory the caller may write; an existing name is
    /// EADDRINUSE.
    fn bind_path(&mut self, path: &[u8], sock: Weak<UnixSock>) -> KResult<()> {
        let k = &mut *self.0;
        let parent = parent_at(k, AT_FDCWD, path)?;
        if k.vfs.lookup(&parent.dir, &parent.name).is_ok() {
            return Err(Errno::EADDRINUSE);
        }
        if !permitted(k, &parent.dir, 3) {
            return Err(Errno::EACCES);
        }
        let umask = k.current().fs.borrow().umask;
        let mode = S_IFSOCK | (0o777 & !umask);
        match super::fs::create(k, &parent.dir, &parent.name, mode, Data::Socket(sock)) {
            Err(Errno::EEXIST) => Err(Errno::EADDRINUSE),
            r => r.map(drop),
        }
    }

    /// unix_find_bsd: the path (following symlinks), which the caller
    /// must be allowed to write.
    fn lookup_path(&mut self, path: &[u8]) -> KResult<Option<Rc<UnixSock>>> {
        let k = &mut *self.0;
        let loc = lookup_at(k, AT_FDCWD, path, true, false)?;
        if !permitted(k, &loc, 2) {
            return Err(Errno::EACCES);
        }
        let found = match &loc.inode.borrow().data {
            Data::Socket(sock) => sock.upgrade(),
            _ => None,
        };
        Ok(found)
    }

    fn new_id(&mut self) -> u64 {
        new_id(self.0)
    }

    fn may_send_cred(&self, cred: &Ucred) -> bool {
        let c = self.0.cred();
        let pid = self.0.current().group.borrow().tgid;
        let privileged = c.euid == 0;
        privileged
            || (cred.pid == pid
                && [c.uid, c.euid, c.suid].contains(&cred.uid)
                && [c.gid, c.egid, c.sgid].contains(&cred.gid))
    }
}

/// A kernel-wide unique id, from the inode numbers (as eventfd's).
fn new_id(k: &Kernel) -> u64 {
    let inode = k
        .vfs
        .new_inode(0, Data::File(Default::default()), Duration::ZERO);
    let id = inode.borrow().id;
    id
}

/// The socket open on `fd`: EBADF, or ENOTSOCK for another file.
fn socket_of(k: &Kernel, fd: u64) -> KResult<(Rc<OpenFile>, Rc<dyn Socket>)> {
    let f = file(k, fd)?;
    let sock = SocketFile::of(&f).cloned().ok_or(Errno::ENOTSOCK)?;
    Ok((f, sock))
}

/// Installs `sock` on a new fd with SOCK_NONBLOCK and SOCK_CLOEXEC from
/// `flags`.
fn install(k: &Kernel, sock: Rc<dyn Socket>, flags: i32) -> KResult<u64> {
    let flags = flags as u32;
    let file = OpenFile::new(Box::new(SocketFile { sock }), O_RDWR | (flags & O_NONBLOCK));
    fd_install(k, Rc::new(file), flags & O_CLOEXEC != 0, 0)
}

/// Splits socket(2)'s type into the type and its flags: EINVAL for
/// unknown flags or a type out of range.
fn type_and_flags(ty: i32) -> KResult<(i32, i32)> {
    let flags = ty & !SOCK_TYPE_MASK;
    if flags & !((O_NONBLOCK | O_CLOEXEC) as i32) != 0 {
        return Err(Errno::EINVAL);
    }
    Ok((ty & SOCK_TYPE_MASK, flags))
}

/// Checks what socket and socketpair are asked for (Linux's
/// __sock_create and the family's create): the AF_UNIX type.
fn unix_type(family: i32, ty: i32, protocol: i32) -> KResult<i32> {
    if !(0..NPROTO).contains(&family) {
        return Err(Errno::EAFNOSUPPORT);
    }
    if !(0..=SOCK_TYPE_MAX).contains(&ty) {
        return Err(Errno::EINVAL);
    }
    if family != AF_UNIX {
        return Err(Errno::EAFNOSUPPORT);
    }
    if protocol != 0 && protocol != AF_UNIX {
        return Err(Errno::EPROTONOSUPPORT);
    }
    match ty {
        SOCK_STREAM | SOCK_DGRAM | SOCK_SEQPACKET => Ok(ty),
        // Linux treats a raw AF_UNIX socket as a datagram one.
        SOCK_RAW => Ok(SOCK_DGRAM),
        _ => Err(Errno::ESOCKTNOSUPPORT),
    }
}

/// socket(family, type, protocol).
pub fn socket(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (ty, flags) = type_and_flags(int(a[1]))?;
    let ty = unix_type(int(a[0]), ty, int(a[2]))?;
    let cred = Env(k).cred().expect("a caller");
    let sock = UnixSock::new(&k.vfs.unix.clone(), new_id(k), ty, cred);
    install(k, sock, flags)
}

/// socketpair(family, type, protocol, sv).
pub fn socketpair(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (ty, flags) = type_and_flags(int(a[1]))?;
    let ty = unix_type(int(a[0]), ty, int(a[2]))?;
    let cred = Env(k).peer_cred().expect("a caller");
    let ids = (new_id(k), new_id(k));
    let [x, y] = UnixSock::pair(&k.vfs.unix.clone(), ids, ty, cred);
    let fd0 = install(k, x, flags)?;
    let fd1 = match install(k, y, flags) {
        Ok(fd) => fd,
        Err(e) => {
            close_quietly(k, fd0);
            return Err(e);
        }
    };
    let mut sv = (fd0 as i32).to_le_bytes().to_vec();
    sv.extend_from_slice(&(fd1 as i32).to_le_bytes());
    if let Err(e) = k.copy_to_user(a[3], &sv) {
        close_quietly(k, fd0);
        close_quietly(k, fd1);
        return Err(e);
    }
    Ok(0)
}

/// Takes back an fd this call installed.
fn close_quietly(k: &Kernel, fd: u64) {
    let closed = k.current().files.borrow_mut().close(fd);
    drop(closed);
}

/// An address from the guest (Linux's move_addr_to_kernel).
fn read_addr(k: &mut Kernel, addr: u64, len: u64) -> KResult<Vec<u8>> {
    let len = int(len);
    if len < 0 || len as u64 > SOCKADDR_MAX {
        return Err(Errno::EINVAL);
    }
    let mut buf = vec![0; len as usize];
    if len > 0 {
        k.copy_from_user(addr, &mut buf)?;
    }
    Ok(buf)
}

/// An address to the guest (move_addr_to_user): as much as its length
/// allows, and the whole length written back.
fn write_addr(k: &mut Kernel, addr: &[u8], uaddr: u64, ulen: u64) -> KResult<()> {
    let mut b = [0; 4];
    k.copy_from_user(ulen, &mut b)?;
    let len = i32::from_le_bytes(b);
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    let n = (len as usize).min(addr.len());
    if n > 0 {
        k.copy_to_user(uaddr, &addr[..n])?;
    }
    k.write_user_u32(ulen, addr.len() as u32)
}

/// Blocks on `reason` for up to `timeout` (the socket's SO_RCVTIMEO or
/// SO_SNDTIMEO: the first deadline is kept across restarts), keeping
/// `data` for the restarted call.
fn block(k: &mut Kernel, reason: WaitReason, timeout: Option<Duration>, data: u64) -> Errno {
    let Some(t) = timeout else {
        return k.block_with(reason, None, data);
    };
    let deadline = k
        .restart()
        .and_then(|r| r.deadline)
        .unwrap_or_else(|| k.monotonic() + t);
    k.block_with(reason, Some(deadline), data);
    Errno::ERESTARTNOHAND
}

/// Whether this is a restarted call whose timeout passed: it completes
/// without waiting again.
fn timed_out(k: &Kernel) -> bool {
    k.restart().is_some_and(|r| r.timed_out)
}

/// An operation's result, blocking the caller (with `timeout`) on what it
/// waits for.
fn blocking<T>(k: &mut Kernel, r: OpResult<T>, timeout: Option<Duration>) -> KResult<T> {
    r.map_err(|e| match e {
        OpError::Errno(e) => e,
        OpError::Block(reason) => block(k, reason, timeout, 0),
    })
}

/// bind(fd, addr, addrlen).
pub fn bind(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (_, sock) = socket_of(k, a[0])?;
    let addr = read_addr(k, a[1], a[2])?;
    sock.bind(&mut Env(k), &addr)?;
    Ok(0)
}

/// listen(fd, backlog).
pub fn listen(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (_, sock) = socket_of(k, a[0])?;
    sock.listen(&mut Env(k), int(a[1]))?;
    Ok(0)
}

/// connect(fd, addr, addrlen).
pub fn connect(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (f, sock) = socket_of(k, a[0])?;
    let addr = read_addr(k, a[1], a[2])?;
    let nonblock = f.nonblock() || timed_out(k);
    let timeout = sock.opts().borrow().sndtimeo;
    let r = sock.connect(&mut Env(k), &addr, nonblock);
    blocking(k, r, timeout)?;
    Ok(0)
}

fn do_accept(k: &mut Kernel, fd: u64, addr: u64, addrlen: u64, flags: i32) -> KResult<u64> {
    if flags & !((O_NONBLOCK | O_CLOEXEC) as i32) != 0 {
        return Err(Errno::EINVAL);
    }
    let (f, sock) = socket_of(k, fd)?;
    let nonblock = f.nonblock() || timed_out(k);
    let timeout = sock.opts().borrow().rcvtimeo;
    let r = sock.accept(nonblock);
    let new = blocking(k, r, timeout)?;
    if addr != 0 {
        let name = new.peername().unwrap_or_default();
        write_addr(k, &name, addr, addrlen)?;
    }
    install(k, new, flags)
}

/// accept(fd, addr, addrlen).
pub fn accept(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    do_accept(k, a[0], a[1], a[2], 0)
}

/// accept4(fd, addr, addrlen, flags).
pub fn accept4(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    do_accept(k, a[0], a[1], a[2], int(a[3]))
}

/// shutdown(fd, how).
pub fn shutdown(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (_, sock) = socket_of(k, a[0])?;
    sock.shutdown(int(a[1]))?;
    Ok(0)
}

/// getsockname(fd, addr, addrlen).
pub fn getsockname(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (_, sock) = socket_of(k, a[0])?;
    let name = sock.sockname();
    write_addr(k, &name, a[1], a[2])?;
    Ok(0)
}

/// getpeername(fd, addr, addrlen).
pub fn getpeername(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (_, sock) = socket_of(k, a[0])?;
    let name = sock.peername()?;
    write_addr(k, &name, a[1], a[2])?;
    Ok(0)
}

/// getsockopt(fd, level, name, value, len).
pub fn getsockopt(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (_, sock) = socket_of(k, a[0])?;
    let mut b = [0; 4];
    k.copy_from_user(a[4], &mut b)?;
    let len = i32::from_le_bytes(b);
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    let value = socket::getsockopt(&*sock, int(a[1]), int(a[2]))?;
    let n = (len as usize).min(value.len());
    k.copy_to_user(a[3], &value[..n])?;
    k.write_user_u32(a[4], n as u32)?;
    Ok(0)
}

/// setsockopt(fd, level, name, value, len).
pub fn setsockopt(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (_, sock) = socket_of(k, a[0])?;
    let len = int(a[4]);
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    let mut value = vec![0; (len as usize).min(WMEM_DEFAULT)];
    k.copy_from_user(a[3], &mut value)?;
    let privileged = k.cred().euid == 0;
    socket::setsockopt(&*sock, int(a[1]), int(a[2]), &value, privileged)?;
    Ok(0)
}

/// The files (SCM_RIGHTS) and credentials (SCM_CREDENTIALS) of a
/// send's control data (Linux's __scm_send): EINVAL for a malformed
/// header or an unknown type, EBADF for a bad fd.
fn read_cmsgs(k: &mut Kernel, addr: u64, len: u64) -> KResult<(Vec<Rc<OpenFile>>, Option<Ucred>)> {
    if len > i32::MAX as u64 || len > OPTMEM_MAX {
        return Err(Errno::ENOBUFS);
    }
    let mut buf = vec![0; len as usize];
    k.copy_from_user(addr, &mut buf)?;
    let (mut fds, mut cred) = (Vec::new(), None);
    let mut off = 0;
    while buf.len() - off >= CMSG_HDR {
        let h = &buf[off..];
        let cmsg_len = u64::from_le_bytes(h[..8].try_into().expect("8 bytes"));
        let level = i32::from_le_bytes(h[8..12].try_into().expect("4 bytes"));
        let ty = i32::from_le_bytes(h[12..16].try_into().expect("4 bytes"));
        if cmsg_len < CMSG_HDR as u64 || cmsg_len > (buf.len() - off) as u64 {
            return Err(Errno::EINVAL);
        }
        let data = &h[CMSG_HDR..cmsg_len as usize];
        if level == SOL_SOCKET {
            match ty {
                SCM_RIGHTS => {
                    let n = data.len() / 4;
                    if fds.len() + n > SCM_MAX_FD {
                        return Err(Errno::EINVAL);
                    }
                    for fd in data.chunks_exact(4) {
                        let fd = i32::from_le_bytes(fd.try_into().expect("4 bytes"));
                        fds.push(file(k, fd as u32 as u64).map_err(|_| Errno::EBADF)?);
                    }
                }
                SCM_CREDENTIALS => {
                    if data.len() != 12 {
                        return Err(Errno::EINVAL);
                    }
                    let word = |i: usize| u32::from_le_bytes(data[i..i + 4].try_into().expect("4"));
                    cred = Some(Ucred {
                        pid: word(0),
                        uid: word(4),
                        gid: word(8),
                    });
                }
                _ => return Err(Errno::EINVAL),
            }
        }
        off += cmsg_align(cmsg_len as usize);
        if off > buf.len() {
            break;
        }
    }
    Ok((fds, cred))
}

/// One control message into `out`, within `room` bytes (put_cmsg): cut
/// short, and MSG_CTRUNC, when it does not fit.
fn put_cmsg(out: &mut Vec<u8>, room: usize, ty: i32, data: &[u8], flags: &mut u32) {
    let left = room - out.len();
    if left < CMSG_HDR {
        *flags |= MSG_CTRUNC;
        return;
    }
    let mut cmlen = CMSG_HDR + data.len();
    if left < cmlen {
        *flags |= MSG_CTRUNC;
        cmlen = left;
    }
    out.extend_from_slice(&(cmlen as u64).to_le_bytes());
    out.extend_from_slice(&SOL_SOCKET.to_le_bytes());
    out.extend_from_slice(&ty.to_le_bytes());
    out.extend_from_slice(&data[..cmlen - CMSG_HDR]);
    let space = cmsg_align(CMSG_HDR + data.len()).min(left);
    out.resize(out.len() + space - cmlen, 0);
}

/// The control data of a receive (scm_recv): the credentials, then the
/// files installed as new fds (as many as fit: the rest are closed, and
/// MSG_CTRUNC). Returns the bytes and msg_flags to add.
fn write_cmsgs(k: &mut Kernel, m: &mut RecvMsg, room: usize, cloexec: bool) -> (Vec<u8>, u32) {
    let (mut out, mut flags) = (Vec::new(), 0);
    if let Some(cred) = m.cred {
        put_cmsg(&mut out, room, SCM_CREDENTIALS, &cred.bytes(), &mut flags);
    }
    if m.fds.is_empty() {
        return (out, flags);
    }
    let left = room - out.len();
    let fit = if left > CMSG_HDR {
        (left - CMSG_HDR) / 4
    } else {
        0
    };
    let passed = std::mem::take(&mut m.fds);
    let mut fds = Vec::new();
    for f in passed.iter().take(fit) {
        match fd_install(k, f.clone(), cloexec, 0) {
            Ok(fd) => fds.extend_from_slice(&(fd as i32).to_le_bytes()),
            Err(_) => break,
        }
    }
    if fds.len() / 4 < passed.len() {
        flags |= MSG_CTRUNC;
    }
    if !fds.is_empty() {
        put_cmsg(&mut out, room, SCM_RIGHTS, &fds, &mut flags);
    }
    (out, flags)
}

/// Copies `data` into the guest's buffers `iov` from byte `skip` on.
fn scatter(k: &mut Kernel, iov: &[(u64, u64)], mut skip: usize, data: &[u8]) -> KResult<()> {
    let mut done = 0;
    for &(base, len) in iov {
        let len = len as usize;
        if skip >= len {
            skip -= len;
            continue;
        }
        let n = (len - skip).min(data.len() - done);
        k.copy_to_user(base + skip as u64, &data[done..done + n])?;
        done += n;
        skip = 0;
        if done == data.len() {
            break;
        }
    }
    Ok(())
}

/// `n` bytes of the guest's buffers `iov`, from byte `skip` on.
fn gather(k: &mut Kernel, iov: &[(u64, u64)], mut skip: usize, n: usize) -> KResult<Vec<u8>> {
    let mut data = Vec::with_capacity(n);
    for &(base, len) in iov {
        let len = len as usize;
        if skip >= len {
            skip -= len;
            continue;
        }
        let take = (len - skip).min(n - data.len());
        let start = data.len();
        data.resize(start + take, 0);
        k.copy_from_user(base + skip as u64, &mut data[start..])?;
        skip = 0;
        if data.len() == n {
            break;
        }
    }
    Ok(data)
}

/// EFAULT unless the guest could write `n` bytes of its buffers `iov`
/// from byte `skip` on.
fn check_writable(k: &mut Kernel, iov: &[(u64, u64)], mut skip: usize, n: usize) -> KResult<()> {
    let mut left = n;
    for &(base, len) in iov {
        let len = len as usize;
        if skip >= len {
            skip -= len;
            continue;
        }
        let take = (len - skip).min(left);
        k.check_user_writable(base + skip as u64, take)?;
        left -= take;
        skip = 0;
        if left == 0 {
            break;
        }
    }
    Ok(())
}

fn total(iov: &[(u64, u64)]) -> usize {
    iov.iter().map(|&(_, len)| len as usize).sum()
}

/// What a send call sends: the guest's buffers, the destination, and
/// its control data.
struct Outgoing<'a> {
    iov: &'a [(u64, u64)],
    addr: Option<&'a [u8]>,
    fds: Vec<Rc<OpenFile>>,
    cred: Option<Ucred>,
}

/// A send (every send call ends here): EPIPE raises SIGPIPE on a
/// connection unless MSG_NOSIGNAL; a stream send that blocks partway goes
/// on, when restarted, from where it stopped. The bytes are copied in at
/// most [`WINDOW`] at a time, so that what a guest asks for is never
/// allocated whole (a datagram that large is EMSGSIZE anyway).
fn send(
    k: &mut Kernel,
    f: &OpenFile,
    sock: &Rc<dyn Socket>,
    out: Outgoing,
    flags: u32,
) -> KResult<usize> {
    let nonblock = f.nonblock() || flags & MSG_DONTWAIT != 0 || timed_out(k);
    let timeout = sock.opts().borrow().sndtimeo;
    let len = total(out.iov);
    let mut done = k.restart().map_or(0, |r| r.data as usize).min(len);
    let mut first = Some((out.fds, out.cred));
    loop {
        let (fds, cred) = match done {
            0 => first.take().unwrap_or_default(),
            _ => Default::default(),
        };
        let data = gather(k, out.iov, done, (len - done).min(WINDOW))?;
        let part = SendMsg {
            data: &data,
            addr: out.addr,
            fds,
            cred,
        };
        match sock.sendmsg(&mut Env(k), part, nonblock) {
            Ok(n) => {
                done += n;
                if n == 0 || done >= len || nonblock {
                    return Ok(done);
                }
            }
            Err(OpError::Block(reason)) => return Err(block(k, reason, timeout, done as u64)),
            Err(_) if done > 0 => return Ok(done),
            Err(OpError::Errno(Errno::EPIPE)) => {
                if sock.sigpipe() && flags & MSG_NOSIGNAL == 0 {
                    raise_sigpipe(k);
                }
                return Err(Errno::EPIPE);
            }
            Err(OpError::Errno(e)) => return Err(e),
        }
    }
}

/// A receive into the guest's buffers `iov` (every receive call ends
/// here): the message, its bytes already copied out. MSG_WAITALL on a
/// stream waits for all of them, going on from where a wait stopped.
fn recv(
    k: &mut Kernel,
    f: &OpenFile,
    sock: &Rc<dyn Socket>,
    iov: &[(u64, u64)],
    flags: u32,
) -> KResult<RecvMsg> {
    let nonblock = f.nonblock() || flags & MSG_DONTWAIT != 0 || timed_out(k);
    let timeout = sock.opts().borrow().rcvtimeo;
    let len = total(iov);
    let waitall = flags & (MSG_WAITALL | MSG_PEEK) == MSG_WAITALL && sock.kind() == SOCK_STREAM;
    let mut done = k.restart().map_or(0, |r| r.data as usize).min(len);
    loop {
        // At most WINDOW bytes a step, checked before anything is taken
        // that could not be delivered.
        let want = (len - done).min(WINDOW);
        check_writable(k, iov, done, want)?;
        match sock.recvmsg(want, flags, nonblock) {
            Ok(mut m) => {
                scatter(k, iov, done, &m.data)?;
                done += m.data.len();
                let more = waitall && !m.data.is_empty() && m.fds.is_empty() && m.cred.is_none();
                if more && done < len && !nonblock {
                    continue;
                }
                if sock.kind() == SOCK_STREAM {
                    m.len = done;
                }
                return Ok(m);
            }
            Err(OpError::Block(reason)) if waitall || done == 0 => {
                return Err(block(k, reason, timeout, done as u64))
            }
            Err(_) if done > 0 => {
                return Ok(RecvMsg {
                    len: done,
                    ..Default::default()
                })
            }
            Err(OpError::Errno(e)) => return Err(e),
            Err(OpError::Block(_)) => unreachable!("handled above"),
        }
    }
}

/// sendto(fd, buf, len, flags, addr, addrlen).
pub fn sendto(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (f, sock) = socket_of(k, a[0])?;
    let len = a[2].min(super::MAX_RW_COUNT);
    let addr = if a[4] != 0 {
        Some(read_addr(k, a[4], a[5])?)
    } else {
        None
    };
    let out = Outgoing {
        iov: &[(a[1], len)],
        addr: addr.as_deref(),
        fds: Vec::new(),
        cred: None,
    };
    send(k, &f, &sock, out, a[3] as u32).map(|n| n as u64)
}

/// recvfrom(fd, buf, len, flags, addr, addrlen).
pub fn recvfrom(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (f, sock) = socket_of(k, a[0])?;
    let len = a[2].min(super::MAX_RW_COUNT);
    let m = recv(k, &f, &sock, &[(a[1], len)], a[3] as u32)?;
    if a[4] != 0 {
        let name = m.addr.clone().unwrap_or_default();
        write_addr(k, &name, a[4], a[5])?;
    }
    Ok(m.len as u64)
}

/// A struct msghdr's fields.
struct MsgHdr {
    name: u64,
    namelen: u32,
    iov: Vec<(u64, u64)>,
    control: u64,
    controllen: u64,
}

fn read_msghdr(k: &mut Kernel, addr: u64) -> KResult<MsgHdr> {
    let mut b = [0; MSGHDR_SIZE as usize];
    k.copy_from_user(addr, &mut b)?;
    let word = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
    let iov = super::fs::iovecs(k, word(16), word(24))?;
    Ok(MsgHdr {
        name: word(0),
        namelen: word(8) as u32,
        iov,
        control: word(32),
        controllen: word(40),
    })
}

fn do_sendmsg(k: &mut Kernel, fd: u64, hdr: u64, flags: u32) -> KResult<usize> {
    let (f, sock) = socket_of(k, fd)?;
    let h = read_msghdr(k, hdr)?;
    let addr = if h.name != 0 && h.namelen != 0 {
        Some(read_addr(k, h.name, u64::from(h.namelen))?)
    } else {
        None
    };
    let (fds, cred) = if h.controllen >= CMSG_HDR as u64 {
        read_cmsgs(k, h.control, h.controllen)?
    } else {
        Default::default()
    };
    if !fds.is_empty() && sock.family() != AF_UNIX {
        return Err(Errno::EINVAL);
    }
    let out = Outgoing {
        iov: &h.iov,
        addr: addr.as_deref(),
        fds,
        cred,
    };
    send(k, &f, &sock, out, flags)
}

/// Receives one message for the msghdr at `hdr`, writing back its name,
/// control data and flags.
fn do_recvmsg(k: &mut Kernel, fd: u64, hdr: u64, flags: u32) -> KResult<usize> {
    let (f, sock) = socket_of(k, fd)?;
    let h = read_msghdr(k, hdr)?;
    let mut m = recv(k, &f, &sock, &h.iov, flags)?;
    let mut namelen = 0;
    if h.name != 0 {
        if let Some(addr) = &m.addr {
            let n = addr.len().min(h.namelen as usize);
            k.copy_to_user(h.name, &addr[..n])?;
            namelen = addr.len();
        }
    }
    let room = if h.control != 0 {
        h.controllen.min(OPTMEM_MAX) as usize
    } else {
        0
    };
    let (control, cflags) = write_cmsgs(k, &mut m, room, flags & MSG_CMSG_CLOEXEC != 0);
    if !control.is_empty() {
        k.copy_to_user(h.control, &control)?;
    }
    k.write_user_u32(hdr + 8, namelen as u32)?;
    k.copy_to_user(hdr + 40, &(control.len() as u64).to_le_bytes())?;
    k.write_user_u32(hdr + 48, m.flags | cflags)?;
    Ok(m.len)
}

/// sendmsg(fd, msg, flags).
pub fn sendmsg(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    do_sendmsg(k, a[0], a[1], a[2] as u32).map(|n| n as u64)
}

/// recvmsg(fd, msg, flags).
pub fn recvmsg(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    do_recvmsg(k, a[0], a[1], a[2] as u32).map(|n| n as u64)
}

/// sendmmsg(fd, msgvec, vlen, flags): the messages sent; an error only
/// if the first fails. Each one's msg_len is written.
pub fn sendmmsg(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    socket_of(k, a[0])?;
    let vlen = (a[2] as u32 as u64).min(UIO_MAXIOV);
    let mut sent = 0;
    while sent < vlen {
        let hdr = a[1] + sent * MMSGHDR_SIZE;
        // Only the first message waits: a call that blocked later would
        // run again from its first.
        let flags = a[3] as u32 | if sent > 0 { MSG_DONTWAIT } else { 0 };
        match do_sendmsg(k, a[0], hdr, flags) {
            Ok(n) => k.write_user_u32(hdr + MSGHDR_SIZE, n as u32)?,
            Err(e) if sent == 0 => return Err(e),
            Err(_) => break,
        }
        sent += 1;
    }
    Ok(sent)
}

/// recvmmsg(fd, msgvec, vlen, flags, timeout): the messages received;
/// only the first waits (as with MSG_WAITFORONE: a call that blocked
/// later would run again from its first, where Linux goes on waiting for
/// more). The timeout is checked between messages, as Linux does.
pub fn recvmmsg(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    socket_of(k, a[0])?;
    let deadline = if a[4] != 0 {
        let t = super::time::read_timespec(k, a[4])?;
        Some(k.monotonic() + t)
    } else {
        None
    };
    let vlen = (a[2] as u32 as u64).min(UIO_MAXIOV);
    let mut flags = a[3] as u32;
    let mut got = 0;
    while got < vlen {
        let hdr = a[1] + got * MMSGHDR_SIZE;
        match do_recvmsg(k, a[0], hdr, flags & !MSG_WAITFORONE) {
            Ok(n) => k.write_user_u32(hdr + MSGHDR_SIZE, n as u32)?,
            Err(e) if got == 0 => return Err(e),
            Err(_) => break,
        }
        got += 1;
        flags |= MSG_DONTWAIT;
        if deadline.is_some_and(|d| k.monotonic() >= d) {
            break;
        }
    }
    Ok(got)
}

//! File system calls, for now over the host's standard streams on fds 0-2.

use super::{int, AT_FDCWD, MAX_RW_COUNT};
use crate::errno::{Errno, KResult};
use crate::task::files::HostStdio;
use crate::task::signal::{Signal, SIG_DFL};
use crate::task::{ExitStatus, Kernel};
use rustix::fs::SeekFrom;
use rustix::termios::SpecialCodeIndex as Cc;

/// Bytes moved between guest memory and the host per step.
const CHUNK: usize = 1 << 20;
/// UIO_MAXIOV: the most iovecs readv/writev accept.
const UIO_MAXIOV: u64 = 1024;
/// PATH_MAX, counting the NUL.
const PATH_MAX: usize = 4096;

const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
const AT_NO_AUTOMOUNT: u64 = 0x800;
const AT_EMPTY_PATH: u64 = 0x1000;

const TCGETS: u64 = 0x5401;
const TIOCGWINSZ: u64 = 0x5413;

fn file(k: &Kernel, fd: u64) -> KResult<HostStdio> {
    k.current().files.borrow().get(fd)
}

pub fn read(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let file = file(k, a[0])?;
    let len = a[2].min(MAX_RW_COUNT).min(CHUNK as u64) as usize;
    if len == 0 {
        return Ok(0);
    }
    // Check the buffer before consuming input that could not be delivered.
    k.check_user_writable(a[1], len)?;
    let mut buf = vec![0; len];
    let n = file.read(&mut buf)?;
    k.copy_to_user(a[1], &buf[..n])?;
    Ok(n as u64)
}

pub fn write(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let file = file(k, a[0])?;
    let (addr, len) = (a[1], a[2].min(MAX_RW_COUNT));
    let mut done = 0;
    let mut buf = vec![0; (len as usize).min(CHUNK)];
    while done < len {
        let n = ((len - done) as usize).min(CHUNK);
        if let Err(e) = k.copy_from_user(addr + done, &mut buf[..n]) {
            return if done > 0 { Ok(done) } else { Err(e) };
        }
        let written = host_write(k, file, &buf[..n], done)?;
        done += written as u64;
        if written < n {
            break;
        }
    }
    Ok(done)
}

/// One host write; a broken pipe raises SIGPIPE as Linux does, which kills
/// the process while its disposition is the default.
fn host_write(k: &mut Kernel, file: HostStdio, data: &[u8], done: u64) -> KResult<usize> {
    match file.write(data) {
        Ok(n) => Ok(n),
        Err(_) if done > 0 => Ok(0),
        Err(Errno::EPIPE) => {
            let task = k.current();
            let action = task.sighand.borrow().action(Signal::SIGPIPE);
            if action.handler == SIG_DFL && task.sigmask & Signal::SIGPIPE.bit() == 0 {
                k.exit_group(ExitStatus::Killed(Signal::SIGPIPE));
            }
            Err(Errno::EPIPE)
        }
        Err(e) => Err(e),
    }
}

/// The iovec array of readv/writev: (base, len) pairs, their total capped
/// at MAX_RW_COUNT as Linux's import_iovec does.
fn iovecs(k: &mut Kernel, addr: u64, count: u64) -> KResult<Vec<(u64, u64)>> {
    if count > UIO_MAXIOV {
        return Err(Errno::EINVAL);
    }
    let mut raw = vec![0; 16 * count as usize];
    k.copy_from_user(addr, &mut raw)?;
    let mut total = 0u64;
    let mut out = Vec::with_capacity(count as usize);
    for iov in raw.chunks_exact(16) {
        let base = u64::from_le_bytes(iov[..8].try_into().unwrap());
        let len = u64::from_le_bytes(iov[8..].try_into().unwrap());
        if (len as i64) < 0 {
            return Err(Errno::EINVAL);
        }
        let len = len.min(MAX_RW_COUNT - total);
        total += len;
        out.push((base, len));
    }
    Ok(out)
}

pub fn writev(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let file = file(k, a[0])?;
    let iovs = iovecs(k, a[1], a[2])?;
    // Gathered into one host write per chunk, so that a line printed in
    // pieces reaches a pipe in one piece, as Linux's writev does.
    let mut done = 0u64;
    let mut buf = Vec::new();
    'gather: for (base, len) in iovs {
        let mut offset = 0;
        while offset < len {
            let start = buf.len();
            let n = ((len - offset) as usize).min(CHUNK - start);
            buf.resize(start + n, 0);
            if let Err(e) = k.copy_from_user(base + offset, &mut buf[start..]) {
                buf.truncate(start);
                if done == 0 && buf.is_empty() {
                    return Err(e);
                }
                break 'gather;
            }
            offset += n as u64;
            if buf.len() == CHUNK {
                let written = host_write(k, file, &buf, done)?;
                done += written as u64;
                if written < buf.len() {
                    return Ok(done);
                }
                buf.clear();
            }
        }
    }
    if !buf.is_empty() {
        done += host_write(k, file, &buf, done)? as u64;
    }
    Ok(done)
}

pub fn readv(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let file = file(k, a[0])?;
    let iovs = iovecs(k, a[1], a[2])?;
    let total: u64 = iovs.iter().map(|&(_, len)| len).sum();
    let len = (total as usize).min(CHUNK);
    if len == 0 {
        return Ok(0);
    }
    let mut buf = vec![0; len];
    let n = file.read(&mut buf)?;
    let mut copied = 0;
    for (base, len) in iovs {
        if copied == n {
            break;
        }
        let part = (len as usize).min(n - copied);
        k.copy_to_user(base, &buf[copied..copied + part])?;
        copied += part;
    }
    Ok(n as u64)
}

pub fn close(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    k.current().files.borrow_mut().close(a[0])?;
    Ok(0)
}

pub fn lseek(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let file = file(k, a[0])?;
    let offset = a[1] as i64;
    let pos = match int(a[2]) {
        0 if offset < 0 => return Err(Errno::EINVAL),
        3 | 4 if offset < 0 => return Err(Errno::ENXIO),
        0 => SeekFrom::Start(offset as u64),
        1 => SeekFrom::Current(offset),
        2 => SeekFrom::End(offset),
        3 => SeekFrom::Data(offset as u64),
        4 => SeekFrom::Hole(offset as u64),
        _ => return Err(Errno::EINVAL),
    };
    file.seek(pos)
}

pub fn ioctl(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let file = file(k, a[0])?;
    if !file.is_terminal() {
        return Err(Errno::ENOTTY);
    }
    match a[1] & 0xffff_ffff {
        TCGETS => {
            let t = file.termios()?;
            k.copy_to_user(a[2], &termios_bytes(&t))?;
        }
        TIOCGWINSZ => {
            let w = file.winsize()?;
            let mut b = [0; 8];
            for (i, v) in [w.ws_row, w.ws_col, w.ws_xpixel, w.ws_ypixel]
                .iter()
                .enumerate()
            {
                b[i * 2..][..2].copy_from_slice(&v.to_le_bytes());
            }
            k.copy_to_user(a[2], &b)?;
        }
        // Linux's tty layer answers requests it does not know with ENOTTY.
        _ => return Err(Errno::ENOTTY),
    }
    Ok(0)
}

/// struct termios as riscv64 lays it out (asm-generic termbits): four u32
/// flag words, c_line, c_cc[19]. The host is Linux, whose flag bits and
/// c_cc indices are the same asm-generic ones.
fn termios_bytes(t: &rustix::termios::Termios) -> [u8; 36] {
    let mut b = [0; 36];
    let flags = [
        t.input_modes.bits(),
        t.output_modes.bits(),
        t.control_modes.bits(),
        t.local_modes.bits(),
    ];
    for (i, f) in flags.iter().enumerate() {
        b[i * 4..][..4].copy_from_slice(&f.to_le_bytes());
    }
    b[16] = t.line_discipline;
    let codes = [
        Cc::VINTR,
        Cc::VQUIT,
        Cc::VERASE,
        Cc::VKILL,
        Cc::VEOF,
        Cc::VTIME,
        Cc::VMIN,
        Cc::VSWTC,
        Cc::VSTART,
        Cc::VSTOP,
        Cc::VSUSP,
        Cc::VEOL,
        Cc::VREPRINT,
        Cc::VDISCARD,
        Cc::VWERASE,
        Cc::VLNEXT,
        Cc::VEOL2,
    ];
    for (i, cc) in codes.into_iter().enumerate() {
        b[17 + i] = t.special_codes[cc];
    }
    b
}

pub fn fstat(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let stat = file(k, a[0])?.stat()?;
    k.copy_to_user(a[1], &stat_bytes(&stat))?;
    Ok(0)
}

pub fn newfstatat(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let flags = a[3] & 0xffff_ffff;
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let path = k.read_user_cstr(a[1], PATH_MAX)?;
    if !path.is_empty() || flags & AT_EMPTY_PATH == 0 || int(a[0]) == AT_FDCWD {
        // No file system yet: nothing exists by name.
        return Err(Errno::ENOENT);
    }
    fstat(k, &[a[0], a[2], 0, 0, 0, 0])
}

/// The host's stat of an fd in riscv64's `struct stat` (asm-generic, 128
/// bytes). Passing the host's kind through (character device, pipe,
/// regular file) lets the guest's libc pick the buffering the host
/// program would. The casts are no-ops on x86-64 but not on every host.
#[allow(clippy::unnecessary_cast)]
fn stat_bytes(s: &rustix::fs::Stat) -> [u8; 128] {
    let mut b = [0; 128];
    let mut put = |offset: usize, bytes: &[u8]| b[offset..][..bytes.len()].copy_from_slice(bytes);
    put(0, &(s.st_dev as u64).to_le_bytes());
    put(8, &(s.st_ino as u64).to_le_bytes());
    put(16, &(s.st_mode as u32).to_le_bytes());
    put(20, &(s.st_nlink as u32).to_le_bytes());
    put(24, &(s.st_uid as u32).to_le_bytes());
    put(28, &(s.st_gid as u32).to_le_bytes());
    put(32, &(s.st_rdev as u64).to_le_bytes());
    put(48, &(s.st_size as i64).to_le_bytes());
    put(56, &(s.st_blksize as i32).to_le_bytes());
    put(64, &(s.st_blocks as i64).to_le_bytes());
    put(72, &(s.st_atime as i64).to_le_bytes());
    put(80, &(s.st_atime_nsec as i64).to_le_bytes());
    put(88, &(s.st_mtime as i64).to_le_bytes());
    put(96, &(s.st_mtime_nsec as i64).to_le_bytes());
    put(104, &(s.st_ctime as i64).to_le_bytes());
    put(112, &(s.st_ctime_nsec as i64).to_le_bytes());
    b
}

pub fn readlinkat(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let size = int(a[3]);
    let path = k.read_user_cstr(a[1], PATH_MAX)?;
    if size <= 0 {
        return Err(Errno::EINVAL);
    }
    let tgid = k.group().borrow().tgid;
    let own = format!("/proc/{tgid}/exe");
    if path != b"/proc/self/exe" && path != b"/proc/thread-self/exe" && path != own.as_bytes() {
        // No file system yet: /proc/self/exe is the only link there is.
        return Err(Errno::ENOENT);
    }
    let exe = k
        .group()
        .borrow()
        .exe
        .as_os_str()
        .as_encoded_bytes()
        .to_vec();
    let n = exe.len().min(size as usize);
    k.copy_to_user(a[2], &exe[..n])?;
    Ok(n as u64)
}

//! ioctl: the requests every fd takes, then a terminal's (with Linux's job
//! control, tty_check_change, which needs the task table), then whatever
//! the open file's object answers (`FileOps::ioctl`).

use super::fdtable::{fd_set_cloexec, file};
use super::read_write::{blocking, io};
use crate::errno::{Errno, KResult};
use crate::fs::file::{FIONREAD, O_NONBLOCK};
use crate::fs::tty::{Terminal, TERMIOS_SIZE};
use crate::task::signal::{Signal, SIG_IGN};
use crate::task::Kernel;
use crate::wait::WaitReason;
use rustix::termios::OptionalActions;

// The terminal and file ioctls (asm-generic ioctls.h).
const TCGETS: u32 = 0x5401;
const TCSETS: u32 = 0x5402;
const TCSETSW: u32 = 0x5403;
const TCSETSF: u32 = 0x5404;
const TIOCSCTTY: u32 = 0x540e;
const TIOCGPGRP: u32 = 0x540f;
const TIOCSPGRP: u32 = 0x5410;
const TIOCGWINSZ: u32 = 0x5413;
const TIOCSWINSZ: u32 = 0x5414;
const TIOCNOTTY: u32 = 0x5422;
const FIONBIO: u32 = 0x5421;
const TIOCGSID: u32 = 0x5429;
const FIONCLEX: u32 = 0x5450;
const FIOCLEX: u32 = 0x5451;

/// Whether the caller is in the background of the console: in the session
/// it is the controlling terminal of, outside its foreground group.
pub(super) fn in_background(k: &Kernel) -> bool {
    let g = k.group();
    let g = g.borrow();
    let con = k.vfs.console.borrow();
    g.sid == con.session && g.pgid != con.fg_pgrp
}

/// Linux's tty_check_change, for a caller in the background: its group
/// gets `sig` (SIGTTIN for a read, SIGTTOU for the rest), which stops it,
/// and the call runs again once it is continued (or fails with EINTR if a
/// handler ran). With `sig` ignored or blocked, a read fails with EIO and
/// anything else goes ahead; so does an orphaned group, which no shell
/// would ever continue.
pub(super) fn tty_check_change(k: &mut Kernel, sig: Signal) -> KResult<()> {
    let t = k.current();
    let ignored = t.sigmask & sig.bit() != 0 || t.sighand.borrow().action(sig).handler == SIG_IGN;
    if ignored {
        return if sig == Signal::SIGTTIN {
            Err(Errno::EIO)
        } else {
            Ok(())
        };
    }
    let pgid = k.group().borrow().pgid;
    if k.pgrp_orphaned(pgid, None) {
        return Err(Errno::EIO);
    }
    k.signal_pgrp(pgid, sig);
    Err(k.block(WaitReason::Other("the terminal"), None))
}

/// Whether the caller's session has the console as its controlling
/// terminal: ENOTTY for the requests that need it.
fn controlling(k: &Kernel) -> KResult<()> {
    if k.group().borrow().sid == k.vfs.console.borrow().session {
        Ok(())
    } else {
        Err(Errno::ENOTTY)
    }
}

fn read_int(k: &mut Kernel, addr: u64) -> KResult<i32> {
    let mut b = [0; 4];
    k.copy_from_user(addr, &mut b)?;
    Ok(i32::from_le_bytes(b))
}

pub fn ioctl(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let f = file(k, a[0])?;
    let cmd = a[1] as u32;
    // Requests every file takes (fs/ioctl.c).
    match cmd {
        FIOCLEX | FIONCLEX => {
            fd_set_cloexec(k, a[0], cmd == FIOCLEX)?;
            return Ok(0);
        }
        FIONBIO => {
            let on = read_int(k, a[2])? != 0;
            let flags = f.flags.get() & !O_NONBLOCK;
            f.flags.set(if on { flags | O_NONBLOCK } else { flags });
            return Ok(0);
        }
        _ => {}
    }
    if let Some(term) = f.ops().terminal() {
        return tty_ioctl(k, term, cmd, a[2]);
    }
    let mut io = io(k, &f, f.offset.get());
    let r = f.ops().ioctl(&mut io, cmd, a[2]);
    let done = io.done;
    blocking(k, r, done)
}

/// The terminal requests (Linux's tty_ioctl and tty_jobctrl_ioctl).
fn tty_ioctl(k: &mut Kernel, term: Terminal, cmd: u32, arg: u64) -> KResult<u64> {
    match cmd {
        FIONREAD => {
            let n = term.pending_input()?;
            k.copy_to_user(arg, &(n.min(i32::MAX as u64) as u32).to_le_bytes())?;
        }
        TCGETS => {
            let t = term.get(&k.vfs.console.borrow())?;
            k.copy_to_user(arg, &t)?;
        }
        TCSETS | TCSETSW | TCSETSF => {
            if in_background(k) {
                tty_check_change(k, Signal::SIGTTOU)?;
            }
            let mut t = [0; TERMIOS_SIZE];
            k.copy_from_user(arg, &mut t)?;
            let when = match cmd {
                TCSETS => OptionalActions::Now,
                TCSETSW => OptionalActions::Drain,
                _ => OptionalActions::Flush,
            };
            term.set(&mut k.vfs.console.borrow_mut(), &t, when)?;
        }
        TIOCGWINSZ => {
            let w = term.winsize(&k.vfs.console.borrow())?;
            k.copy_to_user(arg, &w)?;
        }
        TIOCSWINSZ => {
            let mut w = [0; 8];
            k.copy_from_user(arg, &mut w)?;
            let old = term.winsize(&k.vfs.console.borrow());
            term.set_winsize(&mut k.vfs.console.borrow_mut(), w);
            // A new size is news to the foreground jobs, as on Linux.
            if old != Ok(w) {
                k.signal_foreground(Signal::SIGWINCH);
            }
        }
        TIOCGPGRP => {
            controlling(k)?;
            let fg = k.vfs.console.borrow().fg_pgrp;
            k.copy_to_user(arg, &fg.to_le_bytes())?;
        }
        TIOCSPGRP => {
            // A background shell taking the terminal back has SIGTTOU
            // ignored or blocked; an orphaned one is refused.
            if in_background(k) {
                tty_check_change(k, Signal::SIGTTOU).map_err(|e| match e {
                    Errno::EIO => Errno::ENOTTY,
                    e => e,
                })?;
            }
            let pgrp = read_int(k, arg)?;
            if pgrp < 0 {
                return Err(Errno::EINVAL);
            }
            controlling(k)?;
            // A process group of the caller's session (tiocspgrp).
            let sid = k.group().borrow().sid;
            let pgrp = pgrp as u32;
            let group_sid = k
                .processes()
                .map(|g| g.borrow())
                .find(|g| g.pgid == pgrp && g.zombie.is_none())
                .map(|g| g.sid);
            match group_sid {
                None => return Err(Errno::ESRCH),
                Some(s) if s != sid => return Err(Errno::EPERM),
                Some(_) => k.vfs.console.borrow_mut().fg_pgrp = pgrp,
            }
        }
        TIOCSCTTY => {
            let g = k.group();
            let g = g.borrow();
            if g.sid != g.tgid {
                return Err(Errno::EPERM);
            }
            let mut con = k.vfs.console.borrow_mut();
            con.session = g.sid;
            con.fg_pgrp = g.pgid;
        }
        TIOCNOTTY => {}
        TIOCGSID => {
            controlling(k)?;
            let sid = k.vfs.console.borrow().session;
            k.copy_to_user(arg, &sid.to_le_bytes())?;
        }
        // Linux's tty layer answers requests it does not know with ENOTTY.
        _ => return Err(Errno::ENOTTY),
    }
    Ok(0)
}

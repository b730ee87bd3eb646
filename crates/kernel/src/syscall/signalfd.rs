//! signalfd4 (see `crate::fs::signalfd`): a new signalfd, or a new mask
//! for one (riscv64 has no signalfd; libc builds it on this).

use crate::errno::{Errno, KResult};
use crate::fs::file::{OpenFile, O_RDWR};
use crate::fs::signalfd::{Signalfd, SFD_CLOEXEC, SFD_NONBLOCK};
use crate::task::signal::{SIGSET_SIZE, UNBLOCKABLE};
use crate::task::Kernel;
use crate::wait::PollKey;
use std::cell::Cell;
use std::rc::Rc;

/// signalfd4(fd, mask, sizemask, flags): `fd` -1 makes a signalfd.
pub fn signalfd4(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (fd, mask, size, flags) = (a[0] as i32, a[1], a[2], a[3] as u32);
    if size != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let mask = k.read_user_u64(mask)? & !UNBLOCKABLE;
    if flags & !(SFD_CLOEXEC | SFD_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    if fd == -1 {
        let sfd = Signalfd {
            mask: Cell::new(mask),
        };
        let file = OpenFile::new(Box::new(sfd), O_RDWR | (flags & SFD_NONBLOCK));
        return super::fs::fd_install(k, Rc::new(file), flags & SFD_CLOEXEC != 0, 0);
    }
    let file = super::fs::file(k, fd as u64)?;
    let sfd = file.downcast::<Signalfd>().ok_or(Errno::EINVAL)?;
    sfd.mask.set(mask);
    // Pollers see the new mask at once.
    let tgid = k.group().borrow().tgid;
    k.wake_pollers(PollKey::Signal(tgid));
    Ok(fd as u64)
}

//! fcntl: the fd's flags, the open file's status flags, dup, and a
//! pipe's size.

use super::super::int;
use super::fdtable::{fd_cloexec, fd_install, fd_set_cloexec, file, nofile};
use crate::errno::{Errno, KResult};
use crate::fs::file::{O_APPEND, O_NONBLOCK, O_PATH};
use crate::fs::pipe::PipeEnd;
use crate::task::Kernel;

const F_DUPFD: i32 = 0;
const F_GETFD: i32 = 1;
const F_SETFD: i32 = 2;
const F_GETFL: i32 = 3;
const F_SETFL: i32 = 4;
const F_DUPFD_CLOEXEC: i32 = 1030;
const F_SETPIPE_SZ: i32 = 1031;
const F_GETPIPE_SZ: i32 = 1032;
const FD_CLOEXEC: u64 = 1;

pub fn fcntl(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let f = file(k, a[0])?;
    match int(a[1]) {
        cmd @ (F_DUPFD | F_DUPFD_CLOEXEC) => {
            let min = usize::try_from(int(a[2])).map_err(|_| Errno::EINVAL)?;
            if min >= nofile(k) {
                return Err(Errno::EINVAL);
            }
            fd_install(k, f, cmd == F_DUPFD_CLOEXEC, min)
        }
        F_GETFD => Ok(u64::from(fd_cloexec(k, a[0])?)),
        F_SETFD => {
            fd_set_cloexec(k, a[0], a[2] & FD_CLOEXEC != 0)?;
            Ok(0)
        }
        cmd @ (F_SETPIPE_SZ | F_GETPIPE_SZ) => {
            // Only a pipe has a size (Linux's get_pipe_info compares f_op).
            let Some(end) = f.downcast::<PipeEnd>() else {
                return Err(Errno::EBADF);
            };
            let mut pipe = end.pipe.borrow_mut();
            let size = if cmd == F_GETPIPE_SZ {
                pipe.size()
            } else {
                pipe.set_size(a[2] as u32, k.cred().euid == 0)?
            };
            Ok(size as u64)
        }
        cmd @ (crate::syscall::memfd::F_ADD_SEALS | crate::syscall::memfd::F_GET_SEALS) => {
            crate::syscall::memfd::fcntl_seals(k, &f, cmd, a[2])
        }
        F_GETFL => Ok(u64::from(f.flags.get())),
        F_SETFL => {
            if f.flags.get() & O_PATH != 0 {
                return Err(Errno::EBADF);
            }
            let settable = O_APPEND | O_NONBLOCK;
            let new = (f.flags.get() & !settable) | (a[2] as u32 & settable);
            f.flags.set(new);
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

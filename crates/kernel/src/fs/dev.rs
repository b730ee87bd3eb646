//! The character devices cleave implements (Linux's drivers/char/mem.c
//! and the console): /dev/null, zero, full, random, urandom, and /dev/tty
//! and /dev/console, which read the host's stdin and write its stdout.

use super::file::{fionread, inode_name, FileOps, Io, OpResult, Processes, Readiness, FIONREAD};
use super::file::{DEFAULT_POLLMASK, POLLOUT, POLLWRBAND, POLLWRNORM};
use super::stdio::{host_read, host_write, HostStdio};
use super::tty::Terminal;
use super::{Device, Loc};
use crate::errno::{Errno, KResult};
use crate::mm::{FilePages, Phys};
use crate::wait::PollKey;
use std::any::Any;
use std::cell::Cell;
use std::time::Duration;

pub struct DevFile {
    pub loc: Loc,
    pub dev: Device,
}

impl FileOps for DevFile {
    fn name(&self) -> String {
        inode_name(&self.loc)
    }

    fn read_iter(&self, io: &mut Io, len: usize) -> OpResult<Vec<u8>> {
        match self.dev {
            Device::Null => Ok(Vec::new()),
            Device::Zero | Device::Full => Ok(vec![0; len]),
            Device::Random | Device::Urandom => {
                let mut buf = vec![0; len];
                io.rng.fill_bytes(&mut buf);
                Ok(buf)
            }
            Device::Console => host_read(&HostStdio::Stdin, io, len),
        }
    }

    /// /dev/full is always full; the others take everything.
    fn write_iter(&self, io: &mut Io, data: &[u8]) -> OpResult<usize> {
        match self.dev {
            Device::Full => Err(Errno::ENOSPC.into()),
            Device::Console => host_write(&HostStdio::Stdout, io, data),
            _ => Ok(data.len()),
        }
    }

    /// The offset of a device means nothing: it stays 0.
    fn seek(&self, _pos: &Cell<u64>, _offset: i64, _whence: i32) -> KResult<u64> {
        Ok(0)
    }

    /// The console reads from the host's stdin and writes to its stdout.
    fn poll(&self, events: u16, _procs: &dyn Processes) -> Readiness {
        if self.dev != Device::Console {
            return Readiness {
                mask: DEFAULT_POLLMASK,
                key: None,
            };
        }
        let out = POLLOUT | POLLWRNORM | POLLWRBAND;
        let mask = HostStdio::Stdin.poll(events & !out, Duration::ZERO)
            | HostStdio::Stdout.poll(events & out, Duration::ZERO);
        Readiness {
            mask,
            key: Some(PollKey::Console),
        }
    }

    /// The memory devices know no request: ENOTTY, as Linux's; the
    /// random devices' ioctl says EINVAL to one it does not know. The
    /// console's terminal requests are the system-call layer's; FIONREAD
    /// finds nothing buffered.
    fn ioctl(&self, io: &mut Io, cmd: u32, arg: u64) -> OpResult<u64> {
        match (self.dev, cmd) {
            (Device::Random | Device::Urandom, _) => Err(Errno::EINVAL.into()),
            (Device::Console, FIONREAD) => fionread(io, arg, 0),
            _ => Err(Errno::ENOTTY.into()),
        }
    }

    /// A terminal is a stream (Linux's nonseekable_open): pread is ESPIPE.
    fn positioned(&self) -> bool {
        self.dev != Device::Console
    }

    fn terminal(&self) -> Option<Terminal> {
        (self.dev == Device::Console).then(Terminal::console)
    }

    /// A private mapping of /dev/zero is anonymous memory.
    fn mmap(&self, _phys: &mut Phys, _name: &[u8]) -> KResult<FilePages> {
        Ok(match self.dev {
            Device::Zero => FilePages::Zero,
            _ => FilePages::None,
        })
    }

    fn loc(&self) -> Option<&Loc> {
        Some(&self.loc)
    }

    fn write_may_block(&self) -> bool {
        self.dev == Device::Console
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

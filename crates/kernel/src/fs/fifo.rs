//! A FIFO (or socket) of a host directory mount, open: the host fd opened
//! at open(2), non-blocking ([`HostStream`]), polled before each read or
//! write as the host's standard streams are (`stdio.rs`), so the host
//! thread never waits on it.

use super::file::{inode_name, FileOps, Io, OpResult, Processes, Readiness};
use super::host::HostStream;
use super::stdio::{host_read, host_write, HostIo};
use super::Loc;
use crate::errno::{Errno, KResult};
use crate::wait::PollKey;
use std::any::Any;
use std::cell::Cell;

pub struct HostFifo {
    pub loc: Loc,
    pub stream: HostStream,
}

impl FileOps for HostFifo {
    fn name(&self) -> String {
        inode_name(&self.loc)
    }

    fn read_iter(&self, io: &mut Io, len: usize) -> OpResult<Vec<u8>> {
        host_read(&self.stream, io, len)
    }

    fn write_iter(&self, io: &mut Io, data: &[u8]) -> OpResult<usize> {
        host_write(&self.stream, io, data)
    }

    fn poll(&self, events: u16, _procs: &dyn Processes) -> Readiness {
        Readiness {
            mask: self.stream.ready(events),
            key: Some(PollKey::Console),
        }
    }

    /// A FIFO has no position (its FIONREAD is a file of the tree's: the
    /// inode's size, 0).
    fn seek(&self, _pos: &Cell<u64>, _offset: i64, _whence: i32) -> KResult<u64> {
        Err(Errno::ESPIPE)
    }

    /// A FIFO is a stream: pread and pwrite are ESPIPE.
    fn positioned(&self) -> bool {
        false
    }

    fn loc(&self) -> Option<&Loc> {
        Some(&self.loc)
    }

    fn write_may_block(&self) -> bool {
        true
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

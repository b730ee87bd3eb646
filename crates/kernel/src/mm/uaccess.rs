//! uaccess: how the kernel reads and writes guest memory.
//!
//! Every access goes through this address space's page table and faults
//! pages in exactly as a guest access would (demand-zero, stack growth,
//! copy-on-write breaks), checking the VMA's permissions: the kernel can
//! write only where the guest could. A bad pointer is EFAULT, never a panic;
//! a write touches no byte unless the whole range is writable.

use super::pagetable::{pfn, rights};
use super::phys::{Phys, PAGE_SHIFT, PAGE_SIZE};
use super::{Mm, TASK_SIZE};
use crate::errno::{Errno, KResult};
use rv::{pte, Access};

/// EFAULT unless [va, va + len) lies in user space.
fn check_range(va: u64, len: usize) -> KResult<()> {
    match va.checked_add(len as u64) {
        Some(end) if end <= TASK_SIZE => Ok(()),
        _ => Err(Errno::EFAULT),
    }
}

/// Splits [va, va + len) at page boundaries: (address, offset in the range,
/// length) for each piece.
fn pieces(va: u64, len: usize) -> impl Iterator<Item = (u64, usize, usize)> {
    let mut done = 0;
    std::iter::from_fn(move || {
        if done == len {
            return None;
        }
        let at = va + done as u64;
        let n = ((PAGE_SIZE - (at & (PAGE_SIZE - 1))) as usize).min(len - done);
        done += n;
        Some((at, done - n, n))
    })
}

impl Mm {
    /// The physical address of `va` for a guest `access`, faulting the page
    /// in as the hart would; EFAULT where the guest would get a signal.
    pub fn translate(&mut self, phys: &mut Phys, va: u64, access: Access) -> KResult<u64> {
        let need = match access {
            Access::Fetch => pte::X,
            Access::Load => pte::R,
            Access::Store => pte::W,
        };
        let e = self.pt.lookup(phys, va);
        let pfn = if rights(e) & need != 0 {
            pfn(e)
        } else {
            self.fault(phys, va, access, false)
                .map_err(|_| Errno::EFAULT)?
        };
        Ok(((pfn as u64) << PAGE_SHIFT) + (va & (PAGE_SIZE - 1)))
    }

    pub fn read_user(&mut self, phys: &mut Phys, va: u64, buf: &mut [u8]) -> KResult<()> {
        check_range(va, buf.len())?;
        for (at, off, n) in pieces(va, buf.len()) {
            let pa = self.translate(phys, at, Access::Load)?;
            phys.mem.read(pa, &mut buf[off..off + n]);
        }
        Ok(())
    }

    pub fn write_user(&mut self, phys: &mut Phys, va: u64, data: &[u8]) -> KResult<()> {
        self.write(phys, va, data, false)
    }

    /// Writes `data` at `va` whatever the protection of private mappings
    /// there, as ptrace's FOLL_FORCE does. This is how the ELF loader fills
    /// segments: mmap them with their final protection (read-only text
    /// included), then write their content with this. Written pages become
    /// private to this address space. The range must be mapped, and a
    /// read-only shared mapping is still EFAULT.
    pub fn write_user_force(&mut self, phys: &mut Phys, va: u64, data: &[u8]) -> KResult<()> {
        self.write(phys, va, data, true)
    }

    fn write(&mut self, phys: &mut Phys, va: u64, data: &[u8], force: bool) -> KResult<()> {
        check_range(va, data.len())?;
        // First make every page writable, so that a bad page anywhere fails
        // the call before any byte is written.
        for (at, _, _) in pieces(va, data.len()) {
            if rights(self.pt.lookup(phys, at)) & pte::W == 0 {
                self.fault(phys, at, Access::Store, force)
                    .map_err(|_| Errno::EFAULT)?;
            }
        }
        for (at, off, n) in pieces(va, data.len()) {
            let pa =
                ((pfn(self.pt.lookup(phys, at)) as u64) << PAGE_SHIFT) + (at & (PAGE_SIZE - 1));
            phys.mem.write(pa, &data[off..off + n]);
        }
        Ok(())
    }

    /// The NUL-terminated string at `va`, without its NUL, reading at most
    /// `max` bytes: ENAMETOOLONG if no NUL comes within them (callers turn
    /// that into their own errno, E2BIG for execve's strings).
    pub fn read_user_cstr(&mut self, phys: &mut Phys, va: u64, max: usize) -> KResult<Vec<u8>> {
        let mut out = Vec::new();
        let mut at = va;
        while out.len() < max {
            check_range(at, 1)?;
            let pa = self.translate(phys, at, Access::Load)?;
            let off = (pa & (PAGE_SIZE - 1)) as usize;
            let n = (PAGE_SIZE as usize - off).min(max - out.len());
            let chunk = &phys.mem.frame((pa >> PAGE_SHIFT) as usize)[off..off + n];
            if let Some(nul) = chunk.iter().position(|&b| b == 0) {
                out.extend_from_slice(&chunk[..nul]);
                return Ok(out);
            }
            out.extend_from_slice(chunk);
            at += n as u64;
        }
        Err(Errno::ENAMETOOLONG)
    }

    pub fn read_user_u64(&mut self, phys: &mut Phys, va: u64) -> KResult<u64> {
        let mut b = [0; 8];
        self.read_user(phys, va, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    pub fn write_user_u64(&mut self, phys: &mut Phys, va: u64, value: u64) -> KResult<()> {
        self.write_user(phys, va, &value.to_le_bytes())
    }

    pub fn read_user_u32(&mut self, phys: &mut Phys, va: u64) -> KResult<u32> {
        let mut b = [0; 4];
        self.read_user(phys, va, &mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    pub fn write_user_u32(&mut self, phys: &mut Phys, va: u64, value: u32) -> KResult<()> {
        self.write_user(phys, va, &value.to_le_bytes())
    }
}

//! The current task's access to user memory: the helpers system calls,
//! signal delivery, exec and the tracer use (Linux's copy_from_user,
//! get_user, strncpy_from_user...), all over the current address space's
//! own accessors (`mm/uaccess.rs`), which fault pages in as the guest
//! would and fail with EFAULT.

use super::exec::{MAX_ARG_STRINGS, MAX_ARG_STRLEN};
use super::Kernel;
use crate::errno::{Errno, KResult};
use crate::mm::PAGE_SIZE;

impl Kernel {
    /// Copies guest memory at `addr` into `buf`, or EFAULT.
    pub fn copy_from_user(&mut self, addr: u64, buf: &mut [u8]) -> KResult<()> {
        let mm = self.mm();
        let result = mm.borrow_mut().read_user(&mut self.phys, addr, buf);
        result
    }

    /// Copies `data` into guest memory at `addr`, or EFAULT.
    pub fn copy_to_user(&mut self, addr: u64, data: &[u8]) -> KResult<()> {
        let mm = self.mm();
        let result = mm.borrow_mut().write_user(&mut self.phys, addr, data);
        result
    }

    /// EFAULT unless the guest could write all of [addr, addr + len);
    /// faults the pages in as a guest store would.
    pub fn check_user_writable(&mut self, addr: u64, len: usize) -> KResult<()> {
        let end = addr.checked_add(len as u64).ok_or(Errno::EFAULT)?;
        let mm = self.mm();
        let mut mm = mm.borrow_mut();
        let mut page = addr & !(PAGE_SIZE - 1);
        while page < end {
            mm.translate(&mut self.phys, page.max(addr), rv::Access::Store)?;
            page += PAGE_SIZE;
        }
        Ok(())
    }

    pub fn read_user_u64(&mut self, addr: u64) -> KResult<u64> {
        let mut b = [0; 8];
        self.copy_from_user(addr, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    /// A NUL-terminated string of at most `max` bytes (without the NUL):
    /// EFAULT, or ENAMETOOLONG when there is no NUL within `max`.
    pub fn read_user_cstr(&mut self, addr: u64, max: usize) -> KResult<Vec<u8>> {
        let mm = self.mm();
        let result = mm.borrow_mut().read_user_cstr(&mut self.phys, addr, max);
        result
    }

    /// Up to `len` bytes at `addr` for a trace: as much as is readable.
    pub fn peek_user(&mut self, addr: u64, len: usize) -> Vec<u8> {
        let mut buf = vec![0; len];
        let mut got = 0;
        // Page by page, so a buffer that runs into unmapped memory still
        // shows its readable start.
        while got < len {
            let at = addr.wrapping_add(got as u64);
            let chunk = ((PAGE_SIZE - at % PAGE_SIZE) as usize).min(len - got);
            if self.copy_from_user(at, &mut buf[got..got + chunk]).is_err() {
                break;
            }
            got += chunk;
        }
        buf.truncate(got);
        buf
    }

    /// A string for a trace, if it is readable.
    pub fn peek_user_cstr(&mut self, addr: u64) -> Option<Vec<u8>> {
        self.read_user_cstr(addr, 4096).ok()
    }

    /// Writes a u32 into the current address space.
    pub fn write_user_u32(&mut self, addr: u64, value: u32) -> KResult<()> {
        self.copy_to_user(addr, &value.to_le_bytes())
    }

    /// Reads a NULL-terminated array of string pointers (argv, envp).
    /// A NULL array is empty. EFAULT, or E2BIG for an over-long string.
    pub fn read_user_strings(&mut self, mut addr: u64) -> KResult<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        if addr == 0 {
            return Ok(out);
        }
        loop {
            let p = self.read_user_u64(addr)?;
            if p == 0 {
                return Ok(out);
            }
            if out.len() >= MAX_ARG_STRINGS {
                return Err(Errno::E2BIG);
            }
            let s = match self.read_user_cstr(p, MAX_ARG_STRLEN - 1) {
                Err(Errno::ENAMETOOLONG) => return Err(Errno::E2BIG),
                r => r?,
            };
            out.push(s);
            addr += 8;
        }
    }
}

//! Page faults: demand paging, stack growth and breaking copy-on-write.
//!
//! Nothing is allocated until touched. A first read of private anonymous
//! memory maps the shared zero frame read-only and copy-on-write; a first
//! write gets a zeroed frame of its own. A write to a copy-on-write page
//! (after fork, or to the zero frame) is `break_cow`.

use super::pagetable::{self, leaf, pfn, Slot, COW};
use super::phys::{Phys, PAGE_SIZE};
use super::vma::MemObject;
use super::{Mm, MMAP_MIN_ADDR, PROT_EXEC, PROT_READ, PROT_WRITE, STACK_GUARD_GAP, TASK_SIZE};
use crate::errno::Errno;
use rv::{pte, Access};

/// How many pages a read fault on a file maps at once, Linux's default
/// (fault_around_bytes, 64 KiB).
const FAULT_AROUND_PAGES: u64 = 16;

/// Why a fault could not be resolved: what the kernel turns into a signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// No VMA there (SIGSEGV, SEGV_MAPERR).
    MapErr,
    /// The VMA forbids this access (SIGSEGV, SEGV_ACCERR).
    AccErr,
    /// Past the end of the backing object (SIGBUS, BUS_ADRERR).
    Bus,
    /// No frame left: the kernel fails the call or kills a process.
    OutOfMemory,
}

impl Mm {
    /// Resolves a page fault the hart reported at `va`; on success the
    /// faulting instruction is simply run again.
    pub fn handle_fault(&mut self, phys: &mut Phys, va: u64, access: Access) -> Result<(), Fault> {
        self.fault(phys, va, access, false).map(drop)
    }

    /// Makes the page holding `va` present for `access` and returns its
    /// frame. With `force`, a write to a private page is allowed even where
    /// the VMA forbids writing (FOLL_FORCE: the ELF loader, ptrace); the page
    /// becomes private to this address space but keeps its protection.
    pub(super) fn fault(
        &mut self,
        phys: &mut Phys,
        va: u64,
        access: Access,
        force: bool,
    ) -> Result<usize, Fault> {
        if va >= TASK_SIZE {
            return Err(Fault::MapErr);
        }
        let va = va & !(PAGE_SIZE - 1);
        if self.vmas.find(va).is_none() {
            self.expand_stack(va)?;
        }
        let vma = self.vmas.find(va).unwrap();
        let allowed = match access {
            Access::Fetch => vma.prot & PROT_EXEC != 0,
            // RISC-V has no write-only pages: write implies read.
            Access::Load => vma.prot & (PROT_READ | PROT_WRITE) != 0,
            Access::Store => vma.prot & PROT_WRITE != 0 || (force && !vma.shared),
        };
        if !allowed {
            return Err(Fault::AccErr);
        }
        let perm = vma.pte_perm();
        let shared = vma.shared;
        let bounds = vma.start..vma.end;
        let object = vma.object_page(va).map(|(obj, index)| (obj.clone(), index));

        let slot = self
            .pt
            .slot_alloc(phys, va)
            .map_err(|_| Fault::OutOfMemory)?;
        let e = pagetable::read(phys, slot.table, slot.index);
        let write = access == Access::Store;
        if e == 0 {
            // Demand paging: the first touch of this page.
            let src = match &object {
                None => phys.zero_pfn(),
                Some((obj, index)) => {
                    let (mut obj, index) = (obj.borrow_mut(), *index);
                    if index >= obj.size() {
                        return Err(Fault::Bus);
                    }
                    // A file that cannot be read is SIGBUS, as on Linux.
                    let (pfn, new) = obj.frame(phys, index).map_err(|e| match e {
                        Errno::ENOMEM => Fault::OutOfMemory,
                        _ => Fault::Bus,
                    })?;
                    if new && obj.source().is_none() {
                        self.count(phys, |s| s.zero_fill_faults += 1);
                    }
                    if shared && perm & pte::W != 0 {
                        obj.mark_dirty(index);
                    }
                    pfn
                }
            };
            let (pfn, perm) = if shared {
                phys.get(src);
                (src, perm)
            } else if write {
                (self.copy_page(phys, src)?, perm)
            } else {
                // Read-only until written, and then copied: the zero frame
                // and object pages are never written through a private map.
                phys.get(src);
                (src, (perm & !pte::W) | COW)
            };
            pagetable::write(phys, slot.table, slot.index, leaf(pfn, perm));
            if pfn != phys.zero_pfn() {
                self.count(phys, |s| s.resident_pages += 1);
            }
            // Only private mappings: a shared page's mapping decides what
            // goes back to the file (mprotect to writable marks every
            // mapped page dirty), so it stays as the program touched it.
            if let Some((obj, index)) = object.filter(|_| !write && !shared) {
                self.fault_around(phys, va, bounds, slot, &obj.borrow(), index, perm);
            }
            return Ok(pfn);
        }
        if write && e & pte::W == 0 && e & COW != 0 {
            return self.break_cow(phys, va, slot, e, perm);
        }
        // Already allowed: another path mapped it first. Private pages
        // without COW are this space's own, so a forced write may go ahead.
        debug_assert!(!write || e & pte::W != 0 || force);
        Ok(pfn(e))
    }

    /// Maps the pages around a read fault at `va` in a private mapping
    /// (the VMA's `bounds`, entry `slot`, object page `index`, mapped with
    /// `perm`: read-only, copy-on-write) that the page cache already holds,
    /// as Linux's do_fault_around does: a program starting up reads its
    /// text and libraries with one fault per 64 KiB instead of one per
    /// page. Only empty entries within the VMA are filled, each as a read
    /// fault on it would have. The window is aligned, so it never leaves
    /// the level-0 table `slot` is in.
    #[allow(clippy::too_many_arguments)]
    fn fault_around(
        &mut self,
        phys: &mut Phys,
        va: u64,
        bounds: std::ops::Range<u64>,
        slot: Slot,
        obj: &MemObject,
        index: u64,
        perm: u64,
    ) {
        let window = FAULT_AROUND_PAGES * PAGE_SIZE;
        let start = (va & !(window - 1)).max(bounds.start);
        let end = ((va & !(window - 1)) + window).min(bounds.end);
        let first = index - (va - start) / PAGE_SIZE;
        let last = (index + (end - va) / PAGE_SIZE).min(obj.size());
        let mut mapped = 0;
        for (i, pfn) in obj.cached_range(first..last) {
            let at = slot.index + i as usize - index as usize;
            if i == index || pagetable::read(phys, slot.table, at) != 0 {
                continue;
            }
            phys.get(pfn);
            pagetable::write(phys, slot.table, at, leaf(pfn, perm));
            mapped += 1;
        }
        self.count(phys, |s| s.resident_pages += mapped);
    }

    /// The write fault on a copy-on-write page.
    ///
    /// The page maps a frame that may have other holders: the other side of
    /// a fork, or everyone (the zero frame). Writing it in place would show
    /// the write to them, so the writer gets a copy, and the PTE its write
    /// permission back. But if the frame's count says this PTE is its only
    /// holder (the other side exited, exec'd, or already took its own copy),
    /// nobody can see the write: restore W and skip the copy.
    ///
    /// The TLB must forget the old translation when the frame changes; when
    /// only W comes back it holds nothing stale (the hart caches a store
    /// translation only after a walk allowed it).
    fn break_cow(
        &mut self,
        phys: &mut Phys,
        va: u64,
        slot: Slot,
        e: u64,
        perm: u64,
    ) -> Result<usize, Fault> {
        let old = pfn(e);
        let zero = old == phys.zero_pfn();
        if !zero {
            self.count(phys, |s| s.cow_faults += 1);
            if phys.refcount(old) == 1 {
                pagetable::write(phys, slot.table, slot.index, leaf(old, perm));
                self.count(phys, |s| s.cow_reused += 1);
                return Ok(old);
            }
        }
        let new = self.copy_page(phys, old)?;
        pagetable::write(phys, slot.table, slot.index, leaf(new, perm));
        phys.put(old);
        if zero {
            self.count(phys, |s| s.resident_pages += 1);
        }
        self.tlb.add_page(va);
        Ok(new)
    }

    /// A new frame with the content of `src`: zeroed for the zero frame.
    fn copy_page(&mut self, phys: &mut Phys, src: usize) -> Result<usize, Fault> {
        if src == phys.zero_pfn() {
            let new = phys.alloc_zeroed().map_err(|_| Fault::OutOfMemory)?;
            self.count(phys, |s| s.zero_fill_faults += 1);
            Ok(new)
        } else {
            let new = phys.alloc().map_err(|_| Fault::OutOfMemory)?;
            phys.mem.copy_frame(new, src);
            self.count(phys, |s| s.pages_copied += 1);
            Ok(new)
        }
    }

    /// Grows the growsdown VMA just above `va` down to cover it, within the
    /// stack limit and keeping the guard gap to the mapping below.
    fn expand_stack(&mut self, va: u64) -> Result<(), Fault> {
        let Some(stack) = self.vmas.find_after(va).filter(|v| v.growsdown) else {
            return Err(Fault::MapErr);
        };
        if stack.end - va > self.stack_limit || va < MMAP_MIN_ADDR {
            return Err(Fault::MapErr);
        }
        if !self.may_expand_vm((stack.start - va) / PAGE_SIZE) {
            return Err(Fault::MapErr);
        }
        if let Some(prev) = self.vmas.prev(stack.start) {
            let accessible = prev.prot & (PROT_READ | PROT_WRITE | PROT_EXEC) != 0;
            if !prev.growsdown && accessible && va - prev.end < STACK_GUARD_GAP {
                return Err(Fault::MapErr);
            }
        }
        let mut stack = self.vmas.remove(stack.start).unwrap();
        stack.start = va;
        self.vmas.insert(stack);
        Ok(())
    }
}

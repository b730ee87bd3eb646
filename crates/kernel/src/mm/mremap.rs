//! mremap: growing, shrinking and moving a mapping (Linux's mm/mremap.c),
//! with its arguments checked in Linux's order as mmap.rs's calls are.

use super::mmap::{enough_memory, page_align_wrapping, PAGE_MASK};
use super::pagetable;
use super::phys::{Phys, PAGE_SIZE};
use super::vma::Vma;
use super::*;
use crate::errno::{Errno, KResult};
use rv::pte;
use std::convert::Infallible;

impl Mm {
    /// mremap: grows or shrinks a mapping, in place when there is room,
    /// else (with MREMAP_MAYMOVE) by moving its pages to a new range.
    pub fn mremap(
        &mut self,
        phys: &mut Phys,
        addr: u64,
        old_len: u64,
        new_len: u64,
        flags: u64,
        new_addr: u64,
    ) -> KResult<u64> {
        if flags & !(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP) != 0
            || (flags & MREMAP_FIXED != 0 && flags & MREMAP_MAYMOVE == 0)
            || (flags & MREMAP_DONTUNMAP != 0
                && (flags & MREMAP_MAYMOVE == 0 || old_len != new_len))
            || addr & !PAGE_MASK != 0
        {
            return Err(Errno::EINVAL);
        }
        let old_len = page_align_wrapping(old_len);
        let new_len = page_align_wrapping(new_len);
        if new_len == 0 {
            return Err(Errno::EINVAL);
        }
        if self.vmas.find(addr).is_none() {
            return Err(Errno::EFAULT);
        }
        if flags & (MREMAP_FIXED | MREMAP_DONTUNMAP) != 0 {
            return self.mremap_to(phys, addr, old_len, new_len, flags, new_addr);
        }
        // Shrinking always works in place.
        if old_len >= new_len {
            if old_len > new_len {
                self.munmap(phys, addr.wrapping_add(new_len), old_len - new_len)?;
            }
            return Ok(addr);
        }
        let vma = self.vma_to_resize(addr, old_len, new_len)?;
        // Grow in place if the range runs to the VMA's end and room follows.
        if old_len == vma.end - addr {
            let new_end = addr + new_len;
            let room = new_len <= TASK_SIZE - addr && !self.vmas.overlaps(vma.end, new_end);
            if room {
                self.account_growth(phys, &vma, new_len - old_len)?;
                self.vmas.get_mut(vma.start).unwrap().end = new_end;
                self.vmas.merge_at(new_end);
                return Ok(addr);
            }
        }
        if flags & MREMAP_MAYMOVE == 0 {
            return Err(Errno::ENOMEM);
        }
        let to = self.get_unmapped_area(0, new_len, false)?;
        self.move_vma(phys, &vma, addr, old_len, to, new_len, false)
    }

    /// mremap with MREMAP_FIXED or MREMAP_DONTUNMAP: always a move.
    fn mremap_to(
        &mut self,
        phys: &mut Phys,
        addr: u64,
        mut old_len: u64,
        new_len: u64,
        flags: u64,
        new_addr: u64,
    ) -> KResult<u64> {
        if new_addr & !PAGE_MASK != 0 || new_len > TASK_SIZE || new_addr > TASK_SIZE - new_len {
            return Err(Errno::EINVAL);
        }
        if addr.saturating_add(old_len) > new_addr && new_addr + new_len > addr {
            return Err(Errno::EINVAL);
        }
        let fixed = flags & MREMAP_FIXED != 0;
        if fixed {
            self.munmap(phys, new_addr, new_len)?;
        }
        if old_len > new_len {
            self.munmap(phys, addr + new_len, old_len - new_len)?;
            old_len = new_len;
        }
        let vma = self.vma_to_resize(addr, old_len, new_len)?;
        let dontunmap = flags & MREMAP_DONTUNMAP != 0;
        // The old range stays mapped: it counts again.
        if dontunmap && !self.may_expand_vm(old_len / PAGE_SIZE) {
            return Err(Errno::ENOMEM);
        }
        let to = self.get_unmapped_area(new_addr, new_len, fixed)?;
        self.move_vma(phys, &vma, addr, old_len, to, new_len, dontunmap)
    }

    /// The VMA holding [addr, addr + old_len), checked for resizing to
    /// `new_len` (Linux's vma_to_resize).
    fn vma_to_resize(&self, addr: u64, old_len: u64, new_len: u64) -> KResult<Vma> {
        let vma = self.vmas.find(addr).ok_or(Errno::EFAULT)?;
        if old_len > vma.end - addr {
            return Err(Errno::EFAULT);
        }
        if new_len == old_len {
            return Ok(vma.clone());
        }
        // With old_len 0, mremap duplicates a shared mapping; for a private
        // one that would be a new, unrelated mapping, which Linux refuses.
        if old_len == 0 && !vma.shared {
            return Err(Errno::EINVAL);
        }
        if !self.may_expand_vm((new_len - old_len) / PAGE_SIZE) {
            return Err(Errno::ENOMEM);
        }
        Ok(vma.clone())
    }

    /// Overcommit accounting for `bytes` more of `vma`.
    fn account_growth(&self, phys: &Phys, vma: &Vma, bytes: u64) -> KResult<()> {
        if vma.shared || vma.prot & PROT_WRITE != 0 {
            enough_memory(phys, bytes / PAGE_SIZE)
        } else {
            Ok(())
        }
    }

    /// Moves [addr, addr + old_len) of `vma` to a new VMA [to, to + new_len),
    /// page-table entries and all: the frames stay where they are. With
    /// `dontunmap` the old range stays mapped, empty.
    #[allow(clippy::too_many_arguments)]
    fn move_vma(
        &mut self,
        phys: &mut Phys,
        vma: &Vma,
        addr: u64,
        old_len: u64,
        to: u64,
        new_len: u64,
        dontunmap: bool,
    ) -> KResult<u64> {
        if self.vmas.len() + 3 >= MAX_MAP_COUNT {
            return Err(Errno::ENOMEM);
        }
        let grows_by = new_len.saturating_sub(old_len) + if dontunmap { old_len } else { 0 };
        self.account_growth(phys, vma, grows_by)?;

        // Collect the pages to move and make room for them first, so that
        // the move itself cannot fail halfway.
        let mut present = Vec::new();
        let Ok(()) = self
            .pt
            .for_each_l0(phys, addr, addr + old_len, |phys, table, va, lo, hi| {
                for i in lo..hi {
                    if pagetable::read(phys, table, i) != 0 {
                        present.push(va + (i - lo) as u64 * PAGE_SIZE);
                    }
                }
                Ok::<_, Infallible>(())
            });
        for &va in &present {
            if let Err(e) = self.pt.slot_alloc(phys, va - addr + to) {
                self.pt.prune(phys, to, to + new_len);
                return Err(e);
            }
        }
        for &va in &present {
            let from = self.pt.slot(phys, va).unwrap();
            let e = pagetable::read(phys, from.table, from.index);
            pagetable::write(phys, from.table, from.index, 0);
            let dst = self.pt.slot(phys, va - addr + to).unwrap();
            pagetable::write(phys, dst.table, dst.index, e);
            if e & pte::V != 0 {
                self.tlb.add_page(va);
            }
        }

        let mut moved = vma.clone();
        moved.start = to;
        moved.end = to + new_len;
        if let (Backing::Object { pgoff, .. }, Some((_, index))) =
            (&mut moved.backing, vma.object_page(addr))
        {
            *pgoff = index;
        }
        if !dontunmap {
            // Cannot fail: the map count was checked above.
            self.unmap(phys, addr, addr + old_len)?;
        }
        self.insert_vma(moved);
        Ok(to)
    }
}

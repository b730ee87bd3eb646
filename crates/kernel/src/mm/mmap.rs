//! The memory system calls: mmap, munmap, mprotect, brk, mremap, madvise,
//! msync. Arguments are checked in Linux's order, so that a call with
//! several mistakes gets the errno Linux would give.

use super::pagetable::{self, leaf, pfn, rights, COW};
use super::phys::{Phys, PAGE_SIZE};
use super::vma::{Backing, MemObject, Vma, VmaTree};
use super::*;
use crate::errno::{Errno, KResult};
use rv::{pte, Access};
use std::cell::RefCell;
use std::convert::Infallible;
use std::rc::Rc;

const PAGE_MASK: u64 = !(PAGE_SIZE - 1);

/// Page-aligns a length the way Linux's PAGE_ALIGN does: wrapping, so that
/// the callers' overflow checks see what Linux's see.
fn page_align_wrapping(len: u64) -> u64 {
    len.wrapping_add(PAGE_SIZE - 1) & PAGE_MASK
}

/// The file of a file mapping, as the system-call layer found it.
pub struct MapFile {
    pub pages: FilePages,
    /// The open file's access mode.
    pub readable: bool,
    pub writable: bool,
}

/// What mapping a file gives.
pub enum FilePages {
    /// A regular file: its page cache.
    Cache(Rc<RefCell<MemObject>>),
    /// /dev/zero: anonymous memory, private or shared (Linux's mmap_zero).
    Zero,
    /// A file that cannot be mapped (a directory, a pipe, a terminal:
    /// Linux's missing f_op->mmap, ENODEV).
    None,
}

/// Linux's LEGACY_MAP_MASK: the flags MAP_SHARED_VALIDATE accepts for a
/// file without MAP_SYNC support.
const LEGACY_MAP_MASK: u64 = MAP_SHARED
    | MAP_PRIVATE
    | MAP_FIXED
    | MAP_ANONYMOUS
    | MAP_DENYWRITE
    | MAP_EXECUTABLE
    | 0x400_0000 // MAP_UNINITIALIZED
    | MAP_GROWSDOWN
    | MAP_LOCKED
    | MAP_NORESERVE
    | MAP_POPULATE
    | MAP_NONBLOCK
    | MAP_STACK
    | MAP_HUGETLB;

impl Mm {
    /// mmap of anonymous memory. `offset` is the byte offset argument.
    pub fn mmap(
        &mut self,
        phys: &mut Phys,
        addr: u64,
        len: u64,
        prot: u64,
        flags: u64,
        offset: u64,
    ) -> KResult<u64> {
        if flags & MAP_ANONYMOUS == 0 {
            // A file mapping without a file: the caller had no descriptor.
            return Err(Errno::EBADF);
        }
        self.do_mmap(phys, addr, len, prot, flags, offset, None)
    }

    /// mmap of `file` from byte `offset` (MAP_ANONYMOUS is ignored, as
    /// the system-call layer only passes a file without it).
    #[allow(clippy::too_many_arguments)]
    pub fn mmap_file(
        &mut self,
        phys: &mut Phys,
        addr: u64,
        len: u64,
        prot: u64,
        flags: u64,
        offset: u64,
        file: &MapFile,
    ) -> KResult<u64> {
        self.do_mmap(phys, addr, len, prot, flags, offset, Some(file))
    }

    /// Linux's do_mmap, in its order of checks.
    #[allow(clippy::too_many_arguments)]
    fn do_mmap(
        &mut self,
        phys: &mut Phys,
        addr: u64,
        len: u64,
        prot: u64,
        flags: u64,
        offset: u64,
        file: Option<&MapFile>,
    ) -> KResult<u64> {
        if offset & !PAGE_MASK != 0 {
            return Err(Errno::EINVAL);
        }
        if flags & MAP_HUGETLB != 0 {
            // No huge pages are ever reserved, and no file is on hugetlbfs.
            return Err(if file.is_some() {
                Errno::EINVAL
            } else {
                Errno::ENOMEM
            });
        }
        if len == 0 {
            return Err(Errno::EINVAL);
        }
        let fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) != 0;
        let len = page_align_wrapping(len);
        if len == 0 {
            return Err(Errno::ENOMEM);
        }
        let pgoff = offset / PAGE_SIZE;
        if file.is_some() && pgoff.checked_add(len / PAGE_SIZE).is_none() {
            return Err(Errno::EOVERFLOW);
        }
        if self.vmas.len() > MAX_MAP_COUNT {
            return Err(Errno::ENOMEM);
        }
        let start = self.get_unmapped_area(addr, len, fixed)?;
        let end = start + len;
        if flags & MAP_FIXED_NOREPLACE != 0 && self.vmas.overlaps(start, end) {
            return Err(Errno::EEXIST);
        }
        let shared = match flags & MAP_TYPE {
            MAP_SHARED => true,
            MAP_SHARED_VALIDATE if file.is_some() => {
                if flags & !LEGACY_MAP_MASK != 0 {
                    return Err(Errno::EOPNOTSUPP);
                }
                true
            }
            MAP_PRIVATE => false,
            _ => return Err(Errno::EINVAL),
        };
        if let Some(f) = file {
            if (shared && prot & PROT_WRITE != 0 && !f.writable) || !f.readable {
                return Err(Errno::EACCES);
            }
            if matches!(f.pages, FilePages::None) {
                return Err(Errno::ENODEV);
            }
        }
        let cache = match file {
            Some(MapFile {
                pages: FilePages::Cache(obj),
                ..
            }) => Some(obj),
            _ => None,
        };
        if (shared || file.is_some()) && flags & MAP_GROWSDOWN != 0 {
            return Err(Errno::EINVAL);
        }
        let pages = len / PAGE_SIZE;
        // RLIMIT_AS; a fixed mapping replaces what it overlaps.
        if !self.may_expand_vm(pages)
            && (!fixed || !self.may_expand_vm(pages - self.mapped_pages(start, end)))
        {
            return Err(Errno::ENOMEM);
        }
        // Private writable memory is committed; a shared file mapping is
        // backed by the file itself.
        let accountable = if cache.is_some() {
            !shared && prot & PROT_WRITE != 0
        } else {
            shared || prot & PROT_WRITE != 0
        };
        if flags & MAP_NORESERVE == 0 && accountable {
            enough_memory(phys, pages)?;
        }
        if fixed {
            self.unmap(phys, start, end)?;
        }
        if self.vmas.len() >= MAX_MAP_COUNT {
            return Err(Errno::ENOMEM);
        }
        let mut vma = Vma::anonymous(start, end, prot & (PROT_READ | PROT_WRITE | PROT_EXEC));
        vma.growsdown = flags & MAP_GROWSDOWN != 0;
        vma.shared = shared;
        if let Some(f) = file {
            vma.may_write = !shared || f.writable;
        }
        if let Some(obj) = cache {
            vma.backing = Backing::Object {
                obj: obj.clone(),
                pgoff,
            };
        } else if shared {
            vma.backing = Backing::Object {
                obj: phys.cache.anonymous(pages),
                pgoff: 0,
            };
        }
        self.insert_vma(vma);
        if flags & (MAP_POPULATE | MAP_NONBLOCK) == MAP_POPULATE {
            self.populate(phys, start, end);
        }
        Ok(start)
    }

    /// Maps System V segment `obj` of `size` bytes (shmat, after its
    /// checks in `crate::ipc::shm`): at `addr` exactly if not 0, where
    /// nothing may be mapped yet unless `remap` (SHM_REMAP); writable
    /// unless read-only. A shared mapping of the segment like any other.
    #[allow(clippy::too_many_arguments)]
    pub fn shmat(
        &mut self,
        phys: &mut Phys,
        obj: &Rc<RefCell<MemObject>>,
        addr: u64,
        size: u64,
        prot: u64,
        remap: bool,
    ) -> KResult<u64> {
        if addr != 0 && !remap {
            let end = addr.checked_add(size).ok_or(Errno::EINVAL)?;
            if self.vmas.overlaps(addr, end) {
                return Err(Errno::EINVAL);
            }
        }
        let file = MapFile {
            pages: FilePages::Cache(obj.clone()),
            readable: true,
            writable: prot & PROT_WRITE != 0,
        };
        let fixed = if addr != 0 { MAP_FIXED } else { 0 };
        self.do_mmap(phys, addr, size, prot, MAP_SHARED | fixed, 0, Some(&file))
    }

    /// shmdt: unmaps the attach of a segment that starts at `addr`, and the
    /// pieces of it mprotect or munmap made, as Linux's ksys_shmdt finds
    /// them (a VMA of a segment whose page offset is its distance from
    /// `addr`). Returns the segment, or EINVAL when nothing is attached
    /// there.
    pub fn shmdt(&mut self, phys: &mut Phys, addr: u64) -> KResult<Rc<RefCell<MemObject>>> {
        if !addr.is_multiple_of(PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        let attach_of = |v: &Vma| match &v.backing {
            Backing::Object { obj, pgoff }
                if obj.borrow().is_sysv()
                    && v.start >= addr
                    && (v.start - addr) / PAGE_SIZE == *pgoff =>
            {
                Some(obj.clone())
            }
            _ => None,
        };
        // The first attach at or above `addr`...
        let mut at = addr;
        let (seg, first) = loop {
            let v = self.vmas.find_after(at).ok_or(Errno::EINVAL)?;
            if let Some(obj) = attach_of(v) {
                break (obj, (v.start, v.end));
            }
            at = v.end;
        };
        let size = seg.borrow().size() * PAGE_SIZE;
        // ...and the pieces of the same segment within its size of `addr`.
        let mut ranges = vec![first];
        let mut at = first.1;
        while let Some(v) = self.vmas.find_after(at) {
            if v.end - addr > size {
                break;
            }
            if attach_of(v).is_some_and(|o| Rc::ptr_eq(&o, &seg)) {
                ranges.push((v.start, v.end));
            }
            at = v.end;
        }
        for (start, end) in ranges {
            self.unmap(phys, start, end)?;
        }
        Ok(seg)
    }

    /// Picks where a new mapping of `len` bytes goes (Linux's
    /// get_unmapped_area): `addr` itself if fixed, else the hint if that
    /// range is free, else the highest free range below MMAP_BASE.
    fn get_unmapped_area(&self, addr: u64, len: u64, fixed: bool) -> KResult<u64> {
        if len > TASK_SIZE - MMAP_MIN_ADDR {
            return Err(Errno::ENOMEM);
        }
        if fixed {
            if addr > TASK_SIZE - len {
                return Err(Errno::ENOMEM);
            }
            if addr & !PAGE_MASK != 0 {
                return Err(Errno::EINVAL);
            }
            if addr < MMAP_MIN_ADDR {
                return Err(Errno::EPERM);
            }
            return Ok(addr);
        }
        let hint = match addr & PAGE_MASK {
            0 => 0,
            hint => hint.max(MMAP_MIN_ADDR),
        };
        if hint != 0
            && hint <= TASK_SIZE - len
            && self.vmas.is_free(hint, hint + len, STACK_GUARD_GAP)
        {
            return Ok(hint);
        }
        self.vmas
            .unmapped_area_topdown(len, MMAP_MIN_ADDR, MMAP_BASE, STACK_GUARD_GAP)
            .or_else(|| {
                self.vmas
                    .unmapped_area_topdown(len, MMAP_MIN_ADDR, TASK_SIZE, STACK_GUARD_GAP)
            })
            .ok_or(Errno::ENOMEM)
    }

    /// Pages of [start, end) that some VMA covers.
    fn mapped_pages(&self, start: u64, end: u64) -> u64 {
        self.vmas
            .iter()
            .filter(|v| v.start < end && v.end > start)
            .map(|v| (v.end.min(end) - v.start.max(start)) / PAGE_SIZE)
            .sum()
    }

    /// Adds a VMA over a free range and joins it with equal neighbours.
    fn insert_vma(&mut self, vma: Vma) {
        let (start, end) = (vma.start, vma.end);
        self.vmas.insert(vma);
        self.vmas.merge_at(end);
        self.vmas.merge_at(start);
    }

    /// Faults in [start, end) as MAP_POPULATE does: writable private pages
    /// get frames of their own, others are mapped for reading. Stops quietly
    /// at the first failure, as Linux does.
    fn populate(&mut self, phys: &mut Phys, start: u64, end: u64) {
        let mut va = start;
        while va < end {
            let Some(vma) = self.vmas.find(va) else {
                return;
            };
            let access = if vma.prot & PROT_WRITE != 0 && !vma.shared {
                Access::Store
            } else if vma.prot & (PROT_READ | PROT_WRITE) != 0 {
                Access::Load
            } else if vma.prot & PROT_EXEC != 0 {
                Access::Fetch
            } else {
                va = vma.end;
                continue;
            };
            if self.fault(phys, va, access, false).is_err() {
                return;
            }
            va += PAGE_SIZE;
        }
    }

    pub fn munmap(&mut self, phys: &mut Phys, start: u64, len: u64) -> KResult<()> {
        if start & !PAGE_MASK != 0 || start > TASK_SIZE || len > TASK_SIZE - start {
            return Err(Errno::EINVAL);
        }
        let len = page_align_wrapping(len);
        if len == 0 {
            return Err(Errno::EINVAL);
        }
        self.unmap(phys, start, start + len)
    }

    /// Removes every mapping in [start, end), splitting VMAs at the edges.
    fn unmap(&mut self, phys: &mut Phys, start: u64, end: u64) -> KResult<()> {
        if !self.vmas.overlaps(start, end) {
            return Ok(());
        }
        let splits = self.vmas.splits(start) as usize + self.vmas.splits(end) as usize;
        if splits == 2 && self.vmas.len() >= MAX_MAP_COUNT {
            return Err(Errno::ENOMEM);
        }
        self.vmas.split(start);
        self.vmas.split(end);
        for s in self.vmas.starts_in(start, end) {
            let vma = self.vmas.remove(s).unwrap();
            self.zap(phys, vma.start, vma.end);
        }
        self.pt.prune(phys, start, end);
        // The last mapping of an object takes the object with it.
        phys.reap();
        Ok(())
    }

    /// Drops every page mapped in [start, end), leaving the VMAs: the next
    /// touch faults in afresh (zero for anonymous memory).
    fn zap(&mut self, phys: &mut Phys, start: u64, end: u64) {
        let zero = phys.zero_pfn();
        let mut dropped = 0;
        let tlb = &mut self.tlb;
        let Ok(()) = self
            .pt
            .for_each_l0(phys, start, end, |phys, table, va, lo, hi| {
                let mut entries = pagetable::load(phys, table);
                let mut changed = false;
                for (i, e) in entries.iter_mut().enumerate().take(hi).skip(lo) {
                    if *e == 0 {
                        continue;
                    }
                    if *e & pte::V != 0 {
                        tlb.add_page(va + (i - lo) as u64 * PAGE_SIZE);
                    }
                    phys.put(pfn(*e));
                    dropped += (pfn(*e) != zero) as u64;
                    *e = 0;
                    changed = true;
                }
                if changed {
                    pagetable::store(phys, table, &entries);
                }
                Ok::<_, Infallible>(())
            });
        self.count(phys, |s| s.resident_pages -= dropped);
    }

    /// Unmaps the pages of `obj` from page `index` on, wherever this space
    /// maps them, private copies included (truncate: the next touch past
    /// the new end is SIGBUS, as Linux's unmap_mapping_range with even_cows).
    pub fn zap_object(&mut self, phys: &mut Phys, obj: &Rc<RefCell<MemObject>>, index: u64) {
        let ranges: Vec<(u64, u64)> = self
            .vmas
            .iter()
            .filter_map(|v| match &v.backing {
                Backing::Object { obj: o, pgoff } if Rc::ptr_eq(o, obj) => {
                    let skip = index.saturating_sub(*pgoff);
                    let from = skip
                        .checked_mul(PAGE_SIZE)
                        .and_then(|b| b.checked_add(v.start))?;
                    (from < v.end).then_some((from, v.end))
                }
                _ => None,
            })
            .collect();
        for (start, end) in ranges {
            self.zap(phys, start, end);
        }
    }

    pub fn mprotect(&mut self, phys: &mut Phys, start: u64, len: u64, prot: u64) -> KResult<()> {
        let grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP);
        let prot = prot & !grows;
        if grows == PROT_GROWSDOWN | PROT_GROWSUP || start & !PAGE_MASK != 0 {
            return Err(Errno::EINVAL);
        }
        if len == 0 {
            return Ok(());
        }
        let end = start.wrapping_add(page_align_wrapping(len));
        if end <= start {
            return Err(Errno::ENOMEM);
        }
        if prot & !(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM) != 0 {
            return Err(Errno::EINVAL);
        }
        let prot = prot & !PROT_SEM;
        let Some(first) = self.vmas.find_after(start).filter(|v| v.start < end) else {
            return Err(Errno::ENOMEM);
        };
        let mut start = start;
        if grows == PROT_GROWSDOWN {
            start = first.start;
            if !first.growsdown {
                return Err(Errno::EINVAL);
            }
        } else if first.start > start {
            return Err(Errno::ENOMEM);
        } else if grows == PROT_GROWSUP {
            return Err(Errno::EINVAL);
        }
        // Linux changes VMA by VMA and stops at the first hole, keeping
        // what it changed before it.
        let mut at = start;
        while at < end {
            let Some(vma) = self.vmas.find(at) else {
                return Err(Errno::ENOMEM);
            };
            let seg_end = vma.end.min(end);
            if prot & PROT_WRITE != 0 && !vma.may_write {
                return Err(Errno::EACCES);
            }
            if vma.prot != prot {
                self.change_protection(phys, at, seg_end, prot)?;
            }
            at = seg_end;
        }
        Ok(())
    }

    /// Sets the protection of [start, end), inside one VMA, and of its pages.
    fn change_protection(
        &mut self,
        phys: &mut Phys,
        start: u64,
        end: u64,
        prot: u64,
    ) -> KResult<()> {
        let new_vmas = self.vmas.splits(start) as usize + self.vmas.splits(end) as usize;
        if self.vmas.len() + new_vmas > MAX_MAP_COUNT {
            return Err(Errno::ENOMEM);
        }
        self.vmas.split(start);
        self.vmas.split(end);
        let vma = self.vmas.get_mut(start).unwrap();
        vma.prot = prot;
        let perm = vma.pte_perm();
        // The pages a shared mapping makes writable can be stored to now
        // (the VMA starts at `start` since the split).
        let dirtied = match &vma.backing {
            Backing::Object { obj, pgoff } if vma.shared && perm & pte::W != 0 => {
                Some((obj.clone(), *pgoff))
            }
            _ => None,
        };
        let tlb = &mut self.tlb;
        let Ok(()) = self
            .pt
            .for_each_l0(phys, start, end, |phys, table, va, lo, hi| {
                let mut entries = pagetable::load(phys, table);
                for (i, e) in entries.iter_mut().enumerate().take(hi).skip(lo) {
                    if *e == 0 {
                        continue;
                    }
                    // A copy-on-write page stays read-only whatever the VMA says.
                    let perm = if *e & COW != 0 {
                        (perm & !pte::W) | COW
                    } else {
                        perm
                    };
                    if let Some((obj, first)) = &dirtied {
                        let index = first + (va - start) / PAGE_SIZE + (i - lo) as u64;
                        obj.borrow_mut().mark_dirty(index);
                    }
                    let new = leaf(pfn(*e), perm);
                    if rights(*e) & !rights(new) != 0 {
                        tlb.add_page(va + (i - lo) as u64 * PAGE_SIZE);
                    }
                    *e = new;
                }
                pagetable::store(phys, table, &entries);
                Ok::<_, Infallible>(())
            });
        self.vmas.merge_at(end);
        self.vmas.merge_at(start);
        Ok(())
    }

    /// brk: moves the program break. Returns the new break, or the old one
    /// if the request cannot be met, as Linux does.
    pub fn brk(&mut self, phys: &mut Phys, new: u64) -> u64 {
        if new < self.start_brk || new > TASK_SIZE || self.start_brk < MMAP_MIN_ADDR {
            return self.brk;
        }
        let newbrk = page_align_wrapping(new);
        let oldbrk = page_align_wrapping(self.brk);
        if newbrk == oldbrk {
            self.brk = new;
            return new;
        }
        if new <= self.brk {
            if self.unmap(phys, newbrk, oldbrk).is_err() {
                return self.brk;
            }
            self.brk = new;
            return new;
        }
        // Keep a page (and a stack's guard gap) free above the heap.
        let collides = self
            .vmas
            .find_after(oldbrk)
            .is_some_and(|next| newbrk + PAGE_SIZE > VmaTree::start_gap(next, STACK_GUARD_GAP));
        if collides
            || !self.may_expand_vm((newbrk - oldbrk) / PAGE_SIZE)
            || enough_memory(phys, (newbrk - oldbrk) / PAGE_SIZE).is_err()
            || self.vmas.len() >= MAX_MAP_COUNT
        {
            return self.brk;
        }
        self.insert_vma(Vma::anonymous(oldbrk, newbrk, PROT_READ | PROT_WRITE));
        self.brk = new;
        new
    }

    pub fn madvise(&mut self, phys: &mut Phys, start: u64, len: u64, advice: u64) -> KResult<()> {
        let known = matches!(
            advice,
            MADV_NORMAL
                | MADV_RANDOM
                | MADV_SEQUENTIAL
                | MADV_WILLNEED
                | MADV_DONTNEED
                | MADV_FREE
                | MADV_REMOVE
                | MADV_DONTFORK
                | MADV_DOFORK
                | MADV_HUGEPAGE
                | MADV_NOHUGEPAGE
                | MADV_DONTDUMP
                | MADV_DODUMP
                | MADV_WIPEONFORK
                | MADV_KEEPONFORK
                | MADV_COLD
                | MADV_PAGEOUT
                | MADV_DONTNEED_LOCKED
        );
        if !known || start & !PAGE_MASK != 0 {
            return Err(Errno::EINVAL);
        }
        let len_aligned = page_align_wrapping(len);
        if len != 0 && len_aligned == 0 {
            return Err(Errno::EINVAL);
        }
        let Some(end) = start.checked_add(len_aligned) else {
            return Err(Errno::EINVAL);
        };
        if end == start {
            return Ok(());
        }
        // Applied to the mapped parts; a hole anywhere is ENOMEM at the end.
        let hole = !self.vmas.covers(start, end);
        for s in self.vmas.starts_in(start, end) {
            let vma = self.vmas.find(s).unwrap();
            let (lo, hi) = (vma.start.max(start), vma.end.min(end));
            let private_anon = !vma.shared && matches!(vma.backing, Backing::Anonymous);
            match advice {
                MADV_DONTNEED | MADV_DONTNEED_LOCKED => self.zap(phys, lo, hi),
                MADV_FREE if private_anon => self.zap(phys, lo, hi),
                MADV_FREE => return Err(Errno::EINVAL),
                // Punching a hole in a shared object would need every other
                // mapping of it zapped too.
                MADV_REMOVE if vma.shared => return Err(Errno::EOPNOTSUPP),
                MADV_REMOVE => return Err(Errno::EINVAL),
                MADV_DONTFORK | MADV_DOFORK => {
                    self.set_vma_flag(lo, hi, |v| v.dontfork = advice == MADV_DONTFORK)?
                }
                MADV_WIPEONFORK if private_anon => {
                    self.set_vma_flag(lo, hi, |v| v.wipeonfork = true)?
                }
                MADV_WIPEONFORK => return Err(Errno::EINVAL),
                MADV_KEEPONFORK => self.set_vma_flag(lo, hi, |v| v.wipeonfork = false)?,
                // Hints with nothing to do here.
                _ => {}
            }
        }
        if hole {
            Err(Errno::ENOMEM)
        } else {
            Ok(())
        }
    }

    /// Changes an attribute of [start, end), inside one VMA.
    fn set_vma_flag(&mut self, start: u64, end: u64, set: impl Fn(&mut Vma)) -> KResult<()> {
        let new_vmas = self.vmas.splits(start) as usize + self.vmas.splits(end) as usize;
        if self.vmas.len() + new_vmas > MAX_MAP_COUNT {
            return Err(Errno::EAGAIN);
        }
        self.vmas.split(start);
        self.vmas.split(end);
        set(self.vmas.get_mut(start).unwrap());
        self.vmas.merge_at(end);
        self.vmas.merge_at(start);
        Ok(())
    }

    /// msync: the arguments and the range are checked as Linux does, then
    /// the dirty pages of the shared file mappings in the range go back to
    /// their files now, MS_ASYNC too (read() already sees them: they are
    /// the page cache; a host file's other readers see them from here on).
    pub fn msync(&mut self, phys: &Phys, start: u64, len: u64, flags: u64) -> KResult<()> {
        if flags & !(MS_ASYNC | MS_INVALIDATE | MS_SYNC) != 0
            || start & !PAGE_MASK != 0
            || (flags & MS_ASYNC != 0 && flags & MS_SYNC != 0)
        {
            return Err(Errno::EINVAL);
        }
        let end = start.wrapping_add(page_align_wrapping(len));
        if end < start {
            return Err(Errno::ENOMEM);
        }
        if end != start && !self.vmas.covers(start, end) {
            return Err(Errno::ENOMEM);
        }
        for v in self
            .vmas
            .iter()
            .filter(|v| v.shared && v.start < end && start < v.end)
        {
            if let Backing::Object { obj, pgoff } = &v.backing {
                let first = pgoff + (v.start.max(start) - v.start) / PAGE_SIZE;
                let last = pgoff + (v.end.min(end) - v.start) / PAGE_SIZE;
                obj.borrow().write_back(phys, first, last)?;
            }
        }
        Ok(())
    }

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

/// Linux's default overcommit heuristic: refuse only a request larger than
/// all of memory.
fn enough_memory(phys: &Phys, pages: u64) -> KResult<()> {
    if phys.overcommit_memory != 1 && pages > phys.total_frames() as u64 {
        Err(Errno::ENOMEM)
    } else {
        Ok(())
    }
}

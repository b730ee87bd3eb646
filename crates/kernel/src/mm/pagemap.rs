//! What each page of an address space is mapped to, as /proc/PID/pagemap
//! and /proc/PID/smaps report it (Linux's fs/proc/task_mmu.c): without
//! faulting anything in.

use super::pagetable;
use super::phys::{Phys, PAGE_SIZE};
use super::vma::Vma;
use super::Mm;

/// pagemap's bits (Linux's PM_*): present, a page of a file or of shared
/// anonymous memory, mapped by this one page-table entry only, and the
/// frame number in the low 55 bits.
pub const PM_PRESENT: u64 = 1 << 63;
pub const PM_FILE: u64 = 1 << 61;
pub const PM_MMAP_EXCLUSIVE: u64 = 1 << 56;
pub const PM_PFRAME_MASK: u64 = (1 << 55) - 1;

/// One mapped page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MappedPage {
    pub pfn: usize,
    /// The shared zero frame (Linux's special zero page: counted nowhere).
    pub zero: bool,
    /// A frame of the VMA's memory object (a file's page cache, shared
    /// anonymous memory, a segment), not a private copy.
    pub file: bool,
    /// How many page-table entries map the frame (Linux's mapcount).
    pub mapcount: u32,
    /// Written, or writable through a shared mapping (its bytes may differ
    /// from what backs them), or a tmpfs page (nothing backs it).
    pub dirty: bool,
}

impl Mm {
    /// The page at `va`, if one is mapped there.
    pub fn mapped_page(&self, phys: &Phys, va: u64) -> Option<MappedPage> {
        let vma = self.vmas.find(va)?;
        let e = self.pt.lookup(phys, va);
        if e == 0 {
            return None;
        }
        Some(page_of(phys, vma, va, pagetable::pfn(e)))
    }

    /// /proc/PID/pagemap's entry for the page at `va` (the frame number
    /// only if `show_pfn`: Linux shows it to CAP_SYS_ADMIN alone).
    pub fn pagemap_entry(&self, phys: &Phys, va: u64, show_pfn: bool) -> u64 {
        let Some(p) = self.mapped_page(phys, va) else {
            return 0;
        };
        let mut entry = PM_PRESENT;
        if show_pfn {
            entry |= p.pfn as u64 & PM_PFRAME_MASK;
        }
        if !p.zero {
            if p.file {
                entry |= PM_FILE;
            }
            if p.mapcount == 1 {
                entry |= PM_MMAP_EXCLUSIVE;
            }
        }
        entry
    }

    /// The mapped pages of `vma`, for smaps.
    pub fn pages_of<'a>(
        &'a self,
        phys: &'a Phys,
        vma: &'a Vma,
    ) -> impl Iterator<Item = MappedPage> + 'a {
        (vma.start..vma.end)
            .step_by(PAGE_SIZE as usize)
            .filter_map(move |va| {
                let e = self.pt.lookup(phys, va);
                (e != 0).then(|| page_of(phys, vma, va, pagetable::pfn(e)))
            })
    }
}

fn page_of(phys: &Phys, vma: &Vma, va: u64, pfn: usize) -> MappedPage {
    let object = vma.object_page(va);
    let file = object.is_some_and(|(obj, index)| obj.borrow().cached(index) == Some(pfn));
    let zero = pfn == phys.zero_pfn();
    // The object holds one reference of its own on its frames.
    let mapcount = phys.refcount(pfn).saturating_sub(u32::from(file));
    let dirty = match object {
        Some((obj, index)) if file => {
            let obj = obj.borrow();
            obj.is_shmem() || (vma.shared && obj.is_dirty(index))
        }
        // A private copy exists because the page was written.
        _ => !zero,
    };
    MappedPage {
        pfn,
        zero,
        file,
        mapcount,
        dirty,
    }
}

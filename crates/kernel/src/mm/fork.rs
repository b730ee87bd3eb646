//! fork's half of memory management: duplicating an address space with
//! copy-on-write.

use super::pagetable::{self, pfn, PageTable, COW};
use super::phys::{Phys, PAGE_SIZE};
use super::{Mm, TlbFlush};
use crate::errno::KResult;
use rv::pte;

impl Mm {
    /// The child's address space for fork (Linux's dup_mmap): the same
    /// VMAs, and every page the parent has mapped mapped in the child to the
    /// same frame, whose count goes up by one. Nothing is copied:
    ///
    /// - In a private VMA the page becomes copy-on-write in BOTH spaces:
    ///   write permission removed, the COW bit set. Whoever writes first
    ///   takes a copy in `break_cow`. The parent loses W too, or its later
    ///   writes would show through in the child. Read-only private pages get
    ///   the COW bit as well, so that an mprotect making them writable
    ///   cannot hand out write access to a shared frame.
    /// - In a shared VMA (MAP_SHARED) the page stays as it is, writable if
    ///   it was: both sides are meant to see each other's writes.
    /// - Pages never touched stay untouched in both and fault in separately.
    ///
    /// The parent's TLB must forget the write permissions taken away here.
    ///
    /// The cost is one pass over the parent's level-0 tables, with no
    /// allocation per page. Sharing whole level-0 tables between parent and
    /// child until one of them changes an entry would make fork's cost
    /// independent of the parent's size.
    pub fn fork(&mut self, phys: &mut Phys) -> KResult<Mm> {
        let mut child = Mm::new(phys)?;
        child.start_brk = self.start_brk;
        child.vdso = self.vdso;
        child.args = self.args.clone();
        child.env = self.env.clone();
        child.auxv = self.auxv.clone();
        child.brk = self.brk;
        child.stack_limit = self.stack_limit;
        child.as_limit = self.as_limit;
        for vma in self.vmas.iter() {
            if vma.dontfork {
                continue;
            }
            child.vmas.insert(vma.clone());
            if vma.wipeonfork {
                continue;
            }
            let copied = child.share_ptes(
                phys,
                &self.pt,
                &mut self.tlb,
                vma.start,
                vma.end,
                !vma.shared,
            );
            // On failure what was shared so far is consistent in both
            // spaces (a COW page with one holder left is simply reused on
            // write), and the half-built child frees itself as it drops.
            copied?;
        }
        Ok(child)
    }

    /// Maps into `self` every page `parent` maps in [start, end), making
    /// both copy-on-write if `cow`.
    fn share_ptes(
        &mut self,
        phys: &mut Phys,
        parent: &PageTable,
        parent_tlb: &mut TlbFlush,
        start: u64,
        end: u64,
        cow: bool,
    ) -> KResult<()> {
        parent.for_each_l0(phys, start, end, |phys, table, va, lo, hi| {
            let child_table = self.pt.slot_alloc(phys, va)?.table;
            let mut from = pagetable::load(phys, table);
            // The child's table may already hold the end of a previous VMA.
            let mut to = pagetable::load(phys, child_table);
            let zero = phys.zero_pfn();
            let mut resident = 0;
            for i in lo..hi {
                let mut e = from[i];
                if e == 0 {
                    continue;
                }
                if cow {
                    if e & pte::W != 0 {
                        parent_tlb.add_page(va + (i - lo) as u64 * PAGE_SIZE);
                    }
                    e = (e & !pte::W) | COW;
                    from[i] = e;
                }
                to[i] = e;
                phys.get(pfn(e));
                resident += (pfn(e) != zero) as u64;
            }
            if cow {
                pagetable::store(phys, table, &from);
            }
            pagetable::store(phys, child_table, &to);
            self.stats.resident_pages += resident;
            phys.stats.resident_pages += resident;
            Ok(())
        })
    }
}

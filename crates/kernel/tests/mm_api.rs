//! Address spaces through their public API: demand paging, copy-on-write
//! with its counters, sharing, TLB flush records, uaccess and leaks.

use kernel::errno::Errno;
use kernel::mm::*;
use rv::{pte, Access};

const RW: u64 = PROT_READ | PROT_WRITE;
const ANON: u64 = MAP_PRIVATE | MAP_ANONYMOUS;
const P: u64 = PAGE_SIZE;

fn phys() -> Phys {
    Phys::new(64 << 20)
}

/// Every frame back, every address space released.
fn assert_no_leak(phys: &Phys) {
    assert_eq!(phys.live_mms(), 0);
    assert_eq!(phys.free_frames(), phys.total_frames());
    assert_eq!(phys.stats.resident_pages, 0);
    assert_eq!(phys.stats.page_table_pages, 0);
}

fn fill(mm: &mut Mm, phys: &mut Phys, va: u64, pages: u64, byte: u8) {
    for i in 0..pages {
        mm.write_user(phys, va + i * P, &[byte; 4096]).unwrap();
    }
}

fn byte_at(mm: &mut Mm, phys: &mut Phys, va: u64) -> u8 {
    let mut b = [0];
    mm.read_user(phys, va, &mut b).unwrap();
    b[0]
}

#[test]
fn nothing_is_allocated_until_touched() {
    let mut phys = phys();
    let mut mm = Mm::new(&mut phys).unwrap();
    let used = phys.used_frames();
    // More than all of memory: Linux accepts that only with MAP_NORESERVE.
    assert_eq!(
        mm.mmap(&mut phys, 0, 1 << 30, RW, ANON, 0),
        Err(Errno::ENOMEM)
    );
    let a = mm
        .mmap(&mut phys, 0, 1 << 30, RW, ANON | MAP_NORESERVE, 0)
        .unwrap();
    assert!(a < MMAP_BASE && a + (1 << 30) <= MMAP_BASE);
    assert_eq!(phys.used_frames(), used);

    // Reads map the zero frame: still nothing allocated but tables.
    assert_eq!(byte_at(&mut mm, &mut phys, a + 5 * P), 0);
    assert_eq!(mm.stats().resident_pages, 0);
    assert_eq!(mm.stats().zero_fill_faults, 0);
    let e_tables = mm.stats().page_table_pages;
    assert_eq!(e_tables, 3);

    // The first write allocates, and the zero frame's old translation must go.
    mm.write_user(&mut phys, a + 5 * P + 7, &[9]).unwrap();
    assert_eq!(mm.stats().resident_pages, 1);
    assert_eq!(mm.stats().zero_fill_faults, 1);
    assert_eq!(mm.take_tlb_flush(), TlbFlush::Pages(vec![a + 5 * P]));
    // A write to an untouched page needs no flush.
    mm.write_user(&mut phys, a + 6 * P, &[1]).unwrap();
    assert_eq!(mm.take_tlb_flush(), TlbFlush::None);
    assert_eq!(byte_at(&mut mm, &mut phys, a + 5 * P + 7), 9);
    drop(mm);
    phys.reap();
    assert_no_leak(&phys);
}

#[test]
fn fork_copies_nothing_until_written() {
    const N: u64 = 64;
    const K: u64 = 10;
    let mut phys = phys();
    let mut parent = Mm::new(&mut phys).unwrap();
    let a = parent.mmap(&mut phys, 0, N * P, RW, ANON, 0).unwrap();
    fill(&mut parent, &mut phys, a, N, 1);
    parent.take_tlb_flush();
    let used = phys.used_frames();

    let mut child = parent.fork(&mut phys).unwrap();
    // The parent lost write access to N pages: more than a few, so all.
    assert_eq!(parent.take_tlb_flush(), TlbFlush::All);
    assert_eq!(child.stats().resident_pages, N);
    assert_eq!(phys.stats.pages_copied, 0);
    // Only the child's page tables are new.
    assert_eq!(
        phys.used_frames(),
        used + child.stats().page_table_pages as usize
    );
    assert_eq!(byte_at(&mut child, &mut phys, a), 1);

    for i in 0..K {
        child.write_user(&mut phys, a + i * P, &[2]).unwrap();
    }
    let s = child.stats();
    assert_eq!((s.cow_faults, s.pages_copied, s.cow_reused), (K, K, 0));
    assert_eq!(byte_at(&mut parent, &mut phys, a), 1);
    assert_eq!(byte_at(&mut child, &mut phys, a), 2);
    // Parent writes to pages the child copied: the parent is now their only
    // holder, so they are reused, not copied.
    for i in 0..K {
        parent.write_user(&mut phys, a + i * P, &[3]).unwrap();
    }
    let s = parent.stats();
    assert_eq!((s.cow_faults, s.pages_copied, s.cow_reused), (K, 0, K));

    drop(child);
    phys.reap();
    // With the child gone, every remaining page is reused without a copy.
    for i in K..N {
        parent.write_user(&mut phys, a + i * P, &[4]).unwrap();
    }
    let s = parent.stats();
    assert_eq!((s.cow_faults, s.pages_copied, s.cow_reused), (N, 0, N));
    // Reuse only adds permission: nothing to flush.
    assert_eq!(parent.take_tlb_flush(), TlbFlush::None);
    assert_eq!(phys.stats.pages_copied, K);
    drop(parent);
    phys.reap();
    assert_no_leak(&phys);
}

#[test]
fn shared_mappings_stay_shared_across_fork() {
    let mut phys = phys();
    let mut parent = Mm::new(&mut phys).unwrap();
    let a = parent
        .mmap(&mut phys, 0, 4 * P, RW, MAP_SHARED | MAP_ANONYMOUS, 0)
        .unwrap();
    parent.write_user(&mut phys, a, b"before").unwrap();
    let mut child = parent.fork(&mut phys).unwrap();
    // Shared pages keep W in the parent: no flush for them.
    assert_eq!(parent.take_tlb_flush(), TlbFlush::None);
    child.write_user(&mut phys, a + 1, b"C").unwrap();
    // Pages untouched before fork are shared too, whoever touches first.
    child.write_user(&mut phys, a + 3 * P, b"late").unwrap();
    let mut buf = [0; 6];
    parent.read_user(&mut phys, a, &mut buf).unwrap();
    assert_eq!(&buf, b"bCfore");
    let mut buf = [0; 4];
    parent.read_user(&mut phys, a + 3 * P, &mut buf).unwrap();
    assert_eq!(&buf, b"late");
    assert_eq!(phys.stats.cow_faults, 0);
    drop(parent);
    phys.reap();
    let mut buf = [0; 4];
    child.read_user(&mut phys, a + 3 * P, &mut buf).unwrap();
    assert_eq!(&buf, b"late");
    drop(child);
    phys.reap();
    assert_no_leak(&phys);
}

#[test]
fn faults_report_maperr_accerr_and_oom() {
    let mut phys = Phys::new(40 * 4096);
    let mut mm = Mm::new(&mut phys).unwrap();
    let a = mm.mmap(&mut phys, 0, 64 * P, PROT_READ, ANON, 0).unwrap();
    assert_eq!(
        mm.handle_fault(&mut phys, a - 1, Access::Load),
        Err(Fault::MapErr)
    );
    assert_eq!(
        mm.handle_fault(&mut phys, a, Access::Store),
        Err(Fault::AccErr)
    );
    assert_eq!(
        mm.handle_fault(&mut phys, a, Access::Fetch),
        Err(Fault::AccErr)
    );
    assert_eq!(mm.handle_fault(&mut phys, a, Access::Load), Ok(()));
    assert_eq!(
        mm.handle_fault(&mut phys, TASK_SIZE, Access::Load),
        Err(Fault::MapErr)
    );
    mm.mprotect(&mut phys, a, 64 * P, RW).unwrap();
    let mut result = Ok(());
    for i in 0..64 {
        result = mm.handle_fault(&mut phys, a + i * P, Access::Store);
        if result.is_err() {
            break;
        }
    }
    assert_eq!(result, Err(Fault::OutOfMemory));
    drop(mm);
    phys.reap();
    assert_no_leak(&phys);
}

#[test]
fn prot_none_keeps_the_data() {
    let mut phys = phys();
    let mut mm = Mm::new(&mut phys).unwrap();
    let a = mm.mmap(&mut phys, 0, 2 * P, RW, ANON, 0).unwrap();
    mm.write_user(&mut phys, a, b"kept").unwrap();
    mm.take_tlb_flush();
    mm.mprotect(&mut phys, a, P, PROT_NONE).unwrap();
    assert_eq!(mm.take_tlb_flush(), TlbFlush::Pages(vec![a]));
    assert_eq!(mm.read_user(&mut phys, a, &mut [0]), Err(Errno::EFAULT));
    assert_eq!(
        mm.handle_fault(&mut phys, a, Access::Load),
        Err(Fault::AccErr)
    );
    assert_eq!(mm.vmas().count(), 2);
    mm.mprotect(&mut phys, a, P, RW).unwrap();
    // Adding permission needs no flush; the VMAs merge back.
    assert_eq!(mm.take_tlb_flush(), TlbFlush::None);
    assert_eq!(mm.vmas().count(), 1);
    let mut buf = [0; 4];
    mm.read_user(&mut phys, a, &mut buf).unwrap();
    assert_eq!(&buf, b"kept");
    drop(mm);
    phys.reap();
    assert_no_leak(&phys);
}

#[test]
fn mprotect_writable_after_fork_still_copies() {
    let mut phys = phys();
    let mut parent = Mm::new(&mut phys).unwrap();
    let a = parent.mmap(&mut phys, 0, P, RW, ANON, 0).unwrap();
    parent.write_user(&mut phys, a, b"p").unwrap();
    parent.mprotect(&mut phys, a, P, PROT_READ).unwrap();
    let mut child = parent.fork(&mut phys).unwrap();
    child.mprotect(&mut phys, a, P, RW).unwrap();
    child.write_user(&mut phys, a, b"c").unwrap();
    assert_eq!(byte_at(&mut parent, &mut phys, a), b'p');
    assert_eq!(byte_at(&mut child, &mut phys, a), b'c');
    drop(parent);
    drop(child);
    phys.reap();
    assert_no_leak(&phys);
}

#[test]
fn uaccess_checks_the_whole_range_before_writing() {
    let mut phys = phys();
    let mut mm = Mm::new(&mut phys).unwrap();
    let a = mm.mmap(&mut phys, 0, 3 * P, RW, ANON, 0).unwrap();
    mm.mprotect(&mut phys, a + 2 * P, P, PROT_READ).unwrap();
    let data = vec![7u8; 2 * P as usize];
    // Spans a writable page and a read-only one: nothing may change.
    assert_eq!(mm.write_user(&mut phys, a + P, &data), Err(Errno::EFAULT));
    assert_eq!(byte_at(&mut mm, &mut phys, a + P), 0);
    assert_eq!(
        mm.write_user(&mut phys, a + 3 * P - 1, &[1, 2]),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        mm.write_user(&mut phys, u64::MAX - 2, &[1, 2, 3, 4]),
        Err(Errno::EFAULT)
    );
    assert_eq!(mm.read_user(&mut phys, 0, &mut [0]), Err(Errno::EFAULT));
    assert_eq!(
        mm.read_user(&mut phys, TASK_SIZE - 1, &mut [0; 2]),
        Err(Errno::EFAULT)
    );
    mm.write_user(&mut phys, a + P, &data[..P as usize])
        .unwrap();
    mm.write_user_u64(&mut phys, a + P - 4, 0x1122_3344_5566_7788)
        .unwrap();
    assert_eq!(
        mm.read_user_u64(&mut phys, a + P - 4),
        Ok(0x1122_3344_5566_7788)
    );
    assert_eq!(mm.read_user_u32(&mut phys, a + P), Ok(0x1122_3344));

    // Strings: across a page boundary, too long, and running into a hole.
    mm.write_user(&mut phys, a + P - 3, b"hello\0").unwrap();
    assert_eq!(
        mm.read_user_cstr(&mut phys, a + P - 3, 100).unwrap(),
        b"hello"
    );
    assert_eq!(
        mm.read_user_cstr(&mut phys, a + P - 3, 5),
        Err(Errno::ENAMETOOLONG)
    );
    mm.munmap(&mut phys, a + 3 * P, P).unwrap();
    mm.mprotect(&mut phys, a + 2 * P, P, RW).unwrap();
    mm.write_user(&mut phys, a + 3 * P - 2, b"ab").unwrap();
    assert_eq!(
        mm.read_user_cstr(&mut phys, a + 3 * P - 2, 100),
        Err(Errno::EFAULT)
    );

    // The loader's way into read-only memory.
    let text = mm
        .mmap(&mut phys, 0, 2 * P, PROT_READ | PROT_EXEC, ANON, 0)
        .unwrap();
    assert_eq!(mm.write_user(&mut phys, text, b"code"), Err(Errno::EFAULT));
    mm.write_user_force(&mut phys, text + P - 2, b"code")
        .unwrap();
    let mut buf = [0; 4];
    mm.read_user(&mut phys, text + P - 2, &mut buf).unwrap();
    assert_eq!(&buf, b"code");
    assert_eq!(
        mm.handle_fault(&mut phys, text, Access::Store),
        Err(Fault::AccErr)
    );
    let shared_ro = mm
        .mmap(&mut phys, 0, P, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, 0)
        .unwrap();
    assert_eq!(
        mm.write_user_force(&mut phys, shared_ro, b"x"),
        Err(Errno::EFAULT)
    );
    drop(mm);
    phys.reap();
    assert_no_leak(&phys);
}

#[test]
fn stack_grows_down_within_its_limit() {
    let mut phys = phys();
    let mut mm = Mm::new(&mut phys).unwrap();
    let size = 32 * P;
    let base = mm
        .mmap(
            &mut phys,
            STACK_TOP - size,
            size,
            RW,
            ANON | MAP_FIXED | MAP_GROWSDOWN | MAP_STACK,
            0,
        )
        .unwrap();
    assert_eq!(base, STACK_TOP - size);
    mm.write_user_u64(&mut phys, base - 8, 42).unwrap();
    assert_eq!(mm.find_vma(base - 8).unwrap().start, base - P);
    assert_eq!(
        mm.handle_fault(&mut phys, base - 100 * P, Access::Store),
        Ok(())
    );
    let limit_edge = STACK_TOP - STACK_LIMIT;
    assert_eq!(
        mm.handle_fault(&mut phys, limit_edge, Access::Store),
        Ok(())
    );
    assert_eq!(
        mm.handle_fault(&mut phys, limit_edge - 1, Access::Store),
        Err(Fault::MapErr)
    );
    // A mapping must keep the guard gap below the stack.
    let below = mm
        .mmap(&mut phys, limit_edge - 4 * P, P, RW, ANON, 0)
        .unwrap();
    assert!(below + P <= limit_edge - STACK_GUARD_GAP);
    drop(mm);
    phys.reap();
    assert_no_leak(&phys);
}

#[test]
fn brk_grows_shrinks_and_refuses_like_linux() {
    let mut phys = phys();
    let mut mm = Mm::new(&mut phys).unwrap();
    mm.mmap(&mut phys, 0x10000, 2 * P, RW, ANON | MAP_FIXED, 0)
        .unwrap();
    mm.set_brk_start(0x10000 + 2 * P - 100);
    let start = 0x12000;
    assert_eq!(mm.brk(&mut phys, 0), start);
    assert_eq!(mm.brk(&mut phys, start + 10), start + 10);
    mm.write_user(&mut phys, start + 5, b"x").unwrap();
    // The heap VMA merged with the data VMA below it.
    assert_eq!(mm.vmas().count(), 1);
    assert_eq!(mm.brk(&mut phys, start + 3 * P), start + 3 * P);
    mm.write_user(&mut phys, start + 3 * P - 1, b"y").unwrap();
    // Below the start: refused, the current break returned.
    assert_eq!(mm.brk(&mut phys, start - 1), start + 3 * P);
    assert_eq!(mm.brk(&mut phys, start + 1), start + 1);
    assert_eq!(
        mm.read_user(&mut phys, start + P, &mut [0]),
        Err(Errno::EFAULT)
    );
    assert_eq!(byte_at(&mut mm, &mut phys, start + 5), b'x');
    // Growing into another mapping is refused.
    mm.mmap(&mut phys, start + 8 * P, P, RW, ANON | MAP_FIXED, 0)
        .unwrap();
    assert_eq!(mm.brk(&mut phys, start + 8 * P), start + 1);
    assert_eq!(mm.brk(&mut phys, start + 7 * P), start + 7 * P);
    assert_eq!(mm.brk(&mut phys, u64::MAX), start + 7 * P);
    drop(mm);
    phys.reap();
    assert_no_leak(&phys);
}

#[test]
fn mremap_moves_pages_without_copying() {
    let mut phys = phys();
    let mut mm = Mm::new(&mut phys).unwrap();
    let a = mm.mmap(&mut phys, 0, 4 * P, RW, ANON, 0).unwrap();
    for i in 0..4 {
        mm.write_user(&mut phys, a + i * P, &[i as u8 + 1]).unwrap();
    }
    // Something right after it, so growing must move.
    mm.mmap(&mut phys, a + 4 * P, P, PROT_READ, ANON | MAP_FIXED, 0)
        .unwrap();
    assert_eq!(
        mm.mremap(&mut phys, a, 4 * P, 8 * P, 0, 0),
        Err(Errno::ENOMEM)
    );
    let used = phys.used_frames();
    let b = mm
        .mremap(&mut phys, a, 4 * P, 8 * P, MREMAP_MAYMOVE, 0)
        .unwrap();
    assert_ne!(a, b);
    assert!(phys.used_frames() <= used + 3);
    for i in 0..4 {
        assert_eq!(byte_at(&mut mm, &mut phys, b + i * P), i as u8 + 1);
    }
    assert_eq!(byte_at(&mut mm, &mut phys, b + 7 * P), 0);
    assert_eq!(mm.read_user(&mut phys, a, &mut [0]), Err(Errno::EFAULT));
    assert!(matches!(mm.take_tlb_flush(), TlbFlush::Pages(p) if p.len() == 4));
    assert_eq!(mm.stats().pages_copied, 0);
    // Shrink in place, then grow back in place (the tail is free again).
    assert_eq!(mm.mremap(&mut phys, b, 8 * P, 2 * P, 0, 0), Ok(b));
    assert_eq!(mm.mremap(&mut phys, b, 2 * P, 3 * P, 0, 0), Ok(b));
    assert_eq!(byte_at(&mut mm, &mut phys, b + 2 * P), 0);
    // MREMAP_FIXED onto an existing mapping replaces it.
    let c = mm.mmap(&mut phys, 0, 2 * P, RW, ANON, 0).unwrap();
    mm.write_user(&mut phys, c, b"old").unwrap();
    let moved = mm
        .mremap(&mut phys, b, P, P, MREMAP_MAYMOVE | MREMAP_FIXED, c)
        .unwrap();
    assert_eq!(moved, c);
    assert_eq!(byte_at(&mut mm, &mut phys, c), 1);
    assert_eq!(byte_at(&mut mm, &mut phys, c + P), 0);
    // DONTUNMAP leaves the old range mapped and empty.
    let d = mm
        .mremap(&mut phys, c, P, P, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0)
        .unwrap();
    assert_eq!(byte_at(&mut mm, &mut phys, d), 1);
    assert_eq!(byte_at(&mut mm, &mut phys, c), 0);
    drop(mm);
    phys.reap();
    assert_no_leak(&phys);
}

#[test]
fn shared_objects_are_freed_with_their_last_mapping() {
    let mut phys = phys();
    let mut mm = Mm::new(&mut phys).unwrap();
    let a = mm
        .mmap(&mut phys, 0, 4 * P, RW, MAP_SHARED | MAP_ANONYMOUS, 0)
        .unwrap();
    fill(&mut mm, &mut phys, a, 4, 5);
    // Split it, duplicate a part with mremap(old_len = 0), unmap the rest.
    mm.mprotect(&mut phys, a + P, P, PROT_READ).unwrap();
    let dup = mm
        .mremap(&mut phys, a + 2 * P, 0, P, MREMAP_MAYMOVE, 0)
        .unwrap();
    assert_eq!(byte_at(&mut mm, &mut phys, dup), 5);
    mm.write_user(&mut phys, dup, b"d").unwrap();
    assert_eq!(byte_at(&mut mm, &mut phys, a + 2 * P), b'd');
    // Growing a shared mapping past its object: SIGBUS there.
    let grown = mm
        .mremap(&mut phys, dup, P, 4 * P, MREMAP_MAYMOVE, 0)
        .unwrap();
    assert_eq!(mm.handle_fault(&mut phys, grown + P, Access::Load), Ok(()));
    assert_eq!(
        mm.handle_fault(&mut phys, grown + 2 * P, Access::Load),
        Err(Fault::Bus)
    );
    mm.munmap(&mut phys, a, 4 * P).unwrap();
    assert!(phys.used_frames() > mm.stats().page_table_pages as usize);
    mm.munmap(&mut phys, grown, 4 * P).unwrap();
    assert_eq!(phys.used_frames(), mm.stats().page_table_pages as usize);
    drop(mm);
    phys.reap();
    assert_no_leak(&phys);
}

#[test]
fn madvise_dontneed_and_fork_advice() {
    let mut phys = phys();
    let mut mm = Mm::new(&mut phys).unwrap();
    let a = mm.mmap(&mut phys, 0, 4 * P, RW, ANON, 0).unwrap();
    fill(&mut mm, &mut phys, a, 4, 8);
    mm.take_tlb_flush();
    mm.madvise(&mut phys, a + P, 2 * P, MADV_DONTNEED).unwrap();
    assert_eq!(mm.take_tlb_flush(), TlbFlush::Pages(vec![a + P, a + 2 * P]));
    assert_eq!(mm.stats().resident_pages, 2);
    assert_eq!(byte_at(&mut mm, &mut phys, a + P), 0);
    assert_eq!(byte_at(&mut mm, &mut phys, a + 3 * P), 8);
    assert_eq!(
        mm.madvise(&mut phys, a, 8 * P, MADV_DONTNEED),
        Err(Errno::ENOMEM)
    );
    assert_eq!(byte_at(&mut mm, &mut phys, a + 3 * P), 0);

    fill(&mut mm, &mut phys, a, 4, 8);
    mm.madvise(&mut phys, a, P, MADV_DONTFORK).unwrap();
    mm.madvise(&mut phys, a + P, P, MADV_WIPEONFORK).unwrap();
    let mut child = mm.fork(&mut phys).unwrap();
    assert_eq!(child.read_user(&mut phys, a, &mut [0]), Err(Errno::EFAULT));
    assert_eq!(byte_at(&mut child, &mut phys, a + P), 0);
    assert_eq!(byte_at(&mut child, &mut phys, a + 2 * P), 8);
    assert_eq!(byte_at(&mut mm, &mut phys, a + P), 8);
    drop(child);
    drop(mm);
    phys.reap();
    assert_no_leak(&phys);
}

#[test]
fn populate_prefaults() {
    let mut phys = phys();
    let mut mm = Mm::new(&mut phys).unwrap();
    mm.mmap(&mut phys, 0, 8 * P, RW, ANON | MAP_POPULATE, 0)
        .unwrap();
    assert_eq!(mm.stats().resident_pages, 8);
    mm.mmap(&mut phys, 0, 8 * P, PROT_READ, ANON | MAP_POPULATE, 0)
        .unwrap();
    assert_eq!(mm.stats().resident_pages, 8);
    drop(mm);
    phys.reap();
    assert_no_leak(&phys);
}

#[test]
fn leaf_entries_are_what_the_hart_needs() {
    let mut phys = phys();
    let mut mm = Mm::new(&mut phys).unwrap();
    let a = mm.mmap(&mut phys, 0, P, RW, ANON, 0).unwrap();
    mm.write_user(&mut phys, a, b"x").unwrap();
    let pa = mm.translate(&mut phys, a, Access::Store).unwrap();
    // Walk the table by hand, as the hart does.
    let mut table = mm.root();
    for level in [2, 1, 0] {
        let e = phys
            .mem
            .read_u64(table + ((a >> (12 + 9 * level)) & 0x1ff) * 8);
        assert!(e & pte::V != 0);
        if level > 0 {
            assert_eq!(e & (pte::R | pte::W | pte::X), 0);
            table = pte::addr(e);
        } else {
            for bit in [pte::R, pte::W, pte::U, pte::A, pte::D] {
                assert!(e & bit != 0);
            }
            assert_eq!(pte::addr(e), pa);
        }
    }
    drop(mm);
    phys.reap();
    assert_no_leak(&phys);
}

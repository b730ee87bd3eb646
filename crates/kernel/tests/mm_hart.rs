//! The hart walks the tables the mm writes: a tiny program loads and stores
//! through them, its page faults go to `handle_fault`, and copy-on-write
//! after fork behaves as on hardware, TLB flushes included.

use kernel::mm::*;
use rv::{Hart, Trap};

const TEXT: u64 = 0x10000;
const DATA: u64 = 0x20000;
const RW: u64 = PROT_READ | PROT_WRITE;
const ANON: u64 = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;

/// ld t0,0(a0); addi t0,t0,1; sd t0,0(a0); sd a1,0(a2); ebreak
const PROGRAM: [u32; 5] = [
    0x0005_3283,
    0x0012_8293,
    0x0055_3023,
    0x00b6_3023,
    0x0010_0073,
];

/// What the kernel does on every return from the mm: apply its flushes.
fn apply_flush(mm: &mut Mm, hart: &mut Hart) {
    match mm.take_tlb_flush() {
        TlbFlush::None => {}
        TlbFlush::All => hart.flush_tlb(),
        TlbFlush::Pages(pages) => pages.iter().for_each(|&va| hart.flush_tlb_page(va)),
    }
}

/// Runs PROGRAM to its ebreak with a0 = DATA, a1 = `value`, a2 = DATA + 4096;
/// returns how many page faults it took.
fn run(mm: &mut Mm, phys: &mut Phys, hart: &mut Hart, value: u64) -> usize {
    hart.regs.pc = TEXT;
    hart.regs.x[10] = DATA;
    hart.regs.x[11] = value;
    hart.regs.x[12] = DATA + 4096;
    let mut faults = 0;
    loop {
        match hart.run(&mut phys.mem, 1000) {
            Trap::Breakpoint => return faults,
            Trap::PageFault { addr, access } => {
                faults += 1;
                assert!(faults < 10, "fault loop at {addr:#x}");
                mm.handle_fault(phys, addr, access).unwrap();
                apply_flush(mm, hart);
            }
            other => panic!("unexpected trap {other:?} at {:#x}", hart.regs.pc),
        }
    }
}

#[test]
fn the_hart_sees_copy_on_write() {
    let mut phys = Phys::new(16 << 20);
    let mut parent = Mm::new(&mut phys).unwrap();
    parent
        .mmap(&mut phys, TEXT, 4096, PROT_READ | PROT_EXEC, ANON, 0)
        .unwrap();
    let code: Vec<u8> = PROGRAM.iter().flat_map(|i| i.to_le_bytes()).collect();
    parent.write_user_force(&mut phys, TEXT, &code).unwrap();
    parent.mmap(&mut phys, DATA, 2 * 4096, RW, ANON, 0).unwrap();
    parent.write_user_u64(&mut phys, DATA, 41).unwrap();
    let mut hart = Hart::new();
    hart.set_page_table(parent.root());

    // Only the untouched second data page faults (zero-fill on store).
    assert_eq!(run(&mut parent, &mut phys, &mut hart, 7), 1);
    assert_eq!(parent.read_user_u64(&mut phys, DATA), Ok(42));
    assert_eq!(parent.read_user_u64(&mut phys, DATA + 4096), Ok(7));

    let mut child = parent.fork(&mut phys).unwrap();
    apply_flush(&mut parent, &mut hart);
    // Both stores now hit copy-on-write pages and copy them.
    assert_eq!(run(&mut parent, &mut phys, &mut hart, 8), 2);
    assert_eq!(parent.stats().pages_copied, 2);
    // Again: a stale load translation of the old frame would read 42 here.
    assert_eq!(run(&mut parent, &mut phys, &mut hart, 9), 0);
    assert_eq!(parent.read_user_u64(&mut phys, DATA), Ok(44));
    assert_eq!(child.read_user_u64(&mut phys, DATA), Ok(42));
    assert_eq!(child.read_user_u64(&mut phys, DATA + 4096), Ok(7));

    // The child is now its frames' only holder: it takes them back uncopied.
    let mut child_hart = Hart::new();
    child_hart.set_page_table(child.root());
    assert_eq!(run(&mut child, &mut phys, &mut child_hart, 1), 2);
    let s = child.stats();
    assert_eq!((s.cow_faults, s.cow_reused, s.pages_copied), (2, 2, 0));
    assert_eq!(child.read_user_u64(&mut phys, DATA), Ok(43));
    assert_eq!(parent.read_user_u64(&mut phys, DATA), Ok(44));

    drop(child);
    drop(parent);
    phys.reap();
    assert_eq!(phys.free_frames(), phys.total_frames());
}

//! The loader's tests: parsing and rejecting ELF files, loading segments,
//! bss, stack and interpreter into an address space.

use super::*;

/// A PT_LOAD for [`elf_file`]: (vaddr, file bytes, memsz, PF_ flags).
pub struct Load<'a>(pub u64, pub &'a [u8], pub u64, pub u32);

/// A little-endian ELF64 file with the given type, machine and PT_LOAD
/// segments, each segment's bytes at a page-congruent offset.
pub fn elf_file(e_type: u16, machine: u16, entry: u64, loads: &[Load]) -> Vec<u8> {
    let phnum = loads.len();
    let mut f = vec![0u8; 64 + 56 * phnum];
    f[..4].copy_from_slice(b"\x7fELF");
    f[4] = 2; // ELFCLASS64
    f[5] = 1; // little-endian
    f[6] = 1; // EV_CURRENT
    f[16..18].copy_from_slice(&e_type.to_le_bytes());
    f[18..20].copy_from_slice(&machine.to_le_bytes());
    f[20..24].copy_from_slice(&1u32.to_le_bytes());
    f[24..32].copy_from_slice(&entry.to_le_bytes());
    f[32..40].copy_from_slice(&64u64.to_le_bytes()); // e_phoff
    f[52..54].copy_from_slice(&64u16.to_le_bytes()); // e_ehsize
    f[54..56].copy_from_slice(&56u16.to_le_bytes()); // e_phentsize
    f[56..58].copy_from_slice(&(phnum as u16).to_le_bytes());
    for (i, Load(vaddr, bytes, memsz, flags)) in loads.iter().enumerate() {
        // Place the bytes at the next offset congruent to vaddr.
        let mut offset = (f.len() as u64 + PAGE_SIZE - 1) & !(PAGE_SIZE - 1);
        offset += vaddr % PAGE_SIZE;
        f.resize(offset as usize, 0);
        f.extend_from_slice(bytes);
        let ph = 64 + 56 * i;
        let fields: [(usize, u64, usize); 7] = [
            (0, 1, 4), // PT_LOAD
            (4, u64::from(*flags), 4),
            (8, offset, 8),
            (16, *vaddr, 8),
            (24, *vaddr, 8),
            (32, bytes.len() as u64, 8),
            (40, *memsz, 8),
        ];
        for (at, value, width) in fields {
            f[ph + at..ph + at + width].copy_from_slice(&value.to_le_bytes()[..width]);
        }
        f[ph + 48..ph + 56].copy_from_slice(&PAGE_SIZE.to_le_bytes());
    }
    f
}

const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;
const EM_RISCV: u16 = 243;
const R: u32 = 4;
const W: u32 = 2;
const X: u32 = 1;

fn hello() -> Vec<u8> {
    let text = [0x13u8; 0x180]; // nops
    elf_file(
        ET_EXEC,
        EM_RISCV,
        0x10100,
        &[
            Load(0x10000, &text, 0x180, R | X),
            Load(0x11f00, b"data!", 0x2000, R | W),
        ],
    )
}

fn parse_err(data: &[u8]) -> ExecError {
    ElfImage::parse(data).unwrap_err()
}

#[test]
fn parses_a_static_executable() {
    let file = hello();
    let image = ElfImage::parse(&file).unwrap();
    assert_eq!(image.kind, ElfKind::Exec);
    assert_eq!(image.entry, 0x10100);
    assert_eq!(image.segments.len(), 2);
    assert_eq!(image.span(), (0x10000, 0x13f00));
    assert_eq!(image.phdr_vaddr, None);
    assert!(image.interp.is_none());
    assert!(!image.exec_stack);
}

#[test]
fn rejects_what_is_not_riscv64() {
    assert_eq!(parse_err(b""), ExecError::NotElf);
    assert_eq!(parse_err(b"#!/bin/sh\necho hi\n"), ExecError::NotElf);
    assert_eq!(
        parse_err(b"\x7fELF\x02\x01"),
        ExecError::Truncated("ELF header")
    );

    let x86 = elf_file(ET_EXEC, 62, 0, &[]);
    assert_eq!(parse_err(&x86), ExecError::WrongArch("x86-64 ELF".into()));
    let arm64 = elf_file(ET_EXEC, 183, 0, &[]);
    assert_eq!(
        parse_err(&arm64),
        ExecError::WrongArch("AArch64 ELF".into())
    );

    let mut rv32 = hello();
    rv32[4] = 1;
    assert_eq!(
        parse_err(&rv32),
        ExecError::WrongArch("32-bit RISC-V ELF".into())
    );
    let mut big = hello();
    big[5] = 2;
    big[18..20].copy_from_slice(&EM_RISCV.to_be_bytes());
    assert_eq!(
        parse_err(&big),
        ExecError::WrongArch("big-endian 64-bit RISC-V ELF".into())
    );

    let object = elf_file(1, EM_RISCV, 0, &[]);
    assert_eq!(
        parse_err(&object),
        ExecError::NotExecutable("relocatable object")
    );
}

#[test]
fn rejects_broken_headers() {
    let file = hello();
    assert_eq!(parse_err(&file[..40]), ExecError::Truncated("ELF header"));
    assert_eq!(
        parse_err(&file[..100]),
        ExecError::Truncated("program headers past end of file")
    );
    assert_eq!(
        parse_err(&file[..file.len() - 1]),
        ExecError::Truncated("segment extends past end of file")
    );

    let mut no_phdrs = file.clone();
    no_phdrs[56] = 0;
    assert!(matches!(parse_err(&no_phdrs), ExecError::Corrupt(_)));

    let mut bad_entsize = file.clone();
    bad_entsize[54] = 32;
    assert!(matches!(parse_err(&bad_entsize), ExecError::Corrupt(_)));

    // filesz > memsz
    let mut big_file = file.clone();
    big_file[64 + 40..64 + 48].copy_from_slice(&0x10u64.to_le_bytes());
    assert!(matches!(parse_err(&big_file), ExecError::Corrupt(_)));

    let overlapping = elf_file(
        ET_EXEC,
        EM_RISCV,
        0x10000,
        &[Load(0x10000, b"a", 0x2000, R), Load(0x11000, b"b", 0x10, R)],
    );
    assert!(matches!(parse_err(&overlapping), ExecError::Corrupt(_)));

    let beyond = elf_file(
        ET_EXEC,
        EM_RISCV,
        0,
        &[Load(TASK_SIZE - 0x1000, b"a", 0x2000, R)],
    );
    assert!(matches!(parse_err(&beyond), ExecError::Corrupt(_)));

    // vaddr and offset not congruent modulo the page size
    let mut skewed = file.clone();
    skewed[64 + 16..64 + 24].copy_from_slice(&0x10010u64.to_le_bytes());
    assert!(matches!(parse_err(&skewed), ExecError::Corrupt(_)));
}

#[test]
fn notes_the_interpreter() {
    let mut file = hello();
    // Turn the data segment into PT_INTERP pointing at a path.
    let ph = 64 + 56;
    let path_at = file.len() as u64;
    file.extend_from_slice(b"/lib/ld-linux-riscv64-lp64d.so.1\0");
    file[ph..ph + 4].copy_from_slice(&3u32.to_le_bytes());
    file[ph + 8..ph + 16].copy_from_slice(&path_at.to_le_bytes());
    file[ph + 32..ph + 40].copy_from_slice(&33u64.to_le_bytes());
    let image = ElfImage::parse(&file).unwrap();
    assert_eq!(
        image.interp.as_deref(),
        Some("/lib/ld-linux-riscv64-lp64d.so.1")
    );
}

/// The page cache of an in-memory file.
fn pages(phys: &mut Phys, file: &[u8]) -> Rc<RefCell<MemObject>> {
    Executable::from_bytes("/t".into(), file.to_vec()).pages(phys)
}

fn args<'a>() -> ExecArgs<'a> {
    ExecArgs {
        argv: &[],
        envp: &[],
        execfn: b"/t",
        random: [7; 16],
        ids: Ids::default(),
        stack_limit: 8 << 20,
    }
}

#[test]
fn loads_segments_bss_and_stack() {
    let mut phys = Phys::new(4 << 20);
    let mut mm = Mm::new(&mut phys).unwrap();
    let file = hello();
    let image = ElfImage::parse(&file).unwrap();
    let pages = pages(&mut phys, &file);
    let start = load(&mut phys, &mut mm, &image, &pages, None, &args()).unwrap();
    assert_eq!(start.entry, 0x10100);
    assert_eq!(start.sp % 16, 0);
    assert!(start.sp < STACK_TOP && start.sp > STACK_TOP - 0x10000);

    let text = mm.find_vma(0x10000).unwrap();
    assert_eq!(
        (text.start, text.end, text.prot),
        (0x10000, 0x11000, PROT_READ | PROT_EXEC)
    );
    // The data's file page, then the anonymous bss, as on Linux.
    let data = mm.find_vma(0x11f00).unwrap();
    assert_eq!(
        (data.start, data.end, data.prot),
        (0x11000, 0x12000, PROT_READ | PROT_WRITE)
    );
    assert_eq!(data.file_name().as_deref(), Some(&b"/t"[..]));
    let bss = mm.find_vma(0x12000).unwrap();
    assert_eq!((bss.start, bss.end), (0x12000, 0x14000));
    assert!(bss.file_name().is_none());
    let stack = mm.find_vma(start.sp).unwrap();
    assert!(stack.growsdown && stack.end == STACK_TOP);
    assert_eq!(stack.prot, PROT_READ | PROT_WRITE);

    let mut buf = [0xffu8; 8];
    mm.read_user(&mut phys, 0x11f00, &mut buf).unwrap();
    assert_eq!(&buf, b"data!\0\0\0");
    // The tail of the last file page and the pages after it: bss.
    mm.read_user(&mut phys, 0x13ef8, &mut buf).unwrap();
    assert_eq!(buf, [0; 8]);
    mm.read_user(&mut phys, 0x10100, &mut buf[..4]).unwrap();
    assert_eq!(buf[..4], [0x13; 4]);
    // Text is not writable by the guest.
    assert_eq!(mm.write_user(&mut phys, 0x10100, b"x"), Err(Errno::EFAULT));
    assert_eq!(mm.current_brk(), 0x14000);
    drop(mm);
    phys.reap();
    assert_eq!(phys.live_mms(), 0);
}

#[test]
fn places_static_pie_at_et_dyn_base() {
    let mut phys = Phys::new(4 << 20);
    let mut mm = Mm::new(&mut phys).unwrap();
    let file = elf_file(
        ET_DYN,
        EM_RISCV,
        0x100,
        &[Load(0, &[0x13; 0x200], 0x200, R | X)],
    );
    let image = ElfImage::parse(&file).unwrap();
    let pages = pages(&mut phys, &file);
    let start = load(&mut phys, &mut mm, &image, &pages, None, &args()).unwrap();
    assert_eq!(start.entry, ELF_ET_DYN_BASE + 0x100);
    assert_eq!(
        mm.find_vma(ELF_ET_DYN_BASE).unwrap().prot,
        PROT_READ | PROT_EXEC
    );
    drop(mm);
    phys.reap();
}

#[test]
fn a_page_shared_by_two_segments_gets_both_contents() {
    let mut phys = Phys::new(4 << 20);
    let mut mm = Mm::new(&mut phys).unwrap();
    let file = elf_file(
        ET_EXEC,
        EM_RISCV,
        0x10000,
        &[
            Load(0x10000, b"text", 0x800, R | X),
            Load(0x10800, b"data", 0x800, R | W),
        ],
    );
    let image = ElfImage::parse(&file).unwrap();
    let pages = pages(&mut phys, &file);
    load(&mut phys, &mut mm, &image, &pages, None, &args()).unwrap();
    let mut buf = [0; 4];
    mm.read_user(&mut phys, 0x10000, &mut buf).unwrap();
    assert_eq!(&buf, b"text");
    mm.read_user(&mut phys, 0x10800, &mut buf).unwrap();
    assert_eq!(&buf, b"data");
    assert_eq!(mm.find_vma(0x10000).unwrap().prot, PROT_READ | PROT_WRITE);
    drop(mm);
    phys.reap();
}

#[test]
fn a_dynamic_program_starts_in_its_interpreter() {
    let mut phys = Phys::new(4 << 20);
    let mut mm = Mm::new(&mut phys).unwrap();
    let file = hello();
    let mut image = ElfImage::parse(&file).unwrap();
    image.interp = Some("/lib/ld.so".into());
    let ld = elf_file(
        ET_DYN,
        EM_RISCV,
        0x40,
        &[
            Load(0, b"ld.so text", 0x1000, R | X),
            Load(0x1000, b"ld.so data", 0x1800, R | W),
        ],
    );
    let interp = ElfImage::parse(&ld).unwrap();
    let program_pages = pages(&mut phys, &file);
    let interp_pages = pages(&mut phys, &ld);
    let start = load(
        &mut phys,
        &mut mm,
        &image,
        &program_pages,
        Some((&interp, &interp_pages)),
        &args(),
    )
    .unwrap();
    let base = start.entry - 0x40;
    assert_eq!(base % PAGE_SIZE, 0);
    assert!(base > 0x20000 && base < STACK_TOP);
    let mut buf = [0u8; 10];
    mm.read_user(&mut phys, base + 0x1000, &mut buf).unwrap();
    assert_eq!(&buf, b"ld.so data");
    assert_eq!(mm.find_vma(base).unwrap().prot, PROT_READ | PROT_EXEC);
    // The program itself is mapped where it asks, its break after it.
    mm.read_user(&mut phys, 0x11f00, &mut buf[..5]).unwrap();
    assert_eq!(&buf[..5], b"data!");
    assert_eq!(mm.current_brk(), 0x14000);
    drop(mm);
    phys.reap();
}

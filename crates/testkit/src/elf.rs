//! A minimal static ELF64 executable for riscv64 Linux: the ELF header, one
//! program header, and one read-write-execute PT_LOAD segment that maps the
//! whole file, headers included, at `base`.

const EHDR_SIZE: usize = 64;
const PHDR_SIZE: usize = 56;
/// Where the first instruction can go: right after the two headers.
pub const HEADERS: u64 = (EHDR_SIZE + PHDR_SIZE) as u64;

const ET_EXEC: u16 = 2;
const EM_RISCV: u16 = 243;
const PT_LOAD: u32 = 1;
const PF_RWX: u32 = 7;
/// EF_RISCV_RVC | EF_RISCV_FLOAT_ABI_DOUBLE, as gcc marks RV64GC programs.
const EF_RISCV: u32 = 0x5;

/// `image` is the file's contents after the headers, loaded at `base + HEADERS`;
/// execution starts at `entry`.
pub fn executable(base: u64, entry: u64, image: &[u8]) -> Vec<u8> {
    let size = HEADERS + image.len() as u64;
    let mut f = Vec::with_capacity(size as usize);
    // e_ident: magic, 64-bit, little-endian, version 1, System V ABI.
    f.extend_from_slice(b"\x7fELF\x02\x01\x01\x00");
    f.extend_from_slice(&[0; 8]);
    f.extend_from_slice(&ET_EXEC.to_le_bytes());
    f.extend_from_slice(&EM_RISCV.to_le_bytes());
    f.extend_from_slice(&1u32.to_le_bytes()); // e_version
    f.extend_from_slice(&entry.to_le_bytes());
    f.extend_from_slice(&(EHDR_SIZE as u64).to_le_bytes()); // e_phoff
    f.extend_from_slice(&0u64.to_le_bytes()); // e_shoff: no sections
    f.extend_from_slice(&EF_RISCV.to_le_bytes());
    f.extend_from_slice(&(EHDR_SIZE as u16).to_le_bytes());
    f.extend_from_slice(&(PHDR_SIZE as u16).to_le_bytes());
    f.extend_from_slice(&1u16.to_le_bytes()); // e_phnum
    f.extend_from_slice(&[0; 6]); // e_shentsize, e_shnum, e_shstrndx
    debug_assert_eq!(f.len(), EHDR_SIZE);

    f.extend_from_slice(&PT_LOAD.to_le_bytes());
    f.extend_from_slice(&PF_RWX.to_le_bytes());
    f.extend_from_slice(&0u64.to_le_bytes()); // p_offset
    f.extend_from_slice(&base.to_le_bytes()); // p_vaddr
    f.extend_from_slice(&base.to_le_bytes()); // p_paddr
    f.extend_from_slice(&size.to_le_bytes()); // p_filesz
    f.extend_from_slice(&size.to_le_bytes()); // p_memsz
    f.extend_from_slice(&0x1000u64.to_le_bytes()); // p_align
    debug_assert_eq!(f.len() as u64, HEADERS);

    f.extend_from_slice(image);
    f
}

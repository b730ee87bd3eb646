//! The vDSO: a one-page riscv64 ELF shared object mapped into every
//! process at exec (fork inherits it with the rest of the address space)
//! and announced with AT_SYSINFO_EHDR.
//!
//! It exports what Linux's riscv vDSO exports for signals:
//! `__vdso_rt_sigreturn` (`li a7, 139; ecall`) with symbol version
//! LINUX_4.15, where signal handlers return to (riscv has no SA_RESTORER:
//! the kernel sets ra to it). The time functions are absent, so glibc falls
//! back to the system calls. The image is assembled here, byte by byte, so
//! that building cleave needs no cross toolchain; it is the same bytes
//! every run.
//!
//! Layout (offsets = virtual addresses relative to the load address):
//! ELF header, two program headers (PT_LOAD, PT_DYNAMIC), .hash, .dynsym,
//! .gnu.version, .gnu.version_d, .dynstr, .dynamic, .text.

use std::sync::OnceLock;

const HASH: usize = 0x100;
const DYNSYM: usize = 0x120;
const VERSYM: usize = 0x150;
const VERDEF: usize = 0x158;
const DYNSTR: usize = 0x190;
const DYNAMIC: usize = 0x1e0;
const DYNAMIC_ENTRIES: usize = 10;
const TEXT: usize = 0x280;
const SIZE: usize = 0x2a0;

/// Where `__vdso_rt_sigreturn` is, from the start of the vDSO.
pub const SIGRETURN_OFFSET: u64 = TEXT as u64;

/// The symbol version glibc asks for on riscv (dl_vdso_vsym's LINUX_4.15).
pub const VERSION: &str = "LINUX_4.15";

/// The System V ELF hash (for Verdef's vd_hash).
fn elf_hash(name: &[u8]) -> u32 {
    let mut h: u32 = 0;
    for &c in name {
        h = (h << 4).wrapping_add(u32::from(c));
        let g = h & 0xf000_0000;
        if g != 0 {
            h ^= g >> 24;
        }
        h &= !g;
    }
    h
}

/// The vDSO image (one page's worth, [`SIZE`] bytes used).
pub fn image() -> &'static [u8] {
    static IMAGE: OnceLock<Vec<u8>> = OnceLock::new();
    IMAGE.get_or_init(build)
}

fn build() -> Vec<u8> {
    let mut f = vec![0u8; SIZE];
    let put =
        |f: &mut Vec<u8>, at: usize, bytes: &[u8]| f[at..at + bytes.len()].copy_from_slice(bytes);
    let u16 = |v: u16| v.to_le_bytes();
    let u32 = |v: u32| v.to_le_bytes();
    let u64 = |v: u64| v.to_le_bytes();
    // .dynstr
    let strtab = b"\0__vdso_rt_sigreturn\0LINUX_4.15\0linux-vdso.so.1\0";
    let (name_sym, name_ver, name_so) = (1u32, 21u32, 32u32);
    debug_assert_eq!(&strtab[21..31], VERSION.as_bytes());
    put(&mut f, DYNSTR, strtab);
    // ELF header: ELF64, little-endian, ET_DYN, EM_RISCV, RVC + double ABI.
    put(&mut f, 0, b"\x7fELF\x02\x01\x01\0");
    put(&mut f, 16, &u16(3));
    put(&mut f, 18, &u16(243));
    put(&mut f, 20, &u32(1));
    put(&mut f, 32, &u64(64));
    put(&mut f, 48, &u32(0x5));
    put(&mut f, 52, &u16(64));
    put(&mut f, 54, &u16(56));
    put(&mut f, 56, &u16(2));
    put(&mut f, 58, &u16(64));
    // Program headers: PT_LOAD (R+X) of everything, PT_DYNAMIC.
    let phdr =
        |f: &mut Vec<u8>, at: usize, kind: u32, flags: u32, off: usize, size: usize, align: u64| {
            put(f, at, &u32(kind));
            put(f, at + 4, &u32(flags));
            put(f, at + 8, &u64(off as u64));
            put(f, at + 16, &u64(off as u64));
            put(f, at + 24, &u64(off as u64));
            put(f, at + 32, &u64(size as u64));
            put(f, at + 40, &u64(size as u64));
            put(f, at + 48, &u64(align));
        };
    phdr(&mut f, 64, 1, 5, 0, SIZE, 0x1000);
    phdr(&mut f, 64 + 56, 2, 4, DYNAMIC, DYNAMIC_ENTRIES * 16, 8);
    // .hash: one bucket holding symbol 1, chains ending.
    for (i, v) in [1u32, 2, 1, 0, 0].iter().enumerate() {
        put(&mut f, HASH + 4 * i, &u32(*v));
    }
    // .dynsym: the null symbol, then __vdso_rt_sigreturn (GLOBAL FUNC,
    // defined: any section index but SHN_UNDEF).
    let sym = DYNSYM + 24;
    put(&mut f, sym, &u32(name_sym));
    f[sym + 4] = 0x12;
    put(&mut f, sym + 6, &u16(1));
    put(&mut f, sym + 8, &u64(TEXT as u64));
    put(&mut f, sym + 16, &u64(8));
    // .gnu.version: the symbol has version index 2.
    put(&mut f, VERSYM + 2, &u16(2));
    // .gnu.version_d: index 1 is the object itself (VER_FLG_BASE), index 2
    // LINUX_4.15.
    let verdef =
        |f: &mut Vec<u8>, at: usize, flags: u16, ndx: u16, name: u32, hash: u32, next: u32| {
            put(f, at, &u16(1));
            put(f, at + 2, &u16(flags));
            put(f, at + 4, &u16(ndx));
            put(f, at + 6, &u16(1));
            put(f, at + 8, &u32(hash));
            put(f, at + 12, &u32(20));
            put(f, at + 16, &u32(next));
            put(f, at + 20, &u32(name));
            put(f, at + 24, &u32(0));
        };
    verdef(
        &mut f,
        VERDEF,
        1,
        1,
        name_so,
        elf_hash(b"linux-vdso.so.1"),
        28,
    );
    verdef(
        &mut f,
        VERDEF + 28,
        0,
        2,
        name_ver,
        elf_hash(VERSION.as_bytes()),
        0,
    );
    // .dynamic
    let dynamic: [(u64, u64); DYNAMIC_ENTRIES] = [
        (4, HASH as u64),             // DT_HASH
        (5, DYNSTR as u64),           // DT_STRTAB
        (6, DYNSYM as u64),           // DT_SYMTAB
        (10, strtab.len() as u64),    // DT_STRSZ
        (11, 24),                     // DT_SYMENT
        (14, u64::from(name_so)),     // DT_SONAME
        (0x6fff_fff0, VERSYM as u64), // DT_VERSYM
        (0x6fff_fffc, VERDEF as u64), // DT_VERDEF
        (0x6fff_fffd, 2),             // DT_VERDEFNUM
        (0, 0),                       // DT_NULL
    ];
    for (i, (tag, val)) in dynamic.iter().enumerate() {
        put(&mut f, DYNAMIC + 16 * i, &u64(*tag));
        put(&mut f, DYNAMIC + 16 * i + 8, &u64(*val));
    }
    // .text: __vdso_rt_sigreturn: li a7, 139; ecall.
    put(&mut f, TEXT, &u32(139 << 20 | 17 << 7 | 0x13));
    put(&mut f, TEXT + 4, &u32(0x73));
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loader::ElfImage;

    #[test]
    fn is_a_riscv_shared_object_with_the_sigreturn_trampoline() {
        let img = image();
        assert_eq!(&img[..4], b"\x7fELF");
        assert_eq!(u16::from_le_bytes([img[16], img[17]]), 3);
        assert!(ElfImage::parse(img).is_ok());
        let text = &img[TEXT..TEXT + 8];
        assert_eq!(text, [0x93, 0x08, 0xb0, 0x08, 0x73, 0, 0, 0]);
        assert_eq!(elf_hash(b"LINUX_4.15"), 0x0ae7_7f75);
    }
}

//! Reading and validating a riscv64 ELF executable, as Linux's
//! `load_elf_binary` does before it touches the address space.
//!
//! Everything here works on the file's bytes alone, so a bad file is
//! rejected before the caller's address space is harmed.

use super::ExecError;
use crate::mm::{PROT_EXEC, PROT_READ, PROT_WRITE};
use object::elf;
use object::read::elf::{FileHeader, ProgramHeader};
use object::LittleEndian as LE;

/// Linux refuses program header tables larger than this (`elf_read_phdrs`).
const MAX_PHDR_BYTES: usize = 65536;
/// Linux also requires the table to fit in one page (ELF_MIN_ALIGN).
const PHDR_TABLE_LIMIT: usize = crate::loader::PAGE_SIZE as usize;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElfKind {
    /// ET_EXEC: loaded at its link addresses.
    Exec,
    /// ET_DYN: a static-pie (or, later, a PIE or the dynamic linker),
    /// loaded at a bias the kernel chooses.
    Dyn,
}

/// One PT_LOAD segment, unbiased.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    pub vaddr: u64,
    pub memsz: u64,
    pub offset: u64,
    pub filesz: u64,
    /// p_align: a power of two, or 0 or 1 for none.
    pub align: u64,
    /// PROT_READ, PROT_WRITE and PROT_EXEC, as PF_R, PF_W and PF_X say.
    pub prot: u64,
}

/// A validated executable: everything the loader needs, nothing more.
#[derive(Debug)]
pub struct ElfImage<'a> {
    /// The start of the file: at least the headers.
    pub data: &'a [u8],
    /// The whole file's size, which the segments must lie within.
    pub file_size: u64,
    pub kind: ElfKind,
    pub entry: u64,
    /// PT_LOAD segments in ascending address order.
    pub segments: Vec<Segment>,
    /// The program interpreter (PT_INTERP), if the program is dynamic.
    pub interp: Option<String>,
    /// PT_GNU_STACK asked for an executable stack. Without the header
    /// riscv64 Linux gives a non-executable one.
    pub exec_stack: bool,
    /// Unbiased address of the program headers in memory, if some PT_LOAD
    /// covers them (what AT_PHDR reports).
    pub phdr_vaddr: Option<u64>,
    pub phnum: u16,
    pub phentsize: u16,
}

impl<'a> ElfImage<'a> {
    /// Validates `data`, a whole file, as a riscv64 executable.
    pub fn parse(data: &'a [u8]) -> Result<ElfImage<'a>, ExecError> {
        Self::parse_head(data, data.len() as u64)
    }

    /// Validates a file of `file_size` bytes from its first bytes, `data`:
    /// Truncated if the headers go past them.
    pub fn parse_head(data: &'a [u8], file_size: u64) -> Result<ElfImage<'a>, ExecError> {
        check_ident(data)?;
        let header =
            elf::FileHeader64::<LE>::parse(data).map_err(|_| ExecError::Truncated("ELF header"))?;
        let kind = match header.e_type(LE) {
            elf::ET_EXEC => ElfKind::Exec,
            elf::ET_DYN => ElfKind::Dyn,
            elf::ET_REL => return Err(ExecError::NotExecutable("relocatable object")),
            elf::ET_CORE => return Err(ExecError::NotExecutable("core dump")),
            _ => return Err(ExecError::Corrupt("unknown ELF type".into())),
        };

        let phnum = header.e_phnum(LE);
        let phentsize = header.e_phentsize(LE);
        if usize::from(phentsize) != size_of::<elf::ProgramHeader64<LE>>() {
            return Err(ExecError::Corrupt("bad program header size".into()));
        }
        let table_bytes = usize::from(phnum) * usize::from(phentsize);
        if table_bytes == 0 {
            return Err(ExecError::Corrupt("no program headers".into()));
        }
        if table_bytes > MAX_PHDR_BYTES || table_bytes > PHDR_TABLE_LIMIT {
            return Err(ExecError::Corrupt("too many program headers".into()));
        }
        let phoff = header.e_phoff(LE);
        if phoff
            .checked_add(table_bytes as u64)
            .is_none_or(|end| end > data.len() as u64)
        {
            return Err(ExecError::Truncated("program headers past end of file"));
        }
        let phdrs = header
            .program_headers(LE, data)
            .map_err(|_| ExecError::Corrupt("misaligned program headers".into()))?;

        let mut image = ElfImage {
            data,
            file_size,
            kind,
            entry: header.e_entry(LE),
            segments: Vec::new(),
            interp: None,
            exec_stack: false,
            phdr_vaddr: None,
            phnum,
            phentsize,
        };
        for (index, ph) in phdrs.iter().enumerate() {
            match ph.p_type(LE) {
                elf::PT_LOAD => image.add_segment(index, ph)?,
                elf::PT_INTERP => image.interp = Some(read_interp(data, ph)?),
                elf::PT_GNU_STACK => image.exec_stack = ph.p_flags(LE).0 & elf::PF_X.0 != 0,
                _ => {}
            }
        }
        if image.segments.is_empty() {
            return Err(ExecError::Corrupt("no loadable segments".into()));
        }
        // AT_PHDR: the table's address inside the segment that maps it.
        image.phdr_vaddr = image
            .segments
            .iter()
            .find(|s| s.offset <= phoff && phoff + table_bytes as u64 <= s.offset + s.filesz)
            .map(|s| phoff - s.offset + s.vaddr);
        Ok(image)
    }

    fn add_segment(
        &mut self,
        index: usize,
        ph: &elf::ProgramHeader64<LE>,
    ) -> Result<(), ExecError> {
        let corrupt = |what: &str| ExecError::Corrupt(format!("segment {index}: {what}"));
        let (vaddr, memsz) = (ph.p_vaddr(LE), ph.p_memsz(LE));
        let (offset, filesz) = (ph.p_offset(LE), ph.p_filesz(LE));
        if filesz > memsz {
            return Err(corrupt("file size larger than memory size"));
        }
        if offset
            .checked_add(filesz)
            .is_none_or(|end| end > self.file_size)
        {
            return Err(ExecError::Truncated("segment extends past end of file"));
        }
        // mmap can only place file pages at congruent addresses.
        if vaddr % super::PAGE_SIZE != offset % super::PAGE_SIZE {
            return Err(corrupt("address and file offset not congruent"));
        }
        if vaddr
            .checked_add(memsz)
            .is_none_or(|end| end > super::TASK_SIZE)
        {
            return Err(corrupt("outside the user address space"));
        }
        // The ELF specification requires ascending order; overlapping
        // segments would silently clobber each other.
        if let Some(prev) = self.segments.last() {
            if vaddr < prev.vaddr + prev.memsz {
                return Err(corrupt("overlaps the previous segment"));
            }
        }
        let align = ph.p_align(LE);
        if align > 1 && (!align.is_power_of_two() || vaddr % align != offset % align) {
            return Err(corrupt("bad alignment"));
        }
        let flags = ph.p_flags(LE).0;
        self.segments.push(Segment {
            vaddr,
            memsz,
            offset,
            filesz,
            align,
            prot: [
                (elf::PF_R, PROT_READ),
                (elf::PF_W, PROT_WRITE),
                (elf::PF_X, PROT_EXEC),
            ]
            .iter()
            .filter(|(pf, _)| flags & pf.0 != 0)
            .fold(0, |prot, (_, bit)| prot | bit),
        });
        Ok(())
    }

    /// The largest segment alignment.
    pub fn max_align(&self) -> u64 {
        self.segments.iter().map(|s| s.align).max().unwrap_or(0)
    }

    /// The lowest and highest (exclusive) unbiased addresses the segments
    /// occupy.
    pub fn span(&self) -> (u64, u64) {
        let first = &self.segments[0];
        let last = &self.segments[self.segments.len() - 1];
        (first.vaddr, last.vaddr + last.memsz)
    }
}

/// Checks e_ident and e_machine, telling apart the common ways of being the
/// wrong kind of file.
fn check_ident(data: &[u8]) -> Result<(), ExecError> {
    if data.len() < 4 || data[..4] != elf::ELFMAG {
        return Err(ExecError::NotElf);
    }
    // e_machine sits at the same offset in both classes.
    if data.len() < 20 {
        return Err(ExecError::Truncated("ELF header"));
    }
    let (class, encoding, version) = (data[4], data[5], data[6]);
    let machine = match encoding {
        e if e == elf::ELFDATA2LSB.0 => u16::from_le_bytes([data[18], data[19]]),
        e if e == elf::ELFDATA2MSB.0 => u16::from_be_bytes([data[18], data[19]]),
        _ => return Err(ExecError::Corrupt("unknown data encoding".into())),
    };
    let bits = match class {
        c if c == elf::ELFCLASS32.0 => 32,
        c if c == elf::ELFCLASS64.0 => 64,
        _ => return Err(ExecError::Corrupt("unknown ELF class".into())),
    };
    let big_endian = encoding == elf::ELFDATA2MSB.0;
    if machine != elf::EM_RISCV.0 || bits != 64 || big_endian {
        return Err(ExecError::WrongArch(describe_machine(
            bits, big_endian, machine,
        )));
    }
    if version != elf::EV_CURRENT.0 {
        return Err(ExecError::Corrupt("unknown ELF version".into()));
    }
    Ok(())
}

/// "x86-64 ELF", "32-bit RISC-V ELF", "big-endian 64-bit RISC-V ELF"...
fn describe_machine(bits: u32, big_endian: bool, machine: u16) -> String {
    // (machine, name, the width the name implies, if it implies one)
    const MACHINES: &[(elf::Machine, &str, u32)] = &[
        (elf::EM_X86_64, "x86-64", 64),
        (elf::EM_386, "i386", 32),
        (elf::EM_AARCH64, "AArch64", 64),
        (elf::EM_ARM, "ARM", 32),
        (elf::EM_RISCV, "RISC-V", 0),
        (elf::EM_PPC64, "PowerPC64", 64),
        (elf::EM_PPC, "PowerPC", 32),
        (elf::EM_S390, "S/390", 0),
        (elf::EM_MIPS, "MIPS", 0),
        (elf::EM_LOONGARCH, "LoongArch", 0),
        (elf::EM_SPARCV9, "SPARC64", 64),
        (elf::EM_SPARC, "SPARC", 32),
    ];
    let Some(&(_, name, implied)) = MACHINES.iter().find(|m| m.0 .0 == machine) else {
        return format!("{bits}-bit ELF for machine {machine}");
    };
    let endian = if big_endian && machine == elf::EM_RISCV.0 {
        "big-endian "
    } else {
        ""
    };
    if implied == bits {
        format!("{endian}{name} ELF")
    } else {
        format!("{endian}{bits}-bit {name} ELF")
    }
}

fn read_interp(data: &[u8], ph: &elf::ProgramHeader64<LE>) -> Result<String, ExecError> {
    let bytes = ph
        .data(LE, data)
        .map_err(|_| ExecError::Truncated("interpreter path past end of file"))?;
    let path = bytes.split(|&b| b == 0).next().unwrap_or_default();
    if path.is_empty() || path.len() == bytes.len() {
        return Err(ExecError::Corrupt("interpreter path not terminated".into()));
    }
    Ok(String::from_utf8_lossy(path).into_owned())
}

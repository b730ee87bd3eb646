//! Core dumps (Linux's fs/coredump.c and binfmt_elf.c's elf_core_dump):
//! a process killed by a signal whose default action is "core" leaves an
//! ELF file named `core` in its working directory, with its threads'
//! registers and its memory, that gdb reads as it reads Linux's.
//!
//! The file is named by kernel.core_pattern (/proc/sys, "core" by
//! default) with Linux's %-specifiers (`core_name`); a pattern that pipes
//! to a program ("|...") writes nothing, as cleave runs no helper. As on
//! Linux: nothing is written when RLIMIT_CORE is below one page, a dump larger than the limit is cut at
//! the limit and does not count, and a directory the process cannot write
//! (a read-only host directory) gets no dump. Only a complete dump sets the
//! 0x80 bit of the wait status.
//!
//! The layout: the ELF header, one PT_NOTE and one PT_LOAD per VMA, then
//! the notes, then page-aligned memory. Unreadable VMAs are PT_LOADs without
//! file bytes. The notes are in write_note_info's order: per thread
//! NT_PRSTATUS, for the dumping thread (first) then NT_PRPSINFO, NT_SIGINFO,
//! NT_AUXV and NT_FILE, then the thread's NT_PRFPREG.

use crate::errno::{Errno, KResult};
use crate::fs::file::O_WRONLY;
use crate::fs::{Data, OpenFile, S_IFMT, S_IFREG};
use crate::mm::{Mm, PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE};
use crate::syscall::fs::{create, file_write, truncate_file};
use crate::task::rlimit::RLIMIT_CORE;
use crate::task::signal::SigInfo;
use crate::task::{Kernel, Tid};

const ET_CORE: u16 = 4;
const EM_RISCV: u16 = 243;
const PT_LOAD: u32 = 1;
const PT_NOTE: u32 = 4;
const NT_PRSTATUS: u32 = 1;
const NT_PRFPREG: u32 = 2;
const NT_PRPSINFO: u32 = 3;
const NT_AUXV: u32 = 6;
const NT_FILE: u32 = 0x4649_4c45;
const NT_SIGINFO: u32 = 0x5349_4749;
const EHDR_SIZE: usize = 64;
const PHDR_SIZE: usize = 56;
/// riscv64's struct elf_prstatus: siginfo head, signal sets, ids, times,
/// then pr_reg (pc, x1..x31) at 112 and pr_fpvalid at 368.
const PRSTATUS_SIZE: usize = 376;
/// struct elf_prpsinfo: pr_fname (16 bytes) at 40, pr_psargs at 56.
const PRPSINFO_SIZE: usize = 136;
/// ELF_PRARGSZ: pr_psargs' size, its NUL included.
const PRARGSZ: usize = 80;
/// The NT_PRFPREG regset: f0..f31, fcsr, padding (ELF_NFPREG = 33).
const FPREG_SIZE: usize = 264;

/// One segment of the dump: a VMA and whether its bytes are written.
struct Segment {
    start: u64,
    end: u64,
    prot: u64,
    dumped: bool,
}

impl Kernel {
    /// Dumps the current process, which is dying of `info`'s signal.
    /// True when a complete core file was written.
    pub(super) fn do_coredump(&mut self, info: &SigInfo) -> bool {
        let group = self.current().group.clone();
        let limit = group.borrow().rlimits.get(RLIMIT_CORE).cur;
        if limit < PAGE_SIZE {
            return false;
        }
        let Some(name) = self.core_name(info) else {
            return false;
        };
        let (head, segments) = self.core_head(info);
        let size = head.len() as u64
            + (segments.iter().filter(|s| s.dumped))
                .map(|s| s.end - s.start)
                .sum::<u64>();
        self.write_core_file(&name, &head, &segments, size.min(limit))
            .is_ok()
            && size <= limit
    }

    /// The start of the dump, up to the memory: headers and notes, and
    /// the segments whose memory follows. The memory itself is streamed to
    /// the file ([`Kernel::write_core_file`]): it may be far larger than
    /// what the host should hold.
    fn core_head(&mut self, info: &SigInfo) -> (Vec<u8>, Vec<Segment>) {
        let tid = self.current_tid();
        let tgid = self.current().group.borrow().tgid;
        let mut threads = self.threads_of(tgid);
        // The dumping thread first, as Linux lists it.
        threads.retain(|&t| t != tid);
        threads.insert(0, tid);

        let mm = self.current().mm.clone();
        let mut notes = Vec::new();
        for (i, &t) in threads.iter().enumerate() {
            note(&mut notes, NT_PRSTATUS, &self.prstatus(t, info));
            if i == 0 {
                note(&mut notes, NT_PRPSINFO, &self.prpsinfo());
                note(&mut notes, NT_SIGINFO, &info.0);
                let auxv: Vec<u8> = mm
                    .borrow()
                    .auxv
                    .iter()
                    .flat_map(|&(key, value)| [key, value])
                    .flat_map(u64::to_le_bytes)
                    .collect();
                note(&mut notes, NT_AUXV, &auxv);
                note(&mut notes, NT_FILE, &files_note(&mm.borrow()));
            }
            let regs = self.regs_mut(t).clone();
            let mut fp = [0u8; FPREG_SIZE];
            for (chunk, f) in fp.chunks_exact_mut(8).zip(regs.f) {
                chunk.copy_from_slice(&f.to_le_bytes());
            }
            fp[256..260].copy_from_slice(&regs.fcsr.to_le_bytes());
            note(&mut notes, NT_PRFPREG, &fp);
        }

        let segments: Vec<Segment> = mm
            .borrow()
            .vmas()
            .map(|v| Segment {
                start: v.start,
                end: v.end,
                prot: v.prot,
                dumped: v.prot & PROT_READ != 0,
            })
            .collect();

        let phnum = 1 + segments.len();
        let notes_at = EHDR_SIZE + PHDR_SIZE * phnum;
        let data_at = page_up(notes_at + notes.len());
        let mut out = Vec::with_capacity(data_at);
        out.extend_from_slice(&ehdr(phnum as u16));
        out.extend_from_slice(&phdr(
            PT_NOTE,
            0,
            notes_at as u64,
            0,
            notes.len() as u64,
            0,
            4,
        ));
        let mut offset = data_at as u64;
        for s in &segments {
            let size = s.end - s.start;
            let filesz = if s.dumped { size } else { 0 };
            let flags = [(PROT_READ, 4), (PROT_WRITE, 2), (PROT_EXEC, 1)]
                .iter()
                .filter(|(p, _)| s.prot & p != 0)
                .fold(0, |f, (_, bit)| f | bit);
            out.extend_from_slice(&phdr(
                PT_LOAD, flags, offset, s.start, filesz, size, PAGE_SIZE,
            ));
            offset += filesz;
        }
        out.extend_from_slice(&notes);
        out.resize(data_at, 0);
        (out, segments)
    }

    /// NT_PRSTATUS of thread `tid` (Linux's fill_prstatus).
    fn prstatus(&mut self, tid: Tid, info: &SigInfo) -> [u8; PRSTATUS_SIZE] {
        let mut b = [0u8; PRSTATUS_SIZE];
        let signo = info.signo();
        let task = self.task(tid).expect("thread of the dumping process");
        let group = task.group.borrow();
        b[0..4].copy_from_slice(&signo.to_le_bytes());
        b[12..14].copy_from_slice(&(signo as u16).to_le_bytes());
        b[16..24].copy_from_slice(&task.pending.set.to_le_bytes());
        b[24..32].copy_from_slice(&task.sigmask.to_le_bytes());
        for (at, id) in [
            (32, tid),
            (36, group.ppid),
            (40, group.pgid),
            (44, group.sid),
        ] {
            b[at..at + 4].copy_from_slice(&id.to_le_bytes());
        }
        let cpu = task.cpu_time;
        b[48..56].copy_from_slice(&cpu.as_secs().to_le_bytes());
        b[56..64].copy_from_slice(&u64::from(cpu.subsec_micros()).to_le_bytes());
        drop(group);
        let regs = self.regs_mut(tid).clone();
        b[112..120].copy_from_slice(&regs.pc.to_le_bytes());
        for (i, x) in regs.x.iter().enumerate().skip(1) {
            b[112 + i * 8..120 + i * 8].copy_from_slice(&x.to_le_bytes());
        }
        b[368..372].copy_from_slice(&1u32.to_le_bytes());
        b
    }

    /// NT_PRPSINFO of the process (Linux's fill_psinfo): running, its ids,
    /// its command name and the start of its command line.
    fn prpsinfo(&mut self) -> [u8; PRPSINFO_SIZE] {
        let mut b = [0u8; PRPSINFO_SIZE];
        // As fill_psinfo: the argument strings as they are now in memory,
        // NULs made spaces (the last one too), cut to leave a NUL at the end.
        let mm = self.current().mm.clone();
        let args = mm.borrow().args.clone();
        let len = ((args.end - args.start) as usize).min(PRARGSZ - 1);
        let psargs = &mut b[56..56 + len];
        if mm
            .borrow_mut()
            .read_user(&mut self.phys, args.start, psargs)
            .is_ok()
        {
            psargs
                .iter_mut()
                .filter(|c| **c == 0)
                .for_each(|c| *c = b' ');
        } else {
            psargs.fill(0);
        }
        let group = self.current().group.borrow();
        b[1] = b'R';
        b[16..20].copy_from_slice(&group.cred.uid.to_le_bytes());
        b[20..24].copy_from_slice(&group.cred.gid.to_le_bytes());
        for (at, id) in [
            (24, group.tgid),
            (28, group.ppid),
            (32, group.pgid),
            (36, group.sid),
        ] {
            b[at..at + 4].copy_from_slice(&id.to_le_bytes());
        }
        let comm = &group.comm[..group.comm.len().min(15)];
        b[40..40 + comm.len()].copy_from_slice(comm);
        b
    }

    /// The core file's path: kernel.core_pattern with Linux's format_corename
    /// specifiers expanded (%% %p %P %i %I %u %g %s %t %h %e %c; others
    /// are dropped). None for a pipe ("|program") or an empty name.
    fn core_name(&self, info: &SigInfo) -> Option<Vec<u8>> {
        let pattern = &self.sysctl.core_pattern;
        if pattern.first() == Some(&b'|') {
            return None;
        }
        let g = self.current().group.borrow();
        let tid = self.current_tid();
        let mut out = Vec::new();
        let mut chars = pattern.iter();
        while let Some(&c) = chars.next() {
            if c != b'%' {
                out.push(c);
                continue;
            }
            let text = match chars.next() {
                Some(b'%') => "%".to_string(),
                Some(b'p' | b'P') => g.tgid.to_string(),
                Some(b'i' | b'I') => tid.to_string(),
                Some(b'u') => g.cred.uid.to_string(),
                Some(b'g') => g.cred.gid.to_string(),
                Some(b's') => info.signo().to_string(),
                Some(b't') => self.clock.realtime(&self.hart).as_secs().to_string(),
                Some(b'h') => String::from_utf8_lossy(&self.sysctl.hostname).into_owned(),
                Some(b'e') => String::from_utf8_lossy(&g.comm).into_owned(),
                Some(b'c') => match g.rlimits.get(RLIMIT_CORE).cur {
                    u64::MAX => "18446744073709551615".to_string(),
                    limit => limit.to_string(),
                },
                _ => String::new(),
            };
            out.extend_from_slice(text.as_bytes());
        }
        (!out.is_empty()).then_some(out)
    }

    /// Creates or truncates the core file `name` (relative to the working
    /// directory) and writes to
    /// it `head`, then the memory of `segments`, page by page, the whole
    /// cut at `size` bytes, through open's and write's own helpers (owner,
    /// page cache, host directories), as Linux's do_coredump opens it: a
    /// regular file with one link, or a new one with mode 0600. A page
    /// that cannot be read (beyond a file's end) or reads as zeros is a
    /// hole, as Linux's dump_skip leaves one.
    fn write_core_file(
        &mut self,
        name: &[u8],
        head: &[u8],
        segments: &[Segment],
        size: u64,
    ) -> KResult<()> {
        let (root, cwd, umask) = {
            let fs = self.current().fs.borrow();
            (fs.root.clone(), fs.cwd.clone(), fs.umask)
        };
        let parent = self.vfs.walk_parent(&root, &cwd, name)?;
        let (dir, name) = (parent.dir, parent.name);
        if self.vfs.readonly(&dir) {
            return Err(Errno::EROFS);
        }
        let loc = match self.vfs.lookup(&dir, &name) {
            Ok(existing) => {
                let inode = existing.inode.borrow();
                if inode.mode & S_IFMT != S_IFREG || inode.nlink != 1 {
                    return Err(Errno::EACCES);
                }
                drop(inode);
                truncate_file(self, &existing, 0)?;
                existing
            }
            Err(Errno::ENOENT) => {
                let mode = S_IFREG | (0o600 & !umask);
                create(self, &dir, &name, mode, Data::File(Default::default()))?
            }
            Err(e) => return Err(e),
        };
        let file = OpenFile::new(
            crate::fs::open::inode_file(&self.vfs, loc.clone()),
            O_WRONLY,
        );
        let cut = |at: u64, len: usize| (size.saturating_sub(at) as usize).min(len);
        file_write(self, &file, &head[..cut(0, head.len())], Some(0))?;
        let mm = self.current().mm.clone();
        let mut at = head.len() as u64;
        let mut page = [0u8; PAGE_SIZE as usize];
        for s in segments.iter().filter(|s| s.dumped) {
            for va in (s.start..s.end).step_by(PAGE_SIZE as usize) {
                let n = cut(at, page.len());
                if n == 0 {
                    break;
                }
                let read = mm.borrow_mut().read_user(&mut self.phys, va, &mut page);
                if read.is_ok() && page.iter().any(|&b| b != 0) {
                    file_write(self, &file, &page[..n], Some(at))?;
                }
                at += PAGE_SIZE;
            }
        }
        truncate_file(self, &loc, size)
    }
}

/// NT_FILE (Linux's fill_files_note): the number of file mappings and the
/// page size, a (start, end, file page) triple per mapping, then their
/// names, each ending in NUL. The vDSO's pages are a kernel file here but
/// not a file mapping on Linux, so they are left out.
fn files_note(mm: &Mm) -> Vec<u8> {
    let files: Vec<_> = mm
        .vmas()
        .filter(|v| mm.vdso == 0 || v.start != mm.vdso)
        .filter_map(|v| v.file().map(|(name, pgoff)| (v.start, v.end, pgoff, name)))
        .collect();
    let mut out = Vec::new();
    for word in [files.len() as u64, PAGE_SIZE].into_iter().chain(
        files
            .iter()
            .flat_map(|&(start, end, pgoff, _)| [start, end, pgoff]),
    ) {
        out.extend_from_slice(&word.to_le_bytes());
    }
    for (.., name) in &files {
        out.extend_from_slice(name);
        out.push(0);
    }
    out
}

/// Appends one ELF note with the name "CORE".
fn note(out: &mut Vec<u8>, kind: u32, desc: &[u8]) {
    out.extend_from_slice(&5u32.to_le_bytes());
    out.extend_from_slice(&(desc.len() as u32).to_le_bytes());
    out.extend_from_slice(&kind.to_le_bytes());
    out.extend_from_slice(b"CORE\0\0\0\0");
    out.extend_from_slice(desc);
    out.resize(out.len().next_multiple_of(4), 0);
}

fn ehdr(phnum: u16) -> [u8; EHDR_SIZE] {
    let mut h = [0u8; EHDR_SIZE];
    h[..7].copy_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1]);
    h[16..18].copy_from_slice(&ET_CORE.to_le_bytes());
    h[18..20].copy_from_slice(&EM_RISCV.to_le_bytes());
    h[20..24].copy_from_slice(&1u32.to_le_bytes());
    h[32..40].copy_from_slice(&(EHDR_SIZE as u64).to_le_bytes());
    h[52..54].copy_from_slice(&(EHDR_SIZE as u16).to_le_bytes());
    h[54..56].copy_from_slice(&(PHDR_SIZE as u16).to_le_bytes());
    h[56..58].copy_from_slice(&phnum.to_le_bytes());
    h
}

fn phdr(
    kind: u32,
    flags: u32,
    offset: u64,
    vaddr: u64,
    filesz: u64,
    memsz: u64,
    align: u64,
) -> [u8; PHDR_SIZE] {
    let mut p = [0u8; PHDR_SIZE];
    p[0..4].copy_from_slice(&kind.to_le_bytes());
    p[4..8].copy_from_slice(&flags.to_le_bytes());
    for (at, v) in [
        (8, offset),
        (16, vaddr),
        (32, filesz),
        (40, memsz),
        (48, align),
    ] {
        p[at..at + 8].copy_from_slice(&v.to_le_bytes());
    }
    p
}

fn page_up(n: usize) -> usize {
    n.next_multiple_of(PAGE_SIZE as usize)
}

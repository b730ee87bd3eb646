//! The ELF loader: what execve does between finding the file and running
//! its first instruction (Linux's `load_elf_binary`): validate the file,
//! map its PT_LOAD segments with their protections, zero the bss, set the
//! program break, map the program interpreter of a dynamic program (the
//! dynamic linker named by PT_INTERP, which runs first), map the stack and
//! build the initial stack on it.

pub mod elf;
pub mod stack;
pub mod vdso;

use crate::errno::Errno;
use crate::mm::{
    self, Bytes, FilePages, MapFile, MemObject, Mm, Phys, ELF_ET_DYN_BASE, MAP_ANONYMOUS,
    MAP_FIXED, MAP_GROWSDOWN, MAP_POPULATE, MAP_PRIVATE, PROT_EXEC, PROT_NONE, PROT_READ,
    PROT_WRITE, STACK_TOP,
};
pub use elf::{ElfImage, ElfKind};
use std::cell::RefCell;
use std::fmt;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

pub const PAGE_SIZE: u64 = mm::PAGE_SIZE;
pub const TASK_SIZE: u64 = mm::TASK_SIZE;

/// Room Linux leaves below the arguments in a new stack VMA before it first
/// has to grow (`stack_expand` in setup_arg_pages).
const STACK_EXPAND: u64 = 128 << 10;

/// Why an executable could not be started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExecError {
    NotFound,
    IsDirectory,
    PermissionDenied,
    /// Another host error reading the file.
    Io(String),
    /// No ELF magic.
    NotElf,
    /// An ELF file for another machine, class or byte order, described as
    /// "x86-64 ELF" or "32-bit RISC-V ELF".
    WrongArch(String),
    /// An ELF file that is no executable ("relocatable object").
    NotExecutable(&'static str),
    /// The file ends before something its headers promise.
    Truncated(&'static str),
    /// The headers contradict themselves.
    Corrupt(String),
    /// The guest-visible error of a step that failed (ENOMEM, E2BIG...).
    Errno(Errno),
}

impl ExecError {
    /// The errno execve returns for this failure.
    pub fn errno(&self) -> Errno {
        match self {
            ExecError::NotFound => Errno::ENOENT,
            // Linux's execve of a directory fails in may_open with EACCES.
            ExecError::IsDirectory | ExecError::PermissionDenied => Errno::EACCES,
            ExecError::Io(_) => Errno::EIO,
            ExecError::NotElf
            | ExecError::WrongArch(_)
            | ExecError::NotExecutable(_)
            | ExecError::Truncated(_)
            | ExecError::Corrupt(_) => Errno::ENOEXEC,
            ExecError::Errno(e) => *e,
        }
    }

    /// The exit status a shell gives a command that failed this way: 127
    /// when it does not exist, 126 when it cannot be executed.
    pub fn shell_code(&self) -> i32 {
        match self {
            ExecError::NotFound => 127,
            _ => 126,
        }
    }
}

impl fmt::Display for ExecError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            ExecError::NotFound => write!(f, "No such file or directory"),
            ExecError::IsDirectory => write!(f, "Is a directory"),
            ExecError::PermissionDenied => write!(f, "Permission denied"),
            ExecError::Io(e) => write!(f, "cannot read: {e}"),
            ExecError::NotElf => write!(f, "not an ELF executable"),
            ExecError::WrongArch(what) => write!(f, "not a riscv64 executable ({what})"),
            ExecError::NotExecutable(what) => write!(f, "not an executable ({what})"),
            ExecError::Truncated(what) => write!(f, "truncated ELF file ({what})"),
            ExecError::Corrupt(what) => write!(f, "corrupt ELF file ({what})"),
            ExecError::Errno(e) => write!(f, "cannot load: {}", e.name()),
        }
    }
}

impl From<Errno> for ExecError {
    fn from(e: Errno) -> ExecError {
        ExecError::Errno(e)
    }
}

/// An executable file: its pages, which the loader maps, and its first
/// bytes.
pub struct Executable {
    /// The absolute path, what /proc/self/exe shows.
    pub path: PathBuf,
    pages: Pages,
    pub size: u64,
    /// The first bytes: the ELF headers or the "#!" line.
    pub head: Vec<u8>,
    /// Its inode, when it is a file of the VFS.
    pub inode: Option<crate::fs::InodeRef>,
}

/// Where an executable's pages are.
enum Pages {
    /// In the page cache: a file of the VFS.
    Cache(Rc<RefCell<MemObject>>),
    /// In a buffer of the kernel's, until loading puts them in an object.
    Memory(Vec<u8>),
}

/// How much of the file is read for its headers at first; more if they
/// need it.
const HEAD_BYTES: u64 = PAGE_SIZE;
/// At most this much: Linux reads the program headers wherever they are,
/// but no sane executable has them past its first pages.
const MAX_HEAD_BYTES: u64 = 64 << 10;

impl Executable {
    /// Reads the file at `path`, which must be a regular file with an
    /// execute bit, as execve requires. Its bytes are the kernel's own:
    /// the first program, named on the command line.
    pub fn open(path: &Path) -> Result<Executable, ExecError> {
        let meta = std::fs::metadata(path).map_err(io_error)?;
        if meta.is_dir() {
            return Err(ExecError::IsDirectory);
        }
        if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
            return Err(ExecError::PermissionDenied);
        }
        let data = std::fs::read(path).map_err(io_error)?;
        let path = std::fs::canonicalize(path).map_err(io_error)?;
        Ok(Executable::from_bytes(path, data))
    }

    /// An executable held in memory (the embedded init).
    pub fn from_bytes(path: PathBuf, data: Vec<u8>) -> Executable {
        let head = data[..data.len().min(MAX_HEAD_BYTES as usize)].to_vec();
        Executable {
            path,
            size: data.len() as u64,
            pages: Pages::Memory(data),
            head,
            inode: None,
        }
    }

    /// An executable in the page cache: its first page is read.
    pub fn from_pages(
        phys: &mut Phys,
        path: PathBuf,
        pages: Rc<RefCell<MemObject>>,
    ) -> Result<Executable, ExecError> {
        let size = pages.borrow().bytes();
        let mut exe = Executable {
            path,
            pages: Pages::Cache(pages),
            size,
            head: Vec::new(),
            inode: None,
        };
        exe.read_head(phys, HEAD_BYTES)?;
        Ok(exe)
    }

    /// The file's pages as a memory object, for mapping.
    pub fn pages(&mut self, phys: &mut Phys) -> Rc<RefCell<MemObject>> {
        if let Pages::Memory(data) = &mut self.pages {
            let name = self.path.as_os_str().as_encoded_bytes().to_vec();
            let data = std::mem::take(data);
            self.pages = Pages::Cache(phys.cache.object(Rc::new(Bytes { name, data })));
        }
        match &self.pages {
            Pages::Cache(obj) => obj.clone(),
            Pages::Memory(_) => unreachable!("just put in an object"),
        }
    }

    fn read_head(&mut self, phys: &mut Phys, len: u64) -> Result<(), ExecError> {
        let mut head = vec![0; len.min(self.size) as usize];
        let n = self.pages(phys).borrow_mut().read(phys, 0, &mut head)?;
        head.truncate(n);
        self.head = head;
        Ok(())
    }

    /// The ELF image, reading more of the file if the headers need it.
    pub fn parse(&mut self, phys: &mut Phys) -> Result<ElfImage<'_>, ExecError> {
        let short = (self.head.len() as u64) < self.size.min(MAX_HEAD_BYTES);
        if short
            && matches!(
                ElfImage::parse_head(&self.head, self.size),
                Err(ExecError::Truncated(_))
            )
        {
            self.read_head(phys, MAX_HEAD_BYTES)?;
        }
        ElfImage::parse_head(&self.head, self.size)
    }
}

/// What exec would say about `path` before building anything: the CLI's
/// check, so that a bad file is reported by name before boot. A "#!"
/// script or a dynamic program passes, with the interpreter it names,
/// which is a path in the guest's file system.
pub fn precheck(path: &Path) -> Result<Option<Vec<u8>>, ExecError> {
    let exe = Executable::open(path)?;
    if let Some(script) = parse_shebang(&exe.head) {
        return script.map(|(interp, _)| Some(interp));
    }
    let image = ElfImage::parse_head(&exe.head, exe.size)?;
    Ok(image.interp.map(String::into_bytes))
}

/// BINPRM_BUF_SIZE: the "#!" line is looked for in this many bytes.
const BINPRM_BUF_SIZE: usize = 256;

/// A "#!" line: the interpreter and its optional argument.
pub type Shebang = (Vec<u8>, Option<Vec<u8>>);

/// A "#!" line's interpreter and optional argument, parsed as Linux's
/// load_script does from the first [`BINPRM_BUF_SIZE`] bytes: None if the
/// file is no script. Without a newline in them, the interpreter's name
/// must end (a space, tab or NUL) inside the buffer, else it would be
/// truncated: ENOEXEC. The argument is the rest of the line, whatever its
/// spaces, and may be cut short.
pub fn parse_shebang(data: &[u8]) -> Option<Result<Shebang, ExecError>> {
    if !data.starts_with(b"#!") {
        return None;
    }
    // Linux's buffer: the file's first bytes, NUL past its end.
    let mut buf = [0u8; BINPRM_BUF_SIZE];
    let n = data.len().min(BINPRM_BUF_SIZE);
    buf[..n].copy_from_slice(&data[..n]);
    let spacetab = |b: u8| b == b' ' || b == b'\t';
    let terminator = |b: u8| spacetab(b) || b == 0;
    let line_end = match buf.iter().position(|&b| b == b'\n') {
        Some(end) => end,
        None => {
            let last = BINPRM_BUF_SIZE - 1;
            let Some(name) = (2..=last).find(|&i| !spacetab(buf[i])) else {
                return Some(Err(ExecError::NotElf));
            };
            if !(name..=last).any(|i| terminator(buf[i])) {
                return Some(Err(ExecError::NotElf));
            }
            last
        }
    };
    let mut end = line_end;
    while spacetab(buf[end - 1]) {
        end -= 1;
    }
    // What follows is C strings: each ends at `end` or an earlier NUL.
    let cstr = |from: usize, to: usize| {
        let to = (from..to).find(|&i| buf[i] == 0).unwrap_or(to);
        buf[from..to].to_vec()
    };
    let name = (2..end).find(|&i| !spacetab(buf[i])).unwrap_or(end);
    if name == end {
        return Some(Err(ExecError::NotElf));
    }
    let sep = (name..end).find(|&i| terminator(buf[i])).unwrap_or(end);
    let arg = (sep < end && buf[sep] != 0)
        .then(|| (sep..end).find(|&i| !spacetab(buf[i])))
        .flatten()
        .map(|a| cstr(a, end));
    Some(Ok((cstr(name, sep), arg)))
}

fn io_error(e: io::Error) -> ExecError {
    // Errors with an exact errno of their own (ENOTDIR, ELOOP,
    // ENAMETOOLONG) keep it.
    match e.raw_os_error() {
        Some(20) => return ExecError::Errno(Errno::ENOTDIR),
        Some(40) => return ExecError::Errno(Errno::ELOOP),
        Some(36) => return ExecError::Errno(Errno::ENAMETOOLONG),
        _ => {}
    }
    match e.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => ExecError::NotFound,
        io::ErrorKind::PermissionDenied => ExecError::PermissionDenied,
        io::ErrorKind::IsADirectory => ExecError::IsDirectory,
        _ => ExecError::Io(e.to_string()),
    }
}

/// The process's ids, as the auxiliary vector reports them (AT_UID,
/// AT_EUID, AT_GID, AT_EGID, and AT_SECURE from them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ids {
    pub uid: u32,
    pub euid: u32,
    pub gid: u32,
    pub egid: u32,
}

/// The strings and settings for the new program's stack.
pub struct ExecArgs<'a> {
    pub argv: &'a [Vec<u8>],
    pub envp: &'a [Vec<u8>],
    /// The path as given to exec (AT_EXECFN).
    pub execfn: &'a [u8],
    /// AT_RANDOM's 16 bytes.
    pub random: [u8; 16],
    pub ids: Ids,
    /// RLIMIT_STACK's soft limit.
    pub stack_limit: u64,
}

/// Where the new program starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StartInfo {
    pub entry: u64,
    pub sp: u64,
}

/// Loads `image`, whose file's page cache is `pages`, into the empty
/// address space `mm`, with `interp`, the program interpreter its PT_INTERP
/// names (its image and pages), if it is dynamic; builds the stack. On
/// failure `mm` is half built; the caller drops it.
pub fn load(
    phys: &mut Phys,
    mm: &mut Mm,
    image: &ElfImage,
    pages: &Rc<RefCell<MemObject>>,
    interp: Option<(&ElfImage, &Rc<RefCell<MemObject>>)>,
    args: &ExecArgs,
) -> Result<StartInfo, ExecError> {
    let bias = load_bias(image);
    map_segments(phys, mm, image, pages, bias)?;
    let (_, end) = image.span();
    mm.set_brk_start(end + bias);
    // The interpreter starts first and finds the program through the
    // auxiliary vector (AT_PHDR, AT_ENTRY) and itself through AT_BASE.
    let (base, entry) = match interp {
        Some((interp, interp_pages)) => {
            let interp_bias = map_interpreter(phys, mm, interp, interp_pages)?;
            (interp_bias, interp.entry + interp_bias)
        }
        None => (0, image.entry + bias),
    };

    mm.set_stack_limit(args.stack_limit);
    let vdso = map_vdso(phys, mm)?;
    let aux = stack::AuxInfo {
        phdr: image.phdr_vaddr.map_or(0, |va| va + bias),
        phent: u64::from(image.phentsize),
        phnum: u64::from(image.phnum),
        base,
        entry: image.entry + bias,
        uid: u64::from(args.ids.uid),
        euid: u64::from(args.ids.euid),
        gid: u64::from(args.ids.gid),
        egid: u64::from(args.ids.egid),
        // Linux's bprm->secureexec without set-user-ID files: an exec whose
        // effective ids differ from the real ones.
        secure: args.ids.euid != args.ids.uid || args.ids.egid != args.ids.gid,
        sysinfo_ehdr: Some(vdso),
    };
    let stack_args = stack::StackArgs {
        argv: args.argv,
        envp: args.envp,
        execfn: args.execfn,
        random: args.random,
        aux,
    };
    // Linux allows the strings a quarter of the stack limit.
    let built = stack::build(STACK_TOP, &stack_args, args.stack_limit / 4)?;
    let stack_size = page_up(built.bytes.len() as u64) + STACK_EXPAND;
    let mut prot = PROT_READ | PROT_WRITE;
    if image.exec_stack {
        prot |= PROT_EXEC;
    }
    let flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_GROWSDOWN;
    mm.mmap(phys, STACK_TOP - stack_size, stack_size, prot, flags, 0)?;
    mm.write_user(phys, built.sp, &built.bytes)?;
    // The strings are argv's then envp's, back to back (stack.rs).
    let arg_bytes: usize = args.argv.iter().map(|s| s.len() + 1).sum();
    let env_bytes: usize = args.envp.iter().map(|s| s.len() + 1).sum();
    let strings = STACK_TOP - (8 + args.execfn.len() + 1 + arg_bytes + env_bytes) as u64;
    mm.args = strings..strings + arg_bytes as u64;
    mm.env = mm.args.end..mm.args.end + env_bytes as u64;
    mm.auxv = built.auxv;
    Ok(StartInfo {
        entry,
        sp: built.sp,
    })
}

/// Maps the program interpreter where mmap would put a mapping of its
/// size (Linux's load_elf_interp), aligned as its segments ask; returns
/// its load bias, which is AT_BASE.
fn map_interpreter(
    phys: &mut Phys,
    mm: &mut Mm,
    interp: &ElfImage,
    pages: &Rc<RefCell<MemObject>>,
) -> Result<u64, ExecError> {
    let (start, end) = interp.span();
    let align = interp.max_align().max(PAGE_SIZE);
    let len = page_up(end) - page_down(start);
    // Find room by mapping and unmapping it, then place the segments there.
    let room = len + align - PAGE_SIZE;
    let flags = MAP_PRIVATE | MAP_ANONYMOUS;
    let addr = mm.mmap(phys, 0, room, PROT_NONE, flags, 0)?;
    mm.munmap(phys, addr, room)?;
    let bias = addr.next_multiple_of(align) - page_down(start);
    map_segments(phys, mm, interp, pages, bias)?;
    Ok(bias)
}

/// Maps the vDSO (read and execute, below the stack's gap, where mmap
/// puts things) from the page cache, so that every process shares its
/// frame, and records it in the address space.
fn map_vdso(phys: &mut Phys, mm: &mut Mm) -> Result<u64, ExecError> {
    let pages = phys.cache.kernel_file(b"[vdso]", || vdso::image().to_vec());
    let file = MapFile {
        pages: FilePages::Cache(pages),
        readable: true,
        writable: false,
    };
    let len = page_up(vdso::image().len() as u64);
    let prot = PROT_READ | PROT_EXEC;
    let addr = mm.mmap_file(phys, 0, len, prot, MAP_PRIVATE, 0, &file)?;
    mm.vdso = addr;
    Ok(addr)
}

/// Where an ET_DYN image goes. A static-pie has no interpreter to collide
/// with, so unlike Linux (which puts such "loaders" in the mmap area) it is
/// placed where Linux puts a PIE, ELF_ET_DYN_BASE: a fixed, predictable
/// address with room for the heap above it. Aligned to the largest segment
/// alignment, as Linux does.
fn load_bias(image: &ElfImage) -> u64 {
    match image.kind {
        ElfKind::Exec => 0,
        ElfKind::Dyn => {
            let align = image.max_align().max(PAGE_SIZE);
            let (start, _) = image.span();
            (ELF_ET_DYN_BASE - page_down(start)) & !(align - 1)
        }
    }
}

/// Maps each PT_LOAD segment from the page cache, privately, as Linux's
/// elf_map does: text and read-only pages are the cache's frames, shared
/// by every process running the program; writable pages are private
/// copies; the rest of the last file page is zeroed when a bss follows
/// (padzero), and the bss beyond is anonymous.
///
/// Two segments may share a page at their boundary: that page keeps the
/// earlier mapping and gets the later one's bytes and protection, so it
/// holds both even where the file does not have them side by side.
fn map_segments(
    phys: &mut Phys,
    mm: &mut Mm,
    image: &ElfImage,
    pages: &Rc<RefCell<MemObject>>,
    bias: u64,
) -> Result<(), ExecError> {
    let file = MapFile {
        pages: FilePages::Cache(pages.clone()),
        readable: true,
        writable: false,
    };
    let mut mapped_end = 0;
    for seg in &image.segments {
        let prot = seg.prot;
        let va = seg.vaddr + bias;
        let start = page_down(va);
        let end = page_up(va + seg.memsz);
        let file_end = if seg.filesz == 0 {
            start
        } else {
            page_up(va + seg.filesz)
        };
        let mut fresh = start;
        if start < mapped_end {
            mm.mprotect(phys, start, PAGE_SIZE, prot)?;
            let n = seg.filesz.min(start + PAGE_SIZE - va);
            let mut bytes = vec![0; n as usize];
            pages.borrow_mut().read(phys, seg.offset, &mut bytes)?;
            mm.write_user_force(phys, va, &bytes)?;
            fresh = start + PAGE_SIZE;
        }
        if fresh < file_end {
            let offset = page_down(seg.offset) + (fresh - start);
            // Writable data gets its own copies now: a C runtime writes
            // nearly every data page at startup, and a copy costs less than
            // the fault that would make it. A fault would also end an LR/SC
            // reservation, which no store fault breaks under qemu or on a
            // program's first run natively.
            let populate = if prot & PROT_WRITE != 0 {
                MAP_POPULATE
            } else {
                0
            };
            let flags = MAP_PRIVATE | MAP_FIXED | populate;
            mm.mmap_file(phys, fresh, file_end - fresh, prot, flags, offset, &file)?;
        }
        let file_tail = va + seg.filesz;
        if seg.memsz > seg.filesz && !file_tail.is_multiple_of(PAGE_SIZE) {
            let zeros = vec![0; (page_up(file_tail) - file_tail) as usize];
            mm.write_user_force(phys, file_tail, &zeros)?;
        }
        let anon = file_end.max(fresh);
        if anon < end {
            let flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
            mm.mmap(phys, anon, end - anon, prot, flags, 0)?;
        }
        mapped_end = mapped_end.max(end);
    }
    Ok(())
}

fn page_down(addr: u64) -> u64 {
    addr & !(PAGE_SIZE - 1)
}

fn page_up(addr: u64) -> u64 {
    page_down(addr + PAGE_SIZE - 1)
}

#[cfg(test)]
mod tests {
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
}

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
mod tests;

//! execve and execveat (Linux's fs/exec.c): same process, new image.
//!
//! Everything that can fail happens first, with the caller untouched: the
//! file is opened (ENOENT, EACCES, ENOTDIR, ELOOP), the argument and
//! environment strings are copied in (EFAULT, E2BIG), "#!" scripts are
//! resolved to their interpreter (at most [`MAX_SCRIPT_DEPTH`] levels,
//! ELOOP beyond), and the new address space is built aside by the loader
//! (ENOEXEC, ENOMEM). Then, past the point of no return (`begin_new_exec`):
//! the other threads are killed and the caller takes the leader's tid, the
//! futex state and clear_child_tid are released, the new address space
//! replaces the old (which goes with its last user: a vfork parent still
//! holds it), the vfork parent is released, caught signals are reset to
//! SIG_DFL (ignored ones stay), and comm and exe are updated.
//!
//! The first half, loading the image aside, is [`Kernel::load_image`];
//! boot uses it too, for PID 1.

use super::block::TaskState;
use super::{Cred, Kernel, Tid};
use crate::errno::{Errno, KResult};
use crate::fs::{pagecache, Loc};
use crate::loader::{self, ExecError, Executable};
use crate::mm::Mm;
use rand::RngCore;
use rv::Regs;
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Linux's exec_binprm: an interpreter may itself be a script this many
/// times (depth 0 to 4 load a script, depth 5 must be the binary).
pub const MAX_SCRIPT_DEPTH: usize = 5;

/// What to execute: the program and the strings for its stack.
pub struct ExecRequest {
    /// Host path of the executable, as the user gave it (AT_EXECFN).
    pub path: PathBuf,
    pub argv: Vec<Vec<u8>>,
    pub envp: Vec<Vec<u8>>,
}

/// A loaded program, not yet installed in any task.
pub struct NewImage {
    pub mm: Mm,
    pub regs: Regs,
    /// The executable.
    pub exe: crate::fs::ExeFile,
}

/// MAX_ARG_STRLEN: one argument or environment string, NUL included.
pub const MAX_ARG_STRLEN: usize = 32 * 4096;

/// MAX_ARG_STRINGS.
pub(super) const MAX_ARG_STRINGS: usize = 0x7fff_ffff;

/// ARG_MAX and _STK_LIM, for bprm_stack_limits.
const ARG_MAX: u64 = 32 * 4096;
const STK_LIM: u64 = 8 << 20;

/// The command name exec gives a process: the file name's last component,
/// at most 15 bytes (TASK_COMM_LEN).
pub fn comm_of(path: &Path) -> Vec<u8> {
    let name = path
        .file_name()
        .map(|n| n.as_encoded_bytes().to_vec())
        .unwrap_or_default();
    name[..name.len().min(15)].to_vec()
}

impl Kernel {
    /// The first half of exec: a new address space running `req`, built
    /// aside so that a failure leaves the caller untouched (execve installs
    /// the result only once nothing can fail).
    pub fn load_image(
        &mut self,
        req: &ExecRequest,
        cred: Cred,
        stack_limit: u64,
    ) -> Result<NewImage, ExecError> {
        let exe = Executable::open(&req.path)?;
        self.load_executable(exe, req, cred, stack_limit)
    }

    /// [`Kernel::load_image`] for a file already read.
    pub fn load_executable(
        &mut self,
        mut exe: Executable,
        req: &ExecRequest,
        cred: Cred,
        stack_limit: u64,
    ) -> Result<NewImage, ExecError> {
        let pages = exe.pages(&mut self.phys);
        let image = exe.parse(&mut self.phys)?;
        let mut interp_exe = match &image.interp {
            Some(path) => Some(self.open_interpreter(path.as_bytes())?),
            None => None,
        };
        let interp = match &mut interp_exe {
            Some(exe) => {
                let pages = exe.pages(&mut self.phys);
                // Linux's load_elf_binary: an interpreter that is no
                // riscv64 ELF file is ELIBBAD, not ENOEXEC.
                let image = exe.parse(&mut self.phys).map_err(|_| Errno::ELIBBAD)?;
                Some((image, pages))
            }
            None => None,
        };
        let mut mm = Mm::new(&mut self.phys)?;
        let mut random = [0; 16];
        self.rng.fill_bytes(&mut random);
        let args = loader::ExecArgs {
            argv: &req.argv,
            envp: &req.envp,
            execfn: req.path.as_os_str().as_encoded_bytes(),
            random,
            ids: loader::Ids {
                uid: cred.uid,
                euid: cred.euid,
                gid: cred.gid,
                egid: cred.egid,
            },
            stack_limit,
        };
        let interp = interp.as_ref().map(|(image, pages)| (image, pages));
        // A failed load drops the half-built `Mm`, which frees itself.
        let start = loader::load(&mut self.phys, &mut mm, &image, &pages, interp, &args)?;
        // Linux's start_thread: pc and sp set, every other register zero
        // (a0 = 0 tells the C runtime there is no rtld_fini).
        let mut x = [0; 32];
        x[2] = start.sp;
        let regs = Regs {
            x,
            pc: start.entry,
            ..Regs::default()
        };
        Ok(NewImage {
            mm,
            regs,
            exe: crate::fs::ExeFile::new(exe.path, exe.inode),
        })
    }

    /// Opens the file exec would run, resolved in the VFS from `start`
    /// (an empty `path` is `start` itself: execveat's AT_EMPTY_PATH).
    pub(super) fn open_exec(
        &mut self,
        start: &Loc,
        path: &[u8],
        nofollow: bool,
    ) -> KResult<Executable> {
        // procfs must know the caller: busybox execs /proc/self/exe.
        if self.on_hart.is_some() {
            crate::fs::proc::array::sync(self);
        }
        let (root, _) = self.fs_root_and_cwd();
        let (loc, abs) = if path.is_empty() {
            (start.clone(), self.vfs.path_of(&root, start))
        } else {
            let loc = self.vfs.walk(&root, start, path, !nofollow)?;
            let parent = self.vfs.walk_parent(&root, start, path)?;
            let mut abs = self.vfs.path_of(&root, &parent.dir);
            if abs != b"/" {
                abs.push(b'/');
            }
            abs.extend_from_slice(&parent.name);
            (loc, abs)
        };
        let inode = loc.inode.borrow();
        if inode.is_symlink() {
            return Err(Errno::ELOOP);
        }
        // Linux's do_open_execat: may_open's permission check, then a
        // regular file on a mount that allows exec, then
        // deny_write_access.
        let permitted = match (&inode.data, self.on_hart) {
            (crate::fs::Data::Host(_), _) => crate::fs::host_access(&inode, 1),
            // Booting: the kernel itself starts init.
            (_, None) => inode.mode & 0o111 != 0,
            (_, Some(_)) => self.cred().permits(&inode, 1),
        };
        if !permitted {
            return Err(Errno::EACCES);
        }
        if inode.mode & crate::fs::S_IFMT != crate::fs::S_IFREG {
            return Err(Errno::EACCES);
        }
        if inode.writers > 0 {
            return Err(Errno::ETXTBSY);
        }
        drop(inode);
        // Text and data are mapped from the page cache: every process
        // running this file shares its pages (and their decoded code).
        let pages = pagecache::pages_of(&mut self.phys, &loc, &abs)?.ok_or(Errno::EACCES)?;
        let path = PathBuf::from(std::ffi::OsString::from(
            String::from_utf8_lossy(&abs).into_owned(),
        ));
        let mut exe = Executable::from_pages(&mut self.phys, path, pages).map_err(|e| e.errno())?;
        exe.inode = Some(loc.inode.clone());
        Ok(exe)
    }

    /// The root and working directory paths resolve from: the current
    /// process's, or the VFS root while booting, before there is one.
    fn fs_root_and_cwd(&self) -> (Loc, Loc) {
        match self.on_hart {
            Some(_) => {
                let fs = self.current().fs.borrow();
                (fs.root.clone(), fs.cwd.clone())
            }
            None => (self.vfs.root(), self.vfs.root()),
        }
    }

    /// The program interpreter a dynamic program's PT_INTERP names, opened
    /// as Linux's load_elf_binary opens it: like the program itself,
    /// relative paths from the working directory.
    pub(super) fn open_interpreter(&mut self, path: &[u8]) -> Result<Executable, ExecError> {
        let (_, cwd) = self.fs_root_and_cwd();
        self.open_exec(&cwd, path, false).map_err(ExecError::Errno)
    }

    /// execve/execveat for the current thread: the file is `filename`
    /// resolved from `start` (the cwd or a dirfd; `start` itself when
    /// `filename` is empty); `filename` as given is AT_EXECFN, comm and the
    /// script argument.
    pub fn do_execve(
        &mut self,
        start: Loc,
        filename: Vec<u8>,
        argv_addr: u64,
        envp_addr: u64,
        nofollow: bool,
    ) -> KResult<u64> {
        let mut exe = self.open_exec(&start, &filename, nofollow)?;
        let mut argv = self.read_user_strings(argv_addr)?;
        let envp = self.read_user_strings(envp_addr)?;
        if argv.is_empty() {
            // Linux 5.18+: an empty argv gets "" as argv[0].
            argv.push(Vec::new());
        }
        // bprm_stack_limits.
        let stack_cur = self
            .current()
            .group
            .borrow()
            .rlimits
            .get(super::rlimit::RLIMIT_STACK)
            .cur;
        let limit = (STK_LIM / 4 * 3).min(stack_cur / 4).max(ARG_MAX);
        let ptr_size = 8 * (argv.len() + envp.len()) as u64;
        let strings: u64 = argv.iter().chain(&envp).map(|s| s.len() as u64 + 1).sum();
        if ptr_size >= limit || strings + filename.len() as u64 + 1 > limit - ptr_size {
            return Err(Errno::E2BIG);
        }
        // Scripts: the interpreter runs with the script as its argument.
        let mut depth = 0;
        while let Some(script) = crate::loader::parse_shebang(&exe.head) {
            depth += 1;
            if depth > MAX_SCRIPT_DEPTH {
                return Err(Errno::ELOOP);
            }
            let (interp, arg) = script.map_err(|e| e.errno())?;
            let script_name = if depth == 1 {
                filename.clone()
            } else {
                exe.path.as_os_str().as_encoded_bytes().to_vec()
            };
            let mut new_argv = vec![interp.clone()];
            new_argv.extend(arg);
            new_argv.push(script_name);
            new_argv.extend(argv.into_iter().skip(1));
            argv = new_argv;
            let cwd = self.current().fs.borrow().cwd.clone();
            exe = self.open_exec(&cwd, &interp, false)?;
        }
        // No set-user-ID programs: the ids stay, the saved and filesystem
        // ids become the effective ones.
        let mut cred = self.cred();
        cred.exec();
        let req = ExecRequest {
            path: PathBuf::from(std::ffi::OsString::from(
                String::from_utf8_lossy(&filename).into_owned(),
            )),
            argv,
            envp,
        };
        let mut image = self
            .load_executable(exe, &req, cred.clone(), stack_cur)
            .map_err(|e| e.errno())?;
        image
            .mm
            .set_as_limit(self.rlimit(super::rlimit::RLIMIT_AS).cur);

        // The point of no return.
        let tid = self.de_thread();
        self.futex_exit_release(tid);
        let task = self.tasks.get_mut(&tid).expect("exec'ing task exists");
        let old = std::mem::replace(&mut task.mm, Rc::new(RefCell::new(image.mm)));
        let new_root = task.mm.borrow().root();
        // ru_maxrss remembers the old image's peak (Linux's exec_mmap).
        let peak = old.borrow().hiwater_rss_kib();
        let mut g = task.group.borrow_mut();
        g.dead_threads.maxrss = g.dead_threads.maxrss.max(peak);
        drop(g);
        self.mmput(old);
        self.hart.regs = image.regs;
        self.hart.set_page_table(new_root);
        self.hart.clear_reservation();
        if self.vfork_release(tid) {
            // The parent resumes first, as it does on Linux, where it is
            // woken while the new image is still starting.
            self.yield_now();
        }
        // Handlers shared with another process are unshared first.
        self.unshare_sighand(tid);
        self.unshare_files(tid);
        let task = self.tasks.get_mut(&tid).expect("exec'ing task exists");
        task.sighand.borrow_mut().reset_caught();
        // The alternate stack belonged to the old image; mask and pending
        // signals survive exec.
        task.sig = Default::default();
        // The fd table, unshared, loses its close-on-exec fds (dropped
        // here: a pipe end closing wakes its waiters after the call).
        let closed = task.files.borrow_mut().close_on_exec();
        drop(closed);
        task.restart = None;
        let tracing = self.trace.is_some();
        let mut g = self.tasks[&tid].group.borrow_mut();
        g.exe = image.exe;
        g.comm = comm_of(&req.path);
        g.did_exec = true;
        g.traced = tracing;
        g.cred = cred;
        g.posix_timers.delete_all();
        Ok(0)
    }

    /// Linux's de_thread: every other thread of the caller's process is
    /// killed, and a non-leader caller takes the leader's tid. Returns the
    /// caller's tid afterwards.
    fn de_thread(&mut self) -> Tid {
        let tid = self.current_tid();
        let group = self.current().group.clone();
        let tgid = group.borrow().tgid;
        for other in self.threads_of(tgid) {
            if other != tid {
                let status = super::ExitStatus::Killed(super::signal::Signal::SIGKILL);
                self.exit_thread(other, status);
            }
        }
        if tid == tgid {
            return tid;
        }
        let mut task = self.tasks.remove(&tid).expect("exec'ing task exists");
        task.tid = tgid;
        task.state = TaskState::Runnable;
        self.tasks.insert(tgid, task);
        self.rq.rename(tid, tgid);
        self.on_hart = Some(tgid);
        group.borrow_mut().threads = vec![tgid];
        for g in self.groups.values() {
            let mut g = g.borrow_mut();
            if g.parent_tid == tid {
                g.parent_tid = tgid;
            }
        }
        tgid
    }
}

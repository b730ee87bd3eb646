//! Mounts: the kinds of file system, mounting, binding and detaching,
//! and the host's view `cleave run` builds from them (see the module
//! comment of `fs`).

use super::*;

/// The kinds of file system that can be mounted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FsType {
    Tmpfs,
    Proc,
    /// A host directory.
    Host,
}

impl FsType {
    /// The name mount(2) takes and /proc/mounts shows.
    pub fn name(self) -> &'static str {
        match self {
            FsType::Tmpfs => "tmpfs",
            FsType::Proc => "proc",
            FsType::Host => "hostfs",
        }
    }
}

/// One line of /proc/mounts, before formatting.
pub struct MountInfo {
    pub source: Vec<u8>,
    pub point: Vec<u8>,
    pub fstype: FsType,
    pub readonly: bool,
}

impl Vfs {
    /// The host's view beside a small system of the guest's own (what
    /// `cleave run` shows): `archive`, an initramfs, is unpacked first, so
    /// its /bin, /sbin and /etc (riscv64 programs: the shell that system()
    /// runs) are the guest's; the host's other top-level entries are
    /// mounted read-only at their paths (see the module comment).
    pub fn host_view_beside(archive: &[u8]) -> Result<Vfs, initramfs::Error> {
        let system = Vfs::new();
        initramfs::unpack(&system, archive)?;
        let mut vfs = Vfs::view_of(system, std::path::Path::new("/"), false);
        vfs.host_paths = true;
        Ok(vfs)
    }

    /// Where the first process starts: the host's cwd in the host view,
    /// else `/`.
    pub fn boot_cwd(&self) -> Vec<u8> {
        match std::env::current_dir() {
            Ok(cwd) if self.host_paths => cwd.into_os_string().into_encoded_bytes(),
            _ => b"/".to_vec(),
        }
    }

    /// The guest's `/` made of host directory `dir` (`cleave run --root`):
    /// its top-level entries but tmp, dev and proc, mounted at the same
    /// path (writable with `rw`), on a tmpfs root that keeps the kernel's
    /// own /tmp, /dev and /proc. A top-level regular file is linked in as
    /// it is. Fails when `dir` is not a readable directory.
    pub fn rooted_at(dir: &std::path::Path, rw: bool) -> std::io::Result<Vfs> {
        std::fs::read_dir(dir)?;
        Ok(Vfs::view_of(Vfs::new(), dir, rw))
    }

    /// `vfs` with the top-level entries of host directory `dir` it does not
    /// have yet (but tmp, dev and proc) added, and procfs at /proc.
    fn view_of(mut vfs: Vfs, dir: &std::path::Path, rw: bool) -> Vfs {
        let root = vfs.root();
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .map(|d| d.flatten().collect())
            .unwrap_or_default();
        names.sort_by_key(|e| e.file_name());
        for e in names {
            let name = e.file_name().into_encoded_bytes();
            if matches!(&name[..], b"tmp" | b"dev" | b"proc") || vfs.lookup(&root, &name).is_ok() {
                continue;
            }
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_symlink() {
                if let Ok(target) = std::fs::read_link(e.path()) {
                    let target = target.into_os_string().into_encoded_bytes();
                    let _ = vfs.create(
                        &root,
                        &name,
                        S_IFLNK | 0o777,
                        Data::Symlink(target),
                        Duration::ZERO,
                    );
                }
            } else if ft.is_dir() {
                if let Ok(point) = vfs.mkdir(&root, &name, 0o755) {
                    let _ = vfs.mount_host(&point, e.path(), !rw);
                }
            } else if let Ok(inode) = host::root_inode(&vfs, e.path(), !rw) {
                let _ = vfs.link(&root, &name, &inode, Duration::ZERO);
            }
        }
        let point = vfs.lookup(&root, b"proc").unwrap_or_else(|_| {
            vfs.mkdir(&root, b"proc", 0o555)
                .expect("a root without /proc")
        });
        vfs.mount_new(&point, FsType::Proc, b"proc", false);
        vfs
    }

    /// Makes host directory `dir` (absolute) visible at the same guest
    /// path, when nothing is at that path in the guest (it lies under
    /// the host's /tmp, say): the missing directories are made in tmpfs and
    /// `dir` is mounted read-only on the last. `cleave run` exposes the
    /// program's directory and the host cwd this way. A path the guest
    /// already has (/tmp itself, /dev) is left alone; see
    /// [`Vfs::expose_host_file`] for a program directly in one.
    pub fn expose_host(&mut self, dir: &std::path::Path) {
        let bytes = dir.as_os_str().as_encoded_bytes();
        if !dir.is_absolute() || !dir.is_dir() {
            return;
        }
        let root = self.root();
        // Whatever the guest already has there wins: the host's /tmp is
        // never mounted over the guest's.
        if self.walk(&root, &root, bytes, true).is_ok() {
            return;
        }
        if let Ok(point) = self.make_dirs(bytes) {
            let _ = self.mount_host(&point, dir.to_path_buf(), true);
        }
    }

    /// Makes host file `file` (absolute) visible at the same guest path when
    /// its directory is one of the kernel's own (the host's /tmp/prog is
    /// not in the guest's /tmp): it is linked in read-only, alone.
    pub fn expose_host_file(&mut self, file: &std::path::Path) {
        let (Some(dir), Some(name)) = (file.parent(), file.file_name()) else {
            return;
        };
        let root = self.root();
        let path = file.as_os_str().as_encoded_bytes();
        if !file.is_absolute() || !file.is_file() || self.walk(&root, &root, path, true).is_ok() {
            return;
        }
        let Ok(dir) = self.walk(&root, &root, dir.as_os_str().as_encoded_bytes(), true) else {
            return;
        };
        if matches!(dir.inode.borrow().data, Data::Dir(_)) {
            if let Ok(inode) = host::root_inode(self, file.to_path_buf(), true) {
                let _ = self.link(&dir, name.as_encoded_bytes(), &inode, Duration::ZERO);
            }
        }
    }

    /// `cleave run --mount`: host directory `host` over guest directory
    /// `at` (an absolute path), which is made if it is missing and its
    /// parent is the kernel's own (tmpfs): nothing is made on the host.
    pub fn mount_host_at(&mut self, at: &[u8], host: PathBuf, readonly: bool) -> KResult<()> {
        let point = self.make_dirs(at)?;
        self.mount_host(&point, host, readonly)
    }

    /// The host file guest path `path` (from `/`) leads to, if it is one
    /// (`cleave run --root` checks the program before booting).
    pub fn host_path_of(&self, path: &[u8]) -> KResult<Option<PathBuf>> {
        let root = self.root();
        let loc = self.walk(&root, &root, path, true)?;
        let i = loc.inode.borrow();
        Ok(match &i.data {
            Data::Host(h) => Some(h.host_path()?),
            _ => None,
        })
    }

    /// Walks absolute `path` without following symlinks, making missing
    /// directories in tmpfs.
    fn make_dirs(&mut self, path: &[u8]) -> KResult<Loc> {
        let mut cur = self.root();
        for comp in path.split(|&b| b == b'/').filter(|c| !c.is_empty()) {
            if comp == b"." || comp == b".." {
                return Err(Errno::EINVAL);
            }
            cur = match self.lookup_crossed(&cur, comp) {
                Ok(l) if l.is_dir() => l,
                Ok(_) => return Err(Errno::ENOTDIR),
                Err(Errno::ENOENT) if matches!(cur.inode.borrow().data, Data::Dir(_)) => {
                    self.mkdir(&cur, comp, 0o755)?
                }
                Err(e) => return Err(e),
            };
        }
        Ok(cur)
    }

    /// Mounts host directory `host` over directory `at`. /proc/mounts
    /// names its source "hostfs": the guest never learns host paths.
    pub fn mount_host(&mut self, at: &Loc, host: PathBuf, readonly: bool) -> KResult<()> {
        let root = host::root_inode(self, host, readonly)?;
        self.attach(at, root, readonly, FsType::Host, b"hostfs".to_vec());
        Ok(())
    }

    /// Mounts a new, empty instance of `fstype` (tmpfs or proc) over `at`.
    pub fn mount_new(&mut self, at: &Loc, fstype: FsType, source: &[u8], readonly: bool) {
        let (mode, data) = match fstype {
            FsType::Proc => (S_IFDIR | 0o555, Data::Proc(proc::ProcNode::root())),
            _ => (S_IFDIR | 0o1777, Data::Dir(BTreeMap::new())),
        };
        let root = self.new_inode(mode, data, Duration::ZERO);
        let dev = self.next_dev.get();
        self.next_dev.set(dev + 1);
        root.borrow_mut().dev = dev;
        self.attach(at, root, readonly, fstype, source.to_vec());
    }

    /// MS_BIND: the tree at `src` also appears at `at`.
    pub fn bind(&mut self, src: &Loc, at: &Loc, readonly: bool) {
        let m = &self.mounts[src.mnt];
        let (fstype, source) = (m.fstype, m.source.clone());
        self.attach(at, src.inode.clone(), readonly, fstype, source);
    }

    fn attach(
        &mut self,
        at: &Loc,
        root: InodeRef,
        readonly: bool,
        fstype: FsType,
        source: Vec<u8>,
    ) {
        let idx = self.mounts.len();
        self.mounts.push(Mount {
            root,
            on: Some(at.clone()),
            readonly,
            fstype,
            source,
            detached: false,
        });
        self.covered.insert((at.mnt, at.inode.borrow().id), idx);
    }

    /// Whether `loc` is the root of a mount (what umount needs).
    pub fn is_mount_root(&self, loc: &Loc) -> bool {
        Rc::ptr_eq(&loc.inode, &self.mounts[loc.mnt].root)
    }

    /// MS_REMOUNT: the mount `loc` is the root of becomes read-only or
    /// writable.
    pub fn remount(&mut self, loc: &Loc, readonly: bool) {
        self.mounts[loc.mnt].readonly = readonly;
    }

    /// Whether any mount is attached inside mount `parent`.
    pub fn has_submounts(&self, parent: usize) -> bool {
        self.mounts
            .iter()
            .any(|m| !m.detached && m.on.as_ref().is_some_and(|on| on.mnt == parent))
    }

    /// Detaches the mount whose root is `loc` (the caller has checked it is
    /// one and not busy). The root file system cannot go: EINVAL.
    pub fn umount(&mut self, loc: &Loc) -> KResult<()> {
        let m = &mut self.mounts[loc.mnt];
        let Some(on) = m.on.take() else {
            return Err(Errno::EINVAL);
        };
        m.detached = true;
        self.covered.remove(&(on.mnt, on.inode.borrow().id));
        Ok(())
    }

    /// The type of the file system `loc` is on.
    pub fn fs_of(&self, loc: &Loc) -> FsType {
        match &loc.inode.borrow().data {
            Data::Host(_) => FsType::Host,
            _ => self.mounts[loc.mnt].fstype,
        }
    }

    /// The mounts visible from `root`, in mount order (/proc/mounts).
    pub fn mounts(&self, root: &Loc) -> Vec<MountInfo> {
        let mut out = Vec::new();
        for (i, m) in self.mounts.iter().enumerate() {
            if m.detached {
                continue;
            }
            let here = Loc {
                mnt: i,
                inode: m.root.clone(),
            };
            // Only what lies below the reader's root, as Linux shows it.
            if !self.is_below(root, &here) {
                continue;
            }
            out.push(MountInfo {
                source: m.source.clone(),
                point: self.path_of(root, &here),
                fstype: m.fstype,
                readonly: m.readonly,
            });
        }
        out
    }

    /// Whether `loc` is `root` or below it.
    pub fn is_below(&self, root: &Loc, loc: &Loc) -> bool {
        let mut cur = loc.clone();
        for _ in 0..4096 {
            if cur.same(root) {
                return true;
            }
            let up = self.parent(root, &cur);
            if up.same(&cur) {
                return false;
            }
            cur = up;
        }
        false
    }

    pub fn root(&self) -> Loc {
        Loc {
            mnt: 0,
            inode: self.mounts[0].root.clone(),
        }
    }

    pub fn readonly(&self, loc: &Loc) -> bool {
        self.mounts[loc.mnt].readonly
            || matches!(&loc.inode.borrow().data, Data::Host(h) if h.readonly())
    }
}

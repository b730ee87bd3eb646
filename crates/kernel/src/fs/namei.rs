//! The tree's operations on names: creating, linking and unlinking
//! entries, looking a name up (crossing mounts), and Linux's path
//! resolution (`walk`, see the module comment of `fs`).

use super::*;

/// A path split for creation: the parent directory and the last name.
pub struct Parent {
    pub dir: Loc,
    pub name: Vec<u8>,
    /// The path ended in '/'.
    pub trailing_slash: bool,
}

impl Vfs {
    /// A new kernel-wide id, as an inode's: what a pipe or an eventfd,
    /// which have no inode in the tree, are known by.
    pub fn new_id(&self) -> u64 {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        id
    }

    pub fn new_inode(&self, mode: u32, data: Data, now: Duration) -> InodeRef {
        let id = self.new_id();
        Rc::new(RefCell::new(Inode {
            id,
            dev: TMPFS_DEV,
            ino: id,
            mode,
            nlink: if mode & S_IFMT == S_IFDIR { 2 } else { 1 },
            uid: 0,
            gid: 0,
            atime: now,
            mtime: now,
            ctime: now,
            data,
            parent: Weak::new(),
            name: Vec::new(),
            running: 0,
            charge: None,
        }))
    }

    /// Creates `name` in directory `dir`: EEXIST, EROFS, ENOTDIR.
    pub fn create(
        &self,
        dir: &Loc,
        name: &[u8],
        mode: u32,
        data: Data,
        now: Duration,
    ) -> KResult<Loc> {
        if self.readonly(dir) {
            return Err(Errno::EROFS);
        }
        if self.lookup(dir, name).is_ok() {
            return Err(Errno::EEXIST);
        }
        if matches!(dir.inode.borrow().data, Data::Host(_)) {
            let inode = host::create(self, &dir.inode, name, mode, &data)?;
            return Ok(Loc {
                mnt: dir.mnt,
                inode,
            });
        }
        let inode = self.new_inode(mode, data, now);
        inode.borrow_mut().dev = dir.inode.borrow().dev;
        self.link(dir, name, &inode, now)?;
        Ok(Loc {
            mnt: dir.mnt,
            inode,
        })
    }

    /// An empty tmpfs directory `name` in `dir`, owned by root and dated at
    /// boot: the directories the kernel makes itself.
    pub fn mkdir(&self, dir: &Loc, name: &[u8], perm: u32) -> KResult<Loc> {
        let data = Data::Dir(BTreeMap::new());
        self.create(dir, name, S_IFDIR | perm, data, Duration::ZERO)
    }

    /// Adds an entry `name` for `inode` in directory `dir` (a hard link;
    /// on a host directory, to a file of the same mount).
    pub fn link(&self, dir: &Loc, name: &[u8], inode: &InodeRef, now: Duration) -> KResult<()> {
        if self.readonly(dir) {
            return Err(Errno::EROFS);
        }
        if matches!(dir.inode.borrow().data, Data::Host(_)) {
            let (from, old) = {
                let i = inode.borrow();
                (i.parent.upgrade().ok_or(Errno::ENOENT)?, i.name.clone())
            };
            return host::link(&from, &old, &dir.inode, name);
        }
        let mut d = dir.inode.borrow_mut();
        let is_dir = inode.borrow().is_dir();
        let Data::Dir(entries) = &mut d.data else {
            return Err(if d.is_dir() {
                Errno::EROFS
            } else {
                Errno::ENOTDIR
            });
        };
        if entries.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        entries.insert(name.to_vec(), inode.clone());
        d.mtime = now;
        d.ctime = now;
        if is_dir {
            d.nlink += 1;
        }
        // Files remember a name too, the last one linked, for the paths
        // /proc/PID/fd shows.
        let mut i = inode.borrow_mut();
        i.parent = Rc::downgrade(&dir.inode);
        i.name = name.to_vec();
        Ok(())
    }

    /// Removes entry `name` from directory `dir`, returning it.
    pub fn unlink_entry(&self, dir: &Loc, name: &[u8], now: Duration) -> KResult<InodeRef> {
        if self.readonly(dir) {
            return Err(Errno::EROFS);
        }
        if matches!(dir.inode.borrow().data, Data::Host(_)) {
            let victim = self.lookup(dir, name)?.inode;
            let is_dir = victim.borrow().is_dir();
            host::unlink(&dir.inode, name, is_dir)?;
            let mut i = victim.borrow_mut();
            i.nlink = if is_dir { 0 } else { i.nlink.saturating_sub(1) };
            drop(i);
            return Ok(victim);
        }
        let mut d = dir.inode.borrow_mut();
        let Data::Dir(entries) = &mut d.data else {
            return Err(Errno::ENOTDIR);
        };
        let inode = entries.remove(name).ok_or(Errno::ENOENT)?;
        d.mtime = now;
        d.ctime = now;
        let mut i = inode.borrow_mut();
        if i.is_dir() {
            d.nlink -= 1;
            i.nlink = 0;
        } else {
            i.nlink = i.nlink.saturating_sub(1);
        }
        i.ctime = now;
        drop(i);
        Ok(inode)
    }

    /// The entry `name` of directory `dir` (no mount crossing, no "."/"..").
    pub fn lookup(&self, dir: &Loc, name: &[u8]) -> KResult<Loc> {
        let inode = {
            let d = dir.inode.borrow();
            match &d.data {
                Data::Dir(entries) => entries.get(name).cloned().ok_or(Errno::ENOENT)?,
                Data::Host(_) => {
                    drop(d);
                    host::lookup(self, &dir.inode, name)?
                }
                Data::Proc(_) => {
                    drop(d);
                    proc::lookup(self, &dir.inode, name)?
                }
                _ => return Err(Errno::ENOTDIR),
            }
        };
        Ok(Loc {
            mnt: dir.mnt,
            inode,
        })
    }

    /// What is seen at `loc`: the root of a mount attached there, if any.
    fn cross_down(&self, mut loc: Loc) -> Loc {
        loop {
            let id = loc.inode.borrow().id;
            let Some(&m) = self.covered.get(&(loc.mnt, id)) else {
                break;
            };
            loc = Loc {
                mnt: m,
                inode: self.mounts[m].root.clone(),
            };
        }
        loc
    }

    /// "..": never above `root`, upward across mount points.
    pub fn parent(&self, root: &Loc, cur: &Loc) -> Loc {
        let mut cur = cur.clone();
        loop {
            if cur.same(root) {
                return cur;
            }
            let m = &self.mounts[cur.mnt];
            if Rc::ptr_eq(&cur.inode, &m.root) {
                match &m.on {
                    Some(on) => {
                        cur = on.clone();
                        continue;
                    }
                    None => return cur,
                }
            }
            let parent = cur.inode.borrow().parent.upgrade();
            return match parent {
                Some(p) => Loc {
                    mnt: cur.mnt,
                    inode: p,
                },
                None => cur,
            };
        }
    }

    /// The target of a symlink.
    pub fn readlink(&self, loc: &Loc) -> KResult<Vec<u8>> {
        let i = loc.inode.borrow();
        match &i.data {
            Data::Symlink(t) => Ok(t.clone()),
            Data::Host(h) if i.is_symlink() => h.readlink(),
            Data::Proc(p) => proc::readlink(self, p),
            _ => Err(Errno::EINVAL),
        }
    }

    /// Resolves `path` from `start` (relative) or `root` (absolute).
    pub fn walk(&self, root: &Loc, start: &Loc, path: &[u8], follow: bool) -> KResult<Loc> {
        let mut links = 0;
        self.walk_inner(root, start, path, follow, &mut links)
    }

    fn walk_inner(
        &self,
        root: &Loc,
        start: &Loc,
        path: &[u8],
        follow: bool,
        links: &mut u32,
    ) -> KResult<Loc> {
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        let mut cur = if path[0] == b'/' {
            root.clone()
        } else {
            start.clone()
        };
        let trailing = path.ends_with(b"/");
        let comps: Vec<&[u8]> = path
            .split(|&b| b == b'/')
            .filter(|c| !c.is_empty())
            .collect();
        for (i, comp) in comps.iter().enumerate() {
            let last = i + 1 == comps.len();
            if !cur.is_dir() {
                return Err(Errno::ENOTDIR);
            }
            if *comp == b"." {
                continue;
            }
            if *comp == b".." {
                cur = self.parent(root, &cur);
                continue;
            }
            if comp.len() > 255 {
                return Err(Errno::ENAMETOOLONG);
            }
            let next = self.cross_down(self.lookup(&cur, comp)?);
            if next.inode.borrow().is_symlink() && (!last || follow || trailing) {
                *links += 1;
                if *links > MAXSYMLINKS {
                    return Err(Errno::ELOOP);
                }
                // procfs's fd, cwd and root links lead to the file itself,
                // not to what their text names (Linux's magic links).
                if let Some(to) = proc::follow(self, &next) {
                    cur = to?;
                    continue;
                }
                let target = self.readlink(&next)?;
                cur = self.walk_inner(root, &cur, &target, true, links)?;
            } else {
                cur = next;
            }
        }
        if trailing && !cur.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        Ok(cur)
    }

    /// Resolves all but the last component of `path`.
    pub fn walk_parent(&self, root: &Loc, start: &Loc, path: &[u8]) -> KResult<Parent> {
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        let trimmed_len = path.iter().rposition(|&b| b != b'/').map_or(0, |p| p + 1);
        let trailing_slash = trimmed_len < path.len();
        let trimmed = &path[..trimmed_len];
        let (dir, name) = match trimmed.iter().rposition(|&b| b == b'/') {
            Some(p) => (&trimmed[..p + 1], &trimmed[p + 1..]),
            None if trimmed.is_empty() => (&b"/"[..], &b"."[..]),
            None => (&b""[..], trimmed),
        };
        let dir = if dir.is_empty() {
            start.clone()
        } else {
            self.walk(root, start, dir, true)?
        };
        if !dir.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if name.len() > 255 {
            return Err(Errno::ENAMETOOLONG);
        }
        Ok(Parent {
            dir,
            name: name.to_vec(),
            trailing_slash,
        })
    }

    /// The entry `name` of `dir` with any mount on it crossed.
    pub fn lookup_crossed(&self, dir: &Loc, name: &[u8]) -> KResult<Loc> {
        Ok(self.cross_down(self.lookup(dir, name)?))
    }

    /// The absolute path of directory `loc` as seen from `root` (getcwd).
    pub fn path_of(&self, root: &Loc, loc: &Loc) -> Vec<u8> {
        let mut parts: Vec<Vec<u8>> = Vec::new();
        let mut cur = loc.clone();
        for _ in 0..4096 {
            if cur.same(root) {
                break;
            }
            let m = &self.mounts[cur.mnt];
            if Rc::ptr_eq(&cur.inode, &m.root) {
                match &m.on {
                    Some(on) => {
                        cur = on.clone();
                        continue;
                    }
                    None => break,
                }
            }
            let Some(p) = cur.inode.borrow().parent.upgrade() else {
                break;
            };
            parts.push(cur.inode.borrow().name.clone());
            cur = Loc {
                mnt: cur.mnt,
                inode: p,
            };
        }
        let mut out = Vec::new();
        for p in parts.iter().rev() {
            out.push(b'/');
            out.extend_from_slice(p);
        }
        if out.is_empty() {
            out.push(b'/');
        }
        out
    }

    /// The entries of a directory, "." and ".." first: (name, ino, d_type).
    pub fn entries(&self, root: &Loc, dir: &Loc) -> KResult<Vec<(Vec<u8>, u64, u8)>> {
        let parent = self.parent(root, dir);
        let mut out = vec![
            (b".".to_vec(), dir.inode.borrow().ino, 4),
            (b"..".to_vec(), parent.inode.borrow().ino, 4),
        ];
        let d = dir.inode.borrow();
        match &d.data {
            Data::Dir(entries) => {
                for (name, i) in entries {
                    let i = i.borrow();
                    out.push((name.clone(), i.ino, i.dtype()));
                }
            }
            Data::Host(h) => out.extend(h.entries()?),
            Data::Proc(_) => {
                drop(d);
                out.extend(proc::entries(self, dir)?);
            }
            _ => return Err(Errno::ENOTDIR),
        }
        Ok(out)
    }
}

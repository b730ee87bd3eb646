//! The initramfs: a cpio archive in the "newc" format, unpacked into the
//! tmpfs root before init runs, as Linux's `init/initramfs.c` does.
//!
//! newc is simple: each entry is a 110-byte ASCII header ("070701" and
//! thirteen 8-digit hex fields), the NUL-terminated name, padding to 4
//! bytes, the data, padding to 4 bytes. Directories come before what they
//! hold; the entry named "TRAILER!!!" ends the archive. A regular file with
//! several links appears once per name with the same inode number, and its
//! data comes with one of them.
//!
//! What is unpacked: directories, regular files (hard links included),
//! symlinks, and character devices cleave implements (by their numbers).
//! Other device nodes, FIFOs and sockets are skipped: cleave has no such
//! files in tmpfs. Compressed archives are refused with a message that says
//! so.

use super::pagecache::TmpFile;
use super::{Data, Device, InodeRef, Loc, Vfs, S_IFCHR, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG};
use crate::errno::Errno;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::Duration;

const HEADER: usize = 110;
const TRAILER: &[u8] = b"TRAILER!!!";

/// Why an archive could not be unpacked.
#[derive(Debug, PartialEq, Eq)]
pub enum Error {
    /// The first bytes are not a newc header.
    NotNewc,
    /// gzip, xz, zstd...: Linux unpacks those, cleave does not.
    Compressed,
    /// The archive ends inside the entry at this offset.
    Truncated(usize),
    /// A header field that is not 8 hex digits.
    BadHeader(usize),
    /// An entry the file system refused.
    Entry(String, Errno),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Error::NotNewc => write!(f, "not a cpio archive in the newc format"),
            Error::Compressed => write!(
                f,
                "a compressed archive; cleave unpacks only uncompressed newc cpio"
            ),
            Error::Truncated(at) => {
                write!(f, "the cpio archive ends inside the entry at byte {at}")
            }
            Error::BadHeader(at) => write!(f, "bad cpio header at byte {at}"),
            Error::Entry(name, e) => write!(f, "cannot unpack {name}: {e:?}"),
        }
    }
}

/// One entry's header fields that matter here.
struct Header {
    ino: u32,
    mode: u32,
    uid: u32,
    gid: u32,
    nlink: u32,
    mtime: u32,
    size: usize,
    rdev: u64,
}

/// One entry, as it lies in the archive.
struct Entry<'a> {
    header: Header,
    name: &'a [u8],
    data: &'a [u8],
    /// Where the next entry starts.
    next: usize,
}

fn align4(n: usize) -> usize {
    n.div_ceil(4) * 4
}

fn parse_entry(archive: &[u8], at: usize) -> Result<Entry<'_>, Error> {
    let h = archive.get(at..at + HEADER).ok_or(Error::Truncated(at))?;
    if &h[..6] != b"070701" && &h[..6] != b"070702" {
        return Err(if at == 0 {
            Error::NotNewc
        } else {
            Error::BadHeader(at)
        });
    }
    let field = |i: usize| -> Result<u32, Error> {
        let digits = &h[6 + 8 * i..6 + 8 * (i + 1)];
        std::str::from_utf8(digits)
            .ok()
            .and_then(|s| u32::from_str_radix(s, 16).ok())
            .ok_or(Error::BadHeader(at))
    };
    // ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor
    // rdevminor namesize check
    let header = Header {
        ino: field(0)?,
        mode: field(1)?,
        uid: field(2)?,
        gid: field(3)?,
        nlink: field(4)?,
        mtime: field(5)?,
        size: field(6)? as usize,
        rdev: (u64::from(field(9)?) << 8) | u64::from(field(10)?),
    };
    let namesize = field(11)? as usize;
    let name_end = at + HEADER + namesize;
    let name = archive
        .get(at + HEADER..name_end)
        .ok_or(Error::Truncated(at))?;
    // The name is NUL-terminated and the NUL is counted.
    let name = match name.split_last() {
        Some((0, name)) => name,
        _ => return Err(Error::BadHeader(at)),
    };
    let data_at = align4(name_end);
    let data = archive
        .get(data_at..data_at + header.size)
        .ok_or(Error::Truncated(at))?;
    let next = align4(data_at + header.size);
    Ok(Entry {
        header,
        name,
        data,
        next,
    })
}

/// Unpacks `archive` into the tmpfs of `vfs`, below its root. An entry
/// that already exists is replaced, except a directory by a directory,
/// which only takes the archive's mode and owner (Linux does the same).
/// Returns the number of entries.
pub fn unpack(vfs: &Vfs, archive: &[u8]) -> Result<usize, Error> {
    if archive.starts_with(&[0x1f, 0x8b])
        || archive.starts_with(b"\xfd7zXZ")
        || archive.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
    {
        return Err(Error::Compressed);
    }
    let root = vfs.root();
    // Hard links: the first name of an inode number, by that number.
    let mut links: HashMap<u32, InodeRef> = HashMap::new();
    let mut at = 0;
    let mut count = 0;
    loop {
        let Entry {
            header: h,
            name,
            data,
            next,
        } = parse_entry(archive, at)?;
        if name == TRAILER {
            return Ok(count);
        }
        let fail = |e: Errno| Error::Entry(String::from_utf8_lossy(name).into_owned(), e);
        let path = trim(name);
        if !path.is_empty() {
            let (dir, last) = match path.iter().rposition(|&b| b == b'/') {
                Some(i) => (
                    vfs.walk(&root, &root, &path[..i], true).map_err(fail)?,
                    &path[i + 1..],
                ),
                None => (root.clone(), path),
            };
            add(vfs, &dir, last, &h, data, &mut links).map_err(fail)?;
        }
        count += 1;
        at = next;
    }
}

/// "./bin/sh", "/bin/sh" and "bin/sh" all name bin/sh; "." is the root.
fn trim(mut name: &[u8]) -> &[u8] {
    loop {
        name = match name {
            [b'/', rest @ ..] => rest,
            [b'.', b'/', rest @ ..] => rest,
            b"." => b"",
            _ => return name,
        }
    }
}

fn add(
    vfs: &Vfs,
    dir: &Loc,
    name: &[u8],
    h: &Header,
    data: &[u8],
    links: &mut HashMap<u32, InodeRef>,
) -> Result<(), Errno> {
    let now = Duration::from_secs(u64::from(h.mtime));
    let existing = vfs.lookup(dir, name).ok();
    if let Some(old) = &existing {
        if !(old.is_dir() && h.mode & S_IFMT == S_IFDIR) {
            vfs.unlink_entry(dir, name, now)?;
        }
    }
    let inode = match h.mode & S_IFMT {
        S_IFDIR => match existing.filter(Loc::is_dir) {
            Some(old) => old.inode,
            None => {
                vfs.create(dir, name, h.mode, Data::Dir(BTreeMap::new()), now)?
                    .inode
            }
        },
        S_IFREG if h.nlink > 1 && links.contains_key(&h.ino) => {
            let inode = links[&h.ino].clone();
            vfs.link(dir, name, &inode, now)?;
            let mut i = inode.borrow_mut();
            i.nlink += 1;
            if !data.is_empty() {
                i.data = Data::File(TmpFile::new(data.to_vec()));
            }
            return Ok(());
        }
        S_IFREG => {
            let inode = vfs
                .create(
                    dir,
                    name,
                    h.mode,
                    Data::File(TmpFile::new(data.to_vec())),
                    now,
                )?
                .inode;
            if h.nlink > 1 {
                links.insert(h.ino, inode.clone());
            }
            inode
        }
        S_IFLNK => {
            vfs.create(dir, name, h.mode, Data::Symlink(data.to_vec()), now)?
                .inode
        }
        S_IFCHR => match Device::ALL.into_iter().find(|d| d.rdev() == h.rdev) {
            Some(d) => vfs.create(dir, name, h.mode, Data::Device(d), now)?.inode,
            None => return Ok(()),
        },
        _ => return Ok(()),
    };
    let mut i = inode.borrow_mut();
    i.mode = h.mode;
    i.uid = h.uid;
    i.gid = h.gid;
    i.mtime = now;
    i.ctime = now;
    i.atime = now;
    Ok(())
}

/// The bytes of the regular file at `path` (absolute) in `vfs`: how the
/// boot finds /sbin/init in the unpacked archive.
pub fn read_file(vfs: &Vfs, path: &[u8]) -> Result<Vec<u8>, Errno> {
    let root = vfs.root();
    let loc = vfs.walk(&root, &root, path, true)?;
    let i = loc.inode.borrow();
    match &i.data {
        Data::File(f) if i.mode & S_IFMT == S_IFREG => {
            f.unwritten().map(<[u8]>::to_vec).ok_or(Errno::EIO)
        }
        Data::Dir(_) => Err(Errno::EISDIR),
        _ => Err(Errno::EACCES),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A newc archive of (name, mode, ino, nlink, data) entries.
    fn archive(entries: &[(&str, u32, u32, u32, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        let trailer = ("TRAILER!!!", 0, 0, 1, &b""[..]);
        for &(name, mode, ino, nlink, data) in entries.iter().chain([&trailer]) {
            let fields = [
                ino,
                mode,
                0,
                0,
                nlink,
                7,
                data.len() as u32,
                0,
                0,
                1,
                3,
                name.len() as u32 + 1,
                0,
            ];
            out.extend_from_slice(b"070701");
            for f in fields {
                out.extend_from_slice(format!("{f:08X}").as_bytes());
            }
            out.extend_from_slice(name.as_bytes());
            out.push(0);
            out.resize(align4(out.len()), 0);
            out.extend_from_slice(data);
            out.resize(align4(out.len()), 0);
        }
        out
    }

    fn lookup(vfs: &Vfs, path: &str) -> Loc {
        let root = vfs.root();
        vfs.walk(&root, &root, path.as_bytes(), false)
            .unwrap_or_else(|e| panic!("{path}: {e:?}"))
    }

    #[test]
    fn unpacks_dirs_files_symlinks_and_hard_links() {
        let a = archive(&[
            (".", 0o40755, 1, 2, b""),
            ("./bin", 0o40700, 2, 2, b""),
            ("bin/box", 0o100755, 3, 1, b"\x7fELF"),
            ("/bin/sh", 0o120777, 4, 1, b"box"),
            ("bin/a", 0o100644, 5, 2, b""),
            ("bin/b", 0o100644, 5, 2, b"both"),
            ("dev/null", 0o20666, 6, 1, b""),
            ("tmp", 0o41777, 7, 2, b""),
        ]);
        let vfs = Vfs::new();
        assert_eq!(unpack(&vfs, &a), Ok(8));
        let bin = lookup(&vfs, "/bin");
        assert_eq!(bin.inode.borrow().mode, 0o40700);
        assert_eq!(bin.inode.borrow().mtime, Duration::from_secs(7));
        assert_eq!(read_file(&vfs, b"/bin/sh"), Ok(b"\x7fELF".to_vec()));
        assert_eq!(read_file(&vfs, b"/bin/box"), Ok(b"\x7fELF".to_vec()));
        assert_eq!(vfs.readlink(&lookup(&vfs, "/bin/sh")), Ok(b"box".to_vec()));
        let (a, b) = (lookup(&vfs, "/bin/a"), lookup(&vfs, "/bin/b"));
        assert!(std::rc::Rc::ptr_eq(&a.inode, &b.inode));
        assert_eq!(a.inode.borrow().nlink, 2);
        assert_eq!(read_file(&vfs, b"/bin/a"), Ok(b"both".to_vec()));
        // rdev 1:3 is /dev/null, which the kernel's /dev already has.
        assert!(matches!(
            lookup(&vfs, "/dev/null").inode.borrow().data,
            Data::Device(Device::Null)
        ));
        assert_eq!(lookup(&vfs, "/tmp").inode.borrow().mode, 0o41777);
    }

    #[test]
    fn refuses_what_is_not_newc() {
        let vfs = Vfs::new();
        assert_eq!(unpack(&vfs, b"hello, world"), Err(Error::Truncated(0)));
        assert_eq!(unpack(&vfs, &[b'x'; 200]), Err(Error::NotNewc));
        assert_eq!(unpack(&vfs, &[0x1f, 0x8b, 8, 0]), Err(Error::Compressed));
        let mut a = archive(&[("f", 0o100644, 1, 1, b"data")]);
        a.truncate(114); // inside the data
        assert_eq!(unpack(&vfs, &a), Err(Error::Truncated(0)));
        let mut a = archive(&[("f", 0o100644, 1, 1, b"data")]);
        a[10] = b'g';
        assert_eq!(unpack(&vfs, &a), Err(Error::BadHeader(0)));
        let a = archive(&[("no/such/dir", 0o100644, 1, 1, b"")]);
        assert_eq!(
            unpack(&vfs, &a),
            Err(Error::Entry("no/such/dir".into(), Errno::ENOENT))
        );
    }

    #[test]
    fn the_committed_initramfs_has_init_and_the_shell() {
        let a = include_bytes!("../../../../userland/initramfs.cpio");
        let vfs = Vfs::new();
        unpack(&vfs, a).expect("userland/initramfs.cpio");
        let init = read_file(&vfs, b"/sbin/init").unwrap();
        assert_eq!(init, crate::task::INIT_IMAGE);
        assert_eq!(vfs.readlink(&lookup(&vfs, "/bin/sh")), Ok(b"box".to_vec()));
        assert!(read_file(&vfs, b"/etc/rc").is_ok());
        assert!(lookup(&vfs, "/proc").is_dir());
    }
}

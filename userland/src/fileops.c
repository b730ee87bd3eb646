/*
 * fileops CASE: what each kind of open file does with the operations every
 * fd takes (read, write, pread, lseek, FIONREAD, fstat's file type,
 * fstatfs's type, getdents64, mmap), compared with the same source run
 * natively (tests/guest.rs). It pins the answers of the open-file objects
 * (crates/kernel/src/fs/file.rs), their defaults included: each line is a
 * kind and the errno name or the value each operation gives. `kinds`:
 * pipe ends, a file, a directory, O_PATH; `special`: the devices, an
 * eventfd and a procfs file.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "guest.h"

/* The value, or the errno's name, for a call that returned r. */
static const char *res(long r)
{
	static char buf[8][24];
	static int next;
	char *b = buf[next++ % 8];
	if (r >= 0)
		snprintf(b, sizeof buf[0], "%ld", r);
	else
		snprintf(b, sizeof buf[0], "%s", strerrorname_np(errno));
	return b;
}

static const char *ftype(int fd)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return strerrorname_np(errno);
	switch (st.st_mode & S_IFMT) {
	case S_IFREG: return "reg";
	case S_IFDIR: return "dir";
	case S_IFCHR: return "chr";
	case S_IFIFO: return "fifo";
	case 0: return "none";
	default: return "other";
	}
}

/* The pseudo file systems, whose type is the same everywhere. */
static const char *fstype(int fd)
{
	struct statfs s;
	if (fstatfs(fd, &s) != 0)
		return strerrorname_np(errno);
	switch ((unsigned long)s.f_type) {
	case 0x50495045: return "pipefs";
	case 0x09041934: return "anon_inodefs";
	case 0x9fa0: return "proc";
	default: return "disk";
	}
}

/* One line: the kind, then what each operation gives on fd; with
 * `writes`, a second line with a 1-byte write. */
static void probe(const char *kind, int fd, int writes)
{
	char buf[256];
	int avail = -1;
	long r = ioctl(fd, FIONREAD, &avail);
	const char *fion = r < 0 ? res(r) : (avail > 0 ? "some" : "0");
	const char *cur = res(lseek(fd, 0, SEEK_CUR));
	r = lseek(fd, 0, SEEK_END);
	const char *end = r > 0 ? "size" : res(r);
	const char *set = res(lseek(fd, 0, SEEK_SET));
	const char *pr = res(pread(fd, buf, 1, 0));
	r = syscall(SYS_getdents64, fd, buf, sizeof buf);
	const char *dents = r > 0 ? "some" : res(r);
	void *m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	const char *map = m == MAP_FAILED ? strerrorname_np(errno) : "mapped";
	if (m != MAP_FAILED)
		munmap(m, 4096);
	say("%s: fionread %s lseek %s/%s/%s pread %s getdents %s mmap %s stat %s fs %s", kind, fion,
	    cur, end, set, pr, dents, map, ftype(fd), fstype(fd));
	if (writes)
		say("%s: write %s", kind, res(write(fd, "x", 1)));
}

static int case_kinds(void)
{
	enter_scratch();
	int p[2];
	if (pipe2(p, O_NONBLOCK) != 0 || write(p[1], "ab", 2) != 2)
		return 1;
	probe("pipe read end", p[0], 0);
	probe("pipe write end", p[1], 1);
	char b[8] = {0};
	say("pipe read: %s", res(read(p[0], b, 4)));
	say("pipe read empty: %s", res(read(p[0], b, 4)));
	close(p[1]);
	say("pipe read at end: %s", res(read(p[0], b, 4)));
	close(p[0]);

	int f = open("file", O_RDWR | O_CREAT, 0600);
	if (write(f, "hello", 5) != 5)
		return 1;
	probe("file", f, 1);
	memset(b, 0, sizeof b);
	say("file read at 0: %s %s", res(read(f, b, 7)), b);
	close(f);

	int d = open(".", O_RDONLY | O_DIRECTORY);
	probe("directory", d, 0);
	close(d);

	int o = open("file", O_PATH);
	const char *rd = res(read(o, b, 1));
	say("O_PATH: read %s fstat %s", rd, ftype(o));
	close(o);
	leave_scratch();
	return 0;
}

/* The devices, an eventfd and a procfs file. */
static int case_special(void)
{
	char b[8];
	static const char *devs[] = {"/dev/null", "/dev/zero", "/dev/full", "/dev/urandom"};
	for (size_t i = 0; i < sizeof devs / sizeof devs[0]; i++) {
		int fd = open(devs[i], O_RDWR);
		probe(devs[i], fd, 1);
		say("%s: read %s", devs[i], res(read(fd, b, 4)));
		close(fd);
	}

	int e = eventfd(3, EFD_NONBLOCK);
	probe("eventfd", e, 0);
	close(e);

	int s = open("/proc/self/comm", O_RDONLY);
	probe("/proc/self/comm", s, 0);
	close(s);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct guest_case cases[] = {
		{"kinds", case_kinds},
		{"special", case_special},
	};
	return run_case("fileops", cases, sizeof cases / sizeof cases[0], argc, argv);
}

/*
 * fifotest CASE: mknod and FIFOs, compared with the same source run
 * natively (tests/guest.rs). Output is facts that hold on any Linux:
 * errno names, file types, what a read returns, the order of events
 * Linux guarantees.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest.h"

static const char *res(long r)
{
	return r < 0 ? strerrorname_np(errno) : "ok";
}

static const char *type(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return strerrorname_np(errno);
	switch (st.st_mode & S_IFMT) {
	case S_IFREG:
		return "regular";
	case S_IFIFO:
		return "fifo";
	case S_IFCHR:
		return "char device";
	case S_IFDIR:
		return "directory";
	default:
		return "other";
	}
}

/* mknod's types, modes and errnos; a device node only for root. */
static int mknod_types(void)
{
	enter_scratch();
	umask(022);
	const char *r = res(mknod("plain", 0666, 0));
	say("mode 0: %s, %s", r, type("plain"));
	r = res(mknod("reg", S_IFREG | 0600, 0));
	say("S_IFREG: %s, %s", r, type("reg"));
	r = res(mknod("fifo", S_IFIFO | 0666, 0));
	say("S_IFIFO: %s, %s", r, type("fifo"));
	struct stat st;
	stat("fifo", &st);
	say("fifo mode %o size %lld nlink %lu", st.st_mode & 07777, (long long)st.st_size,
	    (unsigned long)st.st_nlink);
	r = res(mkfifo("fifo2", 0640));
	say("mkfifo: %s, %s", r, type("fifo2"));
	say("again: %s", res(mkfifo("fifo2", 0640)));
	say("S_IFDIR: %s", res(mknod("dir", S_IFDIR | 0755, 0)));
	say("S_IFLNK: %s", res(mknod("lnk", S_IFLNK | 0777, 0)));
	say("bad type: %s", res(mknod("bad", 0030000 | 0644, 0)));
	say("missing dir: %s", res(mknod("none/f", S_IFIFO | 0644, 0)));
	say("through a file: %s", res(mknod("reg/f", S_IFIFO | 0644, 0)));
	say("existing dir: %s", res(mknod(".", S_IFIFO | 0644, 0)));
	r = res(mknod("null", S_IFCHR | 0666, makedev(1, 3)));
	if (geteuid() == 0) {
		say("char 1:3 as root: %s, %s", r, type("null"));
		int fd = open("null", O_RDWR);
		char c;
		ssize_t w = write(fd, "x", 1);
		say("write %zd read %zd", w, read(fd, &c, 1));
		close(fd);
	} else {
		say("char 1:3 unprivileged: %s", r);
	}
	r = res(mknodat(open(".", O_RDONLY | O_DIRECTORY), "at", S_IFIFO | 0600, 0));
	say("mknodat at a dir fd: %s, %s", r, type("at"));
	leave_scratch();
	return 0;
}

/* Opens that never wait: O_NONBLOCK and O_RDWR. */
static int open_nonblock(void)
{
	enter_scratch();
	mkfifo("f", 0600);
	say("write, nonblock, no reader: %s", res(open("f", O_WRONLY | O_NONBLOCK)));
	int r = open("f", O_RDONLY | O_NONBLOCK);
	say("read, nonblock: %s", res(r));
	char buf[16];
	say("read with no writer: %zd", read(r, buf, sizeof buf));
	int w = open("f", O_WRONLY | O_NONBLOCK);
	say("write, nonblock, a reader: %s", res(w));
	ssize_t got = read(r, buf, sizeof buf);
	say("read, empty, a writer: %zd %s", got, strerrorname_np(errno));
	say("write: %zd", write(w, "hello", 5));
	int n = -1;
	ioctl(r, FIONREAD, &n);
	say("FIONREAD %d", n);
	struct stat st;
	fstat(w, &st);
	say("fstat fifo %s", yesno(S_ISFIFO(st.st_mode)));
	say("lseek %s", res(lseek(r, 0, SEEK_SET)));
	say("pread %s", res(pread(r, buf, 1, 0)));
	got = read(r, buf, sizeof buf);
	say("read %zd: %.*s", got, (int)got, buf);
	write(w, "more", 4);
	close(w);
	got = read(r, buf, sizeof buf);
	ssize_t then = read(r, buf, sizeof buf);
	say("after the writer: %zd, then %zd", got, then);
	close(r);
	int rw = open("f", O_RDWR);
	say("O_RDWR: %s", res(rw));
	ioctl(rw, FIONREAD, &n);
	say("what the last close left: %d", n);
	ssize_t wrote = write(rw, "ab", 2);
	say("rw write %zd read %zd", wrote, read(rw, buf, sizeof buf));
	/* Another open of the same inode shares the pipe. */
	int r2 = open("f", O_RDONLY);
	write(rw, "cd", 2);
	got = read(r2, buf, sizeof buf);
	say("shared: %.*s", (int)got, buf);
	close(r2);
	close(rw);
	leave_scratch();
	return 0;
}

/* A blocking open waits for its peer, both ways round; EOF when the
 * writer goes, EPIPE (SIGPIPE) when the reader goes. */
static int open_blocking(void)
{
	enter_scratch();
	mkfifo("f", 0600);
	volatile long *opened = shared_page();
	for (int round = 0; round < 2; round++) {
		int child_reads = round == 0;
		*opened = 0;
		pid_t pid = fork();
		if (pid == 0) {
			int fd = open("f", child_reads ? O_RDONLY : O_WRONLY);
			*opened = 1;
			if (child_reads) {
				char buf[64];
				ssize_t got, all = 0;
				while ((got = read(fd, buf + all, sizeof buf - all)) > 0)
					all += got;
				say("child read %zd: %.*s", all, (int)all, buf);
			} else {
				say("child write %zd", write(fd, "from the child", 14));
			}
			_exit(0);
		}
		sleep_ms(100);
		say("round %d: child opened before its peer: %s", round, yesno(*opened));
		int fd = open("f", child_reads ? O_WRONLY : O_RDONLY);
		if (child_reads) {
			write(fd, "from the parent", 15);
			close(fd);
		} else {
			char buf[64];
			ssize_t got, all = 0;
			while ((got = read(fd, buf + all, sizeof buf - all)) > 0)
				all += got;
			say("parent read %zd: %.*s", all, (int)all, buf);
			close(fd);
		}
		int status;
		waitpid(pid, &status, 0);
		say("child exit %d", WEXITSTATUS(status));
	}
	/* The reader goes: the writer's write is EPIPE and SIGPIPE. */
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open("f", O_WRONLY);
		sleep_ms(100);
		signal(SIGPIPE, SIG_IGN);
		say("write without a reader: %s", res(write(fd, "x", 1)));
		signal(SIGPIPE, SIG_DFL);
		write(fd, "x", 1);
		_exit(0);
	}
	close(open("f", O_RDONLY));
	int status;
	waitpid(pid, &status, 0);
	say("writer killed by SIGPIPE: %s",
	    yesno(WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE));
	leave_scratch();
	return 0;
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* A signal interrupts a waiting open: EINTR without SA_RESTART. */
static int open_interrupted(void)
{
	enter_scratch();
	mkfifo("f", 0600);
	struct sigaction sa = {.sa_handler = on_alarm};
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = {.it_value = {0, 100000}};
	setitimer(ITIMER_REAL, &it, NULL);
	say("open for reading: %s", res(open("f", O_RDONLY)));
	setitimer(ITIMER_REAL, &it, NULL);
	say("open for writing: %s", res(open("f", O_WRONLY)));
	/* The interrupted opens left nothing behind. */
	say("write, nonblock: %s", res(open("f", O_WRONLY | O_NONBLOCK)));
	leave_scratch();
	return 0;
}

static const struct guest_case cases[] = {
	{"mknod_types", mknod_types},
	{"open_nonblock", open_nonblock},
	{"open_blocking", open_blocking},
	{"open_interrupted", open_interrupted},
};

int main(int argc, char **argv)
{
	return run_case("fifotest", cases, sizeof cases / sizeof cases[0], argc, argv);
}

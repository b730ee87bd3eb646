/* Waiting on many things, one case per run: `polltest CASE`. poll, select
 * and their signal-mask variants on pipes, files, devices, eventfds and
 * pidfds; pidfds themselves; POSIX timers; the orphaned process group
 * rule. The same source runs natively (the reference) and under cleave; it
 * prints only deterministic facts, never pids, ids or timings. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x1000
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK O_NONBLOCK
#endif

struct clone_args_v0 {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* revents as names, "-" for none. */
static const char *ev(int e)
{
	static const struct bit_name names[] = {{POLLIN, "IN"},	   {POLLPRI, "PRI"},	   {POLLOUT, "OUT"},
		     {POLLERR, "ERR"},	   {POLLHUP, "HUP"},	   {POLLNVAL, "NVAL"},
		     {POLLRDNORM, "RDNORM"}, {POLLWRNORM, "WRNORM"}, {POLLRDHUP, "RDHUP"}};
	return bit_names(e, names, sizeof names / sizeof names[0]);
}

/* One fd polled with timeout 0: "count revents". */
static const char *poll1(int fd, int events)
{
	static char buf[4][128];
	static int slot;
	char *b = buf[slot++ % 4];
	struct pollfd p = {fd, events, 0x7fff};
	int n = poll(&p, 1, 0);
	if (n < 0)
		snprintf(b, 128, "%s", strerrorname_np(errno));
	else
		snprintf(b, 128, "%d %s", n, ev(p.revents));
	return b;
}

static int case_pipe(void)
{
	int p[2];
	pipe(p);
	int all = POLLIN | POLLOUT | POLLRDHUP | POLLPRI;
	say("empty read end: %s", poll1(p[0], all));
	say("empty write end: %s", poll1(p[1], all));
	write(p[1], "x", 1);
	say("data read end: %s", poll1(p[0], POLLIN));
	say("data read end, events 0: %s", poll1(p[0], 0));
	close(p[1]);
	say("writer closed, data: %s", poll1(p[0], all));
	char c;
	read(p[0], &c, 1);
	say("writer closed, drained: %s", poll1(p[0], all));
	say("writer closed, events 0: %s", poll1(p[0], 0));
	close(p[0]);
	pipe(p);
	close(p[0]);
	say("reader closed, write end: %s", poll1(p[1], POLLOUT));
	say("reader closed, events 0: %s", poll1(p[1], 0));
	close(p[1]);
	/* A full pipe is not writable. */
	pipe(p);
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	char buf[4096] = {0};
	while (write(p[1], buf, sizeof buf) > 0) {
	}
	say("full write end: %s", poll1(p[1], POLLOUT));
	read(p[0], buf, sizeof buf);
	say("one page read: %s", poll1(p[1], POLLOUT));
	return 0;
}

static int case_files(void)
{
	int f = open("/tmp/polltest.file", O_RDWR | O_CREAT | O_TRUNC, 0600);
	say("regular file: %s", poll1(f, POLLIN | POLLOUT | POLLPRI));
	say("regular file, rdnorm: %s", poll1(f, POLLRDNORM | POLLWRNORM));
	close(f);
	unlink("/tmp/polltest.file");
	int null = open("/dev/null", O_RDWR);
	int zero = open("/dev/zero", O_RDONLY);
	say("/dev/null: %s", poll1(null, POLLIN | POLLOUT));
	say("/dev/zero (read-only): %s", poll1(zero, POLLIN | POLLOUT));
	/* The harness gives stdin as /dev/null. */
	say("stdin: %s", poll1(0, POLLIN));
	int dir = open("/", O_RDONLY | O_DIRECTORY);
	say("directory: %s", poll1(dir, POLLIN | POLLOUT));
	return 0;
}

static int case_nval(void)
{
	int p[2];
	pipe(p);
	write(p[1], "x", 1);
	struct pollfd fds[4] = {
		{p[0], POLLIN, 0x7fff}, {-1, POLLIN, 0x7fff}, {999, POLLIN, 0x7fff}, {p[1], 0, 0x7fff}};
	int n = poll(fds, 4, 0);
	say("poll: %d [%s] [%s] [%s] [%s]", n, ev(fds[0].revents), ev(fds[1].revents),
	    ev(fds[2].revents), ev(fds[3].revents));
	int path = open("/", O_PATH);
	say("O_PATH fd: %s", poll1(path, POLLIN));
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	struct pollfd *many = calloc(rl.rlim_cur + 1, sizeof *many);
	for (rlim_t i = 0; i <= rl.rlim_cur; i++)
		many[i].fd = -1;
	errno = 0;
	say("nfds = RLIMIT_NOFILE: %d", poll(many, rl.rlim_cur, 0));
	int r = poll(many, rl.rlim_cur + 1, 0);
	say("nfds > RLIMIT_NOFILE: %d %s", r, err(r));
	r = syscall(SYS_ppoll, (struct pollfd *)8, 1, NULL, NULL, 8);
	say("bad pointer: %d %s", r, err(r));
	say("no fds, timeout 0: %d", poll(NULL, 0, 0));
	return 0;
}

static int case_timeout(void)
{
	int p[2];
	pipe(p);
	long t0 = now_ms();
	int n = poll(&(struct pollfd){p[0], POLLIN, 0}, 1, 30);
	long dt = now_ms() - t0;
	say("poll 30ms on an empty pipe: %d, waited >= 30ms: %s", n, yesno(dt >= 29));
	t0 = now_ms();
	n = poll(NULL, 0, 20);
	say("poll(NULL, 0, 20): %d, waited: %s", n, yesno(now_ms() - t0 >= 19));
	/* The ppoll system call writes back the time left (glibc's ppoll
	 * hides it: its timeout is const). */
	struct timespec ts = {0, 20 * 1000000};
	n = syscall(SYS_ppoll, &(struct pollfd){p[0], POLLIN, 0}, 1, &ts, NULL, 8);
	say("ppoll timed out: %d, left %ld.%09ld", n, (long)ts.tv_sec, ts.tv_nsec);
	ts = (struct timespec){5, 0};
	write(p[1], "x", 1);
	n = syscall(SYS_ppoll, &(struct pollfd){p[0], POLLIN, 0}, 1, &ts, NULL, 8);
	say("ppoll ready: %d, time left at most 5s: %s", n,
	    yesno(ts.tv_sec == 4 || (ts.tv_sec == 5 && ts.tv_nsec == 0)));
	ts = (struct timespec){0, 0};
	n = syscall(SYS_ppoll, &(struct pollfd){p[0], POLLIN, 0}, 1, &ts, NULL, 8);
	say("ppoll zero timeout: %d, left %ld.%09ld", n, (long)ts.tv_sec, ts.tv_nsec);
	ts = (struct timespec){0, 1000000000};
	n = ppoll(&(struct pollfd){p[0], POLLIN, 0}, 1, &ts, NULL);
	say("ppoll bad timeout: %d %s", n, err(n));
	n = syscall(SYS_ppoll, &(struct pollfd){p[0], POLLIN, 0}, 1, NULL, &(sigset_t){0}, 4);
	say("ppoll sigset size 4: %d %s", n, err(n));
	/* Woken by a write from another process. */
	char c;
	read(p[0], &c, 1);
	pid_t pid = fork();
	if (pid == 0) {
		sleep_ms(30);
		write(p[1], "y", 1);
		_exit(0);
	}
	struct pollfd pf = {p[0], POLLIN, 0};
	n = poll(&pf, 1, -1);
	say("woken by a writer: %d %s", n, ev(pf.revents));
	waitpid(pid, NULL, 0);
	/* And by the last writer closing. */
	read(p[0], &c, 1);
	pid = fork();
	if (pid == 0) {
		sleep_ms(30);
		_exit(0);
	}
	close(p[1]);
	n = poll(&pf, 1, 5000);
	say("woken by the writer's exit: %d %s", n, ev(pf.revents));
	waitpid(pid, NULL, 0);
	return 0;
}

static int case_select(void)
{
	int p[2];
	pipe(p);
	fd_set r, w, e;
	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_ZERO(&e);
	FD_SET(p[0], &r);
	FD_SET(p[1], &w);
	FD_SET(p[0], &e);
	struct timeval tv = {0, 0};
	int n = select(p[1] + 1, &r, &w, &e, &tv);
	say("empty pipe: %d read %s write %s except %s", n, yesno(FD_ISSET(p[0], &r)),
	    yesno(FD_ISSET(p[1], &w)), yesno(FD_ISSET(p[0], &e)));
	write(p[1], "x", 1);
	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_SET(p[0], &r);
	FD_SET(p[1], &w);
	FD_SET(p[1], &r);
	n = select(p[1] + 1, &r, &w, NULL, NULL);
	say("data: %d read end %s, write end readable %s, writable %s", n, yesno(FD_ISSET(p[0], &r)),
	    yesno(FD_ISSET(p[1], &r)), yesno(FD_ISSET(p[1], &w)));
	char c;
	read(p[0], &c, 1);
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	tv = (struct timeval){0, 20000};
	n = select(p[0] + 1, &r, NULL, NULL, &tv);
	say("timeout: %d, set cleared %s, tv %ld.%06ld", n, yesno(!FD_ISSET(p[0], &r)),
	    (long)tv.tv_sec, (long)tv.tv_usec);
	/* A closed fd below 64: Linux ignores fds past the end of the process's
	 * fd table, whose size depends on how many fds its parent held. */
	int closed = dup(0);
	close(closed);
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	FD_SET(closed, &r);
	tv = (struct timeval){0, 0};
	n = select(closed + 1, &r, NULL, NULL, &tv);
	say("closed fd: %d %s", n, err(n));
	n = select(-1, NULL, NULL, NULL, &tv);
	say("nfds -1: %d %s", n, err(n));
	tv = (struct timeval){0, 2000000};
	n = select(0, NULL, NULL, NULL, &tv);
	say("bad timeval: %d %s", n, err(n));
	close(p[1]);
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	n = select(p[0] + 1, &r, NULL, NULL, NULL);
	say("hung up: %d readable %s", n, yesno(FD_ISSET(p[0], &r)));
	/* A pselect6 with a bad sigset size. */
	struct {
		const sigset_t *ss;
		size_t len;
	} arg = {.ss = &(sigset_t){{0}}, .len = 4};
	struct timespec ts = {0, 0};
	long rr = syscall(SYS_pselect6, 0, NULL, NULL, NULL, &ts, &arg);
	say("pselect6 sigset size 4: %ld %s", rr, err(rr));
	return 0;
}

static volatile sig_atomic_t hits;
static void on_usr1(int sig)
{
	(void)sig;
	hits++;
}

static int blocked(int sig)
{
	sigset_t cur;
	sigprocmask(SIG_SETMASK, NULL, &cur);
	return sigismember(&cur, sig);
}

static int case_sigmask(void)
{
	struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = SA_RESTART};
	sigaction(SIGUSR1, &sa, NULL);
	sigset_t usr1, none;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigemptyset(&none);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	int p[2];
	pipe(p);
	/* A signal arriving during the wait: EINTR even with SA_RESTART. */
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		sleep_ms(30);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	struct timespec ts = {5, 0};
	int n = syscall(SYS_ppoll, &(struct pollfd){p[0], POLLIN, 0}, 1, &ts, &none, 8);
	say("ppoll interrupted: %d %s, handler ran %d, still blocked after %s, time left "
	    "updated %s",
	    n, err(n), hits, yesno(blocked(SIGUSR1)), yesno(ts.tv_sec < 5));
	waitpid(pid, NULL, 0);
	pid = fork();
	if (pid == 0) {
		sleep_ms(30);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	fd_set r;
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	n = pselect(p[0] + 1, &r, NULL, NULL, NULL, &none);
	say("pselect interrupted: %d %s, handler ran %d, still blocked after %s", n, err(n), hits,
	    yesno(blocked(SIGUSR1)));
	waitpid(pid, NULL, 0);
	/* Pending before the call: a ready fd wins, the signal stays pending. */
	raise(SIGUSR1);
	write(p[1], "x", 1);
	ts = (struct timespec){0, 0};
	n = ppoll(&(struct pollfd){p[0], POLLIN, 0}, 1, &ts, &none);
	sigset_t pend;
	sigpending(&pend);
	say("pending, fd ready: %d, handler ran %d, still pending %s", n, hits,
	    yesno(sigismember(&pend, SIGUSR1)));
	char c;
	read(p[0], &c, 1);
	/* Nothing ready: the pending signal interrupts, even a zero timeout. */
	n = ppoll(&(struct pollfd){p[0], POLLIN, 0}, 1, &ts, &none);
	say("pending, nothing ready: %d %s, handler ran %d", n, err(n), hits);
	/* A mask that keeps it blocked: a plain timeout. */
	raise(SIGUSR1);
	ts = (struct timespec){0, 10000000};
	n = ppoll(&(struct pollfd){p[0], POLLIN, 0}, 1, &ts, &usr1);
	say("pending but masked: %d, handler ran %d", n, hits);
	sigprocmask(SIG_UNBLOCK, &usr1, NULL);
	say("unblocked: handler ran %d", hits);
	/* sigsuspend with a signal already pending that its mask lets
	 * through returns at once. */
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	raise(SIGUSR1);
	n = sigsuspend(&none);
	say("sigsuspend, pending: %d %s, handler ran %d, blocked again %s", n, err(n), hits,
	    yesno(blocked(SIGUSR1)));
	sigprocmask(SIG_UNBLOCK, &usr1, NULL);
	/* poll (no mask) interrupted by a SA_RESTART handler: EINTR too. */
	pid = fork();
	if (pid == 0) {
		sleep_ms(30);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	n = poll(&(struct pollfd){p[0], POLLIN, 0}, 1, 5000);
	say("poll interrupted: %d %s, handler ran %d", n, err(n), hits);
	waitpid(pid, NULL, 0);
	return 0;
}

static int case_eventfd(void)
{
	int fd = eventfd(3, EFD_NONBLOCK);
	uint64_t v = 4;
	say("write 4: %zd", write(fd, &v, 8));
	say("poll: %s", poll1(fd, POLLIN | POLLOUT));
	v = 0;
	long got = read(fd, &v, 8);
	say("read: %ld value %llu", got, (unsigned long long)v);
	long r = read(fd, &v, 8);
	say("read empty: %ld %s", r, err(r));
	say("poll empty: %s", poll1(fd, POLLIN | POLLOUT));
	r = read(fd, &v, 4);
	say("read 4 bytes: %ld %s", r, err(r));
	r = write(fd, &v, 7);
	say("write 7 bytes: %ld %s", r, err(r));
	v = UINT64_MAX;
	r = write(fd, &v, 8);
	say("write ~0: %ld %s", r, err(r));
	v = UINT64_MAX - 1;
	say("write max: %zd", write(fd, &v, 8));
	say("poll full: %s", poll1(fd, POLLIN | POLLOUT));
	v = 1;
	r = write(fd, &v, 8);
	say("write 1 more: %ld %s", r, err(r));
	v = 0;
	r = write(fd, &v, 8);
	say("write 0: %ld %s", r, err(r));
	char big[16] = {0};
	say("read 16 bytes: %zd", read(fd, big, 16));
	close(fd);
	fd = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC);
	say("cloexec: %s", yesno(fcntl(fd, F_GETFD) & FD_CLOEXEC));
	say("nonblock: %s", yesno(fcntl(fd, F_GETFL) & O_NONBLOCK));
	for (int i = 0; i < 2; i++) {
		got = read(fd, &v, 8);
		say("semaphore reads: %ld %llu", got, (unsigned long long)v);
	}
	r = read(fd, &v, 8);
	say("semaphore empty: %ld %s", r, err(r));
	close(fd);
	r = eventfd(0, 0x10);
	say("bad flags: %ld %s", r, err(r));
	r = lseek(eventfd(0, 0), 0, SEEK_SET);
	say("lseek: %ld %s", r, err(r));
	/* Blocking read, woken by a write from another process. */
	fd = eventfd(0, 0);
	pid_t pid = fork();
	if (pid == 0) {
		sleep_ms(30);
		uint64_t one = 5;
		write(fd, &one, 8);
		_exit(0);
	}
	v = 0;
	got = read(fd, &v, 8);
	say("blocking read: %ld %llu", got, (unsigned long long)v);
	waitpid(pid, NULL, 0);
	/* Blocking write, woken by a read. */
	v = UINT64_MAX - 1;
	write(fd, &v, 8);
	pid = fork();
	if (pid == 0) {
		sleep_ms(30);
		uint64_t got;
		read(fd, &got, 8);
		_exit(0);
	}
	v = 2;
	say("blocking write: %zd", write(fd, &v, 8));
	waitpid(pid, NULL, 0);
	read(fd, &v, 8);
	say("then: %llu", (unsigned long long)v);
	/* poll woken by a write. */
	pid = fork();
	if (pid == 0) {
		sleep_ms(30);
		uint64_t one = 1;
		write(fd, &one, 8);
		_exit(0);
	}
	struct pollfd pf = {fd, POLLIN, 0};
	int n = poll(&pf, 1, 5000);
	say("poll woken: %d %s", n, ev(pf.revents));
	waitpid(pid, NULL, 0);
	return 0;
}

static int pidfd_open(pid_t pid, unsigned flags)
{
	return syscall(SYS_pidfd_open, pid, flags);
}

static int pidfd_send_signal(int fd, int sig, siginfo_t *info, unsigned flags)
{
	return syscall(SYS_pidfd_send_signal, fd, sig, info, flags);
}

static void *thread_tid(void *arg)
{
	*(pid_t *)arg = gettid();
	sleep_ms(50);
	return NULL;
}

static int case_pidfd(void)
{
	int go[2];
	pipe(go);
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		close(go[1]);
		read(go[0], &c, 1);
		_exit(7);
	}
	close(go[0]);
	int fd = pidfd_open(pid, 0);
	say("pidfd_open: %s, cloexec %s", err(fd), yesno(fcntl(fd, F_GETFD) & FD_CLOEXEC));
	say("running: %s", poll1(fd, POLLIN | POLLOUT));
	close(go[1]);
	struct pollfd pf = {fd, POLLIN, 0};
	int n = poll(&pf, 1, 5000);
	say("exited: %d %s", n, ev(pf.revents));
	char c;
	long r = read(fd, &c, 1);
	say("read: %ld %s", r, err(r));
	siginfo_t si = {0};
	r = waitid(P_PIDFD, fd, &si, WEXITED);
	say("waitid P_PIDFD: %s code %s status %d pid matches %s", err(r),
	    si.si_code == CLD_EXITED ? "CLD_EXITED" : "?", si.si_status, yesno(si.si_pid == pid));
	say("reaped: %s", poll1(fd, POLLIN));
	r = waitid(P_PIDFD, fd, &si, WEXITED);
	say("waitid again: %ld %s", r, err(r));
	r = pidfd_send_signal(fd, 0, NULL, 0);
	say("signal reaped: %ld %s", r, err(r));
	r = pidfd_open(pid, 0);
	say("pidfd_open reaped: %ld %s", r, err(r));
	close(fd);
	r = pidfd_open(getpid(), 1);
	say("bad flags: %ld %s", r, err(r));
	r = pidfd_open(-1, 0);
	say("pid -1: %ld %s", r, err(r));
	pid_t tid = 0;
	pthread_t th;
	pthread_create(&th, NULL, thread_tid, &tid);
	while (!__atomic_load_n(&tid, __ATOMIC_SEQ_CST))
		sched_yield();
	/* EINVAL before Linux 6.9, ENOENT since. */
	r = pidfd_open(tid, 0);
	say("a thread: fails %s", yesno(r < 0 && (errno == EINVAL || errno == ENOENT)));
	pthread_join(th, NULL);
	int p[2];
	pipe(p);
	r = waitid(P_PIDFD, p[0], &si, WEXITED);
	say("waitid on a pipe: %ld %s", r, err(r));
	r = waitid(P_PIDFD, 99, &si, WEXITED);
	say("waitid on no fd: %ld %s", r, err(r));
	r = pidfd_send_signal(p[0], 0, NULL, 0);
	say("signal through a pipe: %ld %s", r, err(r));
	/* Signalling a live child; a nonblocking pidfd's wait. */
	pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	fd = pidfd_open(pid, PIDFD_NONBLOCK);
	r = waitid(P_PIDFD, fd, &si, WEXITED);
	say("nonblocking pidfd, running: %ld %s", r, err(r));
	say("signal 0: %s", err(pidfd_send_signal(fd, 0, NULL, 0)));
	r = pidfd_send_signal(fd, SIGTERM, NULL, 0x10);
	say("unknown flag: %ld %s", r, err(r));
	r = pidfd_send_signal(fd, 65, NULL, 0);
	say("signal 65: %ld %s", r, err(r));
	siginfo_t info = {0};
	info.si_signo = SIGUSR1;
	info.si_code = SI_QUEUE;
	r = pidfd_send_signal(fd, SIGTERM, &info, 0);
	say("info for another signal: %ld %s", r, err(r));
	info.si_code = SI_USER;
	info.si_signo = SIGTERM;
	r = pidfd_send_signal(fd, SIGTERM, &info, 0);
	say("SI_USER info to another process: %ld %s", r, err(r));
	say("SIGTERM: %s", err(pidfd_send_signal(fd, SIGTERM, NULL, 0)));
	n = poll(&(struct pollfd){fd, POLLIN, 0}, 1, 5000);
	say("poll: %d", n);
	si = (siginfo_t){0};
	r = waitid(P_PIDFD, fd, &si, WEXITED);
	say("waitid: %s code %s status %s", err(r), si.si_code == CLD_KILLED ? "CLD_KILLED" : "?",
	    sigabbrev_np(si.si_status));
	return 0;
}

static int case_clone_pidfd(void)
{
	int pidfd = -1;
	struct clone_args_v0 args = {0};
	args.flags = CLONE_PIDFD;
	args.pidfd = (uintptr_t)&pidfd;
	args.exit_signal = SIGCHLD;
	long pid = syscall(SYS_clone3, &args, sizeof args);
	if (pid == 0)
		_exit(3);
	say("clone3: %s, pidfd %s, cloexec %s", err(pid), yesno(pidfd >= 0),
	    yesno(fcntl(pidfd, F_GETFD) & FD_CLOEXEC));
	struct pollfd pf = {pidfd, POLLIN, 0};
	int n = poll(&pf, 1, 5000);
	say("poll: %d %s", n, ev(pf.revents));
	siginfo_t si = {0};
	long r = waitid(P_PIDFD, pidfd, &si, WEXITED);
	say("waitid: %s status %d pid matches %s", err(r), si.si_status, yesno(si.si_pid == pid));
	close(pidfd);
	/* clone(): the pidfd goes where parent_tid points. */
	pidfd = -1;
	pid = syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, 0, &pidfd, 0, 0);
	if (pid == 0)
		_exit(4);
	say("clone: %s, pidfd %s", err(pid), yesno(pidfd >= 0));
	si = (siginfo_t){0};
	r = waitid(P_PIDFD, pidfd, &si, WEXITED);
	say("waitid: %s status %d", err(r), si.si_status);
	r = syscall(SYS_clone, CLONE_PIDFD | CLONE_PARENT_SETTID | SIGCHLD, 0, &pidfd, 0, 0);
	if (r == 0)
		_exit(0);
	say("clone with CLONE_PARENT_SETTID: %ld %s", r, err(r));
	args.pidfd = 8;
	r = syscall(SYS_clone3, &args, sizeof args);
	if (r == 0)
		_exit(0);
	say("clone3 with a bad pidfd pointer: %ld %s", r, err(r));
	say("no child made: %s", yesno(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD));
	return 0;
}

static volatile sig_atomic_t timer_hits;
static siginfo_t timer_info;
static void on_timer(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	timer_info = *si;
	timer_hits++;
}

static int case_timer(void)
{
	sigset_t usr1;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	struct sigevent sev = {0};
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGUSR1;
	sev.sigev_value.sival_int = 42;
	timer_t t;
	say("timer_create: %s", err(timer_create(CLOCK_MONOTONIC, &sev, &t)));
	struct itimerspec its = {{0, 0}, {0, 200000000}}, cur;
	say("timer_settime: %s", err(timer_settime(t, 0, &its, NULL)));
	timer_gettime(t, &cur);
	say("armed: value in (0, 200ms] %s, interval 0 %s",
	    yesno(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 &&
		  cur.it_value.tv_nsec <= 200000000),
	    yesno(cur.it_interval.tv_nsec == 0));
	siginfo_t si;
	int sig = sigwaitinfo(&usr1, &si);
	say("sigwaitinfo: %s code SI_TIMER %s value %d timerid matches %s overrun %d",
	    sigabbrev_np(sig), yesno(si.si_code == SI_TIMER), si.si_value.sival_int,
	    yesno(si.si_timerid == (int)(intptr_t)t), si.si_overrun);
	timer_gettime(t, &cur);
	say("expired: value 0 %s", yesno(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0));
	/* Periodic, the signal blocked: expiries meanwhile are overruns. */
	its = (struct itimerspec){{0, 5000000}, {0, 5000000}};
	struct itimerspec old;
	timer_settime(t, 0, &its, &old);
	say("old value: 0 %s", yesno(old.it_value.tv_sec == 0 && old.it_value.tv_nsec == 0));
	sleep_ms(60);
	sig = sigwaitinfo(&usr1, &si);
	int overrun = timer_getoverrun(t);
	say("periodic: %s overrun >= 5 %s, timer_getoverrun agrees %s", sigabbrev_np(sig),
	    yesno(si.si_overrun >= 5), yesno(overrun == si.si_overrun));
	sleep_ms(12);
	sig = sigwaitinfo(&usr1, &si);
	say("re-armed at delivery: %s overrun counted again %s", sigabbrev_np(sig),
	    yesno(si.si_overrun >= 1));
	timer_gettime(t, &cur);
	say("interval kept: %s", yesno(cur.it_interval.tv_nsec == 5000000));
	/* Re-armed or deleted with its signal queued: the signal shows as
	 * pending but is dropped when dequeued. */
	sleep_ms(20);
	sigset_t pend;
	sigpending(&pend);
	say("queued: %s", yesno(sigismember(&pend, SIGUSR1)));
	timer_settime(t, 0, &its, NULL);
	say("timer_delete: %s", err(timer_delete(t)));
	sigpending(&pend);
	struct timespec zero = {0, 0};
	say("still pending %s, dropped at dequeue %s", yesno(sigismember(&pend, SIGUSR1)),
	    yesno(sigtimedwait(&usr1, &si, &zero) < 0 && errno == EAGAIN));
	long r = timer_gettime(t, &cur);
	say("deleted: %ld %s", r, err(r));

	/* A handler, an absolute CLOCK_REALTIME expiry, the default sigevent. */
	struct sigaction sa = {.sa_sigaction = on_timer, .sa_flags = SA_SIGINFO};
	sigaction(SIGALRM, &sa, NULL);
	/* No sigevent (glibc always passes one): SIGALRM, the id as value. */
	int kid = -1;
	syscall(SYS_timer_create, CLOCK_REALTIME, NULL, &kid);
	timer_t t2 = (timer_t)(intptr_t)kid;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	now.tv_nsec += 20000000;
	if (now.tv_nsec >= 1000000000) {
		now.tv_sec++;
		now.tv_nsec -= 1000000000;
	}
	its = (struct itimerspec){{0, 0}, now};
	say("absolute: %s", err(timer_settime(t2, TIMER_ABSTIME, &its, NULL)));
	while (!timer_hits)
		pause();
	say("handler: %s code SI_TIMER %s value is the id %s", sigabbrev_np(timer_info.si_signo),
	    yesno(timer_info.si_code == SI_TIMER),
	    yesno(timer_info.si_value.sival_int == kid));
	/* An absolute time in the past fires at once. */
	its.it_value.tv_sec -= 10;
	timer_settime(t2, TIMER_ABSTIME, &its, NULL);
	while (timer_hits < 2)
		pause();
	say("past absolute time fired: %s", yesno(timer_hits == 2));

	/* SIGEV_NONE: only timer_gettime tells. */
	timer_t t3;
	sev.sigev_notify = SIGEV_NONE;
	timer_create(CLOCK_MONOTONIC, &sev, &t3);
	its = (struct itimerspec){{0, 0}, {5, 0}};
	timer_settime(t3, 0, &its, NULL);
	timer_gettime(t3, &cur);
	say("SIGEV_NONE armed: %s", yesno(cur.it_value.tv_sec == 4 || cur.it_value.tv_sec == 5));
	its = (struct itimerspec){{0, 0}, {0, 10000000}};
	timer_settime(t3, 0, &its, NULL);
	sleep_ms(20);
	timer_gettime(t3, &cur);
	say("SIGEV_NONE expired: %s", yesno(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0));

	/* Errors. */
	r = timer_create(123, NULL, &t3);
	say("bad clock: %ld %s", r, err(r));
	sev.sigev_notify = 77;
	r = timer_create(CLOCK_MONOTONIC, &sev, &t3);
	say("bad notify: %ld %s", r, err(r));
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = 0;
	r = timer_create(CLOCK_MONOTONIC, &sev, &t3);
	say("signal 0: %ld %s", r, err(r));
	its = (struct itimerspec){{0, 0}, {0, 1000000000}};
	r = timer_settime(t2, 0, &its, NULL);
	say("bad timespec: %ld %s", r, err(r));
	r = syscall(SYS_timer_settime, 9999, 0, &its, NULL);
	say("bad id: %ld %s", r, err(r));
	r = syscall(SYS_timer_getoverrun, 9999);
	say("getoverrun bad id: %ld %s", r, err(r));
	/* Not inherited by fork. */
	pid_t pid = fork();
	if (pid == 0) {
		r = timer_gettime(t2, &cur);
		say("in a fork child: %ld %s", r, err(r));
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	return 0;
}

static volatile sig_atomic_t cpu_fired;
static void on_cpu_timer(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (si->si_code == SI_TIMER)
		cpu_fired++;
}

static int case_timer_cpu(void)
{
	/* CLOCK_PROCESS_CPUTIME_ID: only running counts. */
	struct sigaction sa = {.sa_sigaction = on_cpu_timer, .sa_flags = SA_SIGINFO};
	sigaction(SIGUSR2, &sa, NULL);
	struct sigevent sev = {0};
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGUSR2;
	timer_t t;
	say("timer_create: %s", err(timer_create(CLOCK_PROCESS_CPUTIME_ID, &sev, &t)));
	struct itimerspec its = {{0, 0}, {0, 30000000}}, cur;
	timer_settime(t, 0, &its, NULL);
	sleep_ms(100);
	timer_gettime(t, &cur);
	say("after sleeping 100ms: fired %d, still armed %s", cpu_fired,
	    yesno(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0));
	long t0 = now_ms();
	while (!cpu_fired && now_ms() - t0 < 10000) {
	}
	say("after spinning: fired %d", cpu_fired);
	/* Absolute: a CPU time already passed fires at once. */
	its.it_value = (struct timespec){0, 1};
	timer_settime(t, TIMER_ABSTIME, &its, NULL);
	t0 = now_ms();
	while (cpu_fired < 2 && now_ms() - t0 < 10000) {
	}
	say("absolute in the past: fired %d", cpu_fired);
	return 0;
}

static void *helper(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static int case_timer_thread_id(void)
{
	/* SIGEV_THREAD_ID: to one thread. */
	sigset_t usr1;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	struct sigevent sev = {0};
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGUSR1;
	sev._sigev_un._tid = gettid();
	timer_t t;
	say("SIGEV_THREAD_ID: %s", err(timer_create(CLOCK_MONOTONIC, &sev, &t)));
	struct itimerspec its = {{0, 0}, {0, 10000000}};
	timer_settime(t, 0, &its, NULL);
	siginfo_t si;
	int sig = sigwaitinfo(&usr1, &si);
	say("got %s SI_TIMER %s", sigabbrev_np(sig), yesno(si.si_code == SI_TIMER));
	pthread_t th;
	pthread_create(&th, NULL, helper, NULL);
	sev._sigev_un._tid = 999999;
	long r = timer_create(CLOCK_MONOTONIC, &sev, &t);
	say("no such thread: %ld %s", r, err(r));
	return 0;
}

static sem_t fired;
static volatile int fired_value;
static void notify_fn(union sigval v)
{
	fired_value = v.sival_int;
	sem_post(&fired);
}

static int case_timer_thread(void)
{
	/* glibc's SIGEV_THREAD: a helper thread, SIGEV_THREAD_ID underneath. */
	sem_init(&fired, 0, 0);
	struct sigevent sev = {0};
	sev.sigev_notify = SIGEV_THREAD;
	sev.sigev_notify_function = notify_fn;
	sev.sigev_value.sival_int = 77;
	timer_t t;
	say("SIGEV_THREAD: %s", err(timer_create(CLOCK_MONOTONIC, &sev, &t)));
	struct itimerspec its = {{0, 10000000}, {0, 10000000}};
	timer_settime(t, 0, &its, NULL);
	sem_wait(&fired);
	sem_wait(&fired);
	say("function ran twice with value %d", fired_value);
	timer_delete(t);
	return 0;
}

static int hup_pipe[2];
static void on_hup(int sig)
{
	char c = sig == SIGHUP ? 'H' : 'C';
	write(hup_pipe[1], &c, 1);
}

static int case_orphan_pgrp(void)
{
	pipe(hup_pipe);
	pid_t p = fork();
	if (p == 0) {
		setpgid(0, 0);
		pid_t c = fork();
		if (c == 0) {
			struct sigaction sa = {.sa_handler = on_hup};
			sigaction(SIGHUP, &sa, NULL);
			sigaction(SIGCONT, &sa, NULL);
			raise(SIGSTOP);
			/* Orphaned now: SIGTSTP's default action does nothing. */
			raise(SIGTSTP);
			write(hup_pipe[1], "T", 1);
			_exit(0);
		}
		close(hup_pipe[1]);
		int st;
		waitpid(c, &st, WUNTRACED);
		write(1, WIFSTOPPED(st) ? "child stopped\n" : "child not stopped\n",
		      WIFSTOPPED(st) ? 14 : 18);
		/* Exiting orphans the group, which has a stopped member. */
		_exit(0);
	}
	close(hup_pipe[1]);
	waitpid(p, NULL, 0);
	char buf[16];
	int n = 0, r;
	while ((r = read(hup_pipe[0], buf + n, sizeof buf - n)) > 0)
		n += r;
	say("the orphaned child saw: %.*s", n, buf);

	/* Not orphaned (its parent is in another group of the session): a
	 * stopped child stays stopped when a sibling group's process exits. */
	pid_t c = fork();
	if (c == 0) {
		setpgid(0, 0);
		raise(SIGSTOP);
		_exit(0);
	}
	int st;
	waitpid(c, &st, WUNTRACED);
	pid_t other = fork();
	if (other == 0)
		_exit(0);
	waitpid(other, NULL, 0);
	r = waitpid(c, &st, WNOHANG | WCONTINUED);
	say("connected group left stopped: %s", yesno(r == 0));
	kill(c, SIGKILL);
	waitpid(c, &st, 0);
	say("then: %s", WIFSIGNALED(st) ? sigabbrev_np(WTERMSIG(st)) : "?");
	return 0;
}

int main(int argc, char **argv)
{
	static const struct guest_case cases[] = {
		{"pipe", case_pipe},
		{"files", case_files},
		{"nval", case_nval},
		{"timeout", case_timeout},
		{"select", case_select},
		{"sigmask", case_sigmask},
		{"eventfd", case_eventfd},
		{"pidfd", case_pidfd},
		{"clone_pidfd", case_clone_pidfd},
		{"timer", case_timer},
		{"timer_thread_id", case_timer_thread_id},
		{"timer_thread", case_timer_thread},
		{"timer_cpu", case_timer_cpu},
		{"orphan_pgrp", case_orphan_pgrp},
	};
	return run_case("polltest", cases, sizeof cases / sizeof cases[0], argc, argv);
}

/* Event descriptors, one case per run: `eventtest CASE`. epoll over
 * pipes, eventfds, pidfds, timerfds, signalfds and other epolls; timerfd;
 * signalfd; memfd_create and its seals. The same source runs natively
 * (the reference) and under cleave; it prints only deterministic facts,
 * never pids, ids or timings. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest.h"

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#define MFD_EXEC 0x0010U
#endif

/* epoll events as names, "-" for none. */
static const char *ev(uint32_t e)
{
	static const struct bit_name names[] = {{EPOLLIN, "IN"},	  {EPOLLPRI, "PRI"},	 {EPOLLOUT, "OUT"},
		     {EPOLLERR, "ERR"},	  {EPOLLHUP, "HUP"},	 {EPOLLRDNORM, "RDNORM"},
		     {EPOLLWRNORM, "WRNORM"}, {EPOLLRDHUP, "RDHUP"}};
	return bit_names(e, names, sizeof names / sizeof names[0]);
}

static int ctl(int ep, int op, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event e = {.events = events, .data.u64 = data};
	return epoll_ctl(ep, op, fd, &e);
}

/* One epoll_wait: "n: data=events ..." (or the errno). */
static const char *wait_str(int ep, int max, int timeout)
{
	static char buf[4][256];
	static int slot;
	char *b = buf[slot++ % 4];
	struct epoll_event evs[16];
	int n = epoll_wait(ep, evs, max, timeout);
	if (n < 0) {
		snprintf(b, 256, "%s", strerrorname_np(errno));
		return b;
	}
	int off = snprintf(b, 256, "%d", n);
	for (int i = 0; i < n && off < 200; i++)
		off += snprintf(b + off, 256 - off, " %llu=%s", (unsigned long long)evs[i].data.u64,
				ev(evs[i].events));
	return b;
}

static void put(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) < 0)
		say("write: %s", strerrorname_np(errno));
}

static void drain(int fd)
{
	char buf[256];
	if (read(fd, buf, sizeof buf) < 0)
		say("read: %s", strerrorname_np(errno));
}

static int case_epoll_ctl(void)
{
	say("create1 bad flags: %s", err(epoll_create1(1)));
	say("create size 0: %s", err(epoll_create(0)));
	int ep = epoll_create1(EPOLL_CLOEXEC);
	say("cloexec: %s", fcntl(ep, F_GETFD) & FD_CLOEXEC ? "yes" : "no");
	int p[2];
	pipe(p);
	say("add: %s", err(ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 1)));
	say("add again: %s", err(ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 1)));
	say("mod: %s", err(ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN | EPOLLOUT, 2)));
	say("del: %s", err(ctl(ep, EPOLL_CTL_DEL, p[0], 0, 0)));
	say("del again: %s", err(ctl(ep, EPOLL_CTL_DEL, p[0], 0, 0)));
	say("mod missing: %s", err(ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN, 0)));
	say("bad op: %s", err(ctl(ep, 7, p[0], EPOLLIN, 0)));
	say("bad op on item: %s", (ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 0), err(ctl(ep, 7, p[0], EPOLLIN, 0))));
	say("del null event: %s", err(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL)));
	say("add null event: %s", err(epoll_ctl(ep, EPOLL_CTL_ADD, p[1], NULL)));
	say("bad epfd: %s", err(ctl(99, EPOLL_CTL_ADD, p[0], EPOLLIN, 0)));
	say("bad fd: %s", err(ctl(ep, EPOLL_CTL_ADD, 99, EPOLLIN, 0)));
	say("epfd not epoll: %s", err(ctl(p[1], EPOLL_CTL_ADD, p[0], EPOLLIN, 0)));
	say("self: %s", err(ctl(ep, EPOLL_CTL_ADD, ep, EPOLLIN, 0)));
	int f = open("/proc/self/status", O_RDONLY);
	say("regular file: %s", err(ctl(ep, EPOLL_CTL_ADD, f, EPOLLIN, 0)));
	int dir = open("/", O_RDONLY | O_DIRECTORY);
	say("directory: %s", err(ctl(ep, EPOLL_CTL_ADD, dir, EPOLLIN, 0)));
	int null = open("/dev/null", O_RDWR);
	say("/dev/null: %s", err(ctl(ep, EPOLL_CTL_ADD, null, EPOLLIN, 0)));
	say("regular file, epfd not epoll: %s", err(ctl(p[1], EPOLL_CTL_ADD, f, EPOLLIN, 0)));
	say("exclusive: %s", err(ctl(ep, EPOLL_CTL_ADD, p[1], EPOLLOUT | EPOLLEXCLUSIVE, 0)));
	say("exclusive mod: %s", err(ctl(ep, EPOLL_CTL_MOD, p[1], EPOLLOUT, 0)));
	say("mod to exclusive: %s", err(ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN | EPOLLEXCLUSIVE, 0)));
	int efd = eventfd(0, 0);
	say("exclusive with oneshot: %s",
	    err(ctl(ep, EPOLL_CTL_ADD, efd, EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT, 0)));
	say("exclusive with rdhup: %s", err(ctl(ep, EPOLL_CTL_ADD, efd, EPOLLIN | EPOLLEXCLUSIVE | EPOLLRDHUP, 0)));
	say("exclusive del: %s", err(ctl(ep, EPOLL_CTL_DEL, p[1], 0, 0)));
	int ep2 = epoll_create1(0);
	say("exclusive epoll: %s", err(ctl(ep, EPOLL_CTL_ADD, ep2, EPOLLIN | EPOLLEXCLUSIVE, 0)));
	/* With nobody waiting, every exclusive item hears of a change. */
	int e1 = epoll_create1(0), e2 = epoll_create1(0), x = eventfd(0, 0);
	ctl(e1, EPOLL_CTL_ADD, x, EPOLLIN | EPOLLEXCLUSIVE, 1);
	ctl(e2, EPOLL_CTL_ADD, x, EPOLLIN | EPOLLEXCLUSIVE, 2);
	uint64_t one = 1;
	write(x, &one, 8);
	say("exclusive, no waiters: %s / %s", wait_str(e1, 8, 0), wait_str(e2, 8, 0));
	return 0;
}

static int case_epoll_wait_errors(void)
{
	int ep = epoll_create1(0);
	struct epoll_event e[2];
	int p[2];
	pipe(p);
	say("maxevents 0: %s", err(epoll_wait(ep, e, 0, 0)));
	say("maxevents -1: %s", err(syscall(SYS_epoll_pwait, ep, e, -1, 0, NULL, 8)));
	say("huge maxevents: %s", err(syscall(SYS_epoll_pwait, ep, e, INT32_MAX, 0, NULL, 8)));
	say("bad epfd: %s", err(epoll_wait(99, e, 2, 0)));
	say("not epoll: %s", err(epoll_wait(p[0], e, 2, 0)));
	say("kernel buffer: %s", err(epoll_wait(ep, (void *)-4096L, 2, 0)));
	say("empty, timeout 0: %s", wait_str(ep, 2, 0));
	long t0 = 0;
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	say("empty, timeout 50: %s", wait_str(ep, 2, 50));
	clock_gettime(CLOCK_MONOTONIC, &b);
	t0 = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	say("waited at least 50ms: %s", t0 >= 50 ? "yes" : "no");
	sigset_t set;
	sigemptyset(&set);
	say("pwait bad sigsetsize: %s", err(syscall(SYS_epoll_pwait, ep, e, 2, 0, &set, 4)));
	struct timespec bad = {0, 2000000000L};
	say("pwait2 bad timeout: %s", err(syscall(SYS_epoll_pwait2, ep, e, 2, &bad, NULL, 8)));
	struct timespec zero = {0, 0};
	say("pwait2 zero: %s", err(syscall(SYS_epoll_pwait2, ep, e, 2, &zero, NULL, 8)));
	put(p[1], "x");
	ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 5);
	struct timespec ten = {0, 10000000};
	int n = syscall(SYS_epoll_pwait2, ep, e, 2, &ten, NULL, 8);
	say("pwait2 ready: %d %s", n, ev(e[0].events));
	return 0;
}

static int case_epoll_level(void)
{
	int ep = epoll_create1(0);
	int a[2], b[2];
	pipe(a);
	pipe(b);
	ctl(ep, EPOLL_CTL_ADD, a[0], EPOLLIN, 1);
	ctl(ep, EPOLL_CTL_ADD, b[0], EPOLLIN, 2);
	ctl(ep, EPOLL_CTL_ADD, a[1], EPOLLOUT, 3);
	say("write end: %s", wait_str(ep, 8, 0));
	ctl(ep, EPOLL_CTL_DEL, a[1], 0, 0);
	say("nothing: %s", wait_str(ep, 8, 0));
	put(b[1], "x");
	put(a[1], "y");
	say("b then a: %s", wait_str(ep, 8, 0));
	say("again (level): %s", wait_str(ep, 8, 0));
	say("one at a time: %s", wait_str(ep, 1, 0));
	say("then: %s", wait_str(ep, 1, 0));
	say("then: %s", wait_str(ep, 1, 0));
	drain(a[0]);
	say("a drained: %s", wait_str(ep, 8, 0));
	close(b[1]);
	say("b hung up: %s", wait_str(ep, 8, 0));
	ctl(ep, EPOLL_CTL_MOD, b[0], EPOLLIN | EPOLLRDHUP, 7);
	say("rdhup asked: %s", wait_str(ep, 8, 0));
	ctl(ep, EPOLL_CTL_MOD, b[0], 0, 8);
	say("no events asked: %s", wait_str(ep, 8, 0));
	close(a[0]);
	say("a's read end closed: %s", wait_str(ep, 8, 0));
	/* poll on the epoll itself. */
	struct pollfd pfd = {ep, POLLIN, 0};
	int n = poll(&pfd, 1, 0);
	say("poll epoll: %d %s", n, ev(pfd.revents));
	return 0;
}

static int case_epoll_edge(void)
{
	int ep = epoll_create1(0);
	int p[2];
	pipe(p);
	ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN | EPOLLET, 1);
	say("empty: %s", wait_str(ep, 8, 0));
	put(p[1], "a");
	say("first write: %s", wait_str(ep, 8, 0));
	say("no new write: %s", wait_str(ep, 8, 0));
	put(p[1], "b");
	say("second write: %s", wait_str(ep, 8, 0));
	say("none: %s", wait_str(ep, 8, 0));
	ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN | EPOLLET, 2);
	say("after mod: %s", wait_str(ep, 8, 0));
	drain(p[0]);
	put(p[1], "c");
	drain(p[0]);
	say("written and drained: %s", wait_str(ep, 8, 0));
	/* Edge-triggered on an eventfd, added while ready. */
	int efd = eventfd(3, EFD_NONBLOCK);
	ctl(ep, EPOLL_CTL_ADD, efd, EPOLLIN | EPOLLOUT | EPOLLET, 9);
	say("eventfd at add: %s", wait_str(ep, 8, 0));
	say("eventfd again: %s", wait_str(ep, 8, 0));
	uint64_t v = 1;
	write(efd, &v, 8);
	say("eventfd written: %s", wait_str(ep, 8, 0));
	/* One-shot: reported once, then disabled until MOD. */
	int q[2];
	pipe(q);
	ctl(ep, EPOLL_CTL_ADD, q[0], EPOLLIN | EPOLLONESHOT, 4);
	put(q[1], "x");
	say("oneshot: %s", wait_str(ep, 8, 0));
	put(q[1], "y");
	say("oneshot disabled: %s", wait_str(ep, 8, 0));
	say("oneshot add again: %s", err(ctl(ep, EPOLL_CTL_ADD, q[0], EPOLLIN, 4)));
	ctl(ep, EPOLL_CTL_MOD, q[0], EPOLLIN | EPOLLONESHOT, 5);
	say("oneshot rearmed: %s", wait_str(ep, 8, 0));
	say("oneshot disabled: %s", wait_str(ep, 8, 0));
	return 0;
}

static int case_epoll_files(void)
{
	/* The interest list is keyed by (fd, open file description). */
	int ep = epoll_create1(0);
	int p[2];
	pipe(p);
	put(p[1], "x");
	int d = dup(p[0]);
	ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 1);
	say("add the dup too: %s", err(ctl(ep, EPOLL_CTL_ADD, d, EPOLLIN, 2)));
	say("both: %s", wait_str(ep, 8, 0));
	close(p[0]);
	say("first fd closed, dup open: %s", wait_str(ep, 8, 0));
	say("del closed fd: %s", err(ctl(ep, EPOLL_CTL_DEL, p[0], 0, 0)));
	int n = dup2(d, p[0]);
	say("del fd reused for the same file: %s", err(ctl(ep, EPOLL_CTL_DEL, n, 0, 0)));
	close(n);
	close(d);
	say("every fd closed: %s", wait_str(ep, 8, 0));
	int q[2];
	pipe(q);
	put(q[1], "y");
	say("new file on the old fd: %s", err(ctl(ep, EPOLL_CTL_ADD, q[0], EPOLLIN, 3)));
	say("only it: %s", wait_str(ep, 8, 0));
	return 0;
}

static int case_epoll_fork(void)
{
	/* fork shares the epoll: the child's changes are the parent's. */
	int ep = epoll_create1(0);
	int p[2], q[2];
	pipe(p);
	pipe(q);
	ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 1);
	pid_t c = fork();
	if (c == 0) {
		ctl(ep, EPOLL_CTL_ADD, q[0], EPOLLIN, 2);
		sleep_ms(50);
		put(p[1], "x");
		_exit(0);
	}
	say("parent waits: %s", wait_str(ep, 8, 5000));
	waitpid(c, NULL, 0);
	put(q[1], "y");
	say("child's item: %s", wait_str(ep, 8, 0));
	/* A pidfd says when a process ends. */
	c = fork();
	if (c == 0) {
		sleep_ms(50);
		_exit(3);
	}
	int pfd = syscall(SYS_pidfd_open, c, 0);
	ctl(ep, EPOLL_CTL_ADD, pfd, EPOLLIN, 9);
	drain(p[0]);
	drain(q[0]);
	say("pidfd: %s", wait_str(ep, 8, 5000));
	waitpid(c, NULL, 0);
	say("reaped: %s", wait_str(ep, 8, 0));
	/* Two children wait on one shared epoll; a write wakes them. */
	int r[2];
	pipe(r);
	int ep2 = epoll_create1(0);
	ctl(ep2, EPOLL_CTL_ADD, r[0], EPOLLIN, 4);
	for (int i = 0; i < 2; i++)
		if (fork() == 0) {
			struct epoll_event e;
			int n = epoll_wait(ep2, &e, 1, 5000);
			say("child saw %d", n);
			_exit(0);
		}
	sleep_ms(50);
	put(r[1], "z");
	while (wait(NULL) > 0)
		;
	return 0;
}

static int case_epoll_nested(void)
{
	int outer = epoll_create1(0), inner = epoll_create1(0);
	int p[2];
	pipe(p);
	ctl(inner, EPOLL_CTL_ADD, p[0], EPOLLIN, 1);
	say("add inner: %s", err(ctl(outer, EPOLL_CTL_ADD, inner, EPOLLIN, 2)));
	say("loop: %s", err(ctl(inner, EPOLL_CTL_ADD, outer, EPOLLIN, 3)));
	say("outer empty: %s", wait_str(outer, 8, 0));
	put(p[1], "x");
	say("outer: %s", wait_str(outer, 8, 0));
	say("inner: %s", wait_str(inner, 8, 0));
	drain(p[0]);
	say("drained: %s", wait_str(outer, 8, 0));
	/* A chain as deep as Linux allows, then one more. */
	int chain[7];
	chain[0] = epoll_create1(0);
	for (int i = 1; i < 7; i++) {
		chain[i] = epoll_create1(0);
		say("nest %d: %s", i, err(ctl(chain[i], EPOLL_CTL_ADD, chain[i - 1], EPOLLIN, i)));
	}
	/* A waiter on the outer epoll wakes when the pipe in the inner one
	 * gets data. */
	pid_t c = fork();
	if (c == 0) {
		sleep_ms(50);
		put(p[1], "y");
		_exit(0);
	}
	say("outer waits: %s", wait_str(outer, 8, 5000));
	waitpid(c, NULL, 0);
	return 0;
}

static void on_usr1(int sig)
{
	(void)sig;
}

static int case_epoll_signals(void)
{
	int ep = epoll_create1(0);
	struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = SA_RESTART};
	sigaction(SIGUSR1, &sa, NULL);
	pid_t parent = getpid();
	pid_t c = fork();
	if (c == 0) {
		sleep_ms(50);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	say("wait interrupted (SA_RESTART): %s", wait_str(ep, 8, 5000));
	waitpid(c, NULL, 0);
	/* epoll_pwait's mask: USR1 blocked outside, let through inside. */
	sigset_t block, empty;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigemptyset(&empty);
	sigprocmask(SIG_BLOCK, &block, NULL);
	kill(getpid(), SIGUSR1);
	struct epoll_event e;
	say("pwait with it unblocked: %s", err(epoll_pwait(ep, &e, 1, 1000, &empty)));
	kill(getpid(), SIGUSR1);
	say("pwait with timeout 0: %s", err(epoll_pwait(ep, &e, 1, 0, &empty)));
	sigset_t pending;
	sigpending(&pending);
	say("still pending: %s", sigismember(&pending, SIGUSR1) ? "yes" : "no");
	say("pwait, still blocked: %s", err(epoll_pwait(ep, &e, 1, 20, &block)));
	sigprocmask(SIG_UNBLOCK, &block, NULL);
	return 0;
}

static struct itimerspec its(long value_ms, long interval_ms)
{
	struct itimerspec t = {
		.it_value = {value_ms / 1000, (value_ms % 1000) * 1000000L},
		.it_interval = {interval_ms / 1000, (interval_ms % 1000) * 1000000L},
	};
	return t;
}

/* read(2) of a timerfd: the count, or the errno. */
static const char *ticks(int fd)
{
	static char buf[4][32];
	static int slot;
	char *b = buf[slot++ % 4];
	uint64_t n;
	if (read(fd, &n, sizeof n) < 0)
		snprintf(b, 32, "%s", strerrorname_np(errno));
	else
		snprintf(b, 32, "%llu", (unsigned long long)n);
	return b;
}

static int case_timerfd_errors(void)
{
	say("bad clock: %s", err(timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0)));
	say("clock 99: %s", err(timerfd_create(99, 0)));
	say("bad flags: %s", err(timerfd_create(CLOCK_MONOTONIC, 1)));
	int alarm = timerfd_create(CLOCK_BOOTTIME_ALARM, 0);
	say("alarm clock: %s", getuid() == 0 ? err(alarm) : (alarm < 0 && errno == EPERM ? "ok" : "?"));
	say("realtime: %s", err(timerfd_create(CLOCK_REALTIME, 0)));
	say("boottime: %s", err(timerfd_create(CLOCK_BOOTTIME, 0)));
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	say("nonblock: %s, cloexec: %s", fcntl(fd, F_GETFL) & O_NONBLOCK ? "yes" : "no",
	    fcntl(fd, F_GETFD) & FD_CLOEXEC ? "yes" : "no");
	struct itimerspec t = its(1000, 0), cur;
	int p[2];
	pipe(p);
	say("settime bad fd: %s", err(timerfd_settime(99, 0, &t, NULL)));
	say("settime not timerfd: %s", err(timerfd_settime(p[0], 0, &t, NULL)));
	say("settime bad flags: %s", err(timerfd_settime(fd, 4, &t, NULL)));
	struct itimerspec bad = its(1000, 0);
	bad.it_value.tv_nsec = 1000000000L;
	say("settime bad nsec: %s", err(timerfd_settime(fd, 0, &bad, NULL)));
	bad = its(1000, 0);
	bad.it_interval.tv_sec = -1;
	say("settime negative interval: %s", err(timerfd_settime(fd, 0, &bad, NULL)));
	say("settime null: %s", err(timerfd_settime(fd, 0, NULL, NULL)));
	say("settime bad old: %s", err(timerfd_settime(fd, 0, &t, (void *)8)));
	say("gettime bad fd: %s", err(timerfd_gettime(99, &cur)));
	say("gettime not timerfd: %s", err(timerfd_gettime(p[0], &cur)));
	say("gettime null: %s", err(timerfd_gettime(fd, NULL)));
	int fresh = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	timerfd_gettime(fresh, &cur);
	say("disarmed: %ld %ld", (long)cur.it_value.tv_sec, (long)cur.it_value.tv_nsec);
	say("read disarmed: %s", ticks(fresh));
	char small[4];
	say("read 4 bytes: %s", err(read(fresh, small, 4)));
	uint64_t v = 1;
	say("write: %s", err(write(fresh, &v, 8)));
	say("lseek: %ld", (long)lseek(fresh, 10, SEEK_SET));
	struct itimerspec iv = its(0, 500);
	timerfd_settime(fresh, 0, &iv, NULL);
	timerfd_gettime(fresh, &cur);
	say("zero value keeps its interval: %ld.%03ld, armed %s", (long)cur.it_interval.tv_sec,
	    cur.it_interval.tv_nsec / 1000000, cur.it_value.tv_sec || cur.it_value.tv_nsec ? "yes" : "no");
	say("cancel on set, relative: %s", err(timerfd_settime(fresh, TFD_TIMER_CANCEL_ON_SET, &t, NULL)));
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fresh);
	char link[64] = "";
	readlink(path, link, sizeof link - 1);
	say("link: %s", link);
	return 0;
}

static int case_timerfd_oneshot(void)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, 0);
	struct itimerspec t = its(50, 0), cur;
	timerfd_settime(fd, 0, &t, NULL);
	struct pollfd pfd = {fd, POLLIN, 0};
	say("poll before: %d", poll(&pfd, 1, 0));
	timerfd_gettime(fd, &cur);
	long left = cur.it_value.tv_sec * 1000 + cur.it_value.tv_nsec / 1000000;
	say("time left within 50ms: %s", left > 0 && left <= 50 ? "yes" : "no");
	fcntl(fd, F_SETFL, O_NONBLOCK);
	say("nonblocking read before: %s", ticks(fd));
	fcntl(fd, F_SETFL, 0);
	say("blocking read: %s", ticks(fd));
	timerfd_gettime(fd, &cur);
	say("after: %ld %ld", (long)cur.it_value.tv_sec, (long)cur.it_value.tv_nsec);
	say("poll after read: %d", poll(&pfd, 1, 0));
	/* Expired, not read: readable, and re-arming drops the count. */
	t = its(1, 0);
	timerfd_settime(fd, 0, &t, NULL);
	sleep_ms(20);
	say("poll expired: %d", poll(&pfd, 1, 0));
	t = its(10000, 0);
	struct itimerspec old;
	timerfd_settime(fd, 0, &t, &old);
	say("old value: %ld %ld", (long)old.it_value.tv_sec, (long)old.it_value.tv_nsec);
	say("poll re-armed: %d", poll(&pfd, 1, 0));
	t = its(0, 0);
	timerfd_settime(fd, 0, &t, &old);
	say("old value within 10s: %s", old.it_value.tv_sec == 9 || (old.it_value.tv_sec == 10 && old.it_value.tv_nsec == 0) ? "yes" : "no");
	return 0;
}

static int case_timerfd_interval(void)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, 0);
	struct itimerspec t = its(20, 20), cur;
	timerfd_settime(fd, 0, &t, NULL);
	sleep_ms(110);
	uint64_t n = 0;
	read(fd, &n, 8);
	say("after 110ms, at least 5: %s", n >= 5 ? "yes" : "no");
	read(fd, &n, 8);
	say("next read: at least 1: %s", n >= 1 ? "yes" : "no");
	timerfd_gettime(fd, &cur);
	say("interval: %ld.%03ld", (long)cur.it_interval.tv_sec, cur.it_interval.tv_nsec / 1000000);
	long left = cur.it_value.tv_sec * 1000 + cur.it_value.tv_nsec / 1000000;
	say("left within the interval: %s", left >= 0 && left <= 20 ? "yes" : "no");
	/* gettime counts what expired: a read then has all of it. */
	sleep_ms(70);
	timerfd_gettime(fd, &cur);
	read(fd, &n, 8);
	say("after 70ms, at least 3: %s", n >= 3 ? "yes" : "no");
	/* Forked: the child reads the same timer. */
	pid_t c = fork();
	if (c == 0) {
		uint64_t m = 0;
		read(fd, &m, 8);
		say("child read: at least 1: %s", m >= 1 ? "yes" : "no");
		_exit(0);
	}
	waitpid(c, NULL, 0);
	return 0;
}

static int case_timerfd_abstime(void)
{
	struct timespec now;
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	clock_gettime(CLOCK_MONOTONIC, &now);
	/* 100ms ago (a fresh boot's monotonic clock may be younger than a
	 * second). */
	sleep_ms(120);
	clock_gettime(CLOCK_MONOTONIC, &now);
	long ago = now.tv_sec * 1000000000L + now.tv_nsec - 100000000L;
	struct itimerspec t = {.it_value = {ago / 1000000000L, ago % 1000000000L}};
	timerfd_settime(fd, TFD_TIMER_ABSTIME, &t, NULL);
	say("monotonic, in the past: %s", ticks(fd));
	t.it_interval.tv_nsec = 10000000;
	timerfd_settime(fd, TFD_TIMER_ABSTIME, &t, NULL);
	uint64_t n = 0;
	read(fd, &n, 8);
	say("100ms ago every 10ms: %s", n >= 10 && n <= 13 ? "about 11" : "?");
	int rt = timerfd_create(CLOCK_REALTIME, 0);
	clock_gettime(CLOCK_REALTIME, &now);
	struct itimerspec r = {.it_value = now};
	r.it_value.tv_nsec += 50000000;
	if (r.it_value.tv_nsec >= 1000000000) {
		r.it_value.tv_sec++;
		r.it_value.tv_nsec -= 1000000000;
	}
	say("realtime abs, cancel on set: %s",
	    err(timerfd_settime(rt, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &r, NULL)));
	say("realtime read: %s", ticks(rt));
	int bt = timerfd_create(CLOCK_BOOTTIME, 0);
	clock_gettime(CLOCK_BOOTTIME, &now);
	struct itimerspec b = {.it_value = now};
	b.it_value.tv_sec += 1000;
	timerfd_settime(bt, TFD_TIMER_ABSTIME, &b, NULL);
	struct itimerspec cur;
	timerfd_gettime(bt, &cur);
	say("boottime left: %s", cur.it_value.tv_sec >= 998 && cur.it_value.tv_sec <= 1000 ? "about 1000s" : "?");
	return 0;
}

static int case_timerfd_epoll(void)
{
	int ep = epoll_create1(0);
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	struct itimerspec t = its(30, 30);
	timerfd_settime(fd, 0, &t, NULL);
	ctl(ep, EPOLL_CTL_ADD, fd, EPOLLIN | EPOLLET, 1);
	say("first: %s", wait_str(ep, 8, 5000));
	sleep_ms(100);
	say("not read, edge: %s", wait_str(ep, 8, 0));
	say("read: %s", strcmp(ticks(fd), "3") >= 0 ? "some" : "?");
	say("after read: %s", wait_str(ep, 8, 5000));
	ctl(ep, EPOLL_CTL_MOD, fd, EPOLLIN, 2);
	say("level: %s", wait_str(ep, 8, 0));
	say("level again: %s", wait_str(ep, 8, 0));
	ticks(fd);
	t = its(0, 0);
	timerfd_settime(fd, 0, &t, NULL);
	say("disarmed: %s", wait_str(ep, 8, 50));
	/* Through poll and select too. */
	t = its(30, 0);
	timerfd_settime(fd, 0, &t, NULL);
	struct pollfd pfd = {fd, POLLIN, 0};
	say("poll: %d", poll(&pfd, 1, 5000));
	return 0;
}

/* A signal's name; real-time ones by their offset from SIGRTMIN. */
static const char *signame(uint32_t sig)
{
	static char buf[4][16];
	static int slot;
	char *b = buf[slot++ % 4];
	if ((int)sig >= SIGRTMIN)
		snprintf(b, 16, "RTMIN+%d", (int)sig - SIGRTMIN);
	else
		snprintf(b, 16, "%s", sigabbrev_np(sig));
	return b;
}

/* One signalfd read: the records' signals and codes, or the errno. */
static const char *records(int fd, size_t len)
{
	static char b[256];
	struct signalfd_siginfo si[4];
	ssize_t n = read(fd, si, len);
	if (n < 0) {
		snprintf(b, sizeof b, "%s", strerrorname_np(errno));
		return b;
	}
	int off = snprintf(b, sizeof b, "%zd bytes", n);
	for (int i = 0; i < n / (int)sizeof si[0] && off < 200; i++)
		off += snprintf(b + off, sizeof b - off, " %s/%d", signame(si[i].ssi_signo),
				si[i].ssi_code);
	return b;
}

static sigset_t sigs(int a, int b)
{
	sigset_t s;
	sigemptyset(&s);
	if (a)
		sigaddset(&s, a);
	if (b)
		sigaddset(&s, b);
	return s;
}

static int case_signalfd_basic(void)
{
	sigset_t both = sigs(SIGUSR1, SIGUSR2), usr1 = sigs(SIGUSR1, 0), usr2 = sigs(SIGUSR2, 0);
	sigprocmask(SIG_BLOCK, &both, NULL);
	say("bad size: %s", err(syscall(SYS_signalfd4, -1, &usr1, 4, 0)));
	say("bad flags: %s", err(signalfd(-1, &usr1, 1)));
	say("null mask: %s", err(syscall(SYS_signalfd4, -1, NULL, 8, 0)));
	int p[2];
	pipe(p);
	say("not a signalfd: %s", err(signalfd(p[0], &usr1, 0)));
	say("bad fd: %s", err(signalfd(99, &usr1, 0)));
	say("fd -2: %s", err(signalfd(-2, &usr1, 0)));
	int fd = signalfd(-1, &usr1, SFD_NONBLOCK | SFD_CLOEXEC);
	say("nonblock: %s, cloexec: %s", fcntl(fd, F_GETFL) & O_NONBLOCK ? "yes" : "no",
	    fcntl(fd, F_GETFD) & FD_CLOEXEC ? "yes" : "no");
	say("nothing pending: %s", records(fd, 128));
	struct pollfd pfd = {fd, POLLIN, 0};
	kill(getpid(), SIGUSR2);
	say("USR2 pending, poll: %d", poll(&pfd, 1, 0));
	kill(getpid(), SIGUSR1);
	int n = poll(&pfd, 1, 0);
	say("USR1 pending, poll: %d %s", n, ev(pfd.revents));
	say("small buffer: %s", records(fd, 100));
	struct signalfd_siginfo si;
	read(fd, &si, sizeof si);
	say("read: %s code %d, pid mine %s, uid mine %s", sigabbrev_np(si.ssi_signo), si.ssi_code,
	    si.ssi_pid == (uint32_t)getpid() ? "yes" : "no", si.ssi_uid == getuid() ? "yes" : "no");
	say("then: %s", records(fd, 128));
	say("new mask, same fd: %s", signalfd(fd, &usr2, 0) == fd ? "yes" : "no");
	say("USR2: %s", records(fd, 128));
	union sigval v = {.sival_int = 42};
	sigqueue(getpid(), SIGUSR2, v);
	read(fd, &si, sizeof si);
	say("queued: %s code %d int %d", sigabbrev_np(si.ssi_signo), si.ssi_code, si.ssi_int);
	/* Several records in one read, lowest signal first. */
	sigset_t all = sigs(SIGUSR1, SIGUSR2);
	sigaddset(&all, SIGRTMIN);
	sigaddset(&all, SIGKILL);
	sigprocmask(SIG_BLOCK, &all, NULL);
	signalfd(fd, &all, 0);
	kill(getpid(), SIGRTMIN);
	kill(getpid(), SIGUSR2);
	kill(getpid(), SIGRTMIN);
	kill(getpid(), SIGUSR1);
	say("four at once: %s", records(fd, sizeof(struct signalfd_siginfo) * 4));
	say("none left: %s", records(fd, 128));
	/* A pending signal outside the mask stays pending. */
	signalfd(fd, &usr1, 0);
	kill(getpid(), SIGUSR2);
	say("outside the mask: %s", records(fd, 128));
	sigset_t pending;
	sigpending(&pending);
	say("USR2 still pending: %s", sigismember(&pending, SIGUSR2) ? "yes" : "no");
	say("write: %s", err(write(fd, &si, sizeof si)));
	char path[64], link[64] = "";
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	readlink(path, link, sizeof link - 1);
	say("link: %s", link);
	return 0;
}

static int case_signalfd_wait(void)
{
	sigset_t set = sigs(SIGUSR1, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int fd = signalfd(-1, &set, 0);
	pid_t parent = getpid();
	/* A blocking read waits for a signal from another process. */
	pid_t c = fork();
	if (c == 0) {
		sleep_ms(50);
		kill(parent, SIGUSR1);
		_exit(7);
	}
	struct signalfd_siginfo si;
	read(fd, &si, sizeof si);
	say("blocking read: %s from the child %s", sigabbrev_np(si.ssi_signo),
	    si.ssi_pid == (uint32_t)c ? "yes" : "no");
	read(fd, &si, sizeof si);
	say("then: %s code %d status %d, child %s", sigabbrev_np(si.ssi_signo), si.ssi_code,
	    si.ssi_status, si.ssi_pid == (uint32_t)c ? "yes" : "no");
	waitpid(c, NULL, 0);
	/* epoll wakes when one arrives. */
	int ep = epoll_create1(0);
	ctl(ep, EPOLL_CTL_ADD, fd, EPOLLIN, 3);
	say("epoll, none: %s", wait_str(ep, 8, 0));
	c = fork();
	if (c == 0) {
		sleep_ms(50);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	say("epoll waits: %s", wait_str(ep, 8, 5000));
	say("read: %s", records(fd, 128));
	waitpid(c, NULL, 0);
	say("SIGCHLD: %s", records(fd, 128));
	say("epoll, none: %s", wait_str(ep, 8, 0));
	/* A forked child reads its own signals through the same file. */
	kill(getpid(), SIGUSR1);
	c = fork();
	if (c == 0) {
		fcntl(fd, F_SETFL, O_NONBLOCK);
		say("child, parent's pending: %s", records(fd, 128));
		raise(SIGUSR1);
		say("child, its own: %s", records(fd, 128));
		_exit(0);
	}
	waitpid(c, NULL, 0);
	say("parent's: %s", records(fd, 128));
	/* A POSIX timer's signal. */
	sigset_t rt = sigs(SIGRTMIN, 0);
	sigprocmask(SIG_BLOCK, &rt, NULL);
	int tfd = signalfd(-1, &rt, 0);
	struct sigevent sev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN};
	sev.sigev_value.sival_int = 77;
	timer_t timer;
	timer_create(CLOCK_MONOTONIC, &sev, &timer);
	struct itimerspec t = its(20, 0);
	timer_settime(timer, 0, &t, NULL);
	read(tfd, &si, sizeof si);
	say("timer: %s code %d int %d overrun %u", signame(si.ssi_signo), si.ssi_code, si.ssi_int,
	    si.ssi_overrun);
	return 0;
}

static int case_memfd(void)
{
	say("bad flags: %s", err(memfd_create("x", 0x100)));
	say("exec and noexec: %s", err(memfd_create("x", MFD_EXEC | MFD_NOEXEC_SEAL)));
	say("bad name: %s", err(syscall(SYS_memfd_create, (void *)8, 0)));
	char longname[300];
	memset(longname, 'a', sizeof longname);
	longname[249] = 0;
	int ok = memfd_create(longname, 0);
	say("249-byte name: %s", err(ok));
	longname[249] = 'a';
	longname[250] = 0;
	say("250-byte name: %s", err(memfd_create(longname, 0)));
	close(ok);
	int fd = memfd_create("probe", MFD_CLOEXEC);
	say("cloexec: %s, access: %s", fcntl(fd, F_GETFD) & FD_CLOEXEC ? "yes" : "no",
	    (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR ? "rdwr" : "?");
	struct stat st;
	fstat(fd, &st);
	say("mode %o, nlink %lu, size %ld, mine %s", st.st_mode, (unsigned long)st.st_nlink,
	    (long)st.st_size, st.st_uid == geteuid() ? "yes" : "no");
	char path[64], link[300] = "";
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	readlink(path, link, sizeof link - 1);
	say("link: %s", link);
	put(fd, "hello, memfd");
	say("lseek end: %ld", (long)lseek(fd, 0, SEEK_END));
	char buf[32] = "";
	say("pread: %zd %.12s", pread(fd, buf, sizeof buf, 0), buf);
	say("ftruncate 100: %s", err(ftruncate(fd, 100)));
	fstat(fd, &st);
	say("size %ld", (long)st.st_size);
	/* Reopened through /proc: the same file. */
	int again = open(path, O_RDONLY);
	memset(buf, 0, sizeof buf);
	read(again, buf, 5);
	say("reopened: %s", buf);
	say("no sealing: get %d, add %s", fcntl(fd, F_GET_SEALS), err(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE)));
	int p[2];
	pipe(p);
	say("seals of a pipe: %s", err(fcntl(p[0], F_GET_SEALS)));
	say("seal a pipe: read end %s, write end %s", err(fcntl(p[0], F_ADD_SEALS, F_SEAL_SEAL)),
	    err(fcntl(p[1], F_ADD_SEALS, F_SEAL_SEAL)));
	int status = open("/proc/self/status", O_RDONLY);
	say("seals of a proc file: %s, add %s", err(fcntl(status, F_GET_SEALS)),
	    err(fcntl(status, F_ADD_SEALS, F_SEAL_SEAL)));
	/* Shared across fork through a mapping. */
	char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	pid_t c = fork();
	if (c == 0) {
		memcpy(m, "child!", 6);
		_exit(0);
	}
	waitpid(c, NULL, 0);
	memset(buf, 0, sizeof buf);
	pread(fd, buf, 12, 0);
	say("after the child wrote the mapping: %.12s", buf);
	return 0;
}

static int case_memfd_seals(void)
{
	int fd = memfd_create("sealed", MFD_ALLOW_SEALING);
	say("seals: %d", fcntl(fd, F_GET_SEALS));
	ftruncate(fd, 8192);
	say("bad seal: %s", err(fcntl(fd, F_ADD_SEALS, 0x40)));
	say("shrink: %s", err(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK)));
	say("ftruncate smaller: %s", err(ftruncate(fd, 4096)));
	say("ftruncate larger: %s", err(ftruncate(fd, 12288)));
	say("grow: %s", err(fcntl(fd, F_ADD_SEALS, F_SEAL_GROW)));
	say("ftruncate larger: %s", err(ftruncate(fd, 16384)));
	say("ftruncate same: %s", err(ftruncate(fd, 12288)));
	say("write inside: %s", err(pwrite(fd, "abc", 3, 100)));
	say("write across the end: %zd", pwrite(fd, "abc", 3, 12287));
	say("write past the end: %s", err(pwrite(fd, "abc", 3, 12288)));
	say("write across a page boundary to the end: %zd", pwrite(fd, "abc", 3, 8191));
	/* A shared writable mapping keeps F_SEAL_WRITE away. */
	char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	say("write seal while mapped: %s", err(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE)));
	munmap(m, 4096);
	char *ro = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	say("write seal, mapped read-only by an O_RDWR fd: %s", err(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE)));
	munmap(ro, 4096);
	char *priv = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	say("write seal, mapped private: %s", err(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE)));
	say("seals: %#x", fcntl(fd, F_GET_SEALS));
	priv[0] = 'p';
	say("private copy written: %c", priv[0]);
	say("write: %s", err(pwrite(fd, "abc", 3, 0)));
	say("shared writable map: %s", mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED ? strerrorname_np(errno) : "ok");
	char *r = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	say("shared read-only map: %s", r == MAP_FAILED ? strerrorname_np(errno) : "ok");
	say("mprotect it writable: %s", err(mprotect(r, 4096, PROT_READ | PROT_WRITE)));
	say("seal: %s", err(fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL)));
	say("then shrink: %s", err(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK)));
	say("then nothing: %s", err(fcntl(fd, F_ADD_SEALS, 0)));
	/* Read-only fds cannot add seals. */
	int fd2 = memfd_create("ro", MFD_ALLOW_SEALING);
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd2);
	int rdonly = open(path, O_RDONLY);
	say("add from a read-only fd: %s", err(fcntl(rdonly, F_ADD_SEALS, F_SEAL_GROW)));
	say("get from it: %d", fcntl(rdonly, F_GET_SEALS));
	/* Future writes: existing mappings still write, new ones cannot. */
	char *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd2, 0);
	ftruncate(fd2, 4096);
	say("future write: %s", err(fcntl(fd2, F_ADD_SEALS, F_SEAL_FUTURE_WRITE)));
	w[0] = 'w';
	char c = 0;
	pread(fd2, &c, 1, 0);
	say("old mapping wrote: %c", c);
	say("write: %s", err(pwrite(fd2, "x", 1, 0)));
	say("new shared writable map: %s", mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd2, 0) == MAP_FAILED ? strerrorname_np(errno) : "ok");
	/* MFD_NOEXEC_SEAL: not executable, sealed so. */
	int nx = memfd_create("nx", MFD_NOEXEC_SEAL);
	struct stat st;
	fstat(nx, &st);
	say("noexec: mode %o seals %#x", st.st_mode, fcntl(nx, F_GET_SEALS));
	int ex = memfd_create("ex", MFD_ALLOW_SEALING | MFD_EXEC);
	say("exec seal on an executable file: %s", err(fcntl(ex, F_ADD_SEALS, F_SEAL_EXEC)));
	say("seals: %#x", fcntl(ex, F_GET_SEALS));
	return 0;
}

/* epoll on stdin when it is a pipe (tests/events.rs writes "hello" to it
 * after a moment, then closes it): the host stream under cleave. The
 * waits have no timeout: in virtual time a finite one would end at once,
 * time jumping to its deadline while nothing runs. */
static int case_epoll_stdin(void)
{
	struct stat st;
	if (fstat(0, &st) != 0 || !S_ISFIFO(st.st_mode)) {
		say("stdin is not a pipe");
		return 0;
	}
	int ep = epoll_create1(0);
	say("add stdin: %s", err(ctl(ep, EPOLL_CTL_ADD, 0, EPOLLIN, 7)));
	struct epoll_event e;
	int n = epoll_wait(ep, &e, 1, -1);
	say("first wait: %d %s", n, n == 1 && (e.events & EPOLLIN) ? "IN" : "-");
	char buf[64];
	size_t got = 0;
	ssize_t r;
	while ((r = read(0, buf + got, sizeof buf - 1 - got)) > 0)
		got += r;
	buf[got] = 0;
	say("read: %s", buf);
	say("at end: %s", wait_str(ep, 8, -1));
	return 0;
}

int main(int argc, char **argv)
{
	static const struct guest_case cases[] = {
		{"epoll_ctl", case_epoll_ctl},
		{"epoll_wait_errors", case_epoll_wait_errors},
		{"epoll_level", case_epoll_level},
		{"epoll_edge", case_epoll_edge},
		{"epoll_files", case_epoll_files},
		{"epoll_fork", case_epoll_fork},
		{"epoll_nested", case_epoll_nested},
		{"epoll_signals", case_epoll_signals},
		{"epoll_stdin", case_epoll_stdin},
		{"timerfd_errors", case_timerfd_errors},
		{"timerfd_oneshot", case_timerfd_oneshot},
		{"timerfd_interval", case_timerfd_interval},
		{"timerfd_abstime", case_timerfd_abstime},
		{"timerfd_epoll", case_timerfd_epoll},
		{"signalfd_basic", case_signalfd_basic},
		{"signalfd_wait", case_signalfd_wait},
		{"memfd", case_memfd},
		{"memfd_seals", case_memfd_seals},
	};
	return run_case("eventtest", cases, sizeof cases / sizeof cases[0], argc, argv);
}

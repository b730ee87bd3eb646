/*
 * acct CASE: accounting, priorities and CPU-time limits (getrusage, wait4's
 * rusage, times, getpriority/setpriority, the sched_* calls, ITIMER_VIRTUAL
 * and ITIMER_PROF, RLIMIT_CPU), compared with the same source run natively
 * (tests/guest.rs). Output is facts that hold on any Linux: errno names,
 * relations between counters, never times or counts themselves.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest.h"

static const char *res(long r)
{
	return r < 0 ? strerrorname_np(errno) : "ok";
}

static double secs(struct timeval tv)
{
	return tv.tv_sec + tv.tv_usec / 1e6;
}

/* Spins for about `n` million iterations of user code. */
static volatile uint64_t sink;
static void spin(long n)
{
	for (long i = 0; i < n * 1000000L; i++)
		sink += i;
}

/* Spins until the process's user time reaches `s` seconds. */
static void spin_cpu(double s)
{
	struct rusage ru;
	do {
		spin(1);
		getrusage(RUSAGE_SELF, &ru);
	} while (secs(ru.ru_utime) < s);
}

/* A child of the current process that gives up root, if it is root (a
 * nobody may not do what root may, natively and under cleave alike). */
static void drop_root(void)
{
	if (getuid() == 0 && setresuid(65534, 65534, 65534) != 0)
		say("setresuid failed");
}

static void *spin_thread(void *arg)
{
	(void)arg;
	struct rusage ru;
	do {
		spin(1);
		getrusage(RUSAGE_THREAD, &ru);
	} while (secs(ru.ru_utime) < 0.05);
	static double t;
	t = secs(ru.ru_utime);
	return &t;
}

/* getrusage: user time from instructions, system time from system calls,
 * minor faults from touched pages, voluntary switches from sleeps, the
 * peak resident size; RUSAGE_THREAD is one thread's share. */
static int rusage_self(void)
{
	struct rusage a, b;
	getrusage(RUSAGE_SELF, &a);
	spin_cpu(secs(a.ru_utime) + 0.05);
	/* System time is sampled on Linux: call until some is seen. */
	struct rusage k;
	long calls = 0;
	do {
		for (int i = 0; i < 10000; i++, calls++)
			getppid();
		getrusage(RUSAGE_SELF, &k);
	} while (secs(k.ru_stime) == 0 && calls < 100000000);
	size_t len = 8 << 20;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (size_t off = 0; off < len; off += 4096)
		p[off] = 1;
	for (int i = 0; i < 3; i++)
		sleep_ms(5);
	getrusage(RUSAGE_SELF, &b);
	say("utime grew: %s", yesno(secs(b.ru_utime) > secs(a.ru_utime)));
	say("stime positive: %s", yesno(secs(b.ru_stime) > 0));
	say("minflt grew by at least 2048: %s", yesno(b.ru_minflt - a.ru_minflt >= 2048));
	say("majflt: %ld", b.ru_majflt - a.ru_majflt);
	say("nvcsw grew by at least 3: %s", yesno(b.ru_nvcsw - a.ru_nvcsw >= 3));
	say("maxrss at least 8 MiB: %s", yesno(b.ru_maxrss >= 8192));
	say("usec below a million: %s",
	    yesno(b.ru_utime.tv_usec < 1000000 && b.ru_stime.tv_usec < 1000000));
	munmap(p, len);
	getrusage(RUSAGE_SELF, &a);
	say("maxrss stays after munmap: %s", yesno(a.ru_maxrss >= 8192));

	pthread_t t;
	void *ret;
	pthread_create(&t, NULL, spin_thread, NULL);
	pthread_join(t, &ret);
	struct rusage me;
	getrusage(RUSAGE_THREAD, &me);
	getrusage(RUSAGE_SELF, &b);
	double thread = *(double *)ret;
	say("the process's utime covers the thread's: %s", yesno(secs(b.ru_utime) >= thread));
	say("this thread's utime is less than the process's: %s",
	    yesno(secs(me.ru_utime) < secs(b.ru_utime)));

	say("getrusage(2): %s", res(getrusage(2, &a)));
	say("getrusage(-2): %s", res(getrusage(-2, &a)));
	say("getrusage(bad pointer): %s", res(syscall(SYS_getrusage, RUSAGE_SELF, (void *)8)));
	return 0;
}

/* RUSAGE_CHILDREN counts reaped children only; wait4 reports the child's
 * own usage; times() agrees. */
static int rusage_children(void)
{
	struct rusage c;
	getrusage(RUSAGE_CHILDREN, &c);
	say("children's utime before: %s", yesno(secs(c.ru_utime) == 0));
	pid_t pid = fork();
	if (pid == 0) {
		size_t len = 16 << 20;
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		for (size_t off = 0; off < len; off += 4096)
			p[off] = 1;
		spin_cpu(0.1);
		_exit(0);
	}
	siginfo_t si;
	waitid(P_PID, pid, &si, WEXITED | WNOWAIT);
	getrusage(RUSAGE_CHILDREN, &c);
	say("not counted until reaped: %s", yesno(secs(c.ru_utime) == 0));
	struct rusage w;
	int st;
	say("wait4: %s", res(wait4(pid, &st, 0, &w)));
	say("wait4's utime at least 0.1 s: %s", yesno(secs(w.ru_utime) >= 0.1));
	say("wait4's maxrss at least 16 MiB: %s", yesno(w.ru_maxrss >= 16384));
	say("wait4's minflt at least 4096: %s", yesno(w.ru_minflt >= 4096));
	getrusage(RUSAGE_CHILDREN, &c);
	say("children's utime is the child's: %s", yesno(secs(c.ru_utime) == secs(w.ru_utime)));
	say("children's maxrss at least 16 MiB: %s", yesno(c.ru_maxrss >= 16384));
	struct tms t;
	clock_t now = times(&t);
	say("times: %s", now == (clock_t)-1 ? "failed" : "ok");
	say("tms_cutime at least 10 ticks: %s", yesno(t.tms_cutime >= 10));
	say("tms_utime below tms_cutime: %s", yesno(t.tms_utime < t.tms_cutime));
	say("times(NULL): %s", yesno(times(NULL) != (clock_t)-1));

	/* A grandchild reaped by the child counts in the child's children,
	 * which wait4 reports and RUSAGE_CHILDREN adds. */
	pid = fork();
	if (pid == 0) {
		pid_t g = fork();
		if (g == 0) {
			spin_cpu(0.05);
			_exit(0);
		}
		waitpid(g, NULL, 0);
		_exit(0);
	}
	say("wait4: %s", res(wait4(pid, &st, 0, &w)));
	say("grandchild's time in wait4's: %s", yesno(secs(w.ru_utime) >= 0.05));
	return 0;
}

/* getpriority/setpriority and nice: values, inheritance, errors, and who
 * may lower a nice value. */
static int nice_values(void)
{
	errno = 0;
	say("getpriority: %d %s", getpriority(PRIO_PROCESS, 0), strerrorname_np(errno));
	say("raw getpriority: %ld", syscall(SYS_getpriority, PRIO_PROCESS, 0));
	say("nice(5): %d", nice(5));
	say("raw getpriority: %ld", syscall(SYS_getpriority, PRIO_PROCESS, 0));
	say("setpriority 100: %s", res(setpriority(PRIO_PROCESS, 0, 100)));
	say("getpriority: %d", getpriority(PRIO_PROCESS, 0));
	say("setpriority 5: %s", res(setpriority(PRIO_PROCESS, 0, 5)));
	setpgid(0, 0);
	say("PRIO_PGRP: %d", getpriority(PRIO_PGRP, 0));
	say("setpriority(PRIO_PROCESS, -1): %s", res(setpriority(PRIO_PROCESS, -1, 0)));
	say("getpriority(PRIO_PROCESS, 999999): %s", res(getpriority(PRIO_PROCESS, 999999)));
	say("getpriority(3, 0): %s", res(getpriority(3, 0)));
	pid_t pid = fork();
	if (pid == 0) {
		say("child inherits: %d", getpriority(PRIO_PROCESS, 0));
		/* Without privilege: up is allowed, down only as far as
		 * RLIMIT_NICE allows, which is 0 (none). */
		pid_t parent = getppid();
		drop_root();
		say("nobody raises nice: %s", res(setpriority(PRIO_PROCESS, 0, 10)));
		say("nobody lowers to 0: %s", res(setpriority(PRIO_PROCESS, 0, 0)));
		say("nobody sets 10 again: %s", res(setpriority(PRIO_PROCESS, 0, 10)));
		say("now: %d", getpriority(PRIO_PROCESS, 0));
		say("another user's process: %s", res(setpriority(PRIO_PROCESS, parent, 5)));
		say("PRIO_USER of nobody: %d", getpriority(PRIO_USER, 65534));
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	return 0;
}

/* Two busy processes on one CPU: the one at nice 10 gets far less CPU
 * time than the one at nice 0 (weights 110 and 1024). */
static int nice_weights(void)
{
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	sched_setaffinity(0, sizeof one, &one);
	pid_t kids[2];
	for (int i = 0; i < 2; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			setpriority(PRIO_PROCESS, 0, i ? 10 : 0);
			for (;;)
				spin(1);
		}
	}
	sleep_ms(400);
	double t[2];
	for (int i = 0; i < 2; i++) {
		kill(kids[i], SIGKILL);
		struct rusage ru;
		wait4(kids[i], NULL, 0, &ru);
		t[i] = secs(ru.ru_utime) + secs(ru.ru_stime);
	}
	say("nice 0 got more than 3 times nice 10's CPU time: %s", yesno(t[0] > 3 * t[1]));
	say("nice 10 still ran: %s", yesno(t[1] > 0));
	return 0;
}

/* The sched_* calls: policies set and read back, Linux's errnos, and
 * what an unprivileged caller may not do. */
static int sched_calls(void)
{
	struct sched_param p = {0};
	say("getscheduler: %d", sched_getscheduler(0));
	say("SCHED_BATCH: %s", res(sched_setscheduler(0, SCHED_BATCH, &p)));
	say("getscheduler: %d", sched_getscheduler(0));
	say("SCHED_IDLE: %s", res(sched_setscheduler(0, SCHED_IDLE, &p)));
	say("getscheduler: %d", sched_getscheduler(0));
	say("SCHED_OTHER: %s", res(sched_setscheduler(0, SCHED_OTHER, &p)));
	p.sched_priority = 5;
	say("SCHED_OTHER priority 5: %s", res(sched_setscheduler(0, SCHED_OTHER, &p)));
	p.sched_priority = 0;
	say("SCHED_FIFO priority 0: %s", res(sched_setscheduler(0, SCHED_FIFO, &p)));
	p.sched_priority = 100;
	say("SCHED_RR priority 100: %s", res(sched_setscheduler(0, SCHED_RR, &p)));
	p.sched_priority = 0;
	say("policy 4: %s", res(sched_setscheduler(0, 4, &p)));
	say("SCHED_DEADLINE: %s", res(sched_setscheduler(0, 6, &p)));
	say("policy -1: %s", res(syscall(SYS_sched_setscheduler, 0, -1, &p)));
	say("pid -1: %s", res(sched_setscheduler(-1, SCHED_OTHER, &p)));
	say("no such pid: %s", res(sched_setscheduler(999999, SCHED_OTHER, &p)));
	say("NULL param: %s", res(syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, NULL)));
	say("bad param: %s", res(syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, (void *)8)));
	say("setparam 0: %s", res(sched_setparam(0, &p)));
	p.sched_priority = 3;
	say("setparam 3: %s", res(sched_setparam(0, &p)));
	const char *r = res(sched_getparam(0, &p));
	say("getparam: %s %d", r, p.sched_priority);
	say("getparam(-1): %s", res(sched_getparam(-1, &p)));
	say("getscheduler(-1): %s", res(sched_getscheduler(-1)));
	say("getscheduler(999999): %s", res(sched_getscheduler(999999)));
	struct timespec ts;
	say("rr_get_interval: %s", res(sched_rr_get_interval(0, &ts)));
	say("rr_get_interval(-1): %s", res(sched_rr_get_interval(-1, &ts)));
	say("rr_get_interval(999999): %s", res(sched_rr_get_interval(999999, &ts)));
	say("rr_get_interval(bad): %s", res(syscall(SYS_sched_rr_get_interval, 0, (void *)8)));
	cpu_set_t set;
	say("getaffinity(-1): %s", res(sched_getaffinity(-1, sizeof set, &set)));
	say("setaffinity(-1): %s", res(sched_setaffinity(-1, sizeof set, &set)));
	pid_t pid = fork();
	if (pid == 0) {
		drop_root();
		p.sched_priority = 1;
		say("nobody SCHED_FIFO: %s", res(sched_setscheduler(0, SCHED_FIFO, &p)));
		p.sched_priority = 0;
		say("nobody SCHED_IDLE: %s", res(sched_setscheduler(0, SCHED_IDLE, &p)));
		say("nobody back to SCHED_OTHER: %s", res(sched_setscheduler(0, SCHED_OTHER, &p)));
		say("nobody on init: %s", res(sched_setscheduler(1, SCHED_BATCH, &p)));
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	return 0;
}

static volatile sig_atomic_t vtalrm, prof, xcpu, xfsz;
static void on_signal(int sig)
{
	if (sig == SIGVTALRM)
		vtalrm++;
	else if (sig == SIGPROF)
		prof++;
	else if (sig == SIGXCPU)
		xcpu++;
	else if (sig == SIGXFSZ)
		xfsz++;
}

/* ITIMER_VIRTUAL and ITIMER_PROF run on CPU time: a sleeper's never
 * fires, a spinner's does, and a periodic one fires again. */
static int itimers(void)
{
	signal(SIGVTALRM, on_signal);
	signal(SIGPROF, on_signal);
	/* A sleep costs little CPU time, though more than nothing. */
	struct itimerval slow = {{0, 0}, {0, 500000}}, old;
	say("ITIMER_VIRTUAL: %s", res(setitimer(ITIMER_VIRTUAL, &slow, NULL)));
	say("ITIMER_PROF: %s", res(setitimer(ITIMER_PROF, &slow, NULL)));
	sleep_ms(100);
	say("not while sleeping: %s", yesno(vtalrm == 0 && prof == 0));
	struct itimerval v = {{0, 20000}, {0, 20000}};
	setitimer(ITIMER_VIRTUAL, &v, NULL);
	setitimer(ITIMER_PROF, &v, NULL);
	while (vtalrm < 3 || prof < 3)
		spin(1);
	say("both fired three times: yes");
	getitimer(ITIMER_VIRTUAL, &old);
	say("interval kept: %ld", (long)old.it_interval.tv_usec);
	say("left at most the interval: %s",
	    yesno(old.it_value.tv_sec == 0 && old.it_value.tv_usec <= 20000));
	struct itimerval off = {{0, 0}, {0, 0}};
	say("disarm: %s", res(setitimer(ITIMER_VIRTUAL, &off, &old)));
	say("old value was armed: %s", yesno(old.it_value.tv_usec > 0 || old.it_value.tv_sec > 0));
	getitimer(ITIMER_VIRTUAL, &old);
	say("now disarmed: %s", yesno(old.it_value.tv_sec == 0 && old.it_value.tv_usec == 0));
	setitimer(ITIMER_PROF, &off, NULL);
	say("setitimer(3): %s", res(setitimer(3, &v, NULL)));
	say("getitimer(3): %s", res(getitimer(3, &old)));
	/* Not inherited by a child. */
	setitimer(ITIMER_PROF, &v, NULL);
	pid_t pid = fork();
	if (pid == 0) {
		getitimer(ITIMER_PROF, &old);
		say("child's ITIMER_PROF: %ld", (long)old.it_value.tv_usec);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	setitimer(ITIMER_PROF, &off, NULL);
	return 0;
}

/* RLIMIT_CPU: SIGXCPU at the soft limit, the soft limit a second further
 * each time, SIGKILL at the hard limit; SIGXCPU's default kills. */
static int rlimit_cpu(void)
{
	volatile long *shared = shared_page();
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGXCPU, on_signal);
		struct rlimit rl = {1, 2};
		setrlimit(RLIMIT_CPU, &rl);
		for (;;) {
			spin(1);
			if (xcpu && !shared[0]) {
				getrlimit(RLIMIT_CPU, &rl);
				shared[0] = 1;
				shared[1] = rl.rlim_cur;
			}
		}
	}
	int st;
	waitpid(pid, &st, 0);
	say("killed by SIGKILL: %s", yesno(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL));
	say("SIGXCPU came first: %s", yesno(shared[0] == 1));
	say("soft limit raised to: %ld", shared[1]);
	pid = fork();
	if (pid == 0) {
		struct rlimit rl = {1, 5}, core = {0, 0};
		setrlimit(RLIMIT_CORE, &core);
		setrlimit(RLIMIT_CPU, &rl);
		for (;;)
			spin(1);
	}
	waitpid(pid, &st, 0);
	say("default action: %s", WIFSIGNALED(st) ? strsignal(WTERMSIG(st)) : "exit");
	return 0;
}

/* RLIMIT_FSIZE: a write is cut short at the limit, one at or past it is
 * EFBIG with SIGXFSZ, as is a truncate that grows a file past it;
 * SIGXFSZ's default kills. */
static int rlimit_fsize(void)
{
	enter_scratch();
	signal(SIGXFSZ, on_signal);
	struct rlimit rl = {10000, 10000};
	say("setrlimit: %s", res(setrlimit(RLIMIT_FSIZE, &rl)));
	static char buf[20000];
	long r;
	int fd = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
	say("write 20000: %zd", write(fd, buf, sizeof buf));
	r = write(fd, buf, 10);
	say("write at the limit: %s, SIGXFSZ %d", res(r), xfsz);
	say("pwrite 20 at 9990: %zd", pwrite(fd, buf, 20, 9990));
	r = pwrite(fd, buf, 1, 20000);
	say("pwrite at 20000: %s, SIGXFSZ %d", res(r), xfsz);
	r = ftruncate(fd, 20000);
	say("ftruncate 20000: %s, SIGXFSZ %d", res(r), xfsz);
	say("ftruncate 5000: %s", res(ftruncate(fd, 5000)));
	say("truncate 10000: %s", res(truncate("f", 10000)));
	r = truncate("f", 10001);
	say("truncate 10001: %s, SIGXFSZ %d", res(r), xfsz);
	struct stat st;
	fstat(fd, &st);
	say("size: %ld", (long)st.st_size);
	close(fd);
	pid_t pid = fork();
	if (pid == 0) {
		struct rlimit core = {0, 0};
		setrlimit(RLIMIT_CORE, &core);
		signal(SIGXFSZ, SIG_DFL);
		fd = open("f", O_WRONLY | O_APPEND);
		write(fd, buf, 1);
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	say("default action: %s", WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "exit");
	leave_scratch();
	return 0;
}

static const struct guest_case cases[] = {
	{"rusage_self", rusage_self},
	{"rusage_children", rusage_children},
	{"nice_values", nice_values},
	{"nice_weights", nice_weights},
	{"sched_calls", sched_calls},
	{"itimers", itimers},
	{"rlimit_cpu", rlimit_cpu},
	{"rlimit_fsize", rlimit_fsize},
};

int main(int argc, char **argv)
{
	return run_case("acct", cases, sizeof cases / sizeof cases[0], argc, argv);
}

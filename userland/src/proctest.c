/*
 * Process and thread semantics, one case per argument: `proctest CASE`.
 *
 * tests/guest.rs compiles this same source for the host and runs it
 * natively; Linux's output is the reference, and cleave's must match it
 * byte for byte, exit status included. So every line is a deterministic
 * fact: relations ("differs: yes"), values, orders, errno names and decoded
 * wait statuses; never a raw pid, tid, address or time.
 *
 * Output goes through say(): one write(2) per line, no stdio buffer that a
 * fork could duplicate or an _exit could lose.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/sched.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest.h"

extern char **environ;

static const char *self; /* argv[0]: exec'ing it runs this program again */

/* An address nothing is mapped at, hidden from the compiler's checks. */
static volatile uintptr_t bad_addr = 16;
#define BAD ((void *)bad_addr)

static const char *errname(int e)
{
	static const struct {
		int e;
		const char *name;
	} t[] = {
		{0, "0"},		{EPERM, "EPERM"},   {ENOENT, "ENOENT"},
		{ESRCH, "ESRCH"},	{EINTR, "EINTR"},   {EIO, "EIO"},
		{E2BIG, "E2BIG"},	{ENOEXEC, "ENOEXEC"}, {EBADF, "EBADF"},
		{ECHILD, "ECHILD"},	{EAGAIN, "EAGAIN"}, {ENOMEM, "ENOMEM"},
		{EACCES, "EACCES"},	{EFAULT, "EFAULT"}, {EBUSY, "EBUSY"},
		{EEXIST, "EEXIST"},	{ENOTDIR, "ENOTDIR"}, {EISDIR, "EISDIR"},
		{EINVAL, "EINVAL"},	{EMFILE, "EMFILE"}, {ENOSYS, "ENOSYS"},
		{ELOOP, "ELOOP"},	{ENAMETOOLONG, "ENAMETOOLONG"},
		{EOPNOTSUPP, "EOPNOTSUPP"},
	};
	static char other[32];
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (t[i].e == e)
			return t[i].name;
	snprintf(other, sizeof other, "errno %d", e);
	return other;
}

static const char *signame(int s)
{
	static const char *t[] = {
		[SIGHUP] = "SIGHUP",   [SIGINT] = "SIGINT",   [SIGQUIT] = "SIGQUIT",
		[SIGILL] = "SIGILL",   [SIGTRAP] = "SIGTRAP", [SIGABRT] = "SIGABRT",
		[SIGBUS] = "SIGBUS",   [SIGFPE] = "SIGFPE",   [SIGKILL] = "SIGKILL",
		[SIGUSR1] = "SIGUSR1", [SIGSEGV] = "SIGSEGV", [SIGUSR2] = "SIGUSR2",
		[SIGPIPE] = "SIGPIPE", [SIGALRM] = "SIGALRM", [SIGTERM] = "SIGTERM",
		[SIGCHLD] = "SIGCHLD", [SIGCONT] = "SIGCONT", [SIGSTOP] = "SIGSTOP",
	};
	static char other[32];
	if (s > 0 && s < (int)(sizeof t / sizeof t[0]) && t[s])
		return t[s];
	snprintf(other, sizeof other, "signal %d", s);
	return other;
}

/* A wait status in words: "exited 3", "killed by SIGSEGV". */
static const char *status_str(int st)
{
	static char buf[64];
	if (WIFEXITED(st))
		snprintf(buf, sizeof buf, "exited %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, sizeof buf, "killed by %s", signame(WTERMSIG(st)));
	else if (WIFSTOPPED(st))
		snprintf(buf, sizeof buf, "stopped by %s", signame(WSTOPSIG(st)));
	else
		snprintf(buf, sizeof buf, "status %#x", st);
	return buf;
}

/* The result of a call that returns -1 and sets errno: "ok" or the name. */
static const char *res(long r)
{
	return r == -1 ? errname(errno) : "ok";
}

/* Waits for pid and returns its decoded status. */
static const char *reap(pid_t pid)
{
	int st = 0;
	pid_t r;
	do
		r = waitpid(pid, &st, __WALL);
	while (r == -1 && errno == EINTR);
	if (r == -1) {
		static char buf[64];
		snprintf(buf, sizeof buf, "waitpid failed: %s", errname(errno));
		return buf;
	}
	if (r != pid)
		return "waitpid returned another pid";
	return status_str(st);
}

/* Polls *flag until it is nonzero, for at most ms milliseconds. */
static int wait_flag(volatile long *flag, long ms)
{
	for (long i = 0; i < ms && !*flag; i++)
		sleep_ms(1);
	return *flag != 0;
}

/* ---- fork ---------------------------------------------------------------- */

static int case_fork_basic(void)
{
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == -1) {
		say("fork: %s", errname(errno));
		return 1;
	}
	if (pid == 0) {
		say("child: getpid differs from the parent's: %s", yesno(getpid() != parent));
		say("child: getppid is the parent: %s", yesno(getppid() == parent));
		say("child: gettid equals getpid: %s", yesno(syscall(SYS_gettid) == getpid()));
		_exit(0);
	}
	int st;
	pid_t r = waitpid(pid, &st, 0);
	say("parent: fork returned a positive pid: %s", yesno(pid > 0));
	say("parent: waitpid returned that pid: %s", yesno(r == pid));
	say("parent: child %s", status_str(st));
	say("parent: getpid unchanged: %s", yesno(getpid() == parent));
	return 0;
}

static volatile int cow_value = 1;

static int case_fork_cow(void)
{
	const size_t size = 8 << 20;
	unsigned char *big = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (big == MAP_FAILED) {
		say("mmap: %s", errname(errno));
		return 1;
	}
	for (size_t i = 0; i < size; i++)
		big[i] = (unsigned char)(i * 7 + (i >> 12));
	int on_stack = 10;
	pid_t pid = fork();
	if (pid == 0) {
		cow_value = 2;
		on_stack = 20;
		/* Modify the first MiB and every 16th page after it. */
		for (size_t i = 0; i < (1 << 20); i++)
			big[i] ^= 0xff;
		for (size_t i = 1 << 20; i < size; i += 16 * 4096)
			big[i] = 0xaa;
		size_t bad = 0;
		for (size_t i = 0; i < size; i++) {
			unsigned char want = (unsigned char)(i * 7 + (i >> 12));
			if (i < (1 << 20))
				want ^= 0xff;
			else if ((i - (1 << 20)) % (16 * 4096) == 0)
				want = 0xaa;
			bad += big[i] != want;
		}
		say("child: global %d, stack %d", cow_value, on_stack);
		say("child: big buffer shows the child's writes only: %s", yesno(bad == 0));
		_exit(bad != 0);
	}
	cow_value = 3;
	on_stack = 30;
	const char *st = reap(pid);
	size_t bad = 0;
	for (size_t i = 0; i < size; i++)
		bad += big[i] != (unsigned char)(i * 7 + (i >> 12));
	say("parent: global %d, stack %d", cow_value, on_stack);
	say("parent: big buffer unchanged: %s", yesno(bad == 0));
	say("parent: child %s", st);
	/* The parent writes after the child is gone: its pages are its own. */
	big[0] = 1;
	say("parent: write after the child exited works: %s", yesno(big[0] == 1));
	munmap(big, size);
	return 0;
}

static int case_fork_many(void)
{
	/* 100 children alive at once, each exiting with its index. */
	pid_t pids[100];
	for (int i = 0; i < 100; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			_exit(i);
		if (pids[i] == -1) {
			say("fork %d: %s", i, errname(errno));
			return 1;
		}
	}
	int distinct = 1, good = 0;
	for (int i = 0; i < 100; i++)
		for (int j = 0; j < i; j++)
			if (pids[i] == pids[j])
				distinct = 0;
	for (int i = 99; i >= 0; i--) {
		int st;
		if (waitpid(pids[i], &st, 0) == pids[i] && WIFEXITED(st) && WEXITSTATUS(st) == i)
			good++;
	}
	say("pids distinct: %s", yesno(distinct));
	say("children reaped with their own status: %d", good);
	say("then wait: %s", res(wait(NULL)));
	return 0;
}

/* ---- vfork --------------------------------------------------------------- */

static volatile int vf_var;
static volatile char vf_order[8];
static volatile int vf_n;

static int case_vfork_order(void)
{
	vf_var = 0;
	vf_n = 0;
	pid_t parent = getpid();
	pid_t pid = vfork();
	if (pid == 0) {
		/* The parent must not run until we _exit, however long we take. */
		struct timespec ts = {0, 30 * 1000000L};
		syscall(SYS_nanosleep, &ts, NULL);
		vf_order[vf_n++] = 'c';
		vf_var = (getppid() == parent) ? 42 : 41;
		_exit(7);
	}
	vf_order[vf_n++] = 'p';
	vf_order[vf_n] = 0;
	say("vfork returned a positive pid: %s", yesno(pid > 0));
	say("order: %s", (const char *)vf_order);
	say("parent sees the child's write: %d", vf_var);
	say("child %s", reap(pid));
	return 0;
}

static int case_vfork_exec(void)
{
	vf_var = 0;
	pid_t pid = vfork();
	if (pid == 0) {
		vf_var = 5;
		char *argv[] = {(char *)self, "helper", "exit", "9", NULL};
		execve(self, argv, environ);
		_exit(127);
	}
	say("parent resumed after the child's exec, sees its earlier write: %d", vf_var);
	say("child %s", reap(pid));
	/* A failed exec does not release the parent: the child's _exit does. */
	vf_var = 0;
	pid = vfork();
	if (pid == 0) {
		char *argv[] = {"nothing", NULL};
		execve("/nonexistent/nothing", argv, environ);
		vf_var = errno;
		_exit(3);
	}
	say("failed exec in the vfork child: %s", errname(vf_var));
	say("child %s", reap(pid));
	return 0;
}

/* ---- clone --------------------------------------------------------------- */

#define STACK_SIZE (256 * 1024)

static volatile int cl_var;
static volatile int cl_tid, cl_pid, cl_ctid_seen;

static int child_write(void *arg)
{
	(void)arg;
	cl_var = 99;
	return 0;
}

static pid_t do_clone(int (*fn)(void *), int flags, void *arg, pid_t *ptid, pid_t *ctid)
{
	static char *stacks[8];
	static int next;
	char *stack = stacks[next % 8];
	if (!stack)
		stack = stacks[next % 8] = malloc(STACK_SIZE);
	next++;
	return clone(fn, stack + STACK_SIZE, flags, arg, ptid, NULL, ctid);
}

static int case_clone_vm(void)
{
	cl_var = 1;
	pid_t pid = do_clone(child_write, CLONE_VM | SIGCHLD, NULL, NULL, NULL);
	say("CLONE_VM: %s", reap(pid));
	say("CLONE_VM: child's write visible: %s", yesno(cl_var == 99));
	cl_var = 1;
	pid = do_clone(child_write, SIGCHLD, NULL, NULL, NULL);
	say("no CLONE_VM: %s", reap(pid));
	say("no CLONE_VM: child's write visible: %s", yesno(cl_var == 99));
	/* Raw clone with no new stack and no CLONE_VM: like fork. */
	cl_var = 1;
	long r = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
	if (r == 0) {
		cl_var = 99;
		_exit(4);
	}
	say("raw clone(SIGCHLD): %s", reap(r));
	say("raw clone(SIGCHLD): child's write visible: %s", yesno(cl_var == 99));
	return 0;
}

static int child_close(void *arg)
{
	cl_var = dup(1);
	close(*(int *)arg);
	return 0;
}

static int case_clone_files(void)
{
	for (int share = 1; share >= 0; share--) {
		int fd = dup(1);
		cl_var = -1;
		pid_t pid = do_clone(child_close, CLONE_VM | SIGCHLD | (share ? CLONE_FILES : 0), &fd, NULL, NULL);
		const char *name = share ? "CLONE_FILES" : "no CLONE_FILES";
		say("%s: %s", name, reap(pid));
		say("%s: fd the child closed is closed here: %s", name, yesno(fcntl(fd, F_GETFD) == -1 && errno == EBADF));
		say("%s: fd the child opened is open here: %s", name, yesno(cl_var >= 0 && fcntl(cl_var, F_GETFD) != -1));
		if (cl_var >= 0)
			close(cl_var);
		close(fd);
	}
	return 0;
}

static int child_umask(void *arg)
{
	(void)arg;
	umask(077);
	return 0;
}

static int case_clone_fs(void)
{
	for (int share = 1; share >= 0; share--) {
		umask(022);
		pid_t pid = do_clone(child_umask, SIGCHLD | (share ? CLONE_FS : 0), NULL, NULL, NULL);
		const char *name = share ? "CLONE_FS" : "no CLONE_FS";
		say("%s: %s", name, reap(pid));
		say("%s: umask after the child set 077: %03o", name, (unsigned)umask(022));
	}
	return 0;
}

static void on_usr1(int s)
{
	(void)s;
}

static int child_sigign(void *arg)
{
	(void)arg;
	signal(SIGUSR1, SIG_IGN);
	return 0;
}

static int case_clone_sighand(void)
{
	for (int share = 1; share >= 0; share--) {
		signal(SIGUSR1, on_usr1);
		pid_t pid = do_clone(child_sigign, CLONE_VM | SIGCHLD | (share ? CLONE_SIGHAND : 0), NULL, NULL, NULL);
		const char *name = share ? "CLONE_SIGHAND" : "no CLONE_SIGHAND";
		say("%s: %s", name, reap(pid));
		struct sigaction sa;
		sigaction(SIGUSR1, NULL, &sa);
		say("%s: SIGUSR1 here: %s", name,
		    sa.sa_handler == SIG_IGN ? "ignored" : sa.sa_handler == on_usr1 ? "caught" : "other");
	}
	signal(SIGUSR1, SIG_DFL);
	return 0;
}

static pid_t th_ctid, th_ptid;

static int child_thread(void *arg)
{
	(void)arg;
	cl_pid = getpid();
	cl_tid = syscall(SYS_gettid);
	cl_ctid_seen = th_ctid;
	return 0;
}

static int case_clone_thread(void)
{
	int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
		    CLONE_PARENT_SETTID | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID;
	th_ctid = -1;
	th_ptid = -1;
	cl_tid = 0;
	pid_t tid = do_clone(child_thread, flags, NULL, &th_ptid, &th_ctid);
	if (tid == -1) {
		say("clone: %s", errname(errno));
		return 1;
	}
	/* CLONE_CHILD_CLEARTID: the kernel zeroes th_ctid when the thread is gone. */
	int cleared = 0;
	for (int i = 0; i < 10000 && !cleared; i++) {
		if (__atomic_load_n(&th_ctid, __ATOMIC_SEQ_CST) == 0)
			cleared = 1;
		else
			sleep_ms(1);
	}
	say("thread: same pid: %s", yesno(cl_pid == getpid()));
	say("thread: tid differs from the pid: %s", yesno(cl_tid != getpid() && cl_tid > 0));
	say("thread: clone returned its tid: %s", yesno(tid == cl_tid));
	say("thread: CLONE_PARENT_SETTID stored its tid: %s", yesno(th_ptid == cl_tid));
	say("thread: CLONE_CHILD_SETTID stored its tid before it ran: %s", yesno(cl_ctid_seen == cl_tid));
	say("thread: CLONE_CHILD_CLEARTID zeroed at exit: %s", yesno(cleared));
	errno = 0;
	say("thread: waitpid on it: %s", res(waitpid(tid, NULL, __WALL | WNOHANG)));
	return 0;
}

static int case_clone_parent(void)
{
	pid_t me = getpid();
	pid_t mid = fork();
	if (mid == 0) {
		/* Our sibling-to-be reports whether its parent is our parent. */
		long r = syscall(SYS_clone, CLONE_PARENT, 0, 0, 0, 0);
		if (r == 0)
			_exit(getppid() == me ? 20 : 21);
		_exit(r > 0 ? 10 : 11);
	}
	int codes[2] = {0, 0};
	for (int i = 0; i < 2; i++) {
		int st;
		pid_t r = waitpid(-1, &st, __WALL);
		codes[i] = r > 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	}
	if (codes[0] > codes[1]) {
		int t = codes[0];
		codes[0] = codes[1];
		codes[1] = t;
	}
	say("reaped both, exit codes %d and %d (10: middle, 20: the CLONE_PARENT child saw us as its parent)",
	    codes[0], codes[1]);
	say("then: %s", res(waitpid(-1, NULL, __WALL)));
	return 0;
}

static int case_clone_settid_fork(void)
{
	/* A fork-like raw clone: the TID stores land in each side's own memory. */
	static pid_t ptid, ctid;
	ptid = ctid = -1;
	long r;
#if defined(__x86_64__)
	r = syscall(SYS_clone, CLONE_PARENT_SETTID | CLONE_CHILD_SETTID | SIGCHLD, 0, &ptid, &ctid, 0);
#else
	r = syscall(SYS_clone, CLONE_PARENT_SETTID | CLONE_CHILD_SETTID | SIGCHLD, 0, &ptid, 0, &ctid);
#endif
	if (r == 0)
		_exit(ctid == getpid() ? 0 : 1);
	say("child %s (0: its child_tid held its pid)", reap(r));
	say("parent_tid holds the child's pid: %s", yesno(ptid == r));
	say("parent's child_tid untouched: %s", yesno(ctid == -1));
	return 0;
}

/* clone(2) with the kernel's argument order for this architecture. */
static long raw_clone(unsigned long flags, void *stack, pid_t *ptid, pid_t *ctid, unsigned long tls)
{
#if defined(__x86_64__)
	return syscall(SYS_clone, flags, stack, ptid, ctid, tls);
#else
	return syscall(SYS_clone, flags, stack, ptid, tls, ctid);
#endif
}

static void try_clone(const char *what, unsigned long flags)
{
	long r = raw_clone(flags, NULL, NULL, NULL, 0);
	if (r == 0)
		syscall(SYS_exit, 0);
	int e = errno;
	if (r > 0) {
		sleep_ms(20);
		waitpid(r, NULL, __WALL | WNOHANG);
	}
	say("clone(%s): %s", what, r == -1 ? errname(e) : "created");
}

struct clone_args_big {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
	    set_tid_size, cgroup;
	unsigned char tail[16];
};

static void try_clone3(const char *what, struct clone_args_big *a, size_t size)
{
	long r = syscall(SYS_clone3, a, size);
	if (r == 0)
		syscall(SYS_exit, 0);
	int e = errno;
	if (r > 0)
		reap(r);
	say("clone3(%s): %s", what, r == -1 ? errname(e) : "created");
}

static int case_clone_errors(void)
{
	try_clone("CLONE_THREAD", CLONE_THREAD);
	try_clone("CLONE_THREAD|CLONE_VM", CLONE_THREAD | CLONE_VM);
	try_clone("CLONE_SIGHAND", CLONE_SIGHAND);
	try_clone("CLONE_FS|CLONE_NEWNS", CLONE_FS | CLONE_NEWNS);
	try_clone("CLONE_NEWUSER|CLONE_FS", CLONE_NEWUSER | CLONE_FS);
	try_clone("CLONE_PIDFD|CLONE_PARENT_SETTID", CLONE_PIDFD | CLONE_PARENT_SETTID | SIGCHLD);

	struct clone_args_big a;
	memset(&a, 0, sizeof a);
	a.exit_signal = SIGCHLD;
	try_clone3("size 64", &a, 64);
	try_clone3("size 0", &a, 0);
	try_clone3("size 63", &a, 63);
	try_clone3("size 65, zero tail", &a, 65);
	try_clone3("size 88, zero tail", &a, 88);
	a.tail[0] = 1;
	try_clone3("size 89, nonzero tail", &a, 89);
	try_clone3("size 88+16, nonzero tail", &a, 88 + 16);
	a.tail[0] = 0;
	try_clone3("size 8192", &a, 8192);
	a.flags = 1ULL << 40;
	try_clone3("unknown flag bit 40", &a, 64);
	a.flags = SIGCHLD;
	try_clone3("signal in flags", &a, 64);
	a.flags = 0;
	a.exit_signal = 65;
	try_clone3("exit_signal 65", &a, 64);
	a.exit_signal = 0x100 | SIGCHLD;
	try_clone3("exit_signal 0x111", &a, 64);
	a.exit_signal = SIGCHLD;
	a.flags = CLONE_THREAD | CLONE_SIGHAND | CLONE_VM;
	try_clone3("CLONE_THREAD with an exit signal", &a, 64);
	a.flags = CLONE_SIGHAND | CLONE_CLEAR_SIGHAND | CLONE_VM;
	try_clone3("CLONE_SIGHAND|CLONE_CLEAR_SIGHAND", &a, 64);
	a.flags = 0;
	a.stack = 0;
	a.stack_size = 4096;
	try_clone3("stack_size without stack", &a, 64);
	a.stack = 4096;
	a.stack_size = 0;
	try_clone3("stack without stack_size", &a, 64);
	a.stack = 0;
	try_clone3("bad pointer", BAD, 64);
	return 0;
}

/* ---- exec ---------------------------------------------------------------- */

/* Runs `proctest helper ARGS...` in a forked child and prints its status. */
static void exec_helper(const char *what, char *const args[], char *const envp[])
{
	char *argv[16] = {(char *)self, "helper"};
	int n = 2;
	for (int i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	pid_t pid = fork();
	if (pid == 0) {
		execve(self, argv, envp ? envp : environ);
		say("%s: execve: %s", what, errname(errno));
		_exit(127);
	}
	say("%s: %s", what, reap(pid));
}

static int case_exec_basic(void)
{
	char pid_arg[32];
	pid_t pid = fork();
	if (pid == 0) {
		snprintf(pid_arg, sizeof pid_arg, "%d", (int)getpid());
		char *argv[] = {(char *)self, "helper", "pid", pid_arg, NULL};
		execve(self, argv, environ);
		_exit(127);
	}
	say("exec'd child: %s", reap(pid));
	char *args[] = {"argv", "one", "", "three four", NULL};
	char *envp[] = {"CLEAVE_A=1", "B=two words", "=odd", NULL};
	exec_helper("argv and env", args, envp);
	char *empty_env[] = {NULL};
	char *args2[] = {"argv", NULL};
	exec_helper("empty env", args2, empty_env);
	return 0;
}

static int case_exec_signals(void)
{
	signal(SIGUSR1, on_usr1);
	signal(SIGUSR2, SIG_IGN);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	char *args[] = {"signals", NULL};
	exec_helper("signals", args, NULL);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	signal(SIGUSR1, SIG_DFL);
	signal(SIGUSR2, SIG_DFL);
	return 0;
}

static int case_exec_cloexec(void)
{
	int keep = dup(1);
	int gone = fcntl(1, F_DUPFD_CLOEXEC, 0);
	char a[16], b[16];
	snprintf(a, sizeof a, "%d", keep);
	snprintf(b, sizeof b, "%d", gone);
	char *args[] = {"fds", a, b, NULL};
	exec_helper("cloexec", args, NULL);
	say("parent's cloexec fd still open: %s", yesno(fcntl(gone, F_GETFD) == FD_CLOEXEC));
	return 0;
}

static volatile int exec_canary = 1234;

static void exec_fails(const char *what, const char *path, char *const argv[])
{
	errno = 0;
	int r = execve(path, argv, environ);
	int e = errno;
	say("%s: returned %d, %s; still here, canary %d", what, r, errname(e), exec_canary);
}

static int case_exec_fail(void)
{
	pid_t me = getpid();
	char *argv[] = {"x", NULL};
	exec_fails("ENOENT", "/nonexistent/program", argv);
	exec_fails("empty path", "", argv);
	exec_fails("bad path pointer", BAD, argv);
	exec_fails("bad argv pointer", self, BAD);
	char *bad_elem[] = {"x", BAD, NULL};
	exec_fails("bad argv element", self, bad_elem);

	/* One string longer than MAX_ARG_STRLEN (32 pages). */
	size_t len = 200 * 1024;
	char *big = malloc(len + 1);
	memset(big, 'a', len);
	big[len] = 0;
	char *one[] = {(char *)self, big, NULL};
	exec_fails("one 200 KiB argument", self, one);
	/*
	 * 80 strings of 100 KiB: 8 MiB, more than Linux allows whatever the
	 * stack limit (a quarter of it, and never more than 6 MiB).
	 */
	big[100 * 1024] = 0;
	char *many[82];
	many[0] = (char *)self;
	for (int i = 1; i <= 80; i++)
		many[i] = big;
	many[81] = NULL;
	exec_fails("80 arguments of 100 KiB", self, many);
	free(big);
	say("pid unchanged after the failures: %s", yesno(getpid() == me));
	return 0;
}

static int case_exec_fail_files(void)
{
	char *argv[] = {"x", NULL};
	exec_fails("a directory", "/tmp", argv);
	exec_fails("ENOTDIR", "/dev/null/x", argv);
	char path[64];
	snprintf(path, sizeof path, "/tmp/proctest-%d", (int)getpid());
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (fd < 0) {
		say("open: %s", errname(errno));
		return 1;
	}
	if (write(fd, "\x01\x02garbage, neither ELF nor script\n", 34) != 34)
		say("write failed");
	close(fd);
	exec_fails("not executable", path, argv);
	chmod(path, 0755);
	exec_fails("garbage", path, argv);
	fd = open(path, O_WRONLY | O_TRUNC);
	if (write(fd, "#!/nonexistent/interpreter\n", 27) != 27)
		say("write failed");
	close(fd);
	exec_fails("script with a missing interpreter", path, argv);
	unlink(path);
	return 0;
}

/* ---- exit and wait ------------------------------------------------------- */

static int case_exit_codes(void)
{
	int good = 0, first_bad = -1;
	for (int code = 0; code < 256; code++) {
		pid_t pid = fork();
		if (pid == 0)
			_exit(code);
		int st;
		if (waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == code)
			good++;
		else if (first_bad < 0)
			first_bad = code;
	}
	say("codes 0..255 seen by waitpid: %d good, first bad %d", good, first_bad);
	static const int odd[] = {256, 257, -1, 1000};
	for (int i = 0; i < 4; i++) {
		pid_t pid = fork();
		if (pid == 0)
			_exit(odd[i]);
		say("_exit(%d): %s", odd[i], reap(pid));
	}
	pid_t pid = fork();
	if (pid == 0)
		syscall(SYS_exit, 33);
	say("exit syscall of the only thread: %s", reap(pid));
	pid = fork();
	if (pid == 0)
		exit(34);
	say("exit(34) from main: %s", reap(pid));
	pid = fork();
	if (pid == 0) {
		errno = 0;
		return 35;
	}
	say("return 35 from main: %s", reap(pid));
	return 0;
}

static int case_signal_deaths(void)
{
	static const char *how[] = {"NULL write", "abort()", "kill(getpid(), SIGKILL)", "raise(SIGTERM)",
				    "raise(SIGUSR1)"};
	for (int i = 0; i < 5; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			/* No core files on the host from this test. */
			struct rlimit rl = {0, 0};
			setrlimit(RLIMIT_CORE, &rl);
			switch (i) {
			case 0:
				*(volatile int *)0 = 1;
				break;
			case 1:
				abort();
			case 2:
				kill(getpid(), SIGKILL);
				break;
			case 3:
				raise(SIGTERM);
				break;
			case 4:
				raise(SIGUSR1);
				break;
			}
			_exit(100);
		}
		say("%s: %s", how[i], reap(pid));
	}
	return 0;
}

/*
 * However a process dies, its files close at once: a child writing to a
 * pipe (its stdout) dies of a signal while its parent is blocked reading
 * the pipe; the read sees end-of-file and the status names the signal.
 */
static int case_signal_deaths_pipe(void)
{
	static const char *how[] = {"raise(SIGTERM)", "kill(getpid(), SIGKILL)", "raise(SIGINT)",
				    "NULL write", "abort()", "SIGTERM from a sibling"};
	for (int i = 0; i < 6; i++) {
		int p[2];
		pipe(p);
		pid_t pid = fork();
		if (pid == 0) {
			struct rlimit rl = {0, 0};
			setrlimit(RLIMIT_CORE, &rl);
			dup2(p[1], 1);
			close(p[0]);
			close(p[1]);
			say("hello from the child");
			/* Dies while the parent waits in read. */
			sleep_ms(30);
			switch (i) {
			case 0:
				raise(SIGTERM);
				break;
			case 1:
				kill(getpid(), SIGKILL);
				break;
			case 2:
				raise(SIGINT);
				break;
			case 3:
				*(volatile int *)BAD = 1;
				break;
			case 4:
				abort();
			case 5:
				for (;;)
					pause();
			}
			_exit(100);
		}
		close(p[1]);
		pid_t killer = -1;
		if (i == 5) {
			killer = fork();
			if (killer == 0) {
				sleep_ms(60);
				kill(pid, SIGTERM);
				_exit(0);
			}
		}
		char buf[256];
		long total = 0, n;
		while ((n = read(p[0], buf, sizeof buf)) > 0)
			total += n;
		const char *end = n == 0 ? "EOF" : errname(errno);
		close(p[0]);
		say("%s: read %ld bytes then %s; %s", how[i], total, end, reap(pid));
		if (killer > 0)
			reap(killer);
	}
	return 0;
}

static void *block_in_futex(void *arg)
{
	static int word;
	(void)arg;
	syscall(SYS_futex, &word, FUTEX_WAIT, 0, NULL, NULL, 0);
	return NULL;
}

/*
 * SIGKILL ends a child blocked in any wait, and the child's files close:
 * it holds the write end of a pipe, which the parent reads to EOF after
 * the kill. Its own child, blocked reading a pipe only it writes, sees
 * EOF too and exits.
 */
static int case_kill_blocked(void)
{
	static const char *where[] = {"pipe read", "futex wait", "wait4", "nanosleep", "poll",
				      "pthread_join on a futex-blocked thread"};
	for (int i = 0; i < 6; i++) {
		int out[2], ready[2];
		pipe(out);
		pipe(ready);
		pid_t pid = fork();
		if (pid == 0) {
			close(out[0]);
			close(ready[0]);
			int mine[2];
			pipe(mine);
			pid_t grandchild = -1;
			if (i == 2) {
				grandchild = fork();
				if (grandchild == 0) {
					/* Reads until the child's end closes. */
					char c;
					close(mine[1]);
					close(out[1]);
					close(ready[1]);
					while (read(mine[0], &c, 1) > 0)
						;
					_exit(0);
				}
			}
			write(ready[1], "r", 1);
			static int word;
			struct timespec long_time = {1000, 0};
			struct pollfd pfd = {.fd = mine[0], .events = POLLIN};
			pthread_t t;
			char c;
			switch (i) {
			case 0:
				read(mine[0], &c, 1);
				break;
			case 1:
				syscall(SYS_futex, &word, FUTEX_WAIT, 0, NULL, NULL, 0);
				break;
			case 2:
				waitpid(grandchild, NULL, 0);
				break;
			case 3:
				nanosleep(&long_time, NULL);
				break;
			case 4:
				poll(&pfd, 1, -1);
				break;
			case 5:
				pthread_create(&t, NULL, block_in_futex, NULL);
				pthread_join(t, NULL);
				break;
			}
			_exit(100);
		}
		close(out[1]);
		close(ready[1]);
		char c;
		read(ready[0], &c, 1);
		close(ready[0]);
		/* Let it block (if it has not, SIGKILL ends it all the same). */
		sleep_ms(20);
		kill(pid, SIGKILL);
		long n = read(out[0], &c, 1);
		close(out[0]);
		say("SIGKILL in %s: its pipe then %s; %s", where[i], n == 0 ? "EOF" : "not EOF",
		    reap(pid));
	}
	return 0;
}

/*
 * execve from a thread that is not the leader: every other thread ends
 * (one blocked in a futex, one in a pipe read, the leader in
 * pthread_join) and the caller takes the process's pid. The threads
 * shared one fd table, which the new image keeps: the pipe the old image
 * made is still open.
 */
static int exec_thread_pipe[2];
static void *exec_from_thread(void *arg)
{
	(void)arg;
	char pid[16], fd[16];
	snprintf(pid, sizeof pid, "%d", (int)getpid());
	snprintf(fd, sizeof fd, "%d", exec_thread_pipe[1]);
	sleep_ms(20);
	char *argv[] = {(char *)self, "helper", "exec_thread", pid, fd, NULL};
	execve(self, argv, environ);
	say("execve from a thread failed: %s", errname(errno));
	_exit(1);
}

static void *block_in_read(void *arg)
{
	char c;
	read(*(int *)arg, &c, 1);
	return NULL;
}

static int case_exec_from_thread(void)
{
	int out[2];
	pipe(out);
	pid_t pid = fork();
	if (pid == 0) {
		close(out[0]);
		dup2(out[1], 1);
		close(out[1]);
		pipe(exec_thread_pipe);
		int idle[2];
		pipe(idle);
		pthread_t a, b, c;
		pthread_create(&a, NULL, block_in_futex, NULL);
		pthread_create(&b, NULL, block_in_read, &idle[0]);
		pthread_create(&c, NULL, exec_from_thread, NULL);
		pthread_join(c, NULL);
		_exit(100);
	}
	close(out[1]);
	char buf[512];
	long total = 0, n;
	while ((n = read(out[0], buf + total, sizeof buf - 1 - total)) > 0)
		total += n;
	buf[total] = 0;
	close(out[0]);
	/* The helper's lines, as it printed them. */
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
		say("%s", line);
	say("execve from a non-leader thread: %s", reap(pid));
	return 0;
}

/*
 * A vfork child killed by a signal releases its parent: by its own signal
 * first, then by SIGKILL from a sibling while it sleeps (the parent still
 * suspended in vfork).
 */
static int case_vfork_killed(void)
{
	pid_t pid = vfork();
	if (pid == 0) {
		kill(getpid(), SIGKILL);
		_exit(100);
	}
	say("vfork child kills itself: %s", reap(pid));
	volatile long *page = shared_page();
	pid_t killer = fork();
	if (killer == 0) {
		wait_flag(&page[0], 20000);
		sleep_ms(20);
		kill((pid_t)page[0], SIGKILL);
		_exit(0);
	}
	pid = vfork();
	if (pid == 0) {
		page[0] = getpid();
		for (;;)
			pause();
	}
	say("vfork child killed while the parent waits: %s", reap(pid));
	say("killer: %s", reap(killer));
	return 0;
}

static int case_zombie(void)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(5);
	sleep_ms(50);
	siginfo_t si;
	memset(&si, 0, sizeof si);
	int r = waitid(P_PID, pid, &si, WEXITED | WNOWAIT);
	say("waitid WNOWAIT: %s, si_pid is the child: %s, si_code %s, si_status %d, si_signo %s", res(r),
	    yesno(si.si_pid == pid), si.si_code == CLD_EXITED ? "CLD_EXITED" : "other", si.si_status,
	    signame(si.si_signo));
	memset(&si, 0, sizeof si);
	r = waitid(P_ALL, 0, &si, WEXITED | WNOWAIT);
	say("waitid P_ALL WNOWAIT again: %s, same child: %s", res(r), yesno(si.si_pid == pid));
	int st;
	struct rusage ru;
	pid_t w = wait4(pid, &st, 0, &ru);
	say("wait4 reaps it: %s, %s", yesno(w == pid), status_str(st));
	w = wait4(pid, &st, 0, NULL);
	say("wait4 again: %s", res(w));
	w = wait4(-1, &st, WNOHANG, NULL);
	say("wait4(-1, WNOHANG) with no children: %s", res(w));
	return 0;
}

static int case_wnohang(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		sleep_ms(200);
		_exit(6);
	}
	int st = 0x1234;
	pid_t r = waitpid(pid, &st, WNOHANG);
	say("WNOHANG while the child runs: returned %d, status untouched: %s", (int)r, yesno(st == 0x1234));
	siginfo_t si;
	memset(&si, 0xff, sizeof si);
	int w = waitid(P_PID, pid, &si, WEXITED | WNOHANG);
	say("waitid WNOHANG while the child runs: returned %d, si_pid %d", w, (int)si.si_pid);
	r = waitpid(pid, &st, 0);
	say("blocking wait: got the child: %s, %s", yesno(r == pid), status_str(st));
	r = waitpid(pid, &st, WNOHANG);
	say("WNOHANG after reaping: %s", res(r));
	r = waitpid(-1, &st, 0x00100000);
	say("waitpid with an unknown option bit: %s", res(r));
	return 0;
}

static int case_waitid_wnowait(void)
{
	pid_t a = fork();
	if (a == 0)
		_exit(11);
	pid_t b = fork();
	if (b == 0)
		_exit(12);
	sleep_ms(30);
	siginfo_t si;
	int seen = 0;
	for (int i = 0; i < 3; i++) {
		memset(&si, 0, sizeof si);
		if (waitid(P_PID, b, &si, WEXITED | WNOWAIT) == 0 && si.si_pid == b && si.si_status == 12)
			seen++;
	}
	say("waitid(P_PID b, WNOWAIT) three times saw b each time: %d", seen);
	memset(&si, 0, sizeof si);
	int r = waitid(P_PID, a, &si, WEXITED);
	say("waitid(P_PID a): %s, si_status %d", res(r), si.si_status);
	memset(&si, 0, sizeof si);
	r = waitid(P_ALL, 0, &si, WEXITED);
	say("waitid(P_ALL): %s, got b: %s, si_status %d", res(r), yesno(si.si_pid == b), si.si_status);
	r = waitid(P_ALL, 0, &si, WEXITED);
	say("waitid(P_ALL) with none left: %s", res(r));
	r = waitid(P_ALL, 0, &si, 0);
	say("waitid with no state flags: %s", res(r));
	r = waitid(P_PGID, 0, &si, WEXITED);
	say("waitid(P_PGID 0) with none left: %s", res(r));
	r = waitid(77, 0, &si, WEXITED);
	say("waitid with a bad idtype: %s", res(r));
	return 0;
}

static int case_wait_pgrp(void)
{
	/* wait for "any child in my group" (0) and "any in group -pgid" (< -1). */
	pid_t a = fork();
	if (a == 0)
		_exit(21);
	pid_t b = fork();
	if (b == 0) {
		setpgid(0, 0);
		sleep_ms(50);
		_exit(22);
	}
	setpgid(b, b);
	int st;
	pid_t r = waitpid(0, &st, 0);
	say("waitpid(0) got the child in our group: %s, %s", yesno(r == a), status_str(st));
	r = waitpid(0, &st, WNOHANG);
	say("waitpid(0) again: %s", res(r));
	r = waitpid(-b, &st, 0);
	say("waitpid(-pgid) got the group's child: %s, %s", yesno(r == b), status_str(st));
	say("getpgid(0) is our own group: %s", yesno(getpgid(0) == getpgrp()));
	pid_t c = fork();
	if (c == 0) {
		pid_t sid = setsid();
		_exit(sid == getpid() && getsid(0) == getpid() && getpgid(0) == getpid() ? 0 : 1);
	}
	say("setsid in a child makes it leader of session and group (0): %s", reap(c));
	say("setsid in a group leader: %s", res(getpgrp() == getpid() ? setsid() : (errno = EPERM, -1)));
	return 0;
}

/* ---- reparenting --------------------------------------------------------- */

static int reparent(int subreaper)
{
	volatile long *page = shared_page();
	pid_t me = getpid();
	if (subreaper) {
		int r = prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
		int v = -1;
		prctl(PR_GET_CHILD_SUBREAPER, &v, 0, 0, 0);
		say("PR_SET_CHILD_SUBREAPER: %s, PR_GET_CHILD_SUBREAPER: %d", res(r), v);
	}
	pid_t mid = fork();
	if (mid == 0) {
		pid_t midpid = getpid();
		pid_t g = fork();
		if (g == 0) {
			page[1] = getppid() == midpid;
			/* Wait (at most 10 s) for the middle process to die. */
			for (int i = 0; i < 10000 && getppid() == midpid; i++)
				sleep_ms(1);
			page[2] = getppid() != midpid;
			page[3] = getppid() == me;
			page[4] = getpid();
			page[0] = 1;
			_exit(0);
		}
		sleep_ms(20);
		_exit(8);
	}
	say("middle: %s", reap(mid));
	int done = wait_flag(&page[0], 10000);
	say("grandchild reported: %s", yesno(done));
	say("grandchild's parent was the middle process: %s", yesno(page[1]));
	say("after the middle exited its parent changed: %s", yesno(page[2]));
	if (subreaper) {
		say("its new parent is the subreaper: %s", yesno(page[3]));
		int st;
		pid_t r = waitpid(-1, &st, 0);
		say("the subreaper reaps it: %s, %s", yesno(r == page[4]), status_str(st));
	} else {
		say("its new parent is us: %s", yesno(page[3]));
		/* Our init reaps it; we have no child left. */
		say("waitpid(-1): %s", res(waitpid(-1, NULL, 0)));
	}
	return 0;
}

static int case_reparent_init(void)
{
	return reparent(0);
}

static int case_reparent_subreaper(void)
{
	return reparent(1);
}

/* ---- posix_spawn, system ------------------------------------------------- */

/* Reaps before printing: the spawned child prints concurrently. */
static int case_posix_spawn(void)
{
	pid_t pid;
	char *argv[] = {(char *)self, "helper", "spawned", "hello from the spawned child", NULL};
	int r = posix_spawn(&pid, self, NULL, NULL, argv, environ);
	const char *st = r == 0 ? reap(pid) : "not spawned";
	say("posix_spawn: %s, then %s", errname(r), st);
	char *argv2[] = {"missing", NULL};
	r = posix_spawn(&pid, "/nonexistent/missing", NULL, NULL, argv2, environ);
	st = r == 0 ? reap(pid) : "not spawned";
	say("posix_spawn of a missing file: %s, then %s", errname(r), st);
	posix_spawnattr_t attr;
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
	sigset_t def;
	sigemptyset(&def);
	sigaddset(&def, SIGUSR2);
	posix_spawnattr_setsigdefault(&attr, &def);
	signal(SIGUSR2, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	char *argv3[] = {(char *)self, "helper", "signals", NULL};
	r = posix_spawn(&pid, self, NULL, &attr, argv3, environ);
	st = r == 0 ? reap(pid) : "not spawned";
	say("posix_spawn with SETSIGDEF SIGUSR2: %s, then %s", errname(r), st);
	posix_spawnattr_destroy(&attr);
	signal(SIGUSR1, SIG_DFL);
	signal(SIGUSR2, SIG_DFL);
	return 0;
}

static int case_system(void)
{
	int st = system("exit 3");
	say("system(\"exit 3\"): %s", status_str(st));
	st = system(NULL);
	say("system(NULL) says a shell exists: %s", yesno(st != 0));
	return 0;
}

/* ---- threads ------------------------------------------------------------- */

#define NTHREADS 64

static pthread_mutex_t th_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t th_arrived_cv = PTHREAD_COND_INITIALIZER;
static pthread_cond_t th_go_cv = PTHREAD_COND_INITIALIZER;
static int th_arrived, th_go;
static long th_sum, th_counter;
static pid_t th_pids[NTHREADS], th_tids[NTHREADS];

static void *thread_main(void *arg)
{
	long i = (long)arg;
	th_pids[i] = getpid();
	th_tids[i] = syscall(SYS_gettid);
	pthread_mutex_lock(&th_lock);
	th_arrived++;
	pthread_cond_signal(&th_arrived_cv);
	while (!th_go)
		pthread_cond_wait(&th_go_cv, &th_lock);
	th_sum += i;
	pthread_mutex_unlock(&th_lock);
	for (int k = 0; k < 1000; k++) {
		pthread_mutex_lock(&th_lock);
		th_counter++;
		pthread_mutex_unlock(&th_lock);
	}
	return (void *)(i * 2);
}

static int case_threads64(void)
{
	pthread_t t[NTHREADS];
	int created = 0;
	for (long i = 0; i < NTHREADS; i++)
		if (pthread_create(&t[i], NULL, thread_main, (void *)i) == 0)
			created++;
	pthread_mutex_lock(&th_lock);
	while (th_arrived < created)
		pthread_cond_wait(&th_arrived_cv, &th_lock);
	int arrived = th_arrived;
	th_go = 1;
	pthread_cond_broadcast(&th_go_cv);
	pthread_mutex_unlock(&th_lock);
	long rets = 0;
	int joined = 0;
	for (int i = 0; i < created; i++) {
		void *ret;
		if (pthread_join(t[i], &ret) == 0) {
			joined++;
			rets += (long)ret;
		}
	}
	int same_pid = 1, distinct = 1;
	for (int i = 0; i < created; i++) {
		same_pid &= th_pids[i] == getpid();
		distinct &= th_tids[i] != getpid();
		for (int j = 0; j < i; j++)
			distinct &= th_tids[i] != th_tids[j];
	}
	say("created %d, arrived %d, joined %d", created, arrived, joined);
	say("sum of indices %ld, of return values %ld, counter %ld", th_sum, rets, th_counter);
	say("all share our pid: %s, tids distinct: %s", yesno(same_pid), yesno(distinct));
	return 0;
}

static void *thread_exit_group(void *arg)
{
	(void)arg;
	sleep_ms(20);
	exit(7);
}

static void *thread_sleep_forever(void *arg)
{
	(void)arg;
	for (;;)
		sleep_ms(1000);
	return NULL;
}

static int case_exit_group_from_thread(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		pthread_t t, u;
		pthread_create(&u, NULL, thread_sleep_forever, NULL);
		pthread_create(&t, NULL, thread_exit_group, NULL);
		pthread_join(t, NULL);
		_exit(1);
	}
	say("a thread calls exit(7) while main waits in join: %s", reap(pid));
	pid = fork();
	if (pid == 0) {
		pthread_t t;
		pthread_create(&t, NULL, thread_exit_group, NULL);
		/* The main thread leaves alone; the process lives on. */
		syscall(SYS_exit, 0);
	}
	say("main thread exits alone, then a thread calls exit(7): %s", reap(pid));
	pid = fork();
	if (pid == 0) {
		pthread_t t;
		pthread_create(&t, NULL, thread_sleep_forever, NULL);
		syscall(SYS_exit_group, 12);
	}
	say("main calls exit_group(12) with a sleeping thread: %s", reap(pid));
	return 0;
}

/* ---- RLIMIT_NPROC -------------------------------------------------------- */

/*
 * Linux does not apply RLIMIT_NPROC to root, and counts every process of
 * the user, host-wide. So the bomb runs in a child that, when root, first
 * becomes an otherwise unused uid: then exactly LIMIT-1 forks succeed. When
 * not root it cannot, and the user's other processes count too: then the
 * number is unknown, and only facts true in both worlds are printed.
 */
#define LIMIT 8
#define BOMB_UID 54321

static int case_fork_bomb_nproc(void)
{
	volatile long *page = shared_page();
	pid_t bomber = fork();
	if (bomber == 0) {
		if (geteuid() == 0 && setresuid(BOMB_UID, BOMB_UID, BOMB_UID) != 0) {
			say("setresuid: %s", errname(errno));
			_exit(1);
		}
		struct rlimit rl = {LIMIT, LIMIT};
		if (setrlimit(RLIMIT_NPROC, &rl) != 0) {
			say("setrlimit: %s", errname(errno));
			_exit(1);
		}
		int forks = 0, err = 0;
		for (int i = 0; i < 1000; i++) {
			pid_t p = fork();
			if (p == 0) {
				wait_flag(&page[0], 20000);
				_exit(0);
			}
			if (p == -1) {
				err = errno;
				break;
			}
			forks++;
		}
		page[0] = 1;
		int reaped = 0;
		while (wait(NULL) > 0)
			reaped++;
		page[1] = forks;
		page[2] = err;
		page[3] = reaped;
		_exit(0);
	}
	say("bomber: %s", reap(bomber));
	say("forks stopped with: %s", errname((int)page[2]));
	say("forks before that were at most %d: %s", LIMIT - 1, yesno(page[1] <= LIMIT - 1));
	say("every child reaped: %s", yesno(page[3] == page[1]));
	pid_t pid = fork();
	if (pid == 0)
		_exit(3);
	say("then a fork here works: %s", reap(pid));
	return 0;
}

/* ---- the exec'd side ----------------------------------------------------- */

static const char *disposition(int sig)
{
	struct sigaction sa;
	if (sigaction(sig, NULL, &sa) != 0)
		return errname(errno);
	return sa.sa_handler == SIG_DFL ? "default" : sa.sa_handler == SIG_IGN ? "ignored" : "caught";
}

static int helper(int argc, char **argv)
{
	if (argc < 3)
		return 100;
	const char *what = argv[2];
	if (!strcmp(what, "exit") && argc > 3)
		return atoi(argv[3]);
	if (!strcmp(what, "pid") && argc > 3) {
		say("helper: pid kept across exec: %s", yesno(getpid() == atoi(argv[3])));
		return 0;
	}
	if (!strcmp(what, "argv")) {
		say("helper: argc %d", argc);
		for (int i = 1; i < argc; i++)
			say("helper: argv[%d] \"%s\"", i, argv[i]);
		say("helper: argv[argc] is NULL: %s", yesno(argv[argc] == NULL));
		int n = 0;
		for (char **e = environ; *e; e++)
			say("helper: env[%d] \"%s\"", n++, *e);
		say("helper: %d env strings", n);
		return 0;
	}
	if (!strcmp(what, "signals")) {
		say("helper: SIGUSR1 %s, SIGUSR2 %s", disposition(SIGUSR1), disposition(SIGUSR2));
		sigset_t set;
		sigprocmask(SIG_BLOCK, NULL, &set);
		say("helper: SIGHUP still blocked: %s", yesno(sigismember(&set, SIGHUP)));
		return 4;
	}
	if (!strcmp(what, "fds") && argc > 4) {
		say("helper: plain fd open: %s", yesno(fcntl(atoi(argv[3]), F_GETFD) == 0));
		say("helper: cloexec fd: %s", res(fcntl(atoi(argv[4]), F_GETFD)));
		return 0;
	}
	if (!strcmp(what, "exec_thread") && argc > 4) {
		say("helper: pid kept across exec: %s", yesno(getpid() == atoi(argv[3])));
		say("helper: the caller took the leader's tid: %s", yesno(syscall(SYS_gettid) == getpid()));
		FILE *f = fopen("/proc/self/status", "r");
		char line[128];
		while (f && fgets(line, sizeof line, f))
			if (!strncmp(line, "Threads:", 8))
				say("helper: %s", strtok(line, "\n"));
		if (f)
			fclose(f);
		say("helper: the old image's pipe is still open: %s",
		    yesno(fcntl(atoi(argv[4]), F_GETFD) >= 0));
		return 5;
	}
	if (!strcmp(what, "spawned") && argc > 3) {
		say("helper: %s", argv[3]);
		return 3;
	}
	return 100;
}

static const struct guest_case cases[] = {
	{"fork_basic", case_fork_basic},
	{"fork_cow", case_fork_cow},
	{"fork_many", case_fork_many},
	{"vfork_order", case_vfork_order},
	{"vfork_exec", case_vfork_exec},
	{"clone_vm", case_clone_vm},
	{"clone_files", case_clone_files},
	{"clone_fs", case_clone_fs},
	{"clone_sighand", case_clone_sighand},
	{"clone_thread", case_clone_thread},
	{"clone_parent", case_clone_parent},
	{"clone_settid_fork", case_clone_settid_fork},
	{"clone_errors", case_clone_errors},
	{"exec_basic", case_exec_basic},
	{"exec_signals", case_exec_signals},
	{"exec_cloexec", case_exec_cloexec},
	{"exec_fail", case_exec_fail},
	{"exec_fail_files", case_exec_fail_files},
	{"exit_codes", case_exit_codes},
	{"signal_deaths", case_signal_deaths},
	{"signal_deaths_pipe", case_signal_deaths_pipe},
	{"kill_blocked", case_kill_blocked},
	{"exec_from_thread", case_exec_from_thread},
	{"vfork_killed", case_vfork_killed},
	{"zombie", case_zombie},
	{"wnohang", case_wnohang},
	{"waitid_wnowait", case_waitid_wnowait},
	{"wait_pgrp", case_wait_pgrp},
	{"reparent_init", case_reparent_init},
	{"reparent_subreaper", case_reparent_subreaper},
	{"posix_spawn", case_posix_spawn},
	{"system", case_system},
	{"threads64", case_threads64},
	{"exit_group_from_thread", case_exit_group_from_thread},
	{"fork_bomb_nproc", case_fork_bomb_nproc},
};

int main(int argc, char **argv)
{
	self = argv[0];
	if (argc >= 2 && !strcmp(argv[1], "helper"))
		return helper(argc, argv);
	return run_case("proctest", cases, sizeof cases / sizeof cases[0], argc, argv);
}

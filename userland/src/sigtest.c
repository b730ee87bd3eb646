/* Signal semantics, one case per run: `sigtest CASE`. The same source runs
 * natively (the reference) and under cleave; it prints only deterministic
 * facts (relations, signal names, decoded statuses), never pids or
 * addresses. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "guest.h"

static const char *status_str(int st)
{
	static char buf[64];
	if (WIFEXITED(st))
		snprintf(buf, sizeof buf, "exited %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, sizeof buf, "killed by %s%s", sigabbrev_np(WTERMSIG(st)),
			 WCOREDUMP(st) ? " (core)" : "");
	else if (WIFSTOPPED(st))
		snprintf(buf, sizeof buf, "stopped by %s", sigabbrev_np(WSTOPSIG(st)));
	else if (WIFCONTINUED(st))
		snprintf(buf, sizeof buf, "continued");
	else
		snprintf(buf, sizeof buf, "status %#x", st);
	return buf;
}

static void install(int sig, void (*fn)(int, siginfo_t *, void *), int flags, const sigset_t *mask)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = fn;
	sa.sa_flags = flags | SA_SIGINFO;
	if (mask)
		sa.sa_mask = *mask;
	if (sigaction(sig, &sa, NULL) < 0)
		perror("sigaction");
}

static volatile sig_atomic_t hits;
static siginfo_t last;
static char order[64];
static volatile int order_len;

static void note(int sig)
{
	if (order_len < 60)
		order[order_len++] = sig == SIGUSR1 ? '1' : sig == SIGUSR2 ? '2' : 'r';
}

static void record(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	(void)sig;
	last = *si;
	hits++;
}

static int case_siginfo(void)
{
	install(SIGUSR1, record, 0, NULL);
	kill(getpid(), SIGUSR1);
	say("kill: hits %d signo %s code SI_USER %d pid self %d uid self %d", hits,
	    sigabbrev_np(last.si_signo), last.si_code == SI_USER, last.si_pid == getpid(),
	    last.si_uid == getuid());
	raise(SIGUSR1);
	say("raise: hits %d code SI_TKILL %d pid self %d", hits, last.si_code == SI_TKILL,
	    last.si_pid == getpid());
	union sigval v = {.sival_int = 42};
	sigqueue(getpid(), SIGUSR1, v);
	say("sigqueue: hits %d code SI_QUEUE %d value %d", hits, last.si_code == SI_QUEUE,
	    last.si_value.sival_int);
	/* A user may not forge kernel si_codes for another process. */
	siginfo_t fake;
	memset(&fake, 0, sizeof fake);
	fake.si_code = SI_KERNEL;
	long r = syscall(SYS_rt_sigqueueinfo, getppid(), SIGUSR1, &fake);
	say("forged si_code to parent: %ld %s", r, r < 0 ? strerrorname_np(errno) : "");
	r = syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR1, &fake);
	say("forged si_code to self: %ld hits %d code SI_KERNEL %d", r, hits, last.si_code == SI_KERNEL);
	return 0;
}

static sigjmp_buf jb;

static void fault(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	last = *si;
	siglongjmp(jb, sig);
}

static int case_faults(void)
{
	install(SIGSEGV, fault, SA_NODEFER, NULL);
	volatile int *bad = (int *)0x1000;
	if (sigsetjmp(jb, 1) == 0)
		*bad = 1;
	say("unmapped write: %s code SEGV_MAPERR %d addr %d", sigabbrev_np(last.si_signo),
	    last.si_code == SEGV_MAPERR, last.si_addr == (void *)bad);
	char *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (sigsetjmp(jb, 1) == 0)
		*(volatile char *)(ro + 8) = 1;
	say("read-only write: %s code SEGV_ACCERR %d addr %d", sigabbrev_np(last.si_signo),
	    last.si_code == SEGV_ACCERR, last.si_addr == (void *)(ro + 8));
	sigset_t now;
	sigprocmask(SIG_BLOCK, NULL, &now);
	say("SIGSEGV blocked after siglongjmp: %d", sigismember(&now, SIGSEGV));
	/* Unhandled, the process dies of it. */
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL);
		*bad = 2;
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	say("unhandled: %s", status_str(st));
	return 0;
}

static int case_mask_pending(void)
{
	install(SIGUSR1, record, 0, NULL);
	sigset_t set, pend;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	raise(SIGUSR1);
	raise(SIGUSR1);
	kill(getpid(), SIGUSR1);
	sigpending(&pend);
	say("blocked: hits %d pending %d", hits, sigismember(&pend, SIGUSR1));
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	sigpending(&pend);
	/* One for the thread (both raises coalesce), one for the process. */
	say("unblocked: hits %d pending %d", hits,
	    sigismember(&pend, SIGUSR1));
	/* Real-time signals queue, in order, with their values. */
	hits = 0;
	order_len = 0;
	int rt = SIGRTMIN + 1;
	install(rt, record, 0, NULL);
	sigemptyset(&set);
	sigaddset(&set, rt);
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (int i = 1; i <= 3; i++) {
		union sigval v = {.sival_int = i};
		sigqueue(getpid(), rt, v);
	}
	say("rt blocked: hits %d", hits);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	say("rt unblocked: hits %d last value %d", hits, last.si_value.sival_int);
	/* SIGKILL and SIGSTOP cannot be blocked, caught or ignored. */
	sigfillset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
	sigprocmask(SIG_SETMASK, NULL, &set);
	say("fillset: SIGKILL blocked %d SIGSTOP blocked %d SIGUSR2 blocked %d",
	    sigismember(&set, SIGKILL), sigismember(&set, SIGSTOP), sigismember(&set, SIGUSR2));
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	int r = sigaction(SIGKILL, &sa, NULL);
	say("ignore SIGKILL: %d %s", r, strerrorname_np(errno));
	/* Ignoring a pending signal discards it. */
	raise(SIGUSR2);
	sigaction(SIGUSR2, &sa, NULL);
	sigpending(&pend);
	say("SIGUSR2 pending after SIG_IGN: %d", sigismember(&pend, SIGUSR2));
	/* An ignored signal that is blocked is kept (the disposition may
	 * change before it is unblocked), and sigwaitinfo takes it. */
	raise(SIGUSR2);
	sigpending(&pend);
	say("ignored but blocked SIGUSR2 pending: %d", sigismember(&pend, SIGUSR2));
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	say("sigwaitinfo takes it: %s", sigabbrev_np(sigwaitinfo(&set, NULL)));
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(SIGUSR2);
	sigpending(&pend);
	say("ignored and unblocked: pending %d", sigismember(&pend, SIGUSR2));
	return 0;
}

static void nest_handler(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	(void)uc;
	note(sig);
	if (sig == SIGUSR1)
		raise(SIGUSR2);
	note(sig);
}

static int case_nested(void)
{
	sigset_t mask;
	sigemptyset(&mask);
	install(SIGUSR2, nest_handler, 0, NULL);
	install(SIGUSR1, nest_handler, 0, &mask);
	raise(SIGUSR1);
	order[order_len] = 0;
	say("no sa_mask: %s", order);
	order_len = 0;
	sigaddset(&mask, SIGUSR2);
	install(SIGUSR1, nest_handler, 0, &mask);
	raise(SIGUSR1);
	order[order_len] = 0;
	say("sa_mask SIGUSR2: %s", order);
	return 0;
}

static volatile int depth, max_depth, calls;

static void defer_handler(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	(void)uc;
	depth++;
	if (depth > max_depth)
		max_depth = depth;
	if (++calls < 3)
		raise(sig);
	depth--;
}

static int case_nodefer_resethand(void)
{
	install(SIGUSR1, defer_handler, 0, NULL);
	raise(SIGUSR1);
	say("default: max depth %d calls %d", max_depth, calls);
	max_depth = 0;
	calls = 0;
	install(SIGUSR1, defer_handler, SA_NODEFER, NULL);
	raise(SIGUSR1);
	say("SA_NODEFER: max depth %d calls %d", max_depth, calls);
	install(SIGUSR2, record, SA_RESETHAND, NULL);
	raise(SIGUSR2);
	struct sigaction old;
	sigaction(SIGUSR2, NULL, &old);
	say("SA_RESETHAND: hits %d now SIG_DFL %d", hits, old.sa_handler == SIG_DFL);
	pid_t pid = fork();
	if (pid == 0) {
		install(SIGUSR2, record, SA_RESETHAND, NULL);
		raise(SIGUSR2);
		raise(SIGUSR2);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	say("second raise: %s", status_str(st));
	return 0;
}

static void nothing(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	hits++;
}

/* A child that signals its parent after 50 ms and exits after 150 ms. */
static pid_t poke_parent(int sig)
{
	pid_t pid = fork();
	if (pid == 0) {
		sleep_ms(50);
		kill(getppid(), sig);
		sleep_ms(100);
		_exit(7);
	}
	return pid;
}

static int case_restart(void)
{
	int st;
	install(SIGUSR1, nothing, 0, NULL);
	pid_t pid = poke_parent(SIGUSR1);
	pid_t r = wait4(pid, &st, 0, NULL);
	say("wait4 without SA_RESTART: %d %s hits %d", r == pid, r < 0 ? strerrorname_np(errno) : "",
	    hits);
	waitpid(pid, &st, 0);
	install(SIGUSR1, nothing, SA_RESTART, NULL);
	pid = poke_parent(SIGUSR1);
	r = wait4(pid, &st, 0, NULL);
	say("wait4 with SA_RESTART: %d %s hits %d", r == pid, status_str(st), hits);
	/* nanosleep fails with EINTR even under SA_RESTART, reporting the rest. */
	pid = poke_parent(SIGUSR1);
	struct timespec ts = {2, 0}, rem = {0, 0};
	int n = nanosleep(&ts, &rem);
	say("nanosleep: %d %s hits %d rem in (1s, 2s) %d", n, strerrorname_np(errno), hits,
	    rem.tv_sec == 1);
	waitpid(pid, &st, 0);
	/* An ignored signal does not interrupt. */
	signal(SIGUSR1, SIG_IGN);
	pid = poke_parent(SIGUSR1);
	r = wait4(pid, &st, 0, NULL);
	say("wait4 with SIG_IGN: %d %s", r == pid, status_str(st));
	return 0;
}

static void recover(void)
{
	static const char msg[] = "recovered at the new pc\n";
	write(1, msg, sizeof msg - 1);
	_exit(3);
}

static void move_pc(int sig, siginfo_t *si, void *ucp)
{
	(void)sig;
	(void)si;
	ucontext_t *uc = ucp;
#if defined(__riscv)
	uc->uc_mcontext.__gregs[REG_PC] = (uintptr_t)recover;
#elif defined(__x86_64__)
	uc->uc_mcontext.gregs[REG_RIP] = (uintptr_t)recover;
	uc->uc_mcontext.gregs[REG_RSP] &= ~(greg_t)15;
	uc->uc_mcontext.gregs[REG_RSP] -= 8;
#endif
}

static long regs_value;

static void set_a0(int sig, siginfo_t *si, void *ucp)
{
	(void)sig;
	(void)si;
	(void)ucp;
	hits++;
}

static int case_ucontext(void)
{
	/* The saved mask is in the ucontext; sigreturn restores it. */
	install(SIGUSR1, set_a0, 0, NULL);
	raise(SIGUSR1);
	sigset_t now;
	sigprocmask(SIG_BLOCK, NULL, &now);
	say("after handler: hits %d SIGUSR1 blocked %d", hits, sigismember(&now, SIGUSR1));
	(void)regs_value;
	pid_t pid = fork();
	if (pid == 0) {
		install(SIGSEGV, move_pc, 0, NULL);
		volatile int *volatile bad = (int *)0x10;
		*bad = 1;
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	say("handler moved pc: %s", status_str(st));
	return 0;
}

static char *alt;

static void on_alt(int sig, siginfo_t *si, void *ucp)
{
	(void)sig;
	(void)si;
	ucontext_t *uc = ucp;
	char local;
	stack_t now;
	sigaltstack(NULL, &now);
	say("in handler: on altstack %d ss_flags SS_ONSTACK %d uc_stack.ss_sp %d", &local > alt && &local < alt + 65536,
	    now.ss_flags == SS_ONSTACK, uc->uc_stack.ss_sp == alt);
	stack_t other = {.ss_sp = alt, .ss_size = 65536};
	int r = sigaltstack(&other, NULL);
	say("change while on it: %d %s", r, strerrorname_np(errno));
}

static int case_altstack(void)
{
	alt = malloc(65536);
	stack_t ss = {.ss_sp = alt, .ss_size = 65536, .ss_flags = 0}, old;
	sigaltstack(NULL, &old);
	say("initially disabled %d", old.ss_flags == SS_DISABLE);
	stack_t small = {.ss_sp = alt, .ss_size = 100};
	int r = sigaltstack(&small, NULL);
	say("too small: %d %s", r, strerrorname_np(errno));
	say("set: %d", sigaltstack(&ss, NULL));
	install(SIGUSR1, on_alt, SA_ONSTACK, NULL);
	raise(SIGUSR1);
	install(SIGUSR2, record, 0, NULL);
	sigaltstack(NULL, &old);
	say("after: ss_flags %d size %d", old.ss_flags, old.ss_size == 65536);
	stack_t off = {.ss_flags = SS_DISABLE};
	sigaltstack(&off, NULL);
	sigaltstack(NULL, &old);
	say("disabled: %d", old.ss_flags == SS_DISABLE);
	return 0;
}

static pid_t target_tid;
static volatile pid_t handled_by;
static volatile int ready, stop;

static void who(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	handled_by = gettid();
}

static void *worker(void *arg)
{
	(void)arg;
	target_tid = gettid();
	ready = 1;
	while (!stop)
		sleep_ms(1);
	return NULL;
}

static int case_tgkill(void)
{
	install(SIGUSR1, who, 0, NULL);
	pthread_t t;
	pthread_create(&t, NULL, worker, NULL);
	while (!ready)
		sleep_ms(1);
	syscall(SYS_tgkill, getpid(), target_tid, SIGUSR1);
	while (!handled_by)
		sleep_ms(1);
	say("tgkill: handled by the target thread %d", handled_by == target_tid);
	handled_by = 0;
	/* A process-directed signal goes to a thread that does not block it. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	kill(getpid(), SIGUSR1);
	while (!handled_by)
		sleep_ms(1);
	say("kill with main blocking: handled by the worker %d", handled_by == target_tid);
	long r = syscall(SYS_tgkill, getppid(), target_tid, SIGUSR1);
	say("tgkill wrong group: %ld %s", r, strerrorname_np(errno));
	r = syscall(SYS_tgkill, getpid(), -1, SIGUSR1);
	say("tgkill bad tid: %ld %s", r, strerrorname_np(errno));
	stop = 1;
	pthread_join(t, NULL);
	return 0;
}

static void abort_handler(int sig)
{
	(void)sig;
	static const char msg[] = "SIGABRT handler ran\n";
	write(1, msg, sizeof msg - 1);
}

static int case_abort(void)
{
	for (int i = 0; i < 3; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			if (i == 1)
				signal(SIGABRT, abort_handler);
			if (i == 2)
				signal(SIGABRT, SIG_IGN);
			abort();
		}
		int st;
		waitpid(pid, &st, 0);
		say("abort %s: %s", i == 0 ? "default" : i == 1 ? "handler returns" : "ignored", status_str(st));
	}
	return 0;
}

static int case_pgrp(void)
{
	pid_t kids[3];
	pid_t pgid = 0;
	for (int i = 0; i < 3; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			setpgid(0, pgid);
			sigset_t none;
			sigemptyset(&none);
			sigsuspend(&none);
			_exit(0);
		}
		setpgid(kids[i], pgid);
		if (i == 0)
			pgid = kids[0];
	}
	sleep_ms(50);
	say("kill(-pgid, SIGTERM): %d", kill(-pgid, SIGTERM));
	for (int i = 0; i < 3; i++) {
		int st;
		waitpid(kids[i], &st, 0);
		say("child %d: %s", i, status_str(st));
	}
	int r = kill(-pgid, SIGTERM);
	say("kill(-pgid) again: %d %s", r, strerrorname_np(errno));
	say("kill(0, 0): %d", kill(0, 0));
	r = kill(0x3fffffff, 0);
	say("kill(huge, 0): %d %s", r, strerrorname_np(errno));
	r = kill(getpid(), 99);
	say("kill bad signal: %d %s", r, strerrorname_np(errno));
	return 0;
}

static int case_sigsuspend(void)
{
	install(SIGUSR1, nothing, 0, NULL);
	sigset_t set, empty, now;
	sigemptyset(&set);
	sigemptyset(&empty);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	pid_t pid = poke_parent(SIGUSR1);
	int r = sigsuspend(&empty);
	sigprocmask(SIG_BLOCK, NULL, &now);
	say("sigsuspend: %d %s hits %d mask restored %d", r, strerrorname_np(errno), hits,
	    sigismember(&now, SIGUSR1));
	int st;
	waitpid(pid, &st, 0);
	/* sigtimedwait takes a blocked signal without running the handler. */
	raise(SIGUSR1);
	siginfo_t si;
	r = sigtimedwait(&set, &si, NULL);
	say("sigtimedwait: %s code SI_TKILL %d hits %d", sigabbrev_np(r), si.si_code == SI_TKILL, hits);
	struct timespec ts = {0, 20000000};
	r = sigtimedwait(&set, &si, &ts);
	say("sigtimedwait timeout: %d %s", r, strerrorname_np(errno));
	pid = poke_parent(SIGUSR1);
	r = sigwaitinfo(&set, &si);
	say("sigwaitinfo: %s from child %d", sigabbrev_np(r), si.si_pid == pid);
	waitpid(pid, &st, 0);
	return 0;
}

static volatile int chld_code, chld_status, chld_pid_ok;
static pid_t chld_expect;

static void on_chld(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	chld_code = si->si_code;
	chld_status = si->si_status;
	chld_pid_ok = si->si_pid == chld_expect;
	hits++;
}

static int case_sigchld(void)
{
	install(SIGCHLD, on_chld, SA_RESTART, NULL);
	sigset_t set, empty;
	sigemptyset(&set);
	sigemptyset(&empty);
	sigaddset(&set, SIGCHLD);
	for (int i = 0; i < 2; i++) {
		sigprocmask(SIG_BLOCK, &set, NULL);
		hits = 0;
		chld_expect = fork();
		if (chld_expect == 0) {
			if (i == 1)
				raise(SIGTERM);
			_exit(3);
		}
		while (!hits)
			sigsuspend(&empty);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		say("SIGCHLD: code %s status %d pid %d",
		    chld_code == CLD_EXITED   ? "CLD_EXITED"
		    : chld_code == CLD_KILLED ? "CLD_KILLED"
					      : "other",
		    chld_status, chld_pid_ok);
		int st;
		waitpid(chld_expect, &st, 0);
	}
	return 0;
}

static volatile int cld_codes[8], cld_n;

static void on_chld_code(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (cld_n < 8)
		cld_codes[cld_n++] = si->si_code;
}

static void show_cld(void)
{
	static const char *names[] = {"?", "EXITED", "KILLED", "DUMPED", "TRAPPED", "STOPPED", "CONTINUED"};
	printf("SIGCHLD codes:");
	for (int i = 0; i < cld_n; i++)
		printf(" %s", cld_codes[i] >= 1 && cld_codes[i] <= 6 ? names[cld_codes[i]] : "?");
	printf("\n");
	cld_n = 0;
}

static pid_t spinner(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		for (;;)
			sleep_ms(5);
	}
	return pid;
}

static int case_stop_cont(void)
{
	install(SIGCHLD, on_chld_code, SA_RESTART, NULL);
	int st;
	pid_t pid = spinner();
	kill(pid, SIGSTOP);
	pid_t r = waitpid(pid, &st, WUNTRACED);
	say("after SIGSTOP: %d %s", r == pid, status_str(st));
	sleep_ms(20);
	show_cld();
	say("WNOHANG again: %d", waitpid(pid, &st, WUNTRACED | WNOHANG));
	kill(pid, SIGCONT);
	r = waitpid(pid, &st, WCONTINUED);
	say("after SIGCONT: %d %s", r == pid, status_str(st));
	sleep_ms(20);
	show_cld();
	kill(pid, SIGTSTP);
	waitpid(pid, &st, WUNTRACED);
	say("after SIGTSTP: %s", status_str(st));
	sleep_ms(20);
	show_cld();
	/* A stopped process keeps other signals pending until continued. */
	kill(pid, SIGTERM);
	sleep_ms(30);
	say("SIGTERM while stopped: WNOHANG %d", waitpid(pid, &st, WNOHANG));
	kill(pid, SIGCONT);
	waitpid(pid, &st, 0);
	say("after SIGCONT: %s", status_str(st));
	/* SIGKILL ends a stopped process. */
	pid = spinner();
	kill(pid, SIGSTOP);
	waitpid(pid, &st, WUNTRACED);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	say("SIGKILL while stopped: %s", status_str(st));
	/* SA_NOCLDSTOP: no SIGCHLD for stop and continue. */
	sleep_ms(20);
	cld_n = 0;
	install(SIGCHLD, on_chld_code, SA_RESTART | SA_NOCLDSTOP, NULL);
	pid = spinner();
	kill(pid, SIGSTOP);
	waitpid(pid, &st, WUNTRACED);
	kill(pid, SIGCONT);
	waitpid(pid, &st, WCONTINUED);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	sleep_ms(20);
	show_cld();
	return 0;
}

static int case_alarm(void)
{
	install(SIGALRM, nothing, 0, NULL);
	sigset_t set, empty;
	sigemptyset(&set);
	sigemptyset(&empty);
	sigaddset(&set, SIGALRM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	struct itimerval it = {{0, 0}, {0, 50000}}, cur;
	setitimer(ITIMER_REAL, &it, NULL);
	getitimer(ITIMER_REAL, &cur);
	say("armed: left in (0, 50ms] %d", cur.it_value.tv_sec == 0 && cur.it_value.tv_usec > 0 &&
						      cur.it_value.tv_usec <= 50000);
	int r = sigsuspend(&empty);
	getitimer(ITIMER_REAL, &cur);
	say("sigsuspend: %d %s hits %d disarmed %d", r, strerrorname_np(errno), hits,
	    cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0);
	/* Periodic. */
	struct itimerval per = {{0, 10000}, {0, 10000}};
	setitimer(ITIMER_REAL, &per, NULL);
	while (hits < 4)
		sigsuspend(&empty);
	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &off, &cur);
	say("periodic: hits %d interval 10ms %d", hits, cur.it_interval.tv_usec == 10000);
	unsigned a5 = alarm(5);
	unsigned a0 = alarm(0);
	say("alarm(5): %u alarm(0): %u", a5, a0);
	r = setitimer(99, &it, NULL);
	say("bad timer: %d %s", r, strerrorname_np(errno));
	/* Unhandled, SIGALRM kills. */
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGALRM, SIG_DFL);
		setitimer(ITIMER_REAL, &it, NULL);
		sigsuspend(&empty);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	say("unhandled: %s", status_str(st));
	/* fork does not inherit the timer. */
	setitimer(ITIMER_REAL, &it, NULL);
	pid = fork();
	if (pid == 0) {
		getitimer(ITIMER_REAL, &cur);
		_exit(cur.it_value.tv_usec != 0);
	}
	waitpid(pid, &st, 0);
	setitimer(ITIMER_REAL, &off, NULL);
	say("child's timer: %s", status_str(st));
	return 0;
}

/*
 * Not a case: tests/terminal.rs runs `sigtest terminal` on a pseudo-terminal
 * and types Ctrl-C and then Ctrl-\: the kernel raises SIGINT in the
 * foreground process group (si_code SI_KERNEL), then SIGQUIT, whose default
 * action ends the program.
 */
static volatile sig_atomic_t int_code = -1;
static void on_int(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	int_code = si->si_code;
}

static int terminal(void)
{
	install(SIGINT, on_int, 0, NULL);
	sigset_t none;
	sigemptyset(&none);
	say("ready");
	while (int_code < 0)
		sigsuspend(&none);
	say("SIGINT from the kernel: %s", yesno(int_code == SI_KERNEL));
	say("ready again");
	pause();
	return 1;
}

/*
 * Not a case: tests/terminal.rs runs `sigtest jobs` as the foreground job
 * of a pseudo-terminal, natively and under cleave, and compares what they
 * print: the terminal's job control. Each step runs in a child that puts
 * itself in a process group of its own, in the background, and returns 0
 * or an errno; the parent says how it ended.
 */
static volatile sig_atomic_t caught;
static void on_ttin(int sig)
{
	(void)sig;
	caught = 1;
}

static int bg_read(void)
{
	char c;
	return read(0, &c, 1) < 0 ? errno : 0;
}

static int bg_read_ignored(void)
{
	signal(SIGTTIN, SIG_IGN);
	return bg_read();
}

static void block_signal(int sig)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

static int bg_read_blocked(void)
{
	block_signal(SIGTTIN);
	return bg_read();
}

static int bg_read_caught(void)
{
	struct sigaction sa = {.sa_handler = on_ttin};
	sigaction(SIGTTIN, &sa, NULL);
	int e = bg_read();
	return caught ? e : -1;
}

static int bg_write(void)
{
	const char line[] = "a line from the background\n";
	return write(1, line, sizeof line - 1) < 0 ? errno : 0;
}

static int bg_write_ignored(void)
{
	signal(SIGTTOU, SIG_IGN);
	return bg_write();
}

static int bg_tcsetattr(void)
{
	struct termios t;
	tcgetattr(0, &t);
	return tcsetattr(0, TCSANOW, &t) < 0 ? errno : 0;
}

static int bg_tcsetattr_blocked(void)
{
	block_signal(SIGTTOU);
	return bg_tcsetattr();
}

static int bg_tcgetpgrp(void)
{
	return tcgetpgrp(0) == getpgid(getppid()) ? 0 : -1;
}

/* What a shell does to give itself the terminal. */
static int take_terminal(void)
{
	signal(SIGTTOU, SIG_IGN);
	int r = tcsetpgrp(0, getpgrp()) < 0 ? errno : 0;
	signal(SIGTTOU, SIG_DFL);
	return r ? r : tcgetpgrp(0) == getpgrp() ? 0 : -1;
}

/* A group whose parent left: no shell could continue it. The grandchild
 * reports on orphan_pipe. */
static int orphan_pipe[2];
static int orphaned_read(void)
{
	pid_t parent = getpid();
	if (fork() == 0) {
		while (getppid() == parent)
			sleep_ms(1);
		int e = bg_read();
		write(orphan_pipe[1], &e, sizeof e);
		_exit(0);
	}
	return 0;
}

static void step(const char *what, int (*fn)(void))
{
	pid_t pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		_exit(fn());
	}
	setpgid(pid, pid);
	int st;
	waitpid(pid, &st, WUNTRACED);
	if (WIFSTOPPED(st)) {
		say("%s: stopped by %s", what, sigabbrev_np(WSTOPSIG(st)));
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	} else if (WIFEXITED(st))
		say("%s: %s", what, WEXITSTATUS(st) ? strerrorname_np(WEXITSTATUS(st)) : "ok");
	else
		say("%s: %s", what, status_str(st));
}

static void set_tostop(int on)
{
	struct termios t;
	tcgetattr(0, &t);
	t.c_lflag = on ? t.c_lflag | TOSTOP : t.c_lflag & ~TOSTOP;
	tcsetattr(0, TCSANOW, &t);
}

static int jobs(void)
{
	say("in the foreground: %s", yesno(tcgetpgrp(0) == getpgrp()));
	step("read", bg_read);
	step("read, SIGTTIN ignored", bg_read_ignored);
	step("read, SIGTTIN blocked", bg_read_blocked);
	step("read, SIGTTIN caught", bg_read_caught);
	step("write", bg_write);
	set_tostop(1);
	step("write with TOSTOP", bg_write);
	step("write with TOSTOP, SIGTTOU ignored", bg_write_ignored);
	set_tostop(0);
	step("tcsetattr", bg_tcsetattr);
	step("tcsetattr, SIGTTOU blocked", bg_tcsetattr_blocked);
	step("tcgetpgrp", bg_tcgetpgrp);
	step("take the terminal", take_terminal);
	say("in the foreground: %s", yesno(tcgetpgrp(0) == getpgrp()));
	say("take it back: %s", take_terminal() ? "failed" : "ok");
	pipe(orphan_pipe);
	step("leave a group behind", orphaned_read);
	close(orphan_pipe[1]);
	int e = -1;
	read(orphan_pipe[0], &e, sizeof e);
	say("read, orphaned group: %s", e ? strerrorname_np(e) : "ok");
	return 0;
}

static const struct guest_case cases[] = {
	{"siginfo", case_siginfo},
	{"faults", case_faults},
	{"mask_pending", case_mask_pending},
	{"nested", case_nested},
	{"nodefer_resethand", case_nodefer_resethand},
	{"restart", case_restart},
	{"ucontext", case_ucontext},
	{"altstack", case_altstack},
	{"tgkill", case_tgkill},
	{"abort", case_abort},
	{"pgrp", case_pgrp},
	{"sigsuspend", case_sigsuspend},
	{"sigchld", case_sigchld},
	{"stop_cont", case_stop_cont},
	{"alarm", case_alarm},
};

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	/* No core files from the deaths in these cases, natively either. */
	struct rlimit rl = {0, 0};
	setrlimit(RLIMIT_CORE, &rl);
	if (argc == 2 && !strcmp(argv[1], "terminal"))
		return terminal();
	if (argc == 2 && !strcmp(argv[1], "jobs"))
		return jobs();
	return run_case("sigtest", cases, sizeof cases / sizeof cases[0], argc, argv);
}

/*
 * The demos: one idea of the notes each, shown by doing it and printing
 * what happened and why. Students read this output, so each line is a
 * sentence. What is printed is observed, never assumed: if the kernel got
 * something wrong, the demo says so.
 *
 * Every line goes out through say(), one write(2) each, so that nothing
 * sits in a stdio buffer when the demo forks. Under `--deterministic` the
 * output is the same on every run (the PIDs too), except spawn's timings.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "box.h"

extern char **environ;

static int wait_for(pid_t pid)
{
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return status;
}

/* --- fork --- */

static int x = 42;

int fork_main(int argc, char **argv)
{
	(void)argc, (void)argv;
	say("fork: one program, two processes.");
	say("before fork: I am PID %d; x = %d, stored at address %p", getpid(), x, (void *)&x);
	pid_t pid = fork();
	if (pid < 0) {
		warn_errno("fork", "fork");
		return 1;
	}
	if (pid == 0) {
		say("child:  fork() returned 0 to me. My PID is %d, my parent is %d", getpid(),
		    getppid());
		say("child:  x = %d at %p: the same address, the same value (a copy of the "
		    "parent's memory)",
		    x, (void *)&x);
		x = 99;
		say("child:  I set x = 99 and exit");
		_exit(0);
	}
	wait_for(pid);
	say("parent: fork() returned %d to me, the child's PID. My PID is still %d", pid,
	    getpid());
	say("parent: after wait(), my x is still %d at %p: the child wrote to its own copy", x,
	    (void *)&x);
	return 0;
}

/* --- cow --- */

#define COW_PAGES 64
static char pages[COW_PAGES][4096] __attribute__((aligned(4096)));

/* cleave's memory counters for this process, from /proc/self/status. */
struct counters {
	long zero_fill, cow_faults, copied, reused;
};

static long status_field(const char *text, const char *name)
{
	const char *p = strstr(text, name);
	return p ? atol(p + strlen(name)) : -1;
}

static int read_counters(struct counters *c)
{
	char *s = read_small_file("/proc/self/status", NULL);
	if (!s)
		return -1;
	*c = (struct counters){
		status_field(s, "\nZeroFillFaults:"),
		status_field(s, "\nCowFaults:"),
		status_field(s, "\nCowPagesCopied:"),
		status_field(s, "\nCowPagesReused:"),
	};
	return c->cow_faults < 0 || c->copied < 0 || c->reused < 0 || c->zero_fill < 0 ? -1 : 0;
}

static void touch_pages(int from, int to, char c)
{
	for (int i = from; i < to; i++)
		((volatile char *)pages[i])[0] = c;
}

/* Writes to pages [from, to) between two readings of the counters and
 * says what they counted. */
static void counted_write(const char *who, int from, int to, char c)
{
	struct counters a, b;
	int have = read_counters(&a) == 0;
	touch_pages(from, to, c);
	have = have && read_counters(&b) == 0;
	if (!have) {
		say("%s wrote '%c' to %d page(s)", who, c, to - from);
		return;
	}
	say("%s wrote '%c' to %d page(s): %ld zero-fill, %ld copy-on-write faults; "
	    "%ld page(s) copied, %ld reused",
	    who, c, to - from, b.zero_fill - a.zero_fill, b.cow_faults - a.cow_faults,
	    b.copied - a.copied, b.reused - a.reused);
}

/* The frame (physical page) that holds the page at `addr`, from
 * /proc/self/pagemap: one 64-bit entry per page, bit 63 "present", the
 * frame number in bits 0-54. 0 when the page is not present or the
 * kernel hides frame numbers (Linux shows them to root only). */
static unsigned long long frame_of(const volatile void *addr)
{
	unsigned long long e = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd >= 0) {
		if (pread(fd, &e, sizeof e, (off_t)((uintptr_t)addr / 4096 * sizeof e)) != sizeof e)
			e = 0;
		close(fd);
	}
	return e >> 63 ? e & ((1ULL << 55) - 1) : 0;
}

/* Says which frame holds page 0 of `what`, and whether it is `before`. */
static void say_frame(const char *who, const char *what, const volatile void *addr,
		      unsigned long long before, const char *same, const char *other)
{
	unsigned long long f = frame_of(addr);
	if (!f) {
		say("%s %s: its frame number is hidden (/proc/self/pagemap shows it to root)", who,
		    what);
		return;
	}
	if (!before)
		say("%s %s is in frame %#llx", who, what, f);
	else
		say("%s %s is in frame %#llx: %s", who, what, f, f == before ? same : other);
}

int cow_main(int argc, char **argv)
{
	(void)argc, (void)argv;
	struct counters c;
	int have = read_counters(&c) == 0;
	say("cow: after fork, parent and child share every page; a write copies only "
	    "the page written.");
	if (!have)
		say("(this kernel has no CowFaults lines in /proc/self/status, so the demo "
		    "shows the facts without the counts; `cleave run --stats` prints totals)");
	say("parent: %d pages of 4 KiB, never touched yet", COW_PAGES);
	counted_write("parent:", 0, COW_PAGES, 'p');
	say("parent: a first touch gives a fresh zeroed page (zero-fill)");
	unsigned long long mine = frame_of(pages[0]);
	say_frame("parent:", "page 0", pages[0], 0, "", "");
	say("parent: now fork()");
	pid_t pid = fork();
	if (pid < 0) {
		warn_errno("cow", "fork");
		return 1;
	}
	if (pid == 0) {
		/* A first reading copies the pages the reading itself writes (its
		 * buffer, the stack), so that the next ones count only ours. */
		read_counters(&c);
		say("child:  page 0 holds '%c': the parent's page, shared read-only", pages[0][0]);
		say_frame("child: ", "page 0", pages[0], mine, "the parent's frame, shared",
			  "not the parent's frame (no sharing?)");
		counted_write("child: ", 0, 1, 'c');
		say_frame("child: ", "page 0 after my write", pages[0], mine,
			  "still the parent's frame (no copy?)", "a new frame, my own copy");
		counted_write("child: ", 1, COW_PAGES, 'c');
		say("child:  each page was copied at its first write, not at fork; exiting");
		_exit(0);
	}
	wait_for(pid);
	say("parent: my pages still hold '%c': the child wrote to copies", pages[0][0]);
	say_frame("parent:", "page 0", pages[0], mine, "the frame it was in before fork",
		  "another frame than before fork");
	counted_write("parent:", 0, COW_PAGES, 'P');
	say("parent: nobody else holds these pages now, so a write fault just makes "
	    "them writable again (reused, no copy)");
	return 0;
}

/* --- shm --- */

int shm_main(int argc, char **argv)
{
	(void)argc, (void)argv;
	say("shm: memory that fork does not copy. A System V shared memory segment "
	    "attached before fork is the same frames in parent and child.");
	int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
	if (id < 0) {
		warn_errno("shm", "shmget");
		return 1;
	}
	char *seg = shmat(id, NULL, 0);
	/* Removed now, it lives until its last attach goes: nothing is left
	 * behind, however the demo ends. */
	shmctl(id, IPC_RMID, NULL);
	if (seg == (void *)-1) {
		warn_errno("shm", "shmat");
		return 1;
	}
	strcpy(seg, "hello from the parent");
	say("parent: shmget made a segment of 4096 bytes, shmat attached it at %p", (void *)seg);
	say("parent: I wrote \"%s\" in it", seg);
	unsigned long long mine = frame_of(seg);
	say_frame("parent:", "the segment", seg, 0, "", "");
	say("parent: now fork()");
	pid_t pid = fork();
	if (pid < 0) {
		warn_errno("shm", "fork");
		return 1;
	}
	if (pid == 0) {
		say("child:  the segment is attached at %p in my memory too, and holds \"%s\"",
		    (void *)seg, seg);
		say_frame("child: ", "the segment", seg, mine, "the parent's frame, shared",
			  "not the parent's frame (a copy?)");
		strcpy(seg, "hello from the child");
		say_frame("child: ", "the segment after my write", seg, mine,
			  "still the parent's frame: no copy-on-write here",
			  "a new frame (copied?)");
		say("child:  I wrote \"%s\" and exit", seg);
		_exit(0);
	}
	wait_for(pid);
	struct shmid_ds ds;
	say("parent: the segment holds \"%s\"%s", seg,
	    strcmp(seg, "hello from the child") ? "" : ": the child's write is in my memory");
	if (shmctl(id, IPC_STAT, &ds) == 0)
		say("parent: shmctl(IPC_STAT): %lu attach(es) left, mine: the child's went with "
		    "its exit",
		    (unsigned long)ds.shm_nattch);
	shmdt(seg);
	say("parent: after shmdt the removed segment is gone with its last attach");
	return 0;
}

/* --- vfork --- */

static volatile int shared_x = 1;

int vfork_main(int argc, char **argv)
{
	(void)argc, (void)argv;
	say("vfork: the child runs in the parent's memory while the parent waits.");
	say("parent (PID %d): x = %d; calling vfork()", getpid(), shared_x);
	pid_t pid = vfork();
	if (pid < 0) {
		warn_errno("vfork", "vfork");
		return 1;
	}
	if (pid == 0) {
		say("child  (PID %d): I run first; my parent is suspended until I call execve "
		    "or _exit",
		    getpid());
		say("child: I see x = %d and set x = 2; no copy exists, this is the parent's "
		    "memory",
		    shared_x);
		shared_x = 2;
		say("child: _exit(0)");
		_exit(0);
	}
	say("parent: resumed after the child's _exit; x = %d%s", shared_x,
	    shared_x == 2 ? ": the child's write is in my memory" : "");
	wait_for(pid);
	say("vfork is for a child that calls execve at once: nothing is copied, not even "
	    "page tables");
	return 0;
}

/* --- execve --- */

static int marker;

static const char *open_text(int fd)
{
	return fcntl(fd, F_GETFD) >= 0 ? "still open" : "closed";
}

int execve_main(int argc, char **argv)
{
	if (argc == 6 && !strcmp(argv[1], "--after")) {
		int pid = atoi(argv[2]), ppid = atoi(argv[3]);
		int plain = atoi(argv[4]), cloexec = atoi(argv[5]);
		say("after:  PID %d, parent %d: %s", getpid(), getppid(),
		    getpid() == pid && getppid() == ppid ? "the same process" : "a different process?");
		say("after:  marker = %d: the old program's memory is gone, this is a new image",
		    marker);
		say("after:  fd %d %s: open files are kept across exec", plain, open_text(plain));
		say("after:  fd %d %s: exec closes O_CLOEXEC files", cloexec, open_text(cloexec));
		return 0;
	}
	marker = 12345;
	int plain = open("/dev/null", O_RDONLY);
	int cloexec = open("/dev/null", O_RDONLY | O_CLOEXEC);
	say("execve: this process replaces its program with execve(); watch what stays.");
	say("before: PID %d, parent %d, marker = %d (a variable in memory)", getpid(), getppid(),
	    marker);
	say("before: fd %d open, fd %d open with O_CLOEXEC", plain, cloexec);
	char args[4][16];
	snprintf(args[0], sizeof args[0], "%d", getpid());
	snprintf(args[1], sizeof args[1], "%d", getppid());
	snprintf(args[2], sizeof args[2], "%d", plain);
	snprintf(args[3], sizeof args[3], "%d", cloexec);
	char *next[] = {"execve", "--after", args[0], args[1], args[2], args[3], NULL};
	say("execve(\"/bin/execve\", [\"execve\", \"--after\", ...]): no return on success");
	execve("/bin/execve", next, environ);
	warn_errno("execve", "/bin/execve");
	return 1;
}

/* --- clone --- */

static char child_stack[64 * 1024] __attribute__((aligned(16)));
static volatile int clone_x;
static volatile pid_t child_pid, child_tid;

static void on_usr1(int sig)
{
	(void)sig;
}

static int child_vm(void *arg)
{
	(void)arg;
	clone_x = 1;
	return 0;
}

static int child_fs(void *arg)
{
	(void)arg;
	return chdir("/tmp") < 0;
}

static int child_files(void *arg)
{
	(void)arg;
	return open("/dev/null", O_RDONLY); /* the exit status: the fd number */
}

static int child_sighand(void *arg)
{
	(void)arg;
	return signal(SIGUSR1, on_usr1) == SIG_ERR;
}

static int child_thread(void *arg)
{
	(void)arg;
	child_pid = getpid();
	child_tid = gettid();
	return 0;
}

/* Runs fn in a child made by clone(flags) and waits for it; returns its
 * exit status. A CLONE_THREAD child cannot be waited for: the kernel clears
 * `done` and wakes the futex when it exits (CLONE_CHILD_CLEARTID). */
static int clone_and_wait(int (*fn)(void *), int flags)
{
	static volatile pid_t done;
	if (flags & CLONE_THREAD) {
		flags |= CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
		if (clone(fn, child_stack + sizeof child_stack, flags, NULL, &done, NULL, &done) < 0)
			return -1;
		for (pid_t t; (t = done) != 0;)
			syscall(SYS_futex, &done, FUTEX_WAIT, t, NULL, NULL, 0);
		return 0;
	}
	pid_t pid = clone(fn, child_stack + sizeof child_stack, flags | SIGCHLD, NULL);
	if (pid < 0)
		return -1;
	int status = wait_for(pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int handler_installed(void)
{
	struct sigaction sa;
	sigaction(SIGUSR1, NULL, &sa);
	return sa.sa_handler == on_usr1;
}

int clone_main(int argc, char **argv)
{
	(void)argc, (void)argv;
	say("clone: the flags say which resources the child shares with its parent; "
	    "without a flag the child gets a copy.");
	say("Each test runs a child without the flag, then with it, and looks at the parent.");

	clone_x = 0;
	clone_and_wait(child_vm, 0);
	int copied = clone_x == 0;
	clone_and_wait(child_vm, CLONE_VM);
	say("CLONE_VM      memory: without it, the child's write to a variable is %s here; "
	    "with it, %s",
	    copied ? "not seen" : "seen", clone_x ? "it is seen (one memory)" : "not seen");

	char cwd[256] = "/";
	if (!getcwd(cwd, sizeof cwd))
		strcpy(cwd, "/");
	clone_and_wait(child_fs, 0);
	char a[256] = "?", b[256] = "?";
	if (!getcwd(a, sizeof a))
		strcpy(a, "?");
	clone_and_wait(child_fs, CLONE_VM | CLONE_FS);
	if (!getcwd(b, sizeof b))
		strcpy(b, "?");
	say("CLONE_FS      cwd, root, umask: the child's chdir(\"/tmp\") leaves my cwd at %s "
	    "without it; with it my cwd is %s",
	    a, b);
	if (chdir(cwd) < 0)
		warn_errno("clone", cwd);

	int fd = clone_and_wait(child_files, 0);
	int seen_without = fd > 0 && fcntl(fd, F_GETFD) >= 0;
	fd = clone_and_wait(child_files, CLONE_VM | CLONE_FILES);
	int seen_with = fd > 0 && fcntl(fd, F_GETFD) >= 0;
	say("CLONE_FILES   open files: the fd %d the child opened %s here without it; "
	    "with it, it %s",
	    fd, seen_without ? "exists" : "does not exist", seen_with ? "exists here too" : "does not");
	if (seen_with)
		close(fd);

	clone_and_wait(child_sighand, CLONE_VM);
	int without = handler_installed();
	clone_and_wait(child_sighand, CLONE_VM | CLONE_SIGHAND);
	say("CLONE_SIGHAND signal handlers: the child's SIGUSR1 handler is %s without it; "
	    "with it, it %s",
	    without ? "installed here" : "not installed here",
	    handler_installed() ? "is installed here too" : "is not");
	signal(SIGUSR1, SIG_DFL);

	clone_and_wait(child_thread, CLONE_VM | CLONE_SIGHAND);
	pid_t pid_without = child_pid;
	int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM;
	clone_and_wait(child_thread, flags);
	say("CLONE_THREAD  the process: without it the child is process %d; with it the child "
	    "is TID %d in my process %d%s",
	    pid_without, child_tid, getpid(), child_pid == getpid() ? " (a thread)" : "?");
	say("fork() is clone with no flag; pthread_create() is clone with all of them.");
	return 0;
}

/* --- threads --- */

#define NTHREADS 3
static pthread_barrier_t started, listed;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;
static pid_t tids[NTHREADS];

static void *thread_main(void *arg)
{
	long i = (long)arg;
	tids[i] = gettid();
	for (int k = 0; k < 1000; k++) {
		pthread_mutex_lock(&lock);
		counter++;
		pthread_mutex_unlock(&lock);
	}
	/* Stay alive until main has looked at /proc/self/task. */
	pthread_barrier_wait(&started);
	pthread_barrier_wait(&listed);
	return NULL;
}

static int tid_cmp(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* The TIDs /proc/self/task lists, when /proc is mounted. */
static void list_tasks(void)
{
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return;
	int tids_seen[64], n = 0;
	for (struct dirent *e; (e = readdir(d)) && n < 64;)
		if (e->d_name[0] != '.')
			tids_seen[n++] = atoi(e->d_name);
	closedir(d);
	qsort(tids_seen, n, sizeof tids_seen[0], tid_cmp);
	char line[256] = "";
	for (int i = 0; i < n; i++) {
		size_t len = strlen(line);
		snprintf(line + len, sizeof line - len, " %d", tids_seen[i]);
	}
	say("/proc/self/task lists %d TIDs:%s (ps shows one process)", n, line);
}

int threads_main(int argc, char **argv)
{
	(void)argc, (void)argv;
	say("threads: one process, several threads. pthread_create() is clone(CLONE_VM | "
	    "CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | ...).");
	pthread_barrier_init(&started, NULL, NTHREADS + 1);
	pthread_barrier_init(&listed, NULL, NTHREADS + 1);
	pthread_t t[NTHREADS];
	for (long i = 0; i < NTHREADS; i++)
		if (pthread_create(&t[i], NULL, thread_main, (void *)i)) {
			say("pthread_create failed");
			return 1;
		}
	pthread_barrier_wait(&started);
	say("main thread: PID %d, TID %d", getpid(), gettid());
	for (int i = 0; i < NTHREADS; i++)
		say("thread %d:    PID %d, TID %d", i + 1, getpid(), tids[i]);
	list_tasks();
	pthread_barrier_wait(&listed);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	say("each thread added 1000 to one counter under a mutex: counter = %ld (one memory)",
	    counter);
	say("one PID for all (getpid), one TID each (gettid); the main thread's TID is the PID");
	return 0;
}

/* --- orphan --- */

int orphan_main(int argc, char **argv)
{
	(void)argc, (void)argv;
	say("orphan: a process whose parent exits is adopted by init (PID 1).");
	int done[2];
	if (pipe(done) < 0) {
		warn_errno("orphan", "pipe");
		return 1;
	}
	pid_t middle = fork();
	if (middle == 0) {
		close(done[0]);
		int ready[2];
		if (pipe(ready) < 0)
			_exit(1);
		pid_t me = getpid();
		pid_t child = fork();
		if (child == 0) {
			/* The grandchild holds done[1]: its exit tells the demo it is over. */
			close(ready[0]);
			say("child  (PID %d): my parent is %d", getpid(), getppid());
			close(ready[1]);
			while (getppid() == me)
				usleep(1000);
			say("child  (PID %d): my parent is now %d: %s", getpid(), getppid(),
			    getppid() == 1 ? "init adopted me" : "not init?");
			say("child: when I exit, init's wait() will reap me");
			_exit(0);
		}
		close(ready[1]);
		char c;
		while (read(ready[0], &c, 1) < 0 && errno == EINTR)
			;
		say("parent (PID %d): exiting without waiting for my child %d", me, child);
		_exit(0);
	}
	close(done[1]);
	wait_for(middle);
	char c;
	while (read(done[0], &c, 1) < 0 && errno == EINTR)
		;
	say("the orphan has exited; init's wait() loop reaps it, so it does not stay a zombie");
	return 0;
}

/* --- zombie --- */

static char proc_state(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	char *s = read_small_file(path, NULL);
	char *close = s ? strrchr(s, ')') : NULL;
	return close && close[1] == ' ' ? close[2] : 0;
}

int zombie_main(int argc, char **argv)
{
	(void)argc, (void)argv;
	say("zombie: a child that has exited, but whose parent has not waited for it yet.");
	pid_t pid = fork();
	if (pid == 0)
		_exit(7);
	say("parent (PID %d): forked child %d, which exits at once with status 7", getpid(), pid);
	/* WNOWAIT: wait until it has exited, but leave it unreaped. */
	siginfo_t info;
	while (waitid(P_PID, pid, &info, WEXITED | WNOWAIT) < 0 && errno == EINTR)
		;
	say("parent: waitid(WNOWAIT) says child %d has exited; I have not reaped it", pid);
	char state = proc_state(pid);
	if (state)
		say("parent: /proc/%d/stat says state %c%s", pid, state,
		    state == 'Z' ? ": a zombie, nothing left of it but its exit status" : "");
	say("parent: kill(%d, 0) %s: its PID stays taken until the parent waits", pid,
	    kill(pid, 0) == 0 ? "succeeds" : "fails");
	if (state) {
		say("parent: ps shows it as <defunct>:");
		pid_t ps = fork();
		if (ps == 0) {
			execl("/bin/ps", "ps", (char *)NULL);
			_exit(127);
		}
		wait_for(ps);
	}
	int status = wait_for(pid);
	say("parent: waitpid(%d) returns its status: exited with %d; the zombie is gone", pid,
	    WEXITSTATUS(status));
	errno = 0;
	int r = kill(pid, 0);
	say("parent: kill(%d, 0) now %s%s", pid, r == 0 ? "succeeds?" : "fails: ",
	    r == 0 ? "" : strerror(errno));
	return 0;
}

/* --- spawn --- */

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static char big[4 << 20]; /* 4 MiB that fork must share page by page */

int spawn_main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 20;
	if (n <= 0) {
		fprintf(stderr, "usage: spawn [TIMES]\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof big; i += 4096)
		big[i] = 1;
	char *args[] = {"true", NULL};
	say("spawn: three ways to run /bin/true, %d times each, timed with clock_gettime.", n);
	say("(this process has touched 4 MiB first: fork must share all of it, vfork "
	    "nothing)");
	double t0 = now_us();
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			execve("/bin/true", args, environ);
			_exit(127);
		}
		wait_for(pid);
	}
	double t1 = now_us();
	for (int i = 0; i < n; i++) {
		pid_t pid = vfork();
		if (pid == 0) {
			execve("/bin/true", args, environ);
			_exit(127);
		}
		wait_for(pid);
	}
	double t2 = now_us();
	for (int i = 0; i < n; i++) {
		pid_t pid;
		if (posix_spawn(&pid, "/bin/true", NULL, NULL, args, environ) == 0)
			wait_for(pid);
	}
	double t3 = now_us();
	say("fork + execve + wait:  %8.1f us each: the child gets a copy of the page "
	    "tables, every private page shared copy-on-write",
	    (t1 - t0) / n);
	say("vfork + execve + wait: %8.1f us each: the child borrows the memory, the "
	    "parent sleeps until the execve",
	    (t2 - t1) / n);
	say("posix_spawn + wait:    %8.1f us each: glibc does clone(CLONE_VM | "
	    "CLONE_VFORK), vfork's way, with a stack of its own",
	    (t3 - t2) / n);
	return 0;
}

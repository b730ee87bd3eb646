/*
 * sh: the shell of cleave's initramfs, small enough to read in one sitting.
 *
 * A foreground command is the sequence the notes describe: fork(), the child
 * sets up its redirections and calls execve(), the parent waits for that
 * PID. A background command (`cmd &`) is the same without the wait; `jobs`
 * and `wait` look at it later. A pipeline `a | b` is one fork per command,
 * each with one end of a pipe() as its stdin or stdout. On a terminal the
 * shell does job control: each job is a process group, the foreground one
 * has the terminal, ^Z stops it, and `fg` and `bg` continue it.
 *
 * The language is a subset of POSIX sh, one line at a time: words with
 * '...', "..." and \ quoting; $NAME, ${NAME}, $?, $$, $!, $#, $0..$9, $@;
 * NAME=VALUE (alone: a shell variable; before a command: in its
 * environment); | && || ; &; redirections <, >, >>, N>, N>&M. Unlike POSIX
 * sh, an expansion is never split into several words and there is no
 * globbing: one word in, one word out. No if, while or functions.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "box.h"

extern char **environ;

#define MAX_TOKENS 256
#define MAX_STAGES 16 /* commands in one pipeline */
#define MAX_REDIRS 8
#define MAX_JOBS 32
#define MAX_VARS 64

enum kind { WORD, PIPE, AND, OR, SEMI, AMP, REDIR, END };

/* A token: a word as written (quotes are removed when it is expanded, just
 * before it runs, so that `false; echo $?` sees the new $?), an operator, or
 * a redirection operator such as 2>&1 (the next token is its target). */
struct token {
	enum kind kind;
	char *text;
	int fd; /* REDIR: the descriptor redirected */
	char op; /* REDIR: '<', '>', 'a' (>>), '&' (>&) */
};

struct redir {
	int fd;
	char op;
	char *target;
};

/* One command of a pipeline, expanded. */
struct command {
	char *argv[MAX_TOKENS];
	int argc;
	char *assign[MAX_TOKENS]; /* leading NAME=VALUE words */
	int nassign;
	struct redir redir[MAX_REDIRS];
	int nredir;
};

struct job {
	int id; /* 0: a free slot */
	pid_t pgid; /* its process group, with job control */
	pid_t pids[MAX_STAGES];
	int npids;
	int running; /* pids not yet reaped */
	int stopped; /* the signal that stopped it, until continued */
	int status;  /* the last command's, as $? would be */
	char *text;
};

static struct {
	int status;	  /* $? */
	pid_t pid;	  /* $$: the shell's, also in its subshells */
	pid_t last_bg;	  /* $! */
	int interactive;  /* prompts, and job control */
	pid_t pgid;	  /* the shell's own group, which has the terminal between jobs */
	int argc;	  /* $0, $1, ... */
	char **argv;
	struct job jobs[MAX_JOBS];
	struct {
		char *name, *value;
	} vars[MAX_VARS]; /* shell variables that are not exported */
} sh;

/* Expanded words live in this arena until the line is done. */
static char arena[64 * 1024];
static size_t arena_used;

static char *arena_alloc(size_t n)
{
	if (arena_used + n > sizeof arena)
		return NULL;
	char *p = arena + arena_used;
	arena_used += n;
	return p;
}

static char *arena_strndup(const char *s, size_t n)
{
	char *p = arena_alloc(n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = 0;
	}
	return p;
}

/* --- variables --- */

static int is_name_start(int c)
{
	return isalpha(c) || c == '_';
}

static int is_name_char(int c)
{
	return isalnum(c) || c == '_';
}

/* The length of NAME when `word` is NAME=VALUE, else 0. */
static size_t assignment_name(const char *word)
{
	size_t n = 0;
	if (!is_name_start(word[0]))
		return 0;
	while (is_name_char(word[n]))
		n++;
	return word[n] == '=' ? n : 0;
}

static int find_var(const char *name)
{
	for (int i = 0; i < MAX_VARS; i++)
		if (sh.vars[i].name && !strcmp(sh.vars[i].name, name))
			return i;
	return -1;
}

static const char *get_var(const char *name)
{
	int i = find_var(name);
	return i >= 0 ? sh.vars[i].value : getenv(name);
}

/* An exported variable stays exported when assigned, as in POSIX sh. */
static void set_var(const char *name, const char *value)
{
	if (getenv(name)) {
		setenv(name, value, 1);
		return;
	}
	int i = find_var(name);
	if (i < 0)
		for (i = 0; i < MAX_VARS && sh.vars[i].name; i++)
			;
	if (i == MAX_VARS) {
		fprintf(stderr, "sh: %s: too many variables\n", name);
		return;
	}
	free(sh.vars[i].name);
	free(sh.vars[i].value);
	sh.vars[i].name = strdup(name);
	sh.vars[i].value = strdup(value);
}

static void unset_var(const char *name)
{
	int i = find_var(name);
	if (i >= 0) {
		free(sh.vars[i].name);
		free(sh.vars[i].value);
		sh.vars[i].name = sh.vars[i].value = NULL;
	}
	unsetenv(name);
}

/* "NAME=VALUE" as a shell assignment. */
static void assign(char *word)
{
	size_t n = assignment_name(word);
	word[n] = 0;
	set_var(word, word + n + 1);
	word[n] = '=';
}

/* --- reading a line into tokens --- */

static int is_operator_char(int c)
{
	return c == '|' || c == '&' || c == ';' || c == '<' || c == '>';
}

/* Splits `line` into tokens; returns their number (the last is END), or -1
 * after printing a syntax error. */
static int tokenize(char *line, struct token *t)
{
	int n = 0;
	char *p = line;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (n == MAX_TOKENS - 1) {
			fprintf(stderr, "sh: line too long\n");
			return -1;
		}
		struct token *tok = &t[n++];
		tok->text = NULL;
		if (!*p || *p == '#') {
			tok->kind = END;
			return n;
		}
		/* A redirection, with its optional descriptor number first. */
		int fd = -1;
		char *q = p;
		if (isdigit((unsigned char)*q) && (q[1] == '<' || q[1] == '>'))
			fd = *q++ - '0';
		if (*q == '<' || *q == '>') {
			tok->kind = REDIR;
			tok->fd = fd >= 0 ? fd : *q == '<' ? 0 : 1;
			if (q[0] == '>' && q[1] == '>')
				tok->op = 'a', q += 2;
			else if (q[0] == '>' && q[1] == '&')
				tok->op = '&', q += 2;
			else
				tok->op = *q++;
			p = q;
			continue;
		}
		if (p[0] == '|' && p[1] == '|')
			tok->kind = OR, p += 2;
		else if (p[0] == '&' && p[1] == '&')
			tok->kind = AND, p += 2;
		else if (*p == '|')
			tok->kind = PIPE, p++;
		else if (*p == '&')
			tok->kind = AMP, p++;
		else if (*p == ';')
			tok->kind = SEMI, p++;
		else {
			/* A word runs to the first blank or operator outside quotes. */
			char *start = p;
			while (*p && !isspace((unsigned char)*p) && !is_operator_char(*p)) {
				if (*p == '\\' && p[1])
					p += 2;
				else if (*p == '\'' || *p == '"') {
					char quote = *p++;
					while (*p && *p != quote)
						p += (quote == '"' && *p == '\\' && p[1]) ? 2 : 1;
					if (!*p) {
						fprintf(stderr, "sh: syntax error: unterminated %c\n",
							quote);
						return -1;
					}
					p++;
				} else
					p++;
			}
			tok->kind = WORD;
			tok->text = arena_strndup(start, p - start);
			if (!tok->text) {
				fprintf(stderr, "sh: line too long\n");
				return -1;
			}
		}
	}
}

/* --- expansion --- */

struct buf {
	char *s;
	size_t len, cap;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = realloc(b->s, b->cap);
		if (!b->s) {
			fprintf(stderr, "sh: out of memory\n");
			exit(2);
		}
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = 0;
}

static void put_num(struct buf *b, long n)
{
	char num[24];
	put(b, num, snprintf(num, sizeof num, "%ld", n));
}

/* Expands the $ expression at `p` into `b`; returns what follows it. */
static const char *expand_dollar(const char *p, struct buf *b)
{
	p++; /* the '$' */
	if (*p == '?' || *p == '$' || *p == '#' || *p == '!') {
		if (*p == '?')
			put_num(b, sh.status);
		else if (*p == '$')
			put_num(b, sh.pid);
		else if (*p == '#')
			put_num(b, sh.argc > 0 ? sh.argc - 1 : 0);
		else if (sh.last_bg) /* $! is empty before the first job */
			put_num(b, sh.last_bg);
		return p + 1;
	}
	if (isdigit((unsigned char)*p)) {
		int i = *p - '0';
		if (i < sh.argc)
			put(b, sh.argv[i], strlen(sh.argv[i]));
		return p + 1;
	}
	if (*p == '@' || *p == '*') {
		for (int i = 1; i < sh.argc; i++) {
			if (i > 1)
				put(b, " ", 1);
			put(b, sh.argv[i], strlen(sh.argv[i]));
		}
		return p + 1;
	}
	int braced = *p == '{';
	const char *name = p + braced;
	size_t n = 0;
	while (is_name_char(name[n]))
		n++;
	if (n == 0 || (braced && name[n] != '}')) {
		put(b, "$", 1); /* not an expansion: a literal '$' */
		return p;
	}
	char key[256];
	snprintf(key, sizeof key, "%.*s", (int)n, name);
	const char *value = get_var(key);
	if (value)
		put(b, value, strlen(value));
	return name + n + braced;
}

/* A word with its quotes removed and its $ expressions replaced. */
static char *expand(const char *word)
{
	struct buf b = {0};
	put(&b, "", 0);
	for (const char *p = word; *p;) {
		if (*p == '\\' && p[1]) {
			put(&b, p + 1, 1);
			p += 2;
		} else if (*p == '\'') {
			const char *end = strchr(p + 1, '\'');
			put(&b, p + 1, end - p - 1);
			p = end + 1;
		} else if (*p == '"') {
			for (p++; *p != '"';) {
				/* Inside "", \ quotes only $ ` " \ (POSIX). */
				if (*p == '\\' && strchr("$`\"\\", p[1])) {
					put(&b, p + 1, 1);
					p += 2;
				} else if (*p == '$')
					p = expand_dollar(p, &b);
				else
					put(&b, p++, 1);
			}
			p++;
		} else if (*p == '$')
			p = expand_dollar(p, &b);
		else
			put(&b, p++, 1);
	}
	char *out = arena_strndup(b.s, b.len);
	free(b.s);
	if (!out) {
		fprintf(stderr, "sh: line too long\n");
		exit(2);
	}
	return out;
}

/* Builds command `c` from tokens [from, to): expands its words, collects
 * its assignments and redirections. Returns -1 after a syntax error. */
static int build_command(struct token *t, int from, int to, struct command *c)
{
	c->argc = c->nassign = c->nredir = 0;
	for (int i = from; i < to; i++) {
		if (t[i].kind == REDIR) {
			if (i + 1 >= to || t[i + 1].kind != WORD || c->nredir == MAX_REDIRS) {
				fprintf(stderr, "sh: syntax error: redirection without a file\n");
				return -1;
			}
			c->redir[c->nredir++] = (struct redir){
				.fd = t[i].fd, .op = t[i].op, .target = expand(t[i + 1].text)};
			i++;
		} else if (c->argc == 0 && assignment_name(t[i].text))
			c->assign[c->nassign++] = expand(t[i].text);
		else
			c->argv[c->argc++] = expand(t[i].text);
	}
	c->argv[c->argc] = NULL;
	return 0;
}

/* --- running commands --- */

/* Applies the redirections, as the child does before execve. */
static int apply_redirs(const struct command *c)
{
	for (int i = 0; i < c->nredir; i++) {
		const struct redir *r = &c->redir[i];
		int fd;
		if (r->op == '&') {
			char *end;
			long from = strtol(r->target, &end, 10);
			if (*end || end == r->target || from < 0 || dup2(from, r->fd) < 0) {
				fprintf(stderr, "sh: %s: bad file descriptor\n", r->target);
				return -1;
			}
			continue;
		}
		int flags = r->op == '<' ? O_RDONLY
			    : r->op == 'a' ? O_WRONLY | O_CREAT | O_APPEND
					   : O_WRONLY | O_CREAT | O_TRUNC;
		fd = open(r->target, flags, 0666);
		if (fd < 0) {
			warn_errno("sh", r->target);
			return -1;
		}
		if (fd != r->fd) {
			dup2(fd, r->fd);
			close(fd);
		}
	}
	return 0;
}

/* Where execve finds NAME: itself if it has a '/', else the first
 * executable PATH entry (default /bin:/sbin). */
static const char *find_program(const char *name, char *path, size_t size)
{
	if (strchr(name, '/'))
		return name;
	const char *dirs = get_var("PATH");
	if (!dirs)
		dirs = "/bin:/sbin";
	while (*dirs) {
		size_t n = strcspn(dirs, ":");
		snprintf(path, size, "%.*s/%s", (int)n, n ? dirs : ".", name);
		if (access(path, X_OK) == 0)
			return path;
		dirs += n + (dirs[n] == ':');
	}
	return NULL;
}

/* Whether FILE is binary rather than a script: a NUL byte in its first
 * line, bash's test. A shell runs no binary file as a script. */
static int is_binary(const char *file)
{
	char buf[80];
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf);
	close(fd);
	for (ssize_t i = 0; i < n && buf[i] != '\n'; i++)
		if (buf[i] == '\0')
			return 1;
	return 0;
}

/* The child's side of fork + exec: never returns. */
static void exec_command(struct command *c)
{
	for (int i = 0; i < c->nassign; i++) {
		size_t n = assignment_name(c->assign[i]);
		c->assign[i][n] = 0;
		setenv(c->assign[i], c->assign[i] + n + 1, 1);
	}
	char path[4096];
	const char *file = find_program(c->argv[0], path, sizeof path);
	if (!file) {
		fprintf(stderr, "sh: %s: not found\n", c->argv[0]);
		exit(127);
	}
	execve(file, c->argv, environ);
	int e = errno;
	if (e == ENOEXEC && is_binary(file)) {
		/* A program for another machine (a host one, say). */
		fprintf(stderr, "sh: %s: cannot execute binary file\n", file);
		exit(126);
	}
	if (e == ENOEXEC) {
		/* No #! line: POSIX says a shell runs it as a script. */
		char *argv[MAX_TOKENS + 2] = {"sh", (char *)file};
		for (int i = 1; i <= c->argc; i++)
			argv[i + 1] = c->argv[i];
		execve("/bin/sh", argv, environ);
	}
	fprintf(stderr, "sh: %s: %s\n", file, strerror(e));
	exit(e == ENOENT ? 127 : 126);
}

/* $? for a wait status; says how a foreground command died, as shells do
 * (not for SIGINT and SIGPIPE, which are routine). */
static int status_of(int wstatus, int report)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	int sig = WTERMSIG(wstatus);
	if (report && sig == SIGINT && sh.interactive)
		fputs("\n", stderr); /* the prompt goes below the ^C */
	if (report && sig != SIGINT && sig != SIGPIPE)
		fprintf(stderr, "%s%s\n", signal_text(sig), WCOREDUMP(wstatus) ? " (core dumped)" : "");
	return 128 + sig;
}

static int builtin(struct command *c);
static int is_builtin(const char *name);

/* Puts a job in the table (a copy of `job`, with its own text). */
static struct job *add_job(const struct job *job)
{
	for (int i = 0; i < MAX_JOBS; i++) {
		struct job *j = &sh.jobs[i];
		if (j->id)
			continue;
		*j = *job;
		j->id = i + 1;
		j->text = strdup(job->text);
		return j;
	}
	/* More jobs than slots: they run, untracked. */
	return NULL;
}

/* A background job: in the table, announced as "[1] PID" when a person
 * is typing. */
static void add_background(pid_t *pids, int npids, pid_t pgid, const char *text)
{
	struct job job = {.pgid = pgid, .npids = npids, .running = npids, .text = (char *)text};
	memcpy(job.pids, pids, npids * sizeof *pids);
	sh.last_bg = pids[npids - 1];
	struct job *j = add_job(&job);
	if (j && sh.interactive)
		fprintf(stderr, "[%d] %d\n", j->id, pids[npids - 1]);
}

static void free_job(struct job *j)
{
	free(j->text);
	memset(j, 0, sizeof *j);
}

/* waitpid's flags for a look at a job that does not wait. */
#define LOOK (WNOHANG | WUNTRACED | WCONTINUED)

/* Collects what waitpid with FLAGS says of the job's processes: which
 * exited (reaped), and whether the job stopped or was continued.
 * `report`: say how a foreground command died. */
static void reap_job(struct job *j, int flags, int report)
{
	for (int i = 0; i < j->npids; i++) {
		if (!j->pids[i])
			continue;
		int wstatus;
		pid_t r = waitpid(j->pids[i], &wstatus, flags);
		if (r < 0 && errno == EINTR) {
			i--;
			continue;
		}
		if (r == 0)
			continue;
		if (r > 0 && (WIFSTOPPED(wstatus) || WIFCONTINUED(wstatus))) {
			j->stopped = WIFSTOPPED(wstatus) ? WSTOPSIG(wstatus) : 0;
			continue;
		}
		if (r > 0 && i == j->npids - 1)
			j->status = status_of(wstatus, report);
		j->pids[i] = 0; /* reaped (or, r < 0, not ours any more) */
		j->running--;
	}
}

/* Waits for job J in the foreground: with job control its group has the
 * terminal until it ends or stops. Returns $? (128 + the signal for a
 * job that stopped, which stays J's to continue). */
static int wait_foreground(struct job *j)
{
	if (sh.interactive)
		tcsetpgrp(0, j->pgid);
	j->stopped = 0;
	reap_job(j, WUNTRACED, 1);
	if (sh.interactive)
		tcsetpgrp(0, sh.pgid);
	return j->stopped ? 128 + j->stopped : j->status;
}

/* What `jobs` and the prompt print: "[1]+  Done   sleep 1 &", bash style. */
static void print_job(const struct job *j)
{
	char state[32];
	if (j->stopped)
		snprintf(state, sizeof state, "Stopped");
	else if (j->running)
		snprintf(state, sizeof state, "Running");
	else if (j->status == 0)
		snprintf(state, sizeof state, "Done");
	else if (j->status > 128)
		snprintf(state, sizeof state, "%s", signal_text(j->status - 128));
	else
		snprintf(state, sizeof state, "Done(%d)", j->status);
	printf("[%d]   %-24s%s%s\n", j->id, state, j->text, j->stopped ? "" : " &");
	fflush(stdout);
}

/* A foreground job stopped (by ^Z, whose echo ends no line). */
static void report_stop(const struct job *j)
{
	putchar('\n');
	print_job(j);
}

/* Before each prompt an interactive shell says which jobs finished or
 * stopped. */
static void notify_jobs(void)
{
	for (int i = 0; i < MAX_JOBS; i++) {
		struct job *j = &sh.jobs[i];
		if (!j->id)
			continue;
		int was_stopped = j->stopped;
		reap_job(j, LOOK, 0);
		if (!j->running || (j->stopped && !was_stopped))
			print_job(j);
		if (!j->running)
			free_job(j);
	}
}

/* With job control a job's processes go into a group of their own, the
 * first one's, which gets the terminal if it is the foreground job (`fg`);
 * the shell and the child (pid 0) both see to it, whichever runs first.
 * The child takes back the job-control signals the shell ignores. */
static void join_job(pid_t pid, pid_t *pgid, int fg)
{
	if (!sh.interactive)
		return;
	if (!*pgid)
		*pgid = pid ? pid : getpid();
	setpgid(pid, *pgid);
	if (fg)
		tcsetpgrp(0, *pgid);
	if (pid == 0) {
		signal(SIGTSTP, SIG_DFL);
		signal(SIGTTIN, SIG_DFL);
		signal(SIGTTOU, SIG_DFL);
	}
}

/* Runs one pipeline, tokens [from, to); `bg`: do not wait for it. */
static int run_pipeline(struct token *t, int from, int to, int bg, const char *text)
{
	static struct command cmds[MAX_STAGES];
	int n = 0;
	for (int i = from, start = from; i <= to; i++) {
		if (i < to && t[i].kind != PIPE)
			continue;
		if (i == start || n == MAX_STAGES) {
			fprintf(stderr, "sh: syntax error near |\n");
			return 2;
		}
		if (build_command(t, start, i, &cmds[n++]) < 0)
			return 2;
		start = i + 1;
	}
	struct command *c = &cmds[0];
	/* A lone builtin runs in the shell itself (cd must change the shell's
	 * own directory), with its redirections undone afterwards. */
	if (n == 1 && !bg && (c->argc == 0 || is_builtin(c->argv[0]))) {
		int saved[MAX_REDIRS];
		for (int i = 0; i < c->nredir; i++)
			saved[i] = fcntl(c->redir[i].fd, F_DUPFD_CLOEXEC, 10);
		int status = 1;
		if (apply_redirs(c) == 0) {
			for (int i = 0; i < c->nassign; i++)
				assign(c->assign[i]);
			status = c->argc ? builtin(c) : 0;
		}
		fflush(stdout);
		for (int i = c->nredir - 1; i >= 0; i--) {
			if (saved[i] >= 0) {
				dup2(saved[i], c->redir[i].fd);
				close(saved[i]);
			} else
				close(c->redir[i].fd);
		}
		return status;
	}
	/* fork once per command; command k reads the pipe command k-1 writes. */
	pid_t pids[MAX_STAGES], pgid = 0;
	int in = -1;
	for (int k = 0; k < n; k++) {
		int p[2] = {-1, -1};
		if (k < n - 1 && pipe2(p, O_CLOEXEC) < 0) {
			warn_errno("sh", "pipe");
			return 1;
		}
		pid_t pid = fork();
		if (pid < 0) {
			warn_errno("sh", "fork");
			return 1;
		}
		if (pid == 0) {
			join_job(0, &pgid, !bg);
			/* The interactive shell ignores ^C and ^\; its commands must
			 * not, except background ones, which POSIX keeps deaf to them
			 * when there is no job control. */
			int deaf = bg && !sh.interactive;
			signal(SIGINT, deaf ? SIG_IGN : SIG_DFL);
			signal(SIGQUIT, deaf ? SIG_IGN : SIG_DFL);
			if (in >= 0)
				dup2(in, 0);
			if (p[1] >= 0)
				dup2(p[1], 1);
			if (apply_redirs(&cmds[k]) < 0)
				exit(1);
			if (cmds[k].argc == 0)
				exit(0);
			if (is_builtin(cmds[k].argv[0]))
				exit(builtin(&cmds[k]));
			exec_command(&cmds[k]);
		}
		pids[k] = pid;
		join_job(pid, &pgid, !bg);
		if (in >= 0)
			close(in);
		if (p[1] >= 0)
			close(p[1]);
		in = p[0];
	}
	if (bg) {
		add_background(pids, n, pgid, text);
		return 0;
	}
	/* The foreground: wait for each PID; $? is the last command's. A job
	 * stopped by ^Z goes into the table, for fg and bg. */
	struct job job = {.pgid = pgid, .npids = n, .running = n, .text = (char *)text};
	memcpy(job.pids, pids, sizeof pids);
	int status = wait_foreground(&job);
	if (job.stopped) {
		struct job *j = add_job(&job);
		if (j)
			report_stop(j);
	}
	return status;
}

/* Runs an and-or list `p1 && p2 || p3`, tokens [from, to). */
static int run_and_or(struct token *t, int from, int to, const char *text)
{
	int status = sh.status;
	enum kind op = SEMI;
	for (int i = from, start = from; i <= to; i++) {
		if (i < to && t[i].kind != AND && t[i].kind != OR)
			continue;
		if (i == start) {
			fprintf(stderr, "sh: syntax error near %s\n", t[i].kind == AND ? "&&" : "||");
			return 2;
		}
		/* A skipped pipeline leaves $? alone. */
		if (op == SEMI || (op == AND && status == 0) || (op == OR && status != 0))
			sh.status = status = run_pipeline(t, start, i, 0, text);
		if (i < to)
			op = t[i].kind;
		start = i + 1;
	}
	return status;
}

/* Runs a whole line: and-or lists separated by ; or &. */
static void run_line(char *line)
{
	static struct token t[MAX_TOKENS];
	arena_used = 0;
	int n = tokenize(line, t);
	if (n < 0) {
		sh.status = 2;
		return;
	}
	for (int i = 0, start = 0; i < n; i++) {
		enum kind k = t[i].kind;
		if (k != SEMI && k != AMP && k != END)
			continue;
		if (i == start) {
			if (k != END) {
				fprintf(stderr, "sh: syntax error near %c\n", k == AMP ? '&' : ';');
				sh.status = 2;
				return;
			}
			break;
		}
		/* The job's text for `jobs`: the words as they were typed. */
		char text[256] = "";
		for (int w = start; w < i; w++) {
			static const char *ops[] = {[PIPE] = "|", [AND] = "&&", [OR] = "||"};
			const char *s;
			if (t[w].kind == WORD)
				s = t[w].text;
			else if (t[w].kind == REDIR)
				s = t[w].op == '<' ? "<" : t[w].op == 'a' ? ">>" : t[w].op == '&' ? ">&" : ">";
			else
				s = ops[t[w].kind];
			size_t len = strlen(text);
			snprintf(text + len, sizeof text - len, "%s%s", w > start ? " " : "", s);
		}
		int is_pipeline = 1;
		for (int w = start; w < i; w++)
			if (t[w].kind == AND || t[w].kind == OR)
				is_pipeline = 0;
		if (k != AMP)
			sh.status = run_and_or(t, start, i, text);
		else if (is_pipeline)
			sh.status = run_pipeline(t, start, i, 1, text);
		else {
			/* `a && b &`: a subshell runs the list in the background. */
			pid_t pid = fork(), pgid = 0;
			if (pid == 0) {
				join_job(0, &pgid, 0);
				sh.interactive = 0;
				exit(run_and_or(t, start, i, text));
			}
			if (pid > 0) {
				join_job(pid, &pgid, 0);
				add_background(&pid, 1, pgid, text);
			}
			sh.status = pid > 0 ? 0 : 1;
		}
		start = i + 1;
		if (k == END)
			break;
	}
}

/* --- builtins --- */

static int do_cd(struct command *c)
{
	const char *dir = c->argc > 1 ? c->argv[1] : get_var("HOME");
	if (!dir)
		dir = "/";
	if (chdir(dir) < 0) {
		fprintf(stderr, "sh: cd: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	char cwd[4096];
	if (getcwd(cwd, sizeof cwd))
		setenv("PWD", cwd, 1);
	return 0;
}

static int do_exit(struct command *c)
{
	fflush(stdout);
	exit(c->argc > 1 ? atoi(c->argv[1]) & 0xff : sh.status);
}

/* exec CMD: the shell becomes CMD (same PID); exec alone with
 * redirections: they stay for the rest of the shell. */
static int do_exec(struct command *c)
{
	if (c->argc == 1)
		return 0;
	if (sh.interactive) {
		/* What the interactive shell ignores, the command must not. */
		int ignored[] = {SIGINT, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU};
		for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++)
			signal(ignored[i], SIG_DFL);
	}
	memmove(c->argv, c->argv + 1, c->argc * sizeof c->argv[0]);
	c->argc--;
	exec_command(c);
	return 127; /* not reached: exec_command exits on failure */
}

static int do_export(struct command *c)
{
	if (c->argc == 1) {
		for (char **e = environ; *e; e++)
			printf("export %s\n", *e);
		return 0;
	}
	for (int i = 1; i < c->argc; i++) {
		char *word = c->argv[i];
		size_t n = assignment_name(word);
		if (n) {
			word[n] = 0;
			unset_var(word);
			setenv(word, word + n + 1, 1);
		} else {
			int v = find_var(word);
			setenv(word, v >= 0 ? sh.vars[v].value : get_var(word) ? get_var(word) : "", 1);
			if (v >= 0) {
				free(sh.vars[v].name);
				free(sh.vars[v].value);
				sh.vars[v].name = sh.vars[v].value = NULL;
			}
		}
	}
	return 0;
}

static int do_unset(struct command *c)
{
	for (int i = 1; i < c->argc; i++)
		unset_var(c->argv[i]);
	return 0;
}

static int do_jobs(struct command *c)
{
	(void)c;
	for (int i = 0; i < MAX_JOBS; i++) {
		struct job *j = &sh.jobs[i];
		if (!j->id)
			continue;
		reap_job(j, LOOK, 0);
		print_job(j);
		if (!j->running)
			free_job(j);
	}
	return 0;
}

/* The job ARG names (%N or a PID); with no ARG, the latest job. */
static struct job *job_of(const char *arg)
{
	if (!arg) {
		for (int i = MAX_JOBS - 1; i >= 0; i--)
			if (sh.jobs[i].id)
				return &sh.jobs[i];
		return NULL;
	}
	int by_id = arg[0] == '%';
	long n = strtol(arg + by_id, NULL, 10);
	for (int i = 0; i < MAX_JOBS; i++) {
		struct job *j = &sh.jobs[i];
		if (j->id && (by_id ? j->id == n : j->pids[j->npids - 1] == n))
			return j;
	}
	return NULL;
}

/* wait: every job; wait PID or %N: that one, and its status. */
static int do_wait(struct command *c)
{
	int status = 0;
	for (int i = 0; i < MAX_JOBS && c->argc == 1; i++) {
		if (sh.jobs[i].id) {
			reap_job(&sh.jobs[i], 0, 0);
			free_job(&sh.jobs[i]);
		}
	}
	for (int i = 1; i < c->argc; i++) {
		struct job *j = job_of(c->argv[i]);
		if (!j) {
			fprintf(stderr, "sh: wait: %s: no such job\n", c->argv[i]);
			status = 127;
			continue;
		}
		reap_job(j, 0, 0);
		status = j->status;
		free_job(j);
	}
	return status;
}

/* The job `fg` or `bg` acts on, or NULL, said. */
static struct job *control_job(struct command *c)
{
	if (!sh.interactive) {
		fprintf(stderr, "sh: %s: no job control\n", c->argv[0]);
		return NULL;
	}
	struct job *j = job_of(c->argc > 1 ? c->argv[1] : NULL);
	if (!j)
		fprintf(stderr, "sh: %s: no such job\n", c->argv[0]);
	return j;
}

/* fg [JOB]: the job gets the terminal and SIGCONT, and is waited for. */
static int do_fg(struct command *c)
{
	struct job *j = control_job(c);
	if (!j)
		return 1;
	/* Said once the job has the terminal, so that what is typed next is
	 * its, and before it runs, so that what it prints comes after. */
	tcsetpgrp(0, j->pgid);
	printf("%s\n", j->text);
	fflush(stdout);
	kill(-j->pgid, SIGCONT);
	int status = wait_foreground(j);
	if (j->stopped)
		report_stop(j);
	else
		free_job(j);
	return status;
}

/* bg [JOB]: a stopped job carries on, in the background. */
static int do_bg(struct command *c)
{
	struct job *j = control_job(c);
	if (!j)
		return 1;
	j->stopped = 0;
	kill(-j->pgid, SIGCONT);
	printf("[%d]   %s &\n", j->id, j->text);
	return 0;
}

static int do_help(struct command *c)
{
	(void)c;
	printf("cleave's shell. Builtins: cd exit exec export unset jobs wait fg bg help\n"
	       "Operators: | && || ; & < > >> 2> 2>&1; variables $NAME $? $$ $!\n\n"
	       "Commands (in /bin):\n");
	for (const struct applet *a = applets; a->name; a++)
		if (a->help && !a->demo)
			printf("  %-8s %s\n", a->name, a->help);
	printf("\nDemos of the notes: run one and read what it prints.\n");
	for (const struct applet *a = applets; a->name; a++)
		if (a->demo)
			printf("  %-8s %s\n", a->name, a->help);
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(struct command *c);
} builtins[] = {
	{"cd", do_cd},	       {"exit", do_exit},   {"exec", do_exec}, {"export", do_export},
	{"unset", do_unset},   {"jobs", do_jobs},   {"wait", do_wait}, {"fg", do_fg},
	{"bg", do_bg},	       {"help", do_help},
};

static int is_builtin(const char *name)
{
	for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
		if (!strcmp(builtins[i].name, name))
			return 1;
	return 0;
}

static int builtin(struct command *c)
{
	for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
		if (!strcmp(builtins[i].name, c->argv[0])) {
			int status = builtins[i].fn(c);
			fflush(stdout);
			return status;
		}
	return 127;
}

/* --- input --- */

static volatile sig_atomic_t interrupted;
static void on_interrupt(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* One line of stdin, read a byte at a time: a command run from a script on
 * stdin must find the rest of it unread (`sh < script` with `cat` in it).
 * At an interactive prompt ^C abandons the line, as in bash: SIGINT is
 * caught (without SA_RESTART, so the read fails with EINTR) only while the
 * shell reads, and ignored again before anything is forked. */
static char *read_line(void)
{
	static struct buf line;
	line.len = 0;
	put(&line, "", 0);
	struct sigaction catch = {.sa_handler = on_interrupt}, ignore = {.sa_handler = SIG_IGN};
	if (sh.interactive)
		sigaction(SIGINT, &catch, NULL);
	interrupted = 0;
	char *result;
	for (;;) {
		char ch;
		ssize_t r = read(0, &ch, 1);
		if (r < 0 && errno == EINTR && interrupted) {
			fputs("\n", stderr);
			line.len = 0;
			line.s[0] = 0;
			result = line.s;
			break;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			result = line.len ? line.s : NULL;
			break;
		}
		if (ch == '\n') {
			result = line.s;
			break;
		}
		put(&line, &ch, 1);
	}
	if (sh.interactive)
		sigaction(SIGINT, &ignore, NULL);
	return result;
}

/* Runs each line of a script held in memory. */
static void run_text(char *text)
{
	while (text && *text) {
		char *nl = strchr(text, '\n');
		if (nl)
			*nl = 0;
		run_line(text);
		text = nl ? nl + 1 : NULL;
	}
}

int sh_main(int argc, char **argv)
{
	sh.pid = getpid();
	sh.argc = argc;
	sh.argv = argv;
	if (argc >= 3 && !strcmp(argv[1], "-c")) {
		/* sh -c COMMAND [NAME [ARGS...]]: $0 is NAME. */
		sh.argc = argc - 3;
		sh.argv = argv + 3;
		if (sh.argc == 0) {
			sh.argc = 1;
			sh.argv = argv;
		}
		run_text(argv[2]);
		fflush(stdout);
		return sh.status;
	}
	if (argc >= 2) {
		/* sh FILE [ARGS...]: $0 is FILE. */
		sh.argc = argc - 1;
		sh.argv = argv + 1;
		int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0) {
			fprintf(stderr, "sh: %s: %s\n", argv[1], strerror(errno));
			return 127;
		}
		char *text = calloc(1, st.st_size + 1);
		ssize_t got = text ? read(fd, text, st.st_size) : -1;
		close(fd);
		if (got < 0) {
			warn_errno("sh", argv[1]);
			return 2;
		}
		run_text(text);
		free(text);
		fflush(stdout);
		return sh.status;
	}
	/* Commands from stdin; with a prompt when a person is typing. */
	sh.interactive = isatty(0);
	if (sh.interactive) {
		/* ^C at the prompt must not end the shell (and power off). */
		signal(SIGINT, SIG_IGN);
		signal(SIGQUIT, SIG_IGN);
		/* Job control: the shell leads a process group of its own and
		 * gives the terminal to one job's group at a time; ^Z stops the
		 * job, never the shell. */
		signal(SIGTSTP, SIG_IGN);
		signal(SIGTTIN, SIG_IGN);
		signal(SIGTTOU, SIG_IGN);
		setpgid(0, 0);
		sh.pgid = getpgrp();
		tcsetpgrp(0, sh.pgid);
	}
	const char *prompt = geteuid() == 0 ? "cleave# " : "cleave$ ";
	for (;;) {
		if (sh.interactive) {
			notify_jobs();
			fputs(prompt, stderr);
		}
		char *line = read_line();
		if (!line)
			break;
		run_line(line);
		fflush(stdout);
	}
	if (sh.interactive)
		fputs("\n", stderr);
	return sh.status;
}

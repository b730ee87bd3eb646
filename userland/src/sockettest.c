/* AF_UNIX sockets, one case per run: `sockettest CASE`. Stream, datagram
 * and seqpacket sockets; socketpair, names in the file system and the
 * abstract namespace; the send and receive calls and their flags; files
 * and credentials passed in control messages; options; readiness; the
 * errnos of bad input; sockets shared by fork. The same source runs
 * natively (the reference) and under cleave; it prints only deterministic
 * facts, never pids, inode numbers or timings. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest.h"

/* A result: the value, or the errno's name. */
static const char *res(long r)
{
	static char buf[8][32];
	static int slot;
	char *b = buf[slot++ % 8];
	if (r < 0)
		snprintf(b, 32, "%s", strerrorname_np(errno));
	else
		snprintf(b, 32, "%ld", r);
	return b;
}

static const char *ev(int e)
{
	static const struct bit_name names[] = {{POLLIN, "IN"}, {POLLOUT, "OUT"}, {POLLERR, "ERR"}, {POLLHUP, "HUP"}, {POLLRDHUP, "RDHUP"}};
	return bit_names(e, names, sizeof names / sizeof names[0]);
}

static const char *pollfd1(int fd, int timeout)
{
	struct pollfd p = {fd, POLLIN | POLLOUT | POLLRDHUP, 0};
	int n = poll(&p, 1, timeout);
	return n < 0 ? err(n) : ev(p.revents);
}

static int sigpipes;
static void on_sigpipe(int sig)
{
	(void)sig;
	sigpipes++;
}

static struct sockaddr_un path_addr(const char *path, socklen_t *len)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	strcpy(a.sun_path, path);
	*len = offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1;
	return a;
}

static struct sockaddr_un abstract_addr(const char *name, socklen_t *len)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	memcpy(a.sun_path + 1, name, strlen(name));
	*len = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name);
	return a;
}

/* getsockname or getpeername as "len path" ("@name" for abstract). */
static const char *name_of(int fd, int peer)
{
	static char buf[2][160];
	static int slot;
	char *b = buf[slot++ % 2];
	struct sockaddr_un a;
	memset(&a, 0x55, sizeof a);
	socklen_t len = sizeof a;
	int r = peer ? getpeername(fd, (struct sockaddr *)&a, &len) : getsockname(fd, (struct sockaddr *)&a, &len);
	if (r < 0) {
		snprintf(b, 160, "%s", err(r));
		return b;
	}
	size_t off = offsetof(struct sockaddr_un, sun_path);
	if (len <= off)
		snprintf(b, 160, "len %u family %d", len, a.sun_family);
	else if (a.sun_path[0] == 0)
		snprintf(b, 160, "len %u abstract(%u)", len, (unsigned)(len - off - 1));
	else
		snprintf(b, 160, "len %u %s", len, strrchr(a.sun_path, '/') ? strrchr(a.sun_path, '/') + 1 : a.sun_path);
	return b;
}

static int sockopt(int fd, int name)
{
	int v = -1;
	socklen_t len = sizeof v;
	if (getsockopt(fd, SOL_SOCKET, name, &v, &len) < 0)
		return -1000 - errno;
	return v;
}

static int pair(int type, int sv[2])
{
	if (socketpair(AF_UNIX, type, 0, sv) < 0) {
		say("socketpair: %s", err(-1));
		exit(1);
	}
	return 0;
}

static int c_pair_stream(void)
{
	int sv[2];
	char buf[64];
	pair(SOCK_STREAM, sv);
	struct stat st;
	fstat(sv[0], &st);
	say("fstat sock %s mode %o", yesno(S_ISSOCK(st.st_mode)), st.st_mode & 0777);
	char link[64], path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", sv[0]);
	ssize_t n = readlink(path, link, sizeof link - 1);
	link[n > 0 ? n : 0] = 0;
	say("link starts socket:[ %s", yesno(!strncmp(link, "socket:[", 8)));
	say("type %d domain %d protocol %d acceptconn %d sndbuf %d", sockopt(sv[0], SO_TYPE),
	    sockopt(sv[0], SO_DOMAIN), sockopt(sv[0], SO_PROTOCOL), sockopt(sv[0], SO_ACCEPTCONN),
	    sockopt(sv[0], SO_SNDBUF));
	say("names: %s / %s", name_of(sv[0], 0), name_of(sv[0], 1));
	say("poll empty %s", pollfd1(sv[0], 0));
	say("write %s", res(write(sv[0], "hello", 5)));
	say("send %s", res(send(sv[0], " world", 6, 0)));
	say("poll data %s", pollfd1(sv[1], 0));
	int inq = -1;
	const char *got = res(ioctl(sv[1], FIONREAD, &inq));
	say("fionread %s %d", got, inq);
	n = recv(sv[1], buf, sizeof buf, MSG_PEEK);
	say("peek %s '%.*s'", res(n), (int)(n > 0 ? n : 0), buf);
	n = read(sv[1], buf, 3);
	say("read3 %s '%.*s'", res(n), (int)(n > 0 ? n : 0), buf);
	n = recv(sv[1], buf, sizeof buf, 0);
	say("recv %s '%.*s'", res(n), (int)(n > 0 ? n : 0), buf);
	say("dontwait %s", res(recv(sv[1], buf, sizeof buf, MSG_DONTWAIT)));
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	say("nonblock read %s", res(read(sv[1], buf, sizeof buf)));
	say("shutdown wr %s", res(shutdown(sv[0], SHUT_WR)));
	say("poll after shut %s / %s", pollfd1(sv[1], 0), pollfd1(sv[0], 0));
	say("read eof %s", res(read(sv[1], buf, sizeof buf)));
	signal(SIGPIPE, on_sigpipe);
	const char *r = res(write(sv[0], "x", 1));
	say("write after shut %s sigpipes %d", r, sigpipes);
	r = res(send(sv[0], "x", 1, MSG_NOSIGNAL));
	say("send nosignal %s sigpipes %d", r, sigpipes);
	say("reverse %s", res(write(sv[1], "back", 4)));
	close(sv[1]);
	say("poll peer closed %s", pollfd1(sv[0], 0));
	say("read left %s", res(read(sv[0], buf, sizeof buf)));
	say("read eof %s", res(read(sv[0], buf, sizeof buf)));
	say("shutdown bad %s", res(shutdown(sv[0], 7)));
	close(sv[0]);
	/* Peer closed with data unread: ECONNRESET once. */
	pair(SOCK_STREAM, sv);
	write(sv[0], "abc", 3);
	close(sv[1]);
	r = res(read(sv[0], buf, sizeof buf));
	say("reset read %s", r);
	r = res(read(sv[0], buf, sizeof buf));
	say("then %s", r);
	r = res(write(sv[0], "x", 1));
	say("reset write %s sigpipes %d", r, sigpipes);
	return 0;
}

static int c_pair_dgram(void)
{
	int sv[2];
	char buf[64];
	pair(SOCK_DGRAM, sv);
	say("type %d poll %s", sockopt(sv[0], SO_TYPE), pollfd1(sv[0], 0));
	send(sv[0], "one", 3, 0);
	send(sv[0], "", 0, 0);
	send(sv[0], "three33", 7, 0);
	int inq = -1;
	const char *got = res(ioctl(sv[1], FIONREAD, &inq));
	say("fionread %s %d", got, inq);
	say("recv %s", res(recv(sv[1], buf, sizeof buf, 0)));
	say("recv empty %s", res(recv(sv[1], buf, sizeof buf, 0)));
	say("recv trunc %s", res(recv(sv[1], buf, 2, 0)));
	send(sv[0], "longer", 6, 0);
	say("recv MSG_TRUNC %s", res(recv(sv[1], buf, 2, MSG_TRUNC)));
	send(sv[0], "flags", 5, 0);
	struct iovec iov = {buf, 3};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	const char *r = res(recvmsg(sv[1], &mh, 0));
	say("recvmsg %s flags %s", r, yesno(mh.msg_flags & MSG_TRUNC));
	say("dontwait %s", res(recv(sv[1], buf, sizeof buf, MSG_DONTWAIT)));
	int big = 300000;
	char *p = calloc(1, big);
	say("too big %s", res(send(sv[0], p, big, 0)));
	signal(SIGPIPE, on_sigpipe);
	int sd[2];
	pair(SOCK_DGRAM, sd);
	shutdown(sd[0], SHUT_WR);
	r = res(write(sd[0], "x", 1));
	say("write after shutdown %s sigpipes %d", r, sigpipes);
	free(p);
	close(sv[1]);
	say("poll peer closed %s", pollfd1(sv[0], 0));
	r = res(send(sv[0], "x", 1, 0));
	say("send closed %s", r);
	r = res(send(sv[0], "x", 1, 0));
	say("then %s", r);
	close(sv[0]);
	return 0;
}

static int c_pair_seqpacket(void)
{
	int sv[2];
	char buf[64];
	pair(SOCK_SEQPACKET, sv);
	say("type %d", sockopt(sv[0], SO_TYPE));
	send(sv[0], "one", 3, 0);
	send(sv[0], "twotwo", 6, 0);
	say("recv %s", res(recv(sv[1], buf, sizeof buf, 0)));
	say("recv trunc %s", res(recv(sv[1], buf, 3, 0)));
	say("dontwait %s", res(recv(sv[1], buf, sizeof buf, MSG_DONTWAIT)));
	signal(SIGPIPE, on_sigpipe);
	close(sv[1]);
	say("poll %s", pollfd1(sv[0], 0));
	say("read eof %s", res(read(sv[0], buf, sizeof buf)));
	const char *r = res(send(sv[0], "x", 1, 0));
	say("send %s sigpipes %d", r, sigpipes);
	r = res(write(sv[0], "x", 1));
	say("write %s sigpipes %d", r, sigpipes);
	close(sv[0]);
	return 0;
}

static int c_path(void)
{
	enter_scratch();
	socklen_t len;
	struct sockaddr_un a = path_addr("srv", &len);
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	say("listen unbound %s", err(listen(l, 5)));
	say("bind %s", err(bind(l, (struct sockaddr *)&a, len)));
	say("bind again %s", err(bind(l, (struct sockaddr *)&a, len)));
	struct stat st;
	const char *r = err(stat("srv", &st));
	say("stat %s sock %s mode %o", r, yesno(S_ISSOCK(st.st_mode)), st.st_mode & 0777);
	say("open %s", err(open("srv", O_RDWR)));
	int path = open("srv", O_PATH);
	r = err(fstat(path, &st));
	say("open O_PATH %s fstat %s sock %s", err(path), r, yesno(S_ISSOCK(st.st_mode)));
	close(path);
	say("truncate %s", err(truncate("srv", 0)));
	int other = socket(AF_UNIX, SOCK_STREAM, 0);
	say("bind taken %s", err(bind(other, (struct sockaddr *)&a, len)));
	say("accept unlistened %s", err(accept(l, NULL, NULL)));
	say("connect unlistened %s", err(connect(other, (struct sockaddr *)&a, len)));
	r = err(listen(l, 5));
	say("listen %s acceptconn %d", r, sockopt(l, SO_ACCEPTCONN));
	say("poll listener %s", pollfd1(l, 0));
	int inq = -1;
	say("listener fionread %s", err(ioctl(l, FIONREAD, &inq)));
	fcntl(l, F_SETFL, O_NONBLOCK);
	say("accept empty %s", err(accept(l, NULL, NULL)));
	int c = socket(AF_UNIX, SOCK_STREAM, 0);
	say("connect %s", err(connect(c, (struct sockaddr *)&a, len)));
	say("connect again %s", err(connect(c, (struct sockaddr *)&a, len)));
	say("poll listener %s", pollfd1(l, 0));
	say("client write before accept %s", res(write(c, "early", 5)));
	struct sockaddr_un peer;
	socklen_t plen = sizeof peer;
	int s = accept4(l, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
	say("accept4 %s addrlen %u nonblock %s cloexec %s", err(s), plen, yesno(fcntl(s, F_GETFL) & O_NONBLOCK),
	    yesno(fcntl(s, F_GETFD) & FD_CLOEXEC));
	say("server names: %s / %s", name_of(s, 0), name_of(s, 1));
	say("client names: %s / %s", name_of(c, 0), name_of(c, 1));
	say("listener names: %s / %s", name_of(l, 0), name_of(l, 1));
	char buf[16];
	say("server read %s", res(read(s, buf, sizeof buf)));
	struct ucred cr;
	socklen_t crl = sizeof cr;
	getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &crl);
	say("peercred len %u pid mine %s uid mine %s", crl, yesno(cr.pid == getpid()), yesno(cr.uid == geteuid()));
	crl = sizeof cr;
	getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &crl);
	say("server peercred pid mine %s", yesno(cr.pid == getpid()));
	int d = socket(AF_UNIX, SOCK_DGRAM, 0);
	say("dgram to stream %s", err(connect(d, (struct sockaddr *)&a, len)));
	r = err(listen(d, 1));
	say("listen dgram %s accept dgram %s", r, err(accept(d, NULL, NULL)));
	struct sockaddr_un none = path_addr("nobody", &len);
	say("connect missing %s", err(connect(other, (struct sockaddr *)&none, len)));
	close(open("plain", O_CREAT | O_WRONLY, 0644));
	struct sockaddr_un plain = path_addr("plain", &len);
	say("connect plain file %s", err(connect(other, (struct sockaddr *)&plain, len)));
	struct sockaddr_un nodir = path_addr("no/such", &len);
	say("bind no dir %s", err(bind(other, (struct sockaddr *)&nodir, len)));
	/* Backlog: nonblocking connects past it fail with EAGAIN. */
	struct sockaddr_un q = path_addr("queue", &len);
	int lq = socket(AF_UNIX, SOCK_STREAM, 0);
	bind(lq, (struct sockaddr *)&q, len);
	listen(lq, 1);
	int ok = 0;
	const char *last = "ok";
	for (int i = 0; i < 5; i++) {
		int x = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (connect(x, (struct sockaddr *)&q, len) == 0)
			ok++;
		else
			last = err(-1);
	}
	say("backlog 1: %d connected, then %s", ok, last);
	close(l);
	a = path_addr("srv", &len);
	int late = socket(AF_UNIX, SOCK_STREAM, 0);
	say("connect closed listener %s", err(connect(late, (struct sockaddr *)&a, len)));
	say("unlink %s", err(unlink("srv")));
	leave_scratch();
	return 0;
}

static int c_abstract(void)
{
	socklen_t len;
	char name[32];
	snprintf(name, sizeof name, "sockettest-abstract");
	struct sockaddr_un a = abstract_addr(name, &len);
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	say("bind %s", err(bind(l, (struct sockaddr *)&a, len)));
	int o = socket(AF_UNIX, SOCK_STREAM, 0);
	say("bind taken %s", err(bind(o, (struct sockaddr *)&a, len)));
	listen(l, 4);
	int c = socket(AF_UNIX, SOCK_STREAM, 0);
	say("connect %s", err(connect(c, (struct sockaddr *)&a, len)));
	int s = accept(l, NULL, NULL);
	say("accept %s names %s / %s", err(s), name_of(s, 0), name_of(c, 1));
	close(l);
	close(s);
	say("bind freed %s", err(bind(o, (struct sockaddr *)&a, len)));
	int au = socket(AF_UNIX, SOCK_DGRAM, 0);
	struct sockaddr_un fam = {.sun_family = AF_UNIX};
	const char *r = err(bind(au, (struct sockaddr *)&fam, sizeof(sa_family_t)));
	say("autobind %s name %s", r, name_of(au, 0));
	return 0;
}

static int c_dgram_addr(void)
{
	enter_scratch();
	socklen_t la, lb;
	struct sockaddr_un a = path_addr("a", &la), b = path_addr("b", &lb);
	int x = socket(AF_UNIX, SOCK_DGRAM, 0), y = socket(AF_UNIX, SOCK_DGRAM, 0);
	bind(x, (struct sockaddr *)&a, la);
	bind(y, (struct sockaddr *)&b, lb);
	say("send unconnected %s", err(send(x, "x", 1, 0)));
	say("sendto %s", res(sendto(x, "to-b", 4, 0, (struct sockaddr *)&b, lb)));
	char buf[32];
	struct sockaddr_un from;
	socklen_t fl = sizeof from;
	ssize_t n = recvfrom(y, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
	say("recvfrom %s from %u %s", res(n), fl, from.sun_path);
	int anon = socket(AF_UNIX, SOCK_DGRAM, 0);
	sendto(anon, "anon", 4, 0, (struct sockaddr *)&b, lb);
	fl = sizeof from;
	n = recvfrom(y, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
	say("recvfrom anon %s fromlen %u", res(n), fl);
	say("connect %s", err(connect(x, (struct sockaddr *)&b, lb)));
	say("send %s", res(send(x, "conn", 4, 0)));
	say("recv %s", res(recv(y, buf, sizeof buf, 0)));
	say("connect y to a %s", err(connect(y, (struct sockaddr *)&a, la)));
	say("third to y %s", err(sendto(anon, "no", 2, 0, (struct sockaddr *)&b, lb)));
	struct sockaddr_un none = path_addr("none", &lb);
	say("sendto missing %s", err(sendto(anon, "no", 2, 0, (struct sockaddr *)&none, lb)));
	int st = socket(AF_UNIX, SOCK_STREAM, 0);
	say("sendto stream unconnected %s", err(sendto(st, "x", 1, 0, (struct sockaddr *)&a, la)));
	say("sendto stream to dgram path via connect %s", err(connect(st, (struct sockaddr *)&a, la)));
	int self = socket(AF_UNIX, SOCK_DGRAM, 0);
	struct sockaddr_un me = path_addr("me", &lb);
	bind(self, (struct sockaddr *)&me, lb);
	say("sendto self %s", res(sendto(self, "own", 3, 0, (struct sockaddr *)&me, lb)));
	say("connect self %s", err(connect(self, (struct sockaddr *)&me, lb)));
	say("send self %s", res(send(self, "own2", 4, 0)));
	say("recv self %s then %s", res(recv(self, buf, sizeof buf, 0)), "-");
	say("recv self %s", res(recv(self, buf, sizeof buf, 0)));
	/* A queue of a socket not connected back holds 10 datagrams (+1). */
	int z = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	int qs = socket(AF_UNIX, SOCK_DGRAM, 0);
	struct sockaddr_un q = path_addr("q", &lb);
	bind(qs, (struct sockaddr *)&q, lb);
	int sent = 0;
	while (sendto(z, "q", 1, 0, (struct sockaddr *)&q, lb) == 1 && sent < 100)
		sent++;
	const char *why = err(-1);
	say("queued %d then %s, poll %s", sent, why, pollfd1(qs, 0));
	leave_scratch();
	return 0;
}

/* Sends fds (n of them) with `bytes` over `s`. */
static long send_fds(int s, const int *fds, int n, const char *bytes)
{
	char ctl[CMSG_SPACE(sizeof(int) * 8)];
	memset(ctl, 0, sizeof ctl);
	struct iovec iov = {(void *)bytes, strlen(bytes)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = CMSG_SPACE(sizeof(int) * n)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * n);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	return sendmsg(s, &mh, 0);
}

/* Receives with room for `room` bytes of control data: the fds got. */
static int recv_fds(int s, int *fds, size_t room, int flags, char *summary)
{
	char data[32], ctl[256];
	struct iovec iov = {data, sizeof data};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = room ? ctl : NULL, .msg_controllen = room};
	ssize_t n = recvmsg(s, &mh, flags);
	int got = 0;
	if (n >= 0)
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
				int k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
				memcpy(fds + got, CMSG_DATA(c), k * sizeof(int));
				got += k;
			}
	sprintf(summary, "%s bytes, %d fds, ctrunc %s controllen %zu", res(n), got, yesno(mh.msg_flags & MSG_CTRUNC),
		(size_t)mh.msg_controllen);
	return got;
}

static int c_rights(void)
{
	int sv[2], p[2], fds[8];
	char s[128], buf[16];
	pair(SOCK_STREAM, sv);
	pipe(p);
	say("send %s", res(send_fds(sv[0], &p[1], 1, "fd")));
	close(p[1]);
	int got = recv_fds(sv[1], fds, 256, MSG_CMSG_CLOEXEC, s);
	say("recv %s", s);
	say("cloexec %s", yesno(fcntl(fds[0], F_GETFD) & FD_CLOEXEC));
	write(fds[0], "via", 3);
	say("pipe read %s", res(read(p[0], buf, sizeof buf)));
	close(fds[0]);
	say("pipe eof %s", res(read(p[0], buf, sizeof buf)));
	close(p[0]);
	/* Too little room: the fd is dropped, MSG_CTRUNC. */
	pipe(p);
	int two[2] = {p[1], p[1]};
	send_fds(sv[0], two, 2, "xy");
	close(p[1]);
	got = recv_fds(sv[1], fds, CMSG_SPACE(sizeof(int)), 0, s);
	say("small room %s", s);
	for (int i = 0; i < got; i++)
		close(fds[i]);
	say("pipe eof after drop %s", res(read(p[0], buf, sizeof buf)));
	close(p[0]);
	pipe(p);
	send_fds(sv[0], &p[1], 1, "z");
	got = recv_fds(sv[1], fds, 0, 0, s);
	say("no room %s", s);
	close(p[1]);
	say("pipe eof %s", res(read(p[0], buf, sizeof buf)));
	close(p[0]);
	/* A read stops after the message that carried files. */
	pipe(p);
	write(sv[0], "before", 6);
	send_fds(sv[0], &p[0], 1, "with");
	write(sv[0], "after", 5);
	got = recv_fds(sv[1], fds, 256, 0, s);
	say("merged read %s", s);
	say("rest %s", res(read(sv[1], buf, sizeof buf)));
	close(fds[0]);
	/* Bad control messages. */
	int bad = 999;
	say("bad fd %s", err(send_fds(sv[0], &bad, 1, "b")));
	char ctl[64] = {0};
	struct iovec iov = {"c", 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
	struct cmsghdr *c = (struct cmsghdr *)ctl;
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = 77;
	c->cmsg_len = CMSG_LEN(4);
	say("bad type %s", err(sendmsg(sv[0], &mh, 0)));
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = 200;
	say("bad len %s", err(sendmsg(sv[0], &mh, 0)));
	c->cmsg_len = 8;
	say("short len %s", err(sendmsg(sv[0], &mh, 0)));
	c->cmsg_level = 99;
	c->cmsg_len = CMSG_LEN(4);
	say("other level %s", res(sendmsg(sv[0], &mh, 0)));
	mh.msg_control = (void *)8;
	say("control fault %s", err(sendmsg(sv[0], &mh, 0)));
	int many[300];
	for (int i = 0; i < 300; i++)
		many[i] = 0;
	char bigctl[CMSG_SPACE(sizeof many)];
	mh.msg_control = bigctl;
	mh.msg_controllen = sizeof bigctl;
	c = (struct cmsghdr *)bigctl;
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof many);
	memcpy(CMSG_DATA(c), many, sizeof many);
	say("too many fds %s", err(sendmsg(sv[0], &mh, 0)));
	/* Files in flight in a socket that closes are closed with it. */
	pipe(p);
	send_fds(sv[0], &p[1], 1, "lost");
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
	say("in flight, socket closed: pipe eof %s", res(read(p[0], buf, sizeof buf)));
	close(p[0]);
	/* A socket in its own queue, holding a pipe: only the collector
	 * frees them; it runs when another socket closes. */
	pipe(p);
	pair(SOCK_STREAM, sv);
	int cyc[2] = {sv[1], p[1]};
	send_fds(sv[0], cyc, 2, "cycle");
	close(p[1]);
	close(sv[1]);
	close(sv[0]);
	int other[2];
	pair(SOCK_DGRAM, other);
	close(other[0]);
	close(other[1]);
	say("cycle collected: pipe %s", pollfd1(p[0], 5000));
	return 0;
}

static int c_creds(void)
{
	int sv[2];
	char buf[16], ctl[128];
	pair(SOCK_DGRAM, sv);
	int on = 1;
	const char *r = err(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on));
	say("passcred %s get %d", r, sockopt(sv[1], SO_PASSCRED));
	send(sv[0], "c", 1, 0);
	struct iovec iov = {buf, sizeof buf};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
	r = res(recvmsg(sv[1], &mh, 0));
	say("recvmsg %s controllen %zu", r, (size_t)mh.msg_controllen);
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	if (c && c->cmsg_type == SCM_CREDENTIALS) {
		struct ucred u;
		memcpy(&u, CMSG_DATA(c), sizeof u);
		say("creds len %zu pid mine %s uid mine %s gid mine %s", (size_t)c->cmsg_len, yesno(u.pid == getpid()),
		    yesno(u.uid == getuid()), yesno(u.gid == getgid()));
	}
	/* Explicit credentials: one's own go through; another pid needs
	 * privilege. */
	char sctl[CMSG_SPACE(sizeof(struct ucred))];
	struct iovec siov = {"e", 1};
	struct msghdr smh = {.msg_iov = &siov, .msg_iovlen = 1, .msg_control = sctl, .msg_controllen = sizeof sctl};
	c = CMSG_FIRSTHDR(&smh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_CREDENTIALS;
	c->cmsg_len = CMSG_LEN(sizeof(struct ucred));
	struct ucred mine = {getpid(), getuid(), getgid()};
	memcpy(CMSG_DATA(c), &mine, sizeof mine);
	say("own creds %s", res(sendmsg(sv[0], &smh, 0)));
	struct ucred other = {getpid() + 1, getuid(), getgid()};
	memcpy(CMSG_DATA(c), &other, sizeof other);
	say("other pid (root %s) %s", yesno(geteuid() == 0), geteuid() == 0 ? "skipped" : err(sendmsg(sv[0], &smh, 0)));
	c->cmsg_len = CMSG_LEN(8);
	say("short creds %s", err(sendmsg(sv[0], &smh, 0)));
	struct ucred pc;
	socklen_t l = sizeof pc;
	getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &pc, &l);
	say("pair peercred pid mine %s", yesno(pc.pid == getpid()));
	return 0;
}

static int c_options(void)
{
	int s = socket(AF_UNIX, SOCK_STREAM, 0), v = 1;
	socklen_t l = sizeof v;
	const char *r = err(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, sizeof v));
	say("reuseaddr %s %d", r, sockopt(s, SO_REUSEADDR));
	r = err(setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof v));
	say("keepalive %s %d", r, sockopt(s, SO_KEEPALIVE));
	v = 10000;
	r = err(setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, sizeof v));
	say("sndbuf %s %d", r, sockopt(s, SO_SNDBUF));
	r = err(setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, sizeof v));
	say("rcvbuf %s %d", r, sockopt(s, SO_RCVBUF));
	v = 1;
	r = err(setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, sizeof v));
	say("sndbuf tiny %s %d", r, sockopt(s, SO_SNDBUF));
	say("error %d", sockopt(s, SO_ERROR));
	struct linger lg = {1, 5};
	say("linger %s", err(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg)));
	memset(&lg, 0, sizeof lg);
	l = sizeof lg;
	getsockopt(s, SOL_SOCKET, SO_LINGER, &lg, &l);
	say("linger get %d %d len %u", lg.l_onoff, lg.l_linger, l);
	say("short optlen %s", err(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, 2)));
	say("unknown opt %s", err(setsockopt(s, SOL_SOCKET, 9999, &v, sizeof v)));
	say("tcp level %s", err(setsockopt(s, 6, 1, &v, sizeof v)));
	l = sizeof v;
	say("get tcp level %s", err(getsockopt(s, 6, 1, &v, &l)));
	char small[2] = {0};
	l = 2;
	r = err(getsockopt(s, SOL_SOCKET, SO_TYPE, small, &l));
	say("get short %s len %u", r, l);
	int neg = -1;
	say("get neg len %s", err(getsockopt(s, SOL_SOCKET, SO_TYPE, &v, (socklen_t *)&neg)));
	struct timeval tv = {0, 100000};
	int sv[2];
	pair(SOCK_STREAM, sv);
	say("rcvtimeo %s", err(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv)));
	memset(&tv, 0, sizeof tv);
	l = sizeof tv;
	getsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, &l);
	say("rcvtimeo get %ld.%06ld", (long)tv.tv_sec, (long)tv.tv_usec);
	char buf[4];
	say("timed recv %s", err(recv(sv[0], buf, sizeof buf, 0)));
	tv.tv_usec = 2000000;
	say("bad timeval %s", err(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv)));
	return 0;
}

static int c_errors(void)
{
	int p[2], sv[2];
	char buf[8];
	pipe(p);
	say("family 46 %s, -1 %s", err(socket(46, SOCK_STREAM, 0)), err(socket(-1, SOCK_STREAM, 0)));
	say("type 11 %s, rdm %s, flags %s", err(socket(AF_UNIX, 11, 0)), err(socket(AF_UNIX, SOCK_RDM, 0)),
	    err(socket(AF_UNIX, SOCK_STREAM | 0x100, 0)));
	say("protocol %s", err(socket(AF_UNIX, SOCK_STREAM, 7)));
	int raw = socket(AF_UNIX, SOCK_RAW, 0);
	say("raw %s type %d", err(raw), sockopt(raw, SO_TYPE));
	say("socketpair fault %s", err(syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, 8L)));
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	say("notsock bind %s connect %s listen %s", err(bind(p[0], (struct sockaddr *)&a, 3)),
	    err(connect(p[0], (struct sockaddr *)&a, 3)), err(listen(p[0], 1)));
	say("notsock accept %s send %s recv %s", err(accept(p[0], NULL, NULL)), err(send(p[1], "x", 1, 0)),
	    err(recv(p[0], buf, 1, 0)));
	int v;
	socklen_t l = sizeof v;
	say("notsock getsockopt %s shutdown %s getsockname %s", err(getsockopt(p[0], SOL_SOCKET, SO_TYPE, &v, &l)),
	    err(shutdown(p[0], SHUT_RD)), err(getsockname(p[0], (struct sockaddr *)&a, &l)));
	say("badf send %s recv %s bind %s", err(send(-1, "x", 1, 0)), err(recv(999, buf, 1, 0)),
	    err(bind(77, (struct sockaddr *)&a, 3)));
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	say("addrlen 200 %s, 1 %s", err(bind(s, (struct sockaddr *)&a, 200)), err(bind(s, (struct sockaddr *)&a, 1)));
	a.sun_family = AF_INET;
	say("wrong family bind %s connect %s", err(bind(s, (struct sockaddr *)&a, 5)), err(connect(s, (struct sockaddr *)&a, 5)));
	say("addr fault %s", err(bind(s, (struct sockaddr *)8, 5)));
	say("unconnected recv %s send %s peer %s", err(recv(s, buf, 1, 0)), err(send(s, "x", 1, 0)),
	    err(getpeername(s, (struct sockaddr *)&a, &l)));
	say("shutdown unconnected %s", err(shutdown(s, SHUT_RDWR)));
	say("getsockname len fault %s", err(getsockname(s, (struct sockaddr *)&a, (socklen_t *)8)));
	say("accept4 flags %s", err(accept4(s, NULL, NULL, 0x10)));
	pair(SOCK_STREAM, sv);
	say("send fault %s", err(send(sv[0], (void *)8, 4, 0)));
	write(sv[0], "keep", 4);
	say("recv fault %s", err(recv(sv[1], (void *)8, 4, 0)));
	say("then recv %s", res(recv(sv[1], buf, sizeof buf, 0)));
	/* A socket is a file with no position, in sockfs. */
	say("pread %s pwrite %s lseek %s", err(pread(sv[0], buf, 1, 0)), err(pwrite(sv[0], "x", 1, 0)),
	    err(lseek(sv[0], 0, SEEK_SET)));
	struct statfs sf;
	const char *r = err(fstatfs(sv[0], &sf));
	say("fstatfs %s sockfs %s", r, yesno(sf.f_type == 0x534f434b));
	return 0;
}

static int c_blocking(void)
{
	int sv[2];
	char buf[64];
	pair(SOCK_STREAM, sv);
	pid_t pid = fork();
	if (pid == 0) {
		sleep_ms(50);
		write(sv[1], "part1", 5);
		sleep_ms(50);
		write(sv[1], "part2", 5);
		/* A big transfer, read whole by the parent. */
		static char big[1 << 20];
		for (size_t i = 0; i < sizeof big; i++)
			big[i] = i * 7;
		size_t off = 0;
		while (off < sizeof big) {
			ssize_t n = write(sv[1], big + off, sizeof big - off);
			if (n <= 0)
				_exit(1);
			off += n;
		}
		_exit(0);
	}
	close(sv[1]);
	say("blocking read %s", res(read(sv[0], buf, sizeof buf)));
	say("waitall %s", res(recv(sv[0], buf, 5, MSG_WAITALL)));
	static char got[1 << 20];
	say("waitall big %s", res(recv(sv[0], got, sizeof got, MSG_WAITALL)));
	int good = 1;
	for (size_t i = 0; i < sizeof got; i++)
		good &= got[i] == (char)(i * 7);
	say("intact %s", yesno(good));
	int st;
	waitpid(pid, &st, 0);
	say("child %d", WEXITSTATUS(st));
	say("eof %s", res(read(sv[0], buf, sizeof buf)));
	/* A signal: EINTR without SA_RESTART, the call goes on with it. */
	int sp[2];
	pair(SOCK_STREAM, sp);
	struct sigaction sa = {.sa_handler = on_sigpipe};
	sigaction(SIGALRM, &sa, NULL);
	pid = fork();
	if (pid == 0) {
		sleep_ms(100);
		kill(getppid(), SIGALRM);
		sleep_ms(100);
		write(sp[1], "r", 1);
		_exit(0);
	}
	say("interrupted %s", res(recv(sp[0], buf, sizeof buf, 0)));
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	waitpid(pid, &st, 0);
	read(sp[0], buf, sizeof buf);
	pid = fork();
	if (pid == 0) {
		sleep_ms(100);
		kill(getppid(), SIGALRM);
		sleep_ms(100);
		write(sp[1], "r", 1);
		_exit(0);
	}
	say("restarted %s", res(recv(sp[0], buf, sizeof buf, 0)));
	waitpid(pid, &st, 0);
	return 0;
}

static int c_poll_select(void)
{
	int sv[2];
	pair(SOCK_STREAM, sv);
	fd_set r, w;
	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_SET(sv[0], &r);
	FD_SET(sv[0], &w);
	struct timeval tv = {0, 0};
	int n = select(sv[0] + 1, &r, &w, NULL, &tv);
	say("select %d r %d w %d", n, FD_ISSET(sv[0], &r), FD_ISSET(sv[0], &w));
	pid_t pid = fork();
	if (pid == 0) {
		sleep_ms(50);
		write(sv[1], "x", 1);
		_exit(0);
	}
	struct pollfd p = {sv[0], POLLIN, 0};
	n = poll(&p, 1, 5000);
	say("poll wakes %d %s", n, ev(p.revents));
	waitpid(pid, NULL, 0);
	shutdown(sv[1], SHUT_RDWR);
	say("after peer shutdown %s", pollfd1(sv[0], 0));
	say("own %s", pollfd1(sv[1], 0));
	int u = socket(AF_UNIX, SOCK_STREAM, 0);
	say("unconnected %s", pollfd1(u, 0));
	int d = socket(AF_UNIX, SOCK_DGRAM, 0);
	say("unconnected dgram %s", pollfd1(d, 0));
	int sq = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	say("unconnected seqpacket %s", pollfd1(sq, 0));
	/* A full stream socket is not writable. */
	int f[2];
	pair(SOCK_STREAM, f);
	fcntl(f[0], F_SETFL, O_NONBLOCK);
	char chunk[4096] = {0};
	long total = 0;
	while (write(f[0], chunk, sizeof chunk) > 0)
		total += sizeof chunk;
	say("full %s: %s", err(-1), pollfd1(f[0], 0));
	char buf[4096];
	while (total > 0) {
		total -= read(f[1], buf, sizeof buf);
	}
	say("drained %s", pollfd1(f[0], 0));
	return 0;
}

/* A forking server: each connection is served by a child of its own. */
static int c_fork_server(void)
{
	enter_scratch();
	socklen_t len;
	struct sockaddr_un a = path_addr("server", &len);
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	bind(l, (struct sockaddr *)&a, len);
	listen(l, 8);
	enum { CLIENTS = 4 };
	for (int i = 0; i < CLIENTS; i++)
		if (fork() == 0) {
			close(l);
			int c = socket(AF_UNIX, SOCK_STREAM, 0);
			if (connect(c, (struct sockaddr *)&a, len) < 0)
				_exit(10);
			char msg[16], buf[16];
			int n = snprintf(msg, sizeof msg, "client%d", i);
			write(c, msg, n);
			shutdown(c, SHUT_WR);
			int got = recv(c, buf, sizeof buf, MSG_WAITALL);
			_exit(got == n && !memcmp(buf, "CLIENT", 6) ? 0 : 11);
		}
	int served = 0;
	for (int i = 0; i < CLIENTS; i++) {
		int s = accept(l, NULL, NULL);
		if (s < 0)
			break;
		if (fork() == 0) {
			close(l);
			char buf[16];
			int n = 0, r;
			while ((r = read(s, buf + n, sizeof buf - n)) > 0)
				n += r;
			for (int j = 0; j < n; j++)
				if (buf[j] >= 'a' && buf[j] <= 'z')
					buf[j] -= 32;
			write(s, buf, n);
			_exit(0);
		}
		close(s);
		served++;
	}
	int ok = 0, st;
	while (wait(&st) > 0)
		ok += WIFEXITED(st) && WEXITSTATUS(st) == 0;
	say("served %d, %d processes ended well", served, ok);
	leave_scratch();
	return 0;
}

/* fds passed both ways between a parent and its child. */
static int c_fork_pass(void)
{
	int sv[2];
	pair(SOCK_SEQPACKET, sv);
	pid_t pid = fork();
	if (pid == 0) {
		int p[2];
		pipe(p);
		write(p[1], "from child", 10);
		close(p[1]);
		send_fds(sv[1], &p[0], 1, "pipe");
		close(p[0]);
		int fds[2];
		char s[128];
		recv_fds(sv[1], fds, 256, 0, s);
		write(fds[0], "to parent", 9);
		_exit(0);
	}
	int fds[2];
	char s[128], buf[32];
	recv_fds(sv[0], fds, 256, 0, s);
	say("parent got %s", s);
	ssize_t n = read(fds[0], buf, sizeof buf);
	say("read %.*s", (int)(n > 0 ? n : 0), buf);
	int p[2];
	pipe(p);
	send_fds(sv[0], &p[1], 1, "back");
	close(p[1]);
	int st;
	waitpid(pid, &st, 0);
	n = read(p[0], buf, sizeof buf);
	say("child wrote %.*s", (int)(n > 0 ? n : 0), buf);
	say("then eof %s", res(read(p[0], buf, sizeof buf)));
	return 0;
}

static int c_mmsg(void)
{
	int sv[2];
	pair(SOCK_DGRAM, sv);
	struct mmsghdr m[3];
	struct iovec iov[3];
	char *words[3] = {"a", "bb", "ccc"};
	for (int i = 0; i < 3; i++) {
		iov[i] = (struct iovec){words[i], strlen(words[i])};
		m[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[i], .msg_iovlen = 1}};
	}
	const char *r = res(sendmmsg(sv[0], m, 3, 0));
	say("sendmmsg %s lens %u %u %u", r, m[0].msg_len, m[1].msg_len, m[2].msg_len);
	char bufs[4][8];
	struct mmsghdr rm[4];
	struct iovec riov[4];
	for (int i = 0; i < 4; i++) {
		riov[i] = (struct iovec){bufs[i], 8};
		rm[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &riov[i], .msg_iovlen = 1}};
	}
	r = res(recvmmsg(sv[1], rm, 4, MSG_WAITFORONE, NULL));
	say("recvmmsg %s lens %u %u %u", r, rm[0].msg_len, rm[1].msg_len, rm[2].msg_len);
	say("recvmmsg empty %s", err(recvmmsg(sv[1], rm, 4, MSG_DONTWAIT, NULL)));
	return 0;
}

static const struct guest_case cases[] = {
	{"pair_stream", c_pair_stream}, {"pair_dgram", c_pair_dgram},	{"pair_seqpacket", c_pair_seqpacket},
	{"path", c_path},		{"abstract", c_abstract},	{"dgram_addr", c_dgram_addr},
	{"rights", c_rights},		{"creds", c_creds},		{"options", c_options},
	{"errors", c_errors},		{"blocking", c_blocking},	{"poll_select", c_poll_select},
	{"fork_server", c_fork_server}, {"fork_pass", c_fork_pass},	{"mmsg", c_mmsg},
};

int main(int argc, char **argv)
{
	return run_case("sockettest", cases, sizeof cases / sizeof cases[0], argc, argv);
}

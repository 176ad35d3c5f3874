// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * -t: the container's process gets a terminal of its own, made inside the
 * container (its /dev/ptmx, after pivot_root) so that it names itself
 * /dev/pts/N there; the master goes back to the launcher over a socket
 * (SCM_RIGHTS, as runc's console socket), which relays it to its own
 * terminal in raw mode and passes window size changes.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "ctr.h"
#include "fsutil.h"

static int send_fd(int sock, int fd)
{
	char data = 't', cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { &data, 1 };
	struct msghdr m = { .msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &m, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

int ctr_tty_recv(int sock)
{
	char data, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &data, 1 };
	struct msghdr m = { .msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	int fd;

	if (recvmsg(sock, &m, MSG_CMSG_CLOEXEC) <= 0)
		return -EPIPE; /* it failed before: it says why elsewhere */
	c = CMSG_FIRSTHDR(&m);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -EPROTO;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

int ctr_tty_setup(int sock)
{
	int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC), slave;
	int unlock = 0, r;

	if (master < 0)
		return -errno;
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0 ||
	    (slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY)) < 0) {
		r = -errno;
		close(master);
		return r;
	}
	r = send_fd(sock, master);
	close(master);
	if (r == 0 &&
	    (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0 ||
	     dup2(slave, 0) < 0 || dup2(slave, 1) < 0 || dup2(slave, 2) < 0))
		r = -errno;
	if (slave > 2)
		close(slave);
	return r;
}

static int copy(int from, int to)
{
	char buf[4096];
	ssize_t n = read(from, buf, sizeof(buf));

	if (n <= 0)
		return -1;
	return cu_write_all(to, buf, n) < 0 ? -1 : 0;
}

void ctr_tty_relay(int master, volatile int *stop)
{
	struct termios saved, raw;
	bool is_tty = tcgetattr(STDIN_FILENO, &saved) == 0;
	struct pollfd p[2] = { { .fd = STDIN_FILENO, .events = POLLIN },
			       { .fd = master, .events = POLLIN } };
	struct winsize ws, last = { 0 };

	if (is_tty) {
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	}
	for (;;) {
		if (is_tty && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 &&
		    memcmp(&ws, &last, sizeof(ws))) {
			ioctl(master, TIOCSWINSZ, &ws);
			last = ws;
		}
		if (poll(p, 2, 200) < 0 && errno != EINTR)
			break;
		if ((p[1].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    copy(master, STDOUT_FILENO) < 0)
			break; /* the container's side is closed */
		if ((p[0].revents & (POLLIN | POLLHUP)) &&
		    copy(STDIN_FILENO, master) < 0)
			p[0].fd = -1; /* stdin ended: keep the output going */
		if (*stop && !(p[1].revents & POLLIN))
			break;
	}
	if (is_tty)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
}

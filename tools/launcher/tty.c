// SPDX-License-Identifier: GPL-2.0-or-later
/* -t: the container's process gets a pty of its own; the launcher relays
 * it to its own terminal, in raw mode, and passes window size changes. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "ctr.h"
#include "fsutil.h"

int ctr_tty_open(int *ret_master, int *ret_slave)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC), s;
	struct winsize ws;

	if (m < 0)
		return -errno;
	if (grantpt(m) < 0 || unlockpt(m) < 0 ||
	    (s = open(ptsname(m), O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
		int r = -errno;

		close(m);
		return r;
	}
	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
		ioctl(m, TIOCSWINSZ, &ws);
	*ret_master = m;
	*ret_slave = s;
	return 0;
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

	if (is_tty) {
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	}
	while (!*stop) {
		struct winsize ws;

		if (poll(p, 2, 200) < 0 && errno != EINTR)
			break;
		if (is_tty && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
			ioctl(master, TIOCSWINSZ, &ws);
		if ((p[1].revents & (POLLIN | POLLHUP)) &&
		    copy(master, STDOUT_FILENO) < 0)
			break; /* the container's side is closed */
		if ((p[0].revents & POLLIN) && copy(STDIN_FILENO, master) < 0)
			p[0].fd = -1; /* stdin ended: keep the output going */
	}
	if (is_tty)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
}

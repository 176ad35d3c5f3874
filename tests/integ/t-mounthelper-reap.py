#!/usr/bin/env python3
# t-mounthelper-reap.py CMD [ARG]...: run CMD as the child of a child
# subreaper (prctl PR_SET_CHILD_SUBREAPER), so that every process CMD
# starts that daemonizes (layerfs behind mount.fuse3, containerd's shims)
# is reparented here instead of to init, and its exit status can be known.
#
# Each such process, when it exits, gets one line in the file named by
# $LFS_REAP_LOG (set for CMD; a temp file removed at the end):
#     PID COMM EXIT      EXIT = the exit code, or -N for signal N
# CMD's own status is this program's exit status (128+N for signal N).
# Once CMD has exited, the others still running get up to 20 s to exit;
# their PIDs are printed on stderr if they do not (none are killed).
# TERM, INT and HUP are passed on to CMD.
import ctypes
import os
import signal
import sys
import tempfile
import time

PR_SET_CHILD_SUBREAPER = 36


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip().replace(" ", "_") or "?"
    except OSError:
        return "?"


def main(argv):
    if not argv:
        sys.exit("usage: t-mounthelper-reap.py CMD [ARG]...")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit(f"prctl(PR_SET_CHILD_SUBREAPER): "
                 f"{os.strerror(ctypes.get_errno())}")
    fd, log = tempfile.mkstemp(prefix="lfs-reap.", suffix=".log")
    out = os.fdopen(fd, "w", buffering=1)
    os.environ["LFS_REAP_LOG"] = log
    try:
        child = os.fork()
        if child == 0:
            # python ignores SIGPIPE and SIGXFSZ; CMD gets the defaults
            signal.signal(signal.SIGPIPE, signal.SIG_DFL)
            signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
            try:
                os.execvp(argv[0], argv)
            finally:
                os._exit(127)

        def forward(sig, _frame):
            try:
                os.kill(child, sig)
            except ProcessLookupError:
                pass

        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(s, forward)
        status = None
        deadline = None
        while True:
            flags = os.WEXITED | os.WNOWAIT
            if deadline is not None:
                flags |= os.WNOHANG
            try:
                info = os.waitid(os.P_ALL, 0, flags)
            except ChildProcessError:
                break
            if info is None:  # WNOHANG: some still run
                if time.monotonic() > deadline:
                    left = sorted(int(p) for p in os.listdir("/proc")
                                  if p.isdigit() and
                                  _ppid(int(p)) == os.getpid())
                    print(f"t-mounthelper-reap.py: still running after "
                          f"{argv[0]}: {left}", file=sys.stderr)
                    break
                time.sleep(0.05)
                continue
            pid = info.si_pid
            name = comm(pid)  # a zombie still has its comm
            _, st = os.waitpid(pid, 0)
            code = os.waitstatus_to_exitcode(st)
            if pid == child:
                status = code if code >= 0 else 128 - code
                deadline = time.monotonic() + 20
            else:
                out.write(f"{pid} {name} {code}\n")
        return status if status is not None else 1
    finally:
        out.close()
        os.unlink(log)


def _ppid(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return -1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""A program on a pseudo-terminal, as a person at a terminal runs it: the child is a session
leader with the pty as its controlling terminal and in its foreground process group (or,
background=True, in a process group of its own that is not the foreground one, as a shell
runs `cmd &`). send() types, expect() waits for output."""
import os
import pty
import re
import select
import signal
import time

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")


class Pty:
    def __init__(self, argv, env=None, cwd=None, background=False, cols=100, rows=30):
        self.out = b""
        pid, fd = pty.fork()
        if pid == 0:
            try:
                if cwd:
                    os.chdir(cwd)
                if background:
                    # a shell's `&`: a child in a new process group, not the foreground one
                    child = os.fork()
                    if child != 0:
                        os.setpgid(child, child)
                        _, st = os.waitpid(child, 0)
                        os._exit(os.waitstatus_to_exitcode(st) & 0xff)
                    os.setpgid(0, 0)
                os.execvpe(argv[0], argv, env or os.environ)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        import fcntl
        import struct
        import termios
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def read(self, t=0.1):
        end = time.monotonic() + t
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            r, _, _ = select.select([self.fd], [], [], left)
            if not r:
                return
            try:
                data = os.read(self.fd, 65536)
            except OSError:
                return
            if not data:
                return
            self.out += data

    def text(self):
        return self.out.decode("utf-8", "replace")

    def plain(self):
        """The output without escape sequences and carriage returns."""
        return ANSI.sub("", self.text())

    def expect(self, what, timeout=10, start=0):
        """Waits until what (a string or compiled regex) appears in plain() after offset
        start; returns the offset just past it."""
        end = time.monotonic() + timeout
        while True:
            p = self.plain()
            m = what.search(p, start) if hasattr(what, "search") else None
            if m:
                return m.end()
            if not hasattr(what, "search"):
                i = p.find(what, start)
                if i >= 0:
                    return i + len(what)
            if time.monotonic() > end:
                raise AssertionError(f"did not see {what!r} on the terminal; got:\n{p[-3000:]}")
            self.read(0.05)

    def send(self, s):
        data = s.encode() if isinstance(s, str) else s
        while data:
            n = os.write(self.fd, data[:1024])
            data = data[n:]
            self.read(0.01)

    def alive(self):
        pid, _ = os.waitpid(self.pid, os.WNOHANG)
        return pid == 0

    def wait(self, timeout=10):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.read(0.05)
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.read(0.05)
                return os.waitstatus_to_exitcode(st)
        raise AssertionError("the program on the terminal did not exit:\n" + self.plain()[-2000:])

    def kill(self, sig=signal.SIGTERM):
        try:
            os.kill(self.pid, sig)
        except ProcessLookupError:
            pass

    def close(self):
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        try:
            os.close(self.fd)
        except OSError:
            pass

#!/usr/bin/env python3
"""pty_run.py - runs a command on a pseudo-terminal, as a person would.

    pty_run.py [--answer TEXT --after PROMPT] [--timeout S] -- CMD ARGS...

stdin, stdout and stderr of CMD are the pty's slave side, so isatty() holds for
all three. Everything CMD writes is copied raw to our stdout (carriage returns
and all); when PROMPT appears in it, TEXT and a newline are typed. Exits with
CMD's exit status (124 if it outlives the timeout).
"""
import argparse
import os
import pty
import select
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--answer")
    ap.add_argument("--after")
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    seen = b""
    answered = a.answer is None
    deadline = time.monotonic() + a.timeout
    while True:
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            sys.exit(124)
        r, _, _ = select.select([fd], [], [], 0.1)
        if not r:
            continue
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO: the child and every holder of the slave side are gone
            data = b""
        if not data:
            break
        seen += data
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        if not answered and a.after.encode() in seen:
            os.write(fd, a.answer.encode() + b"\n")
            answered = True
    _, status = os.waitpid(pid, 0)
    sys.exit(os.waitstatus_to_exitcode(status))


if __name__ == "__main__":
    main()

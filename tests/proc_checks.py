"""What the process and file tests check through /proc: this process's children by command name
(a zombie is still a child, in state Z, and keeps its name) and its open pipes and pidfds."""

import os
import time
import types

import tonio


def children(name=None):
    """{pid: state} of this process's children, those whose command name is ``name`` if given
    (a zombie keeps its name; its command line is gone)."""
    found = {}
    me = os.getpid()
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open(f'/proc/{entry}/stat') as stat:
                line = stat.read()
        except OSError:
            continue  # exited meanwhile
        comm = line[line.index('(') + 1 : line.rindex(')')]
        state, ppid = line[line.rindex(')') + 2 :].split()[:2]
        if int(ppid) == me and (name is None or comm == name):
            found[int(entry)] = state
    return found


def pipes_and_pidfds():
    """{fd: target} of this process's open pipes and pidfds (a pipe's target names its inode,
    so a descriptor number reused for another pipe is a different entry)."""
    found = {}
    for entry in os.listdir('/proc/self/fd'):
        try:
            target = os.readlink(f'/proc/self/fd/{entry}')
        except OSError:
            continue  # the directory's own descriptor, closed by now
        if target.startswith('pipe:') or 'pidfd' in target:
            found[int(entry)] = target
    return found


def leaked(before):
    """The pipes and pidfds open now that were not in ``before`` (``pipes_and_pidfds()`` taken
    earlier). Descriptors closed meanwhile by anyone else do not count."""
    return {fd: target for fd, target in pipes_and_pidfds().items() if before.get(fd) != target}


@types.coroutine
def wait_for_child(name, timeout=5.0):
    """The pid of the (one) child named ``name``, once it exists (yield or await it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = children(name)
        if found:
            (pid,) = found
            return pid
        yield tonio.sleep(0.002)
    raise AssertionError(f'no child named {name!r} appeared within {timeout}s')


def assert_gone(pid):
    """``pid`` was reaped: it is not (even as a zombie) our child any more."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return
    raise AssertionError(f'child {pid} was not reaped')

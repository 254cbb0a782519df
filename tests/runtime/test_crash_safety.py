"""Nothing a user does may crash the process.

Every case runs in a fresh interpreter (`python -c`), so a segfault or an abort fails that case
instead of killing pytest. Each script prints ``OK`` when the misuse was met with the expected
Python exception; the test checks the exit code, the ``OK`` and an empty stderr (no traceback
escaped, no "coroutine was never awaited" warning). On the free-threaded build the scripts run
several workers truly in parallel; the racy ones are repeated inside the script.
"""

import subprocess
import sys
import textwrap

import pytest
from tests.conftest import FREE_THREADED

PRELUDE = """
import asyncio, gc, sys, threading, types, warnings
import tonio, tonio.colored
warnings.simplefilter('error')

def expect(error, fragment, call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except error as raised:
        assert fragment in str(raised), f'{fragment!r} not in {raised!r}'
    else:
        raise AssertionError(f'{call} did not raise {error.__name__}')

def gen(n=1):
    for _ in range(n):
        yield
    return n

async def coro(n=1):
    for _ in range(n):
        await tonio.colored.yield_now()
    return n
"""


def run_script(body, timeout=60, stderr=''):
    script = PRELUDE + textwrap.dedent(body) + "\nprint('OK')\n"
    done = subprocess.run(
        [sys.executable, '-X', 'faulthandler', '-c', script],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, f'exit {done.returncode}\n{done.stdout}\n{done.stderr}'
    assert done.stdout.strip().endswith('OK'), done.stdout
    assert stderr in done.stderr, done.stderr
    assert done.stderr.replace(stderr, '') == '' or stderr, done.stderr


THREADS = [1, 4] if FREE_THREADED else [1, 2]


@pytest.mark.parametrize('threads', THREADS)
def test_the_same_coroutine_twice_in_one_call(threads):
    run_script(f"""
    for make in (gen, coro):
        for _ in range(50):
            c = make(100)
            def main():
                expect(RuntimeError, 'arguments 1 and 2 are the same coroutine', tonio.spawn, c, c)
                others = [make(), make()]
                expect(RuntimeError, 'arguments 2 and 4', tonio.spawn.without_results,
                       others[0], c, others[1], c)
                for other in others:  # a refused call leaves its arguments to the caller
                    other.close()
                expect(RuntimeError, 'the same coroutine', tonio.spawn.without_tracking, c, c)
                return (yield tonio.spawn(c))
            assert tonio.run(main(), threads={threads}) == 100
    """)


@pytest.mark.parametrize('threads', THREADS)
def test_the_same_coroutine_given_to_two_tasks_by_two_calls(threads):
    # If the first task already started when the second call comes, that call refuses it; if
    # not, both calls see a coroutine that never ran, and the task that starts second fails.
    run_script(f"""
    for make in (gen, coro):
        for _ in range(100):
            c = make(50)
            def main():
                first = tonio.spawn(c)
                try:
                    second = tonio.spawn(c)
                except RuntimeError as error:
                    assert 'this coroutine' in str(error), error
                    return [str((yield first)), 'refused']
                outcomes = []
                for handle in (first, second):
                    try:
                        outcomes.append((yield handle))
                    except RuntimeError as error:
                        assert 'started by someone else' in str(error), error
                        outcomes.append('refused')
                return sorted(map(str, outcomes))
            assert tonio.run(main(), threads={threads}) == ['50', 'refused']
    """)


@pytest.mark.parametrize('threads', THREADS)
def test_started_running_and_finished_coroutines_are_refused_at_the_call(threads):
    run_script(f"""
    finished = gen(0)
    for _ in finished:
        pass
    suspended = gen(5)
    next(suspended)
    async def done_coro():
        return 1
    spent = done_coro()
    try:
        spent.send(None)
    except StopIteration:
        pass

    def main():
        me = tonio.spawn  # the running root coroutine, found below
        for call in (tonio.spawn, tonio.spawn.without_results, tonio.spawn.without_tracking):
            expect(RuntimeError, 'has already finished', call, finished)
            expect(RuntimeError, 'was already started', call, suspended)
            expect(RuntimeError, 'has already finished', call, spent)
        expect(RuntimeError, 'is running right now', tonio.spawn, root)
        with tonio.scope() as s:
            expect(RuntimeError, 'was already started', s.spawn, suspended)
            expect(RuntimeError, 'is running right now', s.spawn, root)
        yield s()
        for combinator in (tonio.select, tonio.as_completed):
            expect(RuntimeError, 'was already started', combinator, gen(), suspended)
            expect(RuntimeError, 'the same coroutine', combinator, *[gen()] * 2)
        expect(RuntimeError, 'has already finished', tonio.time.timeout, finished, 1)
        expect(RuntimeError, 'is running right now', tonio.map, lambda _: root, [1])
        return 'done'

    root = main()
    assert tonio.run(root, threads={threads}) == 'done'
    for entry in (finished, spent):
        expect(RuntimeError, 'has already finished', tonio.run, entry)
    expect(RuntimeError, 'was already started', tonio.run, suspended)
    suspended.close()
    """)


def test_block_on_refuses_a_started_coroutine():
    run_script("""
    suspended = gen(5)
    next(suspended)

    def blocking():
        expect(RuntimeError, 'was already started', tonio.block_on, suspended)
        return tonio.block_on(gen(3))

    def main():
        return (yield tonio.spawn_blocking(blocking))

    assert tonio.run(main()) == 3
    suspended.close()
    """)


@pytest.mark.parametrize('threads', THREADS)
def test_one_generator_yielded_inline_by_two_tasks_at_once(threads):
    # No call can see this coming: both tasks resume the same generator. It must surface as an
    # exception in (at least) one of them, never as a crash.
    run_script(f"""
    def shared_work():
        for _ in range(200):
            yield
        return 'shared'

    def user(shared):
        try:
            return (yield shared)
        except (ValueError, RuntimeError) as error:
            return type(error).__name__

    for _ in range(200):
        shared = shared_work()
        def main():
            return (yield tonio.spawn(*(user(shared) for _ in range(4))))
        outcomes = tonio.run(main(), threads={threads})
        assert 'shared' in outcomes or set(outcomes) <= {{'ValueError', None}}, outcomes
    """)


def test_foreign_coroutines():
    run_script("""
    loop = asyncio.new_event_loop()
    async def asyncio_waiter():
        await loop.create_future()

    # An asyncio coroutine in a tonio task: a TypeError inside it, naming asyncio.
    def main():
        try:
            yield tonio.spawn(asyncio_waiter())
        except TypeError as error:
            return str(error)
    assert 'asyncio' in tonio.run(main())
    loop.close()

    # A coroutine suspended in an asyncio loop on another thread: refused at the call.
    started = threading.Event()
    holder = {}
    async def in_asyncio():
        holder['loop'] = asyncio.get_running_loop()
        holder['event'] = asyncio.Event()
        started.set()
        await holder['event'].wait()
    def loop_thread():
        holder['coro'] = in_asyncio()
        asyncio.run(holder['coro'])
    thread = threading.Thread(target=loop_thread)
    thread.start()
    started.wait(10)
    def steal():
        expect(RuntimeError, 'this coroutine', tonio.spawn, holder['coro'])
        yield
    tonio.run(steal())
    holder['loop'].call_soon_threadsafe(holder['event'].set)
    thread.join(10)

    # A coroutine suspended in another tonio runtime, running on another thread.
    parked = threading.Event()
    def in_other_runtime():
        parked.set()
        yield tonio.sleep(0.2)
    other = in_other_runtime()
    runner = threading.Thread(target=tonio.run, args=(other,))
    runner.start()
    parked.wait(10)
    def steal_again():
        expect(RuntimeError, 'this coroutine', tonio.spawn, other)
        yield
    tonio.run(steal_again())
    runner.join(10)
    """)


def test_odd_objects_at_every_entry_point():
    run_script("""
    def target():
        return 1
    odd = [None, 1, 'x', b'x', [], target, gen, tonio.Event(), object()]

    for value in odd:
        expect(TypeError, 'must be a generator or coroutine', tonio.run, value)
    expect(TypeError, 'must be a number of seconds', tonio.sleep, 'x')
    expect(TypeError, 'must be a number of seconds', tonio.sleep, True)
    expect(TypeError, 'must be a number of seconds', tonio.sleep, None)
    expect(ValueError, 'NaN', tonio.sleep, float('nan'))
    expect(TypeError, 'must be a number of seconds', tonio.Event().wait, 'soon')
    expect(TypeError, 'must be a number of seconds', tonio.Event().wait, False)
    expect(TypeError, 'takes Events and Waiters', tonio.Waiter.any, 1)
    expect(TypeError, 'needs at least one', tonio.Waiter.all)
    expect(TypeError, 'only a Waiter.checkpoint', tonio.sleep(1).abort)
    expect(RuntimeError, 'must be called from a task', tonio.spawn, gen())
    expect(RuntimeError, 'must be called from a task', tonio.scope)
    expect(ValueError, 'threads must be at least 1', tonio.runtime, threads=0)
    expect(TypeError, 'interval period', tonio.time.interval, 'x')

    def main():
        for value in odd:
            if not isinstance(value, types.GeneratorType):
                expect(TypeError, 'coroutine object, a Waiter', tonio.spawn, value)
        expect(TypeError, 'did you forget to call it', tonio.spawn, gen)
        expect(TypeError, 'cancel_on_exc and must be a bool', tonio.scope, 1.5)
        expect(TypeError, 'must be a number of seconds', tonio.scope, timeout='x')
        expect(TypeError, 'must be callable', tonio.spawn_blocking, 42)
        expect(TypeError, 'must be callable', tonio.map, 42, [1])
        expect(TypeError, 'cannot combine a yield_now wait', tonio.Waiter.any, tonio.yield_now())
        expect(RuntimeError, 'cannot be called from a task', tonio.block_on, gen())
        expect(RuntimeError, 'inside a running tonio task', tonio.run, gen())
        # Yielding odd objects raises inside the task, at the yield.
        for value in (1, 'x', object(), target):
            try:
                yield value
            except TypeError as error:
                assert 'a tonio task yielded' in str(error)
            else:
                raise AssertionError('yielding an odd object did not raise')
        waiter = tonio.sleep(0)
        yield waiter
        try:
            yield waiter
        except RuntimeError as error:
            assert 'already yielded' in str(error)
        return 'done'

    assert tonio.run(main()) == 'done'
    """)


@pytest.mark.parametrize('threads', THREADS)
def test_plain_threads_hammering_a_runtime(threads):
    # Plain threads set and clear events the tasks wait on, and try to run the busy runtime.
    run_script(f"""
    events = [tonio.Event() for _ in range(8)]
    stop, started = threading.Event(), threading.Event()
    rt = tonio.runtime(threads={threads})
    refused = []

    def hammer():
        started.wait(10)
        while not stop.is_set():
            for event in events:
                event.set()
                event.clear()
            try:
                rt.run_until_complete(gen())
            except RuntimeError as error:
                refused.append(str(error))

    def waiter(index):
        for _ in range(300):
            yield events[index % 8].wait(0.001)
        return index

    def main():
        started.set()
        return (yield tonio.spawn(*(waiter(index) for index in range(64))))

    hammers = [threading.Thread(target=hammer) for _ in range(3)]
    for thread in hammers:
        thread.start()
    try:
        assert rt.run_until_complete(main()) == list(range(64))
    finally:
        stop.set()
        for thread in hammers:
            thread.join(10)
        rt.close()
    """)


def test_an_internal_panic_fails_the_task_and_the_runtime_goes_on():
    run_script(
        """
    from tonio._tonio import _internal_panic_waiter

    def victim():
        yield _internal_panic_waiter()

    def main():
        outcome = None
        try:
            yield tonio.spawn(victim())
        except RuntimeError as error:
            outcome = str(error)
        # The worker survived: more work runs.
        values = yield tonio.spawn(gen(3), gen(4))
        return outcome, values

    outcome, values = tonio.run(main(), threads=2)
    assert 'internal error' in outcome, outcome
    assert values == [3, 4]
    """,
        stderr='deliberate panic',
    )


FINALIZER = """
import sys
import tonio
from tonio._tonio import Runtime

def main():
    yield tonio.sleep(0.001)
    return 42

class Holder:
    # Collected with its reference cycle once the interpreter is finalizing (after atexit).
    def __init__(self):
        self.runtime = Runtime(threads=THREADS)
        assert self.runtime.run_until_complete(main()) == 42
        self.cycle = self

    def __del__(self):
        print('finalizing', sys.is_finalizing(), flush=True)
        ACTION
        print('done', flush=True)

Holder()
"""


@pytest.mark.parametrize('threads', THREADS)
@pytest.mark.parametrize(
    'action',
    [
        # Its parked workers cannot re-attach to exit: they are left parked, the runtime closed.
        'self.runtime.close(); assert self.runtime.closed',
        # Dropped unclosed: the same.
        'del self.runtime',
        # A new runtime's workers could never attach: a clear error instead.
        """
        try:
            Runtime(threads=THREADS)
        except RuntimeError as error:
            assert 'shutting down' in str(error), error
        else:
            raise AssertionError('a runtime was created during finalization')
        """,
    ],
    ids=['close', 'drop', 'create'],
)
def test_a_runtime_met_while_the_interpreter_finalizes(threads, action):
    action = textwrap.indent(textwrap.dedent(action).strip(), ' ' * 8).strip()
    script = FINALIZER.replace('ACTION', action).replace('THREADS', str(threads))
    done = subprocess.run(
        [sys.executable, '-X', 'faulthandler', '-c', script],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, f'exit {done.returncode}\n{done.stdout}\n{done.stderr}'
    assert done.stdout.split() == ['finalizing', 'True', 'done'], done.stdout + done.stderr
    assert done.stderr == '', done.stderr

"""The pytest plugin (tonio.testing.pytest_plugin), run on test files of its own with pytester."""

import importlib.metadata
import signal
import textwrap

import pytest

ARGS = ('-p', 'no:cacheprovider')


def run(pytester, source, *args, ini=None, conftest=None):
    if ini is not None:
        pytester.makeini(f'[pytest]\n{textwrap.dedent(ini)}')
    if conftest is not None:
        pytester.makeconftest(textwrap.dedent(conftest))
    pytester.makepyfile(textwrap.dedent(source))
    return pytester.runpytest(*ARGS, *args)


def test_the_plugin_is_registered_as_the_tonio_entry_point():
    (entry,) = [
        entry
        for entry in importlib.metadata.entry_points(group='pytest11')
        if entry.name == 'tonio'
    ]
    assert entry.value == 'tonio.testing.pytest_plugin'


def test_marked_tests_of_both_syntaxes_run_on_the_runtime(pytester):
    result = run(
        pytester,
        """
        import pytest
        import tonio
        import tonio.colored
        from tonio._tonio import _runtime_stats

        @pytest.mark.tonio
        def test_generator():
            ok = yield tonio.Event().wait(0.001)
            assert ok is False
            assert _runtime_stats()['tasks'] >= 1  # raises off a runtime

        @pytest.mark.tonio
        async def test_coroutine():
            await tonio.colored.sleep(0.001)
            assert await tonio.colored.spawn(child()) == 7

        async def child():
            return 7

        @pytest.mark.tonio
        async def test_failing():
            await tonio.colored.sleep(0)
            assert 1 == 2

        @pytest.mark.tonio
        def test_failing_generator():
            yield tonio.sleep(0)
            raise ValueError('from a generator test')
        """,
    )
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(['*assert 1 == 2*', '*ValueError: from a generator test*'])


def test_unmarked_tests_are_left_to_pytest_in_strict_mode(pytester):
    result = run(
        pytester,
        """
        async def test_coroutine():
            pass

        def test_plain():
            pass
        """,
    )
    # pytest itself refuses an async test that no plugin ran.
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(['*async def functions are not natively supported*'])


def test_module_and_class_marks(pytester):
    result = run(
        pytester,
        """
        import pytest
        import tonio
        import tonio.colored

        pytestmark = pytest.mark.tonio

        def test_generator():
            yield tonio.sleep(0)

        async def test_coroutine():
            await tonio.colored.sleep(0)

        def test_plain_tests_stay_plain():
            assert True
        """,
    )
    result.assert_outcomes(passed=3)
    pytester.makepyfile(
        test_class=textwrap.dedent(
            """
            import pytest
            import tonio
            import tonio.colored

            @pytest.mark.tonio
            class TestMarked:
                value = 3

                def test_generator(self):
                    yield tonio.sleep(0)
                    assert self.value == 3

                async def test_coroutine(self):
                    await tonio.colored.sleep(0)
                    assert self.value == 3
            """
        )
    )
    pytester.runpytest(*ARGS, 'test_class.py').assert_outcomes(passed=2)


def test_auto_mode_runs_every_generator_and_async_test(pytester):
    result = run(
        pytester,
        """
        import pytest
        import tonio
        import tonio.colored

        @pytest.fixture
        async def value():
            await tonio.colored.sleep(0)
            return 5

        async def test_coroutine(value):
            await tonio.colored.sleep(0)
            assert value == 5

        def test_generator():
            yield tonio.sleep(0)

        def test_a_sync_test_gets_async_fixtures_too(value):
            assert value == 5
        """,
        ini='tonio_mode = auto',
    )
    result.assert_outcomes(passed=3)


@pytest.mark.parametrize(
    ('ini', 'message'),
    [
        ('tonio_mode = sometimes', '*tonio_mode must be "strict" or "auto"*'),
        ('tonio_timeout = soon', '*tonio_timeout must be a number of seconds*'),
        ('tonio_timeout = -1', '*tonio_timeout must be a number of seconds*'),
    ],
)
def test_bad_configuration_is_a_usage_error(pytester, ini, message):
    result = run(pytester, 'def test_nothing(): pass', ini=ini)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_the_default_runtime_is_one_per_session_with_context_and_two_threads(pytester):
    result = run(
        pytester,
        """
        import contextvars
        import pytest
        import tonio.colored as tonio

        seen = []
        var = contextvars.ContextVar('var', default='unset')

        async def read():
            return var.get()

        @pytest.mark.tonio
        async def test_first(tonio_runtime):
            seen.append(tonio_runtime)
            assert tonio_runtime.threads == 2
            var.set('set by the test')
            # context=True: a task runs in a copy of its spawner's context.
            assert await tonio.spawn(read()) == 'set by the test'

        @pytest.mark.tonio
        def test_second(tonio_runtime):
            seen.append(tonio_runtime)
            yield tonio.sleep(0)

        def test_same_runtime():
            assert len(seen) == 2 and seen[0] is seen[1]
            assert not seen[0].closed
        """,
    )
    result.assert_outcomes(passed=3)


def test_runtime_options_come_from_the_options_fixture(pytester):
    result = run(
        pytester,
        """
        import pytest
        import tonio

        @pytest.mark.tonio
        def test_an_hour_passes_at_once(tonio_runtime):
            assert tonio_runtime.threads == 1
            start = tonio.time.time()
            yield tonio.sleep(3600)
            assert tonio.time.time() - start == pytest.approx(3600)
        """,
        conftest="""
        import pytest

        @pytest.fixture(scope='session')
        def tonio_runtime_options():
            return {'virtual_clock': True, 'threads': 1}
        """,
    )
    result.assert_outcomes(passed=1)


def test_bad_runtime_options_fail_the_tests_clearly(pytester):
    result = run(
        pytester,
        """
        import pytest

        @pytest.mark.tonio
        async def test_coroutine():
            pass
        """,
        conftest="""
        import pytest

        @pytest.fixture(scope='session')
        def tonio_runtime_options():
            return {'thread': 4}
        """,
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*unexpected keyword argument 'thread'*"])


def test_a_module_can_use_a_runtime_of_its_own(pytester):
    result = run(
        pytester,
        """
        import pytest
        import tonio

        @pytest.fixture(scope='module')
        def tonio_runtime():
            with tonio.runtime(threads=3, virtual_clock=True) as runtime:
                yield runtime

        @pytest.mark.tonio
        def test_own_runtime(tonio_runtime):
            assert tonio_runtime.threads == 3
            yield tonio.sleep(3600)
        """,
    )
    result.assert_outcomes(passed=1)


def test_async_fixtures_run_on_the_runtime_with_their_teardown(pytester):
    result = run(
        pytester,
        """
        import pytest
        import tonio.colored as tonio
        from tonio._tonio import _runtime_stats

        log = []

        @pytest.fixture
        async def resource(request):
            await tonio.sleep(0)
            _runtime_stats()  # on the runtime
            log.append(f'setup {request.node.name}')
            yield 'resource'
            await tonio.sleep(0)
            log.append(f'teardown {request.node.name}')

        @pytest.fixture(scope='module')
        async def shared():
            await tonio.sleep(0)
            return object()

        @pytest.fixture
        async def derived(resource, shared):
            return resource + '!'

        @pytest.mark.tonio
        async def test_first(resource, derived, shared):
            log.append('test_first')
            assert (resource, derived) == ('resource', 'resource!')
            test_first.shared = shared

        @pytest.mark.tonio
        def test_generator_syntax_test(resource, shared):
            yield tonio.sleep(0)
            log.append('test_generator_syntax_test')
            assert shared is test_first.shared

        class TestInAClass:
            @pytest.fixture
            async def method_fixture(self):
                return self

            @pytest.mark.tonio
            async def test_method(self, method_fixture):
                assert method_fixture is self

        def test_order():
            assert log == [
                'setup test_first', 'test_first', 'teardown test_first',
                'setup test_generator_syntax_test', 'test_generator_syntax_test',
                'teardown test_generator_syntax_test',
            ]
        """,
    )
    result.assert_outcomes(passed=4)


def test_async_fixture_errors_are_reported(pytester):
    result = run(
        pytester,
        """
        import pytest
        import tonio.colored as tonio

        @pytest.fixture
        async def broken():
            await tonio.sleep(0)
            raise ValueError('setup failed')

        @pytest.fixture
        async def never_yields():
            if False:
                yield

        @pytest.fixture
        async def yields_twice():
            yield 1
            yield 2

        @pytest.fixture
        async def teardown_fails():
            yield 1
            raise KeyError('teardown failed')

        @pytest.mark.tonio
        async def test_broken(broken):
            pass

        @pytest.mark.tonio
        async def test_never_yields(never_yields):
            pass

        @pytest.mark.tonio
        async def test_yields_twice(yields_twice):
            pass

        @pytest.mark.tonio
        async def test_teardown_fails(teardown_fails):
            pass
        """,
    )
    result.assert_outcomes(passed=2, errors=4)
    result.stdout.fnmatch_lines_random(
        [
            '*ValueError: setup failed*',
            '*async generator fixture never_yields did not yield*',
            '*async generator fixture yields_twice yielded more than once*',
            "*KeyError: 'teardown failed'*",
        ]
    )


def test_generator_fixtures_stay_pytests_and_can_use_tonio_run(pytester):
    result = run(
        pytester,
        """
        import pytest
        import tonio

        log = []

        def connect():
            yield tonio.sleep(0)
            return 'connection'

        def disconnect():
            yield tonio.sleep(0)
            log.append('disconnected')

        @pytest.fixture
        def connection(tonio_run):
            log.append('plain setup')  # a plain pytest generator fixture
            value = tonio_run(connect())
            yield value
            tonio_run(disconnect())

        @pytest.mark.tonio
        def test_uses_it(connection):
            yield tonio.sleep(0)
            assert connection == 'connection'

        def test_plain_test_uses_it(connection):
            assert connection == 'connection'

        def test_log():
            assert log == ['plain setup', 'disconnected'] * 2
        """,
    )
    result.assert_outcomes(passed=3)


def test_a_failure_in_a_task_nobody_waits_for_fails_the_test(pytester):
    result = run(
        pytester,
        """
        import pytest
        import tonio.colored as tonio

        async def fails(message):
            raise ValueError(message)

        @pytest.mark.tonio
        async def test_untracked():
            tonio.spawn.without_tracking(fails('untracked'))
            await tonio.sleep(0.01)

        @pytest.mark.tonio
        async def test_handle_dropped():
            tonio.spawn(fails('dropped'))
            await tonio.sleep(0.01)

        @pytest.mark.tonio
        async def test_several():
            tonio.spawn.without_tracking(fails('one'), fails('two'))
            await tonio.sleep(0.01)

        @pytest.mark.tonio
        async def test_and_the_test_fails_too():
            tonio.spawn.without_tracking(fails('beside'))
            await tonio.sleep(0.01)
            assert False, 'the test itself'

        @pytest.mark.tonio
        async def test_a_task_cancelled_at_the_end_is_no_failure():
            tonio.spawn.without_tracking(sleeper())

        async def sleeper():
            await tonio.sleep(3600)
        """,
    )
    result.assert_outcomes(passed=1, failed=4)
    result.stdout.fnmatch_lines_random(
        [
            '*ValueError: untracked*',
            '*ValueError: dropped*',
            '*tonio tasks nobody waited for failed*',
            '*the test itself*',
            "*also failed, in a tonio task nobody waited for: ValueError('beside')*",
        ]
    )


def test_a_hanging_test_fails_in_bounded_time(pytester):
    result = run(
        pytester,
        """
        import pytest
        import tonio
        import tonio.colored

        @pytest.mark.tonio(timeout=0.2)
        async def test_waits_forever():
            await tonio.colored.Event().wait()

        @pytest.mark.tonio
        def test_generator_waits_forever():
            yield tonio.Event().wait()

        @pytest.mark.tonio(timeout=0.2)
        def test_catches_the_cancel_and_finishes_late():
            try:
                yield tonio.Event().wait()
            except tonio.CancelledError:
                pass

        @pytest.mark.tonio
        def test_the_runtime_is_still_fine():
            assert (yield tonio.Event().wait(0)) is False
        """,
        ini='tonio_timeout = 0.2',
    )
    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines(
        [
            '*await tonio.colored.Event().wait()*',
            '*CancelledError*',
            '*TimeoutError: test test_waits_forever did not finish within 0.2 s*',
        ]
    )
    assert result.duration < 30


def test_the_timeout_can_be_turned_off(pytester):
    result = run(
        pytester,
        """
        import pytest
        import tonio

        @pytest.mark.tonio(timeout=None)
        def test_unlimited():
            yield tonio.sleep(0.3)

        @pytest.mark.tonio(timeout=0)
        def test_zero_is_unlimited():
            yield tonio.sleep(0.3)
        """,
        ini='tonio_timeout = 0.1',
    )
    result.assert_outcomes(passed=2)


def test_bad_marks_are_reported(pytester):
    result = run(
        pytester,
        """
        import pytest

        @pytest.mark.tonio(5)
        async def test_positional():
            pass

        @pytest.mark.tonio(timeout='soon')
        async def test_bad_timeout():
            pass
        """,
    )
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines_random(
        ['*the tonio mark takes only timeout=seconds*', '*must be a number of seconds*']
    )


def test_skips_xfails_and_return_values_behave_as_in_plain_tests(pytester):
    result = run(
        pytester,
        """
        import pytest
        import tonio.colored as tonio

        @pytest.mark.tonio
        async def test_skips():
            await tonio.sleep(0)
            pytest.skip('not today')

        @pytest.mark.tonio
        @pytest.mark.xfail(raises=ZeroDivisionError, strict=True)
        async def test_xfails():
            await tonio.sleep(0)
            1 / 0

        @pytest.mark.tonio
        async def test_returns():
            return 5

        async def skips():
            pytest.skip('from a task')

        @pytest.mark.tonio
        async def test_skips_from_a_task():
            await tonio.spawn(skips())
        """,
    )
    outcomes = result.parseoutcomes()
    assert (outcomes['skipped'], outcomes['xfailed']) == (2, 1)
    # What pytest does with a plain test's return value (a warning, an error in pytest 9).
    result.stdout.fnmatch_lines(['*Test functions should return None*'])


@pytest.mark.parametrize('sigint', ['default', 'ignored'])
def test_a_test_that_ignores_the_cancel_is_interrupted(pytester, sigint):
    # The watchdog interrupts the main thread (as Ctrl-C does): in a process of its own. A
    # process started with SIGINT ignored (from a background shell) has no Python handler for
    # it to reach, unless the plugin installs one for the run.
    pytester.makepyfile(
        textwrap.dedent(
            """
            import time
            import pytest
            import tonio

            def stubborn():
                try:
                    yield tonio.Event().wait()
                finally:
                    time.sleep(1.5)  # ignores the cancel for a while, then unwinds

            # Cancelled at 0.5 s, interrupted at 1.5 s (a grace of 1 s), unwound at 2 s
            # (abandoned at 2.5 s).
            @pytest.mark.tonio(timeout=0.5)
            def test_stubborn():
                yield stubborn()

            @pytest.mark.tonio
            def test_the_runtime_is_still_fine():
                assert (yield tonio.Event().wait(0)) is False
            """
        )
    )
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if sigint == 'ignored' else None
    try:
        result = pytester.runpytest_subprocess(*ARGS, timeout=60)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(['*did not unwind, so every task was cancelled*'])


def test_a_runtime_left_with_stuck_tasks_is_abandoned_not_waited_for(pytester):
    pytester.makepyfile(
        textwrap.dedent(
            """
            import time
            import pytest
            import tonio

            def never_unwinds():
                try:
                    yield tonio.Event().wait()
                finally:
                    time.sleep(3)  # past both grace periods (1 s each)

            @pytest.mark.tonio(timeout=0.2)
            def test_stuck():
                yield never_unwinds()

            @pytest.mark.tonio
            def test_next():
                yield tonio.sleep(0)

            def test_let_the_stuck_task_end_before_the_process_does():
                time.sleep(3)
            """
        )
    )
    result = pytester.runpytest_subprocess(*ARGS, timeout=60)
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines_random(
        [
            '*neither it nor its tasks unwound*',
            '*this tonio runtime was abandoned: test test_stuck left tasks that never unwound*',
        ]
    )

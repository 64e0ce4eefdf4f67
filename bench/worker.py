"""One benchmark measurement, run in its own process by bench/run.py.

    python bench/worker.py IMPL --ami ami2 --copies K [--in-flight W] [--chunk C]
                                [--json S.json --events N]
    python bench/worker.py project --soak N --ami ami2 [--in-flight W]

IMPL is one of:
  floor         iterate the events and do nothing else
  project       this repository's ChannelManager, counting reporter
  project-file  this repository's FileRunner on the JSON file (parsing timed)
  orig04        cacofonisk 0.4.0 ChannelManager (run with its venv's python)
  orig07        cacofonisk 0.7.10 EventHandler (run with its venv's python)

Prints exactly one JSON object on the last line of stdout.

The worker builds the stream itself with streams.py (deterministic, and as
fast as unpickling it); project-file reads the JSON file run.py wrote with
streams.write_json, which holds the same events in the same order. Every
implementation except floor then also replays one copy of every log
(interleaved the same way) and every log alone, each with a fresh manager,
for the correctness checks.

Only the project workers put the repository root on sys.path; the originals
import the ``cacofonisk`` installed in their own virtual environment. Every
implementation gets the same treatment: events are skipped by name the way
its own FileRunner does (INTERESTING_EVENTS / event_handlers()), each
on_event is wrapped in try/except and exceptions are counted, hook calls are
counted by a reporter derived from the implementation's own BaseReporter,
logging goes to a NullHandler at WARNING, and the loaded stream is moved out
of the garbage collector's way with gc.freeze() before timing.
"""
from __future__ import annotations

import argparse
import collections
import gc
import json
import logging
import os
import resource
import sys
import time
import traceback
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
SLICE = 1 << 16

import streams  # noqa: E402  (bench/ is sys.path[0]: stdlib only)

#: The 2017 hooks of API.md, called positionally by the project's manager.
PROJECT_HOOKS = (
    'on_b_dial', 'on_b_dial_end', 'on_up', 'on_warm_transfer',
    'on_cold_transfer', 'on_blind_transfer', 'on_blonde_transfer',
    'on_hangup', 'on_queue_caller_abandon', 'on_user_event')

_PAGE = os.sysconf('SC_PAGE_SIZE')


def rss_kib() -> int:
    """Current resident set size of this process, in KiB."""
    with open('/proc/self/statm', 'rb') as handle:
        return int(handle.read().split()[1]) * _PAGE // 1024


def peak_rss_kib() -> int:
    """High-water resident set size of this process (ru_maxrss), in KiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def gc_collected() -> int:
    """Objects the cyclic garbage collector has freed so far (all generations).

    Reference counting frees everything else the moment it is unused;
    what the collector finds was kept alive by a reference cycle.
    """
    return sum(stats['collected'] for stats in gc.get_stats())


def counting_reporter(base: type, hooks: list[str]):
    """Return (reporter, counts): a ``base`` whose ``hooks`` only count."""
    counts: collections.Counter = collections.Counter()

    def make(name):
        def hook(self, *args, **kwargs):
            counts[name] += 1
        hook.__name__ = name
        return hook

    namespace = {name: make(name) for name in hooks}
    namespace.update(trace_ami=lambda self, event: None,
                     trace_msg=lambda self, msg: None)
    cls = type('Counting' + base.__name__, (base,), namespace)
    return cls(), counts


class Impl:
    """How to build and feed one implementation.

    Attributes:
        name: the IMPL name.
        version: what was imported, for the report.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.version = ''
        if name in ('project', 'project-file'):
            sys.path.insert(0, str(ROOT))
        import cacofonisk
        where = Path(cacofonisk.__file__).resolve()
        in_repo = where.parent == ROOT / 'cacofonisk'
        if in_repo != name.startswith('project'):
            raise SystemExit('worker {}: imported the wrong cacofonisk ({})'
                             .format(name, where))
        self.version = getattr(cacofonisk, '__version__', '') or str(where.parent)
        getattr(self, '_setup_' + name.replace('-', '_'))()

    def _setup_project(self) -> None:
        from cacofonisk.reporters import BaseReporter
        try:
            from cacofonisk.manager import ChannelManager
        except ImportError:
            from cacofonisk.channel import ChannelManager
        self.base = BaseReporter
        self.hooks = [h for h in PROJECT_HOOKS if hasattr(BaseReporter, h)]
        self.manager_class = ChannelManager

        def make(reporter):
            try:
                return ChannelManager(reporter=reporter, server='bench',
                                      strict=False)
            except TypeError:
                return ChannelManager(reporter=reporter)
        self.make = make
        self.interesting = self._interesting(ChannelManager.INTERESTING_EVENTS)

    _setup_project_file = _setup_project

    def _setup_orig04(self) -> None:
        from cacofonisk.channel import ChannelManager
        from cacofonisk.reporters.base_reporter import BaseReporter
        self.base = BaseReporter
        self.hooks = [h for h in dir(BaseReporter)
                      if h.startswith('on_') and h != 'on_event']
        self.make = lambda reporter: ChannelManager(reporter)
        self.interesting = self._interesting(ChannelManager.INTERESTING_EVENTS)

    def _setup_orig07(self) -> None:
        from cacofonisk.handlers import EventHandler
        from cacofonisk.reporters import BaseReporter
        self.base = BaseReporter
        self.hooks = [h for h in dir(BaseReporter)
                      if h.startswith('on_') and h != 'on_event']
        self.make = lambda reporter: EventHandler(reporter, hostname='bench')
        self.interesting = (frozenset(EventHandler.event_handlers())
                            if EventHandler.FILTER_EVENTS else None)

    @staticmethod
    def _interesting(names) -> frozenset | None:
        names = frozenset(names)
        return None if '*' in names else names

    def new(self):
        """Return (manager, counts) with a fresh counting reporter."""
        reporter, counts = counting_reporter(self.base, self.hooks)
        return self.make(reporter), reporter, counts


def drive(on_event, stream: list, interesting) -> dict:
    """Feed ``stream`` to ``on_event`` (None: just iterate); time it."""
    errors: collections.Counter = collections.Counter()
    first_error = ''
    top = rss_kib()
    collected = gc_collected()
    cpu = time.process_time()
    start = time.perf_counter()
    for begin in range(0, len(stream), SLICE):
        part = stream[begin:begin + SLICE]
        if on_event is None:
            for event in part:
                pass
        else:
            for event in part:
                if interesting is None or event['Event'] in interesting:
                    try:
                        on_event(event)
                    except Exception as err:  # noqa: BLE001 - counted
                        errors[type(err).__name__] += 1
                        if not first_error:
                            first_error = ''.join(
                                traceback.format_exception_only(err)).strip()
        now = rss_kib()
        if now > top:
            top = now
    seconds = time.perf_counter() - start
    return {'seconds': seconds, 'cpu_seconds': time.process_time() - cpu,
            'gc_collected': gc_collected() - collected,
            'exceptions': sum(errors.values()),
            'exception_types': dict(errors.most_common(5)),
            'first_exception': first_error[:300], 'run_top_rss_kib': top}


def reference(impl: Impl, templates: list, window: int, chunk: int) -> dict:
    """Hook counts on one copy, interleaved and log by log (fresh managers)."""
    out = {}
    manager, _, counts = impl.new()
    one_copy, _ = streams.build(templates, 1, window, chunk)
    drive(manager.on_event, one_copy, impl.interesting)
    out['one_copy_hooks'] = dict(counts)
    total: collections.Counter = collections.Counter()
    for log in streams.sequential_logs(templates):
        manager, _, counts = impl.new()
        drive(manager.on_event, log, impl.interesting)
        total.update(counts)
    out['sequential_hooks'] = dict(total)
    return out


def run_stream(args) -> dict:
    result: dict = {'impl': args.impl}
    impl = None
    if args.impl != 'floor':
        try:
            impl = Impl(args.impl)
        except (ImportError, AttributeError) as err:
            return {'impl': args.impl, 'available': False,
                    'error': '{}: {}'.format(type(err).__name__, err)}
        result['version'] = impl.version
    result['available'] = True
    templates = streams.load_templates(args.ami)

    if args.impl == 'project-file':
        from cacofonisk.runners.file_runner import FileRunner
        reporter, counts = counting_reporter(impl.base, impl.hooks)
        gc.collect()
        base = rss_kib()
        cpu = time.process_time()
        start = time.perf_counter()
        error = ''
        try:
            FileRunner(args.json, reporter).run()
        except Exception as err:  # noqa: BLE001 - reported
            error = '{}: {}'.format(type(err).__name__, err)[:300]
        result.update(seconds=time.perf_counter() - start,
                      cpu_seconds=time.process_time() - cpu,
                      exceptions=int(bool(error)), first_exception=error,
                      baseline_rss_kib=base)
        result['events'] = args.events
        hooks = counts
    else:
        started = time.perf_counter()
        stream, in_flight = streams.build(templates, args.copies,
                                          args.in_flight, args.chunk)
        result['build_seconds'] = time.perf_counter() - started
        result['events'] = len(stream)
        result['in_flight'] = in_flight
        gc.collect()
        gc.freeze()
        if impl is None:
            on_event, hooks, interesting = None, collections.Counter(), None
        else:
            manager, _, hooks = impl.new()
            on_event, interesting = manager.on_event, impl.interesting
        base = rss_kib()
        result.update(drive(on_event, stream, interesting))
        result['baseline_rss_kib'] = base
        if impl is not None and in_flight:
            result['mem_per_call_kib'] = (
                (result['run_top_rss_kib'] - base) / in_flight)
        if impl is None:
            result['channels_in_flight'] = streams.channels_in_flight(stream)
        del stream
        gc.unfreeze()
    result['peak_rss_kib'] = peak_rss_kib()
    result['hooks'] = dict(hooks)
    result['hook_calls'] = sum(hooks.values())
    result['events_per_s'] = result['events'] / max(result['cpu_seconds'], 1e-9)
    if impl is not None:
        result.update(reference(impl, templates, args.in_flight, args.chunk))
    return result


def run_soak(args) -> dict:
    """Stream ``args.soak`` events lazily through the project's manager."""
    try:
        impl = Impl('project')
    except (ImportError, AttributeError) as err:
        return {'impl': 'soak', 'available': False,
                'error': '{}: {}'.format(type(err).__name__, err)}
    templates = streams.load_templates(args.ami)
    per_log = []
    for template in templates:
        manager, _, counts = impl.new()
        for event in streams.header(templates) + template.copy('k0_'):
            manager.on_event(event)
        per_log.append(sum(counts.values()))

    manager, _, counts = impl.new()
    on_event, interesting = manager.on_event, impl.interesting
    merged = streams.Interleaver(streams.instances(templates, None, start=1),
                                 args.in_flight, args.chunk, stop_after=args.soak)
    every = max(args.soak // 200, 10000)
    samples = []
    errors = 0
    gc.collect()
    samples.append((0, rss_kib()))
    collected = gc_collected()
    cpu = time.process_time()
    start = time.perf_counter()
    for event in streams.header(templates):
        on_event(event)
    count = 0
    for event in merged:
        if interesting is None or event['Event'] in interesting:
            try:
                on_event(event)
            except Exception:  # noqa: BLE001 - counted
                errors += 1
        count += 1
        if count % every == 0:
            samples.append((count, rss_kib()))
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu
    collected = gc_collected() - collected
    samples.append((count, rss_kib()))
    expected = sum(per_log[n % len(per_log)] for n in range(merged.started))
    return {'impl': 'soak', 'available': True, 'version': impl.version,
            'ami': args.ami, 'events': count, 'seconds': seconds,
            'cpu_seconds': cpu, 'events_per_s': count / cpu, 'in_flight': merged.max_in_flight,
            'instances': merged.started, 'finished': merged.finished,
            'hook_calls': sum(counts.values()), 'expected_hook_calls': expected,
            'exceptions': errors, 'samples': samples, 'gc_collected': collected,
            'peak_rss_kib': peak_rss_kib()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('impl', choices=('floor', 'project', 'project-file',
                                         'orig04', 'orig07'))
    parser.add_argument('--ami', choices=streams.AMI_DIRS, default='ami2')
    parser.add_argument('--copies', type=int, default=1)
    parser.add_argument('--json', help='project-file: the stream as JSON')
    parser.add_argument('--events', type=int, default=0,
                        help='project-file: events in --json (for the rate)')
    parser.add_argument('--soak', type=int, default=0)
    parser.add_argument('--in-flight', type=int, default=2000)
    parser.add_argument('--chunk', type=int, default=1)
    args = parser.parse_args()

    root = logging.getLogger()
    root.handlers[:] = [logging.NullHandler()]
    root.setLevel(logging.WARNING)
    logging.getLogger('transitions').setLevel(logging.WARNING)

    result = run_soak(args) if args.soak else run_stream(args)
    sys.stdout.write('\n' + json.dumps(result) + '\n')


if __name__ == '__main__':
    main()

"""Build large AMI event streams from recorded (or simulated) event logs.

Stdlib only: the workers of the original cacofonisk releases import this
module from their own virtual environments, so it must not import the
project (or anything outside the standard library).

A *log* is one JSON event log: a third-party recording from
``../shared/conformance`` (``CACOFONISK_SHARED``) when that folder is there,
else one of the project's own simulated scenarios (``scenarios/`` and the
option variants ``simlogs.py`` writes); ``source()`` says which, loudly.
An *instance* is one copy of a log with every identifier made unique for
that copy: Uniqueid/Linkedid and every other field ending in Uniqueid/UniqueID/Linkedid (Uniqueid1/2 included),
bridge ids, and channel names (Channel, Channel1/2, Destination, Clone,
Original, Newname, ChannelCalling and every field ending in Channel).
A value is rewritten by its shape, never by its key, so the same id gets the
same new value wherever it appears; any other string field whose whole value
equals one of the rewritten ids (AMI 1 ``BridgedChannel`` holds a Uniqueid)
is rewritten too.

* Uniqueid-like values and bridge ids get a prefix: ``k17_`` +
  ``0f00dcaa884f-1508767736.47``; the trailing ``epoch.seq`` still parses.
* Channel names get the tag after their last ``-``:
  ``SIP/150010003-k17_00000013<ZOMBIE>``; the technology prefix, the
  ``;1``/``;2`` Local suffix, ``<ZOMBIE>``/``<MASQ>`` and the order of the
  sequence numbers within one instance are preserved.

FullyBooted events are dropped from every instance (in a live stream they
would mean "the server restarted" in the middle of thousands of other calls);
a stream starts with one FullyBooted instead.

Instances are interleaved round-robin, ``chunk`` events at a time, with at
most ``window`` instances in flight; when one ends the next one starts in its
slot. Each instance keeps its own event order.
"""
from __future__ import annotations

import itertools
import json
import os
import re
from pathlib import Path
from typing import Iterable, Iterator

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / 'bench'
#: The third-party recordings, beside the checkout (CACOFONISK_SHARED
#: overrides the folder, as for the tests).
SHARED = Path(os.environ.get('CACOFONISK_SHARED') or ROOT.parent / 'shared')
CONFORMANCE = SHARED / 'conformance'
#: Without the recordings: the project's own simulated scenarios ...
SCENARIOS = ROOT / 'scenarios'
#: ... and the simulator's option variants, written here by simlogs.py
#: (CACOFONISK_BENCH_SIM overrides the folder: tests use a temporary one).
SIMULATED = Path(os.environ.get('CACOFONISK_BENCH_SIM') or BENCH / 'out' / 'sim')
AMI_DIRS = ('ami1', 'ami2')

_ID_KEY = re.compile(
    r'(?:Uniqueid|UniqueID|Uniqueid[12]|Linkedid|Channel|Channel[12])$'
    r'|^(?:Destination|Clone|Original|Newname|ChannelCalling)$')
_CHANNEL = re.compile(r'^(.+/.*-)([^-/]+)$')


class MissingLogs(SystemExit):
    """The event logs are not where the benchmark expects them."""


def using_recordings() -> bool:
    """Whether the third-party recordings are present (else: simulated streams)."""
    return all((CONFORMANCE / ami).is_dir() for ami in AMI_DIRS)


def source() -> str:
    """One loud line saying which event logs the streams are built from.

    Figures from the simulated streams are not comparable with figures
    from the recordings: other flows, other proportions of event types.
    """
    if using_recordings():
        return 'bench: streams from the RECORDINGS in {}'.format(CONFORMANCE)
    return ('bench: streams from the SIMULATOR (scenarios/ and cacofonisk.testing '
            'variants in {}), NOT the recordings: {} is absent. Figures are not '
            'comparable with those taken on the recordings.'.format(
                SIMULATED, CONFORMANCE))


def _logs_in(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob('*.json')
                  if not p.name.endswith('.expected.json'))


def log_paths(ami: str) -> list[Path]:
    """Return the event logs of ``ami`` (``'ami1'`` or ``'ami2'``).

    The recordings when ``CONFORMANCE`` holds both dialects; otherwise the
    checked-in ``scenarios/<ami>`` logs plus the simulator variants that
    ``simlogs.py`` writes (run.py, live.py and icount.py write them first).

    Raises:
        MissingLogs: no log found, with what to do.
    """
    if using_recordings():
        paths = _logs_in(CONFORMANCE / ami)
        if not paths:
            raise MissingLogs('bench: no *.json event log in {}'.format(
                CONFORMANCE / ami))
        return paths
    simulated = _logs_in(SIMULATED / ami)
    if not simulated:
        raise MissingLogs(
            'bench: {} is absent and the simulated logs are not written yet: '
            'run python bench/simlogs.py with the project installed (run.py, '
            'live.py and icount.py do it themselves)'.format(CONFORMANCE))
    return _logs_in(SCENARIOS / ami) + simulated


def _split(value: str) -> tuple[str, str]:
    """Return (prefix, suffix) so that the new value is prefix + tag + suffix."""
    match = _CHANNEL.match(value)
    if match and '/' in value:
        return match.group(1), match.group(2)
    return '', value


class Template:
    """One recorded log, prepared so that copies are cheap to make.

    Attributes:
        name: file name of the log.
        events: the events, FullyBooted removed (shared, never mutated).
        subs: per event, a tuple of (key, prefix, suffix) to rewrite.
    """

    __slots__ = ('name', 'events', 'subs', 'fully_booted', '_json')

    def __init__(self, name: str, raw_events: list[dict]) -> None:
        self.name = name
        self.fully_booted = [e for e in raw_events
                             if e.get('Event') == 'FullyBooted']
        self.events = [e for e in raw_events if e.get('Event') != 'FullyBooted']
        ids: dict[str, tuple[str, str]] = {}
        for event in self.events:
            for key, value in event.items():
                if isinstance(value, str) and value and _ID_KEY.search(key):
                    ids[value] = _split(value)
        self.subs = []
        for event in self.events:
            self.subs.append(tuple(
                (key, *ids[value]) for key, value in event.items()
                if isinstance(value, str) and value in ids))
        self._json: list[list[str]] | None = None

    def __len__(self) -> int:
        return len(self.events)

    def iter_copy(self, tag: str) -> Iterator[dict]:
        """Yield the events, one new dict each, every id carrying ``tag``."""
        for event, subs in zip(self.events, self.subs):
            event = dict(event)
            for key, prefix, suffix in subs:
                event[key] = prefix + tag + suffix
            yield event

    def copy(self, tag: str) -> list[dict]:
        """Return the events with every id carrying ``tag``."""
        return list(self.iter_copy(tag))

    def iter_json(self, tag: str) -> Iterator[str]:
        """Yield the JSON text of each event of ``iter_copy(tag)``, fast."""
        if self._json is None:
            # '\x01' is escaped by json.dumps; its escape splits the text.
            self._json = [json.dumps(e).split('\\u0001')
                          for e in self.iter_copy('\x01')]
        for pieces in self._json:
            yield tag.join(pieces)


def load_templates(ami: str) -> list[Template]:
    """Read and prepare every log of ``ami``."""
    templates = []
    for path in log_paths(ami):
        with open(path, encoding='utf-8') as handle:
            templates.append(Template(path.name, json.load(handle)))
    return templates


def header(templates: list[Template]) -> list[dict]:
    """The event a stream starts with: one FullyBooted (if any log has one)."""
    for template in templates:
        if template.fully_booted:
            return [dict(template.fully_booted[0])]
    return []


def instances(templates: list[Template], copies: int | None,
              start: int = 0, as_json: bool = False) -> Iterator[Iterator]:
    """Yield copies of every log (lazy iterators), copy by copy.

    ``copies=None`` never stops. Instance number n (counting from ``start``)
    gets tag ``k<n>_`` and is a copy of ``templates[n % len(templates)]``.
    With ``as_json`` the instances yield JSON text instead of dicts.
    """
    counter = itertools.count(start)
    rounds = itertools.count() if copies is None else range(copies)
    for _ in rounds:
        for template in templates:
            tag = 'k{}_'.format(next(counter))
            yield template.iter_json(tag) if as_json else template.iter_copy(tag)


class Interleaver:
    """Round-robin merge of instances with a bounded number in flight.

    Iterate it to get the events. Afterwards ``max_in_flight`` is the largest
    number of instances that had started and not finished, ``started`` and
    ``finished`` count instances, and ``events`` counts the events produced.
    Instances are consumed lazily, so only the ones in flight exist.
    """

    def __init__(self, source: Iterable[Iterator[dict]], window: int,
                 chunk: int = 1, stop_after: int | None = None) -> None:
        """
        Args:
            source: the instances (event iterators), in start order.
            window: the most instances in flight at once.
            chunk: events taken from an instance per turn.
            stop_after: start no new instance once this many events have been
                produced (the ones in flight are still finished).
        """
        self.source = iter(source)
        self.window = window
        self.chunk = chunk
        self.stop_after = stop_after
        self.max_in_flight = 0
        self.started = 0
        self.finished = 0
        self.events = 0

    def _next_instance(self) -> Iterator[dict] | None:
        if self.stop_after is not None and self.events >= self.stop_after:
            return None
        instance = next(self.source, None)
        if instance is not None:
            self.started += 1
        return instance

    def __iter__(self) -> Iterator[dict]:
        active: list[Iterator[dict]] = []
        while len(active) < self.window:
            instance = self._next_instance()
            if instance is None:
                break
            active.append(instance)
        chunk = range(self.chunk)
        while active:
            self.max_in_flight = max(self.max_in_flight, len(active))
            survivors = []
            for instance in active:
                for _ in chunk:
                    event = next(instance, None)
                    if event is None:
                        break
                    self.events += 1
                    yield event
                else:
                    survivors.append(instance)
                    continue
                self.finished += 1
                instance = self._next_instance()
                if instance is not None:
                    survivors.append(instance)
            active = survivors


def build(templates: list[Template], copies: int, window: int,
          chunk: int = 1) -> tuple[list[dict], int]:
    """Return (stream, max instances in flight) for ``copies`` copies."""
    merged = Interleaver(instances(templates, copies), window, chunk)
    stream = header(templates)
    stream.extend(merged)
    return stream, merged.max_in_flight


def write_json(path, templates: list[Template], copies: int, window: int,
               chunk: int = 1) -> int:
    """Write the stream ``build`` returns as a JSON list; return its length."""
    head = [json.dumps(e) for e in header(templates)]
    merged = Interleaver(instances(templates, copies, as_json=True), window, chunk)
    with open(path, 'w', encoding='utf-8') as handle:
        separator = '['
        for text in itertools.chain(head, merged):
            handle.write(separator)
            handle.write(text)
            separator = ',\n'
        handle.write(']\n' if separator != '[' else '[]\n')
    return len(head) + merged.events


def sequential_logs(templates: list[Template]) -> list[list[dict]]:
    """Each log alone (tag ``k0_``), FullyBooted header first: the reference."""
    head = header(templates)
    return [[dict(e) for e in head] + t.copy('k0_') for t in templates]


def channels_in_flight(stream: Iterable[dict]) -> int:
    """Largest number of channels alive at once (Newchannel .. Hangup)."""
    alive: set[str] = set()
    most = 0
    for event in stream:
        name = event.get('Event')
        if name == 'Newchannel':
            alive.add(event.get('Uniqueid') or event.get('UniqueID') or '')
            if len(alive) > most:
                most = len(alive)
        elif name == 'Hangup':
            alive.discard(event.get('Uniqueid') or event.get('UniqueID') or '')
    return most

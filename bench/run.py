"""Throughput and memory benchmark: this project against the original cacofonisk.

    python bench/run.py [--copies K] [--repeat R] [--in-flight W] [--only ami1|ami2]
    python bench/run.py --soak N [--only ami1|ami2] [--in-flight W]

Builds one large stream per AMI version from the recorded logs in
../shared/conformance (K copies of every log, ids unique per copy, W copies in
flight at once; see streams.py) and times, each in its own process
(worker.py): the bare floor, this project's ChannelManager, this project's
FileRunner on the same stream written to a temporary JSON file, and the
original release (0.4.0 on AMI 1, 0.7.10 on AMI 2) installed in its own
virtual environment under bench/.venvs/. See bench/README.md.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import simlogs  # noqa: E402
import streams  # noqa: E402

ORIGINALS = {'ami1': ('orig04', '0.4.0'), 'ami2': ('orig07', '0.7.10')}
#: Default copies: about 1.0 million events per stream.
DEFAULT_COPIES = {'ami1': 110, 'ami2': 450}
VENVS = BENCH / '.venvs'


def say(*args) -> None:
    print(*args, file=sys.stderr, flush=True)


def venv_python(version: str) -> Path | None:
    """Return the python of a venv holding cacofonisk==version; build it."""
    venv = VENVS / 'cacofonisk-{}'.format(version)
    python = venv / 'bin' / 'python'
    check = [str(python), '-c',
             'import importlib.metadata as m; print(m.version("cacofonisk"))']
    env = clean_env()
    try:
        found = subprocess.run(check, capture_output=True, text=True, env=env,
                               cwd='/').stdout.strip()
    except OSError:
        found = ''
    if found == version:
        return python
    say('bench: creating {} (pip install cacofonisk=={})'.format(venv, version))
    try:
        subprocess.run([sys.executable, '-m', 'venv', '--clear', str(venv)],
                       check=True, env=env)
        subprocess.run([str(python), '-m', 'pip', 'install', '-q',
                        '--disable-pip-version-check',
                        'cacofonisk=={}'.format(version)],
                       check=True, env=env, cwd='/')
    except (OSError, subprocess.CalledProcessError) as err:
        say('bench: could not install cacofonisk=={}: {}'.format(version, err))
        return None
    return python


def clean_env() -> dict:
    """The environment for workers: no PYTHONPATH leaking the repository in."""
    env = dict(os.environ)
    env.pop('PYTHONPATH', None)
    env['PYTHONHASHSEED'] = '0'
    return env


def run_worker(python, impl: str, *extra: str) -> dict:
    """Run one worker process and return its JSON result."""
    cmd = [str(python), str(BENCH / 'worker.py'), impl, *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=clean_env(),
                          cwd='/')
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {'impl': impl, 'available': False,
                'error': 'worker exit {}: {}'.format(proc.returncode,
                                                     ' | '.join(tail))}
    return json.loads(lines[-1])


def best_of(python, impl: str, repeat: int, *extra: str) -> dict:
    """Run a worker ``repeat`` times; keep the fastest, note the spread."""
    return fastest([run_worker(python, impl, *extra) for _ in range(repeat)])


def alternating(jobs: list, repeat: int) -> list:
    """Run each (python, impl, *extra) job ``repeat`` times, in turns; the fastest of each.

    A shared machine's speed drifts over minutes; taking turns (A, B, A,
    B ...) lets the drift touch both sides of a ratio alike.
    """
    runs: list = [[] for _ in jobs]
    for _ in range(repeat):
        for done, (python, impl, *extra) in zip(runs, jobs):
            done.append(run_worker(python, impl, *extra))
    return [fastest(done) for done in runs]


def fastest(runs: list) -> dict:
    """The run with the least CPU time, with every run's CPU time noted."""
    good = [r for r in runs if r.get('available')]
    if not good:
        return runs[0]
    best = min(good, key=lambda r: r['cpu_seconds'])
    best['all_seconds'] = [r['cpu_seconds'] for r in good]
    return best


def scaled(counts: dict, factor: int) -> dict:
    return {name: n * factor for name, n in counts.items() if n}


def nonzero(counts: dict) -> dict:
    return {name: n for name, n in counts.items() if n}


def check(result: dict, copies: int) -> None:
    """Add 'k_check' (K-copy hooks == K x one copy) and 'seq_check'."""
    if 'one_copy_hooks' not in result:
        return
    got, want = nonzero(result['hooks']), scaled(result['one_copy_hooks'], copies)
    result['k_check'] = 'ok' if got == want else 'MISMATCH'
    if got != want:
        result['k_check_detail'] = {
            name: [got.get(name, 0), want.get(name, 0)]
            for name in sorted(set(got) | set(want))
            if got.get(name, 0) != want.get(name, 0)}
    seq = nonzero(result['sequential_hooks'])
    result['seq_check'] = 'ok' if seq == nonzero(result['one_copy_hooks']) else 'differs'


def bench_ami(ami: str, copies: int, window: int, chunk: int, repeat: int,
              tmp: Path, originals: bool = True) -> dict:
    """Run every worker on the ``ami`` stream; return the results."""
    say('bench: {}: writing the JSON stream ({} copies of each log) ...'
        .format(ami, copies))
    started = time.perf_counter()
    templates = streams.load_templates(ami)
    json_path = tmp / '{}.stream.json'.format(ami)
    events = streams.write_json(json_path, templates, copies, window, chunk)
    info = {'ami': ami, 'copies': copies, 'logs': len(templates),
            'source': 'recordings' if streams.using_recordings() else 'SIMULATED',
            'events': events, 'json_mib': json_path.stat().st_size / 2**20,
            'json_seconds': time.perf_counter() - started}
    say('bench: {}: {:,} events, {:.0f} MiB of JSON in {:.1f}s'.format(
        ami, events, info['json_mib'], info['json_seconds']))

    common = ['--ami', ami, '--copies', str(copies), '--in-flight', str(window),
              '--chunk', str(chunk)]
    rows = []
    info['load'] = os.getloadavg()[0]
    say('bench: {}: floor'.format(ami))
    rows.append(best_of(sys.executable, 'floor', repeat, *common))
    info['in_flight'] = rows[0].get('in_flight', 0)
    info['channels_in_flight'] = rows[0].get('channels_in_flight', 0)
    say('bench: {}: project FileRunner (JSON file)'.format(ami))
    file_row = best_of(sys.executable, 'project-file', repeat, *common,
                       '--json', str(json_path), '--events', str(events))
    json_path.unlink()
    impl, version = ORIGINALS[ami]
    python = venv_python(version) if originals else None
    say('bench: {}: project ChannelManager and original cacofonisk {}, taking turns'
        .format(ami, version))
    if python is None:
        project_row = best_of(sys.executable, 'project', repeat, *common)
        original_row = {'impl': impl, 'available': False,
                        'error': 'could not install cacofonisk=={}'.format(version)
                        if originals else 'not measured (--no-originals)'}
    else:
        project_row, original_row = alternating(
            [(sys.executable, 'project', *common), (python, impl, *common)], repeat)
    if not project_row.get('available'):
        file_row = {'impl': 'project-file', 'available': False,
                    'error': 'project not available'}
    rows += [project_row, file_row, original_row]
    rows[-1]['label'] = 'original {}'.format(version)
    for row in rows:
        check(row, copies)
    info['rows'] = rows
    return info


LABELS = {'floor': 'floor (iterate)', 'project': 'project manager',
          'project-file': 'project FileRunner'}


def fmt_table(info: dict) -> str:
    """Render the results of one AMI version."""
    lines = ['', '== {ami} ({source} logs): {events:,} events = {copies} copies x {logs} logs; '
             '{in_flight:,} calls ({channels_in_flight:,} channels) in flight; '
             'load average {load:.1f}'.format(**info)]
    head = ('{:<20} {:>7} {:>7} {:>11} {:>8} {:>8} {:>8} {:>9} {:>6} {:>4} {:>8}'
            .format('implementation', 'cpu s', 'wall s', 'events/s', 'peak MiB',
                    'KiB/call', 'hooks', 'K x 1copy', '=seq', 'exc', 'gc objs'))
    lines += [head, '-' * len(head)]
    for row in info['rows']:
        label = row.get('label') or LABELS.get(row['impl'], row['impl'])
        if not row.get('available'):
            lines.append('{:<20} not available ({})'.format(
                label, row.get('error', '')[:90]))
            continue
        per_call = row.get('mem_per_call_kib')
        lines.append('{:<20} {:>7.2f} {:>7.2f} {:>11,.0f} {:>8.0f} {:>8} {:>8,} '
                     '{:>9} {:>6} {:>4,} {:>8}'.format(
                         label, row['cpu_seconds'], row['seconds'],
                         row['events_per_s'],
                         row['peak_rss_kib'] / 1024,
                         '-' if per_call is None else '{:.2f}'.format(per_call),
                         row['hook_calls'], row.get('k_check', '-'),
                         row.get('seq_check', '-'), row.get('exceptions', 0),
                         '-' if 'gc_collected' not in row else
                         '{:,}'.format(row['gc_collected'])))
    rows = {r['impl']: r for r in info['rows'] if r.get('available')}
    orig = rows.get(ORIGINALS[info['ami']][0])
    for name in ('project', 'project-file'):
        if name in rows and orig:
            lines.append('ratio {} / original: {:.2f}x the events per second'
                         .format(LABELS[name], rows[name]['events_per_s']
                                 / orig['events_per_s']))
    project = rows.get('project')
    if project and orig and len(project.get('all_seconds', [])) > 2:
        # the fastest run is luck as much as speed on a shared machine; say the middle too
        lines.append('ratio project manager / original, median CPU seconds: {:.2f}x'.format(
            statistics.median(orig['all_seconds'])
            / statistics.median(project['all_seconds'])))
    if 'project' in rows and orig and orig.get('mem_per_call_kib'):
        lines.append('ratio memory per call, project / original: {:.2f}'.format(
            rows['project']['mem_per_call_kib'] / orig['mem_per_call_kib']))
    for row in info['rows']:
        label = row.get('label') or LABELS.get(row['impl'], row['impl'])
        if row['impl'] in ('project', 'orig04', 'orig07') and row.get('available'):
            lines.append('{}: hooks per copy {}'.format(label, ', '.join(
                '{} {}'.format(name[3:], n) for name, n
                in sorted(row.get('one_copy_hooks', {}).items()) if n)))
        if row.get('k_check') == 'MISMATCH':
            lines.append('{}: hook counts [K-copy, K x one copy]: {}'.format(
                label, row['k_check_detail']))
        if row.get('exceptions'):
            lines.append('{}: {} exceptions {}, first: {}'.format(
                label, row['exceptions'], row.get('exception_types', ''),
                row.get('first_exception', '')))
        if len(row.get('all_seconds', [])) > 1:
            lines.append('{}: cpu seconds per repeat {}'.format(
                label, ', '.join('{:.2f}'.format(s) for s in row['all_seconds'])))
    if 'project' not in rows:
        lines.append('project: not available')
    return '\n'.join(lines)


def soak(ami: str, events: int, window: int, chunk: int,
         save: Path | None = None) -> int:
    """Run the soak worker and print its RSS verdict; return the exit code."""
    say('bench: soak: {:,} {} events through the project manager, {} calls '
        'in flight ...'.format(events, ami, window))
    result = run_worker(sys.executable, 'project', '--soak', str(events),
                        '--ami', ami, '--in-flight', str(window),
                        '--chunk', str(chunk))
    if not result.get('available'):
        print('project: not available ({})'.format(result.get('error', '')))
        return 1
    if save:
        save.parent.mkdir(parents=True, exist_ok=True)
        save.write_text(json.dumps(result, indent=1))
    samples = result['samples']
    # Warm-up: the first 10% of the events, and at least two full turnovers
    # of the calls in flight.
    turnover = result['events'] / max(result['instances'], 1) * window
    warm = max(result['events'] * 0.10, 2 * turnover)
    after = [rss for n, rss in samples if n >= warm]
    mib = lambda kib: kib / 1024  # noqa: E731
    print('\n== soak {ami}: {events:,} events, {instances:,} calls, {in_flight:,} '
          'in flight, {seconds:.1f}s wall, {cpu_seconds:.1f}s cpu '
          '({events_per_s:,.0f} events/s)'.format(**result))
    print('RSS MiB: first {:.1f}, max {:.1f}, last {:.1f} (sampled every {:,} '
          'events; ru_maxrss {:.1f})'.format(
              mib(samples[0][1]), mib(max(rss for _, rss in samples)),
              mib(samples[-1][1]), samples[1][0] if len(samples) > 2 else 0,
              mib(result['peak_rss_kib'])))
    quarters = [samples[min(len(samples) - 1, round(q * (len(samples) - 1)))]
                for q in (0.25, 0.5, 0.75, 1.0)]
    print('RSS MiB at 25/50/75/100% of the stream: ' + ', '.join(
        '{:.1f}'.format(mib(rss)) for _, rss in quarters))
    flat = None
    if len(after) < 3:
        print('RSS flat: no verdict, too few events after the warm-up '
              '({:,} events)'.format(int(warm)))
    else:
        ref = after[0]
        low, high = min(after), max(after)
        flat = low >= ref * 0.95 and high <= ref * 1.05
        print('RSS after warm-up ({:,} events): {:.1f} MiB, then min {:.1f}, '
              'max {:.1f}: within +-5%: {} ({:+.1f}% .. {:+.1f}%)'.format(
                  int(warm), mib(ref), mib(low), mib(high),
                  'yes' if flat else 'NO', (low / ref - 1) * 100,
                  (high / ref - 1) * 100))
    hooks_ok = result['hook_calls'] == result['expected_hook_calls']
    print('hook calls {:,}, expected from the logs one by one {:,}: {}; '
          'exceptions {}; objects freed by the cyclic gc {:,}'.format(
              result['hook_calls'], result['expected_hook_calls'],
              'ok' if hooks_ok else 'MISMATCH', result['exceptions'],
              result.get('gc_collected', 0)))
    return 0 if flat and hooks_ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(
        description='Benchmark this project against the original cacofonisk.')
    parser.add_argument('--copies', type=int,
                        help='copies of each log (default: ami1 {ami1}, ami2 {ami2})'
                        .format(**DEFAULT_COPIES))
    parser.add_argument('--repeat', type=int, default=1,
                        help='runs per measurement; the fastest is shown')
    parser.add_argument('--in-flight', type=int, default=5000,
                        help='copies of logs (calls) in flight at once')
    parser.add_argument('--chunk', type=int, default=1,
                        help='events taken from one call per round-robin turn')
    parser.add_argument('--only', choices=streams.AMI_DIRS)
    parser.add_argument('--soak', type=int, metavar='N',
                        help='stream N events through the project manager and '
                        'watch RSS (ami2 unless --only ami1)')
    parser.add_argument('--no-originals', action='store_true',
                        help='measure this project only (no venv, no network)')
    parser.add_argument('--save', type=Path,
                        help='also write the raw results as JSON here')
    args = parser.parse_args()

    simlogs.ensure()  # recordings or simulated logs, said loudly
    for ami in streams.AMI_DIRS:  # fail early and clearly
        streams.log_paths(ami)
    if args.soak:
        return soak(args.only or 'ami2', args.soak, args.in_flight, args.chunk,
                    args.save)

    results = []
    with tempfile.TemporaryDirectory(prefix='cacofonisk-bench-') as tmp:
        for ami in [args.only] if args.only else streams.AMI_DIRS:
            copies = args.copies or DEFAULT_COPIES[ami]
            info = bench_ami(ami, copies, args.in_flight, args.chunk,
                             args.repeat, Path(tmp), not args.no_originals)
            results.append(info)
            print(fmt_table(info), flush=True)
    if args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        args.save.write_text(json.dumps(results, indent=1))
    bad = any(row.get('k_check') == 'MISMATCH' for info in results
              for row in info['rows'] if row['impl'].startswith('project'))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())

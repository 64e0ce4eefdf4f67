"""The call-machine diagram of one call's path, as SVG, for ``path.svg``.

Why server-side: the diagram is drawn by ``cacofonisk.fsm.diagram`` from
the very table the tracker runs (the page needs no JavaScript graph
library, and there is no CDN to load one from). Graphviz's ``dot`` renders
it; that is a subprocess of tens of milliseconds, so it runs in a worker
thread, never on the event loop that reads AMI, and the last few pictures
are cached (a path only grows, so a key is the path itself).

Without Graphviz (the ``dot`` program, or the ``graphviz`` package of the
``diagrams`` extra) ``render_path`` raises ``DiagramUnavailable`` with the
install hint; the board then shows the path as text.
"""
from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Sequence

from ..errors import CacofoniskError, ConfigurationError, InvalidTransition

#: pictures kept
CACHE_SIZE = 64


class DiagramUnavailable(CacofoniskError):
    """Graphviz is missing: the message says what to install."""


def draw(path: Sequence[str], title: str) -> bytes:
    """The call machine with ``path`` highlighted, as SVG bytes (blocking).

    A path the table does not allow (a call that was merged, a record we
    could not place) is drawn without highlighting, and says so in its title.

    Raises:
        DiagramUnavailable: ``dot`` or the graphviz package is missing.
    """
    from ..fsm import diagram

    machine = diagram.MACHINES["call"]
    try:
        try:
            return diagram.render(machine, "svg", path=list(path), title=title)
        except InvalidTransition as err:
            return diagram.render(machine, "svg", title=f"{title} (not drawable: {err})")
    except ConfigurationError as err:
        raise DiagramUnavailable(str(err)) from err


class PathRenderer:
    """Renders path diagrams off the event loop, with a small cache."""

    def __init__(self, cache_size: int = CACHE_SIZE) -> None:
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[tuple[str, ...], str], bytes] = OrderedDict()

    async def svg(self, path: Sequence[str], title: str) -> bytes:
        """The SVG for ``path``, from the cache or drawn in a worker thread.

        Raises:
            DiagramUnavailable: Graphviz is missing.
        """
        key = (tuple(path), title)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        data = await asyncio.get_running_loop().run_in_executor(None, draw, key[0], title)
        self._cache[key] = data
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return data

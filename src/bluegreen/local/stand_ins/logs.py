"""Where the handlers' log lines go in the embedded run: to the function that wrote them, not the terminal.

In AWS each function's stdout is its own log group. Here every handler shares the process, so the
Powertools logger's stream is pointed, once for the whole run, at a writer that files each line
under the function running on the writing thread (``HandlerRouter.logs``); ``echo`` also prints them
(``bluegreen demo --verbose``).
"""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from bluegreen.local.stand_ins.invoker import HandlerRouter

# The logger every handler writes through (Powertools' Logger of service "bluegreen").
HANDLER_LOGGER = "bluegreen"


class _PerFunction(io.TextIOBase):
    def __init__(self, router: HandlerRouter, echo: bool) -> None:
        self.router, self.echo = router, echo

    def write(self, text: str) -> int:
        for line in text.splitlines():
            if line.strip():
                self.router.log(line)
                if self.echo:
                    print(line, file=sys.stderr)
        return len(text)


@contextmanager
def routed_logs(router: HandlerRouter, echo: bool = False) -> Iterator[None]:
    # Importing the handlers' shared module creates the logger (and its one stream handler).
    from bluegreen.jobs import handler_support  # noqa: F401, PLC0415

    handlers = [h for h in logging.getLogger(HANDLER_LOGGER).handlers if isinstance(h, logging.StreamHandler)]
    # Swapped without setStream, which flushes the stream it replaces: that may be a stdout long closed (the
    # logger was created while a test's CLI runner held sys.stdout).
    previous = [h.stream for h in handlers]
    for handler in handlers:
        handler.stream = _PerFunction(router, echo)
    try:
        yield
    finally:
        for handler, stream in zip(handlers, previous, strict=True):
            handler.stream = sys.__stdout__ if getattr(stream, "closed", False) else stream

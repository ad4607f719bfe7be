"""Running a test's async body from a synchronous test."""
from __future__ import annotations

import asyncio
import threading

LOOP_TIMEOUT = 180.0


def run_async(coro, timeout: float = LOOP_TIMEOUT):
    """Run `coro` in a thread and event loop of its own (Playwright's sync API may own this
    thread's loop) and return its result, or raise what it raised. A loop that does not end
    within `timeout` seconds (its body, or the cancelling of tasks left behind, stuck) fails the
    test in words instead of hanging the suite: the thread is a daemon, so nothing waits for it
    at exit (a ThreadPoolExecutor's thread would be joined, forever)."""
    box: dict = {}

    def body() -> None:
        try:
            box["result"] = asyncio.run(coro)
        except BaseException as exc:  # handed to the test's thread
            box["error"] = exc

    thread = threading.Thread(target=body, daemon=True, name="test-async-body")
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise AssertionError(f"the test's event loop did not end within {timeout:.0f} s "
                             "(its body, or a task that ignores being cancelled, is stuck)")
    if "error" in box:
        raise box["error"]
    return box.get("result")

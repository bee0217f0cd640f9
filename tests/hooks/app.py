"""A team's own test Lambda (a verification hook), as the tests deploy it: its answer comes from its
configuration (HOOK_ANSWER: passed, failed, garbage or hang), and its reason repeats what it was told, so a
test can see that the hook heard about the right release."""

from __future__ import annotations

import time
from typing import Any

from bluegreen.aws.settings import environment


def handler(event: dict[str, Any], context: Any) -> Any:
    env = environment()
    answer = env.get("HOOK_ANSWER", "passed")
    heard = (f"{event.get('functionName')}:{event.get('alias')} {event.get('oldVersion')} -> "
             f"{event.get('newVersion')} at {event.get('phase')}")
    if answer == "hang":
        time.sleep(float(env.get("HANG_SECONDS", "5")))
    if answer == "garbage":
        return "all good I think"
    return {"status": "failed" if answer == "failed" else "passed", "reason": heard}

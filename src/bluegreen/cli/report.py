"""``bluegreen report``: a timeline picture of one release, drawn from its execution history.

Three panels on one time axis: the new version's share of the alias, both versions' error rates, and
both versions' latency (p99, or the mean where p99 rests on too few calls), with every check marked
by its verdict and the decision written where it was taken. Plain SVG (no plotting library), inside
an HTML page with the checks' reasons, or alone with ``--out FILE.svg``.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bluegreen.cli.executions import ExecutionResult
from bluegreen.cli.progress import describe_metric, describe_verification, error_message
from bluegreen.contracts import state_names
from bluegreen.decisions.latency import P99_MIN_CALLS

WIDTH, PANEL_HEIGHT, LEFT, RIGHT, TOP, GAP = 900, 150, 70, 30, 80, 45
NEW, OLD = "#d97706", "#2563eb"  # the new version amber, the old one blue
VERDICT_COLOURS = {"pass": "#16a34a", "fail": "#dc2626", "inconclusive": "#a3a3a3"}


@dataclass
class Timeline:
    title: str
    outcome: str
    weights: list[tuple[float, int]] = field(default_factory=list)  # (seconds, new version's %)
    checks: list[dict[str, Any]] = field(default_factory=list)  # each with "t" and numbers
    # Verification: (seconds, function, check result) of each passed check; a failed one as its message.
    verification: list[tuple[float, str, str]] = field(default_factory=list)
    end: float = 0.0


def _seconds(event: dict[str, Any], start: datetime) -> float:
    return float((event["timestamp"] - start).total_seconds())


def timeline(result: ExecutionResult) -> Timeline:
    """The release's weights and checks over time, from its history."""
    events = result.events
    start = events[0]["timestamp"]
    plan: dict[str, Any] = {}
    line = Timeline("", result.outcome)
    state = ""
    for event in events:
        if "stateEnteredEventDetails" in event:
            state = event["stateEnteredEventDetails"]["name"]
        _add_verification(line, state, event, _seconds(event, start))
        done = event.get("lambdaFunctionSucceededEventDetails")
        if not done or "output" not in done:
            continue
        out, t = json.loads(done["output"]), _seconds(event, start)
        if state == state_names.PUBLISH:
            plan = out["plan"]
            line.weights.append((t, 0))
        elif state == state_names.SHIFT and (not line.weights or line.weights[-1][1] != out["weight"]):
            line.weights.append((t, out["weight"]))
        elif state == state_names.CHECK and out.get("health"):
            # A multi-function release: the function whose verdict decided (its name leads the reason).
            health = out["health"]
            line.checks.append({"t": t, "verdict": health["verdict"], "decision": out["decision"],
                                "weight": health["weight"],
                                "reason": health["reason"] + (f"; ruled out: {health['ruledOut']}"
                                                              if health.get("ruledOut") else ""),
                                "new": health["canary"], "old": health["baseline"] or {},
                                "metrics": [describe_metric(m) for m in health.get("metrics") or []]})
        elif out.get("outcome") in ("promoted", "rolled_back"):
            line.weights.append((t, 100 if out["outcome"] == "promoted" else 0))
    line.end = _seconds(events[-1], start) or 1.0
    targets = plan.get("targets") or [{}]
    first = targets[0]
    what = (f"{first.get('functionName', '?')}:{first.get('alias', '?')} — version {first.get('oldVersion')} → "
            f"{first.get('newVersion')}")
    if len(targets) > 1:
        what = f"{len(targets)} functions ({', '.join(t['functionName'] for t in targets[:5])}" \
               f"{', ...' if len(targets) > 5 else ''})"
    line.title = f"{what} ({plan.get('strategy', '?')}): {result.outcome.replace('_', ' ')}"
    return line


def _add_verification(line: Timeline, state: str, event: dict[str, Any], t: float) -> None:
    """A verification's checks: from the verify or promote task's output, or a failed task's message."""
    failed = event.get("lambdaFunctionFailedEventDetails") or {}
    if failed.get("error") == "VerificationFailed":
        line.verification.append((t, "", f"failed: {error_message(failed.get('cause'))}"))
    done = event.get("lambdaFunctionSucceededEventDetails") or {}
    if state not in (state_names.VERIFY, state_names.PROMOTE) or "output" not in done:
        return
    out = json.loads(done["output"])
    verified = out if state == state_names.VERIFY else out.get("verification")
    for result in (verified or {}).get("results", []):
        line.verification.append((t, verified["functionName"], _plain(describe_verification(result))))


class _Panel:
    def __init__(self, index: int, label: str, top_value: float, end: float) -> None:
        self.y0 = TOP + index * (PANEL_HEIGHT + GAP)
        self.label, self.top_value, self.end = label, top_value or 1.0, end

    def x(self, t: float) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * t / self.end

    def y(self, value: float) -> float:
        return self.y0 + PANEL_HEIGHT - PANEL_HEIGHT * min(value, self.top_value) / self.top_value

    def frame(self, unit: str) -> str:
        parts = [f'<text x="{LEFT}" y="{self.y0 - 8}" font-weight="bold">{html.escape(self.label)}</text>',
                 f'<rect x="{LEFT}" y="{self.y0}" width="{WIDTH - LEFT - RIGHT}" height="{PANEL_HEIGHT}" '
                 'fill="none" stroke="#d4d4d4"/>']
        for fraction in (0, 0.5, 1):
            value = self.top_value * fraction
            parts.append(f'<text x="{LEFT - 6}" y="{self.y(value) + 4:.1f}" text-anchor="end" font-size="11">'
                         f'{value:.3g}{unit}</text>')
        return "".join(parts)

    def series(self, points: list[tuple[float, float]], colour: str, name: str) -> str:
        if not points:
            return ""
        path = " ".join(f"{self.x(t):.1f},{self.y(v):.1f}" for t, v in points)
        return (f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>'
                + "".join(f'<circle cx="{self.x(t):.1f}" cy="{self.y(v):.1f}" r="3" fill="{colour}">'
                          f'<title>{name}: {v:.3g}</title></circle>' for t, v in points))


def _latency(check: dict[str, Any], version: str) -> float | None:
    """The statistic the latency rule compared at this check, for both versions alike: p99 once each
    version served 2,000 calls in the step, else the mean."""
    calls = min(check["new"].get("invocations") or 0, check["old"].get("invocations") or 0)
    key = "p99Ms" if calls >= P99_MIN_CALLS else "averageMs"
    value = check[version].get(key)
    return float(value) if value is not None else None


def svg(line: Timeline) -> str:
    panels = [_Panel(0, "New version's share of the alias", 100, line.end),
              _Panel(1, "Error rate at each check (whole step)",
                     max([100 * (c[v].get("errorRate") or 0) for c in line.checks for v in ("new", "old")] + [1])
                     * 1.2, line.end),
              _Panel(2, "Latency the check compared (p99 once both versions served 2,000 calls, else the mean)",
                     max([_latency(c, v) or 0 for c in line.checks for v in ("new", "old")] + [1]) * 1.2, line.end)]
    height = TOP + 3 * (PANEL_HEIGHT + GAP) + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
             f'font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="white"/>',
             f'<text x="{LEFT}" y="24" font-size="15" font-weight="bold">{html.escape(line.title)}</text>',
             f'<text x="{LEFT}" y="48" fill="{NEW}">■ new version</text>'
             f'<text x="{LEFT + 110}" y="48" fill="{OLD}">■ old version</text>'
             + "".join(f'<text x="{LEFT + 220 + 110 * i}" y="48" fill="{c}">● check {v}</text>'
                       for i, (v, c) in enumerate(VERDICT_COLOURS.items()))]
    weights, steps = panels[0], list[tuple[float, float]]()
    for i, (t, w) in enumerate(line.weights):
        nxt = line.weights[i + 1][0] if i + 1 < len(line.weights) else line.end
        steps += [(t, w), (nxt, w)]
    parts += [weights.frame("%"), weights.series(steps, NEW, "new version %")]
    errors, latency = panels[1], panels[2]
    parts += [errors.frame("%"), latency.frame(" ms")]
    for key, colour in (("new", NEW), ("old", OLD)):
        parts.append(errors.series([(c["t"], 100 * (c[key].get("errorRate") or 0)) for c in line.checks
                                    if c[key].get("errorRate") is not None], colour, f"{key} version error %"))
        parts.append(latency.series([(c["t"], v) for c in line.checks if (v := _latency(c, key)) is not None],
                                    colour, f"{key} version ms"))
    for check in line.checks:
        colour = VERDICT_COLOURS[check["verdict"]]
        x = weights.x(check["t"])
        verdict_line = check["verdict"] + ": " + check["reason"]
        parts.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{latency.y0 + PANEL_HEIGHT}" '
                     f'stroke="{colour}" stroke-dasharray="3,3" opacity="0.6"/>')
        parts.append(f'<circle cx="{x:.1f}" cy="{weights.y(check["weight"]):.1f}" r="6" fill="{colour}">'
                     f'<title>{html.escape("; ".join([verdict_line, *check.get("metrics", [])]))}</title></circle>')
        if check["decision"] in ("rollback", "promote", "ask-operator"):
            # Written on the side of the line with room for it.
            anchor, dx = ("end", -8) if x > WIDTH / 2 else ("start", 8)
            parts.append(f'<text x="{x + dx:.1f}" y="{weights.y0 + 16}" fill="{colour}" font-weight="bold" '
                         f'text-anchor="{anchor}">{check["decision"]}</text>')
    for t in range(0, int(line.end) + 1, max(1, int(line.end) // 8 or 1)):
        parts.append(f'<text x="{latency.x(t):.1f}" y="{latency.y0 + PANEL_HEIGHT + 16}" text-anchor="middle" '
                     f'font-size="11">{t} s</text>')
    return "".join(parts) + "</svg>"


def _plain(text: str) -> str:
    """Without the terminal's colour markup."""
    return re.sub(r"\[/?[a-z]*\]", "", text)


def page(line: Timeline) -> str:
    verified = "".join(f"<tr><td>{t:.1f} s</td><td>{html.escape(function)}</td><td>{html.escape(text)}</td></tr>"
                       for t, function, text in line.verification)
    verification = ("<h3>Verification</h3><table border='1' cellpadding='4' style='border-collapse:collapse'>"
                    f"<tr><th>at</th><th>function</th><th>check</th></tr>{verified}</table>") if verified else ""
    rows = "".join(
        f"<tr><td>{c['t']:.1f} s</td><td>{c['weight']}%</td>"
        f"<td style='color:{VERDICT_COLOURS[c['verdict']]}'>{c['verdict']}</td><td>{c['decision']}</td>"
        f"<td>{html.escape(c['reason'])}</td><td>{'<br>'.join(html.escape(m) for m in c.get('metrics', []))}</td>"
        "</tr>" for c in line.checks)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(line.title)}</title></head>"
            f"<body style='font-family:sans-serif'>{svg(line)}<table border='1' cellpadding='4' "
            "style='border-collapse:collapse;margin-top:1em'><tr><th>at</th><th>weight</th><th>verdict</th>"
            f"<th>decision</th><th>reason</th><th>application metrics (whole step)</th></tr>{rows}</table>"
            f"{verification}</body></html>")

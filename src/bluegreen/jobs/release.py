"""Validate a release against the live functions and aliases, publish the new versions, and plan it.

Everything a release could trip over is checked here, before the first write, so that a rejected
input leaves every alias exactly as it was: every alias's lock is taken (all or none), every target
is checked, and only then is anything published. The only write is PublishVersion, which is itself
idempotent (unchanged code returns the last version). The plan is returned once every new version is ready
to take calls (``aws.readiness``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from bluegreen.aws import application_metrics, evidence, locks, provisioned, readiness, settings
from bluegreen.aws.aliases import AliasState, read_alias
from bluegreen.aws.evidence import alarm_states
from bluegreen.aws.pacing import first_calls_of_a_map, paced
from bluegreen.contracts import payload
from bluegreen.contracts.health_config import HealthConfig
from bluegreen.contracts.request import ReleaseRequest, TargetRequest
from bluegreen.contracts.state import Plan, StagePlan, TargetPlan
from bluegreen.contracts.verify_request import Stage, Verify
from bluegreen.decisions.cadence import Cadence, cadence_of
from bluegreen.decisions.settled import metric_period
from bluegreen.decisions.strategy import StepPlan
from bluegreen.errors import InsufficientTraffic, InvalidInput, VersionStillPending
from bluegreen.jobs.admission import check_managed, check_verification, resolve_function_name
from bluegreen.jobs.publishing import configuration, publish_ready, target_config


def _check_compatible(name: str, old: Any, new: Any, old_version: str, new_version: str) -> None:
    """Lambda refuses a weighted alias over versions with different roles or dead-letter configs."""
    for key, label in (("Role", "execution role"), ("DeadLetterConfig", "dead-letter config")):
        if (old.get(key) or None) != (new.get(key) or None):
            raise InvalidInput(
                f"version: versions {old_version} and {new_version} of {name} have different {label}s "
                f"({old.get(key)} vs {new.get(key)}), so they cannot share a weighted alias"
            )


def _check_alarms(alarms: list[str]) -> list[str]:
    """The alarms' names now in ALARM; every one must exist."""
    found = alarm_states(alarms)
    missing = [a for a in alarms if a not in found]
    if missing:
        raise InvalidInput(f"health.alarms: no CloudWatch alarm named {', '.join(missing)}")
    return sorted(a for a, state in found.items() if state == "ALARM")


def _check_alias(name: str, alias: str, current: AliasState | None) -> None:
    if current is not None and current.is_split:
        raise InvalidInput(
            f"alias: {alias} of {name} already splits traffic ({current.describe()}): a deployment or "
            "manual split is in progress; finish it or point the alias at one version first"
        )
    if current is not None and current.function_version == "$LATEST":
        raise InvalidInput(f"alias: {alias} of {name} points at $LATEST; point it at a published version first")


def plan_checks(health: HealthConfig, steps: StepPlan, functions: int = 1) -> Cadence:
    """The release's cadence (``decisions.cadence``), its metrics as late as the stack's MetricDelaySeconds unless
    the input says otherwise."""
    current = settings.current()
    return cadence_of(health, steps, functions, current.metric_delay_seconds, current.standard_resolution_seconds)


def prepare(request: ReleaseRequest, own_region: str, own_account: str | None, execution_arn: str,
            deadline: readiness.Deadline) -> Plan:
    """A validated plan for every target, holding every changing alias's lock, or nothing changed at all.

    All locks are taken (all or none), then every target is checked, and only when all pass is
    anything published. Lambda calls are paced under the control-plane rate.
    """
    names = [resolve_function_name(t.function_name, own_region, own_account) for t in request.targets]
    for name in names:
        check_managed(name)
    steps = request.step_plan()
    cadence = plan_checks(request.health, steps, functions=len(names))
    check_verification(request, own_region, own_account)
    # Before anything changes: the state this release can grow to fits Step Functions' quota.
    payload.check_fits(_plan(request, steps, cadence, _provisional_targets(request, names), unchanged=[],
                             alarms_at_start=request.health.alarms))
    taken: list[tuple[str, str]] = []
    try:
        for name, target in zip(names, request.targets, strict=True):
            for alias in [target.alias, *(stage.alias for stage in request.stages_of(target))]:
                locks.acquire(name, alias, execution_arn)
                taken.append((name, alias))
        with paced() as pacer:
            checked = [_check_target(target, name, request)
                       for name, target in zip(names, request.targets, strict=True)]
            alarms_at_start = _check_alarms(request.health.alarms)
            unknown = application_metrics.unknown_app_metrics(request.health.metrics)
            if unknown:
                raise InvalidInput("; ".join(unknown))
            traffic_note = check_traffic(_plan(request, steps, cadence, [_target_plan(c, "0") for c in checked],
                                               unchanged=[], alarms_at_start=alarms_at_start), checked)
            versions = publish_ready([(c.request, c.name, c.config) for c in checked], deadline)
            planned = [_target_plan_unless_there(c, v) for c, v in zip(checked, versions, strict=True)]
            planned = _warm(planned, request, execution_arn, deadline)
            pacer.settle(first_calls_of_a_map(sum(1 for t in planned if t is not None)))
    except VersionStillPending:
        raise  # the next attempt waits on: the leases stay this release's (taking them again is idempotent)
    except BaseException:
        _let_go(taken, execution_arn)
        raise
    changing = [t for t in planned if isinstance(t, TargetPlan)]
    unchanged = [c for c, t in zip(checked, planned, strict=True) if t is None]
    for done in unchanged:
        for alias in [done.request.alias, *(stage.alias for stage, _ in done.stages)]:
            locks.release(done.name, alias, execution_arn)
    return _plan(request, steps, cadence, changing, unchanged=[f"{c.name}:{c.request.alias}" for c in unchanged],
                 alarms_at_start=alarms_at_start).model_copy(update={"traffic_note": traffic_note})


def _let_go(taken: list[tuple[str, str]], execution_arn: str) -> None:
    """A refused release changes nothing: the provisioned concurrency it put removed, every lease let go."""
    for name, alias in taken:
        provisioned.lease_cleanup(name, alias, execution_arn)
        locks.release(name, alias, execution_arn)


def _warm(planned: list[TargetPlan | None], request: ReleaseRequest, execution_arn: str,
          deadline: readiness.Deadline) -> list[TargetPlan | None]:
    """The targets whose alias has provisioned concurrency with the same put on their new versions, all READY
    (waited for together, as the versions are)."""
    if not request.follow_provisioned_concurrency:
        return planned
    warmed = [t.model_copy(update={"provisioned": True}) if t is not None and t.old_version is not None
              and provisioned.give(t, t.old_version, execution_arn) else t for t in planned]
    provisioned.wait_ready([(t.function_name, t.new_version) for t in warmed if t is not None and t.provisioned],
                           deadline)
    return warmed


def _plan(request: ReleaseRequest, steps: StepPlan, cadence: Cadence, changing: list[TargetPlan], *,
          unchanged: list[str], alarms_at_start: list[str]) -> Plan:
    action: Literal["shift", "create", "noop"] = "noop"
    if changing:
        action = "shift" if any(t.action == "shift" for t in changing) else "create"
    weights = list(steps.weights) if action == "shift" else []
    return Plan(
        targets=changing, unchanged=unchanged, action=action,
        strategy=steps.name, weights=weights, step_count=len(weights), bake_seconds=steps.bake_seconds,
        health=request.health, check_interval_seconds=cadence.interval, max_bake_seconds=cadence.max_bake,
        metric_delay_seconds=cadence.delay, first_check_seconds=cadence.first_check,
        standard_resolution_seconds=cadence.resolution,
        checks_planned=cadence.planned if weights else 0, alarms_in_alarm_at_start=alarms_at_start,
        started_at=datetime.now(UTC).isoformat(), trigger=request.trigger, approval=request.approval,
        verify_first=any(t.verifies_first for t in changing))


def check_traffic(plan: Plan, checked: list[Checked]) -> str | None:
    """Refuse a release whose healthy new version could not be proven healthy within maxBakeSeconds at its alias's
    recent traffic (InsufficientTraffic, naming a first weight or bake that would do); one GetMetricData call per
    250 functions, judged on the function with the fewest calls. A release that lets a person decide (onInconclusive:
    wait-for-operator), or whose aliases have no recent calls at all, starts: the note says why (for its first
    event)."""
    shifting = [c for c in checked if c.current is not None and c.current.function_version != c.request.version]
    if not plan.weights or not shifting:
        return None
    from bluegreen.decisions import outlook  # noqa: PLC0415 - the simulation engine, only when there are steps to judge

    traffic = evidence.recent_traffic_many([evidence.Subject(c.name, c.request.alias, {
        "current": c.current.function_version}) for c in shifting if c.current is not None],
        period=metric_period(plan.check_interval_seconds, plan.standard_resolution_seconds))
    with_calls = [(c, t) for c, t in zip(shifting, traffic, strict=True) if t.minutes > 0]
    if not with_calls:
        return ("no calls on the alias in the last hour: nothing tells whether the steps can prove the new version "
                "healthy; each step bakes up to maxBakeSeconds for evidence")
    weakest, seen = min(with_calls, key=lambda found: found[1].calls_per_minute)
    expected = outlook.outlook(plan, seen)
    if expected.proven:
        return None
    said = (f"{weakest.name}:{weakest.request.alias} had {seen.calls_per_minute:g} calls/min over {seen.source}: at "
            f"{plan.weights[0]}% a healthy new version gets about {expected.calls_by_max_bake} calls by "
            f"maxBakeSeconds ({plan.max_bake_seconds} s), too few to rule out mustRuleOut")
    if plan.health.on_inconclusive == "wait-for-operator":
        return f"{said}; an operator decides when the evidence stays inconclusive"
    if expected.first_step is not None:
        weight, bake = expected.first_step
        better = (f"a first step of {weight}% baked {bake // 60} minutes would prove it within its bake "
                  "(bluegreen plan shows it), ")
    else:
        better = "no first step baked up to a day would prove it (loosen mustRuleOut), "
    raise InsufficientTraffic(f"strategy: {said}: the release would end InsufficientEvidence; {better}or let a "
                              "person decide (health.onInconclusive: wait-for-operator)")


@dataclass(frozen=True)
class Checked:
    """A target that passed every check against the live function and alias; nothing written yet."""

    request: TargetRequest
    name: str
    current: AliasState | None
    # Each stage with the version its alias is on now.
    stages: list[tuple[Stage, str]]
    verify: Verify | None
    config: Any  # the configuration of the version to release (or of $LATEST, to be published)


def _check_downgrade(request: TargetRequest, name: str, current: AliasState | None) -> None:
    if current is None or request.version is None or not current.function_version.isdigit():
        return
    if int(request.version) < int(current.function_version):
        raise InvalidInput(
            f"version: {request.version} is older than version {current.function_version}, which alias "
            f"{request.alias} of {name} is on: releasing an older version is a rollback; say \"allowDowngrade\": "
            "true to do it (bluegreen rollback does)")


def _check_stage(name: str, stage: Stage) -> str:
    """The version a stage alias is on now: it must exist and point at one published version."""
    current = read_alias(name, stage.alias)
    if current is None:
        raise InvalidInput(f"stages: alias {stage.alias} of {name} does not exist; create it first "
                           f"(bluegreen aliases {name} --init creates dev, test and prod)")
    _check_alias(name, stage.alias, current)
    return current.function_version


def _check_target(request: TargetRequest, name: str, release: ReleaseRequest) -> Checked:
    new_config = target_config(request, name)
    current = read_alias(name, request.alias)
    _check_alias(name, request.alias, current)
    if not release.allow_downgrade:
        _check_downgrade(request, name, current)
    stages = [(stage, _check_stage(name, stage)) for stage in release.stages_of(request)]
    old_version = current.function_version if current else None
    if old_version is not None and old_version != request.version:
        old_config = configuration(name, old_version, "version")
        _check_compatible(name, old_config, new_config, old_version, request.version or "$LATEST")
    return Checked(request, name, current, stages, release.verify_of(request), new_config)


def _provisional_targets(request: ReleaseRequest, names: list[str]) -> list[TargetPlan]:
    """Every target as its plan will be, versions at their longest (none known yet)."""
    longest = "9" * 10
    move = True if request.follow_provisioned_concurrency else None
    return [TargetPlan(function_name=name, alias=target.alias, old_version=longest, new_version=longest,
                       action="shift", verify=request.verify_of(target), provisioned=move,
                       stages=[StagePlan(alias=stage.alias, old_version=longest, checks=stage.verify)
                               for stage in request.stages_of(target)])
            for name, target in zip(names, request.targets, strict=True)]


def _target_plan(checked: Checked, new_version: str) -> TargetPlan:
    old_version = checked.current.function_version if checked.current else None
    return TargetPlan(function_name=checked.name, alias=checked.request.alias, old_version=old_version,
                      new_version=new_version, action="create" if checked.current is None else "shift",
                      stages=[StagePlan(alias=stage.alias, old_version=version, checks=stage.verify)
                              for stage, version in checked.stages], verify=checked.verify)


def _target_plan_unless_there(checked: Checked, new_version: str) -> TargetPlan | None:
    """The target's plan once its version is published; None when the alias already points 100% at that
    version (nothing to do)."""
    old_version = checked.current.function_version if checked.current else None
    if old_version == new_version:
        return None
    return _target_plan(checked, new_version)

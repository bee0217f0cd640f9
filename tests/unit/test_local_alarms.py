"""The embedded CloudWatch's alarms as DescribeAlarms answers them (bluegreen.local.stand_ins.cloudwatch): composite
alarms and their rules, AlarmTypes, and pages.
https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html
https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html"""

from __future__ import annotations

import boto3
import pytest

from bluegreen.local.stack import REGION, local_aws
from bluegreen.local.stand_ins.cloudwatch import rule_state

STATES = {"a": "ALARM", "b": "OK", "c": "INSUFFICIENT_DATA"}


@pytest.mark.parametrize(("rule", "holds"), [
    ('ALARM("a")', True), ('ALARM("b")', False), ("OK(b)", True), ('INSUFFICIENT_DATA("c")', True),
    ('ALARM("a") AND ALARM("b")', False), ('ALARM("a") AND NOT ALARM("b")', True),
    ('ALARM("b") OR ALARM("a") AND OK("b")', True), ('(ALARM("b") OR ALARM("a")) AND OK("a")', False),
    ("TRUE", True), ("NOT TRUE OR FALSE", False), ('NOT (ALARM("a") OR ALARM("b"))', False),
])
def test_a_rule_reads_as_cloudwatch_reads_it(rule: str, holds: bool) -> None:
    assert rule_state(rule, STATES.__getitem__) is holds


def test_describe_alarms_answers_by_type_and_in_pages() -> None:
    with local_aws():
        cw = boto3.client("cloudwatch", region_name=REGION)
        for i in range(60):
            cw.put_metric_alarm(AlarmName=f"m{i:02}", Namespace="N", MetricName="M", Statistic="Sum", Period=60,
                                EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")
        cw.put_composite_alarm(AlarmName="any", AlarmRule='ALARM("m01") OR ALARM("m02")')
        names = [f"m{i:02}" for i in range(60)] + ["any"]
        # Without AlarmTypes only metric alarms come back, 50 to a page.
        first = cw.describe_alarms(AlarmNames=names)
        assert len(first["MetricAlarms"]) == 50 and first["CompositeAlarms"] == [] and first["NextToken"]
        rest = cw.describe_alarms(AlarmNames=names, NextToken=first["NextToken"])
        assert len(rest["MetricAlarms"]) == 10 and "NextToken" not in rest
        # The composite alarm's state follows its rule.
        composite = cw.describe_alarms(AlarmNames=["any"], AlarmTypes=["CompositeAlarm"])["CompositeAlarms"]
        assert [(a["AlarmName"], a["StateValue"]) for a in composite] == [("any", "OK")]
        cw.set_alarm_state(AlarmName="m02", StateValue="ALARM", StateReason="test")
        composite = cw.describe_alarms(AlarmNames=["any"], AlarmTypes=["CompositeAlarm"])["CompositeAlarms"]
        assert composite[0]["StateValue"] == "ALARM"
        both = cw.get_paginator("describe_alarms").paginate(AlarmNames=names,
                                                            AlarmTypes=["CompositeAlarm", "MetricAlarm"])
        seen = [a["AlarmName"] for page in both for a in [*page["MetricAlarms"], *page["CompositeAlarms"]]]
        assert sorted(seen) == sorted(names)

"""Acting as an IAM principal in the embedded run: a role assumed through (moto's) STS, as a CI job would."""

from __future__ import annotations

import boto3

from bluegreen.local.stack import ACCOUNT, REGION


def session_as(role_name: str) -> boto3.Session:
    """A session with the credentials of ``role_name`` (created if missing) assumed through STS."""
    iam = boto3.client("iam", region_name=REGION)
    try:
        arn = iam.get_role(RoleName=role_name)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        arn = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    assert arn.startswith(f"arn:aws:iam::{ACCOUNT}:role/")
    creds = boto3.client("sts", region_name=REGION).assume_role(RoleArn=arn, RoleSessionName="local")["Credentials"]
    return boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                         aws_session_token=creds["SessionToken"], region_name=REGION)

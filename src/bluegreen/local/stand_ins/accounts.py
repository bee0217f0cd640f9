"""Where the embedded run's AWS is (moto's default account, one region), and its Lambda names and ARNs."""

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account


def arn(service: str, resource: str) -> str:
    """``arn:aws:SERVICE:REGION:ACCOUNT:RESOURCE`` in the embedded run's account and region."""
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"


def function_arn(name: str, qualifier: str | None = None) -> str:
    """A function's ARN, qualified by a version or alias when one is given."""
    return arn("lambda", f"function:{name}" + (f":{qualifier}" if qualifier else ""))


def split_function_name(name_or_arn: str) -> tuple[str, str | None]:
    """(NAME, QUALIFIER or None) of a FunctionName as Lambda's API takes it: ``NAME``, ``NAME:QUALIFIER``, a
    partial (``ACCOUNT:function:NAME``) or full ARN, qualified or not."""
    name, _, qualifier = name_or_arn.rsplit(":function:", maxsplit=1)[-1].partition(":")
    return name, qualifier or None

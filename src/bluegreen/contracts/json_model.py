"""The base of every model that crosses JSON: the execution input, the state handed between tasks."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class JsonModel(BaseModel):
    """camelCase in JSON, snake_case in Python; unknown keys rejected; immutable.

    ``defer_build``: a validator is built when a model is first used, so a cold start pays only for its own.
    """

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True,
                              defer_build=True)

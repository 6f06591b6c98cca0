"""The API's JSON parser: DRF's, with a limit on how deeply a body may nest."""

from collections.abc import Mapping
from typing import IO, Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

# No request of this API nests deeper than a handful of levels (a report's reactions'
# seriousness list is four). A body built to nest hundreds deep would otherwise exhaust
# Python's recursion limit, in the parser or in whatever walks the data next.
MAX_JSON_DEPTH = 32


def nesting_exceeds(data: Any, limit: int) -> bool:
    """Whether lists and objects nest more than limit levels deep (walked without recursion)."""
    pending: list[tuple[Any, int]] = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, Mapping):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False


class JSONParser(parsers.JSONParser):
    """JSON bodies, refused with a 400 when they nest deeper than MAX_JSON_DEPTH."""

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        too_deep = f"JSON parse error - nested more than {MAX_JSON_DEPTH} levels deep."
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError(too_deep) from exc
        if nesting_exceeds(data, MAX_JSON_DEPTH):
            raise ParseError(too_deep)
        return data

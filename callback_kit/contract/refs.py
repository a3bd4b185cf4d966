"""The one resolver of local `$ref`s (`#/components/...`) inside a spec: followed one node at a time, or inlined."""

from __future__ import annotations

from typing import Any

from callback_kit.contract.spec import ContractError

MAX_DEPTH = 50


class RefError(ContractError):
    """A `$ref` that is not local, points nowhere, or loops."""


def resolve(spec: dict[str, Any], node: Any) -> Any:
    """What `node` points to when it is a `$ref` (followed until a node that is not one); else `node` itself."""
    seen: set[str] = set()
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/"):
            raise RefError(f"cannot follow $ref {ref!r}: expected a local reference like '#/components/schemas/Error'")
        if ref in seen:
            raise RefError(f"$ref {ref!r} refers back to itself")
        seen.add(ref)
        node = spec
        for part in ref[2:].split("/"):
            try:
                node = node[part.replace("~1", "/").replace("~0", "~")]
            except (KeyError, TypeError, IndexError):
                raise RefError(f"$ref {ref!r} points nowhere in the spec") from None
    return node


def inline(spec: dict[str, Any], node: Any, *, drop: frozenset[str] = frozenset(), depth: int = 0) -> Any:
    """`node` with every local `$ref` replaced by what it points to (keys in `drop` left out, e.g. `example`)."""
    if depth > MAX_DEPTH:
        raise RefError(f"schema references nest more than {MAX_DEPTH} deep (a cycle?)")
    node = resolve(spec, node)
    if isinstance(node, dict):
        return {k: inline(spec, v, drop=drop, depth=depth + 1) for k, v in node.items() if k not in drop}
    if isinstance(node, list):
        return [inline(spec, v, drop=drop, depth=depth + 1) for v in node]
    return node

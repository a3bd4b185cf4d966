"""Connexion's request validation step, with its set-up built once per operation instead of once per request.

Connexion's own step builds two URI parsers, a parameter validator, a body validator and a media-type table
on every request (measured: about a tenth of a callback's instructions). The validators of `validation.py`
keep no state between requests, so this step builds them when the app builds its operations from the spec,
and keeps a body validator per media type and encoding the operation has met (a bounded number of them).
The checks, their order and every refusal are Connexion's, unchanged.
"""

from __future__ import annotations

import typing as t

from connexion import utils
from connexion.middleware.request_validation import (
    RequestValidationAPI,
    RequestValidationMiddleware,
    RequestValidationOperation,
)
from connexion.operations import AbstractOperation
from starlette.types import ASGIApp, Receive, Scope, Send

MAX_BODY_VALIDATORS = 16  # media type and charset come from the client: keep only the first few spellings


class OnceValidationOperation(RequestValidationOperation):  # type: ignore[misc]
    """One operation's validation, its validators built once."""

    def __init__(self, next_app: ASGIApp, **options: t.Any) -> None:
        super().__init__(next_app, **options)
        operation = self._operation
        self._parameters = self._validator_map["parameter"](
            operation.parameters,
            uri_parser=operation.uri_parser_class(operation.parameters, operation.body_definition()),
            strict_validation=self.strict_validation,
            security_query_params=self.security_query_params,
        )
        self._bodies: dict[tuple[str, str], t.Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self._parameters.validate(scope)
        mime_type, encoding = self.extract_content_type(scope["headers"])
        body = self._bodies.get((mime_type, encoding), False)
        if body is False:
            self.validate_mime_type(mime_type)  # raises for a media type the operation does not take
            body = self._body_validator(mime_type, encoding)
            if len(self._bodies) < MAX_BODY_VALIDATORS:
                self._bodies[(mime_type, encoding)] = body
        if body is not None:
            receive, scope = await body.wrap_receive(receive, scope=scope)
        await self.next_app(scope, receive, send)

    def _body_validator(self, mime_type: str, encoding: str) -> t.Any:
        """What Connexion would build for this media type: None when the body goes unchecked."""
        operation = self._operation
        schema = operation.body_schema(mime_type)
        if not schema:
            return None
        try:
            validator_class = self._validator_map["body"][mime_type]
        except KeyError:
            return None
        return validator_class(
            schema=schema,
            required=operation.request_body.get("required", False),
            nullable=utils.is_nullable(operation.body_definition(mime_type)),
            encoding=encoding,
            strict_validation=self.strict_validation,
            uri_parser=operation.uri_parser_class(operation.parameters, operation.body_definition()),
        )


class OnceValidationAPI(RequestValidationAPI):  # type: ignore[misc]
    """The validation step of one API (spec), with `OnceValidationOperation`s."""

    def make_operation(self, operation: AbstractOperation) -> OnceValidationOperation:
        return OnceValidationOperation(
            self.next_app,
            operation=operation,
            strict_validation=self.strict_validation,
            validator_map=self.validator_map,
        )


class OnceValidationMiddleware(RequestValidationMiddleware):  # type: ignore[misc]
    """Takes the place of Connexion's `RequestValidationMiddleware` in the app's stack (`middleware.stack`)."""

    api_cls = OnceValidationAPI

"""The contract as data, shared by the mock and the contract suite (neither imports the other).

spec         openapi.yaml loaded once, and the callback operation in it
idempotency  the operation's `x-idempotency` block as a typed value
refs         the one resolver of local `$ref`s
schemas      the one cached schema validator (OpenAPI 3.0's Draft 4, `nullable`, strict RFC 3339)
lint         `callback-kit lint`: is a spec one the kit can run on?
exchange     one request and its answer, byte for byte (`Exchange`): what checks judge
responses    what the spec declares of the answers: headers and error codes (`x-error-codes`) per status
spec_view    readers of the callback operation, and the part of a request that breaks it
checks/      the named checks over exchanges, each returning a `Violation` (suite and proxy alike)
"""

from callback_kit.contract.idempotency import ErrorSpec, IdempotencyContract, idempotency_contract
from callback_kit.contract.spec import CALLBACK_PATH, ContractError, callback_operation, default_spec_path, load_spec

__all__ = [
    "CALLBACK_PATH",
    "ContractError",
    "ErrorSpec",
    "IdempotencyContract",
    "callback_operation",
    "default_spec_path",
    "idempotency_contract",
    "load_spec",
]

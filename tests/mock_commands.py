"""A factory and a reader as users write them, for the mock: `python -m tests.mock_commands factory STATUS`
or `reader ID`, with `CALLBACK_KIT_BASE_URL` and `CALLBACK_KIT_TOKEN` from the suite (the admin token is the
kit's fixture). `factory` cannot choose ids, like a real server's provisioning script.
"""

from __future__ import annotations

import json
import os
import sys

import httpx

from tests.broken_servers import ADMIN_TOKEN


def main(argv: list[str]) -> int:
    """Create an exception (print its id) or read one (print its status and applied callbacks)."""
    what, argument = argv[0], argv[-1]
    base, admin = os.environ["CALLBACK_KIT_BASE_URL"], {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    if what == "factory":
        wanted = {"status": argument, "ownerToken": os.environ["CALLBACK_KIT_TOKEN"]}
        answer = httpx.post(f"{base}/_mock/exceptions", json=wanted, headers=admin)
        print(answer.json()["id"])
        return 0 if answer.status_code == 201 else 1
    seen = httpx.get(f"{base}/_mock/exceptions/{argument}", headers=admin).json()
    print(json.dumps({"status": seen["status"], "appliedCallbacks": seen["appliedCallbacks"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

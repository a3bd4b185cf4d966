"""Imported before Connexion: it imports Starlette's TestClient at module level, which warns about httpx.

The kit never uses that client, so the warning would only be noise on every `callback-kit` start.
"""

import warnings

warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")

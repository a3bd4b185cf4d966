"""The validating proxy: the mock's journal, fault rules, retry report and inspector in front of a real server.

settings   ProxySettings, declared once (`callback-kit proxy` builds it)
app        create_proxy_app: the admin API under /_mock/, everything else forwarded
forward    the forwarding app: faults, ledger, judge, journal, answer
upstream   the upstream reached with httpx; 502/504 when it cannot answer
ledger     the first answer of each idempotency key, in the mock's store
judge      which of the contract suite's named checks apply to an exchange
journal    the one adapter to the mock's journal entries
admin      the mock's admin API on the proxy's store
serve      run(settings): bind, announce, serve
"""

from callback_kit.mock_server.proxy.app import create_proxy_app
from callback_kit.mock_server.proxy.settings import ProxySettings

__all__ = ["ProxySettings", "create_proxy_app"]

"""Known divergences of Matcher 2.1 from the published contract: the catalogue (data) and how to recognise them.

    catalogue  `catalogue.yaml` loaded as `Divergence`s, and `--accept-divergences` parsed
    reading    how Matcher reads a request and writes its answers (pure)
    classify   the divergence behind a violation of the suite's own checks (pure)
    explain    the divergences behind a failing case of a Schemathesis check (pure)

A failure matching one is still a failure unless the run accepts that divergence (`--accept-divergences`);
the report names it either way, so that a team running the suite against Matcher can tell a known gap from a
new bug. Nothing here sends a request: facts no exchange shows come from the start-up probe (`Facts`).
"""

from callback_kit.contract_tests.divergences.catalogue import Divergence, catalogue, known, numbers, parse_accepted
from callback_kit.contract_tests.divergences.classify import Facts, classify
from callback_kit.contract_tests.divergences.explain import explain

__all__ = ["Divergence", "Facts", "catalogue", "classify", "explain", "known", "numbers", "parse_accepted"]

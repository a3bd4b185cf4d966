"""`pytest contract_tests` registers the suite's plugin here; elsewhere, pass `-p contract_tests.plugin`.

The name is the plugin's module name, so that `-p contract_tests.plugin` (and a `pytest11` entry point of
that name) and this line register it once.
"""

pytest_plugins = ["contract_tests.plugin"]

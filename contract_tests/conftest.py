"""`pytest contract_tests` registers the suite's plugin here; elsewhere, pass `-p callback_kit.contract_tests.plugin`.

The name is the plugin's module name, so that `-p callback_kit.contract_tests.plugin` (and a `pytest11` entry point of
that name) and this line register it once.
"""

pytest_plugins = ["callback_kit.contract_tests.plugin"]

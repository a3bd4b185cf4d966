pytest_plugins = ["callback_kit.testing"]

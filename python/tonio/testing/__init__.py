"""Testing with tonio: the pytest plugin (``tonio.testing.pytest_plugin``, registered as the
``pytest11`` entry point ``tonio``, so it is active wherever tonio is installed)."""

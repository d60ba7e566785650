from tests.security.conftest import stack  # noqa: F401 (the in-process stack, shared with the security tests)

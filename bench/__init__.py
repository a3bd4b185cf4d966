"""The callback kit's benchmarks: the mock, a bare Starlette ceiling and Prism under wrk (`python -m bench`)."""

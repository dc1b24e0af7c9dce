"""Shared pytest setup: tests/ is on sys.path (pytest's prepend mode), so `from helpers import
check_op` works from every test folder."""

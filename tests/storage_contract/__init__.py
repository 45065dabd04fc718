"""The storage contract: every backend behind bot.storage.protocols must pass these tests.

They use the protocols only, through the `storage` fixture (and `peek`, what a backend
holds, for the few assertions no protocol method reads) in conftest.py: a second backend
runs the same suite by replacing those two fixtures.
"""

"""Pure rules and state machines of Confero: no I/O, no clock, no imports of ours.

Everything that needs the time takes ``now`` as an argument so that tests never sleep.
"""

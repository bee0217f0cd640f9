"""The embedded local run: the real template, state machine and handlers, in moto, in process.

Nothing here ships in a Lambda. Stand-ins for AWS behaviour that moto lacks live here only.
"""

"""bluegreen: blue-green and canary releases of AWS Lambda aliases, driven by Step Functions.

The modules at this level are what the Lambdas ship with (see src/Makefile); `local/` and
`cli.py` are the embedded local run and the operator CLI, and never go into a Lambda.
"""

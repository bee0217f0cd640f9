"""What operators do with releases (the `bluegreen` CLI): start, follow, answer, stop, report.

Never shipped in a Lambda.
"""

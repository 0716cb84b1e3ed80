"""The live queue of one office and day: numbering, issuing, call-next, the ticket lifecycle,
counter states and waiting-time estimates.

Public operations live in ``services.py`` (state changes) and ``reads.py`` (views); the state
machine is the table in ``lifecycle.py``, the call order the function in ``ordering.py``.
"""

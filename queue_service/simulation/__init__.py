"""A city day in compressed time (``queue-service simulate``, docs/simulation.md).

``plan`` draws the day from the catalogue (pure, seeded), ``actors`` plays it through the real
HTTP API and Socket.IO, ``report`` turns what happened into figures and integrity checks,
``deployment`` starts a server of its own when no ``--url`` is given, and ``readback`` checks the
outcome against the database or the API. The package is a client of the service: it never calls
the services directly while the day runs.
"""

"""The fault harness (issue 11, "Faults survived"): the embedded stack's real parts as
separate processes that can be killed and restarted (parts.py, pg.py), a clerk's and
handlers' load through the HTTP API (load.py), the fault script (scenario.py) and the
invariants checked at the end (checks.py). ``bench/faults.py`` runs it in full,
``tests/faults`` in a short form."""

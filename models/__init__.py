"""Pydantic models that cross workflow boundaries: inputs, results, events.

Table models live in ``db/``; nothing here is ``table=True``, so everything here
can travel through Temporal's pydantic data converter.
"""

"""Supervisors' figures: SQL over the read model, formulas, charts."""

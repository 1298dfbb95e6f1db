"""Analyses for the research chapters of the course: each module builds a modelling frame with DuckDB from a
generated folder and fits the model a published study used, so that notebooks call functions rather than
repeat SQL and model code.
"""

"""Experiment configs, one Python file per experiment, grouped by study."""

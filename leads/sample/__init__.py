"""Deterministic synthetic county deliveries, vendor feeds and ground truth for the pipeline (see generator)."""

from leads.sample.generator import COUNTIES, SampleSpec, generate_sample

__all__ = ["COUNTIES", "SampleSpec", "generate_sample"]

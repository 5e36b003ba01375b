"""Shared rooms of the lab: what every study uses (background runner, server caps, field metadata,
background sweep jobs, figure style and export)."""

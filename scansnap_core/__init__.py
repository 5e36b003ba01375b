"""Scan & Snap core: config, data, engine, theory, runner, sweeps (no UI imports)."""

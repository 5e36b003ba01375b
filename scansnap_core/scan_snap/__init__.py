"""Scan & Snap (Tian, Wang, Chen, Du, NeurIPS 2023): the Y/Z model, its data, training, theory, measured
events, figures, sweeps and CLI (docs/THEORY.md)."""

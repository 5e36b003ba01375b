"""The generalized induction-head study (Chen, Sheen, Wang, Yang, NeurIPS 2024): n-gram Markov data, a
two-layer transformer whose first layer copies parents, whose normalised FFN selects them and whose second
layer matches histories (docs/THEORY.md, "Induction heads")."""

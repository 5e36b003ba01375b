"""The JoMA study (Tian, Wang, Zhang, Chen, Du, ICLR 2024): joint MLP/attention dynamics, the invariant that
integrates attention out, attention that turns sparse and then dense again (docs/THEORY.md, "JoMA")."""

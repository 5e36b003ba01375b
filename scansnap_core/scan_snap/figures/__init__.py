"""Figure builders: pure functions from data to plotly Figures, one module per family.

No UI imports: the dashboard shows these figures, the CLI and the figure pack export them.
``run`` (one run's views), ``animation`` (a run as frames that play offline), ``theory`` (the Theory explorer's closed-form curves), ``sweep``
(Fig. 6), ``compare`` (A/B) and ``style`` (what they share: colours, template, marks).
"""

from .animation import animation_figure, still_frames, write_animation
from .compare import attention_difference
from .run import all_figures, attention_heatmap, attention_history, decoder_panel, logit_trajectories, \
    theory_vs_experiment
from .sweep import sweep_entropy, sweep_heatmap
from .tokens import COMMON_COLOR, DISTINCT_COLOR, DISTINCT_SHADES, MAX_HEATMAP_CLASSES
from .theory import (theory_B, theory_eta_y_sweep, theory_eta_z_sweep, theory_growth, theory_h_gamma,
                     theory_time_grid)

__all__ = ["animation_figure", "still_frames", "write_animation", "attention_heatmap", "attention_history", "logit_trajectories", "decoder_panel", "theory_vs_experiment",
           "all_figures", "sweep_entropy", "sweep_heatmap", "theory_time_grid", "theory_h_gamma", "theory_B",
           "theory_growth", "theory_eta_y_sweep", "theory_eta_z_sweep", "attention_difference",
           "COMMON_COLOR", "DISTINCT_COLOR", "DISTINCT_SHADES", "MAX_HEATMAP_CLASSES"]

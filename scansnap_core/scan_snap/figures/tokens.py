"""Scan & Snap's token colours and drawing caps (the house style is :mod:`scansnap_core.lab.figure_style`)."""

#: Okabe–Ito vermillion for common tokens, blue for distinct ones (colour-blind safe pair)
COMMON_COLOR = "#D55E00"
DISTINCT_COLOR = "#0072B2"
#: distinct-token trajectories are drawn in this many shades of blue (darker = larger P(l|n))
DISTINCT_SHADES = 5
#: the live heatmap shows at most this many classes (a K = 100 layout would be 10⁶ cells)
MAX_HEATMAP_CLASSES = 20
#: at most this many logit trajectories are drawn (evenly spread over P(l|n))
MAX_TRAJECTORIES = 60
#: the loss panel shows at most this many points (bin means beyond it)
MAX_LOSS_POINTS = 2000

# Scan & Snap Lab for lab demos:
#   docker build -t scansnap-lab .
#   docker run --rm -p 8501:8501 scansnap-lab
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Chromium renders the figure pack's PNG/SVG files (kaleido); Debian's current build is wanted.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends chromium \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# CPU-only torch first, from PyTorch's CPU index (the default index would pull the CUDA build),
# then the pinned requirements, which it already satisfies.
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# The live charts load the pinned plotly.js from static/; the app folder is read-only at run time.
RUN python -m scansnap_app.live_chart \
    && useradd --uid 10001 --create-home --shell /usr/sbin/nologin scansnap

USER 10001
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=40s --retries=3 \
    CMD ["python", "-m", "scansnap_app.healthcheck"]
ENTRYPOINT ["streamlit", "run", "app.py", "--server.address=0.0.0.0", "--server.port=8501"]

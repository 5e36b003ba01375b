# Scan & Snap Lab for lab demos:
#   docker build -t scansnap-lab .
#   docker run --rm -p 8501:8501 scansnap-lab
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Chromium renders the figure pack's PNG/SVG files (kaleido); Debian's current build is wanted.  It is the
# image's largest part (about 1 GB): WITH_CHROMIUM=0 leaves it out, and the figure pack then says it cannot render.
ARG WITH_CHROMIUM=1
# hadolint ignore=DL3008
RUN if [ "$WITH_CHROMIUM" = 1 ]; then apt-get update \
    && apt-get install -y --no-install-recommends chromium \
    && rm -rf /var/lib/apt/lists/*; fi

WORKDIR /app

# CPU-only torch first, from PyTorch's CPU index (the default index would pull the CUDA build),
# then the pinned requirements, which it already satisfies.  Where that index cannot be reached,
# TORCH_FIND_LINKS names a folder or URL that holds the CPU wheel (make test-docker serves one).
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG TORCH_FIND_LINKS=
RUN if [ -n "$TORCH_FIND_LINKS" ]; then pip install --find-links "$TORCH_FIND_LINKS" torch==2.13.0+cpu; \
    else pip install --index-url "$TORCH_INDEX_URL" torch==2.13.0; fi
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# The live charts load the pinned plotly.js from static/; the app folder is read-only at run time.
RUN python -m scansnap_app.live_chart \
    && useradd --uid 10001 --create-home --shell /usr/sbin/nologin scansnap

USER 10001
# Address and port as settings, so `docker run -e STREAMLIT_SERVER_PORT=…` moves the server and its health probe.
ENV STREAMLIT_SERVER_ADDRESS=0.0.0.0 \
    STREAMLIT_SERVER_PORT=8501
EXPOSE 8501
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-m", "scansnap_app.healthcheck"]
# `streamlit run app.py` with the pages' modules loaded before the first visitor (scansnap_app/serve.py)
ENTRYPOINT ["python", "-m", "scansnap_app.serve"]

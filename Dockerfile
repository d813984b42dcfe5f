# rsclip-search API and web page, CPU only. Built by docker-compose.yml; see README "Docker".
FROM python:3.11-slim

ARG TORCH_VERSION=2.13.0
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RSCLIP_DATA=/data \
    HF_HOME=/models

WORKDIR /app
# The CPU build of torch first, from PyTorch's CPU index, so nothing pulls a multi-GB CUDA build.
RUN pip install "torch==${TORCH_VERSION}" --index-url https://download.pytorch.org/whl/cpu

COPY pyproject.toml README.md ./
COPY encoder ./encoder
COPY storage ./storage
COPY indexer ./indexer
COPY service ./service
COPY evaluation ./evaluation
COPY rsclip ./rsclip
COPY search_api ./search_api
RUN pip install .[postgres] && useradd --create-home --uid 1000 rsclip && mkdir -p /data /models && chown rsclip /data /models

USER rsclip
VOLUME ["/data", "/models"]
EXPOSE 7860
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:7860/health', timeout=5)"
CMD ["rsclip", "serve", "--host", "0.0.0.0", "--port", "7860"]

# connect-mcp over streamable HTTP. Build: docker build -t connect-mcp .
# Run:   docker run --rm -p 8000:8000 -v connect-mcp-data:/data connect-mcp
# With no PIPEDREAM_* variables it serves the embedded local Connect server; pass real
# credentials and a JWT secret at run time (-e / --env-file) - none are baked into the image.

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY connect_mcp ./connect_mcp
RUN pip install --no-cache-dir --upgrade pip \
 && pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CONNECT_MCP_DATA_DIR=/data
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin app \
 && mkdir -p /data && chown app:app /data && chmod 700 /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER app
WORKDIR /home/app
VOLUME ["/data"]
EXPOSE 8000
# Listens on all interfaces inside the container; DNS-rebinding protection still accepts only
# loopback names and the container's hostname unless CONNECT_MCP_ALLOWED_HOSTS adds yours.
ENTRYPOINT ["connect-mcp"]
CMD ["serve", "--http", "--host", "0.0.0.0", "--port", "8000"]

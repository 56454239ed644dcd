# The aidmon command in a container (see docker-compose.yml): the worker, topics, replay.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY schemas ./schemas
COPY agents ./agents
COPY streams ./streams
COPY examples ./examples
RUN pip install --no-cache-dir . && useradd --system --uid 10001 aidmon \
    && mkdir -p /var/lib/aidmon && chown aidmon /var/lib/aidmon
USER aidmon
EXPOSE 6066
ENTRYPOINT ["aidmon"]
CMD ["--help"]

# The syncctl worker image used by docker-compose.yml.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
COPY config ./config
RUN pip install --no-cache-dir .
ENV SYNCCTL_KAFKA__BOOTSTRAP_SERVERS=kafka:9092
ENTRYPOINT ["syncctl"]
CMD ["worker"]

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    DATABASE_URL=sqlite+aiosqlite:////data/thidua.sqlite3

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
COPY locales ./locales
RUN pip install -e . && useradd --create-home --uid 10001 thidua && mkdir /data && chown thidua /data

USER thidua
EXPOSE 8080
VOLUME ["/data"]
# The catalogs are read from /app/locales (bot/i18n.py looks next to the package).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import sys; from bot.health import check; sys.exit(check())"
CMD ["thidua", "run"]

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY config config
COPY core core
COPY accounts accounts
COPY audit audit
COPY reference reference
COPY reports reports
COPY surveillance surveillance
RUN pip install . && pip uninstall -y pvtracker
COPY . .
RUN DJANGO_DEBUG=0 DJANGO_SECRET_KEY=build-only DJANGO_ALLOWED_HOSTS=build \
    python manage.py collectstatic --no-input \
 && mkdir -p /app/var/uploads \
 && useradd --system --home /app app && chown -R app /app/var
USER app

EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "300"]

from django.core.management import call_command


def test_the_openapi_schema_is_valid_and_complete(tmp_path, db):
    path = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    text = path.read_text()
    for operation in [
        "/api/v1/reports/:",
        "/api/v1/exposures/:",
        "/api/v1/signals/{id}/:",
        "/api/v1/signal-runs/:",
        "/api/v1/terms/:",
        "/api/v1/drugs/{slug}/label/:",
    ]:
        assert operation in text, operation
    assert "Idempotency-Key" in text

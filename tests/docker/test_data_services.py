"""The data services demand TLS and their own credentials: PostgreSQL verify-full with a
password, RabbitMQ over AMQPS only, Weaviate collections per app."""

from __future__ import annotations

from tests.docker.probes import (
    amqp,
    dead_lettered,
    gateway_url,
    psql,
    weaviate_status,
)
from tests.docker.stack import PREFIX, Stack
from tests.helpers import output


def test_a_service_reaches_postgres_by_name_with_verify_full_and_plaintext_is_refused(
    stack: Stack,
) -> None:
    who = "select current_user, ssl from pg_stat_ssl where pid = pg_backend_pid()"
    code, out = psql(stack, gateway_url(stack), who)
    assert code == 0 and out.strip() == "api_gateway|t", out
    code, out = psql(stack, gateway_url(stack, "disable"), "select 1")
    assert code != 0 and "no encryption" in out, out
    wrong = gateway_url(stack).replace(
        stack.secret("credentials-api-gateway-postgres-password"), "x"
    )
    code, out = psql(stack, wrong, "select 1")
    assert code != 0 and "password authentication failed" in out, out


def test_a_service_reaches_rabbitmq_over_amqps_and_plain_amqp_is_refused(stack: Stack) -> None:
    password = stack.secret("credentials-api-gateway-rabbitmq-password")
    code, out = amqp(stack, "api-gateway", password, PUBLISH="hello")
    assert code == 0 and "ok" in out, out
    # The weather agent took it from its queue and, finding no user_id, rejected it: the
    # broker kept it in the dead-letter queue, saying where it came from and why.
    code, out = dead_lettered(stack, "hello")
    assert code == 0 and "from: vos.agent.weather rejected" in out, out
    for port, tls in (("5672", "0"), ("5671", "0")):  # no plain listener; plain on TLS port
        code, out = amqp(stack, "api-gateway", password, PORT=port, TLS=tls)
        assert code == 3, (port, out)
    code, out = amqp(stack, "api-gateway", "wrong-password")
    assert code == 3 and "Authentication" in out, out


def test_the_weaviate_roles_job_ran_and_each_app_reaches_only_its_own_collections(
    stack: Stack,
) -> None:
    job = stack.inspect(f"{PREFIX}-weaviate-roles")
    assert job["State"]["Status"] == "exited" and job["State"]["ExitCode"] == 0
    assert output(stack.evaluation.named("weaviate-roles"), "exitCode") == 0
    assert weaviate_status(stack, "api-gateway", "POST", "/schema", "ApiGatewayNotes") == 200
    assert weaviate_status(stack, "api-gateway", "POST", "/schema", "WeatherAgentNotes") == 403
    assert weaviate_status(stack, "weather-agent", "POST", "/schema", "WeatherAgentMemory") == 200
    assert weaviate_status(stack, "weather-agent", "GET", "/schema/ApiGatewayNotes") == 403
    assert weaviate_status(stack, "primary-agent", "POST", "/objects", "WeatherAgentMemory") == 403
    assert weaviate_status(stack, "vos-reader", "GET", "/schema/ApiGatewayNotes") == 200
    assert weaviate_status(stack, "vos-reader", "POST", "/schema", "ReaderNotes") == 403
    # control: the platform's admin (root) reaches everything
    assert weaviate_status(stack, "vos-admin", "GET", "/schema/WeatherAgentMemory") == 200

from typing import Any

import pytest

from kinject.errors import PluginError
from kinject_plugins.augmenters.endpoint import EndpointClient, GeneratorOptions, numbered_lines


def test_client_sends_openai_chat_request(
    fake_endpoint: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = fake_endpoint(lambda body: "hello " + body["messages"][1]["content"])
    monkeypatch.setenv("KINJECT_TEST_KEY", "sk-test")
    client = EndpointClient.from_options(
        GeneratorOptions(base_url=server.base_url, model="m", api_key_env="KINJECT_TEST_KEY")
    )
    assert client.complete("sys", "world") == "hello world"
    assert server.requests[0]["messages"][0] == {"role": "system", "content": "sys"}
    assert server.headers[0]["Authorization"] == "Bearer sk-test"


def test_no_key_no_header(fake_endpoint: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    server = fake_endpoint(lambda body: "ok")
    monkeypatch.delenv("KINJECT_NO_SUCH_KEY", raising=False)
    EndpointClient.from_options(
        GeneratorOptions(base_url=server.base_url, model="m", api_key_env="KINJECT_NO_SUCH_KEY")
    ).complete("s", "u")
    assert "Authorization" not in server.headers[0]


def test_errors_are_plugin_errors(fake_endpoint: Any) -> None:
    server = fake_endpoint(lambda body: "ok")
    with pytest.raises(PluginError, match="HTTP 404"):
        EndpointClient(server.base_url + "/wrong", "m").complete("s", "u")
    with pytest.raises(PluginError, match="failed"):
        EndpointClient("http://127.0.0.1:9/v1", "m", timeout=2, retries=0).complete("s", "u")
    with pytest.raises(PluginError, match="base_url"):
        EndpointClient("", "m")


def test_numbered_lines() -> None:
    assert numbered_lines("1. one\n- two\n\n* three") == ["one", "two", "three"]

"""EndpointConfig, RetryPolicy and Budget: validation and environment variables."""

from __future__ import annotations

import pytest

from tvm_llm_sched.errors import ProposerError
from tvm_llm_sched.llm import Budget, EndpointConfig, RetryPolicy

BASE = {"TVM_LLM_SCHED_BASE_URL": "http://127.0.0.1:8000/v1/", "TVM_LLM_SCHED_MODEL": "qwen"}


def test_from_env_without_base_url_means_no_endpoint():
    assert EndpointConfig.from_env({}) is None
    assert EndpointConfig.from_env({"OPENAI_API_KEY": "sk-x", "TVM_LLM_SCHED_MODEL": "m"}) is None
    with pytest.raises(ProposerError, match="TVM_LLM_SCHED_BASE_URL"):
        EndpointConfig.from_env({}, required=True)


def test_from_env_reads_url_model_and_own_key():
    env = {**BASE, "TVM_LLM_SCHED_API_KEY": "sk-own", "OPENAI_API_KEY": "sk-openai"}
    cfg = EndpointConfig.from_env(env)
    assert cfg.base_url == "http://127.0.0.1:8000/v1" and cfg.model == "qwen"
    assert cfg.api_key == "sk-own" and cfg.json_mode is False


def test_from_env_falls_back_to_openai_api_key():
    assert EndpointConfig.from_env({**BASE, "OPENAI_API_KEY": "sk-openai"}).api_key == "sk-openai"
    assert EndpointConfig.from_env({**BASE, "TVM_LLM_SCHED_API_KEY": ""}).api_key is None


def test_from_env_uses_os_environ(monkeypatch):
    for name, value in BASE.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("TVM_LLM_SCHED_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    monkeypatch.setenv("TVM_LLM_SCHED_JSON_MODE", "true")
    cfg = EndpointConfig.from_env()
    assert cfg.api_key == "sk-env" and cfg.json_mode is True


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"TVM_LLM_SCHED_BASE_URL": "http://h/v1"}, "TVM_LLM_SCHED_MODEL"),
        ({**BASE, "TVM_LLM_SCHED_BASE_URL": "ftp://h"}, "http"),
        ({**BASE, "TVM_LLM_SCHED_JSON_MODE": "maybe"}, "JSON_MODE"),
    ],
)
def test_from_env_inconsistent_variables(env, needle):
    with pytest.raises(ProposerError, match=needle):
        EndpointConfig.from_env(env)


def test_endpoint_validation_and_hidden_key():
    cfg = EndpointConfig(base_url="https://h/v1", model="m", api_key="sk-hidden")
    assert "sk-hidden" not in repr(cfg) and "sk-hidden" not in str(cfg)
    with pytest.raises(ValueError, match="base_url"):
        EndpointConfig(base_url="127.0.0.1:8000", model="m")
    with pytest.raises(ValueError, match="model"):
        EndpointConfig(base_url="http://h", model="")
    with pytest.raises(ValueError, match="read_timeout"):
        EndpointConfig(base_url="http://h", model="m", read_timeout=0)
    with pytest.raises(TypeError):
        EndpointConfig("http://h", "m")  # keyword-only


def test_retry_policy_and_budget_validation():
    assert RetryPolicy().max_attempts >= 1
    for bad in ({"max_attempts": 0}, {"initial_backoff": -1.0}, {"jitter": float("nan")}):
        with pytest.raises(ValueError):
            RetryPolicy(**bad)
    assert Budget() == Budget(max_calls=None, max_tokens=None)
    for bad in ({"max_calls": -1}, {"max_tokens": 1.5}):
        with pytest.raises(ValueError):
            Budget(**bad)

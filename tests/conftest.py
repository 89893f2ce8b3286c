"""Shared fixtures for the attnlab tests."""
from __future__ import annotations

import socket

import pytest

import attnlab


@pytest.fixture
def no_network(monkeypatch):
    """Make every socket connection and DNS lookup fail; yields the list of attempts.

    Assert the list is empty at the end: code under test may swallow the OSError.
    """
    attempts: list[tuple] = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network access is blocked in this test")

    def refuse_method(self, *args, **kwargs):
        return refuse(*args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", refuse_method)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse_method)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    yield attempts


@pytest.fixture(scope="session")
def smol():
    """SmolLM2, loaded once (attnlab.load also caches it per process)."""
    return attnlab.load("smollm2")


@pytest.fixture(scope="session")
def minilm():
    """MiniLM, the BERT encoder, loaded once."""
    return attnlab.load("minilm")

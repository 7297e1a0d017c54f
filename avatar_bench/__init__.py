"""avatar-bench: toolkit and leaderboard harness for video-centric audio-visual localization."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("avatar-bench")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+unknown"

from avatar_bench.errors import AvatarBenchError  # noqa: E402

__all__ = ["AvatarBenchError", "__version__"]

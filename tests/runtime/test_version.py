"""tonio.__version__ has one source: Cargo.toml, which maturin also gives the package metadata."""

import importlib.metadata
import tomllib
from pathlib import Path

import tonio

CARGO_TOML = Path(__file__).resolve().parents[2] / 'Cargo.toml'


def test_the_version_is_cargos_and_the_installed_packages():
    cargo_version = tomllib.loads(CARGO_TOML.read_text())['package']['version']
    assert tonio.__version__ == cargo_version
    assert tonio.__version__ == importlib.metadata.version('tonio')

"""The README (the front door) and docs/ (the manual) must stay true to the code and to each other."""

from __future__ import annotations

import importlib.util
import re
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from rnnlab.config import Config
from tests.conftest import PROJECT

README = PROJECT / "README.md"
DOCS = PROJECT / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]
WRITTEN_ELSEWHERE = {DOCS / "architecture.md"}
"""Pages linked from here but written on another branch: their links count once they exist."""
UNIONS = (typing.Union, types.UnionType)


def generator() -> types.ModuleType:
    """docs/configuration.py, loaded by path: docs/ is not a package."""
    spec = importlib.util.spec_from_file_location("docs_configuration", DOCS / "configuration.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sections_in(annotation: Any) -> list[type[BaseModel]]:
    """Every pydantic section an annotation holds (``X | None`` → X; a Union → all its models)."""
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if typing.get_origin(annotation) in UNIONS:
        return [model for member in typing.get_args(annotation) for model in sections_in(member)]
    return []


def keys_of(prefix: str, section: type[BaseModel]) -> list[str]:
    """Dotted keys of a section and of the sections nested in it, found from the schema."""
    keys = []
    for name, field in section.model_fields.items():
        keys.append(f"{prefix}.{name}")
        for inner in sections_in(field.annotation):
            keys += keys_of(f"{prefix}.{name}", inner)
    return keys


def test_configuration_page_is_the_generated_reference() -> None:
    docs = generator()
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    assert docs.MARKER + "\n\n" in text, "docs/configuration.md lacks its marker line"
    generated = text.split(docs.MARKER + "\n\n", 1)[1]
    assert generated == docs.reference_markdown(), "docs/configuration.md is stale: run python docs/configuration.py"


def test_every_config_key_is_documented() -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([a-z_.]+)` \|", text, flags=re.MULTILINE))
    fields = [(name, field) for name, field in Config.model_fields.items() if name != "data"]
    sections = [(name, section) for name, field in fields for section in sections_in(field.annotation)]
    missing = [key for name, section in sections for key in keys_of(name, section) if key not in documented]
    for options in sections_in(Config.model_fields["data"].annotation):
        dataset = typing.get_args(options.model_fields["dataset"].annotation)[0]
        heading = f"### `dataset: {dataset}`\n"
        assert heading in text, f"docs/configuration.md has no heading for dataset {dataset!r}"
        table = text.split(heading, 1)[1].split("\n#", 1)[0]
        rows = set(re.findall(r"^\| `([a-z_.]+)` \|", table, flags=re.MULTILINE))
        missing += [f"{key} ({dataset})" for key in keys_of("data", options) if key != "data.dataset" and key not in rows]
    assert not missing, f"docs/configuration.md lacks: {missing}"


def test_ci_runs_the_readme_test_command() -> None:
    match = re.search(r"Set up and run the tests.*?```bash\n(.+?)\n```", README.read_text(encoding="utf-8"), flags=re.DOTALL)
    assert match, "README has no test command after 'Set up and run the tests'"
    assert match.group(1) in (PROJECT / ".ci" / "run").read_text(encoding="utf-8")


def test_readme_is_a_front_door() -> None:
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines <= 250, f"README.md has {lines} lines; move detail into docs/"


def test_readme_yaml_is_the_shipped_config() -> None:
    shown = r"`(configs/[\w.-]+\.yaml)`[^\n]*\n\n```yaml\n(.*?)^```$"
    match = re.search(shown, README.read_text(encoding="utf-8"), flags=re.DOTALL | re.MULTILINE)
    assert match, "README shows no ```yaml block right after naming its configs/ file"
    assert match.group(2) == (PROJECT / match.group(1)).read_text(encoding="utf-8")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: code marks and punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def without_fences(text: str) -> str:
    return re.sub(r"^```.*?^```$", "", text, flags=re.DOTALL | re.MULTILINE)


def without_code(text: str) -> str:
    """Markdown with fenced blocks and inline code removed, so their brackets are not read as links."""
    return re.sub(r"`[^`\n]*`", "", without_fences(text))


def anchors(page: Path) -> set[str]:
    """The page's heading anchors; a repeated heading gets ``-1``, ``-2``... as on GitHub."""
    found: set[str] = set()
    counts: dict[str, int] = {}
    for heading in re.findall(r"^#+ (.+)$", without_fences(page.read_text(encoding="utf-8")), flags=re.MULTILINE):
        base = slug(heading)
        found.add(base if base not in counts else f"{base}-{counts[base]}")
        counts[base] = counts.get(base, 0) + 1
    return found


def test_every_relative_link_points_at_an_existing_file() -> None:
    broken = []
    for page in PAGES:
        for target in re.findall(r"\]\(([^)\s]+)\)", without_code(page.read_text(encoding="utf-8"))):
            if re.match(r"[a-z]+:", target):
                continue
            path_part, _, anchor = target.partition("#")
            path = (page.parent / path_part).resolve() if path_part else page
            if path in WRITTEN_ELSEWHERE and not path.exists():
                continue
            if not path.exists():
                broken.append(f"{page.relative_to(PROJECT)}: {target} (no such file)")
            elif anchor and path.suffix == ".md" and anchor not in anchors(path):
                broken.append(f"{page.relative_to(PROJECT)}: {target} (no such heading)")
    assert not broken, "broken links:\n" + "\n".join(broken)

"""The learner build's configuration and the removal of solutions (sdfirst.learner)."""

from __future__ import annotations

import yaml
from docutils import nodes

from sdfirst.learner import EXTENSION, learner_config, remove_solutions, write_learner_config


class solution(nodes.Element):  # stands in for the solution_node of sphinx-exercise
    pass


def test_learner_config_hides_solutions_and_sources() -> None:
    book = {"title": "T", "execute": {"execute_notebooks": "force"}, "sphinx": {"config": {"extensions": ["a"]}}}
    learner = learner_config(book)
    config = learner["sphinx"]["config"]
    assert config["hide_solutions"] is True
    assert config["extensions"] == ["a", EXTENSION]
    assert learner["execute"]["execute_notebooks"] == "off"
    assert config["html_copy_source"] is False and config["html_show_sourcelink"] is False
    assert config["html_theme_options"]["use_download_button"] is False
    assert book["sphinx"]["config"] == {"extensions": ["a"]}  # the input is left alone


def test_learner_config_without_extension_list_uses_local_extension() -> None:
    learner = learner_config({"title": "T"})
    assert learner["sphinx"]["local_extensions"] == {EXTENSION: "."}


def test_write_learner_config_from_the_book(tmp_path) -> None:
    book = tmp_path / "_config.yml"
    book.write_text("title: Book\nsphinx:\n  config:\n    extensions: [sphinx_exercise]\n", encoding="utf-8")
    out = write_learner_config(tmp_path / "learner" / "_config.yml", book)
    written = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert written["title"] == "Book (learner edition)"
    assert written["sphinx"]["config"]["extensions"] == ["sphinx_exercise", EXTENSION]


def test_remove_solutions_removes_each_solution_with_its_content() -> None:
    doc = nodes.section()
    doc += nodes.paragraph(text="Exercise: count the people.")
    answer = solution()
    answer += nodes.paragraph(text="The answer is 42.")
    answer += nodes.literal_block(text="print(42)")
    doc += answer
    doc += nodes.paragraph(text="Key points")
    second = solution()
    second += nodes.paragraph(text="Another answer.")
    doc += second
    assert remove_solutions(doc, solution) == 2
    text = doc.astext()
    assert "Exercise: count the people." in text and "Key points" in text
    assert "42" not in text and "Another answer" not in text

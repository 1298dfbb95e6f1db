"""The learner build's configuration and the removal of solutions (sdfirst.learner)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
import yaml
from docutils import nodes

from sdfirst.learner import (
    EXTENSION,
    learner_config,
    learner_notebook,
    main,
    remove_solutions,
    write_learner_config,
    write_learner_notebooks,
)

BOOK = Path(__file__).resolve().parents[1] / "book"


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


def _chapter() -> nbformat.NotebookNode:
    """A small chapter in the book's style: a gated solution over three cells, a one-block one, key points."""
    markdown, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        markdown("# A chapter\n\nSome teaching."),
        code("total = 1 + 1\nprint(total)"),
        markdown(
            "## Exercises\n\n```{exercise}\n:label: ex-a\n\nPredict the total, then count it.\n```\n\n"
            "```{solution-start} ex-a\n:class: dropdown\n```\nThe hidden reasoning of A."
        ),
        code("print('the hidden code of A')"),
        markdown(
            "The hidden conclusion of A.\n\n```{solution-end}\n```\n\n"
            "```{exercise}\n:label: ex-b\n\nExplain why.\n```\n\n"
            "````{solution} ex-b\n:class: dropdown\nThe hidden answer to B, with code:\n"
            "```python\nprint(2)\n```\n````\n\n"
            "## Key points\n\n- Counting beats guessing."
        ),
    ]
    for number, cell in enumerate(notebook.cells):
        cell.id = f"cell-{number}"
    return notebook


def test_learner_notebook_removes_every_solution_and_keeps_the_rest() -> None:
    learner, removed = learner_notebook(_chapter())
    nbformat.validate(learner)
    text = "\n".join(cell.source for cell in learner.cells)
    assert removed == ["ex-a", "ex-b"]
    assert "hidden" not in text and "solution" not in text
    assert "Predict the total, then count it." in text and "Explain why." in text
    assert "Some teaching." in text and "total = 1 + 1" in text and "Counting beats guessing." in text
    kinds = [(cell.cell_type, cell.source.splitlines()[0]) for cell in learner.cells]
    assert kinds == [
        ("markdown", "# A chapter"),
        ("code", "total = 1 + 1"),
        ("markdown", "## Exercises"),
        ("code", "# Your answer to exercise ex-a"),
        ("markdown", "```{exercise}"),
        ("code", "# Your answer to exercise ex-b"),
        ("markdown", "## Key points"),
    ]
    assert len({cell.id for cell in learner.cells}) == len(learner.cells)


def test_learner_notebook_leaves_a_notebook_without_solutions_unchanged() -> None:
    chapter = _chapter()
    chapter.cells = chapter.cells[:2]
    learner, removed = learner_notebook(chapter)
    assert removed == [] and learner == chapter


def test_learner_notebook_refuses_a_solution_without_its_end() -> None:
    chapter = _chapter()
    chapter.cells = chapter.cells[:4]
    with pytest.raises(ValueError, match="ex-a has no"):
        learner_notebook(chapter)


def test_write_learner_notebooks_checks_the_destination_first(tmp_path) -> None:
    book = tmp_path / "book"
    book.mkdir()
    nbformat.write(_chapter(), book / "chapter.ipynb")
    written = write_learner_notebooks(tmp_path / "out", book)
    assert written == {tmp_path / "out" / "chapter.ipynb": ["ex-a", "ex-b"]}
    assert "hidden" not in (tmp_path / "out" / "chapter.ipynb").read_text(encoding="utf-8")
    with pytest.raises(FileExistsError):
        write_learner_notebooks(tmp_path / "out", book)


@pytest.mark.parametrize("source", sorted(BOOK.glob("*.ipynb")), ids=lambda path: path.stem)
def test_every_chapter_has_a_valid_learner_copy_without_its_solutions(source: Path) -> None:
    chapter = nbformat.read(source, as_version=4)
    learner, removed = learner_notebook(chapter)
    nbformat.validate(learner)
    markdown = "\n".join(cell.source for cell in chapter.cells if cell.cell_type == "markdown")
    labels = re.findall(r"^:label: (\S+)", markdown, re.M)
    assert removed and sorted(removed) == sorted(labels)  # one solution per exercise, each removed
    text = "\n".join(cell.source for cell in learner.cells)
    assert "{solution" not in text
    for label in labels:
        assert f":label: {label}" in text  # the exercise itself is kept
    code = [cell.source for cell in chapter.cells if cell.cell_type == "code"]
    kept = [cell.source for cell in learner.cells if cell.cell_type == "code"]
    assert kept[0] == code[0]  # the teaching code is kept
    assert len(kept) < len(code) + len(removed)  # the solutions' code cells are gone


def test_main_refuses_an_existing_notebooks_folder_in_one_line_writing_nothing(tmp_path, capsys) -> None:
    (tmp_path / "notebooks").mkdir()
    config = tmp_path / "config" / "_config.yml"
    with pytest.raises(SystemExit) as stopped:
        main([str(config), "--notebooks", str(tmp_path / "notebooks")])
    assert stopped.value.code == 1
    error = capsys.readouterr().err
    assert error.startswith("sdfirst.learner: error: ") and error.count("\n") == 1 and "already exists" in error
    assert not config.exists()


def test_main_writes_the_configuration_and_the_notebooks(tmp_path, capsys) -> None:
    book = tmp_path / "book"
    book.mkdir()
    nbformat.write(_chapter(), book / "chapter.ipynb")
    (tmp_path / "_config.yml").write_text("title: Book\n", encoding="utf-8")
    main(
        [
            str(tmp_path / "config" / "_config.yml"),
            "--book-config",
            str(tmp_path / "_config.yml"),
            "--notebooks",
            str(tmp_path / "notebooks"),
            "--book",
            str(book),
        ]
    )
    assert "notebooks written 1, solutions removed 2" in capsys.readouterr().out
    assert (tmp_path / "config" / "_config.yml").is_file() and (tmp_path / "notebooks" / "chapter.ipynb").is_file()

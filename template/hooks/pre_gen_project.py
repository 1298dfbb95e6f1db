"""Refuse answers the template cannot bake, in one line and before any file is written.

The checks live in the sdfirst package (`sdfirst.newproject.check_answers`), shared with `sdfirst new-project`.
"""

import json
import sys

ANSWERS = json.loads(r"""{{ cookiecutter | jsonify }}""")


def main() -> int:
    try:
        from sdfirst.exceptions import DataFirstError
        from sdfirst.newproject import check_answers
    except ImportError:
        print("error: this template needs the sdfirst package installed (the synthetic-data-first wheel: see the README)", file=sys.stderr)
        return 1
    try:
        check_answers(ANSWERS)
    except DataFirstError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

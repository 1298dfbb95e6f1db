"""Refuse answers the template cannot bake, in one line and before any file is written.

The checks live in the datafirst package (`datafirst.newproject.check_answers`), shared with `datafirst new-project`.
"""

import json
import sys

ANSWERS = json.loads(r"""{{ cookiecutter | jsonify }}""")


def main() -> int:
    try:
        from datafirst.exceptions import DataFirstError
        from datafirst.newproject import check_answers
    except ImportError:
        print("error: this template needs the datafirst package installed (pip install datafirst)", file=sys.stderr)
        return 1
    try:
        check_answers(ANSWERS)
    except DataFirstError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Where each table of this project's datasets is, under the release's own file names, and in which format.

Made from the sdfirst specs when the project was baked, so that `data.py` needs no sdfirst: inside the secure
environment the analysis runs on DuckDB, pandas and PyYAML alone. `glob` matches the table's file names in its
dataset's folder; None where the release's names are not known (the table is then `<table>/*.parquet` or
`<table>.parquet`). Delimited text comes with each column's DuckDB type, as the data dictionary gives it. With
`year_suffix`, every column's name ends in the two digits of its file's year (`gender_spr13` in
`Spring_Census_2013.csv`), as in the real share; `data.py` reads such files one by one into one view without them.
A table of one file a year (`by`) has its year in the file's name only, and `data.py` puts it back as the column
`by`; `years` gives the first and last year (None: no limit) of a column only some years' files have (`llsoa_spr`
to 2012, `lsoa11_spr` from 2013), empty in the view for the other years.
"""

TABLES = {
{%- for t in release_layout(cookiecutter.datasets) %}
    "{{ t.key }}": {
        "glob": {% if t.glob %}"{{ t.glob }}"{% else %}None{% endif %},
        "format": "{{ t.format }}",
        "year_suffix": {{ t.year_suffix }},
        "by": {% if t.by %}"{{ t.by }}"{% else %}None{% endif %},
        "years": { {%- for column, span in t.years.items() %}"{{ column }}": ({{ span[0] if span[0] is not none else "None" }}, {{ span[1] if span[1] is not none else "None" }}), {% endfor -%} },
    },
{%- endfor %}
}

TYPES = {
{%- for t in release_layout(cookiecutter.datasets) if t.types %}
    "{{ t.key }}": {
{%- for column, kind in t.types.items() %}
        "{{ column }}": "{{ kind }}",
{%- endfor %}
    },
{%- endfor %}
}

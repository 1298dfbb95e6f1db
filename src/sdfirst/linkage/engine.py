"""Where the linkage meets a database: an Engine that runs the pipeline's SQL on DuckDB or on Spark.

Every stage of the linkage (sources.py, model.py, pipeline.py, stages.py, cases.py) writes its SQL once, in DuckDB's
dialect, and hands it to an Engine, which translates it with sqlglot (the SQL translator Splink itself uses) for its
backend and runs it there; both Splink models (the persons', the case journey's) and Splink's connected components
run on the Engine's `db_api` (Splink's `DuckDBAPI` or `SparkAPI`). Only this module knows which backend it is: how
a generated folder's tables are opened, how a table is made, how Parquet is written and how a Spark session is
started. A stage never asks.

Splink 5 has no public way to do two things the pipeline needs; their fallbacks are kept here, in one place:

- the database API a `Linker` runs on (`linker_db_api`, for callers that built the Linker themselves and pass
  only it to `model.train`): read from `Linker._db_api`;
- a model trained on one backend used on another: `save_model_to_json` writes each level's SQL in the dialect it
  was trained in, so the parameters (prior, m and u) are carried instead, onto settings made afresh for the other
  backend (`model.parameters`, with `model.settings` or `cases.journey_settings`), which is public API.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, ClassVar

import duckdb
import sqlglot
from sqlglot import exp

from sdfirst.exceptions import DataFirstError

ENGINES = ("duckdb", "spark")
#: Spark 4 needs Java 17 or later.
JAVA_MIN = 17
SPARK_INSTALL = "pip install 'synthetic-data-first[spark]' (in a clone: pip install -e '.[spark]')"
JAVA_INSTALL = {
    "debian": "sudo apt-get install openjdk-17-jre-headless",
    "macos": "brew install openjdk@17",
    "conda": "conda install -c conda-forge openjdk=17",
}
#: Spark's own logging, at ERROR: its INFO and WARN lines would otherwise bury the pipeline's progress.
LOG4J2 = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
# the level Spark gives a shell (as it takes pyspark to be: the logger of the class that starts it); at the
# root's, Spark prints no line about it
logger.repl.name = org.apache.spark.repl.Main
logger.repl.level = error
logger.pyspark.name = org.apache.spark.api.python.PythonGatewayServer
logger.pyspark.level = error
"""


class Engine(ABC):
    """A database the linkage runs on: Splink's database API for it, and the few operations the stages need.

    SQL given to `run` and `fetch` is DuckDB's dialect; tables of a generated folder are named `"dataset"."table"`
    as in `sdfirst.connect`.
    """

    name: ClassVar[str]
    dialect: ClassVar[str]  # sqlglot's name for the backend's dialect
    db_api: Any  # splink's DuckDBAPI or SparkAPI

    def sql(self, sql: str) -> str:
        """`sql` (DuckDB's dialect) in this backend's dialect."""
        return ";\n".join(sqlglot.transpile(sql, read="duckdb", write=self.dialect))

    @abstractmethod
    def run(self, name: str, select: str) -> None:
        """Make (or replace) table `name` holding the rows of `select`."""

    @abstractmethod
    def fetch(self, select: str) -> list[tuple[Any, ...]]:
        """The rows of `select`, as tuples."""

    @abstractmethod
    def columns(self, table: str) -> list[str]:
        """The column names of a table, in order."""

    @abstractmethod
    def open_folder(self, folder: Path, datasets: Collection[str]) -> None:
        """Make the tables of `datasets` in a generated folder readable as `"dataset"."table"`, checked first."""

    @abstractmethod
    def write_parquet(self, table: str, path: Path, order_by: Sequence[str]) -> None:
        """Write a table to one Parquet file (ZSTD), its rows sorted by `order_by`."""

    def register(self, table: str, name: str) -> Any:
        """A table of this engine as a Splink dataframe (`name` is Splink's name for it, unique per engine)."""
        return self.db_api.register(table, table_name=name)

    def single_threaded(self) -> Any:
        """A context in which sums of floating-point numbers are added in one fixed order, where the backend can."""
        return nullcontext()

    def close(self) -> None:  # noqa: B027 (most engines hold nothing to release)
        """Release what the engine started (a Spark session, its scratch folder); a DuckDB connection stays open."""


class DuckDBEngine(Engine):
    """DuckDB, on a connection from `sdfirst.connect` (or any DuckDB connection the caller opened)."""

    name = "duckdb"
    dialect = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection, owned: bool = False, db_api: Any = None) -> None:
        from splink import DuckDBAPI

        self.con = con
        self.db_api = db_api or DuckDBAPI(connection=con)
        self._owned = owned

    def sql(self, sql: str) -> str:
        return sql  # written in DuckDB's dialect already

    def run(self, name: str, select: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TABLE {name} AS {select}")

    def fetch(self, select: str) -> list[tuple[Any, ...]]:
        return self.con.execute(select).fetchall()

    def columns(self, table: str) -> list[str]:
        return [d[0] for d in self.con.execute(f"SELECT * FROM {table} LIMIT 0").description]

    def open_folder(self, folder: Path, datasets: Collection[str]) -> None:
        raise NotImplementedError("open a DuckDB engine on a folder with DuckDBEngine.for_folder")

    @classmethod
    def for_folder(cls, folder: Path, datasets: Collection[str], threads: int | None = None) -> DuckDBEngine:
        """An engine on a new connection to a generated folder (checked first), its tables as `sdfirst.connect`
        gives them with the identifiers a linkage needs (the "identified" view)."""
        from sdfirst.database import connect

        return cls(connect(folder, datasets=datasets, linking=False, threads=threads, view="identified"), owned=True)

    def write_parquet(self, table: str, path: Path, order_by: Sequence[str]) -> None:
        file = str(path).replace("'", "''")
        order = ", ".join(order_by)
        self.con.execute(
            f"COPY (SELECT * FROM {table} ORDER BY {order}) TO '{file}' (FORMAT PARQUET, COMPRESSION ZSTD)"
        )

    @contextmanager
    def single_threaded(self) -> Iterator[None]:
        """DuckDB at one thread inside the block, and at its former setting after it.

        A parallel SUM of DOUBLE adds in an order that depends on the thread count, so its last digits vary between
        runs; at one thread the order is fixed.
        """
        (previous,) = self.con.execute("SELECT current_setting('threads')").fetchone()
        self.con.execute("SET threads = 1")
        try:
            yield
        finally:
            self.con.execute(f"SET threads = {int(previous)}")

    def close(self) -> None:
        if self._owned:
            self.con.close()


class SparkEngine(Engine):
    """Spark, in local mode by default (`local[N]`) or on the cluster a master URL names.

    Tables of a generated folder are temporary views over its Parquet files (nothing is written to a catalogue or
    a warehouse), the pipeline's own tables are checkpointed views, and Splink's intermediate tables are written
    to a scratch folder that `close` removes.
    """

    name = "spark"
    dialect = "spark"

    def __init__(self, master: str = "local[*]", memory: str | None = None, spark: Any = None) -> None:
        self._scratch = Path(tempfile.mkdtemp(prefix="sdfirst-spark-"))
        self._owned = spark is None
        try:
            self.spark = spark or _start_spark(master, self._scratch, memory)
        except DataFirstError:
            self.close()
            raise
        except Exception as exc:  # Java that cannot start (memory, a bad master URL): one line, not a traceback
            said = _java_reason(self._scratch / JVM_STDERR, exc)
            self.close()
            reason = said or (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise DataFirstError(f"Spark did not start (master {master}): {reason}") from None
        try:
            self.spark.sparkContext.setCheckpointDir(str(self._scratch / "checkpoints"))
            from splink.backends.spark import SparkAPI

            # Splink's intermediate tables are written to Parquet in the checkpoint folder, its default ("persist"
            # here failed to broadcast a join of cached tables, even on a few thousand records)
            self.db_api = SparkAPI(spark_session=self.spark)
        except BaseException:
            self.close()
            raise
        self._views: dict[tuple[str, str], str] = {}  # ("dataset", "table") -> the view that reads it

    def sql(self, sql: str) -> str:
        trees = sqlglot.parse(sql, read="duckdb")
        return ";\n".join(tree.transform(self._view_of).sql(dialect=self.dialect) for tree in trees if tree)

    def _view_of(self, node: exp.Expression) -> exp.Expression:
        """A folder's `"dataset"."table"` as the temporary view that reads it (Spark's views have no schema)."""
        if isinstance(node, exp.Table) and node.db and (node.db, node.name) in self._views:
            alias = node.args.get("alias")
            return exp.Table(this=exp.to_identifier(self._views[(node.db, node.name)]), alias=alias)
        return node

    def run(self, name: str, select: str) -> None:
        frame = self.spark.sql(self.sql(select)).localCheckpoint()
        frame.createOrReplaceTempView(name)

    def fetch(self, select: str) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self.spark.sql(self.sql(select)).collect()]

    def columns(self, table: str) -> list[str]:
        return list(self.spark.table(table).columns)

    def open_folder(self, folder: Path, datasets: Collection[str]) -> None:
        from sdfirst.database import check_folder, identified_tables

        manifest = check_folder(folder, datasets, identified=True)  # the checks and one-line errors of connect
        companions = identified_tables(manifest)
        for key, info in manifest["tables"].items():
            dataset, table = key.split(".", 1)
            if dataset not in datasets:
                continue
            view = f"{dataset}__{table}"
            frame = self._read(folder, info)
            if key in companions:  # the identified view, as sdfirst.connect(view="identified") makes it
                frame = frame.join(self._read(folder, companions[key]), "row_id_hash", "left")
                frame = frame.select(*companions[key]["order"])
            frame.createOrReplaceTempView(view)
            self._views[(dataset, table)] = view

    def _read(self, folder: Path, info: dict[str, Any]):
        """A table's files as a Spark frame (the linkage reads Parquet tables only)."""
        if info.get("format", "parquet") != "parquet":
            raise DataFirstError(f"the Spark engine reads Parquet tables only, not {info['format']}")
        return self.spark.read.parquet(*[str((folder / str(name)).resolve()) for name in info["files"]])

    def write_parquet(self, table: str, path: Path, order_by: Sequence[str]) -> None:
        """One file, as DuckDB writes: Spark writes a folder of parts, so one part is written and moved to `path`."""
        parts = path.parent / f".{path.name}.parts"
        frame = self.spark.table(table).repartition(1).sortWithinPartitions(*order_by)
        frame.write.option("compression", "zstd").parquet(str(parts))
        (part,) = parts.glob("part-*.parquet")
        part.rename(path)
        shutil.rmtree(parts)

    def close(self) -> None:
        spark = getattr(self, "spark", None)
        if self._owned and spark is not None:
            spark.stop()
        shutil.rmtree(self._scratch, ignore_errors=True)


def local_master(threads: int | None) -> str:
    """Spark's local mode at `threads` cores, or at every core."""
    return "local[*]" if threads is None else f"local[{int(threads)}]"


def _local_cores(master: str) -> int | None:
    found = re.fullmatch(r"local(?:\[(\d+|\*)(?:,\s*\d+)?\])?", master.strip())
    if not found:
        return None
    count = found.group(1)
    return os.cpu_count() or 1 if count in (None, "*") else int(count)


def _start_spark(master: str, scratch: Path, memory: str | None) -> Any:
    """A Spark session for the linkage, quiet (Spark's logging at ERROR), with Splink's similarity functions."""
    check_spark()
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    log4j = scratch / "log4j2.properties"
    log4j.write_text(LOG4J2, encoding="utf-8")
    # Spark otherwise warns that the host name resolves to a loopback address, in local mode where it must
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = (
        SparkSession.builder.master(master)
        .appName("sdfirst-link")
        .config("spark.jars", similarity_jar_location())
        .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile=file:{log4j}")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.local.dir", str(scratch / "local"))
        .config("spark.sql.warehouse.dir", str(scratch / "warehouse"))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", memory or os.environ.get("SDFIRST_SPARK_MEMORY", "4g"))
    )
    cores = _local_cores(master)
    if cores is not None:  # Spark's 200 shuffle partitions are for clusters; a few per core suit one machine
        builder = builder.config("spark.sql.shuffle.partitions", str(max(2, 2 * cores)))
    with _stderr_to(scratch / JVM_STDERR):  # Java's own start-up notices would otherwise land in a notebook cell
        spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


#: Where the Java process of a Spark session started here writes its standard error (in the scratch folder).
JVM_STDERR = "java-stderr.log"


@contextmanager
def _stderr_to(path: Path) -> Iterator[None]:
    """Standard error at the file-descriptor level goes to `path` inside the block.

    A process started inside, such as the Java process behind a Spark session, keeps the file as its standard error
    for its whole life, so the notices Java prints as it starts (Spark 4's "Using incubator modules") neither reach
    the console nor appear, or not, in a notebook cell depending on when the kernel reads them. Python's own
    `sys.stderr` is flushed first and is back on its descriptor after the block.
    """
    import sys

    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(path, "ab") as log:
            os.dup2(log.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _java_reason(path: Path, error: BaseException) -> str | None:
    """What Java said went wrong: the message of the first exception or error in its standard error ("Master must
    either be yarn or start with ..."), or, when the Java process was already running and the failure came back
    through Py4J, in the Python exception's text; None if neither holds one."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    for said in (text, str(error)):
        found = re.search(r"^\S.*?(?:Exception|Error)\b[^:\n]*: *(\S[^\n]*)$", said, flags=re.MULTILINE)
        if found:
            return found.group(1).strip()
    return None


def java_version(java: str) -> int | None:
    """The major version of a `java` executable (17 for "17.0.15", 8 for "1.8.0"), or None if it does not run."""
    try:
        done = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r'version "(\d+)(?:\.(\d+))?', done.stderr + done.stdout)
    if not found:
        return None
    major, minor = int(found.group(1)), int(found.group(2) or 0)
    return minor if major == 1 else major


def find_java() -> str | None:
    """The `java` Spark would start: $JAVA_HOME/bin/java if JAVA_HOME is set, else the first on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home:
        path = Path(home) / "bin" / "java"
        return str(path) if path.is_file() else None
    return shutil.which("java")


def java_advice() -> str:
    """The command that installs Java on this platform, in one line."""
    system = platform.system()
    if os.environ.get("CONDA_PREFIX") or system == "Windows":
        return JAVA_INSTALL["conda"]
    return JAVA_INSTALL["macos"] if system == "Darwin" else JAVA_INSTALL["debian"]


def check_spark() -> None:
    """A one-line error naming what to install, when pyspark or a Java that Spark 4 runs on is missing."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise DataFirstError(f"Spark (--engine spark) needs pyspark: {SPARK_INSTALL}") from None
    java = find_java()
    if java is None:
        where = "JAVA_HOME names no bin/java" if os.environ.get("JAVA_HOME") else "no java on PATH"
        raise DataFirstError(f"Spark (--engine spark) needs Java {JAVA_MIN} or later ({where}): {java_advice()}")
    version = java_version(java)
    if version is None or version < JAVA_MIN:
        found = "does not run" if version is None else f"is Java {version}"
        raise DataFirstError(f"Spark (--engine spark) needs Java {JAVA_MIN} or later ({java} {found}): {java_advice()}")


def open_engine(
    kind: str, folder: Path, datasets: Collection[str], threads: int | None = None, master: str | None = None
) -> Engine:
    """An engine of `kind` ("duckdb" or "spark") with the tables of `datasets` in a generated folder open.

    `threads` is DuckDB's thread count, or the cores of Spark's local mode; `master` a Spark master URL (local
    mode at `threads` cores if None).
    """
    check_engine(kind, master)
    if kind == "duckdb":
        return DuckDBEngine.for_folder(folder, datasets, threads=threads)
    from sdfirst.database import check_folder

    check_folder(folder, datasets)  # a damaged folder is found before Spark spends seconds starting
    engine = SparkEngine(master or local_master(threads))
    try:
        engine.open_folder(folder, datasets)
    except BaseException:
        engine.close()
        raise
    return engine


def check_engine(kind: str, master: str | None = None) -> None:
    """A one-line error for an unknown engine, a master URL without Spark, or Spark that cannot start here."""
    if kind not in ENGINES:
        raise DataFirstError(f"engine must be one of {', '.join(ENGINES)}, not {kind!r}")
    if master is not None and kind != "spark":
        raise DataFirstError("--master is a Spark master URL: it needs --engine spark")
    if master is not None and not master.strip():
        raise DataFirstError("--master needs a Spark master URL (like local[2] or spark://host:7077)")
    if kind == "spark":
        check_spark()


def as_engine(con_or_engine: duckdb.DuckDBPyConnection | Engine) -> Engine:
    """An Engine for a stage called with a DuckDB connection (as the book's chapters call them) or an Engine."""
    if isinstance(con_or_engine, Engine):
        return con_or_engine
    return DuckDBEngine(con_or_engine)


def linker_db_api(linker: Any) -> Any:
    """The database API a Linker runs on. Splink 5 has no public accessor for it (its `_db_api` attribute is the
    only way), so this is the one place that reads it; callers that made the engine pass it instead."""
    return linker._db_api


def single_threaded_for(linker: Any) -> Any:
    """`Engine.single_threaded` for the database a Linker runs on, for a caller that passes only the Linker: DuckDB
    at one thread; on another backend, nothing to do."""
    db_api = linker_db_api(linker)
    if getattr(db_api.sql_dialect, "sql_dialect_str", None) == "duckdb":
        return DuckDBEngine(db_api.duckdb_con, db_api=db_api).single_threaded()
    return nullcontext()

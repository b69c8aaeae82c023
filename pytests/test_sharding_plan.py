"""migrations/SHARDING.md names every table of the schema (issue 20, item 3), so the sharding
plan cannot fall behind the migrations silently: a new table without an entry, an entry for a
table that is gone, or a table planned as distributed whose distribution column neither exists
today nor is named as the column to add, fails here. The schema is the test database's, which
scripts/test.sh migrates before pytest runs."""
import re

from conftest import ROOT, psql

PLAN = ROOT / "migrations" / "SHARDING.md"
KINDS = {"distributed", "reference", "local-to-coordinator", "not distributed"}


def plan_rows():
    """{table: {kind, column, add}} from the Markdown table between the sharding-plan markers.
    `column` is the distribution column (None for non-distributed tables), `add` the column the
    plan says must be added (None when the cell has no backticked name)."""
    text = PLAN.read_text()
    start, end = text.index("<!-- sharding-plan:tables -->"), text.index("<!-- /sharding-plan:tables -->")
    rows = {}
    for line in text[start:end].splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        name = re.fullmatch(r"`(\w+)`", cells[0])
        if not name:
            continue  # the marker, the header and its rule
        assert name.group(1) not in rows, f"{name.group(1)} has two rows in {PLAN.name}"
        assert len(cells) == 6, f"the row of {name.group(1)} needs 6 cells, has {len(cells)}: {line}"
        column = re.match(r"`(\w+)`", cells[2])
        add = re.match(r"`(\w+)", cells[3])
        rows[name.group(1)] = {"kind": cells[1], "column": column and column.group(1), "add": add and add.group(1)}
    assert rows, f"no table rows found between the markers of {PLAN.name}"
    return rows


def schema_tables(database_url):
    """{table: set of column names} for every ordinary or partitioned table in schema public."""
    out = psql(database_url, """
        SELECT c.relname, a.attname FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')""")
    tables = {}
    for line in out.splitlines():
        table, column = line.split("|")
        tables.setdefault(table, set()).add(column)
    return tables


def test_every_table_has_an_entry_and_every_entry_a_table(database_url):
    planned, tables = plan_rows(), schema_tables(database_url)
    problems = [f"table {name} has no entry in migrations/SHARDING.md" for name in sorted(set(tables) - set(planned))]
    problems += [f"migrations/SHARDING.md has an entry for {name}, which is no table" for name in sorted(set(planned) - set(tables))]
    assert not problems, "\n".join(problems)


def test_kinds_and_distribution_columns(database_url):
    tables = schema_tables(database_url)
    problems = []
    for table, row in sorted(plan_rows().items()):
        if row["kind"] not in KINDS:
            problems.append(f"{table}: kind {row['kind']!r} is none of {sorted(KINDS)}")
            continue
        columns = tables.get(table, set())
        if row["kind"] != "distributed":
            if row["column"] or row["add"]:
                problems.append(f"{table}: a {row['kind']} table has no distribution column to name or add")
            continue
        if not row["column"]:
            problems.append(f"{table}: distributed, but no distribution column is named")
        elif row["column"] not in columns and row["add"] != row["column"]:
            problems.append(f"{table}: distributed by {row['column']}, which it does not have, "
                            "and the plan does not name it as the column to add")
        if row["add"] and row["add"] in columns:
            problems.append(f"{table}: the plan says to add {row['add']}, which it already has (update the plan)")
    assert not problems, "migrations/SHARDING.md disagrees with the schema:\n" + "\n".join(problems)

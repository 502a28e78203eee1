"""What the test modules share, so that no test module imports from another:

- `backends`: the three backends, their URLs, and skip-locally / fail-in-CI;
- `fixtures`: `backend_url` and `databases`, loaded by the root conftest for every test
  directory; `databases.database_fixture(metadata)` makes a module's Database fixture;
- `pg_cluster`: a streaming replica and a PgBouncer of the local PostgreSQL (fixtures);
- `recorders`: the statements a block sends, through the plugin's recorder;
- `seeds`: rows to start from, and reading them back in a known order.

The tables live beside the tests (tests/models.py, write_models.py, relations_models.py),
the response schemas over them in tests/schemas.py.
"""

"""A host on Flask-Migrate (docs/integration.md, "Database tables and migrations"): with the
exported include_object its autogenerate neither writes our tables into its history nor
proposes to drop them; a host whose history created the 0.1.0 tables (as the 0.1.0 docs
said) upgrades in the documented order: `flask db upgrade`, then `flask kuroneko db upgrade`.
"""
from __future__ import annotations

from pathlib import Path

import flask_migrate
import pytest
import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_kuroneko import Kuroneko, include_object, migrations
from migration_support import drop_everything, models_0_1_0


@pytest.fixture
def url(database_url):
    drop_everything(database_url)
    yield database_url
    drop_everything(database_url)
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS fm_notes"))
    engine.dispose()


def host(url: str, directory: Path, *, era: str = "now", filter_ours: bool = True):
    """A host shop with one table of its own (fm_notes) and Flask-Migrate. ``era="0.1.0"``:
    the kuroneko models on the host's metadata, as 0.1.0 had them."""
    app = Flask(f"fm_host_{era}")
    app.config.update(SQLALCHEMY_DATABASE_URI=url, SECRET_KEY="fm", KURONEKO_ENVIRONMENT="sandbox")
    db = SQLAlchemy()

    class Note(db.Model):
        __tablename__ = "fm_notes"
        id = sa.Column(sa.Integer, primary_key=True)
        body = sa.Column(sa.String(40), nullable=False)

    db.init_app(app)
    kuroneko = Kuroneko()
    if era == "0.1.0":
        models_0_1_0().define_models(db)
    else:
        kuroneko.init_app(app, db)
    options = {"include_object": include_object} if filter_ours else {}
    flask_migrate.Migrate(app, db, directory=str(directory), **options)
    return app, db, kuroneko


def init_directory(app, directory: Path) -> None:
    """`flask db init`, with two edits a host makes to the template's env.py anyway: no
    logging.config.fileConfig (it would disable the loggers of the rest of the test run) and
    ``db.engine`` instead of Flask-SQLAlchemy 3.1's deprecated ``get_engine()``."""
    with app.app_context():
        flask_migrate.init(str(directory))
    env = directory / "env.py"
    source = env.read_text()
    for old, new in (("fileConfig(config.config_file_name)", "pass"),
                     ("extensions['migrate'].db.get_engine()", "extensions['migrate'].db.engine")):
        assert old in source
        source = source.replace(old, new)
    env.write_text(source)


def autogenerate(app, directory: Path, message: str) -> str | None:
    """`flask db migrate`; the new revision's source, or None when nothing changed."""
    before = set((directory / "versions").glob("*.py"))
    # Flask-Migrate's env.py stores its "skip empty revisions" hook in the Migrate object on
    # the first command it runs, bound to that command's options; in one process (a test)
    # an earlier `upgrade` would leave a hook that no longer knows it is autogenerating.
    app.extensions["migrate"].configure_args.pop("process_revision_directives", None)
    with app.app_context():
        flask_migrate.migrate(str(directory), message=message)
    new = set((directory / "versions").glob("*.py")) - before
    if not new:
        return None
    [path] = new
    return path.read_text()


def dispose(app, db) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_the_hosts_autogenerate_leaves_our_tables_alone(url, tmp_path):
    directory = tmp_path / "host_migrations"
    app, db, kuroneko = host(url, directory)
    try:
        init_directory(app, directory)
        with app.app_context():
            kuroneko.upgrade_db()                                 # our tables, our history
        source = autogenerate(app, directory, "host tables")
        assert "op.create_table('fm_notes'" in source
        assert "kuroneko" not in source
        with app.app_context():
            flask_migrate.upgrade(str(directory))
            assert kuroneko.schema_is_current()
        assert autogenerate(app, directory, "nothing") is None   # nothing to do, ever again
    finally:
        dispose(app, db)
    # Without the filter, the host's autogenerate would drop our tables (why it is needed).
    unfiltered, db2, _ = host(url, directory, filter_ours=False)
    try:
        source = autogenerate(unfiltered, directory, "unfiltered")
        assert "op.drop_table('kuroneko_payments')" in source
        assert "op.drop_table('kuroneko_alembic_version')" in source
    finally:
        dispose(unfiltered, db2)


def test_a_host_whose_history_made_the_0_1_0_tables_upgrades_in_the_documented_order(
        url, tmp_path):
    directory = tmp_path / "host_migrations"
    old, old_db, _ = host(url, directory, era="0.1.0", filter_ours=False)
    try:
        init_directory(old, directory)
        source = autogenerate(old, directory, "0.1.0 era: shop and kuroneko tables")
        assert "op.create_table('kuroneko_payments'" in source       # what 0.1.0's docs led to
    finally:
        dispose(old, old_db)
    drop_everything(url)

    # A fresh database of the shop running the new flask-kuroneko (a new server, CI, staging).
    app, db, kuroneko = host(url, directory)
    try:
        with app.app_context():
            flask_migrate.upgrade(str(directory))          # 1. the host's history: 0.1.0 tables
            result = kuroneko.upgrade_db()                  # 2. ours: adopts them
            assert result.adopted_0_1_0 and result.after == migrations.head_revision()
            assert migrations.differences(db.engine) == []
        assert autogenerate(app, directory, "nothing") is None
    finally:
        dispose(app, db)

    # The other order fails: the host's history creates a table ours already made.
    drop_everything(url)
    app, db, kuroneko = host(url, directory)
    try:
        with app.app_context():
            kuroneko.upgrade_db()
            with pytest.raises(sa.exc.DatabaseError):
                flask_migrate.upgrade(str(directory))
    finally:
        dispose(app, db)

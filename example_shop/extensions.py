"""The shop's extension objects, created unbound (app factory pattern)."""
from __future__ import annotations

from flask_kuroneko import Kuroneko
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()
kuroneko = Kuroneko()

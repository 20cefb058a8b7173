"""Walks openmetadata-ingestion's generated pydantic models: where are the secrets?

Shared by om_catalog.py (writes vaultref's catalog) and om_corpus.py (the conformance corpus).
Needs only pydantic and the wheel's `metadata/generated` package plus its two
`metadata/ingestion/models/custom_*.py` files on `sys.path`; nothing else of the package.

Every field typed `CustomSecretStr` (the generator's type for `"format": "password"`) is a
secret. Paths are JSON keys (field aliases) joined with `.`; `[]` stands for any item of a
list, `*` for any value of a map. Every branch of a union is walked: a field that is secret in
any branch at its path is secret. A field typed as one category's connection (`DatabaseConnection`
and the like, or `ServiceConnection`, any category) is not expanded: it is a connection slot,
recorded as the path of its `config` and the categories it may hold.
"""

import importlib
import pkgutil
import re
import types
import typing
from enum import Enum

from pydantic import BaseModel, RootModel
from pydantic_core import PydanticUndefined

from metadata.ingestion.models.custom_pydantic import _CustomSecretStr

SERVICES = "metadata.generated.schema.entity.services"

# A key that looks like it holds a secret, compared without case. The runtime reads this list
# from the catalog, so both sides use the same one.
SECRET_LOOKING = [
    "password", "passwd", "pwd", "secret", "token", "key", "passphrase", "credential", "jwt",
]


def looks_secret(key):
    lower = key.lower()
    return any(word in lower for word in SECRET_LOOKING)


def service_modules():
    """(entity type, category, module) of every service kind: `databaseService`, `database`."""
    package = importlib.import_module(SERVICES)
    out = []
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.endswith("Service") and not info.ispkg and info.name != "serviceType":
            category = info.name[: -len("Service")].lower()
            out.append((info.name, category, importlib.import_module(f"{SERVICES}.{info.name}")))
    return sorted(out)


def category_connection_classes():
    """{class: category} of the per-category connection wrappers (one `config` field)."""
    out = {}
    for _, category, module in service_modules():
        for name, cls in vars(module).items():
            if (
                isinstance(cls, type)
                and issubclass(cls, BaseModel)
                and name.endswith("Connection")
                and cls.__module__ == module.__name__
                and set(cls.model_fields) == {"config"}
            ):
                out[cls] = category
    return out


WRAPPERS = None


def wrappers():
    global WRAPPERS
    if WRAPPERS is None:
        WRAPPERS = category_connection_classes()
    return WRAPPERS


def union_members(annotation):
    """The classes a `config` union may hold."""
    annotation = strip(annotation)
    if is_union(annotation):
        out = []
        for arg in typing.get_args(annotation):
            out.extend(union_members(arg))
        return out
    if annotation is type(None):
        return []
    return [annotation]


def connection_types(wrapper):
    """{type value: class} of one category's connection classes."""
    out = {}
    for cls in union_members(wrapper.model_fields["config"].annotation):
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
            continue
        field = cls.model_fields.get("type")
        if field is None:
            continue
        value = type_value(field)
        if value is None:
            continue
        if value in out and out[value] is not cls:
            raise SystemExit(f"two connection classes claim type {value!r}: "
                             f"{out[value].__name__} and {cls.__name__}")
        out[value] = cls
    return out


def type_value(field):
    """The `type` value a connection class declares: its default, or, when the field is
    required (Snowplow, the Custom* connections), the only member of its enum."""
    default = field.default
    if default is None or default is PydanticUndefined:
        annotation = strip(field.annotation)
        members = list(annotation) if isinstance(annotation, type) and issubclass(annotation, Enum) else []
        if len(members) != 1:
            return None
        default = members[0]
    return default.value if isinstance(default, Enum) else str(default)


def strip(annotation):
    """Drops `Annotated` (keeping CustomSecretStr recognisable) and `Optional`'s None."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def is_union(annotation):
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def is_secret_type(annotation):
    annotation = strip(annotation)
    return isinstance(annotation, type) and issubclass(annotation, _CustomSecretStr)


def key_of(name, field):
    return field.alias or name


class Shape:
    """What a walk found: secret paths, connection slots, declared non-secret paths."""

    def __init__(self):
        self.secrets = set()
        self.slots = {}  # path -> set of categories
        self.declared = set()

    def merge(self, other):
        self.secrets |= other.secrets
        self.declared |= other.declared
        for path, categories in other.slots.items():
            self.slots.setdefault(path, set()).update(categories)

    def plain_secret_looking(self):
        """Declared paths that look secret by their last key and are not secrets."""
        return sorted(
            p for p in self.declared - self.secrets if looks_secret(p.rsplit(".", 1)[-1])
        )


def join(path, key):
    return f"{path}.{key}" if path else key


def walk(annotation, path="", shape=None, stack=()):
    """The Shape of values of `annotation` found at `path`."""
    shape = shape if shape is not None else Shape()
    annotation = strip(annotation)
    if annotation is None or annotation is type(None):
        return shape
    if is_secret_type(annotation):
        shape.secrets.add(path)
        return shape
    origin = typing.get_origin(annotation)
    if is_union(annotation):
        for arg in typing.get_args(annotation):
            walk(arg, path, shape, stack)
        return shape
    if origin in (list, set, frozenset, tuple, typing.List, typing.Set):
        for arg in typing.get_args(annotation)[:1]:
            walk(arg, join(path, "[]"), shape, stack)
        return shape
    if origin in (dict, typing.Dict):
        args = typing.get_args(annotation)
        if len(args) == 2:
            walk(args[1], join(path, "*"), shape, stack)
        return shape
    if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
        return shape
    if annotation in wrappers():
        shape.slots.setdefault(join(path, "config"), set()).add(wrappers()[annotation])
        return shape
    if annotation in stack:
        return shape
    stack = stack + (annotation,)
    if issubclass(annotation, RootModel):
        return walk(annotation.model_fields["root"].annotation, path, shape, stack)
    for name, field in annotation.model_fields.items():
        key_path = join(path, key_of(name, field))
        shape.declared.add(key_path)
        walk(field.annotation, key_path, shape, stack)
    return shape


def model(module, name):
    return getattr(importlib.import_module(f"metadata.generated.schema.{module}"), name)


# Entity kinds beyond the services: (entity type, module, class, root of the secret names).
ENTITIES = [
    ("user", "entity.teams.user", "User", "authenticationMechanism"),
    ("bot", "entity.bot", "Bot", ""),
    ("ingestionPipeline", "entity.services.ingestionPipelines.ingestionPipeline",
     "IngestionPipeline", ""),
    ("workflow", "entity.automations.workflow", "Workflow", ""),
]


def entity_shape(module, name, root):
    """The Shape of an entity kind, paths relative to `root`."""
    cls = model(module, name)
    if root:
        field = cls.model_fields[root]
        return walk(field.annotation)
    return walk(cls)

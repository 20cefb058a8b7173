"""The conformance corpus: entities built for, and read back by, openmetadata-ingestion's models.

    python om_corpus.py MODELS_DIR > corpus.jsonl

For every connection type of every service category, every secret path of its model (each a
`oneOf` branch of its own), one service entity, and one test-connection workflow per
connection type; for users (bots), ingestion pipelines and workflows, one entity per secret
path. Every `CustomSecretStr` field the built value holds gets a distinct marker. Each entity is
validated by OpenMetadata's own pydantic model, which then lists its `CustomSecretStr` values
(path and marker): that list, and the name OpenMetadata's `buildSecretId` gives each
(Azure, cluster `openmetadata`, specs/openmetadata-secrets-manager.md 2.2), is what vaultref
must find. One JSON line per entity: `entityType`, `entity`, `secrets` [{path, value, name}],
and `freeForm` [{path, at}]: markers the model did not list because it kept the value at `at`
as a free-form dict (vaultref, failing closed, finds these too).
Entities the models refuse are reported on stderr and counted in the last line (`refused`).
"""

import enum
import itertools
import json
import re
import sys
import typing
import uuid

sys.path.insert(0, sys.argv[1])
sys.path.insert(0, __file__.rsplit("/", 1)[0])
import logging  # noqa: E402

logging.disable(logging.WARNING)

from pydantic import BaseModel, RootModel, SecretStr  # noqa: E402
from pydantic_core import PydanticUndefined  # noqa: E402

import om_models as m  # noqa: E402
from metadata.ingestion.models.custom_pydantic import _CustomSecretStr  # noqa: E402

COUNTER = itertools.count(1)


class Context:
    def __init__(self, target, slot_class=None, category=None, overrides=None):
        self.target = target
        self.slot_class = slot_class
        self.category = category
        self.overrides = overrides or {}

    def leads(self, path):
        t = self.target or ""
        return t == path or t.startswith(path + ".") if path else bool(t)


def choose(args, path, ctx):
    args = [a for a in args if a is not type(None)]
    if ctx.slot_class in args:
        return ctx.slot_class
    for a in args:
        if m.wrappers().get(a) == ctx.category and ctx.category:
            if ctx.leads(m.join(path, "config")):
                return a
    for a in args:
        shape = m.walk(a, path)
        if ctx.target in shape.secrets or any(ctx.leads(s) for s in shape.slots):
            return a
    for a in args:
        if not (isinstance(a, type) and issubclass(a, BaseModel)):
            return a
    return args[0] if args else None


def scalar(ann):
    if ann is bool:
        return False
    if ann in (int, float):
        return 1
    if isinstance(ann, type) and issubclass(ann, enum.Enum):
        return list(ann)[0].value
    name = getattr(ann, "__name__", str(ann))
    if "Url" in name or "URL" in name:
        return "http://localhost:8585"
    if "Email" in name:
        return "bot@example.com"
    if "UUID" in name:
        return str(uuid.uuid4())
    if typing.get_origin(ann) is typing.Literal:
        return typing.get_args(ann)[0]
    return "x"


def build(ann, path, ctx):
    if path in ctx.overrides:
        return ctx.overrides[path]
    ann = m.strip(ann)
    if ann is None or ann is type(None):
        return None
    if m.is_secret_type(ann):
        return f"vrmark{next(COUNTER)}x{uuid.uuid4().hex[:8]}"
    if m.is_union(ann):
        return build(choose(typing.get_args(ann), path, ctx), path, ctx)
    origin = typing.get_origin(ann)
    if origin in (list, set, tuple):
        inner = m.join(path, "[]")
        if ctx.leads(inner):
            return [build(typing.get_args(ann)[0], inner, ctx)]
        return []
    if origin is dict:
        return {}
    if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
        return scalar(ann)
    if issubclass(ann, RootModel):
        return build(ann.model_fields["root"].annotation, path, ctx)
    obj = {}
    for name, field in ann.model_fields.items():
        key = m.key_of(name, field)
        p = m.join(path, key)
        has_default = field.default is not PydanticUndefined or field.default_factory
        if p in ctx.overrides or ctx.leads(p) or m.is_secret_type(field.annotation) \
                or (field.is_required() and not has_default):
            obj[key] = build(field.annotation, p, ctx)
        elif key == "type" and field.default is not None and has_default:
            d = field.default
            obj[key] = d.value if isinstance(d, enum.Enum) else d
    return obj


def listed(value, path, out):
    if isinstance(value, _CustomSecretStr) or isinstance(value, SecretStr):
        out.append((path, SecretStr.get_secret_value(value)))
    elif isinstance(value, RootModel):
        listed(value.root, path, out)
    elif isinstance(value, BaseModel):
        for name, field in type(value).model_fields.items():
            listed(getattr(value, name), m.join(path, m.key_of(name, field)), out)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            listed(item, m.join(path, str(i)), out)
    elif isinstance(value, dict):
        for k, item in value.items():
            listed(item, m.join(path, str(k)), out)


def om_name(kind, name, segments):
    clean = lambda s: re.sub(r"[^A-Za-z0-9\-]", "", s)  # noqa: E731
    return "-".join(clean(s) for s in ["openmetadata", kind, name] + segments).lower()


REFUSED = 0


def emit(entity_type, cls, ctx, kind, name, root):
    global REFUSED
    entity = build(cls, "", ctx)
    try:
        model = cls.model_validate(entity)
    except Exception as exc:  # noqa: BLE001
        REFUSED += 1
        print(f"refused {entity_type} {name} ({ctx.target}): {str(exc).splitlines()[0]}",
              file=sys.stderr)
        return
    found = []
    listed(model, "", found)
    secrets = []
    for path, value in found:
        if value is None:
            continue
        rel = path[len(root) + 1:] if root else path
        segments = [s.lower() for s in rel.split(".")]
        secrets.append({"path": path, "value": value, "name": om_name(kind, name, segments)})
    # Markers the entity holds that the model did not type `CustomSecretStr`: each must sit
    # under a value the model kept as a free-form dict (a union whose `dict[str, Any]` branch
    # pydantic picked), which is where vaultref, failing closed, finds more than OpenMetadata.
    listed_values = {value for _, value in found}
    free_form = []
    for path, value in placed(entity, ""):
        if value not in listed_values:
            free_form.append({"path": path, "at": free_form_at(model, path.split("."))})
    print(json.dumps({"entityType": entity_type, "entity": entity, "secrets": secrets,
                      "freeForm": free_form}))


def placed(value, path):
    """(path, marker) of every marker in a built entity."""
    if isinstance(value, str) and value.startswith("vrmark"):
        yield path, value
    elif isinstance(value, dict):
        for k, item in value.items():
            yield from placed(item, m.join(path, str(k)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from placed(item, m.join(path, str(i)))


def free_form_at(model, parts):
    """The path of the first value on the way to `parts` that the model holds as a plain
    dict, or None when there is none (an unexplained difference: the test fails on it)."""
    value, prefix = model, []
    for part in parts:
        while isinstance(value, RootModel):
            value = value.root
        if isinstance(value, dict):
            return ".".join(prefix)
        if isinstance(value, BaseModel):
            fields = type(value).model_fields
            names = [n for n, f in fields.items() if m.key_of(n, f) == part]
            if not names:
                return None
            value = getattr(value, names[0])
        elif isinstance(value, list) and part.isdigit():
            value = value[int(part)]
        else:
            return None
        prefix.append(part)
    return None


def main():
    n = itertools.count(1)
    for entity_type, category, module in m.service_modules():
        cls_name = entity_type[0].upper() + entity_type[1:]
        service = getattr(module, cls_name, None)
        wrapper = [c for c, k in m.wrappers().items() if k == category]
        if service is None or not wrapper:
            continue
        for connection_type, cls in sorted(m.connection_types(wrapper[0]).items()):
            targets = sorted(m.walk(cls).secrets) or [None]
            for target in targets:
                name = f"s{next(n)}"
                full = f"connection.config.{target}" if target else "connection.config"
                ctx = Context(full, cls, category,
                              {"name": name, "serviceType": connection_type})
                emit(entity_type, service, ctx, category, name, "connection.config")
            # A test-connection workflow of this type.
            name = f"w{next(n)}"
            full = "request.connection.config" + (f".{targets[0]}" if targets[0] else "")
            ctx = Context(full, cls, category, {"name": name})
            emit("workflow", m.model("entity.automations.workflow", "Workflow"), ctx,
                 "workflow", name, "")
    for entity_type, module, cls_name, root in m.ENTITIES:
        cls = m.model(module, cls_name)
        kind = {"user": "bot", "ingestionPipeline": "pipeline"}.get(entity_type, entity_type)
        for target in sorted(m.entity_shape(module, cls_name, root).secrets):
            name = f"e{next(n)}"
            overrides = {"name": name}
            if entity_type == "user":
                overrides.update({"isBot": True, "email": f"{name}@example.com"})
            full = f"{root}.{target}" if root else target
            emit(entity_type, cls, Context(full, overrides=overrides), kind, name, root)
    print(json.dumps({"refused": REFUSED}))


main()

"""Built-in database adapters; importing this package registers them (see `..database.register_adapter`).

Detection order matters: more specific layouts first, the generic folder-of-clips + CSV last.
"""
from importlib import import_module

for _name in ("synthetic", "casme2", "samm", "smic", "casme3", "generic"):
    try:
        import_module(f"{__name__}.{_name}")
    except ModuleNotFoundError as exc:  # an adapter not written yet must not break the others
        if exc.name != f"{__name__}.{_name}":
            raise

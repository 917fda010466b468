"""Versioned model store and hot-reloading live model.

>>> store = pmmlserve.ModelStore("/srv/models")                  # doctest: +SKIP
>>> store.publish("ctr", "model.pmml")                           # doctest: +SKIP
>>> live = pmmlserve.LiveModel(store, "ctr")                     # doctest: +SKIP
"""

from pmmlserve.store._live import LiveModel
from pmmlserve.store._store import ModelStore
from pmmlserve.store._version import Version

__all__ = ["ModelStore", "Version", "LiveModel"]

"""The transformation network's layers registered with Keras as soon as Keras loads, without `import nst` loading it.

A transform_net.keras file names its layers 'nst>InstanceNormalization' and so on; Keras
finds such names only in its registry, which the decorators in nst.fast.network fill when
that module is imported. Importing it pulls in TensorFlow, seconds that `import nst` must
not cost (the entry scripts answer --help without TensorFlow). So nst/__init__.py calls
register_layers_with_keras(): the module is imported at once if Keras already is, else
right after Keras has loaded. Then keras.saving.load_model reads the file in any process
that imported nst, in either order.
"""

import importlib
import importlib.abc
import importlib.util
import sys

LAYERS_MODULE = "nst.fast.network"


def _import_layers():
    try:
        importlib.import_module(LAYERS_MODULE)
    except ImportError:
        pass  # Keras without TensorFlow (another backend): there is no network of this tool to load


class _AfterKerasLoads(importlib.abc.MetaPathFinder):
    """Finds nothing itself: lets the usual finders find Keras, and imports the layers once Keras has run.

    TensorFlow looks Keras up (importlib.util.find_spec) before it imports it, so a lookup
    alone must leave this finder in place; it goes once Keras actually runs.
    """

    def find_spec(self, name, path=None, target=None):
        if name != "keras":
            return None
        spec = self._spec_from_the_other_finders(name)
        if spec is None or spec.loader is None:
            return spec
        run_keras = spec.loader.exec_module

        def run_keras_then_register(module):
            if self in sys.meta_path:
                sys.meta_path.remove(self)
            run_keras(module)
            _import_layers()

        spec.loader.exec_module = run_keras_then_register  # this spec's own loader object
        return spec

    def _spec_from_the_other_finders(self, name):
        position = sys.meta_path.index(self)
        del sys.meta_path[position]
        try:
            return importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(position, self)


def register_layers_with_keras():
    """Makes keras.saving.load_model able to read transform_net.keras files in this process, now or once Keras loads."""
    if "keras" in sys.modules:
        _import_layers()
    elif not any(isinstance(finder, _AfterKerasLoads) for finder in sys.meta_path):
        sys.meta_path.insert(0, _AfterKerasLoads())

"""Point boto3/botocore at kyoka through AWS_ENDPOINT_URL[_<SERVICE>].

botocore learned these variables in 1.31; older ones (Debian's 1.29, or one a
function bundles) ignore them and would call real AWS. This module is
imported at every interpreter start (kyoka puts /var/runtime on PYTHONPATH),
so it only plants a finder that waits for `botocore.session` to be imported
and then wraps Session.create_client once. A process that never imports
botocore pays one string compare per import.
"""
import os
import sys


def _patch(session_module):
    try:
        from botocore import configprovider
        if "ignore_configured_endpoint_urls" in getattr(
                configprovider, "BOTOCORE_DEFAUT_SESSION_VARIABLES", {}):
            return  # this botocore resolves the variables itself
        cls = session_module.Session
        original = cls.create_client
    except Exception:
        return

    def create_client(self, service_name, region_name=None, api_version=None,
                      use_ssl=True, verify=None, endpoint_url=None, *args, **kwargs):
        # Same precedence as newer botocore: explicit argument, then the
        # service's variable, then the global one.
        if endpoint_url is None and os.environ.get(
                "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() != "true":
            endpoint_url = _env_endpoint(self, service_name, api_version)
        return original(self, service_name, region_name, api_version, use_ssl,
                        verify, endpoint_url, *args, **kwargs)

    create_client.__wrapped__ = original
    create_client.__doc__ = original.__doc__
    cls.create_client = create_client


def _env_endpoint(session, service_name, api_version):
    env = os.environ
    if not any(key.startswith("AWS_ENDPOINT_URL") for key in env):
        return None  # the common case skips loading the service model
    try:
        service_id = session.get_service_model(service_name, api_version).service_id
        specific = env.get("AWS_ENDPOINT_URL_" + service_id.replace(" ", "_").upper())
    except Exception:
        specific = None  # an unknown service fails in create_client itself
    return specific or env.get("AWS_ENDPOINT_URL") or None


class _BotocoreFinder:
    """A meta path finder that never finds anything itself: it asks the
    regular path finder for botocore.session and wraps that loader so the
    patch runs right after the module body."""

    def find_spec(self, name, path=None, target=None):
        if name != "botocore.session":
            return None
        try:
            sys.meta_path.remove(self)
        except ValueError:
            pass
        from importlib.machinery import PathFinder
        spec = PathFinder.find_spec(name, path, target)
        loader = getattr(spec, "loader", None)
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        exec_module = loader.exec_module

        def exec_and_patch(module):
            exec_module(module)
            _patch(module)

        loader.exec_module = exec_and_patch  # this loader object is this spec's alone
        return spec


if "botocore.session" in sys.modules:
    _patch(sys.modules["botocore.session"])
else:
    sys.meta_path.insert(0, _BotocoreFinder())

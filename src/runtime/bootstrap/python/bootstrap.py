"""kyoka's runtime entry point for the python3.x Lambda runtimes.

Run as `python3 /var/runtime/bootstrap.py`. Python compiles the script it
runs on every start and never caches it, while kyoka precompiles the
runtime dir: the loop lives in _kyoka_bootstrap.py so it loads from .pyc.
"""
import _kyoka_bootstrap

_kyoka_bootstrap.main()

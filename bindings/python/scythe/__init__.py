"""Scythe, a process supervisor for proof farms: Python side.

For now this holds :mod:`scythe.worker`, the helper for writing pool workers that speak Scythe's JSON-RPC protocol
(LSP framing). It needs only the standard library; the binding of the native library will come beside it, and this
package imports nothing that needs it.
"""

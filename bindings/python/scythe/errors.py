"""Errors of the native binding. Importing this module loads nothing native."""

import errno as _errno

__all__ = ["ScytheError"]


class ScytheError(OSError):
    """A libscythe call failed: ``errno`` (positive), ``function`` (the native function's name) and ``strerror``
    (libscythe's own text for the error)."""

    def __init__(self, function, err, text=None):
        err = abs(int(err))
        if text is None:
            text = _errno.errorcode.get(err, "error %d" % err)
        super().__init__(err, text)
        self.function = function

    def __str__(self):
        name = _errno.errorcode.get(self.errno, str(self.errno))
        return "%s: %s (%s)" % (self.function, self.strerror, name)

    def __reduce__(self):
        return (type(self), (self.function, self.errno, self.strerror))

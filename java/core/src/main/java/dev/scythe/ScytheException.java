package dev.scythe;

/**
 * A native call of libscythe failed. The message names the function and the error, for example
 * {@code scythe_spawn(..) failed: -2 (No such file or directory)}.
 */
public final class ScytheException extends RuntimeException {
    private final String function;
    private final int errno;

    ScytheException(String function, int negativeErrno, String description) {
        super(function + "(..) failed: " + negativeErrno + " (" + description + ")");
        this.function = function;
        this.errno = -negativeErrno;
    }

    /** The native function that failed, for example {@code scythe_loop_new}. */
    public String function() {
        return function;
    }

    /** The positive errno value, for example 2 for ENOENT. */
    public int errno() {
        return errno;
    }
}

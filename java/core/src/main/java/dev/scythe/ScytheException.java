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

    /** A failure that ends a job or a supervisor, with the native failure (or other error) that caused it. */
    ScytheException(String message, Throwable cause) {
        super(message + ": " + cause.getMessage(), cause);
        this.function = cause instanceof ScytheException se ? se.function : null;
        this.errno = cause instanceof ScytheException se ? se.errno : 0;
    }

    /** The native function that failed, for example {@code scythe_loop_new}; null if no native call failed. */
    public String function() {
        return function;
    }

    /** The positive errno value, for example 2 for ENOENT; 0 if no native call failed. */
    public int errno() {
        return errno;
    }
}
